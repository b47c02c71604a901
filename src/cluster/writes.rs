//! How this program writes: under one field manager, in the dry-run modes kubectl has, and with
//! the smallest merge patch that makes a change.

use serde_json::Value;

/// The field manager of every write, so that server-side apply knows which fields are ours.
pub const FIELD_MANAGER: &str = "oc-registry";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DryRun {
    /// Nothing is sent that changes anything: objects are compared with what the cluster holds.
    Client,
    /// Writes are sent with `dryRun=All`: the server validates and admits them, and stores nothing.
    Server,
}

/// The smallest JSON merge patch that turns `old` into `new`: only changed fields, and fields
/// `new` lacks set to null (a merge patch cannot otherwise remove them).
pub fn merge_patch_between(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = serde_json::Map::new();
            for k in o.keys().filter(|k| !n.contains_key(*k)) {
                patch.insert(k.clone(), Value::Null);
            }
            for (k, v) in n.iter().filter(|(k, v)| o.get(*k) != Some(*v)) {
                patch.insert(k.clone(), merge_patch_between(o.get(k).unwrap_or(&Value::Null), v));
            }
            Value::Object(patch)
        }
        (_, n) => n.clone(),
    }
}
