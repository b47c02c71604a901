//! A small controller simulation, so that clients waiting on rollouts and jobs have something to
//! wait for: Deployments report ready replicas after a delay (or time out progressing), PVCs bind,
//! namespaces are Active, and Jobs complete or fail on request.

use crate::catalog::ResourceKind;
use crate::handlers::now;
use crate::server::ApiServer;
use crate::store::{ObjectKey, Store};
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
        let replicas = deployment
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        if deployment.pointer("/status/observedGeneration").and_then(Value::as_i64) == Some(generation)
            && deployment.pointer("/status/readyReplicas").and_then(Value::as_i64) == Some(replicas)
        {
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
            let placed = placeable(&store, &current).min(replicas);
            current["status"] = match sim.rollout_outcome {
                // Not every pod can be scheduled: the rest stay Pending.
                RolloutOutcome::Ready if placed < replicas => {
                    let available = placed >= replicas - max_unavailable(&current, replicas) && placed > 0;
                    let (status, reason, message) = match available {
                        true => ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                        false => ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
                    };
                    json!({
                        "observedGeneration": generation,
                        "replicas": replicas,
                        "updatedReplicas": replicas,
                        "readyReplicas": placed,
                        "availableReplicas": placed,
                        "unavailableReplicas": replicas - placed,
                        "conditions": [
                            {"type": "Available", "status": status, "reason": reason, "message": message, "lastUpdateTime": t, "lastTransitionTime": t},
                            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": format!("ReplicaSet \"{name}-5d8f7c9b4\" is progressing."), "lastUpdateTime": t, "lastTransitionTime": t},
                        ],
                    })
                }
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

    /// Registers a worker node as a kubelet does on a young cluster: NotReady, and tainted
    /// `node.kubernetes.io/not-ready:NoSchedule` until [`ApiServer::node_ready`] clears it.
    pub fn register_node(&self, name: &str) {
        let node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "node-role.kubernetes.io/worker": "",
            }},
            "spec": {"taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                "message": "container runtime network not ready"}]},
        });
        self.seed(node).expect("a valid node");
    }

    /// What the node lifecycle controller does once the kubelet reports ready: the condition
    /// turns True and the not-ready taint goes. Rollouts waiting for room carry on.
    pub fn node_ready(&self, name: &str) -> bool {
        let key = ObjectKey::new("", "nodes", "", name);
        let deployments: Vec<Value> = {
            let mut store = self.shared.store.lock().unwrap();
            let Some(mut node) = store.get(&key).cloned() else {
                return false;
            };
            node["status"]["conditions"] = json!([{"type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "kubelet is posting ready status"}]);
            crate::native::retain_items(&mut node["spec"], "taints", |t| {
                t["key"] != "node.kubernetes.io/not-ready"
            });
            store.put(key, node);
            store
                .all()
                .filter(|(k, _)| k.group == "apps" && k.plural == "deployments")
                .map(|(_, d)| d.clone())
                .collect()
        };
        for deployment in deployments {
            self.schedule_rollout(&deployment);
        }
        true
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

/// How many of a Deployment's pods the scheduler can place: on Ready, schedulable nodes its
/// node selector matches whose NoSchedule and NoExecute taints it tolerates; one per node when
/// it requires anti-affinity by hostname.
fn placeable(store: &Store, deployment: &Value) -> i64 {
    let pod = deployment.pointer("/spec/template/spec").cloned().unwrap_or_default();
    let selector = pod["nodeSelector"].as_object().cloned().unwrap_or_default();
    let tolerations = pod["tolerations"].as_array().cloned().unwrap_or_default();
    let tolerated = |taint: &Value| {
        taint["effect"] == "PreferNoSchedule"
            || tolerations.iter().any(|t| {
                (t["key"].is_null() || t["key"] == "" || t["key"] == taint["key"])
                    && (t["effect"].is_null() || t["effect"] == "" || t["effect"] == taint["effect"])
                    && (t["operator"] == "Exists"
                        || t["value"] == taint["value"]
                        || (t["value"].is_null() && taint["value"].is_null()))
            })
    };
    let nodes = store
        .all()
        .filter(|(k, _)| k.group.is_empty() && k.plural == "nodes")
        .filter(|(_, n)| {
            let ready = n["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
            let selected = selector.iter().all(|(k, v)| n["metadata"]["labels"].get(k) == Some(v));
            let taints_ok = n["spec"]["taints"].as_array().into_iter().flatten().all(&tolerated);
            ready && selected && taints_ok && n["spec"]["unschedulable"] != true
        })
        .count() as i64;
    let one_per_node = pod
        .pointer("/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution")
        .and_then(Value::as_array)
        .is_some_and(|terms| terms.iter().any(|t| t["topologyKey"] == "kubernetes.io/hostname"));
    match (one_per_node, nodes) {
        (_, 0) => 0,
        (true, n) => n,
        (false, _) => i64::MAX,
    }
}

/// A rolling Deployment's `maxUnavailable` as a count (percentages round down), 0 otherwise.
fn max_unavailable(deployment: &Value, replicas: i64) -> i64 {
    match deployment.pointer("/spec/strategy/rollingUpdate/maxUnavailable") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(p)) => p
            .strip_suffix('%')
            .and_then(|p| p.parse::<i64>().ok())
            .map_or(0, |p| replicas * p / 100),
        _ => 0,
    }
}
