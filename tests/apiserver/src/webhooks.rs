//! Validating admission webhooks, called as kube-apiserver calls them: every
//! `ValidatingWebhookConfiguration` webhook whose rules, scope and selectors match a write gets an
//! `admission.k8s.io/v1` AdmissionReview with the object as it would be stored (and the old one),
//! over HTTPS checked against its `caBundle`, within its `timeoutSeconds`. A denial answers with
//! the webhook's status and message; a failed call fails the write unless `failurePolicy` is
//! Ignore; a dry run only reaches webhooks without side effects.

use crate::catalog::ResourceKind;
use crate::server::ApiServer;
use crate::status::ApiError;
use crate::store::ObjectKey;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// What is being written, as the review describes it.
pub struct Attempt<'a> {
    pub kind: &'a ResourceKind,
    pub subresource: Option<&'a str>,
    pub namespace: &'a str,
    pub name: &'a str,
    /// `CREATE`, `UPDATE` or `DELETE`.
    pub operation: &'static str,
    pub object: Option<Value>,
    pub old_object: Option<Value>,
    pub dry_run: bool,
    pub user: &'a str,
}

fn listed(values: &Value, wanted: &str) -> bool {
    values
        .as_array()
        .is_some_and(|v| v.iter().any(|x| x == "*" || x == wanted))
}

/// Whether a rule of `webhook` covers the attempt.
fn covers(webhook: &Value, attempt: &Attempt<'_>) -> bool {
    let resource = match attempt.subresource {
        Some(sub) => format!("{}/{sub}", attempt.kind.plural),
        None => attempt.kind.plural.clone(),
    };
    webhook["rules"].as_array().into_iter().flatten().any(|rule| {
        let scope = rule["scope"].as_str().unwrap_or("*");
        let scoped = match scope {
            "Cluster" => !attempt.kind.namespaced,
            "Namespaced" => attempt.kind.namespaced,
            _ => true,
        };
        let resources = rule["resources"].as_array().into_iter().flatten().any(|r| {
            let r = r.as_str().unwrap_or_default();
            r == "*/*"
                || r == resource
                || (r == "*" && attempt.subresource.is_none())
                || r.strip_prefix("*/").is_some_and(|sub| Some(sub) == attempt.subresource)
                || r.strip_suffix("/*")
                    .is_some_and(|p| p == attempt.kind.plural && attempt.subresource.is_some())
        });
        scoped
            && listed(&rule["operations"], attempt.operation)
            && listed(&rule["apiGroups"], &attempt.kind.group)
            && listed(&rule["apiVersions"], &attempt.kind.version)
            && resources
    })
}

fn labels(object: Option<&Value>) -> serde_json::Map<String, Value> {
    object
        .and_then(|o| o.pointer("/metadata/labels"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Whether a `metav1.LabelSelector` (absent: everything) selects `labels`.
fn selects(selector: &Value, labels: &serde_json::Map<String, Value>) -> bool {
    let equal = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions = selector["matchExpressions"].as_array().into_iter().flatten().all(|e| {
        let value = labels.get(e["key"].as_str().unwrap_or_default());
        let among = || {
            e["values"]
                .as_array()
                .is_some_and(|vs| value.is_some_and(|v| vs.contains(v)))
        };
        match e["operator"].as_str() {
            Some("In") => among(),
            Some("NotIn") => !among(),
            Some("Exists") => value.is_some(),
            Some("DoesNotExist") => value.is_none(),
            _ => false,
        }
    });
    equal && expressions
}

/// Whether `webhook`'s namespace and object selectors let the attempt through.
fn selected(server: &ApiServer, webhook: &Value, attempt: &Attempt<'_>) -> bool {
    let objects = [attempt.object.as_ref(), attempt.old_object.as_ref()];
    let object_ok = objects
        .iter()
        .flatten()
        .any(|o| selects(&webhook["objectSelector"], &labels(Some(o))));
    let namespace_ok = if attempt.kind.plural == "namespaces" && attempt.kind.group.is_empty() {
        objects
            .iter()
            .flatten()
            .any(|o| selects(&webhook["namespaceSelector"], &labels(Some(o))))
    } else if attempt.kind.namespaced {
        let key = ObjectKey::new("", "namespaces", "", attempt.namespace);
        let namespace = server.shared.store.lock().unwrap().get(&key).cloned();
        selects(&webhook["namespaceSelector"], &labels(namespace.as_ref()))
    } else {
        true
    };
    object_ok && namespace_ok
}

/// The webhooks that must see the attempt, with their configurations' names.
fn matching(server: &ApiServer, attempt: &Attempt<'_>) -> Vec<Value> {
    let configurations: Vec<Value> = server
        .shared
        .store
        .lock()
        .unwrap()
        .all()
        .filter(|(k, _)| k.group == "admissionregistration.k8s.io" && k.plural == "validatingwebhookconfigurations")
        .map(|(_, o)| o.clone())
        .collect();
    configurations
        .iter()
        .flat_map(|c| c["webhooks"].as_array().cloned().unwrap_or_default())
        .filter(|w| covers(w, attempt) && selected(server, w, attempt))
        .collect()
}

fn review(attempt: &Attempt<'_>, uid: &str) -> Value {
    let kind = json!({"group": attempt.kind.group, "version": attempt.kind.version, "kind": attempt.kind.kind});
    let resource =
        json!({"group": attempt.kind.group, "version": attempt.kind.version, "resource": attempt.kind.plural});
    let mut request = json!({
        "uid": uid, "kind": kind, "resource": resource, "requestKind": kind, "requestResource": resource,
        "name": attempt.name, "operation": attempt.operation,
        "userInfo": {"username": attempt.user, "groups": ["system:authenticated"]},
        "object": attempt.object, "oldObject": attempt.old_object, "dryRun": attempt.dry_run,
    });
    if attempt.kind.namespaced {
        request["namespace"] = json!(attempt.namespace);
    }
    if let Some(sub) = attempt.subresource {
        request["subResource"] = json!(sub);
        request["requestSubResource"] = json!(sub);
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})
}

/// Runs every matching webhook; the first refusal (or failed call under `failurePolicy: Fail`)
/// is the answer. Returns the warnings the webhooks gave.
pub async fn validate(server: &ApiServer, attempt: &Attempt<'_>) -> Result<Vec<String>, ApiError> {
    let mut warnings = Vec::new();
    for webhook in matching(server, attempt) {
        let name = webhook["name"].as_str().unwrap_or_default().to_string();
        let side_effects = webhook["sideEffects"].as_str().unwrap_or("Unknown");
        if attempt.dry_run && !matches!(side_effects, "None" | "NoneOnDryRun") {
            return Err(ApiError::bad_request(format!(
                "admission webhook \"{name}\" does not support dry run"
            )));
        }
        let uid = uuid::Uuid::new_v4().to_string();
        let timeout = Duration::from_secs(webhook["timeoutSeconds"].as_u64().unwrap_or(10));
        let answer = match call(server, &webhook, &review(attempt, &uid), timeout).await {
            Ok(answer) => answer,
            Err(why) if webhook["failurePolicy"] == "Ignore" => {
                let _ = why;
                continue;
            }
            Err(why) => {
                return Err(ApiError::new(
                    500,
                    "InternalError",
                    format!("Internal error occurred: failed calling webhook \"{name}\": {why}"),
                ));
            }
        };
        let response = &answer["response"];
        if answer["apiVersion"] != "admission.k8s.io/v1"
            || answer["kind"] != "AdmissionReview"
            || response["uid"] != uid
        {
            let why = "expected response.uid and an admission.k8s.io/v1 AdmissionReview".to_string();
            if webhook["failurePolicy"] == "Ignore" {
                continue;
            }
            return Err(ApiError::new(
                500,
                "InternalError",
                format!("Internal error occurred: failed calling webhook \"{name}\": {why}"),
            ));
        }
        warnings.extend(
            response["warnings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w.as_str().map(str::to_string)),
        );
        if response["allowed"] != true {
            let status = &response["status"];
            let code = status["code"].as_u64().filter(|c| *c >= 400).unwrap_or(400) as u16;
            let denied = format!("admission webhook \"{name}\" denied the request");
            let message = match (status["message"].as_str(), status["reason"].as_str()) {
                (Some(m), _) if !m.is_empty() => format!("{denied}: {m}"),
                (_, Some(r)) if !r.is_empty() => format!("{denied}: {r}"),
                _ => format!("{denied} without explanation"),
            };
            let reason = match (status["reason"].as_str(), code) {
                (Some("Forbidden"), _) | (_, 403) => "Forbidden",
                (Some("Invalid"), _) | (_, 422) => "Invalid",
                (Some("Conflict"), _) | (_, 409) => "Conflict",
                _ => "BadRequest",
            };
            return Err(ApiError::new(code, reason, message));
        }
    }
    Ok(warnings)
}

/// POSTs the review to the webhook; its answer, or why the call failed (as Go words it).
async fn call(server: &ApiServer, webhook: &Value, review: &Value, timeout: Duration) -> Result<Value, String> {
    let config = &webhook["clientConfig"];
    let (url, host, address) = if let Some(url) = config["url"].as_str() {
        let uri: http::Uri = url.parse().map_err(|e| format!("invalid URL {url}: {e}"))?;
        let host = uri.host().unwrap_or_default().to_string();
        let port = uri.port_u16().unwrap_or(443);
        (url.to_string(), host.clone(), format!("{host}:{port}"))
    } else {
        let service = &config["service"];
        let (ns, name) = (
            service["namespace"].as_str().unwrap_or_default(),
            service["name"].as_str().unwrap_or_default(),
        );
        let port = service["port"].as_u64().unwrap_or(443);
        let path = service["path"].as_str().unwrap_or("/");
        let host = format!("{name}.{ns}.svc");
        let address = server
            .service_address(ns, name)
            .ok_or_else(|| format!("failed to call webhook: service \"{ns}/{name}\" not found"))?;
        (format!("https://{host}:{port}{path}"), host, address)
    };
    let url = format!("{url}?timeout={}s", timeout.as_secs());
    let attempt = async {
        let pem = config["caBundle"]
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .unwrap_or_default();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
            let _ = roots.add(cert);
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(&address)
            .await
            .map_err(|e| e.to_string())?;
        let name = ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("tls: failed to verify certificate: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = http::Request::post(&url)
            .header(http::header::HOST, &host)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json, */*")
            .body(Full::new(Bytes::from(review.to_string())))
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("received invalid webhook response: {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("received invalid webhook response: {e}"))
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(why)) => Err(format!("failed to call webhook: Post \"{url}\": {why}")),
        Err(_) => Err(format!(
            "failed to call webhook: Post \"{url}\": context deadline exceeded"
        )),
    }
}
