//! Cluster access: kubeconfig resolution with kubectl's flags and precedence, the client, and
//! kubectl-shaped error messages.

mod access;
mod errors;
mod retry;
mod writes;

pub use access::{Access, AccessOptions, Environment, USER_AGENT, parse_request_timeout};
pub use errors::{chain, describe_kube_error, is_not_found};
pub use retry::{ATTEMPTS, is_conflict, is_transient, retry};
pub use writes::{DryRun, FIELD_MANAGER, merge_patch_between};
