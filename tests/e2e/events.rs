//! `events`: the registry namespace's events as `kubectl events` lists them (its columns, oldest
//! first, repeated ones counted), `--types`, `-o`, and `-w` printing new ones as they come.

use crate::support::{OC_REGISTRY, Running, cluster, serve};
use serde_json::json;
use test_apiserver::Platform;
use tokio::io::AsyncBufReadExt;

const NS: &str = "openshift-image-registry";

fn seed_event(running: &Running, name: &str, type_: &str, reason: &str, at: &str, count: i32) {
    running
        .server
        .seed(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": NS},
            "involvedObject": {"kind": "Deployment", "name": "image-registry", "namespace": NS},
            "type": type_, "reason": reason, "message": format!("{reason} happened"),
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": at, "count": count,
        }))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_listed_filtered_and_followed() {
    let running = serve(cluster(Platform::Aws, true)).await;
    seed_event(&running, "b", "Warning", "BackOff", "2026-01-01T01:00:00Z", 3);
    seed_event(&running, "a", "Normal", "ScalingReplicaSet", "2026-01-01T00:30:00Z", 1);
    let table = running.oc_registry_ok(&["events"]).await;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    if crate::support::kubectl_available() {
        let kubectl = running.kubectl(&["events", "-n", NS]).await;
        let theirs = crate::support::text(&kubectl.stdout);
        let header = |t: &str| {
            t.lines()
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(header(&table), header(&theirs), "{theirs}");
    }
    // Oldest first; a repeated event says how often and since when.
    assert!(
        lines[1].contains("Normal") && lines[1].contains("ScalingReplicaSet"),
        "{table}"
    );
    assert!(
        lines[2].contains("(x3 over ") && lines[2].contains("Deployment/image-registry"),
        "{table}"
    );
    assert!(lines[2].ends_with("BackOff happened"), "{table}");
    let warnings = running
        .oc_registry_ok(&["events", "--types", "Warning", "--no-headers"])
        .await;
    assert_eq!(warnings.lines().count(), 1);
    assert!(warnings.contains("BackOff"), "{warnings}");
    let names = running.oc_registry_ok(&["events", "-o", "name"]).await;
    assert_eq!(names, "event/a\nevent/b\n");

    let mut watch = running
        .command(OC_REGISTRY)
        .args(["events", "-w", "--no-headers"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(watch.stdout.take().unwrap()).lines();
    for _ in 0..2 {
        lines.next_line().await.unwrap().unwrap();
    }
    seed_event(&running, "c", "Warning", "FailedMount", "2026-01-01T02:00:00Z", 1);
    let new = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .expect("the new event within a minute")
        .unwrap()
        .unwrap();
    assert!(new.contains("FailedMount"), "{new}");
    watch.kill().await.unwrap();
}
