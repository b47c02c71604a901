//! The names of the objects the registry is made of and reads, in one place.

/// The namespace the registry and everything it owns live in.
pub const REGISTRY_NAMESPACE: &str = "openshift-image-registry";
/// The namespace of cluster-wide configuration the registry reads (CAs, the pull secret).
pub const OPENSHIFT_CONFIG: &str = "openshift-config";
/// Where the cloud provider's CA bundle is published (`kube-cloud-config`).
pub const OPENSHIFT_CONFIG_MANAGED: &str = "openshift-config-managed";
pub const KUBE_CLOUD_CONFIG: &str = "kube-cloud-config";
/// The only `configs.imageregistry.operator.openshift.io` and `imagepruners` object the operator reads.
pub const CLUSTER: &str = "cluster";

/// The user's storage credentials, in the registry's namespace.
pub const USER_CREDENTIALS: &str = "image-registry-private-configuration-user";
/// The credentials the cloud credential operator mints for the registry.
pub const CLOUD_CREDENTIALS: &str = "installer-cloud-credentials";
/// The Secret the registry reads its storage credentials from, written by reconcile.
pub const PRIVATE_CONFIGURATION: &str = "image-registry-private-configuration";
/// The claim the registry creates when `spec.storage.pvc.claim` is empty.
pub const DEFAULT_CLAIM: &str = "image-registry-storage";
/// The PrometheusRule that raises `ImageRegistryRemoved` while the registry is Removed.
pub const REMOVED_ALERT_RULE: &str = "image-registry-removed";
/// The annotation marking storage the registry created.
pub const REGISTRY_ANNOTATION: &str = "imageregistry.openshift.io";
