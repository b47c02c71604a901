//! `doctor`'s diagnosis: every known way the registry goes wrong quietly, read from the cluster
//! and reported as findings with the command that fixes each. Nothing is written.

mod progress;
pub mod settings;

pub use crate::cluster::retry;
use progress::Pending;

use crate::api::ManagementState;
use crate::api::{CLOUD_CREDENTIALS, Condition, Config, REGISTRY_NAMESPACE, Storage, USER_CREDENTIALS};
use crate::configure::checks;
use crate::configure::{credentials, trust};
use crate::state::jobs::last_pruner_run;
use crate::state::references::References;
use crate::state::{Observed, is_owned_route};
use crate::validate::{Finding, Severity};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret};
use kube::api::ListParams;
use kube::{Api, Client};
use std::collections::{BTreeMap, BTreeSet};

/// Everything the diagnosis reads.
#[derive(Debug, Default)]
pub struct Evidence {
    pub observed: Observed,
    pub references: References,
    /// Key names of the user's and the cloud's storage credentials, when the Secrets exist.
    pub user_credentials: Option<BTreeSet<String>>,
    pub cloud_credentials: Option<BTreeSet<String>>,
    /// The CA ConfigMap the Image config names: its data in openshift-config, and the other
    /// namespaces holding a ConfigMap of that name.
    pub trusted_ca: Option<TrustedCa>,
    /// What the pruner policy decides for `--prune-registry`, and why.
    pub prune_registry: Option<(bool, String)>,
    /// The claim a Removed registry would delete, as it is.
    pub claim_to_remove: Option<PersistentVolumeClaim>,
    /// The step between what is requested and what runs.
    pub progress: Option<Progress>,
    /// Who applies requested changes when it is not the user (a running operator or reconciler).
    pub applied_by: Option<String>,
    /// The Image Registry Operator's ready and desired replicas, while it runs.
    pub operator: Option<(i32, i32)>,
    /// What the storage's cloud says about it, for storage in a cloud.
    pub cloud: Option<Result<crate::storage::cloud::Inspection, crate::storage::cloud::CloudError>>,
}

#[derive(Debug, Default)]
pub struct TrustedCa {
    pub name: String,
    pub data: Option<BTreeMap<String, String>>,
    pub elsewhere: Vec<String>,
}

impl Evidence {
    pub async fn gather(client: &Client, observed: Observed) -> Result<Evidence, kube::Error> {
        let spec = observed.config.as_ref().map(|c| c.spec.clone()).unwrap_or_default();
        let secrets = Api::<Secret>::namespaced(client.clone(), REGISTRY_NAMESPACE);
        let key_names = |s: Secret| -> BTreeSet<String> { s.data.into_iter().flat_map(|d| d.into_keys()).collect() };
        let ca_name = observed
            .image_config
            .as_ref()
            .and_then(|i| i.spec.additional_trusted_ca.as_ref())
            .map(|n| n.name.clone())
            .filter(|n| !n.is_empty());
        let no_config = Config::new(crate::api::CLUSTER, Default::default());
        let config = observed.config.as_ref().unwrap_or(&no_config);
        let (references, user, cloud, trusted_ca, claim_to_remove) = tokio::try_join!(
            References::gather(client, &spec, checks::referenced(&spec)),
            retry(|| secrets.get_opt(USER_CREDENTIALS)),
            retry(|| secrets.get_opt(CLOUD_CREDENTIALS)),
            async {
                let Some(name) = ca_name else { return Ok(None) };
                let maps = Api::<ConfigMap>::all(client.clone());
                let named = ListParams::default().fields(&format!("metadata.name={name}"));
                let all = retry(|| maps.list(&named)).await?;
                let mut ca = TrustedCa {
                    name: name.clone(),
                    ..TrustedCa::default()
                };
                for cm in all.items {
                    match cm.metadata.namespace.as_deref() {
                        Some(crate::api::OPENSHIFT_CONFIG) => ca.data = Some(cm.data.unwrap_or_default()),
                        Some(other) => ca.elsewhere.push(other.to_string()),
                        None => {}
                    }
                }
                Ok(Some(ca))
            },
            crate::reconcile::teardown::read_claim(client, config),
        )?;
        Ok(Evidence {
            observed,
            references,
            user_credentials: user.map(key_names),
            cloud_credentials: cloud.map(key_names),
            trusted_ca,
            prune_registry: None,
            claim_to_remove,
            progress: None,
            applied_by: None,
            operator: None,
            cloud: None,
        })
    }
}

fn error(field: &str, message: impl Into<String>, fix: impl Into<Option<String>>) -> Finding {
    Finding {
        severity: Severity::Error,
        field: field.into(),
        message: message.into(),
        fix: fix.into(),
    }
}

fn warning(field: &str, message: impl Into<String>, fix: impl Into<Option<String>>) -> Finding {
    Finding {
        severity: Severity::Warning,
        ..error(field, message, fix)
    }
}

/// Every finding, errors first.
pub fn diagnose(e: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(config) = &e.observed.config else {
        out.push(error(
            "configs.imageregistry.operator.openshift.io/cluster",
            "the registry Config does not exist: there is no registry",
            "oc-registry bootstrap".to_string(),
        ));
        return out;
    };
    let spec = &config.spec;
    let state = spec.management_state.as_ref();
    out.extend(checks::config(spec, &e.references));
    let storage = spec.storage.clone().unwrap_or_default();
    management_findings(config, state, &storage, e, &mut out);
    if state == Some(&ManagementState::Managed) {
        credential_findings(&storage, e, &mut out);
        out.extend(condition_findings(
            config
                .status
                .as_ref()
                .map(|s| s.conditions.as_slice())
                .unwrap_or_default(),
        ));
        registry_findings(e, spec.replicas, &mut out);
        cloud_findings(&storage, e.cloud.as_ref(), &mut out);
        if let Some(progress) = &e.progress {
            progress_findings(progress, e.applied_by.as_deref(), &mut out);
        }
    }
    if spec.replicas > 2
        && spec.affinity.is_none()
        && spec.node_selector.as_ref().is_some_and(|s| !s.is_empty())
        && spec.topology_spread_constraints.is_none()
    {
        out.push(warning(
            "spec.replicas",
            format!(
                "{} replicas with a node selector and no affinity: nothing keeps the pods on different nodes or zones",
                spec.replicas
            ),
            "oc-registry set topology-spread topology.kubernetes.io/zone:1:ScheduleAnyway kubernetes.io/hostname:1:ScheduleAnyway".to_string(),
        ));
    }
    cluster_operator_findings(e, &mut out);
    pruner_findings(e, state, &mut out);
    trusted_ca_findings(e, &mut out);
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn management_findings(
    config: &crate::api::Config,
    state: Option<&ManagementState>,
    storage: &Storage,
    e: &Evidence,
    out: &mut Vec<Finding>,
) {
    let claim = e.claim_to_remove.as_ref();
    match state {
        Some(ManagementState::Removed) => {
            let fix = if crate::storage::block_names(storage).is_empty() {
                "oc-registry storage set pvc (or another driver), then: oc-registry set management-state Managed"
            } else {
                "oc-registry set management-state Managed"
            };
            out.push(warning(
                "spec.managementState",
                "the registry is Removed: nothing serves images, and image streams, builds and deployments using them may fail",
                fix.to_string(),
            ));
            let cloud = crate::reconcile::teardown::claim_to_remove(config).is_none();
            match crate::reconcile::teardown::storage_loss(config, claim) {
                Ok(Some(loss)) => {
                    let by = e
                        .operator
                        .map(|(ready, desired)| {
                            format!(" by the running Image Registry Operator ({ready}/{desired} ready)")
                        })
                        .unwrap_or_default();
                    out.push(error(
                        "spec.storage.managementState",
                        format!("the registry is Removed with Managed storage: {}{by}", loss.description),
                        "oc-registry set storage-management-state Unmanaged".to_string(),
                    ))
                }
                // oc-registry leaves cloud storage in place; the operator, if it runs, deletes it.
                Err(note) if cloud && e.operator.is_some() => {
                    let (ready, desired) = e.operator.unwrap_or_default();
                    out.push(error(
                        "spec.storage.managementState",
                        format!(
                            "the registry is Removed with Managed cloud storage: {note}; the running Image Registry \
                             Operator ({ready}/{desired} ready) deletes it and every image in it"
                        ),
                        "oc-registry set storage-management-state Unmanaged".to_string(),
                    ))
                }
                Err(note) if cloud => out.push(warning(
                    "spec.storage.managementState",
                    format!("the registry is Removed with Managed cloud storage: {note}; the Image Registry Operator would delete it"),
                    "oc-registry set storage-management-state Unmanaged".to_string(),
                )),
                // A claim the registry did not create is never deleted.
                Err(note) => out.push(warning(
                    "spec.storage.managementState",
                    format!("the registry is Removed with Managed storage it did not create: {note}"),
                    "oc-registry set storage-management-state Unmanaged".to_string(),
                )),
                Ok(None) => {}
            }
        }
        Some(ManagementState::Unmanaged) => out.push(warning(
            "spec.managementState",
            "the registry is Unmanaged: nothing is reconciled, and Available/Degraded say nothing about the registry itself",
            "oc-registry set management-state Managed".to_string(),
        )),
        Some(ManagementState::Managed) => {}
        other => out.push(error(
            "spec.managementState",
            format!(
                "{:?} is not Managed, Removed or Unmanaged: the registry is left as it is",
                other.map_or("", |s| s.as_str())
            ),
            "oc-registry set management-state Managed".to_string(),
        )),
    }
    let s3_compatible = storage
        .s3
        .as_ref()
        .is_some_and(|s| s.region_endpoint.as_deref().is_some_and(|e| !e.is_empty()));
    if s3_compatible && storage.management_state == Some(ManagementState::Managed) {
        out.push(warning(
            "spec.storage.managementState",
            "S3-compatible storage (regionEndpoint set) is Managed: AWS-only calls (encryption, public access block, lifecycle) fail against it",
            "oc-registry set storage-management-state Unmanaged".to_string(),
        ));
    }
}

fn credential_findings(storage: &Storage, e: &Evidence, out: &mut Vec<Finding>) {
    let Some(driver) = crate::storage::configured(storage).first().copied() else {
        return;
    };
    let Some(first_set) = driver.credential_sets().first() else {
        return;
    };
    let name = driver.command_name();
    let set = || {
        let names: Vec<String> = first_set.iter().map(|n| format!("{n}=@FILE")).collect();
        format!("oc-registry storage credentials set {name} {}", names.join(" "))
    };
    match &e.user_credentials {
        // The user's Secret, when it exists, is used alone: it must be complete.
        Some(present) if !credentials::is_complete(driver, present) => {
            let wanted = credentials::missing_keys(driver, present);
            out.push(error(
                "secret/image-registry-private-configuration-user",
                format!(
                    "does not contain the keys {name} storage needs: {} (it is used instead of the cloud credentials, not merged with them)",
                    wanted.join(", ")
                ),
                set(),
            ));
        }
        Some(_) => {}
        None if e.cloud_credentials.as_ref().is_none_or(BTreeSet::is_empty) && name != "swift" => {
            out.push(error(
                "secret/installer-cloud-credentials",
                format!("no credentials for {name} storage: neither the user's nor the cloud's Secret exists"),
                set(),
            ));
        }
        None => {}
    }
}

fn condition_findings(conditions: &[Condition]) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in conditions {
        let message = c.message.clone().unwrap_or_default();
        let reason = c.reason.clone().unwrap_or_default();
        let field = format!("status.conditions[{}]", c.type_);
        match c.type_.as_str() {
            // Apply errors the operator reports only here, with Available still True.
            "Progressing" if c.is_true() && (reason == "Error" || message.contains("Unable to apply")) => {
                out.push(error(&field, format!("hidden in Progressing: {message}"), None));
            }
            "Degraded" if c.is_true() => out.push(error(&field, format!("{reason}: {message}"), None)),
            "Available" if !c.is_true() => out.push(error(&field, format!("{reason}: {message}"), None)),
            t if t.starts_with("Storage") && c.status == "False" => {
                out.push(error(&field, format!("{reason}: {message}"), None));
            }
            _ => {}
        }
    }
    out
}

/// A bucket that does not exist, or that its cloud would not describe.
fn cloud_findings(
    storage: &Storage,
    cloud: Option<&Result<crate::storage::cloud::Inspection, crate::storage::cloud::CloudError>>,
    out: &mut Vec<Finding>,
) {
    let what = crate::storage::cloud_name(storage);
    match cloud {
        Some(Ok(i)) if !i.exists && storage.management_state == Some(ManagementState::Managed) => out.push(warning(
            "spec.storage",
            format!("the {what} does not exist yet: the registry cannot start without it"),
            "oc-registry reconcile (creates it)".to_string(),
        )),
        Some(Ok(i)) if !i.exists => out.push(error(
            "spec.storage",
            format!("the {what} you named does not exist, and Unmanaged storage is never created"),
            "create it, name another (oc-registry storage set s3 --bucket NAME), or let reconcile create it: \
             oc-registry set storage-management-state Managed"
                .to_string(),
        )),
        Some(Err(e)) => out.push(warning(
            "spec.storage",
            format!("cannot check the {what}: {}", e.message),
            None,
        )),
        _ => {}
    }
}

/// Settings requested and not applied, and a rollout that has not finished.
fn progress_findings(progress: &Progress, applied_by: Option<&str>, out: &mut Vec<Finding>) {
    for p in &progress.not_applied {
        let message = format!(
            "requested but not applied yet: {} (running: {}){}",
            p.requested,
            p.running,
            applied_by.map(|a| format!(". {a}")).unwrap_or_default()
        );
        let fix = applied_by.is_none().then(|| "oc-registry reconcile".to_string());
        out.push(warning(p.setting, message, fix));
    }
    if let Some(rollout) = &progress.rollout {
        let fix = "kubectl rollout status deployment/image-registry -n openshift-image-registry".to_string();
        let message = format!("the registry's rollout: {rollout}");
        out.push(if rollout.starts_with("failed") {
            error("deployment/image-registry", message, fix)
        } else {
            warning("deployment/image-registry", message, fix)
        });
    }
}

fn registry_findings(e: &Evidence, replicas: i32, out: &mut Vec<Finding>) {
    match &e.observed.deployment {
        None => out.push(error(
            "deployment/image-registry",
            "the registry's Deployment does not exist",
            "oc-registry reconcile".to_string(),
        )),
        Some(d) => {
            let ready = d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
            if ready < replicas {
                out.push(warning(
                    "deployment/image-registry",
                    format!("{ready} of {replicas} registry pods are ready"),
                    "kubectl get pods -n openshift-image-registry -l docker-registry=default".to_string(),
                ));
            }
        }
    }
    for route in e.observed.routes.iter().filter(|r| is_owned_route(r)) {
        let name = route.metadata.name.clone().unwrap_or_default();
        for ingress in route.status.iter().flat_map(|s| &s.ingress) {
            if let Some(c) = ingress
                .conditions
                .iter()
                .find(|c| c.type_ == "Admitted" && !c.is_true())
            {
                out.push(error(
                    &format!("route/{name}"),
                    format!(
                        "not admitted by router {}: {}",
                        ingress.router_name.as_deref().unwrap_or("?"),
                        c.message
                            .as_deref()
                            .or(c.reason.as_deref())
                            .unwrap_or("no reason given")
                    ),
                    format!("oc-registry routes add {name} --hostname HOST --overwrite"),
                ));
            }
        }
    }
}

fn cluster_operator_findings(e: &Evidence, out: &mut Vec<Finding>) {
    let Some(co) = &e.observed.cluster_operator else { return };
    let conditions = co.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    if let Some(c) = conditions.iter().find(|c| c.type_ == "Degraded" && c.is_true()) {
        // Reasons of several sub-controllers are joined with "::" (ImagePrunerJobFailed::Removed).
        let reasons: Vec<&str> = c.reason.as_deref().unwrap_or_default().split("::").collect();
        let fix = reasons
            .contains(&"ImagePrunerJobFailed")
            .then(|| "oc-registry pruner status, then: oc-registry pruner clear-failed".to_string());
        out.push(error(
            "clusteroperator/image-registry",
            format!(
                "Degraded by {}: {}",
                reasons.join(", "),
                c.message.as_deref().unwrap_or_default()
            ),
            fix,
        ));
    }
}

fn pruner_findings(e: &Evidence, state: Option<&ManagementState>, out: &mut Vec<Finding>) {
    let Some(pruner) = &e.observed.pruner else {
        out.push(warning(
            "imagepruner/cluster",
            "the ImagePruner does not exist: images are never pruned",
            "oc-registry bootstrap".to_string(),
        ));
        return;
    };
    out.extend(checks::pruner(&pruner.spec));
    if let Some(run) = last_pruner_run(&e.observed.pruner_jobs).filter(|r| !r.succeeded) {
        out.push(error(
            "imagepruner/cluster",
            format!(
                "the last pruner job {} failed: {} (it keeps the registry's ClusterOperator Degraded)",
                run.job,
                run.message
                    .as_deref()
                    .or(run.reason.as_deref())
                    .unwrap_or("no reason given")
            ),
            "fix the cause, then: oc-registry pruner clear-failed (or oc-registry pruner suspend)".to_string(),
        ));
    }
    if pruner.spec.suspend == Some(true) {
        out.push(warning(
            "imagepruner/cluster",
            "the pruner is suspended: images are never pruned",
            "oc-registry pruner resume".to_string(),
        ));
    } else if e.observed.pruner_cronjob.is_none() {
        out.push(warning(
            "cronjob/image-pruner",
            "the pruner's CronJob does not exist",
            "oc-registry reconcile".to_string(),
        ));
    }
    if let Some((false, reason)) = &e.prune_registry
        && state == Some(&ManagementState::Managed)
    {
        out.push(warning(
            "imagepruner/cluster",
            format!("the registry is Managed but the pruner runs with --prune-registry=false: {reason}"),
            "oc-registry reconcile (it publishes the registry's hostname)".to_string(),
        ));
    }
}

fn trusted_ca_findings(e: &Evidence, out: &mut Vec<Finding>) {
    let Some(ca) = &e.trusted_ca else { return };
    let field = "image.config.openshift.io/cluster spec.additionalTrustedCA";
    let Some(data) = &ca.data else {
        let elsewhere = if ca.elsewhere.is_empty() {
            String::new()
        } else {
            format!(
                " (one exists in {}: it must be in openshift-config)",
                ca.elsewhere.join(", ")
            )
        };
        out.push(error(
            field,
            format!(
                "names ConfigMap openshift-config/{}, which does not exist{elsewhere}",
                ca.name
            ),
            "oc-registry trust add HOST[:PORT] --ca-file CA.pem".to_string(),
        ));
        return;
    };
    for (key, pem) in data {
        let cm_field = format!("configmap/{} key {key:?}", ca.name);
        let host = trust::key_host(key);
        if key.contains(':') {
            out.push(error(
                &cm_field,
                "':' cannot be used in a key; the port follows two dots (host..5000), so this CA is never used",
                format!("oc-registry trust remove {key} && oc-registry trust add {key} --ca-file CA.pem"),
            ));
            continue;
        }
        if let Err(e) = trust::host_key(&host) {
            out.push(error(&cm_field, e, None));
            continue;
        }
        match trust::check_bundle(pem) {
            Err(e) => out.push(error(
                &cm_field,
                e,
                format!("oc-registry trust add {host} --ca-file CA.pem"),
            )),
            Ok((_, warnings)) => {
                for w in warnings {
                    out.push(warning(
                        &cm_field,
                        w,
                        format!("oc-registry trust add {host} --ca-file CA.pem"),
                    ));
                }
            }
        }
    }
}

/// The exit status for a diagnosis: 0 nothing found, 2 warnings only, 3 an error.
pub fn exit_code(findings: &[Finding]) -> u8 {
    match findings.iter().map(|f| f.severity).max() {
        None => 0,
        Some(Severity::Warning) => 2,
        Some(Severity::Error) => 3,
    }
}

/// What the Config asks for, set beside what runs: the step between them, and what the
/// storage's cloud holds.
pub struct Requested {
    pub progress: Progress,
    pub cloud: Option<Result<crate::storage::cloud::Inspection, crate::storage::cloud::CloudError>>,
}

/// One read of what the Config renders from serves both comparisons. `None` when there is no
/// Config, or a Removed one.
pub async fn requested(client: &Client, observed: &Observed) -> anyhow::Result<Option<Requested>> {
    let Some(config) = observed.config.as_ref().filter(|c| {
        matches!(
            c.spec.management_state,
            Some(ManagementState::Managed | ManagementState::Unmanaged)
        )
    }) else {
        return Ok(None);
    };
    let inputs = crate::render::inputs::gather(client, config.clone(), Default::default()).await?;
    Ok(Some(Requested {
        progress: progress(config, observed, &inputs),
        cloud: cloud_storage(config, &inputs).await,
    }))
}

/// The step between what the Config asks for and what runs.
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Requested settings the registry's objects do not hold yet.
    pub not_applied: Vec<Pending>,
    /// How far the registry's pods are from running what its Deployment holds, until they do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<String>,
}

/// Renders the Config (Managed or Unmanaged) as reconcile would, without completing it, from
/// `inputs`, and compares the result with the registry that runs.
fn progress(config: &Config, observed: &Observed, inputs: &crate::render::inputs::Inputs) -> Progress {
    use crate::render::{self, Kind};
    let spec = &config.spec;
    let live = observed
        .deployment
        .as_ref()
        .map(|d| serde_json::to_value(d).unwrap_or_default());
    let mut out = Progress::default();
    match &live {
        None if spec.management_state != Some(ManagementState::Managed) => {}
        None => out.not_applied.push(Pending {
            setting: "spec.managementState",
            requested: "Managed".into(),
            running: "no registry Deployment".into(),
        }),
        Some(live) => {
            let rendered = render::render(inputs);
            if let Some(deployment) = rendered.find(Kind::Deployment, render::DEPLOYMENT) {
                out.not_applied
                    .extend(progress::pending(spec, &deployment.object, live));
            }
            out.rollout = progress::rollout(live);
        }
    }
    let owned: Vec<String> = observed
        .routes
        .iter()
        .filter(|r| is_owned_route(r))
        .filter_map(|r| r.metadata.name.clone())
        .collect();
    out.not_applied
        .extend(progress::pending_routes(&render::wanted_routes(spec), &owned));
    out
}

/// What the storage's cloud says about it (does the bucket exist, who created it, how much it
/// holds), for drivers whose storage lives in a cloud; `inputs` are what
/// `render::inputs::gather` reads for `config`. `None` when there is nothing to ask.
async fn cloud_storage(
    config: &Config,
    inputs: &crate::render::inputs::Inputs,
) -> Option<Result<crate::storage::cloud::Inspection, crate::storage::cloud::CloudError>> {
    use crate::reconcile::provision;
    let storage = config.spec.storage.as_ref()?;
    let cloud = provision::cloud_of(Some(storage))?;
    // Values nobody checked are reported as such; they never reach the cloud.
    if !checks::value_errors(&config.spec).is_empty() {
        return None;
    }
    Some(cloud.inspect(storage, provision::reading_context(inputs)).await)
}
