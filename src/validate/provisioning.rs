//! A storage policy's provisioning decision, checked like any user input before any cloud call.

use oc_registry_policy_sdk::Provisioning;

/// Tags a bucket can carry besides the cluster's four (S3 allows fifty).
const MAX_TAGS: usize = 40;

/// The first value that may not be sent to the cloud, as `(field, why)`.
pub fn provisioning(p: &Provisioning) -> Result<(), (String, String)> {
    let printable = |s: &str| !s.chars().any(char::is_control);
    match (p.encryption.as_str(), p.kms_key_id.as_deref()) {
        ("AES256", None) => {}
        ("AES256", Some(_)) => {
            return Err(("kmsKeyID".into(), "is only used with encryption aws:kms".into()));
        }
        ("aws:kms", Some(key)) if !key.is_empty() && key.len() <= 2048 && key.chars().all(|c| c.is_ascii_graphic()) => {
        }
        ("aws:kms", _) => {
            return Err((
                "kmsKeyID".into(),
                "must name a KMS key (up to 2048 printable characters) for encryption aws:kms".into(),
            ));
        }
        (other, _) => {
            return Err(("encryption".into(), format!("{other:?} is neither AES256 nor aws:kms")));
        }
    }
    if p.tags.len() > MAX_TAGS {
        return Err(("tags".into(), format!("{} tags: at most {MAX_TAGS}", p.tags.len())));
    }
    for (key, value) in &p.tags {
        let field = format!("tags[{key:?}]");
        if key.is_empty() || key.chars().count() > 128 || !printable(key) {
            return Err((field, "a tag key is 1 to 128 printable characters".into()));
        }
        if value.chars().count() > 256 || !printable(value) {
            return Err((field, "a tag value is up to 256 printable characters".into()));
        }
        let reserved = key == "Name"
            || ["kubernetes.io/", "openshift.io/", "oc-registry/", "aws:"]
                .iter()
                .any(|p| key.starts_with(p));
        if reserved {
            return Err((field, "the key is the cluster's, this program's or AWS's own".into()));
        }
    }
    if !(1..=3650).contains(&p.incomplete_upload_days) {
        return Err((
            "incompleteUploadDays".into(),
            format!("{} is not 1 to 3650 days", p.incomplete_upload_days),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_are_checked_field_by_field() {
        let ok = Provisioning::default();
        assert!(provisioning(&ok).is_ok());
        let kms = Provisioning {
            encryption: "aws:kms".into(),
            kms_key_id: Some("arn:aws:kms:us-east-1:1:key/k".into()),
            ..Provisioning::default()
        };
        assert!(provisioning(&kms).is_ok());
        let field = |p: Provisioning| provisioning(&p).unwrap_err().0;
        let with = |f: fn(&mut Provisioning)| {
            let mut p = Provisioning::default();
            f(&mut p);
            p
        };
        assert_eq!(field(with(|p| p.encryption = "ROT13".into())), "encryption");
        assert_eq!(field(with(|p| p.encryption = "aws:kms".into())), "kmsKeyID");
        assert_eq!(field(with(|p| p.kms_key_id = Some("k".into()))), "kmsKeyID");
        assert_eq!(
            field(with(|p| {
                p.encryption = "aws:kms".into();
                p.kms_key_id = Some("key\nX-Injected: 1".into());
            })),
            "kmsKeyID"
        );
        assert_eq!(
            field(with(|p| {
                p.tags.insert("team".into(), "a\u{1b}[31m".into());
            })),
            "tags[\"team\"]"
        );
        assert_eq!(
            field(with(|p| {
                p.tags.insert("kubernetes.io/cluster/x".into(), "owned".into());
            })),
            "tags[\"kubernetes.io/cluster/x\"]"
        );
        assert_eq!(field(with(|p| p.incomplete_upload_days = 0)), "incompleteUploadDays");
        assert_eq!(
            field(with(|p| p.incomplete_upload_days = 100_000)),
            "incompleteUploadDays"
        );
    }
}
