//! Status conditions: the Config's (Available, Progressing, Degraded, Removed, StorageExists),
//! the ImagePruner's, and the `image-registry` ClusterOperator's aggregate of both. They follow
//! the operator's rules, except that an error applying any object is reported as Degraded too
//! (the operator shows it only under Progressing, where it is easily missed).

use crate::api::ManagementState;
use crate::api::{Condition, Route};
use crate::render::Problem;
use crate::state::jobs::last_pruner_run;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;

const UNMANAGED: &str = "The registry configuration is set to unmanaged mode";
/// How long the registry may be unavailable before that counts as degraded.
const UNAVAILABLE_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);

fn cond(type_: &str, status: bool, reason: &str, message: impl Into<String>) -> Condition {
    Condition {
        type_: type_.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: Some(reason.to_string()).filter(|r| !r.is_empty()),
        message: Some(message.into()).filter(|m: &String| !m.is_empty()),
        ..Condition::default()
    }
}

/// What the registry's conditions are computed from.
pub(crate) struct RegistryFacts<'a> {
    pub management_state: ManagementState,
    /// Render and apply problems of this pass.
    pub problems: &'a [Problem],
    pub deployment: Option<&'a Deployment>,
    pub routes: &'a [Route],
    /// Objects a teardown could not delete.
    pub remove_failures: &'a [String],
    pub previous: &'a [Condition],
    pub now: jiff::Timestamp,
}

pub(crate) fn registry_conditions(f: &RegistryFacts) -> Vec<Condition> {
    let unmanaged = f.management_state == ManagementState::Unmanaged;
    let removed = f.management_state == ManagementState::Removed;
    let permanent = f.problems.iter().find(|p| p.permanent);
    let errors: Vec<&str> = f.problems.iter().map(|p| p.message.as_str()).collect();
    let status = f.deployment.and_then(|d| d.status.clone()).unwrap_or_default();
    let terminating = f.deployment.is_some_and(|d| d.metadata.deletion_timestamp.is_some());
    let desired = f.deployment.and_then(|d| d.spec.as_ref()?.replicas).unwrap_or(1);
    let available_replicas = status.available_replicas.unwrap_or(0);
    let deployment_condition = |t: &str| status.conditions.iter().flatten().find(|c| c.type_ == t).cloned();

    let available = if unmanaged {
        cond("Available", true, "Unmanaged", UNMANAGED)
    } else if f.deployment.is_none() && permanent.is_some() {
        let p = permanent.unwrap();
        cond("Available", false, &p.reason, format!("Error: {}", p.message))
    } else if f.deployment.is_none() && removed {
        cond("Available", true, "Removed", "The registry is removed")
    } else if f.deployment.is_none() {
        cond(
            "Available",
            false,
            "DeploymentNotFound",
            "The deployment does not exist",
        )
    } else if terminating {
        cond(
            "Available",
            false,
            "DeploymentDeleted",
            "The deployment is being deleted",
        )
    } else if available_replicas == 0 {
        cond(
            "Available",
            false,
            "NoReplicasAvailable",
            "The deployment does not have available replicas",
        )
    } else if available_replicas != desired {
        cond(
            "Available",
            true,
            "MinimumAvailability",
            "The registry has minimum availability",
        )
    } else {
        cond("Available", true, "Ready", "The registry is ready")
    };

    let rollout_done = deployment_condition("Progressing")
        .is_some_and(|c| c.status == "True" && c.reason.as_deref() == Some("NewReplicaSetAvailable"))
        && status.observed_generation >= f.deployment.and_then(|d| d.metadata.generation)
        && status.updated_replicas.unwrap_or(0) == desired;
    let progressing = if unmanaged {
        cond("Progressing", false, "Unmanaged", UNMANAGED)
    } else if removed && f.deployment.is_some() {
        cond(
            "Progressing",
            true,
            "DeletingDeployment",
            "The deployment is being removed",
        )
    } else if removed {
        cond("Progressing", false, "Removed", "All registry resources are removed")
    } else if !errors.is_empty() {
        cond(
            "Progressing",
            permanent.is_none(),
            "Error",
            format!("Unable to apply resources: {}", errors.join("; ")),
        )
    } else if f.deployment.is_none() {
        cond(
            "Progressing",
            true,
            "WaitingForDeployment",
            "All resources are successfully applied, but the deployment does not exist",
        )
    } else if terminating {
        cond(
            "Progressing",
            true,
            "FinalizingDeployment",
            "The deployment is being deleted",
        )
    } else if !rollout_done {
        cond(
            "Progressing",
            true,
            "DeploymentNotCompleted",
            "The deployment has not completed",
        )
    } else {
        cond("Progressing", false, "Ready", "The registry is ready")
    };

    let unavailable_since = crate::api::condition(f.previous, "Available")
        .filter(|c| c.status == "False")
        .and_then(|c| c.last_transition_time.as_deref()?.parse::<jiff::Timestamp>().ok());
    let deadline =
        deployment_condition("Progressing").filter(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
    let not_admitted = route_problems(f.routes);
    let degraded = if unmanaged {
        cond("Degraded", false, "Unmanaged", UNMANAGED)
    } else if !f.remove_failures.is_empty() {
        cond(
            "Degraded",
            true,
            "RemoveFailed",
            format!("Unable to remove registry: {}", f.remove_failures.join("; ")),
        )
    } else if let Some(p) = permanent {
        cond("Degraded", true, &p.reason, format!("Error: {}", p.message))
    } else if removed {
        cond("Degraded", false, "Removed", "The registry is removed")
    } else if !errors.is_empty() {
        cond(
            "Degraded",
            true,
            "ApplyFailed",
            format!("Unable to apply resources: {}", errors.join("; ")),
        )
    } else if available.status == "False"
        && unavailable_since.is_some_and(|t| f.now.duration_since(t) > UNAVAILABLE_GRACE)
    {
        cond(
            "Degraded",
            true,
            "Unavailable",
            available.message.clone().unwrap_or_default(),
        )
    } else if let Some(c) = deadline {
        cond(
            "Degraded",
            true,
            "ProgressDeadlineExceeded",
            format!(
                "Registry deployment has timed out progressing: {}",
                c.message.unwrap_or_default()
            ),
        )
    } else if !not_admitted.is_empty() {
        cond("Degraded", true, "RouteDegraded", not_admitted.join(", "))
    } else {
        cond("Degraded", false, "", "")
    };

    let removed_condition = if removed {
        cond("Removed", true, "Removed", "The registry is removed")
    } else {
        cond("Removed", false, "", "")
    };
    vec![available, progressing, degraded, removed_condition]
}

fn route_problems(routes: &[Route]) -> Vec<String> {
    let mut out = Vec::new();
    for route in routes {
        let name = route.metadata.name.clone().unwrap_or_default();
        for ingress in route.status.iter().flat_map(|s| s.ingress.iter()) {
            let admitted = ingress.conditions.iter().find(|c| c.type_ == "Admitted");
            if let Some(c) = admitted.filter(|c| c.status != "True") {
                out.push(format!(
                    "route {name} (host {}, router {}) not admitted: {}",
                    ingress.host.clone().unwrap_or_default(),
                    ingress.router_name.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default()
                ));
            }
        }
    }
    out
}

/// The ImagePruner's conditions, from its CronJob and newest finished Job.
pub(crate) fn pruner_conditions(
    cronjob_exists: bool,
    suspended: bool,
    jobs: &[Job],
    sync_error: Option<&str>,
) -> Vec<Condition> {
    let available = if cronjob_exists {
        cond("Available", true, "AsExpected", "Pruner CronJob has been created")
    } else {
        cond("Available", false, "Error", "Pruner CronJob does not exist")
    };
    let last = last_pruner_run(jobs);
    let failed = match &last {
        Some(run) if !run.succeeded => cond(
            "Failed",
            true,
            run.reason.as_deref().unwrap_or("JobFailed"),
            run.message.clone().unwrap_or_default(),
        ),
        _ => cond("Failed", false, "Complete", "Pruner completed successfully"),
    };
    let scheduled = if suspended {
        cond("Scheduled", false, "Suspended", "The pruner job has been suspended")
    } else {
        cond("Scheduled", true, "Scheduled", "The pruner job has been scheduled")
    };
    let degraded = match (sync_error, &last) {
        (Some(e), _) => cond("Degraded", true, "SyncError", format!("Error: {e}")),
        (None, Some(run)) if !run.succeeded => cond(
            "Degraded",
            true,
            "JobFailed",
            run.message.clone().unwrap_or_else(|| "Job failed".into()),
        ),
        _ => cond("Degraded", false, "AsExpected", ""),
    };
    vec![available, failed, scheduled, degraded]
}

/// The ClusterOperator's Available, Progressing and Degraded, aggregated from the Config's and
/// the ImagePruner's conditions (the latter prefixed `ImagePruner`).
pub(crate) fn cluster_operator_conditions(config: &[Condition], pruner: &[Condition]) -> Vec<Condition> {
    let mut inputs: Vec<Condition> = config.to_vec();
    inputs.extend(pruner.iter().map(|c| Condition {
        type_: format!("ImagePruner{}", c.type_),
        ..c.clone()
    }));
    [("Available", "True"), ("Progressing", "False"), ("Degraded", "False")]
        .into_iter()
        .map(|(suffix, normal)| {
            let matching: Vec<&Condition> = inputs.iter().filter(|c| c.type_.ends_with(suffix)).collect();
            let status = matching
                .iter()
                .map(|c| c.status.as_str())
                .find(|s| *s != normal && *s != "Unknown")
                .or_else(|| matching.iter().any(|c| c.status == "Unknown").then_some("Unknown"))
                .unwrap_or(normal);
            let mut reasons: Vec<String> = matching
                .iter()
                .filter_map(|c| {
                    let r = c.reason.as_deref().filter(|r| !r.is_empty() && *r != "AsExpected")?;
                    Some(format!("{}{}", c.type_.strip_suffix(suffix).unwrap_or_default(), r))
                })
                .collect();
            reasons.sort();
            let reason = if reasons.is_empty() {
                "AsExpected".to_string()
            } else {
                reasons.join("::")
            };
            let message: Vec<String> = matching
                .iter()
                .flat_map(|c| {
                    let t = c.type_.clone();
                    c.message
                        .iter()
                        .flat_map(|m| m.lines().map(|l| format!("{t}: {l}")).collect::<Vec<_>>())
                        .collect::<Vec<_>>()
                })
                .collect();
            Condition {
                type_: suffix.into(),
                status: status.into(),
                reason: Some(reason),
                message: Some(message.join("\n")).filter(|m| !m.is_empty()),
                ..Condition::default()
            }
        })
        .collect()
}

/// Merges freshly computed conditions into the previous ones: a condition whose status did not
/// change keeps its transition time; conditions of other types are kept as they are.
pub fn merge(previous: &[Condition], fresh: Vec<Condition>, now: jiff::Timestamp) -> Vec<Condition> {
    let stamp = now.round(jiff::Unit::Second).unwrap_or(now).to_string();
    let mut out: Vec<Condition> = previous
        .iter()
        .filter(|p| !fresh.iter().any(|f| f.type_ == p.type_))
        .cloned()
        .collect();
    for mut c in fresh {
        let before = previous.iter().find(|p| p.type_ == c.type_);
        c.last_transition_time = match before {
            Some(p) if p.status == c.status && p.last_transition_time.is_some() => p.last_transition_time.clone(),
            _ => Some(stamp.clone()),
        };
        if let Some(p) = before {
            c.extra = p.extra.clone();
        }
        out.push(c);
    }
    out.sort_by(|a, b| a.type_.cmp(&b.type_));
    out
}

/// Whether two condition lists say the same thing (transition times included).
pub fn same(a: &[Condition], b: &[Condition]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(|x, y| x.type_.cmp(&y.type_));
    b.sort_by(|x, y| x.type_.cmp(&y.type_));
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_like_the_operator() {
        let config = vec![
            cond("Available", true, "Removed", "The registry is removed"),
            cond("Progressing", false, "Removed", "All registry resources are removed"),
            cond("Degraded", false, "Removed", "The registry is removed"),
        ];
        let pruner = pruner_conditions(true, false, &[], None);
        let mut failed = pruner.clone();
        failed[3] = cond(
            "Degraded",
            true,
            "JobFailed",
            "Job has reached the specified backoff limit",
        );
        let co = cluster_operator_conditions(&config, &failed);
        let degraded = &co[2];
        assert_eq!(degraded.status, "True");
        assert_eq!(degraded.reason.as_deref(), Some("ImagePrunerJobFailed::Removed"));
        assert!(
            degraded
                .message
                .as_deref()
                .unwrap()
                .contains("Degraded: The registry is removed")
        );
        let co = cluster_operator_conditions(&config, &pruner);
        assert_eq!(co[0].status, "True");
        assert_eq!(co[0].reason.as_deref(), Some("Removed"));
    }
}
