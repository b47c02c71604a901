//! The real `kubectl` is the judge: every operation oc-registry relies on, run by kubectl against
//! the simulated cluster, for several server versions (the kubectl on PATH dispatches to the
//! matching minor) and both discovery modes.
//!
//! Without kubectl on PATH this suite is skipped with a notice, except under `CI=true`, where that
//! is a failure.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use test_apiserver::{ApiServer, Listening, Platform, Settings};

fn kubectl_available() -> bool {
    let found = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is not on PATH, and CI=true requires the fidelity suite to run"
        );
        eprintln!("SKIPPED: kubectl is not on PATH; the kubectl fidelity suite did not run");
    }
    found
}

struct Cluster {
    server: ApiServer,
    listening: Listening,
    dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

impl Cluster {
    fn start(version: &str, aggregated: bool, tls_token: Option<&str>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = ApiServer::new(Settings {
            git_version: version.into(),
            aggregated_discovery: aggregated,
            token: tls_token.map(str::to_string),
            ..Settings::default()
        });
        server.seed_openshift(Platform::Aws).unwrap();
        let listening = runtime
            .block_on(async {
                if tls_token.is_some() {
                    server.listen_https(0).await
                } else {
                    server.listen_http(0).await
                }
            })
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        listening
            .write_kubeconfig(&dir.path().join("kubeconfig"), tls_token, Some("default"))
            .unwrap();
        Cluster {
            server,
            listening,
            dir,
            runtime,
        }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env("HOME", self.dir.path())
            .env("KUBECACHEDIR", self.dir.path().join("cache"))
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("kubectl runs")
    }

    /// Runs kubectl and requires success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {} failed ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs kubectl and requires failure; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "kubectl {} should have failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.to_string_lossy().into_owned()
    }
}

const CONFIGMAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: default\ndata:\n  a: \"1\"\n";
const CONFIG: &str = "apiVersion: imageregistry.operator.openshift.io/v1\nkind: Config\nmetadata:\n  name: cluster\nspec:\n  managementState: Managed\n  replicas: 1\n  storage:\n    emptyDir: {}\n";
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: registry.example.com/web:1\n";

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("kubectl printed invalid JSON ({e}):\n{text}"))
}

fn fidelity(version: &str, aggregated: bool) {
    if !kubectl_available() {
        return;
    }
    let c = Cluster::start(version, aggregated, None);
    let config_res = "configs.imageregistry.operator.openshift.io";

    // Discovery.
    let resources = c.ok(&["api-resources", "--no-headers"]);
    for needle in [
        "configs",
        "imageregistry.operator.openshift.io/v1",
        "imagepruners",
        "routes",
        "route.openshift.io/v1",
        "deployments",
        "apps/v1",
    ] {
        assert!(resources.contains(needle), "api-resources lacks {needle}:\n{resources}");
    }
    let version_out = c.ok(&["version", "-o", "json"]);
    assert_eq!(json(&version_out)["serverVersion"]["gitVersion"], version);

    // get -o json|yaml.
    let infra = json(&c.ok(&["get", "infrastructure", "cluster", "-o", "json"]));
    assert_eq!(infra["status"]["platformStatus"]["type"], "AWS");
    assert!(
        c.ok(&["get", "infrastructures.config.openshift.io", "cluster", "-o", "yaml"])
            .contains("infrastructureName: sim-7xk2p")
    );
    assert!(
        c.ok(&["get", "nodes", "-o", "name"])
            .contains("node/sim-7xk2p-worker-0")
    );

    // create, and the AlreadyExists answer.
    let cm = c.file("cm.yaml", CONFIGMAP);
    assert!(c.ok(&["create", "-f", &cm]).contains("configmap/demo created"));
    assert!(
        c.fails(&["create", "-f", &cm])
            .contains("Error from server (AlreadyExists)")
    );

    // Client-side apply: a no-op is "unchanged", a change is "configured".
    assert!(c.ok(&["apply", "-f", &cm]).contains("configmap/demo"));
    assert!(c.ok(&["apply", "-f", &cm]).contains("unchanged"));
    let cm2 = c.file("cm2.yaml", &CONFIGMAP.replace("\"1\"", "\"2\""));
    assert!(c.ok(&["apply", "-f", &cm2]).contains("configured"));
    assert_eq!(c.ok(&["get", "cm", "demo", "-o", "jsonpath={.data.a}"]), "2");

    // Server-side apply: conflicts with the client-side applier, dry run changes nothing, force wins.
    let cm3 = c.file("cm3.yaml", &CONFIGMAP.replace("\"1\"", "\"3\""));
    let conflict = c.fails(&["apply", "--server-side", "-f", &cm3]);
    assert!(
        conflict.contains("conflict with \"kubectl-client-side-apply\""),
        "{conflict}"
    );
    c.ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "--dry-run=server",
        "-f",
        &cm3,
    ]);
    assert_eq!(c.ok(&["get", "cm", "demo", "-o", "jsonpath={.data.a}"]), "2");
    c.ok(&["apply", "--server-side", "--force-conflicts", "-f", &cm3]);
    assert_eq!(c.ok(&["get", "cm", "demo", "-o", "jsonpath={.data.a}"]), "3");
    let managers = c.ok(&[
        "get",
        "cm",
        "demo",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    assert!(managers.contains("kubectl"), "{managers}");

    // A custom resource: create, merge and JSON patches; strategic merge is 415.
    let config = c.file("config.yaml", CONFIG);
    c.ok(&["create", "-f", &config]);
    c.ok(&[
        "patch",
        config_res,
        "cluster",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"readOnly":true}}"#,
    ]);
    c.ok(&[
        "patch",
        config_res,
        "cluster",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":2}]"#,
    ]);
    let got = json(&c.ok(&["get", config_res, "cluster", "-o", "json"]));
    assert_eq!(got["spec"]["readOnly"], true);
    assert_eq!(got["spec"]["replicas"], 2);
    assert_eq!(got["spec"]["logLevel"], "Normal", "CRD defaults are applied");
    let strategic = c.fails(&["patch", config_res, "cluster", "-p", r#"{"spec":{"replicas":3}}"#]);
    assert!(
        strategic.contains("application/strategic-merge-patch+json is not supported"),
        "{strategic}"
    );
    c.ok(&["patch", "cm", "demo", "-p", r#"{"data":{"b":"x"}}"#]);
    let failed_test = c.fails(&[
        "patch",
        config_res,
        "cluster",
        "--type",
        "json",
        "-p",
        r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
    ]);
    assert!(
        failed_test.contains("The request is invalid") && failed_test.contains("/spec/replicas"),
        "{failed_test}"
    );

    // replace with a stale resourceVersion.
    let stale = c.file("stale.yaml", &c.ok(&["get", config_res, "cluster", "-o", "yaml"]));
    c.ok(&["label", config_res, "cluster", "team=registry"]);
    assert_eq!(
        c.ok(&["get", config_res, "cluster", "-o", "jsonpath={.metadata.labels.team}"]),
        "registry"
    );
    let conflict = c.fails(&["replace", "-f", &stale]);
    assert!(
        conflict.contains("Error from server (Conflict)") && conflict.contains("the object has been modified"),
        "{conflict}"
    );

    // An invalid Config is rejected with the field path and the server's message shape.
    let bad = c.file(
        "bad.yaml",
        &CONFIG
            .replace("Managed", "Bogus")
            .replace("name: cluster", "name: other"),
    );
    let invalid = c.fails(&["create", "-f", &bad]);
    assert!(
        invalid.contains(r#"The Config "other" is invalid: spec.managementState: Invalid value: "Bogus": spec.managementState in body should match '^(Managed|Unmanaged|Force|Removed)$'"#),
        "{invalid}"
    );
    let unknown = c.fails(&[
        "create",
        "-f",
        &c.file(
            "unknown.yaml",
            &CONFIG
                .replace("replicas: 1", "replicas: 1\n  replica: 2")
                .replace("name: cluster", "name: typo"),
        ),
    ]);
    assert!(unknown.contains(r#"unknown field "spec.replica""#), "{unknown}");

    // Built-in kinds are validated beyond their schema, as the Go validation does it.
    let deployment = c.file(
        "both.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: both\n  namespace: default\nspec:\n  \
         selector:\n    matchLabels: {app: both}\n  template:\n    metadata:\n      labels: {app: both}\n    \
         spec:\n      containers:\n      - name: c\n        image: busybox\n        env:\n        - name: A\n          \
         value: x\n          valueFrom: {secretKeyRef: {name: s, key: A}}\n",
    );
    let both = c.fails(&["create", "-f", &deployment]);
    assert!(
        both.contains(r#"The Deployment "both" is invalid: spec.template.spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty"#),
        "{both}"
    );

    // Stored as kube-apiserver stores it: the Go types' defaults filled in, quantities canonical.
    let defaulted = c.file(
        "defaulted.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: defaulted\n  namespace: default\nspec:\n  \
         selector:\n    matchLabels: {app: d}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      \
         containers:\n      - name: c\n        image: registry.example.com/app\n        ports: [{containerPort: 5000}]\n        \
         resources: {requests: {cpu: 1000m, memory: 1024Mi}}\n        readinessProbe: {httpGet: {path: /healthz, port: 5000}}\n        \
         env: []\n        securityContext: {}\n      nodeSelector: {}\n      volumes: [{name: s, secret: {secretName: s}}]\n",
    );
    c.ok(&["create", "-f", &defaulted]);
    let stored = json(&c.ok(&["get", "deployment", "defaulted", "-o", "json"]));
    let spec = &stored["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(
        spec["strategy"],
        serde_json::json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(
        (
            spec["revisionHistoryLimit"].clone(),
            spec["progressDeadlineSeconds"].clone()
        ),
        (10.into(), 600.into())
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["dnsPolicy"], "ClusterFirst");
    assert_eq!(pod["schedulerName"], "default-scheduler");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert_eq!(pod["securityContext"], serde_json::json!({}));
    assert_eq!(pod["volumes"][0]["secret"]["defaultMode"], 420);
    let container = &pod["containers"][0];
    assert_eq!(container["imagePullPolicy"], "Always");
    assert_eq!(container["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(container["terminationMessagePolicy"], "File");
    assert_eq!(container["ports"][0]["protocol"], "TCP");
    assert_eq!(
        container["resources"]["requests"],
        serde_json::json!({"cpu": "1", "memory": "1Gi"})
    );
    // Empty lists and maps are dropped as Go's omitempty drops them; empty structs stay.
    assert!(container.get("env").is_none() && pod.get("nodeSelector").is_none());
    assert_eq!(container["securityContext"], serde_json::json!({}));
    let probe = &container["readinessProbe"];
    assert_eq!(
        (
            probe["timeoutSeconds"].clone(),
            probe["periodSeconds"].clone(),
            probe["successThreshold"].clone(),
            probe["failureThreshold"].clone()
        ),
        (1.into(), 10.into(), 1.into(), 3.into())
    );
    assert_eq!(probe["httpGet"]["scheme"], "HTTP");
    let service = c.file(
        "svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: defaulted\n  namespace: default\nspec:\n  selector: {app: d}\n  \
         ports: [{port: 5000}]\n",
    );
    c.ok(&["create", "-f", &service]);
    let svc = json(&c.ok(&["get", "service", "defaulted", "-o", "json"]));
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(svc["spec"]["sessionAffinity"], "None");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 5000);
    assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");

    // Go validation beyond the schema, with kube-apiserver's messages: labels, probes, requests
    // above limits, a disruption budget's bounds, and fields an update may not change.
    let broken = c.file(
        "broken.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\n  namespace: default\n  labels: {app: \"bad value!\"}\n\
         spec:\n  containers:\n  - name: c\n    image: busybox\n    livenessProbe: {exec: {command: [\"true\"]}, \
         successThreshold: 2}\n    resources: {requests: {cpu: \"2\"}, limits: {cpu: 1500m}}\n",
    );
    let refused = c.fails(&["create", "-f", &broken]);
    for expected in [
        r#"The Pod "broken" is invalid: "#,
        r#"metadata.labels: Invalid value: "bad value!": a valid label must be an empty string"#,
        "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
        r#"spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1500m"#,
    ] {
        assert!(refused.contains(expected), "{expected}\n{refused}");
    }
    let budget = c.file(
        "pdb.yaml",
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: b\n  namespace: default\nspec:\n  \
         maxUnavailable: 120%\n  selector: {matchLabels: {app: d}}\n",
    );
    let refused = c.fails(&["create", "-f", &budget]);
    assert!(
        refused.contains(r#"spec.maxUnavailable: Invalid value: "120%": must not be greater than 100%"#),
        "{refused}"
    );
    let moved = c.fails(&[
        "patch",
        "deployment",
        "defaulted",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"selector":{"matchLabels":{"app":"e"}},"template":{"metadata":{"labels":{"app":"e"}}}}}"#,
    ]);
    assert!(
        moved.contains(r#"The Deployment "defaulted" is invalid: spec.selector: Invalid value: "#)
            && moved.contains("field is immutable"),
        "{moved}"
    );

    // A young server: custom resources answer 429 while their storage starts; kubectl waits
    // out the Retry-After as it does against kube-apiserver.
    c.server.custom_resources_initializing(Duration::from_secs(2));
    let before = c.server.requests().len();
    assert!(c.ok(&["get", config_res, "cluster", "-o", "name"]).contains("cluster"));
    assert!(
        c.server.requests()[before..].iter().any(|r| r.status == 429),
        "no 429 was answered while initializing"
    );

    // Cascading deletion: kubectl's --cascade reaches the garbage collector; paused, a
    // foreground deletion waits behind its finalizer, as without a controller manager.
    let family = |suffix: &str| {
        let owner = c.file(
            &format!("owner-{suffix}.yaml"),
            &CONFIGMAP.replace("name: demo", &format!("name: owner-{suffix}")),
        );
        c.ok(&["create", "-f", &owner]);
        let uid = c.ok(&[
            "get",
            "cm",
            &format!("owner-{suffix}"),
            "-o",
            "jsonpath={.metadata.uid}",
        ]);
        let dependent = c.file(
            &format!("dependent-{suffix}.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dependent-{suffix}\n  namespace: default\n  \
                 ownerReferences:\n  - {{apiVersion: v1, kind: ConfigMap, name: owner-{suffix}, uid: {uid}}}\n"
            ),
        );
        c.ok(&["create", "-f", &dependent]);
    };
    family("fg");
    c.ok(&["delete", "cm", "owner-fg", "--cascade=foreground"]);
    assert!(c.fails(&["get", "cm", "dependent-fg"]).contains("NotFound"));
    c.server.pause_garbage_collector();
    family("held");
    c.ok(&["delete", "cm", "owner-held", "--cascade=foreground", "--wait=false"]);
    assert_eq!(
        c.ok(&["get", "cm", "owner-held", "-o", "jsonpath={.metadata.finalizers}"]),
        r#"["foregroundDeletion"]"#
    );
    c.server.resume_garbage_collector();
    assert!(c.fails(&["get", "cm", "owner-held"]).contains("NotFound"));
    assert!(c.fails(&["get", "cm", "dependent-held"]).contains("NotFound"));

    // A validating webhook's denial, as kubectl prints kube-apiserver's.
    let webhook = c.runtime.block_on(support::webhook::Webhook::start(&["localhost"]));
    let client =
        serde_json::json!({"url": format!("https://{}/validate", webhook.address), "caBundle": webhook.ca_bundle()});
    c.server
        .seed(support::webhook::configuration("deny", client, "Fail"))
        .unwrap();
    let denied = c.file(
        "denied.yaml",
        &CONFIGMAP.replace("name: demo", "name: denied\n  labels: {deny: \"yes\"}"),
    );
    let refused = c.fails(&["create", "-f", &denied]);
    assert!(
        refused.contains(r#"Error from server (Forbidden): error when creating"#)
            && refused.contains(r#"admission webhook "deny.example.com" denied the request: label deny is set"#),
        "{refused}"
    );
    let allowed = c.file("allowed.yaml", &CONFIGMAP.replace("name: demo", "name: allowed"));
    let created = c.command(&["create", "-f", &allowed]).output().unwrap();
    assert!(created.status.success());
    // The webhook's warning reaches the user.
    assert!(String::from_utf8_lossy(&created.stderr).contains("Warning: checked by the webhook"));
    c.ok(&["delete", "validatingwebhookconfiguration", "deny"]);
    drop(webhook);

    // A node that has just registered: NotReady and tainted until the lifecycle controller
    // clears it; `kubectl wait` sees it turn Ready.
    c.server.register_node("sim-7xk2p-worker-9");
    assert_eq!(
        c.ok(&[
            "get",
            "node",
            "sim-7xk2p-worker-9",
            "-o",
            "jsonpath={.spec.taints[0].key}"
        ]),
        "node.kubernetes.io/not-ready"
    );
    let wait = c
        .command(&[
            "wait",
            "--for=condition=Ready",
            "node/sim-7xk2p-worker-9",
            "--timeout=30s",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(c.server.node_ready("sim-7xk2p-worker-9"));
    let waited = wait.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&waited.stdout).contains("condition met"));
    assert_eq!(
        c.ok(&["get", "node", "sim-7xk2p-worker-9", "-o", "jsonpath={.spec.taints}"]),
        ""
    );

    // delete with a finalizer: marked, kept, then gone once the finalizer is removed.
    c.ok(&[
        "patch",
        "cm",
        "demo",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
    ]);
    c.ok(&["delete", "cm", "demo", "--wait=false"]);
    assert!(
        !c.ok(&["get", "cm", "demo", "-o", "jsonpath={.metadata.deletionTimestamp}"])
            .is_empty()
    );
    c.ok(&[
        "patch",
        "cm",
        "demo",
        "--type",
        "json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    assert!(c.fails(&["get", "cm", "demo"]).contains("NotFound"));

    // wait --for=condition on a Deployment the simulation rolls out.
    let deploy = c.file("deploy.yaml", DEPLOYMENT);
    c.ok(&["create", "-f", &deploy]);
    assert!(
        c.ok(&["wait", "--for=condition=Available", "deployment/web", "--timeout=30s"])
            .contains("condition met")
    );
    assert_eq!(
        c.ok(&["get", "deploy", "web", "-o", "jsonpath={.status.readyReplicas}"]),
        "2"
    );

    // get -w sees a write made while it watches.
    let mut watch = c
        .command(&["get", "configmaps", "-w", "-o", "name", "--request-timeout=60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    // The watch is established once the initial list has been requested.
    while Instant::now() < deadline
        && !c
            .server
            .requests()
            .iter()
            .any(|r| r.query.contains("watch=true") && r.path.ends_with("/configmaps"))
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let cm_new = c.file("watched.yaml", &CONFIGMAP.replace("name: demo", "name: watched"));
    c.ok(&["create", "-f", &cm_new]);
    let mut seen = false;
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if line.contains("configmap/watched") {
            seen = true;
            break;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(seen, "kubectl get -w did not report the concurrent create");

    // explain reads the OpenAPI v3 schema of the CRD.
    let explain = c.ok(&[
        "explain",
        "configs.spec.managementState",
        "--api-version=imageregistry.operator.openshift.io/v1",
    ]);
    assert!(
        explain.contains("managementState") && explain.contains("string"),
        "{explain}"
    );
    let explain = c.ok(&["explain", "deployment.spec.replicas"]);
    assert!(explain.contains("replicas") && explain.contains("integer"), "{explain}");

    // Nothing the server answered was a server error.
    let errors: Vec<String> = c
        .server
        .requests()
        .iter()
        .filter(|r| r.status >= 500)
        .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
        .collect();
    assert!(errors.is_empty(), "server errors: {errors:?}");
    drop(c.listening);
    drop(c.runtime);
}

#[test]
fn kubectl_1_32_with_aggregated_discovery() {
    fidelity("v1.32.4", true);
}

#[test]
fn kubectl_1_33_with_legacy_discovery() {
    fidelity("v1.33.2", false);
}

#[test]
fn kubectl_1_27_with_legacy_discovery() {
    fidelity("v1.27.9", false);
}

#[test]
fn kubectl_1_28_with_aggregated_discovery() {
    fidelity("v1.28.12", true);
}

#[test]
fn kubectl_1_29_with_legacy_discovery() {
    fidelity("v1.29.3", false);
}

#[test]
fn kubectl_1_30_with_aggregated_discovery() {
    fidelity("v1.30.6", true);
}

#[test]
fn kubectl_authenticates_over_tls_with_a_bearer_token() {
    if !kubectl_available() {
        return;
    }
    let c = Cluster::start("v1.32.4", true, Some("s3cr3t-token"));
    assert!(
        c.ok(&["get", "namespaces", "-o", "name"])
            .contains("namespace/openshift-image-registry")
    );
    let logged = c.server.requests();
    assert!(
        logged
            .iter()
            .any(|r| r.authorization.as_deref() == Some("Bearer s3cr3t-token"))
    );
    let wrong: &Path = &c.dir.path().join("wrong");
    std::fs::write(wrong, c.listening.kubeconfig(Some("wrong-token"), None)).unwrap();
    let out = c
        .command(&["get", "namespaces", "--kubeconfig", wrong.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Unauthorized") || stderr.contains("You must be logged in"),
        "{stderr}"
    );
}
