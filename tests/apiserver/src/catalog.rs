//! The kinds this server serves: the built-in Kubernetes kinds the product touches (schemas generated
//! from k8s-openapi, which is generated from the Kubernetes OpenAPI document), and the vendored
//! OpenShift and prometheus-operator CustomResourceDefinitions (schemas as published upstream).

use crate::schema::SchemaSet;
use anyhow::{Context, Result, anyhow};
use schemars::{JsonSchema, generate::SchemaSettings};
use serde_json::{Value, json};
use std::sync::Arc;

/// How a kind is served, which decides e.g. whether strategic merge patch is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    /// Served from a CustomResourceDefinition: strategic merge patch answers 415.
    CustomResource,
    /// Served by an aggregated OpenShift apiserver (routes): strategic merge patch is accepted.
    Aggregated,
}

#[derive(Clone, Debug)]
pub struct PrinterColumn {
    pub name: String,
    pub json_path: String,
    pub type_: String,
}

#[derive(Debug)]
pub struct ResourceKind {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status_subresource: bool,
    pub origin: Origin,
    /// Name of the kind's schema in the catalog's [`SchemaSet`].
    pub schema_name: String,
    /// Whether `metadata.generation` is maintained (bumped on spec changes).
    pub tracks_generation: bool,
    pub printer_columns: Vec<PrinterColumn>,
    /// The CRD object, for kinds served from one.
    pub crd: Option<Value>,
}

impl ResourceKind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `/api/v1` or `/apis/<group>/<version>`.
    pub fn group_version_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// `Kind.group` as the apiserver names a kind in messages (`Config.imageregistry.operator.openshift.io`).
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// `plural.group`, as in `configs.imageregistry.operator.openshift.io "cluster" not found`.
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

pub struct Catalog {
    kinds: Vec<Arc<ResourceKind>>,
    pub schemas: SchemaSet,
}

impl Catalog {
    pub fn kinds(&self) -> &[Arc<ResourceKind>] {
        &self.kinds
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceKind>> {
        self.kinds
            .iter()
            .find(|k| k.group == group && k.version == version && k.plural == plural)
            .cloned()
    }

    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceKind>> {
        self.kinds
            .iter()
            .find(|k| k.api_version() == api_version && k.kind == kind)
            .cloned()
    }

    /// Group names in the order discovery lists them (the core group first).
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        for k in &self.kinds {
            if !groups.contains(&k.group) {
                groups.push(k.group.clone());
            }
        }
        groups
    }

    pub fn versions_of(&self, group: &str) -> Vec<String> {
        let mut versions: Vec<String> = Vec::new();
        for k in self.kinds.iter().filter(|k| k.group == group) {
            if !versions.contains(&k.version) {
                versions.push(k.version.clone());
            }
        }
        versions
    }

    pub fn kinds_in(&self, group: &str, version: &str) -> Vec<Arc<ResourceKind>> {
        self.kinds
            .iter()
            .filter(|k| k.group == group && k.version == version)
            .cloned()
            .collect()
    }

    /// The schema of a kind's whole object.
    pub fn schema_of(&self, kind: &ResourceKind) -> &Value {
        self.schemas.get(&kind.schema_name).expect("every kind has a schema")
    }

    /// The built-in kinds, plus the vendored OpenShift and monitoring CRDs when `openshift` is set.
    pub fn standard(openshift: bool) -> Result<Self> {
        let mut catalog = Catalog {
            kinds: Vec::new(),
            schemas: SchemaSet::default(),
        };
        catalog.add_builtins();
        let crds = if openshift { VENDORED_CRDS } else { &[] };
        for (file, text) in crds {
            let crd: Value = serde_saphyr::from_str(text).with_context(|| format!("parsing vendored CRD {file}"))?;
            let origin = if crd.pointer("/spec/group") == Some(&json!("route.openshift.io")) {
                Origin::Aggregated
            } else {
                Origin::CustomResource
            };
            catalog
                .add_crd(crd, origin)
                .with_context(|| format!("loading vendored CRD {file}"))?;
        }
        Ok(catalog)
    }

    fn add_crd(&mut self, crd: Value, origin: Origin) -> Result<()> {
        let spec = crd.get("spec").ok_or_else(|| anyhow!("CRD without spec"))?;
        let s = |ptr: &str| spec.pointer(ptr).and_then(Value::as_str).map(str::to_string);
        let group = s("/group").ok_or_else(|| anyhow!("CRD without group"))?;
        let kind = s("/names/kind").ok_or_else(|| anyhow!("CRD without kind"))?;
        let plural = s("/names/plural").ok_or_else(|| anyhow!("CRD without plural"))?;
        let singular = s("/names/singular").unwrap_or_else(|| kind.to_lowercase());
        let strings = |ptr: &str| -> Vec<String> {
            spec.pointer(ptr)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let namespaced = s("/scope").as_deref() == Some("Namespaced");
        for version in spec.get("versions").and_then(Value::as_array).into_iter().flatten() {
            if version.get("served").and_then(Value::as_bool) != Some(true) {
                continue;
            }
            let name = version.get("name").and_then(Value::as_str).unwrap_or("v1").to_string();
            let schema_name = format!("{}.{}.{}", reverse_domain(&group), name, kind);
            let mut schema = version
                .pointer("/schema/openAPIV3Schema")
                .cloned()
                .ok_or_else(|| anyhow!("version {name} has no openAPIV3Schema"))?;
            // The apiserver validates metadata as ObjectMeta whatever the CRD declares.
            if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
                props.insert(
                    "metadata".into(),
                    json!({"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}),
                );
            }
            add_gvk(&mut schema, &group, &name, &kind);
            self.schemas.insert(schema_name.clone(), schema);
            let printer_columns = version
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .map(|cols| {
                    cols.iter()
                        .map(|c| PrinterColumn {
                            name: c.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                            json_path: c
                                .get("jsonPath")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            type_: c.get("type").and_then(Value::as_str).unwrap_or("string").to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            self.kinds.push(Arc::new(ResourceKind {
                group: group.clone(),
                version: name,
                kind: kind.clone(),
                plural: plural.clone(),
                singular: singular.clone(),
                namespaced,
                short_names: strings("/names/shortNames"),
                categories: strings("/names/categories"),
                status_subresource: version.pointer("/subresources/status").is_some(),
                origin,
                schema_name,
                tracks_generation: true,
                printer_columns,
                crd: Some(crd.clone()),
            }));
        }
        Ok(())
    }

    fn add_builtins(&mut self) {
        let mut generator = SchemaSettings::openapi3().into_generator();
        use k8s_openapi::api::{
            admissionregistration::v1 as admissionregistration, apps::v1 as apps, batch::v1 as batch,
            coordination::v1 as coordination, core::v1 as core, networking::v1 as networking, policy::v1 as policy,
            rbac::v1 as rbac, storage::v1 as storage,
        };
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;

        let mut add = |b: Builtin, name: String| {
            self.kinds.push(Arc::new(ResourceKind {
                group: b.group.into(),
                version: b.version.into(),
                kind: b.kind.into(),
                plural: b.plural.into(),
                singular: b.kind.to_lowercase(),
                namespaced: b.namespaced,
                short_names: b.short_names.iter().map(|s| s.to_string()).collect(),
                categories: b.categories.iter().map(|s| s.to_string()).collect(),
                status_subresource: b.status,
                origin: Origin::BuiltIn,
                schema_name: name,
                tracks_generation: b.generation,
                printer_columns: Vec::new(),
                crd: None,
            }));
        };
        macro_rules! builtin {
            ($ty:ty, $b:expr) => {{
                let name = <$ty as JsonSchema>::schema_name().to_string();
                let _ = generator.subschema_for::<$ty>();
                add($b, name);
            }};
        }
        const ALL: &[&str] = &["all"];
        const NONE: &[&str] = &[];
        builtin!(
            core::Namespace,
            Builtin::cluster("", "v1", "Namespace", "namespaces", &["ns"]).status()
        );
        builtin!(
            core::ConfigMap,
            Builtin::ns("", "v1", "ConfigMap", "configmaps", &["cm"])
        );
        builtin!(core::Secret, Builtin::ns("", "v1", "Secret", "secrets", NONE));
        builtin!(
            core::Service,
            Builtin::ns("", "v1", "Service", "services", &["svc"]).status().cat(ALL)
        );
        builtin!(
            core::ServiceAccount,
            Builtin::ns("", "v1", "ServiceAccount", "serviceaccounts", &["sa"])
        );
        builtin!(
            core::PersistentVolumeClaim,
            Builtin::ns("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", &["pvc"]).status()
        );
        builtin!(
            core::Node,
            Builtin::cluster("", "v1", "Node", "nodes", &["no"]).status()
        );
        builtin!(
            core::Pod,
            Builtin::ns("", "v1", "Pod", "pods", &["po"]).status().cat(ALL)
        );
        builtin!(core::Event, Builtin::ns("", "v1", "Event", "events", &["ev"]));
        builtin!(
            apps::DaemonSet,
            Builtin::ns("apps", "v1", "DaemonSet", "daemonsets", &["ds"])
                .status()
                .generation()
                .cat(ALL)
        );
        builtin!(
            apps::Deployment,
            Builtin::ns("apps", "v1", "Deployment", "deployments", &["deploy"])
                .status()
                .generation()
                .cat(ALL)
        );
        builtin!(
            batch::CronJob,
            Builtin::ns("batch", "v1", "CronJob", "cronjobs", &["cj"])
                .status()
                .generation()
                .cat(ALL)
        );
        builtin!(
            batch::Job,
            Builtin::ns("batch", "v1", "Job", "jobs", NONE)
                .status()
                .generation()
                .cat(ALL)
        );
        builtin!(
            policy::PodDisruptionBudget,
            Builtin::ns("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", &["pdb"])
                .status()
                .generation()
        );
        builtin!(
            networking::NetworkPolicy,
            Builtin::ns(
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                "networkpolicies",
                &["netpol"]
            )
            .generation()
        );
        builtin!(
            rbac::ClusterRole,
            Builtin::cluster("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", NONE)
        );
        builtin!(
            rbac::ClusterRoleBinding,
            Builtin::cluster(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRoleBinding",
                "clusterrolebindings",
                NONE
            )
        );
        builtin!(
            rbac::Role,
            Builtin::ns("rbac.authorization.k8s.io", "v1", "Role", "roles", NONE)
        );
        builtin!(
            rbac::RoleBinding,
            Builtin::ns("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", NONE)
        );
        builtin!(
            storage::StorageClass,
            Builtin::cluster("storage.k8s.io", "v1", "StorageClass", "storageclasses", &["sc"])
        );
        builtin!(
            coordination::Lease,
            Builtin::ns("coordination.k8s.io", "v1", "Lease", "leases", NONE)
        );
        builtin!(
            admissionregistration::ValidatingWebhookConfiguration,
            Builtin::cluster(
                "admissionregistration.k8s.io",
                "v1",
                "ValidatingWebhookConfiguration",
                "validatingwebhookconfigurations",
                NONE
            )
            .generation()
        );
        builtin!(
            apiextensions::CustomResourceDefinition,
            Builtin::cluster(
                "apiextensions.k8s.io",
                "v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
                &["crd", "crds"]
            )
            .status()
            .generation()
        );

        for (name, mut schema) in generator.take_definitions(true) {
            // Opaque in the Go types (decoded raw), so nothing inside them is an unknown field.
            if OPAQUE_SCHEMAS.contains(&name.as_str()) {
                schema["x-kubernetes-preserve-unknown-fields"] = json!(true);
            }
            self.schemas.insert(name, schema);
        }
        let gvks: Vec<(String, String, String, String)> = self
            .kinds
            .iter()
            .map(|k| {
                (
                    k.schema_name.clone(),
                    k.group.clone(),
                    k.version.clone(),
                    k.kind.clone(),
                )
            })
            .collect();
        for (name, group, version, kind) in gvks {
            let mut schema = self.schemas.get(&name).cloned().expect("generated");
            add_gvk(&mut schema, &group, &version, &kind);
            self.schemas.insert(name, schema);
        }
    }
}

const OPAQUE_SCHEMAS: &[&str] = &[
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
];

/// `x-kubernetes-group-version-kind` is how kubectl (`explain`, validation) finds a kind's schema.
fn add_gvk(schema: &mut Value, group: &str, version: &str, kind: &str) {
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{"group": group, "version": version, "kind": kind}]),
        );
    }
}

/// `imageregistry.operator.openshift.io` → `io.openshift.operator.imageregistry`, the OpenAPI naming.
fn reverse_domain(group: &str) -> String {
    group.split('.').rev().collect::<Vec<_>>().join(".")
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    status: bool,
    generation: bool,
}

impl Builtin {
    fn ns(
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        plural: &'static str,
        short: &'static [&'static str],
    ) -> Self {
        Builtin {
            group,
            version,
            kind,
            plural,
            namespaced: true,
            short_names: short,
            categories: &[],
            status: false,
            generation: false,
        }
    }

    fn cluster(
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        plural: &'static str,
        short: &'static [&'static str],
    ) -> Self {
        Builtin {
            namespaced: false,
            ..Self::ns(group, version, kind, plural, short)
        }
    }

    fn status(self) -> Self {
        Builtin { status: true, ..self }
    }

    fn generation(self) -> Self {
        Builtin {
            generation: true,
            ..self
        }
    }

    fn cat(self, categories: &'static [&'static str]) -> Self {
        Builtin { categories, ..self }
    }
}

/// The CRDs vendored under `crds/`, compiled in so the server needs no files at run time.
pub const VENDORED_CRDS: &[(&str, &str)] = &[
    (
        "openshift/00_configs.crd.yaml",
        include_str!("../crds/openshift/00_configs.crd.yaml"),
    ),
    (
        "openshift/01_imagepruners.crd.yaml",
        include_str!("../crds/openshift/01_imagepruners.crd.yaml"),
    ),
    (
        "openshift/0000_10_config-operator_01_infrastructures-Default.crd.yaml",
        include_str!("../crds/openshift/0000_10_config-operator_01_infrastructures-Default.crd.yaml"),
    ),
    (
        "openshift/0000_10_config-operator_01_images.crd.yaml",
        include_str!("../crds/openshift/0000_10_config-operator_01_images.crd.yaml"),
    ),
    (
        "openshift/0000_03_config-operator_01_proxies.crd.yaml",
        include_str!("../crds/openshift/0000_03_config-operator_01_proxies.crd.yaml"),
    ),
    (
        "openshift/0000_00_cluster-version-operator_01_clusteroperators.crd.yaml",
        include_str!("../crds/openshift/0000_00_cluster-version-operator_01_clusteroperators.crd.yaml"),
    ),
    (
        "openshift/routes.crd.yaml",
        include_str!("../crds/openshift/routes.crd.yaml"),
    ),
    (
        "local/apiservers.crd.yaml",
        include_str!("../crds/local/apiservers.crd.yaml"),
    ),
    (
        "local/clusterversions.crd.yaml",
        include_str!("../crds/local/clusterversions.crd.yaml"),
    ),
    (
        "prometheus-operator/monitoring.coreos.com_prometheusrules.yaml",
        include_str!("../crds/prometheus-operator/monitoring.coreos.com_prometheusrules.yaml"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_every_vendored_crd_and_builtin() {
        let c = Catalog::standard(true).unwrap();
        let config = c.find("imageregistry.operator.openshift.io", "v1", "configs").unwrap();
        assert!(!config.namespaced);
        assert!(config.status_subresource);
        assert_eq!(config.origin, Origin::CustomResource);
        assert_eq!(
            c.find("route.openshift.io", "v1", "routes").unwrap().origin,
            Origin::Aggregated
        );
        let deploy = c.find("apps", "v1", "deployments").unwrap();
        let schema = c.schemas.resolve(c.schema_of(&deploy));
        assert!(schema.pointer("/properties/spec").is_some());
        assert!(c.find("monitoring.coreos.com", "v1", "prometheusrules").is_some());
        assert!(c.find("config.openshift.io", "v1", "infrastructures").is_some());
    }
}
