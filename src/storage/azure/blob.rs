//! The Blob service's container calls, signed with the storage account's key (SharedKey), as
//! Azure's own tools sign them: whether the container exists and what it holds, creating it
//! private, and deleting it with its blobs.

use super::super::cloud::{CloudContext, CloudError, Store};
use super::super::transport::{self, Answer};
use aws_smithy_runtime_api::client::http::SharedHttpConnector;
use base64::Engine as _;
use std::collections::BTreeMap;

/// The Blob API version the calls speak.
const VERSION: &str = "2021-08-06";
/// Blobs listed per page when counting.
const PAGE: u32 = 5000;
/// The metadata that says this program created a container.
pub(super) const CREATED_BY: &str = "x-ms-meta-createdby";
pub(super) const CLUSTER_ID: &str = "x-ms-meta-openshiftclusterid";
pub(super) const THIS_PROGRAM: &str = "oc-registry";

/// One container of one storage account, and how to reach it.
pub(super) struct Container {
    pub account: String,
    pub name: String,
    key: Vec<u8>,
    /// `https://ACCOUNT.blob.SUFFIX`, or the `BlobEndpoint` a connection string names (an
    /// emulator's includes the account in its path).
    endpoint: String,
    /// The cluster's infrastructure name, recorded on a container created here.
    infrastructure: String,
    https: SharedHttpConnector,
}

/// The endpoint `AZURE_STORAGE_CONNECTION_STRING` names (`BlobEndpoint=…`), as Azure's tools
/// take it, for a private endpoint or an emulator.
fn connection_string_endpoint() -> Option<String> {
    let text = std::env::var("AZURE_STORAGE_CONNECTION_STRING").ok()?;
    text.split(';')
        .filter_map(|part| part.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("BlobEndpoint"))
        .map(|(_, v)| v.trim().trim_end_matches('/').to_string())
        .filter(|v| !v.is_empty())
}

impl Container {
    /// The container `name` of `account` in the cloud whose blob suffix is `suffix`, reached with
    /// `key` (the account key, base64 as Azure gives it).
    pub fn new(
        account: &str,
        name: &str,
        key: &[u8],
        suffix: &str,
        cx: &CloudContext<'_>,
    ) -> Result<Container, CloudError> {
        let key = base64::engine::general_purpose::STANDARD
            .decode(String::from_utf8_lossy(key).trim())
            .map_err(|_| CloudError {
                code: "InvalidAccountKey".into(),
                message: format!(
                    "the key stored for storage account {account} is not base64, as Azure gives account keys: \
                     store the key the portal shows with oc-registry storage credentials set azure account-key=@FILE"
                ),
            })?;
        Ok(Container {
            account: account.to_string(),
            name: name.to_string(),
            key,
            endpoint: connection_string_endpoint().unwrap_or_else(|| format!("https://{account}.blob.{suffix}")),
            infrastructure: cx.infrastructure_name().to_string(),
            https: SharedHttpConnector::new(transport::connector(cx)?),
        })
    }

    /// Sends a signed request to the container (`query`: its parameters, in any order).
    async fn call(&self, method: &str, query: &[(&str, &str)], headers: &[(&str, &str)]) -> Result<Answer, CloudError> {
        let path = format!("{}/{}", url_path(&self.endpoint), self.name);
        let query_text: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", transport::url_encode(v)))
            .collect();
        let url = format!("{}/{}?{}", self.endpoint, self.name, query_text.join("&"));
        let now = jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let mut ms: BTreeMap<String, String> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        ms.insert("x-ms-date".into(), now);
        ms.insert("x-ms-version".into(), VERSION.into());
        let signature = sign(&self.key, &string_to_sign(method, &self.account, &path, query, &ms));
        let mut request = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", format!("SharedKey {}:{signature}", self.account));
        for (k, v) in &ms {
            request = request.header(k, v);
        }
        if method == "PUT" {
            request = request.header("content-length", "0");
        }
        let request = request.body(Vec::new()).map_err(|e| CloudError {
            code: "InvalidRequest".into(),
            message: format!("a request to {url} cannot be made: {e}"),
        })?;
        transport::send(&self.https, "Azure Blob Storage", request).await
    }

    /// The cloud's refusal, named for the user: the code Azure gave and what to do.
    fn failed(&self, what: &str, answer: &Answer) -> CloudError {
        let code = answer
            .header("x-ms-error-code")
            .map(str::to_string)
            .or_else(|| between(&answer.body, "<Code>", "</Code>"))
            .unwrap_or_else(|| format!("HTTP{}", answer.status));
        let (account, container) = (&self.account, &self.name);
        let message = match code.as_str() {
            "AuthenticationFailed" => format!(
                "{what} Azure container {container}: storage account {account} refused the key: store the account's \
                 key with oc-registry storage credentials set azure account-key=@FILE"
            ),
            // Azure says this when its network rules keep the caller out; emulators, for a wrong key.
            "AuthorizationFailure" | "AuthorizationPermissionMismatch" => format!(
                "{what} Azure container {container}: storage account {account} refused the request ({code}): its \
                 key is wrong (store the account's key with oc-registry storage credentials set azure \
                 account-key=@FILE), or its network rules keep this cluster out"
            ),
            "ContainerBeingDeleted" => format!(
                "{what} Azure container {container}: Azure is still deleting a container of that name; try again in \
                 a minute, or name another with oc-registry storage set azure --container NAME"
            ),
            "AccountIsDisabled" | "ResourceNotFound" => {
                format!("{what} Azure container {container}: storage account {account} is not available ({code})")
            }
            _ => format!(
                "{what} Azure container {container} failed: {code} (HTTP {})",
                answer.status
            ),
        };
        CloudError { code, message }
    }

    /// The container's metadata (lower-case `x-ms-meta-*` headers), or `None` when it does not
    /// exist.
    pub async fn metadata(&self) -> Result<Option<BTreeMap<String, String>>, CloudError> {
        let answer = self.call("GET", &[("restype", "container")], &[]).await?;
        match answer.status {
            200 => Ok(Some(
                answer
                    .headers
                    .iter()
                    .filter(|(n, _)| n.starts_with("x-ms-meta-"))
                    .cloned()
                    .collect(),
            )),
            404 => Ok(None),
            _ => Err(self.failed("reading", &answer)),
        }
    }

    /// Creates it with no public access, marked as this program's and the cluster's.
    pub async fn create_private(&self) -> Result<(), CloudError> {
        let infrastructure = self.infrastructure.clone();
        let headers = [(CREATED_BY, THIS_PROGRAM), (CLUSTER_ID, infrastructure.as_str())];
        let answer = self.call("PUT", &[("restype", "container")], &headers).await?;
        match answer.status {
            201 => Ok(()),
            409 if self.failed("", &answer).code == "ContainerAlreadyExists" => Ok(()),
            _ => Err(self.failed("creating", &answer)),
        }
    }

    /// How many blobs it holds, counted up to `limit`.
    pub async fn count(&self, limit: u64) -> Result<u64, CloudError> {
        let (mut count, mut marker) = (0u64, String::new());
        loop {
            let page = PAGE.to_string();
            let mut query = vec![
                ("restype", "container"),
                ("comp", "list"),
                ("maxresults", page.as_str()),
            ];
            if !marker.is_empty() {
                query.push(("marker", marker.as_str()));
            }
            let answer = self.call("GET", &query, &[]).await?;
            if answer.status != 200 {
                return Err(self.failed("listing the blobs of", &answer));
            }
            let body = String::from_utf8_lossy(&answer.body);
            count += body.matches("<Blob>").count() as u64;
            marker = between(&answer.body, "<NextMarker>", "</NextMarker>").unwrap_or_default();
            if marker.is_empty() || count >= limit {
                return Ok(count.min(limit));
            }
        }
    }

    /// Deletes it and every blob in it (Azure removes them with it); gone already is done.
    pub async fn delete(&self) -> Result<(), CloudError> {
        let answer = self.call("DELETE", &[("restype", "container")], &[]).await?;
        match answer.status {
            202 | 404 => Ok(()),
            _ => Err(self.failed("deleting", &answer)),
        }
    }
}

impl Store for Container {
    fn noun(&self) -> &str {
        "Azure container"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn driver(&self) -> &str {
        "azure"
    }

    fn name_flag(&self) -> &str {
        "--container"
    }

    async fn exists(&self) -> Result<bool, CloudError> {
        Ok(self.metadata().await?.is_some())
    }

    async fn create(&self) -> Result<(), CloudError> {
        self.create_private().await
    }
}

/// The text between `open` and `close` in an XML body, its first occurrence.
fn between(body: &[u8], open: &str, close: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(text[start..end].to_string())
}

/// The path part of a URL (`/devstoreaccount1` of `http://127.0.0.1:10000/devstoreaccount1`).
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("", |i| &rest[i..])
}

/// What SharedKey signs: the verb, the standard headers (only Content-Length is ever set here,
/// and only when not zero), the `x-ms-*` headers sorted, and the resource with its parameters
/// sorted.
fn string_to_sign(
    method: &str,
    account: &str,
    path: &str,
    query: &[(&str, &str)],
    ms: &BTreeMap<String, String>,
) -> String {
    let headers: String = ms.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let mut parameters: Vec<(String, &str)> = query.iter().map(|(k, v)| (k.to_ascii_lowercase(), *v)).collect();
    parameters.sort();
    let resource: String = parameters.iter().map(|(k, v)| format!("\n{k}:{v}")).collect();
    format!("{method}\n\n\n\n\n\n\n\n\n\n\n\n{headers}/{account}{path}{resource}")
}

fn sign(key: &[u8], text: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, text.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_shared_key_signs() {
        let ms: BTreeMap<String, String> = [
            ("x-ms-version".to_string(), VERSION.to_string()),
            ("x-ms-date".to_string(), "Mon, 30 Nov 2026 18:00:00 GMT".to_string()),
        ]
        .into();
        let text = string_to_sign(
            "GET",
            "acct",
            "/registry",
            &[("restype", "container"), ("comp", "list"), ("maxresults", "5000")],
            &ms,
        );
        assert_eq!(
            text,
            "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Mon, 30 Nov 2026 18:00:00 GMT\nx-ms-version:2021-08-06\n\
             /acct/registry\ncomp:list\nmaxresults:5000\nrestype:container"
        );
        // An emulator's endpoint carries the account in its path: it is signed as part of it.
        assert_eq!(url_path("http://127.0.0.1:10000/devstoreaccount1"), "/devstoreaccount1");
        assert_eq!(url_path("https://acct.blob.core.windows.net"), "");
        assert_eq!(
            between(b"<Error><Code>ContainerNotFound</Code></Error>", "<Code>", "</Code>").as_deref(),
            Some("ContainerNotFound")
        );
    }
}
