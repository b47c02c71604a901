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
        "Config" => {
            if let Some(secret) = object.pointer_mut("/spec/httpSecret") {
                *secret = Value::String(MASK.into());
            }
        }
        _ => {}
    }
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
    }
}
