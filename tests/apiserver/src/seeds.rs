//! Seeds that make the server an OpenShift cluster of a chosen platform: the cluster-wide config
//! objects, namespaces, the pull secret, minted cloud credentials, a default StorageClass and nodes;
//! optionally the registry as the Image Registry Operator leaves it after installation.
//! Every seeded object is checked against its kind's schema, so the seeds are objects a real
//! cluster could hold.

use crate::admission;
use crate::field::FieldPath;
use crate::handlers::now;
use crate::server::ApiServer;
use crate::store::ObjectKey;
use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use serde_json::{Value, json};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Aws,
    Gcp,
    Azure,
    OpenStack,
    /// OpenStack whose service catalog has no object-store (Swift) endpoint.
    OpenStackWithoutSwift,
    IbmCloud,
    BareMetal,
    VSphere,
    None,
    Libvirt,
}

impl Platform {
    pub const ALL: [Platform; 10] = [
        Platform::Aws,
        Platform::Gcp,
        Platform::Azure,
        Platform::OpenStack,
        Platform::OpenStackWithoutSwift,
        Platform::IbmCloud,
        Platform::BareMetal,
        Platform::VSphere,
        Platform::None,
        Platform::Libvirt,
    ];

    /// `platformStatus.type`.
    pub fn type_name(self) -> &'static str {
        match self {
            Platform::Aws => "AWS",
            Platform::Gcp => "GCP",
            Platform::Azure => "Azure",
            Platform::OpenStack | Platform::OpenStackWithoutSwift => "OpenStack",
            Platform::IbmCloud => "IBMCloud",
            Platform::BareMetal => "BareMetal",
            Platform::VSphere => "VSphere",
            Platform::None => "None",
            Platform::Libvirt => "Libvirt",
        }
    }

    fn cli_name(self) -> &'static str {
        match self {
            Platform::Aws => "aws",
            Platform::Gcp => "gcp",
            Platform::Azure => "azure",
            Platform::OpenStack => "openstack",
            Platform::OpenStackWithoutSwift => "openstack-without-swift",
            Platform::IbmCloud => "ibmcloud",
            Platform::BareMetal => "baremetal",
            Platform::VSphere => "vsphere",
            Platform::None => "none",
            Platform::Libvirt => "libvirt",
        }
    }

    pub fn has_swift(self) -> bool {
        self == Platform::OpenStack
    }

    fn platform_status(self) -> Value {
        let mut status = json!({"type": self.type_name()});
        let extra = match self {
            Platform::Aws => json!({"aws": {"region": "us-east-1"}}),
            Platform::Gcp => {
                json!({"gcp": {"projectID": "sim-project-4821", "region": "us-central1"}})
            }
            Platform::Azure => {
                json!({"azure": {"resourceGroupName": "sim-7xk2p-rg", "networkResourceGroupName": "sim-7xk2p-rg", "cloudName": "AzurePublicCloud"}})
            }
            Platform::OpenStack | Platform::OpenStackWithoutSwift => {
                json!({"openstack": {"cloudName": "openstack"}})
            }
            Platform::IbmCloud => {
                json!({"ibmcloud": {"location": "us-south", "resourceGroupName": "sim-7xk2p", "providerType": "VPC"}})
            }
            Platform::BareMetal => json!({"baremetal": {}}),
            Platform::VSphere => json!({"vsphere": {}}),
            Platform::None | Platform::Libvirt => json!({}),
        };
        for (k, v) in extra.as_object().expect("object") {
            status[k] = v.clone();
        }
        status
    }

    fn platform_spec(self) -> Value {
        let key = match self {
            Platform::Aws => Some("aws"),
            Platform::Gcp => Some("gcp"),
            Platform::Azure => Some("azure"),
            Platform::OpenStack | Platform::OpenStackWithoutSwift => Some("openstack"),
            Platform::IbmCloud => Some("ibmcloud"),
            Platform::BareMetal => Some("baremetal"),
            Platform::VSphere => Some("vsphere"),
            Platform::None | Platform::Libvirt => None,
        };
        let mut spec = json!({"type": self.type_name()});
        if let Some(k) = key {
            spec[k] = json!({});
        }
        spec
    }

    /// The default StorageClass an installation of this platform provides.
    fn storage_class(self) -> (&'static str, &'static str) {
        match self {
            Platform::Aws => ("gp3-csi", "ebs.csi.aws.com"),
            Platform::Gcp => ("standard-csi", "pd.csi.storage.gke.io"),
            Platform::Azure => ("managed-csi", "disk.csi.azure.com"),
            Platform::OpenStack | Platform::OpenStackWithoutSwift => ("standard-csi", "cinder.csi.openstack.org"),
            Platform::IbmCloud => ("ibmc-vpc-block-10iops-tier", "vpc.block.csi.ibm.io"),
            Platform::VSphere => ("thin-csi", "csi.vsphere.vmware.com"),
            Platform::BareMetal | Platform::None | Platform::Libvirt => ("lvms-vg1", "topolvm.io"),
        }
    }

    fn zones(self) -> Option<[&'static str; 3]> {
        match self {
            Platform::Aws => Some(["us-east-1a", "us-east-1b", "us-east-1c"]),
            Platform::Gcp => Some(["us-central1-a", "us-central1-b", "us-central1-c"]),
            Platform::Azure => Some(["eastus-1", "eastus-2", "eastus-3"]),
            Platform::IbmCloud => Some(["us-south-1", "us-south-2", "us-south-3"]),
            _ => None,
        }
    }

    /// The keys of the `installer-cloud-credentials` Secret the cloud credential operator mints.
    fn cloud_credentials(self) -> Option<Vec<(&'static str, String)>> {
        let fake = |s: &str| s.to_string();
        Some(match self {
            Platform::Aws => vec![
                ("aws_access_key_id", fake("AKIASIMULATED0000001")),
                (
                    "aws_secret_access_key",
                    fake("simulated/secret/access/key/000000000000"),
                ),
            ],
            Platform::Gcp => vec![(
                "service_account.json",
                fake(
                    r#"{"type":"service_account","project_id":"sim-project-4821","client_email":"registry@sim-project-4821.iam.gserviceaccount.com"}"#,
                ),
            )],
            Platform::Azure => vec![
                ("azure_subscription_id", fake("00000000-0000-0000-0000-000000000001")),
                ("azure_client_id", fake("00000000-0000-0000-0000-000000000002")),
                ("azure_client_secret", fake("simulated-client-secret")),
                ("azure_tenant_id", fake("00000000-0000-0000-0000-000000000003")),
                ("azure_resourcegroup", fake("sim-7xk2p-rg")),
                ("azure_region", fake("eastus")),
            ],
            Platform::OpenStack | Platform::OpenStackWithoutSwift => vec![(
                "clouds.yaml",
                fake(
                    "clouds:\n  openstack:\n    auth:\n      auth_url: https://keystone.sim.example.com:5000/v3\n      application_credential_id: simulated\n      application_credential_secret: simulated\n    region_name: regionOne\n    auth_type: v3applicationcredential\n",
                ),
            )],
            Platform::IbmCloud => vec![("ibmcloud_api_key", fake("simulated-ibmcloud-api-key"))],
            _ => return None,
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

impl FromStr for Platform {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.to_ascii_lowercase();
        Platform::ALL
            .into_iter()
            .find(|p| {
                p.cli_name() == lower
                    || (p.type_name().eq_ignore_ascii_case(&lower) && *p != Platform::OpenStackWithoutSwift)
            })
            .ok_or_else(|| {
                let names: Vec<&str> = Platform::ALL.iter().map(|p| p.cli_name()).collect();
                anyhow!("unknown platform {s:?}; expected one of: {}", names.join(", "))
            })
    }
}

pub const INFRASTRUCTURE_NAME: &str = "sim-7xk2p";
/// The images the simulated release names in the operator's environment.
pub const REGISTRY_IMAGE: &str = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:1f0c9e7b6a4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0918273645f0e1";
pub const PRUNER_IMAGE: &str = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b";
pub const RELEASE_VERSION: &str = "4.20.3";
pub const REGISTRY_NAMESPACE: &str = "openshift-image-registry";

/// The TLS security profile types an APIServer config can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsProfile {
    Old,
    Intermediate,
    Modern,
    /// The documented example: four ECDHE ciphers, TLS 1.1 and up.
    Custom,
}

impl TlsProfile {
    pub const ALL: [TlsProfile; 4] = [
        TlsProfile::Old,
        TlsProfile::Intermediate,
        TlsProfile::Modern,
        TlsProfile::Custom,
    ];

    fn spec(self) -> Value {
        match self {
            TlsProfile::Old => json!({"type": "Old", "old": {}}),
            TlsProfile::Intermediate => json!({"type": "Intermediate", "intermediate": {}}),
            TlsProfile::Modern => json!({"type": "Modern", "modern": {}}),
            TlsProfile::Custom => json!({"type": "Custom", "custom": {
                "minTLSVersion": "VersionTLS11",
                "ciphers": [
                    "ECDHE-ECDSA-CHACHA20-POLY1305",
                    "ECDHE-RSA-CHACHA20-POLY1305",
                    "ECDHE-RSA-AES128-GCM-SHA256",
                    "ECDHE-ECDSA-AES128-GCM-SHA256",
                ],
            }}),
        }
    }
}

impl FromStr for TlsProfile {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        TlsProfile::ALL
            .into_iter()
            .find(|p| format!("{p:?}").eq_ignore_ascii_case(s))
            .ok_or_else(|| anyhow::anyhow!("unknown TLS profile {s:?}: Old, Intermediate, Modern or Custom"))
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

impl ApiServer {
    /// Checks an object as the server would check a create with `fieldValidation=Strict`: known
    /// kind, no unknown fields, valid against the kind's schema.
    pub fn check(&self, object: &Value) -> Result<()> {
        let mut copy = object.clone();
        self.checked(&mut copy).map(|_| ())
    }

    fn checked(&self, object: &mut Value) -> Result<std::sync::Arc<crate::catalog::ResourceKind>> {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind_name = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = self
            .catalog()
            .find_kind(&api_version, &kind_name)
            .ok_or_else(|| anyhow!("no kind {kind_name} in {api_version}"))?;
        let catalog = self.catalog();
        let mut unknown = Vec::new();
        catalog.schemas.prune(
            catalog.schema_of(&kind),
            &mut object.clone(),
            &FieldPath::root(),
            &mut unknown,
        );
        if !unknown.is_empty() {
            bail!("{kind_name} has unknown fields: {unknown:?}");
        }
        admission::admit(catalog, &kind, None, object, admission::FieldValidation::Strict)
            .map_err(|e| anyhow!("{kind_name} is invalid: {}", e.message))?;
        Ok(kind)
    }

    /// Stores an object as it is (status included), after checking it like [`ApiServer::check`].
    /// Its fields are recorded as written by the `cluster-version-operator`.
    pub fn seed(&self, object: Value) -> Result<Value> {
        self.seed_as("cluster-version-operator", object)
    }

    /// Like [`ApiServer::seed`], with the fields recorded as written by `manager`, as an Update.
    pub fn seed_as(&self, manager: &str, mut object: Value) -> Result<Value> {
        let kind = self.checked(&mut object)?;
        if object.pointer("/metadata/managedFields").is_none() {
            let catalog = self.catalog();
            let api_version = object
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let writer = crate::apply::Writer {
                manager,
                api_version: &api_version,
                subresource: None,
                now: &now(),
            };
            let lists = crate::lists::ListSemantics::new(catalog, &kind);
            crate::apply::record_update(None, &mut object, &writer, &lists, Some(catalog.schema_of(&kind)));
        }
        let meta = object
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .context("metadata")?;
        meta.entry("uid")
            .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
        meta.entry("creationTimestamp").or_insert_with(|| json!(now()));
        if kind.tracks_generation {
            meta.entry("generation").or_insert(json!(1));
        }
        let name = meta.get("name").and_then(Value::as_str).context("name")?.to_string();
        let namespace = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let key = ObjectKey::new(&kind.group, &kind.plural, &namespace, &name);
        Ok(self.shared.store.lock().unwrap().put(key, object))
    }

    /// Reads one object directly from the store.
    pub fn object(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let k = self.catalog().find_kind(api_version, kind)?;
        self.shared
            .store
            .lock()
            .unwrap()
            .get(&ObjectKey::new(&k.group, &k.plural, namespace, name))
            .cloned()
    }

    pub(crate) fn seed_base(&self) {
        for ns in ["default", "kube-system", "kube-public"] {
            self.seed(namespace(ns)).expect("valid namespace");
        }
        let crds: Vec<Value> = self.catalog().kinds().iter().filter_map(|k| k.crd.clone()).collect();
        for mut crd in crds {
            let name = crd.pointer("/metadata/name").cloned();
            if let Some(m) = crd.as_object_mut() {
                m.insert("metadata".into(), json!({"name": name}));
            }
            let _ = self.seed(crd);
        }
    }

    /// Makes this server an OpenShift cluster on `platform`, before the registry was set up.
    /// Sets the cluster's TLS security profile (`apiservers.config.openshift.io/cluster`).
    pub fn seed_tls_profile(&self, profile: TlsProfile) -> Result<()> {
        let mut server = self
            .object("config.openshift.io/v1", "APIServer", "", "cluster")
            .ok_or_else(|| anyhow::anyhow!("the APIServer config is not seeded"))?;
        server["spec"]["tlsSecurityProfile"] = profile.spec();
        self.seed(server)?;
        Ok(())
    }

    /// Makes the release a multi-architecture payload (`status.desired.architecture: Multi`).
    pub fn seed_multi_arch_release(&self) -> Result<()> {
        let mut version = self
            .object("config.openshift.io/v1", "ClusterVersion", "", "version")
            .ok_or_else(|| anyhow::anyhow!("the ClusterVersion is not seeded"))?;
        version["status"]["desired"]["architecture"] = json!("Multi");
        self.seed(version)?;
        Ok(())
    }

    pub fn seed_openshift(&self, platform: Platform) -> Result<()> {
        if matches!(platform, Platform::OpenStack | Platform::OpenStackWithoutSwift) {
            *self.shared.openstack_swift.lock().unwrap() = Some(platform.has_swift());
        }
        for ns in [
            "openshift-config",
            "openshift-config-managed",
            "openshift-monitoring",
            "openshift-ingress",
        ] {
            self.seed(namespace(ns))?;
        }
        let mut registry_ns = namespace(REGISTRY_NAMESPACE);
        registry_ns["metadata"]["annotations"] = json!({
            "openshift.io/sa.scc.supplemental-groups": "1000430000/10000",
            "openshift.io/sa.scc.uid-range": "1000430000/10000",
            "openshift.io/node-selector": "",
        });
        self.seed(registry_ns)?;
        self.seed(json!({
            "apiVersion": "config.openshift.io/v1",
            "kind": "Infrastructure",
            "metadata": {"name": "cluster"},
            "spec": {"cloudConfig": {"name": ""}, "platformSpec": platform.platform_spec()},
            "status": {
                "infrastructureName": INFRASTRUCTURE_NAME,
                "platform": platform.type_name(),
                "platformStatus": platform.platform_status(),
                "apiServerURL": "https://api.sim.example.com:6443",
                "apiServerInternalURI": "https://api-int.sim.example.com:6443",
                "etcdDiscoveryDomain": "",
                "controlPlaneTopology": "HighlyAvailable",
                "infrastructureTopology": "HighlyAvailable",
                "cpuPartitioning": "None",
            },
        }))?;
        self.seed(json!({
            "apiVersion": "config.openshift.io/v1",
            "kind": "Image",
            "metadata": {"name": "cluster"},
            "spec": {},
        }))?;
        self.seed(json!({
            "apiVersion": "config.openshift.io/v1",
            "kind": "ClusterVersion",
            "metadata": {"name": "version"},
            "spec": {"clusterID": "5b3c0a6e-2f41-4d8a-9c1e-7d2f3a4b5c6d", "channel": "stable-4.20"},
            "status": {"desired": {"version": RELEASE_VERSION, "image": OPERATOR_IMAGE}},
        }))?;
        // As installed: no profile, which means Intermediate.
        self.seed(json!({
            "apiVersion": "config.openshift.io/v1",
            "kind": "APIServer",
            "metadata": {"name": "cluster"},
            "spec": {"audit": {"profile": "Default"}},
        }))?;
        self.seed(json!({
            "apiVersion": "config.openshift.io/v1",
            "kind": "Proxy",
            "metadata": {"name": "cluster"},
            "spec": {"trustedCA": {"name": ""}},
            "status": {},
        }))?;
        self.seed(json!({
            "apiVersion": "config.openshift.io/v1",
            "kind": "ClusterOperator",
            "metadata": {"name": "image-registry", "annotations": {"include.release.openshift.io/self-managed-high-availability": "true"}},
            "spec": {},
            "status": {"versions": [{"name": "operator", "version": RELEASE_VERSION}]},
        }))?;
        let pull_secret = r#"{"auths":{"quay.io":{"auth":"c2ltdWxhdGVkOnB1bGwtc2VjcmV0","email":"admin@sim.example.com"},"registry.redhat.io":{"auth":"c2ltdWxhdGVkOnB1bGwtc2VjcmV0"}}}"#;
        self.seed(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "pull-secret", "namespace": "openshift-config"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": b64(pull_secret)},
        }))?;
        if let Some(keys) = platform.cloud_credentials() {
            let data: serde_json::Map<String, Value> =
                keys.into_iter().map(|(k, v)| (k.to_string(), json!(b64(&v)))).collect();
            self.seed(json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "installer-cloud-credentials", "namespace": REGISTRY_NAMESPACE},
                "type": "Opaque",
                "data": data,
            }))?;
        }
        let (sc_name, provisioner) = platform.storage_class();
        self.seed(json!({
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": sc_name, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": provisioner,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
            "allowVolumeExpansion": true,
        }))?;
        for (role, count) in [("master", 3), ("worker", 3)] {
            for i in 0..count {
                self.seed(node(platform, role, i))?;
            }
        }
        self.seed(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "trusted-ca", "namespace": REGISTRY_NAMESPACE, "labels": {"config.openshift.io/inject-trusted-cabundle": "true"}},
            "data": {"ca-bundle.crt": ""},
        }))?;
        self.seed(operator_deployment())?;
        Ok(())
    }
}

/// The release's operator image, which node-ca also runs.
pub const OPERATOR_IMAGE: &str = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d";

/// The operator Deployment the cluster version operator installs; its environment names the
/// release's registry and pruner images. Scaled to zero: oc-registry does its work.
fn operator_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "cluster-image-registry-operator", "namespace": REGISTRY_NAMESPACE, "generation": 1},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"name": "cluster-image-registry-operator"}},
            "template": {
                "metadata": {"labels": {"name": "cluster-image-registry-operator"}},
                "spec": {
                    "serviceAccountName": "cluster-image-registry-operator",
                    "containers": [{
                        "name": "cluster-image-registry-operator",
                        "image": OPERATOR_IMAGE,
                        "env": [
                            {"name": "RELEASE_VERSION", "value": RELEASE_VERSION},
                            {"name": "IMAGE", "value": REGISTRY_IMAGE},
                            {"name": "IMAGE_PRUNER", "value": PRUNER_IMAGE},
                            {"name": "OPERATOR_IMAGE", "value": OPERATOR_IMAGE},
                        ],
                    }],
                },
            },
        },
        "status": {"observedGeneration": 1, "replicas": 0},
    })
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

fn node(platform: Platform, role: &str, index: usize) -> Value {
    let name = format!("{INFRASTRUCTURE_NAME}-{role}-{index}");
    let mut labels = json!({
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.openshift.io/os_id": "rhcos",
        format!("node-role.kubernetes.io/{role}"): "",
    });
    if let Some(zones) = platform.zones() {
        labels["topology.kubernetes.io/zone"] = json!(zones[index % 3]);
        labels["topology.kubernetes.io/region"] = json!(zones[0].rsplit_once('-').map_or(zones[0], |(r, _)| r));
    }
    let mut node = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
            "allocatable": {"cpu": "3500m", "memory": "15Gi", "pods": "250"},
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "250"},
            "nodeInfo": {
                "architecture": "amd64", "bootID": "", "containerRuntimeVersion": "cri-o://1.33.2", "kernelVersion": "5.14.0-570.el9.x86_64",
                "kubeProxyVersion": "", "kubeletVersion": "v1.33.2", "machineID": "", "operatingSystem": "linux",
                "osImage": "Red Hat Enterprise Linux CoreOS 9.6", "systemUUID": "",
            },
        },
    });
    if role == "master" {
        node["spec"]["taints"] = json!([{"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}]);
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Settings;

    #[test]
    fn every_platform_seeds_valid_objects() {
        for p in Platform::ALL {
            let server = ApiServer::new(Settings::default());
            server.seed_openshift(p).unwrap_or_else(|e| panic!("{p}: {e:#}"));
            let infra = server
                .object("config.openshift.io/v1", "Infrastructure", "", "cluster")
                .unwrap();
            assert_eq!(infra.pointer("/status/platformStatus/type").unwrap(), p.type_name());
        }
    }

    #[test]
    fn every_platform_seeds_an_installed_registry() {
        for p in Platform::ALL {
            let server = ApiServer::new(Settings::default());
            server.seed_openshift(p).unwrap();
            server
                .seed_installed_registry(p)
                .unwrap_or_else(|e| panic!("{p}: {e:#}"));
            let config = server
                .object("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")
                .unwrap();
            let removed = matches!(p, Platform::BareMetal | Platform::VSphere | Platform::None);
            assert_eq!(
                config.pointer("/spec/managementState").unwrap(),
                if removed { "Removed" } else { "Managed" }
            );
        }
    }

    #[test]
    fn platform_names_parse() {
        assert_eq!("AWS".parse::<Platform>().unwrap(), Platform::Aws);
        assert_eq!(
            "openstack-without-swift".parse::<Platform>().unwrap(),
            Platform::OpenStackWithoutSwift
        );
        assert!("mars".parse::<Platform>().is_err());
    }
}
