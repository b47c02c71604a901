//! A stand-in for the IBM Cloud APIs no emulator exists for — IAM's API-key exchange, Resource
//! Manager's resource groups, Resource Controller's instances and keys — written from IBM's API
//! reference, in front of moto for the COS S3 API. What rests on it: that the product calls
//! those APIs in the documented shapes and order, and COS's rule that a bucket's
//! `LocationConstraint` is the endpoint's location plus a storage class (moto wants the bare
//! region: the constraint is checked here, then rewritten). Everything about the bucket itself
//! rests on moto.

use super::stand_in::{forward, reply};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub const ACCOUNT: &str = "0c8a51d2sim7xk2p";
pub const RESOURCE_GROUP_ID: &str = "rg-5e3f1a";
/// COS's storage classes, as a location constraint's suffix.
const CLASSES: &[&str] = &["smart", "standard", "vault", "cold"];

#[derive(Default)]
pub struct State {
    pub api_key: String,
    pub resource_group: String,
    pub instances: Vec<Value>,
    pub keys: Vec<Value>,
    /// Every call, as `METHOD path`, S3 calls included.
    pub calls: Vec<String>,
}

pub struct IbmCloud {
    pub url: String,
    pub state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for IbmCloud {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn query(uri: &hyper::Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), decode(v)))
        .collect()
}

fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&v[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn token() -> String {
    use base64::Engine as _;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2ltdWxhdGVk",
        b64(json!({"alg": "RS256", "kid": "sim"})),
        b64(json!({"account": {"bss": ACCOUNT}, "iam_id": "iam-ServiceId-sim"}))
    )
}

impl IbmCloud {
    /// Serves on 127.0.0.1, accepting `api_key`, with one resource group, forwarding the COS S3
    /// API to `moto`.
    pub async fn start(api_key: &str, resource_group: &str, moto: &str) -> IbmCloud {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            api_key: api_key.into(),
            resource_group: resource_group.into(),
            ..State::default()
        }));
        let shared = state.clone();
        let moto = moto.to_string();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, moto) = (shared.clone(), moto.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, state.clone(), moto.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        IbmCloud { url, state, task }
    }

    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    moto: String,
) -> Result<Response<Full<bytes::Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path().to_string();
    state
        .lock()
        .unwrap()
        .calls
        .push(format!("{} {}", parts.method, parts.uri));
    if path == "/identity/token" {
        let form = query(&format!("/?{}", String::from_utf8_lossy(&body)).parse().unwrap());
        let good = form.get("grant_type").map(String::as_str) == Some("urn:ibm:params:oauth:grant-type:apikey")
            && form.get("apikey") == Some(&state.lock().unwrap().api_key);
        return Ok(match good {
            true => reply(
                200,
                json!({"access_token": token(), "token_type": "Bearer", "expires_in": 3600}),
            ),
            false => reply(
                400,
                json!({"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."}),
            ),
        });
    }
    if !path.starts_with("/v2/resource_") {
        return Ok(cos(parts, body, &moto).await);
    }
    let bearer = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", token()));
    if !bearer {
        return Ok(reply(
            401,
            json!({"message": "The IAM token is missing or invalid", "status_code": 401}),
        ));
    }
    let q = query(&parts.uri);
    let mut s = state.lock().unwrap();
    let input: Value = serde_json::from_slice(&body).unwrap_or_default();
    let method = parts.method.as_str();
    let out = match (method, path.as_str()) {
        ("GET", "/v2/resource_groups") => {
            let found =
                q.get("account_id").map(String::as_str) == Some(ACCOUNT) && q.get("name") == Some(&s.resource_group);
            let resources = match found {
                true => json!([{"id": RESOURCE_GROUP_ID, "name": s.resource_group, "account_id": ACCOUNT}]),
                false => json!([]),
            };
            reply(200, json!({"resources": resources}))
        }
        ("GET", "/v2/resource_instances") => {
            let matching: Vec<Value> = s
                .instances
                .iter()
                .filter(|i| Some(i["name"].as_str().unwrap_or_default()) == q.get("name").map(String::as_str))
                .filter(|i| i["resource_group_id"].as_str() == q.get("resource_group_id").map(String::as_str))
                .cloned()
                .collect();
            reply(200, json!({"rows_count": matching.len(), "resources": matching}))
        }
        ("POST", "/v2/resource_instances") => {
            if input["resource_group"] != RESOURCE_GROUP_ID || input["name"].as_str().unwrap_or_default().is_empty() {
                reply(
                    400,
                    json!({"message": "resource_group and name are required", "status_code": 400}),
                )
            } else {
                let n = s.instances.len() + 1;
                let instance = json!({
                    "crn": format!("crn:v1:bluemix:public:cloud-object-storage:global:a/{ACCOUNT}:0000000{n}-sim::"),
                    "name": input["name"], "state": "active", "resource_group_id": RESOURCE_GROUP_ID,
                    "resource_plan_id": input["resource_plan_id"], "target": input["target"], "tags": input["tags"],
                });
                s.instances.push(instance.clone());
                reply(201, instance)
            }
        }
        ("POST", "/v2/resource_keys") => {
            let source = input["source"].as_str().unwrap_or_default();
            if !s.instances.iter().any(|i| i["crn"] == source) {
                reply(
                    404,
                    json!({"message": format!("instance {source} not found"), "status_code": 404}),
                )
            } else {
                let n = s.keys.len() + 1;
                let mut credentials = json!({"iam_role_crn": input["role"], "apikey": "simulated-service-key"});
                if input["parameters"]["HMAC"] == true {
                    credentials["cos_hmac_keys"] = json!({
                        "access_key_id": format!("AKIACOSHMAC00000000{n}"),
                        "secret_access_key": format!("cos-hmac-secret-{n}"),
                    });
                }
                let instance_id = source.trim_end_matches("::").rsplit(':').next().unwrap_or_default();
                let key = json!({
                    "crn": format!("crn:v1:bluemix:public:cloud-object-storage:global:a/{ACCOUNT}:{instance_id}:resource-key:key-{n}"),
                    "name": input["name"], "source_crn": source, "credentials": credentials,
                });
                s.keys.push(key.clone());
                reply(201, key)
            }
        }
        ("GET", p) => {
            let (collection, id) = p.trim_start_matches("/v2/").split_once('/').unwrap_or_default();
            let id = decode(id);
            let list = if collection == "resource_instances" {
                &s.instances
            } else {
                &s.keys
            };
            match list.iter().find(|o| o["crn"] == id.as_str()) {
                Some(o) => reply(200, o.clone()),
                None => reply(404, json!({"message": format!("{id} not found"), "status_code": 404})),
            }
        }
        _ => reply(404, json!({"message": "no such API", "status_code": 404})),
    };
    Ok(out)
}

/// The COS S3 API: a bucket's constraint must be the location the request is signed for plus a
/// storage class; then moto (which wants the bare region) serves it.
async fn cos(parts: http::request::Parts, body: bytes::Bytes, moto: &str) -> Response<Full<bytes::Bytes>> {
    let mut body = body.to_vec();
    let signed_for = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or_default()
        .to_string();
    let text = String::from_utf8_lossy(&body).into_owned();
    let creating = parts.method == "PUT"
        && parts.uri.query().is_none()
        && parts.uri.path().trim_end_matches('/').matches('/').count() == 1;
    if creating && let Some(constraint) = between(&text, "<LocationConstraint>", "</LocationConstraint>") {
        let valid = CLASSES.iter().any(|c| constraint == format!("{signed_for}-{c}"));
        if !valid {
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidLocationConstraint</Code>\
                 <Message>The specified location-constraint is not valid</Message><Resource>{constraint}</Resource></Error>"
            );
            return Response::builder()
                .status(400)
                .header("content-type", "application/xml")
                .body(Full::new(xml.into()))
                .unwrap();
        }
        body = text.replace(&constraint, &signed_for).into_bytes();
    }
    forward(&parts, body.into(), moto).await
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_string())
}
