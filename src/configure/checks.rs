//! Whole-object checks of a registry Config and an ImagePruner: what the operator would reject or
//! silently get wrong, each as a finding naming the field and the command that fixes it. The
//! configuration commands refuse a change that introduces an error; `doctor` reports them all.

use crate::api::ManagementState;
use crate::api::{ConfigSpec, ImagePrunerSpec, RolloutStrategy};
use crate::state::references::References;

pub use crate::render::inputs::referenced;
use crate::validate::{self, Finding};
use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use std::collections::BTreeSet;

pub use crate::validate::{Severity, introduced};

/// More registry replicas than this is a mistake, not a size.
const MAX_REPLICAS: i32 = 100;

/// The errors in a spec's values alone, whoever wrote them: what they refer to is checked where
/// it is read.
pub fn value_errors(spec: &ConfigSpec) -> Vec<Finding> {
    config(spec, &References::default())
        .into_iter()
        .filter(|f| f.severity == validate::Severity::Error)
        .collect()
}

/// Every finding about a Config's spec, given what it refers to.
pub fn config(spec: &ConfigSpec, refs: &References) -> Vec<Finding> {
    let mut out = Vec::new();
    let replicas = spec.replicas;
    let strategy = spec.rollout_strategy.clone().unwrap_or(RolloutStrategy::RollingUpdate);
    if replicas > MAX_REPLICAS {
        out.push(Finding::error(
            "spec.replicas",
            format!("{replicas} replicas is not a registry size: at most {MAX_REPLICAS}"),
            Some(format!("oc-registry set replicas {MAX_REPLICAS}")),
        ));
    }
    if replicas < 0 {
        out.push(Finding::error(
            "spec.replicas",
            format!("replicas must be greater than or equal to 0, got {replicas}"),
            // The nearest allowed value; 0 scales the registry down.
            Some("oc-registry set replicas 0".into()),
        ));
    }
    let storage = spec.storage.clone().unwrap_or_default();
    out.extend(crate::storage::check(&storage, spec, refs));
    if let Some(proxy) = &spec.proxy {
        for (field, value) in [("http", &proxy.http), ("https", &proxy.https)] {
            let fix = format!("oc-registry set proxy --{field} http://proxy.example.com:3128");
            out.extend(Finding::of_url(
                &format!("spec.proxy.{field}"),
                value.as_deref(),
                Some(fix),
            ));
        }
    }
    for (kind, limits) in [
        ("read", spec.requests.as_ref().and_then(|r| r.read.as_ref())),
        ("write", spec.requests.as_ref().and_then(|r| r.write.as_ref())),
    ] {
        let Some(limits) = limits else { continue };
        let field = |f: &str| format!("spec.requests.{kind}.{f}");
        for (name, value, flag) in [
            ("maxRunning", limits.max_running, "max-running"),
            ("maxInQueue", limits.max_in_queue, "max-in-queue"),
        ] {
            if value.is_some_and(|v| v < 0) {
                out.push(Finding::error(
                    field(name),
                    "must be 0 (no limit) or a positive number",
                    Some(format!("oc-registry set requests {kind} --{flag} 0")),
                ));
            }
        }
        if let Some(Err(e)) = limits.max_wait_in_queue.as_deref().map(validate::go_duration) {
            out.push(Finding::error(
                field("maxWaitInQueue"),
                e,
                Some(format!("oc-registry set requests {kind} --max-wait-in-queue 1m")),
            ));
        }
    }
    route_findings(spec, refs, &mut out);
    if let Some(r) = &spec.resources {
        out.extend(resource_findings("spec.resources", r, "oc-registry set resources"));
    }
    out.extend(toleration_findings(
        "spec.tolerations",
        spec.tolerations.as_deref().unwrap_or_default(),
    ));
    if replicas > 0 && refs.schedulable_workers == Some(0) {
        let placed = spec.node_selector.as_ref().is_some_and(|s| !s.is_empty())
            || spec.tolerations.as_ref().is_some_and(|t| !t.is_empty());
        out.push(Finding::warning(
            if placed { "spec.nodeSelector" } else { "spec.replicas" },
            "no ready, schedulable Linux node matches the registry's node selector and tolerations: its pods stay Pending",
            Some(if placed {
                "oc-registry set node-selector --clear (or label a node to match)".into()
            } else {
                "make a node schedulable for the registry (kubectl uncordon NODE)".into()
            }),
        ));
    } else if replicas == 2 && spec.affinity.is_none() && refs.schedulable_workers.is_some_and(|n| n < 2) {
        out.push(Finding::warning(
            "spec.replicas",
            format!(
                "two replicas must run on different nodes, but only {} node(s) can take them: one pod stays Pending and rollouts stall",
                refs.schedulable_workers.unwrap_or_default()
            ),
            Some("oc-registry set replicas 1".into()),
        ));
    }
    let no_storage = spec
        .storage
        .as_ref()
        .is_none_or(|s| crate::storage::block_names(s).is_empty());
    if spec.management_state == Some(ManagementState::Managed) && no_storage {
        out.push(Finding::warning(
            "spec.storage",
            "a Managed registry needs storage: on platforms without default storage (bare metal, vSphere, None, …) \
             it does not start until a driver is set",
            Some(format!(
                "oc-registry storage set pvc (or {})",
                crate::storage::command_names()
                    .into_iter()
                    .filter(|n| *n != "pvc")
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ));
    }
    if replicas == 0 && strategy != RolloutStrategy::Recreate && spec.management_state == Some(ManagementState::Managed)
    {
        out.push(Finding::warning(
            "spec.replicas",
            "no registry pod runs with 0 replicas; to stop the registry, set the management state to Removed",
            Some("oc-registry set replicas 1".into()),
        ));
    }
    out
}

fn route_findings(spec: &ConfigSpec, refs: &References, out: &mut Vec<Finding>) {
    let mut seen = BTreeSet::new();
    let mut hosts = std::collections::BTreeMap::new();
    for (i, route) in spec.routes.iter().flatten().enumerate() {
        let field = |f: &str| format!("spec.routes[{i}].{f}");
        // The router admits one Route per host: the second would never serve.
        if let Some(host) = route.hostname.as_deref().filter(|h| !h.is_empty())
            && let Some(first) = hosts.insert(host.to_string(), route.name.clone())
        {
            out.push(Finding::error(
                field("hostname"),
                format!(
                    "routes {first} and {} both ask for host {host}: the router admits only one",
                    route.name
                ),
                Some(format!("oc-registry routes remove {}", route.name)),
            ));
        }
        if route.name == crate::render::DEFAULT_ROUTE {
            out.push(Finding::error(
                field("name"),
                "default-route is reserved for the default route",
                Some("oc-registry routes remove default-route && oc-registry set default-route true".into()),
            ));
        }
        if let Err(e) = validate::object_name(&route.name) {
            out.push(Finding::error(field("name"), e, None));
        }
        if !seen.insert(route.name.clone()) {
            out.push(Finding::error(
                field("name"),
                format!("route {} is listed twice", route.name),
                Some(format!("oc-registry routes remove {}", route.name)),
            ));
        }
        if let Some(Err(e)) = route
            .hostname
            .as_deref()
            .filter(|h| !h.is_empty())
            .map(validate::dns_name)
        {
            out.push(Finding::error(
                field("hostname"),
                e,
                Some(format!(
                    "oc-registry routes add {} --hostname registry.apps.example.com",
                    route.name
                )),
            ));
        }
        if let Some(Err(e)) = route
            .secret_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(validate::object_name)
        {
            out.push(Finding::error(
                field("secretName"),
                e,
                Some(format!(
                    "oc-registry routes add {} --secret TLS-SECRET --overwrite",
                    route.name
                )),
            ));
        } else if let Some(secret) = route.secret_name.as_deref().filter(|s| !s.is_empty() && refs.read) {
            let create =
                format!("kubectl create secret tls {secret} -n openshift-image-registry --cert=tls.crt --key=tls.key");
            match refs.secrets.get(secret) {
                Some(Some(keys)) => {
                    let missing: Vec<&str> = ["tls.crt", "tls.key"]
                        .into_iter()
                        .filter(|k| !keys.contains(*k))
                        .collect();
                    if !missing.is_empty() {
                        out.push(Finding::error(
                            field("secretName"),
                            format!(
                                "Secret openshift-image-registry/{secret} has no {} key",
                                missing.join(" or ")
                            ),
                            Some(create),
                        ));
                    }
                }
                _ => out.push(Finding::error(
                    field("secretName"),
                    format!("Secret openshift-image-registry/{secret} does not exist"),
                    Some(create),
                )),
            }
        }
    }
}

/// Resource requests and limits: valid quantities, and no request above its limit.
pub(crate) fn resource_findings(field: &str, r: &ResourceRequirements, command: &str) -> Vec<Finding> {
    type Quantities =
        Option<std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>;
    let mut out = Vec::new();
    // A fix keeps the other values of that list as written, with `name` set to `value` (or
    // dropped, when there is nothing to set it to).
    let fix = |kind: &str, map: &Quantities, name: &str, value: Option<&str>| {
        let list: Vec<String> = map
            .iter()
            .flatten()
            .filter_map(|(n, q)| match (n == name, value) {
                (false, _) => Some(format!("{n}={}", q.0)),
                (true, Some(v)) => Some(format!("{n}={v}")),
                (true, None) => None,
            })
            .collect();
        Some(if list.is_empty() {
            format!("{command} --clear")
        } else {
            format!("{command} --{kind} {}", list.join(","))
        })
    };
    let mut parsed = |kind: &str, map: &Quantities| {
        let mut values = std::collections::BTreeMap::new();
        for (name, q) in map.iter().flatten() {
            match validate::quantity(&q.0) {
                Ok(v) => {
                    values.insert(name.clone(), (v, q.0.clone()));
                }
                Err(e) => {
                    let default = match name.as_str() {
                        "cpu" => Some("100m"),
                        "memory" => Some("256Mi"),
                        _ => None,
                    };
                    out.push(Finding::error(
                        format!("{field}.{kind}.{name}"),
                        e,
                        fix(kind, map, name, default),
                    ));
                }
            }
        }
        values
    };
    let requests = parsed("requests", &r.requests);
    let limits = parsed("limits", &r.limits);
    for (name, (request, request_text)) in &requests {
        if let Some((_, limit_text)) = limits.get(name).filter(|(l, _)| l < request) {
            out.push(Finding::error(
                format!("{field}.requests.{name}"),
                format!("the request ({request_text}) is above the limit ({limit_text}): raise the limit or lower the request"),
                fix("limits", &r.limits, name, Some(request_text)),
            ));
        }
    }
    out
}

pub(crate) fn toleration_findings(field: &str, tolerations: &[Toleration]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, t) in tolerations.iter().enumerate() {
        let operator = t.operator.as_deref().unwrap_or("Equal");
        if !matches!(operator, "Equal" | "Exists") {
            out.push(Finding::error(
                format!("{field}[{i}].operator"),
                "must be Equal or Exists",
                None,
            ));
        }
        if operator == "Exists" && t.value.as_deref().is_some_and(|v| !v.is_empty()) {
            out.push(Finding::error(
                format!("{field}[{i}].value"),
                "must be empty with operator Exists",
                None,
            ));
        }
        if let Some(e) = t
            .effect
            .as_deref()
            .filter(|e| !matches!(*e, "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute"))
        {
            out.push(Finding::error(
                format!("{field}[{i}].effect"),
                format!("{e:?} is not NoSchedule, PreferNoSchedule or NoExecute"),
                None,
            ));
        }
        if t.toleration_seconds.is_some() && t.effect.as_deref() != Some("NoExecute") {
            out.push(Finding::error(
                format!("{field}[{i}].tolerationSeconds"),
                "applies only to the NoExecute effect",
                None,
            ));
        }
    }
    out
}

/// Every finding about an ImagePruner's spec.
pub fn pruner(spec: &ImagePrunerSpec) -> Vec<Finding> {
    let mut out = Vec::new();
    if !spec.schedule.is_empty()
        && let Err(e) = crate::validate::schedule::parse(&spec.schedule)
    {
        out.push(Finding::error(
            "spec.schedule",
            e,
            Some("oc-registry pruner set --schedule '0 0 * * *'".into()),
        ));
    }
    if let Some(d) = spec.keep_younger_than_duration.as_deref()
        && let Err(e) = validate::go_duration(d)
    {
        out.push(Finding::error(
            "spec.keepYoungerThanDuration",
            e,
            Some("oc-registry pruner set --keep-younger-than 60m".into()),
        ));
    }
    for (field, value, flag) in [
        ("keepTagRevisions", spec.keep_tag_revisions, "keep-tag-revisions"),
        (
            "successfulJobsHistoryLimit",
            spec.successful_jobs_history_limit.map(i64::from),
            "successful-jobs-history-limit",
        ),
        (
            "failedJobsHistoryLimit",
            spec.failed_jobs_history_limit.map(i64::from),
            "failed-jobs-history-limit",
        ),
    ] {
        if value.is_some_and(|v| v < 0) {
            out.push(Finding::error(
                format!("spec.{field}"),
                "must not be negative",
                Some(format!("oc-registry pruner set --{flag} 3")),
            ));
        }
    }
    if let Some(r) = &spec.resources {
        out.extend(resource_findings("spec.resources", r, "oc-registry pruner set"));
    }
    out.extend(toleration_findings(
        "spec.tolerations",
        spec.tolerations.as_deref().unwrap_or_default(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn spec(v: Value) -> ConfigSpec {
        serde_json::from_value(v).unwrap()
    }

    /// The fields found at fault, with their severity.
    fn found(spec_json: Value, refs: &References) -> Vec<(String, Severity)> {
        config(&spec(spec_json), refs)
            .into_iter()
            .map(|f| (f.field, f.severity))
            .collect()
    }

    #[test]
    fn config_checks() {
        use Severity::{Error, Warning};
        let tls = References {
            read: true,
            secrets: [
                ("tls".to_string(), Some(["tls.crt", "tls.key"].map(String::from).into())),
                ("half".to_string(), Some(["tls.crt"].map(String::from).into())),
            ]
            .into(),
            schedulable_workers: Some(1),
            ..References::default()
        };
        let none = References {
            read: true,
            ..References::default()
        };
        // (spec, what it refers to, the fields found at fault)
        type Case<'a> = (Value, &'a References, Vec<(&'a str, Severity)>);
        let cases: Vec<Case> = vec![
            (json!({"replicas": 1}), &none, vec![]),
            (
                json!({"replicas": 1, "managementState": "Managed"}),
                &none,
                vec![("spec.storage", Warning)],
            ),
            (json!({"replicas": -1}), &none, vec![("spec.replicas", Error)]),
            (json!({"replicas": 2}), &tls, vec![("spec.replicas", Warning)]),
            (
                json!({"replicas": 0, "managementState": "Managed", "storage": {"emptyDir": {}}}),
                &none,
                vec![("spec.replicas", Warning)],
            ),
            (
                json!({"replicas": 0, "managementState": "Managed", "rolloutStrategy": "Recreate", "storage": {"emptyDir": {}}}),
                &none,
                vec![],
            ),
            (
                json!({"replicas": 1, "proxy": {"http": "proxy:3128", "https": "https://p:3128"}}),
                &none,
                vec![("spec.proxy.http", Error)],
            ),
            (
                json!({"replicas": 1, "requests": {"read": {"maxRunning": -1, "maxWaitInQueue": "soon"}}}),
                &none,
                vec![
                    ("spec.requests.read.maxRunning", Error),
                    ("spec.requests.read.maxWaitInQueue", Error),
                ],
            ),
            (
                json!({"replicas": 1, "routes": [
                    {"name": "default-route"},
                    {"name": "a", "hostname": "Not A Host"},
                    {"name": "a", "secretName": "half"},
                    {"name": "b", "secretName": "tls"},
                    {"name": "c", "secretName": "absent"},
                ]}),
                &tls,
                vec![
                    ("spec.routes[0].name", Error),
                    ("spec.routes[1].hostname", Error),
                    ("spec.routes[2].name", Error),
                    ("spec.routes[2].secretName", Error),
                    ("spec.routes[4].secretName", Error),
                ],
            ),
            (
                json!({"replicas": 1, "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1", "memory": "lots"}}}),
                &none,
                vec![
                    ("spec.resources.limits.memory", Error),
                    ("spec.resources.requests.cpu", Error),
                ],
            ),
            (
                json!({"replicas": 1, "tolerations": [{"key": "k", "operator": "Exists", "value": "v", "tolerationSeconds": 5}]}),
                &none,
                vec![
                    ("spec.tolerations[0].value", Error),
                    ("spec.tolerations[0].tolerationSeconds", Error),
                ],
            ),
            (
                json!({"replicas": 2, "storage": {"emptyDir": {}, "pvc": {"claim": "c"}}}),
                &none,
                vec![
                    ("spec.storage", Error),
                    ("spec.storage.emptyDir", Warning),
                    ("spec.storage.pvc.claim", Error),
                ],
            ),
        ];
        for (spec_json, refs, want) in cases {
            let want: Vec<(String, Severity)> = want.into_iter().map(|(f, s)| (f.to_string(), s)).collect();
            assert_eq!(found(spec_json.clone(), refs), want, "{spec_json}");
        }
    }

    #[test]
    fn resource_fixes_keep_the_other_values_and_say_them_as_written() {
        let cases = [
            (
                json!({"requests": {"memory": "2Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}),
                "spec.resources.requests.memory",
                "the request (2Gi) is above the limit (1Gi)",
                "oc-registry set resources --limits cpu=1,memory=2Gi",
            ),
            (
                json!({"requests": {"cpu": "lots", "memory": "1Gi"}}),
                "spec.resources.requests.cpu",
                "",
                "oc-registry set resources --requests cpu=100m,memory=1Gi",
            ),
            (
                json!({"limits": {"nvidia.com/gpu": "x"}}),
                "spec.resources.limits.nvidia.com/gpu",
                "",
                "oc-registry set resources --clear",
            ),
        ];
        for (resources, field, message, fix) in cases {
            let findings = config(
                &spec(json!({"replicas": 1, "resources": resources})),
                &References::default(),
            );
            let finding = findings
                .iter()
                .find(|f| f.field == field)
                .unwrap_or_else(|| panic!("{field}: {findings:?}"));
            assert!(finding.message.contains(message), "{}", finding.message);
            assert!(!finding.message.contains("2147483648"), "{}", finding.message);
            assert_eq!(finding.fix.as_deref(), Some(fix));
        }
    }

    #[test]
    fn a_change_is_refused_only_for_what_it_introduces() {
        let before = config(&spec(json!({"replicas": -1})), &References::default());
        let after = config(
            &spec(json!({"replicas": -1, "proxy": {"http": "bad"}})),
            &References::default(),
        );
        let new = introduced(&before, after);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].field, "spec.proxy.http");
    }

    #[test]
    fn pruner_checks() {
        let spec: ImagePrunerSpec = serde_json::from_value(json!({
            "schedule": "every day",
            "keepYoungerThanDuration": "1 hour",
            "keepTagRevisions": -1,
            "failedJobsHistoryLimit": -2,
        }))
        .unwrap();
        let fields: Vec<String> = pruner(&spec).into_iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            [
                "spec.schedule",
                "spec.keepYoungerThanDuration",
                "spec.keepTagRevisions",
                "spec.failedJobsHistoryLimit"
            ]
        );
    }
}
