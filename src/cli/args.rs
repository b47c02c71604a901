use crate::cluster::{AccessOptions, parse_request_timeout};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

const CONNECTION: &str = "Cluster connection (as kubectl)";

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Configure and reconcile the OpenShift image registry",
    long_about = "Configure and reconcile the OpenShift image registry.\n\n\
        Reads and writes configs.imageregistry.operator.openshift.io/cluster and the objects the \
        registry runs on in the openshift-image-registry namespace, using your kubeconfig as kubectl does.",
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the registry's state: management state, storage, replicas, routes, conditions,
    /// what is missing, the pruner and the image-registry ClusterOperator.
    #[command(
        long_about = "Show the registry's state: management state, storage kind and location (never \
        credentials), replicas ready and desired, routes, read-only mode, conditions, what is missing and how \
        to supply it, the pruner's schedule and last result, and the image-registry ClusterOperator.\n\n\
        Exit status: 0 healthy; 1 the command failed (bad flags, cluster unreachable); 2 degraded or \
        incomplete; 3 no registry (not bootstrapped, Removed, or not an OpenShift cluster)."
    )]
    Status(crate::commands::status::StatusArgs),

    /// Policy modules: list those in effect, run a hook, check a module, start a new one
    #[command(subcommand)]
    Policy(crate::commands::policy::PolicyCommand),

    /// Print the shell completion script for bash, zsh or fish
    #[command(long_about = "Print the shell completion script for bash, zsh or fish.\n\n\
        bash:  source <(oc-registry completion bash)\n\
        zsh:   oc-registry completion zsh > \"${fpath[1]}/_oc-registry\"\n\
        fish:  oc-registry completion fish | source\n\n\
        As a kubectl plugin, `kubectl registry <TAB>` completes through the kubectl_complete-registry \
        executable installed beside kubectl-registry, with kubectl's own completion.")]
    Completion {
        #[arg(value_enum)]
        shell: crate::cli::complete::Shell,
    },

    /// Print the version, git commit, wasmtime version and policy ABI version
    Version(crate::commands::version::VersionArgs),
}

/// Where policy configuration comes from (see `policy list`).
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Policy configuration file (else $OC_REGISTRY_POLICY_CONFIG, else ~/.config/oc-registry/policies.yaml)
    #[arg(long, global = true, value_name = "FILE", help_heading = "Policies")]
    pub policy_config: Option<PathBuf>,
}

/// kubectl's connection flags, accepted before or after the command.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Path to the kubeconfig file to use (only this file; KUBECONFIG is ignored)
    #[arg(long, global = true, value_name = "FILE", help_heading = CONNECTION)]
    pub kubeconfig: Option<PathBuf>,

    /// The name of the kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME", help_heading = CONNECTION)]
    pub context: Option<String>,

    /// The name of the kubeconfig cluster to use
    #[arg(long, global = true, value_name = "NAME", help_heading = CONNECTION)]
    pub cluster: Option<String>,

    /// The name of the kubeconfig user to use
    #[arg(long, global = true, value_name = "NAME", help_heading = CONNECTION)]
    pub user: Option<String>,

    /// The address and port of the Kubernetes API server
    #[arg(short = 's', long, global = true, value_name = "URL", help_heading = CONNECTION)]
    pub server: Option<String>,

    /// Bearer token for authentication to the API server
    #[arg(long, global = true, value_name = "TOKEN", help_heading = CONNECTION, hide_env_values = true)]
    pub token: Option<String>,

    /// If true, the server's certificate will not be checked for validity
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", help_heading = CONNECTION)]
    pub insecure_skip_tls_verify: Option<bool>,

    /// How long to wait for a single server request (0 = no limit), e.g. 30s, 1m
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_timeout, help_heading = CONNECTION)]
    pub request_timeout: Option<Duration>,

    /// The namespace for commands that act on one (defaults to the context's)
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE", help_heading = CONNECTION)]
    pub namespace: Option<String>,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    parse_request_timeout(s).map_err(|e| e.to_string())
}

impl ConnectionArgs {
    pub fn access_options(&self) -> AccessOptions {
        AccessOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            cluster: self.cluster.clone(),
            user: self.user.clone(),
            server: self.server.clone(),
            token: self.token.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify.unwrap_or(false),
            request_timeout: self.request_timeout,
            namespace: self.namespace.clone(),
        }
    }
}
