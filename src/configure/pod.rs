//! The pod settings the registry and the pruner share — node selector, tolerations, resources —
//! as written on the command line, applied to the JSON of a spec.

use crate::validate;
use serde_json::{Map, Value, json};

/// `KEY=VALUE` sets a label, `KEY-` removes one (as `kubectl label`).
pub fn node_selector(current: Option<&Value>, args: &[String], field: &str) -> Result<Option<Value>, String> {
    let mut selector: Map<String, Value> = current.and_then(Value::as_object).cloned().unwrap_or_default();
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
        selector.insert(key.into(), json!(value));
    }
    Ok((!selector.is_empty()).then_some(Value::Object(selector)))
}

/// `KEY[=VALUE][:EFFECT[:SECONDS]]` adds a toleration (replacing one with the same key and
/// effect); `KEY-` removes every toleration of that key. No value means operator Exists.
pub fn tolerations(current: Option<&Value>, args: &[String], field: &str) -> Result<Option<Value>, String> {
    let mut list: Vec<Value> = current.and_then(Value::as_array).cloned().unwrap_or_default();
    let form = "write KEY[=VALUE][:EFFECT[:SECONDS]] to add (e.g. infra=reserved:NoSchedule) or KEY- to remove";
    for arg in args {
        if let Some(key) = arg.strip_suffix('-').filter(|k| !k.contains([':', '='])) {
            validate::label_key(key).map_err(|e| format!("{field}: {e}"))?;
            list.retain(|t| t.get("key").and_then(Value::as_str) != Some(key));
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
        let mut toleration = json!({"key": key, "operator": if value.is_some() { "Equal" } else { "Exists" }});
        if let Some(v) = value {
            validate::label_value(v).map_err(|e| format!("{field}: {e}"))?;
            toleration["value"] = json!(v);
        }
        if let Some(e) = effect.filter(|e| !e.is_empty()) {
            if !matches!(e, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
                return Err(format!(
                    "{field}: effect {e:?} is not NoSchedule, PreferNoSchedule or NoExecute; {form}"
                ));
            }
            toleration["effect"] = json!(e);
        }
        if let Some(s) = seconds {
            let s: i64 = s
                .parse()
                .map_err(|_| format!("{field}: {s:?} is not a number of seconds; {form}"))?;
            if effect != Some("NoExecute") {
                return Err(format!("{field}: seconds apply only to the NoExecute effect; {form}"));
            }
            toleration["tolerationSeconds"] = json!(s);
        }
        list.retain(|t| !(t.get("key") == toleration.get("key") && t.get("effect") == toleration.get("effect")));
        list.push(toleration);
    }
    Ok((!list.is_empty()).then_some(Value::Array(list)))
}

/// `cpu=100m,memory=256Mi` into a resource list; values are checked as quantities.
pub fn resource_list(arg: &str, field: &str) -> Result<Value, String> {
    let mut out = Map::new();
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
        out.insert(name.into(), json!(quantity));
    }
    Ok(Value::Object(out))
}

/// `--requests` and `--limits` as resource lists, each checked.
pub fn requirements(requests: Option<&str>, limits: Option<&str>) -> Result<(Option<Value>, Option<Value>), String> {
    let requests = requests
        .map(|r| resource_list(r, "spec.resources.requests"))
        .transpose()?;
    let limits = limits.map(|l| resource_list(l, "spec.resources.limits")).transpose()?;
    Ok((requests, limits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selectors_set_and_remove() {
        let cur = json!({"a": "1", "b": "2"});
        let out = node_selector(Some(&cur), &strings(&["b-", "node-role.kubernetes.io/infra="]), "f").unwrap();
        assert_eq!(out, Some(json!({"a": "1", "node-role.kubernetes.io/infra": ""})));
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
            out,
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
            out,
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
            resource_list("cpu=100m,memory=256Mi", "f").unwrap(),
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
}
