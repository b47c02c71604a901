//! Everything a reconcile pass reads, as one value: read from the server in one round of
//! concurrent requests, or assembled from watch caches with none. What a pass derives — the
//! [`Snapshot`] rendering reads, the storage hook's input, the live objects it compares with —
//! comes from this value alone, so a pass reads the same way however its state was gathered.

use super::facts::{StorageSources, claim_name};
use super::is_owned_route;
use super::references::Names;
use super::snapshot::{OPERATOR_DEPLOYMENT, PULL_SECRET, SERVICE_CA_CONFIGMAP, Snapshot};
use crate::api::{
    APIServer, CLOUD_CREDENTIALS, CLUSTER, ClusterOperator, ClusterVersion, Config, Image, ImagePruner, Infrastructure,
    KUBE_CLOUD_CONFIG, OPENSHIFT_CONFIG, OPENSHIFT_CONFIG_MANAGED, Proxy, REGISTRY_NAMESPACE, REMOVED_ALERT_RULE,
    Route, USER_CREDENTIALS,
};
use crate::cluster::retry;
use crate::policy::sdk::StorageInput;
use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// The registry Service (named as its Deployment).
const REGISTRY_SERVICE: &str = super::DEPLOYMENT;
/// Lists are read in pages of this many objects, so that no answer grows with the cluster.
const PAGE: u32 = 500;

/// A resource type, as requests name it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
}

impl ResourceType {
    pub fn of(resource: &ApiResource) -> ResourceType {
        ResourceType {
            group: resource.group.clone(),
            version: resource.version.clone(),
            kind: resource.kind.clone(),
            plural: resource.plural.clone(),
        }
    }

    fn typed<K: Resource<DynamicType = ()>>() -> ResourceType {
        ResourceType::of(&ApiResource::erase::<K>(&()))
    }

    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: if self.group.is_empty() {
                self.version.clone()
            } else {
                format!("{}/{}", self.group, self.version)
            },
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }
}

/// One read of a pass: every object of a resource in a namespace (or the cluster), narrowed to
/// one name or a label selector.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    pub resource: ResourceType,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub labels: Option<String>,
}

impl Source {
    fn named(resource: ResourceType, namespace: Option<&str>, name: &str) -> Source {
        Source {
            resource,
            namespace: namespace.map(str::to_string),
            name: Some(name.to_string()),
            labels: None,
        }
    }

    fn all(resource: ResourceType, namespace: Option<&str>) -> Source {
        Source {
            resource,
            namespace: namespace.map(str::to_string),
            name: None,
            labels: None,
        }
    }

    /// A cluster may lack the resource type (Routes, monitoring, the cluster config of an older
    /// OpenShift) or not let the reader see it (the cloud's CA bundle): then it holds none of
    /// these objects.
    pub fn optional(&self) -> bool {
        let r = &self.resource;
        matches!(
            r.group.as_str(),
            "route.openshift.io" | "monitoring.coreos.com" | "storage.k8s.io"
        ) || matches!(r.plural.as_str(), "apiservers" | "clusterversions" | "clusteroperators")
            || (self.namespace.as_deref() == Some(OPENSHIFT_CONFIG_MANAGED)
                && self.name.as_deref() == Some(KUBE_CLOUD_CONFIG))
    }

    /// Every object of `resource` in the registry's namespace.
    pub fn in_registry_namespace(resource: &ApiResource) -> Source {
        Source::all(ResourceType::of(resource), Some(REGISTRY_NAMESPACE))
    }

    /// One object by name (`namespace` `None` for a cluster-scoped one).
    pub fn object(resource: &ApiResource, namespace: Option<&str>, name: &str) -> Source {
        Source::named(ResourceType::of(resource), namespace, name)
    }

    pub fn api(&self, client: &Client) -> Api<DynamicObject> {
        let resource = self.resource.api_resource();
        match &self.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        }
    }

    /// The list (and watch) parameters that select this source's objects.
    pub fn list_params(&self) -> ListParams {
        let mut params = ListParams::default();
        if let Some(name) = &self.name {
            params = params.fields(&format!("metadata.name={name}"));
        }
        if let Some(labels) = &self.labels {
            params = params.labels(labels);
        }
        params
    }

    /// `deployments.apps` in `openshift-image-registry`, for messages.
    pub fn describe(&self) -> String {
        let resource = if self.resource.group.is_empty() {
            self.resource.plural.clone()
        } else {
            format!("{}.{}", self.resource.plural, self.resource.group)
        };
        let what = match &self.name {
            Some(name) => format!("{resource}/{name}"),
            None => resource,
        };
        match &self.namespace {
            Some(ns) => format!("{what} in {ns}"),
            None => what,
        }
    }

    /// Whether `object` is one of this source's (for objects cached by a wider watch).
    fn selects(&self, object: &DynamicObject) -> bool {
        self.name
            .as_deref()
            .is_none_or(|n| object.metadata.name.as_deref() == Some(n))
    }
}

/// The reads every pass makes, besides those of the objects it writes: the registry's own
/// configuration, the cluster configuration it renders from, what it reports to, and what is in
/// the registry's namespace that rendering reads.
pub fn base_sources() -> Vec<Source> {
    let ns = Some(REGISTRY_NAMESPACE);
    let mut pruner_jobs = Source::all(ResourceType::typed::<Job>(), ns);
    pruner_jobs.labels = Some(super::PRUNER_JOB_SELECTOR.to_string());
    vec![
        Source::named(ResourceType::typed::<Config>(), None, CLUSTER),
        Source::named(ResourceType::typed::<ImagePruner>(), None, CLUSTER),
        Source::named(ResourceType::typed::<Infrastructure>(), None, CLUSTER),
        Source::named(ResourceType::typed::<Proxy>(), None, CLUSTER),
        Source::named(ResourceType::typed::<Image>(), None, CLUSTER),
        Source::named(ResourceType::typed::<APIServer>(), None, CLUSTER),
        Source::named(ResourceType::typed::<ClusterVersion>(), None, "version"),
        Source::named(ResourceType::typed::<ClusterOperator>(), None, super::DEPLOYMENT),
        Source::named(ResourceType::typed::<Namespace>(), None, REGISTRY_NAMESPACE),
        Source::all(ResourceType::typed::<Node>(), None),
        Source::all(ResourceType::typed::<StorageClass>(), None),
        Source::named(ResourceType::typed::<Secret>(), Some(OPENSHIFT_CONFIG), PULL_SECRET),
        // The additional trusted CA and the S3 trusted CA, named by the configuration.
        Source::all(ResourceType::typed::<ConfigMap>(), Some(OPENSHIFT_CONFIG)),
        // The cloud's CA bundle; unreadable counts as absent (the system roots).
        Source::named(
            ResourceType::typed::<ConfigMap>(),
            Some(OPENSHIFT_CONFIG_MANAGED),
            KUBE_CLOUD_CONFIG,
        ),
        pruner_jobs,
        Source::all(ResourceType::typed::<Secret>(), ns),
        Source::all(ResourceType::typed::<ConfigMap>(), ns),
        Source::all(ResourceType::typed::<Deployment>(), ns),
        Source::all(ResourceType::typed::<Service>(), ns),
        Source::all(ResourceType::typed::<PersistentVolumeClaim>(), ns),
        Source::all(ResourceType::typed::<Route>(), ns),
        Source::all(ResourceType::of(&prometheus_rules()), ns),
    ]
}

/// `more` with the base reads, each once.
pub fn with_base(more: &[Source]) -> Vec<Source> {
    let mut sources = base_sources();
    sources.extend(more.iter().cloned());
    sources.sort();
    sources.dedup();
    sources
}

/// What one read found.
#[derive(Clone, Debug)]
pub enum Found {
    Objects(Vec<DynamicObject>),
    /// An optional source the cluster does not serve (404) or does not let this user see (403).
    Unreadable {
        code: u16,
        message: String,
    },
}

/// What a pass found, by source.
#[derive(Clone, Debug, Default)]
pub struct ClusterState {
    found: BTreeMap<Source, Found>,
}

/// What the state says of one object.
#[derive(Debug, PartialEq)]
pub enum Live<'a> {
    /// Read: the object as it is, or `None` when it does not exist.
    Known(Option<&'a DynamicObject>),
    /// Not among what was read.
    Unknown,
}

impl ClusterState {
    /// Reads `base_sources()` and `more` at once: one round trip (more only for lists of more
    /// than a page).
    pub async fn read(client: &Client, more: &[Source]) -> Result<ClusterState> {
        let reads = with_base(more).into_iter().map(|source| async move {
            let found = read_source(client, &source)
                .await
                .with_context(|| format!("reading {}", source.describe()))?;
            Ok::<_, anyhow::Error>((source, found))
        });
        let found = futures::future::try_join_all(reads)
            .await
            .context("reading the cluster state the registry is reconciled from")?;
        Ok(ClusterState {
            found: found.into_iter().collect(),
        })
    }

    /// A state from what caches hold, by source.
    pub fn from_found(found: BTreeMap<Source, Found>) -> ClusterState {
        ClusterState { found }
    }

    /// The state with `written` (objects as the server stored them after a write) in place of
    /// what was read of them.
    pub fn updated(&self, written: &[serde_json::Value]) -> ClusterState {
        let mut state = self.clone();
        for value in written {
            let Ok(object) = serde_json::from_value::<DynamicObject>(value.clone()) else {
                continue;
            };
            let Some(types) = &object.types else { continue };
            for (source, found) in state.found.iter_mut() {
                let resource = source.resource.api_resource();
                let Found::Objects(objects) = found else { continue };
                if resource.api_version != types.api_version
                    || resource.kind != types.kind
                    || source.namespace.as_deref() != object.metadata.namespace.as_deref()
                    || !source.selects(&object)
                {
                    continue;
                }
                objects.retain(|o| o.metadata.name != object.metadata.name);
                objects.push(object.clone());
            }
        }
        state
    }

    fn objects(&self, source: &Source) -> &[DynamicObject] {
        match self.found.get(source) {
            Some(Found::Objects(o)) => o,
            _ => &[],
        }
    }

    /// Whether an optional source could not be read: the status code and message.
    fn unreadable(&self, source: &Source) -> Option<(u16, &str)> {
        match self.found.get(source) {
            Some(Found::Unreadable { code, message }) => Some((*code, message.as_str())),
            _ => None,
        }
    }

    /// The object as its type; a list's items carry no `apiVersion` and `kind`, which some types
    /// insist on.
    fn typed<K: Resource<DynamicType = ()> + DeserializeOwned>(object: &DynamicObject) -> Result<K> {
        let mut value = serde_json::to_value(object)?;
        value["apiVersion"] = K::api_version(&()).into();
        value["kind"] = K::kind(&()).into();
        serde_json::from_value(value).with_context(|| {
            let name = object.metadata.name.as_deref().unwrap_or_default();
            format!("reading {} {name}", K::kind(&()))
        })
    }

    /// The one object a named base source found.
    fn one<K: Resource<DynamicType = ()> + DeserializeOwned>(
        &self,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<K>> {
        let source = Source::named(ResourceType::typed::<K>(), namespace, name);
        self.objects(&source)
            .iter()
            .find(|o| source.selects(o))
            .map(Self::typed)
            .transpose()
    }

    /// Every object a listing base source found.
    fn every<K: Resource<DynamicType = ()> + DeserializeOwned>(&self, namespace: Option<&str>) -> Result<Vec<K>> {
        let source = Source::all(ResourceType::typed::<K>(), namespace);
        self.objects(&source).iter().map(Self::typed).collect()
    }

    /// An object in the registry's namespace, from the listing of its resource.
    fn in_registry<K: Resource<DynamicType = ()> + DeserializeOwned>(&self, name: &str) -> Result<Option<K>> {
        let source = Source::all(ResourceType::typed::<K>(), Some(REGISTRY_NAMESPACE));
        self.objects(&source)
            .iter()
            .find(|o| o.metadata.name.as_deref() == Some(name))
            .map(Self::typed)
            .transpose()
    }

    pub fn config(&self) -> Result<Option<Config>> {
        self.one(None, CLUSTER)
    }

    pub fn pruner(&self) -> Result<Option<ImagePruner>> {
        self.one(None, CLUSTER)
    }

    pub fn infrastructure(&self) -> Result<Option<Infrastructure>> {
        self.one(None, CLUSTER)
    }

    pub fn image(&self) -> Result<Option<Image>> {
        self.one(None, CLUSTER)
    }

    /// The cluster's APIServer config: `Err` when it could not be read (forbidden), `Ok(None)`
    /// when the cluster has none.
    pub fn api_server(&self) -> Result<Result<Option<APIServer>, String>> {
        let source = Source::named(ResourceType::typed::<APIServer>(), None, CLUSTER);
        Ok(match self.unreadable(&source) {
            Some((code, why)) if code != 404 => Err(why.to_string()),
            _ => Ok(self.one(None, CLUSTER)?),
        })
    }

    /// The ClusterVersion, as [`ClusterState::api_server`].
    pub fn cluster_version(&self) -> Result<Result<Option<ClusterVersion>, String>> {
        let source = Source::named(ResourceType::typed::<ClusterVersion>(), None, "version");
        Ok(match self.unreadable(&source) {
            Some((code, why)) if code != 404 => Err(why.to_string()),
            _ => Ok(self.one(None, "version")?),
        })
    }

    /// The Image Registry Operator's Deployment, as the cluster version operator installs it.
    pub fn operator_deployment(&self) -> Result<Option<Deployment>> {
        self.in_registry(OPERATOR_DEPLOYMENT)
    }

    pub fn cluster_operator(&self) -> Result<Option<ClusterOperator>> {
        self.one(None, super::DEPLOYMENT)
    }

    pub fn deployment(&self) -> Result<Option<Deployment>> {
        self.in_registry(super::DEPLOYMENT)
    }

    pub fn service(&self) -> Result<Option<Service>> {
        self.in_registry(REGISTRY_SERVICE)
    }

    /// The Routes the registry owns.
    pub fn owned_routes(&self) -> Result<Vec<Route>> {
        Ok(self
            .every::<Route>(Some(REGISTRY_NAMESPACE))?
            .into_iter()
            .filter(is_owned_route)
            .collect())
    }

    pub fn pruner_jobs(&self) -> Result<Vec<Job>> {
        let mut source = Source::all(ResourceType::typed::<Job>(), Some(REGISTRY_NAMESPACE));
        source.labels = Some(super::PRUNER_JOB_SELECTOR.to_string());
        self.objects(&source).iter().map(Self::typed).collect()
    }

    /// Whether the pruner's CronJob exists (unknown counts as not).
    pub fn pruner_cronjob_exists(&self) -> bool {
        let resource = ApiResource::erase::<CronJob>(&());
        matches!(
            self.live(&resource, Some(REGISTRY_NAMESPACE), super::PRUNER_CRONJOB),
            Live::Known(Some(_))
        )
    }

    /// A PersistentVolumeClaim in the registry's namespace.
    pub fn claim(&self, name: &str) -> Result<Option<PersistentVolumeClaim>> {
        self.in_registry(name)
    }

    /// What the state says of one object: from the listing of its resource in its namespace, or
    /// from a read of it by name.
    pub fn live(&self, resource: &ApiResource, namespace: Option<&str>, name: &str) -> Live<'_> {
        let resource = ResourceType::of(resource);
        let listing = Source::all(resource.clone(), namespace);
        let named = Source::named(resource, namespace, name);
        for source in [listing, named] {
            match self.found.get(&source) {
                Some(Found::Objects(objects)) => {
                    return Live::Known(objects.iter().find(|o| o.metadata.name.as_deref() == Some(name)));
                }
                Some(Found::Unreadable { .. }) => return Live::Known(None),
                None => {}
            }
        }
        Live::Unknown
    }

    /// What rendering reads, for a Config that names `names`.
    pub fn snapshot(&self, names: &Names) -> Result<Snapshot> {
        names.check().map_err(anyhow::Error::msg)?;
        let image = self.image()?;
        let mut map_names = names.config_maps.clone();
        map_names.extend(
            image
                .as_ref()
                .and_then(|i| i.spec.additional_trusted_ca.as_ref())
                .map(|r| r.name.clone())
                .filter(|n| !n.is_empty()),
        );
        let config_maps = self
            .every::<ConfigMap>(Some(OPENSHIFT_CONFIG))?
            .into_iter()
            .filter_map(|c| Some((c.metadata.name.clone()?, c)))
            .filter(|(n, _)| map_names.contains(n))
            .collect();
        let mut secrets = BTreeMap::new();
        for name in &names.secrets {
            if let Some(secret) = self.in_registry::<Secret>(name)? {
                secrets.insert(name.clone(), secret);
            }
        }
        let removed_alert = Source::all(ResourceType::of(&prometheus_rules()), Some(REGISTRY_NAMESPACE));
        Ok(Snapshot {
            pruner: self.pruner()?,
            infrastructure: self.infrastructure()?,
            proxy: self.one(None, CLUSTER)?,
            image,
            operator: self.in_registry(OPERATOR_DEPLOYMENT)?,
            namespace: self.one(None, REGISTRY_NAMESPACE)?,
            pull_secret: self.one(Some(OPENSHIFT_CONFIG), PULL_SECRET)?,
            user_credentials: self.in_registry(USER_CREDENTIALS)?,
            cloud_credentials: self.in_registry(CLOUD_CREDENTIALS)?,
            service_ca: self.in_registry(SERVICE_CA_CONFIGMAP)?,
            nodes: self.every(None)?,
            claim: match names.claim.as_deref() {
                Some(n) => self.claim(n)?,
                None => None,
            },
            secrets,
            config_maps,
            owned_routes: self.owned_routes()?,
            removed_alert: self
                .objects(&removed_alert)
                .iter()
                .any(|o| o.metadata.name.as_deref() == Some(REMOVED_ALERT_RULE)),
            cloud_config: self.one(Some(OPENSHIFT_CONFIG_MANAGED), KUBE_CLOUD_CONFIG)?,
            service: self.service()?,
        })
    }

    /// The storage hook's input for the cluster with `config` as its Config (the one a pass
    /// holds, which may be newer than the one read); whether OpenStack offers Swift is the
    /// storage layer's to ask.
    pub fn storage_input(&self, config: Option<&Config>) -> Result<StorageInput> {
        let infrastructure = self
            .infrastructure()?
            .context("reading infrastructures.config.openshift.io/cluster: it does not exist")?;
        let claim = self.claim(&claim_name(config))?;
        let (user, cloud) = (
            self.in_registry::<Secret>(USER_CREDENTIALS)?,
            self.in_registry::<Secret>(CLOUD_CREDENTIALS)?,
        );
        let classes = self.every::<StorageClass>(None)?;
        StorageSources {
            infrastructure: &infrastructure,
            config,
            claim: claim.as_ref(),
            user_credentials: user.as_ref(),
            cloud_credentials: cloud.as_ref(),
            storage_classes: &classes,
        }
        .input()
    }

    /// `installer-cloud-credentials`, which the cloud-credential operator mints.
    pub fn cloud_credentials(&self) -> Result<Option<Secret>> {
        self.in_registry(CLOUD_CREDENTIALS)
    }
}

/// Reads one source: a paged list (a named source is a list narrowed to its name, which RBAC
/// authorizes as a read of that name).
async fn read_source(client: &Client, source: &Source) -> Result<Found, kube::Error> {
    let api = source.api(client);
    let mut params = source.list_params().limit(PAGE);
    let mut objects = Vec::new();
    loop {
        let page = match retry(|| api.list(&params)).await {
            Ok(page) => page,
            Err(kube::Error::Api(s)) if source.optional() && matches!(s.code, 403 | 404) => {
                return Ok(Found::Unreadable {
                    code: s.code,
                    message: s.message.clone(),
                });
            }
            Err(e) => return Err(e),
        };
        objects.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(Found::Objects(objects)),
        }
    }
}

pub(crate) fn prometheus_rules() -> ApiResource {
    ApiResource {
        group: "monitoring.coreos.com".into(),
        version: "v1".into(),
        api_version: "monitoring.coreos.com/v1".into(),
        kind: "PrometheusRule".into(),
        plural: "prometheusrules".into(),
    }
}
