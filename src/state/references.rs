//! What a registry Config refers to outside itself — its claim, the Secrets its routes and
//! CloudFront name, the CA ConfigMap of S3 — and the schedulable workers its replicas land on.
//! Read so that a change can be checked before it is written. Secrets are read for key names only.

use crate::api::{ConfigSpec, OPENSHIFT_CONFIG, REGISTRY_ANNOTATION, REGISTRY_NAMESPACE};
use crate::policy::sdk::PvcFacts;
use k8s_openapi::api::core::v1::{ConfigMap, Node, PersistentVolumeClaim, Secret};
use kube::api::ListParams;
use kube::{Api, Client};
use std::collections::{BTreeMap, BTreeSet};

/// Key names of an object that exists; `None` when it does not.
pub type Keys = Option<BTreeSet<String>>;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct References {
    /// Whether the objects below were read. When they were not, checks judge only the values of
    /// the spec itself (what exists is checked where it is read).
    pub read: bool,
    /// The claim `spec.storage.pvc` names (or the default claim), when it exists.
    pub claim: Option<PvcFacts>,
    /// Secrets in the registry namespace, by name.
    pub secrets: BTreeMap<String, Keys>,
    /// ConfigMaps in `openshift-config`, by name.
    pub config_maps: BTreeMap<String, Keys>,
    /// Nodes the registry's pods can be scheduled on; `None` when nodes cannot be listed.
    pub schedulable_workers: Option<usize>,
}

/// The names of the objects a spec refers to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Names {
    pub claim: Option<String>,
    pub secrets: BTreeSet<String>,
    pub config_maps: BTreeSet<String>,
}

impl Names {
    /// What `spec` refers to: its routes' TLS Secrets, and what its storage names (from the
    /// storage driver, which alone knows).
    pub fn of(spec: &ConfigSpec, storage: Names) -> Names {
        let mut names = storage;
        names.secrets.extend(
            spec.routes
                .iter()
                .flatten()
                .filter_map(|r| r.secret_name.clone().filter(|s| !s.is_empty())),
        );
        names
    }

    /// Every name as a Kubernetes object name: a name that is not one never reaches a request
    /// path. The error names the object kind and the name, escaped.
    pub fn check(&self) -> Result<(), String> {
        let all = self
            .claim
            .iter()
            .map(|n| ("PersistentVolumeClaim", n))
            .chain(self.secrets.iter().map(|n| ("Secret", n)))
            .chain(self.config_maps.iter().map(|n| ("ConfigMap", n)));
        for (kind, name) in all {
            crate::validate::object_name(name)
                .map_err(|e| format!("the Config names a {kind} {e}; nothing was read or written: `oc-registry doctor` names the field to fix"))?;
        }
        Ok(())
    }

    /// Only the names that are Kubernetes object names (the others are reported by the checks).
    fn valid(&self) -> Names {
        let ok = |n: &String| crate::validate::object_name(n).is_ok();
        Names {
            claim: self.claim.clone().filter(ok),
            secrets: self.secrets.iter().filter(|n| ok(n)).cloned().collect(),
            config_maps: self.config_maps.iter().filter(|n| ok(n)).cloned().collect(),
        }
    }
}

impl References {
    /// Reads what `spec` names, concurrently. An object that cannot be read counts as absent
    /// only when the server says NotFound; other errors are returned.
    pub async fn gather(client: &Client, spec: &ConfigSpec, names: Names) -> Result<Self, kube::Error> {
        let mut all = Self::gather_each(client, &[(spec, names)]).await?;
        Ok(all.remove(0))
    }

    /// What each spec refers to, reading every object once however many specs name it (a
    /// change's before and after mostly name the same).
    pub async fn gather_each(client: &Client, specs: &[(&ConfigSpec, Names)]) -> Result<Vec<Self>, kube::Error> {
        let names: Vec<Names> = specs.iter().map(|(_, n)| n.valid()).collect();
        let claims: BTreeSet<String> = names.iter().filter_map(|n| n.claim.clone()).collect();
        let secret_names: BTreeSet<String> = names.iter().flat_map(|n| n.secrets.clone()).collect();
        let cm_names: BTreeSet<String> = names.iter().flat_map(|n| n.config_maps.clone()).collect();

        let secrets_api = Api::<Secret>::namespaced(client.clone(), REGISTRY_NAMESPACE);
        let cms_api = Api::<ConfigMap>::namespaced(client.clone(), OPENSHIFT_CONFIG);
        let claims_api = Api::<PersistentVolumeClaim>::namespaced(client.clone(), REGISTRY_NAMESPACE);
        let (claims, secrets, config_maps, nodes) = tokio::join!(
            futures::future::try_join_all(claims.iter().map(|name| {
                let api = claims_api.clone();
                async move {
                    let facts = crate::cluster::retry(|| api.get_opt(name))
                        .await?
                        .map(|pvc| pvc_facts(name, &pvc));
                    Ok::<_, kube::Error>((name.clone(), facts))
                }
            })),
            futures::future::try_join_all(secret_names.iter().map(|name| {
                let api = secrets_api.clone();
                async move {
                    let keys = crate::cluster::retry(|| api.get_opt(name))
                        .await?
                        .map(|s| secret_keys(&s));
                    Ok::<_, kube::Error>((name.clone(), keys))
                }
            })),
            futures::future::try_join_all(cm_names.iter().map(|name| {
                let api = cms_api.clone();
                async move {
                    let keys = api.get_opt(name).await?.map(|c| config_map_keys(&c));
                    Ok::<_, kube::Error>((name.clone(), keys))
                }
            })),
            // Without permission to list nodes, the count is unknown rather than an error.
            async { Api::<Node>::all(client.clone()).list(&ListParams::default()).await.ok() },
        );
        let claims: BTreeMap<String, Option<PvcFacts>> = claims?.into_iter().collect();
        let secrets: BTreeMap<String, Keys> = secrets?.into_iter().collect();
        let config_maps: BTreeMap<String, Keys> = config_maps?.into_iter().collect();
        Ok(specs
            .iter()
            .zip(names)
            .map(|((spec, _), n)| References {
                read: true,
                claim: n.claim.and_then(|c| claims.get(&c).cloned().flatten()),
                secrets: n.secrets.iter().map(|s| (s.clone(), secrets[s].clone())).collect(),
                config_maps: n
                    .config_maps
                    .iter()
                    .map(|c| (c.clone(), config_maps[c].clone()))
                    .collect(),
                schedulable_workers: nodes.as_ref().map(|list| schedulable_workers(&list.items, spec)),
            })
            .collect())
    }
}

pub(crate) fn pvc_facts(name: &str, pvc: &PersistentVolumeClaim) -> PvcFacts {
    PvcFacts {
        name: name.to_string(),
        access_modes: pvc
            .spec
            .as_ref()
            .and_then(|s| s.access_modes.clone())
            .unwrap_or_default(),
        owned_by_registry: created_by_registry(pvc),
    }
}

/// Whether the registry created a claim (it carries the registry's annotation), and so may
/// delete it.
pub fn created_by_registry(claim: &PersistentVolumeClaim) -> bool {
    claim
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(REGISTRY_ANNOTATION))
}

fn secret_keys(secret: &Secret) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = secret.data.iter().flat_map(|d| d.keys().cloned()).collect();
    keys.extend(secret.string_data.iter().flat_map(|d| d.keys().cloned()));
    keys
}

fn config_map_keys(cm: &ConfigMap) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = cm.data.iter().flat_map(|d| d.keys().cloned()).collect();
    keys.extend(cm.binary_data.iter().flat_map(|d| d.keys().cloned()));
    keys
}

/// Ready, schedulable nodes matching the registry's node selector whose NoSchedule taints the
/// registry tolerates.
fn schedulable_workers(nodes: &[Node], spec: &ConfigSpec) -> usize {
    // As the Deployment renders it: the configured selector, and Linux unless it says otherwise.
    let mut selector = spec.node_selector.clone().unwrap_or_default();
    selector
        .entry("kubernetes.io/os".into())
        .or_insert_with(|| "linux".into());
    let tolerations = spec.tolerations.clone().unwrap_or_default();
    nodes
        .iter()
        .filter(|node| {
            let labels = node.metadata.labels.clone().unwrap_or_default();
            let node_spec = node.spec.clone().unwrap_or_default();
            let ready = node
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            let selected = selector.iter().all(|(k, v)| labels.get(k) == Some(v));
            let tolerated = node_spec.taints.iter().flatten().all(|taint| {
                taint.effect == "PreferNoSchedule"
                    || tolerations.iter().any(|t| {
                        t.key.as_deref().is_none_or(|k| k.is_empty() || k == taint.key)
                            && t.effect.as_deref().is_none_or(|e| e.is_empty() || e == taint.effect)
                            && (t.operator.as_deref() == Some("Exists") || t.value == taint.value)
                    })
            });
            ready && selected && tolerated && !node_spec.unschedulable.unwrap_or(false)
        })
        .count()
}
