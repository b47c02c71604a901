//! The built-in pruner policy, as the OpenShift documentation states it: the pruner prunes
//! registry storage (`--prune-registry=true`) when the registry is Managed, and only image metadata
//! (`--prune-registry=false`) when it is Removed or Unmanaged. The operator instead keys this on
//! whether the registry Service exists; an organisation preferring that can ship its own policy.

use oc_registry_policy_sdk::{Outcome, PrunerDecision, PrunerInput, duration, policy};
use serde_json::Value;

const SERVICE_HOST: &str = "image-registry.openshift-image-registry.svc:5000";

fn log_level(level: Option<&str>) -> u8 {
    match level {
        Some("Debug") => 4,
        Some("Trace") => 6,
        Some("TraceAll") => 8,
        // Normal is 1, not 2: level 2 makes the pruner dump goroutines on failure.
        _ => 1,
    }
}

fn decide(input: PrunerInput) -> Outcome<PrunerDecision> {
    let spec = &input.pruner;
    let int = |k: &str| spec.get(k).and_then(Value::as_i64);
    let keep_tag_revisions = int("keepTagRevisions").unwrap_or(3);
    // As the operator spells it: the duration as Go prints it, and `60m` when none is set.
    let keep_younger_than = match spec.get("keepYoungerThanDuration").and_then(Value::as_str) {
        Some(d) => match duration::parse(d) {
            Some(nanos) => duration::format(nanos),
            None => {
                return Outcome::deny(format!(
                    "keepYoungerThanDuration {d:?} is not a duration such as 60m or 1h30m"
                ));
            }
        },
        None => match int("keepYoungerThan") {
            Some(ns) => duration::format(ns.max(0) as u128),
            None => "60m".into(),
        },
    };
    let ignore_invalid = spec
        .get("ignoreInvalidImageReferences")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut args = vec![
        "--confirm=true".to_string(),
        "--certificate-authority=/var/run/configmaps/serviceca/service-ca.crt".to_string(),
        format!("--keep-tag-revisions={keep_tag_revisions}"),
        format!("--keep-younger-than={keep_younger_than}"),
        format!("--ignore-invalid-refs={ignore_invalid}"),
        format!("--loglevel={}", log_level(spec.get("logLevel").and_then(Value::as_str))),
    ];
    let state = input.registry_management_state.as_str();
    let prune_registry = state == "Managed";
    let reason = if prune_registry {
        let host = if input.internal_registry_hostname.is_empty() {
            SERVICE_HOST
        } else {
            &input.internal_registry_hostname
        };
        args.push("--prune-registry=true".into());
        args.push(format!("--registry-url=https://{host}"));
        "the registry is Managed: images are pruned from registry storage too".to_string()
    } else {
        args.push("--prune-registry=false".into());
        let shown = if state.is_empty() { "absent" } else { state };
        format!("the registry is {shown}: only image metadata is pruned")
    };
    let schedule = spec
        .get("schedule")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("0 0 * * *");
    Outcome::decide(PrunerDecision {
        schedule: schedule.to_string(),
        suspend: spec.get("suspend").and_then(Value::as_bool).unwrap_or(false),
        successful_jobs_history_limit: int("successfulJobsHistoryLimit").unwrap_or(3) as i32,
        failed_jobs_history_limit: int("failedJobsHistoryLimit").unwrap_or(3) as i32,
        args,
        prune_registry,
        reason,
    })
}

policy! {
    name: "builtin-pruner",
    version: "1.0.0",
    description: "The documented image pruner rule: prune registry storage only when Managed",
    pruner: decide,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_younger_than_is_spelled_as_the_operator_spells_it() {
        let decide_with = |pruner: serde_json::Value| {
            let input: PrunerInput = serde_json::from_value(serde_json::json!({
                "pruner": pruner,
                "registryManagementState": "Managed",
                "internalRegistryHostname": "",
            }))
            .unwrap();
            decide(input)
                .result
                .and_then(|d| d.args.into_iter().find(|a| a.starts_with("--keep-younger-than=")))
        };
        let cases = [
            (serde_json::json!({}), "--keep-younger-than=60m"),
            (
                serde_json::json!({"keepYoungerThanDuration": "60m"}),
                "--keep-younger-than=1h0m0s",
            ),
            (
                serde_json::json!({"keepYoungerThanDuration": "5m"}),
                "--keep-younger-than=5m0s",
            ),
            (
                serde_json::json!({"keepYoungerThanDuration": "90s"}),
                "--keep-younger-than=1m30s",
            ),
            (
                serde_json::json!({"keepYoungerThan": 90_000_000_000i64}),
                "--keep-younger-than=1m30s",
            ),
        ];
        for (pruner, want) in cases {
            assert_eq!(decide_with(pruner.clone()).as_deref(), Some(want), "{pruner}");
        }
    }
}
