//! node-ca: the DaemonSet that carries every key of `image-registry-certificates` to each node's
//! `/etc/docker/certs.d/<host:port>/ca.crt` (the last `..` of a key becomes `:`), so that the
//! container runtime trusts the registry and every additional trusted registry. It runs the
//! operator's own image (`node-ca-sync`), on every Linux node whatever its taints, in the host's
//! network so that it works before the pod network does.

use super::certificates::REGISTRY_CERTIFICATES;
use super::{Desired, Kind, Problem};
use crate::render::inputs::Inputs;
use serde_json::json;

pub const NODE_CA: &str = "node-ca";

pub fn objects(inputs: &Inputs) -> Result<Vec<Desired>, Problem> {
    let image = inputs.images.operator.clone().ok_or_else(|| {
        Problem::new(
            "Error",
            "the node-ca image is unknown: the cluster has no openshift-image-registry/cluster-image-registry-operator \
             Deployment naming it (env OPERATOR_IMAGE); pass --operator-image",
        )
    })?;
    let labels = json!({"name": NODE_CA});
    let daemon_set = Desired::new(
        Kind::DaemonSet,
        NODE_CA,
        json!({
            "metadata": {},
            "spec": {
                "selector": {"matchLabels": labels},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {
                            "target.workload.openshift.io/management": "{\"effect\": \"PreferredDuringScheduling\"}",
                            "openshift.io/required-scc": "privileged",
                        },
                    },
                    "spec": {
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "priorityClassName": "system-cluster-critical",
                        "tolerations": [{"operator": "Exists"}],
                        "hostNetwork": true,
                        "serviceAccountName": NODE_CA,
                        "containers": [{
                            "name": NODE_CA,
                            "image": image,
                            "command": ["cluster-image-registry-operator", "node-ca-sync"],
                            "securityContext": {"privileged": true, "runAsUser": 1001, "runAsGroup": 0},
                            "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}},
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                            "volumeMounts": [
                                {"name": "serviceca", "mountPath": "/tmp/serviceca"},
                                {"name": "host", "mountPath": "/etc/docker/certs.d"},
                            ],
                        }],
                        "volumes": [
                            {"name": "host", "hostPath": {"path": "/etc/docker/certs.d"}},
                            {"name": "serviceca", "configMap": {"name": REGISTRY_CERTIFICATES}},
                        ],
                    },
                },
            },
        }),
    );
    Ok(vec![
        Desired::new(Kind::ServiceAccount, NODE_CA, json!({"metadata": {}})),
        daemon_set,
    ])
}
