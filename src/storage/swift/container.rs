//! The life cycle of the registry's Swift container: adopted when it exists (Unmanaged), created
//! with the operator's metadata when not (Managed), inspected, and removed with its objects (bulk
//! delete, page by page, then the container). Every call carries a Keystone token; one that
//! expires during a pass is replaced once and the call made again.

use super::super::cloud::{
    COUNT_LIMIT, CloudContext, CloudError, Creator, Ensured, Inspection, Mode, Removed, Store, ensure_store,
};
use super::super::transport::{self, Answer, Renewable};
use super::keystone::{self, Identity, Session};
use crate::api::Storage;
use aws_smithy_runtime_api::client::http::SharedHttpConnector;
use serde_json::Value;

pub struct SwiftContainer;

/// The metadata the operator sets on a container it creates, and this program's own mark.
const CLUSTER_ID: &str = "x-container-meta-openshiftclusterid";
const NAME: &str = "x-container-meta-name";
const CREATED_BY: &str = "x-container-meta-createdby";
/// When a removal began, so that a run after an interruption knows it finishes one.
const REMOVAL_STARTED: &str = "x-container-meta-removal-started";
const THIS_PROGRAM: &str = "oc-registry";
/// Objects listed (and deleted in one bulk request) at a time: Swift's default bulk limit.
const PAGE: usize = 10_000;

/// One container, reached with a token for the registry's credentials.
struct Container {
    name: String,
    identity: Identity,
    infrastructure: String,
    https: SharedHttpConnector,
    session: Renewable<Session>,
}

impl Container {
    fn new(storage: &Storage, cx: &CloudContext<'_>) -> Result<Container, CloudError> {
        let swift = storage.swift.clone().unwrap_or_default();
        let Some(name) = swift.container.clone().filter(|c| !c.is_empty()) else {
            return Err(CloudError {
                code: "StorageNotConfigured".into(),
                message: "spec.storage.swift names no container: set one with oc-registry storage set swift \
                          --container NAME"
                    .into(),
            });
        };
        let secret = super::credentials(cx.credentials, cx.cloud_name())
            .and_then(|secret| super::identity(&swift, &secret).map(|identity| (identity, secret.ca)))
            .map_err(|problem| CloudError {
                code: "InvalidCredentials".into(),
                message: problem.message,
            })?;
        let (identity, cacert) = secret;
        // The cloud's `cacert` signs Keystone's and Swift's certificates, as it does for the pods.
        let cx = CloudContext {
            cloud_ca: cx.cloud_ca.or(cacert.as_deref()),
            ..*cx
        };
        Ok(Container {
            name,
            identity,
            infrastructure: cx.infrastructure_name().to_string(),
            https: SharedHttpConnector::new(transport::connector(&cx)?),
            session: Renewable::new(),
        })
    }

    /// Calls `path` below the account (`""` is the account itself); a token Swift refuses is
    /// replaced once.
    async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Answer, CloudError> {
        let build = |session: &Session| {
            let mut request = http::Request::builder()
                .method(method)
                .uri(format!("{}{path}", session.storage_url))
                .header("x-auth-token", &session.token)
                .header("content-length", body.len());
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            request.body(body.clone())
        };
        let obtain = || keystone::authenticate(&self.identity, &self.https);
        self.session.send(&self.https, "Swift", obtain, build).await
    }

    fn path(&self) -> String {
        format!("/{}", transport::url_encode(&self.name))
    }

    /// Swift's refusal, named for the user.
    fn failed(&self, what: &str, answer: &Answer) -> CloudError {
        let name = &self.name;
        let (code, message) = match answer.status {
            401 => (
                "Unauthorized",
                format!(
                    "{what} Swift container {name}: Swift refused a token Keystone had just issued: check that the \
                     proxy trusts this Keystone ({})",
                    self.identity.auth_url
                ),
            ),
            403 => (
                "Forbidden",
                format!(
                    "{what} Swift container {name}: the user has no role Swift accepts on this project: give it \
                     the member role, or store another user's credentials with oc-registry storage credentials set swift …"
                ),
            ),
            409 => (
                "Conflict",
                format!("{what} Swift container {name}: it still holds objects"),
            ),
            status => (
                "",
                format!(
                    "{what} Swift container {name} failed: HTTP {status}: {}",
                    transport::excerpt(&answer.body)
                ),
            ),
        };
        let code = if code.is_empty() {
            format!("HTTP{}", answer.status)
        } else {
            code.into()
        };
        CloudError { code, message }
    }

    /// The container's metadata and object count, or `None` when it does not exist.
    async fn head(&self) -> Result<Option<Answer>, CloudError> {
        let answer = self.call("HEAD", &self.path(), &[], Vec::new()).await?;
        match answer.status {
            200..=299 => Ok(Some(answer)),
            404 => Ok(None),
            _ => Err(self.failed("reading", &answer)),
        }
    }

    /// Up to [`PAGE`] object names after `marker`.
    async fn list(&self, marker: &str) -> Result<Vec<String>, CloudError> {
        let path = format!(
            "{}?format=json&limit={PAGE}&marker={}",
            self.path(),
            transport::url_encode(marker)
        );
        let answer = self.call("GET", &path, &[], Vec::new()).await?;
        match answer.status {
            200 => {
                let listing: Vec<Value> = serde_json::from_slice(&answer.body).map_err(|e| CloudError {
                    code: "InvalidListing".into(),
                    message: format!("Swift's listing of container {} is not JSON: {e}", self.name),
                })?;
                Ok(listing
                    .iter()
                    .filter_map(|o| o.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect())
            }
            204 | 404 => Ok(Vec::new()),
            _ => Err(self.failed("listing the objects of", &answer)),
        }
    }

    /// Deletes `objects` in one bulk request; where the proxy has no bulk middleware, one by one.
    async fn delete_objects(&self, objects: &[String]) -> Result<(), CloudError> {
        let body: String = objects
            .iter()
            .map(|o| format!("{}/{}\n", self.path(), transport::url_encode(o)))
            .collect();
        let headers = [("content-type", "text/plain"), ("accept", "application/json")];
        let answer = self.call("POST", "?bulk-delete", &headers, body.into_bytes()).await?;
        let report: Option<Value> = serde_json::from_slice(&answer.body).ok();
        let Some(report) = report.filter(|r| r.get("Number Deleted").is_some()) else {
            for object in objects {
                let path = format!("{}/{}", self.path(), transport::url_encode(object));
                let answer = self.call("DELETE", &path, &[], Vec::new()).await?;
                if !matches!(answer.status, 200..=299 | 404) {
                    return Err(self.failed(&format!("deleting object {object} of"), &answer));
                }
            }
            return Ok(());
        };
        let errors = report
            .get("Errors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        // Already gone is what was wanted.
        let failed: Vec<&Value> = errors
            .iter()
            .filter(|e| e.get(1).and_then(Value::as_str).is_none_or(|s| !s.starts_with("404")))
            .collect();
        if let Some(first) = failed.first() {
            return Err(CloudError {
                code: "BulkDeleteFailed".into(),
                message: format!(
                    "deleting the objects of Swift container {}: {} could not be deleted, the first {first}",
                    self.name,
                    failed.len()
                ),
            });
        }
        Ok(())
    }
}

impl Store for Container {
    fn noun(&self) -> &str {
        "Swift container"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn driver(&self) -> &str {
        "swift"
    }

    fn name_flag(&self) -> &str {
        "--container"
    }

    async fn exists(&self) -> Result<bool, CloudError> {
        Ok(self.head().await?.is_some())
    }

    /// Creates it with the operator's metadata and this program's mark.
    async fn create(&self) -> Result<(), CloudError> {
        let headers = [
            (CLUSTER_ID, self.infrastructure.as_str()),
            (NAME, self.name.as_str()),
            (CREATED_BY, THIS_PROGRAM),
        ];
        let answer = self.call("PUT", &self.path(), &headers, Vec::new()).await?;
        match answer.status {
            200..=299 => Ok(()),
            _ => Err(self.failed("creating", &answer)),
        }
    }
}

impl SwiftContainer {
    async fn ensure_swift(&self, storage: &Storage, cx: CloudContext<'_>, mode: Mode) -> Ensured {
        ensure_store(Container::new(storage, &cx), storage, &cx, mode).await.0
    }

    async fn inspect_swift(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Inspection, CloudError> {
        let container = Container::new(storage, &cx)?;
        let Some(answer) = container.head().await? else {
            return Ok(Inspection::absent());
        };
        let creator = match (answer.header(CREATED_BY), answer.header(CLUSTER_ID)) {
            (Some(THIS_PROGRAM), _) => Creator::ThisProgram,
            (_, Some(cluster)) if cluster == container.infrastructure => Creator::Operator,
            _ => Creator::Other,
        };
        let objects = answer
            .header("x-container-object-count")
            .and_then(|n| n.parse::<u64>().ok())
            .map(|n| n.min(COUNT_LIMIT));
        Ok(Inspection {
            exists: true,
            creator: Some(creator),
            objects,
            removal_started: answer.header(REMOVAL_STARTED).map(str::to_string),
        })
    }

    /// Deletes the objects page by page, then the container; gone already is done.
    async fn remove_swift(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Removed, CloudError> {
        let container = Container::new(storage, &cx)?;
        let Some(head) = container.head().await? else {
            return Ok(Removed::default());
        };
        let mut removed = Removed {
            objects: 0,
            resumed: head.header(REMOVAL_STARTED).is_some(),
        };
        if !removed.resumed {
            // Marked first; a container that refuses metadata is still emptied and deleted.
            let now = jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string());
            let mark = [(REMOVAL_STARTED, now.unwrap_or_default())];
            let headers: Vec<(&str, &str)> = mark.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let _ = container.call("POST", &container.path(), &headers, Vec::new()).await;
        }
        // A listing can lag behind deletions and objects can arrive meanwhile: a container that
        // still holds some is emptied again, a few times.
        let mut conflict = None;
        for _ in 0..3 {
            let mut marker = String::new();
            loop {
                let page = container.list(&marker).await?;
                let Some(last) = page.last().cloned() else { break };
                container.delete_objects(&page).await?;
                removed.objects += page.len() as u64;
                marker = last;
            }
            let answer = container.call("DELETE", &container.path(), &[], Vec::new()).await?;
            match answer.status {
                200..=299 | 404 => return Ok(removed),
                409 => conflict = Some(answer),
                _ => return Err(container.failed("deleting", &answer)),
            }
        }
        Err(container.failed("deleting", &conflict.expect("three conflicts")))
    }
}

super::super::cloud::cloud_of_async_fns!(SwiftContainer, ensure_swift, inspect_swift, remove_swift);
