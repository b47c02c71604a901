//! Policy modules: sandboxed WebAssembly that makes the platform storage and pruning decisions and
//! admits or refuses configuration changes. The host is separate from the policies themselves,
//! which live in `policies/` (built-ins and the guest SDK).

pub mod builtin;
pub mod compile;
pub mod config;
mod effective;
mod error;
mod host;
mod limits;
mod module;
pub mod scaffold;

pub use effective::{Admission, Policies};
pub use error::{Cause, PolicyError};
pub use host::{Host, Precompiled};
pub use limits::Limits;
pub use module::{CodeLimits, CodeShape, Inspection, inspect, sha256_hex};
pub use oc_registry_policy_sdk as sdk;
