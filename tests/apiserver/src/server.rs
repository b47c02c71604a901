//! The server: shared state, the request log, and request routing, exposed as a `tower::Service`
//! that a `kube::Client` can use directly and that `http` serves over TCP.

use crate::catalog::Catalog;
use crate::discovery;
use crate::faults::{Fault, FaultAction, Faults};
use crate::handlers::{self, Request};
use crate::openapi;
use crate::openapi_v2;
use crate::sim::Simulation;
use crate::status::ApiError;
use crate::store::Store;
use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Notify;

pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the server answers as its version; picks the kubectl the dispatcher runs.
#[derive(Clone, Debug)]
pub struct Settings {
    pub git_version: String,
    pub aggregated_discovery: bool,
    /// Bearer token required on every request when set.
    pub token: Option<String>,
    /// Address advertised in `/api` (`serverAddressByClientCIDRs`).
    pub server_address: String,
    /// Interval of watch bookmarks.
    pub bookmark_interval: std::time::Duration,
    /// Serve the OpenShift APIs; without them the server is a plain Kubernetes cluster.
    pub openshift_apis: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            git_version: "v1.32.4".into(),
            aggregated_discovery: true,
            token: None,
            server_address: "127.0.0.1:6443".into(),
            bookmark_interval: std::time::Duration::from_secs(1),
            openshift_apis: true,
        }
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub authorization: Option<String>,
    pub body: Option<Value>,
    pub status: u16,
    /// When the request arrived and when its answer was ready (its body not yet sent).
    pub received: std::time::Instant,
    pub answered: std::time::Instant,
}

/// Round trips: the longest chain of requests each sent after the one before it was answered,
/// which is what latency multiplies.
pub fn round_trips(log: &[LoggedRequest]) -> usize {
    let mut by_start: Vec<&LoggedRequest> = log.iter().collect();
    by_start.sort_by_key(|r| r.received);
    // depth[i]: the longest chain ending with request i.
    let mut depth = vec![0usize; by_start.len()];
    for i in 0..by_start.len() {
        depth[i] = 1
            + (0..i)
                .filter(|&j| by_start[j].answered <= by_start[i].received)
                .map(|j| depth[j])
                .max()
                .unwrap_or(0);
    }
    depth.into_iter().max().unwrap_or(0)
}

impl LoggedRequest {
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        handlers::query_pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

pub struct Shared {
    pub catalog: Catalog,
    pub store: Mutex<Store>,
    pub settings: Mutex<Settings>,
    pub log: Mutex<Vec<LoggedRequest>>,
    pub faults: Mutex<Faults>,
    pub sim: Mutex<Simulation>,
    /// Wakes every open watch so it ends (the "watch drop" fault).
    pub drop_watches: Notify,
    /// On a simulated OpenStack cloud: whether its catalog offers object storage.
    pub openstack_swift: Mutex<Option<bool>>,
    /// Until when custom resources answer `429 storage is (re)initializing`, as kube-apiserver
    /// does for seconds after their CRDs are established.
    pub custom_resources_initializing: Mutex<Option<std::time::Instant>>,
    /// Whether the garbage collector is paused, as on a cluster without a controller manager.
    pub collector_paused: std::sync::atomic::AtomicBool,
    /// Where a Service's endpoints listen (`namespace/name` → `host:port`), for webhooks that
    /// name a Service.
    pub services: Mutex<std::collections::BTreeMap<String, String>>,
    /// Containers' logs, and what wakes those who follow them.
    pub logs: Mutex<crate::logs::Logs>,
    pub log_written: crate::logs::Written,
}

/// A handle to one simulated API server. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct ApiServer {
    pub(crate) shared: Arc<Shared>,
}

impl ApiServer {
    /// An empty server (only the `default` namespace exists) with the given settings.
    pub fn new(settings: Settings) -> Self {
        let catalog = Catalog::standard(settings.openshift_apis).expect("the vendored CRDs parse");
        let shared = Arc::new(Shared {
            catalog,
            store: Mutex::new(Store::default()),
            settings: Mutex::new(settings),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
            sim: Mutex::new(Simulation::default()),
            drop_watches: Notify::new(),
            openstack_swift: Mutex::new(None),
            custom_resources_initializing: Mutex::new(None),
            collector_paused: std::sync::atomic::AtomicBool::new(false),
            services: Mutex::new(std::collections::BTreeMap::new()),
            logs: Mutex::new(crate::logs::Logs::default()),
            log_written: crate::logs::Written::default(),
        });
        let server = ApiServer { shared };
        server.seed_base();
        server
    }

    pub fn catalog(&self) -> &Catalog {
        &self.shared.catalog
    }

    /// Routes the Service `namespace/name` to `address` (`127.0.0.1:PORT`), as its endpoints
    /// would be: webhooks naming the Service are called there, as `NAME.NAMESPACE.svc`.
    pub fn route_service(&self, namespace: &str, name: &str, address: &str) {
        self.shared
            .services
            .lock()
            .unwrap()
            .insert(format!("{namespace}/{name}"), address.to_string());
    }

    /// Whether any validating webhook is configured.
    pub(crate) fn has_webhooks(&self) -> bool {
        self.shared
            .store
            .lock()
            .unwrap()
            .all()
            .any(|(k, _)| k.plural == "validatingwebhookconfigurations")
    }

    pub(crate) fn service_address(&self, namespace: &str, name: &str) -> Option<String> {
        self.shared
            .services
            .lock()
            .unwrap()
            .get(&format!("{namespace}/{name}"))
            .cloned()
    }

    /// Stops the garbage collector: foreground and orphan deletions wait, dependents of deleted
    /// owners stay, until it is resumed.
    pub fn pause_garbage_collector(&self) {
        self.shared
            .collector_paused
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Starts the garbage collector again, which catches up at once.
    pub fn resume_garbage_collector(&self) {
        self.shared
            .collector_paused
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.collect_garbage();
    }

    /// One collector pass, unless it is paused.
    pub(crate) fn collect_garbage(&self) {
        if !self.shared.collector_paused.load(std::sync::atomic::Ordering::SeqCst) {
            crate::gc::collect(&mut self.shared.store.lock().unwrap());
        }
    }

    /// For `time` from now, requests for custom resources answer `429 storage is
    /// (re)initializing` with `Retry-After: 1`, as a young kube-apiserver answers them while the
    /// storage of just-established CRDs starts.
    pub fn custom_resources_initializing(&self, time: std::time::Duration) {
        *self.shared.custom_resources_initializing.lock().unwrap() = Some(std::time::Instant::now() + time);
    }

    /// Whether `path` is a custom resource's whose storage is still starting.
    fn initializing(&self, path: &str) -> bool {
        let until = *self.shared.custom_resources_initializing.lock().unwrap();
        if until.is_none_or(|t| std::time::Instant::now() >= t) {
            return false;
        }
        let mut parts = path.trim_start_matches('/').split('/');
        let (Some("apis"), Some(group), Some(version), Some(_)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        self.shared
            .catalog
            .kinds_in(group, version)
            .iter()
            .any(|k| k.origin == crate::catalog::Origin::CustomResource)
    }

    pub fn settings(&self) -> Settings {
        self.shared.settings.lock().unwrap().clone()
    }

    pub fn update_settings(&self, f: impl FnOnce(&mut Settings)) {
        f(&mut self.shared.settings.lock().unwrap());
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Writes (POST, PUT, PATCH, DELETE) so far, oldest first.
    pub fn writes(&self) -> Vec<LoggedRequest> {
        self.requests().into_iter().filter(LoggedRequest::is_write).collect()
    }

    pub fn clear_log(&self) {
        self.shared.log.lock().unwrap().clear();
    }

    pub fn inject(&self, fault: Fault) {
        self.shared.faults.lock().unwrap().add(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.lock().unwrap().clear();
    }

    /// Ends every open watch stream, as an apiserver restart or a load balancer would.
    pub fn drop_watches(&self) {
        self.shared.drop_watches.notify_waiters();
    }

    /// Forgets watch history: resuming from any earlier resourceVersion now gets 410 Expired.
    pub fn compact(&self) {
        self.shared.store.lock().unwrap().compact();
    }

    /// How many changes watches can resume across; older positions get 410 Expired.
    pub fn set_watch_history(&self, changes: usize) {
        self.shared.store.lock().unwrap().set_history_limit(changes);
    }

    pub fn simulation(&self, f: impl FnOnce(&mut Simulation)) {
        f(&mut self.shared.sim.lock().unwrap());
    }

    /// Handles one request with a fully read body.
    pub async fn handle(&self, req: http::Request<Bytes>) -> Result<Response<Body>, BoxError> {
        let received = std::time::Instant::now();
        let (parts, body) = req.into_parts();
        let method = parts.method.as_str().to_string();
        let path = parts.uri.path().to_string();
        let query = parts.uri.query().unwrap_or_default().to_string();
        let actions = self.shared.faults.lock().unwrap().take(&method, &path);
        let mut injected: Option<ApiError> = None;
        let mut drip = None;
        for action in actions {
            match action {
                FaultAction::Latency(d) => tokio::time::sleep(d).await,
                FaultAction::ServerError {
                    code,
                    retry_after_seconds,
                } => {
                    let mut e = ApiError::service_unavailable(retry_after_seconds);
                    e.code = code;
                    if code != 503 {
                        e.reason = "InternalError";
                        e.message = "an error on the server has prevented the request from succeeding".into();
                    }
                    injected = Some(e);
                }
                FaultAction::Conflict => injected = Some(ApiError::new(409, "Conflict", conflict_message(&path))),
                FaultAction::DropConnection => {
                    self.log(received, &parts.headers, &method, &path, &query, &body, 0);
                    return Err("connection dropped by injected fault".into());
                }
                FaultAction::Garbage(text) => {
                    self.log(received, &parts.headers, &method, &path, &query, &body, 200);
                    return Ok(Response::builder()
                        .status(StatusCode::OK)
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(full(Bytes::from_static(text.as_bytes())))
                        .expect("valid response"));
                }
                FaultAction::Huge(size) => {
                    self.log(received, &parts.headers, &method, &path, &query, &body, 200);
                    return Ok(Response::builder()
                        .status(StatusCode::OK)
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(huge_object(size))
                        .expect("valid response"));
                }
                FaultAction::Drip(every) => drip = Some(every),
                FaultAction::ProxyThrottle { retry_after_seconds } => {
                    self.log(received, &parts.headers, &method, &path, &query, &body, 429);
                    return Ok(Response::builder()
                        .status(StatusCode::TOO_MANY_REQUESTS)
                        .header(header::CONTENT_TYPE, "text/plain")
                        .header(header::RETRY_AFTER, retry_after_seconds.to_string())
                        .body(full(Bytes::from_static(b"Too Many Requests\n")))
                        .expect("valid response"));
                }
            }
        }
        if injected.is_none() && self.initializing(&path) {
            let mut e = ApiError::new(429, "TooManyRequests", "storage is (re)initializing");
            e.retry_after = Some(1);
            e.details = Some(serde_json::json!({"retryAfterSeconds": 1}));
            injected = Some(e);
        }
        let response = match injected {
            Some(e) => error_response(&e),
            None => {
                self.route(&parts.method, &path, &query, &parts.headers, body.clone())
                    .await
            }
        };
        self.log(
            received,
            &parts.headers,
            &method,
            &path,
            &query,
            &body,
            response.status().as_u16(),
        );
        Ok(match drip {
            Some(every) => dripping(response, every).await,
            None => response,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn log(
        &self,
        received: std::time::Instant,
        headers: &HeaderMap,
        method: &str,
        path: &str,
        query: &str,
        body: &Bytes,
        status: u16,
    ) {
        let h = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let parsed = if body.is_empty() {
            None
        } else {
            serde_json::from_slice(body)
                .ok()
                .or_else(|| Some(Value::String(String::from_utf8_lossy(body).into_owned())))
        };
        self.shared.log.lock().unwrap().push(LoggedRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            user_agent: h(header::USER_AGENT),
            content_type: h(header::CONTENT_TYPE),
            accept: h(header::ACCEPT),
            authorization: h(header::AUTHORIZATION),
            body: parsed,
            status,
            received,
            answered: std::time::Instant::now(),
        });
    }

    async fn route(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response<Body> {
        let settings = self.settings();
        if path == "/v3/auth/tokens" && method == Method::POST {
            return self.keystone_tokens(&body);
        }
        if let Some(token) = &settings.token {
            let expected = format!("Bearer {token}");
            let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            if given != Some(expected.as_str()) {
                return error_response(&ApiError::unauthorized());
            }
        }
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let segs: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        let catalog = &self.shared.catalog;
        let aggregated = if settings.aggregated_discovery {
            discovery::aggregated_version(accept)
        } else {
            None
        };
        if method != Method::GET
            && segs
                .first()
                .is_some_and(|s| matches!(*s, "version" | "openapi" | "healthz" | "readyz" | "livez"))
        {
            return error_response(&ApiError::method_not_allowed(method.as_str()));
        }
        match segs.as_slice() {
            ["version"] => json_response(StatusCode::OK, &version_info(&settings.git_version)),
            ["healthz" | "readyz" | "livez"] => text_response(StatusCode::OK, "ok"),
            ["api"] => match aggregated {
                Some(v) => discovery_response(&discovery::aggregated(catalog, true, v), v),
                None => json_response(StatusCode::OK, &discovery::api_versions(&settings.server_address)),
            },
            ["apis"] => match aggregated {
                Some(v) => discovery_response(&discovery::aggregated(catalog, false, v), v),
                None => json_response(StatusCode::OK, &discovery::api_group_list(catalog)),
            },
            ["api", v] => optional(discovery::api_resource_list(catalog, "", v)),
            ["apis", g] => optional(discovery::api_group_doc(catalog, g)),
            ["apis", g, v] => optional(discovery::api_resource_list(catalog, g, v)),
            ["openapi", "v2"] => {
                let accept = headers
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if accept.contains("protobuf") {
                    Response::builder()
                        .status(StatusCode::OK)
                        .header(header::CONTENT_TYPE, openapi_v2::PROTOBUF)
                        .body(full(openapi_v2::protobuf(catalog, &settings.git_version)))
                        .expect("valid response")
                } else {
                    json_response(StatusCode::OK, &openapi_v2::json(catalog, &settings.git_version))
                }
            }
            ["openapi", "v3"] => json_response(StatusCode::OK, &openapi::index(catalog, &settings.git_version)),
            ["openapi", "v3", "api", v] => {
                optional(known_gv(catalog, "", v).then(|| openapi::document(catalog, "", v, &settings.git_version)))
            }
            ["openapi", "v3", "apis", g, v] => {
                optional(known_gv(catalog, g, v).then(|| openapi::document(catalog, g, v, &settings.git_version)))
            }
            ["api", v, rest @ ..] => self.resource(method, "", v, rest, query, headers, body).await,
            ["apis", g, v, rest @ ..] => self.resource(method, g, v, rest, query, headers, body).await,
            _ => error_response(&ApiError::path_not_found()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn resource(
        &self,
        method: &Method,
        group: &str,
        version: &str,
        rest: &[&str],
        query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response<Body> {
        let catalog = &self.shared.catalog;
        let namespaced_kind = |plural: &str| catalog.find(group, version, plural).filter(|k| k.namespaced);
        let (namespace, plural, name, sub) = match rest {
            ["namespaces", ns, plural, tail @ ..] if namespaced_kind(plural).is_some() => (
                Some(ns.to_string()),
                *plural,
                tail.first().copied(),
                tail.get(1).copied(),
            ),
            [plural, tail @ ..] => (None, *plural, tail.first().copied(), tail.get(1).copied()),
            [] => return error_response(&ApiError::path_not_found()),
        };
        let Some(kind) = catalog.find(group, version, plural) else {
            return error_response(&ApiError::path_not_found());
        };
        if rest.len() > 5 || (kind.namespaced && namespace.is_none() && name.is_some()) {
            return error_response(&ApiError::path_not_found());
        }
        let token_request = |s: &str| s == "token" && kind.group.is_empty() && kind.plural == "serviceaccounts";
        let pod_log = |s: &str| s == "log" && kind.group.is_empty() && kind.plural == "pods";
        if let Some(s) = sub
            && !(s == "status" && kind.status_subresource)
            && !(token_request(s) && *method == Method::POST)
            && !(pod_log(s) && *method == Method::GET)
        {
            return error_response(&ApiError::path_not_found());
        }
        let request = Request {
            kind,
            namespace,
            name: name.map(str::to_string),
            subresource: sub.map(str::to_string),
            query: handlers::query_pairs(query),
            headers: headers.clone(),
            body,
        };
        handlers::dispatch(self, method, request).await
    }
}

fn known_gv(catalog: &Catalog, group: &str, version: &str) -> bool {
    !catalog.kinds_in(group, version).is_empty()
}

fn conflict_message(path: &str) -> String {
    format!(
        "Operation cannot be fulfilled on {path}: the object has been modified; please apply your changes to the latest version and try again"
    )
}

pub fn version_info(git_version: &str) -> Value {
    let trimmed = git_version.trim_start_matches('v');
    let mut parts = trimmed.split('.');
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("0");
    json!({
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `{"kind":"Config",…,"padding":"xxx…"}`, `size` bytes, sent in 64 KiB pieces as it is made.
fn huge_object(size: usize) -> Body {
    const HEAD: &[u8] = br#"{"apiVersion":"imageregistry.operator.openshift.io/v1","kind":"Config","metadata":{"name":"cluster"},"padding":""#;
    const TAIL: &[u8] = br#""}"#;
    const PIECE: usize = 64 << 10;
    let pad = size.saturating_sub(HEAD.len() + TAIL.len());
    let pieces = futures::stream::iter(
        std::iter::once(Bytes::from_static(HEAD))
            .chain((0..pad.div_ceil(PIECE)).map(move |i| Bytes::from(vec![b'x'; PIECE.min(pad - i * PIECE)])))
            .chain(std::iter::once(Bytes::from_static(TAIL)))
            .map(|b| Ok::<_, std::io::Error>(Frame::data(b))),
    );
    StreamBody::new(pieces).boxed_unsync()
}

/// `response` with its body sent one byte per `every`.
async fn dripping(response: Response<Body>, every: Duration) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let drops = futures::stream::unfold(0, move |i| {
        let bytes = bytes.clone();
        async move {
            if i >= bytes.len() {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((Ok::<_, std::io::Error>(Frame::data(bytes.slice(i..i + 1))), i + 1))
        }
    });
    let mut parts = parts;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, StreamBody::new(drops).boxed_unsync())
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

pub fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header("Audit-Id", uuid::Uuid::new_v4().to_string())
        .body(full(serde_json::to_vec(value).expect("serialisable")))
        .expect("valid response")
}

fn text_response(status: StatusCode, text: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(full(text))
        .expect("valid response")
}

fn discovery_response(value: &Value, version: &str) -> Response<Body> {
    let mut r = json_response(StatusCode::OK, value);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        discovery::aggregated_content_type(version)
            .parse()
            .expect("valid header"),
    );
    r
}

fn optional(doc: Option<Value>) -> Response<Body> {
    match doc {
        Some(d) => json_response(StatusCode::OK, &d),
        None => error_response(&ApiError::path_not_found()),
    }
}

pub fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = json_response(
        StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &e.to_status(),
    );
    if let Some(s) = e.retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, s.to_string().parse().expect("valid header"));
    }
    r
}

impl<B> tower::Service<http::Request<B>> for ApiServer
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let server = self.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = body.collect().await.map_err(Into::into)?.to_bytes();
            server.handle(http::Request::from_parts(parts, bytes)).await
        })
    }
}
