//! GCS storage against gcp-storage-emulator, behind the Google stand-in (`support/google.rs`)
//! that checks the service account's signed assertion and the bearer token on every call: the
//! bucket is created in the cluster's region with the operator's labels and default KMS key and
//! bound to the platform's resource tags (asserted on the recorded requests: the emulator drops
//! labels and encryption), found again, and removed with its objects when the registry is
//! Removed; a key Google does not know is a clear condition that writes nothing and prints no
//! key; a bucket that exists already is adopted and left in place.

use crate::support::google;
use crate::support::services::http;
use crate::support::stand_in::Call;
use crate::support::{Running, cluster, condition, serve, text};
use serde_json::{Value, json};
use test_apiserver::Platform;

const KMS_KEY: &str = "projects/sim-project/locations/us-central1/keyRings/registry/cryptoKeys/images";

/// A GCP cluster whose Infrastructure carries resource labels and tags, bootstrapped.
async fn gcp() -> Option<Running> {
    let running = serve(cluster(Platform::Gcp, false)).await;
    running.google.as_ref()?;
    let mut infra = running.kubectl_get(&["infrastructure", "cluster"]).await.unwrap();
    let gcp = &mut infra["status"]["platformStatus"]["gcp"];
    gcp["resourceLabels"] = json!([{"key": "team", "value": "registry"}]);
    gcp["resourceTags"] = json!([{"parentID": "sim-project", "key": "env", "value": "prod"}]);
    running.server.seed(infra).unwrap();
    running.oc_registry_ok(&["bootstrap"]).await;
    Some(running)
}

fn bucket_of(config: &Value) -> String {
    config["spec"]["storage"]["gcs"]["bucket"].as_str().unwrap().to_string()
}

fn find<'a>(calls: &'a [Call], method: &str, prefix: &str) -> Vec<&'a Call> {
    calls
        .iter()
        .filter(|c| c.method == method && c.target.starts_with(prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bucket_is_created_labelled_tagged_found_and_removed_with_its_objects() {
    let Some(running) = gcp().await else { return };
    let google = running.google.as_ref().unwrap();
    running
        .oc_registry_ok(&["storage", "set", "gcs", "--key-id", KMS_KEY])
        .await;
    let infrastructure = running.kubectl_get(&["infrastructure", "cluster"]).await.unwrap();
    let infra = infrastructure["status"]["infrastructureName"].as_str().unwrap();
    let project = infrastructure["status"]["platformStatus"]["gcp"]["projectID"]
        .as_str()
        .unwrap();

    // Google's rate limit answers the first two storage calls 429: they are made again after the
    // second its Retry-After asks.
    google.throttle(2);
    let created = running.oc_registry_ok(&["reconcile", "--wait"]).await;
    // Named as the operator names it: the infrastructure, the region, then random letters.
    let bucket = bucket_of(&running.config().await);
    assert!(
        bucket.starts_with(&format!("{infra}-image-registry-us-central1-")) && bucket.len() == 62,
        "{bucket}"
    );
    assert!(created.contains(&format!("GCS bucket {bucket} created")), "{created}");
    let calls = google.calls();
    // A token first, from a signed assertion the stand-in checked; the same read three times.
    assert_eq!(calls[0].target, "/token", "{calls:?}");
    assert!(
        calls[1..4]
            .iter()
            .all(|c| c.method == "GET" && c.target == calls[1].target),
        "{calls:?}"
    );
    let inserts = find(&calls, "POST", "/storage/v1/b?project=");
    assert_eq!(inserts.len(), 1, "{calls:?}");
    assert_eq!(inserts[0].target, format!("/storage/v1/b?project={project}"));
    assert_eq!(
        inserts[0].body,
        json!({"name": bucket, "location": "us-central1",
            "labels": {format!("kubernetes-io-cluster-{infra}"): "owned", "team": "registry", "createdby": "oc-registry"},
            "encryption": {"defaultKmsKeyName": KMS_KEY}})
    );
    let bindings = find(&calls, "POST", "/v3/tagBindings");
    // Bound once: a pass lists the bindings first.
    assert_eq!(bindings.len(), 1, "{calls:?}");
    assert_eq!(
        bindings[0].body,
        json!({"parent": format!("//storage.googleapis.com/projects/_/buckets/{bucket}"),
            "tagValueNamespacedName": "sim-project/env/prod"})
    );
    let config = running.config().await;
    assert_eq!(config["spec"]["storage"]["managementState"], "Managed");
    let tagged = condition(&config, "StorageTagged");
    assert_eq!(tagged["status"], "True", "{tagged}");
    let exists = http("GET", &format!("{}/storage/v1/b/{bucket}", google.emulator), &[], "");
    assert_eq!(exists.status, 200);
    let status = running.oc_registry_ok(&["status"]).await;
    assert!(status.contains("exists:         yes"), "{status}");

    // A second pass finds it and creates nothing.
    let again = running.oc_registry_ok(&["reconcile"]).await;
    assert!(!again.contains("created"), "{again}");
    assert_eq!(find(&google.calls(), "POST", "/storage/v1/b?").len(), 1);
    assert_eq!(find(&google.calls(), "POST", "/v3/tagBindings").len(), 1);

    // Images in it, then Removed: the objects go, then the bucket.
    for name in [
        "docker/registry/v2/blobs/sha256/aa/data",
        "docker/registry/v2/repositories/demo/x",
    ] {
        let url = format!(
            "{}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}",
            google.emulator,
            name.replace('/', "%2F")
        );
        assert_eq!(http("POST", &url, &[], "layer").status, 200);
    }
    running
        .oc_registry_ok(&["set", "management-state", "Removed", "--yes"])
        .await;
    let removed = running.oc_registry_ok(&["reconcile", "--yes"]).await;
    assert!(removed.contains(&format!("GCS bucket {bucket}")), "{removed}");
    assert!(removed.contains("deleted"), "{removed}");
    assert!(removed.contains("2 objects"), "{removed}");
    let gone = http("GET", &format!("{}/storage/v1/b/{bucket}", google.emulator), &[], "");
    assert_eq!(gone.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_google_does_not_know_writes_nothing_and_is_never_printed() {
    let Some(running) = gcp().await else { return };
    let google = running.google.as_ref().unwrap();
    // Another service account's key: its assertion's signature is not the one Google knows.
    let other = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        .output()
        .unwrap();
    let pem = String::from_utf8(other.stdout).unwrap();
    let key = google::key_file(&pem, &google.token_uri());
    let file = running.dir.path().join("key.json");
    std::fs::write(&file, &key).unwrap();
    let arg = format!("keyfile=@{}", file.display());
    running
        .oc_registry_ok(&["storage", "credentials", "set", "gcs", &arg])
        .await;
    let out = running.oc_registry(&["reconcile"]).await;
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("Invalid JWT Signature"), "{said}");
    assert!(said.contains("storage credentials set gcs keyfile=@FILE"), "{said}");
    let secret_line = pem.lines().nth(1).unwrap();
    assert!(!said.contains(secret_line), "{said}");
    let config = running.config().await;
    let exists = condition(&config, "StorageExists");
    assert_eq!(exists["status"], "False");
    assert_eq!(exists["reason"], "Unauthorized");
    let calls = google.calls();
    assert!(
        calls.iter().all(|c| c.target == "/token"),
        "nothing but tokens asked: {calls:?}"
    );
    assert!(
        !running
            .exists(&["deployment", "image-registry", "-n", "openshift-image-registry"])
            .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_another_project_holds_is_named_with_the_fix() {
    let Some(running) = gcp().await else { return };
    let google = running.google.as_ref().unwrap();
    google.taken("images");
    running
        .oc_registry_ok(&["storage", "set", "gcs", "--bucket", "images"])
        .await;
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("GCS bucket images: the name is taken"), "{err}");
    assert!(err.contains("storage set gcs --bucket NAME"), "{err}");
    let config = running.config().await;
    assert_eq!(condition(&config, "StorageExists")["reason"], "BucketNameUnavailable");
    assert!(
        !running
            .exists(&["deployment", "image-registry", "-n", "openshift-image-registry"])
            .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_that_exists_is_adopted_and_left_in_place() {
    let Some(running) = gcp().await else { return };
    let google = running.google.as_ref().unwrap();
    let made = http(
        "POST",
        &format!("{}/storage/v1/b?project=sim-project", google.emulator),
        &[("Content-Type", "application/json")],
        &json!({"name": "team-images"}).to_string(),
    );
    assert_eq!(made.status, 200);
    running
        .oc_registry_ok(&["storage", "set", "gcs", "--bucket", "team-images"])
        .await;
    let adopted = running.oc_registry_ok(&["reconcile"]).await;
    assert!(!adopted.contains("GCS bucket team-images created"), "{adopted}");
    let config = running.config().await;
    assert_eq!(config["spec"]["storage"]["managementState"], "Unmanaged");
    assert!(
        find(&google.calls(), "POST", "/v3/tagBindings").is_empty(),
        "an adopted bucket is not tagged"
    );
    running
        .oc_registry_ok(&["set", "management-state", "Removed", "--yes"])
        .await;
    running.oc_registry_ok(&["reconcile", "--yes"]).await;
    let kept = http("GET", &format!("{}/storage/v1/b/team-images", google.emulator), &[], "");
    assert_eq!(kept.status, 200, "an adopted bucket is never deleted");
}
