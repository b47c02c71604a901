//! The registry's smaller objects: RBAC, ServiceAccount, Service, PodDisruptionBudget,
//! NetworkPolicy and the two Secrets.

use super::{Desired, Kind, metadata_labels, rule};
use crate::api::PRIVATE_CONFIGURATION;
use crate::render::inputs::Inputs;
use crate::storage::Rendering;
use serde_json::{Value, json};

pub fn rbac() -> Vec<Desired> {
    let role = Desired::new(
        Kind::ClusterRole,
        "system:registry",
        json!({
            "metadata": {},
            "rules": [
                rule(&[""], &["limitranges", "resourcequotas"], &["list"]),
                rule(&["image.openshift.io"], &["imagestreamimages", "imagestreams/layers", "imagestreams/secrets"], &["get"]),
                rule(&["image.openshift.io"], &["imagestreams"], &["get", "update"]),
                rule(&["image.openshift.io"], &["imagestreamtags"], &["delete"]),
                rule(&["image.openshift.io"], &["images"], &["get", "update", "create"]),
                rule(&["image.openshift.io"], &["imagestreammappings"], &["create"]),
                rule(&["operator.openshift.io"], &["imagecontentsourcepolicies"], &["list"]),
                rule(&["config.openshift.io"], &["imagedigestmirrorsets", "imagetagmirrorsets"], &["list"]),
                rule(&["authorization.k8s.io"], &["subjectaccessreviews"], &["create"]),
            ],
        }),
    );
    let binding = Desired::new(
        Kind::ClusterRoleBinding,
        "registry-registry-role",
        json!({
            "metadata": {},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:registry"},
            "subjects": [{"kind": "ServiceAccount", "name": "registry", "namespace": "openshift-image-registry"}],
        }),
    );
    vec![role, binding]
}

pub fn service_account() -> Desired {
    Desired::new(Kind::ServiceAccount, "registry", json!({"metadata": {}}))
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A copy of the cluster pull secret, for pull-through from the registries it names.
pub(crate) fn installation_pull_secrets(inputs: &Inputs) -> Desired {
    let data = inputs
        .pull_secret
        .clone()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| b"{}".to_vec());
    Desired::new(
        Kind::Secret,
        "installation-pull-secrets",
        json!({
            "metadata": {},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": b64(&data)},
        }),
    )
}

/// The registry's secret configuration: the storage driver's keys and the HTTP secret.
pub(crate) fn private_configuration(inputs: &Inputs, storage: &Rendering) -> Desired {
    let mut data: serde_json::Map<String, Value> = storage
        .secret_data
        .iter()
        .map(|(k, v)| (k.clone(), json!(b64(v))))
        .collect();
    let http_secret = inputs.config.spec.http_secret.clone().unwrap_or_default();
    data.insert("REGISTRY_HTTP_SECRET".into(), json!(b64(http_secret.as_bytes())));
    Desired::new(
        Kind::Secret,
        PRIVATE_CONFIGURATION,
        json!({"metadata": {}, "type": "Opaque", "data": data}),
    )
}

pub fn service() -> Desired {
    Desired::new(
        Kind::Service,
        "image-registry",
        json!({
            "metadata": {
                "labels": metadata_labels(),
                "annotations": {"service.alpha.openshift.io/serving-cert-secret-name": "image-registry-tls"},
            },
            "spec": {
                "type": "ClusterIP",
                "selector": metadata_labels(),
                "ports": [{"name": "5000-tcp", "port": 5000, "protocol": "TCP", "targetPort": 5000}],
            },
        }),
    )
}

pub(crate) fn pod_disruption_budget(replicas: i32) -> Desired {
    Desired::new(
        Kind::PodDisruptionBudget,
        "image-registry",
        json!({
            "metadata": {"labels": metadata_labels()},
            "spec": {
                "minAvailable": if replicas > 1 { 1 } else { 0 },
                "selector": {"matchLabels": metadata_labels()},
                "unhealthyPodEvictionPolicy": "AlwaysAllow",
            },
        }),
    )
}

pub(crate) fn network_policy() -> Desired {
    Desired::new(
        Kind::NetworkPolicy,
        "image-registry-networkpolicy",
        json!({
            "metadata": {},
            "spec": {
                "podSelector": {"matchLabels": metadata_labels()},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"ports": [{"protocol": "TCP", "port": 5000}]}],
                "egress": [{}],
            },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_role_grants_the_operators_rules_and_only_the_named_api_groups() {
        let role = &rbac()[0];
        let rules = role.object["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 9);
        let core: Vec<&Value> = rules
            .iter()
            .filter(|r| r["apiGroups"].as_array().unwrap().contains(&json!("")))
            .collect();
        assert_eq!(core, [&rule(&[""], &["limitranges", "resourcequotas"], &["list"])]);
        assert!(rules.contains(&rule(
            &["image.openshift.io"],
            &["images"],
            &["get", "update", "create"]
        )));
    }
}
