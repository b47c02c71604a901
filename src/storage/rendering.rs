//! What a driver adds to the registry's pod: environment, volumes and mounts, the keys of
//! `image-registry-private-configuration`, and a CA bundle for the storage endpoint.

use super::Data;
use serde_json::{Value, json};

#[derive(Debug, Default)]
pub struct Rendering {
    pub env: Vec<Value>,
    pub volumes: Vec<Value>,
    pub mounts: Vec<Value>,
    /// Keys for `image-registry-private-configuration`.
    pub secret_data: Data,
    pub ca_bundle: Option<String>,
}

impl Rendering {
    pub(super) fn volume(&mut self, volume: Value, mount: Value) {
        self.volumes.push(volume);
        self.mounts.push(mount);
    }

    /// A variable whose value the registry reads as the YAML scalar it is (`true`, `10s`, `3`).
    pub(super) fn env(&mut self, name: &str, value: &str) {
        self.env.push(env(name, value));
    }

    /// A variable holding configured text (a bucket, a region, a URL): quoted where the registry,
    /// which reads every variable as YAML, would read it as something else.
    pub(super) fn text(&mut self, name: &str, value: &str) {
        self.env.push(env(name, &yaml_string(value)));
    }

    /// The registry's filesystem driver rooted where `volume` is mounted.
    pub(super) fn filesystem(&mut self, volume: Value) {
        self.env("REGISTRY_STORAGE", "filesystem");
        self.env("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/registry");
        self.volume(volume, json!({"name": "registry-storage", "mountPath": "/registry"}));
    }
}

/// A plain environment variable.
pub fn env(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// An environment variable read from a key of the same name in `secret`.
pub fn secret_env(name: &str, secret: &str) -> Value {
    json!({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": name}}})
}

/// `value` as a YAML 1.1 scalar (the registry's parser) that reads back as exactly that string:
/// bare when nothing else can be read into it, double-quoted otherwise (`0123456` would read as
/// an octal number, `true` and `null` as a boolean and nothing, `1e3` as a float).
pub fn yaml_string(value: &str) -> String {
    const WORDS: &[&str] = &["y", "yes", "n", "no", "true", "false", "on", "off", "null", "~"];
    let plain_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._/:@+=-".contains(c));
    let starts_plainly = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
    let a_word = WORDS.contains(&value.to_ascii_lowercase().as_str());
    // Only a letter or `/` first can never read as a number (`.5`, `-1`, `0x1f`, `1:30`).
    if plain_chars && starts_plainly && !a_word {
        return value.to_string();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04x}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

pub(super) fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

#[cfg(test)]
mod tests {
    use super::yaml_string;

    #[test]
    fn strings_that_yaml_would_read_as_something_else_are_quoted() {
        let cases = [
            ("my-bucket", "my-bucket"),
            (
                "sim-7xk2p-image-registry-us-east-1",
                "sim-7xk2p-image-registry-us-east-1",
            ),
            ("https://s3.example.com:8443", "https://s3.example.com:8443"),
            ("/registry", "/registry"),
            ("0123456", "\"0123456\""),
            ("123", "\"123\""),
            ("1e3", "\"1e3\""),
            ("true", "\"true\""),
            ("True", "\"True\""),
            ("yes", "\"yes\""),
            ("off", "\"off\""),
            ("null", "\"null\""),
            ("~", "\"~\""),
            ("", "\"\""),
            ("a b", "\"a b\""),
            ("x: y", "\"x: y\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("10.0.0.1:9000", "\"10.0.0.1:9000\""),
        ];
        for (value, want) in cases {
            assert_eq!(yaml_string(value), want, "{value}");
        }
    }
}
