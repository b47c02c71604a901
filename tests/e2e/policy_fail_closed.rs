//! The cluster's policies fail closed: when `openshift-image-registry/oc-registry-policies`
//! cannot be read for any reason but not existing, a change they govern is refused and nothing is
//! written, while read-only commands answer and say the cluster's policies are unknown.

use crate::support::{Running, cluster, forbid_emptydir, serve};
use test_apiserver::{Fault, FaultAction, Matcher, Platform};

const POLICIES: &str = "configmaps/oc-registry-policies";

/// A cluster whose policies deny every change, so a write that got past them would show.
async fn deny_all() -> Running {
    let server = cluster(Platform::Aws, true);
    forbid_emptydir(&server);
    serve(server).await
}

async fn assert_refused_and_unknown(running: &Running, extra: &[&str]) {
    let replicas = running.config().await["spec"]["replicas"].clone();
    let mut args = vec!["storage", "set", "empty-dir"];
    args.extend(extra);
    let (code, out, err) = running.outcome(&args).await;
    assert_ne!(code, Some(0), "{out}{err}");
    assert!(err.contains("the cluster's policies could not be read"), "{err}");
    assert!(
        err.contains("oc-registry-policies") && err.contains("nothing was written"),
        "{err}"
    );
    let mut args = vec!["set", "replicas", "3"];
    args.extend(extra);
    let (code, _, err) = running.outcome(&args).await;
    assert_ne!(code, Some(0), "{err}");
    assert_eq!(running.config().await["spec"]["replicas"], replicas);
    assert!(running.config().await["spec"]["storage"].get("emptyDir").is_none());
    let mut args = vec!["reconcile"];
    args.extend(extra);
    let (code, _, err) = running.outcome(&args).await;
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("the cluster's policies could not be read"), "{err}");

    // Reading is answered, saying what is unknown.
    let mut args = vec!["policy", "list"];
    args.extend(extra);
    let (code, out, err) = running.outcome(&args).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(err.contains("the cluster's policies are unknown"), "{err}");
    assert!(!out.contains("forbid-emptydir"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_answer_refuses_writes() {
    let running = deny_all().await;
    running.server.inject(Fault::new(
        Matcher::method("GET").and_path(POLICIES),
        FaultAction::Garbage("<html>502 Bad Gateway</html>"),
    ));
    assert_refused_and_unknown(&running, &[]).await;
    let (_, _, err) = running.outcome(&["set", "replicas", "3"]).await;
    assert!(
        err.contains("answered with a body that is not a Kubernetes API response"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_refuses_writes() {
    let running = deny_all().await;
    running.server.inject(Fault::new(
        Matcher::method("GET").and_path(POLICIES),
        FaultAction::DropConnection,
    ));
    assert_refused_and_unknown(&running, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_refuses_writes() {
    let running = deny_all().await;
    running.server.inject(Fault::new(
        Matcher::method("GET").and_path(POLICIES),
        FaultAction::Latency(std::time::Duration::from_secs(30)),
    ));
    assert_refused_and_unknown(&running, &["--request-timeout", "2s"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_that_does_not_parse_refuses_writes() {
    let running = deny_all().await;
    let out = running
        .kubectl(&[
            "patch",
            "configmap",
            "oc-registry-policies",
            "-n",
            "openshift-image-registry",
            "--type=merge",
            "-p",
            r#"{"data": {"policies.yaml": "modules: [ {name: "}}"#,
        ])
        .await;
    assert!(out.status.success());
    assert_refused_and_unknown(&running, &[]).await;
}
