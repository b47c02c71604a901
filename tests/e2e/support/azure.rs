//! A stand-in for Azure's management plane, which no emulator serves, written from Microsoft's
//! REST reference: Entra ID's client-credentials token endpoint (the client's ID, secret and the
//! scope are checked) and Resource Manager's storage account calls (checkNameAvailability, GET,
//! PUT answered 202 with an operation to poll, listKeys, DELETE), each with the bearer token it
//! issued. Every call is recorded with its body. What rests on it: the shape and order of those
//! calls. The container and its blobs rest on Azurite, which the accounts' keys open.

use super::stand_in::{Call, reply};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const ISSUED: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.simulated-arm-token";

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    client_id: String,
    client_secret: String,
    /// The federated token (workload identity) accepted in place of the secret.
    federated_token: Option<String>,
    /// Account name → (its resource, its key).
    accounts: BTreeMap<String, (Value, String)>,
    /// The keys of accounts not yet created, as Azurite knows them.
    keys: BTreeMap<String, String>,
    /// Containers made through Resource Manager: (account, name) → resource.
    containers: BTreeMap<(String, String), Value>,
    /// Names checkNameAvailability says are taken.
    taken: Vec<String>,
}

pub struct Azure {
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Azure {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Azure {
    /// Serves on 127.0.0.1, accepting the service principal `client_id` with `client_secret`.
    pub async fn start(client_id: &str, client_secret: &str) -> Azure {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            ..State::default()
        }));
        let (shared, own) = (state.clone(), url.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, own) = (shared.clone(), own.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, state.clone(), own.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Azure { url, state, task }
    }

    /// The key a storage account named `account` gets when it is created (Azurite's, for it).
    pub fn key_for(&self, account: &str, key: &str) {
        self.state.lock().unwrap().keys.insert(account.into(), key.into());
    }

    /// Accepts `token` as the principal's federated credential (a client assertion).
    pub fn federated(&self, token: &str) {
        self.state.lock().unwrap().federated_token = Some(token.into());
    }

    /// Makes checkNameAvailability say `account` is another subscription's.
    pub fn taken(&self, account: &str) {
        self.state.lock().unwrap().taken.push(account.into());
    }

    pub fn containers(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().containers.keys().cloned().collect()
    }

    pub fn accounts(&self) -> Vec<String> {
        self.state.lock().unwrap().accounts.keys().cloned().collect()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }
}

fn form(text: &str) -> BTreeMap<String, String> {
    text.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            (
                k.to_string(),
                v.replace("%3A", ":").replace("%2F", "/").replace("%2E", "."),
            )
        })
        .collect()
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    own: String,
) -> Result<Response<Full<bytes::Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let target = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let path = parts.uri.path().to_string();
    let method = parts.method.to_string();
    let text = String::from_utf8_lossy(&body).into_owned();
    let recorded = serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(text.clone()));
    let mut state = state.lock().unwrap();
    state.calls.push(Call {
        method: method.clone(),
        target: target.clone(),
        body: recorded.clone(),
    });
    if path.ends_with("/oauth2/v2.0/token") {
        let form = form(&text);
        let field = |k: &str| form.get(k).cloned().unwrap_or_default();
        if field("grant_type") != "client_credentials" || field("scope") != format!("{own}/.default") {
            return Ok(reply(
                400,
                json!({"error": "invalid_request", "error_description": "AADSTS900144: bad request"}),
            ));
        }
        let federated = field("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            && state.federated_token.as_deref() == Some(field("client_assertion").as_str());
        if field("client_id") != state.client_id || (field("client_secret") != state.client_secret && !federated) {
            return Ok(reply(
                401,
                json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}),
            ));
        }
        return Ok(reply(
            200,
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": ISSUED}),
        ));
    }
    let bearer = parts.headers.get("authorization").and_then(|v| v.to_str().ok());
    if bearer != Some(&format!("Bearer {ISSUED}")) {
        return Ok(reply(
            401,
            json!({"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}}),
        ));
    }
    if !target.contains("api-version=") && !path.starts_with("/operations/") {
        return Ok(reply(
            400,
            json!({"error": {"code": "MissingApiVersionParameter", "message": "The api-version query parameter (?api-version=) is required for all requests."}}),
        ));
    }
    if path.starts_with("/operations/") {
        return Ok(reply(200, json!({"status": "Succeeded"})));
    }
    if path.ends_with("/providers/Microsoft.Storage/checkNameAvailability") {
        let name = recorded["name"].as_str().unwrap_or_default().to_string();
        let taken = state.taken.contains(&name) || state.accounts.contains_key(&name);
        return Ok(reply(
            200,
            match taken {
                true => {
                    json!({"nameAvailable": false, "reason": "AlreadyExists", "message": format!("The storage account named {name} is already taken.")})
                }
                false => json!({"nameAvailable": true}),
            },
        ));
    }
    let Some((_, rest)) = path.split_once("/providers/Microsoft.Storage/storageAccounts/") else {
        return Ok(reply(404, json!({"error": {"code": "NotFound", "message": path}})));
    };
    let (account, action) = rest.split_once('/').unwrap_or((rest, ""));
    let account = account.to_string();
    if let Some(container) = action.strip_prefix("blobServices/default/containers/") {
        let key = (account.clone(), container.to_string());
        if !state.accounts.contains_key(&account) {
            return Ok(reply(
                404,
                json!({"error": {"code": "ResourceNotFound", "message": account}}),
            ));
        }
        return Ok(match method.as_str() {
            "GET" => match state.containers.get(&key) {
                Some(resource) => reply(200, resource.clone()),
                None => reply(
                    404,
                    json!({"error": {"code": "ContainerNotFound", "message": "The specified container does not exist."}}),
                ),
            },
            "PUT" => {
                let resource = json!({"name": container, "properties": recorded["properties"]});
                let created = state.containers.insert(key, resource.clone()).is_none();
                reply(if created { 201 } else { 200 }, resource)
            }
            "DELETE" => {
                state.containers.remove(&key);
                reply(200, json!({}))
            }
            _ => reply(405, json!({"error": {"code": "MethodNotAllowed", "message": target}})),
        });
    }
    Ok(match (method.as_str(), action) {
        ("GET", "") => match state.accounts.get(&account) {
            Some((resource, _)) => reply(200, resource.clone()),
            None => reply(
                404,
                json!({"error": {"code": "ResourceNotFound", "message": format!("The Resource 'Microsoft.Storage/storageAccounts/{account}' was not found.")}}),
            ),
        },
        ("PUT", "") => {
            let key = state.keys.get(&account).cloned().unwrap_or_default();
            let mut resource = recorded.clone();
            resource["name"] = json!(account);
            resource["properties"]["provisioningState"] = json!("Succeeded");
            state.accounts.insert(account, (resource, key));
            let mut answer = reply(202, json!({}));
            let poll = format!("{own}/operations/create-{}", state.accounts.len());
            answer
                .headers_mut()
                .insert("azure-asyncoperation", poll.parse().unwrap());
            answer
        }
        ("POST", "listKeys") => match state.accounts.get(&account) {
            Some((_, key)) => reply(
                200,
                json!({"keys": [{"keyName": "key1", "value": key, "permissions": "FULL"}]}),
            ),
            None => reply(404, json!({"error": {"code": "ResourceNotFound", "message": account}})),
        },
        ("DELETE", "") => {
            state.accounts.remove(&account);
            reply(200, json!({}))
        }
        _ => reply(405, json!({"error": {"code": "MethodNotAllowed", "message": target}})),
    })
}
