//! What the stand-ins for cloud APIs with no emulator share: their JSON answers, and forwarding
//! what they do not answer themselves to the real service behind them.

use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioExecutor;

/// One call as the stand-in saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub body: serde_json::Value,
}

/// A JSON answer.
pub fn reply(status: u16, body: serde_json::Value) -> Response<Full<bytes::Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body.to_string().into()))
        .unwrap()
}

/// Sends the request (`parts`, `body`) to `base` with the same method, path, query and headers,
/// and returns the answer as it came.
pub async fn forward(parts: &http::request::Parts, body: bytes::Bytes, base: &str) -> Response<Full<bytes::Bytes>> {
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector);
    let mut request = Request::builder().method(parts.method.clone()).uri(format!(
        "{base}{}",
        parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    ));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = client.request(request.body(Full::new(body)).unwrap()).await.unwrap();
    let (parts, body) = answer.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut out = Response::builder().status(parts.status);
    for (name, value) in &parts.headers {
        if name != "content-length" && name != "transfer-encoding" {
            out = out.header(name, value);
        }
    }
    out.body(Full::new(body)).unwrap()
}
