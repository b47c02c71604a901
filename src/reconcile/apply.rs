//! Writing desired objects: server-side apply under one field manager, skipping objects that
//! already hold what was rendered, with independent writes in parallel.

use super::takeover;
use crate::cluster::{DryRun, FIELD_MANAGER, describe_kube_error, is_not_found, retry};
use crate::render::{CHECKSUM_ANNOTATION, Desired, Kind};
use crate::state::cluster::{ClusterState, Live};
use futures::{StreamExt, stream};
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, PropagationPolicy};
use serde::Serialize;
use serde_json::{Value, json};

/// Writes in flight at once: a whole wave of the registry's objects (about twenty), so that a
/// wave costs one round trip; the API server's priority and fairness paces what it must.
pub const DEFAULT_CONCURRENCY: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
    Deleted,
    /// Its deletion was already under way (it carries a deletionTimestamp): nothing was sent.
    Deleting,
    /// Already absent.
    NotFound,
}

impl Outcome {
    pub fn is_write(self) -> bool {
        matches!(self, Outcome::Created | Outcome::Configured | Outcome::Deleted)
    }

    /// kubectl's verb for it.
    pub fn verb(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
            Outcome::Deleted => "deleted",
            Outcome::Deleting => "being deleted",
            Outcome::NotFound => "not found",
        }
    }
}

/// What happened to one object.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    /// `deployment.apps/image-registry`
    pub object: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The object as the server holds it after the pass (as read, when unchanged).
    #[serde(skip)]
    pub stored: Option<Value>,
}

impl Applied {
    /// What happened to storage in a cloud (`S3 bucket NAME`), which no namespace holds.
    pub fn storage(object: impl Into<String>, outcome: Option<Outcome>, error: Option<String>) -> Applied {
        Applied {
            object: object.into(),
            namespace: None,
            outcome,
            error,
            stored: None,
        }
    }
}

#[derive(Clone)]
pub struct Applier {
    client: Client,
    dry_run: Option<DryRun>,
    concurrency: usize,
    /// The server's address, for errors phrased as kubectl phrases them.
    server: String,
}

fn api(client: &Client, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
    let resource = kind.api_resource();
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

/// Whether every field of `desired` holds the same value in `live` (fields the server or other
/// managers added are ignored). An empty map or list is what the server stores as absent (Go's
/// `omitempty` drops it) or as null (a list without `omitempty`), and null is absence itself.
pub fn contains(live: &Value, desired: &Value) -> bool {
    let absent_when_stored = |v: &Value| match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => d.iter().all(|(k, dv)| {
            l.get(k).is_some_and(|lv| contains(lv, dv))
                || (absent_when_stored(dv) && l.get(k).is_none_or(Value::is_null))
        }),
        // Lists keyed by name (env, volumes, containers, ports) may come back in another order.
        (Value::Array(l), Value::Array(d)) if !d.is_empty() && d.iter().all(|i| i.get("name").is_some()) => {
            l.len() == d.len()
                && d.iter()
                    .all(|dv| l.iter().any(|lv| lv.get("name") == dv.get("name") && contains(lv, dv)))
        }
        (Value::Array(l), Value::Array(d)) => l.len() == d.len() && l.iter().zip(d).all(|(lv, dv)| contains(lv, dv)),
        (Value::Number(l), Value::Number(d)) => l.as_f64() == d.as_f64(),
        (l, d) => l == d,
    }
}

/// Whether `live` already is what `desired` renders: same checksum, and no field changed since.
pub(crate) fn up_to_date(live: &Value, desired: &Desired) -> bool {
    let live_sum = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(CHECKSUM_ANNOTATION))
        .and_then(Value::as_str);
    live_sum.is_some() && live_sum == desired.checksum() && contains(live, &desired.object)
}

impl Applier {
    pub fn new(client: Client, dry_run: Option<DryRun>, server: String) -> Applier {
        Applier {
            client,
            dry_run,
            concurrency: DEFAULT_CONCURRENCY,
            server,
        }
    }

    /// One write at a time (for measuring what parallelism buys).
    pub fn with_concurrency(mut self, concurrency: usize) -> Applier {
        self.concurrency = concurrency.max(1);
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn dry_run(&self) -> Option<DryRun> {
        self.dry_run
    }

    /// The object as the server holds it now.
    pub async fn get(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>, kube::Error> {
        let api = api(&self.client, kind, namespace);
        let found = retry(|| api.get_opt(name)).await?;
        Ok(found.map(|o| serde_json::to_value(o).unwrap_or_default()))
    }

    /// The object as `state` read it, else as the server holds it now.
    async fn live(
        &self,
        state: &ClusterState,
        kind: Kind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, kube::Error> {
        match state.live(&kind.api_resource(), namespace, name) {
            // A list's items carry no apiVersion and kind; the object has them.
            Live::Known(found) => Ok(found.map(|o| {
                let mut object = serde_json::to_value(o).unwrap_or_default();
                object["apiVersion"] = json!(kind.api_version());
                object["kind"] = json!(kind.name());
                object
            })),
            Live::Unknown => self.get(kind, namespace, name).await,
        }
    }

    /// Applies every object, `concurrency` at a time, compared with what `state` holds of it,
    /// and reports each.
    pub async fn apply_all(&self, objects: &[Desired], state: &ClusterState) -> Vec<Applied> {
        stream::iter(objects)
            .map(|d| async move {
                let applied = async {
                    let live = self.live(state, d.kind, d.namespace.as_deref(), &d.name).await?;
                    self.apply_over(d, live).await
                };
                match applied.await {
                    Ok((outcome, stored)) => Applied {
                        object: d.display(),
                        namespace: d.namespace.clone(),
                        outcome: Some(outcome),
                        error: None,
                        stored,
                    },
                    Err(e) => Applied {
                        object: d.display(),
                        namespace: d.namespace.clone(),
                        outcome: None,
                        error: Some(format!("failed to apply {}: {}", d.display(), self.describe(&e))),
                        stored: None,
                    },
                }
            })
            .buffered(self.concurrency)
            .collect()
            .await
    }

    /// Applies `desired` over `live` (what the server holds), unless it holds it already; the
    /// outcome, and the object as stored afterwards.
    async fn apply_over(
        &self,
        desired: &Desired,
        live: Option<Value>,
    ) -> Result<(Outcome, Option<Value>), kube::Error> {
        if let Some(l) = &live
            && up_to_date(l, desired)
        {
            return Ok((Outcome::Unchanged, live));
        }
        let outcome = if live.is_some() {
            Outcome::Configured
        } else {
            Outcome::Created
        };
        if self.dry_run == Some(DryRun::Client) {
            return Ok((outcome, None));
        }
        let api = api(&self.client, desired.kind, desired.namespace.as_deref());
        let stored = self
            .write(&api, live.as_ref(), desired, self.dry_run == Some(DryRun::Server))
            .await?;
        Ok((outcome, Some(stored)))
    }

    /// What the server would store if `desired` were applied now (a server-side dry run), and
    /// what it holds now.
    pub async fn predict(&self, desired: &Desired) -> Result<(Option<Value>, Value), kube::Error> {
        let api = api(&self.client, desired.kind, desired.namespace.as_deref());
        let live = retry(|| api.get_opt(&desired.name)).await?;
        let live = live.map(|o| serde_json::to_value(o).unwrap_or_default());
        let merged = self.write(&api, live.as_ref(), desired, true).await?;
        Ok((live, merged))
    }

    /// Takes the object over from a predecessor if it wrote it, then applies it. A dry run cannot
    /// store the take-over for the apply to see, so it sends what the two steps leave as one
    /// dry-run update instead: the server checks exactly the object the real run produces.
    async fn write(
        &self,
        api: &Api<DynamicObject>,
        live: Option<&Value>,
        desired: &Desired,
        dry_run: bool,
    ) -> Result<Value, kube::Error> {
        if let Some(l) = live
            && let Some(adoption) = takeover::adoption_patch(l, desired.kind)
        {
            let params = PatchParams {
                dry_run,
                field_manager: Some(FIELD_MANAGER.to_string()),
                ..PatchParams::default()
            };
            let patch = Patch::<Value>::Json(adoption);
            retry(|| api.patch(&desired.name, &params, &patch)).await?;
            if dry_run && let Some(after) = takeover::taken_over(l, &desired.object) {
                let object: DynamicObject = serde_json::from_value(after).map_err(kube::Error::SerdeError)?;
                let params = PostParams {
                    dry_run: true,
                    field_manager: Some(FIELD_MANAGER.to_string()),
                };
                let stored = retry(|| api.replace(&desired.name, &params, &object)).await?;
                return Ok(serde_json::to_value(stored).unwrap_or_default());
            }
        }
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        params.dry_run = dry_run;
        let patch = Patch::Apply(&desired.object);
        let stored = retry(|| api.patch(&desired.name, &params, &patch)).await?;
        Ok(serde_json::to_value(stored).unwrap_or_default())
    }

    /// Deletes an object (foreground, so that what it owns goes first), as `state` read it: a
    /// pass with nothing to delete sends nothing.
    pub async fn delete(
        &self,
        state: &ClusterState,
        kind: Kind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Outcome, kube::Error> {
        let Some(live) = self.live(state, kind, namespace, name).await? else {
            return Ok(Outcome::NotFound);
        };
        // Going already (a foreground deletion waits for its dependents): asking again changes
        // nothing.
        if live.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(Outcome::Deleting);
        }
        let api = api(&self.client, kind, namespace);
        if self.dry_run == Some(DryRun::Client) {
            return Ok(Outcome::Deleted);
        }
        let params = DeleteParams {
            dry_run: self.dry_run == Some(DryRun::Server),
            propagation_policy: Some(PropagationPolicy::Foreground),
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        };
        match retry(|| api.delete(name, &params)).await {
            Ok(_) => Ok(Outcome::Deleted),
            Err(e) if is_not_found(&e) => Ok(Outcome::NotFound),
            Err(e) => Err(e),
        }
    }

    /// Deletes an object in the registry's namespace (or a cluster-scoped one) and reports it.
    pub async fn delete_reported(&self, state: &ClusterState, kind: Kind, name: &str) -> Applied {
        let namespace = kind.namespaced().then_some(crate::api::REGISTRY_NAMESPACE);
        let object = format!("{}/{name}", kind.resource());
        match self.delete(state, kind, namespace, name).await {
            Ok(outcome) => Applied {
                object,
                namespace: namespace.map(str::to_string),
                outcome: Some(outcome),
                error: None,
                stored: None,
            },
            Err(e) => Applied {
                error: Some(format!("failed to delete {object}: {}", self.describe(&e))),
                namespace: namespace.map(str::to_string),
                object,
                outcome: None,
                stored: None,
            },
        }
    }

    pub fn describe(&self, err: &kube::Error) -> String {
        describe_kube_error(err, &self.server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containment_ignores_added_fields_only() {
        let desired = json!({"spec": {"replicas": 2, "ports": [{"port": 5000}]}});
        assert!(contains(
            &json!({"spec": {"replicas": 2, "x": 1, "ports": [{"port": 5000, "protocol": "TCP"}]}}),
            &desired
        ));
        assert!(!contains(
            &json!({"spec": {"replicas": 1, "ports": [{"port": 5000}]}}),
            &desired
        ));
        assert!(!contains(
            &json!({"spec": {"replicas": 2, "ports": [{"port": 5000}, {"port": 1}]}}),
            &desired
        ));
        assert!(!contains(&json!({"spec": {}}), &desired));
        // What the server drops when it stores an object counts as held.
        assert!(contains(
            &json!({"metadata": {"name": "x"}}),
            &json!({"metadata": {"name": "x", "labels": {}}, "data": {}, "items": []})
        ));
        assert!(!contains(&json!({}), &json!({"data": {"k": "v"}})));
        // A list without `omitempty` comes back null when empty.
        assert!(contains(&json!({"rules": null}), &json!({"rules": []})));
        assert!(!contains(
            &json!({"rules": null}),
            &json!({"rules": [{"verbs": ["get"]}]})
        ));
    }
}
