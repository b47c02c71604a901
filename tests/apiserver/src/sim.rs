//! A small controller simulation, so that clients waiting on rollouts and jobs have something to
//! wait for: Deployments report ready replicas after a delay (or time out progressing), PVCs bind,
//! namespaces are Active, and Jobs complete or fail on request.

use crate::catalog::ResourceKind;
use crate::handlers::now;
use crate::server::ApiServer;
use crate::store::ObjectKey;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RolloutOutcome {
    /// All replicas become ready.
    Ready,
    /// The Deployment reports `ProgressDeadlineExceeded`.
    Fail,
    /// Nothing happens: the rollout never finishes.
    Stuck,
}

#[derive(Clone, Debug)]
pub struct Simulation {
    pub rollout_delay: Duration,
    pub rollout_outcome: RolloutOutcome,
}

impl Default for Simulation {
    fn default() -> Self {
        Simulation {
            rollout_delay: Duration::from_millis(300),
            rollout_outcome: RolloutOutcome::Ready,
        }
    }
}

impl ApiServer {
    /// Called after every stored write, outside the store lock.
    pub(crate) fn after_write(&self, kind: &ResourceKind, stored: &Value) {
        if stored.pointer("/metadata/deletionTimestamp").is_some()
            || stored.get("kind").and_then(Value::as_str) == Some("Status")
        {
            return;
        }
        match (kind.group.as_str(), kind.plural.as_str()) {
            ("apps", "deployments") => self.schedule_rollout(stored),
            ("", "namespaces") if stored.pointer("/status/phase").is_none() => {
                self.set_status(kind, stored, json!({"phase": "Active"}));
            }
            ("", "persistentvolumeclaims") if stored.pointer("/status/phase").is_none() => {
                let modes = stored
                    .pointer("/spec/accessModes")
                    .cloned()
                    .unwrap_or(json!(["ReadWriteOnce"]));
                let capacity = stored
                    .pointer("/spec/resources/requests/storage")
                    .cloned()
                    .unwrap_or(json!("1Gi"));
                self.set_status(
                    kind,
                    stored,
                    json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": capacity}}),
                );
            }
            _ => {}
        }
    }

    fn set_status(&self, kind: &ResourceKind, obj: &Value, status: Value) {
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let key = ObjectKey::new(&kind.group, &kind.plural, ns, name);
        let mut store = self.shared.store.lock().unwrap();
        if let Some(mut current) = store.get(&key).cloned() {
            current["status"] = status;
            store.put(key, current);
        }
    }

    fn schedule_rollout(&self, deployment: &Value) {
        let generation = deployment
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        if deployment.pointer("/status/observedGeneration").and_then(Value::as_i64) == Some(generation) {
            return;
        }
        let sim = self.shared.sim.lock().unwrap().clone();
        if sim.rollout_outcome == RolloutOutcome::Stuck {
            return;
        }
        let ns = deployment
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = deployment
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let server = self.clone();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        handle.spawn(async move {
            tokio::time::sleep(sim.rollout_delay).await;
            let key = ObjectKey::new("apps", "deployments", &ns, &name);
            let mut store = server.shared.store.lock().unwrap();
            let Some(mut current) = store.get(&key).cloned() else { return };
            if current.pointer("/metadata/generation").and_then(Value::as_i64) != Some(generation) {
                return;
            }
            let replicas = current.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
            let t = now();
            current["status"] = match sim.rollout_outcome {
                RolloutOutcome::Fail => json!({
                    "observedGeneration": generation,
                    "replicas": replicas,
                    "updatedReplicas": replicas,
                    "unavailableReplicas": replicas,
                    "conditions": [
                        {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability.", "lastUpdateTime": t, "lastTransitionTime": t},
                        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": format!("ReplicaSet \"{name}-5d8f7c9b4\" has timed out progressing."), "lastUpdateTime": t, "lastTransitionTime": t},
                    ],
                }),
                _ => json!({
                    "observedGeneration": generation,
                    "replicas": replicas,
                    "updatedReplicas": replicas,
                    "readyReplicas": replicas,
                    "availableReplicas": replicas,
                    "conditions": [
                        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.", "lastUpdateTime": t, "lastTransitionTime": t},
                        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet \"{name}-5d8f7c9b4\" has successfully progressed."), "lastUpdateTime": t, "lastTransitionTime": t},
                    ],
                }),
            };
            store.put(key, current);
        });
    }

    /// Marks a Job complete, as the job controller would after its pod succeeded.
    pub fn complete_job(&self, namespace: &str, name: &str) -> bool {
        let t = now();
        self.update_job(
            namespace,
            name,
            json!({
                "succeeded": 1,
                "startTime": t,
                "completionTime": t,
                "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": t, "lastTransitionTime": t}],
            }),
        )
    }

    /// Marks a Job failed with the given condition reason and message.
    pub fn fail_job(&self, namespace: &str, name: &str, reason: &str, message: &str) -> bool {
        let t = now();
        self.update_job(namespace, name, json!({
            "failed": 1,
            "startTime": t,
            "conditions": [{"type": "Failed", "status": "True", "reason": reason, "message": message, "lastProbeTime": t, "lastTransitionTime": t}],
        }))
    }

    fn update_job(&self, namespace: &str, name: &str, status: Value) -> bool {
        let key = ObjectKey::new("batch", "jobs", namespace, name);
        let mut store = self.shared.store.lock().unwrap();
        match store.get(&key).cloned() {
            Some(mut job) => {
                job["status"] = status;
                store.put(key, job);
                true
            }
            None => false,
        }
    }
}
