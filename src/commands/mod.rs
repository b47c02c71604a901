//! One module per command. Each turns parsed arguments into work against the cluster and decides
//! the exit status.

pub mod change;
pub mod completion;
mod context;
pub mod diff;
pub mod doctor;
pub mod events;
pub mod http_secret;
pub mod info;
pub mod login;
pub mod logs;
pub mod manifests;
pub mod naming;
pub mod output;
pub mod policy;
pub mod pruner;
pub mod reconcile;
pub mod render;
pub mod rollout;
pub mod routes;
pub mod set;
pub mod status;
pub mod storage;
pub mod style;
pub mod trust;
pub mod version;
pub mod wait;
pub mod watch;

use std::fmt;

pub use context::{ConnectionArgs, Context, PolicyArgs, Session};

/// A failure already phrased for the user, with its exit status.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Bad input: a message naming the field and the fix, exit status 1.
pub fn invalid(message: String) -> anyhow::Error {
    Failure { message, code: 1 }.into()
}

/// What kubectl appends to a line reporting a change made in a dry run.
pub(crate) fn dry_run_suffix(mode: Option<crate::cluster::DryRun>) -> &'static str {
    use crate::cluster::DryRun;
    match mode {
        None => "",
        Some(DryRun::Client) => " (dry run)",
        Some(DryRun::Server) => " (server dry run)",
    }
}
