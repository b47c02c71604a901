//! The built-in pruner policy, as the OpenShift documentation states it: the pruner prunes
//! registry storage (`--prune-registry=true`) when the registry is Managed, and only image metadata
//! (`--prune-registry=false`) when it is Removed or Unmanaged. The operator instead keys this on
//! whether the registry Service exists; an organisation preferring that can ship its own policy.

use oc_registry_policy_sdk::{Outcome, PrunerDecision, PrunerInput, policy};
use serde_json::Value;

const SERVICE_HOST: &str = "image-registry.openshift-image-registry.svc:5000";

/// Go's `time.Duration.String()` for a whole number of seconds: `1h0m0s`, `5m0s`, `30s`.
fn go_duration(total: u64) -> String {
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Parses a Go duration such as `60m`, `1h30m`, `90s` into seconds.
fn parse_go_duration(text: &str) -> Option<u64> {
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let end = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let n: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        total += n * match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        rest = &rest[unit_end..];
    }
    Some(total as u64)
}

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
    let keep_younger_than = match spec.get("keepYoungerThanDuration").and_then(Value::as_str) {
        Some(d) => match parse_go_duration(d) {
            Some(secs) => go_duration(secs),
            None => {
                return Outcome::deny(format!(
                    "keepYoungerThanDuration {d:?} is not a duration such as 60m or 1h30m"
                ));
            }
        },
        None => match int("keepYoungerThan") {
            Some(ns) => go_duration((ns.max(0) as u64) / 1_000_000_000),
            None => "1h0m0s".into(),
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
    fn go_durations() {
        assert_eq!(parse_go_duration("60m").map(go_duration).as_deref(), Some("1h0m0s"));
        assert_eq!(parse_go_duration("1h30m").map(go_duration).as_deref(), Some("1h30m0s"));
        assert_eq!(parse_go_duration("90s").map(go_duration).as_deref(), Some("1m30s"));
        assert_eq!(parse_go_duration("soon"), None);
    }
}
