//! `set …`: one command per setting of the registry Config. Each changes only its own fields;
//! the checks, the admission policies and the safe write are shared (`change`).

use super::Failure;
use super::change::{self, Target, WriteArgs};
use crate::api::{CLUSTER, Config, ConfigSpec, LogLevel, ManagementState, ProxySettings, RolloutStrategy};
use crate::commands::Context;
use crate::configure::pod;
use crate::reconcile::teardown::storage_loss;
use crate::validate::printable;
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

/// Exit status when removing the registry would delete storage and that was not confirmed.
pub(crate) const EXIT_NOT_CONFIRMED: u8 = 5;

#[derive(Debug, Subcommand)]
pub enum SetCommand {
    /// Managed (run the registry), Removed (remove it) or Unmanaged (leave it alone)
    #[command(
        long_about = "Set spec.managementState. Managed: the registry is run and kept as configured. \
        Removed: every registry object is deleted, and storage the registry manages with it. Unmanaged: \
        nothing is changed, only status is reported.\n\n\
        Setting Removed while the storage is Managed (a claim or emptyDir the registry created) deletes \
        every image at the next reconcile: it needs --yes or a typed confirmation, else exits 5 with \
        nothing written. To keep the images, make the storage Unmanaged first: \
        `oc-registry set storage-management-state Unmanaged`."
    )]
    ManagementState(ManagementStateArgs),
    /// The registry's log level: Normal, Debug, Trace or TraceAll
    LogLevel(EnumArgs<LogLevel>),
    /// The deprecated numeric log level (used only while the log level is Normal)
    #[command(
        long_about = "Set spec.logging, the deprecated numeric log level: 1 warn, 0, 2 or 3 info, \
        anything higher debug. The registry reads it only while spec.logLevel is Normal; prefer \
        `oc-registry set log-level`."
    )]
    Logging(LoggingArgs),
    /// Refuse pushes and deletions (true) or accept them (false)
    ReadOnly(BoolArgs),
    /// Serve blobs through the registry instead of redirecting clients to the storage
    DisableRedirect(BoolArgs),
    /// How many registry pods run
    Replicas(ReplicasArgs),
    /// How the registry's pods are replaced: RollingUpdate or Recreate
    RolloutStrategy(EnumArgs<RolloutStrategy>),
    /// Whether the default route (re-encrypting, default hostname) exists
    #[command(
        long_about = "Set spec.defaultRoute: the route default-route with the cluster's default \
        hostname and re-encrypt TLS. The same as \
        oc patch configs.imageregistry.operator.openshift.io/cluster --type merge -p '{\"spec\":{\"defaultRoute\":true}}'."
    )]
    DefaultRoute(BoolArgs),
    /// The proxies the registry uses for upstream registries and the API (else the cluster's)
    #[command(
        long_about = "Set spec.proxy. Each of http, https and noProxy falls back on its own to the \
        cluster proxy (proxies.config.openshift.io/cluster) when unset. An empty value unsets it; --clear \
        unsets all three."
    )]
    Proxy(ProxyArgs),
    /// Limits on parallel read or write requests per registry pod
    #[command(
        long_about = "Set spec.requests.read or spec.requests.write: how many requests of that kind \
        a registry pod runs at once (max-running), how many more wait (max-in-queue), and for how long \
        (max-wait-in-queue, a duration such as 30s or 1m). 0 means no limit."
    )]
    Requests(RequestsArgs),
    /// Labels the nodes running the registry must have (KEY=VALUE to set, KEY- to remove)
    #[command(
        long_about = "Set spec.nodeSelector: KEY=VALUE sets a label, KEY- removes one, --clear \
        removes all. kubernetes.io/os=linux is added unless set. Any selector drops the default zone \
        spreading of the registry's pods."
    )]
    NodeSelector(SelectorArgs),
    /// Taints the registry's pods tolerate (KEY[=VALUE][:EFFECT[:SECONDS]] to add, KEY- to remove)
    Tolerations(TolerationArgs),
    /// CPU and memory requests and limits of the registry's pods
    #[command(
        long_about = "Set spec.resources, replacing the default requests (cpu 100m, memory 256Mi) \
        wholesale. --clear goes back to the default."
    )]
    Resources(ResourcesArgs),
    /// Whether the registry owns its storage (Managed: deleted when Removed) or not (Unmanaged)
    StorageManagementState(EnumArgs<StorageManagement>),
    /// The log level of the operator (or reconciler) managing the registry
    OperatorLogLevel(EnumArgs<LogLevel>),
    /// How the registry's pods spread over zones or nodes (KEY[:MAX-SKEW[:WHEN]] to spread, KEY- to stop)
    #[command(
        long_about = "Set spec.topologySpreadConstraints: each KEY[:MAX-SKEW[:WHEN-UNSATISFIABLE]]         spreads the registry's pods over the values of the node label KEY, at most MAX-SKEW (default 1)         more pods on one value than on another, refusing to schedule otherwise (DoNotSchedule, the         default) or not (ScheduleAnyway). KEY- removes that rule; --clear removes every rule, which         brings back the default spreading over zones and nodes."
    )]
    TopologySpread(SpreadArgs),
    /// Where the registry's pods run relative to nodes and each other (spec.affinity)
    #[command(
        long_about = "Set spec.affinity: --anti-affinity keeps the registry's pods on different nodes         (required: never two on one node; preferred: when the scheduler can); -f sets any affinity         from a YAML or JSON file (see kubectl explain pod.spec.affinity); --clear removes it."
    )]
    Affinity(AffinityArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum StorageManagement {
    Managed,
    Unmanaged,
}

impl From<StorageManagement> for ManagementState {
    fn from(value: StorageManagement) -> Self {
        match value {
            StorageManagement::Managed => ManagementState::Managed,
            StorageManagement::Unmanaged => ManagementState::Unmanaged,
        }
    }
}

/// The API's enumerations as command-line values: the values the API knows, never `Other`.
macro_rules! value_enum {
    ($($t:ident),+) => {$(
        impl ValueEnum for $t {
            fn value_variants<'a>() -> &'a [Self] {
                $t::KNOWN
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                match self {
                    $t::Other(_) => None,
                    known => Some(clap::builder::PossibleValue::new(known.as_str().to_string())),
                }
            }
        }
    )+};
}

value_enum!(ManagementState, LogLevel, RolloutStrategy);

#[derive(Debug, Args)]
pub struct ManagementStateArgs {
    #[arg(value_enum, ignore_case = true)]
    pub state: ManagementState,
    /// Confirm that Removed deletes the registry's Managed storage and every image on it
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct EnumArgs<T: ValueEnum + Clone + Send + Sync + 'static> {
    #[arg(value_enum, ignore_case = true)]
    pub value: T,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct BoolArgs {
    /// true or false
    #[arg(action = clap::ArgAction::Set, value_parser = clap::builder::BoolValueParser::new())]
    pub enabled: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct LoggingArgs {
    #[arg(value_name = "LEVEL", allow_negative_numbers = true)]
    pub level: i64,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct ReplicasArgs {
    #[arg(value_name = "COUNT", allow_negative_numbers = true)]
    pub replicas: i32,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("proxy").required(true).multiple(true))]
pub struct ProxyArgs {
    /// Proxy for HTTP requests, http://HOST:PORT ("" to unset)
    #[arg(long, value_name = "URL", group = "proxy")]
    pub http: Option<String>,
    /// Proxy for HTTPS requests, http://HOST:PORT ("" to unset)
    #[arg(long, value_name = "URL", group = "proxy")]
    pub https: Option<String>,
    /// Comma-separated hosts, domains and CIDRs reached without a proxy ("" to unset)
    #[arg(long, value_name = "LIST", group = "proxy")]
    pub no_proxy: Option<String>,
    /// Unset all three (use the cluster proxy)
    #[arg(long, group = "proxy", conflicts_with_all = ["http", "https", "no_proxy"])]
    pub clear: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RequestKind {
    Read,
    Write,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("limits").required(true).multiple(true))]
pub struct RequestsArgs {
    #[arg(value_enum)]
    pub kind: RequestKind,
    /// Requests a pod runs at once (0: no limit)
    #[arg(long, value_name = "N", group = "limits", allow_negative_numbers = true)]
    pub max_running: Option<i64>,
    /// Requests that wait when max-running are running (0: no limit)
    #[arg(long, value_name = "N", group = "limits", allow_negative_numbers = true)]
    pub max_in_queue: Option<i64>,
    /// How long a request waits before it is refused, e.g. 30s, 1m
    #[arg(long, value_name = "DURATION", group = "limits")]
    pub max_wait_in_queue: Option<String>,
    /// Remove the limits of this kind
    #[arg(long, group = "limits", conflicts_with_all = ["max_running", "max_in_queue", "max_wait_in_queue"])]
    pub clear: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct SelectorArgs {
    /// KEY=VALUE to set, KEY- to remove
    #[arg(value_name = "KEY=VALUE|KEY-", required_unless_present = "clear")]
    pub labels: Vec<String>,
    /// Remove every label
    #[arg(long, conflicts_with = "labels")]
    pub clear: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct TolerationArgs {
    /// KEY[=VALUE][:EFFECT[:SECONDS]] to add (no VALUE: any value), KEY- to remove
    #[arg(value_name = "TOLERATION", required_unless_present = "clear")]
    pub tolerations: Vec<String>,
    /// Remove every toleration
    #[arg(long, conflicts_with = "tolerations")]
    pub clear: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct SpreadArgs {
    /// KEY[:MAX-SKEW[:DoNotSchedule|ScheduleAnyway]] to spread over the node label KEY, KEY- to stop
    #[arg(value_name = "RULE", required_unless_present = "clear")]
    pub rules: Vec<String>,
    /// Remove every rule (back to the default spreading)
    #[arg(long, conflicts_with = "rules")]
    pub clear: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("affinity").required(true))]
pub struct AffinityArgs {
    /// Keep the registry's pods on different nodes
    #[arg(long, value_enum, value_name = "HOW", group = "affinity")]
    pub anti_affinity: Option<pod::AntiAffinity>,
    /// A file holding the affinity (YAML or JSON; - reads standard input)
    #[arg(short = 'f', long = "filename", value_name = "FILE", group = "affinity")]
    pub file: Option<std::path::PathBuf>,
    /// Remove the affinity
    #[arg(long, group = "affinity")]
    pub clear: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("resources").required(true).multiple(true))]
pub struct ResourcesArgs {
    /// Requests, e.g. cpu=100m,memory=256Mi
    #[arg(long, value_name = "LIST", group = "resources")]
    pub requests: Option<String>,
    /// Limits, e.g. cpu=1,memory=1Gi
    #[arg(long, value_name = "LIST", group = "resources")]
    pub limits: Option<String>,
    /// Go back to the default requests
    #[arg(long, group = "resources", conflicts_with_all = ["requests", "limits"])]
    pub clear: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

pub async fn run(cx: &Context, command: &SetCommand) -> Result<ExitCode> {
    use SetCommand::*;
    match command {
        ManagementState(args) => management_state(cx, args).await,
        LogLevel(a) => set(cx, &a.write, |s| s.log_level = Some(a.value.clone())).await,
        Logging(a) => set(cx, &a.write, |s| s.logging = Some(a.level)).await,
        ReadOnly(a) => set(cx, &a.write, |s| s.read_only = Some(a.enabled)).await,
        DisableRedirect(a) => set(cx, &a.write, |s| s.disable_redirect = Some(a.enabled)).await,
        Replicas(a) => set(cx, &a.write, |s| s.replicas = a.replicas).await,
        RolloutStrategy(a) => set(cx, &a.write, |s| s.rollout_strategy = Some(a.value.clone())).await,
        DefaultRoute(a) => set(cx, &a.write, |s| s.default_route = Some(a.enabled)).await,
        StorageManagementState(a) => {
            set(cx, &a.write, |s| {
                s.storage.get_or_insert_default().management_state = Some(a.value.into());
            })
            .await
        }
        Proxy(a) => {
            set(cx, &a.write, |s| {
                let proxy = s.proxy.get_or_insert_default();
                for (field, given) in [
                    (&mut proxy.http, &a.http),
                    (&mut proxy.https, &a.https),
                    (&mut proxy.no_proxy, &a.no_proxy),
                ] {
                    if a.clear {
                        *field = None;
                    } else {
                        pod::set_text(field, given);
                    }
                }
                if s.proxy.as_ref().is_some_and(|p| *p == ProxySettings::default()) {
                    s.proxy = None;
                }
            })
            .await
        }
        Requests(a) => {
            let kind = match a.kind {
                RequestKind::Read => "read",
                RequestKind::Write => "write",
            };
            if let Some(w) = &a.max_wait_in_queue {
                crate::validate::go_duration(w)
                    .map_err(|e| super::invalid(format!("spec.requests.{kind}.maxWaitInQueue: {e}")))?;
            }
            set(cx, &a.write, |s| {
                let requests = s.requests.get_or_insert_default();
                let limits = match a.kind {
                    RequestKind::Read => &mut requests.read,
                    RequestKind::Write => &mut requests.write,
                };
                if a.clear {
                    *limits = None;
                }
                if a.max_running.is_some() || a.max_in_queue.is_some() || a.max_wait_in_queue.is_some() {
                    let limits = limits.get_or_insert_default();
                    limits.max_running = a.max_running.or(limits.max_running);
                    limits.max_in_queue = a.max_in_queue.or(limits.max_in_queue);
                    limits.max_wait_in_queue = a.max_wait_in_queue.clone().or(limits.max_wait_in_queue.take());
                }
                if s.requests
                    .as_ref()
                    .is_some_and(|r| *r == crate::api::Requests::default())
                {
                    s.requests = None;
                }
            })
            .await
        }
        NodeSelector(a) => {
            let field = "spec.nodeSelector";
            // The arguments themselves are checked before connecting.
            pod::node_selector(None, &a.labels, field).map_err(super::invalid)?;
            change::config(cx, &a.write, |s| {
                let current = if a.clear { None } else { s.node_selector.as_ref() };
                s.node_selector = pod::node_selector(current, &a.labels, field)?;
                Ok(())
            })
            .await
        }
        Tolerations(a) => {
            let field = "spec.tolerations";
            pod::tolerations(None, &a.tolerations, field).map_err(super::invalid)?;
            change::config(cx, &a.write, |s| {
                let current = if a.clear { None } else { s.tolerations.as_ref() };
                s.tolerations = pod::tolerations(current, &a.tolerations, field)?;
                Ok(())
            })
            .await
        }
        OperatorLogLevel(a) => set(cx, &a.write, |s| s.operator_log_level = Some(a.value.clone())).await,
        TopologySpread(a) => {
            let field = "spec.topologySpreadConstraints";
            pod::topology_spread(None, &a.rules, field).map_err(super::invalid)?;
            change::config(cx, &a.write, |s| {
                let current = if a.clear {
                    None
                } else {
                    s.topology_spread_constraints.as_ref()
                };
                s.topology_spread_constraints = pod::topology_spread(current, &a.rules, field)?;
                Ok(())
            })
            .await
        }
        Affinity(a) => {
            let field = "spec.affinity";
            let affinity = match (&a.anti_affinity, &a.file) {
                (Some(how), _) => Some(pod::anti_affinity(*how)),
                (None, Some(file)) => Some(pod::affinity_from(&read_file(file)?, field).map_err(super::invalid)?),
                (None, None) => None,
            };
            set(cx, &a.write, |s| s.affinity = affinity.clone()).await
        }
        Resources(a) => {
            let (requests, limits) =
                pod::requirements(a.requests.as_deref(), a.limits.as_deref()).map_err(super::invalid)?;
            set(cx, &a.write, |s| {
                if a.clear {
                    s.resources = None;
                }
                pod::set_requirements(&mut s.resources, &requests, &limits);
            })
            .await
        }
    }
}

/// A file's text (`-`: standard input).
fn read_file(file: &std::path::Path) -> Result<String> {
    use anyhow::Context as _;
    if file.as_os_str() == "-" {
        return std::io::read_to_string(std::io::stdin()).context("reading standard input");
    }
    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
}

/// A change to the Config that cannot fail on the object it is made on.
async fn set(cx: &Context, dry_run: &WriteArgs, mut edit: impl FnMut(&mut ConfigSpec)) -> Result<ExitCode> {
    change::config(cx, dry_run, |spec| {
        edit(spec);
        Ok(())
    })
    .await
}

/// `set management-state`: Removed with Managed storage destroys every image, so it is confirmed.
async fn management_state(cx: &Context, args: &ManagementStateArgs) -> Result<ExitCode> {
    let state = args.state.clone();
    let session = cx.session().await?;
    if args.state == ManagementState::Removed {
        let configs = kube::Api::<Config>::all(session.client.clone());
        let current = configs
            .get_opt(CLUSTER)
            .await
            .map_err(|e| anyhow::anyhow!(session.describe(&e)))?;
        let already =
            current.as_ref().and_then(|c| c.spec.management_state.as_ref()) == Some(&ManagementState::Removed);
        let claim = match current.as_ref().filter(|_| !already) {
            Some(config) => crate::reconcile::teardown::read_claim(&session.client, config)
                .await
                .map_err(|e| anyhow::anyhow!(session.describe(&e)))?,
            None => None,
        };
        // Whoever will act on it: oc-registry deletes claims it created; a running operator
        // also deletes Managed cloud storage.
        let operator = crate::state::operator::running(&session.client)
            .await
            .map_err(|e| anyhow::anyhow!(session.describe(&e)))?;
        let loss = match current
            .as_ref()
            .filter(|_| !already)
            .map(|config| (config, storage_loss(config, claim.as_ref())))
        {
            Some((_, Ok(Some(loss)))) => Some(match operator {
                Some((ready, desired)) => format!(
                    "{} by the running Image Registry Operator ({ready}/{desired} ready)",
                    loss.description
                ),
                None => loss.description,
            }),
            Some((config, Err(note))) => match (operator, cloud_storage(config)) {
                (Some((ready, desired)), Some(storage)) => Some(format!(
                    "the running Image Registry Operator ({ready}/{desired} ready) deletes the Managed {storage} and \
                     every image in it"
                )),
                _ => {
                    eprintln!("Warning: {}", printable(&super::naming::as_invoked(&note)));
                    None
                }
            },
            _ => None,
        };
        if let Some(loss) = loss
            && !args.yes
            && !confirm(&loss)?
        {
            return Err(Failure {
                message: format!(
                    "refusing to set Removed: {loss}.\nRun again with --yes to accept that, or keep the images by \
                     making the storage Unmanaged first:\n  oc-registry set storage-management-state Unmanaged"
                ),
                code: EXIT_NOT_CONFIRMED,
            }
            .into());
        }
    }
    let edited = change::apply_config(cx, session, args.write.mode(), |spec| {
        spec.management_state = Some(state.clone());
        Ok(())
    })
    .await?;
    change::report(session, Target::Config, &args.write, &edited).await?;
    Ok(ExitCode::SUCCESS)
}

/// The Managed cloud storage a Removed registry would leave, named: `s3 storage (bucket b, …)`.
fn cloud_storage(config: &Config) -> Option<String> {
    if crate::reconcile::teardown::claim_to_remove(config).is_some() {
        return None;
    }
    let storage = config.status.as_ref().map(|s| s.storage.clone()).unwrap_or_default();
    let driver = crate::storage::driver_of(&storage)?;
    let at: Vec<String> = driver
        .location(&storage)
        .into_iter()
        .map(|(k, v)| format!("{k} {}", printable(&v)))
        .collect();
    Some(format!("{} storage ({})", driver.command_name(), at.join(", ")))
}

/// Asks on the terminal; never when input or output is not one.
pub fn confirm(loss: &str) -> Result<bool> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Ok(false);
    }
    let mut err = std::io::stderr();
    write!(
        err,
        "The registry's storage is Managed: {loss}.\nType \"yes\" to go on: "
    )?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}
