//! What every command works with, resolved once per run: the connection and policy flags, the
//! session (kubeconfig resolved, client built) made on first use, and the policies in effect
//! loaded on first use through that same session. Commands that need no cluster never connect.

use super::policy::ClusterPolicy;
use crate::cluster::{Access, AccessOptions, describe_kube_error, parse_request_timeout};
use crate::policy::Policies;
use anyhow::{Context as _, Result};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::OnceCell;

const CONNECTION: &str = "Cluster connection (as kubectl)";
const CLUSTER_POLICIES: &str = "configmap openshift-image-registry/oc-registry-policies";

pub struct Context {
    pub connection: ConnectionArgs,
    pub policy: PolicyArgs,
    session: OnceCell<Session>,
    policies: OnceCell<Arc<Policies>>,
    unknown_noted: AtomicBool,
}

impl Context {
    pub fn new(connection: ConnectionArgs, policy: PolicyArgs) -> Context {
        Context {
            connection,
            policy,
            session: OnceCell::new(),
            policies: OnceCell::new(),
            unknown_noted: AtomicBool::new(false),
        }
    }

    /// The session, connected on first use.
    pub async fn session(&self) -> Result<&Session> {
        self.session
            .get_or_try_init(|| Session::connect(&self.connection))
            .await
    }

    /// The policies in effect (the cluster's and the local configuration), loaded on first use,
    /// for reading: when the cluster's configuration cannot be read, that is said and the local
    /// and built-in policies answer.
    pub async fn policies(&self) -> Result<&Arc<Policies>> {
        let policies = self.loaded_policies().await?;
        if let Some(why) = policies.cluster_unknown()
            && !self.unknown_noted.swap(true, Ordering::Relaxed)
        {
            eprintln!(
                "note: the cluster's policies are unknown ({CLUSTER_POLICIES} could not be read: {why}); \
                 only the local and built-in policies were consulted"
            );
        }
        Ok(policies)
    }

    /// The policies in effect, for a change they govern: a change is refused when the cluster's
    /// configuration cannot be learned, since it might refuse what the others allow.
    pub async fn policies_for_write(&self) -> Result<&Arc<Policies>> {
        let policies = self.loaded_policies().await?;
        match policies.cluster_unknown() {
            Some(why) => anyhow::bail!(
                "the cluster's policies could not be read ({CLUSTER_POLICIES}: {why}); nothing was written: \
                 changes must pass them, so retry once the cluster answers"
            ),
            None => Ok(policies),
        }
    }

    async fn loaded_policies(&self) -> Result<&Arc<Policies>> {
        self.policies
            .get_or_try_init(|| async {
                let (cluster, local) = super::policy::sources(self).await?;
                match cluster {
                    ClusterPolicy::Known(cluster) => Policies::load(cluster, local),
                    ClusterPolicy::Unknown(why) => Policies::load(None, local).map(|p| p.without_cluster(why)),
                }
                .map(Arc::new)
            })
            .await
    }
}

/// A connected client and where it points.
pub struct Session {
    pub client: kube::Client,
    pub access: Access,
}

impl Session {
    async fn connect(connection: &ConnectionArgs) -> Result<Self> {
        let access = connection.access_options().resolve().await?;
        let client = crate::cluster::connect(&access, connection.verbosity).context("building the API client")?;
        Ok(Session { client, access })
    }

    /// Phrases a kube error kubectl's way, naming this session's server.
    pub fn describe(&self, err: &kube::Error) -> String {
        describe_kube_error(err, &self.access.config.cluster_url.to_string())
    }
}

/// Where policy configuration comes from (see `policy list`).
#[derive(Debug, Clone, Default, Args)]
pub struct PolicyArgs {
    /// Policy configuration file (else $OC_REGISTRY_POLICY_CONFIG, else ~/.config/oc-registry/policies.yaml)
    #[arg(long, global = true, value_name = "FILE", help_heading = "Policies", hide = true)]
    pub policy_config: Option<PathBuf>,
}

/// kubectl's connection flags, accepted before or after the command.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectionArgs {
    /// Path to the kubeconfig file to use (only this file; KUBECONFIG is ignored)
    #[arg(long, global = true, value_name = "FILE", help_heading = CONNECTION, hide = true)]
    pub kubeconfig: Option<PathBuf>,

    /// The name of the kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME", help_heading = CONNECTION, hide = true)]
    pub context: Option<String>,

    /// The name of the kubeconfig cluster to use
    #[arg(long, global = true, value_name = "NAME", help_heading = CONNECTION, hide = true)]
    pub cluster: Option<String>,

    /// The name of the kubeconfig user to use
    #[arg(long, global = true, value_name = "NAME", help_heading = CONNECTION, hide = true)]
    pub user: Option<String>,

    /// The address and port of the Kubernetes API server
    #[arg(short = 's', long, global = true, value_name = "URL", help_heading = CONNECTION, hide = true)]
    pub server: Option<String>,

    /// Bearer token for authentication to the API server
    #[arg(long, global = true, value_name = "TOKEN", help_heading = CONNECTION, hide = true, hide_env_values = true)]
    pub token: Option<String>,

    /// If true, the server's certificate will not be checked for validity
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", help_heading = CONNECTION, hide = true)]
    pub insecure_skip_tls_verify: Option<bool>,

    /// How long to wait for a single server request (0 = no limit), e.g. 30s, 1m
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_timeout, help_heading = CONNECTION, hide = true)]
    pub request_timeout: Option<Duration>,

    /// The namespace for commands that act on one (defaults to the context's)
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE", help_heading = CONNECTION, hide = true)]
    pub namespace: Option<String>,

    /// Log level on standard error, as kubectl's: 6 shows each request (method, URL, status,
    /// time), 8 also its bodies, with every secret value masked
    #[arg(short = 'v', long = "v", global = true, value_name = "LEVEL", default_value_t = 0, help_heading = CONNECTION, hide = true)]
    pub verbosity: u8,
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
