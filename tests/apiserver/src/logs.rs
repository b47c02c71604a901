//! `pods/NAME/log`: container logs as the API server serves them from the kubelet — the running
//! instance's, or with `previous=true` the last terminated one's — with `container`, `tailLines`,
//! `sinceSeconds`, `timestamps` and `limitBytes`, and `follow=true` streaming lines as they are
//! written until the pod is deleted. Lines are written by tests ([`ApiServer::write_log`]).
//! Errors are kube-apiserver's: a pod that does not exist is 404; a missing or unknown container
//! and a missing previous instance are 400.

use crate::handlers::Request;
use crate::server::{ApiServer, Body, error_response};
use crate::status::ApiError;
use crate::store::ObjectKey;
use bytes::Bytes;
use futures::StreamExt;
use http::{Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::Notify;

/// `(namespace, pod, container)`.
type Container = (String, String, String);

#[derive(Default)]
pub struct Logs {
    current: BTreeMap<Container, Vec<(jiff::Timestamp, String)>>,
    previous: BTreeMap<Container, Vec<(jiff::Timestamp, String)>>,
}

/// Wakes following readers when a line is written.
#[derive(Default)]
pub struct Written(Notify);

impl ApiServer {
    /// Writes a line to a container's log.
    pub fn write_log(&self, namespace: &str, pod: &str, container: &str, line: &str) {
        let key = (namespace.to_string(), pod.to_string(), container.to_string());
        self.shared
            .logs
            .lock()
            .unwrap()
            .current
            .entry(key)
            .or_default()
            .push((jiff::Timestamp::now(), line.to_string()));
        self.shared.log_written.0.notify_waiters();
    }

    /// Restarts a container: its log becomes the previous instance's, and the new one's is empty.
    pub fn restart_container(&self, namespace: &str, pod: &str, container: &str) {
        let key = (namespace.to_string(), pod.to_string(), container.to_string());
        let mut logs = self.shared.logs.lock().unwrap();
        let lines = logs.current.remove(&key).unwrap_or_default();
        logs.previous.insert(key, lines);
    }
}

pub fn serve(server: &ApiServer, req: &Request) -> Response<Body> {
    match answer(server, req) {
        Ok(response) => response,
        Err(e) => error_response(&e),
    }
}

fn stored_pod(server: &ApiServer, namespace: &str, name: &str) -> Option<Value> {
    server
        .shared
        .store
        .lock()
        .unwrap()
        .get(&ObjectKey::new("", "pods", namespace, name))
        .cloned()
}

fn answer(server: &ApiServer, req: &Request) -> Result<Response<Body>, ApiError> {
    let namespace = req.namespace.clone().unwrap_or_default();
    let name = req.name.clone().unwrap_or_default();
    let pod = stored_pod(server, &namespace, &name).ok_or_else(|| ApiError::not_found(&req.kind, &name))?;
    let containers: Vec<String> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name")?.as_str().map(str::to_string))
        .collect();
    let container = match req.param("container") {
        Some(c) if containers.iter().any(|n| n == c) => c.to_string(),
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {name}"
            )));
        }
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            )));
        }
    };
    let key = (namespace.clone(), name.clone(), container.clone());
    let previous = req.param("previous") == Some("true");
    let follow = req.param("follow") == Some("true") && !previous;
    let timestamps = req.param("timestamps") == Some("true");
    let tail = req.param("tailLines").and_then(|t| t.parse::<usize>().ok());
    let since = req
        .param("sinceSeconds")
        .and_then(|s| s.parse::<i64>().ok())
        .map(|s| jiff::Timestamp::now() - jiff::SignedDuration::from_secs(s));
    let limit = req.param("limitBytes").and_then(|l| l.parse::<usize>().ok());
    let lines = {
        let logs = server.shared.logs.lock().unwrap();
        let source = if previous { &logs.previous } else { &logs.current };
        match source.get(&key) {
            Some(lines) => lines.clone(),
            None if previous => {
                return Err(ApiError::bad_request(format!(
                    "previous terminated container \"{container}\" in pod \"{name}\" not found"
                )));
            }
            None => Vec::new(),
        }
    };
    let format = move |(at, line): &(jiff::Timestamp, String)| {
        if timestamps {
            format!("{at} {line}\n")
        } else {
            format!("{line}\n")
        }
    };
    let kept: Vec<&(jiff::Timestamp, String)> = lines.iter().filter(|(at, _)| since.is_none_or(|s| *at >= s)).collect();
    let start = tail.map_or(0, |t| kept.len().saturating_sub(t));
    let mut text: String = kept[start..].iter().map(|l| format(l)).collect();
    if let Some(limit) = limit {
        text.truncate(limit);
    }
    let head = futures::stream::iter([Bytes::from(text)]);
    let rest = if follow {
        let (server, seen) = (server.clone(), lines.len());
        futures::stream::unfold((server, key, seen), move |(server, key, seen)| async move {
            loop {
                let shared = server.shared.clone();
                let written = shared.log_written.0.notified();
                let (namespace, name, _) = &key;
                stored_pod(&server, namespace, name)?;
                let new: Vec<(jiff::Timestamp, String)> = server
                    .shared
                    .logs
                    .lock()
                    .unwrap()
                    .current
                    .get(&key)
                    .map(|l| l.iter().skip(seen).cloned().collect())
                    .unwrap_or_default();
                if !new.is_empty() {
                    let chunk: String = new.iter().map(format).collect();
                    return Some((Bytes::from(chunk), (server, key, seen + new.len())));
                }
                // Woken by a line, or soon anyway to notice the pod going.
                let _ = tokio::time::timeout(Duration::from_millis(100), written).await;
            }
        })
        .boxed()
    } else {
        futures::stream::empty().boxed()
    };
    let stream = head.chain(rest).map(|b| Ok::<_, std::io::Error>(Frame::data(b)));
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(StreamBody::new(stream).boxed_unsync())
        .expect("valid response"))
}
