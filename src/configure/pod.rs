//! The pod settings the registry and the pruner share — node selector, tolerations, resources —
//! and the registry's placement (spreading, affinity), as written on the command line, applied to
//! the typed values of a spec.

use crate::validate;
use k8s_openapi::api::core::v1::{
    Affinity, PodAffinityTerm, PodAntiAffinity, ResourceRequirements, Toleration, TopologySpreadConstraint,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;

pub type Selector = BTreeMap<String, String>;
pub(crate) type ResourceList = BTreeMap<String, Quantity>;

/// `KEY=VALUE` sets a label, `KEY-` removes one (as `kubectl label`).
pub fn node_selector(current: Option<&Selector>, args: &[String], field: &str) -> Result<Option<Selector>, String> {
    let mut selector = current.cloned().unwrap_or_default();
    for arg in args {
        if let Some(key) = arg.strip_suffix('-').filter(|k| !k.contains('=')) {
            validate::label_key(key).map_err(|e| format!("{field}: {e}"))?;
            selector.remove(key);
            continue;
        }
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| format!("{field}: {arg:?} is neither KEY=VALUE (to set) nor KEY- (to remove)"))?;
        validate::label_key(key).map_err(|e| format!("{field}: {e}"))?;
        validate::label_value(value).map_err(|e| format!("{field}.{key}: {e}"))?;
        selector.insert(key.into(), value.into());
    }
    Ok((!selector.is_empty()).then_some(selector))
}

/// `KEY[=VALUE][:EFFECT[:SECONDS]]` adds a toleration (replacing one with the same key and
/// effect); `KEY-` removes every toleration of that key. No value means operator Exists.
pub fn tolerations(
    current: Option<&Vec<Toleration>>,
    args: &[String],
    field: &str,
) -> Result<Option<Vec<Toleration>>, String> {
    let mut list = current.cloned().unwrap_or_default();
    let form = "write KEY[=VALUE][:EFFECT[:SECONDS]] to add (e.g. infra=reserved:NoSchedule) or KEY- to remove";
    for arg in args {
        if let Some(key) = arg.strip_suffix('-').filter(|k| !k.contains([':', '='])) {
            validate::label_key(key).map_err(|e| format!("{field}: {e}"))?;
            list.retain(|t| t.key.as_deref() != Some(key));
            continue;
        }
        let mut parts = arg.splitn(3, ':');
        let key_value = parts.next().unwrap_or_default();
        let effect = parts.next();
        let seconds = parts.next();
        let (key, value) = match key_value.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (key_value, None),
        };
        validate::label_key(key).map_err(|e| format!("{field}: {e}; {form}"))?;
        let mut toleration = Toleration {
            key: Some(key.into()),
            operator: Some(if value.is_some() { "Equal" } else { "Exists" }.into()),
            ..Toleration::default()
        };
        if let Some(v) = value {
            validate::label_value(v).map_err(|e| format!("{field}: {e}"))?;
            toleration.value = Some(v.into());
        }
        if let Some(e) = effect.filter(|e| !e.is_empty()) {
            if !matches!(e, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
                return Err(format!(
                    "{field}: effect {e:?} is not NoSchedule, PreferNoSchedule or NoExecute; {form}"
                ));
            }
            toleration.effect = Some(e.into());
        }
        if let Some(s) = seconds {
            let s: i64 = s
                .parse()
                .map_err(|_| format!("{field}: {s:?} is not a number of seconds; {form}"))?;
            if effect != Some("NoExecute") {
                return Err(format!("{field}: seconds apply only to the NoExecute effect; {form}"));
            }
            toleration.toleration_seconds = Some(s);
        }
        list.retain(|t| !(t.key == toleration.key && t.effect == toleration.effect));
        list.push(toleration);
    }
    Ok((!list.is_empty()).then_some(list))
}

/// `cpu=100m,memory=256Mi` into a resource list; values are checked as quantities.
pub(crate) fn resource_list(arg: &str, field: &str) -> Result<ResourceList, String> {
    let mut out = ResourceList::new();
    for item in arg.split(',').filter(|s| !s.is_empty()) {
        let (name, quantity) = item
            .split_once('=')
            .ok_or_else(|| format!("{field}: {item:?} is not NAME=QUANTITY (e.g. cpu=100m,memory=256Mi)"))?;
        if !matches!(name, "cpu" | "memory" | "ephemeral-storage") && !name.contains('/') {
            return Err(format!(
                "{field}: {name:?} is not cpu, memory, ephemeral-storage or an extended resource (DOMAIN/NAME)"
            ));
        }
        validate::quantity(quantity).map_err(|e| format!("{field}.{name}: {e}"))?;
        out.insert(name.into(), Quantity(quantity.into()));
    }
    Ok(out)
}

/// `--requests` and `--limits` as resource lists, each checked.
pub fn requirements(
    requests: Option<&str>,
    limits: Option<&str>,
) -> Result<(Option<ResourceList>, Option<ResourceList>), String> {
    let requests = requests
        .map(|r| resource_list(r, "spec.resources.requests"))
        .transpose()?;
    let limits = limits.map(|l| resource_list(l, "spec.resources.limits")).transpose()?;
    Ok((requests, limits))
}

/// Sets the requests and limits given, keeping the other of the two.
pub fn set_requirements(
    resources: &mut Option<ResourceRequirements>,
    requests: &Option<ResourceList>,
    limits: &Option<ResourceList>,
) {
    if requests.is_none() && limits.is_none() {
        return;
    }
    let resources = resources.get_or_insert_default();
    if let Some(r) = requests {
        resources.requests = Some(r.clone());
    }
    if let Some(l) = limits {
        resources.limits = Some(l.clone());
    }
}

/// Sets a text field as a command line gives it: absent leaves it, `""` unsets it.
pub fn set_text(field: &mut Option<String>, given: &Option<String>) {
    match given.as_deref() {
        None => {}
        Some("") => *field = None,
        Some(v) => *field = Some(v.to_string()),
    }
}

/// The labels of the registry's pods, which its spreading rules select.
fn registry_pods() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
    let (key, value) = crate::render::REGISTRY_LABELS;
    k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
        match_labels: Some([(key.to_string(), value.to_string())].into()),
        ..Default::default()
    }
}

/// `KEY[:MAX-SKEW[:WHEN-UNSATISFIABLE]]` spreads the registry's pods over the values of the node
/// label KEY (replacing a rule for the same key; max skew 1 and DoNotSchedule unless given);
/// `KEY-` removes the rule for KEY.
pub fn topology_spread(
    current: Option<&Vec<TopologySpreadConstraint>>,
    args: &[String],
    field: &str,
) -> Result<Option<Vec<TopologySpreadConstraint>>, String> {
    let mut list = current.cloned().unwrap_or_default();
    let form = "write KEY[:MAX-SKEW[:DoNotSchedule|ScheduleAnyway]] to spread (e.g. \
                topology.kubernetes.io/zone:1:ScheduleAnyway) or KEY- to remove";
    for arg in args {
        if let Some(key) = arg.strip_suffix('-').filter(|k| !k.contains(':')) {
            validate::label_key(key).map_err(|e| format!("{field}: {e}; {form}"))?;
            list.retain(|c| c.topology_key != key);
            continue;
        }
        let mut parts = arg.splitn(3, ':');
        let key = parts.next().unwrap_or_default();
        validate::label_key(key).map_err(|e| format!("{field}: {e}; {form}"))?;
        let max_skew = match parts.next() {
            None => 1,
            Some(n) => n
                .parse::<i32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("{field}: max skew {n:?} is not a whole number of at least 1; {form}"))?,
        };
        let when = parts.next().unwrap_or("DoNotSchedule");
        if !matches!(when, "DoNotSchedule" | "ScheduleAnyway") {
            return Err(format!(
                "{field}: {when:?} is not DoNotSchedule or ScheduleAnyway; {form}"
            ));
        }
        list.retain(|c| c.topology_key != key);
        list.push(TopologySpreadConstraint {
            topology_key: key.into(),
            max_skew,
            when_unsatisfiable: when.into(),
            label_selector: Some(registry_pods()),
            ..TopologySpreadConstraint::default()
        });
    }
    Ok((!list.is_empty()).then_some(list))
}

/// How strongly the registry's pods keep off each other's nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AntiAffinity {
    /// Never two on one node (a pod waits for a free node)
    Required,
    /// Apart when the scheduler can
    Preferred,
}

/// An affinity that keeps the registry's pods on different nodes.
pub fn anti_affinity(how: AntiAffinity) -> Affinity {
    let term = PodAffinityTerm {
        label_selector: Some(registry_pods()),
        topology_key: "kubernetes.io/hostname".into(),
        ..PodAffinityTerm::default()
    };
    let anti = match how {
        AntiAffinity::Required => PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term]),
            ..PodAntiAffinity::default()
        },
        AntiAffinity::Preferred => PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
                weight: 100,
                pod_affinity_term: term,
            }]),
            ..PodAntiAffinity::default()
        },
    };
    Affinity {
        pod_anti_affinity: Some(anti),
        ..Affinity::default()
    }
}

/// An affinity as a file gives it (YAML or JSON): fields it does not know are refused, so that a
/// misspelt one is not silently dropped.
pub fn affinity_from(text: &str, field: &str) -> Result<Affinity, String> {
    let value: serde_json::Value =
        serde_saphyr::from_str(text).map_err(|e| format!("{field}: the file is not YAML or JSON: {e}"))?;
    let affinity: Affinity =
        serde_json::from_value(value.clone()).map_err(|e| format!("{field}: not an affinity: {e}"))?;
    let back = serde_json::to_value(&affinity).map_err(|e| format!("{field}: {e}"))?;
    if let Some(path) = first_unknown(&value, &back, field) {
        return Err(format!(
            "{path}: unknown field; an affinity has nodeAffinity, podAffinity and podAntiAffinity \
             (see kubectl explain pod.spec.affinity)"
        ));
    }
    Ok(affinity)
}

/// The first field of `given` that did not survive into `kept` (what the type knows).
fn first_unknown(given: &serde_json::Value, kept: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match (given, kept) {
        (Value::Object(g), Value::Object(k)) => g.iter().find_map(|(name, v)| {
            let child = format!("{path}.{name}");
            match k.get(name) {
                None if !v.is_null() => Some(child),
                None => None,
                Some(kv) => first_unknown(v, kv, &child),
            }
        }),
        (Value::Array(g), Value::Array(k)) => g
            .iter()
            .zip(k)
            .enumerate()
            .find_map(|(i, (gv, kv))| first_unknown(gv, kv, &format!("{path}[{i}]"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selectors_set_and_remove() {
        let cur: Selector = [("a", "1"), ("b", "2")].map(|(k, v)| (k.into(), v.into())).into();
        let out = node_selector(Some(&cur), &strings(&["b-", "node-role.kubernetes.io/infra="]), "f").unwrap();
        assert_eq!(
            serde_json::to_value(out).unwrap(),
            json!({"a": "1", "node-role.kubernetes.io/infra": ""})
        );
        assert!(node_selector(None, &strings(&["a-"]), "f").unwrap().is_none());
        assert!(
            node_selector(None, &strings(&["nokey"]), "spec.nodeSelector")
                .unwrap_err()
                .contains("spec.nodeSelector")
        );
        assert!(node_selector(None, &strings(&["k=bad value"]), "f").is_err());
    }

    #[test]
    fn tolerations_as_taints_are_written() {
        let out = tolerations(
            None,
            &strings(&["infra=reserved:NoSchedule", "gpu", "x:NoExecute:300"]),
            "f",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            json!([
                {"key": "infra", "operator": "Equal", "value": "reserved", "effect": "NoSchedule"},
                {"key": "gpu", "operator": "Exists"},
                {"key": "x", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ])
        );
        let out = tolerations(Some(&out), &strings(&["infra-", "gpu=1"]), "f")
            .unwrap()
            .unwrap();
        // infra removed; gpu (same key, no effect) replaced by the Equal toleration.
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            json!([
                {"key": "x", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "gpu", "operator": "Equal", "value": "1"}
            ])
        );
        for bad in ["k:Never", "k:NoSchedule:30", "bad key", "k=v:NoExecute:x"] {
            assert!(tolerations(None, &strings(&[bad]), "f").is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_lists() {
        assert_eq!(
            serde_json::to_value(resource_list("cpu=100m,memory=256Mi", "f").unwrap()).unwrap(),
            json!({"cpu": "100m", "memory": "256Mi"})
        );
        assert!(
            resource_list("cpu=lots", "spec.resources.requests")
                .unwrap_err()
                .contains("spec.resources.requests.cpu")
        );
        assert!(resource_list("disk=1", "f").is_err());
        assert!(resource_list("cpu", "f").is_err());
    }

    #[test]
    fn text_fields_are_set_kept_or_unset() {
        let mut field = Some("a".to_string());
        set_text(&mut field, &None);
        assert_eq!(field.as_deref(), Some("a"));
        set_text(&mut field, &Some("b".into()));
        assert_eq!(field.as_deref(), Some("b"));
        set_text(&mut field, &Some(String::new()));
        assert_eq!(field, None);
    }

    #[test]
    fn spreading_rules_as_written() {
        let field = "spec.topologySpreadConstraints";
        let set = |current: Option<&Vec<TopologySpreadConstraint>>, args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            topology_spread(current, &args, field)
        };
        let zone = set(None, &["topology.kubernetes.io/zone"]).unwrap().unwrap();
        assert_eq!(zone[0].max_skew, 1);
        assert_eq!(zone[0].when_unsatisfiable, "DoNotSchedule");
        assert_eq!(
            zone[0].label_selector.as_ref().unwrap().match_labels.as_ref().unwrap()["docker-registry"],
            "default"
        );
        let both = set(
            Some(&zone),
            &[
                "kubernetes.io/hostname:2:ScheduleAnyway",
                "topology.kubernetes.io/zone:3",
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(both.len(), 2);
        assert_eq!(
            (both[0].max_skew, both[0].when_unsatisfiable.as_str()),
            (2, "ScheduleAnyway")
        );
        assert_eq!(both[1].max_skew, 3);
        assert_eq!(set(Some(&zone), &["topology.kubernetes.io/zone-"]).unwrap(), None);
        for (bad, said) in [
            ("zone:0", "max skew \"0\""),
            ("zone:x", "max skew \"x\""),
            (
                "zone:1:Sometimes",
                "\"Sometimes\" is not DoNotSchedule or ScheduleAnyway",
            ),
            ("bad key!", "spec.topologySpreadConstraints"),
        ] {
            let e = set(None, &[bad]).unwrap_err();
            assert!(e.contains(said), "{bad}: {e}");
        }
    }

    #[test]
    fn an_affinity_file_with_an_unknown_field_is_refused() {
        let field = "spec.affinity";
        let good = "podAntiAffinity:\n  requiredDuringSchedulingIgnoredDuringExecution:\n  - topologyKey: kubernetes.io/hostname\n    labelSelector: {matchLabels: {docker-registry: default}}\n";
        assert_eq!(
            affinity_from(good, field).unwrap(),
            anti_affinity(AntiAffinity::Required)
        );
        let typo = "podAntiAffinity:\n  requiredDuringScheduling:\n  - topologyKey: kubernetes.io/hostname\n";
        let e = affinity_from(typo, field).unwrap_err();
        assert!(
            e.starts_with("spec.affinity.podAntiAffinity.requiredDuringScheduling: unknown field"),
            "{e}"
        );
        assert!(affinity_from("[1, 2]", field).unwrap_err().contains("not an affinity"));
    }
}
