//! The pod settings the registry and the pruner share — node selector, tolerations, resources —
//! as written on the command line, applied to the typed values of a spec.

use crate::validate;
use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
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
}
