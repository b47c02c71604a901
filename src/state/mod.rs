//! The registry's observed state: every object the status of the registry is read from, fetched
//! concurrently.

pub mod cluster;
pub mod facts;
pub mod jobs;
pub mod operator;
pub mod policies;
pub mod references;
pub mod snapshot;

use crate::api::{CLUSTER, ClusterOperator, Config, DEFAULT_CLAIM, Image, ImagePruner, REGISTRY_NAMESPACE, Route};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::ListParams;
use kube::{Api, Client};
use serde::de::DeserializeOwned;
use std::fmt::Debug;

pub const DEPLOYMENT: &str = "image-registry";
pub const PRUNER_CRONJOB: &str = "image-pruner";
/// Label the pruner's CronJob puts on its Jobs.
pub const PRUNER_JOB_SELECTOR: &str = "created-by=image-pruner";
/// Annotation marking Routes the registry owns.
pub const ROUTE_OWNER_ANNOTATION: &str = "imageregistry.openshift.io";

/// Whether the registry owns a Route (it carries the owner annotation).
pub fn is_owned_route(route: &Route) -> bool {
    route
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(ROUTE_OWNER_ANNOTATION))
}

#[derive(Debug, Default)]
pub struct Observed {
    pub config: Option<Config>,
    pub pruner: Option<ImagePruner>,
    pub cluster_operator: Option<ClusterOperator>,
    pub deployment: Option<Deployment>,
    pub routes: Vec<Route>,
    pub pruner_cronjob: Option<CronJob>,
    pub pruner_jobs: Vec<Job>,
    pub image_config: Option<Image>,
    /// The claim `spec.storage.pvc` names, when it is set and the claim exists.
    pub storage_claim: Option<PersistentVolumeClaim>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The cluster does not serve `configs.imageregistry.operator.openshift.io`.
    #[error("the server does not serve configs.imageregistry.operator.openshift.io")]
    NoRegistryApi,
    #[error(transparent)]
    Api(#[from] kube::Error),
}

/// `Ok(None)` for a missing object; a missing *resource type* is an error the caller can tell apart.
async fn get_opt<K>(api: Api<K>, name: &str) -> Result<Option<K>, ReadError>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
{
    // A young server answers 429 while it starts serving a resource, a loaded one 5xx: retried.
    match crate::cluster::retry(|| api.get(name)).await {
        Ok(o) => Ok(Some(o)),
        Err(kube::Error::Api(s)) if s.code == 404 && s.details.as_ref().is_some_and(|d| !d.name.is_empty()) => Ok(None),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(ReadError::NoRegistryApi),
        Err(e) => Err(e.into()),
    }
}

/// Like `get_opt`, but a resource type the cluster lacks also counts as absent.
async fn get_optional<K>(api: Api<K>, name: &str) -> Result<Option<K>, ReadError>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
{
    match get_opt(api, name).await {
        Err(ReadError::NoRegistryApi) => Ok(None),
        other => other,
    }
}

impl Observed {
    pub async fn read(client: &Client) -> Result<Self, ReadError> {
        let ns = REGISTRY_NAMESPACE;
        let config = get_opt(Api::<Config>::all(client.clone()), CLUSTER).await?;
        let pruner = get_optional(Api::<ImagePruner>::all(client.clone()), CLUSTER);
        let co = get_optional(Api::<ClusterOperator>::all(client.clone()), "image-registry");
        let deployment = get_optional(Api::<Deployment>::namespaced(client.clone(), ns), DEPLOYMENT);
        let cronjob = get_optional(Api::<CronJob>::namespaced(client.clone(), ns), PRUNER_CRONJOB);
        let image = get_optional(Api::<Image>::all(client.clone()), CLUSTER);
        let routes = async {
            let (routes, all) = (Api::<Route>::namespaced(client.clone(), ns), ListParams::default());
            match crate::cluster::retry(|| routes.list(&all)).await {
                Ok(list) => Ok(list.items),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(Vec::new()),
                Err(e) => Err(ReadError::from(e)),
            }
        };
        let jobs = async {
            let params = ListParams::default().labels(PRUNER_JOB_SELECTOR);
            let jobs = Api::<Job>::namespaced(client.clone(), ns);
            crate::cluster::retry(|| jobs.list(&params))
                .await
                .map(|l| l.items)
                .map_err(ReadError::from)
        };
        let claim_name = config
            .as_ref()
            .and_then(|c| c.spec.storage.as_ref()?.pvc.as_ref())
            .map(|p| {
                p.claim
                    .clone()
                    .filter(|c| !c.is_empty())
                    .unwrap_or(DEFAULT_CLAIM.into())
            });
        let claim = async {
            match &claim_name {
                Some(name) => get_optional(Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns), name).await,
                None => Ok(None),
            }
        };
        let (pruner, co, deployment, cronjob, image, routes, jobs, storage_claim) =
            tokio::try_join!(pruner, co, deployment, cronjob, image, routes, jobs, claim)?;
        let routes = routes.into_iter().filter(is_owned_route).collect();
        Ok(Observed {
            config,
            pruner,
            cluster_operator: co,
            deployment,
            routes,
            pruner_cronjob: cronjob,
            pruner_jobs: jobs,
            image_config: image,
            storage_claim,
        })
    }
}
