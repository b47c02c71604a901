//! Structural OpenAPI v3 schemas: validation, pruning of unknown fields, and defaulting, following
//! what kube-apiserver does for CustomResourceDefinitions (and, with the built-in kinds' schemas, for
//! the built-in kinds).

use crate::cel::{Outcome, RuleCache};
use crate::field::{FieldError, FieldPath};
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Schemas that may refer to each other through `$ref: "#/components/schemas/<name>"`.
#[derive(Default)]
pub struct SchemaSet {
    components: BTreeMap<String, Value>,
    patterns: Mutex<HashMap<String, Option<Regex>>>,
    rules: RuleCache,
}

const REF_PREFIX: &str = "#/components/schemas/";

impl SchemaSet {
    pub fn insert(&mut self, name: impl Into<String>, schema: Value) {
        self.components.insert(name.into(), schema);
    }

    pub fn components(&self) -> &BTreeMap<String, Value> {
        &self.components
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.components.get(name)
    }

    /// Follows `$ref` (possibly through single-element `allOf` wrappers) to the schema it names.
    pub fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..32 {
            if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
                match r.strip_prefix(REF_PREFIX).and_then(|n| self.components.get(n)) {
                    Some(target) => schema = target,
                    None => return schema,
                }
            } else if let Some([only]) = schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice)
                && only.get("$ref").is_some()
                && schema.get("type").is_none()
            {
                schema = only;
            } else {
                return schema;
            }
        }
        schema
    }

    fn regex(&self, pattern: &str) -> Option<Regex> {
        let mut cache = self.patterns.lock().unwrap();
        cache
            .entry(pattern.to_string())
            .or_insert_with(|| Regex::new(pattern).ok())
            .clone()
    }

    /// The schema of a property of an object schema, if declared.
    pub fn property<'a>(&'a self, schema: &'a Value, name: &str) -> Option<&'a Value> {
        let schema = self.resolve(schema);
        if let Some(p) = schema.get("properties").and_then(|p| p.get(name)) {
            return Some(p);
        }
        match schema.get("additionalProperties") {
            Some(v @ Value::Object(_)) => Some(v),
            _ => None,
        }
    }

    /// The schema of the items of an array schema.
    pub fn items<'a>(&'a self, schema: &'a Value) -> Option<&'a Value> {
        self.resolve(schema).get("items")
    }

    // ---------------------------------------------------------------- pruning

    /// Removes fields the schema does not declare (and `null`s where the schema does not allow them),
    /// recording the path of each removed field. Mirrors structural pruning of custom resources.
    pub fn prune(&self, schema: &Value, value: &mut Value, path: &FieldPath, unknown: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if preserves_unknown(schema) && schema.get("properties").is_none() && schema.get("items").is_none() {
            return;
        }
        match value {
            Value::Object(map) => {
                let props = schema.get("properties").and_then(Value::as_object);
                let additional = schema.get("additionalProperties");
                let embedded = schema.get("x-kubernetes-embedded-resource").and_then(Value::as_bool) == Some(true);
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    let child_path = path.child(&key);
                    let child_schema = props.and_then(|p| p.get(&key)).or(match additional {
                        Some(s @ Value::Object(_)) => Some(s),
                        _ => None,
                    });
                    match child_schema {
                        Some(cs) => {
                            let child = map.get_mut(&key).expect("key present");
                            if child.is_null() && !self.nullable(cs) {
                                map.remove(&key);
                                continue;
                            }
                            let child_path = if props.and_then(|p| p.get(&key)).is_some() {
                                child_path
                            } else {
                                path.key(&key)
                            };
                            self.prune(cs, child, &child_path, unknown);
                        }
                        None => {
                            let keep = additional == Some(&Value::Bool(true))
                                || preserves_unknown(schema)
                                || (embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata"));
                            if !keep {
                                unknown.push(child_path.to_string());
                                map.remove(&key);
                            }
                        }
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter_mut().enumerate() {
                        self.prune(item_schema, item, &path.index(i), unknown);
                    }
                }
            }
            _ => {}
        }
    }

    fn nullable(&self, schema: &Value) -> bool {
        self.resolve(schema).get("nullable").and_then(Value::as_bool) == Some(true)
    }

    // ---------------------------------------------------------------- defaulting

    /// Fills in `default`s of absent properties, recursively.
    pub fn apply_defaults(&self, schema: &Value, value: &mut Value) {
        let schema = self.resolve(schema);
        match value {
            Value::Object(map) => {
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (name, ps) in props {
                        let ps_resolved = self.resolve(ps);
                        if !map.contains_key(name)
                            && let Some(d) = ps.get("default").or_else(|| ps_resolved.get("default"))
                        {
                            map.insert(name.clone(), d.clone());
                        }
                        if let Some(child) = map.get_mut(name) {
                            self.apply_defaults(ps, child);
                        }
                    }
                } else if let Some(add @ Value::Object(_)) = schema.get("additionalProperties") {
                    for child in map.values_mut() {
                        self.apply_defaults(add, child);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for item in items {
                        self.apply_defaults(item_schema, item);
                    }
                }
            }
            _ => {}
        }
    }

    /// Drops what Go's `omitempty` drops on the way through a built-in kind's type: empty lists,
    /// and empty maps (objects whose schema is a map; an empty struct stays, as Go writes it).
    /// `keep` names the list fields whose Go tag has no `omitempty`.
    pub fn drop_empty(&self, schema: &Value, value: &mut Value, keep: &[&str]) {
        let schema = self.resolve(schema);
        match value {
            Value::Object(map) => {
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    let mut empty = Vec::new();
                    for (name, ps) in props {
                        let Some(child) = map.get_mut(name) else { continue };
                        self.drop_empty(ps, child, keep);
                        let is_map = self
                            .resolve(ps)
                            .get("additionalProperties")
                            .is_some_and(Value::is_object);
                        let drop = match child {
                            Value::Array(a) => a.is_empty() && !keep.contains(&name.as_str()),
                            Value::Object(o) => o.is_empty() && is_map,
                            Value::Null => true,
                            _ => false,
                        };
                        if drop {
                            empty.push(name.clone());
                        }
                    }
                    for name in empty {
                        map.remove(&name);
                    }
                } else if let Some(add @ Value::Object(_)) = schema.get("additionalProperties") {
                    for child in map.values_mut() {
                        self.drop_empty(add, child, keep);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for item in items {
                        self.drop_empty(item_schema, item, keep);
                    }
                }
            }
            _ => {}
        }
    }

    // ---------------------------------------------------------------- validation

    /// Validates `value` against `schema`, appending every violation found. `old` is the value at
    /// the same place before an update, for transition rules (`oldSelf`).
    pub fn validate(
        &self,
        schema: &Value,
        value: &Value,
        old: Option<&Value>,
        path: &FieldPath,
        errors: &mut Vec<FieldError>,
    ) {
        let schema = self.resolve(schema);
        if value.is_null() {
            if !self.nullable(schema) && schema.get("type").is_some() {
                errors.push(FieldError::invalid(
                    path,
                    &Value::String("null".into()),
                    format!(
                        "{} in body must be of type {}: \"null\"",
                        display_path(path),
                        type_name(schema)
                    ),
                ));
            }
            return;
        }
        let int_or_string = schema.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
        if int_or_string {
            if !(value.is_string() || value.is_i64() || value.is_u64()) {
                errors.push(FieldError::invalid(
                    path,
                    &Value::String(json_type(value).into()),
                    format!(
                        "{} in body must be of type integer,string: \"{}\"",
                        display_path(path),
                        json_type(value)
                    ),
                ));
                return;
            }
        } else if let Some(ty) = schema.get("type").and_then(Value::as_str)
            && !type_matches(ty, value)
        {
            errors.push(FieldError::invalid(
                path,
                &Value::String(json_type(value).into()),
                format!(
                    "{} in body must be of type {}: \"{}\"",
                    display_path(path),
                    ty,
                    json_type(value)
                ),
            ));
            return;
        }

        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.contains(value)
        {
            errors.push(FieldError::not_supported(path, value, options));
        }

        match value {
            Value::String(s) => self.validate_string(schema, s, value, path, errors),
            Value::Number(_) => validate_number(schema, value, path, errors),
            Value::Array(items) => self.validate_array(schema, items, old, path, errors),
            Value::Object(map) => self.validate_object(schema, map, old, path, errors),
            _ => {}
        }
        self.validate_rules(schema, value, old, path, errors);

        for sub in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.validate(sub, value, old, path, errors);
        }
        if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
            let ok = any.iter().any(|s| {
                let mut e = Vec::new();
                self.validate(s, value, old, path, &mut e);
                e.is_empty()
            });
            if !ok && !any.is_empty() {
                errors.push(FieldError::invalid(
                    path,
                    value,
                    format!(
                        "{} in body must be of type or match one of the schemas in anyOf",
                        display_path(path)
                    ),
                ));
            }
        }
        if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
            let matching = one
                .iter()
                .filter(|s| {
                    let mut e = Vec::new();
                    self.validate(s, value, old, path, &mut e);
                    e.is_empty()
                })
                .count();
            if matching != 1 && !one.is_empty() {
                errors.push(FieldError::invalid(
                    path,
                    value,
                    format!(
                        "{} in body must validate one and only one schema (oneOf)",
                        display_path(path)
                    ),
                ));
            }
        }
        if let Some(not) = schema.get("not") {
            let mut e = Vec::new();
            self.validate(not, value, old, path, &mut e);
            if e.is_empty() {
                errors.push(FieldError::invalid(
                    path,
                    value,
                    format!("{} in body should not validate the schema (not)", display_path(path)),
                ));
            }
        }
    }

    fn validate_string(&self, schema: &Value, s: &str, value: &Value, path: &FieldPath, errors: &mut Vec<FieldError>) {
        let len = s.chars().count() as u64;
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            errors.push(FieldError::too_long(path, max));
        }
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            errors.push(FieldError::invalid(
                path,
                value,
                format!("{} in body should be at least {} chars long", display_path(path), min),
            ));
        }
        if let Some(p) = schema.get("pattern").and_then(Value::as_str)
            && let Some(re) = self.regex(p)
            && !re.is_match(s)
        {
            errors.push(FieldError::invalid(
                path,
                value,
                format!("{} in body should match '{}'", display_path(path), p),
            ));
        }
        if let Some(f) = schema.get("format").and_then(Value::as_str)
            && let Some(problem) = check_format(f, s)
        {
            errors.push(FieldError::invalid(
                path,
                value,
                format!("{} in body must be of type {}: {:?}", display_path(path), problem, s),
            ));
        }
    }

    fn validate_array(
        &self,
        schema: &Value,
        items: &[Value],
        old: Option<&Value>,
        path: &FieldPath,
        errors: &mut Vec<FieldError>,
    ) {
        check_count(schema, ("minItems", "maxItems", "items"), items.len(), path, errors);
        let list_type = schema.get("x-kubernetes-list-type").and_then(Value::as_str);
        let unique = schema.get("uniqueItems").and_then(Value::as_bool) == Some(true);
        if list_type == Some("set") || unique {
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    errors.push(FieldError::duplicate(&path.index(i), item));
                }
            }
        }
        if list_type == Some("map")
            && let Some(keys) = schema.get("x-kubernetes-list-map-keys").and_then(Value::as_array)
        {
            let key_of = |item: &Value| -> Vec<Value> {
                keys.iter()
                    .filter_map(Value::as_str)
                    .map(|k| item.get(k).cloned().unwrap_or(Value::Null))
                    .collect()
            };
            for (i, item) in items.iter().enumerate() {
                let k = key_of(item);
                if items[..i].iter().any(|prev| key_of(prev) == k) {
                    let shown = if k.len() == 1 { k[0].clone() } else { Value::Array(k) };
                    errors.push(FieldError::duplicate(&path.index(i), &shown));
                }
            }
        }
        // Only items of keyed lists correlate with a previous item, as for the apiserver.
        let map_keys: Vec<&str> = match list_type {
            Some("map") => schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let old_items = old.and_then(Value::as_array);
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                let old_item = old_items
                    .filter(|_| !map_keys.is_empty())
                    .and_then(|olds| olds.iter().find(|o| map_keys.iter().all(|k| o.get(k) == item.get(k))));
                self.validate(item_schema, item, old_item, &path.index(i), errors);
            }
        }
    }

    /// `x-kubernetes-validations`: CEL rules; transition rules only when there is an old value.
    fn validate_rules(
        &self,
        schema: &Value,
        value: &Value,
        old: Option<&Value>,
        path: &FieldPath,
        errors: &mut Vec<FieldError>,
    ) {
        let Some(rules) = schema.get("x-kubernetes-validations").and_then(Value::as_array) else {
            return;
        };
        for r in rules {
            let Some(rule) = r.get("rule").and_then(Value::as_str) else {
                continue;
            };
            if RuleCache::is_transition(rule) && old.is_none() {
                continue;
            }
            let shown = Value::String(json_type(value).to_string());
            match self.rules.evaluate(rule, value, old) {
                Outcome::Passed => {}
                Outcome::Failed => {
                    let message = r
                        .get("message")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("failed rule: {rule}"));
                    errors.push(FieldError::invalid(path, &shown, message));
                }
                Outcome::Error(e) => {
                    errors.push(FieldError::invalid(
                        path,
                        &shown,
                        format!("{e} evaluating rule: {rule}"),
                    ));
                }
            }
        }
    }

    fn validate_object(
        &self,
        schema: &Value,
        map: &Map<String, Value>,
        old: Option<&Value>,
        path: &FieldPath,
        errors: &mut Vec<FieldError>,
    ) {
        for req in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = req.as_str()
                && map.get(name).is_none_or(Value::is_null)
            {
                errors.push(FieldError::required(&path.child(name), ""));
            }
        }
        check_count(
            schema,
            ("minProperties", "maxProperties", "properties"),
            map.len(),
            path,
            errors,
        );
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, v) in map {
            if let Some(ps) = props.and_then(|p| p.get(k)) {
                self.validate(ps, v, old.and_then(|o| o.get(k)), &path.child(k), errors);
            } else if let Some(add @ Value::Object(_)) = schema.get("additionalProperties") {
                self.validate(add, v, old.and_then(|o| o.get(k)), &path.key(k), errors);
            }
        }
    }
}

/// `min…`/`max…` bounds on how many items (or properties) a value has.
fn check_count(
    schema: &Value,
    (min_key, max_key, noun): (&str, &str, &str),
    count: usize,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    if let Some(max) = schema.get(max_key).and_then(Value::as_u64)
        && count as u64 > max
    {
        errors.push(FieldError::too_many(path, count, max));
    }
    if let Some(min) = schema.get(min_key).and_then(Value::as_u64)
        && (count as u64) < min
    {
        errors.push(FieldError::invalid(
            path,
            &Value::from(count),
            format!("{} in body should have at least {min} {noun}", display_path(path)),
        ));
    }
}

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

fn display_path(path: &FieldPath) -> &str {
    if path.as_str().is_empty() {
        "body"
    } else {
        path.as_str()
    }
}

fn type_name(schema: &Value) -> &str {
    schema.get("type").and_then(Value::as_str).unwrap_or("object")
}

fn type_matches(ty: &str, v: &Value) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        _ => true,
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn validate_number(schema: &Value, value: &Value, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(n) = value.as_f64() else { return };
    let exclusive_max = schema.get("exclusiveMaximum").and_then(Value::as_bool) == Some(true);
    let exclusive_min = schema.get("exclusiveMinimum").and_then(Value::as_bool) == Some(true);
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
        && (n > max || (exclusive_max && n == max))
    {
        let rel = if exclusive_max {
            "less than"
        } else {
            "less than or equal to"
        };
        errors.push(FieldError::invalid(
            path,
            value,
            format!("{} in body should be {} {}", display_path(path), rel, number(max)),
        ));
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
        && (n < min || (exclusive_min && n == min))
    {
        let rel = if exclusive_min {
            "greater than"
        } else {
            "greater than or equal to"
        };
        errors.push(FieldError::invalid(
            path,
            value,
            format!("{} in body should be {} {}", display_path(path), rel, number(min)),
        ));
    }
    if let Some(f) = schema.get("format").and_then(Value::as_str) {
        let fits = match f {
            "int32" => (i32::MIN as f64..=i32::MAX as f64).contains(&n),
            _ => true,
        };
        if !fits {
            errors.push(FieldError::invalid(
                path,
                value,
                format!("{} in body must be of type {}", display_path(path), f),
            ));
        }
    }
}

fn number(f: f64) -> String {
    if f.fract() == 0.0 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

/// The string formats the apiserver checks; returns the format's name when `s` does not conform.
fn check_format(format: &str, s: &str) -> Option<&'static str> {
    use base64::Engine as _;
    match format {
        "byte" if base64::engine::general_purpose::STANDARD.decode(s).is_err() => Some("byte"),
        "date-time" if s.parse::<jiff::Timestamp>().is_err() => Some("date-time"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: Value, value: Value) -> Vec<String> {
        let set = SchemaSet::default();
        let mut errors = Vec::new();
        set.validate(&schema, &value, None, &FieldPath::root(), &mut errors);
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn pattern_error_names_the_field_like_the_apiserver() {
        let schema = json!({"type":"object","properties":{"spec":{"type":"object","properties":{
            "managementState":{"type":"string","pattern":"^(Managed|Unmanaged|Force|Removed)$"}}}}});
        let errors = check(schema, json!({"spec":{"managementState":"Bogus"}}));
        assert_eq!(
            errors,
            vec![
                "spec.managementState: Invalid value: \"Bogus\": spec.managementState in body should match '^(Managed|Unmanaged|Force|Removed)$'"
            ]
        );
    }

    #[test]
    fn type_enum_required_bounds() {
        let schema = json!({"type":"object","required":["replicas"],"properties":{
            "replicas":{"type":"integer","format":"int32"},
            "logLevel":{"type":"string","enum":["Normal","Debug"]},
            "chunk":{"type":"integer","minimum":5,"maximum":5120},
            "name":{"type":"string","maxLength":3},
            "list":{"type":"array","maxItems":1,"items":{"type":"string"}}}});
        assert_eq!(check(schema.clone(), json!({})), vec!["replicas: Required value"]);
        assert_eq!(
            check(schema.clone(), json!({"replicas":"two"})),
            vec!["replicas: Invalid value: \"string\": replicas in body must be of type integer: \"string\""]
        );
        assert_eq!(
            check(schema.clone(), json!({"replicas":1,"logLevel":"Loud"})),
            vec!["logLevel: Unsupported value: \"Loud\": supported values: \"Normal\", \"Debug\""]
        );
        assert_eq!(
            check(schema.clone(), json!({"replicas":1,"chunk":6000})),
            vec!["chunk: Invalid value: 6000: chunk in body should be less than or equal to 5120"]
        );
        assert_eq!(
            check(schema.clone(), json!({"replicas":1,"name":"abcd"})),
            vec!["name: Too long: may not be more than 3 bytes"]
        );
        assert_eq!(
            check(schema, json!({"replicas":1,"list":["a","b"]})),
            vec!["list: Too many: 2: must have at most 1 items"]
        );
    }

    #[test]
    fn int_or_string_and_list_map_keys() {
        let schema = json!({"type":"object","properties":{
            "port":{"x-kubernetes-int-or-string":true},
            "routes":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],
                      "items":{"type":"object","properties":{"name":{"type":"string"}}}}}});
        assert!(check(schema.clone(), json!({"port":"https"})).is_empty());
        assert!(check(schema.clone(), json!({"port":443})).is_empty());
        assert_eq!(check(schema.clone(), json!({"port":true})).len(), 1);
        assert_eq!(
            check(schema, json!({"routes":[{"name":"a"},{"name":"a"}]})),
            vec!["routes[1]: Duplicate value: \"a\""]
        );
    }

    #[test]
    fn prune_removes_unknown_fields_and_reports_their_paths() {
        let set = SchemaSet::default();
        let schema = json!({"type":"object","properties":{
            "spec":{"type":"object","properties":{"a":{"type":"string"},
                    "free":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
                    "labels":{"type":"object","additionalProperties":{"type":"string"}}}}}});
        let mut v = json!({"spec":{"a":"x","b":1,"free":{"anything":1},"labels":{"k":"v"},"n":null}});
        let mut unknown = Vec::new();
        set.prune(&schema, &mut v, &FieldPath::root(), &mut unknown);
        assert_eq!(unknown, vec!["spec.b", "spec.n"]);
        assert_eq!(v, json!({"spec":{"a":"x","free":{"anything":1},"labels":{"k":"v"}}}));
    }

    #[test]
    fn defaults_fill_absent_properties() {
        let set = SchemaSet::default();
        let schema = json!({"type":"object","properties":{"spec":{"type":"object","properties":{
            "logLevel":{"type":"string","default":"Normal"},"x":{"type":"string"}}}}});
        let mut v = json!({"spec":{"x":"y"}});
        set.apply_defaults(&schema, &mut v);
        assert_eq!(v, json!({"spec":{"x":"y","logLevel":"Normal"}}));
    }
}
