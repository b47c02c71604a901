//! Bounds on every exchange with the API server, as a layer under the client: a request (its
//! answer read to the end) takes at most the request timeout, an answer holds at most
//! [`MAX_ANSWER_BYTES`] (a watch: one event), and a `Retry-After` the server sends reaches the
//! retry logic even when the body does not say it.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The request timeout when none is given: kube-apiserver's own bound on a request that is not
/// a watch.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read (for a watch, the largest event). The registry's objects are a few
/// KiB; lists are read in pages.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;
/// The largest error body read to carry a `Retry-After` into it.
const MAX_ERROR_BODY: usize = 1 << 20;

/// A bound was exceeded; never worth retrying as it was.
#[derive(Debug, thiserror::Error)]
pub enum Exceeded {
    #[error("no complete answer within {} (raise --request-timeout, or 0 for none)", seconds(*.0))]
    Timeout(Duration),
    #[error("the answer is larger than {} MiB; refusing to read more", .0 >> 20)]
    TooLarge(usize),
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Whether `err` is a bound this layer enforced.
pub fn exceeded(err: &kube::Error) -> Option<&Exceeded> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(s) = source {
        if let Some(e) = s.downcast_ref::<Exceeded>() {
            return Some(e);
        }
        source = s.source();
    }
    None
}

#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// `None`: no timeout (kubectl's `--request-timeout=0`).
    pub timeout: Option<Duration>,
    pub max_answer: usize,
}

impl Bounds {
    /// The bounds for a `--request-timeout` as given (`None` when not given).
    pub fn for_timeout(given: Option<Duration>) -> Bounds {
        Bounds {
            timeout: match given {
                None => Some(DEFAULT_REQUEST_TIMEOUT),
                Some(t) if t.is_zero() => None,
                Some(t) => Some(t),
            },
            max_answer: MAX_ANSWER_BYTES,
        }
    }
}

impl<S> Layer<S> for Bounds {
    type Service = Bounded<S>;

    fn layer(&self, inner: S) -> Bounded<S> {
        Bounded { inner, bounds: *self }
    }
}

#[derive(Clone)]
pub struct Bounded<S> {
    inner: S,
    bounds: Bounds,
}

/// How an answer is read: one object (within the deadline and the size bound), a log (within the
/// deadline, bounded per line: it is printed as it comes), or a stream that stays open by design
/// (a watch, bounded by the server's `timeoutSeconds`, or a followed log), bounded per line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Object,
    Log,
    Open,
}

fn shape<B>(request: &Request<B>) -> Shape {
    let has = |flag: &str| {
        request.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|p| p == format!("{flag}=true") || p == format!("{flag}=1"))
        })
    };
    let path = request.uri().path();
    let log = path.contains("/pods/") && path.ends_with("/log");
    match (has("watch"), log, has("follow")) {
        (true, _, _) | (_, true, true) => Shape::Open,
        (false, true, false) => Shape::Log,
        _ => Shape::Object,
    }
}

impl<S, ReqBody, B> Service<Request<ReqBody>> for Bounded<S>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<BoundedBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<BoundedBody>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let shape = shape(&request);
        let bounds = self.bounds;
        let deadline = bounds
            .timeout
            .filter(|_| shape != Shape::Open)
            .map(|t| (Instant::now() + t, t));
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = match deadline {
                Some((at, t)) => tokio::time::timeout_at(at, answer)
                    .await
                    .map_err(|_| Box::new(Exceeded::Timeout(t)) as BoxError)?,
                None => answer.await,
            }
            .map_err(Into::into)?;
            let (mut parts, body) = response.into_parts();
            let mut body = BoundedBody {
                inner: body.map_err(Into::into).boxed_unsync(),
                limit: bounds.max_answer,
                read: 0,
                per_line: shape != Shape::Object,
                deadline: deadline.map(|(at, t)| (Box::pin(tokio::time::sleep_until(at)), t)),
            };
            if let Some(after) = retry_after(&parts) {
                let text = collect(&mut body, MAX_ERROR_BODY).await?;
                let rewritten = with_retry_after(&text, parts.status, after);
                parts.headers.remove(http::header::CONTENT_LENGTH);
                body.inner = http_body_util::Full::new(Bytes::from(rewritten))
                    .map_err(|never| match never {})
                    .boxed_unsync();
            }
            Ok(Response::from_parts(parts, body))
        })
    }
}

/// The seconds of a `Retry-After` on a 429 or 503 (the only answers it means something on).
fn retry_after(parts: &http::response::Parts) -> Option<u64> {
    if !matches!(
        parts.status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        return None;
    }
    parts
        .headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

async fn collect(body: &mut BoundedBody, limit: usize) -> Result<Vec<u8>, BoxError> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            out.extend_from_slice(&data);
            if out.len() > limit {
                return Err(Box::new(Exceeded::TooLarge(limit)));
            }
        }
    }
    Ok(out)
}

/// The error body as a `Status` whose `details.retryAfterSeconds` is the header's, which is where
/// the retry logic reads the server's wish from (kube-apiserver puts it in both; proxies and
/// load balancers only in the header).
fn with_retry_after(body: &[u8], code: StatusCode, after: u64) -> Vec<u8> {
    let mut status = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) if v.get("kind").and_then(|k| k.as_str()) == Some("Status") => v,
        _ => serde_json::json!({
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": String::from_utf8_lossy(body).trim(),
            "reason": if code == StatusCode::TOO_MANY_REQUESTS { "TooManyRequests" } else { "ServiceUnavailable" },
            "code": code.as_u16(),
        }),
    };
    let details = status
        .as_object_mut()
        .map(|s| s.entry("details").or_insert_with(|| serde_json::json!({})));
    if let Some(serde_json::Value::Object(d)) = details
        && d.get("retryAfterSeconds").and_then(|v| v.as_u64()).unwrap_or(0) == 0
    {
        d.insert("retryAfterSeconds".into(), after.into());
    }
    serde_json::to_vec(&status).unwrap_or_else(|_| body.to_vec())
}

/// An answer's body, read within the request's deadline and the size bound.
pub struct BoundedBody {
    inner: http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>,
    limit: usize,
    /// Bytes read (of a stream or log: since the last line's end).
    read: usize,
    per_line: bool,
    deadline: Option<(Pin<Box<Sleep>>, Duration)>,
}

impl HttpBody for BoundedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some((sleep, t)) = this.deadline.as_mut()
            && sleep.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Some(Err(Box::new(Exceeded::Timeout(*t)))));
        }
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        if let Some(data) = frame.data_ref() {
            this.read = match (this.per_line, data.iter().rposition(|b| *b == b'\n')) {
                (true, Some(end)) => data.len() - end - 1,
                _ => this.read + data.len(),
            };
            if this.read > this.limit {
                return Poll::Ready(Some(Err(Box::new(Exceeded::TooLarge(this.limit)))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn a_timeout_as_given_else_the_default() {
        assert_eq!(Bounds::for_timeout(None).timeout, Some(DEFAULT_REQUEST_TIMEOUT));
        assert_eq!(Bounds::for_timeout(Some(Duration::ZERO)).timeout, None);
        assert_eq!(
            Bounds::for_timeout(Some(Duration::from_secs(5))).timeout,
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn retry_after_reaches_the_status() {
        let from_proxy: Value =
            serde_json::from_slice(&with_retry_after(b"slow down\n", StatusCode::TOO_MANY_REQUESTS, 7)).unwrap();
        assert_eq!(from_proxy["details"]["retryAfterSeconds"], 7);
        assert_eq!(from_proxy["code"], 429);
        assert_eq!(from_proxy["message"], "slow down");
        let status = json!({"kind": "Status", "code": 503, "message": "m", "details": {"retryAfterSeconds": 2}});
        let kept: Value = serde_json::from_slice(&with_retry_after(
            &serde_json::to_vec(&status).unwrap(),
            StatusCode::SERVICE_UNAVAILABLE,
            9,
        ))
        .unwrap();
        // The body's own wish stands.
        assert_eq!(kept["details"]["retryAfterSeconds"], 2);
    }

    #[test]
    fn answers_are_told_apart() {
        let r = |uri: &str| shape(&Request::get(uri).body(()).unwrap());
        let cases = [
            ("/api/v1/namespaces/x/secrets?watch=true&resourceVersion=1", Shape::Open),
            ("/api/v1/secrets?allowWatchBookmarks=true&watch=1", Shape::Open),
            ("/api/v1/namespaces/x/pods/p/log?follow=true&container=c", Shape::Open),
            ("/api/v1/namespaces/x/pods/p/log?container=c&tailLines=10", Shape::Log),
            ("/api/v1/secrets?limit=500", Shape::Object),
            ("/api/v1/secrets/watch=true", Shape::Object),
            ("/api/v1/namespaces/x/configmaps/log?follow=true", Shape::Object),
        ];
        for (uri, want) in cases {
            assert_eq!(r(uri), want, "{uri}");
        }
    }
}
