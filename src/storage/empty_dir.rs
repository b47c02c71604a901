//! Pod-local storage: every image is lost when a registry pod goes.

use super::{Driver, Environment, Platform, Randomness, Removal, Rendering};
use crate::api::{ConfigSpec, Storage};
use crate::state::references::References;
use crate::validate::{Finding, Problem};
use serde_json::json;

pub struct EmptyDir;

impl Driver for EmptyDir {
    fn name(&self) -> &'static str {
        "emptyDir"
    }

    fn command_name(&self) -> &'static str {
        "empty-dir"
    }

    fn title(&self) -> &'static str {
        "EmptyDir"
    }

    fn summary(&self) -> &'static str {
        "Pod-local storage, lost whenever a registry pod restarts (tests only)"
    }

    fn is_set(&self, storage: &Storage) -> bool {
        storage.empty_dir.is_some()
    }

    fn only(&self, storage: &Storage) -> Storage {
        Storage {
            empty_dir: storage.empty_dir.clone(),
            ..Storage::default()
        }
    }

    fn complete(&self, _storage: &mut Storage, _platform: &Platform<'_>, _random: &mut dyn Randomness) -> bool {
        // The registry makes it with every pod: it is always the registry's.
        true
    }

    fn render(&self, _storage: &Storage, _environment: &Environment<'_>) -> Result<Rendering, Problem> {
        let mut out = Rendering::default();
        out.filesystem(json!({"name": "registry-storage", "emptyDir": {}}));
        Ok(out)
    }

    fn check(&self, _storage: &Storage, spec: &ConfigSpec, _refs: &References) -> Vec<Finding> {
        let replicas = spec.replicas;
        if replicas <= 1 {
            return Vec::new();
        }
        vec![Finding::warning(
            "spec.storage.emptyDir",
            format!(
                "each of the {replicas} replicas keeps its own emptyDir: an image pushed to one is missing from the others"
            ),
            Some("oc-registry set replicas 1".into()),
        )]
    }

    fn location(&self, _storage: &Storage) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    fn removal(&self, _storage: &Storage) -> Removal {
        Removal::PodLocal
    }
}
