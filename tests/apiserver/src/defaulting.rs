//! The defaults kube-apiserver's Go types give built-in objects on every write (the `SetDefaults_*`
//! functions of `k8s.io/kubernetes/pkg/apis/*/v1`), for the kinds a registry writes or reads, and
//! quantities in their canonical form. A client that compares what it sent with what is stored
//! sees these, as it would against a real cluster.

use crate::catalog::ResourceKind;
use crate::quantity::canonical;
use serde_json::{Map, Value, json};

/// Sets `field` of `obj` to `value` when it is absent (or null).
fn or_default(obj: &mut Map<String, Value>, field: &str, value: Value) {
    if obj.get(field).is_none_or(Value::is_null) {
        obj.insert(field.to_string(), value);
    }
}

/// The object at `path` under `v`, when every step is an object.
fn at<'v>(v: &'v mut Value, path: &[&str]) -> Option<&'v mut Map<String, Value>> {
    let mut here = v;
    for step in path {
        here = here.get_mut(*step)?;
    }
    here.as_object_mut()
}

fn each<'v>(obj: &'v mut Map<String, Value>, field: &str) -> impl Iterator<Item = &'v mut Map<String, Value>> {
    obj.get_mut(field)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

pub fn apply(kind: &ResourceKind, obj: &mut Value) {
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("apps", "Deployment") => deployment(obj),
        ("apps", "ReplicaSet") => {
            replicated(obj);
            template(obj, &["spec", "template"]);
        }
        ("apps", "DaemonSet") => daemon_set(obj),
        ("batch", "Job") => {
            job(at(obj, &["spec"]));
            template(obj, &["spec", "template"]);
        }
        ("batch", "CronJob") => cron_job(obj),
        ("", "Pod") => {
            if let Some(spec) = at(obj, &["spec"]) {
                pod_spec(spec);
            }
        }
        ("", "Service") => service(obj),
        ("", "Secret") => {
            if let Some(secret) = obj.as_object_mut() {
                or_default(secret, "type", json!("Opaque"));
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = at(obj, &["spec"]) {
                or_default(spec, "volumeMode", json!("Filesystem"));
                for field in ["requests", "limits"] {
                    quantities(spec.get_mut("resources").and_then(|r| r.get_mut(field)));
                }
            }
        }
        ("networking.k8s.io", "NetworkPolicy") => network_policy(obj),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            if let Some(binding) = obj.as_object_mut() {
                for subject in each(binding, "subjects") {
                    let kind = subject.get("kind").and_then(Value::as_str).unwrap_or_default();
                    if matches!(kind, "User" | "Group") {
                        or_default(subject, "apiGroup", json!("rbac.authorization.k8s.io"));
                    } else if kind == "ServiceAccount" {
                        or_default(subject, "apiGroup", json!(""));
                    }
                }
            }
        }
        _ => {}
    }
}

fn replicated(obj: &mut Value) {
    if let Some(spec) = at(obj, &["spec"]) {
        or_default(spec, "replicas", json!(1));
    }
}

fn deployment(obj: &mut Value) {
    replicated(obj);
    if let Some(spec) = at(obj, &["spec"]) {
        rolling_update(spec, "strategy", (json!("25%"), json!("25%")));
        or_default(spec, "revisionHistoryLimit", json!(10));
        or_default(spec, "progressDeadlineSeconds", json!(600));
    }
    template(obj, &["spec", "template"]);
}

/// A strategy that rolls by default, with the kind's bounds when it rolls.
fn rolling_update(spec: &mut Map<String, Value>, field: &str, (max_unavailable, max_surge): (Value, Value)) {
    or_default(spec, field, json!({}));
    let Some(strategy) = spec.get_mut(field).and_then(Value::as_object_mut) else {
        return;
    };
    or_default(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type") == Some(&json!("RollingUpdate")) {
        or_default(strategy, "rollingUpdate", json!({}));
        if let Some(rolling) = strategy.get_mut("rollingUpdate").and_then(Value::as_object_mut) {
            or_default(rolling, "maxUnavailable", max_unavailable);
            or_default(rolling, "maxSurge", max_surge);
        }
    }
}

fn daemon_set(obj: &mut Value) {
    if let Some(spec) = at(obj, &["spec"]) {
        rolling_update(spec, "updateStrategy", (json!(1), json!(0)));
        or_default(spec, "revisionHistoryLimit", json!(10));
    }
    template(obj, &["spec", "template"]);
}

fn job(spec: Option<&mut Map<String, Value>>) {
    let Some(spec) = spec else { return };
    or_default(spec, "parallelism", json!(1));
    or_default(spec, "completions", json!(1));
    or_default(spec, "backoffLimit", json!(6));
    or_default(spec, "completionMode", json!("NonIndexed"));
    or_default(spec, "suspend", json!(false));
    or_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
}

fn cron_job(obj: &mut Value) {
    if let Some(spec) = at(obj, &["spec"]) {
        or_default(spec, "concurrencyPolicy", json!("Allow"));
        or_default(spec, "suspend", json!(false));
        or_default(spec, "successfulJobsHistoryLimit", json!(3));
        or_default(spec, "failedJobsHistoryLimit", json!(1));
    }
    job(at(obj, &["spec", "jobTemplate", "spec"]));
    template(obj, &["spec", "jobTemplate", "spec", "template"]);
}

fn template(obj: &mut Value, path: &[&str]) {
    if let Some(spec) = at(obj, path)
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        pod_spec(spec);
    }
}

fn pod_spec(spec: &mut Map<String, Value>) {
    or_default(spec, "dnsPolicy", json!("ClusterFirst"));
    or_default(spec, "restartPolicy", json!("Always"));
    or_default(spec, "terminationGracePeriodSeconds", json!(30));
    or_default(spec, "securityContext", json!({}));
    or_default(spec, "schedulerName", json!("default-scheduler"));
    for field in ["containers", "initContainers"] {
        for container in each(spec, field) {
            self::container(container);
        }
    }
    for volume in each(spec, "volumes") {
        for source in ["secret", "configMap", "projected", "downwardAPI"] {
            if let Some(source) = volume.get_mut(source).and_then(Value::as_object_mut) {
                or_default(source, "defaultMode", json!(420));
            }
        }
    }
}

/// `Always` for an image without a tag or tagged `latest`, else `IfNotPresent`.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let name = image.rsplit('/').next().unwrap_or(image);
    match name.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn container(container: &mut Map<String, Value>) {
    or_default(container, "terminationMessagePath", json!("/dev/termination-log"));
    or_default(container, "terminationMessagePolicy", json!("File"));
    let image = container
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    or_default(container, "imagePullPolicy", json!(pull_policy(&image)));
    // A struct, not a pointer, in Go: always there.
    or_default(container, "resources", json!({}));
    if let Some(resources) = container.get_mut("resources") {
        for field in ["requests", "limits"] {
            quantities(resources.get_mut(field));
        }
    }
    for port in each(container, "ports") {
        or_default(port, "protocol", json!("TCP"));
    }
    for env in each(container, "env") {
        if let Some(field) = env
            .get_mut("valueFrom")
            .and_then(|f| f.get_mut("fieldRef"))
            .and_then(Value::as_object_mut)
        {
            or_default(field, "apiVersion", json!("v1"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = container.get_mut(probe).and_then(Value::as_object_mut) {
            or_default(probe, "timeoutSeconds", json!(1));
            or_default(probe, "periodSeconds", json!(10));
            or_default(probe, "successThreshold", json!(1));
            or_default(probe, "failureThreshold", json!(3));
            if let Some(get) = probe.get_mut("httpGet").and_then(Value::as_object_mut) {
                or_default(get, "scheme", json!("HTTP"));
            }
        }
    }
}

fn service(obj: &mut Value) {
    let Some(spec) = at(obj, &["spec"]) else { return };
    or_default(spec, "type", json!("ClusterIP"));
    or_default(spec, "sessionAffinity", json!("None"));
    let type_ = spec.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
    if type_ != "ExternalName" {
        or_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    for port in each(spec, "ports") {
        or_default(port, "protocol", json!("TCP"));
        if let Some(number) = port.get("port").cloned() {
            or_default(port, "targetPort", number);
        }
    }
}

fn network_policy(obj: &mut Value) {
    let Some(spec) = at(obj, &["spec"]) else { return };
    for direction in ["ingress", "egress"] {
        for rule in each(spec, direction) {
            for port in each(rule, "ports") {
                or_default(port, "protocol", json!("TCP"));
            }
        }
    }
    if spec.get("policyTypes").is_none() {
        let mut types = vec![json!("Ingress")];
        if spec.get("egress").is_some_and(|e| !e.is_null()) {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), Value::Array(types));
    }
}

/// Rewrites each quantity of a resource list in its canonical form.
fn quantities(list: Option<&mut Value>) {
    let Some(list) = list.and_then(Value::as_object_mut) else {
        return;
    };
    for value in list.values_mut() {
        let canonical = match value {
            Value::String(s) => canonical(s),
            Value::Number(n) => canonical(&n.to_string()),
            _ => None,
        };
        if let Some(c) = canonical {
            *value = Value::String(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policies_follow_the_tag() {
        assert_eq!(pull_policy("registry.example.com:5000/app"), "Always");
        assert_eq!(pull_policy("app:latest"), "Always");
        assert_eq!(pull_policy("app:4.20"), "IfNotPresent");
        assert_eq!(pull_policy("quay.io/openshift/release@sha256:abc"), "IfNotPresent");
    }
}
