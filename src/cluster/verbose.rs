//! `-v=N` as kubectl's, on standard error: from 6 each request's method, URL, status and time;
//! from 8 also the bodies sent and received, with every secret value masked (Secret data, a
//! Route's key, the Config's `httpSecret`, secret environment values) and never a header.

use super::redact::{MASK, redact};
use bytes::Bytes;
use futures::FutureExt;
use http::{Request, Response};
use http_body::Body as HttpBody;
use http_body_util::BodyExt;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Layer, Service};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The level from which each request is shown.
pub const REQUESTS: u8 = 6;
/// The level from which bodies are shown too.
pub const BODIES: u8 = 8;

/// The level, and the server's URL (requests reach this layer with their path only).
#[derive(Clone, Debug)]
pub struct Verbosity {
    pub level: u8,
    pub server: String,
}

impl<S> Layer<S> for Verbosity {
    type Service = Logged<S>;

    fn layer(&self, inner: S) -> Logged<S> {
        Logged {
            inner,
            level: self.level,
            server: self.server.trim_end_matches('/').to_string(),
        }
    }
}

#[derive(Clone)]
pub struct Logged<S> {
    inner: S,
    level: u8,
    server: String,
}

/// klog's line prefix: severity, date and time.
fn prefix() -> String {
    let now = jiff::Zoned::now();
    format!("I{}", now.strftime("%m%d %H:%M:%S%.6f"))
}

/// What a body shows at `-v=8`: JSON with secret values masked, else only its size.
pub fn shown(body: &[u8]) -> String {
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return format!("({} bytes, not JSON)", body.len());
    };
    mask(&mut value);
    value.to_string()
}

/// Masks an object, each item of a list (which carry no kind of their own), and a watch event's
/// object.
fn mask(value: &mut Value) {
    let list_kind = value
        .get("kind")
        .and_then(Value::as_str)
        .and_then(|k| k.strip_suffix("List"))
        .map(str::to_string);
    if let Some(items) = value.get_mut("items").and_then(Value::as_array_mut) {
        for item in items {
            if let (Some(kind), Some(object)) = (&list_kind, item.as_object_mut()) {
                object.entry("kind").or_insert_with(|| Value::String(kind.clone()));
            }
            mask(item);
        }
    }
    if let Some(object) = value.get_mut("object") {
        mask(object);
    }
    redact(value);
    // An object of an unknown kind may still be a Secret's data (a patch carries no kind).
    if value.get("kind").is_none()
        && let Some(data) = value.get_mut("data").and_then(Value::as_object_mut)
    {
        data.values_mut().for_each(|v| *v = Value::String(MASK.into()));
    }
}

impl<S, B> Service<Request<kube::client::Body>> for Logged<S>
where
    S: Service<Request<kube::client::Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<kube::client::Body>) -> Self::Future {
        let level = self.level;
        let (method, uri) = (request.method().clone(), request.uri().clone());
        let url = match uri.scheme() {
            Some(_) => uri.to_string(),
            None => format!("{}{uri}", self.server),
        };
        let watch = uri
            .query()
            .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
        // The client's request bodies are whole already: a copy of one reads at once.
        if level >= BODIES
            && let Some(copy) = request.body().try_clone()
            && let Some(Ok(bytes)) = copy.collect_bytes().now_or_never()
            && !bytes.is_empty()
        {
            eprintln!("{} Request Body: {}", prefix(), shown(&bytes));
        }
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await.map_err(Into::into);
            let elapsed = started.elapsed().as_millis();
            let response = match response {
                Ok(r) => r,
                Err(e) => {
                    if level >= REQUESTS {
                        eprintln!("{} {method} {url}  in {elapsed} milliseconds", prefix());
                    }
                    return Err(e);
                }
            };
            if level >= REQUESTS {
                eprintln!(
                    "{} {method} {url} {} in {elapsed} milliseconds",
                    prefix(),
                    response.status()
                );
            }
            let (parts, body) = response.into_parts();
            let body = body.map_err(Into::into);
            if level < BODIES || watch {
                return Ok(Response::from_parts(parts, body.boxed_unsync()));
            }
            let bytes = body.collect().await?.to_bytes();
            eprintln!("{} Response Body: {}", prefix(), shown(&bytes));
            let body = http_body_util::Full::new(bytes).map_err(|never| match never {});
            Ok(Response::from_parts(parts, body.boxed_unsync()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_are_shown_with_every_secret_masked() {
        let list = json!({"kind": "SecretList", "items": [
            {"metadata": {"name": "a"}, "data": {"key": "c2VjcmV0"}},
        ]});
        let text = shown(list.to_string().as_bytes());
        assert!(!text.contains("c2VjcmV0") && text.contains(MASK), "{text}");
        let event = json!({"type": "ADDED", "object": {"kind": "Config", "spec": {"httpSecret": "hs"}}});
        let text = shown(event.to_string().as_bytes());
        assert!(!text.contains("\"hs\""), "{text}");
        let patch = json!({"data": {"password": "cGFzcw=="}});
        assert!(!shown(patch.to_string().as_bytes()).contains("cGFzcw=="));
        assert_eq!(shown(b"\x00\x01"), "(2 bytes, not JSON)");
    }
}
