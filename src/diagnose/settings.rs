//! Every setting of the registry's Config in words, as a describe-like `status` shows them:
//! what is set, and what an unset one means (the default the registry runs with).

use crate::api::ConfigSpec;
use serde::Serialize;
use serde_json::Value;

/// One setting: its name as `status` labels it, its field, and its value in words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Setting {
    pub name: &'static str,
    pub field: &'static str,
    pub value: String,
}

pub fn settings(spec: &ConfigSpec) -> Vec<Setting> {
    let setting = |name, field, value: String| Setting { name, field, value };
    let or_default = |value: Option<String>, default: &str| value.unwrap_or_else(|| format!("{default} (default)"));
    let list = |items: Vec<String>, empty: &str| {
        if items.is_empty() {
            empty.to_string()
        } else {
            items.join(", ")
        }
    };
    vec![
        setting(
            "Log level",
            "spec.logLevel",
            or_default(spec.log_level.as_ref().map(ToString::to_string), "Normal"),
        ),
        setting(
            "Operator log",
            "spec.operatorLogLevel",
            or_default(spec.operator_log_level.as_ref().map(ToString::to_string), "Normal"),
        ),
        setting(
            "Rollout",
            "spec.rolloutStrategy",
            or_default(spec.rollout_strategy.as_ref().map(ToString::to_string), "RollingUpdate"),
        ),
        setting(
            "Redirects",
            "spec.disableRedirect",
            if spec.disable_redirect == Some(true) {
                "disabled: blobs are served through the registry".into()
            } else {
                "clients are sent to the storage for blobs".into()
            },
        ),
        setting("Proxy", "spec.proxy", proxy(spec)),
        setting("Requests", "spec.requests", requests(spec)),
        setting("Resources", "spec.resources", resources(spec)),
        setting(
            "Node selector",
            "spec.nodeSelector",
            match spec.node_selector.as_ref().filter(|s| !s.is_empty()) {
                Some(s) => s.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
                None => "kubernetes.io/os=linux (default)".into(),
            },
        ),
        setting(
            "Tolerations",
            "spec.tolerations",
            list(
                spec.tolerations
                    .iter()
                    .flatten()
                    .map(|t| {
                        let key = t.key.clone().unwrap_or_else(|| "*".into());
                        let value = t.value.as_ref().map(|v| format!("={v}")).unwrap_or_default();
                        let effect = t.effect.as_ref().map(|e| format!(":{e}")).unwrap_or_default();
                        format!("{key}{value}{effect}")
                    })
                    .collect(),
                "none",
            ),
        ),
        setting(
            "Affinity",
            "spec.affinity",
            match &spec.affinity {
                Some(a) => list(
                    [
                        a.node_affinity.as_ref().map(|_| "node affinity".to_string()),
                        a.pod_affinity.as_ref().map(|_| "pod affinity".to_string()),
                        a.pod_anti_affinity.as_ref().map(|_| "pod anti-affinity".to_string()),
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                    "set, empty",
                ),
                None => "none".into(),
            },
        ),
        setting(
            "Spreading",
            "spec.topologySpreadConstraints",
            match spec.topology_spread_constraints.as_ref().filter(|c| !c.is_empty()) {
                Some(c) => c
                    .iter()
                    .map(|c| format!("{} (max skew {}, {})", c.topology_key, c.max_skew, c.when_unsatisfiable))
                    .collect::<Vec<_>>()
                    .join(", "),
                None if spec.node_selector.as_ref().is_some_and(|s| !s.is_empty()) || spec.affinity.is_some() => {
                    "none (a node selector or affinity drops the default spreading)".into()
                }
                None => "over zones and nodes (default)".into(),
            },
        ),
        setting(
            "TLS",
            "spec.observedConfig.servingInfo",
            tls(spec.observed_config.as_ref()),
        ),
    ]
}

fn proxy(spec: &ConfigSpec) -> String {
    let Some(p) = spec.proxy.as_ref() else {
        return "the cluster's".into();
    };
    let parts: Vec<String> = [("http", &p.http), ("https", &p.https), ("no proxy", &p.no_proxy)]
        .into_iter()
        .filter_map(|(name, v)| v.as_ref().map(|v| format!("{name} {v}")))
        .collect();
    match parts.len() {
        0 => "the cluster's".into(),
        3 => parts.join(", "),
        _ => format!("{} (the rest: the cluster's)", parts.join(", ")),
    }
}

fn requests(spec: &ConfigSpec) -> String {
    let kinds: Vec<String> = spec
        .requests
        .iter()
        .flat_map(|r| [("read", &r.read), ("write", &r.write)])
        .filter_map(|(kind, limits)| {
            let l = limits.as_ref()?;
            let parts: Vec<String> = [
                l.max_running.map(|n| format!("{n} running")),
                l.max_in_queue.map(|n| format!("{n} queued")),
                l.max_wait_in_queue.as_ref().map(|w| format!("waiting up to {w}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            Some(format!("{kind}: {}", parts.join(", ")))
        })
        .collect();
    if kinds.is_empty() {
        "no limits".into()
    } else {
        kinds.join("; ")
    }
}

fn resources(spec: &ConfigSpec) -> String {
    let Some(r) = spec.resources.as_ref() else {
        return "requests cpu=100m, memory=256Mi (default)".into();
    };
    let list = |name: &str,
                map: &Option<
        std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| {
        map.as_ref().filter(|m| !m.is_empty()).map(|m| {
            let items: Vec<String> = m.iter().map(|(k, q)| format!("{k}={}", q.0)).collect();
            format!("{name} {}", items.join(", "))
        })
    };
    let parts: Vec<String> = [list("requests", &r.requests), list("limits", &r.limits)]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("; ")
    }
}

/// The TLS the registry serves with, as observed from the cluster's APIServer profile.
fn tls(observed: Option<&Value>) -> String {
    let info = observed.and_then(|o| o.get("servingInfo"));
    let min = info.and_then(|i| i.get("minTLSVersion")).and_then(Value::as_str);
    let suites = info
        .and_then(|i| i.get("cipherSuites"))
        .and_then(Value::as_array)
        .map(Vec::len);
    match (min, suites) {
        (Some(min), Some(n)) => format!("minimum {min}, {n} cipher suites (the cluster's APIServer profile)"),
        (Some(min), None) => format!("minimum {min} (the cluster's APIServer profile)"),
        _ => "not observed yet (a reconcile observes the cluster's APIServer profile)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shown(spec: Value) -> Vec<(String, String)> {
        let spec: ConfigSpec = serde_json::from_value(spec).unwrap();
        settings(&spec)
            .into_iter()
            .map(|s| (s.name.to_string(), s.value))
            .collect()
    }

    fn value(settings: &[(String, String)], name: &str) -> String {
        settings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    #[test]
    fn defaults_say_what_runs() {
        let s = shown(json!({"replicas": 1}));
        let cases = [
            ("Log level", "Normal (default)"),
            ("Operator log", "Normal (default)"),
            ("Rollout", "RollingUpdate (default)"),
            ("Proxy", "the cluster's"),
            ("Requests", "no limits"),
            ("Resources", "requests cpu=100m, memory=256Mi (default)"),
            ("Node selector", "kubernetes.io/os=linux (default)"),
            ("Tolerations", "none"),
            ("Affinity", "none"),
            ("Spreading", "over zones and nodes (default)"),
            (
                "TLS",
                "not observed yet (a reconcile observes the cluster's APIServer profile)",
            ),
        ];
        for (name, want) in cases {
            assert_eq!(value(&s, name), want, "{name}");
        }
    }

    #[test]
    fn set_values_are_shown_as_set() {
        let s = shown(json!({
            "replicas": 2, "logLevel": "Debug", "rolloutStrategy": "Recreate", "disableRedirect": true,
            "proxy": {"https": "http://p:3128"},
            "requests": {"read": {"maxRunning": 10, "maxWaitInQueue": "30s"}},
            "resources": {"limits": {"memory": "2Gi"}},
            "nodeSelector": {"node-role.kubernetes.io/infra": ""},
            "tolerations": [{"key": "infra", "operator": "Exists", "effect": "NoSchedule"}],
            "affinity": {"podAntiAffinity": {}},
            "observedConfig": {"servingInfo": {"minTLSVersion": "VersionTLS12", "cipherSuites": ["a", "b"]}},
        }));
        let cases = [
            ("Log level", "Debug"),
            ("Rollout", "Recreate"),
            ("Redirects", "disabled: blobs are served through the registry"),
            ("Proxy", "https http://p:3128 (the rest: the cluster's)"),
            ("Requests", "read: 10 running, waiting up to 30s"),
            ("Resources", "limits memory=2Gi"),
            ("Node selector", "node-role.kubernetes.io/infra="),
            ("Tolerations", "infra:NoSchedule"),
            ("Affinity", "pod anti-affinity"),
            (
                "Spreading",
                "none (a node selector or affinity drops the default spreading)",
            ),
            (
                "TLS",
                "minimum VersionTLS12, 2 cipher suites (the cluster's APIServer profile)",
            ),
        ];
        for (name, want) in cases {
            assert_eq!(value(&s, name), want, "{name}");
        }
    }
}
