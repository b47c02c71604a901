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
use crate::state::cluster::ClusterState;
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

/// What bootstrapping finds missing: the Config (as the storage hook decided it), the
/// ImagePruner, the claim the decision asks for, and the removal alert of a registry that starts
/// Removed.
pub struct ToCreate {
    pub report: Bootstrapped,
    /// The Config to create, as decided (a pass completes it before it is created).
    pub config: Option<Config>,
    decision: Option<StorageDecision>,
    pruner: bool,
    objects: Vec<Desired>,
}

/// Decides what is missing from `state`: nothing is written.
pub async fn decide(state: &ClusterState, policies: &Policies) -> Result<ToCreate> {
    let mut out = ToCreate {
        report: Bootstrapped::default(),
        config: None,
        decision: None,
        pruner: state.pruner()?.is_none(),
        objects: Vec::new(),
    };
    out.report.pruner_created = out.pruner;
    if let Some(config) = state.config()? {
        out.report.management_state = config
            .spec
            .management_state
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        return Ok(out);
    }
    let decided = policies.storage(&crate::storage::hook_input(state, None).await?)?;
    let decision = decided.decision;
    let config = config_from(&decision)?;
    refuse_invalid(None, &config.spec, &decided.module)?;
    if let Some(request) = &decision.create_pvc
        && state.claim(&request.name)?.is_none()
    {
        out.objects.push(claim(request));
        out.report.claim_created = Some(request.name.clone());
    }
    if decision.management_state == "Removed" {
        out.objects.push(removed_alert());
    }
    out.report.config_created = true;
    out.report.management_state = decision.management_state.clone();
    out.report.storage = decision.storage.clone();
    out.report.replicas = decision.replicas;
    out.report.decided_by = decided.module;
    out.report.missing = decision.missing.clone();
    out.config = Some(config);
    out.decision = Some(decision);
    Ok(out)
}

impl ToCreate {
    /// The objects bootstrapping would create, as they would be sent.
    fn to_send(&self) -> Result<Vec<Value>> {
        let mut objects = Vec::new();
        if let Some(config) = &self.config {
            objects.push(serde_json::to_value(config)?);
        }
        if self.pruner {
            objects.push(serde_json::to_value(default_pruner())?);
        }
        objects.extend(self.objects.iter().map(|d| d.object.clone()));
        Ok(objects)
    }

    /// The conditions the Config starts with: what is missing, in words a user (and `status`)
    /// can read.
    pub fn first_conditions(&self) -> Vec<crate::api::Condition> {
        let Some(decision) = self.decision.as_ref().filter(|d| !d.missing.is_empty()) else {
            return Vec::new();
        };
        let what: Vec<String> = decision
            .missing
            .iter()
            .map(|m| format!("{} (run: {})", m.message, m.command))
            .collect();
        let now = jiff::Timestamp::now();
        vec![crate::api::Condition {
            type_: "StorageExists".into(),
            status: "False".into(),
            reason: Some("StorageNotConfigured".into()),
            message: Some(what.join("; ")),
            last_transition_time: Some(now.round(jiff::Unit::Second).unwrap_or(now).to_string()),
            ..crate::api::Condition::default()
        }]
    }

    /// Creates what is missing at once: `config` (what was decided, as the caller completed it)
    /// after the admission policies allow it, the ImagePruner, the claim and the alert. Returns
    /// the Config and ImagePruner as stored (someone else's, when they created them meanwhile).
    pub async fn create(
        &self,
        applier: &Applier,
        policies: &Policies,
        state: &ClusterState,
        config: Option<&Config>,
    ) -> Result<Created> {
        let client = applier.client().clone();
        let dry_run = applier.dry_run().is_some();
        let config = self.config.as_ref().map(|decided| config.unwrap_or(decided));
        if let Some(config) = config {
            refuse_invalid(None, &config.spec, &self.report.decided_by)?;
            let verdict = policies.admit(&AdmissionInput {
                operation: "create".into(),
                kind: "Config".into(),
                current: None,
                proposed: Some(serde_json::to_value(config)?),
                facts: Default::default(),
            })?;
            if !verdict.allowed {
                bail!(
                    "admission policy denied creating the Config: {}",
                    verdict.denials_text()
                );
            }
        }
        let configs = Api::<Config>::all(client.clone());
        let pruners = Api::<ImagePruner>::all(client);
        let post = PostParams::default();
        let create_config = async {
            let Some(config) = config.filter(|_| !dry_run) else {
                return Ok(None);
            };
            match retry(|| configs.create(&post, config)).await {
                Ok(created) => Ok(Some(created)),
                // Created meanwhile by someone else: theirs stands.
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(retry(|| configs.get_opt(CLUSTER)).await?),
                Err(e) => Err(anyhow::anyhow!(applier.describe(&e))).context("creating the registry Config"),
            }
        };
        let create_pruner = async {
            if !self.pruner || dry_run {
                return Ok(None);
            }
            let pruner = default_pruner();
            match retry(|| pruners.create(&post, &pruner)).await {
                Ok(created) => Ok(Some(created)),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(retry(|| pruners.get_opt(CLUSTER)).await?),
                Err(e) => Err(anyhow::anyhow!(applier.describe(&e))).context("creating the ImagePruner"),
            }
        };
        let create_objects = async {
            let mut stored = Vec::new();
            for applied in applier.apply_all(&self.objects, state).await {
                if let Some(error) = applied.error {
                    bail!("{error}");
                }
                stored.extend(applied.stored);
            }
            Ok(stored)
        };
        let (config, pruner, mut stored) = tokio::try_join!(create_config, create_pruner, create_objects)?;
        stored.extend(config.iter().map(|c| serde_json::to_value(c).unwrap_or_default()));
        stored.extend(pruner.iter().map(|p| serde_json::to_value(p).unwrap_or_default()));
        Ok(Created { config, pruner, stored })
    }
}

/// The Config and ImagePruner as stored once created (`None`: not created, or a dry run).
pub struct Created {
    pub config: Option<Config>,
    pub pruner: Option<ImagePruner>,
    /// Everything created, as stored.
    pub stored: Vec<Value>,
}

/// Creates what is missing of Config `cluster`, the ImagePruner `cluster`, the claim the storage
/// decision asks for, and (when the registry starts Removed) the removal alert, with the Config's
/// first status. Idempotent: what exists is left as it is. Returns what was done and the objects
/// created: as stored, or in a dry run as they would be sent.
pub async fn bootstrap(
    applier: &Applier,
    policies: &Policies,
    state: &ClusterState,
) -> Result<(Bootstrapped, Vec<Value>)> {
    let missing = decide(state, policies).await?;
    let created = missing.create(applier, policies, state, None).await?;
    let objects = if applier.dry_run().is_some() {
        missing.to_send()?
    } else {
        let mut objects = Vec::new();
        if let Some(config) = &created.config {
            let configs = Api::<Config>::all(applier.client().clone());
            write_bootstrap_status(&configs, &missing.first_conditions()).await?;
            objects.push(serde_json::to_value(config)?);
        }
        objects.extend(
            created
                .pruner
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<Vec<_>, _>>()?,
        );
        objects.extend(created.stored);
        objects
    };
    Ok((missing.report, objects))
}

/// The first status: what is missing, in conditions a user (and `status`) can read.
async fn write_bootstrap_status(configs: &Api<Config>, conditions: &[crate::api::Condition]) -> Result<()> {
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
