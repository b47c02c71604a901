//! Whether the Image Registry Operator runs: its Deployment, as the cluster version operator
//! installs it, with ready replicas. While it runs, it acts on every change to the Config too.

use super::snapshot::OPERATOR_DEPLOYMENT;
use crate::api::REGISTRY_NAMESPACE;
use k8s_openapi::api::apps::v1::Deployment;
use kube::{Api, Client};

/// The operator's ready and desired replicas, when it runs (at least one ready).
pub async fn running(client: &Client) -> Result<Option<(i32, i32)>, kube::Error> {
    let api = Api::<Deployment>::namespaced(client.clone(), REGISTRY_NAMESPACE);
    let deployment = crate::cluster::retry(|| api.get_opt(OPERATOR_DEPLOYMENT)).await?;
    Ok(deployment.and_then(|d| ready(&d)))
}

/// The operator's ready and desired replicas, when `deployment` (the operator's) runs.
pub fn ready(deployment: &Deployment) -> Option<(i32, i32)> {
    let ready = deployment.status.as_ref()?.ready_replicas.unwrap_or(0);
    let desired = deployment.spec.as_ref()?.replicas.unwrap_or(1);
    (ready > 0 && desired > 0).then_some((ready, desired))
}
