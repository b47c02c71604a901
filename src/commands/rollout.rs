//! `--wait`: follow the registry's rollout until it completes, fails or times out, with a
//! progress bar on a terminal and progress lines elsewhere.

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
    /// kubectl rollout status's words for it, and the replicas available of those wanted.
    InProgress {
        waiting: String,
        available: i32,
        desired: i32,
    },
}

const DEPLOYMENT: &str = "deployment.apps/image-registry";

/// Where the Deployment's rollout stands, judged as `kubectl rollout status` judges it.
pub(crate) fn rollout_state(d: &Deployment) -> Rollout {
    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let status = d.status.clone().unwrap_or_default();
    let progressing = status.conditions.iter().flatten().find(|c| c.type_ == "Progressing");
    if let Some(c) = progressing.filter(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded")) {
        return Rollout::Failed(c.message.clone().unwrap_or_default());
    }
    let (updated, replicas) = (status.updated_replicas.unwrap_or(0), status.replicas.unwrap_or(0));
    let available = status.available_replicas.unwrap_or(0);
    let waiting = if status.observed_generation < d.metadata.generation {
        "Waiting for deployment spec update to be observed...".to_string()
    } else if updated < desired {
        format!("{updated} out of {desired} new replicas have been updated...")
    } else if replicas > updated {
        format!("{} old replicas are pending termination...", replicas - updated)
    } else if available < updated {
        format!("{available} of {updated} updated replicas are available...")
    } else {
        return Rollout::Complete;
    };
    Rollout::InProgress {
        waiting,
        // Scaling down, more may be available than wanted: never more than all of it.
        available: available.clamp(0, desired.max(0)),
        desired,
    }
}

/// Returns the exit status: 0 complete, 3 failed, 4 timed out. Progress goes to standard error:
/// a bar on a terminal, else a line each time it changes, as `kubectl rollout status` writes
/// them; the outcome is a result line on standard output (nothing when `quiet`, for machine
/// output).
pub async fn rollout(session: &Session, timeout: Duration, quiet: bool) -> Result<u8> {
    let api = Api::<Deployment>::namespaced(session.client.clone(), REGISTRY_NAMESPACE);
    let terminal = std::io::stderr().is_terminal();
    let bar = if !quiet && terminal {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} waiting for deployment.apps/image-registry [{bar:20}] {pos}/{len} available {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    } else {
        None
    };
    let mut last_line = String::new();
    let start = Instant::now();
    let code = loop {
        let state = match crate::cluster::retry(|| api.get_opt(crate::render::DEPLOYMENT)).await {
            Ok(Some(d)) => rollout_state(&d),
            Ok(None) => Rollout::InProgress {
                waiting: "Waiting for the deployment to be created...".into(),
                available: 0,
                desired: 1,
            },
            // Still failing after the retries: the rollout stands as last seen, until the timeout.
            Err(e) if crate::cluster::is_transient(&e) => Rollout::InProgress {
                waiting: last_line.clone(),
                available: bar.as_ref().map_or(0, |b| b.position() as i32),
                desired: bar.as_ref().and_then(|b| b.length()).map_or(1, |l| l as i32),
            },
            Err(e) => return Err(anyhow::anyhow!(session.describe(&e))),
        };
        match state {
            Rollout::Complete => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                if !quiet {
                    println!("{DEPLOYMENT} successfully rolled out");
                }
                break 0;
            }
            Rollout::Failed(message) => {
                if let Some(b) = &bar {
                    b.abandon();
                }
                super::style::eprint_line(&format!("error: {DEPLOYMENT} rollout failed: {message}"));
                break EXIT_ROLLOUT_FAILED;
            }
            Rollout::InProgress {
                waiting,
                available,
                desired,
            } => {
                if let Some(b) = &bar {
                    b.set_length(desired.max(0) as u64);
                    b.set_position(available as u64);
                } else if !quiet && waiting != last_line {
                    eprintln!("Waiting for deployment \"image-registry\" rollout to finish: {waiting}");
                    last_line = waiting;
                }
            }
        }
        if start.elapsed() >= timeout {
            if let Some(b) = &bar {
                b.abandon();
            }
            super::style::eprint_line(&format!(
                "error: timed out waiting for {DEPLOYMENT} after {}s",
                timeout.as_secs()
            ));
            break EXIT_TIMEOUT;
        }
        tokio::time::sleep(POLL).await;
    };
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: i32, status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "image-registry", "generation": 2},
            "spec": {"replicas": replicas, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn rollouts_are_judged_as_kubectl_judges_them() {
        let waiting = |d: &Deployment| match rollout_state(d) {
            Rollout::InProgress { waiting, available, .. } => (waiting, available),
            other => panic!("{other:?}"),
        };
        let seen = |updated: i32, replicas: i32, available: i32| json!({"observedGeneration": 2, "updatedReplicas": updated, "replicas": replicas, "availableReplicas": available});
        assert_eq!(
            waiting(&deployment(2, json!({"observedGeneration": 1}))).0,
            "Waiting for deployment spec update to be observed..."
        );
        assert_eq!(
            waiting(&deployment(2, seen(1, 3, 2))),
            ("1 out of 2 new replicas have been updated...".into(), 2)
        );
        assert_eq!(
            waiting(&deployment(2, seen(2, 3, 3))),
            ("1 old replicas are pending termination...".into(), 2),
            "scaling down never shows more than all"
        );
        assert_eq!(
            waiting(&deployment(2, seen(2, 2, 1))),
            ("1 of 2 updated replicas are available...".into(), 1)
        );
        assert_eq!(rollout_state(&deployment(2, seen(2, 2, 2))), Rollout::Complete);
        let failed = json!({"observedGeneration": 2, "conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "too slow"}
        ]});
        assert_eq!(
            rollout_state(&deployment(2, failed)),
            Rollout::Failed("too slow".into())
        );
    }
}
