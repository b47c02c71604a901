//! One module per command. Each turns parsed arguments into work against the cluster and decides
//! the exit status.

pub mod change;
pub mod diff;
pub mod doctor;
pub mod http_secret;
pub mod info;
pub mod login;
pub mod manifests;
pub mod policy;
pub mod pruner;
pub mod reconcile;
pub mod render;
pub mod routes;
pub mod set;
pub mod status;
pub mod storage;
pub mod trust;
pub mod version;
pub mod wait;
pub mod watch;

use crate::cli::{Cli, Command};
use crate::cluster::{Access, describe_kube_error};
use anyhow::{Context as _, Result};
use std::fmt;
use std::process::ExitCode;

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
pub fn dry_run_suffix(mode: Option<crate::reconcile::apply::DryRun>) -> &'static str {
    use crate::reconcile::apply::DryRun;
    match mode {
        None => "",
        Some(DryRun::Client) => " (dry run)",
        Some(DryRun::Server) => " (server dry run)",
    }
}

/// A connected client and where it points.
pub struct Session {
    pub client: kube::Client,
    pub access: Access,
}

impl Session {
    pub async fn connect(cli: &Cli) -> Result<Self> {
        let access = cli.connection.access_options().resolve().await?;
        let client = kube::Client::try_from(access.config.clone()).context("building the API client")?;
        Ok(Session { client, access })
    }

    /// Phrases a kube error kubectl's way, naming this session's server.
    pub fn describe(&self, err: &kube::Error) -> String {
        describe_kube_error(err, &self.access.config.cluster_url.to_string())
    }
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Status(args) => status::run(&Session::connect(&cli).await?, args).await,
        Command::Doctor(args) => doctor::run(&cli, args).await,
        Command::Info(args) => info::run(&cli, args).await,
        Command::Login(args) => login::run(&cli, args).await,
        Command::Policy(command) => policy::run(&cli, command).await,
        Command::Bootstrap(args) => reconcile::run_bootstrap(&cli, args).await,
        Command::Reconcile(args) => reconcile::run(&cli, args).await,
        Command::Diff(args) => diff::run(&cli, args).await,
        Command::Render(args) => render::run(&cli, args),
        Command::Manifests(args) => manifests::run(args),
        Command::Trust(command) => trust::run(&cli, command).await,
        Command::Storage(command) => storage::run(&cli, command).await,
        Command::Set(command) => set::run(&cli, command).await,
        Command::Pruner(command) => pruner::run(&cli, command).await,
        Command::Routes(command) => routes::run(&cli, command).await,
        Command::HttpSecret(command) => http_secret::run(&cli, command).await,
        Command::Version(args) => version::run(args),
        Command::Completion { shell } => {
            let bin = crate::cli::display_name(std::env::args_os().next().as_ref()).replace(' ', "-");
            print!("{}", crate::cli::complete::script(*shell, &bin));
            Ok(ExitCode::SUCCESS)
        }
    }
}
