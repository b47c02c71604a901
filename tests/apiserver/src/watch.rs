//! Watch streams: newline-delimited JSON events over a chunked response, resuming after a
//! resourceVersion (410 Expired when it is too old), with bookmarks, timeouts, selectors and the
//! streaming-list handshake (`sendInitialEvents`).

use crate::catalog::ResourceKind;
use crate::handlers::{Request, matching, selectors};
use crate::server::{ApiServer, Body, Shared, error_response};
use crate::status::ApiError;
use crate::store::{Event, EventType};
use bytes::Bytes;
use futures::StreamExt;
use http::{Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

pub fn serve(server: &ApiServer, req: Request) -> Response<Body> {
    let (labels, fields) = match selectors(&req) {
        Ok(s) => s,
        Err(e) => return error_response(&e),
    };
    let rv_param = req.param("resourceVersion").unwrap_or_default().to_string();
    let send_initial = req.param("sendInitialEvents") == Some("true");
    let bookmarks = matches!(req.param("allowWatchBookmarks"), Some("true" | "1"));
    let timeout = req
        .param("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let interval = server.settings().bookmark_interval;

    let (initial, mut last_rv, rx) = {
        let store = server.shared.store.lock().unwrap();
        if rv_param.is_empty() || rv_param == "0" || send_initial {
            let added: Vec<Value> = matching(&store, &req, &labels, &fields)
                .into_iter()
                .map(|o| event_json(EventType::Added.as_str(), &req.kind, o.clone()))
                .collect();
            (added, store.current_rv(), store.subscribe())
        } else {
            let Ok(rv) = rv_param.parse::<u64>() else {
                return error_response(&ApiError::bad_request(format!("invalid resource version: {rv_param}")));
            };
            match store.watch_from(rv) {
                Some((past, rx)) => {
                    let events = past
                        .iter()
                        .filter(|e| relevant(&req, e, &labels, &fields))
                        .map(|e| to_json(&req.kind, e))
                        .collect();
                    (events, past.last().map_or(rv, |e| e.rv), rx)
                }
                None => {
                    let expired = ApiError::gone(format!("too old resource version: {rv} ({})", store.current_rv()));
                    return stream_response(vec![json!({"type": "ERROR", "object": expired.to_status()})], None);
                }
            }
        }
    };
    let mut lines = initial;
    if send_initial {
        lines.push(bookmark(&req.kind, last_rv, true));
    }
    let (tx, body_rx) = mpsc::channel::<Bytes>(256);
    let shared: Arc<Shared> = server.shared.clone();
    tokio::spawn(async move {
        let mut rx: broadcast::Receiver<Arc<Event>> = rx;
        for line in lines {
            if tx.send(line_bytes(&line)).await.is_err() {
                return;
            }
        }
        let dropped = shared.drop_watches.notified();
        tokio::pin!(dropped);
        dropped.as_mut().enable();
        let deadline = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(1800)));
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                received = rx.recv() => match received {
                    Ok(event) => {
                        if event.rv <= last_rv {
                            continue;
                        }
                        last_rv = event.rv;
                        if relevant(&req, &event, &labels, &fields)
                            && tx.send(line_bytes(&to_json(&req.kind, &event))).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let expired = ApiError::gone("the watch fell too far behind");
                        let _ = tx.send(line_bytes(&json!({"type": "ERROR", "object": expired.to_status()}))).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = ticker.tick(), if bookmarks => {
                    let rv = shared.store.lock().unwrap().current_rv();
                    if tx.send(line_bytes(&bookmark(&req.kind, rv, false))).await.is_err() {
                        return;
                    }
                }
                _ = &mut deadline => return,
                _ = &mut dropped => return,
                _ = tx.closed() => return,
            }
        }
    });
    stream_response(Vec::new(), Some(body_rx))
}

fn relevant(
    req: &Request,
    e: &Event,
    labels: &crate::selectors::LabelSelector,
    fields: &crate::selectors::FieldSelector,
) -> bool {
    e.key.group == req.kind.group
        && e.key.plural == req.kind.plural
        && req.namespace.as_deref().is_none_or(|ns| e.key.namespace == ns)
        && labels.matches(e.object.pointer("/metadata/labels"))
        && fields.matches(&e.object)
}

fn typed(kind: &ResourceKind, mut obj: Value) -> Value {
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(kind.api_version()));
        m.insert("kind".into(), json!(kind.kind));
    }
    obj
}

fn event_json(kind_str: &str, kind: &ResourceKind, obj: Value) -> Value {
    json!({"type": kind_str, "object": typed(kind, obj)})
}

fn to_json(kind: &ResourceKind, e: &Event) -> Value {
    event_json(e.kind.as_str(), kind, e.object.clone())
}

fn bookmark(kind: &ResourceKind, rv: u64, initial_end: bool) -> Value {
    let mut metadata = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"type": "BOOKMARK", "object": {"kind": kind.kind, "apiVersion": kind.api_version(), "metadata": metadata}})
}

fn line_bytes(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).expect("serialisable");
    b.push(b'\n');
    Bytes::from(b)
}

fn stream_response(first: Vec<Value>, rest: Option<mpsc::Receiver<Bytes>>) -> Response<Body> {
    let head = futures::stream::iter(first.into_iter().map(|v| line_bytes(&v)));
    let tail = futures::stream::unfold(rest, |rx| async move {
        let mut rx = rx?;
        let next = rx.recv().await?;
        Some((next, Some(rx)))
    });
    let stream = head.chain(tail).map(|b| Ok::<_, std::io::Error>(Frame::data(b)));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(StreamBody::new(stream).boxed_unsync())
        .expect("valid response")
}
