//! What happens to an object between the request and storage: subresource scoping, system
//! metadata, unknown-field handling (`fieldValidation`), defaulting, schema validation and
//! `metadata.generation`.

use crate::catalog::{Catalog, ResourceKind};
use crate::field::{FieldError, FieldPath};
use crate::status::{ApiError, ApiResult};
use regex::Regex;
use serde_json::{Value, json};
use std::sync::LazyLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(value: Option<&str>) -> ApiResult<Self> {
        match value {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}, valid values are: Ignore, Warn, Strict"
            ))),
        }
    }
}

/// On the main resource of a kind with a status subresource, status changes are ignored; on
/// `/status`, everything but status is.
pub fn scope_to_subresource(
    kind: &ResourceKind,
    subresource: Option<&str>,
    old: Option<&Value>,
    mut new: Value,
) -> Value {
    let old_status = old.and_then(|o| o.get("status")).cloned();
    match subresource {
        Some("status") => {
            let mut result = old.cloned().unwrap_or(new.clone());
            let status = new.get("status").cloned();
            if let Some(rv) = new.pointer("/metadata/resourceVersion").cloned() {
                result["metadata"]["resourceVersion"] = rv;
            }
            let map = result.as_object_mut().expect("object");
            match status {
                Some(s) => map.insert("status".into(), s),
                None => map.remove("status"),
            };
            result
        }
        _ if kind.status_subresource => {
            let map = new.as_object_mut().expect("object");
            match old_status {
                Some(s) => map.insert("status".into(), s),
                None => map.remove("status"),
            };
            new
        }
        _ => new,
    }
}

/// Keeps what clients cannot set (uid, creationTimestamp, deletion marks) and assigns it on create.
pub fn keep_system_metadata(old: Option<&Value>, new: &mut Value, now: &str) {
    let meta = new
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .expect("metadata is an object");
    meta.remove("resourceVersion");
    meta.remove("selfLink");
    match old {
        Some(old) => {
            for field in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ] {
                match old.pointer(&format!("/metadata/{field}")) {
                    Some(v) => meta.insert(field.into(), v.clone()),
                    None => meta.remove(field),
                };
            }
        }
        None => {
            meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
            meta.insert("creationTimestamp".into(), json!(now));
            meta.remove("deletionTimestamp");
            meta.remove("deletionGracePeriodSeconds");
            meta.remove("generation");
        }
    }
}

fn unknown_field_outcome(
    kind: &ResourceKind,
    unknown: &[String],
    validation: FieldValidation,
) -> ApiResult<Vec<String>> {
    if unknown.is_empty() || validation == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let described: Vec<String> = unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
    if validation == FieldValidation::Strict {
        return Err(ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
            kind.kind,
            kind.version,
            kind.kind,
            described.join(", ")
        )));
    }
    Ok(described)
}

/// Prunes unknown fields and applies the `fieldValidation` policy, without validating values.
pub fn prune_only(
    catalog: &Catalog,
    kind: &ResourceKind,
    obj: &mut Value,
    validation: FieldValidation,
) -> ApiResult<Vec<String>> {
    let mut unknown = Vec::new();
    catalog
        .schemas
        .prune(catalog.schema_of(kind), obj, &FieldPath::root(), &mut unknown);
    unknown_field_outcome(kind, &unknown, validation)
}

/// Prunes, defaults and validates; returns the warnings to send.
pub fn admit(
    catalog: &Catalog,
    kind: &ResourceKind,
    old: Option<&Value>,
    obj: &mut Value,
    validation: FieldValidation,
) -> ApiResult<Vec<String>> {
    let warnings = prune_only(catalog, kind, obj, validation)?;
    let schema = catalog.schema_of(kind);
    catalog.schemas.apply_defaults(schema, obj);
    if kind.origin == crate::catalog::Origin::BuiltIn {
        crate::defaulting::apply(kind, obj);
        // The Go types' fields without `omitempty`, which keep an empty list.
        catalog
            .schemas
            .drop_empty(schema, obj, &["containers", "rules", "verbs"]);
    }
    crate::native::as_stored(kind, obj);
    let mut errors = Vec::new();
    validate_name(kind, obj, &mut errors);
    catalog
        .schemas
        .validate(schema, obj, old, &FieldPath::root(), &mut errors);
    crate::native::validate(kind, obj, &mut errors);
    if let Some(old) = old {
        crate::native::validate_update(kind, old, obj, &mut errors);
    }
    if !errors.is_empty() {
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(ApiError::invalid(kind, name, &errors));
    }
    Ok(warnings)
}

static DNS_SUBDOMAIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").unwrap());
static DNS_LABEL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").unwrap());

fn validate_name(kind: &ResourceKind, obj: &Value, errors: &mut Vec<FieldError>) {
    let Some(name) = obj.pointer("/metadata/name").and_then(Value::as_str) else {
        return;
    };
    let path = FieldPath::root().child("metadata").child("name");
    let label = matches!(kind.plural.as_str(), "namespaces" | "services");
    let (re, max, detail) = if label {
        (
            &*DNS_LABEL,
            63,
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        )
    } else {
        (
            &*DNS_SUBDOMAIN,
            253,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        )
    };
    // Role and binding names are path segments, not DNS names.
    if kind.group == "rbac.authorization.k8s.io" {
        return;
    }
    if !re.is_match(name) {
        errors.push(FieldError::invalid(&path, &json!(name), detail));
    } else if name.len() > max {
        errors.push(FieldError::invalid(
            &path,
            &json!(name),
            format!("must be no more than {max} characters"),
        ));
    }
}

fn without(v: &Value, keys: &[&str]) -> Value {
    let mut c = v.clone();
    if let Some(m) = c.as_object_mut() {
        for k in keys {
            m.remove(*k);
        }
    }
    c
}

/// `metadata.generation` starts at 1 and increases when anything but metadata and status changes.
pub fn bump_generation(kind: &ResourceKind, old: Option<&Value>, new: &mut Value) {
    let meta = |v: &Value| v.pointer("/metadata/generation").and_then(Value::as_i64);
    if !kind.tracks_generation {
        if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("generation");
        }
        return;
    }
    let generation = match old {
        None => 1,
        Some(old) => {
            let previous = meta(old).unwrap_or(1);
            let spec_changed = without(old, &["metadata", "status"]) != without(new, &["metadata", "status"]);
            let deleting = old.pointer("/metadata/deletionTimestamp").is_none()
                && new.pointer("/metadata/deletionTimestamp").is_some();
            if spec_changed || deleting {
                previous + 1
            } else {
                previous
            }
        }
    };
    new["metadata"]["generation"] = json!(generation);
}

/// Whether a write changes nothing but bookkeeping (resourceVersion, managed-field timestamps);
/// the apiserver does not store such a write.
pub fn same_ignoring_bookkeeping(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| {
        let mut c = v.clone();
        if let Some(m) = c.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
            if let Some(entries) = m.get_mut("managedFields").and_then(Value::as_array_mut) {
                for e in entries.iter_mut().filter_map(Value::as_object_mut) {
                    e.remove("time");
                }
            }
        }
        c
    };
    strip(old) == strip(new)
}
