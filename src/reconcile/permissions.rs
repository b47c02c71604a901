//! What the reconciler needs to run in a cluster, and no more: the RBAC rules and the manifests
//! that run `reconcile --watch` with leader election.

use super::admission::{WEBHOOK_CONFIGURATION, WEBHOOK_PATH, WEBHOOK_SERVICE};
use crate::api::REGISTRY_NAMESPACE;
use crate::render::rule;
use serde_json::{Value, json};

pub(crate) const SERVICE_ACCOUNT: &str = "oc-registry";
pub(crate) const CLUSTER_ROLE: &str = "oc-registry-reconciler";

const READ: &[&str] = &["get", "list", "watch"];
const WEBHOOK_PORT: u16 = 8443;
const WEBHOOK_CERTS: &str = "/var/run/secrets/webhook";
/// The Secret the service CA issues the webhook's serving certificate into.
const WEBHOOK_SECRET: &str = "oc-registry-webhook-tls";
/// The ConfigMaps in the registry's namespace a pass writes.
const OWNED_CONFIGMAPS: &[&str] = &[
    crate::render::REGISTRY_CERTIFICATES,
    crate::state::snapshot::SERVICE_CA_CONFIGMAP,
];
const MANAGE: &[&str] = &["get", "list", "watch", "create", "update", "patch", "delete"];

/// Cluster-wide: the registry's own APIs, the cluster config it reads, the ClusterOperator it
/// reports to, and the two ClusterRoles (with their bindings) it maintains.
pub(crate) fn cluster_rules() -> Vec<Value> {
    let mut rules = vec![
        rule(
            &["imageregistry.operator.openshift.io"],
            &["configs", "imagepruners"],
            MANAGE,
        ),
        rule(
            &["imageregistry.operator.openshift.io"],
            &["configs/status", "imagepruners/status"],
            &["get", "update", "patch"],
        ),
        rule(
            &["config.openshift.io"],
            &["infrastructures", "proxies", "images", "apiservers", "clusterversions"],
            READ,
        ),
        rule(
            &["config.openshift.io"],
            &["images/status"],
            &["get", "update", "patch"],
        ),
        rule(
            &["config.openshift.io"],
            &["clusteroperators"],
            &["get", "list", "watch"],
        ),
        rule(
            &["config.openshift.io"],
            &["clusteroperators/status"],
            &["get", "update", "patch"],
        ),
        rule(&[""], &["nodes"], &["list", "watch"]),
        rule(&["storage.k8s.io"], &["storageclasses"], &["list", "watch"]),
        // Created by name; create cannot be limited to names.
        rule(
            &["rbac.authorization.k8s.io"],
            &["clusterroles", "clusterrolebindings"],
            &["create"],
        ),
    ];
    let mut named = rule(
        &["rbac.authorization.k8s.io"],
        &["clusterroles"],
        &["get", "list", "watch", "update", "patch", "delete", "escalate", "bind"],
    );
    named["resourceNames"] = json!(["system:registry", "system:image-pruner"]);
    rules.push(named);
    let mut bindings = rule(
        &["rbac.authorization.k8s.io"],
        &["clusterrolebindings"],
        &["get", "list", "watch", "update", "patch", "delete"],
    );
    bindings["resourceNames"] = json!(["registry-registry-role", "openshift-image-registry-pruner"]);
    rules.push(bindings);
    // Trusting a certificate it made in its own webhook configuration, and nothing else.
    let mut webhook = rule(
        &["admissionregistration.k8s.io"],
        &["validatingwebhookconfigurations"],
        &["get", "update"],
    );
    webhook["resourceNames"] = json!([WEBHOOK_CONFIGURATION]);
    rules.push(webhook);
    // The registry's namespace, read for its supplemental groups.
    let mut namespace = rule(&[""], &["namespaces"], READ);
    namespace["resourceNames"] = json!([REGISTRY_NAMESPACE]);
    rules.push(namespace);
    rules
}

/// In `openshift-image-registry`: everything the registry runs on, and the leader Lease.
pub(crate) fn namespace_rules() -> Vec<Value> {
    vec![
        rule(
            &[""],
            &["secrets", "services", "serviceaccounts", "persistentvolumeclaims"],
            MANAGE,
        ),
        // ConfigMaps: read any, create, but change only the ones the registry keeps, so the
        // reconciler cannot rewrite the policy ConfigMap it enforces.
        rule(&[""], &["configmaps"], &["get", "list", "watch", "create"]),
        json!({
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": OWNED_CONFIGMAPS,
            "verbs": ["update", "patch", "delete"],
        }),
        rule(&["apps"], &["deployments", "daemonsets"], MANAGE),
        rule(&["batch"], &["cronjobs"], MANAGE),
        rule(&["batch"], &["jobs"], &["get", "list", "watch"]),
        rule(&["policy"], &["poddisruptionbudgets"], MANAGE),
        rule(&["networking.k8s.io"], &["networkpolicies"], MANAGE),
        rule(&["route.openshift.io"], &["routes"], MANAGE),
        rule(
            &["route.openshift.io"],
            &["routes/custom-host"],
            &["create", "update", "patch"],
        ),
        rule(&["monitoring.coreos.com"], &["prometheusrules"], MANAGE),
        rule(&["coordination.k8s.io"], &["leases"], &["get", "create", "update"]),
        rule(&[""], &["events"], &["create"]),
    ]
}

/// `openshift-config` holds the pull secret and the additional trusted CAs it reads; the
/// published registry CA goes to `openshift-config-managed`.
pub(crate) fn config_rules() -> Vec<Value> {
    vec![rule(&[""], &["configmaps", "secrets"], READ)]
}

pub(crate) fn config_managed_rules() -> Vec<Value> {
    vec![rule(&[""], &["configmaps"], MANAGE)]
}

/// The objects that run the reconciler: its ServiceAccount, roles, bindings and Deployment.
pub fn manifests(image: &str, replicas: i32) -> Vec<Value> {
    let ns = REGISTRY_NAMESPACE;
    let subject = json!([{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": ns}]);
    let labels = json!({"app.kubernetes.io/name": "oc-registry", "app.kubernetes.io/component": "reconciler"});
    let role = |name: &str, namespace: &str, rules: Vec<Value>| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": name, "namespace": namespace, "labels": labels}, "rules": rules})
    };
    let binding = |name: &str, namespace: &str| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": name, "namespace": namespace, "labels": labels},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
               "subjects": subject})
    };
    // Namespaced rules also in a ClusterRole would be wider than needed: they stay in Roles.
    vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": SERVICE_ACCOUNT, "namespace": ns, "labels": labels}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": CLUSTER_ROLE, "labels": labels}, "rules": cluster_rules()}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": CLUSTER_ROLE, "labels": labels},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CLUSTER_ROLE},
               "subjects": subject}),
        role(CLUSTER_ROLE, ns, namespace_rules()),
        binding(CLUSTER_ROLE, ns),
        role(CLUSTER_ROLE, "openshift-config", config_rules()),
        binding(CLUSTER_ROLE, "openshift-config"),
        role(CLUSTER_ROLE, "openshift-config-managed", config_managed_rules()),
        binding(CLUSTER_ROLE, "openshift-config-managed"),
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": super::events::RECONCILER, "namespace": ns, "labels": labels},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "strategy": {"type": "RollingUpdate"},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": SERVICE_ACCOUNT,
                        "priorityClassName": "system-cluster-critical",
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                        "containers": [{
                            "name": "reconciler",
                            "image": image,
                            "command": ["oc-registry", "reconcile", "--watch"],
                            "env": [
                                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                // A writable home on a read-only root filesystem.
                                {"name": "HOME", "value": "/tmp"},
                            ],
                            "args": [
                                "--identity=$(POD_NAME)",
                                format!("--webhook-listen=0.0.0.0:{WEBHOOK_PORT}"),
                                format!("--webhook-cert={WEBHOOK_CERTS}/tls.crt"),
                                format!("--webhook-key={WEBHOOK_CERTS}/tls.key"),
                            ],
                            "ports": [{"name": "webhook", "containerPort": WEBHOOK_PORT, "protocol": "TCP"}],
                            // Room for one policy module compiling, which is bounded at 1 GiB.
                            "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "1280Mi"}},
                            "securityContext": {
                                "allowPrivilegeEscalation": false,
                                "readOnlyRootFilesystem": true,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [
                                {"name": "tmp", "mountPath": "/tmp"},
                                {"name": "webhook-certs", "mountPath": WEBHOOK_CERTS, "readOnly": true},
                            ],
                        }],
                        "volumes": [
                            {"name": "tmp", "emptyDir": {}},
                            // Issued by the service CA; without it the reconciler makes its own.
                            {"name": "webhook-certs", "secret": {"secretName": WEBHOOK_SECRET, "optional": true}},
                        ],
                    },
                },
            },
        }),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": WEBHOOK_SERVICE, "namespace": ns, "labels": labels,
                         "annotations": {"service.beta.openshift.io/serving-cert-secret-name": WEBHOOK_SECRET}},
            "spec": {"selector": labels, "ports": [{"name": "webhook", "port": 443, "targetPort": WEBHOOK_PORT, "protocol": "TCP"}]},
        }),
        // Every create and update of the Config and the ImagePruner passes the cluster's admission
        // modules; when the webhook cannot answer, the write is refused.
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": WEBHOOK_CONFIGURATION, "labels": labels,
                         "annotations": {"service.beta.openshift.io/inject-cabundle": "true"}},
            "webhooks": [{
                "name": "policies.oc-registry.openshift.io",
                "clientConfig": {"service": {"namespace": ns, "name": WEBHOOK_SERVICE, "path": WEBHOOK_PATH, "port": 443}},
                "rules": [{
                    "apiGroups": ["imageregistry.operator.openshift.io"],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["configs", "imagepruners"],
                    "scope": "Cluster",
                }],
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 10,
            }],
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Kind;

    #[test]
    fn the_reconciler_cannot_rewrite_the_policy_configmap_it_enforces() {
        let rules = namespace_rules();
        for rule in rules
            .iter()
            .filter(|r| r["resources"].as_array().unwrap().contains(&json!("configmaps")))
        {
            let verbs = rule["verbs"].as_array().unwrap();
            let changes = ["update", "patch", "delete"].iter().any(|v| verbs.contains(&json!(v)));
            if changes {
                let names = rule["resourceNames"]
                    .as_array()
                    .expect("changes only to named ConfigMaps");
                assert!(
                    !names.contains(&json!(crate::policy::config::CLUSTER_CONFIGMAP)),
                    "{rule}"
                );
            }
        }
        // Every ConfigMap a pass writes in the namespace is one it may change.
        let mut inputs = crate::render::inputs::Inputs::of_spec(
            json!({"managementState": "Managed", "replicas": 1, "httpSecret": "s", "storage": {"emptyDir": {}}}),
        );
        inputs.images.registry = Some("registry".into());
        inputs.images.pruner = Some("cli".into());
        inputs.images.operator = Some("operator".into());
        inputs.fs_group = Some(1);
        let mut written: Vec<crate::render::Desired> = crate::render::render(&inputs).objects;
        written.extend(crate::render::pruner_objects(&inputs, &crate::policy::sdk::PrunerDecision::default()).unwrap());
        let configmaps: Vec<&str> = written
            .iter()
            .filter(|d| d.kind == Kind::ConfigMap && d.namespace.as_deref() == Some(REGISTRY_NAMESPACE))
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(configmaps.len(), 2, "{configmaps:?}");
        for name in configmaps {
            assert!(OWNED_CONFIGMAPS.contains(&name), "{name}");
        }
    }
}
