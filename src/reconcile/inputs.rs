//! Everything the desired state is rendered from. Gathered from the cluster by [`gather`], or
//! assembled from files for the offline `render` command; rendering itself reads nothing else.

use crate::api::{CLUSTER, Config, Image, ImagePruner, ImagePrunerSpec, Infrastructure, Proxy, REGISTRY_NAMESPACE};
use crate::state::facts::{CLOUD_CREDENTIALS, USER_CREDENTIALS};
use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Secret};
use kube::api::ListParams;
use kube::{Api, Client};
use std::collections::BTreeMap;

/// Secret or ConfigMap contents by key. Secret values stay in memory only: they are rendered into
/// Secrets and never printed.
pub type Data = BTreeMap<String, Vec<u8>>;

/// The operator Deployment the cluster version operator installs; its environment names the
/// images of the release the cluster runs.
pub const OPERATOR_DEPLOYMENT: &str = "cluster-image-registry-operator";
pub const PULL_SECRET: (&str, &str) = ("openshift-config", "pull-secret");
pub const SERVICE_CA_CONFIGMAP: &str = "serviceca";

#[derive(Clone, Debug)]
pub struct Inputs {
    pub config: Config,
    pub pruner: ImagePrunerSpec,
    pub infrastructure: Infrastructure,
    /// `status` of `proxies.config.openshift.io/cluster`: the fallback for `spec.proxy`.
    pub cluster_proxy: ClusterProxy,
    pub image_config: Option<Image>,
    pub images: Images,
    /// The first number of the namespace's `openshift.io/sa.scc.supplemental-groups`.
    pub fs_group: Option<i64>,
    /// `.dockerconfigjson` of `openshift-config/pull-secret`.
    pub pull_secret: Option<Vec<u8>>,
    pub credentials: Credentials,
    /// The Secrets named by `spec.routes[].secretName`, by name (absent ones are missing).
    pub route_secrets: BTreeMap<String, Data>,
    /// The `additionalTrustedCA` ConfigMap of the Image config, when it names one that exists.
    pub additional_trusted_ca: Option<(String, BTreeMap<String, String>)>,
    /// `service-ca.crt` of the `serviceca` ConfigMap, once the service CA operator injected it.
    pub service_ca: Option<String>,
    /// `ca-bundle.crt` of the S3 `trustedCA` ConfigMap in `openshift-config`.
    pub storage_ca: Option<String>,
    pub nodes: NodeFacts,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterProxy {
    pub http: String,
    pub https: String,
    pub no_proxy: String,
}

/// The images and version of the release the registry runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Images {
    pub registry: Option<String>,
    pub pruner: Option<String>,
    pub release_version: Option<String>,
}

/// The storage credentials in effect: the user's Secret exclusively when it exists, else the
/// cloud-minted one.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    pub user: Option<Data>,
    pub cloud: Option<Data>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeFacts {
    /// Whether any node carries `topology.kubernetes.io/zone` (adds the zone spread constraint).
    pub zoned: bool,
    /// Schedulable Linux workers.
    pub schedulable_workers: usize,
}

impl Inputs {
    /// Inputs with nothing but the Config and Infrastructure known (offline rendering, tests).
    pub fn new(config: Config, infrastructure: Infrastructure) -> Inputs {
        Inputs {
            config,
            pruner: ImagePrunerSpec::default(),
            infrastructure,
            cluster_proxy: ClusterProxy::default(),
            image_config: None,
            images: Images::default(),
            fs_group: None,
            pull_secret: None,
            credentials: Credentials::default(),
            route_secrets: BTreeMap::new(),
            additional_trusted_ca: None,
            service_ca: None,
            storage_ca: None,
            nodes: NodeFacts::default(),
        }
    }
}

impl Images {
    /// The images the release names in the operator's environment.
    pub fn from_operator(deployment: &Deployment) -> Images {
        let env = deployment
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .map(|p| {
                p.containers
                    .iter()
                    .flat_map(|c| c.env.iter().flatten())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let var = |name: &str| {
            env.iter()
                .find(|e| e.name == name)
                .and_then(|e| e.value.clone())
                .filter(|v| !v.is_empty())
        };
        Images {
            registry: var("IMAGE"),
            pruner: var("IMAGE_PRUNER"),
            release_version: var("RELEASE_VERSION"),
        }
    }

    /// Fills what `self` (from flags) leaves open from `other`.
    pub fn or(self, other: Images) -> Images {
        Images {
            registry: self.registry.or(other.registry),
            pruner: self.pruner.or(other.pruner),
            release_version: self.release_version.or(other.release_version),
        }
    }
}

pub fn secret_data(secret: &Secret) -> Data {
    let mut data: Data = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in secret.string_data.iter().flatten() {
        data.insert(k.clone(), v.clone().into_bytes());
    }
    data
}

/// `1000430000/10000` → 1000430000 (also the `1000430000-1000439999` form).
pub fn first_group(annotation: &str) -> Option<i64> {
    annotation.split([',', '/', '-']).next()?.trim().parse().ok()
}

/// Reads everything rendering needs, concurrently. The Config must exist.
pub async fn gather(client: &Client, config: Config, flags: Images) -> Result<Inputs> {
    let ns = REGISTRY_NAMESPACE;
    let secrets = Api::<Secret>::namespaced(client.clone(), ns);
    let ns_maps = Api::<ConfigMap>::namespaced(client.clone(), ns);
    let config_maps = Api::<ConfigMap>::namespaced(client.clone(), "openshift-config");
    let route_secret_names: Vec<String> = config
        .spec
        .routes
        .iter()
        .flatten()
        .filter_map(|r| r.secret_name.clone())
        .filter(|n| !n.is_empty())
        .collect();
    let storage_ca_name = config
        .spec
        .storage
        .as_ref()
        .and_then(|s| s.s3.as_ref()?.trusted_ca.as_ref())
        .map(|r| r.name.clone())
        .filter(|n| !n.is_empty());

    let (pruners, infras, proxies, images) = (
        Api::<ImagePruner>::all(client.clone()),
        Api::<Infrastructure>::all(client.clone()),
        Api::<Proxy>::all(client.clone()),
        Api::<Image>::all(client.clone()),
    );
    let deployments = Api::<Deployment>::namespaced(client.clone(), ns);
    let namespaces = Api::<Namespace>::all(client.clone());
    let pull_secrets = Api::<Secret>::namespaced(client.clone(), PULL_SECRET.0);
    let node_api = Api::<Node>::all(client.clone());
    let all = ListParams::default();
    let pruner = pruners.get_opt(CLUSTER);
    let infra = infras.get(CLUSTER);
    let proxy = proxies.get_opt(CLUSTER);
    let image = images.get_opt(CLUSTER);
    let operator = deployments.get_opt(OPERATOR_DEPLOYMENT);
    let namespace = namespaces.get_opt(ns);
    let pull = pull_secrets.get_opt(PULL_SECRET.1);
    let user = secrets.get_opt(USER_CREDENTIALS);
    let cloud = secrets.get_opt(CLOUD_CREDENTIALS);
    let serviceca = ns_maps.get_opt(SERVICE_CA_CONFIGMAP);
    let nodes = node_api.list(&all);
    let (pruner, infra, proxy, image, operator, namespace, pull, user, cloud, serviceca, nodes) = tokio::try_join!(
        pruner, infra, proxy, image, operator, namespace, pull, user, cloud, serviceca, nodes
    )
    .context("reading the cluster state the registry is rendered from")?;

    let mut route_secrets = BTreeMap::new();
    for name in route_secret_names {
        if let Some(s) = secrets.get_opt(&name).await? {
            route_secrets.insert(name, secret_data(&s));
        }
    }
    let trusted_ca_name = image
        .as_ref()
        .and_then(|i| i.spec.additional_trusted_ca.as_ref())
        .map(|r| r.name.clone())
        .filter(|n| !n.is_empty());
    let additional_trusted_ca = match trusted_ca_name {
        Some(name) => config_maps
            .get_opt(&name)
            .await?
            .map(|cm| (name, cm.data.unwrap_or_default())),
        None => None,
    };
    let storage_ca = match storage_ca_name {
        Some(name) => config_maps
            .get_opt(&name)
            .await?
            .and_then(|cm| cm.data?.get("ca-bundle.crt").cloned()),
        None => None,
    };
    let operator_images = operator.as_ref().map(Images::from_operator).unwrap_or_default();
    let proxy_status = proxy.and_then(|p| p.status).unwrap_or_default();
    Ok(Inputs {
        config,
        pruner: pruner.map(|p| p.spec).unwrap_or_default(),
        infrastructure: infra,
        cluster_proxy: ClusterProxy {
            http: proxy_status.http_proxy.unwrap_or_default(),
            https: proxy_status.https_proxy.unwrap_or_default(),
            no_proxy: proxy_status.no_proxy.unwrap_or_default(),
        },
        image_config: image,
        images: flags.or(operator_images),
        fs_group: namespace
            .and_then(|n| n.metadata.annotations)
            .and_then(|a| a.get("openshift.io/sa.scc.supplemental-groups").cloned())
            .as_deref()
            .and_then(first_group),
        pull_secret: pull.map(|s| secret_data(&s).remove(".dockerconfigjson").unwrap_or_default()),
        credentials: Credentials {
            user: user.as_ref().map(secret_data),
            cloud: cloud.as_ref().map(secret_data),
        },
        route_secrets,
        additional_trusted_ca,
        service_ca: serviceca.and_then(|cm| cm.data?.get("service-ca.crt").cloned()),
        storage_ca,
        nodes: node_facts(&nodes.items),
    })
}

pub fn node_facts(nodes: &[Node]) -> NodeFacts {
    let labels = |n: &Node| n.metadata.labels.clone().unwrap_or_default();
    NodeFacts {
        zoned: nodes
            .iter()
            .any(|n| labels(n).contains_key("topology.kubernetes.io/zone")),
        schedulable_workers: nodes
            .iter()
            .filter(|n| {
                let l = labels(n);
                l.contains_key("node-role.kubernetes.io/worker")
                    && l.get("kubernetes.io/os").is_none_or(|os| os == "linux")
                    && !n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false)
            })
            .count(),
    }
}
