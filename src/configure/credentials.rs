//! Storage credentials in `openshift-image-registry/image-registry-private-configuration-user`:
//! the key set each driver needs, where values come from, and fingerprints to show instead of
//! values. No value is ever formatted into a message.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Short names users type, and the secret keys they stand for, per driver.
pub fn keys(driver: &str) -> Option<&'static [(&'static str, &'static str)]> {
    Some(match driver {
        "s3" | "ibmcos" => &[
            ("access-key", "REGISTRY_STORAGE_S3_ACCESSKEY"),
            ("secret-key", "REGISTRY_STORAGE_S3_SECRETKEY"),
        ],
        "gcs" => &[("keyfile", "REGISTRY_STORAGE_GCS_KEYFILE")],
        "azure" => &[("account-key", "REGISTRY_STORAGE_AZURE_ACCOUNTKEY")],
        "swift" => &[
            ("username", "REGISTRY_STORAGE_SWIFT_USERNAME"),
            ("password", "REGISTRY_STORAGE_SWIFT_PASSWORD"),
            (
                "application-credential-id",
                "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALID",
            ),
            (
                "application-credential-name",
                "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALNAME",
            ),
            (
                "application-credential-secret",
                "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALSECRET",
            ),
            ("token-id", "REGISTRY_STORAGE_SWIFT_TOKENID"),
        ],
        _ => return None,
    })
}

pub const DRIVERS: &[&str] = &["s3", "gcs", "azure", "swift", "ibmcos"];

/// The sets of short names that make complete credentials for a driver (any one of them).
pub fn complete_sets(driver: &str) -> &'static [&'static [&'static str]] {
    match driver {
        "s3" | "ibmcos" => &[&["access-key", "secret-key"]],
        "gcs" => &[&["keyfile"]],
        "azure" => &[&["account-key"]],
        "swift" => &[
            &["username", "password"],
            &[
                "application-credential-id",
                "application-credential-name",
                "application-credential-secret",
            ],
            &["token-id"],
        ],
        _ => &[],
    }
}

/// Whether the stored key names (full names, as in the Secret) make complete credentials for `driver`.
pub fn is_complete(driver: &str, present: &std::collections::BTreeSet<String>) -> bool {
    let known = keys(driver).unwrap_or_default();
    complete_sets(driver).iter().any(|set| {
        set.iter()
            .all(|short| known.iter().any(|(s, k)| s == short && present.contains(*k)))
    })
}

/// Where one value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    File(String),
    Stdin,
    Env(String),
    Literal(String),
}

/// Parses `NAME=@FILE`, `NAME=-`, `NAME=env:VAR` or (only when allowed) `NAME=VALUE`.
pub fn parse_assignment(arg: &str, allow_literal: bool) -> Result<(String, Source), String> {
    let Some((name, source)) = arg.split_once('=') else {
        // Not repeated: a mistyped argument may be the secret itself.
        return Err(
            "a credential argument is not NAME=SOURCE; give NAME=@FILE, NAME=- (standard input) or NAME=env:VARIABLE"
                .into(),
        );
    };
    let source = if let Some(f) = source.strip_prefix('@') {
        Source::File(f.to_string())
    } else if source == "-" {
        Source::Stdin
    } else if let Some(v) = source.strip_prefix("env:") {
        Source::Env(v.to_string())
    } else if allow_literal {
        Source::Literal(source.to_string())
    } else {
        // The value itself is not repeated: it may be the secret.
        return Err(format!(
            "{name}: a value given on the command line is visible to other users of this machine; \
             give {name}=@FILE, {name}=- or {name}=env:VARIABLE, or pass --allow-literal"
        ));
    };
    Ok((name.to_string(), source))
}

/// Checks the names given against the driver's and returns the secret keys, in the driver's
/// terms. Exactly one complete set must be given.
pub fn resolve_names(driver: &str, names: &[String]) -> Result<BTreeMap<String, String>, String> {
    let known =
        keys(driver).ok_or_else(|| format!("DRIVER {driver:?} has no credentials; one of: {}", DRIVERS.join(", ")))?;
    let mut out = BTreeMap::new();
    for name in names {
        let Some((_, key)) = known.iter().find(|(short, key)| short == name || key == name) else {
            let allowed: Vec<&str> = known.iter().map(|(s, _)| *s).collect();
            return Err(format!(
                "{name}: not a {driver} credential; {driver} takes {}",
                allowed.join(", ")
            ));
        };
        let short = known
            .iter()
            .find(|(_, k)| k == key)
            .map(|(s, _)| s.to_string())
            .unwrap_or_default();
        if out.insert(short, key.to_string()).is_some() {
            return Err(format!("{name}: given twice"));
        }
    }
    let given: Vec<&str> = out.keys().map(String::as_str).collect();
    let sets = complete_sets(driver);
    if !sets
        .iter()
        .any(|set| set.len() == given.len() && set.iter().all(|k| given.contains(k)))
    {
        let options: Vec<String> = sets.iter().map(|s| s.join(" and ")).collect();
        return Err(format!(
            "{driver} credentials need {}; given: {}",
            options.join(", or "),
            if given.is_empty() {
                "nothing".to_string()
            } else {
                given.join(", ")
            }
        ));
    }
    Ok(out)
}

/// `sha256:` and the first 12 hex digits: enough to tell values apart, nothing to recover them.
pub fn fingerprint(value: &[u8]) -> String {
    let digest = Sha256::digest(value);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_need_the_flag_and_are_never_echoed() {
        let err = parse_assignment("secret-key=hunter2", false).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(
            parse_assignment("secret-key=hunter2", true).unwrap().1,
            Source::Literal("hunter2".into())
        );
        assert_eq!(
            parse_assignment("keyfile=@/tmp/k.json", false).unwrap().1,
            Source::File("/tmp/k.json".into())
        );
        assert_eq!(
            parse_assignment("secret-key=env:AWS_SECRET", false).unwrap().1,
            Source::Env("AWS_SECRET".into())
        );
        assert_eq!(parse_assignment("secret-key=-", false).unwrap().1, Source::Stdin);
        assert!(!parse_assignment("hunter2", false).unwrap_err().contains("hunter2"));
    }

    #[test]
    fn each_driver_needs_a_complete_set() {
        assert!(resolve_names("s3", &["access-key".into(), "secret-key".into()]).is_ok());
        assert!(
            resolve_names("s3", &["access-key".into()])
                .unwrap_err()
                .contains("access-key and secret-key")
        );
        assert!(
            resolve_names("s3", &["password".into()])
                .unwrap_err()
                .contains("not a s3 credential")
        );
        assert!(resolve_names("swift", &["token-id".into()]).is_ok());
        assert!(resolve_names("swift", &["username".into(), "token-id".into()]).is_err());
        assert!(resolve_names("oss", &[]).is_err());
        assert_eq!(fingerprint(b"x").len(), "sha256:".len() + 12);
    }
}
