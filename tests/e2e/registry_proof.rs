//! The registry stores and serves images with what oc-registry renders: the real distribution
//! registry runs with the environment of the Deployment reconcile applied (and the private
//! configuration Secret), and skopeo pushes a small image to it and pulls it back — on a claim, on
//! emptyDir, and on S3 (moto), where the image's objects are in the bucket, encrypted.

use crate::support::registry;
use crate::support::services::s3_client;
use crate::support::{cluster, serve};
use test_apiserver::Platform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_round_trip_on_a_claim_and_on_empty_dir() {
    if !registry::available() {
        return;
    }
    for (platform, storage) in [
        (Platform::BareMetal, &["storage", "set", "pvc"][..]),
        (Platform::BareMetal, &["storage", "set", "empty-dir"][..]),
    ] {
        let running = serve(cluster(platform, false)).await;
        running.oc_registry_ok(&["bootstrap"]).await;
        running.oc_registry_ok(storage).await;
        running.oc_registry_ok(&["set", "management-state", "Managed"]).await;
        running.oc_registry_ok(&["reconcile"]).await;
        let (deployment, secret) = running.applied_registry().await;
        let dir = tempfile::tempdir().unwrap();
        let place = registry::push_and_pull(&deployment, &secret, None, dir.path());
        // The layer is on the filesystem the Deployment names.
        let blobs = place.dir.join("storage/docker/registry/v2/blobs/sha256");
        assert!(blobs.is_dir(), "{storage:?}: {}", registry::log_of(&place));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_round_trip_on_s3_encrypted_in_the_bucket() {
    if !registry::available() {
        return;
    }
    let running = serve(cluster(Platform::Aws, false)).await;
    let Some(moto) = running.s3.as_ref() else { return };
    running.oc_registry_ok(&["reconcile"]).await;
    let (deployment, secret) = running.applied_registry().await;
    let dir = tempfile::tempdir().unwrap();
    registry::push_and_pull(&deployment, &secret, Some(&moto.url), dir.path());

    let client = s3_client(&moto.url);
    let bucket = "sim-7xk2p-image-registry-us-east-1";
    let listed = client.list_objects_v2().bucket(bucket).send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    let blob = keys
        .iter()
        .find(|k| k.starts_with("docker/registry/v2/blobs/sha256/") && k.ends_with("/data"))
        .unwrap_or_else(|| panic!("no blob in the bucket: {keys:?}"));
    let head = client.head_object().bucket(bucket).key(*blob).send().await.unwrap();
    assert_eq!(
        head.server_side_encryption().map(|e| e.as_str()),
        Some("AES256"),
        "{blob}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("docker/registry/v2/repositories/demo/hello/")),
        "{keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_named_like_a_number_reaches_the_registry_as_its_name() {
    if !registry::available() {
        return;
    }
    let running = serve(cluster(Platform::Aws, false)).await;
    let Some(moto) = running.s3.as_ref() else { return };
    running.oc_registry_ok(&["bootstrap"]).await;
    // Read as YAML unquoted, 0123456 is the octal number 42798.
    running
        .oc_registry_ok(&["storage", "set", "s3", "--bucket", "0123456"])
        .await;
    running.oc_registry_ok(&["reconcile"]).await;
    let (deployment, secret) = running.applied_registry().await;
    let dir = tempfile::tempdir().unwrap();
    registry::push_and_pull(&deployment, &secret, Some(&moto.url), dir.path());
    let listed = s3_client(&moto.url)
        .list_objects_v2()
        .bucket("0123456")
        .send()
        .await
        .unwrap();
    assert!(listed.key_count().unwrap_or(0) > 0, "the images are in bucket 0123456");
}
