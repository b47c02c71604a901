//! Which modules serve which hook, where they come from, and their sha256 pins.
//!
//! Sources, strongest first:
//! 1. the cluster: ConfigMap `openshift-image-registry/oc-registry-policies` (key `policies.yaml`,
//!    modules in `binaryData`). What it sets, no admin can override: it decides `storage` and
//!    `pruner` when it names them, and its admission modules always run.
//! 2. the local configuration, the first found of: `--policy-config FILE`, `$OC_REGISTRY_POLICY_CONFIG`,
//!    `$XDG_CONFIG_HOME/oc-registry/policies.yaml` (or `~/.config/…`). It decides the hooks the
//!    cluster leaves open and adds admission modules.
//! 3. the built-in modules, for `storage` and `pruner`.
//!
//! Every module that is not built in must carry a `sha256` pin; a module whose digest differs is
//! refused.

use super::builtin;
use super::limits::Limits;
use super::module::sha256_hex;
use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) const CONFIG_ENV: &str = "OC_REGISTRY_POLICY_CONFIG";
pub const CLUSTER_CONFIGMAP: &str = "oc-registry-policies";
pub const CLUSTER_CONFIG_KEY: &str = "policies.yaml";

/// The policy configuration file format.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyConfig {
    #[serde(default)]
    pub modules: Vec<ModuleRef>,
    #[serde(default)]
    pub hooks: HookAssignments,
    /// Lower limits for every module of this configuration (never above the built-in ceiling).
    #[serde(default)]
    pub limits: Option<LimitOverrides>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModuleRef {
    pub name: String,
    /// A file (relative to the configuration file), or a `binaryData` key of the cluster ConfigMap.
    pub path: String,
    /// Hex sha256 of the module; mandatory.
    pub sha256: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HookAssignments {
    #[serde(default)]
    pub storage: Option<String>,
    #[serde(default)]
    pub pruner: Option<String>,
    #[serde(default)]
    pub admission: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitOverrides {
    pub fuel: Option<u64>,
    #[serde(rename = "memoryMiB")]
    pub memory_mib: Option<usize>,
}

impl LimitOverrides {
    /// A limit configuration can only lower the built-in ceilings, and to something a decision can
    /// run under: out-of-range values are refused, never wrapped or clamped silently.
    pub fn check(&self) -> Result<(), String> {
        let ceiling = Limits::CEILING;
        if let Some(f) = self.fuel
            && !(1..=ceiling.fuel).contains(&f)
        {
            return Err(format!("fuel: {f} is out of range; write 1 to {}", ceiling.fuel));
        }
        let most = ceiling.memory_bytes >> 20;
        if let Some(m) = self.memory_mib
            && !(1..=most).contains(&m)
        {
            return Err(format!("memoryMiB: {m} is out of range; write 1 to {most}"));
        }
        Ok(())
    }

    pub fn apply(&self, limits: &Limits) -> Limits {
        let mut lower = Limits::CEILING;
        if let Some(f) = self.fuel {
            lower.fuel = f;
        }
        if let Some(m) = self.memory_mib {
            lower.memory_bytes = m << 20;
        }
        limits.lowered_by(&lower)
    }
}

/// Where a configuration (and so its modules) came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "location", rename_all = "camelCase")]
pub enum Origin {
    Builtin,
    File(PathBuf),
    Cluster(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Builtin => f.write_str("built-in"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::Cluster(c) => write!(f, "cluster configmap {c}"),
        }
    }
}

/// A configuration together with where its module bytes live.
#[derive(Clone, Debug)]
pub struct SourcedConfig {
    pub config: PolicyConfig,
    pub origin: Origin,
    /// For cluster sources: the ConfigMap's `binaryData`.
    pub blobs: BTreeMap<String, Vec<u8>>,
}

impl SourcedConfig {
    pub fn parse(text: &str, origin: Origin, blobs: BTreeMap<String, Vec<u8>>) -> Result<Self> {
        let config: PolicyConfig =
            serde_saphyr::from_str(text).map_err(|e| anyhow!("policy configuration ({origin}) is invalid: {e}"))?;
        for m in &config.modules {
            if builtin::find(&m.name).is_some() {
                bail!(
                    "policy configuration ({origin}): module name {:?} is reserved for a built-in module",
                    m.name
                );
            }
            let pin = m.sha256.trim_start_matches("sha256:");
            if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!(
                    "policy configuration ({origin}): module {:?} needs sha256: the 64 hex digits of the module's digest (sha256sum FILE)",
                    m.name
                );
            }
        }
        if let Some(limits) = &config.limits {
            limits
                .check()
                .map_err(|e| anyhow!("policy configuration ({origin}): limits.{e}"))?;
        }
        Ok(SourcedConfig { config, origin, blobs })
    }

    pub fn read_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading policy configuration {}", path.display()))?;
        Self::parse(&text, Origin::File(path.to_path_buf()), BTreeMap::new())
    }

    /// The bytes of a module of this configuration, checked against its pin.
    pub fn module_bytes(&self, m: &ModuleRef) -> Result<Vec<u8>> {
        let bytes = match &self.origin {
            Origin::File(config_path) => {
                let path = config_path.parent().unwrap_or(Path::new(".")).join(&m.path);
                std::fs::read(&path)
                    .with_context(|| format!("reading policy module {:?} from {}", m.name, path.display()))?
            }
            Origin::Cluster(cm) => self.blobs.get(&m.path).cloned().ok_or_else(|| {
                anyhow!(
                    "policy module {:?}: configmap {cm} has no binaryData key {:?}",
                    m.name,
                    m.path
                )
            })?,
            Origin::Builtin => bail!("built-in configurations have no module files"),
        };
        let actual = sha256_hex(&bytes);
        let expected = m.sha256.trim_start_matches("sha256:").to_ascii_lowercase();
        if actual != expected {
            bail!(
                "policy module {:?} ({}): sha256 is {actual}, but the configuration pins {expected}: refusing to run it",
                m.name,
                self.origin
            );
        }
        Ok(bytes)
    }
}

/// The local configuration file in effect: flag, then environment, then the user's config dir.
pub fn local_config_path(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let dir = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let path = dir.join("oc-registry").join("policies.yaml");
    path.exists().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SourcedConfig> {
        SourcedConfig::parse(text, Origin::File("p.yaml".into()), BTreeMap::new())
    }

    #[test]
    fn limits_out_of_range_are_refused_not_wrapped() {
        for (text, message) in [
            (
                "limits:\n  memoryMiB: 18446744073709551615\n",
                "limits.memoryMiB: 18446744073709551615 is out of range; write 1 to 64",
            ),
            ("limits:\n  memoryMiB: 0\n", "limits.memoryMiB: 0 is out of range"),
            ("limits:\n  fuel: 0\n", "limits.fuel: 0 is out of range"),
            ("limits:\n  fuel: 300000000\n", "limits.fuel: 300000000 is out of range"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(message), "{text}: {e}");
        }
        let ok = parse("limits:\n  memoryMiB: 16\n  fuel: 1000\n").unwrap();
        let limits = ok.config.limits.unwrap().apply(&Limits::CEILING);
        assert_eq!((limits.memory_bytes, limits.fuel), (16 << 20, 1000));
    }
}
