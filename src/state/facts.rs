//! The facts the policy hooks decide on, gathered from the cluster. Secrets are read for their key
//! names only; values never leave this module except the OpenStack credentials, which go to the
//! cluster's own identity service to ask whether it offers object storage.

use super::openstack;
use crate::api::{CLUSTER, Config, Image, ImagePruner, Infrastructure, REGISTRY_NAMESPACE};
use crate::policy::sdk::{CurrentConfig, PlatformFacts, PrunerInput, PvcFacts, StorageFacts, StorageInput};
use anyhow::{Context, Result, anyhow};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::ListParams;
use kube::{Api, Client};
use serde_json::{Value, json};

pub const USER_CREDENTIALS: &str = "image-registry-private-configuration-user";
pub const CLOUD_CREDENTIALS: &str = "installer-cloud-credentials";
pub const DEFAULT_CLAIM: &str = "image-registry-storage";
/// The annotation marking a claim the registry created.
pub const REGISTRY_ANNOTATION: &str = "imageregistry.openshift.io";

async fn secret(client: &Client, name: &str) -> Result<Option<Secret>> {
    Ok(Api::<Secret>::namespaced(client.clone(), REGISTRY_NAMESPACE)
        .get_opt(name)
        .await?)
}

fn key_names(secret: &Secret) -> Vec<String> {
    let mut keys: Vec<String> = secret.data.iter().flat_map(|d| d.keys().cloned()).collect();
    keys.extend(secret.string_data.iter().flat_map(|d| d.keys().cloned()));
    keys.sort();
    keys.dedup();
    keys
}

/// The platform as the storage hook sees it; `None` without `status.platformStatus.type`.
pub fn platform_facts(infra: &Infrastructure) -> Option<PlatformFacts> {
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

/// The storage hook's input for this cluster.
pub async fn storage_input(client: &Client) -> Result<StorageInput> {
    let (infras, configs) = (
        Api::<Infrastructure>::all(client.clone()),
        Api::<Config>::all(client.clone()),
    );
    let (infra, config) = tokio::try_join!(
        async {
            infras
                .get(CLUSTER)
                .await
                .context("reading infrastructures.config.openshift.io/cluster")
        },
        async { Ok(configs.get_opt(CLUSTER).await?) },
    )?;
    let platform = platform_facts(&infra)
        .ok_or_else(|| anyhow!("infrastructures.config.openshift.io/cluster has no status.platformStatus.type"))?;
    let platform_type = platform.type_.clone();
    let platform_status = infra
        .status
        .clone()
        .unwrap_or_default()
        .platform_status
        .unwrap_or_default();
    let current = config.as_ref().map(|c| CurrentConfig {
        management_state: c.spec.management_state.clone().unwrap_or_default(),
        storage: c
            .spec
            .storage
            .as_ref()
            .map_or(json!({}), |s| serde_json::to_value(s).unwrap_or(json!({}))),
        replicas: c.spec.replicas,
        rollout_strategy: c.spec.rollout_strategy.clone().unwrap_or_default(),
    });
    let claim = config
        .as_ref()
        .and_then(|c| c.spec.storage.as_ref()?.pvc.as_ref()?.claim.clone())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| DEFAULT_CLAIM.to_string());
    let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), REGISTRY_NAMESPACE);
    let storage_classes = Api::<StorageClass>::all(client.clone());
    let all = ListParams::default();
    let (pvc, user, cloud, classes) = tokio::try_join!(
        async { Ok::<_, anyhow::Error>(claims.get_opt(&claim).await?) },
        secret(client, USER_CREDENTIALS),
        secret(client, CLOUD_CREDENTIALS),
        async { Ok(storage_classes.list(&all).await?) },
    )?;
    let existing_pvc = pvc.map(|p| PvcFacts {
        name: claim.clone(),
        access_modes: p.spec.and_then(|s| s.access_modes).unwrap_or_default(),
        owned_by_registry: p
            .metadata
            .annotations
            .is_some_and(|a| a.contains_key(REGISTRY_ANNOTATION)),
    });
    let default_storage_class = classes
        .items
        .iter()
        .find(|sc| {
            sc.metadata.annotations.as_ref().is_some_and(|a| {
                a.get("storageclass.kubernetes.io/is-default-class")
                    .is_some_and(|v| v == "true")
            })
        })
        .and_then(|sc| sc.metadata.name.clone());
    let swift_available = if platform_type == "OpenStack" {
        let cloud_name = platform_status
            .openstack
            .as_ref()
            .and_then(|o| o.cloud_name.clone())
            .unwrap_or_else(|| "openstack".into());
        Some(openstack::offers_object_storage(user.as_ref().or(cloud.as_ref()), &cloud_name).await?)
    } else {
        None
    };
    Ok(StorageInput {
        platform,
        current,
        facts: StorageFacts {
            user_credential_keys: user.as_ref().map(key_names),
            cloud_credential_keys: cloud.as_ref().map(key_names),
            existing_pvc,
            swift_available,
            default_storage_class,
        },
    })
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
    Ok(PrunerInput {
        registry_management_state: config.and_then(|c| c.spec.management_state).unwrap_or_default(),
        pruner: pruner.map_or(json!({}), |p| serde_json::to_value(p.spec).unwrap_or(json!({}))),
        internal_registry_hostname: image
            .and_then(|i| i.status?.internal_registry_hostname)
            .unwrap_or_default(),
    })
}
