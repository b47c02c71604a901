//! `reconcile --watch`: the continuous reconciler. A kube-runtime controller runs a pass on every
//! (debounced) change and at least every ten minutes while this replica leads through a Lease;
//! kube-runtime's finalizer helper tears the registry down before the Config goes; failed passes
//! are retried with backoff; SIGINT or SIGTERM finishes the pass in progress, gives the lease up
//! and exits 0.

use super::Session;
use super::reconcile::{ReconcileArgs, print_changes};
use crate::api::Config;
use crate::policy::Policies;
use crate::reconcile::apply::Applier;
use crate::reconcile::bootstrap::FINALIZER;
use crate::reconcile::engine::{Engine, Options, ReconcileError, Report};
use crate::reconcile::leader::Elector;
use crate::reconcile::watch::{Caches, RESYNC, controller};
use crate::state::cluster::with_base;
use anyhow::Result;
use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, StreamExt};
use kube::Api;
use kube::runtime::controller::{Action, Error as ControllerError};
use kube::runtime::finalizer::{Event, finalizer};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "oc-registry".into());
    format!("{}-{}", host.trim(), std::process::id())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn stamp() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Serves the admission webhook on every replica, leading or not, until `stop`.
async fn serve_webhook(
    session: &Session,
    args: &ReconcileArgs,
    address: &str,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    use crate::reconcile::admission::{self, Certificate};
    let certificate = Certificate::load_or_generate(args.webhook_cert.as_deref(), args.webhook_key.as_deref())?;
    if certificate.generated {
        admission::trust_in_configuration(&session.client, &certificate.chain_pem).await?;
    }
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("listening on {address}: {e}"))?;
    eprintln!(
        "{} serving the admission webhook on {}",
        stamp(),
        listener.local_addr()?
    );
    admission::serve(listener, &certificate, session.client.clone(), stop).await
}

/// Why a pass must be retried.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct PassFailed(String);

/// A pass asked of the worker, and where its outcome goes.
type PassRequest = oneshot::Sender<Result<Report, PassFailed>>;

/// What the controller's reconciles share. Passes themselves run one at a time on the worker
/// (`work`), which the reconciles queue them to.
struct Passes {
    queue: mpsc::UnboundedSender<PassRequest>,
    dry_run: bool,
    configs: Api<Config>,
    leading: watch::Receiver<bool>,
    backoff: Mutex<Duration>,
}

type Outcome = oneshot::Receiver<Result<Report, PassFailed>>;

impl Passes {
    /// Queues a pass; its report arrives on the receiver.
    fn queue(&self) -> Outcome {
        let (reply, report) = oneshot::channel();
        // A closed queue drops the reply: the receiver then reads as cancelled.
        let _ = self.queue.unbounded_send(reply);
        report
    }

    /// Queues a pass and waits for its report.
    async fn run(&self) -> Result<Report, PassFailed> {
        self.queue()
            .await
            .unwrap_or_else(|_| Err(PassFailed("the reconciler is stopping".into())))
    }
}

/// Runs the queued passes one after another until the queue closes; each report's changes
/// are printed.
async fn work(
    mut queue: mpsc::UnboundedReceiver<PassRequest>,
    applier: Applier,
    caches: Caches,
    policies: &Policies,
    options: Options,
    take_over: bool,
) {
    while let Some(reply) = queue.next().await {
        // Every read of a pass comes from the caches.
        let state = caches.ready().await;
        // The operator came back (the cluster version operator scaled it up): passes wait.
        let operator = state.operator_deployment().ok().flatten();
        if !take_over && let Some((ready, desired)) = operator.as_ref().and_then(crate::state::operator::ready) {
            let _ = reply.send(Err(PassFailed(format!(
                "the Image Registry Operator runs again ({ready}/{desired} ready): no pass until it is \
                 scaled down (or the reconciler is started with --take-over)"
            ))));
            continue;
        }
        let engine = Engine::new(applier.clone(), policies, options.clone());
        let outcome = match engine.reconcile_with(&state).await {
            Ok(report) => {
                if report.writes() > 0 || !report.problems.is_empty() {
                    println!("{} reconciled:", stamp());
                    if let Err(e) = print_changes(&report, None, options.dry_run, true) {
                        eprintln!("{} {e:#}", stamp());
                    }
                }
                Ok(report)
            }
            Err(ReconcileError::NeedsConfirmation(loss)) => {
                eprintln!(
                    "{} not removing storage: {} (start the reconciler with --yes to allow it)",
                    stamp(),
                    loss.description
                );
                Err(PassFailed("storage deletion not confirmed".into()))
            }
            Err(ReconcileError::Other(e)) => Err(PassFailed(format!("{e:#}"))),
        };
        let _ = reply.send(outcome);
    }
}

/// The controller's reconciler: a pass while this replica leads, through the finalizer helper
/// so that a deleted Config is torn down before it goes.
async fn reconcile(config: Arc<Config>, passes: Arc<Passes>) -> Result<Action, PassFailed> {
    if !*passes.leading.borrow() {
        return Ok(Action::await_change());
    }
    if passes.dry_run {
        // A dry run writes nothing, the finalizer included.
        passes.run().await?;
        return Ok(Action::requeue(RESYNC));
    }
    let pass = passes.clone();
    let action = finalizer(&passes.configs, FINALIZER, config, |event| async move {
        let report = pass.run().await?;
        match event {
            Event::Apply(_) => Ok(Action::requeue(RESYNC)),
            // The finalizer goes only once every object the registry owns is gone.
            Event::Cleanup(_) if report.converged => Ok(Action::await_change()),
            Event::Cleanup(_) => Err(PassFailed(format!(
                "the registry is not yet removed: {}",
                report.problems.join("; ")
            ))),
        }
    })
    .await
    .map_err(|e| PassFailed(e.to_string()))?;
    *passes.backoff.lock().expect("backoff") = FIRST_BACKOFF;
    Ok(action)
}

fn retry_later(_: Arc<Config>, error: &PassFailed, passes: Arc<Passes>) -> Action {
    let mut backoff = passes.backoff.lock().expect("backoff");
    eprintln!(
        "{} reconcile failed, retrying in {}s: {error}",
        stamp(),
        backoff.as_secs()
    );
    let wait = *backoff;
    *backoff = (wait * 2).min(MAX_BACKOFF);
    Action::requeue(wait)
}

pub async fn run(
    session: &Session,
    policies: Arc<Policies>,
    applier: Applier,
    mut options: Options,
    args: &ReconcileArgs,
) -> Result<ExitCode> {
    let identity = args.identity.clone().unwrap_or_else(default_identity);
    let elector = Elector::new(session.client.clone(), identity, args.lease_duration);
    let renew_every = (args.lease_duration / 3).max(Duration::from_millis(200));
    options.finalizer_removed_by_caller = true;
    let (leading_tx, leading) = watch::channel(false);
    let (queue, queued) = mpsc::unbounded();
    let passes = Arc::new(Passes {
        queue,
        dry_run: options.dry_run.is_some(),
        configs: Api::all(session.client.clone()),
        leading,
        backoff: Mutex::new(FIRST_BACKOFF),
    });
    let (caches, changes) = Caches::new(&session.client, with_base(&Engine::sources()));
    let worker = work(queued, applier, caches, &policies, options, args.take_over);
    // Leadership gained: every object is reconciled at once.
    let (lead_gained, lead_gained_rx) = mpsc::unbounded::<()>();
    let (stop, stopped) = oneshot::channel::<()>();
    let controller = controller(&session.client, changes)
        .reconcile_all_on(lead_gained_rx)
        .graceful_shutdown_on(stopped.map(|_| ()));
    let configs = controller.store();
    let controller = async {
        controller
            .run(reconcile, retry_later, passes.clone())
            .for_each(|result| async move {
                // Failed passes are reported by `retry_later`; watches are re-established with backoff.
                if let Err(e) = result
                    && !matches!(e, ControllerError::ReconcilerFailed(..))
                {
                    eprintln!("{} watch: {e}", stamp());
                }
            })
            .await;
        // Every reconcile has finished: no more passes.
        passes.queue.close_channel();
    };

    let leadership = async {
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        let mut leading = false;
        // A bootstrap queued and not yet done: the lease is renewed meanwhile, never blocked.
        let mut bootstrapping: Option<Outcome> = None;
        loop {
            match elector.try_lead().await {
                Ok(now_leading) => {
                    if now_leading && !leading {
                        eprintln!("{} leading as {}", stamp(), elector.identity());
                        let _ = leading_tx.send(true);
                        let _ = lead_gained.unbounded_send(());
                    } else if !now_leading && leading {
                        eprintln!("{} lost the lease; standing by", stamp());
                        let _ = leading_tx.send(false);
                    }
                    leading = now_leading;
                }
                Err(e) => {
                    // Without a renewed lease this replica must not act on a stale one.
                    eprintln!("{} lease: {}", stamp(), session.describe(&e));
                    leading = false;
                    let _ = leading_tx.send(false);
                }
            }
            // No Config to control (a new cluster, or one whose Config was deleted): the
            // leader bootstraps one, as the operator does, and the controller takes it from there.
            if let Some(outcome) = &mut bootstrapping
                && !matches!(outcome.try_recv(), Ok(None))
            {
                bootstrapping = None;
            }
            if leading
                && bootstrapping.is_none()
                && configs.wait_until_ready().now_or_never().is_some()
                && configs.state().is_empty()
            {
                bootstrapping = Some(passes.queue());
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(renew_every) => {}
            }
        }
        let _ = leading_tx.send(false);
        let _ = stop.send(());
    };
    let webhook = async {
        let Some(address) = &args.webhook_listen else {
            return Ok(());
        };
        serve_webhook(session, args, address, shutdown_signal()).await
    };
    let (_, _, _, webhook) = tokio::join!(controller, worker, leadership, webhook);
    if let Err(e) = webhook {
        eprintln!("{} webhook: {e:#}", stamp());
    }
    elector.release().await;
    eprintln!("{} stopped", stamp());
    Ok(ExitCode::SUCCESS)
}
