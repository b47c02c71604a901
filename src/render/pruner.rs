//! The image pruner's objects: RBAC, ServiceAccount, the service CA ConfigMap, NetworkPolicy and
//! the CronJob running `oc adm prune images` with the arguments the pruner hook decided.

use super::{Desired, Kind, Problem, rule};
use crate::api::{CLUSTER, ImagePruner};
use crate::policy::sdk::PrunerDecision;
use crate::render::inputs::Inputs;
use crate::state::snapshot::SERVICE_CA_CONFIGMAP;
use serde_json::json;

pub use crate::state::PRUNER_CRONJOB as CRONJOB;

/// Retries the command up to five more times, 30 s longer apart each time, as the operator's
/// pruner does; the exit status is the last attempt's.
const RETRY_SCRIPT: &str = r#"for i in $(seq 1 6); do
  "$@" && exit 0
  code=$?
  if [ "$i" -lt 6 ]; then
    echo "attempt #$i has failed (exit code $code), going to make another attempt..." >&2
    sleep $(( i * 30 ))
  fi
done
exit $code"#;

pub fn pruner_objects(inputs: &Inputs, decision: &PrunerDecision) -> Result<Vec<Desired>, Problem> {
    let image = inputs.images.pruner.clone().ok_or_else(|| {
        Problem::new(
            "Error",
            "the pruner image is unknown: the cluster has no openshift-image-registry/cluster-image-registry-operator \
             Deployment naming it (env IMAGE_PRUNER); pass --pruner-image",
        )
    })?;
    let spec = &inputs.pruner;
    let role = Desired::new(
        Kind::ClusterRole,
        "system:image-pruner",
        json!({"metadata": {}, "rules": [
            rule(&[""], &["pods", "replicationcontrollers"], &["get", "list"]),
            rule(&[""], &["limitranges"], &["list"]),
            rule(&["build.openshift.io"], &["buildconfigs", "builds"], &["get", "list"]),
            rule(&["apps.openshift.io"], &["deploymentconfigs"], &["get", "list"]),
            rule(&["batch"], &["jobs", "cronjobs"], &["get", "list"]),
            rule(&["apps"], &["daemonsets", "deployments", "replicasets", "statefulsets"], &["get", "list"]),
            rule(&["image.openshift.io"], &["images"], &["delete"]),
            rule(&["image.openshift.io"], &["images", "imagestreams"], &["get", "list", "watch"]),
            rule(&["image.openshift.io"], &["imagestreams/status"], &["update"]),
        ]}),
    );
    let binding = Desired::new(
        Kind::ClusterRoleBinding,
        "openshift-image-registry-pruner",
        json!({
            "metadata": {},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:image-pruner"},
            "subjects": [{"kind": "ServiceAccount", "name": "pruner", "namespace": "openshift-image-registry"}],
        }),
    );
    let account = Desired::new(Kind::ServiceAccount, "pruner", json!({"metadata": {}}));
    // The service CA operator fills `service-ca.crt`; this manager owns only the annotation.
    let service_ca = Desired::new(
        Kind::ConfigMap,
        SERVICE_CA_CONFIGMAP,
        json!({"metadata": {"annotations": {"service.beta.openshift.io/inject-cabundle": "true"}}}),
    );
    // The operator's policy: all egress (the API server's address is not known in advance); the
    // narrower rules beside it document what the pruner talks to. Ingress is left open.
    let network_policy = Desired::new(
        Kind::NetworkPolicy,
        "image-pruner-networkpolicy",
        json!({"metadata": {}, "spec": {
            "podSelector": {"matchLabels": {"app": "image-pruner"}},
            "policyTypes": ["Egress"],
            "egress": [
                {},
                {
                    "to": [{
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-kube-apiserver"}},
                        "podSelector": {"matchLabels": {"app": "openshift-kube-apiserver"}},
                    }],
                    "ports": [{"protocol": "TCP", "port": 6443}],
                },
                {
                    "to": [{
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-dns"}},
                        "podSelector": {"matchLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}},
                    }],
                    "ports": [{"protocol": "TCP", "port": 5353}, {"protocol": "UDP", "port": 5353}],
                },
                {
                    "to": [{"podSelector": {"matchLabels": {"docker-registry": "default"}}}],
                    "ports": [{"protocol": "TCP", "port": 5000}],
                },
            ],
        }}),
    );
    let mut command = vec![
        json!("/bin/sh"),
        json!("-c"),
        json!(RETRY_SCRIPT),
        json!("arg0"),
        json!("oc"),
        json!("adm"),
        json!("prune"),
        json!("images"),
    ];
    command.extend(decision.args.iter().map(|a| json!(a)));
    let mut pod = json!({
        "restartPolicy": "Never",
        "serviceAccountName": "pruner",
        "priorityClassName": "system-cluster-critical",
        "containers": [{
            "name": "image-pruner",
            "image": image,
            "command": command,
            "resources": spec.resources.as_ref().map_or_else(
                || json!({"requests": {"cpu": "100m", "memory": "256Mi"}}),
                |r| serde_json::to_value(r).unwrap_or_default(),
            ),
            "securityContext": {"readOnlyRootFilesystem": true},
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "volumeMounts": [{"name": "serviceca", "mountPath": "/var/run/configmaps/serviceca", "readOnly": true}],
        }],
        "volumes": [{"name": "serviceca", "configMap": {"name": SERVICE_CA_CONFIGMAP}}],
    });
    if let Some(v) = &spec.affinity {
        pod["affinity"] = serde_json::to_value(v).unwrap_or_default();
    }
    if let Some(v) = &spec.node_selector {
        pod["nodeSelector"] = serde_json::to_value(v).unwrap_or_default();
    }
    if let Some(v) = &spec.tolerations {
        pod["tolerations"] = serde_json::to_value(v).unwrap_or_default();
    }
    let cronjob = Desired::new(
        Kind::CronJob,
        CRONJOB,
        json!({
            "metadata": {},
            "spec": {
                "schedule": decision.schedule,
                "suspend": decision.suspend,
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 3600,
                "successfulJobsHistoryLimit": decision.successful_jobs_history_limit,
                "failedJobsHistoryLimit": decision.failed_jobs_history_limit,
                "jobTemplate": {
                    "metadata": {"labels": {"created-by": "image-pruner"}},
                    "spec": {
                        "backoffLimit": 0,
                        "template": {
                            "metadata": {
                                "labels": {"app": "image-pruner", "created-by": "image-pruner"},
                                "annotations": {"openshift.io/required-scc": "restricted-v2"},
                            },
                            "spec": pod,
                        },
                    },
                },
            },
        }),
    );
    Ok(vec![role, binding, account, service_ca, network_policy, cronjob])
}

/// The ImagePruner bootstrap creates, as the operator does.
pub fn default_pruner() -> ImagePruner {
    serde_json::from_value(json!({
        "apiVersion": "imageregistry.operator.openshift.io/v1",
        "kind": "ImagePruner",
        "metadata": {"name": CLUSTER},
        "spec": {
            "schedule": "",
            "suspend": false,
            "keepTagRevisions": 3,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "ignoreInvalidImageReferences": true,
        },
    }))
    .expect("a valid ImagePruner")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs the retry script as the CronJob's shell would, with `sleep` a no-op so that six
    /// attempts take no time.
    fn run_retry_script(test: &str, command: &str) -> std::process::Output {
        let dir = std::env::temp_dir().join(format!("oc-registry-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sleep = dir.join("sleep");
        std::fs::write(&sleep, "#!/bin/sh\nexit 0\n").unwrap();
        let mut perms = std::fs::metadata(&sleep).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&sleep, perms).unwrap();
        let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
        let out = Command::new("/bin/sh")
            .args(["-c", RETRY_SCRIPT, "arg0", "/bin/sh", "-c", command])
            .env("PATH", path)
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).ok();
        out
    }

    #[test]
    fn a_failing_prune_is_tried_six_times_numbered_from_one_on_stderr() {
        let out = run_retry_script("retry-fails", "echo run; exit 3");
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(String::from_utf8_lossy(&out.stdout).matches("run").count(), 6);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 5, "{stderr}");
        assert_eq!(
            lines[0],
            "attempt #1 has failed (exit code 3), going to make another attempt..."
        );
        assert!(lines[4].starts_with("attempt #5 has failed"));
    }

    #[test]
    fn a_prune_that_succeeds_is_run_once() {
        let out = run_retry_script("retry-succeeds", "echo run");
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stdout).matches("run").count(), 1);
        assert!(out.stderr.is_empty());
    }

    #[test]
    fn the_pruner_role_grants_only_the_named_api_groups() {
        let decision = PrunerDecision::default();
        let mut inputs = Inputs::of_spec(json!({"managementState": "Managed"}));
        inputs.images.pruner = Some("cli".into());
        let objects = pruner_objects(&inputs, &decision).unwrap();
        let role = objects.iter().find(|d| d.kind == Kind::ClusterRole).unwrap();
        let grants: usize = role.object["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["apiGroups"].as_array().unwrap().iter().any(|g| g == ""))
            .map(|r| r["resources"].as_array().unwrap().len() * r["verbs"].as_array().unwrap().len())
            .sum();
        // pods and replicationcontrollers (get, list), limitranges (list): the core group's own.
        assert_eq!(grants, 5);
        let policy = objects.iter().find(|d| d.kind == Kind::NetworkPolicy).unwrap();
        assert_eq!(policy.object["spec"]["policyTypes"], json!(["Egress"]));
        assert_eq!(policy.object["spec"]["egress"][0], json!({}));
        assert_eq!(policy.object["spec"]["egress"].as_array().unwrap().len(), 4);
    }
}
