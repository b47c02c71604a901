//! Forbids registry storage that loses or splits images: emptyDir, and a ReadWriteOnce claim
//! shared by more than one replica.

use oc_registry_policy_sdk::{AdmissionInput, Outcome, policy};
use serde_json::Value;

fn admission(input: AdmissionInput) -> Outcome<()> {
    if input.kind != "Config" {
        return Outcome::allow();
    }
    if input.proposed_storage_driver() == Some("emptyDir") {
        return Outcome::deny(
            "emptyDir registry storage is forbidden: images are lost whenever a registry pod restarts",
        );
    }
    let replicas = input.proposed("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let rwo_only = input.facts.pvc.as_ref().is_some_and(|p| {
        p.access_modes.iter().any(|m| m == "ReadWriteOnce") && !p.access_modes.iter().any(|m| m == "ReadWriteMany")
    });
    if input.proposed_storage_driver() == Some("pvc") && rwo_only && replicas > 1 {
        return Outcome::deny(format!(
            "a ReadWriteOnce claim cannot serve {replicas} registry replicas: use a ReadWriteMany claim or one replica"
        ));
    }
    Outcome::allow()
}

policy! {
    name: "forbid-emptydir",
    version: "1.0.0",
    description: "No emptyDir registry storage, no ReadWriteOnce claim with several replicas",
    admission: admission,
}
