//! Safe on a real cluster: status says what runs, not only what is asked for; changes that would
//! leave the registry without storage, nodes or credentials are refused or warned about with the
//! fix; routes cannot fight over a host; a storage switch says where the images stay.

use crate::support::{Running, cluster, serve, text};
use serde_json::Value;
use test_apiserver::Platform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_tells_a_requested_removal_from_a_done_one() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let (code, _, err) = running.outcome(&["set", "management-state", "Removed", "--yes"]).await;
    assert_eq!(code, Some(0), "{err}");
    // Not reconciled yet: the registry still runs, and status says so instead of "no registry".
    let (code, out, _) = running.outcome(&["status"]).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("Removed (removal requested, but the registry still runs)"),
        "{out}"
    );
    assert!(out.contains("oc-registry reconcile --yes"), "{out}");
    assert!(!out.contains("no registry is running"), "{out}");
    let (code, _, err) = running.outcome(&["reconcile", "--yes"]).await;
    assert_eq!(code, Some(0), "{err}");
    let (code, out, _) = running.outcome(&["status"]).await;
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("Removed (no registry is running)"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_without_storage_is_warned_about_with_the_storage_command() {
    let running = serve(cluster(Platform::BareMetal, false)).await;
    let (code, _, err) = running.outcome(&["bootstrap"]).await;
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = running.outcome(&["set", "management-state", "Managed"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("Warning: spec.storage: a Managed registry needs storage"),
        "{err}"
    );
    assert!(
        err.contains("fix: oc-registry storage set pvc (or empty-dir, s3,"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_selector_no_node_matches_is_found_at_once() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let (code, _, err) = running.outcome(&["set", "replicas", "1"]).await;
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = running
        .outcome(&["set", "node-selector", "example.com/nowhere=true"])
        .await;
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("no ready, schedulable Linux node matches"), "{err}");
    let (_, out, _) = running.outcome(&["doctor", "-o", "json"]).await;
    let doctor: Value = serde_json::from_str(&out).unwrap();
    assert!(
        doctor["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "spec.nodeSelector" && f["fix"].as_str().is_some_and(|x| x.contains("--clear"))),
        "{doctor}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_for_another_driver_need_force() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let keyfile = running.dir.path().join("key.json");
    std::fs::write(&keyfile, "{}").unwrap();
    let arg = format!("keyfile=@{}", keyfile.display());
    running.server.clear_log();
    let (code, _, err) = running.outcome(&["storage", "credentials", "set", "gcs", &arg]).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("the registry's storage is s3, not gcs"), "{err}");
    assert!(
        !running.server.requests().iter().any(|r| r.method != "GET"),
        "nothing written"
    );
    let (code, _, err) = running
        .outcome(&["storage", "credentials", "set", "gcs", &arg, "--force"])
        .await;
    assert_eq!(code, Some(0), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_storage_says_where_the_images_stay() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let (code, _, err) = running.outcome(&["storage", "set", "empty-dir"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("the images in the s3 storage stay there: empty-dir starts empty"),
        "{err}"
    );
    // The same driver again: nothing moves, nothing to warn about.
    let (code, _, err) = running.outcome(&["storage", "set", "empty-dir"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("stay there"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_routes_cannot_ask_for_one_host() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let (code, _, err) = running
        .outcome(&["routes", "add", "a", "--hostname", "registry.example.com"])
        .await;
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = running
        .outcome(&["routes", "add", "b", "--hostname", "registry.example.com"])
        .await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("routes a and b both ask for host registry.example.com"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_nobody_checked_reach_no_object() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let (code, _, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{err}");
    let deployment = || async {
        running
            .kubectl_get(&["deployment", "image-registry", "-n", "openshift-image-registry"])
            .await
            .unwrap()
    };
    let before = deployment().await;
    // Written behind the tool's back: a bucket with a newline and shell characters, a region with
    // a newline, and more replicas than any registry runs.
    running
        .patch_config(&serde_json::json!({"spec": {
            "replicas": 2147483647,
            "storage": {"s3": {"bucket": "evil\n$(rm -rf /)", "region": "us-east-1\nX-Injected: 1"}}
        }}))
        .await;
    running.server.clear_log();
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    for field in ["spec.replicas", "spec.storage.s3.bucket", "spec.storage.s3.region"] {
        assert!(err.contains(field), "{field} in {err}");
    }
    // Nothing derived from them was written: only the Config's own status, and the event saying
    // the registry is degraded.
    let writes: Vec<String> = running
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/status") && !r.path.ends_with("/events"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(deployment().await["spec"], before["spec"]);
    // The same values typed on the command line are refused before anything is written.
    let (code, _, err) = running
        .outcome(&["storage", "set", "s3", "--region", "us-east-1\nX: 1"])
        .await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("spec.storage.s3.region"), "{err}");
}

/// Scales the operator's Deployment to `replicas`, all of them ready.
async fn operator_at(running: &Running, replicas: i32) {
    let spec = format!(r#"{{"spec":{{"replicas":{replicas}}}}}"#);
    let status = format!(r#"{{"status":{{"replicas":{replicas},"readyReplicas":{replicas}}}}}"#);
    for (args, patch) in [(vec![], spec), (vec!["--subresource=status"], status)] {
        let mut all = vec![
            "patch",
            "deployment",
            "cluster-image-registry-operator",
            "-n",
            "openshift-image-registry",
            "--type=merge",
            "-p",
            &patch,
        ];
        all.extend(args);
        let out = running.kubectl(&all).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_refuses_to_fight_a_running_operator() {
    let running = serve(cluster(Platform::Aws, true)).await;
    operator_at(&running, 1).await;
    running.server.clear_log();
    for args in [
        &["reconcile"][..],
        &["reconcile", "--dry-run=server"],
        &["reconcile", "--watch"],
    ] {
        let (code, _, err) = running.outcome(args).await;
        assert_eq!(code, Some(6), "{args:?}: {err}");
        assert!(
            err.contains("the Image Registry Operator runs (deployment/cluster-image-registry-operator in openshift-image-registry, 1/1 ready)"),
            "{err}"
        );
        assert!(
            err.contains(
                "oc scale deployment/cluster-image-registry-operator -n openshift-image-registry --replicas=0"
            ),
            "{err}"
        );
        assert!(err.contains("To hand the registry back"), "{err}");
        assert!(err.contains("--take-over"), "{err}");
    }
    let writes: Vec<String> = running
        .server
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    // Asked explicitly, it reconciles beside the operator.
    let (code, _, err) = running.outcome(&["reconcile", "--take-over"]).await;
    assert_eq!(code, Some(0), "{err}");
    // With the operator scaled down, no flag is needed.
    operator_at(&running, 0).await;
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_operator_is_named_and_its_deletions_confirmed() {
    let running = serve(cluster(Platform::Aws, true)).await;
    operator_at(&running, 1).await;
    // A change says who applies it.
    let (code, out, err) = running.outcome(&["set", "replicas", "3"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("The Image Registry Operator (cluster-image-registry-operator, 1/1 ready) applies it."),
        "{out}"
    );
    // Removed with Managed S3 storage: the operator would delete the bucket, so it is confirmed,
    // naming the bucket; without confirmation nothing is written.
    running.server.clear_log();
    let (code, _, err) = running.outcome(&["set", "management-state", "Removed"]).await;
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains(
            "the S3 bucket sim-7xk2p-image-registry-us-east-1 and every image in it will be deleted by the running \
             Image Registry Operator (1/1 ready)"
        ),
        "{err}"
    );
    assert!(
        !running.server.requests().iter().any(|r| r.method != "GET"),
        "nothing written"
    );
    let (code, _, err) = running.outcome(&["set", "management-state", "Removed", "--yes"]).await;
    assert_eq!(code, Some(0), "{err}");
    // doctor rates it an error while the operator runs: it deletes the bucket.
    let (code, doctor, _) = running.outcome(&["doctor", "-o", "json"]).await;
    assert_eq!(code, Some(3), "{doctor}");
    let doctor: Value = serde_json::from_str(&doctor).unwrap();
    assert!(
        doctor["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "error"
                && f["field"] == "spec.storage.managementState"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains("every image in it will be deleted by the running Image Registry Operator (1/1 ready)")),
        "{doctor:#}"
    );
}

/// A shell script for `KUBECTL_EXTERNAL_DIFF` that keeps the merged side for the test to read.
fn keeping_diff(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("keep-merged");
    let kept = dir.join("kept");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nrm -rf '{0}'\ncp -r \"$2\" '{0}'\nexit 1\n", kept.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// An object as `diff` shows it: without what the server maintains.
fn comparable(mut object: Value) -> Value {
    let meta = object["metadata"].as_object_mut().unwrap();
    for f in [
        "managedFields",
        "resourceVersion",
        "generation",
        "uid",
        "creationTimestamp",
    ] {
        meta.remove(f);
    }
    object.as_object_mut().unwrap().remove("status");
    object
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_on_an_operator_installed_cluster_match_the_real_run() {
    let running = serve(cluster(Platform::Aws, true)).await;
    // The operator wrote REGISTRY_HTTP_SECRET as a value; the registry takes it from a Secret.
    // Only taking the operator's fields over removes the value, and only the preview that
    // includes the take-over is what the API server accepts.
    let (code, out, err) = running.outcome(&["reconcile", "--dry-run=server"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("deployment.apps/image-registry configured (server dry run)"),
        "{out}"
    );

    let script = keeping_diff(running.dir.path());
    let out = running
        .command(crate::support::OC_REGISTRY)
        .arg("diff")
        .env("KUBECTL_EXTERNAL_DIFF", &script)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let kept = running.dir.path().join("kept");
    let predicted: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(kept.join("apps.v1.Deployment.openshift-image-registry.image-registry")).unwrap(),
    )
    .unwrap();
    let env = predicted.pointer("/spec/template/spec/containers/0/env").unwrap();
    let secret = env
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "REGISTRY_HTTP_SECRET")
        .unwrap();
    assert!(secret.get("value").is_none(), "{secret}");

    let (code, _, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{err}");
    let written = running
        .kubectl_get(&["deployment", "image-registry", "-n", "openshift-image-registry"])
        .await
        .unwrap();
    assert_eq!(comparable(written), comparable(predicted));
}

/// The seeded operator-installed registry's httpSecret, which nothing may show.
const INSTALLED_HTTP_SECRET: &str = "5f1c0ffee0ddba11d00dfeedfacecafebeadedbadc0de0123456789abcdef000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_doctor_say_what_is_requested_but_not_running() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let (code, out, err) = running.outcome(&["status"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Applied:          every requested setting"), "{out}");
    running.oc_registry_ok(&["set", "replicas", "3"]).await;
    running.oc_registry_ok(&["set", "log-level", "Debug"]).await;
    let (code, out, _) = running.outcome(&["status"]).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("Not applied:      2 requested settings. Run `oc-registry reconcile` to apply them."),
        "{out}"
    );
    assert!(out.contains("spec.replicas:  3 (running: 2)"), "{out}");
    assert!(
        out.contains("spec.logLevel:  REGISTRY_LOG_LEVEL=debug (running: REGISTRY_LOG_LEVEL=info)"),
        "{out}"
    );
    assert!(
        out.contains("requested settings are not applied yet: spec.replicas, spec.logLevel"),
        "{out}"
    );
    let (_, doctor, _) = running.outcome(&["doctor", "-o", "json"]).await;
    let doctor: Value = serde_json::from_str(&doctor).unwrap();
    let replicas = doctor["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "spec.replicas" && f["message"].as_str().unwrap().contains("not applied"))
        .unwrap_or_else(|| panic!("{doctor:#}"));
    assert_eq!(replicas["fix"], "oc-registry reconcile");
    for output in [&out, &doctor.to_string()] {
        assert!(!output.contains(INSTALLED_HTTP_SECRET), "{output}");
    }
    // Applied, the settings are no longer pending (the rollout may still be).
    running.oc_registry_ok(&["reconcile"]).await;
    let (_, out, _) = running.outcome(&["status"]).await;
    assert!(out.contains("Applied:          every requested setting"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_operator_applies_what_is_pending() {
    let running = serve(cluster(Platform::Aws, true)).await;
    operator_at(&running, 1).await;
    running.oc_registry_ok(&["set", "replicas", "3"]).await;
    let (code, out, _) = running.outcome(&["status"]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("Not applied:      1 requested setting. The Image Registry Operator (cluster-image-registry-operator, 1/1 ready) applies them."),
        "{out}"
    );
    assert!(!out.contains("not applied yet"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_install_runs_every_requested_setting_on_every_platform() {
    // The operator's rendering (as documented) and this tool's agree on every setting.
    let mut compared = 0;
    for platform in Platform::ALL {
        let running = serve(cluster(platform, true)).await;
        let (_, out, err) = running.outcome(&["status"]).await;
        // Platforms without storage install the registry Removed: nothing runs to compare.
        if out.starts_with("Registry:         Removed") {
            continue;
        }
        compared += 1;
        assert!(
            out.contains("Applied:          every requested setting"),
            "{platform}: {out}{err}"
        );
    }
    assert_eq!(compared, 7);
}
