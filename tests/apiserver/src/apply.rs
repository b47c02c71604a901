//! Server-side apply and field ownership (`metadata.managedFields`, FieldsV1), at leaf granularity:
//! every write records which manager set which fields; an apply that changes a field another manager
//! owns is a conflict unless forced; an applier's fields it stops applying are removed.

use crate::lists::{ListSemantics, ListType, item_key};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// A path of FieldsV1 elements: `f:<field>`, `k:<json key>`, `v:<json value>`.
pub type FieldPath = Vec<String>;
pub type FieldSet = BTreeSet<FieldPath>;

#[derive(Clone, Debug)]
pub struct ManagedEntry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub subresource: Option<String>,
    pub time: String,
    pub fields: FieldSet,
}

impl ManagedEntry {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(&self.fields),
        });
        if let Some(s) = &self.subresource {
            v["subresource"] = json!(s);
        }
        v
    }
}

/// Fields that are never owned: identity and server-maintained metadata.
fn ignored(names: &[&str]) -> bool {
    matches!(names, ["apiVersion"] | ["kind"])
        || matches!(
            names,
            [
                "metadata",
                "name"
                    | "namespace"
                    | "uid"
                    | "resourceVersion"
                    | "generation"
                    | "creationTimestamp"
                    | "managedFields"
                    | "deletionTimestamp"
                    | "deletionGracePeriodSeconds"
                    | "selfLink"
                    | "generateName"
            ]
        )
}

/// The leaf fields `value` sets.
pub fn field_set(value: &Value, lists: &ListSemantics, schema: Option<&Value>, skip_status: bool) -> FieldSet {
    let mut set = FieldSet::new();
    let mut names = Vec::new();
    collect(value, lists, schema, &mut names, &mut Vec::new(), &mut set, skip_status);
    set
}

fn collect<'a>(
    value: &'a Value,
    lists: &ListSemantics,
    schema: Option<&Value>,
    names: &mut Vec<&'a str>,
    path: &mut FieldPath,
    set: &mut FieldSet,
    skip_status: bool,
) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                names.push(k);
                if ignored(names) || (skip_status && names.as_slice() == ["status"]) {
                    names.pop();
                    continue;
                }
                path.push(format!("f:{k}"));
                collect(v, lists, lists.child_schema(schema, k), names, path, set, skip_status);
                path.pop();
                names.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match lists.list_type(schema, names) {
            ListType::Map(keys) if !keys.is_empty() => {
                let item_schema = lists.item_schema(schema);
                for item in items {
                    path.push(format!("k:{}", key_json(item, &keys)));
                    set.insert(path.clone());
                    collect(item, lists, item_schema, names, path, set, skip_status);
                    path.pop();
                }
            }
            ListType::Set => {
                for item in items {
                    path.push(format!("v:{item}"));
                    set.insert(path.clone());
                    path.pop();
                }
            }
            _ => {
                set.insert(path.clone());
            }
        },
        _ => {
            if !path.is_empty() {
                set.insert(path.clone());
            }
        }
    }
}

fn key_json(item: &Value, keys: &[String]) -> String {
    let mut m = Map::new();
    for k in keys {
        if let Some(v) = item.get(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m).to_string()
}

fn key_matches(item: &Value, key: &str) -> bool {
    let Ok(Value::Object(k)) = serde_json::from_str::<Value>(key) else {
        return false;
    };
    k.iter().all(|(name, v)| item.get(name) == Some(v))
}

/// The value at `path`, if present.
pub fn get_at<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut cur = value;
    for elem in path {
        cur = if let Some(f) = elem.strip_prefix("f:") {
            cur.get(f)?
        } else if let Some(k) = elem.strip_prefix("k:") {
            cur.as_array()?.iter().find(|i| key_matches(i, k))?
        } else if let Some(v) = elem.strip_prefix("v:") {
            let want: Value = serde_json::from_str(v).ok()?;
            cur.as_array()?.iter().find(|i| **i == want)?
        } else {
            return None;
        };
    }
    Some(cur)
}

/// Removes the field at `path`, pruning objects it leaves empty.
fn remove_at(value: &mut Value, path: &[String]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let mut cur = value;
    for elem in parent_path {
        let next = if let Some(f) = elem.strip_prefix("f:") {
            cur.get_mut(f)
        } else if let Some(k) = elem.strip_prefix("k:") {
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| key_matches(i, k)))
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(k) = last.strip_prefix("k:") {
        if let Some(a) = cur.as_array_mut() {
            a.retain(|i| !key_matches(i, k));
        }
    } else if let Some(v) = last.strip_prefix("v:")
        && let (Some(a), Ok(want)) = (cur.as_array_mut(), serde_json::from_str::<Value>(v))
    {
        a.retain(|i| *i != want);
    }
}

/// Merges an applied configuration into the live object.
fn merge_applied<'a>(
    live: &mut Value,
    applied: &'a Value,
    lists: &ListSemantics,
    schema: Option<&Value>,
    names: &mut Vec<&'a str>,
) {
    match applied {
        Value::Object(map) => {
            if !live.is_object() {
                *live = Value::Object(Map::new());
            }
            for (k, v) in map {
                names.push(k);
                if !ignored(names) || names.as_slice() == ["apiVersion"] || names.as_slice() == ["kind"] {
                    let slot = live
                        .as_object_mut()
                        .expect("object")
                        .entry(k.clone())
                        .or_insert(Value::Null);
                    merge_applied(slot, v, lists, lists.child_schema(schema, k), names);
                } else if let Some(meta) = live.as_object_mut() {
                    meta.entry(k.clone()).or_insert_with(|| v.clone());
                }
                names.pop();
            }
        }
        Value::Array(items) => match lists.list_type(schema, names) {
            ListType::Map(keys) if !keys.is_empty() && live.is_array() => {
                let item_schema = lists.item_schema(schema);
                for item in items {
                    let list = live.as_array_mut().expect("array");
                    let k = item_key(item, &keys);
                    match list.iter().position(|i| item_key(i, &keys) == k) {
                        Some(p) => merge_applied(&mut list[p], item, lists, item_schema, names),
                        None => list.push(item.clone()),
                    }
                }
            }
            ListType::Set if live.is_array() => {
                let list = live.as_array_mut().expect("array");
                for item in items {
                    if !list.contains(item) {
                        list.push(item.clone());
                    }
                }
            }
            _ => *live = applied.clone(),
        },
        scalar => *live = scalar.clone(),
    }
}

/// Renders a FieldsV1 tree: nested `f:`/`k:`/`v:` keys, `.` marking a node that is itself owned.
pub fn fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut cur = &mut root;
        for elem in path {
            cur = cur
                .entry(elem.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("object");
        }
    }
    for path in set {
        let mut cur = &mut root;
        for elem in path {
            cur = cur.get_mut(elem).and_then(Value::as_object_mut).expect("built above");
        }
        if !cur.is_empty() {
            cur.insert(".".into(), json!({}));
        }
    }
    Value::Object(root)
}

fn parse_fields_v1(v: &Value, prefix: &mut FieldPath, set: &mut FieldSet) {
    let Some(map) = v.as_object() else { return };
    if (map.is_empty() || map.contains_key(".")) && !prefix.is_empty() {
        set.insert(prefix.clone());
    }
    for (k, child) in map {
        if k == "." {
            continue;
        }
        prefix.push(k.clone());
        parse_fields_v1(child, prefix, set);
        prefix.pop();
    }
}

pub fn read_managed(object: &Value) -> Vec<ManagedEntry> {
    let Some(entries) = object.pointer("/metadata/managedFields").and_then(Value::as_array) else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            let mut fields = FieldSet::new();
            if let Some(f) = e.get("fieldsV1") {
                parse_fields_v1(f, &mut Vec::new(), &mut fields);
            }
            ManagedEntry {
                manager: s("manager"),
                operation: s("operation"),
                api_version: s("apiVersion"),
                subresource: e.get("subresource").and_then(Value::as_str).map(str::to_string),
                time: s("time"),
                fields,
            }
        })
        .collect()
}

pub fn write_managed(object: &mut Value, entries: &[ManagedEntry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(ManagedEntry::to_json)
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Who made a write, and through which endpoint.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: Option<&'a str>,
    pub now: &'a str,
}

/// Records a non-apply write: the writer takes ownership of every field it changed; fields that
/// vanished are released by everyone.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    writer: &Writer,
    lists: &ListSemantics,
    schema: Option<&Value>,
) {
    let mut entries = old.map(read_managed).unwrap_or_default();
    let new_set = field_set(new, lists, schema, false);
    let old_set = old.map(|o| field_set(o, lists, schema, false)).unwrap_or_default();
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| old.is_none_or(|o| get_at(o, p) != get_at(new, p)))
        .cloned()
        .collect();
    let gone: FieldSet = old_set.difference(&new_set).cloned().collect();
    for e in &mut entries {
        e.fields.retain(|p| !changed.contains(p) && !gone.contains(p));
    }
    if !changed.is_empty() {
        let entry = find_or_add(&mut entries, writer, "Update");
        entry.fields.extend(changed);
        entry.time = writer.now.to_string();
    }
    write_managed(new, &entries);
}

fn find_or_add<'e>(entries: &'e mut Vec<ManagedEntry>, writer: &Writer, operation: &str) -> &'e mut ManagedEntry {
    let pos = entries.iter().position(|e| {
        e.manager == writer.manager && e.operation == operation && e.subresource.as_deref() == writer.subresource
    });
    match pos {
        Some(p) => &mut entries[p],
        None => {
            entries.push(ManagedEntry {
                manager: writer.manager.to_string(),
                operation: operation.to_string(),
                api_version: writer.api_version.to_string(),
                subresource: writer.subresource.map(str::to_string),
                time: writer.now.to_string(),
                fields: FieldSet::new(),
            });
            entries.last_mut().expect("just pushed")
        }
    }
}

/// A conflict: the other manager and the path as the apiserver prints it (`.spec.replicas`).
#[derive(Debug, Clone)]
pub struct Conflict {
    pub manager: String,
    pub api_version: String,
    pub field: String,
}

/// Server-side apply of `applied` onto `live` (None when creating). Returns the new object, or
/// the conflicts when not forced.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    writer: &Writer,
    force: bool,
    lists: &ListSemantics,
    schema: Option<&Value>,
    skip_status: bool,
) -> Result<Value, Vec<Conflict>> {
    let base = live.cloned().unwrap_or_else(|| json!({}));
    let mut entries = read_managed(&base);
    let applied_set = field_set(applied, lists, schema, skip_status);

    let mut conflicts = Vec::new();
    for e in entries.iter_mut() {
        if e.manager == writer.manager && e.operation == "Apply" {
            continue;
        }
        let clashing: Vec<FieldPath> = e
            .fields
            .intersection(&applied_set)
            .filter(|p| get_at(&base, p) != get_at(applied, p))
            .cloned()
            .collect();
        if force {
            e.fields.retain(|p| !clashing.contains(p));
        } else {
            conflicts.extend(clashing.iter().map(|p| Conflict {
                manager: e.manager.clone(),
                api_version: e.api_version.clone(),
                field: display_path(p),
            }));
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }

    let mut result = base.clone();
    let previous: FieldSet = entries
        .iter()
        .find(|e| e.manager == writer.manager && e.operation == "Apply")
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let others_own = |p: &FieldPath| {
        entries
            .iter()
            .filter(|e| !(e.manager == writer.manager && e.operation == "Apply"))
            .any(|e| e.fields.iter().any(|q| q.starts_with(p) || p.starts_with(q)))
    };
    // Shallowest first: a released list item goes whole (its key fields must still be there to
    // find it), and what lay inside it goes with it.
    let mut released: Vec<&FieldPath> = previous.difference(&applied_set).filter(|p| !others_own(p)).collect();
    released.sort_by_key(|p| p.len());
    let mut removed: Vec<&FieldPath> = Vec::new();
    for p in released {
        if removed.iter().any(|r| p.starts_with(r)) {
            continue;
        }
        remove_at(&mut result, p);
        removed.push(p);
        // Maps left empty by the removal go too (a struct's own presence is owned with it).
        for depth in (1..p.len()).rev() {
            let parent = &p[..depth];
            if !parent.last().is_some_and(|e| e.starts_with("f:")) {
                break;
            }
            match get_at(&result, parent) {
                Some(Value::Object(m)) if m.is_empty() => remove_at(&mut result, parent),
                _ => break,
            }
        }
    }
    merge_applied(&mut result, applied, lists, schema, &mut Vec::new());

    // Other managers lose fields the apply changed.
    for e in entries.iter_mut() {
        if !(e.manager == writer.manager && e.operation == "Apply") {
            e.fields
                .retain(|p| !applied_set.contains(p) || get_at(&base, p) == get_at(&result, p));
        }
    }
    let entry = find_or_add(&mut entries, writer, "Apply");
    entry.fields = applied_set;
    entry.time = writer.now.to_string();
    entry.api_version = writer.api_version.to_string();
    write_managed(&mut result, &entries);
    Ok(result)
}

/// `.spec.template.spec.containers[name="registry"].image`
pub fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for elem in path {
        if let Some(f) = elem.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = elem.strip_prefix("k:") {
            let parts: Vec<String> = serde_json::from_str::<Map<String, Value>>(k)
                .map(|m| m.iter().map(|(n, v)| format!("{n}={v}")).collect())
                .unwrap_or_default();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = elem.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        }
    }
    out
}

/// The apiserver's conflict message.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    let n = conflicts.len();
    let plural = if n == 1 { "conflict" } else { "conflicts" };
    let mut managers: Vec<(&str, &str)> = Vec::new();
    for c in conflicts {
        if !managers.contains(&(c.manager.as_str(), c.api_version.as_str())) {
            managers.push((&c.manager, &c.api_version));
        }
    }
    if n == 1 {
        let c = &conflicts[0];
        return format!(
            "Apply failed with 1 conflict: conflict with \"{}\" using {}: {}",
            c.manager, c.api_version, c.field
        );
    }
    let mut msg = format!("Apply failed with {n} {plural}:");
    for (m, v) in managers {
        msg.push_str(&format!(" conflicts with \"{m}\" using {v}:"));
        for c in conflicts.iter().filter(|c| c.manager == m) {
            msg.push_str(&format!("\n- {}", c.field));
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn setup() -> (Catalog, std::sync::Arc<crate::catalog::ResourceKind>) {
        let c = Catalog::standard(true).unwrap();
        let k = c.find("", "v1", "configmaps").unwrap();
        (c, k)
    }

    fn writer(m: &str) -> Writer<'_> {
        Writer {
            manager: m,
            api_version: "v1",
            subresource: None,
            now: "2026-01-01T00:00:00Z",
        }
    }

    #[test]
    fn apply_then_conflict_then_force() {
        let (c, k) = setup();
        let lists = ListSemantics::new(&c, &k);
        let a = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"1","b":"2"}});
        let live = apply(None, &a, &writer("one"), false, &lists, None, false).unwrap();
        assert_eq!(live["data"], json!({"a":"1","b":"2"}));
        let b = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"9"}});
        let conflicts = apply(Some(&live), &b, &writer("two"), false, &lists, None, false).unwrap_err();
        assert_eq!(
            conflict_message(&conflicts),
            "Apply failed with 1 conflict: conflict with \"one\" using v1: .data.a"
        );
        let forced = apply(Some(&live), &b, &writer("two"), true, &lists, None, false).unwrap();
        assert_eq!(forced["data"], json!({"a":"9","b":"2"}));
        let managed = read_managed(&forced);
        let one = managed.iter().find(|e| e.manager == "one").unwrap();
        assert!(!one.fields.contains(&vec!["f:data".to_string(), "f:a".to_string()]));
    }

    #[test]
    fn applier_dropping_a_field_removes_it() {
        let (c, k) = setup();
        let lists = ListSemantics::new(&c, &k);
        let a = json!({"metadata":{"name":"x"},"data":{"a":"1","b":"2"}});
        let live = apply(None, &a, &writer("one"), false, &lists, None, false).unwrap();
        let a2 = json!({"metadata":{"name":"x"},"data":{"a":"1"}});
        let live = apply(Some(&live), &a2, &writer("one"), false, &lists, None, false).unwrap();
        assert_eq!(live["data"], json!({"a":"1"}));
    }

    #[test]
    fn fields_v1_marks_owned_list_items() {
        let mut set = FieldSet::new();
        set.insert(vec!["f:spec".into(), "k:{\"name\":\"a\"}".into()]);
        set.insert(vec!["f:spec".into(), "k:{\"name\":\"a\"}".into(), "f:image".into()]);
        assert_eq!(
            fields_v1(&set),
            json!({"f:spec":{"k:{\"name\":\"a\"}":{".":{},"f:image":{}}}})
        );
        let mut back = FieldSet::new();
        parse_fields_v1(&fields_v1(&set), &mut Vec::new(), &mut back);
        assert_eq!(back, set);
    }
}
