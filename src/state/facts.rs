//! The facts the policy hooks decide on, gathered from the cluster. Secrets are read for their key
//! names only; values never leave this module except the OpenStack credentials, which go to the
//! cluster's own identity service to ask whether it offers object storage.

use crate::api::{CLUSTER, Config, DEFAULT_CLAIM, Image, ImagePruner, Infrastructure};
use crate::policy::sdk::{CurrentConfig, PlatformFacts, PrunerInput, StorageFacts, StorageInput};
use anyhow::{Result, anyhow};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::{Api, Client};
use serde_json::{Value, json};

fn key_names(secret: &Secret) -> Vec<String> {
    let mut keys: Vec<String> = secret.data.iter().flat_map(|d| d.keys().cloned()).collect();
    keys.extend(secret.string_data.iter().flat_map(|d| d.keys().cloned()));
    keys.sort();
    keys.dedup();
    keys
}

/// The platform as the storage hook sees it; `None` without `status.platformStatus.type`.
pub(crate) fn platform_facts(infra: &Infrastructure) -> Option<PlatformFacts> {
    let status = infra.status.clone().unwrap_or_default();
    let platform_status = status.platform_status.clone().unwrap_or_default();
    let type_ = platform_status
        .type_
        .clone()
        .or(status.platform.clone())
        .filter(|t| !t.is_empty())?;
    Some(PlatformFacts {
        type_,
        status: serde_json::to_value(&platform_status).unwrap_or(Value::Null),
        infrastructure_name: status.infrastructure_name.unwrap_or_default(),
        infrastructure_topology: status.infrastructure_topology.unwrap_or_default(),
    })
}

/// The claim the storage hook is told about: the Config's, or the one the registry creates.
pub fn claim_name(config: Option<&Config>) -> String {
    config
        .and_then(|c| c.spec.storage.as_ref()?.pvc.as_ref()?.claim.clone())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| DEFAULT_CLAIM.to_string())
}

/// What the storage hook decides on, however it was read.
pub struct StorageSources<'a> {
    pub infrastructure: &'a Infrastructure,
    pub config: Option<&'a Config>,
    /// The claim [`claim_name`] names, when it exists.
    pub claim: Option<&'a PersistentVolumeClaim>,
    pub user_credentials: Option<&'a Secret>,
    pub cloud_credentials: Option<&'a Secret>,
    pub storage_classes: &'a [StorageClass],
}

impl StorageSources<'_> {
    /// The hook's input; whether OpenStack offers Swift is left unknown (it needs a network call).
    pub fn input(&self) -> Result<StorageInput> {
        let platform = platform_facts(self.infrastructure)
            .ok_or_else(|| anyhow!("infrastructures.config.openshift.io/cluster has no status.platformStatus.type"))?;
        let current = self.config.map(|c| CurrentConfig {
            management_state: c
                .spec
                .management_state
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            storage: c
                .spec
                .storage
                .as_ref()
                .map_or(json!({}), |s| serde_json::to_value(s).unwrap_or(json!({}))),
            replicas: c.spec.replicas,
            rollout_strategy: c
                .spec
                .rollout_strategy
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        });
        let claim = claim_name(self.config);
        let existing_pvc = self.claim.map(|p| super::references::pvc_facts(&claim, p));
        let default_storage_class = self
            .storage_classes
            .iter()
            .find(|sc| {
                sc.metadata.annotations.as_ref().is_some_and(|a| {
                    a.get("storageclass.kubernetes.io/is-default-class")
                        .is_some_and(|v| v == "true")
                })
            })
            .and_then(|sc| sc.metadata.name.clone());
        Ok(StorageInput {
            platform,
            current,
            facts: StorageFacts {
                user_credential_keys: self.user_credentials.map(key_names),
                cloud_credential_keys: self.cloud_credentials.map(key_names),
                existing_pvc,
                swift_available: None,
                default_storage_class,
            },
        })
    }
}

/// The pruner hook's input for this cluster.
pub async fn pruner_input(client: &Client) -> Result<PrunerInput> {
    let (configs, pruners, images) = (
        Api::<Config>::all(client.clone()),
        Api::<ImagePruner>::all(client.clone()),
        Api::<Image>::all(client.clone()),
    );
    let (config, pruner, image) = tokio::try_join!(
        configs.get_opt(CLUSTER),
        pruners.get_opt(CLUSTER),
        images.get_opt(CLUSTER)
    )?;
    let pruner = pruner.map_or(json!({}), |p| serde_json::to_value(p.spec).unwrap_or(json!({})));
    Ok(pruner_input_of(config.as_ref(), pruner, image.as_ref(), None))
}

/// The pruner hook's input from what was read: `hostname`, when given, stands for the one the
/// Image config reports (a Managed pass decides on the hostname it is about to serve).
pub fn pruner_input_of(
    config: Option<&Config>,
    pruner: Value,
    image: Option<&Image>,
    hostname: Option<&str>,
) -> PrunerInput {
    PrunerInput {
        registry_management_state: config
            .and_then(|c| c.spec.management_state.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default(),
        pruner,
        internal_registry_hostname: match hostname {
            Some(h) => h.to_string(),
            None => image
                .and_then(|i| i.status.as_ref()?.internal_registry_hostname.clone())
                .unwrap_or_default(),
        },
    }
}
