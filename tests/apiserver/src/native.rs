//! Validation the API server does in Go for built-in kinds, beyond what their OpenAPI schema
//! says: labels and annotations, the pod template rules a registry Deployment or pruner CronJob
//! can break, disruption budgets, and the fields an update may not change.

use crate::catalog::ResourceKind;
use crate::field::{FieldError, FieldPath};
use regex::Regex;
use serde_json::{Value, json};
use std::sync::LazyLock;

static LABEL_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$").unwrap());
static NAME_PART: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").unwrap());
static SUBDOMAIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").unwrap());
const NAME_PART_RULE: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an \
     alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is \
     '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

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

/// Map fields of the built-in Go types (`map[string]…` with `omitempty`), wherever they appear;
/// a struct such as `emptyDir: {}` or `podSelector: {}` is kept however empty.
const MAP_FIELDS: &[&str] = &[
    "labels",
    "annotations",
    "matchLabels",
    "nodeSelector",
    "limits",
    "requests",
    "parameters",
];

/// What an object loses on its way through its Go type and protobuf storage, as kube-apiserver
/// stores it: empty maps go (Go's `omitempty`: a ConfigMap's `"data": {}`, empty labels); empty
/// lists come back nil, so they go too, or read `null` where the field has no `omitempty` (the
/// `rules` of a Role or ClusterRole). Custom resources are stored as sent, but their metadata.
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
        if kind.kind == "Service"
            && let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut)
            && spec.get("selector").is_some_and(empty)
        {
            spec.remove("selector");
        }
        let nil_rules = matches!(kind.kind.as_str(), "Role" | "ClusterRole")
            && map.get("rules").and_then(Value::as_array).is_some_and(Vec::is_empty);
        through_go(obj);
        if nil_rules {
            obj["rules"] = Value::Null;
        }
        return;
    }
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["labels", "annotations"] {
            if meta.get(field).is_some_and(empty) {
                meta.remove(field);
            }
        }
    }
}

/// Drops, at every depth, empty lists and the empty maps of [`MAP_FIELDS`].
fn through_go(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, v| match v {
                Value::Array(a) => !a.is_empty(),
                Value::Object(m) if MAP_FIELDS.contains(&key.as_str()) => !m.is_empty(),
                _ => true,
            });
            map.values_mut().for_each(through_go);
        }
        Value::Array(items) => items.iter_mut().for_each(through_go),
        _ => {}
    }
}

/// Keeps the items of the list `field` of `object` that `keep` accepts; a list left empty goes,
/// as Go's `omitempty` drops it. For the server's own writes, which skip admission.
pub fn retain_items(object: &mut Value, field: &str, keep: impl Fn(&Value) -> bool) {
    let Some(map) = object.as_object_mut() else { return };
    let kept: Vec<Value> = map
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|item| keep(item))
        .cloned()
        .collect();
    if kept.is_empty() {
        map.remove(field);
    } else {
        map.insert(field.to_string(), Value::Array(kept));
    }
}

pub fn validate(kind: &ResourceKind, obj: &Value, errors: &mut Vec<FieldError>) {
    object_meta(obj.get("metadata"), &FieldPath::root().child("metadata"), errors);
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("apps", "Deployment") => deployment(obj, errors),
        ("policy", "PodDisruptionBudget") => disruption_budget(obj, errors),
        _ => {}
    }
    let Some(path) = pod_spec_path(kind) else {
        return;
    };
    let mut at = FieldPath::root();
    let mut spec = obj;
    for (i, name) in path.iter().enumerate() {
        if i > 0 && i + 1 == path.len() {
            // The template's own metadata sits beside its spec.
            object_meta(spec.get("metadata"), &at.child("metadata"), errors);
        }
        at = at.child(name);
        match spec.get(*name) {
            Some(next) => spec = next,
            None => return,
        }
    }
    pod_spec(spec, &at, errors);
}

/// `ValidateObjectMeta`'s label and annotation rules.
fn object_meta(meta: Option<&Value>, at: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(meta) = meta else { return };
    if let Some(labels) = meta.get("labels").and_then(Value::as_object) {
        let at = at.child("labels");
        for (key, value) in labels {
            qualified_name(key, &at, errors);
            let value = value.as_str().unwrap_or_default();
            if value.len() > 63 {
                errors.push(FieldError::invalid(
                    &at,
                    &json!(value),
                    "must be no more than 63 characters",
                ));
            }
            if !LABEL_VALUE.is_match(value) {
                errors.push(FieldError::invalid(
                    &at,
                    &json!(value),
                    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', \
                     and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or \
                     '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                ));
            }
        }
    }
    if let Some(annotations) = meta.get("annotations").and_then(Value::as_object) {
        let at = at.child("annotations");
        let mut size = 0;
        for (key, value) in annotations {
            qualified_name(&key.to_ascii_lowercase(), &at, errors);
            size += key.len() + value.as_str().map_or(0, str::len);
        }
        if size > 256 * 1024 {
            errors.push(FieldError::too_long(&at, 256 * 1024));
        }
    }
}

/// `IsQualifiedName`: an optional DNS-subdomain prefix and `/`, then a name part.
fn qualified_name(key: &str, at: &FieldPath, errors: &mut Vec<FieldError>) {
    let value = json!(key);
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push(FieldError::invalid(at, &value, "prefix part must be non-empty"));
            } else if prefix.len() > 253 {
                errors.push(FieldError::invalid(
                    at,
                    &value,
                    "prefix part must be no more than 253 characters",
                ));
            } else if !SUBDOMAIN.is_match(prefix) {
                errors.push(FieldError::invalid(
                    at,
                    &value,
                    "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
                     '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex \
                     used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                ));
            }
            name
        }
        _ => {
            errors.push(FieldError::invalid(
                at,
                &value,
                format!(
                    "a qualified name {NAME_PART_RULE} with an optional DNS subdomain prefix and '/' (e.g. \
                     'example.com/MyName')"
                ),
            ));
            return;
        }
    };
    if name.is_empty() {
        errors.push(FieldError::invalid(at, &value, "name part must be non-empty"));
    } else if name.len() > 63 {
        errors.push(FieldError::invalid(
            at,
            &value,
            "name part must be no more than 63 characters",
        ));
    } else if !NAME_PART.is_match(name) {
        errors.push(FieldError::invalid(at, &value, format!("name part {NAME_PART_RULE}")));
    }
}

/// `ValidatePodDisruptionBudgetSpec`.
fn disruption_budget(obj: &Value, errors: &mut Vec<FieldError>) {
    let Some(spec) = obj.get("spec") else { return };
    let at = FieldPath::root().child("spec");
    let set = |f: &str| spec.get(f).is_some_and(|v| !v.is_null());
    if set("minAvailable") && set("maxUnavailable") {
        errors.push(FieldError::invalid(
            &at,
            spec,
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for field in ["minAvailable", "maxUnavailable"] {
        let at = at.child(field);
        match spec.get(field) {
            Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n < 0) => {
                errors.push(FieldError::invalid(
                    &at,
                    &json!(n),
                    "must be greater than or equal to 0",
                ));
            }
            Some(Value::String(s)) => match s.strip_suffix('%').and_then(|n| n.parse::<u64>().ok()) {
                Some(percent) if percent > 100 => {
                    errors.push(FieldError::invalid(&at, &json!(s), "must not be greater than 100%"));
                }
                Some(_) => {}
                None => errors.push(FieldError::invalid(
                    &at,
                    &json!(s),
                    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or \
                     '93%', regex used for validation is '[0-9]+%')",
                )),
            },
            _ => {}
        }
    }
    if let Some(policy) = spec.get("unhealthyPodEvictionPolicy").filter(|p| !p.is_null())
        && !matches!(policy.as_str(), Some("AlwaysAllow" | "IfHealthyBudget"))
    {
        errors.push(FieldError::not_supported(
            &at.child("unhealthyPodEvictionPolicy"),
            policy,
            &[json!("AlwaysAllow"), json!("IfHealthyBudget")],
        ));
    }
}

/// `validateProbe` and `validateHandler`: one handler, a liveness or startup probe succeeds
/// once, ports in range.
fn probe(probe: &Value, name: &str, at: &FieldPath, errors: &mut Vec<FieldError>) {
    let at = at.child(name);
    let handlers: Vec<&str> = ["exec", "httpGet", "tcpSocket", "grpc"]
        .into_iter()
        .filter(|h| probe.get(*h).is_some_and(|v| !v.is_null()))
        .collect();
    match handlers.as_slice() {
        [] => errors.push(FieldError::required(&at, "must specify a handler type")),
        [_] => {}
        [_, second, ..] => errors.push(FieldError::forbidden(
            &at.child(second),
            "may not specify more than 1 handler type",
        )),
    }
    for field in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        if let Some(n) = probe.get(field).and_then(Value::as_i64).filter(|n| *n < 0) {
            errors.push(FieldError::invalid(
                &at.child(field),
                &json!(n),
                "must be greater than or equal to 0",
            ));
        }
    }
    if name != "readinessProbe"
        && let Some(n) = probe
            .get("successThreshold")
            .and_then(Value::as_i64)
            .filter(|n| *n != 1)
    {
        errors.push(FieldError::invalid(
            &at.child("successThreshold"),
            &json!(n),
            "must be 1",
        ));
    }
    for handler in ["httpGet", "tcpSocket"] {
        if let Some(port) = probe.pointer(&format!("/{handler}/port")).and_then(Value::as_i64)
            && !(1..=65535).contains(&port)
        {
            errors.push(FieldError::invalid(
                &at.child(handler).child("port"),
                &json!(port),
                "must be between 1 and 65535, inclusive",
            ));
        }
    }
}

/// `ValidateResourceRequirements`: no request above its limit.
fn resources(resources: &Value, at: &FieldPath, errors: &mut Vec<FieldError>) {
    let (Some(requests), Some(limits)) = (
        resources.get("requests").and_then(Value::as_object),
        resources.get("limits").and_then(Value::as_object),
    ) else {
        return;
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (name, request) in requests {
        let Some(limit) = limits.get(name) else { continue };
        let (request, limit) = (text(request), text(limit));
        if let (Some(r), Some(l)) = (crate::quantity::value(&request), crate::quantity::value(&limit))
            && r > l
        {
            errors.push(FieldError::invalid(
                &at.child("requests").key(name),
                &json!(request),
                format!("must be less than or equal to {name} limit of {limit}"),
            ));
        }
    }
}

/// The fields an update may not change (`ValidateDeploymentUpdate`, `ValidateJobUpdate`,
/// `ValidateSecretUpdate`, `ValidateRoleBindingUpdate`, …).
pub fn validate_update(kind: &ResourceKind, old: &Value, new: &Value, errors: &mut Vec<FieldError>) {
    let changed = |pointer: &str| old.pointer(pointer) != new.pointer(pointer);
    let spec = FieldPath::root().child("spec");
    let immutable = |errors: &mut Vec<FieldError>, at: FieldPath, pointer: &str| {
        errors.push(FieldError::invalid(
            &at,
            new.pointer(pointer).unwrap_or(&Value::Null),
            "field is immutable",
        ));
    };
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet") if changed("/spec/selector") => {
            immutable(errors, spec.child("selector"), "/spec/selector");
        }
        ("batch", "Job") => {
            if changed("/spec/selector") {
                immutable(errors, spec.child("selector"), "/spec/selector");
            }
            if changed("/spec/template") {
                immutable(errors, spec.child("template"), "/spec/template");
            }
        }
        ("", "Secret" | "ConfigMap") if old.get("immutable") == Some(&json!(true)) => {
            for field in ["data", "binaryData", "immutable"] {
                if changed(&format!("/{field}")) {
                    errors.push(FieldError::forbidden(
                        &FieldPath::root().child(field),
                        "field is immutable when `immutable` is set",
                    ));
                }
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") if changed("/roleRef") => {
            errors.push(FieldError::invalid(
                &FieldPath::root().child("roleRef"),
                new.get("roleRef").unwrap_or(&Value::Null),
                "cannot change roleRef",
            ));
        }
        ("", "PersistentVolumeClaim") => {
            let mut old_spec = old.get("spec").cloned().unwrap_or_default();
            let mut new_spec = new.get("spec").cloned().unwrap_or_default();
            for s in [&mut old_spec, &mut new_spec] {
                if let Some(map) = s.as_object_mut() {
                    map.remove("volumeAttributesClassName");
                    if let Some(resources) = map.get_mut("resources").and_then(Value::as_object_mut) {
                        resources.remove("requests");
                    }
                }
            }
            if old_spec != new_spec {
                errors.push(FieldError::forbidden(
                    &spec,
                    "spec is immutable after creation except resources.requests and volumeAttributesClassName for \
                     bound claims",
                ));
            }
        }
        _ => {}
    }
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
            for name in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if let Some(p) = container.get(name).filter(|p| !p.is_null()) {
                    probe(p, name, &at, errors);
                }
            }
            if let Some(r) = container.get("resources") {
                resources(r, &at.child("resources"), errors);
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
    fn labels_probes_resources_and_budgets_are_checked_as_the_api_server_checks_them() {
        let pod = json!({"metadata": {"labels": {"bad key!": "ok", "app": "bad value!"}}, "spec": {"containers": [{
            "name": "c",
            "livenessProbe": {"httpGet": {"port": 70000}, "successThreshold": 2},
            "readinessProbe": {"periodSeconds": 10},
            "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}},
        }]}});
        let errors = errors_of(("", "pods"), pod);
        assert!(
            errors[0].starts_with("metadata.labels: Invalid value: \"bad value!\": a valid label must be"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("metadata.labels: Invalid value: \"bad key!\": name part must consist"),
            "{errors:?}"
        );
        assert_eq!(
            &errors[2..],
            [
                "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
                "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].readinessProbe: Required value: must specify a handler type",
                "spec.containers[0].resources.requests[cpu]: Invalid value: \"2\": must be less than or equal to cpu limit of 1500m",
            ]
        );
        let budget =
            json!({"spec": {"minAvailable": 1, "maxUnavailable": "120%", "unhealthyPodEvictionPolicy": "Never"}});
        let errors = errors_of(("policy", "poddisruptionbudgets"), budget);
        assert!(
            errors[0].ends_with("minAvailable and maxUnavailable cannot be both set"),
            "{errors:?}"
        );
        assert_eq!(
            &errors[1..],
            [
                "spec.maxUnavailable: Invalid value: \"120%\": must not be greater than 100%",
                "spec.unhealthyPodEvictionPolicy: Unsupported value: \"Never\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\"",
            ]
        );
    }

    #[test]
    fn updates_may_not_change_what_the_api_server_keeps_fixed() {
        let catalog = crate::catalog::Catalog::standard(true).unwrap();
        let update = |resource: (&str, &str), old: Value, new: Value| -> Vec<String> {
            let kind = catalog.find(resource.0, "v1", resource.1).unwrap();
            let mut errors = Vec::new();
            validate_update(&kind, &old, &new, &mut errors);
            errors.iter().map(ToString::to_string).collect()
        };
        let selector = |app: &str| json!({"spec": {"selector": {"matchLabels": {"app": app}}}});
        let errors = update(("apps", "deployments"), selector("a"), selector("b"));
        assert!(errors[0].starts_with("spec.selector: Invalid value: ") && errors[0].ends_with("field is immutable"));
        assert!(update(("apps", "deployments"), selector("a"), selector("a")).is_empty());
        let binding = |role: &str| json!({"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}});
        let errors = update(
            ("rbac.authorization.k8s.io", "clusterrolebindings"),
            binding("a"),
            binding("b"),
        );
        assert!(errors[0].ends_with("cannot change roleRef"), "{errors:?}");
        let secret = |v: &str| json!({"immutable": true, "data": {"k": v}});
        assert_eq!(
            update(("", "secrets"), secret("YQ=="), secret("Yg==")),
            ["data: Forbidden: field is immutable when `immutable` is set"]
        );
        let claim = |size: &str, class: &str| json!({"spec": {"storageClassName": class, "resources": {"requests": {"storage": size}}}});
        assert!(update(("", "persistentvolumeclaims"), claim("1Gi", "a"), claim("2Gi", "a")).is_empty());
        assert!(
            update(("", "persistentvolumeclaims"), claim("1Gi", "a"), claim("1Gi", "b"))[0]
                .starts_with("spec: Forbidden: spec is immutable")
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

    #[test]
    fn empty_lists_go_and_structs_stay() {
        let catalog = crate::catalog::Catalog::standard(true).unwrap();
        let deployments = catalog.find("apps", "v1", "deployments").unwrap();
        let mut d = json!({"metadata": {"name": "x", "finalizers": []}, "spec": {"template": {"spec": {
            "containers": [{"name": "c", "args": [], "resources": {"requests": {}}}],
            "volumes": [{"name": "v", "emptyDir": {}}],
            "tolerations": [],
            "nodeSelector": {},
        }}}});
        as_stored(&deployments, &mut d);
        assert_eq!(
            d,
            json!({"metadata": {"name": "x"}, "spec": {"template": {"spec": {
                "containers": [{"name": "c", "resources": {}}],
                "volumes": [{"name": "v", "emptyDir": {}}],
            }}}})
        );
        let roles = catalog.find("rbac.authorization.k8s.io", "v1", "clusterroles").unwrap();
        let mut role = json!({"metadata": {"name": "r"}, "rules": []});
        as_stored(&roles, &mut role);
        assert_eq!(role, json!({"metadata": {"name": "r"}, "rules": null}));
        // A custom resource keeps what it was sent.
        let configs = catalog.find("imageregistry.operator.openshift.io", "v1", "configs");
        if let Some(configs) = configs {
            let mut c = json!({"metadata": {"name": "cluster", "labels": {}}, "spec": {"tolerations": []}});
            as_stored(&configs, &mut c);
            assert_eq!(c, json!({"metadata": {"name": "cluster"}, "spec": {"tolerations": []}}));
        }
    }
}
