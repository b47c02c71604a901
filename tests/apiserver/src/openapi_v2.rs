//! OpenAPI v2 at `/openapi/v2`, which kubectl 1.27 and 1.28 need before `apply` (for the merge
//! keys of strategic merge patches) and ask for only as gnostic's `openapi.v2.Document` in
//! protobuf. Every definition is there, converted from the v3 schemas the server validates with:
//! types, formats, properties, items, required fields, enums, bounds and the `x-kubernetes-*`
//! extensions kubectl reads. v3-only keywords (`anyOf`, `oneOf`, `nullable`) have no v2 form.

use crate::catalog::Catalog;
use serde_json::{Map, Value, json};

/// The type the document is answered with (kubectl asks with `…spec.v2@v1.0+protobuf`, which Go's
/// MIME parser would refuse in an answer).
pub const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// A protobuf message being written (wire format: varint keys, length-delimited fields).
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, 2);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    fn message(&mut self, field: u32, m: Message) {
        self.bytes(field, &m.0);
    }

    fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64);
    }

    fn bool(&mut self, field: u32, b: bool) {
        if b {
            self.int(field, 1);
        }
    }

    fn double(&mut self, field: u32, v: f64) {
        self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
}

/// `openapi.v2.Any` holding a value as YAML (JSON is YAML).
fn any(v: &Value) -> Message {
    let mut m = Message::default();
    m.string(2, &v.to_string());
    m
}

/// `openapi.v2.NamedAny`.
fn named_any(name: &str, v: &Value) -> Message {
    let mut m = Message::default();
    m.string(1, name);
    m.message(2, any(v));
    m
}

fn named_schema(name: &str, v: &Value) -> Message {
    let mut m = Message::default();
    m.string(1, name);
    m.message(2, schema(v));
    m
}

const V3_REF: &str = "#/components/schemas/";

/// `openapi.v2.Schema` for a v3 schema.
fn schema(v: &Value) -> Message {
    let mut m = Message::default();
    let Some(s) = v.as_object() else { return m };
    // A reference, bare or wrapped in a single-element allOf (as v3 writes one with a description).
    let reference = s
        .get("$ref")
        .or_else(|| match s.get("allOf").and_then(Value::as_array) {
            Some(all) if all.len() == 1 => all[0].get("$ref"),
            _ => None,
        });
    if let Some(r) = reference.and_then(Value::as_str) {
        m.string(1, &r.replacen(V3_REF, "#/definitions/", 1));
    }
    let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or_default();
    m.string(2, text("format"));
    m.string(3, text("title"));
    m.string(4, text("description"));
    if let Some(d) = s.get("default") {
        m.message(5, any(d));
    }
    let number = |k: &str| s.get(k).and_then(Value::as_f64);
    let count = |k: &str| s.get(k).and_then(Value::as_i64);
    if let Some(n) = number("multipleOf") {
        m.double(6, n);
    }
    if let Some(n) = number("maximum") {
        m.double(7, n);
    }
    m.bool(8, s.get("exclusiveMaximum") == Some(&json!(true)));
    if let Some(n) = number("minimum") {
        m.double(9, n);
    }
    m.bool(10, s.get("exclusiveMinimum") == Some(&json!(true)));
    for (field, key) in [
        (11, "maxLength"),
        (12, "minLength"),
        (14, "maxItems"),
        (15, "minItems"),
        (17, "maxProperties"),
        (18, "minProperties"),
    ] {
        if let Some(n) = count(key) {
            m.int(field, n);
        }
    }
    m.string(13, text("pattern"));
    m.bool(16, s.get("uniqueItems") == Some(&json!(true)));
    for name in s.get("required").and_then(Value::as_array).into_iter().flatten() {
        m.string(19, name.as_str().unwrap_or_default());
    }
    for value in s.get("enum").and_then(Value::as_array).into_iter().flatten() {
        m.message(20, any(value));
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let mut item = Message::default();
            item.key(2, 0);
            item.varint(u64::from(*b));
            m.message(21, item);
        }
        Some(other @ Value::Object(_)) => {
            let mut item = Message::default();
            item.message(1, schema(other));
            m.message(21, item);
        }
        _ => {}
    }
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        let mut item = Message::default();
        item.string(1, t);
        m.message(22, item);
    }
    if let Some(items) = s.get("items") {
        let mut item = Message::default();
        item.message(1, schema(items));
        m.message(23, item);
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        let mut item = Message::default();
        for (name, p) in props {
            item.message(1, named_schema(name, p));
        }
        m.message(25, item);
    }
    for (k, value) in s.iter().filter(|(k, _)| k.starts_with("x-")) {
        m.message(31, named_any(k, value));
    }
    m
}

/// The document, in protobuf.
pub fn protobuf(catalog: &Catalog, git_version: &str) -> Vec<u8> {
    let mut doc = Message::default();
    doc.string(1, "2.0");
    let mut info = Message::default();
    info.string(1, "Kubernetes");
    info.string(2, git_version);
    doc.message(2, info);
    let mut definitions = Message::default();
    for (name, s) in catalog.schemas.components() {
        definitions.message(1, named_schema(name, s));
    }
    doc.message(9, definitions);
    doc.0
}

/// The document as JSON, for clients that ask for JSON.
pub fn json(catalog: &Catalog, git_version: &str) -> Value {
    fn convert(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, c) in m {
                    match (k.as_str(), c) {
                        ("$ref", Value::String(r)) => {
                            out.insert(k.clone(), json!(r.replacen(V3_REF, "#/definitions/", 1)));
                        }
                        ("anyOf" | "oneOf" | "nullable", _) => {}
                        _ => {
                            out.insert(k.clone(), convert(c));
                        }
                    }
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(convert).collect()),
            other => other.clone(),
        }
    }
    let definitions: Map<String, Value> = catalog
        .schemas
        .components()
        .iter()
        .map(|(name, s)| (name.clone(), convert(s)))
        .collect();
    json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": git_version}, "paths": {}, "definitions": definitions})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_fields_are_written_as_protobuf_writes_them() {
        let mut m = Message::default();
        m.varint(300);
        assert_eq!(m.0, [0xAC, 0x02]);
        let mut m = Message::default();
        m.string(1, "2.0");
        assert_eq!(m.0, [0x0A, 3, b'2', b'.', b'0']);
        let s = schema(&json!({"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}));
        assert_eq!(s.0[0], 0x0A);
        assert!(String::from_utf8_lossy(&s.0).contains("#/definitions/io.k8s.api.core.v1.PodSpec"));
    }
}
