//! The REST verbs on resources: get, list, watch, create, update, patch, delete, deletecollection,
//! with resourceVersion preconditions, subresources, dry run, field validation, managed fields and
//! finalizers handled the way kube-apiserver handles them.

use crate::admission::{self, FieldValidation};
use crate::apply::{self, Writer};
use crate::catalog::{Origin, ResourceKind};
use crate::gc::Propagation;
use crate::lists::ListSemantics;
use crate::patch;
use crate::selectors::{FieldSelector, LabelSelector, supported_fields};
use crate::server::{ApiServer, Body, error_response, json_response};
use crate::status::{ApiError, ApiResult, success_status};
use crate::store::{ObjectKey, Store};
use crate::{table, watch};
use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, header};
use serde_json::{Value, json};
use std::sync::{Arc, MutexGuard};

pub struct Request {
    pub kind: Arc<ResourceKind>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Request {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.param(key), Some("true" | "1"))
    }

    fn dry_run(&self) -> bool {
        self.query.iter().any(|(k, v)| k == "dryRun" && v == "All")
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The field manager: the `fieldManager` parameter, else the User-Agent's product name.
    fn manager(&self) -> String {
        if let Some(m) = self.param("fieldManager").filter(|m| !m.is_empty()) {
            return m.to_string();
        }
        let ua = self.header(header::USER_AGENT);
        let prefix = ua.split('/').next().unwrap_or_default();
        if prefix.is_empty() {
            "unknown".into()
        } else {
            prefix.chars().take(128).collect()
        }
    }

    fn namespace_str(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }

    fn key(&self, name: &str) -> ObjectKey {
        ObjectKey::new(&self.kind.group, &self.kind.plural, self.namespace_str(), name)
    }
}

pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The write `req` would make, run as a dry run, for the admission webhooks to judge.
async fn admission_review(server: &ApiServer, method: &Method, req: &Request) -> ApiResult<Vec<String>> {
    let writes =
        matches!(method.as_str(), "POST" | "PUT" | "PATCH") || (method == Method::DELETE && req.name.is_some());
    if !writes || !server.has_webhooks() {
        return Ok(Vec::new());
    }
    let mut query = req.query.clone();
    if !req.dry_run() {
        query.push(("dryRun".into(), "All".into()));
    }
    let rehearsal = Request {
        kind: req.kind.clone(),
        namespace: req.namespace.clone(),
        name: req.name.clone(),
        subresource: req.subresource.clone(),
        query,
        headers: req.headers.clone(),
        body: req.body.clone(),
    };
    let old = req.name.as_deref().and_then(|name| {
        let key = req.key(name);
        server.shared.store.lock().unwrap().get(&key).cloned()
    });
    let (operation, object) = match method.as_str() {
        "DELETE" => ("DELETE", None),
        other => {
            let rehearsed = match other {
                "POST" => create(server, &rehearsal),
                "PUT" => update(server, &rehearsal),
                _ => patch_object(server, &rehearsal),
            };
            // The real request answers with the same error.
            let Ok(reply) = rehearsed else { return Ok(Vec::new()) };
            (if old.is_some() { "UPDATE" } else { "CREATE" }, Some(reply.body))
        }
    };
    let name = object
        .as_ref()
        .or(old.as_ref())
        .and_then(|o| o.pointer("/metadata/name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let attempt = crate::webhooks::Attempt {
        kind: &req.kind,
        subresource: req.subresource.as_deref(),
        namespace: req.namespace_str(),
        name: &name,
        operation,
        object,
        old_object: old,
        dry_run: req.dry_run(),
        user: "kubernetes-admin",
    };
    crate::webhooks::validate(server, &attempt).await
}

pub async fn dispatch(server: &ApiServer, method: &Method, req: Request) -> Response<Body> {
    let webhook_warnings = match admission_review(server, method, &req).await {
        Ok(warnings) => warnings,
        Err(e) => return error_response(&e),
    };
    let result = match (method.as_str(), req.name.is_some()) {
        ("GET", false) if req.flag("watch") => return watch::serve(server, req),
        ("GET", true) if req.subresource.as_deref() == Some("log") && req.kind.plural == "pods" => {
            return crate::logs::serve(server, &req);
        }
        ("GET", false) => list(server, &req),
        ("GET", true) => get(server, &req),
        ("POST", false) => create(server, &req),
        ("POST", true) if req.subresource.as_deref() == Some("token") => token_request(server, &req),
        ("PUT", true) => update(server, &req),
        ("PATCH", true) => patch_object(server, &req),
        ("DELETE", true) => delete(server, &req),
        ("DELETE", false) => delete_collection(server, &req),
        (m, _) => Err(ApiError::method_not_allowed(m)),
    };
    if result.is_ok() && method != Method::GET {
        server.collect_garbage();
    }
    match result {
        Ok(mut reply) => {
            reply.warnings.extend(webhook_warnings);
            reply.into_response()
        }
        Err(e) => error_response(&e),
    }
}

struct Reply {
    status: StatusCode,
    body: Value,
    warnings: Vec<String>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Reply {
            status: StatusCode::OK,
            body,
            warnings: Vec::new(),
        }
    }

    fn into_response(self) -> Response<Body> {
        let mut r = json_response(self.status, &self.body);
        for w in self.warnings {
            let value = format!("299 - {}", serde_json::to_string(&w).expect("string"));
            if let Ok(v) = value.parse() {
                r.headers_mut().append(header::WARNING, v);
            }
        }
        r
    }
}

/// Objects as the API returns them: custom resources carry apiVersion/kind in lists too.
fn with_type(kind: &ResourceKind, mut obj: Value) -> Value {
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(kind.api_version()));
        m.insert("kind".into(), json!(kind.kind));
    }
    obj
}

fn get(server: &ApiServer, req: &Request) -> ApiResult<Reply> {
    let name = req.name.as_deref().expect("named");
    let store = server.shared.store.lock().unwrap();
    let obj = store
        .get(&req.key(name))
        .ok_or_else(|| ApiError::not_found(&req.kind, name))?;
    let obj = with_type(&req.kind, obj.clone());
    if wants_table(req) {
        return Ok(Reply::ok(table::render(
            &req.kind,
            &[obj],
            store.current_rv(),
            req.param("includeObject"),
        )));
    }
    Ok(Reply::ok(obj))
}

fn wants_table(req: &Request) -> bool {
    req.header(header::ACCEPT)
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

pub fn selectors(req: &Request) -> ApiResult<(LabelSelector, FieldSelector)> {
    let labels = LabelSelector::parse(req.param("labelSelector").unwrap_or_default())?;
    let fields = FieldSelector::parse(
        req.param("fieldSelector").unwrap_or_default(),
        &supported_fields(&req.kind.plural),
    )?;
    Ok((labels, fields))
}

pub fn matching<'s>(store: &'s Store, req: &Request, labels: &LabelSelector, fields: &FieldSelector) -> Vec<&'s Value> {
    store
        .list(&req.kind.group, &req.kind.plural, req.namespace.as_deref())
        .into_iter()
        .filter(|o| labels.matches(o.pointer("/metadata/labels")) && fields.matches(o))
        .collect()
}

fn list(server: &ApiServer, req: &Request) -> ApiResult<Reply> {
    let (labels, fields) = selectors(req)?;
    let store = server.shared.store.lock().unwrap();
    let all = matching(&store, req, &labels, &fields);
    let offset: usize = req
        .param("continue")
        .and_then(|c| c.split_once('/'))
        .and_then(|(_, o)| o.parse().ok())
        .unwrap_or(0);
    let limit: usize = req
        .param("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|o| with_type(&req.kind, (*o).clone()))
        .collect();
    let rv = store.current_rv();
    if wants_table(req) {
        return Ok(Reply::ok(table::render(
            &req.kind,
            &page,
            rv,
            req.param("includeObject"),
        )));
    }
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if offset + page.len() < all.len() {
        metadata["continue"] = json!(format!("{rv}/{}", offset + page.len()));
        metadata["remainingItemCount"] = json!(all.len() - offset - page.len());
    }
    let items: Vec<Value> = if req.kind.origin == Origin::BuiltIn {
        page.into_iter()
            .map(|mut o| {
                if let Some(m) = o.as_object_mut() {
                    m.remove("apiVersion");
                    m.remove("kind");
                }
                o
            })
            .collect()
    } else {
        page
    };
    Ok(Reply::ok(json!({
        "kind": format!("{}List", req.kind.kind),
        "apiVersion": req.kind.api_version(),
        "metadata": metadata,
        "items": items,
    })))
}

fn decode_body(req: &Request) -> ApiResult<Value> {
    let ct = req.header(header::CONTENT_TYPE);
    if ct.contains("protobuf") {
        return Err(ApiError::unsupported_media_type(
            ct,
            &["application/json", "application/yaml"],
        ));
    }
    if ct.contains("yaml") {
        let text = std::str::from_utf8(&req.body).map_err(|e| ApiError::bad_request(e.to_string()))?;
        return serde_json::from_str(text)
            .or_else(|_| serde_saphyr::from_str::<Value>(text))
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}")))
}

/// Checks the body's type against the URL's, filling in what is absent.
fn check_type(kind: &ResourceKind, obj: &mut Value) -> ApiResult<()> {
    let map = obj
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the request body must be a JSON object"))?;
    let api_version = kind.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v != api_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
        _ => {}
    }
    match map.get("kind").and_then(Value::as_str) {
        Some(k) if k != kind.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                kind.kind
            )));
        }
        _ => {}
    }
    map.insert("apiVersion".into(), json!(api_version));
    map.insert("kind".into(), json!(kind.kind));
    if !map.get("metadata").is_some_and(Value::is_object) {
        map.insert("metadata".into(), json!({}));
    }
    Ok(())
}

fn check_namespace(store: &Store, req: &Request, obj: &mut Value) -> ApiResult<()> {
    if !req.kind.namespaced {
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("namespace");
        }
        return Ok(());
    }
    let ns = req.namespace_str();
    match obj.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(body_ns) if !body_ns.is_empty() && body_ns != ns => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        _ => {}
    }
    obj["metadata"]["namespace"] = json!(ns);
    if store.get(&ObjectKey::new("", "namespaces", "", ns)).is_none() {
        return Err(ApiError::namespace_not_found(ns));
    }
    Ok(())
}

/// `serviceaccounts/NAME/token`: a TokenRequest answered with a token for an existing service
/// account, valid for `spec.expirationSeconds` (an hour when not asked). The token is opaque here;
/// this server does not authenticate with it.
fn token_request(server: &ApiServer, req: &Request) -> ApiResult<Reply> {
    let (namespace, name) = (
        req.namespace.clone().unwrap_or_default(),
        req.name.clone().unwrap_or_default(),
    );
    let exists = server
        .shared
        .store
        .lock()
        .unwrap()
        .get(&ObjectKey::new("", "serviceaccounts", &namespace, &name))
        .is_some();
    if !exists {
        return Err(ApiError::not_found(&req.kind, &name));
    }
    let request = if req.body.is_empty() {
        json!({})
    } else {
        decode_body(req)?
    };
    let seconds = request
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(3600);
    if seconds < 600 {
        return Err(ApiError::new(
            422,
            "Invalid",
            format!(
                "TokenRequest.authentication.k8s.io \"{name}\" is invalid: spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration less than 10 minutes"
            ),
        ));
    }
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds);
    let mut spec = request.get("spec").cloned().unwrap_or_else(|| json!({}));
    spec["expirationSeconds"] = json!(seconds);
    Ok(Reply {
        status: StatusCode::CREATED,
        body: json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": now()},
            "spec": spec,
            "status": {
                "token": format!("sim-token.{namespace}.{name}.{}", uuid::Uuid::new_v4().simple()),
                "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            },
        }),
        warnings: Vec::new(),
    })
}

pub fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn create(server: &ApiServer, req: &Request) -> ApiResult<Reply> {
    if req.subresource.is_some() {
        return Err(ApiError::method_not_allowed("POST"));
    }
    let mut obj = decode_body(req)?;
    check_type(&req.kind, &mut obj)?;
    let store = server.shared.store.lock().unwrap();
    check_namespace(&store, req, &mut obj)?;
    if let Some(prefix) = obj
        .pointer("/metadata/generateName")
        .and_then(Value::as_str)
        .map(str::to_string)
        && obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        let suffix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(5).collect();
        obj["metadata"]["name"] = json!(format!("{prefix}{suffix}"));
    }
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        return Err(ApiError::invalid(
            &req.kind,
            "",
            &[crate::field::FieldError::required(
                &crate::field::FieldPath::root().child("metadata").child("name"),
                "name or generateName is required",
            )],
        ));
    }
    let key = req.key(&name);
    if store.get(&key).is_some() {
        return Err(ApiError::already_exists(&req.kind, &name));
    }
    WriteCtx::new(server, req).write(store, None, key, obj, StatusCode::CREATED)
}

/// Everything a write needs to know about its request.
struct WriteCtx<'a> {
    server: &'a ApiServer,
    req: &'a Request,
    lists: ListSemantics<'a>,
    schema: &'a Value,
    manager: String,
    api_version: String,
    now: String,
}

impl<'a> WriteCtx<'a> {
    fn new(server: &'a ApiServer, req: &'a Request) -> Self {
        let catalog = &server.shared.catalog;
        WriteCtx {
            server,
            req,
            lists: ListSemantics::new(catalog, &req.kind),
            schema: catalog.schema_of(&req.kind),
            manager: req.manager(),
            api_version: req.kind.api_version(),
            now: now(),
        }
    }

    fn writer(&self) -> Writer<'_> {
        Writer {
            manager: &self.manager,
            api_version: &self.api_version,
            subresource: self.req.subresource.as_deref(),
            now: &self.now,
        }
    }

    fn validation(&self) -> ApiResult<FieldValidation> {
        FieldValidation::parse(self.req.param("fieldValidation"))
    }

    /// Subresource rules, system metadata, pruning, defaulting, validation and generation.
    fn prepare(&self, old: Option<&Value>, new: Value) -> ApiResult<(Value, Vec<String>)> {
        let kind = &self.req.kind;
        let mut new = admission::scope_to_subresource(kind, self.req.subresource.as_deref(), old, new);
        admission::keep_system_metadata(old, &mut new, &self.now);
        let warnings = admission::admit(&self.server.shared.catalog, kind, old, &mut new, self.validation()?)?;
        admission::bump_generation(kind, old, &mut new);
        Ok((new, warnings))
    }

    /// The tail every write but server-side apply shares: prepare, record field ownership, store,
    /// then (outside the store lock) let the simulation react.
    fn write(
        &self,
        mut store: MutexGuard<'_, Store>,
        old: Option<&Value>,
        key: ObjectKey,
        obj: Value,
        status: StatusCode,
    ) -> ApiResult<Reply> {
        let (mut new, warnings) = self.prepare(old, obj)?;
        // A request that sets metadata.managedFields replaces the recorded ownership (`[{}]`
        // clears it), as the API server allows.
        let requested = new.pointer("/metadata/managedFields").cloned();
        let recorded = old.and_then(|o| o.pointer("/metadata/managedFields").cloned());
        let rebased = match (old, &requested) {
            (Some(o), Some(r)) if requested != recorded => {
                let mut o = o.clone();
                let entries: Vec<Value> = r
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|e| e.as_object().is_some_and(|m| !m.is_empty()))
                    .cloned()
                    .collect();
                o["metadata"]["managedFields"] = Value::Array(entries);
                Some(o)
            }
            _ => None,
        };
        let old_for_ownership = rebased.as_ref().or(old);
        apply::record_update(
            old_for_ownership,
            &mut new,
            &self.writer(),
            &self.lists,
            Some(self.schema),
        );
        let stored = self.commit(&mut store, old, key, new)?;
        drop(store);
        self.server.after_write(&self.req.kind, &stored);
        Ok(Reply {
            status,
            body: stored,
            warnings,
        })
    }

    /// Stores the result of a write, unless it changes nothing or is a dry run.
    fn commit(&self, store: &mut Store, old: Option<&Value>, key: ObjectKey, new: Value) -> ApiResult<Value> {
        let new = with_type(&self.req.kind, new);
        if let Some(old) = old
            && admission::same_ignoring_bookkeeping(old, &new)
        {
            return Ok(with_type(&self.req.kind, old.clone()));
        }
        let finished = new.pointer("/metadata/deletionTimestamp").is_some()
            && new
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
        if self.req.dry_run() {
            return Ok(new);
        }
        if finished {
            store.put(key.clone(), new);
            let removed = store.remove(&key).expect("just stored");
            return Ok(removed);
        }
        Ok(store.put(key, new))
    }
}

fn precondition(req: &Request, current: &Value, body: &Value) -> ApiResult<()> {
    let name = req.name.as_deref().unwrap_or_default();
    if let Some(rv) = body
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|rv| !rv.is_empty())
        && Some(rv) != current.pointer("/metadata/resourceVersion").and_then(Value::as_str)
    {
        return Err(ApiError::conflict(&req.kind, name));
    }
    if let Some(uid) = body
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        && Some(uid) != current.pointer("/metadata/uid").and_then(Value::as_str)
    {
        return Err(ApiError::conflict(&req.kind, name));
    }
    Ok(())
}

fn update(server: &ApiServer, req: &Request) -> ApiResult<Reply> {
    let name = req.name.clone().expect("named");
    let mut obj = decode_body(req)?;
    check_type(&req.kind, &mut obj)?;
    let body_name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let store = server.shared.store.lock().unwrap();
    check_namespace(&store, req, &mut obj)?;
    let key = req.key(&name);
    let current = store
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&req.kind, &name))?;
    let rv_given = obj
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if !rv_given && req.kind.origin != Origin::BuiltIn {
        return Err(ApiError::invalid(
            &req.kind,
            &name,
            &[crate::field::FieldError::invalid(
                &crate::field::FieldPath::root()
                    .child("metadata")
                    .child("resourceVersion"),
                &json!(0),
                "must be specified for an update",
            )],
        ));
    }
    precondition(req, &current, &obj)?;
    WriteCtx::new(server, req).write(store, Some(&current), key, obj, StatusCode::OK)
}

fn patch_object(server: &ApiServer, req: &Request) -> ApiResult<Reply> {
    let name = req.name.clone().expect("named");
    let content_type = req
        .header(header::CONTENT_TYPE)
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let mut accepted = vec![patch::JSON, patch::MERGE, patch::APPLY];
    if req.kind.origin != Origin::CustomResource {
        accepted.insert(2, patch::STRATEGIC);
    }
    if !accepted.contains(&content_type.as_str()) {
        return Err(ApiError::unsupported_media_type(&content_type, &accepted));
    }
    let body = if content_type == patch::APPLY {
        decode_apply_body(req)?
    } else {
        serde_json::from_slice::<Value>(&req.body).map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    let mut store = server.shared.store.lock().unwrap();
    let key = req.key(&name);
    let current = store.get(&key).cloned();
    let ctx = WriteCtx::new(server, req);
    if content_type == patch::APPLY {
        let reply = server_side_apply(server, req, &ctx, &mut store, key, current, body)?;
        // The simulation writes to the store itself: only once the lock is released.
        drop(store);
        server.after_write(&req.kind, &reply.body);
        return Ok(reply);
    }
    let current = current.ok_or_else(|| ApiError::not_found(&req.kind, &name))?;
    let mut patched = current.clone();
    match content_type.as_str() {
        patch::MERGE => patch::merge_patch(&mut patched, &body)?,
        patch::JSON => patch::json_patch(&mut patched, &body)?,
        _ => patch::strategic_merge(&mut patched, &body, &ctx.lists, Some(ctx.schema))?,
    }
    check_type(&req.kind, &mut patched)?;
    check_namespace(&store, req, &mut patched)?;
    precondition(req, &current, &patched)?;
    if patched.pointer("/metadata/name").and_then(Value::as_str) != Some(name.as_str()) {
        return Err(ApiError::bad_request("metadata.name cannot be changed by a patch"));
    }
    ctx.write(store, Some(&current), key, patched, StatusCode::OK)
}

fn decode_apply_body(req: &Request) -> ApiResult<Value> {
    let text = std::str::from_utf8(&req.body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut v: Value = serde_json::from_str(text)
        .or_else(|_| serde_saphyr::from_str::<Value>(text))
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    let name = req.name.as_deref().unwrap_or_default();
    if v.get("apiVersion").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(ApiError::bad_request("invalid object type: /, Kind=").with_details(json!({"name": name})));
    }
    check_type(&req.kind, &mut v)?;
    match v.pointer("/metadata/name").and_then(Value::as_str) {
        Some(n) if n == name => Ok(v),
        Some(n) => Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        ))),
        None => {
            v["metadata"]["name"] = json!(name);
            Ok(v)
        }
    }
}

fn server_side_apply(
    server: &ApiServer,
    req: &Request,
    ctx: &WriteCtx,
    store: &mut Store,
    key: ObjectKey,
    current: Option<Value>,
    mut applied: Value,
) -> ApiResult<Reply> {
    let name = req.name.clone().expect("named");
    if req.param("fieldManager").is_none_or(str::is_empty) {
        return Err(ApiError::bad_request(
            "PATCH, PUT and POST requests to apply configuration must set fieldManager (fieldManager is required for apply requests)",
        ));
    }
    if current.is_none() && req.subresource.is_some() {
        return Err(ApiError::not_found(&req.kind, &name));
    }
    check_namespace(store, req, &mut applied)?;
    if let Some(c) = &current {
        precondition(req, c, &applied)?;
    }
    // Unknown fields are reported (or refused) before ownership is computed, as the apiserver does.
    let mut probe = applied.clone();
    let warnings = admission::prune_only(&server.shared.catalog, &req.kind, &mut probe, ctx.validation()?)?;
    applied = probe;
    let skip_status = req.kind.status_subresource && req.subresource.is_none();
    let merged = apply::apply(
        current.as_ref(),
        &applied,
        &ctx.writer(),
        req.flag("force"),
        &ctx.lists,
        Some(ctx.schema),
        skip_status,
    )
    .map_err(|conflicts| {
        let causes = conflicts
            .iter()
            .map(|c| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{}\" using {}", c.manager, c.api_version), "field": c.field}))
            .collect();
        ApiError::apply_conflict(&req.kind, &name, apply::conflict_message(&conflicts), causes)
    })?;
    let (new, more_warnings) = ctx.prepare(current.as_ref(), merged)?;
    let created = current.is_none();
    let stored = ctx.commit(store, current.as_ref(), key, new)?;
    let mut warnings = warnings;
    warnings.extend(more_warnings);
    Ok(Reply {
        status: if created { StatusCode::CREATED } else { StatusCode::OK },
        body: stored,
        warnings,
    })
}

fn delete_options(req: &Request) -> Value {
    if req.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&req.body).unwrap_or(json!({}))
    }
}

fn delete(server: &ApiServer, req: &Request) -> ApiResult<Reply> {
    let name = req.name.clone().expect("named");
    let options = delete_options(req);
    let dry_run = req.dry_run()
        || options
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.contains(&json!("All")));
    let mut store = server.shared.store.lock().unwrap();
    let key = req.key(&name);
    let current = store
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&req.kind, &name))?;
    if let Some(pre) = options.get("preconditions") {
        let wrapped = json!({"metadata": pre});
        precondition(req, &current, &wrapped)?;
    }
    let propagation = Propagation::of(&options, req.param("propagationPolicy"))?;
    let reply = delete_one(&mut store, &req.kind, key, current, dry_run, propagation);
    Ok(Reply::ok(reply))
}

/// Deletes (or, with finalizers, marks for deletion) one object; returns what the API answers.
/// Foreground and orphan deletions wait behind their finalizer for the garbage collector.
pub fn delete_one(
    store: &mut Store,
    kind: &ResourceKind,
    key: ObjectKey,
    current: Value,
    dry_run: bool,
    propagation: Propagation,
) -> Value {
    let mut finalizers: Vec<Value> = current
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let first = current.pointer("/metadata/deletionTimestamp").is_none();
    if let Some(f) = propagation.finalizer().filter(|_| first)
        && !finalizers.contains(&json!(f))
    {
        finalizers.push(json!(f));
    }
    if !finalizers.is_empty() {
        let mut marked = current.clone();
        if first {
            marked["metadata"]["finalizers"] = json!(finalizers);
            marked["metadata"]["deletionTimestamp"] = json!(now());
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if !dry_run {
                return store.put(key, marked);
            }
        }
        return marked;
    }
    if dry_run {
        return deleted_reply(kind, current);
    }
    let removed = store.remove(&key).expect("present");
    if kind.plural == "namespaces" {
        for k in store.keys_in_namespace(&key.name) {
            store.remove(&k);
        }
    }
    deleted_reply(kind, removed)
}

fn deleted_reply(kind: &ResourceKind, removed: Value) -> Value {
    if kind.origin == Origin::BuiltIn {
        let name = removed
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        success_status(kind, name, removed.pointer("/metadata/uid").unwrap_or(&Value::Null))
    } else {
        removed
    }
}

fn delete_collection(server: &ApiServer, req: &Request) -> ApiResult<Reply> {
    let (labels, fields) = selectors(req)?;
    let dry_run = req.dry_run();
    let propagation = Propagation::of(&delete_options(req), req.param("propagationPolicy"))?;
    let mut store = server.shared.store.lock().unwrap();
    let keys: Vec<(ObjectKey, Value)> = matching(&store, req, &labels, &fields)
        .into_iter()
        .map(|o| {
            let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            (req.key(name), o.clone())
        })
        .collect();
    let mut items = Vec::new();
    for (key, obj) in keys {
        delete_one(&mut store, &req.kind, key, obj.clone(), dry_run, propagation);
        items.push(with_type(&req.kind, obj));
    }
    Ok(Reply::ok(json!({
        "kind": format!("{}List", req.kind.kind),
        "apiVersion": req.kind.api_version(),
        "metadata": {"resourceVersion": store.current_rv().to_string()},
        "items": items,
    })))
}
