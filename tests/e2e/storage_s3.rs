//! S3 storage through the real AWS SDK against moto on 127.0.0.1: the bucket is created, configured
//! as the operator configures it (read back with the SDK), adopted when it is the user's, tagged
//! from the Infrastructure, and removed with its objects only when that is confirmed.

use crate::support::services::put_objects;
use crate::support::{Running, cluster, condition, serve, text};
use aws_sdk_s3::Client;
use serde_json::json;
use std::collections::BTreeMap;
use test_apiserver::Platform;

/// The bucket reconcile names on the simulated AWS cluster.
const BUCKET: &str = "sim-7xk2p-image-registry-us-east-1";

/// A freshly installed AWS cluster (its S3 a moto of its own), bootstrapped; `None` without moto.
async fn fresh_aws() -> Option<(Running, Client)> {
    let running = serve(cluster(Platform::Aws, false)).await;
    let client = running.s3_client()?;
    let (code, _, err) = running.outcome(&["bootstrap"]).await;
    assert_eq!(code, Some(0), "{err}");
    Some((running, client))
}

async fn tags(client: &Client, bucket: &str) -> BTreeMap<String, String> {
    client
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

async fn exists(client: &Client, bucket: &str) -> bool {
    client.head_bucket().bucket(bucket).send().await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bucket_is_created_configured_and_removed_only_when_confirmed() {
    let Some((running, client)) = fresh_aws().await else {
        return;
    };

    // A dry run says what it would create and creates nothing.
    let (code, out, err) = running.outcome(&["reconcile", "--dry-run"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(&format!("S3 bucket {BUCKET} created (dry run)")), "{out}");
    assert!(!exists(&client, BUCKET).await);

    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(&format!("S3 bucket {BUCKET} created")), "{out}");
    assert!(exists(&client, BUCKET).await);

    // Configured as the operator configures it.
    let tags = tags(&client, BUCKET).await;
    assert_eq!(
        tags.get("kubernetes.io/cluster/sim-7xk2p").map(String::as_str),
        Some("owned")
    );
    assert_eq!(tags.get("Name").map(String::as_str), Some("sim-7xk2p-image-registry"));
    assert_eq!(
        tags.get("oc-registry/created-by").map(String::as_str),
        Some("oc-registry")
    );
    let encryption = client.get_bucket_encryption().bucket(BUCKET).send().await.unwrap();
    let rule = &encryption.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "AES256");
    let block = client.get_public_access_block().bucket(BUCKET).send().await.unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let lifecycle = client
        .get_bucket_lifecycle_configuration()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let rule = &lifecycle.rules()[0];
    assert_eq!(rule.id(), Some("cleanup-incomplete-multipart-registry-uploads"));
    assert_eq!(
        rule.abort_incomplete_multipart_upload()
            .unwrap()
            .days_after_initiation(),
        Some(1)
    );

    // The Config says so.
    let config = running.config().await;
    assert_eq!(config["spec"]["storage"]["managementState"], "Managed");
    assert_eq!(config["spec"]["storage"]["s3"]["encrypt"], true);
    for (type_, reason) in [
        ("StorageExists", "S3 Bucket Exists"),
        ("StorageEncrypted", "Encryption Successful"),
        ("StorageTagged", "Tagging Successful"),
        ("StoragePublicAccessBlocked", "Public Access Block Successful"),
        ("StorageIncompleteUploadCleanupEnabled", "Enable Cleanup Successful"),
    ] {
        let c = condition(&config, type_);
        assert_eq!(
            (c["status"].as_str(), c["reason"].as_str()),
            (Some("True"), Some(reason)),
            "{c}"
        );
    }

    // Resource tags from the Infrastructure are merged in; the cluster's own keys are refused.
    let mut infra = running
        .kubectl_get(&["infrastructures.config.openshift.io", "cluster"])
        .await
        .unwrap();
    infra["status"]["platformStatus"]["aws"]["resourceTags"] =
        json!([{"key": "team", "value": "registry"}, {"key": "Name", "value": "mine"}]);
    running.server.seed(infra).unwrap();
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let merged = self::tags(&client, BUCKET).await;
    assert_eq!(merged.get("team").map(String::as_str), Some("registry"));
    assert_eq!(merged.get("Name").map(String::as_str), Some("sim-7xk2p-image-registry"));
    let config = running.config().await;
    let tagged = condition(&config, "StorageTagged");
    assert_eq!(tagged["status"], "False");
    assert!(tagged["message"].as_str().unwrap().contains("Name"), "{tagged}");

    // Images in it.
    put_objects(
        &client,
        BUCKET,
        &[
            "docker/registry/v2/blobs/a",
            "docker/registry/v2/blobs/b",
            "docker/registry/v2/repositories/r",
        ],
    )
    .await;

    // Removed: not without confirmation, which names the bucket and what it holds.
    let (code, _, err) = running.outcome(&["set", "management-state", "Removed", "--yes"]).await;
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(5), "{out}{err}");
    assert!(
        err.contains(&format!("the S3 bucket {BUCKET} and its 3 objects will be deleted")),
        "{err}"
    );
    assert!(exists(&client, BUCKET).await);
    let (code, out, err) = running.outcome(&["reconcile", "--yes"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("S3 bucket {BUCKET} (3 objects) deleted")),
        "{out}"
    );
    assert!(!exists(&client, BUCKET).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_bucket_is_adopted_and_never_configured_or_deleted() {
    let Some((running, client)) = fresh_aws().await else {
        return;
    };
    client.create_bucket().bucket("team-images").send().await.unwrap();
    // Named as an S3-compatible endpoint this time.
    let endpoint = running.s3.as_ref().unwrap().url.clone();
    let (code, _, err) = running
        .outcome(&[
            "storage",
            "set",
            "s3",
            "--bucket",
            "team-images",
            "--region-endpoint",
            &endpoint,
        ])
        .await;
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!out.contains("S3 bucket"), "{out}");
    let config = running.config().await;
    assert_eq!(config["spec"]["storage"]["managementState"], "Unmanaged");
    assert_eq!(condition(&config, "StorageExists")["status"], "True");
    // Not configured: no tags were put on it.
    assert!(client.get_bucket_tagging().bucket("team-images").send().await.is_err());

    let (code, _, err) = running.outcome(&["set", "management-state", "Removed", "--yes"]).await;
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(exists(&client, "team-images").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_whether_the_bucket_exists_and_who_created_it() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let Some(client) = running.s3_client() else { return };
    let (code, out, _) = running.outcome(&["status"]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("  exists:         yes, created by the Image Registry Operator, no objects"),
        "{out}"
    );
    // Gone behind the registry's back: status and doctor say so, with the fix.
    client.delete_bucket().bucket(BUCKET).send().await.unwrap();
    let (code, out, _) = running.outcome(&["status"]).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("  exists:         no"), "{out}");
    assert!(out.contains(&format!("the S3 bucket {BUCKET} does not exist")), "{out}");
    assert!(out.contains("fix: oc-registry reconcile (creates it)"), "{out}");
    let (_, doctor, _) = running.outcome(&["doctor", "-o", "json"]).await;
    assert!(
        doctor.contains("does not exist yet: the registry cannot start without it"),
        "{doctor}"
    );
    // Reconcile creates it again, now as this program's.
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let (_, out, _) = running.outcome(&["status"]).await;
    assert!(out.contains("  exists:         yes, created by oc-registry"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_name_the_bucket_and_the_fix_and_deploy_nothing() {
    let Some((running, client)) = fresh_aws().await else {
        return;
    };
    let deployment_exists = || running.exists(&["deployment", "image-registry", "-n", "openshift-image-registry"]);

    // No credentials at all.
    let out = running
        .kubectl(&[
            "delete",
            "secret",
            "installer-cloud-credentials",
            "-n",
            "openshift-image-registry",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("no usable S3 credentials"), "{err}");
    assert!(err.contains("oc-registry storage credentials set s3"), "{err}");
    assert!(!deployment_exists().await);
    let config = running.config().await;
    assert_eq!(condition(&config, "StorageExists")["reason"], "InvalidCredentials");
    let out =
        crate::support::set_s3_credentials(&running, "AKIAUSER0000000001", "user-secret-never-printed", &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));

    // An endpoint nothing listens on.
    let closed = format!("http://127.0.0.1:{}", crate::support::services::free_port());
    running
        .oc_registry_ok(&["storage", "set", "s3", "--region-endpoint", &closed])
        .await;
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains(&format!("at {closed}")) && err.contains("EndpointUnreachable"),
        "{err}"
    );
    assert!(err.contains("check spec.storage.s3.regionEndpoint"), "{err}");
    assert!(!err.contains("user-secret-never-printed") && !out.contains("user-secret-never-printed"));
    assert!(!deployment_exists().await);

    // A region whose partition has no S3.
    running
        .patch_config(&json!({"spec": {"storage": {"s3": {"regionEndpoint": null, "region": "eu-isoe-west-1"}}}}))
        .await;
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("eu-isoe-west-1"), "{err}");

    // A bucket the user named and manages, which does not exist, is not created.
    running
        .oc_registry_ok(&[
            "storage",
            "set",
            "s3",
            "--bucket",
            "not-there",
            "--region",
            "us-east-1",
            "--management-state",
            "Unmanaged",
        ])
        .await;
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("S3 bucket not-there does not exist, and Unmanaged storage is never created"),
        "{err}"
    );
    assert!(!exists(&client, "not-there").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_removal_is_finished_and_said_to_be() {
    let Some((running, client)) = fresh_aws().await else {
        return;
    };
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    put_objects(&client, BUCKET, &["docker/registry/v2/blobs/x"]).await;
    // A removal that marked the bucket and stopped.
    let mut marked = tags(&client, BUCKET).await;
    marked.insert("oc-registry/removal-started".into(), "2026-11-30T05:00:00Z".into());
    let set = marked
        .iter()
        .map(|(k, v)| aws_sdk_s3::types::Tag::builder().key(k).value(v).build().unwrap())
        .collect();
    client
        .put_bucket_tagging()
        .bucket(BUCKET)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .set_tag_set(Some(set))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    running
        .oc_registry_ok(&["set", "management-state", "Removed", "--yes"])
        .await;
    let (code, _, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("(finishing a removal begun at 2026-11-30T05:00:00Z)"),
        "{err}"
    );
    let (code, out, err) = running.outcome(&["reconcile", "--yes"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("(an interrupted removal finished, 1 objects) deleted"),
        "{out}"
    );
    assert!(!exists(&client, BUCKET).await);
}

/// A CA and a certificate it issued for 127.0.0.1, written to `dir`: (ca.pem, cert.pem, key.pem).
fn issued(dir: &std::path::Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Storage Test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let (cert_path, key_path) = (dir.join("s3.crt"), dir.join("s3.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca.pem(), cert_path, key_path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_is_trusted_through_the_storage_ca_or_the_clouds() {
    let Some((running, _)) = fresh_aws().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = issued(dir.path());
    let Some(tls) = crate::support::services::moto_tls(&cert, &key) else {
        return;
    };
    running
        .oc_registry_ok(&["storage", "set", "s3", "--region-endpoint", &tls.url])
        .await;
    // The system roots do not know the endpoint's CA: the TLS failure names the endpoint.
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains(&format!("at {}", tls.url)), "{err}");

    // The cloud's CA bundle (kube-cloud-config) is trusted besides the system roots.
    running
        .server
        .seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kube-cloud-config", "namespace": "openshift-config-managed"},
            "data": {"ca-bundle.pem": ca}}))
        .unwrap();
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    // Named without a region: an endpoint of one's own leaves the region unset.
    assert!(out.contains("S3 bucket sim-7xk2p-image-registry created"), "{out}");

    // The storage's own trustedCA replaces the system roots: a bundle without the endpoint's CA
    // fails even though the cloud's would have it.
    running
        .server
        .seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "storage-ca", "namespace": "openshift-config"},
            "data": {"ca-bundle.crt": issued(dir.path()).0}}))
        .unwrap();
    running
        .oc_registry_ok(&["storage", "set", "s3", "--trusted-ca", "storage-ca"])
        .await;
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kms_key_encrypts_the_bucket_by_default() {
    let Some((running, client)) = fresh_aws().await else {
        return;
    };
    // A key KMS does not have: named, with the fix, and the bucket is not set to use it.
    let missing = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    running
        .oc_registry_ok(&["storage", "set", "s3", "--encrypt", "--key-id", missing])
        .await;
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let config = running.config().await;
    let encrypted = condition(&config, "StorageEncrypted");
    assert_eq!(encrypted["status"], "False");
    assert_eq!(encrypted["reason"], "NotFoundException");
    let message = encrypted["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("KMS key {missing} for S3 bucket {BUCKET} does not exist")),
        "{message}"
    );
    assert!(message.contains("--key-id"), "{message}");
    assert!(client.get_bucket_encryption().bucket(BUCKET).send().await.is_err());

    // A key KMS has.
    let kms = kms_client(&running.s3.as_ref().unwrap().url);
    let created = kms
        .create_key()
        .description("registry")
        .key_usage(aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
        .key_spec(aws_sdk_kms::types::KeySpec::SymmetricDefault)
        .send()
        .await
        .unwrap();
    let key = created.key_metadata().unwrap().arn().unwrap().to_string();
    let key_id = created.key_metadata().unwrap().key_id().to_string();
    running
        .oc_registry_ok(&["storage", "set", "s3", "--key-id", &key])
        .await;
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let encryption = client.get_bucket_encryption().bucket(BUCKET).send().await.unwrap();
    let rule = &encryption.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(default.kms_master_key_id(), Some(key.as_str()));
    assert_eq!(rule.bucket_key_enabled(), Some(true));
    let config = running.config().await;
    let encrypted = condition(&config, "StorageEncrypted");
    assert_eq!(encrypted["status"], "True");
    assert!(encrypted["message"].as_str().unwrap().contains("KMS"));

    // Scheduled for deletion later: said so on the next pass.
    kms.schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let config = running.config().await;
    assert_eq!(
        condition(&config, "StorageEncrypted")["reason"],
        "KMSInvalidStateException"
    );
}

/// A KMS client of the tests' own, against moto.
fn kms_client(url: &str) -> aws_sdk_kms::Client {
    use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new("AKIASIMULATED0000001", "any", None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

/// Installs an organisation module as the storage hook.
fn storage_policy(server: &test_apiserver::ApiServer, name: &str, module: Vec<u8>) {
    crate::support::install_policies(server, &[(name, module)], &format!("  storage: {name}\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_policy_decides_how_the_bucket_is_set_up() {
    let server = cluster(Platform::Aws, false);
    let module = std::fs::read(crate::support::example_policies().join("org_buckets.wasm")).unwrap();
    storage_policy(&server, "org-buckets", module);
    let running = serve(server).await;
    let Some(client) = running.s3_client() else { return };
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");

    // The organisation's key is not in this cloud's KMS: the decision reached the check, which
    // names the key and leaves the bucket's encryption alone.
    let encrypted = condition(&running.config().await, "StorageEncrypted").clone();
    assert_eq!(encrypted["reason"], "NotFoundException", "{encrypted}");
    assert!(
        encrypted["message"]
            .as_str()
            .unwrap()
            .contains("KMS key arn:aws:kms:us-east-1:111122223333:key/0rg-registry-key"),
        "{encrypted}"
    );
    assert!(client.get_bucket_encryption().bucket(BUCKET).send().await.is_err());
    let tags = tags(&client, BUCKET).await;
    assert_eq!(tags.get("cost-center").map(String::as_str), Some("platform"));
    assert_eq!(
        tags.get("kubernetes.io/cluster/sim-7xk2p").map(String::as_str),
        Some("owned")
    );
    let lifecycle = client
        .get_bucket_lifecycle_configuration()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert_eq!(
        lifecycle.rules()[0]
            .abort_incomplete_multipart_upload()
            .unwrap()
            .days_after_initiation(),
        Some(7)
    );

    // The organisation forbids adopting a bucket that exists: a name collision is refused.
    client.create_bucket().bucket("someone-elses").send().await.unwrap();
    running
        .oc_registry_ok(&["storage", "set", "s3", "--bucket", "someone-elses"])
        .await;
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("S3 bucket someone-elses exists already and the storage policy forbids adopting"),
        "{err}"
    );
    assert!(
        client
            .get_bucket_tagging()
            .bucket("someone-elses")
            .send()
            .await
            .is_err()
    );
    assert_eq!(
        condition(&running.config().await, "StorageExists")["reason"],
        "AdoptionForbidden"
    );
}

/// A storage module whose whole answer is `decision` (a JSON object, WAT-escaped).
fn fixed_storage_module(name: &str, decision: &str) -> Vec<u8> {
    let metadata = format!(r#"{{\"abi\":1,\"name\":\"{name}\",\"version\":\"0.0.1\",\"hooks\":[\"storage\"]}}"#);
    let len = decision.replace("\\\\", "\\").replace("\\\"", "\"").len();
    let text = format!(
        r#"(module
            (memory (export "memory") 2)
            (global $heap (mut i32) (i32.const 8192))
            (data (i32.const 16) "{decision}")
            (func (export "pol_abi_version") (result i32) i32.const 1)
            (func (export "pol_alloc") (param i32) (result i32)
                global.get $heap global.get $heap local.get 0 i32.add global.set $heap)
            (func (export "pol_free") (param i32 i32))
            (func (export "pol_evaluate") (param i32 i32) (result i64)
                i64.const 16 i64.const 32 i64.shl i64.const {len} i64.or)
            (@custom "oc-registry.policy" "{metadata}"))"#
    );
    wat::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_set_up_is_refused_before_any_call() {
    let server = cluster(Platform::Aws, false);
    // Escape sequences in a tag: checked like any input, never sent.
    let decision = r#"{\"allowed\":true,\"result\":{\"storage\":{\"s3\":{}},\"replicas\":2,\"rolloutStrategy\":\"RollingUpdate\",\"managementState\":\"Managed\",\"provisioning\":{\"tags\":{\"team\":\"a\\u001b[31mred\"}}}}"#;
    storage_policy(
        &server,
        "hostile-buckets",
        fixed_storage_module("hostile-buckets", decision),
    );
    let running = serve(server).await;
    let Some(client) = running.s3_client() else { return };
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("the storage policy hostile-buckets decided provisioning.tags[\"team\"]"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err}");
    assert!(!exists(&client, BUCKET).await, "nothing created");
    assert!(
        !running
            .exists(&["deployment", "image-registry", "-n", "openshift-image-registry"])
            .await,
        "nothing deployed"
    );
    assert_eq!(
        condition(&running.config().await, "StorageExists")["reason"],
        "InvalidPolicyDecision"
    );
}

/// A front for moto that answers the first `failures` connections with S3's throttling error
/// (503 SlowDown) and passes the rest through byte for byte. Returns its URL and a count of the
/// connections it took.
async fn throttling_front(moto: &str, failures: usize) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let target = moto.trim_start_matches("http://").to_string();
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let target = target.clone();
            tokio::spawn(async move {
                if n < failures {
                    let mut buf = [0u8; 4096];
                    let _ = client.read(&mut buf).await;
                    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>\
                                <Message>Please reduce your request rate.</Message></Error>";
                    let reply = format!(
                        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = client.write_all(reply.as_bytes()).await;
                    return;
                }
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_with_backoff() {
    let Some((running, client)) = fresh_aws().await else {
        return;
    };
    let moto = running.s3.as_ref().unwrap().url.clone();
    let (front, seen) = throttling_front(&moto, 2).await;
    running
        .oc_registry_ok(&[
            "storage",
            "set",
            "s3",
            "--region",
            "us-east-1",
            "--region-endpoint",
            &front,
        ])
        .await;
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        seen.load(std::sync::atomic::Ordering::SeqCst) > 2,
        "the throttled calls were retried"
    );
    assert!(exists(&client, BUCKET).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_web_identity_credentials_are_exchanged_for_the_calls() {
    use base64::Engine as _;
    let Some((running, client)) = fresh_aws().await else {
        return;
    };
    let moto = running.s3.as_ref().unwrap().url.clone();
    // The cloud credential operator's STS form: a role and the projected token's file.
    let token = running.dir.path().join("token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl").unwrap();
    let ini = format!(
        "[default]\nrole_arn = arn:aws:iam::123456789012:role/image-registry\nweb_identity_token_file = {}\n",
        token.display()
    );
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    running
        .server
        .seed(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "installer-cloud-credentials", "namespace": "openshift-image-registry"},
            "data": {"credentials": b64(&ini)}}))
        .unwrap();
    let out = running
        .command(crate::support::OC_REGISTRY)
        .arg("reconcile")
        .env("AWS_ENDPOINT_URL_STS", &moto)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(exists(&client, BUCKET).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_the_cloud_does_not_know_are_named_with_the_fix() {
    let Some((running, _)) = fresh_aws().await else {
        return;
    };
    // An S3 that checks signatures against its own IAM, where the cluster's keys do not exist.
    let Some(checking) = crate::support::services::moto_checking_credentials() else {
        return;
    };
    running
        .oc_registry_ok(&["storage", "set", "s3", "--region-endpoint", &checking.url])
        .await;
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    let config = running.config().await;
    let exists = condition(&config, "StorageExists");
    assert_eq!(exists["status"], "False");
    // HeadBucket only says 403; the bucket is then tried as a new one, whose refusal says why.
    assert_eq!(exists["reason"], "InvalidAccessKeyId", "{exists}");
    let message = exists["message"].as_str().unwrap();
    // No region with an endpoint of its own: the operator's name without one.
    assert!(
        message.contains("CreateBucket for S3 bucket sim-7xk2p-image-registry at"),
        "{message}"
    );
    assert!(
        message.contains("fix the key pair with oc-registry storage credentials set s3"),
        "{message}"
    );
    let secret = "simulated/secret/access/key/000000000000";
    for shown in [message, &out, &err] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(
        !running
            .exists(&["deployment", "image-registry", "-n", "openshift-image-registry"])
            .await
    );
}
