//! Typed OpenShift APIs the registry reads and writes. Each struct keeps the fields it does not
//! know in `extra`, so a read-modify-write never drops what a newer cluster added.

mod config_openshift;
mod meta;
mod names;
mod registry;
mod route;
mod values;

pub use config_openshift::*;
pub use meta::*;
pub use names::*;
pub use registry::*;
pub use route::*;
pub use values::{LogLevel, ManagementState, RolloutStrategy};
