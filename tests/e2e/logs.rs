//! `logs`: every registry pod's log (prefixed when several), `--tail`, `-f` following lines as
//! they are written, `-p` and its error as kubectl's, and the pruner's last run. The test API
//! server serves `pods/NAME/log` as kube-apiserver does (lines written by the test).

use crate::support::{OC_REGISTRY, Running, cluster, serve, text};
use serde_json::json;
use test_apiserver::Platform;
use tokio::io::AsyncBufReadExt;

const NS: &str = "openshift-image-registry";

fn seed_pod(running: &Running, name: &str, labels: serde_json::Value, container: &str) {
    running
        .server
        .seed(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": labels},
            "spec": {"containers": [{"name": container, "image": "registry"}]},
        }))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_pods_logs_are_printed_and_followed() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let registry = json!({"docker-registry": "default"});
    seed_pod(&running, "image-registry-a", registry.clone(), "registry");
    seed_pod(&running, "image-registry-b", registry, "registry");
    for (pod, line) in [
        ("image-registry-a", "a one"),
        ("image-registry-a", "a two"),
        ("image-registry-b", "b one"),
    ] {
        running.server.write_log(NS, pod, "registry", line);
    }
    let all = running.oc_registry_ok(&["logs"]).await;
    assert_eq!(
        all,
        "[pod/image-registry-a/registry] a one\n[pod/image-registry-a/registry] a two\n[pod/image-registry-b/registry] b one\n"
    );
    let tail = running.oc_registry_ok(&["logs", "--tail", "1"]).await;
    assert_eq!(
        tail,
        "[pod/image-registry-a/registry] a two\n[pod/image-registry-b/registry] b one\n"
    );

    // -p before any restart: kube-apiserver's error, as kubectl prints it.
    let (code, _, stderr) = running.outcome(&["logs", "-p"]).await;
    assert_eq!(code, Some(1));
    if crate::support::kubectl_available() {
        let kubectl = running.kubectl(&["logs", "-n", NS, "image-registry-a", "-p"]).await;
        assert_eq!(stderr, text(&kubectl.stderr));
    }
    assert!(
        stderr.starts_with("Error from server (BadRequest): previous terminated container \"registry\" in pod"),
        "{stderr}"
    );
    running.server.restart_container(NS, "image-registry-a", "registry");
    running.server.restart_container(NS, "image-registry-b", "registry");
    let previous = running.oc_registry_ok(&["logs", "--previous", "--tail", "1"]).await;
    assert!(
        previous.contains("[pod/image-registry-a/registry] a two\n"),
        "{previous}"
    );

    // -f: what is written after it started arrives, from every pod.
    let mut follow = running
        .command(OC_REGISTRY)
        .args(["logs", "-f"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(follow.stdout.take().unwrap()).lines();
    let server = running.server.clone();
    let writer = tokio::spawn(async move {
        // Until the follower has seen a line: it may connect after the first is written.
        for i in 0..600 {
            server.write_log(NS, "image-registry-b", "registry", &format!("b later {i}"));
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    let seen = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .expect("a followed line within a minute")
        .unwrap()
        .unwrap();
    assert!(seen.starts_with("[pod/image-registry-b/registry] b later "), "{seen}");
    writer.abort();
    follow.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pruners_last_run_is_found_by_its_job() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let (code, _, stderr) = running.outcome(&["logs", "pruner"]).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("the pruner has not run yet"), "{stderr}");
    for (job, created) in [
        ("image-pruner-100", "2026-01-01T00:00:00Z"),
        ("image-pruner-200", "2026-01-02T00:00:00Z"),
    ] {
        running
            .server
            .seed(json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {
                    "name": job, "namespace": NS, "creationTimestamp": created,
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "image-pruner", "uid": "u"}],
                },
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "image-pruner", "image": "cli"}]}}},
            }))
            .unwrap();
        seed_pod(&running, &format!("{job}-x"), json!({"job-name": job}), "image-pruner");
        running
            .server
            .write_log(NS, &format!("{job}-x"), "image-pruner", &format!("pruned by {job}"));
    }
    let last = running.oc_registry_ok(&["logs", "pruner"]).await;
    assert_eq!(last, "pruned by image-pruner-200\n");
}
