//! Hiding secret values in anything shown: Secret data, a Route's private key, the Config's
//! `httpSecret`. Shown as kubectl diff shows Secret values: `***`.

use serde_json::Value;

pub const MASK: &str = "***";

/// Masks the secret values of an object in place (by its `kind`).
pub fn redact(object: &mut Value) {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match kind.as_str() {
        "Secret" => {
            for field in ["data", "stringData"] {
                if let Some(map) = object.get_mut(field).and_then(Value::as_object_mut) {
                    for v in map.values_mut() {
                        *v = Value::String(MASK.into());
                    }
                }
            }
            // The last-applied annotation would repeat them.
            if let Some(a) = object
                .pointer_mut("/metadata/annotations")
                .and_then(Value::as_object_mut)
            {
                a.remove("kubectl.kubernetes.io/last-applied-configuration");
            }
        }
        "Route" => {
            if let Some(key) = object.pointer_mut("/spec/tls/key") {
                *key = Value::String(MASK.into());
            }
        }
        "Deployment" | "CronJob" | "Pod" | "Job" => {
            for pointer in ["/spec/template/spec", "/spec/jobTemplate/spec/template/spec", "/spec"] {
                let Some(containers) = object
                    .pointer_mut(&format!("{pointer}/containers"))
                    .and_then(Value::as_array_mut)
                else {
                    continue;
                };
                for env in containers.iter_mut().filter_map(|c| c.get_mut("env")?.as_array_mut()) {
                    for var in env.iter_mut() {
                        let secret = var.get("name").and_then(Value::as_str).is_some_and(is_secret_name);
                        if secret && let Some(v) = var.get_mut("value") {
                            *v = Value::String(MASK.into());
                        }
                    }
                }
            }
        }
        "Config" => {
            if let Some(secret) = object.pointer_mut("/spec/httpSecret") {
                *secret = Value::String(MASK.into());
            }
        }
        _ => {}
    }
}

/// Environment variables that hold secrets when given as literals (the operator once put the
/// HTTP secret and storage keys in the Deployment).
/// Whether an environment variable of this name holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "SECRET",
        "PASSWORD",
        "SECRETKEY",
        "ACCESSKEY",
        "ACCOUNTKEY",
        "TOKENID",
        "TOKEN",
        "APIKEY",
    ];
    let upper = name.to_ascii_uppercase();
    SUFFIXES.iter().any(|s| upper.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_every_secret_value() {
        let mut s = json!({"kind": "Secret", "data": {"a": "c2VjcmV0"}, "stringData": {"b": "secret"}});
        redact(&mut s);
        assert!(!s.to_string().contains("secret"), "{s}");
        let mut c = json!({"kind": "Config", "spec": {"httpSecret": "abcdef", "replicas": 2}});
        redact(&mut c);
        assert_eq!(c["spec"]["httpSecret"], MASK);
        let mut r = json!({"kind": "Route", "spec": {"tls": {"key": "-----BEGIN", "certificate": "c"}}});
        redact(&mut r);
        assert_eq!(r["spec"]["tls"]["key"], MASK);
        assert_eq!(r["spec"]["tls"]["certificate"], "c");
        let mut d = json!({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"env": [
            {"name": "REGISTRY_HTTP_SECRET", "value": "plain"},
            {"name": "REGISTRY_LOG_LEVEL", "value": "info"},
        ]}]}}}});
        redact(&mut d);
        let env = &d["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], MASK);
        assert_eq!(env[1]["value"], "info");
    }
}
