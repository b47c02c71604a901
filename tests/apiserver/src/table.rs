//! `meta.k8s.io/v1` Table responses (what `kubectl get` prints): Name, a custom resource's
//! additionalPrinterColumns, and Age.

use crate::catalog::ResourceKind;
use serde_json::{Value, json};

pub fn render(kind: &ResourceKind, objects: &[Value], rv: u64, include_object: Option<&str>) -> Value {
    let mut columns = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
    ];
    let has_age_column = kind
        .printer_columns
        .iter()
        .any(|c| c.json_path == ".metadata.creationTimestamp");
    for c in &kind.printer_columns {
        columns.push(json!({"name": c.name, "type": c.type_, "format": "", "description": "", "priority": 0}));
    }
    if !has_age_column {
        columns.push(json!({"name": "Age", "type": "date", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created.", "priority": 0}));
    }
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut cells = vec![o.pointer("/metadata/name").cloned().unwrap_or(Value::Null)];
            for c in &kind.printer_columns {
                let v = json_path(o, &c.json_path).cloned().unwrap_or(Value::Null);
                cells.push(if c.type_ == "date" { age(&v) } else { v });
            }
            if !has_age_column {
                cells.push(age(o.pointer("/metadata/creationTimestamp").unwrap_or(&Value::Null)));
            }
            let object = match include_object {
                Some("None") => Value::Null,
                Some("Object") => o.clone(),
                _ => json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o.get("metadata").cloned().unwrap_or(json!({})),
                }),
            };
            json!({"cells": cells, "object": object})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// Age the way the apiserver prints it in tables: `5s`, `3m`, `2h`, `4d`.
fn age(ts: &Value) -> Value {
    let Some(t) = ts.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()) else {
        return json!("<unknown>");
    };
    let secs = (jiff::Timestamp::now().as_second() - t.as_second()).max(0);
    let text = match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    };
    json!(text)
}

/// The subset of JSONPath used by printer columns: `.a.b`, `.a[0]`, `.a[?(@.k=="v")].b`.
pub fn json_path<'v>(obj: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = obj;
    let mut rest = path.trim_start_matches('.');
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let inner = &after[..end];
            rest = after[end + 1..].trim_start_matches('.');
            let items = cur.as_array()?;
            cur = if let Some(filter) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (field, want) = filter.split_once("==")?;
                let want = want.trim().trim_matches(|c| c == '"' || c == '\'');
                items
                    .iter()
                    .find(|i| i.get(field.trim()).and_then(Value::as_str) == Some(want))?
            } else {
                items.get(inner.parse::<usize>().ok()?)?
            };
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        cur = cur.get(&rest[..end])?;
        rest = rest[end..].trim_start_matches('.');
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_column_paths() {
        let o = json!({"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Available", "status": "True"}]}, "spec": {"x": [1, 2]}});
        assert_eq!(
            json_path(&o, ".status.conditions[?(@.type==\"Available\")].status"),
            Some(&json!("True"))
        );
        assert_eq!(json_path(&o, ".spec.x[1]"), Some(&json!(2)));
        assert_eq!(json_path(&o, ".spec.missing"), None);
    }
}
