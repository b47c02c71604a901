//! Storage credentials in `openshift-image-registry/image-registry-private-configuration-user`:
//! the key set each driver needs, where values come from, and fingerprints to show instead of
//! values. No value is ever formatted into a message.

use crate::storage::{self, Driver};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Whether the stored key names (full names, as in the Secret) make complete credentials for `driver`.
pub fn is_complete(driver: &dyn Driver, present: &BTreeSet<String>) -> bool {
    let known = driver.credential_keys();
    driver.credential_sets().iter().any(|set| {
        set.iter()
            .all(|short| known.iter().any(|(s, k)| s == short && present.contains(*k)))
    })
}

/// The keys of the first complete set of `driver` that `present` lacks.
pub fn missing_keys(driver: &dyn Driver, present: &BTreeSet<String>) -> Vec<&'static str> {
    let known = driver.credential_keys();
    driver
        .credential_sets()
        .first()
        .copied()
        .unwrap_or_default()
        .iter()
        .filter_map(|short| known.iter().find(|(s, _)| s == short).map(|(_, k)| *k))
        .filter(|k| !present.contains(*k))
        .collect()
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
pub fn resolve_names(driver_name: &str, names: &[String]) -> Result<BTreeMap<String, String>, String> {
    let driver = storage::by_command_name(driver_name)
        .filter(|d| !d.credential_keys().is_empty())
        .ok_or_else(|| {
            let drivers: Vec<&str> = storage::with_credentials().map(|d| d.command_name()).collect();
            format!(
                "DRIVER {driver_name:?} has no credentials; one of: {}",
                drivers.join(", ")
            )
        })?;
    let known = driver.credential_keys();
    let driver = driver_name;
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
    let sets = storage::by_command_name(driver)
        .map(|d| d.credential_sets())
        .unwrap_or_default();
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
