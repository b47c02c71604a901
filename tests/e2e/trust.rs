//! `oc-registry trust add|remove|list` against a simulated cluster, read back with kubectl: the
//! happy path, bad input refused before anything is written, dry runs, and a concurrent edit kept.

use crate::support::{Running, cluster, serve, text};
use serde_json::{Value, json};
use test_apiserver::{Fault, FaultAction, Matcher, Platform};

fn certificate(ca: bool, cn: &str, years: (i32, i32)) -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
    params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

fn write(running: &Running, name: &str, content: &str) -> String {
    let path = running.dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}

async fn registry_cas(running: &Running) -> Option<Value> {
    running
        .kubectl_get(&["configmap", "registry-cas", "-n", "openshift-config"])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_list_and_remove_a_registry_ca() {
    let running = serve(cluster(Platform::Aws, false)).await;
    let ca = write(
        &running,
        "ca.pem",
        &certificate(true, "Example Registry CA", (2020, 2099)),
    );
    let out = running
        .oc_registry(&["trust", "add", "registry.example.com:5000", "--ca-file", &ca])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("configmap/registry-cas created"), "{stdout}");
    assert!(
        stdout.contains("spec.additionalTrustedCA.name=registry-cas"),
        "{stdout}"
    );
    let cm = registry_cas(&running).await.unwrap();
    assert!(
        cm["data"]["registry.example.com..5000"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let image = running
        .kubectl_get(&["images.config.openshift.io", "cluster"])
        .await
        .unwrap();
    assert_eq!(image["spec"]["additionalTrustedCA"]["name"], "registry-cas");

    // A second registry goes into the same ConfigMap; the first stays.
    let other = write(&running, "other.pem", &certificate(true, "Other CA", (2020, 2099)));
    let out = running
        .oc_registry(&["trust", "add", "quay.internal", "--ca-file", &other])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("configmap/registry-cas configured"));
    let cm = registry_cas(&running).await.unwrap();
    assert!(cm["data"].get("registry.example.com..5000").is_some());
    assert!(cm["data"].get("quay.internal").is_some());

    let out = running.oc_registry(&["trust", "list"]).await;
    let table = text(&out.stdout);
    assert!(
        table.contains("registry.example.com:5000") && table.contains("CN=Example Registry CA"),
        "{table}"
    );
    assert!(table.contains("quay.internal") && table.contains("valid"), "{table}");
    let out = running.oc_registry(&["trust", "list", "-o", "json"]).await;
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[1]["host"], "registry.example.com:5000");
    assert_eq!(list[1]["certificates"][0]["isCa"], true);

    let out = running
        .oc_registry(&["trust", "remove", "registry.example.com:5000"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let cm = registry_cas(&running).await.unwrap();
    assert!(cm["data"].get("registry.example.com..5000").is_none());
    assert!(cm["data"].get("quay.internal").is_some());
    let out = running
        .oc_registry(&["trust", "remove", "registry.example.com:5000"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not trusted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_anything_is_written() {
    let running = serve(cluster(Platform::Aws, false)).await;
    let leaf = write(
        &running,
        "leaf.pem",
        &certificate(false, "registry.example.com", (2020, 2099)),
    );
    let ca = write(&running, "ca.pem", &certificate(true, "Example CA", (2020, 2099)));
    let junk = write(&running, "junk.pem", "not a certificate\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["trust", "add", "registry.example.com", "--ca-file", &leaf],
            "not a CA certificate",
        ),
        (
            vec!["trust", "add", "registry.example.com", "--ca-file", &junk],
            "no PEM certificate",
        ),
        (
            vec!["trust", "add", "https://registry.example.com", "--ca-file", &ca],
            "HOST",
        ),
        (
            vec!["trust", "add", "registry.example.com:70000", "--ca-file", &ca],
            "port",
        ),
        (
            vec!["trust", "add", "registry.example.com", "--ca-file", "/no/such/file.pem"],
            "--ca-file",
        ),
    ];
    running.server.clear_log();
    for (args, expected) in cases {
        let out = running.oc_registry(&args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert!(running.server.writes().is_empty(), "{:?}", running.server.writes());
    assert!(registry_cas(&running).await.is_none());

    // An expired CA is trusted, with a warning.
    let expired = write(&running, "expired.pem", &certificate(true, "Old CA", (2001, 2002)));
    let out = running
        .oc_registry(&["trust", "add", "old.example.com", "--ca-file", &expired])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Warning: certificate CN=Old CA is expired"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_write_nothing() {
    let running = serve(cluster(Platform::Aws, false)).await;
    let ca = write(&running, "ca.pem", &certificate(true, "Example CA", (2020, 2099)));
    for mode in ["--dry-run=client", "--dry-run=server"] {
        running.server.clear_log();
        let out = running
            .oc_registry(&["trust", "add", "registry.example.com", "--ca-file", &ca, mode])
            .await;
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("dry run"), "{mode}");
        for w in running.server.writes() {
            assert_eq!(
                w.query_param("dryRun").as_deref(),
                Some("All"),
                "{mode}: {} {}",
                w.method,
                w.path
            );
        }
        assert!(registry_cas(&running).await.is_none(), "{mode}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_edit_is_not_lost() {
    let server = cluster(Platform::Aws, false);
    server
        .seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "registry-cas", "namespace": "openshift-config"},
                     "data": {"first.example.com": certificate(true, "First CA", (2020, 2099))}}))
        .unwrap();
    let mut image = server.object("config.openshift.io/v1", "Image", "", "cluster").unwrap();
    image["spec"] = json!({"additionalTrustedCA": {"name": "registry-cas"}});
    server.seed(image).unwrap();
    // Another writer gets in first: the first patch meets a conflict and is redone on a fresh read.
    server.inject(
        Fault::new(
            Matcher::method("PATCH").and_path("/configmaps/registry-cas"),
            FaultAction::Conflict,
        )
        .times(1),
    );
    let running = serve(server).await;
    let ca = write(&running, "ca.pem", &certificate(true, "Second CA", (2020, 2099)));
    let out = running
        .oc_registry(&["trust", "add", "second.example.com", "--ca-file", &ca])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let patches: Vec<_> = running
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/configmaps/registry-cas"))
        .collect();
    assert_eq!(patches.len(), 2, "retried once");
    // Each patch carries the resourceVersion it was computed from.
    assert!(
        patches[1]
            .body
            .as_ref()
            .unwrap()
            .pointer("/metadata/resourceVersion")
            .is_some()
    );
    let cm = registry_cas(&running).await.unwrap();
    assert!(
        cm["data"].get("first.example.com").is_some(),
        "the other writer's key survives"
    );
    assert!(cm["data"].get("second.example.com").is_some());
}
