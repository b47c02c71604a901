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
const RETRY_SCRIPT: &str = r#"for i in $(seq 0 5); do
  "$@" && exit 0
  code=$?
  if [ "$i" -lt 5 ]; then
    echo "attempt #$i has failed (exit code $code), going to make another attempt..."
    sleep $(( (i + 1) * 30 ))
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
            rule(&["", "build.openshift.io"], &["buildconfigs", "builds"], &["get", "list"]),
            rule(&["", "apps.openshift.io"], &["deploymentconfigs"], &["get", "list"]),
            rule(&["batch"], &["jobs", "cronjobs"], &["get", "list"]),
            rule(&["apps"], &["daemonsets", "deployments", "replicasets", "statefulsets"], &["get", "list"]),
            rule(&["", "image.openshift.io"], &["images"], &["delete"]),
            rule(&["", "image.openshift.io"], &["images", "imagestreams"], &["get", "list", "watch"]),
            rule(&["", "image.openshift.io"], &["imagestreams/status"], &["update"]),
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
    let network_policy = Desired::new(
        Kind::NetworkPolicy,
        "image-pruner-networkpolicy",
        json!({"metadata": {}, "spec": {
            "podSelector": {"matchLabels": {"app": "image-pruner"}},
            "policyTypes": ["Ingress", "Egress"],
            "egress": [{}],
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
