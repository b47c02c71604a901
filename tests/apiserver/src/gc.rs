//! The garbage collector, as kube-controller-manager's honours `ownerReferences`: background
//! deletion (the owner goes, its dependents are collected after), foreground (the owner waits,
//! marked with the `foregroundDeletion` finalizer, until its dependents are gone) and orphan (the
//! dependents lose the reference, behind the `orphan` finalizer). It can be paused, as on a
//! cluster whose controller manager is not running: foreground and orphan deletions then wait,
//! and dependents of a deleted owner stay.

use crate::handlers::now;
use crate::native::retain_items;
use crate::status::ApiError;
use crate::store::{ObjectKey, Store};
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    /// The policy a delete asks for (its options' `propagationPolicy`, or the legacy
    /// `orphanDependents`, or the query parameter); Background when none.
    pub fn of(options: &Value, query_policy: Option<&str>) -> Result<Propagation, ApiError> {
        let policy = options
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .or(query_policy);
        match policy {
            Some("Background") => Ok(Propagation::Background),
            Some("Foreground") => Ok(Propagation::Foreground),
            Some("Orphan") => Ok(Propagation::Orphan),
            None if options.get("orphanDependents") == Some(&json!(true)) => Ok(Propagation::Orphan),
            None => Ok(Propagation::Background),
            Some(other) => Err(ApiError::bad_request(format!(
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{other}\": \
                 supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))),
        }
    }

    /// The finalizer the deletion waits behind, when it waits.
    pub fn finalizer(self) -> Option<&'static str> {
        match self {
            Propagation::Background => None,
            Propagation::Foreground => Some(FOREGROUND),
            Propagation::Orphan => Some(ORPHAN),
        }
    }
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect()
}

fn owners(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").cloned())
        .collect()
}

/// Marks `obj` for deletion (a finalizer holds it), or removes it; as a delete request would.
fn delete(store: &mut Store, key: ObjectKey, mut obj: Value) {
    if finalizers(&obj).is_empty() {
        store.remove(&key);
    } else if obj.pointer("/metadata/deletionTimestamp").is_none() {
        obj["metadata"]["deletionTimestamp"] = json!(now());
        obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        store.put(key, obj);
    }
}

/// Drops `finalizer` from `obj`; removes the object when it was the last.
fn release(store: &mut Store, key: ObjectKey, mut obj: Value, finalizer: &str) {
    let rest: Vec<String> = finalizers(&obj).into_iter().filter(|f| f != finalizer).collect();
    if rest.is_empty() {
        store.remove(&key);
    } else {
        obj["metadata"]["finalizers"] = json!(rest);
        store.put(key, obj);
    }
}

/// One collector pass to a fixed point.
pub fn collect(store: &mut Store) {
    // Most writes leave nothing to collect: only owned objects and those waiting on the
    // collector's finalizers are its business, so the store is copied only when one exists.
    let concerned = |o: &Value| !owners(o).is_empty() || finalizers(o).iter().any(|f| f == FOREGROUND || f == ORPHAN);
    if !store.all().any(|(_, o)| concerned(o)) {
        return;
    }
    loop {
        let objects: Vec<(ObjectKey, Value)> = store.all().map(|(k, o)| (k.clone(), o.clone())).collect();
        let uids: BTreeSet<String> = objects
            .iter()
            .filter_map(|(_, o)| o.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string))
            .collect();
        let dependents_of = |uid: &Value| -> Vec<(ObjectKey, Value)> {
            objects
                .iter()
                .filter(|(_, o)| owners(o).contains(uid))
                .cloned()
                .collect()
        };
        let mut changed = false;
        for (key, obj) in &objects {
            let deleting = obj.pointer("/metadata/deletionTimestamp").is_some();
            let uid = obj.pointer("/metadata/uid").cloned().unwrap_or(Value::Null);
            let held = finalizers(obj);
            if deleting && held.iter().any(|f| f == FOREGROUND) {
                let dependents = dependents_of(&uid);
                for (k, d) in &dependents {
                    if d.pointer("/metadata/deletionTimestamp").is_none() {
                        delete(store, k.clone(), d.clone());
                        changed = true;
                    }
                }
                if dependents.is_empty() {
                    release(store, key.clone(), obj.clone(), FOREGROUND);
                    changed = true;
                }
            } else if deleting && held.iter().any(|f| f == ORPHAN) {
                for (k, mut d) in dependents_of(&uid) {
                    retain_items(&mut d["metadata"], "ownerReferences", |r| r.get("uid") != Some(&uid));
                    store.put(k, d);
                }
                release(store, key.clone(), obj.clone(), ORPHAN);
                changed = true;
            } else if !deleting {
                let referenced = owners(obj);
                let dangling =
                    !referenced.is_empty() && referenced.iter().all(|u| u.as_str().is_none_or(|u| !uids.contains(u)));
                if dangling {
                    delete(store, key.clone(), obj.clone());
                    changed = true;
                }
            }
        }
        if !changed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_read_as_the_api_server_reads_them() {
        assert_eq!(Propagation::of(&json!({}), None).unwrap(), Propagation::Background);
        assert_eq!(
            Propagation::of(&json!({"propagationPolicy": "Foreground"}), None).unwrap(),
            Propagation::Foreground
        );
        assert_eq!(
            Propagation::of(&json!({}), Some("Orphan")).unwrap(),
            Propagation::Orphan
        );
        assert_eq!(
            Propagation::of(&json!({"orphanDependents": true}), None).unwrap(),
            Propagation::Orphan
        );
        assert!(Propagation::of(&json!({"propagationPolicy": "Later"}), None).is_err());
    }
}
