//! Keystone, OpenStack's identity service: a token and the object-store endpoint for the
//! registry's credentials, as the registry's own Swift client obtains them (v3, v2 or v1 as
//! `authVersion` says). Building the requests and reading the catalog are pure, beside their
//! tables; [`authenticate`] is the one call.

use super::super::cloud::CloudError;
use super::super::transport::{self, Answer};
use aws_smithy_runtime_api::client::http::SharedHttpConnector;
use serde_json::{Value, json};

/// A user, project or domain, by ID or by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Named {
    Id(String),
    Name(String),
}

impl Named {
    fn json(&self) -> Value {
        match self {
            Named::Id(id) => json!({"id": id}),
            Named::Name(name) => json!({"name": name}),
        }
    }
}

/// How the registry proves who it is. Its `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Method {
    Password {
        user: String,
        password: String,
    },
    /// By ID, or by name with the user it belongs to.
    ApplicationCredential {
        id: Option<String>,
        name: Option<String>,
        user: Option<String>,
        secret: String,
    },
    Token {
        id: String,
    },
}

impl std::fmt::Debug for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Method::Password { user, .. } => write!(f, "Password {{ user: {user:?} }}"),
            Method::ApplicationCredential { id, name, user, .. } => {
                write!(
                    f,
                    "ApplicationCredential {{ id: {id:?}, name: {name:?}, user: {user:?} }}"
                )
            }
            Method::Token { .. } => f.write_str("Token"),
        }
    }
}

/// Everything a token is asked for with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The auth URL with its version path (`…/v3`).
    pub auth_url: String,
    /// 1, 2 or 3.
    pub version: u8,
    pub method: Method,
    /// The domain of the user and of the project named by name (Keystone's `Default` when none).
    pub domain: Option<Named>,
    pub project: Option<Named>,
    /// The region whose object-store endpoint is used; any when none.
    pub region: Option<String>,
}

/// A token and where Swift serves the project's account.
#[derive(Clone)]
pub struct Session {
    pub token: String,
    /// `https://swift…/v1/AUTH_<project>`.
    pub storage_url: String,
}

impl Identity {
    fn domain(&self) -> Value {
        self.domain
            .as_ref()
            .map_or_else(|| json!({"id": "default"}), Named::json)
    }

    fn scope(&self) -> Option<Value> {
        let project = match self.project.as_ref()? {
            Named::Id(id) => json!({"id": id}),
            Named::Name(name) => json!({"name": name, "domain": self.domain()}),
        };
        Some(json!({"project": project}))
    }

    /// The body of `POST /v3/auth/tokens`. Application credentials carry their own scope.
    pub fn v3_request(&self) -> Value {
        let mut request = match &self.method {
            Method::Password { user, password } => json!({"auth": {"identity": {"methods": ["password"],
                "password": {"user": {"name": user, "domain": self.domain(), "password": password}}}}}),
            Method::ApplicationCredential { id, name, user, secret } => {
                let mut credential = json!({"secret": secret});
                if let Some(id) = id {
                    credential["id"] = json!(id);
                } else {
                    credential["name"] = json!(name);
                    credential["user"] = json!({"name": user, "domain": self.domain()});
                }
                return json!({"auth": {"identity": {"methods": ["application_credential"],
                    "application_credential": credential}}});
            }
            Method::Token { id } => json!({"auth": {"identity": {"methods": ["token"], "token": {"id": id}}}}),
        };
        if let Some(scope) = self.scope() {
            request["auth"]["scope"] = scope;
        }
        request
    }

    /// The body of `POST /v2.0/tokens`; v2 knows no application credentials.
    pub fn v2_request(&self) -> Result<Value, CloudError> {
        let mut auth = match &self.method {
            Method::Password { user, password } => {
                json!({"passwordCredentials": {"username": user, "password": password}})
            }
            Method::Token { id } => json!({"token": {"id": id}}),
            Method::ApplicationCredential { .. } => {
                return Err(CloudError {
                    code: "InvalidCredentials".into(),
                    message: "application credentials need Keystone v3: set it with oc-registry storage set swift \
                              --auth-version 3"
                        .into(),
                });
            }
        };
        match &self.project {
            Some(Named::Id(id)) => auth["tenantId"] = json!(id),
            Some(Named::Name(name)) => auth["tenantName"] = json!(name),
            None => {}
        }
        Ok(json!({ "auth": auth }))
    }
}

/// The public URL of the object store in a v3 (`token.catalog`) or v2 (`access.serviceCatalog`)
/// catalog: the service named `swift`, else the one of type `object-store`, in `region` when given.
pub fn object_store_url(answer: &Value, region: Option<&str>) -> Option<String> {
    let catalog = answer
        .pointer("/token/catalog")
        .or_else(|| answer.pointer("/access/serviceCatalog"))?
        .as_array()?;
    let endpoint_of = |service: &Value| -> Option<String> {
        service.get("endpoints")?.as_array()?.iter().find_map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str);
            let in_region = region.is_none_or(|r| s("region_id") == Some(r) || s("region") == Some(r));
            let public = s("interface").is_none_or(|i| i == "public");
            let url = s("url").or(s("publicURL"))?;
            (in_region && public).then(|| url.trim_end_matches('/').to_string())
        })
    };
    let field = |service: &Value, key: &str| service.get(key).and_then(Value::as_str).map(str::to_string);
    catalog
        .iter()
        .filter(|s| field(s, "name").as_deref() == Some("swift"))
        .chain(
            catalog
                .iter()
                .filter(|s| field(s, "type").as_deref() == Some("object-store")),
        )
        .find_map(endpoint_of)
}

/// The identity service's refusal of the credentials, naming the fix and never the secret.
fn refused(identity: &Identity, answer: &Answer) -> CloudError {
    let who = match &identity.method {
        Method::Password { user, .. } => format!("user {user}'s password"),
        Method::ApplicationCredential { id: Some(id), .. } => format!("application credential {id}"),
        Method::ApplicationCredential { name, .. } => {
            format!("application credential {}", name.as_deref().unwrap_or_default())
        }
        Method::Token { .. } => "the token (tokens expire: store a password or an application credential)".into(),
    };
    let fix = "store working ones with oc-registry storage credentials set swift username=NAME password=@FILE \
               (or application-credential-id=… application-credential-secret=@FILE)";
    // Keystone's own 404 (a JSON error) means what the credentials name was not found: a revoked
    // or expired token, a project or a domain. Its message is not shown for a token, which it
    // quotes.
    let keystone_said = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|b| b.pointer("/error/message").and_then(Value::as_str).map(str::to_string));
    match (answer.status, keystone_said) {
        (404, Some(_)) if matches!(identity.method, Method::Token { .. }) => CloudError {
            code: "Unauthorized".into(),
            message: format!("Keystone at {} no longer knows {who}: {fix}", identity.auth_url),
        },
        (404, Some(said)) => CloudError {
            code: "NotFound".into(),
            message: format!(
                "Keystone at {}: {said}: check the project and domain (oc-registry storage set swift --tenant NAME \
                 --domain NAME)",
                identity.auth_url
            ),
        },
        (401, _) => CloudError {
            code: "Unauthorized".into(),
            message: format!("Keystone at {} refused {who}: {fix}", identity.auth_url),
        },
        (403, _) => CloudError {
            code: "Forbidden".into(),
            message: format!(
                "Keystone at {} does not let {who} into the project: give the user a role on it, or name another \
                 project with oc-registry storage set swift --tenant NAME",
                identity.auth_url
            ),
        },
        (404, None) => CloudError {
            code: "IdentityNotFound".into(),
            message: format!(
                "{} serves no Keystone v{}: check spec.storage.swift.authURL and authVersion",
                identity.auth_url, identity.version
            ),
        },
        (status, _) => CloudError {
            code: format!("Keystone{status}"),
            message: format!(
                "Keystone at {} answered {status}: {}",
                identity.auth_url,
                transport::excerpt(&answer.body)
            ),
        },
    }
}

/// Obtains a token and the object-store URL.
pub async fn authenticate(identity: &Identity, https: &SharedHttpConnector) -> Result<Session, CloudError> {
    let base = identity.auth_url.trim_end_matches('/');
    let request = match identity.version {
        1 => {
            let (user, key) = match &identity.method {
                Method::Password { user, password } => (user.clone(), password.clone()),
                _ => {
                    return Err(CloudError {
                        code: "InvalidCredentials".into(),
                        message: "Swift's v1 authentication takes a username and password: store them with \
                                  oc-registry storage credentials set swift username=NAME password=@FILE"
                            .into(),
                    });
                }
            };
            let user = match &identity.project {
                Some(Named::Name(tenant)) | Some(Named::Id(tenant)) => format!("{tenant}:{user}"),
                None => user,
            };
            http::Request::get(base)
                .header("X-Auth-User", user)
                .header("X-Auth-Key", key)
                .body(Vec::new())
        }
        2 => http::Request::post(format!("{base}/tokens"))
            .header("Content-Type", "application/json")
            .body(identity.v2_request()?.to_string().into_bytes()),
        _ => http::Request::post(format!("{base}/auth/tokens"))
            .header("Content-Type", "application/json")
            .body(identity.v3_request().to_string().into_bytes()),
    }
    .map_err(|e| CloudError {
        code: "InvalidAuthURL".into(),
        message: format!("{base} is not a usable auth URL ({e}): fix spec.storage.swift.authURL"),
    })?;
    let answer = transport::send(https, "Keystone", request).await?;
    if !(200..300).contains(&answer.status) {
        return Err(refused(identity, &answer));
    }
    let not_found = || CloudError {
        code: "EndpointNotFound".into(),
        message: format!(
            "Keystone at {base} lists no object-store (Swift) endpoint{}: the cloud offers no Swift, so use \
             another storage, such as oc-registry storage set pvc",
            identity
                .region
                .as_deref()
                .map(|r| format!(" in region {r}"))
                .unwrap_or_default()
        ),
    };
    if identity.version == 1 {
        let token = answer.header("x-auth-token").unwrap_or_default().to_string();
        let storage_url = answer.header("x-storage-url").ok_or_else(not_found)?.to_string();
        return Ok(Session { token, storage_url });
    }
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let token = match identity.version {
        2 => body.pointer("/access/token/id").and_then(Value::as_str),
        _ => answer.header("x-subject-token"),
    }
    .unwrap_or_default()
    .to_string();
    let storage_url = object_store_url(&body, identity.region.as_deref()).ok_or_else(not_found)?;
    Ok(Session { token, storage_url })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(method: Method, project: Option<Named>) -> Identity {
        Identity {
            auth_url: "https://keystone:5000/v3".into(),
            version: 3,
            method,
            domain: Some(Named::Name("Default".into())),
            project,
            region: None,
        }
    }

    #[test]
    fn v3_requests() {
        let password = Method::Password {
            user: "u".into(),
            password: "p".into(),
        };
        let cases = [
            (
                identity(password.clone(), Some(Named::Name("proj".into()))),
                json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "u", "domain": {"name": "Default"}, "password": "p"}}},
                    "scope": {"project": {"name": "proj", "domain": {"name": "Default"}}}}}),
            ),
            (
                identity(password, Some(Named::Id("0123".into()))),
                json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "u", "domain": {"name": "Default"}, "password": "p"}}},
                    "scope": {"project": {"id": "0123"}}}}),
            ),
            (
                identity(
                    Method::ApplicationCredential {
                        id: Some("ac".into()),
                        name: None,
                        user: None,
                        secret: "s".into(),
                    },
                    Some(Named::Name("ignored: the credential is scoped".into())),
                ),
                json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": "ac", "secret": "s"}}}}),
            ),
            (
                identity(
                    Method::ApplicationCredential {
                        id: None,
                        name: Some("registry".into()),
                        user: Some("u".into()),
                        secret: "s".into(),
                    },
                    None,
                ),
                json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"name": "registry", "user": {"name": "u", "domain": {"name": "Default"}}, "secret": "s"}}}}),
            ),
            (
                identity(Method::Token { id: "t".into() }, Some(Named::Name("proj".into()))),
                json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "t"}},
                    "scope": {"project": {"name": "proj", "domain": {"name": "Default"}}}}}),
            ),
        ];
        for (identity, want) in cases {
            assert_eq!(identity.v3_request(), want, "{identity:?}");
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let shown = format!(
            "{:?} {:?} {:?}",
            Method::Password {
                user: "u".into(),
                password: "hunter2".into()
            },
            Method::ApplicationCredential {
                id: Some("ac".into()),
                name: None,
                user: None,
                secret: "hunter2".into()
            },
            Method::Token { id: "hunter2".into() }
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn v2_requests() {
        let mut v2 = identity(
            Method::Password {
                user: "u".into(),
                password: "p".into(),
            },
            Some(Named::Name("proj".into())),
        );
        v2.version = 2;
        assert_eq!(
            v2.v2_request().unwrap(),
            json!({"auth": {"passwordCredentials": {"username": "u", "password": "p"}, "tenantName": "proj"}})
        );
        v2.method = Method::ApplicationCredential {
            id: Some("a".into()),
            name: None,
            user: None,
            secret: "s".into(),
        };
        assert!(v2.v2_request().unwrap_err().message.contains("--auth-version 3"));
    }

    #[test]
    fn the_object_store_is_found_by_name_then_type_in_the_region() {
        let v3 = json!({"token": {"catalog": [
            {"type": "identity", "name": "keystone", "endpoints": [{"interface": "public", "region_id": "r1", "url": "https://k"}]},
            {"type": "object-store", "name": "ceph", "endpoints": [{"interface": "public", "region_id": "r1", "url": "https://ceph/swift/v1/"}]},
            {"type": "object-store", "name": "swift", "endpoints": [
                {"interface": "internal", "region_id": "r2", "url": "https://internal"},
                {"interface": "public", "region_id": "r2", "url": "https://swift2/v1/AUTH_p"}]}]}});
        let v2 = json!({"access": {"serviceCatalog": [
            {"type": "object-store", "name": "swift", "endpoints": [{"region": "r1", "publicURL": "https://swift1/v1/AUTH_p"}]}]}});
        let cases = [
            (&v3, Some("r2"), Some("https://swift2/v1/AUTH_p")),
            (&v3, Some("r1"), Some("https://ceph/swift/v1")),
            (&v3, None, Some("https://swift2/v1/AUTH_p")),
            (&v3, Some("r3"), None),
            (&v2, Some("r1"), Some("https://swift1/v1/AUTH_p")),
            (&v2, Some("r2"), None),
        ];
        for (answer, region, want) in cases {
            assert_eq!(object_store_url(answer, region).as_deref(), want, "{region:?}");
        }
        assert_eq!(object_store_url(&json!({"token": {"catalog": []}}), None), None);
    }
}
