//! An organisation's rules for the registry's bucket: encrypted with the organisation's KMS key,
//! tagged with its cost centre, incomplete uploads kept a week, and never an existing bucket
//! adopted (a name collision must not hand someone else's bucket to the registry).

use oc_registry_policy_sdk::{Outcome, Provisioning, StorageDecision, StorageInput, policy};
use serde_json::json;

/// The organisation's key for registry data.
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/0rg-registry-key";

fn storage(input: StorageInput) -> Outcome<StorageDecision> {
    let current = input.current.unwrap_or_default();
    let configured = current.storage.as_object().is_some_and(|s| !s.is_empty());
    let provisioning = Provisioning {
        encryption: "aws:kms".into(),
        kms_key_id: Some(KEY.into()),
        tags: [("cost-center", "platform"), ("data-class", "internal")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        incomplete_upload_days: 7,
        adopt_existing: false,
        ..Provisioning::default()
    };
    Outcome::decide(StorageDecision {
        storage: if configured { current.storage } else { json!({"s3": {}}) },
        replicas: if current.replicas > 0 { current.replicas } else { 2 },
        rollout_strategy: "RollingUpdate".into(),
        management_state: "Managed".into(),
        create_pvc: None,
        missing: Vec::new(),
        provisioning: Some(provisioning),
    })
}

policy! {
    name: "org-buckets",
    version: "1.0.0",
    description: "Registry buckets: the organisation's KMS key and tags, a week for incomplete uploads, no adoption",
    storage: storage,
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_bucket_gets_the_organisations_set_up() {
        let out = super::evaluate_json(r#"{"hook":"storage","input":{"platform":{"type":"AWS"}}}"#);
        assert!(out.contains(r#""encryption":"aws:kms""#), "{out}");
        assert!(out.contains(r#""adoptExisting":false"#), "{out}");
    }
}
