//! PATCH bodies by content type: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic
//! merge patch (built-in and aggregated kinds only). Server-side apply lives in `apply`.

use crate::lists::{ListSemantics, ListType, item_key};
use crate::status::ApiError;
use serde_json::{Map, Value};

pub const MERGE: &str = "application/merge-patch+json";
pub const JSON: &str = "application/json-patch+json";
pub const STRATEGIC: &str = "application/strategic-merge-patch+json";
pub const APPLY: &str = "application/apply-patch+yaml";

pub fn merge_patch(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "json: cannot unmarshal array into Go value of type map[string]interface {}",
        ));
    }
    json_patch::merge(target, patch);
    Ok(())
}

pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| {
        ApiError::bad_request(format!(
            "the server rejected our request due to an error in our request: {e}"
        ))
    })?;
    json_patch::patch(target, &ops).map_err(|e| match e.kind {
        json_patch::PatchErrorKind::TestFailed => ApiError::new(
            422,
            "Invalid",
            format!("the server rejected our request due to an error in our request: {e}"),
        ),
        _ => ApiError::new(
            422,
            "Invalid",
            format!("the server rejected our request due to an error in our request: {e}"),
        ),
    })
}

/// Applies a strategic merge patch, honouring `$patch`, `$retainKeys`, `$deleteFromPrimitiveList/…`
/// and `$setElementOrder/…` directives and merging keyed lists by their patch merge key.
pub fn strategic_merge(
    target: &mut Value,
    patch: &Value,
    lists: &ListSemantics,
    schema: Option<&Value>,
) -> Result<(), ApiError> {
    let patch = patch
        .as_object()
        .ok_or_else(|| ApiError::bad_request("strategic merge patch must be a JSON object"))?;
    let mut names = Vec::new();
    merge_object(target, patch, lists, schema, &mut names);
    Ok(())
}

fn merge_object<'a>(
    target: &mut Value,
    patch: &'a Map<String, Value>,
    lists: &ListSemantics,
    schema: Option<&Value>,
    names: &mut Vec<&'a str>,
) {
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = Value::Object(strip_directives(patch));
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        if let Some(map) = target.as_object_mut() {
            map.retain(|k, _| keep.contains(&k.as_str()));
        }
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(list), Some(remove)) = (target.get_mut(field).and_then(Value::as_array_mut), value.as_array())
            {
                list.retain(|v| !remove.contains(v));
            }
            continue;
        }
        if key.starts_with('$') {
            continue;
        }
        let map = target.as_object_mut().expect("object ensured above");
        if value.is_null() {
            map.remove(key);
            continue;
        }
        names.push(key.as_str());
        let child_schema = lists.child_schema(schema, key);
        match value {
            Value::Object(p) if p.get("$patch").and_then(Value::as_str) == Some("delete") => {
                map.remove(key);
            }
            Value::Object(p) => {
                let slot = map.entry(key.clone()).or_insert(Value::Null);
                merge_object(slot, p, lists, child_schema, names);
            }
            Value::Array(items) => {
                let list_type = lists.list_type(child_schema, names);
                let slot = map.entry(key.clone()).or_insert(Value::Array(Vec::new()));
                merge_list(slot, items, &list_type, lists, child_schema, names);
                if let Some(order) = patch.get(&format!("$setElementOrder/{key}")).and_then(Value::as_array) {
                    reorder(slot, order, &list_type);
                }
            }
            scalar => {
                map.insert(key.clone(), scalar.clone());
            }
        }
        names.pop();
    }
}

fn merge_list<'a>(
    target: &mut Value,
    patch: &'a [Value],
    list_type: &ListType,
    lists: &ListSemantics,
    schema: Option<&Value>,
    names: &mut Vec<&'a str>,
) {
    let replace = patch
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
    let merge_key = match list_type {
        ListType::Map(keys) if !keys.is_empty() && !replace => vec![keys[0].clone()],
        ListType::Set if !replace => {
            let list = target.as_array_mut().expect("list slot");
            for item in patch {
                if !list.contains(item) {
                    list.push(item.clone());
                }
            }
            return;
        }
        _ => {
            *target = Value::Array(
                patch
                    .iter()
                    .filter(|i| i.get("$patch").is_none())
                    .map(strip_value)
                    .collect(),
            );
            return;
        }
    };
    if !target.is_array() {
        *target = Value::Array(Vec::new());
    }
    let item_schema = lists.item_schema(schema);
    for item in patch {
        let key = item_key(item, &merge_key);
        let list = target.as_array_mut().expect("list slot");
        let position = list.iter().position(|existing| item_key(existing, &merge_key) == key);
        if item.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(p) = position {
                list.remove(p);
            }
            continue;
        }
        match (position, item.as_object()) {
            (Some(p), Some(obj)) => merge_object(&mut list[p], obj, lists, item_schema, names),
            (None, _) => list.push(strip_value(item)),
            (Some(p), None) => list[p] = item.clone(),
        }
    }
}

fn reorder(list: &mut Value, order: &[Value], list_type: &ListType) {
    let Some(items) = list.as_array_mut() else {
        return;
    };
    let rank = |item: &Value| -> usize {
        order
            .iter()
            .position(|o| match list_type {
                ListType::Map(keys) => item_key(o, &keys[..1]) == item_key(item, &keys[..1]),
                _ => o == item,
            })
            .unwrap_or(usize::MAX)
    };
    items.sort_by_key(rank);
}

fn strip_directives(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| (k.clone(), strip_value(v)))
        .collect()
}

fn strip_value(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(strip_directives(m)),
        Value::Array(a) => Value::Array(a.iter().map(strip_value).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let catalog = Catalog::standard(true).unwrap();
        let kind = catalog.find("apps", "v1", "deployments").unwrap();
        let lists = ListSemantics::new(&catalog, &kind);
        let schema = catalog.schema_of(&kind);
        let mut target = json!({"spec":{"template":{"spec":{"containers":[
            {"name":"registry","image":"a","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
            {"name":"sidecar","image":"s"}]}}}});
        let patch = json!({"spec":{"template":{"spec":{"containers":[
            {"name":"registry","image":"b","env":[{"name":"B","$patch":"delete"},{"name":"C","value":"3"}]}]}}}});
        strategic_merge(&mut target, &patch, &lists, Some(schema)).unwrap();
        assert_eq!(
            target,
            json!({"spec":{"template":{"spec":{"containers":[
                {"name":"registry","image":"b","env":[{"name":"A","value":"1"},{"name":"C","value":"3"}]},
                {"name":"sidecar","image":"s"}]}}}})
        );
    }

    #[test]
    fn strategic_merge_null_deletes_and_lists_without_key_replace() {
        let catalog = Catalog::standard(true).unwrap();
        let kind = catalog.find("", "v1", "configmaps").unwrap();
        let lists = ListSemantics::new(&catalog, &kind);
        let mut target = json!({"data":{"a":"1","b":"2"},"metadata":{"finalizers":["x"]}});
        let patch = json!({"data":{"a":null,"c":"3"},"metadata":{"finalizers":["y"]}});
        strategic_merge(&mut target, &patch, &lists, Some(catalog.schema_of(&kind))).unwrap();
        assert_eq!(
            target,
            json!({"data":{"b":"2","c":"3"},"metadata":{"finalizers":["x","y"]}})
        );
    }

    #[test]
    fn json_patch_test_failure_is_invalid() {
        let mut target = json!({"a": 1});
        let err = json_patch(&mut target, &json!([{"op":"test","path":"/a","value":2}])).unwrap_err();
        assert_eq!(err.code, 422);
    }
}
