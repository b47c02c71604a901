//! `pruner set|suspend|resume|status|clear-failed`: the image pruner (ImagePruner `cluster` and the
//! CronJob rendered from it).

use super::change::{self, WriteArgs};
use super::dry_run_suffix;
use crate::api::LogLevel;
use crate::api::{CLUSTER, ImagePruner, REGISTRY_NAMESPACE};
use crate::cluster::DryRun;
use crate::commands::Context;
use crate::commands::output::{self, Format};
use crate::configure::pod;
use crate::state::jobs::{JobRun, last_pruner_run};
use crate::state::{PRUNER_CRONJOB, PRUNER_JOB_SELECTOR};
use crate::validate::printable;
use crate::validate::schedule;
use anyhow::Result;
use clap::{Args, Subcommand};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PropagationPolicy};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum PrunerCommand {
    /// Change the pruner's schedule, what it keeps, its history and its pods
    Set(Box<SetArgs>),
    /// Stop scheduling pruner runs (the only way to disable it: a deleted ImagePruner comes back)
    Suspend(WriteArgs),
    /// Schedule pruner runs again
    Resume(WriteArgs),
    /// The schedule, the next run, the last run and its message, and what --prune-registry is and why
    Status(StatusArgs),
    /// Delete the failed pruner Jobs, so that ImagePrunerJobFailed stops degrading the registry
    #[command(
        long_about = "Delete the failed Jobs of the image pruner in openshift-image-registry. A \
        failed Job keeps the image-registry ClusterOperator Degraded (ImagePrunerJobFailed) until a newer \
        Job succeeds or the failed ones are gone; suspending the pruner alone does not clear it. Fix the \
        cause first (see `oc-registry pruner status`), or suspend the pruner."
    )]
    ClearFailed(WriteArgs),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("settings").required(true).multiple(true))]
pub struct SetArgs {
    /// Cron schedule, e.g. '0 */6 * * *' or @daily ("" for the default, 0 0 * * *)
    #[arg(long, value_name = "CRON", group = "settings")]
    pub schedule: Option<String>,
    /// Revisions of each tag kept
    #[arg(long, value_name = "N", group = "settings", allow_negative_numbers = true)]
    pub keep_tag_revisions: Option<i64>,
    /// Images younger than this are kept, e.g. 60m, 24h
    #[arg(long, value_name = "DURATION", group = "settings")]
    pub keep_younger_than: Option<String>,
    /// Successful Jobs kept
    #[arg(long, value_name = "N", group = "settings", allow_negative_numbers = true)]
    pub successful_jobs_history_limit: Option<i32>,
    /// Failed Jobs kept
    #[arg(long, value_name = "N", group = "settings", allow_negative_numbers = true)]
    pub failed_jobs_history_limit: Option<i32>,
    /// Skip images whose references cannot be parsed instead of failing
    #[arg(long, value_name = "BOOL", group = "settings", value_parser = clap::builder::BoolValueParser::new())]
    pub ignore_invalid_image_references: Option<bool>,
    /// The pruner's log level
    #[arg(long, value_enum, ignore_case = true, group = "settings")]
    pub log_level: Option<LogLevel>,
    /// Requests of the pruner pod, e.g. cpu=100m,memory=256Mi
    #[arg(long, value_name = "LIST", group = "settings")]
    pub requests: Option<String>,
    /// Limits of the pruner pod, e.g. memory=1Gi
    #[arg(long, value_name = "LIST", group = "settings")]
    pub limits: Option<String>,
    /// Node label the pruner pod needs (KEY=VALUE), or KEY- to drop one; repeatable
    #[arg(long = "node-selector", value_name = "KEY=VALUE|KEY-", group = "settings")]
    pub node_selector: Vec<String>,
    /// Taint the pruner pod tolerates (KEY[=VALUE][:EFFECT[:SECONDS]]), or KEY- to drop; repeatable
    #[arg(long = "toleration", value_name = "TOLERATION", group = "settings")]
    pub tolerations: Vec<String>,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format: json, yaml, name, wide or jsonpath=TEMPLATE
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
}

pub async fn run(cx: &Context, command: &PrunerCommand) -> Result<ExitCode> {
    match command {
        PrunerCommand::Set(args) => set(cx, args).await,
        PrunerCommand::Suspend(d) => suspend(cx, d, true).await,
        PrunerCommand::Resume(d) => suspend(cx, d, false).await,
        PrunerCommand::Status(args) => status(cx, args).await,
        PrunerCommand::ClearFailed(d) => clear_failed(cx, d).await,
    }
}

async fn suspend(cx: &Context, dry_run: &WriteArgs, on: bool) -> Result<ExitCode> {
    change::pruner(cx, dry_run, |spec| {
        spec.suspend = Some(on);
        Ok(())
    })
    .await
}

async fn set(cx: &Context, args: &SetArgs) -> Result<ExitCode> {
    // What can be checked without the cluster is checked before connecting.
    let (requests, limits) =
        pod::requirements(args.requests.as_deref(), args.limits.as_deref()).map_err(super::invalid)?;
    pod::node_selector(None, &args.node_selector, "spec.nodeSelector").map_err(super::invalid)?;
    pod::tolerations(None, &args.tolerations, "spec.tolerations").map_err(super::invalid)?;
    if let Some(s) = args.schedule.as_deref().filter(|s| !s.is_empty()) {
        schedule::parse(s).map_err(|e| super::invalid(format!("spec.schedule: {e}")))?;
    }
    if let Some(d) = &args.keep_younger_than {
        crate::validate::go_duration(d).map_err(|e| super::invalid(format!("spec.keepYoungerThanDuration: {e}")))?;
    }
    change::pruner(cx, &args.write, |spec| {
        if let Some(schedule) = &args.schedule {
            spec.schedule = schedule.clone();
        }
        spec.keep_tag_revisions = args.keep_tag_revisions.or(spec.keep_tag_revisions);
        if let Some(d) = &args.keep_younger_than {
            spec.keep_younger_than_duration = Some(d.clone());
        }
        spec.successful_jobs_history_limit = args
            .successful_jobs_history_limit
            .or(spec.successful_jobs_history_limit);
        spec.failed_jobs_history_limit = args.failed_jobs_history_limit.or(spec.failed_jobs_history_limit);
        spec.ignore_invalid_image_references = args
            .ignore_invalid_image_references
            .or(spec.ignore_invalid_image_references);
        if let Some(level) = &args.log_level {
            spec.log_level = Some(level.clone());
        }
        pod::set_requirements(&mut spec.resources, &requests, &limits);
        if !args.node_selector.is_empty() {
            spec.node_selector =
                pod::node_selector(spec.node_selector.as_ref(), &args.node_selector, "spec.nodeSelector")?;
        }
        if !args.tolerations.is_empty() {
            spec.tolerations = pod::tolerations(spec.tolerations.as_ref(), &args.tolerations, "spec.tolerations")?;
        }
        Ok(())
    })
    .await
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PrunerStatus {
    schedule: String,
    suspended: bool,
    /// The CronJob exists (it is created by reconcile).
    cron_job: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_run: Option<JobRun>,
    failed_jobs: Vec<String>,
    prune_registry: bool,
    prune_registry_reason: String,
    /// The `oc adm prune images` arguments the pruner runs with.
    args: Vec<String>,
    decided_by: String,
}

async fn status(cx: &Context, args: &StatusArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let describe = |e: kube::Error| anyhow::anyhow!(session.describe(&e));
    let client = &session.client;
    let pruner = Api::<ImagePruner>::all(client.clone())
        .get_opt(CLUSTER)
        .await
        .map_err(describe)?
        .ok_or_else(|| {
            super::invalid(format!(
                "{} does not exist: create it with `oc-registry bootstrap`",
                change::PRUNER_REF
            ))
        })?;
    let cron_job = Api::<CronJob>::namespaced(client.clone(), REGISTRY_NAMESPACE)
        .get_opt(PRUNER_CRONJOB)
        .await
        .map_err(describe)?;
    let jobs = pruner_jobs(client).await.map_err(describe)?;
    let policies = cx.policies().await?;
    let input = crate::state::facts::pruner_input(client).await?;
    let decided = policies.pruner(&input)?;
    let decision = decided.decision;
    let next_run = match (decision.suspend, schedule::parse(&decision.schedule)) {
        (true, _) => None,
        (false, Ok(s)) => s.next_after(jiff::Timestamp::now()).map(|t| t.to_string()),
        (false, Err(_)) => None,
    };
    let report = PrunerStatus {
        schedule: pruner.spec.effective_schedule().to_string(),
        suspended: decision.suspend,
        cron_job: cron_job.is_some(),
        next_run,
        last_run: last_pruner_run(&jobs),
        failed_jobs: failed(&jobs),
        prune_registry: decision.prune_registry,
        prune_registry_reason: decision.reason,
        args: decision.args,
        decided_by: decided.module,
    };
    if let Some(format) = Format::machine(args.output.as_ref()) {
        print!("{}", output::render(&report, format)?);
        return Ok(ExitCode::SUCCESS);
    }
    let default = if pruner.spec.schedule.is_empty() {
        " (default)"
    } else {
        ""
    };
    println!("Schedule:        {}{default}", report.schedule);
    let name = super::naming::name();
    let next = match (&report.next_run, report.suspended, report.cron_job) {
        (_, true, _) => format!("none: suspended (`{name} pruner resume` to schedule again)"),
        (_, _, false) => format!("none yet: the CronJob does not exist (`{name} reconcile` creates it)"),
        (Some(t), _, _) => format!("{t} (UTC)"),
        (None, _, _) => "at the schedule's interval from when the CronJob controller started".into(),
    };
    println!("Next run:        {next}");
    match &report.last_run {
        None => println!("Last run:        none finished yet"),
        Some(run) => {
            let result = if run.succeeded { "succeeded" } else { "FAILED" };
            let when = run.finished.as_deref().unwrap_or("unknown time");
            println!("Last run:        {} {result} at {when}", run.job);
            if let Some(m) = run
                .message
                .as_deref()
                .or(run.reason.as_deref())
                .filter(|_| !run.succeeded)
            {
                println!("  message:       {}", printable(m));
            }
        }
    }
    if !report.failed_jobs.is_empty() {
        println!(
            "Failed jobs:     {} (they keep the registry Degraded: `{name} pruner clear-failed`)",
            report.failed_jobs.join(", ")
        );
    }
    println!(
        "Prune registry:  --prune-registry={}: {}",
        report.prune_registry, report.prune_registry_reason
    );
    println!("Command:         oc adm prune images {}", report.args.join(" "));
    Ok(ExitCode::SUCCESS)
}

async fn pruner_jobs(client: &kube::Client) -> Result<Vec<Job>, kube::Error> {
    let jobs = Api::<Job>::namespaced(client.clone(), REGISTRY_NAMESPACE);
    Ok(jobs
        .list(&ListParams::default().labels(PRUNER_JOB_SELECTOR))
        .await?
        .items)
}

fn failed(jobs: &[Job]) -> Vec<String> {
    let mut names: Vec<String> = jobs
        .iter()
        .filter(|j| {
            let conditions = j.status.as_ref().and_then(|s| s.conditions.as_ref());
            conditions.is_some_and(|cs| cs.iter().any(|c| c.type_ == "Failed" && c.status == "True"))
        })
        .filter_map(|j| j.metadata.name.clone())
        .collect();
    names.sort();
    names
}

async fn clear_failed(cx: &Context, write: &WriteArgs) -> Result<ExitCode> {
    let mode = write.mode();
    let session = cx.session().await?;
    let describe = |e: kube::Error| anyhow::anyhow!(session.describe(&e));
    let jobs = pruner_jobs(&session.client).await.map_err(describe)?;
    let failed = failed(&jobs);
    let machine = Format::machine(write.output.as_ref());
    if failed.is_empty() && machine.is_none() {
        println!("No failed pruner jobs.");
        return Ok(ExitCode::SUCCESS);
    }
    let api = Api::<Job>::namespaced(session.client.clone(), REGISTRY_NAMESPACE);
    let params = DeleteParams {
        dry_run: mode == Some(DryRun::Server),
        // The Job's pods go with it.
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    let mut deleted = Vec::new();
    for name in &failed {
        if mode != Some(DryRun::Client) {
            match api.delete(name, &params).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => continue,
                Err(e) => return Err(describe(e)),
            }
        }
        if machine.is_none() {
            println!("job.batch/{name} deleted{}", dry_run_suffix(mode));
        }
        deleted.extend(jobs.iter().filter(|j| j.metadata.name.as_ref() == Some(name)));
    }
    if let Some(format) = machine {
        // As kubectl delete -o: the objects deleted.
        let objects = deleted
            .iter()
            .map(|j| output::typed(j, "batch/v1", "Job"))
            .collect::<Result<Vec<_>>>()?;
        print!("{}", output::render_list(&objects, format)?);
        return Ok(ExitCode::SUCCESS);
    }
    if mode.is_none() {
        println!("The ImagePrunerJobFailed degradation clears at the next reconcile.");
    }
    Ok(ExitCode::SUCCESS)
}
