//! Behaviour matched to the Image Registry Operator's and read back with kubectl: node-ca and the
//! CA ConfigMaps kept in every management state, and the cluster TLS profile observed into the
//! Config and served by the registry. Expected values are the operator's.

use crate::support::{Running, cluster, serve, text};
use serde_json::{Value, json};
use test_apiserver::{OPERATOR_IMAGE, Platform, TlsProfile};

async fn configmap(running: &Running, namespace: &str, name: &str) -> Option<Value> {
    running.kubectl_get(&["configmap", name, "-n", namespace]).await
}

fn env(deployment: &Value) -> Vec<(String, String)> {
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn assert_node_ca(daemon_set: &Value) {
    let spec = &daemon_set["spec"]["template"]["spec"];
    let container = &spec["containers"][0];
    assert_eq!(container["image"], OPERATOR_IMAGE);
    assert_eq!(
        container["command"],
        json!(["cluster-image-registry-operator", "node-ca-sync"])
    );
    assert_eq!(container["securityContext"]["privileged"], true);
    assert_eq!(spec["tolerations"], json!([{"operator": "Exists"}]));
    assert_eq!(spec["hostNetwork"], true);
    assert_eq!(spec["serviceAccountName"], "node-ca");
    assert_eq!(spec["priorityClassName"], "system-cluster-critical");
    assert_eq!(spec["nodeSelector"], json!({"kubernetes.io/os": "linux"}));
    assert_eq!(
        daemon_set["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"],
        "10%"
    );
    // Every key of image-registry-certificates is mounted where node-ca copies it from, and the
    // host's certs.d is where the container runtime reads it.
    let volumes = spec["volumes"].as_array().unwrap();
    assert!(
        volumes.contains(
            &json!({"name": "serviceca", "configMap": {"name": "image-registry-certificates", "defaultMode": 420}})
        ),
        "{volumes:?}"
    );
    assert!(
        volumes.iter().any(|v| v["hostPath"]["path"] == "/etc/docker/certs.d"),
        "{volumes:?}"
    );
    assert_eq!(
        container["volumeMounts"],
        json!([{"name": "serviceca", "mountPath": "/tmp/serviceca"}, {"name": "host", "mountPath": "/etc/docker/certs.d"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ca_carries_the_registry_and_trusted_cas_in_a_managed_registry() {
    let running = serve(cluster(Platform::Aws, true)).await;
    // What the service CA operator injects.
    let serviceca = running.dir.path().join("serviceca.json");
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "serviceca", "namespace": "openshift-image-registry"},
        "data": {"service-ca.crt": "SERVICE-CA"}});
    std::fs::write(&serviceca, object.to_string()).unwrap();
    let out = running.kubectl(&["create", "-f", serviceca.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pem = crate::support::trust_a_registry(&running).await;
    running.oc_registry_ok(&["reconcile"]).await;

    let daemon_set = running
        .kubectl_get(&["daemonset", "node-ca", "-n", "openshift-image-registry"])
        .await
        .expect("node-ca exists");
    assert_node_ca(&daemon_set);
    assert!(
        running
            .exists(&["serviceaccount", "node-ca", "-n", "openshift-image-registry"])
            .await
    );

    let certificates = configmap(&running, "openshift-image-registry", "image-registry-certificates")
        .await
        .unwrap();
    let data = certificates["data"].as_object().unwrap();
    assert_eq!(data["image-registry.openshift-image-registry.svc..5000"], "SERVICE-CA");
    assert_eq!(
        data["image-registry.openshift-image-registry.svc.cluster.local..5000"],
        "SERVICE-CA"
    );
    assert_eq!(data["registry.example.com..5000"], pem.as_str());
    let published = configmap(&running, "openshift-config-managed", "image-registry-ca")
        .await
        .unwrap();
    let keys: Vec<&String> = published["data"].as_object().unwrap().keys().collect();
    // The published trust is the registry's own hosts only.
    assert_eq!(
        keys,
        [
            "image-registry.openshift-image-registry.svc..5000",
            "image-registry.openshift-image-registry.svc.cluster.local..5000"
        ]
    );

    // A second pass writes nothing: node-ca and the ConfigMaps are up to date.
    let out = running.oc_registry_ok(&["reconcile"]).await;
    assert!(!out.contains("daemonset.apps/node-ca configured"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_bare_metal_registry_keeps_the_ca_configmaps_and_node_ca() {
    let running = serve(cluster(Platform::BareMetal, false)).await;
    running.oc_registry_ok(&["reconcile"]).await;
    assert_eq!(running.config().await["spec"]["managementState"], "Removed");
    let pem = crate::support::trust_a_registry(&running).await;
    running
        .kubectl(&[
            "patch",
            "configmap",
            "registry-cas",
            "-n",
            "openshift-config",
            "--type=merge",
            "-p",
            r#"{"binaryData": {"mirror.example.com": "MIIBCg=="}}"#,
        ])
        .await;
    running.oc_registry_ok(&["reconcile"]).await;

    let certificates = configmap(&running, "openshift-image-registry", "image-registry-certificates")
        .await
        .expect("image-registry-certificates is kept while Removed");
    assert_eq!(certificates["data"], json!({"registry.example.com..5000": pem}));
    assert_eq!(certificates["binaryData"], json!({"mirror.example.com": "MIIBCg=="}));
    assert_eq!(
        certificates["metadata"]["annotations"]["openshift.io/owning-component"],
        "Image Registry"
    );
    // No Service, so no registry hosts to publish.
    let published = configmap(&running, "openshift-config-managed", "image-registry-ca")
        .await
        .expect("image-registry-ca is kept while Removed");
    assert!(
        published.get("data").is_none_or(|d| d.as_object().unwrap().is_empty()),
        "{published}"
    );
    let daemon_set = running
        .kubectl_get(&["daemonset", "node-ca", "-n", "openshift-image-registry"])
        .await
        .expect("node-ca runs while Removed");
    assert_node_ca(&daemon_set);
    assert!(
        !running
            .exists(&["deployment", "image-registry", "-n", "openshift-image-registry"])
            .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_tls_profile_reaches_the_registry_for_each_profile_type() {
    let intermediate = "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256,\
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,\
        TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,\
        TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
    let cases: [(Option<TlsProfile>, &str, usize, Option<&str>); 5] = [
        (None, "VersionTLS12", 9, Some(intermediate)),
        (Some(TlsProfile::Intermediate), "VersionTLS12", 9, Some(intermediate)),
        (Some(TlsProfile::Old), "VersionTLS10", 21, None),
        (
            Some(TlsProfile::Modern),
            "VersionTLS13",
            3,
            Some("TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256"),
        ),
        (
            Some(TlsProfile::Custom),
            "VersionTLS11",
            4,
            Some(
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,\
                 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            ),
        ),
    ];
    for (profile, min, count, suites) in cases {
        let server = cluster(Platform::Aws, false);
        if let Some(p) = profile {
            server.seed_tls_profile(p).unwrap();
        }
        let running = serve(server).await;
        running.oc_registry_ok(&["reconcile"]).await;
        let serving = running.config().await["spec"]["observedConfig"]["servingInfo"].clone();
        assert_eq!(serving["minTLSVersion"], min, "{profile:?}");
        assert_eq!(serving["cipherSuites"].as_array().unwrap().len(), count, "{profile:?}");
        let deployment = running
            .kubectl_get(&["deployment", "image-registry", "-n", "openshift-image-registry"])
            .await
            .unwrap();
        let env = env(&deployment);
        let get = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        assert_eq!(get("REGISTRY_HTTP_TLS_MINVERSION").as_deref(), Some(min), "{profile:?}");
        let joined = get("OPENSHIFT_REGISTRY_HTTP_TLS_CIPHERSUITES").unwrap();
        assert_eq!(joined.split(',').count(), count, "{profile:?}");
        if let Some(suites) = suites {
            assert_eq!(joined, suites.replace(' ', ""), "{profile:?}");
        }
    }

    // A change of profile is observed on the next pass and rolls the registry.
    let running = serve(cluster(Platform::Aws, false)).await;
    running.oc_registry_ok(&["reconcile"]).await;
    let out = running
        .kubectl(&[
            "patch",
            "apiserver.config.openshift.io",
            "cluster",
            "--type=merge",
            "-p",
            r#"{"spec": {"tlsSecurityProfile": {"type": "Modern", "modern": {}}}}"#,
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    running.oc_registry_ok(&["reconcile"]).await;
    let deployment = running
        .kubectl_get(&["deployment", "image-registry", "-n", "openshift-image-registry"])
        .await
        .unwrap();
    assert!(env(&deployment).contains(&("REGISTRY_HTTP_TLS_MINVERSION".into(), "VersionTLS13".into())));
}

/// Every `fn` below `dir` (Rust sources), by name.
fn functions_in(dir: &std::path::Path, out: &mut std::collections::BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "target") {
            functions_in(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            for rest in source.split("fn ").skip(1) {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                out.insert(name);
            }
        }
    }
}

#[test]
fn the_readme_parity_table_names_tests_that_exist() {
    let root = crate::support::workspace();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let table = readme
        .split("### Parity with the operator")
        .nth(1)
        .and_then(|s| s.split("Differences on purpose").next())
        .expect("the README has the parity table");
    let mut functions = std::collections::BTreeSet::new();
    for dir in ["src", "tests", "policies"] {
        functions_in(&root.join(dir), &mut functions);
    }
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Feature"))
        .collect();
    assert!(rows.len() > 10, "{table}");
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (state, proof) = (cells[2], cells[3]);
        let named: Vec<&str> = proof.split('`').skip(1).step_by(2).collect();
        if state == "matched" || state == "proved" {
            assert!(!named.is_empty(), "a {state} row names no test: {row}");
        }
        for test in named {
            let name = test.rsplit("::").next().unwrap();
            assert!(
                functions.contains(name),
                "the README names {test}, which no longer exists"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_show_what_each_pass_did() {
    let running = serve(cluster(Platform::Aws, false)).await;
    running.oc_registry_ok(&["reconcile"]).await;
    let events = running
        .kubectl_get(&["events", "-n", "openshift-image-registry"])
        .await
        .unwrap();
    let seen: Vec<(String, String)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["involvedObject"]["name"], "oc-registry-reconciler");
            assert_eq!(e["source"]["component"], "oc-registry");
            (
                e["reason"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |reason: &str, message: &str| seen.iter().any(|(r, m)| r == reason && m == message);
    assert!(
        has(
            "DeploymentCreated",
            "Created deployment.apps/image-registry -n openshift-image-registry because it was missing"
        ),
        "{seen:?}"
    );
    assert!(has(
        "DaemonSetCreated",
        "Created daemonset.apps/node-ca -n openshift-image-registry because it was missing"
    ));
    assert!(has(
        "ClusterRoleCreated",
        "Created clusterrole.rbac.authorization.k8s.io/system:registry because it was missing"
    ));
    assert!(has(
        "ObserveTLSSecurityProfile",
        "minTLSVersion changed to VersionTLS12"
    ));
    assert!(seen.iter().any(|(r, _)| r == "OperatorStatusChanged"), "{seen:?}");

    // A change is recorded; a pass that changes nothing records nothing.
    running.oc_registry_ok(&["set", "replicas", "3"]).await;
    running.server.clear_log();
    running.oc_registry_ok(&["reconcile"]).await;
    let count = |running: &Running| {
        running
            .server
            .writes()
            .iter()
            .filter(|w| w.path.ends_with("/events"))
            .count()
    };
    assert!(count(&running) > 0);
    let events = running
        .kubectl_get(&["events", "-n", "openshift-image-registry"])
        .await
        .unwrap();
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "DeploymentUpdated"
                && e["message"]
                    == "Updated deployment.apps/image-registry -n openshift-image-registry because it changed")
    );
    // Once the rollout has finished (the status changing is an event), nothing more is said.
    running.oc_registry_ok(&["reconcile", "--wait"]).await;
    running.oc_registry_ok(&["reconcile"]).await;
    running.server.clear_log();
    running.oc_registry_ok(&["reconcile"]).await;
    assert_eq!(count(&running), 0);
}

async fn import_mode(running: &Running) -> Value {
    running
        .kubectl_get(&["images.config.openshift.io", "cluster"])
        .await
        .unwrap()["status"]["imageStreamImportMode"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_stream_import_mode_follows_the_spec_then_the_payload() {
    let running = serve(cluster(Platform::Aws, false)).await;
    running.oc_registry_ok(&["reconcile"]).await;
    assert_eq!(import_mode(&running).await, "Legacy");
    running
        .kubectl(&[
            "patch",
            "images.config.openshift.io",
            "cluster",
            "--type=merge",
            "-p",
            r#"{"spec": {"imageStreamImportMode": "PreserveOriginal"}}"#,
        ])
        .await;
    running.oc_registry_ok(&["reconcile"]).await;
    assert_eq!(import_mode(&running).await, "PreserveOriginal");

    let server = cluster(Platform::Aws, false);
    server.seed_multi_arch_release().unwrap();
    let running = serve(server).await;
    running.oc_registry_ok(&["reconcile"]).await;
    assert_eq!(import_mode(&running).await, "PreserveOriginal");
}
