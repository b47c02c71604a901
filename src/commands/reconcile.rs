//! `reconcile` and `bootstrap`: run the engine once (or continuously with `--watch`), print what
//! happened as kubectl apply prints it, optionally wait for the rollout.

use super::{Failure, Session, dry_run_suffix};
use crate::cluster::DryRun;
use crate::commands::Context;
use crate::commands::output::{self, Format};
use crate::policy::Policies;
use crate::reconcile::apply::{Applier, Outcome};
use crate::reconcile::bootstrap::bootstrap;
use crate::reconcile::engine::{Engine, Options, ReconcileError, Report};
use crate::reconcile::teardown::StorageLoss;
use crate::render::inputs::Images;
use crate::state::cluster::ClusterState;
use crate::validate::printable;
use anyhow::Result;
use clap::{Args, ValueEnum};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Exit status: the registry could not be reconciled completely (status says what is missing).
pub(crate) const EXIT_INCOMPLETE: u8 = 2;
/// Exit status: `--wait` saw the rollout fail.
pub(crate) const EXIT_ROLLOUT_FAILED: u8 = 3;
/// Exit status: `--wait` timed out.
pub(crate) const EXIT_TIMEOUT: u8 = 4;
/// Exit status: removing the registry would delete storage, and that was not confirmed.
pub(crate) const EXIT_NOT_CONFIRMED: u8 = 5;
/// Exit status: the Image Registry Operator runs, and taking over from it was not asked for.
pub(crate) const EXIT_OPERATOR_RUNS: u8 = 6;

/// kubectl's `--dry-run` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DryRunFlag {
    None,
    Client,
    Server,
}

impl DryRunFlag {
    pub fn mode(self) -> Option<DryRun> {
        match self {
            DryRunFlag::None => None,
            DryRunFlag::Client => Some(DryRun::Client),
            DryRunFlag::Server => Some(DryRun::Server),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    /// Registry image (default: the release's, from the cluster-image-registry-operator Deployment)
    #[arg(long, value_name = "IMAGE")]
    pub registry_image: Option<String>,
    /// Pruner image, the release's `cx` image (default: the release's, as above)
    #[arg(long, value_name = "IMAGE")]
    pub pruner_image: Option<String>,
    /// Operator image, which node-ca runs to carry trusted CAs to the nodes (default: the
    /// release's, as above)
    #[arg(long, value_name = "IMAGE")]
    pub operator_image: Option<String>,
}

impl ImageArgs {
    pub fn images(&self) -> Images {
        Images {
            registry: self.registry_image.clone(),
            pruner: self.pruner_image.clone(),
            operator: self.operator_image.clone(),
            release_version: None,
        }
    }
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Show what would change without changing it: "client" compares with the cluster, "server"
    /// also has the server validate every write without storing it
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: Option<DryRunFlag>,

    /// Confirm deleting Managed storage when the registry is Removed (data loss)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Reconcile even while the Image Registry Operator runs: both then write the same objects,
    /// each undoing what the other changed
    #[arg(long)]
    pub take_over: bool,

    /// Wait until the registry's rollout completes (or fails, or --timeout passes)
    #[arg(long)]
    pub wait: bool,

    /// How long --wait waits, e.g. 90s, 5m
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Keep reconciling: on every change to the Config, ImagePruner, Infrastructure, Image and
    /// Proxy config, the registry's Secrets and ConfigMaps and the objects it owns; one replica
    /// at a time leads (a Lease in openshift-image-registry); stops on SIGINT or SIGTERM
    #[arg(long, conflicts_with_all = ["wait", "output"])]
    pub watch: bool,

    /// This replica's name in the leader election (default: host name and process id)
    #[arg(long, value_name = "NAME", requires = "watch")]
    pub identity: Option<String>,

    /// Also serve the validating admission webhook on this address (HOST:PORT), so the cluster's
    /// admission modules judge every write of the Config and the ImagePruner
    #[arg(long, value_name = "ADDRESS", requires = "watch")]
    pub webhook_listen: Option<String>,

    /// The webhook's serving certificate and key (PEM), as the service CA issues them; when
    /// absent, one is made and trusted in the webhook configuration
    #[arg(long, value_name = "FILE", requires = "webhook_listen")]
    pub webhook_cert: Option<PathBuf>,

    #[arg(long, value_name = "FILE", requires = "webhook_listen")]
    pub webhook_key: Option<PathBuf>,

    /// How long a leader's lease lasts without renewal
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration, hide = true)]
    pub lease_duration: Duration,

    #[command(flatten)]
    pub images: ImageArgs,

    /// Output format: json, yaml, name (each object applied, as kubectl apply -o name) or
    /// jsonpath=TEMPLATE; kubectl apply's lines when omitted
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,

    /// Writes in flight at once
    #[arg(long, default_value_t = crate::reconcile::apply::DEFAULT_CONCURRENCY, hide = true)]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Show what would be created without creating it
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: Option<DryRunFlag>,

    /// Print the objects created (with --dry-run, that would be created) instead of a summary:
    /// yaml, json, name or jsonpath=TEMPLATE
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::cluster::parse_request_timeout(s).map_err(|e| e.to_string())
}

/// The session, the policies in effect and an applier in `mode`.
async fn connect(cx: &Context, mode: Option<DryRun>) -> Result<(&Session, &Arc<Policies>, Applier)> {
    let session = cx.session().await?;
    // What a pass writes (and a dry run shows) is decided and admitted by the policies.
    let policies = cx.policies_for_write().await?;
    Ok((session, policies, applier(session, mode)))
}

/// An applier in `mode` on `session`'s cluster.
fn applier(session: &Session, mode: Option<DryRun>) -> Applier {
    let server = session.access.config.cluster_url.to_string();
    Applier::new(session.client.clone(), mode, server)
}

pub async fn run_bootstrap(cx: &Context, args: &BootstrapArgs) -> Result<ExitCode> {
    let mode = args.dry_run.and_then(DryRunFlag::mode);
    let (_, policies, applier) = connect(cx, mode).await?;
    let state = ClusterState::read(applier.client(), &Engine::sources()).await?;
    let (booted, objects) = bootstrap(&applier, policies, &state).await?;
    if let Some(format) = Format::machine(args.output.as_ref()) {
        // As kubectl create -o: the objects, as created (or as they would be).
        let shown: Vec<_> = objects.iter().map(output::shown).collect();
        print!("{}", output::render_list(&shown, format)?);
        return Ok(ExitCode::SUCCESS);
    }
    let suffix = dry_run_suffix(mode);
    if booted.config_created {
        let storage = crate::policy::sdk::storage_driver(&booted.storage).unwrap_or("none");
        println!(
            "config.imageregistry.operator.openshift.io/cluster created{suffix}: {}, storage {storage}, {} replica{} (decided by {})",
            booted.management_state,
            booted.replicas,
            if booted.replicas == 1 { "" } else { "s" },
            booted.decided_by
        );
    } else {
        println!(
            "config.imageregistry.operator.openshift.io/cluster unchanged: it exists ({})",
            booted.management_state
        );
    }
    if let Some(claim) = &booted.claim_created {
        println!("persistentvolumeclaim/{claim} created{suffix}");
    }
    if booted.pruner_created {
        println!("imagepruner.imageregistry.operator.openshift.io/cluster created{suffix}");
    }
    for m in &booted.missing {
        let fix = super::naming::as_invoked(&m.command);
        println!("missing: {}\n  fix: {}", printable(&m.message), printable(&fix));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run(cx: &Context, args: &ReconcileArgs) -> Result<ExitCode> {
    let mode = args.dry_run.and_then(DryRunFlag::mode);
    let session = cx.session().await?;
    // The policies and everything a pass reads, at once.
    let read = async {
        if args.watch {
            Ok(None)
        } else {
            ClusterState::read(&session.client, &Engine::sources()).await.map(Some)
        }
    };
    let (policies, state) = tokio::try_join!(cx.policies_for_write(), read)?;
    let applier = applier(session, mode).with_concurrency(args.concurrency);
    let mut options = Options {
        dry_run: mode,
        storage_deletion_confirmed: args.yes,
        images: args.images.images(),
        finalizer_removed_by_caller: false,
    };
    let Some(state) = state else {
        if !args.take_over
            && let Some((ready, desired)) = operator_running(session).await?
        {
            return Err(operator_runs(ready, desired).into());
        }
        return super::watch::run(session, policies.clone(), applier, options, args).await;
    };
    let operator = state.operator_deployment()?;
    if !args.take_over
        && let Some((ready, desired)) = operator.as_ref().and_then(crate::state::operator::ready)
    {
        return Err(operator_runs(ready, desired).into());
    }
    let report = loop {
        let engine = Engine::new(applier.clone(), policies, options.clone());
        match engine.reconcile_with(&state).await {
            Ok(report) => break report,
            Err(ReconcileError::NeedsConfirmation(loss)) => {
                if confirm_interactively(&loss)? {
                    options.storage_deletion_confirmed = true;
                    continue;
                }
                return Err(not_confirmed(&loss).into());
            }
            Err(ReconcileError::Other(e)) => return Err(e),
        }
    };
    print_report(&report, args.output.as_ref(), mode)?;
    if !report.converged {
        return Ok(ExitCode::from(EXIT_INCOMPLETE));
    }
    if args.wait && mode.is_none() && report.management_state == "Managed" {
        let quiet = Format::machine(args.output.as_ref()).is_some();
        let code = super::rollout::rollout(session, args.timeout, quiet).await?;
        // Once more, so that the status written describes the finished rollout.
        let after = Engine::new(applier.clone(), policies, options.clone())
            .reconcile()
            .await;
        if let (Ok(after), None) = (after, Format::machine(args.output.as_ref())) {
            print_summary(&after);
        }
        return Ok(ExitCode::from(code));
    }
    Ok(ExitCode::SUCCESS)
}

/// The operator's ready and desired replicas, while it runs.
pub(crate) async fn operator_running(session: &Session) -> Result<Option<(i32, i32)>> {
    crate::state::operator::running(&session.client).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot tell whether the Image Registry Operator runs: {}",
            session.describe(&e)
        )
    })
}

/// Why `reconcile` does not start beside the operator, how to stop it, and how to hand back.
pub(crate) fn operator_runs(ready: i32, desired: i32) -> Failure {
    Failure {
        message: format!(
            "the Image Registry Operator runs (deployment/cluster-image-registry-operator in openshift-image-registry, \
             {ready}/{desired} ready) and reconciles the registry itself: both writing the same objects would undo \
             each other's changes.\n\
             To make oc-registry the registry's reconciler, stop the operator, then run this again:\n  \
             oc patch clusterversion version --type=merge -p \
             '{{\"spec\":{{\"overrides\":[{OVERRIDE}]}}}}'\n  \
             oc scale deployment/cluster-image-registry-operator -n openshift-image-registry --replicas=0\n\
             (the override keeps the cluster version operator from scaling it back up; the patch replaces \
             spec.overrides, so add any you have to the list.)\n\
             To hand the registry back: stop oc-registry, remove that override, and the cluster version operator \
             starts the operator again, which takes the objects as they are.\n\
             To reconcile beside the running operator anyway, run again with --take-over."
        ),
        code: EXIT_OPERATOR_RUNS,
    }
}

/// The ClusterVersion override that leaves the operator's Deployment to the user.
const OVERRIDE: &str = r#"{"kind":"Deployment","group":"apps","namespace":"openshift-image-registry","name":"cluster-image-registry-operator","unmanaged":true}"#;

fn not_confirmed(loss: &StorageLoss) -> Failure {
    Failure {
        message: format!(
            "refusing to remove the registry: {}.\n\
             Run again with --yes to delete it, or keep the data by making the storage Unmanaged first:\n  \
             oc-registry set storage-management-state Unmanaged",
            loss.description
        ),
        code: EXIT_NOT_CONFIRMED,
    }
}

/// Asks on the terminal; never when input or output is not one.
fn confirm_interactively(loss: &StorageLoss) -> Result<bool> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Ok(false);
    }
    let mut err = std::io::stderr();
    write!(
        err,
        "The registry is Removed and its storage is Managed: {}.\nType \"yes\" to delete it: ",
        loss.description
    )?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

pub(crate) fn print_report(report: &Report, format: Option<&Format>, mode: Option<DryRun>) -> Result<()> {
    print_changes(report, format, mode, false)
}

/// Prints what a pass did; `writes_only` leaves out what was already as rendered.
pub(crate) fn print_changes(
    report: &Report,
    format: Option<&Format>,
    mode: Option<DryRun>,
    writes_only: bool,
) -> Result<()> {
    if let Some(format) = Format::machine(format) {
        // As kubectl apply -o name: every object the pass applied or deleted.
        let names: Vec<String> = report
            .objects
            .iter()
            .filter(|a| !matches!(a.outcome, None | Some(Outcome::NotFound)))
            .map(|a| a.object.clone())
            .collect();
        print!("{}", output::render_objects(report, format, &names)?);
        return Ok(());
    }
    let suffix = dry_run_suffix(mode);
    if let Some(b) = &report.bootstrap {
        if b.config_created {
            println!("config.imageregistry.operator.openshift.io/cluster created{suffix}");
        }
        if let Some(claim) = &b.claim_created {
            println!("persistentvolumeclaim/{claim} created{suffix}");
        }
        if b.pruner_created {
            println!("imagepruner.imageregistry.operator.openshift.io/cluster created{suffix}");
        }
    }
    if !report.completed.is_empty() {
        println!(
            "config.imageregistry.operator.openshift.io/cluster configured{suffix}: set {}",
            report.completed.join(", ")
        );
    }
    for applied in &report.objects {
        match applied.outcome {
            // Absent and meant to be: nothing to say.
            Some(Outcome::NotFound) | None => {}
            Some(Outcome::Unchanged) if writes_only => {}
            Some(outcome) => println!("{} {}{suffix}", applied.object, outcome.verb()),
        }
    }
    for problem in &report.problems {
        let problem = super::naming::as_invoked(problem);
        super::style::eprint_line(&format!("error: {}", printable(&problem)));
    }
    if let Some(note) = &report.storage_note {
        eprintln!("note: {}", printable(&super::naming::as_invoked(note)));
    }
    print_summary(report);
    Ok(())
}

/// One line: the management state and the registry's three main conditions.
fn print_summary(report: &Report) {
    let summary: Vec<String> = report
        .conditions
        .iter()
        .filter(|c| matches!(c.type_.as_str(), "Available" | "Progressing" | "Degraded"))
        .map(|c| match c.reason.as_deref().filter(|r| !r.is_empty()) {
            Some(reason) => format!("{}={} ({reason})", c.type_, c.status),
            None => format!("{}={}", c.type_, c.status),
        })
        .collect();
    if !summary.is_empty() {
        println!(
            "registry {}: {}",
            report.management_state,
            printable(&summary.join(", "))
        );
    }
}
