//! Events for what a pass did and what failed, recorded as the operator's library records them
//! (`DeploymentCreated`, `ConfigMapUpdated`, `OperatorStatusChanged`, …) in the registry's
//! namespace against the reconciler's Deployment, so `kubectl get events -n openshift-image-registry`
//! shows the history. Deciding the events is pure; recording them never fails a pass.

use super::apply::{Applied, Outcome};
use crate::api::{Condition, REGISTRY_NAMESPACE};
use crate::render::Kind;
use k8s_openapi::api::core::v1::Event;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

/// The Deployment that runs the reconciler in the cluster, which the events are about.
pub(crate) const RECONCILER: &str = "oc-registry-reconciler";
const COMPONENT: &str = "oc-registry";

/// One event to record: `Normal` or `Warning`, a reason in CamelCase, and what happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

impl Note {
    fn normal(reason: impl Into<String>, message: impl Into<String>) -> Note {
        Note {
            warning: false,
            reason: reason.into(),
            message: message.into(),
        }
    }

    fn warning(reason: impl Into<String>, message: impl Into<String>) -> Note {
        Note {
            warning: true,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// The kind an applied object's display (`deployment.apps/image-registry`) names, if any.
fn kind_of(object: &str) -> Option<Kind> {
    let resource = object.split_once('/')?.0;
    Kind::ALL.into_iter().find(|k| k.resource() == resource)
}

/// What an object written (or not) by the pass gives: nothing when it was already as rendered.
pub fn of_applied(applied: &Applied) -> Option<Note> {
    let kind = kind_of(&applied.object).map_or("Storage", Kind::name);
    let shown = match &applied.namespace {
        Some(ns) => format!("{} -n {ns}", applied.object),
        None => applied.object.clone(),
    };
    if let Some(error) = &applied.error {
        let action = if error.starts_with("failed to delete") {
            "Delete"
        } else {
            "Apply"
        };
        return Some(Note::warning(format!("{kind}{action}Failed"), error.clone()));
    }
    match applied.outcome? {
        Outcome::Created => Some(Note::normal(
            format!("{kind}Created"),
            format!("Created {shown} because it was missing"),
        )),
        Outcome::Configured => Some(Note::normal(
            format!("{kind}Updated"),
            format!("Updated {shown} because it changed"),
        )),
        Outcome::Deleted => Some(Note::normal(format!("{kind}Deleted"), format!("Deleted {shown}"))),
        Outcome::Unchanged | Outcome::Deleting | Outcome::NotFound => None,
    }
}

/// `OperatorStatusChanged` when the registry's Available, Progressing or Degraded changed.
pub fn of_conditions(before: &[Condition], after: &[Condition]) -> Option<Note> {
    let changes: Vec<String> = ["Available", "Progressing", "Degraded"]
        .into_iter()
        .filter_map(|t| {
            let now = after.iter().find(|c| c.type_ == t)?;
            let was = before.iter().find(|c| c.type_ == t);
            let why = format!(
                "{}: {}",
                now.reason.as_deref().unwrap_or_default(),
                now.message.as_deref().unwrap_or_default()
            );
            match was {
                Some(w) if w.status != now.status => {
                    Some(format!("{t} changed from {} to {} ({why:?})", w.status, now.status))
                }
                Some(w) if w.message != now.message => Some(format!(
                    "{t} message changed from {:?} to {:?}",
                    w.message.as_deref().unwrap_or_default(),
                    now.message.as_deref().unwrap_or_default()
                )),
                Some(_) => None,
                None => Some(format!("{t} set to {} ({why:?})", now.status)),
            }
        })
        .collect();
    (!changes.is_empty()).then(|| {
        Note::normal(
            "OperatorStatusChanged",
            format!(
                "Status for configs.imageregistry.operator.openshift.io/cluster changed: {}",
                changes.join(",")
            ),
        )
    })
}

/// `ObserveTLSSecurityProfile` for each part of the served TLS profile that changed.
pub fn of_observed(before: Option<&Value>, after: Option<&Value>) -> Vec<Note> {
    let at = |v: Option<&Value>, key: &str| v.and_then(|v| v.pointer(&format!("/servingInfo/{key}"))).cloned();
    let mut out = Vec::new();
    if let Some(min) = at(after, "minTLSVersion").filter(|m| Some(m) != at(before, "minTLSVersion").as_ref()) {
        out.push(Note::normal(
            "ObserveTLSSecurityProfile",
            format!("minTLSVersion changed to {}", min.as_str().unwrap_or_default()),
        ));
    }
    if let Some(suites) = at(after, "cipherSuites").filter(|s| Some(s) != at(before, "cipherSuites").as_ref()) {
        let names: Vec<&str> = suites
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        out.push(Note::normal(
            "ObserveTLSSecurityProfile",
            format!("cipherSuites changed to {names:?}"),
        ));
    }
    out
}

/// Creates the events in the registry's namespace, all at once. Best effort: a cluster that
/// refuses events still gets its registry; the count recorded is returned.
pub async fn record(client: &Client, notes: &[Note]) -> usize {
    let api = Api::<Event>::namespaced(client.clone(), REGISTRY_NAMESPACE);
    let now = jiff::Timestamp::now();
    let stamp = now.round(jiff::Unit::Second).unwrap_or(now).to_string();
    let instance = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| COMPONENT.to_string());
    let events = notes.iter().enumerate().filter_map(|(i, note)| {
        serde_json::from_value::<Event>(json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": format!("{RECONCILER}.{:x}", now.as_nanosecond() + i as i128),
                "namespace": REGISTRY_NAMESPACE,
            },
            "involvedObject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": RECONCILER, "namespace": REGISTRY_NAMESPACE},
            "reason": note.reason,
            "message": note.message,
            "type": if note.warning { "Warning" } else { "Normal" },
            "source": {"component": COMPONENT},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "reportingComponent": COMPONENT,
            "reportingInstance": instance,
        }))
        .ok()
    });
    let created = futures::future::join_all(events.map(|event| {
        let api = api.clone();
        async move { api.create(&PostParams::default(), &event).await.is_ok() }
    }))
    .await;
    created.into_iter().filter(|ok| *ok).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(object: &str, namespace: Option<&str>, outcome: Option<Outcome>, error: Option<&str>) -> Applied {
        Applied {
            object: object.into(),
            namespace: namespace.map(Into::into),
            outcome,
            error: error.map(Into::into),
            stored: None,
        }
    }

    #[test]
    fn writes_are_recorded_as_the_operators_library_records_them() {
        let ns = Some("openshift-image-registry");
        let cases = [
            (
                applied("deployment.apps/image-registry", ns, Some(Outcome::Created), None),
                Some((
                    "DeploymentCreated",
                    "Created deployment.apps/image-registry -n openshift-image-registry because it was missing",
                    false,
                )),
            ),
            (
                applied(
                    "configmap/image-registry-ca",
                    Some("openshift-config-managed"),
                    Some(Outcome::Configured),
                    None,
                ),
                Some((
                    "ConfigMapUpdated",
                    "Updated configmap/image-registry-ca -n openshift-config-managed because it changed",
                    false,
                )),
            ),
            (
                applied(
                    "clusterrole.rbac.authorization.k8s.io/system:registry",
                    None,
                    Some(Outcome::Deleted),
                    None,
                ),
                Some((
                    "ClusterRoleDeleted",
                    "Deleted clusterrole.rbac.authorization.k8s.io/system:registry",
                    false,
                )),
            ),
            (
                applied(
                    "daemonset.apps/node-ca",
                    ns,
                    None,
                    Some("failed to apply daemonset.apps/node-ca: forbidden"),
                ),
                Some((
                    "DaemonSetApplyFailed",
                    "failed to apply daemonset.apps/node-ca: forbidden",
                    true,
                )),
            ),
            (
                applied("S3 bucket b (3 objects)", None, Some(Outcome::Deleted), None),
                Some(("StorageDeleted", "Deleted S3 bucket b (3 objects)", false)),
            ),
            (
                applied("service/image-registry", ns, Some(Outcome::Unchanged), None),
                None,
            ),
        ];
        for (applied, want) in cases {
            let got = of_applied(&applied).map(|n| (n.reason, n.message, n.warning));
            let want = want.map(|(r, m, w)| (r.to_string(), m.to_string(), w));
            assert_eq!(got, want, "{applied:?}");
        }
    }

    #[test]
    fn status_and_tls_changes_are_recorded() {
        let condition = |t: &str, s: &str, m: &str| Condition {
            type_: t.into(),
            status: s.into(),
            reason: Some("Ready".into()),
            message: Some(m.into()),
            ..Condition::default()
        };
        let before = [
            condition("Available", "False", "no pods"),
            condition("Degraded", "False", ""),
        ];
        let after = [
            condition("Available", "True", "ready"),
            condition("Degraded", "False", ""),
        ];
        let note = of_conditions(&before, &after).unwrap();
        assert_eq!(note.reason, "OperatorStatusChanged");
        assert_eq!(
            note.message,
            "Status for configs.imageregistry.operator.openshift.io/cluster changed: Available changed from False to True (\"Ready: ready\")"
        );
        assert_eq!(of_conditions(&after, &after), None);

        let old = json!({"servingInfo": {"minTLSVersion": "VersionTLS12", "cipherSuites": ["A"]}});
        let new = json!({"servingInfo": {"minTLSVersion": "VersionTLS13", "cipherSuites": ["A"]}});
        let notes = of_observed(Some(&old), Some(&new));
        assert_eq!(
            notes,
            [Note::normal(
                "ObserveTLSSecurityProfile",
                "minTLSVersion changed to VersionTLS13"
            )]
        );
        assert_eq!(of_observed(None, Some(&old)).len(), 2);
        assert!(of_observed(Some(&new), Some(&new)).is_empty());
    }
}
