//! The hooks' inputs and decisions: the JSON the host sends and expects, as Rust types.
//! Kubernetes objects travel as JSON values in their API form.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The hooks a module can serve.
pub const HOOKS: &[&str] = &["storage", "pruner", "admission"];

// ------------------------------------------------------------------------------------- storage

/// Everything the storage decision may depend on. The host gathers it; the policy reads nothing
/// else.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StorageInput {
    pub platform: PlatformFacts,
    /// The Config as it is now, if it exists.
    #[serde(default)]
    pub current: Option<CurrentConfig>,
    #[serde(default)]
    pub facts: StorageFacts,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlatformFacts {
    /// `status.platformStatus.type` of `infrastructures.config.openshift.io/cluster`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The whole `status.platformStatus` (region, project, resource group, …).
    #[serde(default)]
    pub status: Value,
    #[serde(default)]
    pub infrastructure_name: String,
    /// `HighlyAvailable` or `SingleReplica`.
    #[serde(default)]
    pub infrastructure_topology: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CurrentConfig {
    #[serde(default)]
    pub management_state: String,
    /// `spec.storage` (an empty object when unset).
    #[serde(default)]
    pub storage: Value,
    #[serde(default)]
    pub replicas: i32,
    #[serde(default)]
    pub rollout_strategy: String,
}

/// Facts the host looked up. Credentials appear by key name only — never values.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StorageFacts {
    /// Keys of `openshift-image-registry/image-registry-private-configuration-user`, if it exists.
    #[serde(default)]
    pub user_credential_keys: Option<Vec<String>>,
    /// Keys of the cloud-credential-minted `installer-cloud-credentials`, if it exists.
    #[serde(default)]
    pub cloud_credential_keys: Option<Vec<String>>,
    /// The claim the registry would use (`image-registry-storage` or the configured one), if it exists.
    #[serde(default)]
    pub existing_pvc: Option<PvcFacts>,
    /// Whether the OpenStack service catalog offers object storage (Swift); unknown elsewhere.
    #[serde(default)]
    pub swift_available: Option<bool>,
    /// The cluster's default StorageClass, if any.
    #[serde(default)]
    pub default_storage_class: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PvcFacts {
    pub name: String,
    #[serde(default)]
    pub access_modes: Vec<String>,
    /// Whether the registry created it (it carries the `imageregistry.openshift.io` annotation).
    #[serde(default)]
    pub owned_by_registry: bool,
}

/// The storage decision.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StorageDecision {
    /// The `spec.storage` block: one driver (possibly with a `managementState`), or empty.
    pub storage: Value,
    pub replicas: i32,
    /// `RollingUpdate` or `Recreate`.
    pub rollout_strategy: String,
    /// The Config's `managementState`: `Managed`, or `Removed` when there is no storage to use.
    pub management_state: String,
    /// A claim to create before the registry starts, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_pvc: Option<PvcRequest>,
    /// Information the registry still needs, each with the command that supplies it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<Missing>,
    /// How a bucket in a cloud is set up: the operator's way when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<Provisioning>,
}

/// How the registry's bucket is set up. The host checks every value before it calls the cloud.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Provisioning {
    /// Default encryption: `AES256`, or `aws:kms` with `kmsKeyID`.
    #[serde(default = "Provisioning::aes256")]
    pub encryption: String,
    #[serde(default, rename = "kmsKeyID", skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// Tags set beside the cluster's own (never replacing them).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
    /// Whether public access to the bucket is blocked.
    #[serde(default = "Provisioning::yes")]
    pub block_public_access: bool,
    /// Days after which incomplete multipart uploads are aborted.
    #[serde(default = "Provisioning::one_day")]
    pub incomplete_upload_days: i32,
    /// Whether a bucket that already exists may be adopted (as Unmanaged storage).
    #[serde(default = "Provisioning::yes")]
    pub adopt_existing: bool,
}

impl Provisioning {
    fn aes256() -> String {
        "AES256".into()
    }

    fn yes() -> bool {
        true
    }

    fn one_day() -> i32 {
        1
    }
}

impl Default for Provisioning {
    /// The operator's: AES256, public access blocked, incomplete uploads gone after a day, an
    /// existing bucket adopted.
    fn default() -> Self {
        Provisioning {
            encryption: Provisioning::aes256(),
            kms_key_id: None,
            tags: Default::default(),
            block_public_access: true,
            incomplete_upload_days: 1,
            adopt_existing: true,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PvcRequest {
    pub name: String,
    pub access_modes: Vec<String>,
    /// A Kubernetes quantity, e.g. `100Gi`.
    pub size: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Missing {
    pub message: String,
    pub command: String,
}

// -------------------------------------------------------------------------------------- pruner

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrunerInput {
    /// The registry Config's `managementState` (empty when there is no Config).
    pub registry_management_state: String,
    /// `spec` of `imagepruners.imageregistry.operator.openshift.io/cluster`.
    #[serde(default)]
    pub pruner: Value,
    /// `status.internalRegistryHostname` of `images.config.openshift.io/cluster`.
    #[serde(default)]
    pub internal_registry_hostname: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrunerDecision {
    pub schedule: String,
    pub suspend: bool,
    pub successful_jobs_history_limit: i32,
    pub failed_jobs_history_limit: i32,
    /// The arguments after `oc adm prune images`.
    pub args: Vec<String>,
    /// Whether registry storage is pruned too (`--prune-registry`), and why.
    pub prune_registry: bool,
    pub reason: String,
}

// ----------------------------------------------------------------------------------- admission

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionInput {
    /// `create`, `update` or `delete`.
    pub operation: String,
    /// `Config` or `ImagePruner`.
    pub kind: String,
    #[serde(default)]
    pub current: Option<Value>,
    #[serde(default)]
    pub proposed: Option<Value>,
    #[serde(default)]
    pub facts: AdmissionFacts,
}

/// What the host knows beyond the objects themselves.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionFacts {
    /// The claim the proposed Config would store images on, if it uses `pvc` storage and the claim exists.
    #[serde(default)]
    pub pvc: Option<PvcFacts>,
}

impl AdmissionInput {
    /// The single storage driver the proposed object sets, if exactly one.
    pub fn proposed_storage_driver(&self) -> Option<&str> {
        storage_driver(self.proposed.as_ref()?.pointer("/spec/storage")?)
    }

    /// A field of the proposed object by JSON pointer (`/spec/replicas`).
    pub fn proposed(&self, pointer: &str) -> Option<&Value> {
        self.proposed.as_ref()?.pointer(pointer)
    }

    /// A field of the current object by JSON pointer.
    pub fn current(&self, pointer: &str) -> Option<&Value> {
        self.current.as_ref()?.pointer(pointer)
    }
}

/// The storage drivers a `spec.storage` block can name.
pub const STORAGE_DRIVERS: &[&str] = &["emptyDir", "s3", "gcs", "azure", "swift", "pvc", "ibmcos", "oss"];

/// The one driver set in a `spec.storage` block; `None` when none or several are.
pub fn storage_driver(storage: &Value) -> Option<&'static str> {
    let set: Vec<&'static str> = STORAGE_DRIVERS
        .iter()
        .copied()
        .filter(|d| storage.get(*d).is_some())
        .collect();
    match set.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}
