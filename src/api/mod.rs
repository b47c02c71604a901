//! Typed OpenShift APIs the registry reads and writes. Each struct keeps the fields it does not
//! know in `extra`, so a read-modify-write never drops what a newer cluster added.

mod config_openshift;
mod meta;
mod registry;
mod route;

pub use config_openshift::*;
pub use meta::*;
pub use registry::*;
pub use route::*;

/// The namespace the registry and everything it owns live in.
pub const REGISTRY_NAMESPACE: &str = "openshift-image-registry";
/// The only `configs.imageregistry.operator.openshift.io` and `imagepruners` object the operator reads.
pub const CLUSTER: &str = "cluster";
