//! What a driver adds to the registry's pod: environment, volumes and mounts, the keys of
//! `image-registry-private-configuration`, and a CA bundle for the storage endpoint.

use super::Data;
use serde_json::{Value, json};

#[derive(Debug, Default)]
pub struct Rendering {
    pub env: Vec<Value>,
    pub volumes: Vec<Value>,
    pub mounts: Vec<Value>,
    /// Keys for `image-registry-private-configuration`.
    pub secret_data: Data,
    pub ca_bundle: Option<String>,
}

impl Rendering {
    pub(super) fn volume(&mut self, volume: Value, mount: Value) {
        self.volumes.push(volume);
        self.mounts.push(mount);
    }

    pub(super) fn env(&mut self, name: &str, value: &str) {
        self.env.push(env(name, value));
    }

    /// The registry's filesystem driver rooted where `volume` is mounted.
    pub(super) fn filesystem(&mut self, volume: Value) {
        self.env("REGISTRY_STORAGE", "filesystem");
        self.env("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/registry");
        self.volume(volume, json!({"name": "registry-storage", "mountPath": "/registry"}));
    }
}

/// A plain environment variable.
pub fn env(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// An environment variable read from a key of the same name in `secret`.
pub fn secret_env(name: &str, secret: &str) -> Value {
    json!({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": name}}})
}

pub(super) fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}
