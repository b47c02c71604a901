//! The CA ConfigMaps, kept in every management state: `image-registry-certificates` (what the
//! registry and every node trust: the registry's own hosts, the additional trusted CAs and the
//! storage's CA) and `openshift-config-managed/image-registry-ca` (the published trust for the
//! internal registry, which other components read).

use super::{Desired, Kind};
use crate::render::inputs::Inputs;
use serde_json::{Map, Value, json};

pub const REGISTRY_CERTIFICATES: &str = "image-registry-certificates";
pub(crate) const REGISTRY_CA: (&str, &str) = ("openshift-config-managed", "image-registry-ca");
const SERVICE: &str = "image-registry.openshift-image-registry";

/// What the CA ConfigMaps are built from besides the inputs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Trust<'a> {
    /// The registry Service's port, while the Service exists: its hosts get the service CA.
    pub service_port: Option<i32>,
    /// The storage's CA bundle (not kept for a Removed registry).
    pub storage_ca: Option<&'a str>,
}

/// `host:port` → `host..port`: ConfigMap keys cannot hold `:`.
pub fn host_key(host: &str) -> String {
    host.replace(':', "..")
}

/// The Service's two hostnames (the port left out when it is 443), each with the service CA, and
/// the storage's CA after it when the registry redirects clients to the storage.
fn service_keys(inputs: &Inputs, trust: Trust<'_>) -> Map<String, Value> {
    let mut data = Map::new();
    let (Some(service_ca), Some(port)) = (inputs.service_ca.as_deref(), trust.service_port) else {
        return data;
    };
    let mut bundle = service_ca.to_string();
    if let Some(ca) = trust
        .storage_ca
        .filter(|_| inputs.config.spec.disable_redirect != Some(true))
    {
        bundle.push('\n');
        bundle.push_str(ca);
    }
    let port = if port == 443 { String::new() } else { format!(":{port}") };
    for host in [
        format!("{SERVICE}.svc{port}"),
        format!("{SERVICE}.svc.cluster.local{port}"),
    ] {
        data.insert(host_key(&host), json!(bundle));
    }
    data
}

fn configmap(data: Map<String, Value>, binary_data: Map<String, Value>) -> Value {
    let mut object = json!({
        "metadata": {"annotations": {"openshift.io/owning-component": "Image Registry"}},
        "data": data,
    });
    if !binary_data.is_empty() {
        object["binaryData"] = Value::Object(binary_data);
    }
    object
}

pub fn certificates_configmap(inputs: &Inputs, trust: Trust<'_>) -> Desired {
    let mut data = service_keys(inputs, trust);
    let mut binary_data = Map::new();
    if let Some(user) = &inputs.additional_trusted_ca {
        // Copied verbatim; a user key may override a service key.
        data.extend(user.data.iter().map(|(k, v)| (k.clone(), json!(v))));
        binary_data.extend(user.binary_data.iter().map(|(k, v)| (k.clone(), json!(v))));
    }
    if let Some(ca) = trust.storage_ca {
        data.insert("storage-ca-bundle.pem".into(), json!(ca));
    }
    Desired::new(Kind::ConfigMap, REGISTRY_CERTIFICATES, configmap(data, binary_data))
}

pub fn registry_ca_configmap(inputs: &Inputs, trust: Trust<'_>) -> Desired {
    Desired::new(
        Kind::ConfigMap,
        REGISTRY_CA.1,
        configmap(service_keys(inputs, trust), Map::new()),
    )
    .in_namespace(REGISTRY_CA.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(disable_redirect: bool) -> Inputs {
        let mut inputs = Inputs::of_spec(json!({"managementState": "Managed", "disableRedirect": disable_redirect}));
        inputs.service_ca = Some("SERVICE".into());
        inputs
    }

    #[test]
    fn the_storage_ca_follows_the_service_ca_after_a_newline_in_both_configmaps() {
        let trust = Trust {
            service_port: Some(5000),
            storage_ca: Some("STORAGE"),
        };
        let key = "image-registry.openshift-image-registry.svc..5000";
        let certificates = certificates_configmap(&inputs(false), trust);
        assert_eq!(certificates.object["data"][key], "SERVICE\nSTORAGE");
        assert_eq!(certificates.object["data"]["storage-ca-bundle.pem"], "STORAGE");
        let published = registry_ca_configmap(&inputs(false), trust);
        assert_eq!(published.object["data"][key], "SERVICE\nSTORAGE");
        assert!(published.object["data"].get("storage-ca-bundle.pem").is_none());
        // Without redirects clients never reach the storage: its CA stays out of the host keys.
        let certificates = certificates_configmap(&inputs(true), trust);
        assert_eq!(certificates.object["data"][key], "SERVICE");
        assert_eq!(certificates.object["data"]["storage-ca-bundle.pem"], "STORAGE");
    }

    #[test]
    fn the_service_hosts_follow_the_service() {
        let on = |port| {
            registry_ca_configmap(
                &inputs(false),
                Trust {
                    service_port: port,
                    storage_ca: None,
                },
            )
            .object["data"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            on(Some(443)),
            [
                "image-registry.openshift-image-registry.svc",
                "image-registry.openshift-image-registry.svc.cluster.local"
            ]
        );
        assert!(on(None).is_empty());
    }
}
