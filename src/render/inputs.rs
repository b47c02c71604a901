//! Everything the desired state is rendered from, derived from a [`Snapshot`] alone — fetched from
//! the cluster by [`gather`], or picked out of files for the offline `render` command — so both
//! render from the same inputs; rendering itself reads nothing else.

use super::default_pruner;
use crate::api::{CLUSTER, Config, ConfigSpec, Image, ImagePrunerSpec, Infrastructure, InfrastructureSpec};
use crate::state::references::Names;
use crate::state::snapshot::Snapshot;
use crate::storage::{Credentials, Data, s3_trusted_ca, secret_data};
use anyhow::Result;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use std::collections::BTreeMap;

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
    pub additional_trusted_ca: Option<TrustedCa>,
    /// The port of the registry Service as it exists in the cluster (absent: no Service).
    pub live_service_port: Option<i32>,
    /// `service-ca.crt` of the `serviceca` ConfigMap, once the service CA operator injected it.
    pub service_ca: Option<String>,
    /// `ca-bundle.crt` of the S3 `trustedCA` ConfigMap in `openshift-config`.
    pub storage_ca: Option<String>,
    /// `ca-bundle.pem` of `openshift-config-managed/kube-cloud-config`: the cloud's CA, trusted
    /// for its storage API besides the system roots.
    pub cloud_ca: Option<String>,
    pub nodes: NodeFacts,
}

/// A ConfigMap of CA bundles, one per registry host (`host..port` keys).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrustedCa {
    pub name: String,
    pub data: BTreeMap<String, String>,
    /// `binaryData`, base64 as the API carries it.
    pub binary_data: BTreeMap<String, String>,
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
    /// The operator's own image, which node-ca runs.
    pub operator: Option<String>,
    pub pruner: Option<String>,
    pub release_version: Option<String>,
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
            live_service_port: None,
            service_ca: None,
            storage_ca: None,
            cloud_ca: None,
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
            operator: var("OPERATOR_IMAGE"),
            pruner: var("IMAGE_PRUNER"),
            release_version: var("RELEASE_VERSION"),
        }
    }

    /// Fills what `self` (from flags) leaves open from `other`.
    pub fn or(self, other: Images) -> Images {
        Images {
            registry: self.registry.or(other.registry),
            operator: self.operator.or(other.operator),
            pruner: self.pruner.or(other.pruner),
            release_version: self.release_version.or(other.release_version),
        }
    }
}

/// `1000430000/10000` → 1000430000 (also the `1000430000-1000439999` form).
pub(crate) fn first_group(annotation: &str) -> Option<i64> {
    annotation.split([',', '/', '-']).next()?.trim().parse().ok()
}

/// The objects a Config refers to, which rendering and its checks read: its routes' TLS
/// Secrets, and what its storage names.
pub fn referenced(spec: &ConfigSpec) -> Names {
    Names::of(spec, crate::storage::referenced(spec))
}

/// Reads everything rendering `config` needs, concurrently.
pub async fn gather(client: &Client, config: Config, flags: Images) -> Result<Inputs> {
    let snapshot = Snapshot::fetch(client, &referenced(&config.spec)).await?;
    Ok(Inputs::from_snapshot(config, &snapshot, flags))
}

impl Inputs {
    /// The inputs a snapshot holds for `config`; `flags` are images named on the command line.
    pub fn from_snapshot(config: Config, snapshot: &Snapshot, flags: Images) -> Inputs {
        let route_secrets = snapshot
            .secrets
            .iter()
            .map(|(name, s)| (name.clone(), secret_data(s)))
            .collect();
        let storage_ca = config.spec.storage.as_ref().and_then(s3_trusted_ca).and_then(|name| {
            snapshot
                .config_maps
                .get(name)?
                .data
                .as_ref()?
                .get("ca-bundle.crt")
                .cloned()
        });
        let proxy_status = snapshot
            .proxy
            .as_ref()
            .and_then(|p| p.status.clone())
            .unwrap_or_default();
        let operator_images = snapshot
            .operator
            .as_ref()
            .map(Images::from_operator)
            .unwrap_or_default();
        Inputs {
            pruner: snapshot
                .pruner
                .as_ref()
                .map(|p| p.spec.clone())
                .unwrap_or_else(|| default_pruner().spec),
            infrastructure: snapshot
                .infrastructure
                .clone()
                .unwrap_or_else(|| Infrastructure::new(CLUSTER, InfrastructureSpec::default())),
            cluster_proxy: ClusterProxy {
                http: proxy_status.http_proxy.unwrap_or_default(),
                https: proxy_status.https_proxy.unwrap_or_default(),
                no_proxy: proxy_status.no_proxy.unwrap_or_default(),
            },
            image_config: snapshot.image.clone(),
            images: flags.or(operator_images),
            fs_group: snapshot
                .namespace
                .as_ref()
                .and_then(|n| {
                    n.metadata
                        .annotations
                        .as_ref()?
                        .get("openshift.io/sa.scc.supplemental-groups")
                })
                .and_then(|a| first_group(a)),
            pull_secret: snapshot
                .pull_secret
                .as_ref()
                .map(|s| secret_data(s).remove(".dockerconfigjson").unwrap_or_default()),
            credentials: Credentials {
                user: snapshot.user_credentials.as_ref().map(secret_data),
                cloud: snapshot.cloud_credentials.as_ref().map(secret_data),
                issued: snapshot.secrets.get(crate::api::PRIVATE_CONFIGURATION).map(secret_data),
            },
            route_secrets,
            additional_trusted_ca: snapshot.additional_trusted_ca().map(|(name, cm)| TrustedCa {
                name: name.to_string(),
                data: cm.data.clone().unwrap_or_default(),
                binary_data: cm
                    .binary_data
                    .iter()
                    .flatten()
                    .map(|(k, v)| {
                        use base64::Engine as _;
                        (k.clone(), base64::engine::general_purpose::STANDARD.encode(&v.0))
                    })
                    .collect(),
            }),
            live_service_port: snapshot
                .service
                .as_ref()
                .and_then(|s| s.spec.as_ref()?.ports.as_ref()?.first().map(|p| p.port)),
            service_ca: snapshot
                .service_ca
                .as_ref()
                .and_then(|cm| cm.data.as_ref()?.get("service-ca.crt").cloned()),
            storage_ca,
            cloud_ca: snapshot
                .cloud_config
                .as_ref()
                .and_then(|c| c.data.as_ref()?.get("ca-bundle.pem").cloned())
                .filter(|pem| !pem.trim().is_empty()),
            nodes: node_facts(&snapshot.nodes),
            config,
        }
    }
}

pub(crate) fn node_facts(nodes: &[Node]) -> NodeFacts {
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

#[cfg(test)]
impl Inputs {
    /// Inputs for a Config with `spec` and nothing else known.
    pub(crate) fn of_spec(spec: serde_json::Value) -> Inputs {
        let config: Config =
            serde_json::from_value(serde_json::json!({"metadata": {"name": CLUSTER}, "spec": spec})).expect("a Config");
        Inputs::new(config, Infrastructure::new(CLUSTER, InfrastructureSpec::default()))
    }
}
