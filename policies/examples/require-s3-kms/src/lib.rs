//! Requires S3 registry storage to be encrypted with a KMS key: `encrypt: true` and a `keyID`.

use oc_registry_policy_sdk::{AdmissionInput, Outcome, policy};
use serde_json::Value;

fn admission(input: AdmissionInput) -> Outcome<()> {
    let Some(s3) = input.proposed("/spec/storage/s3") else {
        return Outcome::allow();
    };
    let encrypted = s3.get("encrypt").and_then(Value::as_bool) == Some(true);
    let key = s3.get("keyID").and_then(Value::as_str).unwrap_or_default();
    match (encrypted, key.is_empty()) {
        (true, false) => Outcome::allow(),
        _ => Outcome::deny(
            "S3 registry storage must be encrypted with a KMS key: set spec.storage.s3.encrypt: true and spec.storage.s3.keyID",
        ),
    }
}

policy! {
    name: "require-s3-kms",
    version: "1.0.0",
    description: "S3 registry storage must use KMS encryption",
    admission: admission,
}

#[cfg(test)]
mod tests {
    #[test]
    fn unencrypted_s3_is_denied_and_kms_is_allowed() {
        let deny = super::evaluate_json(
            r#"{"hook":"admission","input":{"operation":"update","kind":"Config","proposed":{"spec":{"storage":{"s3":{"bucket":"b"}}}}}}"#,
        );
        assert!(deny.contains(r#""allowed":false"#), "{deny}");
        let allow = super::evaluate_json(
            r#"{"hook":"admission","input":{"operation":"update","kind":"Config","proposed":{"spec":{"storage":{"s3":{"encrypt":true,"keyID":"arn:aws:kms:k"}}}}}}"#,
        );
        assert!(allow.contains(r#""allowed":true"#), "{allow}");
    }
}
