//! `--wait`: follow the registry's rollout until it completes, fails or times out, with a
//! progress bar on a terminal.

use super::Session;
use super::reconcile::{EXIT_ROLLOUT_FAILED, EXIT_TIMEOUT};
use crate::api::REGISTRY_NAMESPACE;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(500);

/// Where a rollout stands.
#[derive(Debug, PartialEq)]
pub(crate) enum Rollout {
    Complete,
    Failed(String),
    InProgress { ready: i32, desired: i32 },
}

pub(crate) fn rollout_state(d: &Deployment) -> Rollout {
    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let status = d.status.clone().unwrap_or_default();
    let ready = status.available_replicas.unwrap_or(0);
    let progressing = status.conditions.iter().flatten().find(|c| c.type_ == "Progressing");
    if let Some(c) = progressing.filter(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded")) {
        return Rollout::Failed(c.message.clone().unwrap_or_default());
    }
    let observed = status.observed_generation >= d.metadata.generation;
    if observed && status.updated_replicas.unwrap_or(0) == desired && ready == desired {
        Rollout::Complete
    } else {
        Rollout::InProgress { ready, desired }
    }
}

/// Returns the exit status: 0 complete, 3 failed, 4 timed out.
pub async fn rollout(session: &Session, timeout: Duration, quiet: bool) -> Result<u8> {
    let api = Api::<Deployment>::namespaced(session.client.clone(), REGISTRY_NAMESPACE);
    let bar = if !quiet && std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} waiting for deployment.apps/image-registry [{bar:20}] {pos}/{len} ready {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    } else {
        None
    };
    let start = Instant::now();
    let code = loop {
        let state = match api.get_opt(crate::render::DEPLOYMENT).await {
            Ok(Some(d)) => rollout_state(&d),
            Ok(None) => Rollout::InProgress { ready: 0, desired: 1 },
            Err(e) if crate::cluster::is_transient(&e) => Rollout::InProgress { ready: 0, desired: 1 },
            Err(e) => return Err(anyhow::anyhow!(session.describe(&e))),
        };
        match state {
            Rollout::Complete => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                eprintln!("deployment.apps/image-registry successfully rolled out");
                break 0;
            }
            Rollout::Failed(message) => {
                if let Some(b) = &bar {
                    b.abandon();
                }
                eprintln!("error: deployment.apps/image-registry rollout failed: {message}");
                break EXIT_ROLLOUT_FAILED;
            }
            Rollout::InProgress { ready, desired } => {
                if let Some(b) = &bar {
                    b.set_length(desired.max(0) as u64);
                    b.set_position(ready.max(0) as u64);
                }
            }
        }
        if start.elapsed() >= timeout {
            if let Some(b) = &bar {
                b.abandon();
            }
            eprintln!(
                "error: timed out waiting for deployment.apps/image-registry after {}s",
                timeout.as_secs()
            );
            break EXIT_TIMEOUT;
        }
        tokio::time::sleep(POLL).await;
    };
    Ok(code)
}
