//! Google Cloud for a simulated GCP cluster: gcp-storage-emulator (PyPI) serves the JSON API's
//! buckets and objects, behind a stand-in written here from Google's API reference for what no
//! emulator serves: the token service (RFC 7523: the assertion's RS256 signature is checked with
//! the service account's public key, and its issuer, audience, scope and lifetime), bearer tokens
//! on every storage call (the emulator takes any), and Resource Manager v3's tag bindings. The
//! stand-in records every call with its body, since the emulator drops labels and encryption.
//! What rests on it: the token exchange's shape, the tag bindings, and that a storage call
//! without the issued token is refused. Buckets and objects rest on the emulator.

use super::services::{self, Service};
use super::stand_in::{Call, forward, reply};
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, OnceLock};

/// The service account the simulated cluster's credentials hold.
pub const CLIENT_EMAIL: &str = "image-registry@sim-project.iam.gserviceaccount.com";
const ISSUED: &str = "ya29.simulated-access-token";

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    /// The public key (PKCS #1 DER) assertions must be signed with.
    public_key: Vec<u8>,
    bindings: Vec<Value>,
    /// Bucket names another project holds: reading one is forbidden, creating it a conflict.
    taken: Vec<String>,
    /// Storage calls still to be answered 429 (Google's rate limit), with `Retry-After: 1`.
    throttled: u32,
}

pub struct Google {
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
    _emulator: Service,
    pub emulator: String,
}

impl Drop for Google {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An RSA key in PKCS #8 PEM, made once per test process (openssl; ring cannot make RSA keys).
pub fn private_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        let out = std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
            .output()
            .expect("openssl makes the service account's key");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    })
}

/// A service-account key file for `pem` whose token service is `token_uri`.
pub fn key_file(pem: &str, token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "sim-project",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "token_uri": token_uri,
    })
    .to_string()
}

fn public_key(pem: &str) -> Vec<u8> {
    use rustls::pki_types::PrivatePkcs8KeyDer;
    use rustls::pki_types::pem::PemObject;
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    use ring::signature::KeyPair as _;
    pair.public_key().as_ref().to_vec()
}

impl Google {
    /// Starts the emulator and the stand-in, which accepts assertions signed with `pem`; `None`
    /// when the emulator is not installed (outside CI).
    pub async fn start(pem: &str) -> Option<Google> {
        let emulator = services::gcs_emulator()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            public_key: public_key(pem),
            ..State::default()
        }));
        let (shared, behind, own) = (state.clone(), emulator.url.clone(), url.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, behind, own) = (shared.clone(), behind.clone(), own.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, state.clone(), behind.clone(), own.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Some(Google {
            url,
            state,
            task,
            emulator: emulator.url.clone(),
            _emulator: emulator,
        })
    }

    /// The token service's URL, for key files.
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.url)
    }

    /// Makes `bucket` another project's, as Google answers for it.
    pub fn taken(&self, bucket: &str) {
        self.state.lock().unwrap().taken.push(bucket.into());
    }

    /// Answers the next `calls` storage calls 429, as Google does past a rate limit.
    pub fn throttle(&self, calls: u32) {
        self.state.lock().unwrap().throttled = calls;
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The environment that points the product's calls here.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            ("STORAGE_EMULATOR_HOST", self.url.clone()),
            ("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER", self.url.clone()),
        ]
    }
}

/// Why an assertion is refused, if it is.
fn refusal(assertion: &str, public_key: &[u8], audience: &str) -> Option<String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Some("not a JWT".into());
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let decoded = |part: &str| -> Option<Value> { serde_json::from_slice(&b64.decode(part).ok()?).ok() };
    let (Some(header), Some(claims), Ok(signature)) = (decoded(header), decoded(claims), b64.decode(signature)) else {
        return Some("undecodable".into());
    };
    if header["alg"] != "RS256" {
        return Some(format!("alg {}", header["alg"]));
    }
    let signed = &assertion[..assertion.rfind('.').unwrap()];
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, public_key);
    if key.verify(signed.as_bytes(), &signature).is_err() {
        return Some("Invalid JWT Signature.".into());
    }
    let now = jiff::Timestamp::now().as_second();
    let (iat, exp) = (claims["iat"].as_i64().unwrap_or(0), claims["exp"].as_i64().unwrap_or(0));
    if claims["iss"] != CLIENT_EMAIL {
        return Some(format!("issuer {}", claims["iss"]));
    }
    if claims["aud"] != audience {
        return Some(format!("audience {}", claims["aud"]));
    }
    if !claims["scope"].as_str().unwrap_or_default().contains("cloud-platform") {
        return Some(format!("scope {}", claims["scope"]));
    }
    if iat > now + 60 || exp <= now || exp - iat > 3600 {
        return Some("Invalid JWT: Token must be a short-lived token (60 minutes)".into());
    }
    None
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    emulator: String,
    own: String,
) -> Result<Response<Full<bytes::Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let target = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let method = parts.method.to_string();
    let text = String::from_utf8_lossy(&body).into_owned();
    let recorded = serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(text.clone()));
    state.lock().unwrap().calls.push(Call {
        method: method.clone(),
        target: target.clone(),
        body: recorded.clone(),
    });
    if parts.uri.path() == "/token" {
        let form: Vec<(&str, &str)> = text.split('&').filter_map(|kv| kv.split_once('=')).collect();
        let field = |k: &str| form.iter().find(|(n, _)| *n == k).map(|(_, v)| *v).unwrap_or_default();
        if field("grant_type") != "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" {
            return Ok(reply(400, json!({"error": "unsupported_grant_type"})));
        }
        let public_key = state.lock().unwrap().public_key.clone();
        return Ok(
            match refusal(field("assertion"), &public_key, &format!("{own}/token")) {
                Some(why) => reply(400, json!({"error": "invalid_grant", "error_description": why})),
                None => reply(
                    200,
                    json!({"access_token": ISSUED, "expires_in": 3599, "token_type": "Bearer"}),
                ),
            },
        );
    }
    let throttled = {
        let mut held = state.lock().unwrap();
        let now = held.throttled > 0;
        held.throttled = held.throttled.saturating_sub(1);
        now
    };
    if throttled {
        let mut answer = reply(
            429,
            json!({"error": {"code": 429, "message": "The rate of change requests to the bucket is too high"}}),
        );
        answer.headers_mut().insert("retry-after", "1".parse().unwrap());
        return Ok(answer);
    }
    let bearer = parts.headers.get("authorization").and_then(|v| v.to_str().ok());
    if bearer != Some(&format!("Bearer {ISSUED}")) {
        return Ok(reply(
            401,
            json!({"error": {"code": 401, "message": "Invalid Credentials", "errors": [{"reason": "authError"}]}}),
        ));
    }
    let taken = state.lock().unwrap().taken.clone();
    let names_taken = |name: Option<&str>| name.is_some_and(|n| taken.iter().any(|t| t == n));
    if parts.uri.path().starts_with("/storage/v1/b/") && names_taken(parts.uri.path().split('/').nth(4)) {
        let message =
            format!("{CLIENT_EMAIL} does not have storage.buckets.get access to the Google Cloud Storage bucket.");
        return Ok(reply(403, json!({"error": {"code": 403, "message": message}})));
    }
    if method == "POST" && parts.uri.path() == "/storage/v1/b" && names_taken(recorded["name"].as_str()) {
        let message = "The requested bucket name is not available. The bucket namespace is shared by all users of \
                       the system. Please select a different name and try again.";
        return Ok(reply(409, json!({"error": {"code": 409, "message": message}})));
    }
    if parts.uri.path() == "/v3/tagBindings" {
        return Ok(tag_bindings(&state, &method, &target, &recorded));
    }
    Ok(forward(&parts, body, &emulator).await)
}

/// Resource Manager v3's tag bindings: created (a finished operation; a second of the same is
/// refused as Google refuses it) and listed by parent.
fn tag_bindings(state: &Mutex<State>, method: &str, target: &str, body: &Value) -> Response<Full<bytes::Bytes>> {
    let mut state = state.lock().unwrap();
    if method == "GET" {
        let parent = target
            .split_once("?parent=")
            .map(|(_, p)| decode(p))
            .unwrap_or_default();
        let bindings: Vec<&Value> = state
            .bindings
            .iter()
            .filter(|b| b["parent"] == parent.as_str())
            .collect();
        return reply(200, json!({ "tagBindings": bindings }));
    }
    let binding = json!({"name": format!("tagBindings/sim-{}", state.bindings.len()), "parent": body["parent"],
        "tagValueNamespacedName": body["tagValueNamespacedName"]});
    if state
        .bindings
        .iter()
        .any(|b| b["parent"] == binding["parent"] && b["tagValueNamespacedName"] == binding["tagValueNamespacedName"])
    {
        return reply(
            409,
            json!({"error": {"code": 409, "message": "A binding already exists", "status": "ALREADY_EXISTS"}}),
        );
    }
    state.bindings.push(binding.clone());
    reply(
        200,
        json!({"name": "operations/rctb.simulated", "done": true, "response": binding}),
    )
}

/// A percent-encoded query value, decoded.
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            value.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()),
        ) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
