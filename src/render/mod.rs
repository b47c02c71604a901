//! Desired state: every object the registry runs on, rendered from [`Inputs`] alone. Pure: the
//! same inputs give the same objects, so `render`, `diff`, dry runs and reconcile agree.

mod certificates;
pub mod inputs;
mod node_ca;
mod objects;
mod pruner;
mod registry;
mod routes;

use crate::api::REGISTRY_NAMESPACE;
use inputs::Inputs;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use crate::storage::{env, secret_env};
pub use crate::validate::Problem;
pub use certificates::{REGISTRY_CERTIFICATES, Trust};
pub use node_ca::NODE_CA;
pub use pruner::{default_pruner, pruner_objects};
pub use routes::{DEFAULT_ROUTE, ROUTE_OWNER_ANNOTATION, wanted as wanted_routes};

/// The annotation holding the hash of the object as rendered, like the operator's: an object
/// whose annotation matches and whose fields still hold the rendered values is not written.
pub const CHECKSUM_ANNOTATION: &str = "imageregistry.operator.openshift.io/checksum";
/// On the pod template: a hash of the Secrets and ConfigMaps the registry mounts, so that a
/// change to any of them rolls the pods.
pub(crate) const DEPENDENCIES_ANNOTATION: &str = "imageregistry.operator.openshift.io/dependencies-checksum";
pub(crate) const REGISTRY_LABELS: (&str, &str) = ("docker-registry", "default");

/// The kinds the registry's objects are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    ClusterRole,
    ClusterRoleBinding,
    ServiceAccount,
    Secret,
    ConfigMap,
    Service,
    PersistentVolumeClaim,
    Deployment,
    DaemonSet,
    PodDisruptionBudget,
    NetworkPolicy,
    Route,
    CronJob,
    PrometheusRule,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::ClusterRole,
        Kind::ClusterRoleBinding,
        Kind::ServiceAccount,
        Kind::Secret,
        Kind::ConfigMap,
        Kind::Service,
        Kind::PersistentVolumeClaim,
        Kind::Deployment,
        Kind::DaemonSet,
        Kind::PodDisruptionBudget,
        Kind::NetworkPolicy,
        Kind::Route,
        Kind::CronJob,
        Kind::PrometheusRule,
    ];

    /// (group, version, kind, plural, namespaced)
    pub const fn meta(self) -> (&'static str, &'static str, &'static str, &'static str, bool) {
        match self {
            Kind::ClusterRole => ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false),
            Kind::ClusterRoleBinding => (
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRoleBinding",
                "clusterrolebindings",
                false,
            ),
            Kind::ServiceAccount => ("", "v1", "ServiceAccount", "serviceaccounts", true),
            Kind::Secret => ("", "v1", "Secret", "secrets", true),
            Kind::ConfigMap => ("", "v1", "ConfigMap", "configmaps", true),
            Kind::Service => ("", "v1", "Service", "services", true),
            Kind::PersistentVolumeClaim => ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true),
            Kind::Deployment => ("apps", "v1", "Deployment", "deployments", true),
            Kind::DaemonSet => ("apps", "v1", "DaemonSet", "daemonsets", true),
            Kind::PodDisruptionBudget => ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true),
            Kind::NetworkPolicy => ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true),
            Kind::Route => ("route.openshift.io", "v1", "Route", "routes", true),
            Kind::CronJob => ("batch", "v1", "CronJob", "cronjobs", true),
            Kind::PrometheusRule => ("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules", true),
        }
    }

    pub fn api_version(self) -> String {
        let (group, version, ..) = self.meta();
        if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        }
    }

    pub fn name(self) -> &'static str {
        self.meta().2
    }

    /// kubectl's `resource.group` spelling, as in `deployment.apps/image-registry`.
    pub fn resource(self) -> String {
        let (group, _, kind, ..) = self.meta();
        let kind = kind.to_lowercase();
        if group.is_empty() {
            kind
        } else {
            format!("{kind}.{group}")
        }
    }

    pub fn api_resource(self) -> kube::api::ApiResource {
        let (group, version, kind, plural, _) = self.meta();
        kube::api::ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: self.api_version(),
            kind: kind.into(),
            plural: plural.into(),
        }
    }

    pub fn namespaced(self) -> bool {
        self.meta().4
    }
}

/// The objects the registry writes outside its namespace, by name (cluster-scoped ones with no
/// namespace): what a pass reads of them besides every object in the registry's namespace.
pub const OUTSIDE_REGISTRY_NAMESPACE: &[(Kind, Option<&str>, &str)] = &[
    (Kind::ClusterRole, None, "system:registry"),
    (Kind::ClusterRole, None, "system:image-pruner"),
    (Kind::ClusterRoleBinding, None, "registry-registry-role"),
    (Kind::ClusterRoleBinding, None, "openshift-image-registry-pruner"),
    (
        Kind::ConfigMap,
        Some(certificates::REGISTRY_CA.0),
        certificates::REGISTRY_CA.1,
    ),
];

/// One object as it should be.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub kind: Kind,
    pub name: String,
    pub namespace: Option<String>,
    /// The whole object, `apiVersion` and `kind` included, with the checksum annotation set.
    pub object: Value,
}

impl Desired {
    pub fn new(kind: Kind, name: &str, mut object: Value) -> Desired {
        let namespace = kind.namespaced().then(|| REGISTRY_NAMESPACE.to_string());
        object["apiVersion"] = json!(kind.api_version());
        object["kind"] = json!(kind.name());
        object["metadata"]["name"] = json!(name);
        if let Some(ns) = &namespace {
            object["metadata"]["namespace"] = json!(ns);
        }
        Desired {
            kind,
            name: name.to_string(),
            namespace,
            object,
        }
        .with_checksum()
    }

    /// For objects outside the registry's namespace (ConfigMaps in `openshift-config-managed`).
    pub fn in_namespace(mut self, namespace: &str) -> Desired {
        self.object["metadata"]["namespace"] = json!(namespace);
        self.namespace = Some(namespace.to_string());
        self.with_checksum()
    }

    fn with_checksum(mut self) -> Desired {
        if let Some(a) = self.object["metadata"]
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
        {
            a.remove(CHECKSUM_ANNOTATION);
        }
        let sum = hash(&self.object);
        self.object["metadata"]["annotations"][CHECKSUM_ANNOTATION] = json!(sum);
        self
    }

    pub fn checksum(&self) -> Option<&str> {
        self.object
            .pointer("/metadata/annotations")?
            .get(CHECKSUM_ANNOTATION)?
            .as_str()
    }

    /// `deployment.apps/image-registry`
    pub fn display(&self) -> String {
        format!("{}/{}", self.kind.resource(), self.name)
    }
}

/// The rendered registry: the objects that could be rendered, and why the others could not.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    pub objects: Vec<Desired>,
    pub problems: Vec<Problem>,
    /// Whether the storage driver's part rendered (its problem, if not, is among `problems`).
    pub storage_ok: bool,
}

impl Rendered {
    pub fn find(&self, kind: Kind, name: &str) -> Option<&Desired> {
        self.objects.iter().find(|d| d.kind == kind && d.name == name)
    }
}

/// Renders everything a Managed registry runs on. The Config must have been completed.
pub fn render(inputs: &Inputs) -> Rendered {
    let block = inputs.config.spec.storage.clone().unwrap_or_default();
    let storage = render_storage(inputs);
    let mut out = Rendered {
        storage_ok: storage.is_ok(),
        ..Rendered::default()
    };
    // As the operator: a Config that fails verification, or names no one storage, gets nothing.
    if let Err(p) = verify(inputs).and(crate::storage::selected(&block).map(|_| ())) {
        out.problems.push(p);
        return out;
    }
    out.objects.extend(objects::rbac());
    out.objects.push(objects::service_account());
    let pull_secrets = objects::installation_pull_secrets(inputs);
    out.objects.push(pull_secrets.clone());
    out.objects.push(objects::service());
    out.objects
        .push(objects::pod_disruption_budget(inputs.config.spec.replicas));
    out.objects.push(objects::network_policy());
    let routes = routes::render(inputs);
    out.objects.extend(routes.objects);
    out.problems.extend(routes.problems);
    let trust_objects = trust(
        inputs,
        Trust {
            service_port: Some(SERVICE_PORT),
            storage_ca: storage.as_ref().ok().and_then(|s| s.ca_bundle.as_deref()),
        },
    );
    let certificates = trust_objects
        .objects
        .iter()
        .find(|d| d.kind == Kind::ConfigMap && d.name == REGISTRY_CERTIFICATES)
        .cloned()
        .expect("trust renders the certificates ConfigMap");
    out.objects.extend(trust_objects.objects);
    out.problems.extend(trust_objects.problems);
    match storage {
        Ok(storage) => {
            let private = objects::private_configuration(inputs, &storage);
            match registry::deployment(inputs, &storage, &[&private, &certificates, &pull_secrets]) {
                Ok(d) => out.objects.push(d),
                Err(p) => out.problems.push(p),
            }
            out.objects.push(private);
        }
        Err(p) => out.problems.push(p),
    }
    out.objects.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    out
}

/// What every management state keeps, as the operator's side controllers do: the CA ConfigMaps and
/// node-ca, which carries them to every node.
pub fn trust(inputs: &Inputs, trust: Trust<'_>) -> Rendered {
    let mut out = Rendered {
        storage_ok: true,
        ..Rendered::default()
    };
    out.objects.push(certificates::certificates_configmap(inputs, trust));
    out.objects.push(certificates::registry_ca_configmap(inputs, trust));
    match node_ca::objects(inputs) {
        Ok(objects) => out.objects.extend(objects),
        Err(p) => out.problems.push(p),
    }
    out
}

/// The storage's CA bundle as the registry's storage would render now (none when it cannot).
pub fn storage_ca(inputs: &Inputs) -> Option<String> {
    render_storage(inputs).ok()?.ca_bundle
}

/// The storage driver's part of the registry, from the Config's one storage block.
fn render_storage(inputs: &Inputs) -> Result<crate::storage::Rendering, Problem> {
    let platform = inputs
        .infrastructure
        .status
        .as_ref()
        .and_then(|s| s.platform_status.as_ref());
    let environment = crate::storage::Environment {
        credentials: &inputs.credentials,
        storage_ca: inputs.storage_ca.as_deref(),
        cloud_ca: inputs.cloud_ca.as_deref(),
        cos_endpoint: platform.and_then(|p| crate::storage::service_endpoint(p, "COS")),
        openstack_cloud: platform.and_then(|p| p.openstack.as_ref()?.cloud_name.as_deref()),
    };
    crate::storage::render(&inputs.config.spec.storage.clone().unwrap_or_default(), &environment)
}

/// The operator's verification: problems no retry fixes.
fn verify(inputs: &Inputs) -> Result<(), Problem> {
    let spec = &inputs.config.spec;
    let fail = |m: String| Problem::permanent("VerificationFailed", format!("unable to complete resource: {m}"));
    if spec.replicas < 0 {
        return Err(fail("replicas must be greater than or equal to 0".into()));
    }
    let mut names = std::collections::BTreeSet::new();
    for route in spec.routes.iter().flatten() {
        if route.name == DEFAULT_ROUTE {
            return Err(fail(format!(
                "route name {DEFAULT_ROUTE:?} is reserved for the default route"
            )));
        }
        if !names.insert(route.name.as_str()) {
            return Err(fail(format!("duplicate route name {:?}", route.name)));
        }
    }
    if let Some(r) = &spec.requests {
        for (which, limits) in [("Read", &r.read), ("Write", &r.write)] {
            let Some(l) = limits else { continue };
            for (field, v) in [("MaxRunning", l.max_running), ("MaxInQueue", l.max_in_queue)] {
                if v.is_some_and(|v| v < 0) {
                    return Err(Problem::new(
                        "Error",
                        format!("Requests.{which}.{field} must be positive number"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// An RBAC rule.
pub fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

/// sha256 of a value's canonical JSON (serde_json maps are sorted).
pub fn hash(value: &Value) -> String {
    let digest = Sha256::digest(serde_json::to_vec(value).unwrap_or_default());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn metadata_labels() -> Value {
    json!({REGISTRY_LABELS.0: REGISTRY_LABELS.1})
}

pub use pruner::CRONJOB;
pub use registry::{DEPLOYMENT, SERVICE_HOST, SERVICE_PORT};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::sdk::PrunerDecision;

    #[test]
    fn every_object_outside_the_registry_namespace_is_listed() {
        let mut inputs = inputs::Inputs::of_spec(json!({
            "managementState": "Managed",
            "storage": {"emptyDir": {}},
            "replicas": 1,
            "defaultRoute": true,
            "httpSecret": "s",
        }));
        inputs.images.registry = Some("registry.example/registry:1".into());
        inputs.images.operator = Some("registry.example/operator:1".into());
        inputs.images.pruner = Some("registry.example/pruner:1".into());
        let mut objects = render(&inputs).objects;
        objects.extend(pruner_objects(&inputs, &PrunerDecision::default()).unwrap());
        assert!(objects.iter().any(|d| d.kind == Kind::ClusterRole));
        for d in objects {
            if d.namespace.as_deref() == Some(REGISTRY_NAMESPACE) {
                continue;
            }
            assert!(
                OUTSIDE_REGISTRY_NAMESPACE.contains(&(d.kind, d.namespace.as_deref(), d.name.as_str())),
                "{} is written outside the registry's namespace but not listed",
                d.display()
            );
        }
    }
}
