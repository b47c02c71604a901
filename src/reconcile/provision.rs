//! The registry's storage in its cloud during a pass: the context the cloud calls read (taken from
//! the pass's inputs), and the conditions their outcome sets on the Config.

use crate::api::{Condition, Storage};
use crate::render::inputs::Inputs;
use crate::storage::cloud::{Cloud, CloudContext, Ensured, Provisioning, StorageCondition};

/// The storage's cloud calls, when its one driver has them.
pub fn cloud_of(storage: Option<&Storage>) -> Option<&'static dyn Cloud> {
    crate::storage::driver_of(storage?)?.cloud()
}

/// What the cloud calls read, from what the pass read: the registry's credentials, the storage's
/// and the cloud's CA bundles, and the cluster proxy (the calls are the operator's, not the
/// registry's, so `spec.proxy` does not apply).
pub fn context<'a>(inputs: &'a Inputs, provisioning: &'a Provisioning) -> CloudContext<'a> {
    let set = |s: &str| -> bool { !s.is_empty() };
    CloudContext {
        infrastructure: &inputs.infrastructure,
        credentials: &inputs.credentials,
        trusted_ca: inputs.storage_ca.as_deref(),
        cloud_ca: inputs.cloud_ca.as_deref(),
        https_proxy: Some(inputs.cluster_proxy.https.as_str()).filter(|s| set(s)),
        no_proxy: Some(inputs.cluster_proxy.no_proxy.as_str()).filter(|s| set(s)),
        provisioning,
    }
}

/// The context for calls that create nothing (inspecting, removing): the operator's set-up.
pub fn reading_context(inputs: &Inputs) -> CloudContext<'_> {
    context(inputs, crate::storage::cloud::default_provisioning())
}

/// The operator's set-up for `storage`, when no policy decided one: KMS with the configured key,
/// else AES256.
pub fn operator_default(storage: &Storage) -> Provisioning {
    let key = storage
        .s3
        .as_ref()
        .and_then(|s| s.key_id.clone())
        .filter(|k| !k.is_empty());
    Provisioning {
        encryption: if key.is_some() { "aws:kms" } else { "AES256" }.into(),
        kms_key_id: key,
        ..Provisioning::default()
    }
}

/// What ensuring finds when the storage policy decided a set-up that may not be sent: nothing
/// is called, and the registry is not deployed.
pub fn refused(storage: &Storage, policy: &str, field: &str, why: &str) -> Ensured {
    Ensured {
        conditions: vec![StorageCondition::new(
            "StorageExists",
            false,
            "InvalidPolicyDecision",
            format!(
                "the storage policy {policy} decided provisioning.{field}, which {why}: nothing was created or \
                 changed; fix the policy"
            ),
        )],
        storage: storage.clone(),
        created: None,
        exists: false,
        issued: None,
    }
}

/// The Config's storage conditions from what ensuring found.
pub fn conditions(ensured: &Ensured) -> Vec<Condition> {
    ensured
        .conditions
        .iter()
        .map(|c| Condition {
            type_: c.type_.into(),
            status: if c.ok { "True" } else { "False" }.into(),
            reason: Some(c.reason.clone()),
            message: Some(c.message.clone()),
            ..Condition::default()
        })
        .collect()
}

/// Why the registry is not deployed: its storage does not exist.
pub fn missing_storage(ensured: &Ensured) -> Option<crate::validate::Problem> {
    if ensured.exists {
        return None;
    }
    let failed = ensured
        .conditions
        .iter()
        .find(|c| c.type_ == "StorageExists" && !c.ok)?;
    Some(crate::validate::Problem::new(
        &failed.reason,
        format!(
            "the registry is not deployed until its storage exists: {}",
            failed.message
        ),
    ))
}
