//! The object store: every object under one global, monotonically increasing resourceVersion, and a
//! bounded history of changes that watches resume from (older positions answer 410 Expired).

use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub group: String,
    pub plural: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(group: &str, plural: &str, namespace: &str, name: &str) -> Self {
        ObjectKey {
            group: group.into(),
            plural: plural.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Event {
    pub rv: u64,
    pub kind: EventType,
    pub key: ObjectKey,
    pub object: Value,
}

/// Receives every change after the moment of subscription.
pub type EventReceiver = broadcast::Receiver<Arc<Event>>;

pub struct Store {
    last_rv: u64,
    objects: BTreeMap<ObjectKey, Value>,
    history: VecDeque<Arc<Event>>,
    history_limit: usize,
    /// Watches asking to start at or before this resourceVersion are too old.
    compacted_rv: u64,
    events: broadcast::Sender<Arc<Event>>,
}

impl Default for Store {
    fn default() -> Self {
        let (events, _) = broadcast::channel(4096);
        Store {
            last_rv: 1000,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            history_limit: 2000,
            compacted_rv: 1000,
            events,
        }
    }
}

impl Store {
    pub fn current_rv(&self) -> u64 {
        self.last_rv
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Value> {
        self.objects.get(key)
    }

    /// Objects of one resource, optionally in one namespace, in name order.
    pub fn list(&self, group: &str, plural: &str, namespace: Option<&str>) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|(k, _)| k.group == group && k.plural == plural)
            .filter(|(k, _)| namespace.is_none_or(|ns| k.namespace == ns))
            .map(|(_, v)| v)
            .collect()
    }

    pub fn keys_in_namespace(&self, namespace: &str) -> Vec<ObjectKey> {
        self.objects
            .keys()
            .filter(|k| k.namespace == namespace)
            .cloned()
            .collect()
    }

    /// Allocates the next resourceVersion and stamps it on `object`.
    fn stamp(&mut self, object: &mut Value) -> u64 {
        self.last_rv += 1;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(self.last_rv.to_string()));
        }
        self.last_rv
    }

    /// Stores `object` (create or update) and emits the event; returns the stored object.
    pub fn put(&mut self, key: ObjectKey, mut object: Value) -> Value {
        let rv = self.stamp(&mut object);
        let kind = if self.objects.contains_key(&key) {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.objects.insert(key.clone(), object.clone());
        self.record(Event {
            rv,
            kind,
            key,
            object: object.clone(),
        });
        object
    }

    pub fn remove(&mut self, key: &ObjectKey) -> Option<Value> {
        let mut object = self.objects.remove(key)?;
        let rv = self.stamp(&mut object);
        self.record(Event {
            rv,
            kind: EventType::Deleted,
            key: key.clone(),
            object: object.clone(),
        });
        Some(object)
    }

    fn record(&mut self, event: Event) {
        let event = Arc::new(event);
        self.history.push_back(event.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted_rv = old.rv;
            }
        }
        let _ = self.events.send(event);
    }

    /// Forgets all history up to now, as an etcd compaction does: older watch positions get 410.
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted_rv = self.last_rv;
    }

    pub fn set_history_limit(&mut self, limit: usize) {
        self.history_limit = limit.max(1);
    }

    /// Events after `rv` plus a receiver for later ones, taken atomically; `None` if `rv` was compacted.
    pub fn watch_from(&self, rv: u64) -> Option<(Vec<Arc<Event>>, EventReceiver)> {
        if rv < self.compacted_rv {
            return None;
        }
        let past = self.history.iter().filter(|e| e.rv > rv).cloned().collect();
        Some((past, self.events.subscribe()))
    }

    pub fn subscribe(&self) -> EventReceiver {
        self.events.subscribe()
    }

    pub fn all(&self) -> impl Iterator<Item = (&ObjectKey, &Value)> {
        self.objects.iter()
    }
}
