//! `-o` as kubectl's: `jsonpath=` templates print what kubectl prints for the same object,
//! `name` names objects as kubectl does, mutating commands print the object they leave (secrets
//! masked), and `bootstrap --dry-run=client -o yaml` prints what would be created, sending
//! nothing.

use crate::support::{cluster, serve, text};
use test_apiserver::Platform;

const CONFIG: &str = "configs.imageregistry.operator.openshift.io";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonpath_prints_what_kubectl_prints_for_the_same_object() {
    if !crate::support::kubectl_available() {
        return;
    }
    let running = serve(cluster(Platform::Aws, true)).await;
    running.oc_registry_ok(&["reconcile"]).await;
    let templates = [
        "{.metadata.name}",
        "{.spec.replicas}",
        "{.spec.managementState}{\"\\n\"}",
        "{.spec.storage}",
        "{.spec.storage.s3.bucket} in {.spec.storage.s3.region}",
        "{.metadata.finalizers}",
        "{.status.conditions[*].type}",
        "{.status.conditions[0:2].type}",
        "{.status.conditions[-1:].type}",
        "{.status.conditions[?(@.type==\"Available\")].status}",
        "{range .status.conditions[*]}{.type}={.status}{\"\\n\"}{end}",
        "{.spec.missing}|{.status.readyReplicas}",
        "{$.kind} {@.apiVersion}",
        "{.status.conditions[0]}",
    ];
    for template in templates {
        let option = format!("jsonpath={template}");
        let kubectl = running.kubectl(&["get", CONFIG, "cluster", "-o", &option]).await;
        assert_eq!(kubectl.status.code(), Some(0), "{template}: {}", text(&kubectl.stderr));
        // `set` prints the object it leaves, here unchanged.
        let ours = running.oc_registry(&["set", "replicas", "2", "-o", &option]).await;
        assert_eq!(ours.status.code(), Some(0), "{template}: {}", text(&ours.stderr));
        assert_eq!(text(&ours.stdout), text(&kubectl.stdout), "{template}");
    }
    // A template kubectl refuses is refused before anything is sent.
    let bad = running
        .oc_registry(&["set", "replicas", "3", "-o", "jsonpath={.spec.replicas"])
        .await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("error parsing jsonpath"),
        "{}",
        text(&bad.stderr)
    );
    let replicas = running
        .kubectl(&["get", CONFIG, "cluster", "-o", "jsonpath={.spec.replicas}"])
        .await;
    assert_eq!(text(&replicas.stdout), "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_of_o_parses_and_names_objects_as_kubectl_does() {
    let running = serve(cluster(Platform::Aws, true)).await;
    running.oc_registry_ok(&["reconcile"]).await;
    // name: the object a change leaves, and every object a pass applies.
    let named = running.oc_registry_ok(&["set", "replicas", "2", "-o", "name"]).await;
    assert_eq!(named, "config.imageregistry.operator.openshift.io/cluster\n");
    let applied = running.oc_registry_ok(&["reconcile", "-o", "name"]).await;
    assert!(
        applied.lines().any(|l| l == "deployment.apps/image-registry"),
        "{applied}"
    );
    assert!(applied.lines().all(|l| l.contains('/')), "{applied}");
    // json and yaml: the object, its HTTP secret masked.
    let json = running
        .oc_registry_ok(&["set", "log-level", "Debug", "-o", "json"])
        .await;
    let object: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(object["spec"]["logLevel"], "Debug");
    assert_eq!(object["spec"]["httpSecret"], "***");
    assert!(object["metadata"].get("managedFields").is_none());
    let yaml = running.oc_registry_ok(&["pruner", "suspend", "-o", "yaml"]).await;
    assert!(
        yaml.contains("kind: ImagePruner") && yaml.contains("suspend: true"),
        "{yaml}"
    );
    // wide: the table with more columns.
    running.oc_registry_ok(&["set", "default-route", "true"]).await;
    running.oc_registry_ok(&["reconcile"]).await;
    let wide = running.oc_registry_ok(&["routes", "list", "-o", "wide"]).await;
    assert!(
        wide.starts_with("NAME") && wide.lines().next().unwrap().ends_with("ROUTER"),
        "{wide}"
    );
    let routes = running.oc_registry_ok(&["routes", "list", "-o", "name"]).await;
    assert_eq!(routes, "route.route.openshift.io/default-route\n");
    // The trusted CAs and the storage credentials, as each change leaves them; never a secret value.
    let (pem, map) = crate::support::trust_a_registry_with(&running, &["-o", "json"]).await;
    let map: serde_json::Value = serde_json::from_str(&map).unwrap();
    assert_eq!(map["kind"], "ConfigMap");
    assert_eq!(map["data"]["registry.example.com..5000"], pem.as_str());
    let removed = running
        .oc_registry_ok(&["trust", "remove", "registry.example.com:5000", "-o", "name"])
        .await;
    assert!(removed.starts_with("configmap/"), "{removed}");
    let secret = crate::support::set_s3_credentials(
        &running,
        "AKIAEXAMPLEKEY",
        "very-secret-value",
        &["--force", "-o", "yaml"],
    )
    .await;
    let said = text(&secret.stdout);
    assert_eq!(secret.status.code(), Some(0), "{}", text(&secret.stderr));
    assert!(
        said.contains("kind: Secret") && said.contains("'***'") || said.contains("\"***\""),
        "{said}"
    );
    assert!(
        !said.contains("very-secret-value") && !said.contains("QUtJQUVYQU1QTEVLRVk"),
        "{said}"
    );
    let unset = running
        .oc_registry_ok(&["storage", "credentials", "unset", "-o", "name"])
        .await;
    assert_eq!(unset, "secret/image-registry-private-configuration-user\n");
    // status is of the Config; doctor's findings are not objects, and -o name says so.
    let name = running.oc_registry_ok(&["status", "-o", "name"]).await;
    assert_eq!(name, "config.imageregistry.operator.openshift.io/cluster\n");
    let (code, _, stderr) = running.outcome(&["doctor", "-o", "name"]).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("-o name") && stderr.contains("jsonpath"), "{stderr}");
    // An unknown format is refused with the ones there are.
    let (code, _, stderr) = running.outcome(&["status", "-o", "table"]).await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("allowed formats are: json, yaml, name, wide, jsonpath=TEMPLATE"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_dry_run_prints_what_would_be_created_and_creates_nothing() {
    let running = serve(cluster(Platform::None, false)).await;
    let yaml = running
        .oc_registry_ok(&["bootstrap", "--dry-run=client", "-o", "yaml"])
        .await;
    // Several objects: a List, as kubectl prints them.
    let list: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(list["kind"], "List", "{yaml}");
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    // With no storage on this platform the registry starts Removed, and so does its alert.
    assert_eq!(kinds, ["Config", "ImagePruner", "PrometheusRule"], "{yaml}");
    assert_eq!(running.server.requests().iter().filter(|r| r.is_write()).count(), 0);
    assert!(
        running
            .server
            .object("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")
            .is_none()
    );
    // What it printed is what a real bootstrap creates.
    let names = running.oc_registry_ok(&["bootstrap", "-o", "name"]).await;
    assert!(
        names.contains("config.imageregistry.operator.openshift.io/cluster\n"),
        "{names}"
    );
    assert!(
        names.contains("imagepruner.imageregistry.operator.openshift.io/cluster\n"),
        "{names}"
    );
}
