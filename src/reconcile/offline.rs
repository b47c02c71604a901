//! Rendering without a cluster: the objects a cluster would hold (the Config, Infrastructure and
//! whatever else is at hand) read from files, completed and rendered exactly as `reconcile` would.

use super::complete::{OsRandom, complete};
use super::inputs::{Credentials, Images, Inputs, SERVICE_CA_CONFIGMAP, first_group, node_facts, secret_data};
use super::render::{self, Desired, Problem, pruner_objects};
use crate::api::{CLUSTER, Config, Image, ImagePruner, Infrastructure, Proxy, REGISTRY_NAMESPACE, Storage};
use crate::policy::Policies;
use crate::policy::sdk::{CurrentConfig, PrunerInput, PvcFacts, StorageFacts, StorageInput};
use crate::state::facts::{CLOUD_CREDENTIALS, REGISTRY_ANNOTATION, USER_CREDENTIALS};
use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, PersistentVolumeClaim, Secret};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Objects as read from files: a YAML stream or JSON, single objects or `List`s.
pub fn parse_objects(text: &str) -> Result<Vec<Value>> {
    let docs: Vec<Value> = match serde_json::from_str::<Value>(text) {
        Ok(v) => vec![v],
        Err(_) => serde_saphyr::from_str_multiple(text).context("not valid YAML or JSON")?,
    };
    let mut out = Vec::new();
    for doc in docs.into_iter().filter(|d| !d.is_null()) {
        match doc.get("items").and_then(Value::as_array) {
            Some(items)
                if doc
                    .get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.ends_with("List")) =>
            {
                out.extend(items.iter().cloned())
            }
            _ => out.push(doc),
        }
    }
    Ok(out)
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

/// The rendered registry and what kept parts of it from rendering.
pub struct Offline {
    pub objects: Vec<Desired>,
    pub problems: Vec<Problem>,
}

pub fn render_offline(objects: &[Value], policies: &Policies, images: Images) -> Result<Offline> {
    let Some(mut config) = find::<Config>(objects, "Config", "", CLUSTER)? else {
        bail!("no configs.imageregistry.operator.openshift.io/cluster among the objects given: add it with -f");
    };
    let infrastructure: Infrastructure = find(objects, "Infrastructure", "", CLUSTER)?
        .unwrap_or_else(|| serde_json::from_value(json!({"metadata": {"name": CLUSTER}, "spec": {}})).expect("valid"));
    let secret = |ns: &str, name: &str| find::<Secret>(objects, "Secret", ns, name);
    let user = secret(REGISTRY_NAMESPACE, USER_CREDENTIALS)?;
    let cloud = secret(REGISTRY_NAMESPACE, CLOUD_CREDENTIALS)?;

    let needs_storage = config.spec.storage.as_ref().is_none_or(|s| s.drivers().is_empty());
    let platform_storage = if needs_storage {
        let input = storage_input(&config, &infrastructure, objects, user.as_ref(), cloud.as_ref())?;
        let decided = policies.storage(&input)?;
        Some(serde_json::from_value::<Storage>(decided.decision.storage)?)
    } else {
        None
    };
    complete(&mut config, &infrastructure, platform_storage.as_ref(), &mut OsRandom)?;

    let image: Option<Image> = find(objects, "Image", "", CLUSTER)?;
    let mut inputs = Inputs::new(config.clone(), infrastructure);
    inputs.pruner = find::<ImagePruner>(objects, "ImagePruner", "", CLUSTER)?
        .map(|p| p.spec)
        .unwrap_or_else(|| super::bootstrap::default_pruner().spec);
    if let Some(proxy) = find::<Proxy>(objects, "Proxy", "", CLUSTER)?.and_then(|p| p.status) {
        inputs.cluster_proxy.http = proxy.http_proxy.unwrap_or_default();
        inputs.cluster_proxy.https = proxy.https_proxy.unwrap_or_default();
        inputs.cluster_proxy.no_proxy = proxy.no_proxy.unwrap_or_default();
    }
    let operator = find::<Deployment>(
        objects,
        "Deployment",
        REGISTRY_NAMESPACE,
        super::inputs::OPERATOR_DEPLOYMENT,
    )?;
    inputs.images = images.or(operator
        .as_ref()
        .map(super::inputs::Images::from_operator)
        .unwrap_or_default());
    inputs.fs_group = find::<Namespace>(objects, "Namespace", "", REGISTRY_NAMESPACE)?
        .and_then(|n| {
            n.metadata
                .annotations?
                .get("openshift.io/sa.scc.supplemental-groups")
                .cloned()
        })
        .as_deref()
        .and_then(first_group);
    inputs.pull_secret = secret(super::inputs::PULL_SECRET.0, super::inputs::PULL_SECRET.1)?
        .map(|s| secret_data(&s).remove(".dockerconfigjson").unwrap_or_default());
    inputs.credentials = Credentials {
        user: user.as_ref().map(secret_data),
        cloud: cloud.as_ref().map(secret_data),
    };
    for route in config.spec.routes.iter().flatten() {
        if let Some(name) = route.secret_name.as_deref().filter(|n| !n.is_empty())
            && let Some(s) = secret(REGISTRY_NAMESPACE, name)?
        {
            inputs.route_secrets.insert(name.to_string(), secret_data(&s));
        }
    }
    let config_map = |ns: &str, name: &str| find::<ConfigMap>(objects, "ConfigMap", ns, name);
    if let Some(name) = image
        .as_ref()
        .and_then(|i| i.spec.additional_trusted_ca.as_ref())
        .map(|r| r.name.clone())
        .filter(|n| !n.is_empty())
        && let Some(cm) = config_map("openshift-config", &name)?
    {
        inputs.additional_trusted_ca = Some((name, cm.data.unwrap_or_default()));
    }
    inputs.service_ca =
        config_map(REGISTRY_NAMESPACE, SERVICE_CA_CONFIGMAP)?.and_then(|c| c.data?.get("service-ca.crt").cloned());
    let nodes: Vec<Node> = objects
        .iter()
        .filter(|o| is(o, "Node", "", None))
        .filter_map(|o| serde_json::from_value(o.clone()).ok())
        .collect();
    inputs.nodes = node_facts(&nodes);
    inputs.image_config = image;

    let rendered = render::render(&inputs);
    let mut out = Offline {
        objects: rendered.objects.clone(),
        problems: rendered.problems.clone(),
    };
    let managed = config.spec.management_state.as_deref() == Some("Managed");
    if !managed {
        // Only what a Removed or Unmanaged registry keeps: the pruner.
        out.objects.clear();
        out.problems.clear();
    }
    let hostname = if managed { render::SERVICE_HOST } else { "" };
    let decision = policies
        .pruner(&PrunerInput {
            registry_management_state: config.spec.management_state.clone().unwrap_or_default(),
            pruner: serde_json::to_value(&inputs.pruner)?,
            internal_registry_hostname: hostname.into(),
        })?
        .decision;
    match pruner_objects(&inputs, &decision) {
        Ok(o) => out.objects.extend(o),
        Err(p) => out.problems.push(p),
    }
    Ok(out)
}

fn storage_input(
    config: &Config,
    infrastructure: &Infrastructure,
    objects: &[Value],
    user: Option<&Secret>,
    cloud: Option<&Secret>,
) -> Result<StorageInput> {
    let platform = crate::state::facts::platform_facts(infrastructure).context(
        "the storage is not set and no Infrastructure with status.platformStatus.type was given to decide it",
    )?;
    let keys = |s: &Secret| secret_data(s).into_keys().collect::<Vec<_>>();
    let pvc = find::<PersistentVolumeClaim>(
        objects,
        "PersistentVolumeClaim",
        REGISTRY_NAMESPACE,
        super::complete::DEFAULT_CLAIM,
    )?;
    Ok(StorageInput {
        platform,
        current: Some(CurrentConfig {
            management_state: config.spec.management_state.clone().unwrap_or_default(),
            storage: json!({}),
            replicas: config.spec.replicas,
            rollout_strategy: config.spec.rollout_strategy.clone().unwrap_or_default(),
        }),
        facts: StorageFacts {
            user_credential_keys: user.map(keys),
            cloud_credential_keys: cloud.map(keys),
            existing_pvc: pvc.map(|p| PvcFacts {
                name: super::complete::DEFAULT_CLAIM.into(),
                access_modes: p.spec.and_then(|s| s.access_modes).unwrap_or_default(),
                owned_by_registry: p
                    .metadata
                    .annotations
                    .is_some_and(|a| a.contains_key(REGISTRY_ANNOTATION)),
            }),
            swift_available: None,
            default_storage_class: None,
        },
    })
}
