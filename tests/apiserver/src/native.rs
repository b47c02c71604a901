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

/// What an object loses on its way through its Go type: maps that are empty, which Go's
/// `omitempty` drops (a ConfigMap's `"data": {}`, empty labels or annotations).
pub fn as_stored(kind: &ResourceKind, obj: &mut Value) {
    let empty = |v: &Value| v.as_object().is_some_and(serde_json::Map::is_empty);
    // Every kind's metadata is a Go ObjectMeta; only built-in kinds have Go types for the rest.
    if kind.origin == crate::catalog::Origin::BuiltIn
        && let Some(map) = obj.as_object_mut()
    {
        for field in ["data", "binaryData", "stringData"] {
            if map.get(field).is_some_and(empty) {
                map.remove(field);
            }
        }
    }
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["labels", "annotations"] {
            if meta.get(field).is_some_and(empty) {
                meta.remove(field);
            }
        }
    }
}

pub fn validate(kind: &ResourceKind, obj: &Value, errors: &mut Vec<FieldError>) {
    if (kind.group.as_str(), kind.kind.as_str()) == ("apps", "Deployment") {
        deployment(obj, errors);
    }
    let Some(path) = pod_spec_path(kind) else {
        return;
    };
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
            // `validateVolumeMounts`: a mount names a volume of the pod, once per path.
            let mut paths = Vec::new();
            for (j, mount) in items(container, "volumeMounts") {
                let at = at.child("volumeMounts").index(j);
                let name = mount.get("name").cloned().unwrap_or(Value::Null);
                if !seen.contains(&name) {
                    errors.push(FieldError::not_found(&at.child("name"), &name));
                }
                let path = mount.get("mountPath").cloned().unwrap_or(Value::Null);
                if paths.contains(&path) {
                    errors.push(FieldError::invalid(&at.child("mountPath"), &path, "must be unique"));
                }
                paths.push(path);
            }
            // `validateContainerPorts`
            for (j, port) in items(container, "ports") {
                if let Some(n) = port.get("containerPort").and_then(Value::as_i64)
                    && !(1..=65535).contains(&n)
                {
                    errors.push(FieldError::invalid(
                        &at.child("ports").index(j).child("containerPort"),
                        &json!(n),
                        "must be between 1 and 65535, inclusive",
                    ));
                }
            }
        }
    }
}

/// `ValidateDeploymentSpec`: the selector selects the template, and the strategy's fields fit
/// its type.
fn deployment(obj: &Value, errors: &mut Vec<FieldError>) {
    let spec = &obj["spec"];
    let at = FieldPath::root().child("spec");
    if let Some(wanted) = spec.pointer("/selector/matchLabels").and_then(Value::as_object) {
        let labels = spec.pointer("/template/metadata/labels").and_then(Value::as_object);
        let selects = wanted.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if !selects {
            errors.push(FieldError::invalid(
                &at.child("template").child("metadata").child("labels"),
                &json!(go_map(labels)),
                "`selector` does not match template `labels`",
            ));
        }
    }
    if spec.pointer("/strategy/type").and_then(Value::as_str) == Some("Recreate")
        && spec.pointer("/strategy/rollingUpdate").is_some_and(|r| !r.is_null())
    {
        errors.push(FieldError::forbidden(
            &at.child("strategy").child("rollingUpdate"),
            "may not be specified when strategy `type` is 'Recreate'",
        ));
    }
}

/// A label map as Go's `%#v` prints it in these messages.
fn go_map(labels: Option<&serde_json::Map<String, Value>>) -> String {
    let pairs: Vec<String> = labels
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{:?}:{:?}", k, v.as_str().unwrap_or_default()))
        .collect();
    format!("map[string]string{{{}}}", pairs.join(", "))
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
    fn errors_of(kind: (&str, &str), obj: Value) -> Vec<String> {
        let catalog = crate::catalog::Catalog::standard(true).unwrap();
        let kind = catalog.find(kind.0, "v1", kind.1).unwrap();
        let mut errors = Vec::new();
        validate(&kind, &obj, &mut errors);
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn mounts_name_volumes_ports_are_ports_and_selectors_select() {
        let pod = json!({"spec": {"volumes": [{"name": "a", "emptyDir": {}}], "containers": [{
            "name": "c", "volumeMounts": [{"name": "a", "mountPath": "/a"}, {"name": "b", "mountPath": "/a"}],
            "ports": [{"containerPort": 70000}],
        }]}});
        assert_eq!(
            errors_of(("", "pods"), pod),
            [
                "spec.containers[0].volumeMounts[1].name: Not found: \"b\"",
                "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/a\": must be unique",
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            ]
        );
        let deployment = json!({"spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}},
            "template": {"metadata": {"labels": {"app": "y"}}, "spec": {"containers": [{"name": "c"}]}},
        }});
        let errors = errors_of(("apps", "deployments"), deployment);
        assert!(
            errors[0].starts_with("spec.template.metadata.labels: Invalid value: "),
            "{errors:?}"
        );
        assert!(
            errors[0].ends_with("`selector` does not match template `labels`"),
            "{errors:?}"
        );
        assert_eq!(
            errors[1],
            "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"
        );
    }

    #[test]
    fn empty_maps_are_not_stored() {
        let catalog = crate::catalog::Catalog::standard(true).unwrap();
        let kind = catalog.find("", "v1", "configmaps").unwrap();
        let mut cm = json!({"metadata": {"name": "x", "labels": {}, "annotations": {"a": "b"}}, "data": {}});
        as_stored(&kind, &mut cm);
        assert_eq!(cm, json!({"metadata": {"name": "x", "annotations": {"a": "b"}}}));
    }
}
