//! The organisation's policy configuration stored in the cluster.

use crate::api::REGISTRY_NAMESPACE;
use crate::policy::config::{CLUSTER_CONFIG_KEY, CLUSTER_CONFIGMAP, Origin, SourcedConfig};
use anyhow::{Result, anyhow};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{Api, Client};

/// The ConfigMap `openshift-image-registry/oc-registry-policies`, if it exists.
pub async fn cluster_policy_config(client: &Client) -> Result<Option<SourcedConfig>> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), REGISTRY_NAMESPACE);
    match api.get_opt(CLUSTER_CONFIGMAP).await? {
        Some(cm) => parse_cluster_policy_config(cm).map(Some),
        None => Ok(None),
    }
}

/// The policy configuration a cluster's policy ConfigMap holds, with its module blobs.
pub fn parse_cluster_policy_config(cm: ConfigMap) -> Result<SourcedConfig> {
    let location = format!("{REGISTRY_NAMESPACE}/{CLUSTER_CONFIGMAP}");
    let text = cm
        .data
        .as_ref()
        .and_then(|d| d.get(CLUSTER_CONFIG_KEY))
        .ok_or_else(|| anyhow!("configmap {location} has no {CLUSTER_CONFIG_KEY} key"))?;
    let blobs = cm
        .binary_data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    SourcedConfig::parse(text, Origin::Cluster(location), blobs)
}
