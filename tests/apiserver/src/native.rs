//! Validation the API server does in Go for built-in kinds, beyond what their OpenAPI schema
//! says: the pod template rules a registry Deployment or pruner CronJob can break.

use crate::catalog::ResourceKind;
use crate::field::{FieldError, FieldPath};
use serde_json::{Value, json};

/// Where a kind keeps its pod spec.
fn pod_spec_path(kind: &ResourceKind) -> Option<&'static [&'static str]> {
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Pod") => Some(&["spec"]),
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet") | ("batch", "Job") => {
            Some(&["spec", "template", "spec"])
        }
        ("batch", "CronJob") => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

pub fn validate(kind: &ResourceKind, obj: &Value, errors: &mut Vec<FieldError>) {
    let Some(path) = pod_spec_path(kind) else { return };
    let mut at = FieldPath::root();
    let mut spec = obj;
    for name in path {
        at = at.child(name);
        match spec.get(*name) {
            Some(next) => spec = next,
            None => return,
        }
    }
    pod_spec(spec, &at, errors);
}

fn pod_spec(spec: &Value, at: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut seen = Vec::new();
    for (i, volume) in items(spec, "volumes") {
        let name = volume.get("name").cloned().unwrap_or(Value::Null);
        if seen.contains(&name) {
            errors.push(FieldError::duplicate(
                &at.child("volumes").index(i).child("name"),
                &name,
            ));
        }
        seen.push(name);
    }
    for list in ["initContainers", "containers"] {
        for (i, container) in items(spec, list) {
            let at = at.child(list).index(i);
            for (j, var) in items(container, "env") {
                env_var(var, &at.child("env").index(j), errors);
            }
        }
    }
}

/// `validateEnvVarValueFrom`: one source at most, and none beside a value.
fn env_var(var: &Value, at: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(from) = var.get("valueFrom") else { return };
    let sources = [
        "fieldRef",
        "resourceFieldRef",
        "configMapKeyRef",
        "secretKeyRef",
        "fileKeyRef",
    ]
    .iter()
    .filter(|s| from.get(**s).is_some_and(|v| !v.is_null()))
    .count();
    let at = at.child("valueFrom");
    if sources > 1 {
        errors.push(FieldError::invalid(
            &at,
            &json!(""),
            "may not have more than one field specified at a time",
        ));
    }
    let value = var.get("value").and_then(Value::as_str).unwrap_or_default();
    if sources > 0 && !value.is_empty() {
        errors.push(FieldError::invalid(
            &at,
            &json!(""),
            "may not be specified when `value` is not empty",
        ));
    }
}

fn items<'v>(v: &'v Value, field: &str) -> impl Iterator<Item = (usize, &'v Value)> {
    v.get(field).and_then(Value::as_array).into_iter().flatten().enumerate()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment_errors(env: Value) -> Vec<String> {
        let catalog = crate::catalog::Catalog::standard(true).unwrap();
        let kind = catalog.find("apps", "v1", "deployments").unwrap();
        let obj = json!({"spec": {"template": {"spec": {"containers": [{"name": "registry", "env": env}]}}}});
        let mut errors = Vec::new();
        validate(&kind, &obj, &mut errors);
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_value_beside_a_source_is_refused_as_the_api_server_refuses_it() {
        let from = json!({"secretKeyRef": {"name": "s", "key": "k"}});
        assert_eq!(
            deployment_errors(json!([{"name": "A", "value": "x", "valueFrom": from}])),
            [
                "spec.template.spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"
            ]
        );
        assert!(deployment_errors(json!([{"name": "A", "value": "", "valueFrom": from}])).is_empty());
        assert!(deployment_errors(json!([{"name": "A", "value": "x"}])).is_empty());
    }
}
