//! `policy new`: a ready-to-build organisation policy crate, with the SDK carried along so it builds
//! offline and without anything published.

use anyhow::{Context, Result, bail};
use std::path::Path;

const SDK_FILES: &[(&str, &str)] = &[
    ("sdk/Cargo.toml", include_str!("../../policies/sdk/Cargo.toml")),
    ("sdk/src/lib.rs", include_str!("../../policies/sdk/src/lib.rs")),
    ("sdk/src/abi.rs", include_str!("../../policies/sdk/src/abi.rs")),
    ("sdk/src/hooks.rs", include_str!("../../policies/sdk/src/hooks.rs")),
    (
        "sdk/src/duration.rs",
        include_str!("../../policies/sdk/src/duration.rs"),
    ),
];

fn cargo_toml(name: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
oc-registry-policy-sdk = {{ path = "sdk" }}
serde_json = "1"

# A standalone workspace: this crate is built on its own.
[workspace]
members = ["."]

[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
strip = true
"#
    )
}

const LIB_RS: &str = r##"//! __NAME__: an oc-registry admission policy. It runs before oc-registry writes the registry's
//! Config or ImagePruner, and every configured admission policy must allow the change.

use oc_registry_policy_sdk::{AdmissionInput, Outcome, policy};
use serde_json::Value;

/// The organisation's rule: production registries run at least two replicas.
fn admission(input: AdmissionInput) -> Outcome<()> {
    if input.kind != "Config" || input.operation == "delete" {
        return Outcome::allow();
    }
    let replicas = input.proposed("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
    let managed = input.proposed("/spec/managementState").and_then(Value::as_str) == Some("Managed");
    if managed && replicas < 2 {
        return Outcome::deny(format!("registries here run at least 2 replicas, not {replicas}"));
    }
    Outcome::allow()
}

policy! {
    name: "__NAME__",
    version: "0.1.0",
    description: "Managed registries run at least two replicas",
    admission: admission,
}

#[cfg(test)]
mod tests {
    fn decide(proposed: &str) -> String {
        let request = String::from(r#"{"hook":"admission","input":{"operation":"update","kind":"Config","proposed":"#);
        super::evaluate_json(&(request + proposed + "}}"))
    }

    #[test]
    fn one_replica_is_denied_two_are_allowed() {
        assert!(decide(r#"{"spec":{"managementState":"Managed","replicas":1}}"#).contains(r#""allowed":false"#));
        assert!(decide(r#"{"spec":{"managementState":"Managed","replicas":2}}"#).contains(r#""allowed":true"#));
    }

    #[test]
    fn metadata_names_the_policy() {
        assert_eq!(super::metadata().name, "__NAME__");
        assert_eq!(super::metadata().hooks, ["admission"]);
    }
}
"##;

fn lib_rs(name: &str) -> String {
    LIB_RS.replace("__NAME__", name)
}

fn readme(name: &str) -> String {
    let file = name.replace('-', "_");
    format!(
        r#"# {name}

An oc-registry admission policy. Edit `src/lib.rs`, then:

```sh
cargo test                                                  # the policy's own tests, natively
rustup target add wasm32-unknown-unknown
cargo build --release --target wasm32-unknown-unknown
oc-registry policy check target/wasm32-unknown-unknown/release/{file}.wasm
sha256sum target/wasm32-unknown-unknown/release/{file}.wasm
```

Then add it to a policy configuration (`~/.config/oc-registry/policies.yaml`, `--policy-config`,
or the cluster-wide ConfigMap `openshift-image-registry/oc-registry-policies`):

```yaml
modules:
- name: {name}
  path: {file}.wasm
  sha256: <the sha256sum output>
hooks:
  admission: [{name}]
```

`sdk/` is a copy of the oc-registry policy SDK; the ABI it implements is documented in
oc-registry's `policies/README.md`.
"#
    )
}

/// Writes the crate into `dir` (which must not exist).
pub fn create(name: &str, dir: &Path) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.starts_with("builtin-");
    if !valid {
        bail!(
            "invalid policy name {name:?}: use lower-case letters, digits and '-' (at most 63, not starting with builtin-), e.g. require-two-replicas"
        );
    }
    if dir.exists() {
        bail!("{} already exists: choose another name or --dir", dir.display());
    }
    let mut files: Vec<(String, String)> = vec![
        ("Cargo.toml".into(), cargo_toml(name)),
        ("src/lib.rs".into(), lib_rs(name)),
        ("README.md".into(), readme(name)),
        (".gitignore".into(), "/target\n".into()),
    ];
    files.extend(SDK_FILES.iter().map(|(p, c)| (p.to_string(), c.to_string())));
    for (path, content) in files {
        let full = dir.join(&path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&full, content).with_context(|| format!("writing {}", full.display()))?;
    }
    Ok(())
}
