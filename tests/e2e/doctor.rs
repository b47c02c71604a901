//! `oc-registry doctor` against simulated clusters: a healthy one has nothing to report; broken ones
//! get every pitfall named with its fix, and the exit status of the worst finding. Nothing is
//! written.

use crate::support::{Running, cluster, serve, text};
use serde_json::{Value, json};
use test_apiserver::{ApiServer, Platform};

async fn doctor(running: &Running) -> (Option<i32>, Value) {
    let out = running.oc_registry(&["doctor", "-o", "json"]).await;
    let parsed = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), parsed)
}

/// The finding about `field` whose message contains `text`.
fn finding<'a>(diagnosis: &'a Value, field: &str, text: &str) -> &'a Value {
    diagnosis["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"].as_str().unwrap().starts_with(field) && f["message"].as_str().unwrap().contains(text))
        .unwrap_or_else(|| panic!("no finding {field}: {text} in {diagnosis:#}"))
}

fn seed(server: &ApiServer, object: Value) {
    server.seed(object).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_registry_has_nothing_to_report() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let out = running.oc_registry(&["doctor"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout), "No problems found.\n");
    let (code, diagnosis) = doctor(&running).await;
    assert_eq!(code, Some(0));
    assert_eq!(diagnosis["findings"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pitfall_is_named_with_its_fix() {
    let server = cluster(Platform::Aws, true);
    seed(
        &server,
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "rwo", "namespace": "openshift-image-registry"},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
    );
    seed(
        &server,
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
               "metadata": {"name": "half-tls", "namespace": "openshift-image-registry"},
               "data": {"tls.crt": "Y2VydA=="}}),
    );
    // The trusted CAs in the wrong namespace.
    seed(
        &server,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "my-cas", "namespace": "openshift-image-registry"},
               "data": {"registry.example.com": "x"}}),
    );
    let mut image = server.object("config.openshift.io/v1", "Image", "", "cluster").unwrap();
    image["spec"]["additionalTrustedCA"] = json!({"name": "my-cas"});
    seed(&server, image);
    // A failed pruner run, and the ClusterOperator degraded by it.
    seed(
        &server,
        json!({"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "image-pruner-7", "namespace": "openshift-image-registry", "labels": {"created-by": "image-pruner"}},
               "spec": {"template": {"spec": {"containers": [{"name": "p", "image": "cli"}], "restartPolicy": "Never"}}},
               "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                          "message": "failed to ping registry: i/o timeout", "lastTransitionTime": "2026-11-24T00:05:00Z"}]}}),
    );
    let mut co = server
        .object("config.openshift.io/v1", "ClusterOperator", "", "image-registry")
        .unwrap();
    co["status"]["conditions"] = json!([
        {"type": "Available", "status": "True", "reason": "Ready", "message": "ok", "lastTransitionTime": "2026-11-24T00:00:00Z"},
        {"type": "Degraded", "status": "True", "reason": "ImagePrunerJobFailed", "message": "Job has reached the specified backoff limit", "lastTransitionTime": "2026-11-24T00:06:00Z"}
    ]);
    seed(&server, co);
    let running = serve(server).await;
    // Two drivers, one a ReadWriteOnce claim, with two replicas rolling, on nodes that do not exist.
    running
        .patch_config(&json!({"spec": {
            "storage": {"s3": null, "pvc": {"claim": "rwo"}, "emptyDir": {}},
            "replicas": 2, "rolloutStrategy": "RollingUpdate",
            "nodeSelector": {"zone": "nowhere"},
            "routes": [{"name": "public", "hostname": "registry.example.com", "secretName": "half-tls"}]
        }}))
        .await;
    let out = running
        .kubectl(&[
            "patch", "configs.imageregistry.operator.openshift.io", "cluster", "--subresource=status", "--type=merge", "-p",
            r#"{"status":{"conditions":[{"type":"Progressing","status":"True","reason":"Error","message":"Unable to apply resources: unable to sync storage configuration: exactly one storage type should be configured at the same time, got 2: [EmptyDir PVC]","lastTransitionTime":"2026-11-24T00:00:00Z"}]}}"#,
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let writes_before = running.server.writes().len();

    let (code, d) = doctor(&running).await;
    assert_eq!(code, Some(3), "errors found: {d:#}");
    let exactly_one = finding(
        &d,
        "spec.storage",
        "exactly one storage type should be configured at the same time, got 2: [emptyDir pvc]",
    );
    assert_eq!(exactly_one["severity"], "error");
    assert!(
        exactly_one["fix"]
            .as_str()
            .unwrap()
            .starts_with("oc-registry storage set ")
    );
    let rwo = finding(&d, "spec.storage.pvc.claim", "claim rwo is ReadWriteOnce");
    assert_eq!(
        rwo["fix"],
        "oc-registry set replicas 1 && oc-registry set rollout-strategy Recreate"
    );
    assert_eq!(
        finding(&d, "spec.storage.emptyDir", "each of the 2 replicas")["severity"],
        "warning"
    );
    // No node matches the selector at all: found for any replica count, with the selector's fix.
    let nodes = finding(&d, "spec.nodeSelector", "no ready, schedulable Linux node matches");
    assert_eq!(
        nodes["fix"],
        "oc-registry set node-selector --clear (or label a node to match)"
    );
    let tls = finding(&d, "spec.routes[0].secretName", "has no tls.key key");
    assert!(
        tls["fix"]
            .as_str()
            .unwrap()
            .contains("kubectl create secret tls half-tls")
    );
    finding(
        &d,
        "status.conditions[Progressing]",
        "hidden in Progressing: Unable to apply resources",
    );
    let ca = finding(
        &d,
        "image.config.openshift.io/cluster",
        "one exists in openshift-image-registry: it must be in openshift-config",
    );
    assert_eq!(ca["fix"], "oc-registry trust add HOST[:PORT] --ca-file CA.pem");
    let pruner = finding(&d, "imagepruner/cluster", "failed to ping registry: i/o timeout");
    assert!(
        pruner["fix"]
            .as_str()
            .unwrap()
            .contains("oc-registry pruner clear-failed")
    );
    let co = finding(&d, "clusteroperator/image-registry", "Degraded by ImagePrunerJobFailed");
    assert!(co["fix"].as_str().unwrap().contains("oc-registry pruner clear-failed"));
    // Errors come first, then warnings; the counts match.
    let severities: Vec<&str> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    let first_warning = severities
        .iter()
        .position(|s| *s == "warning")
        .unwrap_or(severities.len());
    assert!(
        severities[first_warning..].iter().all(|s| *s == "warning"),
        "{severities:?}"
    );
    assert_eq!(d["errors"], first_warning);

    // The table says the same, with the fixes.
    let out = running.oc_registry(&["doctor"]).await;
    assert_eq!(out.status.code(), Some(3));
    let table = text(&out.stdout);
    assert!(table.starts_with("ERROR    "), "{table}");
    assert!(
        table.contains("\n         fix: oc-registry set replicas 1 && oc-registry set rollout-strategy Recreate\n"),
        "{table}"
    );
    assert!(
        table
            .trim_end()
            .ends_with(&format!("{} errors, {} warnings", d["errors"], d["warnings"])),
        "{table}"
    );
    assert_eq!(running.server.writes().len(), writes_before, "doctor writes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_storage_ownership_and_ca_keys() {
    let server = cluster(Platform::Aws, true);
    // The user's credentials lack the secret key; they are used instead of the cloud's.
    seed(
        &server,
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
               "metadata": {"name": "image-registry-private-configuration-user", "namespace": "openshift-image-registry"},
               "data": {"REGISTRY_STORAGE_S3_ACCESSKEY": "QUtJQQ=="}}),
    );
    seed(
        &server,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "registry-cas", "namespace": "openshift-config"},
               "data": {"registry.example.com:5000": "-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n",
                        "mirror.example.com": "junk"}}),
    );
    let mut image = server.object("config.openshift.io/v1", "Image", "", "cluster").unwrap();
    image["spec"]["additionalTrustedCA"] = json!({"name": "registry-cas"});
    seed(&server, image);
    let running = serve(server).await;
    // S3-compatible storage the registry thinks it owns.
    running
        .patch_config(&json!({"spec": {"storage": {"s3": {"regionEndpoint": "https://rgw.example.com"}, "managementState": "Managed"}}}))
        .await;
    let (code, d) = doctor(&running).await;
    assert_eq!(code, Some(3), "{d:#}");
    let creds = finding(
        &d,
        "secret/image-registry-private-configuration-user",
        "REGISTRY_STORAGE_S3_SECRETKEY",
    );
    assert_eq!(
        creds["fix"],
        "oc-registry storage credentials set s3 access-key=@FILE secret-key=@FILE"
    );
    assert_eq!(
        finding(&d, "spec.storage.managementState", "S3-compatible storage")["fix"],
        "oc-registry set storage-management-state Unmanaged"
    );
    let colon = finding(
        &d,
        "configmap/registry-cas key \"registry.example.com:5000\"",
        "':' cannot be used in a key",
    );
    assert_eq!(colon["severity"], "error");
    finding(&d, "configmap/registry-cas key \"mirror.example.com\"", "");

    // Removed with Managed storage: a warning that it is Removed, and an error that data goes next.
    running
        .patch_config(&json!({"spec": {"managementState": "Removed"}}))
        .await;
    let (_, d) = doctor(&running).await;
    finding(&d, "spec.managementState", "the registry is Removed");
    // Its S3 storage is Managed: the next reconcile deletes the bucket, once confirmed.
    let bucket = finding(
        &d,
        "spec.storage.managementState",
        "the S3 bucket sim-7xk2p-image-registry-us-east-1 and every image in it will be deleted",
    );
    assert_eq!(bucket["severity"], "error");
    // Once a claim the registry created (it carries the registry's annotation) is what exists,
    // Removed deletes every image.
    running
        .server
        .seed(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": "image-registry-storage", "namespace": "openshift-image-registry",
                                  "annotations": {"imageregistry.openshift.io": "true"}},
                     "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "100Gi"}}}}))
        .unwrap();
    running
        .patch_config(&json!({"spec": {"storage": {"s3": null, "pvc": {"claim": "image-registry-storage"}}}}))
        .await;
    let out = running
        .kubectl(&[
            "patch", "configs.imageregistry.operator.openshift.io", "cluster", "--subresource=status", "--type=merge", "-p",
            r#"{"status":{"storage":{"s3":null,"pvc":{"claim":"image-registry-storage"},"managementState":"Managed"}}}"#,
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (code, d) = doctor(&running).await;
    assert_eq!(code, Some(3));
    let loss = finding(
        &d,
        "spec.storage.managementState",
        "PersistentVolumeClaim openshift-image-registry/image-registry-storage and every image stored on it will be deleted",
    );
    assert_eq!(loss["severity"], "error");
    assert_eq!(loss["fix"], "oc-registry set storage-management-state Unmanaged");
    running
        .patch_config(&json!({"spec": {"managementState": "Unmanaged"}}))
        .await;
    let (_, d) = doctor(&running).await;
    finding(&d, "spec.managementState", "the registry is Unmanaged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_registry_config_means_bootstrap() {
    let running = serve(cluster(Platform::BareMetal, false)).await;
    let (code, d) = doctor(&running).await;
    assert_eq!(code, Some(3));
    assert_eq!(
        finding(
            &d,
            "configs.imageregistry.operator.openshift.io/cluster",
            "does not exist"
        )["fix"],
        "oc-registry bootstrap"
    );
}
