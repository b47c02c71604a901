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
use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, PersistentVolumeClaim, Secret, Service};
use kube::Client;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;

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
    /// Reads what rendering a Config that names `names` needs, in one round of reads.
    pub async fn fetch(client: &Client, names: &Names) -> Result<Snapshot> {
        names.check().map_err(anyhow::Error::msg)?;
        super::cluster::ClusterState::read(client, &[]).await?.snapshot(names)
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
