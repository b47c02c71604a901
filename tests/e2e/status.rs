//! `status` against simulated clusters: in-process for every platform, and as the real binary over
//! HTTP for exit codes, output formats, errors and secrecy.

use oc_registry::commands::status::{Health, Report};
use oc_registry::state::Observed;
use serde_json::{Value, json};

use crate::support::{OC_REGISTRY, Running, cluster, installed_as, serve, text};
use test_apiserver::{ApiServer, Platform, Settings};

async fn report(server: &ApiServer) -> Report {
    let client = kube::Client::new(server.clone(), "default");
    Report::from_observed(&Observed::read(&client).await.unwrap())
}

#[tokio::test]
async fn every_platform_reports_its_bootstrap_storage() {
    let expected = [
        (Platform::Aws, Health::Healthy, "s3", 2),
        (Platform::Gcp, Health::Healthy, "gcs", 2),
        (Platform::Azure, Health::Healthy, "azure", 2),
        (Platform::OpenStack, Health::Healthy, "swift", 2),
        (Platform::OpenStackWithoutSwift, Health::Healthy, "pvc", 1),
        (Platform::IbmCloud, Health::Healthy, "ibmcos", 2),
        (Platform::Libvirt, Health::Healthy, "emptyDir", 1),
        (Platform::BareMetal, Health::Removed, "", 1),
        (Platform::VSphere, Health::Removed, "", 1),
        (Platform::None, Health::Removed, "", 1),
    ];
    for (platform, health, driver, replicas) in expected {
        let r = report(&cluster(platform, true)).await;
        assert_eq!(r.health, health, "{platform}");
        let drivers = r.storage.as_ref().map(|s| s.drivers.join(",")).unwrap_or_default();
        assert_eq!(drivers, driver, "{platform}");
        assert_eq!(r.replicas.desired, replicas, "{platform}");
        if health == Health::Healthy {
            assert_eq!(r.replicas.ready, replicas, "{platform}");
            assert!(r.missing.is_empty(), "{platform}: {:?}", r.missing);
            assert_eq!(
                r.internal_hostname.as_deref(),
                Some("image-registry.openshift-image-registry.svc:5000")
            );
        } else {
            assert!(r.missing.iter().any(|m| m.problem.contains("Removed")), "{platform}");
        }
        let pruner = r.pruner.as_ref().expect("pruner");
        assert_eq!(pruner.schedule, "0 0 * * *");
        assert!(pruner.default_schedule);
        assert!(pruner.last_run.as_ref().unwrap().succeeded);
        assert_eq!(r.cluster_operator.as_ref().unwrap().version.as_deref(), Some("4.20.3"));
    }
}

#[tokio::test]
async fn a_fresh_cluster_reports_not_installed() {
    let r = report(&cluster(Platform::Aws, false)).await;
    assert_eq!(r.health, Health::NotInstalled);
    assert!(r.missing[0].problem.contains("has not been bootstrapped"));
    assert!(r.pruner.is_none());
}

/// Degrades the registry the way the operator reports a storage failure it hides behind Progressing.
fn degrade(server: &ApiServer) {
    let mut config = server
        .object("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")
        .unwrap();
    let conditions = config["status"]["conditions"].as_array_mut().unwrap();
    for c in conditions.iter_mut() {
        if c["type"] == "Progressing" {
            *c = json!({"type": "Progressing", "status": "True", "reason": "Error", "lastTransitionTime": "2026-11-23T10:00:00Z",
                "message": "Unable to apply resources: unable to sync storage configuration: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records."});
        }
        if c["type"] == "StorageExists" {
            *c = json!({"type": "StorageExists", "status": "False", "reason": "InvalidAccessKeyId", "lastTransitionTime": "2026-11-23T10:00:00Z",
                "message": "The AWS Access Key Id you provided does not exist in our records."});
        }
    }
    server.seed(config).unwrap();
    let mut job = server
        .object("batch/v1", "Job", "openshift-image-registry", "image-pruner-29398560")
        .unwrap();
    job["status"] = json!({"failed": 1, "startTime": "2026-11-23T00:00:02Z", "conditions": [{"type": "Failed", "status": "True",
        "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": "2026-11-23T00:05:00Z", "lastTransitionTime": "2026-11-23T00:05:00Z"}]});
    server.seed(job).unwrap();
}

#[tokio::test]
async fn errors_hidden_in_progressing_and_a_failed_pruner_are_reported_as_missing() {
    let server = cluster(Platform::Aws, true);
    degrade(&server);
    let r = report(&server).await;
    assert_eq!(r.health, Health::Degraded);
    let problems: Vec<&str> = r.missing.iter().map(|m| m.problem.as_str()).collect();
    assert!(
        problems.iter().any(|p| p.contains("Unable to apply resources")),
        "{problems:?}"
    );
    assert!(problems.iter().any(|p| p.starts_with("StorageExists:")), "{problems:?}");
    let pruner = r
        .missing
        .iter()
        .find(|m| m.problem.contains("pruner"))
        .expect("pruner finding");
    assert!(pruner.problem.contains("Job has reached the specified backoff limit"));
    assert!(pruner.fix.as_ref().unwrap().contains("oc-registry pruner clear-failed"));
}

#[tokio::test]
async fn two_storage_drivers_are_reported_with_the_operators_message() {
    let server = cluster(Platform::Aws, true);
    let mut config = server
        .object("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")
        .unwrap();
    config["spec"]["storage"]["emptyDir"] = json!({});
    server.seed(config).unwrap();
    let r = report(&server).await;
    assert_eq!(r.health, Health::Degraded);
    assert!(r.missing.iter().any(|m| {
        m.problem
            .contains("exactly one storage type should be configured at the same time, got 2")
    }));
}

// ------------------------------------------------------------------ the binary

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_the_simulated_aws_cluster() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let out = running.run(OC_REGISTRY, &["status"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in [
        "Registry:         Managed (healthy)",
        "s3, Managed (the S3 bucket sim-7xk2p-image-registry-us-east-1 is deleted with its images when Removed, after confirmation)",
        "bucket:         sim-7xk2p-image-registry-us-east-1",
        "Replicas:         2/2 ready",
        "Missing:          nothing",
        "last run:       image-pruner-29398560 succeeded",
        "ClusterOperator:  image-registry 4.20.3  Available=True  Progressing=False  Degraded=False",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    let json_out = running.run(OC_REGISTRY, &["status", "-o", "json"]).await;
    let v: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(v["health"], "Healthy");
    assert_eq!(v["storage"]["drivers"], json!(["s3"]));
    assert_eq!(v["storage"]["location"]["region"], "us-east-1");
    assert!(
        text(&json_out.stdout).contains("\n    \"clusterOperator\""),
        "kubectl-style 4-space JSON"
    );
    let yaml_out = running.run(OC_REGISTRY, &["status", "-o", "yaml"]).await;
    assert!(text(&yaml_out.stdout).contains("health: Healthy"));

    // Only reads: a status never writes.
    assert!(running.server.writes().is_empty(), "{:?}", running.server.writes());
    assert!(
        running
            .server
            .requests()
            .iter()
            .all(|r| { r.user_agent.as_deref().is_some_and(|u| u.starts_with("oc-registry/")) })
    );
    drop(running.listening);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_secret_is_never_printed() {
    let server = cluster(Platform::Aws, true);
    let secret = server
        .object("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")
        .unwrap()["spec"]["httpSecret"]
        .as_str()
        .unwrap()
        .to_string();
    degrade(&server);
    let running = serve(server).await;
    for args in [&["status"][..], &["status", "-o", "json"], &["status", "-o", "yaml"]] {
        let out = running.run(OC_REGISTRY, args).await;
        assert!(
            !text(&out.stdout).contains(&secret) && !text(&out.stderr).contains(&secret),
            "{args:?} printed the httpSecret"
        );
        assert!(!text(&out.stdout).contains("AKIASIMULATED"), "credentials never appear");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_are_documented_states() {
    let degraded = cluster(Platform::Aws, true);
    degrade(&degraded);
    let running = serve(degraded).await;
    let out = running.run(OC_REGISTRY, &["status"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("fix: oc-registry pruner clear-failed"));

    let running = serve(cluster(Platform::BareMetal, true)).await;
    let out = running.run(OC_REGISTRY, &["status"]).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stdout).contains("Registry:         Removed (no registry is running)"));

    let running = serve(cluster(Platform::Aws, false)).await;
    let out = running.run(OC_REGISTRY, &["status"]).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stdout).contains("has not been bootstrapped"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_without_the_registry_api_is_a_clear_error() {
    let running = serve(ApiServer::new(Settings {
        openshift_apis: false,
        ..Settings::default()
    }))
    .await;
    let out = running.run(OC_REGISTRY, &["status"]).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("error: the server does not serve configs.imageregistry.operator.openshift.io"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_fails_like_kubectl() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let port = running.listening.addr.port();
    let Running { listening, dir, .. } = running;
    drop(listening);
    let out = tokio::process::Command::new(OC_REGISTRY)
        .args(["status", "--server", &format!("http://127.0.0.1:{port}")])
        .env("HOME", dir.path())
        .env_remove("KUBECONFIG")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("The connection to the server 127.0.0.1:{port} was refused")),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_work_before_and_after_the_command_and_help_names_the_invocation() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let kubeconfig = running.dir.path().join("kubeconfig");
    let k = kubeconfig.to_str().unwrap();
    for args in [
        vec!["--kubeconfig", k, "status", "-o", "json"],
        vec!["status", "-o", "json", "--kubeconfig", k],
    ] {
        let out = tokio::process::Command::new(OC_REGISTRY)
            .args(&args)
            .env_remove("KUBECONFIG")
            .env("HOME", "/nonexistent")
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
    }
    let help = running.run(&installed_as("kubectl-registry"), &["--help"]).await;
    assert!(
        text(&help.stdout).contains("Usage: kubectl registry"),
        "{}",
        text(&help.stdout)
    );
    let help = running.run(OC_REGISTRY, &["status", "--help"]).await;
    assert!(
        text(&help.stdout).contains("Usage: oc-registry status"),
        "{}",
        text(&help.stdout)
    );
    let bad = running.run(OC_REGISTRY, &["status", "-o", "xml"]).await;
    assert_eq!(
        bad.status.code(),
        Some(1),
        "usage errors exit 1 as kubectl's do, apart from status 2 (degraded)"
    );
    assert!(text(&bad.stderr).contains("invalid value 'xml'"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_from_the_cluster_cannot_drive_the_terminal() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let hostile = "first line\nsecond line \u{1b}[2J\u{1b}]0;owned\u{7} back\rover";
    let patch = serde_json::json!({"status": {"conditions": [
        {"type": "Available", "status": "False", "reason": "Broken", "message": hostile,
         "lastTransitionTime": "2026-11-30T00:00:00Z"},
        {"type": "Degraded", "status": "True", "reason": "Broken\u{1b}[31m", "message": hostile,
         "lastTransitionTime": "2026-11-30T00:00:00Z"},
    ]}});
    let out = running
        .run(
            "kubectl",
            &[
                "patch",
                "clusteroperator",
                "image-registry",
                "--subresource=status",
                "--type=merge",
                "-p",
                &patch.to_string(),
            ],
        )
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = running.run(OC_REGISTRY, &["status"]).await;
    let shown = text(&out.stdout);
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\r') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
    assert!(shown.contains("first line\\nsecond line \\u{1b}[2J"), "{shown}");
    // Every line of the layout is still a line of its own.
    let operator_lines: Vec<&str> = shown.lines().filter(|l| l.contains("first line")).collect();
    assert!(operator_lines.iter().all(|l| l.contains("second line")), "{shown}");
    let out = running.run(OC_REGISTRY, &["doctor"]).await;
    let shown = text(&out.stdout);
    assert!(!shown.contains('\u{1b}') && !shown.contains('\r'), "{shown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_waiting_for_a_node_that_is_not_ready_is_not_called_healthy() {
    let running = serve(cluster(Platform::Libvirt, false)).await;
    // A young cluster: its only worker has registered but is not ready yet.
    for i in 0..3 {
        let out = running
            .kubectl(&["delete", "node", &format!("sim-7xk2p-worker-{i}")])
            .await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    running.server.register_node("sim-7xk2p-worker-3");
    let out = running.oc_registry(&["reconcile"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status = async || -> Value {
        // Past the simulated rollout's delay.
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let out = running.oc_registry(&["status", "-o", "json"]).await;
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out.stderr)))
    };
    let waiting = status().await;
    assert_ne!(waiting["health"], "Healthy", "{waiting:#}");
    assert_eq!(waiting["replicas"], json!({"desired": 1, "ready": 0}), "{waiting:#}");

    // Once the node lifecycle controller clears the taint, the pod lands and the registry is up.
    // The next pass (a watching reconciler's) records it.
    assert!(running.server.node_ready("sim-7xk2p-worker-3"));
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let out = running.oc_registry(&["reconcile"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ready = status().await;
    assert_eq!(ready["health"], "Healthy", "{ready:#}");
    assert_eq!(ready["replicas"], json!({"desired": 1, "ready": 1}), "{ready:#}");
}
