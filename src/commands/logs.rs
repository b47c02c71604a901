//! `logs`: the registry's pods' logs, or the pruner's last run's, as `kubectl logs` prints them:
//! `-f` follows every pod at once, `-p` reads the previous instance after a restart, and lines
//! carry `[pod/NAME/CONTAINER]` when several pods speak.

use super::Session;
use crate::api::REGISTRY_NAMESPACE;
use crate::commands::{Context, Failure, naming};
use crate::state::PRUNER_CRONJOB;
use anyhow::Result;
use clap::{Args, ValueEnum};
use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{ListParams, LogParams};
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Whose logs: the registry's pods, or the pods of the pruner's last run
    #[arg(value_enum, default_value = "registry")]
    pub component: Component,
    /// Keep printing lines as they are written
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// The previous instance of each container (the one that restarted)
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Lines from the end of each log to print (all when omitted)
    #[arg(long, value_name = "N")]
    pub tail: Option<u32>,
    /// Only lines newer than this, e.g. 30s, 5m, 1h
    #[arg(long, value_name = "DURATION", value_parser = super::reconcile::parse_duration)]
    pub since: Option<std::time::Duration>,
    /// Each line with the time it was written
    #[arg(long)]
    pub timestamps: bool,
    /// Each line with its pod and container (the default when there are several pods)
    #[arg(long)]
    pub prefix: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Component {
    Registry,
    Pruner,
}

/// One container's log.
struct Source {
    pod: String,
    container: String,
}

pub async fn run(cx: &Context, args: &LogsArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let sources = sources(session, args.component).await?;
    let params = LogParams {
        follow: args.follow,
        previous: args.previous,
        tail_lines: args.tail.map(i64::from),
        since_seconds: args.since.map(|d| d.as_secs().max(1) as i64),
        timestamps: args.timestamps,
        ..LogParams::default()
    };
    let prefix = args.prefix || sources.len() > 1;
    let pods = Api::<Pod>::namespaced(session.client.clone(), REGISTRY_NAMESPACE);
    let streams = sources.into_iter().map(|source| {
        let (pods, params) = (
            pods.clone(),
            LogParams {
                container: Some(source.container.clone()),
                ..params.clone()
            },
        );
        let label = prefix.then(|| format!("[pod/{}/{}] ", source.pod, source.container));
        async move {
            let lines = pods
                .log_stream(&source.pod, &params)
                .await
                .map_err(|e| anyhow::anyhow!(session.describe(&e)))?
                .lines()
                .map_err(anyhow::Error::from);
            let labelled = lines.map_ok(move |line| format!("{}{line}", label.as_deref().unwrap_or_default()));
            Ok::<_, anyhow::Error>(labelled)
        }
    });
    // Every pod at once when following (lines as they come); one pod after the other otherwise.
    let concurrency = if args.follow { usize::MAX } else { 1 };
    let mut lines = futures::stream::iter(streams)
        .buffered(concurrency)
        .map_ok(|lines| lines.boxed())
        .try_flatten_unordered(if args.follow { None } else { Some(1) })
        .boxed();
    let mut out = std::io::stdout().lock();
    while let Some(line) = lines.next().await {
        writeln!(out, "{}", line?)?;
        if args.follow {
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The containers whose logs `component` means, each pod's default container (the one its
/// `kubectl.kubernetes.io/default-container` annotation names, else its first).
async fn sources(session: &Session, component: Component) -> Result<Vec<Source>> {
    let describe = |e: kube::Error| anyhow::anyhow!(session.describe(&e));
    let pods = Api::<Pod>::namespaced(session.client.clone(), REGISTRY_NAMESPACE);
    let name = naming::name();
    let selector = match component {
        Component::Registry => {
            let (key, value) = crate::render::REGISTRY_LABELS;
            format!("{key}={value}")
        }
        Component::Pruner => {
            let jobs = Api::<Job>::namespaced(session.client.clone(), REGISTRY_NAMESPACE)
                .list(&ListParams::default())
                .await
                .map_err(describe)?
                .items;
            let last = jobs
                .into_iter()
                .filter(|j| {
                    j.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| o.kind == "CronJob" && o.name == PRUNER_CRONJOB)
                })
                .max_by(|a, b| a.metadata.creation_timestamp.cmp(&b.metadata.creation_timestamp))
                .ok_or_else(|| {
                    failure(format!(
                        "the pruner has not run yet: `{name} pruner status` says when it runs next"
                    ))
                })?;
            format!("job-name={}", last.metadata.name.unwrap_or_default())
        }
    };
    let mut found = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(describe)?
        .items;
    if found.is_empty() {
        return Err(failure(match component {
            Component::Registry => format!(
                "no registry pods in {REGISTRY_NAMESPACE}: the registry is not running (`{name} status` says why)"
            ),
            Component::Pruner => {
                format!("the pruner's last run has no pods left ({selector}): its Job's pods were deleted")
            }
        }));
    }
    found.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(found
        .into_iter()
        .filter_map(|pod| {
            let default = pod
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kubectl.kubernetes.io/default-container").cloned());
            let container = default.or_else(|| pod.spec.as_ref()?.containers.first().map(|c| c.name.clone()))?;
            Some(Source {
                pod: pod.metadata.name?,
                container,
            })
        })
        .collect())
}

fn failure(message: String) -> anyhow::Error {
    Failure { message, code: 1 }.into()
}
