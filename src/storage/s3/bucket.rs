//! The S3 bucket's life cycle, as the operator runs it: exists (`HeadBucket`), create (the
//! `LocationConstraint` everywhere but us-east-1; a bucket this account already owns is reused),
//! configure when Managed (public access block, tags, default encryption, the incomplete-upload
//! lifecycle rule, each with its condition), and remove (every object and version, then the bucket).

use super::client::{ENDPOINT_VARIABLE, Endpoint, KMS_ENDPOINT_VARIABLE, Shared, auth};
use super::tags;
use crate::api::{ManagementState, S3Storage, Storage};
use crate::storage::cloud::{
    COUNT_LIMIT, CloudContext, CloudError, Ensured, Inspection, Mode, Removed, StorageCondition,
};
use aws_sdk_s3::Client;
use aws_sdk_s3::client::Waiters;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint, CreateBucketConfiguration,
    Delete, ExpirationStatus, LifecycleRule, LifecycleRuleFilter, ObjectIdentifier, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long creating or deleting a bucket may take to show.
const SETTLE: Duration = Duration::from_secs(60);

/// The lifecycle rule that aborts incomplete multipart uploads after a day.
const CLEANUP_RULE: &str = "cleanup-incomplete-multipart-registry-uploads";

pub struct S3Bucket;

/// The region a bucket is created in, as `CreateBucket` must be told: never in us-east-1 (both
/// AWS and S3-compatible services refuse `us-east-1` there), always elsewhere.
pub fn location_constraint(region: &str) -> Option<&str> {
    (!region.is_empty() && region != "us-east-1").then_some(region)
}

/// The cloud's error code for a failed call: its own, else the HTTP status's name.
fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> String
where
    R: std::fmt::Debug,
{
    if let Some(code) = err.code() {
        return code.to_string();
    }
    match err {
        SdkError::ServiceError(e) => {
            let raw = format!("{:?}", e.raw());
            if raw.contains("403") {
                "Forbidden".into()
            } else if raw.contains("404") {
                "NotFound".into()
            } else {
                "ServiceError".into()
            }
        }
        SdkError::TimeoutError(_) => "RequestTimeout".into(),
        SdkError::DispatchFailure(_) => "EndpointUnreachable".into(),
        _ => "RequestFailed".into(),
    }
}

fn detail<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(err: &SdkError<E, R>) -> String {
    if let Some(m) = err.message().filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    match err {
        // The code says it all; the SDK's rendering of the raw response adds only noise.
        SdkError::ServiceError(_) => "the service gave no further detail".into(),
        _ => crate::cluster::chain(err),
    }
}

/// A bucket and how to reach it, over the S3 API (Amazon's, or IBM COS's).
pub(in crate::storage) struct Target {
    pub bucket: String,
    endpoint: Endpoint,
    client: Client,
    /// How messages name it (`S3 bucket`, `IBM COS bucket`).
    noun: &'static str,
    /// The storage driver, for the commands a message suggests.
    driver: &'static str,
    /// What `CreateBucket` is told, when anything.
    location_constraint: Option<String>,
    /// KMS, to check a default-encryption key exists before the bucket is set to use it.
    kms: Option<aws_sdk_kms::Client>,
}

impl Target {
    pub(in crate::storage) fn new(
        bucket: String,
        endpoint: Endpoint,
        client: Client,
        (noun, driver): (&'static str, &'static str),
        location_constraint: Option<String>,
    ) -> Target {
        Target {
            bucket,
            endpoint,
            client,
            noun,
            driver,
            location_constraint,
            kms: None,
        }
    }

    /// A failed call, with the cloud's code and a message naming the bucket and the fix.
    fn failed<E, R>(&self, call: &str, err: &SdkError<E, R>) -> CloudError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = code(err);
        let place = match &self.endpoint.url {
            Some(url) => format!("at {url}"),
            None => format!("in {}", self.endpoint.region),
        };
        let driver = self.driver;
        let fix = match code.as_str() {
            "Forbidden" | "AccessDenied" | "AllAccessDisabled" => format!(
                ": the credentials may not use this bucket (it may belong to another account); give credentials that \
                 may, or choose another bucket with oc-registry storage set {driver} --bucket NAME"
            ),
            "BucketAlreadyExists" => format!(
                ": bucket names are global and another account has this one; choose another with oc-registry \
                 storage set {driver} --bucket NAME"
            ),
            "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidCredentials" | "ExpiredToken" => format!(
                ": fix the key pair with oc-registry storage credentials set {driver} access-key=@FILE secret-key=@FILE"
            ),
            "EndpointUnreachable" | "RequestTimeout" => format!(
                ": check {} and the network path (and the cluster proxy)",
                match driver {
                    "s3" => "spec.storage.s3.regionEndpoint",
                    _ => "the Infrastructure's COS service endpoint",
                }
            ),
            "KMS.NotFoundException" | "KMSNotFoundException" | "InvalidArgument" | "NotFoundException" => {
                ": check spec.storage.s3.keyID names a KMS key this account may use".into()
            }
            _ => String::new(),
        };
        CloudError {
            message: format!(
                "{call} for {} {} {place} failed: {code}: {}{fix}",
                self.noun,
                self.bucket,
                detail(err)
            ),
            code,
        }
    }

    fn of(s3: &S3Storage, cx: &CloudContext<'_>) -> Result<Target, CloudError> {
        let bucket = s3.bucket.clone().filter(|b| !b.is_empty()).ok_or_else(|| CloudError {
            code: "StorageNotConfigured".into(),
            message: "spec.storage.s3.bucket is empty: set it with oc-registry storage set s3 --bucket NAME, or \
                      leave it to reconcile to name"
                .into(),
        })?;
        // A name the SDK would put in a header unchecked: refused here, never sent.
        for (field, value) in [("bucket", Some(bucket.as_str())), ("region", s3.region.as_deref())] {
            if value.is_some_and(|v| !v.chars().all(|c| c.is_ascii_graphic())) {
                return Err(CloudError {
                    code: "InvalidValue".into(),
                    message: format!(
                        "spec.storage.s3.{field} holds spaces or control characters: fix it with oc-registry storage \
                         set s3 --{field} NAME"
                    ),
                });
            }
        }
        let endpoint = Endpoint::of(s3, std::env::var(ENDPOINT_VARIABLE).ok());
        if endpoint.url.is_none() && super::availability(&endpoint.region) == super::Availability::None {
            return Err(CloudError {
                code: "InvalidRegion".into(),
                message: format!(
                    "there is no S3 endpoint for region {} in its AWS partition: set spec.storage.s3.regionEndpoint",
                    endpoint.region
                ),
            });
        }
        let shared = Shared::of(&endpoint.region, cx, auth(cx.credentials)?)?;
        let client = shared.s3(&endpoint);
        let constraint = location_constraint(&endpoint.region).map(str::to_string);
        // Keys are checked in AWS's KMS (or the one the SDKs' variable names); an S3-compatible
        // endpoint's keys live elsewhere.
        let kms_url = std::env::var(KMS_ENDPOINT_VARIABLE).ok().filter(|u| !u.is_empty());
        let kms = match kms_url.is_some() || super::super::value(&s3.region_endpoint).is_none() {
            true => Some(shared.kms(kms_url)),
            false => None,
        };
        let mut target = Target::new(bucket, endpoint, client, ("S3 bucket", "s3"), constraint);
        target.kms = kms;
        Ok(target)
    }

    /// `Ok(false)` when the bucket does not exist; an error when it cannot be told (403: another
    /// account's, or the credentials may not look).
    pub(in crate::storage) async fn exists(&self) -> Result<bool, CloudError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(true),
            Err(e) if matches!(code(&e).as_str(), "NotFound" | "NoSuchBucket") => Ok(false),
            Err(e) => Err(self.failed("HeadBucket", &e)),
        }
    }

    pub(in crate::storage) async fn create(&self) -> Result<(), CloudError> {
        let mut request = self.client.create_bucket().bucket(&self.bucket);
        if let Some(region) = self.location_constraint.as_deref() {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match request.send().await {
            Ok(_) => {}
            Err(e) if code(&e) == "BucketAlreadyOwnedByYou" => return Ok(()),
            Err(e) => return Err(self.failed("CreateBucket", &e)),
        }
        self.client
            .wait_until_bucket_exists()
            .bucket(&self.bucket)
            .wait(SETTLE)
            .await
            .map(|_| ())
            .map_err(|e| CloudError {
                code: "BucketNotCreated".into(),
                message: format!("{} {} was created but did not appear: {e}", self.noun, self.bucket),
            })
    }

    async fn tags(&self) -> Result<BTreeMap<String, String>, CloudError> {
        match self.client.get_bucket_tagging().bucket(&self.bucket).send().await {
            Ok(out) => Ok(out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()),
            Err(e) if code(&e) == "NoSuchTagSet" => Ok(BTreeMap::new()),
            Err(e) => Err(self.failed("GetBucketTagging", &e)),
        }
    }

    async fn put_tags(&self, tags: &BTreeMap<String, String>) -> Result<(), CloudError> {
        let set: Vec<Tag> = tags
            .iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        let tagging = Tagging::builder()
            .set_tag_set(Some(set))
            .build()
            .map_err(|e| CloudError {
                code: "InvalidTag".into(),
                message: e.to_string(),
            })?;
        self.client
            .put_bucket_tagging()
            .bucket(&self.bucket)
            .tagging(tagging)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("PutBucketTagging", &e))
    }

    async fn block_public_access(&self) -> StorageCondition {
        let config = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        let sent = self
            .client
            .put_public_access_block()
            .bucket(&self.bucket)
            .public_access_block_configuration(config)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("PutPublicAccessBlock", &e));
        StorageCondition::of(
            "StoragePublicAccessBlocked",
            sent,
            "Public Access Block Successful",
            "Public access to the S3 bucket and its contents have been successfully blocked.",
        )
    }

    async fn tag(&self, cx: &CloudContext<'_>, created_here: bool) -> StorageCondition {
        let status = cx.infrastructure.status.clone().unwrap_or_default();
        let infra = cx.infrastructure_name();
        let resource_tags: Vec<(String, String)> = status
            .platform_status
            .and_then(|p| p.aws)
            .and_then(|a| a.resource_tags)
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
            .collect();
        let result = async {
            // A bucket created this pass has no tags yet: nothing to read.
            let existing = match created_here {
                true => BTreeMap::new(),
                false => self.tags().await?,
            };
            let (mut wanted, refused) = tags::merged(&existing, infra, &resource_tags, created_here);
            // The policy's own tags (checked: never the cluster's keys) go beside them.
            wanted.extend(cx.provisioning.tags.clone());
            if wanted != existing {
                self.put_tags(&wanted).await?;
            }
            Ok::<_, CloudError>(refused)
        };
        match result.await {
            Ok(refused) if refused.is_empty() => StorageCondition::new(
                "StorageTagged",
                true,
                "Tagging Successful",
                "UserTags were successfully applied to the S3 bucket",
            ),
            Ok(refused) => StorageCondition::new(
                "StorageTagged",
                false,
                "InvalidTags",
                format!(
                    "resourceTags {} were not applied: keys Name, kubernetes.io/* and openshift.io/* are the cluster's",
                    refused.join(", ")
                ),
            ),
            Err(err) => StorageCondition::new("StorageTagged", false, err.code, err.message),
        }
    }

    /// Why `key_id` cannot encrypt, when KMS says it cannot: it does not exist, or it is not
    /// enabled. Anything else (no permission to describe keys) is left to the bucket to judge.
    async fn unusable_key(&self, key_id: &str) -> Option<CloudError> {
        use aws_sdk_kms::types::KeyState;
        let kms = self.kms.as_ref()?;
        let (bucket, fix) = (
            &self.bucket,
            "set spec.storage.s3.keyID to a key this account may use (oc-registry storage set s3 --key-id ARN), or \
             unset it for AES256",
        );
        match kms.describe_key().key_id(key_id).send().await {
            Ok(out) => {
                let state = out.key_metadata()?.key_state()?.clone();
                (state != KeyState::Enabled).then(|| CloudError {
                    code: if state == KeyState::Disabled {
                        "DisabledException"
                    } else {
                        "KMSInvalidStateException"
                    }
                    .into(),
                    message: format!(
                        "KMS key {key_id} for S3 bucket {bucket} is {}: the bucket was not set to use it; {fix}",
                        state.as_str()
                    ),
                })
            }
            Err(e) if e.code() == Some("NotFoundException") => Some(CloudError {
                code: "NotFoundException".into(),
                message: format!(
                    "KMS key {key_id} for S3 bucket {bucket} does not exist in {}: the bucket was not set to use it; \
                     {fix}",
                    self.endpoint.region
                ),
            }),
            Err(_) => None,
        }
    }

    async fn encrypt(&self, key_id: Option<&str>) -> StorageCondition {
        if let Some(err) = match key_id {
            Some(key) => self.unusable_key(key).await,
            None => None,
        } {
            return StorageCondition::new("StorageEncrypted", false, err.code, err.message);
        }
        let default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(if key_id.is_some() {
                ServerSideEncryption::AwsKms
            } else {
                ServerSideEncryption::Aes256
            })
            .set_kms_master_key_id(key_id.map(str::to_string))
            .build();
        let config = default.map(|d| {
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(d)
                        .bucket_key_enabled(true)
                        .build(),
                )
                .build()
        });
        let sent = match config {
            Ok(Ok(config)) => self
                .client
                .put_bucket_encryption()
                .bucket(&self.bucket)
                .server_side_encryption_configuration(config)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.failed("PutBucketEncryption", &e)),
            Ok(Err(e)) | Err(e) => Err(CloudError {
                code: "InvalidEncryption".into(),
                message: e.to_string(),
            }),
        };
        StorageCondition::of(
            "StorageEncrypted",
            sent,
            "Encryption Successful",
            if key_id.is_some() {
                "Default encryption was successfully enabled on the S3 bucket using KMS"
            } else {
                "Default AES256 encryption was successfully enabled on the S3 bucket"
            },
        )
    }

    async fn clean_up_incomplete_uploads(&self, days: i32) -> StorageCondition {
        let rule = LifecycleRule::builder()
            .id(CLEANUP_RULE)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(days)
                    .build(),
            )
            .build();
        let sent = match rule.and_then(|r| BucketLifecycleConfiguration::builder().rules(r).build()) {
            Ok(config) => self
                .client
                .put_bucket_lifecycle_configuration()
                .bucket(&self.bucket)
                .lifecycle_configuration(config)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.failed("PutBucketLifecycleConfiguration", &e)),
            Err(e) => Err(CloudError {
                code: "InvalidLifecycle".into(),
                message: e.to_string(),
            }),
        };
        StorageCondition::of(
            "StorageIncompleteUploadCleanupEnabled",
            sent,
            "Enable Cleanup Successful",
            match days {
                1 => "Default cleanup of incomplete multipart uploads after one (1) day was successfully enabled"
                    .to_string(),
                n => format!("Cleanup of incomplete multipart uploads after {n} days was successfully enabled"),
            },
        )
    }

    /// Counts objects, up to [`COUNT_LIMIT`].
    pub(in crate::storage) async fn count(&self) -> Result<u64, CloudError> {
        let mut count = 0u64;
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.failed("ListObjectsV2", &e))?;
            count += page.contents().len() as u64;
            if count >= COUNT_LIMIT {
                break;
            }
        }
        Ok(count)
    }

    /// Deletes every object version, delete marker and incomplete upload; returns how many
    /// objects went.
    pub(in crate::storage) async fn empty(&self) -> Result<u64, CloudError> {
        let mut deleted = 0u64;
        loop {
            let listed = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .max_keys(1000)
                .send()
                .await
                .map_err(|e| self.failed("ListObjectVersions", &e))?;
            let ids: Vec<ObjectIdentifier> = listed
                .versions()
                .iter()
                .filter_map(|v| Some((v.key()?, v.version_id())))
                .chain(
                    listed
                        .delete_markers()
                        .iter()
                        .filter_map(|m| Some((m.key()?, m.version_id()))),
                )
                .filter_map(|(key, version)| {
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(version.map(str::to_string))
                        .build()
                        .ok()
                })
                .collect();
            if ids.is_empty() {
                break;
            }
            let batch = ids.len() as u64;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| CloudError {
                    code: "InvalidDelete".into(),
                    message: e.to_string(),
                })?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.failed("DeleteObjects", &e))?;
            if let Some(first) = out.errors().first() {
                return Err(CloudError {
                    code: first.code().unwrap_or("DeleteFailed").to_string(),
                    message: format!(
                        "DeleteObjects for S3 bucket {} left {} object(s), e.g. {}: {}",
                        self.bucket,
                        out.errors().len(),
                        first.key().unwrap_or_default(),
                        first.message().unwrap_or_default()
                    ),
                });
            }
            deleted += batch;
        }
        let uploads = self
            .client
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| self.failed("ListMultipartUploads", &e))?;
        for upload in uploads.uploads() {
            if let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) {
                self.client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(id)
                    .send()
                    .await
                    .map_err(|e| self.failed("AbortMultipartUpload", &e))?;
            }
        }
        Ok(deleted)
    }
}

impl Target {
    /// Deletes the (emptied) bucket and waits until it is gone; a bucket already gone is fine.
    pub(in crate::storage) async fn delete(&self) -> Result<(), CloudError> {
        match self.client.delete_bucket().bucket(&self.bucket).send().await {
            Ok(_) => {}
            Err(e) if code(&e) == "NoSuchBucket" => return Ok(()),
            Err(e) => return Err(self.failed("DeleteBucket", &e)),
        }
        self.client
            .wait_until_bucket_not_exists()
            .bucket(&self.bucket)
            .wait(SETTLE)
            .await
            .map(|_| ())
            .map_err(|e| CloudError {
                code: "BucketNotDeleted".into(),
                message: format!("{} {} was deleted but still shows: {e}", self.noun, self.bucket),
            })
    }
}

/// Whether nobody has said who manages the storage yet.
impl super::super::cloud::Store for Target {
    fn noun(&self) -> &str {
        self.noun
    }

    fn name(&self) -> &str {
        &self.bucket
    }

    fn driver(&self) -> &str {
        self.driver
    }

    fn name_flag(&self) -> &str {
        "--bucket"
    }

    async fn exists(&self) -> Result<bool, CloudError> {
        Target::exists(self).await
    }

    async fn create(&self) -> Result<(), CloudError> {
        Target::create(self).await
    }
}

impl S3Bucket {
    async fn ensure_s3(&self, storage: &Storage, cx: CloudContext<'_>, mode: Mode) -> Ensured {
        let Some(s3) = storage.s3.as_ref() else {
            return Ensured::of(storage);
        };
        let (mut out, found) = super::super::cloud::ensure_store(Target::of(s3, &cx), storage, &cx, mode).await;
        let Some((target, created_here)) = found else {
            return out;
        };
        let set_up = cx.provisioning;
        let managed = out.storage.management_state == Some(ManagementState::Managed);
        if !managed || mode == Mode::DryRun {
            return out;
        }
        let key_id = set_up.kms_key_id.as_deref().filter(|_| set_up.encryption == "aws:kms");
        let (blocked, tagged, encrypted, cleaned) = tokio::join!(
            async {
                match set_up.block_public_access {
                    true => Some(target.block_public_access().await),
                    false => None,
                }
            },
            target.tag(&cx, created_here),
            target.encrypt(key_id),
            target.clean_up_incomplete_uploads(set_up.incomplete_upload_days),
        );
        if encrypted.ok
            && let Some(s3) = out.storage.s3.as_mut()
        {
            s3.encrypt = Some(true);
        }
        out.conditions.extend([encrypted, tagged]);
        out.conditions.extend(blocked);
        out.conditions.push(cleaned);
        out
    }

    async fn inspect_s3(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Inspection, CloudError> {
        let s3 = storage.s3.clone().unwrap_or_default();
        let target = Target::of(&s3, &cx)?;
        if !target.exists().await? {
            return Ok(Inspection::absent());
        }
        let infra = cx.infrastructure_name();
        let (tags, objects) = tokio::join!(target.tags(), target.count());
        let tags = tags.ok();
        Ok(Inspection {
            exists: true,
            creator: tags.as_ref().map(|t| tags::creator(t, infra)),
            objects: objects.ok(),
            removal_started: tags.and_then(|t| t.get(tags::REMOVAL_STARTED).cloned()),
        })
    }

    async fn remove_s3(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Removed, CloudError> {
        let s3 = storage.s3.clone().unwrap_or_default();
        let target = Target::of(&s3, &cx)?;
        if !target.exists().await? {
            return Ok(Removed::default());
        }
        // Marked first, so that a run after an interruption knows it finishes this removal.
        let mut existing = target.tags().await.unwrap_or_default();
        let resumed = existing.contains_key(tags::REMOVAL_STARTED);
        if !resumed {
            let now = jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string());
            existing.insert(tags::REMOVAL_STARTED.into(), now.unwrap_or_default());
            // A bucket that refuses tags is still emptied and deleted.
            let _ = target.put_tags(&existing).await;
        }
        let objects = target.empty().await?;
        target.delete().await?;
        Ok(Removed { objects, resumed })
    }
}

super::super::cloud::cloud_of_async_fns!(S3Bucket, ensure_s3, inspect_s3, remove_s3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_constraints() {
        assert_eq!(location_constraint("us-east-1"), None);
        assert_eq!(location_constraint(""), None);
        assert_eq!(location_constraint("eu-west-1"), Some("eu-west-1"));
    }
}
