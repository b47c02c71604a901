//! How a list field merges: atomically, as a set, or as a map keyed by some of its items' fields.
//! Custom resources declare this in their schema (`x-kubernetes-list-type`); the built-in kinds carry
//! it in their Go struct tags, reproduced here for the fields the product and kubectl touch.

use crate::catalog::{Catalog, Origin, ResourceKind};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

/// Resolves list semantics while walking an object alongside its schema.
pub struct ListSemantics<'a> {
    catalog: &'a Catalog,
    builtin: bool,
}

impl<'a> ListSemantics<'a> {
    pub fn new(catalog: &'a Catalog, kind: &ResourceKind) -> Self {
        ListSemantics {
            catalog,
            builtin: kind.origin == Origin::BuiltIn,
        }
    }

    /// `names` are the field names from the object root to the list (no indices).
    pub fn list_type(&self, schema: Option<&Value>, names: &[&str]) -> ListType {
        if self.builtin
            && let Some(t) = builtin_list_type(names)
        {
            return t;
        }
        let Some(schema) = schema.map(|s| self.catalog.schemas.resolve(s)) else {
            return ListType::Atomic;
        };
        match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map(
                schema
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|k| k.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default(),
            ),
            _ => match schema.get("x-kubernetes-patch-merge-key").and_then(Value::as_str) {
                Some(k) => ListType::Map(vec![k.to_string()]),
                None => ListType::Atomic,
            },
        }
    }

    pub fn child_schema(&self, schema: Option<&'a Value>, name: &str) -> Option<&'a Value> {
        schema.and_then(|s| self.catalog.schemas.property(s, name))
    }

    pub fn item_schema(&self, schema: Option<&'a Value>) -> Option<&'a Value> {
        schema.and_then(|s| self.catalog.schemas.items(s))
    }
}

fn builtin_list_type(names: &[&str]) -> Option<ListType> {
    let last = *names.last()?;
    let within = |parent: &str| names.len() >= 2 && names[names.len() - 2] == parent;
    let in_container = names
        .iter()
        .any(|n| matches!(*n, "containers" | "initContainers" | "ephemeralContainers"));
    let map = |keys: &[&str]| Some(ListType::Map(keys.iter().map(|k| k.to_string()).collect()));
    match last {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env"
        | "resourceClaims" => map(&["name"]),
        "volumeMounts" => map(&["mountPath"]),
        "volumeDevices" => map(&["devicePath"]),
        "ports" if in_container => map(&["containerPort", "protocol"]),
        "ports" if within("spec") => map(&["port", "protocol"]),
        "conditions" => map(&["type"]),
        "ownerReferences" => map(&["uid"]),
        "finalizers" => Some(ListType::Set),
        "hostAliases" => map(&["ip"]),
        "topologySpreadConstraints" => map(&["topologyKey", "whenUnsatisfiable"]),
        "secrets" if names.len() == 1 => map(&["name"]),
        _ => None,
    }
}

/// The key of a list item under `keys`, for matching items between two lists.
pub fn item_key(item: &Value, keys: &[String]) -> Vec<Value> {
    keys.iter()
        .map(|k| item.get(k).cloned().unwrap_or(Value::Null))
        .collect()
}
