//! The krew plugin manifest (`krew.googlecontainertools.github.com/v1alpha2`, kind `Plugin`) and
//! the checks krew and krew-index apply to it: krew's structural validation and the index's rules
//! (file name, platform coverage without overlap). Parsing is strict: krew itself ignores unknown
//! fields, so a typo would otherwise pass silently.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "krew.googlecontainertools.github.com/v1alpha2";

/// The os/arch pairs krew-index accepts (Go's GOOS/GOARCH names).
pub const SUPPORTED: &[(&str, &str)] = &[
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plugin {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: Spec,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    pub version: String,
    #[serde(default)]
    pub homepage: Option<String>,
    pub short_description: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub caveats: Option<String>,
    pub platforms: Vec<Platform>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Platform {
    #[serde(default)]
    pub selector: Option<Selector>,
    pub uri: String,
    pub sha256: String,
    pub bin: String,
    #[serde(default)]
    pub files: Option<Vec<FileOp>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selector {
    #[serde(default)]
    pub match_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub match_expressions: Option<Vec<Expression>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expression {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileOp {
    pub from: String,
    pub to: String,
}

pub fn parse(text: &str) -> anyhow::Result<Plugin> {
    serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!("invalid plugin manifest: {e}"))
}

impl Selector {
    /// Whether the selector selects this os/arch, as a Kubernetes label selector would.
    pub fn matches(&self, os: &str, arch: &str) -> bool {
        let label = |k: &str| match k {
            "os" => Some(os),
            "arch" => Some(arch),
            _ => None,
        };
        let labels_ok = self
            .match_labels
            .iter()
            .flatten()
            .all(|(k, v)| label(k) == Some(v.as_str()));
        let exprs_ok = self.match_expressions.iter().flatten().all(|e| {
            let value = label(&e.key);
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
                "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        });
        labels_ok && exprs_ok
    }
}

/// A strict semantic version with a leading `v` (`v1.2.3`, `v1.2.3-rc.1+build.5`).
pub fn is_strict_semver(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let (rest, build) = match rest.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (rest, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    let ident = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(|p| {
            p.split('.')
                .all(|i| ident(i) && (!i.bytes().all(|b| b.is_ascii_digit()) || numeric(i)))
        })
        && build.is_none_or(|b| b.split('.').all(ident))
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

const WINDOWS_RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Every rule krew and krew-index check that can be checked offline; each violation as a message.
/// `file_name` is the manifest's file name in an index (`registry.yaml`), when it has one.
pub fn validate(plugin: &Plugin, file_name: Option<&str>) -> Vec<String> {
    let mut errors = Vec::new();
    let mut fail = |m: String| errors.push(m);
    if plugin.api_version != API_VERSION {
        fail(format!("apiVersion {:?} is not {API_VERSION}", plugin.api_version));
    }
    if plugin.kind != "Plugin" {
        fail(format!("kind {:?} is not Plugin", plugin.kind));
    }
    let name = &plugin.metadata.name;
    let safe = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !safe || WINDOWS_RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        fail(format!(
            "plugin name {name:?} is not safe: use letters, digits, '_' and '-'"
        ));
    }
    if let Some(file) = file_name
        && file != format!("{name}.yaml")
    {
        fail(format!(
            "file name {file:?} must be the plugin name plus .yaml ({name}.yaml)"
        ));
    }
    let short = &plugin.spec.short_description;
    if short.is_empty() || short.contains(['\r', '\n']) {
        fail("shortDescription must be one non-empty line".into());
    }
    if short.chars().count() > 50 {
        fail(format!(
            "shortDescription is {} characters; krew-index asks for at most 50",
            short.chars().count()
        ));
    }
    if !is_strict_semver(&plugin.spec.version) {
        fail(format!(
            "version {:?} is not a semantic version with a leading v (v1.2.3)",
            plugin.spec.version
        ));
    }
    if plugin.spec.platforms.is_empty() {
        fail("platforms must not be empty".into());
    }
    for (i, p) in plugin.spec.platforms.iter().enumerate() {
        let at = format!("platforms[{i}]");
        if p.uri.is_empty() {
            fail(format!("{at}: uri is empty"));
        }
        if !is_sha256(&p.sha256) {
            fail(format!("{at}: sha256 {:?} is not 64 lower-case hex digits", p.sha256));
        }
        if p.bin.is_empty() {
            fail(format!("{at}: bin is empty"));
        }
        if let Some(files) = &p.files {
            if files.is_empty() {
                fail(format!("{at}: files, when given, must not be empty"));
            }
            for f in files {
                if f.from.is_empty() || f.to.is_empty() {
                    fail(format!("{at}: every file operation needs from and to"));
                }
            }
        }
        match &p.selector {
            None => fail(format!("{at}: selector is required")),
            Some(s) => {
                if s.match_labels.is_none() && s.match_expressions.is_none() {
                    fail(format!("{at}: selector is empty"));
                }
                if s.match_labels.as_ref().is_some_and(BTreeMap::is_empty) {
                    fail(format!("{at}: matchLabels, when given, must not be empty"));
                }
                if s.match_expressions.as_ref().is_some_and(Vec::is_empty) {
                    fail(format!("{at}: matchExpressions, when given, must not be empty"));
                }
                let keys = s.match_labels.iter().flatten().map(|(k, _)| k.as_str());
                let keys = keys.chain(s.match_expressions.iter().flatten().map(|e| e.key.as_str()));
                for k in keys {
                    if k != "os" && k != "arch" {
                        fail(format!("{at}: selector key {k:?}: only os and arch are allowed"));
                    }
                }
                for e in s.match_expressions.iter().flatten() {
                    let has_values = e.values.as_ref().is_some_and(|v| !v.is_empty());
                    let ok = match e.operator.as_str() {
                        "In" | "NotIn" => has_values,
                        "Exists" | "DoesNotExist" => !has_values,
                        _ => false,
                    };
                    if !ok {
                        fail(format!("{at}: invalid selector expression {} {}", e.key, e.operator));
                    }
                }
                if !SUPPORTED.iter().any(|(os, arch)| s.matches(os, arch)) {
                    fail(format!("{at}: selector matches no supported os/arch pair"));
                }
            }
        }
    }
    for (os, arch) in SUPPORTED {
        let matching: Vec<usize> = plugin
            .spec
            .platforms
            .iter()
            .enumerate()
            .filter(|(_, p)| p.selector.as_ref().is_some_and(|s| s.matches(os, arch)))
            .map(|(i, _)| i)
            .collect();
        if matching.len() > 1 {
            fail(format!(
                "{os}/{arch} is matched by more than one platform: {matching:?}"
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_rules() {
        for good in ["v0.1.0", "v1.2.3-rc.1", "v1.2.3+build.5", "v10.0.0-alpha-1"] {
            assert!(is_strict_semver(good), "{good}");
        }
        for bad in ["0.1.0", "v1.2", "v01.2.3", "v1.2.3-", "v1.2.3-01", "vx.y.z"] {
            assert!(!is_strict_semver(bad), "{bad}");
        }
    }

    #[test]
    fn selectors_and_overlaps() {
        let s = |labels: &[(&str, &str)]| Selector {
            match_labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            match_expressions: None,
        };
        assert!(s(&[("os", "linux"), ("arch", "amd64")]).matches("linux", "amd64"));
        assert!(!s(&[("os", "linux")]).matches("darwin", "amd64"));
        let platform = |sel| Platform {
            selector: Some(sel),
            uri: "u".into(),
            sha256: "a".repeat(64),
            bin: "b".into(),
            files: None,
        };
        let plugin = Plugin {
            api_version: API_VERSION.into(),
            kind: "Plugin".into(),
            metadata: Metadata {
                name: "registry".into(),
            },
            spec: Spec {
                version: "v0.1.0".into(),
                homepage: None,
                short_description: "x".into(),
                description: None,
                caveats: None,
                platforms: vec![
                    platform(s(&[("os", "linux")])),
                    platform(s(&[("os", "linux"), ("arch", "amd64")])),
                ],
            },
        };
        let errors = validate(&plugin, Some("registry.yaml"));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("linux/amd64 is matched by more than one platform")),
            "{errors:?}"
        );
        assert!(
            validate(&plugin, Some("other.yaml"))
                .iter()
                .any(|e| e.contains("file name"))
        );
    }
}
