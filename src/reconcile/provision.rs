//! The registry's storage in its cloud during a pass: the context the cloud calls read (taken from
//! the pass's inputs), and the conditions their outcome sets on the Config.

use crate::api::{Condition, Storage};
use crate::render::inputs::Inputs;
use crate::storage::cloud::{Cloud, CloudContext, Ensured};

/// The storage's cloud calls, when its one driver has them.
pub fn cloud_of(storage: Option<&Storage>) -> Option<&'static dyn Cloud> {
    crate::storage::driver_of(storage?)?.cloud()
}

/// What the cloud calls read, from what the pass read: the registry's credentials, the storage's
/// and the cloud's CA bundles, and the cluster proxy (the calls are the operator's, not the
/// registry's, so `spec.proxy` does not apply).
pub fn context(inputs: &Inputs) -> CloudContext<'_> {
    let set = |s: &str| -> bool { !s.is_empty() };
    CloudContext {
        infrastructure: &inputs.infrastructure,
        credentials: &inputs.credentials,
        trusted_ca: inputs.storage_ca.as_deref(),
        cloud_ca: inputs.cloud_ca.as_deref(),
        https_proxy: Some(inputs.cluster_proxy.https.as_str()).filter(|s| set(s)),
        no_proxy: Some(inputs.cluster_proxy.no_proxy.as_str()).filter(|s| set(s)),
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
