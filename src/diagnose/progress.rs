//! The step between what is requested and what runs. A setting goes from the Config (requested)
//! into the registry's objects (applied) and then into its pods (rolled out); `pending` finds the
//! settings the Deployment does not hold yet, `rollout` a Deployment whose pods do not run it yet.
//!
//! Only what a setting decides is compared, so two renderings of the same setting (the operator's
//! literal value and a Secret reference) count as equal, and secret values are never shown.

use crate::api::ConfigSpec;
use crate::cluster::redact::{MASK, is_secret_name};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A requested setting the registry's objects do not hold yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// The Config field that asks for it, e.g. `spec.logLevel`.
    pub setting: &'static str,
    pub requested: String,
    pub running: String,
}

/// Where a setting shows in the registry Deployment.
enum Source {
    /// A field of the Deployment, by JSON pointer.
    Field(&'static str),
    /// A field of the registry container.
    Container(&'static str),
    /// The registry container's environment variables the predicate picks.
    Env(fn(&str) -> bool),
    /// A volume of the pod, by name.
    Volume(&'static str),
}

struct Setting {
    name: &'static str,
    sources: &'static [Source],
    /// Compared only when the Config sets it: unset, the operator's and this tool's defaults may
    /// differ without anyone having asked for anything.
    explicit: Option<fn(&ConfigSpec) -> bool>,
}

fn is_storage_env(name: &str) -> bool {
    name == "REGISTRY_STORAGE"
        || name == "REGISTRY_MIDDLEWARE_STORAGE"
        || ["S3", "GCS", "AZURE", "SWIFT", "FILESYSTEM"].iter().any(|d| {
            name.strip_prefix("REGISTRY_STORAGE_")
                .is_some_and(|r| r.starts_with(&format!("{d}_")))
        })
}

const SETTINGS: &[Setting] = &[
    Setting {
        name: "spec.replicas",
        sources: &[Source::Field("/spec/replicas")],
        explicit: None,
    },
    Setting {
        name: "spec.rolloutStrategy",
        sources: &[Source::Field("/spec/strategy/type")],
        explicit: None,
    },
    Setting {
        name: "spec.logLevel",
        sources: &[Source::Env(|n| n == "REGISTRY_LOG_LEVEL")],
        explicit: None,
    },
    Setting {
        name: "spec.readOnly",
        sources: &[Source::Env(|n| n == "REGISTRY_STORAGE_MAINTENANCE_READONLY")],
        explicit: None,
    },
    Setting {
        name: "spec.disableRedirect",
        sources: &[Source::Env(|n| n == "REGISTRY_STORAGE_REDIRECT_DISABLE")],
        explicit: None,
    },
    Setting {
        name: "spec.proxy",
        sources: &[Source::Env(|n| matches!(n, "HTTP_PROXY" | "HTTPS_PROXY" | "NO_PROXY"))],
        explicit: None,
    },
    Setting {
        name: "spec.requests",
        sources: &[Source::Env(|n| n.starts_with("REGISTRY_OPENSHIFT_REQUESTS_"))],
        explicit: None,
    },
    Setting {
        name: "spec.storage",
        sources: &[Source::Env(is_storage_env), Source::Volume("registry-storage")],
        explicit: None,
    },
    Setting {
        name: "spec.nodeSelector",
        sources: &[Source::Field("/spec/template/spec/nodeSelector")],
        explicit: None,
    },
    Setting {
        name: "spec.tolerations",
        sources: &[Source::Field("/spec/template/spec/tolerations")],
        explicit: None,
    },
    Setting {
        name: "spec.resources",
        sources: &[Source::Container("resources")],
        explicit: Some(|s| s.resources.is_some()),
    },
    Setting {
        name: "spec.affinity",
        sources: &[Source::Field("/spec/template/spec/affinity")],
        explicit: Some(|s| s.affinity.is_some()),
    },
    Setting {
        name: "spec.topologySpreadConstraints",
        sources: &[Source::Field("/spec/template/spec/topologySpreadConstraints")],
        explicit: Some(|s| s.topology_spread_constraints.is_some()),
    },
];

/// The settings `spec` asks for that `live` (the registry Deployment) does not hold, as
/// `rendered` (the Deployment the Config renders to) does. `None` for `live`: nothing runs.
pub fn pending(spec: &ConfigSpec, rendered: &Value, live: &Value) -> Vec<Pending> {
    let mut out = Vec::new();
    for setting in SETTINGS {
        if setting.explicit.is_some_and(|set| !set(spec)) {
            continue;
        }
        let (mut requested, mut running) = (Vec::new(), Vec::new());
        for source in setting.sources {
            let (r, l) = differences(source, rendered, live);
            requested.extend(r);
            running.extend(l);
        }
        if !requested.is_empty() || !running.is_empty() {
            out.push(Pending {
                setting: setting.name,
                requested: joined(requested),
                running: joined(running),
            });
        }
    }
    // The image follows the release the operator's Deployment names.
    let image = |d: &Value| registry_container(d).and_then(|c| c.get("image")).cloned();
    if let (Some(want), have) = (image(rendered), image(live))
        && Some(&want) != have.as_ref()
    {
        out.push(Pending {
            setting: "image (the release's)",
            requested: shown(Some(&want)),
            running: shown(have.as_ref()),
        });
    }
    out
}

/// Routes asked for but absent, and routes the registry owns that are no longer asked for.
pub fn pending_routes(wanted: &[String], owned: &[String]) -> Option<Pending> {
    let mut wanted = wanted.to_vec();
    let mut owned = owned.to_vec();
    wanted.sort();
    owned.sort();
    (wanted != owned).then(|| Pending {
        setting: "spec.routes",
        requested: joined(wanted),
        running: joined(owned),
    })
}

fn joined(parts: Vec<String>) -> String {
    if parts.is_empty() {
        "(none)".into()
    } else {
        parts.join(", ")
    }
}

/// What differs for one source: the requested parts and the running ones.
fn differences(source: &Source, rendered: &Value, live: &Value) -> (Vec<String>, Vec<String>) {
    let pair = |r: Option<&Value>, l: Option<&Value>| {
        if normalised(r) == normalised(l) {
            (Vec::new(), Vec::new())
        } else {
            (vec![shown(r)], vec![shown(l)])
        }
    };
    match source {
        Source::Field(pointer) => pair(rendered.pointer(pointer), live.pointer(pointer)),
        Source::Container(field) => pair(
            registry_container(rendered).and_then(|c| c.get(*field)),
            registry_container(live).and_then(|c| c.get(*field)),
        ),
        Source::Volume(name) => {
            let volume = |d: &Value| {
                d.pointer("/spec/template/spec/volumes")
                    .and_then(Value::as_array)
                    .and_then(|vs| vs.iter().find(|v| v["name"] == *name))
                    .cloned()
            };
            pair(volume(rendered).as_ref(), volume(live).as_ref())
        }
        Source::Env(pick) => {
            let (want, have) = (env_of(rendered, *pick), env_of(live, *pick));
            let mut requested = Vec::new();
            let mut running = Vec::new();
            let names: std::collections::BTreeSet<&String> = want.keys().chain(have.keys()).collect();
            for name in names {
                let (w, h) = (want.get(name), have.get(name));
                let same = match (w, h) {
                    (Some(EnvValue::Literal(a)), Some(EnvValue::Literal(b))) => a == b,
                    (Some(_), Some(_)) => true,
                    _ => false,
                };
                if !same {
                    requested.push(env_shown(name, w));
                    running.push(env_shown(name, h));
                }
            }
            (requested, running)
        }
    }
}

/// An environment variable's value, or the fact that a Secret holds it (never the value).
enum EnvValue {
    Literal(String),
    Referenced,
}

fn env_of(deployment: &Value, pick: fn(&str) -> bool) -> BTreeMap<String, EnvValue> {
    registry_container(deployment)
        .and_then(|c| c.get("env"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.get("name")?.as_str()?;
            if !pick(name) {
                return None;
            }
            let value = match e.get("valueFrom") {
                Some(from) if !from.is_null() => EnvValue::Referenced,
                _ => EnvValue::Literal(e.get("value").and_then(Value::as_str).unwrap_or_default().to_string()),
            };
            Some((name.to_string(), value))
        })
        .collect()
}

fn env_shown(name: &str, value: Option<&EnvValue>) -> String {
    match value {
        Some(EnvValue::Literal(_)) if is_secret_name(name) => format!("{name}={MASK}"),
        Some(EnvValue::Literal(v)) => format!("{name}={}", short(v)),
        Some(EnvValue::Referenced) => format!("{name} from a Secret"),
        None => format!("{name} unset"),
    }
}

fn registry_container(deployment: &Value) -> Option<&Value> {
    deployment
        .pointer("/spec/template/spec/containers")?
        .as_array()?
        .iter()
        .find(|c| c["name"] == "registry")
}

/// Absent, null and empty collections are the same request.
fn normalised(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    })
}

fn shown(v: Option<&Value>) -> String {
    match normalised(v) {
        None => "(unset)".into(),
        Some(Value::String(s)) => short(s),
        Some(other) => short(&other.to_string()),
    }
}

/// Long values (an affinity, a middleware list) are cut: the point is which setting waits.
fn short(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("{cut}…")
}

/// How far the Deployment's pods are from running what it holds; `None` once they all do.
pub fn rollout(live: &Value) -> Option<String> {
    let int = |p: &str| live.pointer(p).and_then(Value::as_i64);
    let generation = int("/metadata/generation").unwrap_or(0);
    let observed = int("/status/observedGeneration").unwrap_or(0);
    let desired = int("/spec/replicas").unwrap_or(1);
    let updated = int("/status/updatedReplicas").unwrap_or(0);
    let ready = int("/status/readyReplicas").unwrap_or(0);
    let total = int("/status/replicas").unwrap_or(0);
    let stalled = live
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded");
    if let Some(c) = stalled {
        return Some(format!(
            "failed: {}",
            c["message"].as_str().unwrap_or("the progress deadline passed")
        ));
    }
    if observed < generation {
        return Some("not started: the latest change has not reached the Deployment controller yet".into());
    }
    (updated < desired || ready < desired || total > desired)
        .then(|| format!("in progress: {updated} of {desired} replicas updated, {ready} ready, {total} running"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: i64, env: Value) -> Value {
        json!({"spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate"}, "template": {"spec": {
            "containers": [{"name": "registry", "image": "registry:1", "env": env}],
        }}}})
    }

    fn names(p: &[Pending]) -> Vec<&str> {
        p.iter().map(|p| p.setting).collect()
    }

    #[test]
    fn settings_the_deployment_lacks_are_pending() {
        let spec = ConfigSpec::default();
        let rendered = deployment(3, json!([{"name": "REGISTRY_LOG_LEVEL", "value": "debug"}]));
        let live = deployment(2, json!([{"name": "REGISTRY_LOG_LEVEL", "value": "info"}]));
        let found = pending(&spec, &rendered, &live);
        assert_eq!(
            found,
            [
                Pending {
                    setting: "spec.replicas",
                    requested: "3".into(),
                    running: "2".into()
                },
                Pending {
                    setting: "spec.logLevel",
                    requested: "REGISTRY_LOG_LEVEL=debug".into(),
                    running: "REGISTRY_LOG_LEVEL=info".into()
                },
            ]
        );
        assert!(pending(&spec, &rendered, &rendered).is_empty());
    }

    #[test]
    fn a_secret_reference_and_a_literal_are_the_same_setting_and_never_shown() {
        let spec = ConfigSpec::default();
        let rendered = deployment(
            1,
            json!([{"name": "REGISTRY_STORAGE_S3_ACCESSKEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]),
        );
        let literal = deployment(
            1,
            json!([{"name": "REGISTRY_STORAGE_S3_ACCESSKEY", "value": "AKIA-SECRET"}]),
        );
        assert!(pending(&spec, &rendered, &literal).is_empty());
        let without = deployment(1, json!([]));
        let found = pending(&spec, &rendered, &without);
        assert_eq!(names(&found), ["spec.storage"]);
        assert_eq!(found[0].requested, "REGISTRY_STORAGE_S3_ACCESSKEY from a Secret");
        assert_eq!(found[0].running, "REGISTRY_STORAGE_S3_ACCESSKEY unset");
        // A secret the operator wrote as a literal is named, never shown.
        let found = pending(&spec, &without, &literal);
        assert_eq!(found[0].running, "REGISTRY_STORAGE_S3_ACCESSKEY=***");
    }

    #[test]
    fn defaults_nobody_asked_for_are_not_compared() {
        let mut rendered = deployment(1, json!([]));
        rendered["spec"]["template"]["spec"]["affinity"] = json!({"podAntiAffinity": {}});
        let live = deployment(1, json!([]));
        assert!(pending(&ConfigSpec::default(), &rendered, &live).is_empty());
        let spec: ConfigSpec = serde_json::from_value(json!({"affinity": {"podAntiAffinity": {}}})).unwrap();
        rendered["spec"]["template"]["spec"]["affinity"] = json!({"podAntiAffinity": {"x": 1}});
        assert_eq!(names(&pending(&spec, &rendered, &live)), ["spec.affinity"]);
    }

    #[test]
    fn routes_asked_for_and_routes_left_over() {
        let wanted = vec!["default-route".to_string()];
        assert!(pending_routes(&wanted, &wanted).is_none());
        let p = pending_routes(&wanted, &[]).unwrap();
        assert_eq!((p.requested.as_str(), p.running.as_str()), ("default-route", "(none)"));
    }

    #[test]
    fn rollout_stages() {
        let done = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2}});
        assert_eq!(rollout(&done), None);
        let mut unseen = done.clone();
        unseen["metadata"]["generation"] = json!(3);
        assert!(rollout(&unseen).unwrap().starts_with("not started"));
        let mut rolling = done.clone();
        rolling["status"]["updatedReplicas"] = json!(1);
        rolling["status"]["replicas"] = json!(3);
        assert_eq!(
            rollout(&rolling).unwrap(),
            "in progress: 1 of 2 replicas updated, 2 ready, 3 running"
        );
        let mut stalled = done;
        stalled["status"]["conditions"] = json!([{"type": "Progressing", "status": "False",
            "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"r\" has timed out progressing."}]);
        assert_eq!(
            rollout(&stalled).unwrap(),
            "failed: ReplicaSet \"r\" has timed out progressing."
        );
    }
}
