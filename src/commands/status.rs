//! `status`: what the registry is, where it stores images, whether it runs, what is missing and how
//! to supply it. Never shows a secret: storage is described by location, not credentials.

use super::{Context, Failure, Session};
use crate::api::ManagementState;
use crate::api::{Condition, Config, ImagePruner, Storage, condition};
use crate::commands::change::Applier;
use crate::commands::output::{self, Format};
use crate::diagnose::Progress;
use crate::state::jobs::{JobRun, last_pruner_run};
use crate::state::{Observed, ReadError};
use crate::storage::cloud::{CloudError, Creator, Inspection};
use crate::validate::printable;
use anyhow::Result;
use clap::Args;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format: json, yaml, name, wide or jsonpath=TEMPLATE (a readable summary when omitted)
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
    /// After the status, print a line each time the registry's state changes (until interrupted)
    #[arg(short = 'w', long, conflicts_with = "output")]
    pub watch: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Health {
    Healthy,
    Unmanaged,
    Degraded,
    /// Removed was asked for, but the registry still runs: the teardown has not happened.
    RemovalPending,
    Removed,
    NotInstalled,
}

impl Health {
    /// The documented exit status.
    pub fn exit_code(self) -> u8 {
        match self {
            Health::Healthy | Health::Unmanaged => 0,
            Health::Degraded | Health::RemovalPending => 2,
            Health::Removed | Health::NotInstalled => 3,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub health: Health,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub management_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageReport>,
    pub replicas: Replicas,
    pub default_route: bool,
    pub routes: Vec<RouteReport>,
    pub read_only: bool,
    /// Every other setting, in words (what an unset one runs with, too).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<crate::diagnose::settings::Setting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_hostname: Option<String>,
    pub external_hostnames: Vec<String>,
    pub conditions: Vec<Condition>,
    pub missing: Vec<Missing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruner: Option<PrunerReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_operator: Option<OperatorReport>,
    /// The step between requested and running: settings not applied yet, a rollout under way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// Who applies what is not applied yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_by: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageReport {
    /// The drivers set in `spec.storage` (exactly one is valid).
    pub drivers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub management_state: Option<String>,
    /// Who provided the storage and what Removed does to it, as checked.
    pub owner: String,
    /// Where images are stored: bucket, region, claim… Never credentials.
    pub location: BTreeMap<String, String>,
    /// What the storage's cloud says, for storage in a cloud.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudReport>,
}

/// Whether the bucket exists, as its cloud answered, or why it could not be asked.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudReport {
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub inspection: Option<Inspection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Replicas {
    pub desired: i32,
    pub ready: i32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteReport {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Whether a router admitted it; unknown until a router reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admitted: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Missing {
    pub problem: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrunerReport {
    pub schedule: String,
    pub default_schedule: bool,
    pub suspended: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<JobRun>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub conditions: Vec<Condition>,
}

pub async fn run(cx: &Context, args: &StatusArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let report = gather(session, true).await?;
    // The object the status is of, for -o name: the Config, when there is one.
    let names: Vec<String> = report
        .management_state
        .iter()
        .map(|_| super::change::CONFIG_REF.to_string())
        .collect();
    let text = match Format::machine(args.output.as_ref()) {
        Some(Format::Name) if names.is_empty() => {
            return Err(Failure {
                message:
                    "Error from server (NotFound): configs.imageregistry.operator.openshift.io \"cluster\" not found"
                        .into(),
                code: Health::NotInstalled.exit_code(),
            }
            .into());
        }
        Some(format) => output::render_objects(&report, format, &names)?,
        None => super::naming::as_invoked(&report.to_text()).into_owned(),
    };
    print!("{text}");
    if args.watch {
        follow(session, report.summary()).await?;
    }
    Ok(ExitCode::from(report.health.exit_code()))
}

/// Prints a line, with the time, each time the registry's state (its Config, its Deployment)
/// changes what [`Report::summary`] says.
async fn follow(session: &Session, mut last: String) -> Result<()> {
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let by_name = |name: &str| watcher::Config::default().fields(&format!("metadata.name={name}"));
    let configs = watcher(
        kube::Api::<Config>::all(session.client.clone()),
        by_name(crate::api::CLUSTER),
    )
    .default_backoff()
    .touched_objects()
    .map(|_| ());
    let deployments = kube::Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(
        session.client.clone(),
        crate::api::REGISTRY_NAMESPACE,
    );
    let deployment = watcher(deployments, by_name(crate::render::DEPLOYMENT))
        .default_backoff()
        .touched_objects()
        .map(|_| ());
    let mut changes = futures::stream::select(configs, deployment).boxed();
    while changes.next().await.is_some() {
        // A burst of changes makes one line.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        while let Some(Some(())) = futures::FutureExt::now_or_never(changes.next()) {}
        let now = gather(session, false).await?.summary();
        if now != last {
            let time = jiff::Zoned::now().strftime("%H:%M:%S");
            println!("{time}  {now}");
            last = now;
        }
    }
    Ok(())
}

/// The registry's state; `cloud` also asks the storage's cloud and compares what is requested
/// with what runs.
async fn gather(session: &Session, cloud: bool) -> Result<Report> {
    let observed = match Observed::read(&session.client).await {
        Ok(o) => o,
        Err(ReadError::NoRegistryApi) => {
            return Err(Failure {
                message: "error: the server does not serve configs.imageregistry.operator.openshift.io: this is not an OpenShift cluster with the image registry capability".into(),
                code: Health::NotInstalled.exit_code(),
            }
            .into());
        }
        Err(ReadError::Api(e)) => {
            return Err(Failure {
                message: session.describe(&e),
                code: 1,
            }
            .into());
        }
    };
    let mut report = Report::from_observed(&observed);
    if !cloud {
        return Ok(report);
    }
    match crate::diagnose::requested(&session.client, &observed).await {
        Ok(Some(requested)) => {
            if let Some(storage) = observed.config.as_ref().and_then(|c| c.spec.storage.as_ref())
                && let Some(answer) = requested.cloud
            {
                report.add_cloud(answer, storage);
            }
            let applier = super::change::who_applies(session).await;
            report.add_progress(requested.progress, &applier);
        }
        Ok(None) => {}
        // What runs is reported even when what is requested cannot be read here.
        Err(e) => {
            eprintln!("Warning: cannot ask the storage's cloud: {e:#}");
            eprintln!("Warning: cannot compare the requested settings with the running ones: {e:#}");
        }
    }
    Ok(report)
}

/// Who provided the storage and what removing the registry does to it. A claim counts as the
/// registry's only when it carries the registry's annotation: only such a claim is ever deleted.
fn storage_owner(storage: &Storage, claim: Option<&PersistentVolumeClaim>) -> String {
    use crate::storage::Removal;
    let Some(driver) = crate::storage::driver_of(storage) else {
        return String::new();
    };
    if storage.management_state != Some(ManagementState::Managed) {
        return match storage.management_state {
            Some(ManagementState::Unmanaged) => "provided by you (never deleted)".into(),
            _ => String::new(),
        };
    }
    match driver.removal(storage) {
        Removal::Claim(_) => match claim {
            Some(c) if crate::state::references::created_by_registry(c) => {
                "created by the registry (deleted with its images when Removed)".into()
            }
            Some(_) => "provided by you (the registry did not create it and never deletes it)".into(),
            None => "not created yet (the registry creates it at the next reconcile)".into(),
        },
        Removal::PodLocal => "pod-local (its images go with the registry's pods)".into(),
        Removal::Cloud(what) => {
            format!("Managed (the {what} is deleted with its images when Removed, after confirmation)")
        }
        Removal::LeftInPlace => {
            "Managed (the Image Registry Operator deletes it when Removed; oc-registry leaves it in place)".into()
        }
    }
}

/// The fields of the storage driver that say where images live (never a credential).
fn storage_location(storage: &Storage) -> BTreeMap<String, String> {
    crate::storage::configured(storage)
        .iter()
        .flat_map(|d| d.location(storage))
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

const CONFIG_REF: &str = "configs.imageregistry.operator.openshift.io/cluster";

fn problem(text: impl Into<String>, fix: Option<String>) -> Missing {
    Missing {
        problem: text.into(),
        fix,
    }
}

fn missing_for(config: &Config, observed: &Observed) -> Vec<Missing> {
    let mut out = Vec::new();
    let state = config.spec.management_state.as_ref().map_or("", |s| s.as_str());
    let drivers = config
        .spec
        .storage
        .as_ref()
        .map(crate::storage::block_names)
        .unwrap_or_default();
    if state == "Removed" {
        out.push(problem(
            "the registry is Removed: nothing serves images, and image streams, builds and deployments that use them may fail",
            Some(if drivers.is_empty() {
                "oc-registry storage set pvc (or another driver), then: oc-registry set management-state Managed".into()
            } else {
                "oc-registry set management-state Managed".into()
            }),
        ));
    }
    if state == "Managed" && drivers.is_empty() {
        out.push(problem(
            "storage backend not configured: spec.storage names no driver",
            Some(format!(
                "oc-registry storage set {}",
                crate::storage::command_names().join("|")
            )),
        ));
    }
    if drivers.len() > 1 {
        out.push(problem(
            format!(
                "exactly one storage type should be configured at the same time, got {}: [{}]",
                drivers.len(),
                drivers.join(" ")
            ),
            Some(format!(
                "oc-registry storage set {} (keeps that driver, removes the others)",
                crate::storage::by_name(drivers[0]).map_or(drivers[0], |d| d.command_name())
            )),
        ));
    }
    let conditions = config
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    for c in conditions {
        let message = c.message.clone().unwrap_or_default();
        let bad = match c.type_.as_str() {
            "Available" | "Removed" => false,
            t if t.starts_with("Storage") => c.status == "False",
            "Progressing" => c.is_true() && c.reason.as_deref() == Some("Error"),
            t if t.ends_with("Degraded") => c.is_true(),
            _ => false,
        };
        if bad && !message.is_empty() && !out.iter().any(|m| m.problem == message) {
            out.push(problem(format!("{}: {message}", c.type_), None));
        }
    }
    if state == "Managed" && observed.deployment.is_none() {
        out.push(problem(
            "the image-registry Deployment does not exist in openshift-image-registry",
            Some("oc-registry reconcile".into()),
        ));
    }
    if let Some(run) = last_pruner_run(&observed.pruner_jobs).filter(|r| !r.succeeded) {
        out.push(problem(
            format!(
                "the last image pruner job {} failed: {}",
                run.job,
                run.message
                    .as_deref()
                    .or(run.reason.as_deref())
                    .unwrap_or("no reason given")
            ),
            Some("oc-registry pruner clear-failed (after fixing the cause; see oc-registry pruner status)".into()),
        ));
    }
    out
}

fn pruner_report(pruner: &ImagePruner, jobs: &[Job]) -> PrunerReport {
    PrunerReport {
        schedule: pruner.spec.effective_schedule().to_string(),
        default_schedule: pruner.spec.schedule.is_empty(),
        suspended: pruner.spec.suspend.unwrap_or(false),
        last_run: last_pruner_run(jobs),
        conditions: pruner.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default(),
    }
}

impl Report {
    pub fn from_observed(observed: &Observed) -> Report {
        let pruner = observed
            .pruner
            .as_ref()
            .map(|p| pruner_report(p, &observed.pruner_jobs));
        let cluster_operator = observed.cluster_operator.as_ref().map(|co| {
            let status = co.status.clone().unwrap_or_default();
            OperatorReport {
                version: status
                    .versions
                    .iter()
                    .find(|v| v.name == "operator")
                    .map(|v| v.version.clone()),
                conditions: status.conditions,
            }
        });
        let image_status = observed
            .image_config
            .as_ref()
            .and_then(|i| i.status.clone())
            .unwrap_or_default();
        let Some(config) = &observed.config else {
            return Report {
                health: Health::NotInstalled,
                management_state: None,
                storage: None,
                replicas: Replicas::default(),
                default_route: false,
                routes: Vec::new(),
                read_only: false,
                settings: Vec::new(),
                internal_hostname: image_status.internal_registry_hostname.filter(|h| !h.is_empty()),
                external_hostnames: image_status.external_registry_hostnames.unwrap_or_default(),
                conditions: Vec::new(),
                missing: vec![problem(
                    format!("{CONFIG_REF} does not exist: the registry has not been bootstrapped on this cluster"),
                    Some("oc-registry bootstrap (or oc-registry reconcile, which also applies it)".into()),
                )],
                pruner,
                cluster_operator,
                progress: None,
                applied_by: None,
            };
        };
        let spec = &config.spec;
        let conditions = config.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default();
        let mut missing = missing_for(config, observed);
        // What runs, not only what is asked for: a Removed registry whose Deployment is still
        // there has not been torn down.
        let still_running = observed
            .deployment
            .as_ref()
            .is_some_and(|d| d.metadata.deletion_timestamp.is_none());
        let removal_pending = spec.management_state == Some(ManagementState::Removed) && still_running;
        if removal_pending {
            missing.push(problem(
                "Removed was set, but the registry's Deployment still runs: the teardown has not happened yet \
                 (it needs a reconcile, with --yes when Managed storage would be deleted)",
                Some("oc-registry reconcile --yes (or oc-registry set management-state Managed to keep it)".into()),
            ));
        }
        let state = spec
            .management_state
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let degraded = condition(&conditions, "Degraded").is_some_and(Condition::is_true)
            || condition(&conditions, "Available").is_some_and(|c| !c.is_true())
            || !missing.is_empty();
        let health = match state.as_str() {
            "Removed" if removal_pending => Health::RemovalPending,
            "Removed" => Health::Removed,
            "Unmanaged" => Health::Unmanaged,
            _ if degraded => Health::Degraded,
            _ => Health::Healthy,
        };
        let storage = spec.storage.as_ref().map(|s| StorageReport {
            drivers: crate::storage::block_names(s).into_iter().map(String::from).collect(),
            management_state: s.management_state.as_ref().map(ToString::to_string),
            owner: storage_owner(s, observed.storage_claim.as_ref()),
            location: storage_location(s),
            cloud: None,
        });
        let routes = observed
            .routes
            .iter()
            .map(|r| {
                let ingress = r.status.as_ref().and_then(|s| s.ingress.first());
                RouteReport {
                    name: r.metadata.name.clone().unwrap_or_default(),
                    host: ingress.and_then(|i| i.host.clone()).or_else(|| r.spec.host.clone()),
                    admitted: ingress
                        .and_then(|i| condition(&i.conditions, "Admitted"))
                        .map(Condition::is_true),
                }
            })
            .collect();
        let desired = observed
            .deployment
            .as_ref()
            .and_then(|d| d.spec.as_ref()?.replicas)
            .unwrap_or(spec.replicas);
        let ready = observed
            .deployment
            .as_ref()
            .and_then(|d| d.status.as_ref()?.ready_replicas)
            .unwrap_or(0);
        Report {
            health,
            management_state: Some(state),
            storage,
            replicas: Replicas { desired, ready },
            default_route: spec.default_route.unwrap_or(false),
            routes,
            read_only: spec.read_only.unwrap_or(false),
            settings: crate::diagnose::settings::settings(spec),
            internal_hostname: image_status.internal_registry_hostname.filter(|h| !h.is_empty()),
            external_hostnames: image_status.external_registry_hostnames.unwrap_or_default(),
            conditions,
            missing,
            pruner,
            cluster_operator,
            progress: None,
            applied_by: None,
        }
    }

    /// One line saying where the registry stands: its state, its pods, its conditions, and how
    /// much is missing.
    pub fn summary(&self) -> String {
        let state = self.management_state.as_deref().unwrap_or("not installed");
        let conditions: Vec<String> = ["Available", "Progressing", "Degraded"]
            .into_iter()
            .filter_map(|t| condition(&self.conditions, t).map(|c| format!("{t}={}", c.status)))
            .collect();
        let missing = match self.missing.len() {
            0 => "nothing missing".to_string(),
            n => format!("{n} missing"),
        };
        format!(
            "{state}: {}/{} ready, {}, {missing}",
            self.replicas.ready,
            self.replicas.desired,
            if conditions.is_empty() {
                "no conditions".into()
            } else {
                conditions.join(" ")
            }
        )
    }

    /// Adds what the storage's cloud says; a bucket that does not exist is missing.
    pub(crate) fn add_cloud(&mut self, answer: Result<Inspection, CloudError>, storage: &Storage) {
        let what = crate::storage::cloud_name(storage);
        let managed = storage.management_state == Some(ManagementState::Managed);
        let report = match answer {
            Ok(inspection) => {
                if !inspection.exists {
                    let (problem_text, fix) = if managed {
                        (
                            format!("the {what} does not exist"),
                            "oc-registry reconcile (creates it)".to_string(),
                        )
                    } else {
                        (
                            format!("the {what} you named does not exist"),
                            "create it, or name another: oc-registry storage set s3 --bucket NAME".to_string(),
                        )
                    };
                    self.missing.push(problem(problem_text, Some(fix)));
                    if self.health == Health::Healthy {
                        self.health = Health::Degraded;
                    }
                }
                CloudReport {
                    inspection: Some(inspection),
                    error: None,
                }
            }
            Err(e) => CloudReport {
                inspection: None,
                error: Some(e.message),
            },
        };
        if let Some(s) = self.storage.as_mut() {
            s.cloud = Some(report);
        }
    }

    /// Adds what is requested but not applied or not rolled out; settings nobody will apply are
    /// missing.
    pub(crate) fn add_progress(&mut self, progress: Progress, applier: &Applier) {
        let managed = self.management_state.as_deref() == Some("Managed");
        if managed && matches!(applier, Applier::User) && !progress.not_applied.is_empty() {
            let settings: Vec<&str> = progress.not_applied.iter().map(|p| p.setting).collect();
            self.missing.push(problem(
                format!("requested settings are not applied yet: {}", settings.join(", ")),
                Some("oc-registry reconcile (oc-registry diff shows the change first)".into()),
            ));
            if self.health == Health::Healthy {
                self.health = Health::Degraded;
            }
        }
        if !progress.not_applied.is_empty() || progress.rollout.is_some() {
            self.applied_by = Some(match (managed, applier) {
                (false, _) => "Nobody: changes are ignored while Unmanaged.".into(),
                (true, a) => a.sentence("them"),
            });
        }
        self.progress = Some(progress);
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        // Values come from the cluster: control characters are shown escaped.
        let mut line = |label: &str, value: &str| {
            let label = format!("{}:", printable(label));
            let value = printable(value);
            let _ = writeln!(out, "{}", format!("{label:<17} {value}").trim_end());
        };
        let headline = match self.health {
            Health::Healthy => "healthy",
            Health::Unmanaged => "not reconciled: changes are ignored while Unmanaged",
            Health::Degraded => "needs attention",
            Health::RemovalPending => "removal requested, but the registry still runs",
            Health::Removed => "no registry is running",
            Health::NotInstalled => "not installed",
        };
        match &self.management_state {
            Some(state) => line("Registry", &format!("{state} ({headline})")),
            None => line("Registry", headline),
        }
        if let Some(storage) = &self.storage {
            let kind = if storage.drivers.is_empty() {
                "none configured".to_string()
            } else {
                storage.drivers.join(", ")
            };
            let owner = if storage.owner.is_empty() {
                String::new()
            } else {
                format!(", {}", storage.owner)
            };
            line("Storage", &format!("{kind}{owner}"));
            for (k, v) in &storage.location {
                line(&format!("  {k}"), v);
            }
            if let Some(cloud) = &storage.cloud {
                line("  exists", &cloud.text());
            }
        }
        if self.management_state.is_some() {
            line(
                "Replicas",
                &format!("{}/{} ready", self.replicas.ready, self.replicas.desired),
            );
            line(
                "Read-only",
                if self.read_only {
                    "yes: pushes and deletes are refused"
                } else {
                    "no"
                },
            );
            line("Default route", if self.default_route { "enabled" } else { "disabled" });
        }
        if !self.settings.is_empty() {
            line("Settings", "");
            for s in &self.settings {
                line(&format!("  {}", s.name), &s.value);
            }
        }
        if let Some(progress) = &self.progress {
            let by = self.applied_by.as_deref().unwrap_or_default();
            match progress.not_applied.len() {
                0 => line("Applied", "every requested setting"),
                n => {
                    let settings = if n == 1 { "setting" } else { "settings" };
                    line("Not applied", &format!("{n} requested {settings}. {by}"));
                    for p in &progress.not_applied {
                        line(
                            &format!("  {}", p.setting),
                            &format!("{} (running: {})", p.requested, p.running),
                        );
                    }
                }
            }
            if let Some(rollout) = &progress.rollout {
                line("Rollout", rollout);
            }
        }
        if self.routes.is_empty() {
            line("Routes", "none");
        } else {
            line("Routes", "");
            for r in &self.routes {
                let admitted = match r.admitted {
                    Some(true) => "admitted",
                    Some(false) => "NOT admitted",
                    None => "not yet admitted",
                };
                line(
                    &format!("  {}", r.name),
                    &format!("{} ({admitted})", r.host.as_deref().unwrap_or("<router default>")),
                );
            }
        }
        if let Some(h) = &self.internal_hostname {
            line("Internal host", h);
        }
        for h in &self.external_hostnames {
            line("External host", h);
        }
        if !self.conditions.is_empty() {
            line("Conditions", "");
            out.push_str(&indent(&output::table(
                &["TYPE", "STATUS", "REASON", "MESSAGE"],
                &self
                    .conditions
                    .iter()
                    .map(|c| {
                        vec![
                            c.type_.clone(),
                            c.status.clone(),
                            c.reason.clone().unwrap_or_default(),
                            c.message.clone().unwrap_or_default().replace('\n', " "),
                        ]
                    })
                    .collect::<Vec<_>>(),
            )));
        }
        if self.missing.is_empty() {
            let _ = writeln!(out, "{:<18}nothing", "Missing:");
        } else {
            let _ = writeln!(out, "Missing:");
            for m in &self.missing {
                let _ = writeln!(out, "  - {}", m.problem);
                if let Some(fix) = &m.fix {
                    let _ = writeln!(out, "    fix: {fix}");
                }
            }
        }
        match &self.pruner {
            Some(p) => {
                let schedule = if p.default_schedule {
                    format!("{} (default)", p.schedule)
                } else {
                    p.schedule.clone()
                };
                let state = if p.suspended { "suspended" } else { "active" };
                let _ = writeln!(out, "{:<18}{schedule}, {state}", "Pruner:");
                let last = match &p.last_run {
                    Some(r) if r.succeeded => format!("{} succeeded {}", r.job, r.finished.as_deref().unwrap_or("")),
                    Some(r) => format!(
                        "{} FAILED {}: {}",
                        r.job,
                        r.finished.as_deref().unwrap_or(""),
                        r.message
                            .as_deref()
                            .or(r.reason.as_deref())
                            .unwrap_or("no reason given")
                    ),
                    None => "no finished run yet".into(),
                };
                let _ = writeln!(out, "{:<18}{}", "  last run:", last.trim_end());
            }
            None => {
                let _ = writeln!(
                    out,
                    "{:<18}not configured (imagepruners.imageregistry.operator.openshift.io/cluster is absent)",
                    "Pruner:"
                );
            }
        }
        if let Some(co) = &self.cluster_operator {
            let summary: Vec<String> = ["Available", "Progressing", "Degraded"]
                .iter()
                .map(|t| {
                    format!(
                        "{t}={}",
                        condition(&co.conditions, t).map_or("Unknown", |c| c.status.as_str())
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "{:<18}image-registry {}  {}",
                "ClusterOperator:",
                printable(co.version.as_deref().unwrap_or("(no version)")),
                printable(&summary.join("  "))
            );
            for c in co
                .conditions
                .iter()
                .filter(|c| (c.type_ == "Degraded" && c.is_true()) || (c.type_ == "Available" && !c.is_true()))
            {
                let _ = writeln!(
                    out,
                    "  {}: {} {}",
                    printable(&c.type_),
                    printable(c.reason.as_deref().unwrap_or("")),
                    printable(c.message.as_deref().unwrap_or(""))
                );
            }
        }
        out
    }
}

impl CloudReport {
    /// "yes, created by oc-registry, its 3 objects", "no", "unknown: …".
    fn text(&self) -> String {
        let Some(i) = &self.inspection else {
            return format!("unknown: {}", self.error.as_deref().unwrap_or_default());
        };
        if !i.exists {
            return "no".into();
        }
        let creator = match i.creator {
            Some(Creator::ThisProgram) => ", created by oc-registry",
            Some(Creator::Operator) => ", created by the Image Registry Operator",
            Some(Creator::Other) => ", not created by the cluster (adopted)",
            None => "",
        };
        let removal = i
            .removal_started
            .as_ref()
            .map(|t| format!(", a removal begun at {t} did not finish"))
            .unwrap_or_default();
        // How much it holds, when the cloud says (Resource Manager does not list blobs).
        let contents = match i.objects {
            Some(_) => format!(", {}", i.contents().trim_start_matches("its ")),
            None => String::new(),
        };
        format!("yes{creator}{contents}{removal}")
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
