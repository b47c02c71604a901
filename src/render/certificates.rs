//! The CA ConfigMaps: `image-registry-certificates` (what the registry and every node trust for
//! the registry hosts and the additional trusted CAs) and `openshift-config-managed/image-registry-ca`
//! (the published trust for the internal registry).

use super::registry::SERVICE_HOST;
use super::{Desired, Kind};
use crate::render::inputs::Inputs;
use serde_json::{Map, Value, json};

pub const REGISTRY_CERTIFICATES: &str = "image-registry-certificates";
pub(crate) const REGISTRY_CA: (&str, &str) = ("openshift-config-managed", "image-registry-ca");

/// `host:port` → `host..port`: ConfigMap keys cannot hold `:`.
pub fn host_key(host: &str) -> String {
    host.replace(':', "..")
}

fn service_keys(inputs: &Inputs, storage_ca: Option<&str>) -> Map<String, Value> {
    let mut data = Map::new();
    let Some(service_ca) = inputs.service_ca.as_deref() else {
        return data;
    };
    let mut bundle = service_ca.to_string();
    if let Some(ca) = storage_ca.filter(|_| inputs.config.spec.disable_redirect != Some(true)) {
        bundle.push_str(ca);
    }
    let (host, port) = SERVICE_HOST.split_once(':').unwrap_or((SERVICE_HOST, "5000"));
    for name in [host.to_string(), format!("{host}.cluster.local")] {
        data.insert(host_key(&format!("{name}:{port}")), json!(bundle));
    }
    data
}

pub fn certificates_configmap(inputs: &Inputs, storage_ca: Option<&str>) -> Desired {
    let mut data = service_keys(inputs, storage_ca);
    if let Some((_, user)) = &inputs.additional_trusted_ca {
        // Copied verbatim; a user key may override a service key.
        for (k, v) in user {
            data.insert(k.clone(), json!(v));
        }
    }
    if let Some(ca) = storage_ca {
        data.insert("storage-ca-bundle.pem".into(), json!(ca));
    }
    Desired::new(
        Kind::ConfigMap,
        REGISTRY_CERTIFICATES,
        json!({"metadata": {"annotations": {"openshift.io/owning-component": "Image Registry"}}, "data": data}),
    )
}

pub fn registry_ca_configmap(inputs: &Inputs) -> Desired {
    Desired::new(
        Kind::ConfigMap,
        REGISTRY_CA.1,
        json!({"metadata": {"annotations": {"openshift.io/owning-component": "Image Registry"}}, "data": service_keys(inputs, None)}),
    )
    .in_namespace(REGISTRY_CA.0)
}
