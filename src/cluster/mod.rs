//! Cluster access: kubeconfig resolution with kubectl's flags and precedence, the client, and
//! kubectl-shaped error messages.

mod access;
mod bounded;
mod errors;
pub mod redact;
mod retry;
pub mod verbose;
mod writes;

pub use access::{Access, AccessOptions, Environment, USER_AGENT, parse_request_timeout};
pub use bounded::{Bounds, DEFAULT_REQUEST_TIMEOUT, Exceeded, MAX_ANSWER_BYTES, exceeded};
pub use errors::{chain, describe_kube_error, is_not_found};

/// A client for `access`, every exchange bounded (see [`Bounds`]) and shown at `verbosity`
/// (kubectl's `-v`, see [`verbose`]).
pub fn connect(access: &Access, verbosity: u8) -> Result<kube::Client, kube::Error> {
    Ok(kube::client::ClientBuilder::try_from(access.config.clone())?
        .with_layer(&Bounds::for_timeout(access.request_timeout))
        .with_layer(&verbose::Verbosity {
            level: verbosity,
            server: access.config.cluster_url.to_string(),
        })
        .build())
}
pub use retry::{ATTEMPTS, is_conflict, is_transient, retry};
pub use writes::{DryRun, FIELD_MANAGER, merge_patch_between};
