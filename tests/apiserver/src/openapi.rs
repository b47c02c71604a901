//! OpenAPI v3: the index at `/openapi/v3` and one document per group-version, with the operations
//! kubectl inspects (`x-kubernetes-group-version-kind`, the `fieldValidation` parameter) and the
//! component schemas `kubectl explain` reads.

use crate::catalog::{Catalog, ResourceKind};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// Paths of every document: `api/v1`, `apis/<group>/<version>`.
pub fn document_paths(catalog: &Catalog) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for g in catalog.groups() {
        for v in catalog.versions_of(&g) {
            let path = if g.is_empty() {
                format!("api/{v}")
            } else {
                format!("apis/{g}/{v}")
            };
            out.push((path, g.clone(), v));
        }
    }
    out
}

pub fn index(catalog: &Catalog, git_version: &str) -> Value {
    let mut paths = Map::new();
    for (path, g, v) in document_paths(catalog) {
        let hash = hash_of(&document(catalog, &g, &v, git_version));
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

pub fn hash_of(doc: &Value) -> String {
    let digest = Sha256::digest(doc.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02X}")).collect()
}

fn param(name: &str, description: &str, ty: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": ty, "uniqueItems": true}})
}

fn operations(k: &ResourceKind) -> Vec<(String, Value)> {
    let gvk = json!({"group": k.group, "version": k.version, "kind": k.kind});
    let base = k.group_version_path();
    let collection = if k.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", k.plural)
    } else {
        format!("{base}/{}", k.plural)
    };
    let item = format!("{collection}/{{name}}");
    let reference = json!({"$ref": format!("#/components/schemas/{}", k.schema_name)});
    let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}});
    let write_params = vec![
        param(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
            "string",
        ),
        param(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
            "string",
        ),
        param(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
            "string",
        ),
    ];
    let mut patch_params = write_params.clone();
    patch_params.push(param("force", "Force is going to \"force\" Apply requests.", "boolean"));
    let op = |action: &str, verb: &str, params: &[Value], body: bool| {
        let mut o = json!({
            "operationId": format!("{verb}{}", k.kind),
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
            "parameters": params,
            "responses": ok,
        });
        if body {
            o["requestBody"] = json!({"content": {"*/*": {"schema": reference}}, "required": true});
        }
        o
    };
    let mut list_params = vec![
        param(
            "labelSelector",
            "A selector to restrict the list of returned objects by their labels.",
            "string",
        ),
        param(
            "fieldSelector",
            "A selector to restrict the list of returned objects by their fields.",
            "string",
        ),
        param("watch", "Watch for changes to the described resources.", "boolean"),
    ];
    list_params.push(param(
        "resourceVersion",
        "resourceVersion sets a constraint on what resource versions a request may be served from.",
        "string",
    ));
    let mut out = vec![
        (
            collection.clone(),
            json!({"get": op("list", "list", &list_params, false), "post": op("post", "create", &write_params, true)}),
        ),
        (
            item.clone(),
            json!({
                "get": op("get", "read", &[], false),
                "put": op("put", "replace", &write_params, true),
                "patch": op("patch", "patch", &patch_params, true),
                "delete": op("delete", "delete", &[param("dryRun", "dry run", "string")], false),
            }),
        ),
    ];
    if k.status_subresource {
        out.push((
            format!("{item}/status"),
            json!({
                "get": op("get", "read", &[], false),
                "put": op("put", "replace", &write_params, true),
                "patch": op("patch", "patch", &patch_params, true),
            }),
        ));
    }
    out
}

pub fn document(catalog: &Catalog, group: &str, version: &str, git_version: &str) -> Value {
    let kinds = catalog.kinds_in(group, version);
    let mut paths = Map::new();
    let mut wanted = BTreeSet::new();
    for k in &kinds {
        for (path, ops) in operations(k) {
            paths.insert(path, ops);
        }
        wanted.insert(k.schema_name.clone());
    }
    let mut schemas = Map::new();
    let mut pending: Vec<String> = wanted.into_iter().collect();
    while let Some(name) = pending.pop() {
        if schemas.contains_key(&name) {
            continue;
        }
        if let Some(schema) = catalog.schemas.get(&name) {
            collect_refs(schema, &mut pending);
            schemas.insert(name, schema.clone());
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": git_version},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str)
                && let Some(name) = r.strip_prefix("#/components/schemas/")
            {
                out.push(name.to_string());
            }
            m.values().for_each(|c| collect_refs(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| collect_refs(c, out)),
        _ => {}
    }
}
