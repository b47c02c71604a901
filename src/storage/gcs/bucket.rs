//! The life cycle of the registry's GCS bucket over the JSON API: adopted when it exists
//! (Unmanaged), created when not (Managed) in the cluster's region with the operator's labels and
//! default KMS key, bound to the platform's resource tags through Resource Manager v3, inspected,
//! and removed with its objects.

use super::super::cloud::{
    COUNT_LIMIT, CloudContext, CloudError, Creator, Ensured, Inspection, Mode, Removed, StorageCondition, Store,
    ensure_store,
};
use super::super::transport::{self, Answer, Renewable, url_encode};
use super::token::{ServiceAccountKey, access_token};
use crate::api::{ManagementState, Storage};
use aws_smithy_runtime_api::client::http::SharedHttpConnector;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub struct GcsBucket;

/// This program's mark among the bucket's labels.
const CREATED_BY: &str = "createdby";
const THIS_PROGRAM: &str = "oc-registry";
/// Objects listed per page, and deleted at once.
const PAGE: u32 = 1000;
const DELETING_AT_ONCE: usize = 16;

/// The JSON API's base: `STORAGE_EMULATOR_HOST` when set (as Google's own libraries take it),
/// else Google's.
fn storage_base() -> String {
    match std::env::var("STORAGE_EMULATOR_HOST").ok().filter(|h| !h.is_empty()) {
        Some(host) if host.contains("://") => host.trim_end_matches('/').to_string(),
        Some(host) => format!("http://{}", host.trim_end_matches('/')),
        None => "https://storage.googleapis.com".into(),
    }
}

/// Resource Manager's endpoint for `location`: `gcloud`'s override
/// (`CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER`) when set, else the location's own.
fn resource_manager_base(location: &str) -> String {
    match std::env::var("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!(
            "https://{}-cloudresourcemanager.googleapis.com",
            location.to_ascii_lowercase()
        ),
    }
}

/// The labels a bucket created here carries: the cluster's ownership label, the platform's
/// `resourceLabels`, and this program's mark.
pub fn labels(infrastructure: &str, resource_labels: &[(String, String)]) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = resource_labels.iter().cloned().collect();
    labels.insert(format!("kubernetes-io-cluster-{infrastructure}"), "owned".into());
    labels.insert(CREATED_BY.into(), THIS_PROGRAM.into());
    labels
}

/// The body of the bucket insert.
pub fn insert_request(name: &str, location: &str, labels: &BTreeMap<String, String>, kms_key: Option<&str>) -> Value {
    let mut bucket = json!({"name": name, "location": location, "labels": labels});
    if let Some(key) = kms_key {
        bucket["encryption"] = json!({"defaultKmsKeyName": key});
    }
    bucket
}

/// The tag values `resourceTags` names (`PARENT/KEY/VALUE`), in order.
pub fn tag_values(resource_tags: &[Value]) -> Vec<String> {
    resource_tags
        .iter()
        .filter_map(|t| {
            let s = |k: &str| t.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
            Some(format!("{}/{}/{}", s("parentID")?, s("key")?, s("value")?))
        })
        .collect()
}

/// One bucket, reached with a token for the service account.
struct Bucket {
    name: String,
    project: Option<String>,
    location: String,
    kms_key: Option<String>,
    infrastructure: String,
    resource_labels: Vec<(String, String)>,
    resource_tags: Vec<Value>,
    key: ServiceAccountKey,
    https: SharedHttpConnector,
    base: String,
    token: Renewable<String>,
}

impl Bucket {
    fn new(storage: &Storage, cx: &CloudContext<'_>) -> Result<Bucket, CloudError> {
        let gcs = storage.gcs.clone().unwrap_or_default();
        let Some(name) = gcs.bucket.clone().filter(|b| !b.is_empty()) else {
            return Err(CloudError {
                code: "StorageNotConfigured".into(),
                message: "spec.storage.gcs names no bucket: set one with oc-registry storage set gcs --bucket NAME"
                    .into(),
            });
        };
        let keyfile = super::keyfile(cx.credentials).map_err(|problem| CloudError {
            code: "InvalidCredentials".into(),
            message: problem.message,
        })?;
        let key = ServiceAccountKey::parse(&keyfile)?;
        let platform = cx
            .infrastructure
            .status
            .as_ref()
            .and_then(|s| s.platform_status.as_ref())
            .and_then(|p| p.gcp.clone())
            .unwrap_or_default();
        Ok(Bucket {
            name,
            project: gcs
                .project_id
                .clone()
                .filter(|p| !p.is_empty())
                .or_else(|| key.project_id.clone()),
            location: gcs.region.clone().unwrap_or_default(),
            kms_key: gcs.key_id.clone().filter(|k| !k.is_empty()),
            infrastructure: cx.infrastructure_name().to_string(),
            resource_labels: platform
                .resource_labels
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
                .collect(),
            resource_tags: platform.resource_tags.unwrap_or_default(),
            key,
            https: SharedHttpConnector::new(transport::connector(cx)?),
            base: storage_base(),
            token: Renewable::new(),
        })
    }

    /// A call with the service account's token; a token refused as expired is renewed once.
    async fn call(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Answer, CloudError> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let build = |token: &String| {
            let mut request = http::Request::builder()
                .method(method)
                .uri(url)
                .header("authorization", format!("Bearer {token}"));
            if body.is_some() {
                request = request.header("content-type", "application/json");
            }
            request.body(bytes.clone())
        };
        let obtain = || access_token(&self.key, &self.https);
        self.token
            .send(&self.https, "Google Cloud Storage", obtain, build)
            .await
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/storage/v1/b/{}{rest}", self.base, url_encode(&self.name))
    }

    /// Google's refusal, named for the user.
    fn failed(&self, what: &str, answer: &Answer) -> CloudError {
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let said = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| transport::excerpt(&answer.body));
        let (name, account) = (&self.name, &self.key.client_email);
        let (code, message) = match answer.status {
            401 => (
                "Unauthorized".to_string(),
                format!(
                    "{what} GCS bucket {name}: Google refused service account {account}'s token: store a current key \
                     with oc-registry storage credentials set gcs keyfile=@FILE"
                ),
            ),
            403 => (
                "Forbidden".to_string(),
                format!(
                    "{what} GCS bucket {name}: service account {account} may not ({said}): grant it \
                     roles/storage.admin on the project, or name a bucket it may use with oc-registry storage set \
                     gcs --bucket NAME"
                ),
            ),
            409 => (
                "BucketNameUnavailable".to_string(),
                format!(
                    "{what} GCS bucket {name}: the name is taken ({said}): bucket names are global; name another \
                     with oc-registry storage set gcs --bucket NAME"
                ),
            ),
            status => (
                format!("HTTP{status}"),
                format!("{what} GCS bucket {name} failed: HTTP {status}: {said}"),
            ),
        };
        CloudError { code, message }
    }

    /// The bucket's resource, or `None` when it does not exist.
    async fn get(&self) -> Result<Option<Value>, CloudError> {
        let answer = self.call("GET", &self.url(""), None).await?;
        match answer.status {
            200 => Ok(Some(serde_json::from_slice(&answer.body).unwrap_or(Value::Null))),
            404 => Ok(None),
            _ => Err(self.failed("reading", &answer)),
        }
    }

    /// Up to [`PAGE`] object names after `page_token`, and the next page's token.
    async fn list(&self, page_token: Option<&str>) -> Result<(Vec<String>, Option<String>), CloudError> {
        let mut url = self.url(&format!("/o?maxResults={PAGE}&fields=items(name),nextPageToken"));
        if let Some(token) = page_token {
            url.push_str(&format!("&pageToken={}", url_encode(token)));
        }
        let answer = self.call("GET", &url, None).await?;
        if answer.status != 200 {
            return Err(self.failed("listing the objects of", &answer));
        }
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let names = body
            .get("items")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|o| o.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let next = body.get("nextPageToken").and_then(Value::as_str).map(str::to_string);
        Ok((names, next))
    }

    async fn count(&self) -> Result<u64, CloudError> {
        let (mut count, mut next) = (0u64, None);
        loop {
            let (names, token) = self.list(next.as_deref()).await?;
            count += names.len() as u64;
            if token.is_none() || count >= COUNT_LIMIT {
                return Ok(count.min(COUNT_LIMIT));
            }
            next = token;
        }
    }

    async fn delete_object(&self, object: &str) -> Result<(), CloudError> {
        let answer = self
            .call("DELETE", &self.url(&format!("/o/{}", url_encode(object))), None)
            .await?;
        match answer.status {
            200..=299 | 404 => Ok(()),
            _ => Err(self.failed(&format!("deleting object {object} of"), &answer)),
        }
    }

    /// The tag values bound to the bucket (`PARENT/KEY/VALUE`).
    async fn bound_tags(&self, url: &str, parent: &str) -> Result<Vec<String>, CloudError> {
        let answer = self
            .call("GET", &format!("{url}?parent={}", url_encode(parent)), None)
            .await?;
        if answer.status != 200 {
            return Err(self.failed("listing the tags bound to", &answer));
        }
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        Ok(body
            .get("tagBindings")
            .and_then(Value::as_array)
            .map(|bindings| {
                bindings
                    .iter()
                    .filter_map(|b| {
                        b.get("tagValueNamespacedName")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Binds the platform's resource tags to the bucket; those already bound are left as they are.
    async fn bind_tags(&self) -> Option<StorageCondition> {
        let values = tag_values(&self.resource_tags);
        if values.is_empty() {
            return None;
        }
        let url = format!("{}/v3/tagBindings", resource_manager_base(&self.location));
        let parent = format!("//storage.googleapis.com/projects/_/buckets/{}", self.name);
        let bound = match self.bound_tags(&url, &parent).await {
            Ok(bound) => bound,
            Err(err) => return Some(StorageCondition::new("StorageTagged", false, err.code, err.message)),
        };
        for value in values.iter().filter(|v| !bound.contains(v)) {
            let body = json!({"parent": parent, "tagValueNamespacedName": value});
            let answer = match self.call("POST", &url, Some(&body)).await {
                Ok(answer) => answer,
                Err(err) => return Some(StorageCondition::new("StorageTagged", false, err.code, err.message)),
            };
            if !matches!(answer.status, 200 | 409) {
                let err = self.failed(&format!("binding tag {value} to"), &answer);
                return Some(StorageCondition::new("StorageTagged", false, err.code, err.message));
            }
        }
        Some(StorageCondition::new(
            "StorageTagged",
            true,
            "Tagging Successful",
            format!("the bucket is bound to {}", values.join(", ")),
        ))
    }
}

impl Store for Bucket {
    fn noun(&self) -> &str {
        "GCS bucket"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn driver(&self) -> &str {
        "gcs"
    }

    fn name_flag(&self) -> &str {
        "--bucket"
    }

    async fn exists(&self) -> Result<bool, CloudError> {
        Ok(self.get().await?.is_some())
    }

    async fn create(&self) -> Result<(), CloudError> {
        let Some(project) = &self.project else {
            return Err(CloudError {
                code: "StorageNotConfigured".into(),
                message: format!(
                    "GCS bucket {} cannot be created without a project: set one with oc-registry storage set gcs \
                     --project-id PROJECT",
                    self.name
                ),
            });
        };
        let labels = labels(&self.infrastructure, &self.resource_labels);
        let body = insert_request(&self.name, &self.location, &labels, self.kms_key.as_deref());
        let url = format!("{}/storage/v1/b?project={}", self.base, url_encode(project));
        let answer = self.call("POST", &url, Some(&body)).await?;
        match answer.status {
            200 => Ok(()),
            // Made by an earlier, interrupted pass with these credentials.
            409 if String::from_utf8_lossy(&answer.body).contains("already own") => Ok(()),
            _ => Err(self.failed("creating", &answer)),
        }
    }
}

impl GcsBucket {
    async fn ensure_gcs(&self, storage: &Storage, cx: CloudContext<'_>, mode: Mode) -> Ensured {
        let (mut out, found) = ensure_store(Bucket::new(storage, &cx), storage, &cx, mode).await;
        let Some((bucket, _)) = found else { return out };
        let managed = out.storage.management_state == Some(ManagementState::Managed);
        if managed && mode == Mode::Apply {
            out.conditions.extend(bucket.bind_tags().await);
        }
        out
    }

    async fn inspect_gcs(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Inspection, CloudError> {
        let bucket = Bucket::new(storage, &cx)?;
        let Some(resource) = bucket.get().await? else {
            return Ok(Inspection::absent());
        };
        let label = |k: &str| resource.pointer(&format!("/labels/{k}")).and_then(Value::as_str);
        let owner = format!("kubernetes-io-cluster-{}", bucket.infrastructure);
        let creator = match (label(CREATED_BY), label(&owner)) {
            (Some(THIS_PROGRAM), _) => Creator::ThisProgram,
            (_, Some("owned")) => Creator::Operator,
            _ => Creator::Other,
        };
        Ok(Inspection {
            exists: true,
            creator: Some(creator),
            objects: bucket.count().await.ok(),
            removal_started: None,
        })
    }

    /// Deletes the objects (several at once), then the bucket; gone already is done.
    async fn remove_gcs(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Removed, CloudError> {
        let bucket = Bucket::new(storage, &cx)?;
        if bucket.get().await?.is_none() {
            return Ok(Removed::default());
        }
        let mut removed = Removed::default();
        let mut conflict = None;
        // Objects written meanwhile keep the bucket: it is emptied again, a few times.
        for _ in 0..3 {
            loop {
                // Each page is listed from the start: the previous one is gone.
                let (names, _) = bucket.list(None).await?;
                if names.is_empty() {
                    break;
                }
                let deletions: Vec<_> = names.iter().map(|name| bucket.delete_object(name)).collect();
                futures::stream::iter(deletions)
                    .buffer_unordered(DELETING_AT_ONCE)
                    .try_collect::<Vec<()>>()
                    .await?;
                removed.objects += names.len() as u64;
            }
            let answer = bucket.call("DELETE", &bucket.url(""), None).await?;
            match answer.status {
                200..=299 | 404 => return Ok(removed),
                409 => conflict = Some(answer),
                _ => return Err(bucket.failed("deleting", &answer)),
            }
        }
        Err(bucket.failed("deleting", &conflict.expect("three conflicts")))
    }
}

super::super::cloud::cloud_of_async_fns!(GcsBucket, ensure_gcs, inspect_gcs, remove_gcs);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_insert_carries_location_labels_and_key() {
        let labels = labels("sim-7xk2p", &[("team".into(), "registry".into())]);
        assert_eq!(
            insert_request(
                "b",
                "us-central1",
                &labels,
                Some("projects/p/locations/l/keyRings/r/cryptoKeys/k")
            ),
            json!({"name": "b", "location": "us-central1",
                "labels": {"createdby": "oc-registry", "kubernetes-io-cluster-sim-7xk2p": "owned", "team": "registry"},
                "encryption": {"defaultKmsKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"}})
        );
        assert_eq!(
            insert_request("b", "eu", &BTreeMap::new(), None).get("encryption"),
            None
        );
    }

    #[test]
    fn tag_values_need_parent_key_and_value() {
        let tags = [
            json!({"parentID": "1234", "key": "env", "value": "prod"}),
            json!({"parentID": "my-project", "key": "team"}),
            json!({"key": "a", "value": "b"}),
        ];
        assert_eq!(tag_values(&tags), ["1234/env/prod"]);
    }
}
