//! Creating the registry's Config and ImagePruner when they do not exist, from the platform and
//! the storage hook's decision.

use super::apply::Applier;
use crate::api::ConfigSpec;
use crate::api::REGISTRY_ANNOTATION;
use crate::api::{CLUSTER, Config, ImagePruner};
use crate::cluster::FIELD_MANAGER;
use crate::cluster::retry;
use crate::configure::checks;
use crate::policy::Policies;
use crate::policy::sdk::{AdmissionInput, Missing, PvcRequest, StorageDecision};
use crate::render::{Desired, Kind, default_pruner};
use crate::state::facts::storage_input;
use anyhow::{Context, Result, bail};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde::Serialize;
use serde_json::{Value, json};

/// Finalizer the registry's Config carries while objects it owns exist.
pub const FINALIZER: &str = "imageregistry.operator.openshift.io/finalizer";
/// The alert the registry raised when it was removed, kept as a PrometheusRule on platforms
/// where it starts Removed.
pub use crate::api::REMOVED_ALERT_RULE;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bootstrapped {
    pub config_created: bool,
    pub pruner_created: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_created: Option<String>,
    pub management_state: String,
    pub storage: Value,
    pub replicas: i32,
    pub decided_by: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<Missing>,
}

/// Refuses values that are not valid, whoever decided them (a policy module, the platform): they
/// are checked as `set` checks what a user types, before anything derived from them is written.
/// Only errors `before` did not have count: a Config already broken is reported, not blocked.
pub(crate) fn refuse_invalid(before: Option<&ConfigSpec>, after: &ConfigSpec, decided_by: &str) -> Result<()> {
    let before = before.map(checks::value_errors).unwrap_or_default();
    let errors: Vec<String> = checks::introduced(&before, checks::value_errors(after))
        .into_iter()
        .map(|f| format!("  {f}"))
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    bail!(
        "{decided_by} decided values that are not valid; nothing was written:\n{}",
        errors.join("\n")
    )
}

pub(crate) fn config_from(decision: &StorageDecision) -> Result<Config> {
    let mut storage = decision.storage.clone();
    // A claim the registry creates is storage it manages (and deletes when Removed).
    if decision.create_pvc.is_some()
        && let Some(s) = storage.as_object_mut()
    {
        s.entry("managementState").or_insert_with(|| json!("Managed"));
    }
    let object = json!({
        "apiVersion": "imageregistry.operator.openshift.io/v1",
        "kind": "Config",
        "metadata": {"name": CLUSTER, "finalizers": [FINALIZER]},
        "spec": {
            "managementState": decision.management_state,
            "logLevel": "Normal",
            "operatorLogLevel": "Normal",
            "storage": storage,
            "replicas": decision.replicas,
            "rolloutStrategy": decision.rollout_strategy,
        },
    });
    serde_json::from_value(object).context("the storage decision does not make a valid Config")
}

pub fn claim(request: &PvcRequest) -> Desired {
    let mut spec = json!({
        "accessModes": request.access_modes,
        "resources": {"requests": {"storage": request.size}},
    });
    if let Some(class) = &request.storage_class_name {
        spec["storageClassName"] = json!(class);
    }
    Desired::new(
        Kind::PersistentVolumeClaim,
        &request.name,
        json!({"metadata": {"annotations": {REGISTRY_ANNOTATION: "true"}}, "spec": spec}),
    )
}

pub fn removed_alert() -> Desired {
    Desired::new(
        Kind::PrometheusRule,
        REMOVED_ALERT_RULE,
        json!({
            "metadata": {},
            "spec": {"groups": [{
                "name": "ImageRegistryRemoved",
                "rules": [{
                    "alert": "ImageRegistryRemoved",
                    "expr": "cluster_operator_conditions{name=\"image-registry\",condition=\"Available\",reason=\"Removed\"} > 0",
                    "for": "5m",
                    "labels": {"severity": "warning"},
                    "annotations": {"message": "Image Registry has been removed. ImageStreamTags, BuildConfigs and DeploymentConfigs which reference ImageStreamTags may not work as expected. Please configure storage and update the config to Managed state by editing configs.imageregistry.operator.openshift.io."},
                }],
            }]},
        }),
    )
}

/// Creates what is missing of Config `cluster`, the ImagePruner `cluster`, the claim the storage
/// decision asks for, and (when the registry starts Removed) the removal alert. Idempotent: what
/// exists is left as it is.
pub async fn bootstrap(applier: &Applier, policies: &Policies) -> Result<Bootstrapped> {
    let client = applier.client().clone();
    let configs = Api::<Config>::all(client.clone());
    let dry_run = applier.dry_run().is_some();
    let mut out = Bootstrapped::default();
    let existing = retry(|| configs.get_opt(CLUSTER)).await?;
    if let Some(config) = &existing {
        out.management_state = config
            .spec
            .management_state
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
    } else {
        let input = storage_input(&client).await?;
        let decided = policies.storage(&input)?;
        let decision = decided.decision;
        let config = config_from(&decision)?;
        refuse_invalid(None, &config.spec, &decided.module)?;
        let verdict = policies.admit(&AdmissionInput {
            operation: "create".into(),
            kind: "Config".into(),
            current: None,
            proposed: Some(serde_json::to_value(&config)?),
            facts: Default::default(),
        })?;
        if !verdict.allowed {
            bail!(
                "admission policy denied creating the Config: {}",
                verdict.denials_text()
            );
        }
        if let Some(request) = &decision.create_pvc {
            let pvc = claim(request);
            if applier
                .get(Kind::PersistentVolumeClaim, pvc.namespace.as_deref(), &pvc.name)
                .await?
                .is_none()
            {
                applier
                    .apply(&pvc)
                    .await
                    .map_err(|e| anyhow::anyhow!("creating claim {}: {}", pvc.name, applier.describe(&e)))?;
                out.claim_created = Some(request.name.clone());
            }
        }
        if !dry_run {
            let post = PostParams::default();
            match retry(|| configs.create(&post, &config)).await {
                Ok(_) => {}
                // Created meanwhile by someone else: theirs stands.
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(anyhow::anyhow!(applier.describe(&e))).context("creating the registry Config"),
            }
            write_bootstrap_status(&configs, &decision).await?;
        }
        out.config_created = true;
        out.management_state = decision.management_state.clone();
        out.storage = decision.storage.clone();
        out.replicas = decision.replicas;
        out.decided_by = decided.module;
        out.missing = decision.missing.clone();
        if decision.management_state == "Removed" {
            applier
                .apply(&removed_alert())
                .await
                .map_err(|e| anyhow::anyhow!("creating the ImageRegistryRemoved alert: {}", applier.describe(&e)))?;
        }
    }
    let pruners = Api::<ImagePruner>::all(client);
    if retry(|| pruners.get_opt(CLUSTER)).await?.is_none() {
        if !dry_run {
            let (post, pruner) = (PostParams::default(), default_pruner());
            match retry(|| pruners.create(&post, &pruner)).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(anyhow::anyhow!(applier.describe(&e))).context("creating the ImagePruner"),
            }
        }
        out.pruner_created = true;
    }
    Ok(out)
}

/// The first status: what is missing, in conditions a user (and `status`) can read.
async fn write_bootstrap_status(configs: &Api<Config>, decision: &StorageDecision) -> Result<()> {
    let now = jiff::Timestamp::now().round(jiff::Unit::Second)?.to_string();
    let mut conditions = Vec::new();
    if !decision.missing.is_empty() {
        let what: Vec<String> = decision
            .missing
            .iter()
            .map(|m| format!("{} (run: {})", m.message, m.command))
            .collect();
        conditions.push(json!({
            "type": "StorageExists",
            "status": "False",
            "reason": "StorageNotConfigured",
            "message": what.join("; "),
            "lastTransitionTime": now,
        }));
    }
    let status = json!({"status": {"storage": {}, "storageManaged": false, "conditions": conditions}});
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    let patch = Patch::Merge(&status);
    retry(|| configs.patch_status(CLUSTER, &params, &patch))
        .await
        .context("writing the Config's first status")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_decision_is_checked_like_any_input() {
        let decided = |storage: serde_json::Value, replicas: i32| {
            let config = config_from(&StorageDecision {
                storage,
                replicas,
                rollout_strategy: String::new(),
                management_state: "Managed".into(),
                create_pvc: None,
                missing: Vec::new(),
                provisioning: None,
            })
            .unwrap();
            refuse_invalid(None, &config.spec, "the module evil").map_err(|e| e.to_string())
        };
        assert!(decided(json!({"s3": {"bucket": "registry-bucket", "region": "us-east-1"}}), 2).is_ok());
        let err = decided(json!({"s3": {"bucket": "b\n;rm -rf /", "region": "us\neast"}}), 2).unwrap_err();
        assert!(
            err.starts_with("the module evil decided values that are not valid; nothing was written"),
            "{err}"
        );
        assert!(
            err.contains("spec.storage.s3.bucket") && err.contains("spec.storage.s3.region"),
            "{err}"
        );
        // The values are shown escaped: a newline in them cannot start a line of its own.
        assert!(err.contains("b\\n;rm -rf /"), "{err}");
        assert!(
            decided(json!({"emptyDir": {}}), 2147483647)
                .unwrap_err()
                .contains("spec.replicas")
        );
        assert!(
            decided(json!({"emptyDir": {}}), -1)
                .unwrap_err()
                .contains("spec.replicas")
        );
    }
}
