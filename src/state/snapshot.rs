//! The objects the registry is rendered from, as one typed set: fetched from the cluster, or
//! picked out of files for offline rendering. Both give the same [`Snapshot`], and everything
//! derived from it (the rendering inputs, the storage hook's input) is computed from it alone,
//! so `render -f` and `reconcile` cannot read the world differently.

use super::is_owned_route;
use super::references::Names;
use crate::api::{
    CLOUD_CREDENTIALS, CLUSTER, Config, Image, ImagePruner, Infrastructure, OPENSHIFT_CONFIG, Proxy,
    REGISTRY_NAMESPACE, USER_CREDENTIALS,
};
use crate::api::{KUBE_CLOUD_CONFIG, OPENSHIFT_CONFIG_MANAGED, REMOVED_ALERT_RULE, Route};
use crate::cluster::retry;
use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, PersistentVolumeClaim, Secret, Service};
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::{Api, Client};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The operator Deployment the cluster version operator installs; its environment names the
/// images of the release the cluster runs.
pub(crate) const OPERATOR_DEPLOYMENT: &str = "cluster-image-registry-operator";
/// `openshift-config/pull-secret`: the cluster's pull secret.
pub(crate) const PULL_SECRET: &str = "pull-secret";
/// The ConfigMap the service CA operator injects its CA into.
pub const SERVICE_CA_CONFIGMAP: &str = "serviceca";
/// The registry Service (named as its Deployment).
const REGISTRY_SERVICE: &str = super::DEPLOYMENT;

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub pruner: Option<ImagePruner>,
    pub infrastructure: Option<Infrastructure>,
    pub proxy: Option<Proxy>,
    pub image: Option<Image>,
    pub operator: Option<Deployment>,
    pub namespace: Option<Namespace>,
    pub pull_secret: Option<Secret>,
    pub user_credentials: Option<Secret>,
    pub cloud_credentials: Option<Secret>,
    pub service_ca: Option<ConfigMap>,
    pub nodes: Vec<Node>,
    /// The claim the Config names, when it exists.
    pub claim: Option<PersistentVolumeClaim>,
    /// Secrets in the registry's namespace the Config names, by name (absent ones are missing).
    pub secrets: BTreeMap<String, Secret>,
    /// ConfigMaps in `openshift-config` the Config or the Image config names, by name.
    pub config_maps: BTreeMap<String, ConfigMap>,
    /// The Routes the registry owns.
    pub owned_routes: Vec<Route>,
    /// Whether the `ImageRegistryRemoved` alert rule exists.
    pub removed_alert: bool,
    /// `openshift-config-managed/kube-cloud-config`: the cloud provider's CA bundle, when published.
    pub cloud_config: Option<ConfigMap>,
    /// The registry Service, when it exists.
    pub service: Option<Service>,
}

impl Snapshot {
    /// Reads what rendering `config` needs: one round of reads known up front, one for what the
    /// Config and Image config name. `names` are the objects the Config refers to.
    pub async fn fetch(client: &Client, names: &Names) -> Result<Snapshot> {
        names.check().map_err(anyhow::Error::msg)?;
        let ns = REGISTRY_NAMESPACE;
        let secrets = Api::<Secret>::namespaced(client.clone(), ns);
        let config_maps = Api::<ConfigMap>::namespaced(client.clone(), OPENSHIFT_CONFIG);
        let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns);
        let pruners = Api::<ImagePruner>::all(client.clone());
        let infrastructures = Api::<Infrastructure>::all(client.clone());
        let proxies = Api::<Proxy>::all(client.clone());
        let images = Api::<Image>::all(client.clone());
        let deployments = Api::<Deployment>::namespaced(client.clone(), ns);
        let namespaces = Api::<Namespace>::all(client.clone());
        let config_secrets = Api::<Secret>::namespaced(client.clone(), OPENSHIFT_CONFIG);
        let ns_maps = Api::<ConfigMap>::namespaced(client.clone(), ns);
        let node_api = Api::<Node>::all(client.clone());
        let routes = Api::<Route>::namespaced(client.clone(), ns);
        let rules = Api::<DynamicObject>::namespaced_with(client.clone(), ns, &prometheus_rules());
        let managed_maps = Api::<ConfigMap>::namespaced(client.clone(), OPENSHIFT_CONFIG_MANAGED);
        let services = Api::<Service>::namespaced(client.clone(), ns);
        let all = ListParams::default();
        let claim = async {
            match &names.claim {
                Some(name) => retry(|| claims.get_opt(name)).await,
                None => Ok(None),
            }
        };
        let owned_routes = async {
            match retry(|| routes.list(&all)).await {
                Ok(list) => Ok(list.items.into_iter().filter(is_owned_route).collect()),
                // A cluster without Routes has none to own.
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(Vec::new()),
                Err(e) => Err(e),
            }
        };
        let (
            pruner,
            infrastructure,
            proxy,
            image,
            operator,
            namespace,
            pull_secret,
            user,
            cloud,
            service_ca,
            nodes,
            claim,
            owned_routes,
            removed_alert,
            cloud_config,
            service,
        ) = tokio::try_join!(
            retry(|| pruners.get_opt(CLUSTER)),
            retry(|| infrastructures.get_opt(CLUSTER)),
            retry(|| proxies.get_opt(CLUSTER)),
            retry(|| images.get_opt(CLUSTER)),
            retry(|| deployments.get_opt(OPERATOR_DEPLOYMENT)),
            retry(|| namespaces.get_opt(ns)),
            retry(|| config_secrets.get_opt(PULL_SECRET)),
            retry(|| secrets.get_opt(USER_CREDENTIALS)),
            retry(|| secrets.get_opt(CLOUD_CREDENTIALS)),
            retry(|| ns_maps.get_opt(SERVICE_CA_CONFIGMAP)),
            retry(|| node_api.list(&all)),
            claim,
            owned_routes,
            // A cluster without the monitoring CRDs has no alert to remove.
            async {
                Ok(retry(|| rules.get_opt(REMOVED_ALERT_RULE))
                    .await
                    .unwrap_or(None)
                    .is_some())
            },
            // Published on clouds that need it; unreadable counts as absent (the system roots).
            async { Ok(retry(|| managed_maps.get_opt(KUBE_CLOUD_CONFIG)).await.unwrap_or(None)) },
            retry(|| services.get_opt(REGISTRY_SERVICE)),
        )
        .context("reading the cluster state the registry is rendered from")?;
        let mut map_names = names.config_maps.clone();
        map_names.extend(additional_trusted_ca(image.as_ref()));
        let (secrets, config_maps) =
            tokio::try_join!(get_each(&secrets, &names.secrets), get_each(&config_maps, &map_names),)
                .context("reading the Secrets and ConfigMaps the registry's configuration names")?;
        Ok(Snapshot {
            pruner,
            infrastructure,
            proxy,
            image,
            operator,
            namespace,
            pull_secret,
            user_credentials: user,
            cloud_credentials: cloud,
            service_ca,
            nodes: nodes.items,
            claim,
            secrets,
            config_maps,
            owned_routes,
            removed_alert,
            cloud_config,
            service,
        })
    }

    /// The same set picked out of objects read from files: whatever is not among them is absent.
    pub fn from_objects(objects: &[Value], names: &Names) -> Result<Snapshot> {
        let image: Option<Image> = find(objects, "Image", "", CLUSTER)?;
        let mut map_names = names.config_maps.clone();
        map_names.extend(additional_trusted_ca(image.as_ref()));
        let mut secrets = BTreeMap::new();
        for name in &names.secrets {
            if let Some(s) = find(objects, "Secret", REGISTRY_NAMESPACE, name)? {
                secrets.insert(name.clone(), s);
            }
        }
        let mut config_maps = BTreeMap::new();
        for name in &map_names {
            if let Some(c) = find(objects, "ConfigMap", OPENSHIFT_CONFIG, name)? {
                config_maps.insert(name.clone(), c);
            }
        }
        let claim = match &names.claim {
            Some(name) => find(objects, "PersistentVolumeClaim", REGISTRY_NAMESPACE, name)?,
            None => None,
        };
        Ok(Snapshot {
            pruner: find(objects, "ImagePruner", "", CLUSTER)?,
            infrastructure: find(objects, "Infrastructure", "", CLUSTER)?,
            proxy: find(objects, "Proxy", "", CLUSTER)?,
            image,
            operator: find(objects, "Deployment", REGISTRY_NAMESPACE, OPERATOR_DEPLOYMENT)?,
            namespace: find(objects, "Namespace", "", REGISTRY_NAMESPACE)?,
            pull_secret: find(objects, "Secret", OPENSHIFT_CONFIG, PULL_SECRET)?,
            user_credentials: find(objects, "Secret", REGISTRY_NAMESPACE, USER_CREDENTIALS)?,
            cloud_credentials: find(objects, "Secret", REGISTRY_NAMESPACE, CLOUD_CREDENTIALS)?,
            service_ca: find(objects, "ConfigMap", REGISTRY_NAMESPACE, SERVICE_CA_CONFIGMAP)?,
            nodes: objects
                .iter()
                .filter(|o| is(o, "Node", "", None))
                .map(|o| serde_json::from_value(o.clone()).context("reading a Node"))
                .collect::<Result<_>>()?,
            claim,
            secrets,
            config_maps,
            owned_routes: objects
                .iter()
                .filter(|o| is(o, "Route", REGISTRY_NAMESPACE, None))
                .map(|o| serde_json::from_value(o.clone()).context("reading a Route"))
                .collect::<Result<Vec<Route>>>()?
                .into_iter()
                .filter(is_owned_route)
                .collect(),
            removed_alert: objects
                .iter()
                .any(|o| is(o, "PrometheusRule", REGISTRY_NAMESPACE, Some(REMOVED_ALERT_RULE))),
            cloud_config: find(objects, "ConfigMap", OPENSHIFT_CONFIG_MANAGED, KUBE_CLOUD_CONFIG)?,
            service: find(objects, "Service", REGISTRY_NAMESPACE, REGISTRY_SERVICE)?,
        })
    }

    /// The Image config's `additionalTrustedCA` ConfigMap, when it names one that exists.
    pub fn additional_trusted_ca(&self) -> Option<(&str, &ConfigMap)> {
        let name = additional_trusted_ca(self.image.as_ref())?;
        self.config_maps.get_key_value(&name).map(|(n, c)| (n.as_str(), c))
    }
}

fn additional_trusted_ca(image: Option<&Image>) -> Option<String> {
    image?
        .spec
        .additional_trusted_ca
        .as_ref()
        .map(|r| r.name.clone())
        .filter(|n| !n.is_empty())
}

/// Each named object that exists, read concurrently.
async fn get_each<K>(api: &Api<K>, names: &BTreeSet<String>) -> Result<BTreeMap<String, K>, kube::Error>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let found = futures::future::try_join_all(
        names
            .iter()
            .map(|name| async move { Ok::<_, kube::Error>(api.get_opt(name).await?.map(|o| (name.clone(), o))) }),
    )
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// The Config among objects read from files.
pub fn config_among(objects: &[Value]) -> Result<Option<Config>> {
    find(objects, "Config", "", CLUSTER)
}

fn is(object: &Value, kind: &str, namespace: &str, name: Option<&str>) -> bool {
    object.get("kind").and_then(Value::as_str) == Some(kind)
        && object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            == namespace
        && name.is_none_or(|n| object.pointer("/metadata/name").and_then(Value::as_str) == Some(n))
}

fn find<T: DeserializeOwned>(objects: &[Value], kind: &str, namespace: &str, name: &str) -> Result<Option<T>> {
    objects
        .iter()
        .find(|o| is(o, kind, namespace, Some(name)))
        .map(|o| serde_json::from_value(o.clone()).with_context(|| format!("reading {kind} {name}")))
        .transpose()
}

fn prometheus_rules() -> ApiResource {
    ApiResource {
        group: "monitoring.coreos.com".into(),
        version: "v1".into(),
        api_version: "monitoring.coreos.com/v1".into(),
        kind: "PrometheusRule".into(),
        plural: "prometheusrules".into(),
    }
}
