//! `reconcile --watch`: the continuous reconciler. Leads through a Lease, runs a pass on every
//! (debounced) change and periodically, retries failed passes with backoff, and on SIGINT or
//! SIGTERM finishes the pass in progress, gives the lease up and exits 0.

use super::Session;
use super::reconcile::{ReconcileArgs, print_changes};
use crate::policy::Policies;
use crate::reconcile::apply::Applier;
use crate::reconcile::engine::{Engine, Options, ReconcileError};
use crate::reconcile::leader::Elector;
use crate::reconcile::watch::{DEBOUNCE, RESYNC, changes};
use anyhow::Result;
use futures::StreamExt;
use std::process::ExitCode;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

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

pub async fn run(
    session: &Session,
    policies: &Policies,
    applier: Applier,
    options: Options,
    args: &ReconcileArgs,
) -> Result<ExitCode> {
    let identity = args.identity.clone().unwrap_or_else(default_identity);
    let elector = Elector::new(session.client.clone(), identity, args.lease_duration);
    let renew_every = (args.lease_duration / 3).max(Duration::from_millis(200));
    let mut changes = Box::pin(changes(&session.client));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);

    let mut leading = false;
    let mut next_renewal = Instant::now();
    // A pass is due now (the first), shortly after a change, at the latest after RESYNC, and
    // after a failure once the backoff passes.
    let mut pass_due: Option<Instant> = Some(Instant::now());
    let mut last_pass = Instant::now();
    let mut backoff = Duration::from_secs(1);
    loop {
        let resync = last_pass + RESYNC;
        let wake = match pass_due.filter(|_| leading) {
            Some(due) => due.min(next_renewal),
            None => next_renewal.min(resync),
        };
        // Every branch is cancellation-safe: a change taken from the stream is never dropped.
        tokio::select! {
            _ = &mut shutdown => break,
            _ = sleep_until(wake) => {}
            change = changes.next() => {
                if change.is_some() {
                    // The first change opens the window; later ones ride along.
                    pass_due.get_or_insert_with(|| Instant::now() + DEBOUNCE);
                }
            }
        }
        if Instant::now() >= resync {
            pass_due.get_or_insert_with(Instant::now);
        }
        if Instant::now() >= next_renewal {
            match elector.try_lead().await {
                Ok(now_leading) => {
                    if now_leading && !leading {
                        eprintln!("{} leading as {}", stamp(), elector.identity());
                        pass_due = Some(Instant::now());
                    } else if !now_leading && leading {
                        eprintln!("{} lost the lease; standing by", stamp());
                    }
                    leading = now_leading;
                }
                Err(e) => {
                    // Without a renewed lease this replica must not act on a stale one.
                    eprintln!("{} lease: {}", stamp(), session.describe(&e));
                    leading = false;
                }
            }
            next_renewal = Instant::now() + renew_every;
        }
        if !leading || pass_due.is_none_or(|d| Instant::now() < d) {
            continue;
        }
        pass_due = None;
        last_pass = Instant::now();
        let engine = Engine::new(applier.clone(), policies, options.clone());
        match engine.reconcile().await {
            Ok(report) => {
                backoff = Duration::from_secs(1);
                if report.writes() > 0 || !report.problems.is_empty() {
                    println!("{} reconciled:", stamp());
                    print_changes(&report, None, options.dry_run, true)?;
                }
            }
            Err(ReconcileError::NeedsConfirmation(loss)) => {
                eprintln!(
                    "{} not removing storage: {} (start the reconciler with --yes to allow it)",
                    stamp(),
                    loss.description
                );
            }
            Err(ReconcileError::Other(e)) => {
                eprintln!(
                    "{} reconcile failed, retrying in {}s: {e:#}",
                    stamp(),
                    backoff.as_secs()
                );
                pass_due = Some(Instant::now() + backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    elector.release().await;
    eprintln!("{} stopped", stamp());
    Ok(ExitCode::SUCCESS)
}
