//! A Managed pass decided without I/O: from the rendering inputs and the snapshot they came from,
//! the objects to apply, the owned objects no longer wanted, what keeps parts of the registry
//! from rendering, and the pruner's decision. `reconcile`, `diff` and the offline `render` all
//! plan with these functions, so they cannot disagree.

use super::bootstrap::claim as claim_object;
use crate::api::ManagementState;
use crate::api::{DEFAULT_CLAIM, REGISTRY_NAMESPACE, REMOVED_ALERT_RULE};
use crate::configure::checks;
use crate::policy::Policies;
use crate::policy::sdk::{PrunerDecision, PvcRequest};
use crate::render::inputs::Inputs;
use crate::render::{self, Desired, Kind, Problem, pruner_objects};
use crate::state::facts::pruner_input_of;
use crate::state::references::created_by_registry;
use crate::state::snapshot::Snapshot;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;

/// Everything a Managed pass would write, before anything is written.
#[derive(Debug, Default)]
pub struct Plan {
    pub objects: Vec<Desired>,
    /// Owned objects no longer wanted.
    pub stale: Vec<(Kind, String)>,
    pub problems: Vec<Problem>,
    /// Whether the storage rendered and exists as configured.
    pub storage_ok: bool,
    pub pruner: Option<PrunerDecision>,
    pub pruner_error: Option<String>,
}

/// Plans a Managed registry. The Config in `inputs` must have been completed.
pub fn managed(inputs: &Inputs, snapshot: &Snapshot, policies: &Policies) -> Plan {
    // Values nobody checked (written with kubectl, by another tool) reach no object: the Config's
    // values are checked as `set` checks them, and an invalid one stops the pass here.
    let invalid: Vec<Problem> = checks::value_errors(&inputs.config.spec)
        .into_iter()
        .map(|f| Problem::permanent("VerificationFailed", format!("{}: {}", f.field, f.message)))
        .collect();
    if !invalid.is_empty() {
        return Plan {
            problems: invalid,
            ..Plan::default()
        };
    }
    let mut plan = Plan {
        storage_ok: true,
        ..Plan::default()
    };
    match claim(inputs, snapshot.claim.as_ref()) {
        Ok(Some(claim)) => plan.objects.push(claim),
        Ok(None) => {}
        Err(p) => {
            plan.storage_ok = false;
            plan.problems.push(p);
        }
    }
    let rendered = render::render(inputs);
    plan.storage_ok &= rendered.storage_ok;
    plan.problems.extend(rendered.problems.iter().cloned());
    plan.objects.extend(rendered.objects.iter().cloned());

    // The pruner is decided on the hostname the Image config will hold once the Service is
    // applied, so that one pass converges.
    let hostname = rendered
        .find(Kind::Service, "image-registry")
        .map(|_| render::SERVICE_HOST);
    let (decision, objects) = pruner(inputs, snapshot, policies, hostname);
    plan.pruner = decision;
    match objects {
        Ok(objects) => plan.objects.extend(objects),
        Err(e) => plan.pruner_error = Some(e),
    }

    // Routes dropped from the Config, and the removal alert once the registry is back. A Route
    // still asked for stays even when it cannot be rendered now (its problem is reported).
    let wanted = render::wanted_routes(&inputs.config.spec);
    for route in &snapshot.owned_routes {
        let name = route.metadata.name.clone().unwrap_or_default();
        if !wanted.contains(&name) {
            plan.stale.push((Kind::Route, name));
        }
    }
    if snapshot.removed_alert {
        plan.stale.push((Kind::PrometheusRule, REMOVED_ALERT_RULE.to_string()));
    }
    plan
}

/// The pruner's decision and its objects. `hostname` overrides the registry hostname the Image
/// config reports (a Managed pass decides on the one it is about to serve).
pub fn pruner(
    inputs: &Inputs,
    snapshot: &Snapshot,
    policies: &Policies,
    hostname: Option<&str>,
) -> (Option<PrunerDecision>, Result<Vec<Desired>, String>) {
    let pruner = serde_json::to_value(&inputs.pruner).unwrap_or_default();
    let input = pruner_input_of(Some(&inputs.config), pruner, snapshot.image.as_ref(), hostname);
    let decision = match policies.pruner(&input) {
        Ok(decided) => decided.decision,
        Err(e) => return (None, Err(format!("{e:#}"))),
    };
    let objects = pruner_objects(inputs, &decision).map_err(|p| p.message);
    (Some(decision), objects)
}

/// What a Removed or Unmanaged registry keeps besides the pruner, as the operator's side
/// controllers keep it: the CA ConfigMaps and node-ca. A Removed registry has no Service and
/// trusts no storage; an Unmanaged one is described by the Service and storage as they are.
pub fn kept_trust(inputs: &Inputs) -> render::Rendered {
    let removed = inputs.config.spec.management_state == Some(ManagementState::Removed);
    let storage_ca = (!removed).then(|| render::storage_ca(inputs)).flatten();
    let service_port = inputs.live_service_port.filter(|_| !removed);
    render::trust(
        inputs,
        render::Trust {
            service_port,
            storage_ca: storage_ca.as_deref(),
        },
    )
}

/// PVC storage: the default claim is created when absent (returned, to apply); the claim's
/// access modes must suit the replicas and rollout strategy. `existing` is the claim the Config
/// names, when it exists.
pub fn claim(inputs: &Inputs, existing: Option<&PersistentVolumeClaim>) -> Result<Option<Desired>, Problem> {
    let spec = &inputs.config.spec;
    let Some(pvc) = spec.storage.as_ref().and_then(|s| s.pvc.as_ref()) else {
        return Ok(None);
    };
    let claim = pvc.claim.clone().unwrap_or_default();
    let managed = spec.storage.as_ref().and_then(|s| s.management_state.as_ref()) == Some(&ManagementState::Managed);
    let mut create = None;
    let modes = match existing {
        None if claim == DEFAULT_CLAIM && managed => {
            let request = PvcRequest {
                name: claim.clone(),
                access_modes: vec!["ReadWriteMany".into()],
                size: "100Gi".into(),
                storage_class_name: None,
            };
            create = Some(claim_object(&request));
            request.access_modes
        }
        None => {
            return Err(Problem::new(
                "Error",
                format!(
                    "PVC {claim} does not exist in namespace {REGISTRY_NAMESPACE}; create it or set spec.storage.pvc.claim"
                ),
            ));
        }
        Some(p) => {
            if claim == DEFAULT_CLAIM && managed && !created_by_registry(p) {
                return Err(Problem::new(
                    "Error",
                    "could not create default PVC, it already exists and is not owned by the operator",
                ));
            }
            p.spec.as_ref().and_then(|s| s.access_modes.clone()).unwrap_or_default()
        }
    };
    let verdict = crate::storage::access_verdict(&modes, spec.replicas, spec.rollout_strategy.as_ref());
    verdict.problem(&claim).map_or(Ok(create), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Config, Infrastructure, InfrastructureSpec, REGISTRY_ANNOTATION};
    use serde_json::json;

    fn inputs(storage: serde_json::Value, replicas: i32, strategy: &str) -> Inputs {
        let config: Config = serde_json::from_value(json!({
            "metadata": {"name": "cluster"},
            "spec": {"managementState": "Managed", "replicas": replicas, "rolloutStrategy": strategy, "storage": storage},
        }))
        .unwrap();
        Inputs::from_snapshot(
            config,
            &Snapshot {
                infrastructure: Some(Infrastructure::new("cluster", InfrastructureSpec::default())),
                ..Snapshot::default()
            },
            Default::default(),
        )
    }

    fn pvc(modes: &[&str], owned: bool) -> PersistentVolumeClaim {
        let annotations = if owned {
            json!({REGISTRY_ANNOTATION: "true"})
        } else {
            json!({})
        };
        serde_json::from_value(json!({
            "metadata": {"name": "c", "annotations": annotations},
            "spec": {"accessModes": modes},
        }))
        .unwrap()
    }

    #[test]
    fn claims() {
        let managed_default = json!({"pvc": {"claim": DEFAULT_CLAIM}, "managementState": "Managed"});
        let users = json!({"pvc": {"claim": "team-data"}, "managementState": "Unmanaged"});
        let rwx = pvc(&["ReadWriteMany"], false);
        let rwo_owned = pvc(&["ReadWriteOnce"], true);
        let rwop = pvc(&["ReadWriteOncePod"], false);
        // (storage, replicas, strategy, existing claim, creates a claim, problem containing)
        type Case<'a> = (
            serde_json::Value,
            i32,
            &'a str,
            Option<&'a PersistentVolumeClaim>,
            bool,
            Option<&'a str>,
        );
        let cases: Vec<Case> = vec![
            (managed_default.clone(), 2, "RollingUpdate", None, true, None),
            (
                managed_default.clone(),
                2,
                "RollingUpdate",
                Some(&rwx),
                false,
                Some("not owned by the operator"),
            ),
            (managed_default.clone(), 1, "Recreate", Some(&rwo_owned), false, None),
            (
                managed_default.clone(),
                2,
                "Recreate",
                Some(&rwo_owned),
                false,
                Some("more than one replica"),
            ),
            (
                users.clone(),
                2,
                "RollingUpdate",
                None,
                false,
                Some("PVC team-data does not exist"),
            ),
            (users.clone(), 3, "RollingUpdate", Some(&rwx), false, None),
            (users.clone(), 1, "Recreate", Some(&rwop), false, None),
            (
                users.clone(),
                1,
                "RollingUpdate",
                Some(&rwop),
                false,
                Some("RollingUpdate rollout strategy"),
            ),
            (json!({"emptyDir": {}}), 1, "RollingUpdate", None, false, None),
        ];
        for (storage, replicas, strategy, existing, creates, problem) in cases {
            let got = claim(&inputs(storage.clone(), replicas, strategy), existing);
            match (problem, got) {
                (None, Ok(created)) => assert_eq!(created.is_some(), creates, "{storage} {replicas} {strategy}"),
                (Some(want), Err(p)) => assert!(p.message.contains(want), "{storage}: {}", p.message),
                (want, got) => panic!("{storage} {replicas} {strategy}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn stale_routes_and_the_removal_alert_are_planned_for_deletion() {
        let policies = Policies::load(None, None).unwrap();
        let route = |name: &str| -> crate::api::Route {
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": REGISTRY_NAMESPACE, "annotations": {"imageregistry.openshift.io": "true"}},
                "spec": {"to": {"kind": "Service", "name": "image-registry"}},
            }))
            .unwrap()
        };
        let mut config_inputs = inputs(
            json!({"emptyDir": {}, "managementState": "Managed"}),
            1,
            "RollingUpdate",
        );
        config_inputs.config.spec.routes = Some(vec![crate::api::ExtraRoute {
            name: "kept".into(),
            ..Default::default()
        }]);
        let snapshot = Snapshot {
            owned_routes: vec![route("kept"), route("dropped")],
            removed_alert: true,
            ..Snapshot::default()
        };
        let plan = managed(&config_inputs, &snapshot, &policies);
        assert_eq!(
            plan.stale,
            vec![
                (Kind::Route, "dropped".to_string()),
                (Kind::PrometheusRule, REMOVED_ALERT_RULE.to_string())
            ]
        );
        assert!(plan.storage_ok);
        assert!(plan.pruner.is_some());

        // A Route still asked for stays even when its TLS Secret is gone: it is not rendered,
        // the problem says why, and the live Route is left as it is.
        config_inputs.config.spec.routes = Some(vec![crate::api::ExtraRoute {
            name: "kept".into(),
            secret_name: Some("deleted-tls".into()),
            ..Default::default()
        }]);
        let plan = managed(&config_inputs, &snapshot, &policies);
        assert!(
            !plan.stale.contains(&(Kind::Route, "kept".to_string())),
            "{:?}",
            plan.stale
        );
        assert!(plan.problems.iter().any(|p| p.message.contains("deleted-tls")));
        assert!(!plan.objects.iter().any(|d| d.kind == Kind::Route && d.name == "kept"));
    }
}
