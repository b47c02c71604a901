//! Taking objects over from the operator. The operator writes with updates, not applies, so a
//! server-side apply alone would leave its fields beside the rendered ones (an environment
//! variable with both `value` and `valueFrom`, which the API server refuses). The real run first
//! moves the operator's field ownership to this manager (`adoption_patch`), and the apply that
//! follows then removes what the rendered object no longer has.
//!
//! A dry run cannot store the first step, so the second would meet the operator's fields.
//! `taken_over` computes what the two steps leave, for the preview to send as one dry-run update.

use crate::cluster::FIELD_MANAGER;
use crate::render::Kind;
use serde_json::{Map, Value};

/// Managers whose fields this program takes over: the operator it replaces, and its own
/// non-apply writes. Other managers (the service CA operator injecting a bundle, an admin's
/// additions) keep theirs.
pub(crate) const PREDECESSORS: &[&str] = &["cluster-image-registry-operator", FIELD_MANAGER];

/// A FieldsV1 tree: `f:<field>`, `k:<key json>`, `v:<value json>`, and `.` for a node owned itself.
type Fields = Map<String, Value>;

fn managed_entries(live: &Value) -> &[Value] {
    live.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Ownership of the object itself, not of a subresource such as status.
fn is_main(e: &Value) -> bool {
    e.get("subresource").is_none_or(|s| s.is_null() || s == "")
}

fn is_our_apply(e: &Value) -> bool {
    e.get("manager").and_then(Value::as_str) == Some(FIELD_MANAGER)
        && e.get("operation").and_then(Value::as_str) == Some("Apply")
}

fn is_adoptable(e: &Value) -> bool {
    is_main(e)
        && !is_our_apply(e)
        && e.get("manager")
            .and_then(Value::as_str)
            .is_some_and(|m| PREDECESSORS.contains(&m))
}

/// What this manager owns once it has taken over: its applied set and the predecessors'.
fn is_taken(e: &Value) -> bool {
    is_adoptable(e) || (is_main(e) && is_our_apply(e))
}

fn fields_of<'e>(entries: impl Iterator<Item = &'e Value>) -> Fields {
    let mut fields = Fields::new();
    for f in entries.filter_map(|e| e.get("fieldsV1").and_then(Value::as_object)) {
        union(&mut fields, f);
    }
    fields
}

/// Recursive union of two FieldsV1 trees.
fn union(into: &mut Fields, from: &Fields) {
    for (k, v) in from {
        let slot = into.entry(k.clone()).or_insert_with(|| Value::Object(Fields::new()));
        if let (Some(slot), Some(v)) = (slot.as_object_mut(), v.as_object()) {
            union(slot, v);
        }
    }
}

/// The JSON patch that makes everything the predecessors own this manager's applied set, guarded
/// by the resource version it was computed from. `None` when there is nothing to take over.
pub(crate) fn adoption_patch(live: &Value, kind: Kind) -> Option<json_patch::Patch> {
    let entries = managed_entries(live);
    if !entries.iter().any(is_adoptable) {
        return None;
    }
    let mut replacement: Vec<Value> = entries.iter().filter(|e| !is_taken(e)).cloned().collect();
    replacement.push(serde_json::json!({
        "manager": FIELD_MANAGER,
        "operation": "Apply",
        "apiVersion": kind.api_version(),
        "time": jiff::Timestamp::now().round(jiff::Unit::Second).ok()?.to_string(),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields_of(entries.iter().filter(|e| is_taken(e))),
    }));
    let rv = live.pointer("/metadata/resourceVersion")?.clone();
    serde_json::from_value(serde_json::json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/metadata/managedFields", "value": replacement},
    ]))
    .ok()
}

/// The object as adoption and then applying `desired` leave it: the fields this manager would own
/// and `desired` no longer has are gone (unless another manager owns them too), and `desired` is
/// merged in, lists by their keys. `None` when there is nothing to take over. Ownership is the
/// live object's; the caller's update leaves it as it is.
pub(crate) fn taken_over(live: &Value, desired: &Value) -> Option<Value> {
    let entries = managed_entries(live);
    if !entries.iter().any(is_adoptable) {
        return None;
    }
    let main = || entries.iter().filter(|e| is_main(e));
    let taken = fields_of(main().filter(|e| is_taken(e)));
    let others = fields_of(main().filter(|e| !is_taken(e)));
    let all = fields_of(main());
    let mut result = live.clone();
    release(&mut result, &taken, Some(&others), Some(desired));
    merge(&mut result, desired, Some(&all));
    if let Some(meta) = result.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    Some(result)
}

/// One FieldsV1 element of `parent`: a field, a list item by key, or a set member.
fn locate<'v>(parent: &'v Value, element: &str) -> Option<&'v Value> {
    if let Some(name) = element.strip_prefix("f:") {
        return parent.get(name);
    }
    let items = parent.as_array()?;
    items.iter().find(|i| item_matches(i, element))
}

fn item_matches(item: &Value, element: &str) -> bool {
    if let Some(key) = element.strip_prefix("k:") {
        let Ok(Value::Object(key)) = serde_json::from_str::<Value>(key) else {
            return false;
        };
        return key.iter().all(|(k, v)| item.get(k) == Some(v));
    }
    if let Some(member) = element.strip_prefix("v:") {
        return serde_json::from_str::<Value>(member).is_ok_and(|m| *item == m);
    }
    false
}

fn remove(parent: &mut Value, element: &str) {
    if let Some(name) = element.strip_prefix("f:") {
        if let Some(map) = parent.as_object_mut() {
            map.remove(name);
        }
    } else if let Some(items) = parent.as_array_mut() {
        items.retain(|i| !item_matches(i, element));
    }
}

fn locate_mut<'v>(parent: &'v mut Value, element: &str) -> Option<&'v mut Value> {
    if let Some(name) = element.strip_prefix("f:") {
        return parent.get_mut(name);
    }
    parent.as_array_mut()?.iter_mut().find(|i| item_matches(i, element))
}

/// Removes from `value` what `taken` owns, `desired` lacks and `others` do not own; maps the
/// removal empties go too.
fn release(value: &mut Value, taken: &Fields, others: Option<&Fields>, desired: Option<&Value>) {
    for (element, below) in taken {
        if element == "." {
            continue;
        }
        let wanted = desired.and_then(|d| locate(d, element));
        let kept_by_others = others.and_then(|o| o.get(element)).and_then(Value::as_object);
        if wanted.is_none() && kept_by_others.is_none() {
            remove(value, element);
            continue;
        }
        let Some(child) = locate_mut(value, element) else {
            continue;
        };
        if let Some(below) = below.as_object() {
            release(child, below, kept_by_others, wanted);
        }
        let emptied = element.starts_with("f:") && child.as_object().is_some_and(Map::is_empty);
        if emptied && wanted.is_none() {
            remove(value, element);
        }
    }
}

/// How a list merges, as its FieldsV1 node shows: by the item keys, as a set, or whole.
enum ListMerge {
    Keyed(Vec<String>),
    Set,
    Whole,
}

fn list_merge(node: Option<&Fields>) -> ListMerge {
    let Some(node) = node else { return ListMerge::Whole };
    for element in node.keys() {
        if let Some(key) = element.strip_prefix("k:")
            && let Ok(Value::Object(key)) = serde_json::from_str::<Value>(key)
        {
            return ListMerge::Keyed(key.keys().cloned().collect());
        }
        if element.starts_with("v:") {
            return ListMerge::Set;
        }
    }
    ListMerge::Whole
}

/// The FieldsV1 node of the list item with the same keys as `item`.
fn item_node<'f>(node: Option<&'f Fields>, item: &Value, keys: &[String]) -> Option<&'f Fields> {
    node?.iter().find_map(|(element, below)| {
        let key = element.strip_prefix("k:")?;
        let Ok(Value::Object(key)) = serde_json::from_str::<Value>(key) else {
            return None;
        };
        let same = keys.iter().all(|k| key.get(k) == item.get(k));
        if same { below.as_object() } else { None }
    })
}

/// Server-side apply's merge of `desired` into `value`: maps field by field, keyed lists item by
/// item (new items last), sets by member, anything else replaced.
fn merge(value: &mut Value, desired: &Value, node: Option<&Fields>) {
    match desired {
        Value::Object(fields) => {
            if !value.is_object() {
                *value = Value::Object(Map::new());
            }
            let map = value.as_object_mut().expect("made an object above");
            for (k, d) in fields {
                let below = node.and_then(|n| n.get(&format!("f:{k}"))).and_then(Value::as_object);
                match map.get_mut(k) {
                    Some(v) => merge(v, d, below),
                    None => {
                        map.insert(k.clone(), d.clone());
                    }
                }
            }
        }
        Value::Array(items) if value.is_array() => match list_merge(node) {
            ListMerge::Keyed(keys) => {
                let live = value.as_array_mut().expect("checked above");
                for item in items {
                    let same = |l: &Value| keys.iter().all(|k| l.get(k) == item.get(k));
                    match live.iter_mut().find(|l| same(l)) {
                        Some(l) => merge(l, item, item_node(node, item, &keys)),
                        None => live.push(item.clone()),
                    }
                }
            }
            ListMerge::Set => {
                let live = value.as_array_mut().expect("checked above");
                for item in items {
                    if !live.contains(item) {
                        live.push(item.clone());
                    }
                }
            }
            ListMerge::Whole => *value = desired.clone(),
        },
        _ => *value = desired.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn operator_deployment() -> Value {
        json!({
            "metadata": {
                "name": "image-registry",
                "resourceVersion": "7",
                "annotations": {"release.openshift.io/version": "4.20.0", "deployment.kubernetes.io/revision": "1"},
                "managedFields": [
                    {"manager": "cluster-image-registry-operator", "operation": "Update", "fieldsV1": {
                        "f:metadata": {"f:annotations": {"f:release.openshift.io/version": {}}},
                        "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {
                            "f:nodeSelector": {"f:old": {}},
                            "f:containers": {"k:{\"name\":\"registry\"}": {".": {}, "f:name": {}, "f:env": {
                                "k:{\"name\":\"A\"}": {".": {}, "f:name": {}, "f:value": {}},
                                "k:{\"name\":\"GONE\"}": {".": {}, "f:name": {}, "f:value": {}},
                            }}}
                        }}},
                    }},
                    {"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {
                        "f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}},
                    }},
                    {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
                     "fieldsV1": {"f:status": {"f:replicas": {}}}},
                ],
            },
            "spec": {"replicas": 2, "template": {"spec": {
                "nodeSelector": {"old": "x"},
                "containers": [{"name": "registry", "env": [
                    {"name": "A", "value": "inline"},
                    {"name": "GONE", "value": "1"},
                ]}],
            }}},
            "status": {"replicas": 2},
        })
    }

    #[test]
    fn take_over_drops_what_the_operator_set_and_the_render_lacks() {
        let desired = json!({
            "metadata": {"name": "image-registry", "annotations": {"checksum": "abc"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "registry", "env": [
                {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "A"}}},
                {"name": "NEW", "value": "2"},
            ]}]}}},
        });
        let after = taken_over(&operator_deployment(), &desired).unwrap();
        assert_eq!(
            after["spec"],
            json!({"replicas": 3, "template": {"spec": {"containers": [{"name": "registry", "env": [
                {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "A"}}},
                {"name": "NEW", "value": "2"},
            ]}]}}})
        );
        // Another manager's annotation stays; the operator's goes; the rendered one arrives.
        assert_eq!(
            after["metadata"]["annotations"],
            json!({"deployment.kubernetes.io/revision": "1", "checksum": "abc"})
        );
        assert_eq!(after["metadata"]["resourceVersion"], "7");
        assert!(after["metadata"].get("managedFields").is_none());
        assert_eq!(after["status"], json!({"replicas": 2}));
    }

    #[test]
    fn nothing_to_take_over_without_a_predecessor() {
        let mut live = operator_deployment();
        live["metadata"]["managedFields"] = json!([
            {"manager": FIELD_MANAGER, "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "admin", "operation": "Update", "fieldsV1": {"f:spec": {"f:paused": {}}}},
        ]);
        assert!(taken_over(&live, &json!({})).is_none());
        assert!(adoption_patch(&live, Kind::Deployment).is_none());
    }

    #[test]
    fn adoption_makes_the_predecessors_fields_one_applied_set() {
        let patch = adoption_patch(&operator_deployment(), Kind::Deployment).unwrap();
        let ops = serde_json::to_value(&patch).unwrap();
        assert_eq!(
            ops[0],
            json!({"op": "test", "path": "/metadata/resourceVersion", "value": "7"})
        );
        let entries = ops[1]["value"].as_array().unwrap();
        let managers: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e["manager"].as_str().unwrap(), e["operation"].as_str().unwrap()))
            .collect();
        assert_eq!(
            managers,
            [
                ("kube-controller-manager", "Update"),
                ("kube-controller-manager", "Update"),
                (FIELD_MANAGER, "Apply")
            ]
        );
        assert!(entries[2]["fieldsV1"].pointer("/f:spec/f:replicas").is_some());
    }

    #[test]
    fn lists_merge_as_their_fields_say() {
        let node = |v: Value| v.as_object().cloned().unwrap();
        let keyed = node(json!({"k:{\"name\":\"a\"}": {".": {}, "f:x": {}}}));
        let mut live = json!([{"name": "a", "x": 1, "y": 1}, {"name": "b"}]);
        merge(&mut live, &json!([{"name": "a", "x": 2}, {"name": "c"}]), Some(&keyed));
        assert_eq!(
            live,
            json!([{"name": "a", "x": 2, "y": 1}, {"name": "b"}, {"name": "c"}])
        );

        let set = node(json!({"v:\"a\"": {}}));
        let mut live = json!(["a", "b"]);
        merge(&mut live, &json!(["c", "a"]), Some(&set));
        assert_eq!(live, json!(["a", "b", "c"]));

        let mut live = json!(["a", "b"]);
        merge(&mut live, &json!(["c"]), None);
        assert_eq!(live, json!(["c"]));
    }
}
