//! The configuration commands end to end: `set …`, `http-secret rotate`, `storage set DRIVER`,
//! `routes` and `pruner`. Each happy path is read back with the real kubectl; bad input exits
//! non-zero naming the field, with no write in the request log; a concurrent edit survives;
//! admission policies refuse before anything is written; the HTTP secret is never printed.

use crate::support::{Running, cluster, example_policies, serve, text};
use serde_json::{Value, json};
use std::process::Output;
use std::time::Duration;
use test_apiserver::{ApiServer, Fault, FaultAction, Matcher, Platform};

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Writes to the two objects these commands change.
fn config_writes(running: &Running) -> Vec<test_apiserver::LoggedRequest> {
    running
        .server
        .writes()
        .into_iter()
        .filter(|r| r.path.contains("/configs/cluster") || r.path.contains("/imagepruners/cluster"))
        .collect()
}

async fn installed_aws() -> Running {
    serve(cluster(Platform::Aws, true)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_setting_is_written_and_read_back() {
    let running = installed_aws().await;
    let commands: &[&[&str]] = &[
        &["set", "log-level", "Debug"],
        &["set", "logging", "2"],
        &["set", "read-only", "true"],
        &["set", "disable-redirect", "true"],
        &["set", "replicas", "3"],
        &["set", "rollout-strategy", "Recreate"],
        &["set", "default-route", "true"],
        &[
            "set",
            "proxy",
            "--http",
            "http://proxy.example.com:3128",
            "--https",
            "http://proxy.example.com:3129",
            "--no-proxy",
            ".cluster.local,10.0.0.0/16",
        ],
        &[
            "set",
            "requests",
            "read",
            "--max-running",
            "10",
            "--max-in-queue",
            "5",
            "--max-wait-in-queue",
            "30s",
        ],
        &["set", "requests", "write", "--max-running", "2"],
        &["set", "node-selector", "node-role.kubernetes.io/infra=", "zone=a"],
        &[
            "set",
            "tolerations",
            "node-role.kubernetes.io/infra:NoSchedule",
            "dedicated=registry:NoExecute:300",
        ],
        &[
            "set",
            "resources",
            "--requests",
            "cpu=200m,memory=512Mi",
            "--limits",
            "memory=2Gi",
        ],
        &["set", "operator-log-level", "Trace"],
        &[
            "set",
            "topology-spread",
            "topology.kubernetes.io/zone",
            "kubernetes.io/hostname:2:ScheduleAnyway",
        ],
        &["set", "affinity", "--anti-affinity", "preferred"],
        &["set", "storage-management-state", "Unmanaged"],
        &["set", "management-state", "Unmanaged"],
    ];
    for command in commands {
        let stdout = ok(&running.oc_registry(command).await);
        assert!(
            stdout.contains("config.imageregistry.operator.openshift.io/cluster patched\n"),
            "{command:?}: {stdout}"
        );
        assert!(stdout.contains("Run `oc-registry reconcile` to apply it."), "{stdout}");
    }
    let spec = running.config().await["spec"].clone();
    assert_eq!(spec["logLevel"], "Debug");
    assert_eq!(spec["logging"], 2);
    assert_eq!(spec["readOnly"], true);
    assert_eq!(spec["disableRedirect"], true);
    assert_eq!(spec["replicas"], 3);
    assert_eq!(spec["rolloutStrategy"], "Recreate");
    assert_eq!(spec["defaultRoute"], true);
    assert_eq!(
        spec["proxy"],
        json!({"http": "http://proxy.example.com:3128", "https": "http://proxy.example.com:3129", "noProxy": ".cluster.local,10.0.0.0/16"})
    );
    assert_eq!(
        spec["requests"],
        json!({"read": {"maxRunning": 10, "maxInQueue": 5, "maxWaitInQueue": "30s"}, "write": {"maxRunning": 2}})
    );
    assert_eq!(
        spec["nodeSelector"],
        json!({"node-role.kubernetes.io/infra": "", "zone": "a"})
    );
    assert_eq!(
        spec["tolerations"],
        json!([
            {"key": "node-role.kubernetes.io/infra", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "dedicated", "operator": "Equal", "value": "registry", "effect": "NoExecute", "tolerationSeconds": 300}
        ])
    );
    assert_eq!(
        spec["resources"],
        json!({"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}})
    );
    assert_eq!(spec["operatorLogLevel"], "Trace");
    // status shows every setting, as set.
    let status = text(&running.oc_registry(&["status"]).await.stdout);
    for (name, shown) in [
        ("Log level", "Debug"),
        ("Operator log", "Trace"),
        ("Rollout", "Recreate"),
        (
            "Proxy",
            "http http://proxy.example.com:3128, https http://proxy.example.com:3129, no proxy .cluster.local,10.0.0.0/16",
        ),
        (
            "Requests",
            "read: 10 running, 5 queued, waiting up to 30s; write: 2 running",
        ),
        ("Resources", "requests cpu=200m, memory=512Mi; limits memory=2Gi"),
        (
            "Tolerations",
            "node-role.kubernetes.io/infra:NoSchedule, dedicated=registry:NoExecute",
        ),
        ("Affinity", "pod anti-affinity"),
        (
            "Spreading",
            "topology.kubernetes.io/zone (max skew 1, DoNotSchedule), kubernetes.io/hostname (max skew 2, ScheduleAnyway)",
        ),
    ] {
        let line = format!("{:<17} {shown}\n", format!("  {name}:"));
        assert!(status.contains(&line), "{line}{status}");
    }
    let registry_pods = json!({"matchLabels": {"docker-registry": "default"}});
    assert_eq!(
        spec["topologySpreadConstraints"],
        json!([
            {"topologyKey": "topology.kubernetes.io/zone", "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": registry_pods},
            {"topologyKey": "kubernetes.io/hostname", "maxSkew": 2, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": registry_pods},
        ])
    );
    assert_eq!(
        spec["affinity"],
        json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": registry_pods}}
        ]}})
    );
    assert_eq!(spec["storage"]["managementState"], "Unmanaged");
    assert!(
        spec["storage"]["s3"]["bucket"].is_string(),
        "the storage itself is untouched: {spec}"
    );
    assert_eq!(spec["managementState"], "Unmanaged");

    // Every write is a merge patch of the one setting, carrying the resourceVersion it was made from.
    let writes = config_writes(&running);
    assert_eq!(writes.len(), commands.len(), "one write per command");
    for w in &writes {
        assert_eq!(w.method, "PATCH");
        let body = w.body.as_ref().unwrap();
        assert!(body.pointer("/metadata/resourceVersion").is_some(), "{body}");
        assert_eq!(
            body["spec"].as_object().unwrap().len(),
            1,
            "only the setting's field: {body}"
        );
    }
    let replicas = writes
        .iter()
        .find(|w| w.body.as_ref().unwrap()["spec"].get("replicas").is_some())
        .unwrap();
    assert_eq!(replicas.body.as_ref().unwrap()["spec"], json!({"replicas": 3}));

    // Taking settings away again: an empty value unsets, --clear removes, KEY- drops one label.
    for command in [
        &["set", "proxy", "--https", ""][..],
        &["set", "requests", "write", "--clear"],
        &["set", "node-selector", "zone-"],
        &["set", "tolerations", "dedicated-"],
        &["set", "resources", "--clear"],
        &["set", "topology-spread", "topology.kubernetes.io/zone-"],
        &["set", "affinity", "--clear"],
    ] {
        ok(&running.oc_registry(command).await);
    }
    // Any affinity from a file; a misspelt field is refused, naming it, with nothing written.
    let file = running.dir.path().join("affinity.yaml");
    std::fs::write(
        &file,
        "nodeAffinity:\n  requiredDuringSchedulingIgnoredDuringExecution:\n    nodeSelectorTerms:\n    - matchExpressions:\n      - {key: node-role.kubernetes.io/infra, operator: Exists}\n",
    )
    .unwrap();
    ok(&running
        .oc_registry(&["set", "affinity", "-f", file.to_str().unwrap()])
        .await);
    let writes = config_writes(&running).len();
    std::fs::write(&file, "nodeAffinity:\n  requiredDuringScheduling: {}\n").unwrap();
    let refused = running
        .oc_registry(&["set", "affinity", "-f", file.to_str().unwrap()])
        .await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("spec.affinity.nodeAffinity.requiredDuringScheduling: unknown field"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(config_writes(&running).len(), writes);
    let spec = running.config().await["spec"].clone();
    assert_eq!(
        spec["proxy"],
        json!({"http": "http://proxy.example.com:3128", "noProxy": ".cluster.local,10.0.0.0/16"})
    );
    assert_eq!(
        spec["requests"],
        json!({"read": {"maxRunning": 10, "maxInQueue": 5, "maxWaitInQueue": "30s"}})
    );
    assert_eq!(spec["nodeSelector"], json!({"node-role.kubernetes.io/infra": ""}));
    assert_eq!(spec["tolerations"].as_array().unwrap().len(), 1);
    assert!(spec.get("resources").is_none(), "{spec}");
    assert_eq!(spec["topologySpreadConstraints"].as_array().unwrap().len(), 1);
    assert_eq!(
        spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"]
            [0]["key"],
        "node-role.kubernetes.io/infra"
    );

    // The same value again writes nothing.
    let before = config_writes(&running).len();
    let stdout = ok(&running.oc_registry(&["set", "replicas", "3"]).await);
    assert!(stdout.contains("patched (no change)"), "{stdout}");
    assert_eq!(config_writes(&running).len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_show_the_change_and_write_nothing() {
    let running = installed_aws().await;
    let out = running.oc_registry(&["set", "replicas", "4", "--dry-run"]).await;
    let stdout = ok(&out);
    assert!(
        stdout.contains("patched (dry run)\n  spec.replicas: 2 -> 4\n"),
        "{stdout}"
    );
    // What the change refers to is read once for both sides of it.
    let node_lists = running
        .server
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/nodes")
        .count();
    assert_eq!(node_lists, 1);
    let out = running
        .oc_registry(&["storage", "set", "pvc", "--dry-run=server"])
        .await;
    let stdout = ok(&out);
    assert!(stdout.contains("patched (server dry run)"), "{stdout}");
    assert!(stdout.contains("spec.storage.pvc: (unset) -> {}"), "{stdout}");
    assert!(stdout.contains("spec.storage.s3.bucket: \""), "{stdout}");
    let writes = config_writes(&running);
    assert!(writes.iter().all(|w| w.query.contains("dryRun=All")), "{writes:?}");
    assert_eq!(running.config().await["spec"]["replicas"], 2);
    assert!(running.config().await["spec"]["storage"].get("pvc").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_secret_is_rotated_and_never_printed() {
    let running = installed_aws().await;
    let old = running.config().await["spec"]["httpSecret"]
        .as_str()
        .unwrap()
        .to_string();
    let out = running.oc_registry(&["http-secret", "rotate"]).await;
    let stdout = ok(&out);
    assert!(stdout.contains("spec.httpSecret: *** -> ***"), "{stdout}");
    let new = running.config().await["spec"]["httpSecret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(old, new);
    assert_eq!(new.len(), 128, "64 random bytes, hex");
    assert!(new.chars().all(|c| c.is_ascii_hexdigit()));
    let all = format!("{stdout}{}", text(&out.stderr));
    assert!(
        !all.contains(&old) && !all.contains(&new),
        "a secret was printed: {all}"
    );
    // Nor in a request body's echo through diff or a dry run.
    let out = running.oc_registry(&["http-secret", "rotate", "--dry-run"]).await;
    let all = format!("{}{}", ok(&out), text(&out.stderr));
    assert!(!all.contains(&new), "{all}");
}

fn seed_claim(server: &ApiServer, name: &str, mode: &str) {
    server
        .seed(json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "openshift-image-registry"},
            "spec": {"accessModes": [mode], "resources": {"requests": {"storage": "100Gi"}}},
            "status": {"phase": "Bound", "accessModes": [mode]}
        }))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_drivers_are_set_with_their_fields() {
    let server = cluster(Platform::Aws, true);
    seed_claim(&server, "rwo-claim", "ReadWriteOnce");
    seed_claim(&server, "shared-claim", "ReadWriteMany");
    server
        .seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "rgw-ca", "namespace": "openshift-config"},
                     "data": {"ca-bundle.crt": "-----BEGIN CERTIFICATE-----\n"}}))
        .unwrap();
    let running = serve(server).await;

    // S3-compatible storage, every field; the operator's S3 block is replaced, not merged.
    ok(&running
        .oc_registry(&[
            "storage",
            "set",
            "s3",
            "--bucket",
            "registry",
            "--region",
            "us-east-1",
            "--region-endpoint",
            "https://rgw.example.com:8443",
            "--chunk-size-mib",
            "16",
            "--encrypt",
            "--key-id",
            "kms-1",
            "--virtual-hosted-style=false",
            "--trusted-ca",
            "rgw-ca",
            "--management-state",
            "Unmanaged",
        ])
        .await);
    let storage = running.config().await["spec"]["storage"].clone();
    // Same driver: the given fields join the existing block.
    assert_eq!(storage["s3"]["bucket"], "registry");
    assert_eq!(storage["s3"]["regionEndpoint"], "https://rgw.example.com:8443");
    assert_eq!(storage["s3"]["chunkSizeMiB"], 16);
    assert_eq!(storage["s3"]["encrypt"], true);
    assert_eq!(storage["s3"]["keyID"], "kms-1");
    assert_eq!(storage["s3"]["virtualHostedStyle"], false);
    assert_eq!(storage["s3"]["trustedCA"], json!({"name": "rgw-ca"}));
    assert_eq!(storage["managementState"], "Unmanaged");

    // Another driver replaces the first, and its owner is decided anew by reconcile.
    let cases: &[(&[&str], &str, Value)] = &[
        (
            &[
                "storage",
                "set",
                "gcs",
                "--bucket",
                "reg-bucket",
                "--region",
                "us-central1",
                "--project-id",
                "p1",
                "--key-id",
                "projects/p1/k",
            ],
            "gcs",
            json!({"bucket": "reg-bucket", "region": "us-central1", "projectID": "p1", "keyID": "projects/p1/k"}),
        ),
        (
            &[
                "storage",
                "set",
                "azure",
                "--account-name",
                "regacct",
                "--container",
                "image-registry",
                "--cloud-name",
                "AzurePublicCloud",
                "--network-access",
                "Internal",
                "--vnet-name",
                "vnet",
                "--subnet-name",
                "subnet",
                "--network-resource-group",
                "rg",
                "--private-endpoint-name",
                "pe",
            ],
            "azure",
            json!({"accountName": "regacct", "container": "image-registry", "cloudName": "AzurePublicCloud",
                   "networkAccess": {"type": "Internal", "internal": {"vnetName": "vnet", "subnetName": "subnet", "networkResourceGroupName": "rg", "privateEndpointName": "pe"}}}),
        ),
        (
            &[
                "storage",
                "set",
                "swift",
                "--auth-url",
                "https://keystone.example.com:5000/v3",
                "--auth-version",
                "3",
                "--container",
                "reg",
                "--domain",
                "Default",
                "--domain-id",
                "d1",
                "--tenant",
                "t",
                "--tenant-id",
                "t1",
                "--region-name",
                "RegionOne",
            ],
            "swift",
            json!({"authURL": "https://keystone.example.com:5000/v3", "authVersion": "3", "container": "reg", "domain": "Default",
                   "domainID": "d1", "tenant": "t", "tenantID": "t1", "regionName": "RegionOne"}),
        ),
        (
            &[
                "storage",
                "set",
                "ibmcos",
                "--bucket",
                "reg-bucket",
                "--location",
                "us-east",
                "--resource-group-name",
                "rg",
                "--resource-key-crn",
                "crn:v1:bluemix:public:cloud-object-storage:global:a/1:2:resource-key:3",
                "--service-instance-crn",
                "crn:v1:bluemix:public:cloud-object-storage:global:a/1:2::",
            ],
            "ibmcos",
            json!({"bucket": "reg-bucket", "location": "us-east", "resourceGroupName": "rg",
                   "resourceKeyCRN": "crn:v1:bluemix:public:cloud-object-storage:global:a/1:2:resource-key:3",
                   "serviceInstanceCRN": "crn:v1:bluemix:public:cloud-object-storage:global:a/1:2::"}),
        ),
        (
            &["storage", "set", "pvc", "--claim", "shared-claim"],
            "pvc",
            json!({"claim": "shared-claim"}),
        ),
        (&["storage", "set", "pvc", "--claim", ""], "pvc", json!({})),
    ];
    for (command, driver, block) in cases {
        ok(&running.oc_registry(command).await);
        let storage = running.config().await["spec"]["storage"].clone();
        let mut expected = serde_json::Map::new();
        expected.insert(driver.to_string(), block.clone());
        assert_eq!(storage, Value::Object(expected), "{command:?}");
    }

    // A ReadWriteOnce claim needs one replica and Recreate: refused with the fix, then accepted.
    let out = running
        .oc_registry(&["storage", "set", "pvc", "--claim", "rwo-claim"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("spec.storage.pvc.claim: claim rwo-claim is ReadWriteOnce"),
        "{err}"
    );
    assert!(
        err.contains("fix: oc-registry set replicas 1 && oc-registry set rollout-strategy Recreate"),
        "{err}"
    );
    ok(&running.oc_registry(&["set", "replicas", "1"]).await);
    ok(&running.oc_registry(&["set", "rollout-strategy", "Recreate"]).await);
    ok(&running
        .oc_registry(&["storage", "set", "pvc", "--claim", "rwo-claim"])
        .await);
    // …and going back to two replicas is refused now.
    let out = running.oc_registry(&["set", "replicas", "2"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("spec.storage.pvc.claim"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(running.config().await["spec"]["replicas"], 1);

    // emptyDir with several replicas is allowed, with a warning.
    ok(&running
        .oc_registry(&["storage", "set", "pvc", "--claim", "shared-claim"])
        .await);
    ok(&running.oc_registry(&["set", "replicas", "2"]).await);
    let out = running.oc_registry(&["storage", "set", "empty-dir"]).await;
    ok(&out);
    assert!(
        text(&out.stderr).contains("Warning: spec.storage.emptyDir: each of the 2 replicas keeps its own emptyDir"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(running.config().await["spec"]["storage"], json!({"emptyDir": {}}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_written() {
    let server = cluster(Platform::Aws, true);
    seed_claim(&server, "rwo-claim", "ReadWriteOnce");
    server
        .seed(json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                     "metadata": {"name": "half-tls", "namespace": "openshift-image-registry"},
                     "data": {"tls.crt": "Y2VydA=="}}))
        .unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "wrong-key", "namespace": "openshift-config"},
                     "data": {"ca.crt": "x"}}))
        .unwrap();
    let running = serve(server).await;
    let before = running.config().await;
    let cases: &[(&[&str], &str)] = &[
        (&["set", "proxy", "--http", "proxy.example.com:3128"], "spec.proxy.http"),
        (
            &["set", "proxy", "--https", "ftp://proxy.example.com"],
            "spec.proxy.https",
        ),
        (
            &["set", "requests", "read", "--max-running", "-1"],
            "spec.requests.read.maxRunning",
        ),
        (
            &["set", "requests", "write", "--max-wait-in-queue", "soon"],
            "spec.requests.write.maxWaitInQueue",
        ),
        (&["set", "node-selector", "bad key=x"], "spec.nodeSelector"),
        (&["set", "tolerations", "k:Never"], "spec.tolerations"),
        (
            &["set", "resources", "--requests", "cpu=lots"],
            "spec.resources.requests.cpu",
        ),
        (
            &["set", "resources", "--requests", "memory=2Gi", "--limits", "memory=1Gi"],
            "spec.resources.requests.memory",
        ),
        (&["set", "replicas", "-1"], "spec.replicas"),
        (&["routes", "add", "default-route"], "spec.routes"),
        (
            &["routes", "add", "r1", "--hostname", "Bad_Host.example.com"],
            "spec.routes.hostname",
        ),
        (
            &["routes", "add", "r1", "--secret", "missing-tls"],
            "spec.routes[0].secretName: Secret openshift-image-registry/missing-tls does not exist",
        ),
        (
            &["routes", "add", "r1", "--secret", "half-tls"],
            "spec.routes[0].secretName: Secret openshift-image-registry/half-tls has no tls.key key",
        ),
        (&["routes", "remove", "nosuch"], "spec.routes: no route named nosuch"),
        (
            &["storage", "set", "azure", "--container", "Bad--name"],
            "spec.storage.azure.container",
        ),
        (
            &["storage", "set", "azure", "--account-name", "UPPER"],
            "spec.storage.azure.accountName",
        ),
        (
            &["storage", "set", "azure", "--vnet-name", "v"],
            "spec.storage.azure.networkAccess.internal",
        ),
        (
            &["storage", "set", "s3", "--region-endpoint", "rgw.example.com"],
            "spec.storage.s3.regionEndpoint",
        ),
        (
            &["storage", "set", "s3", "--chunk-size-mib", "1"],
            "spec.storage.s3.chunkSizeMiB",
        ),
        (
            &["storage", "set", "s3", "--bucket", "Not_A_Bucket"],
            "spec.storage.s3.bucket",
        ),
        (
            &["storage", "set", "s3", "--trusted-ca", "missing-ca"],
            "spec.storage.s3.trustedCA.name: ConfigMap openshift-config/missing-ca does not exist",
        ),
        (
            &["storage", "set", "s3", "--trusted-ca", "wrong-key"],
            "spec.storage.s3.trustedCA.name: ConfigMap openshift-config/wrong-key has no key ca-bundle.crt",
        ),
        (
            &[
                "storage",
                "set",
                "s3",
                "--cloudfront-base-url",
                "https://d1.cloudfront.net",
                "--cloudfront-keypair-id",
                "K",
                "--cloudfront-private-key",
                "cf/key.pem",
            ],
            "spec.storage.s3.cloudFront.privateKey",
        ),
        (
            &["storage", "set", "s3", "--cloudfront-private-key", "no-slash"],
            "spec.storage.s3.cloudFront.privateKey",
        ),
        (
            &["storage", "set", "swift", "--auth-url", "ftp://keystone"],
            "spec.storage.swift.authURL",
        ),
        (
            &["storage", "set", "swift", "--auth-version", "4"],
            "spec.storage.swift.authVersion",
        ),
        (
            &["storage", "set", "ibmcos", "--resource-key-crn", "junk"],
            "spec.storage.ibmcos.resourceKeyCRN",
        ),
        (
            &["storage", "set", "pvc", "--claim", "missing-claim"],
            "spec.storage.pvc.claim: PersistentVolumeClaim openshift-image-registry/missing-claim does not exist",
        ),
        (
            &["storage", "set", "pvc", "--claim", "rwo-claim"],
            "spec.storage.pvc.claim: claim rwo-claim is ReadWriteOnce",
        ),
        (&["pruner", "set", "--schedule", "61 * * * *"], "spec.schedule"),
        (&["pruner", "set", "--schedule", "0 0 L * *"], "spec.schedule"),
        (
            &["pruner", "set", "--keep-younger-than", "a while"],
            "spec.keepYoungerThanDuration",
        ),
        (
            &["pruner", "set", "--keep-tag-revisions", "-3"],
            "spec.keepTagRevisions",
        ),
        (
            &["pruner", "set", "--failed-jobs-history-limit", "-1"],
            "spec.failedJobsHistoryLimit",
        ),
        (&["pruner", "set", "--toleration", "k=v:Sometimes"], "spec.tolerations"),
        (
            &["pruner", "set", "--limits", "memory=many"],
            "spec.resources.limits.memory",
        ),
    ];
    for (command, field) in cases {
        let out = running.oc_registry(command).await;
        let err = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{command:?} should fail: {}{err}",
            text(&out.stdout)
        );
        assert!(err.starts_with("error: "), "{command:?}: {err}");
        assert!(err.contains(field), "{command:?} should name {field}: {err}");
        assert!(
            text(&out.stdout).is_empty(),
            "{command:?} printed: {}",
            text(&out.stdout)
        );
    }
    // Values of a known set are refused by the parser, with the choices, exiting 1 as kubectl does.
    for command in [
        &["set", "log-level", "Loud"][..],
        &["set", "rollout-strategy", "Sideways"],
        &["set", "read-only", "maybe"],
    ] {
        let out = running.oc_registry(command).await;
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        assert!(text(&out.stderr).contains("invalid value"), "{}", text(&out.stderr));
    }
    assert!(config_writes(&running).is_empty(), "{:?}", config_writes(&running));
    assert_eq!(running.config().await["spec"], before["spec"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_managed_storage_needs_confirmation() {
    let server = cluster(Platform::Aws, true);
    // A registry on a claim it created (it carries the registry's annotation): Removed would
    // delete the claim and every image.
    server
        .seed(json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "image-registry-storage", "namespace": "openshift-image-registry",
                         "annotations": {"imageregistry.openshift.io": "true"}},
            "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "100Gi"}}},
            "status": {"phase": "Bound", "accessModes": ["ReadWriteMany"]}
        }))
        .unwrap();
    let running = serve(server).await;
    running
        .patch_config(&json!({"spec": {"storage": {"s3": null, "pvc": {"claim": "image-registry-storage"}, "managementState": "Managed"}}}))
        .await;
    let out = running
        .kubectl(&[
            "patch",
            "configs.imageregistry.operator.openshift.io",
            "cluster",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"storage":{"s3":null,"pvc":{"claim":"image-registry-storage"},"managementState":"Managed"}}}"#,
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let writes_before = config_writes(&running).len();
    let out = running.oc_registry(&["set", "management-state", "Removed"]).await;
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("PersistentVolumeClaim openshift-image-registry/image-registry-storage and every image stored on it will be deleted"), "{err}");
    assert!(
        err.contains("oc-registry set storage-management-state Unmanaged"),
        "{err}"
    );
    assert_eq!(config_writes(&running).len(), writes_before, "nothing written");
    assert_eq!(running.config().await["spec"]["managementState"], "Managed");

    // Keeping the data first makes Removed safe, with no question asked.
    ok(&running
        .oc_registry(&["set", "storage-management-state", "Unmanaged"])
        .await);
    ok(&running.oc_registry(&["set", "management-state", "Removed"]).await);
    assert_eq!(running.config().await["spec"]["managementState"], "Removed");
    ok(&running.oc_registry(&["set", "management-state", "Managed"]).await);
    ok(&running
        .oc_registry(&["set", "storage-management-state", "Managed"])
        .await);
    // Or --yes accepts the loss.
    ok(&running
        .oc_registry(&["set", "management-state", "Removed", "--yes"])
        .await);
    assert_eq!(running.config().await["spec"]["managementState"], "Removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_are_added_listed_and_removed() {
    let server = cluster(Platform::Aws, true);
    server
        .seed(
            json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                     "metadata": {"name": "registry-tls", "namespace": "openshift-image-registry"},
                     "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}}),
        )
        .unwrap();
    let running = serve(server).await;
    ok(&running
        .oc_registry(&[
            "routes",
            "add",
            "public",
            "--hostname",
            "registry.apps.example.com",
            "--secret",
            "registry-tls",
        ])
        .await);
    ok(&running
        .oc_registry(&[
            "routes",
            "add",
            "internal",
            "--hostname",
            "registry.internal.example.com",
        ])
        .await);
    ok(&running.oc_registry(&["set", "default-route", "true"]).await);
    let routes = running.config().await["spec"]["routes"].clone();
    assert_eq!(
        routes,
        json!([
            {"name": "public", "hostname": "registry.apps.example.com", "secretName": "registry-tls"},
            {"name": "internal", "hostname": "registry.internal.example.com"}
        ])
    );
    // Adding a name twice needs --overwrite.
    let out = running
        .oc_registry(&["routes", "add", "internal", "--hostname", "other.example.com"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--overwrite"), "{}", text(&out.stderr));
    ok(&running
        .oc_registry(&[
            "routes",
            "add",
            "internal",
            "--hostname",
            "other.example.com",
            "--overwrite",
        ])
        .await);

    // The reconciler creates them; list shows what the router did.
    ok(&running.oc_registry(&["reconcile"]).await);
    let listed: Value =
        serde_json::from_str(&ok(&running.oc_registry(&["routes", "list", "-o", "json"]).await)).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default-route", "public", "internal"]);
    assert_eq!(listed[1]["host"], "registry.apps.example.com");
    assert_eq!(listed[2]["hostname"], "other.example.com");
    let table = ok(&running.oc_registry(&["routes", "list"]).await);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains("registry-tls"), "{table}");

    ok(&running.oc_registry(&["routes", "remove", "public"]).await);
    ok(&running.oc_registry(&["routes", "remove", "internal"]).await);
    assert!(running.config().await["spec"].get("routes").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pruner_is_set_suspended_resumed_and_reported() {
    let server = cluster(Platform::Aws, true);
    // A failed pruner run, as the CronJob leaves it.
    server
        .seed(json!({"apiVersion": "batch/v1", "kind": "Job",
                     "metadata": {"name": "image-pruner-1", "namespace": "openshift-image-registry", "labels": {"created-by": "image-pruner"}},
                     "spec": {"template": {"spec": {"containers": [{"name": "image-pruner", "image": "cli"}], "restartPolicy": "Never"}}},
                     "status": {"failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                "message": "Job has reached the specified backoff limit", "lastTransitionTime": "2026-11-24T00:05:00Z"}]}}))
        .unwrap();
    let running = serve(server).await;
    ok(&running
        .oc_registry(&[
            "pruner",
            "set",
            "--schedule",
            "30 2 * * *",
            "--keep-tag-revisions",
            "5",
            "--keep-younger-than",
            "24h",
            "--successful-jobs-history-limit",
            "2",
            "--failed-jobs-history-limit",
            "1",
            "--ignore-invalid-image-references",
            "false",
            "--log-level",
            "Debug",
            "--requests",
            "cpu=50m,memory=128Mi",
            "--limits",
            "memory=1Gi",
            "--node-selector",
            "node-role.kubernetes.io/infra=",
            "--toleration",
            "node-role.kubernetes.io/infra:NoSchedule",
        ])
        .await);
    let pruner = running
        .kubectl_get(&["imagepruners.imageregistry.operator.openshift.io", "cluster"])
        .await
        .unwrap();
    let spec = &pruner["spec"];
    assert_eq!(spec["schedule"], "30 2 * * *");
    assert_eq!(spec["keepTagRevisions"], 5);
    assert_eq!(spec["keepYoungerThanDuration"], "24h");
    assert_eq!(spec["successfulJobsHistoryLimit"], 2);
    assert_eq!(spec["failedJobsHistoryLimit"], 1);
    assert_eq!(spec["ignoreInvalidImageReferences"], false);
    assert_eq!(spec["logLevel"], "Debug");
    assert_eq!(
        spec["resources"],
        json!({"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}})
    );
    assert_eq!(spec["nodeSelector"], json!({"node-role.kubernetes.io/infra": ""}));
    assert_eq!(spec["tolerations"][0]["effect"], "NoSchedule");

    let status: Value =
        serde_json::from_str(&ok(&running.oc_registry(&["pruner", "status", "-o", "json"]).await)).unwrap();
    assert_eq!(status["schedule"], "30 2 * * *");
    assert_eq!(status["lastRun"]["job"], "image-pruner-1");
    assert_eq!(status["lastRun"]["succeeded"], false);
    assert_eq!(
        status["lastRun"]["message"],
        "Job has reached the specified backoff limit"
    );
    assert_eq!(status["failedJobs"], json!(["image-pruner-1"]));
    assert_eq!(status["pruneRegistry"], true);
    assert!(status["nextRun"].as_str().unwrap().ends_with("T02:30:00Z"), "{status}");
    assert!(
        status["args"]
            .as_array()
            .unwrap()
            .contains(&json!("--keep-younger-than=24h0m0s")),
        "{status}"
    );
    let table = ok(&running.oc_registry(&["pruner", "status"]).await);
    assert!(table.contains("image-pruner-1 FAILED"), "{table}");
    assert!(table.contains("--prune-registry=true"), "{table}");

    ok(&running.oc_registry(&["pruner", "suspend"]).await);
    assert_eq!(
        running
            .kubectl_get(&["imagepruners.imageregistry.operator.openshift.io", "cluster"])
            .await
            .unwrap()["spec"]["suspend"],
        true
    );
    let table = ok(&running.oc_registry(&["pruner", "status"]).await);
    assert!(table.contains("none: suspended"), "{table}");
    ok(&running.oc_registry(&["pruner", "resume"]).await);
    assert_eq!(
        running
            .kubectl_get(&["imagepruners.imageregistry.operator.openshift.io", "cluster"])
            .await
            .unwrap()["spec"]["suspend"],
        false
    );

    // clear-failed: a dry run keeps the Job, then it goes.
    let stdout = ok(&running.oc_registry(&["pruner", "clear-failed", "--dry-run"]).await);
    assert!(
        stdout.contains("job.batch/image-pruner-1 deleted (dry run)"),
        "{stdout}"
    );
    assert!(
        running
            .exists(&["job", "image-pruner-1", "-n", "openshift-image-registry"])
            .await
    );
    let stdout = ok(&running.oc_registry(&["pruner", "clear-failed"]).await);
    assert!(stdout.contains("job.batch/image-pruner-1 deleted"), "{stdout}");
    assert!(
        !running
            .exists(&["job", "image-pruner-1", "-n", "openshift-image-registry"])
            .await
    );
    let stdout = ok(&running.oc_registry(&["pruner", "clear-failed"]).await);
    assert!(stdout.contains("No failed pruner jobs."), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_edit_is_not_lost() {
    let server = cluster(Platform::Aws, true);
    // Hold the change between its read of the Config and its write, while another writer edits.
    server.inject(
        Fault::new(
            Matcher::method("GET").and_path("/api/v1/nodes"),
            FaultAction::Latency(Duration::from_secs(6)),
        )
        .times(1),
    );
    let running = serve(server).await;
    let kubeconfig = running.kubeconfig();
    let home = running.dir.path().to_path_buf();
    let change = tokio::spawn(async move {
        tokio::process::Command::new(crate::support::OC_REGISTRY)
            .args(["set", "replicas", "3"])
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", home)
            .output()
            .await
            .unwrap()
    });
    let read = |r: &test_apiserver::LoggedRequest| r.method == "GET" && r.path.ends_with("/configs/cluster");
    for _ in 0..600 {
        if running.server.requests().iter().any(read) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.patch_config(&json!({"spec": {"logLevel": "TraceAll"}})).await;
    let out = change.await.unwrap();
    ok(&out);
    let patches: Vec<_> = config_writes(&running)
        .into_iter()
        .filter(|w| w.method == "PATCH" && w.path.ends_with("/configs/cluster"))
        .collect();
    // kubectl's patch, ours refused with 409 (stale resourceVersion), ours again.
    let statuses: Vec<u16> = patches.iter().map(|p| p.status).collect();
    assert_eq!(statuses, [200, 409, 200], "{patches:?}");
    let spec = running.config().await["spec"].clone();
    assert_eq!(spec["replicas"], 3);
    assert_eq!(spec["logLevel"], "TraceAll", "the other writer's change survives");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_policies_refuse_before_anything_is_written() {
    let server = cluster(Platform::Aws, true);
    let dir = example_policies();
    let modules: Vec<(&str, Vec<u8>)> = [
        ("forbid-emptydir", "forbid_emptydir.wasm"),
        ("min-prune-age", "min_prune_age.wasm"),
    ]
    .into_iter()
    .map(|(name, file)| (name, std::fs::read(dir.join(file)).unwrap()))
    .collect();
    crate::support::install_policies(&server, &modules, "  admission: [forbid-emptydir, min-prune-age]\n");
    let running = serve(server).await;
    let out = running.oc_registry(&["storage", "set", "empty-dir"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("denied by admission policy: forbid-emptydir:"), "{err}");
    let out = running
        .oc_registry(&["pruner", "set", "--keep-younger-than", "2h"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("min-prune-age: keepYoungerThanDuration 2h is shorter than the required 24h"),
        "{}",
        text(&out.stderr)
    );
    assert!(config_writes(&running).is_empty());
    // What the policies allow goes through.
    ok(&running
        .oc_registry(&["pruner", "set", "--keep-younger-than", "48h"])
        .await);
    ok(&running.oc_registry(&["set", "replicas", "3"]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_is_made_only_in_a_class_that_offers_its_access_mode() {
    let running = installed_aws().await;
    let claims = |running: &Running| {
        running
            .server
            .writes()
            .into_iter()
            .filter(|r| r.path.contains("/persistentvolumeclaims"))
            .count()
    };
    // The default class (EBS) attaches to one node: a shared claim would stay Pending.
    let (code, _, stderr) = running
        .outcome(&["storage", "set", "pvc", "--access-mode", "ReadWriteMany"])
        .await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains(
            "storage class gp3-csi (provisioner ebs.csi.aws.com) offers ReadWriteOnce, ReadWriteOncePod only"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = running
        .outcome(&["storage", "set", "pvc", "--storage-class", "nope"])
        .await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("storage class \"nope\" does not exist; the cluster has: gp3-csi (default)"),
        "{stderr}"
    );
    // One claim per pod, and the registry runs two.
    ok(&running.oc_registry(&["set", "replicas", "2"]).await);
    let (code, _, stderr) = running
        .outcome(&["storage", "set", "pvc", "--access-mode", "ReadWriteOnce"])
        .await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("set replicas 1` first"), "{stderr}");
    assert_eq!(claims(&running), 0);

    // A file class shares: the claim is made there, the registry's, and the Config names it.
    running
        .server
        .seed(json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "efs-sc"}, "provisioner": "efs.csi.aws.com",
        }))
        .unwrap();
    let dry = ok(&running
        .oc_registry(&[
            "storage",
            "set",
            "pvc",
            "--size",
            "200Gi",
            "--storage-class",
            "efs-sc",
            "--dry-run",
        ])
        .await);
    assert!(
        dry.contains("persistentvolumeclaim/image-registry-storage created (dry run)"),
        "{dry}"
    );
    assert_eq!(claims(&running), 0);
    let made = ok(&running
        .oc_registry(&["storage", "set", "pvc", "--size", "200Gi", "--storage-class", "efs-sc"])
        .await);
    assert!(
        made.contains("persistentvolumeclaim/image-registry-storage created\n"),
        "{made}"
    );
    let claim = running
        .server
        .object(
            "v1",
            "PersistentVolumeClaim",
            "openshift-image-registry",
            "image-registry-storage",
        )
        .unwrap();
    assert_eq!(claim["spec"]["storageClassName"], "efs-sc");
    assert_eq!(claim["spec"]["accessModes"], json!(["ReadWriteMany"]));
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "200Gi");
    assert_eq!(claim["metadata"]["annotations"]["imageregistry.openshift.io"], "true");
    let storage = running.config().await["spec"]["storage"].clone();
    assert_eq!(
        storage,
        json!({"pvc": {"claim": "image-registry-storage"}, "managementState": "Managed"})
    );
    // The same again uses it; another size would be another claim.
    ok(&running
        .oc_registry(&["storage", "set", "pvc", "--size", "200Gi", "--storage-class", "efs-sc"])
        .await);
    let (code, _, stderr) = running
        .outcome(&["storage", "set", "pvc", "--size", "300Gi", "--storage-class", "efs-sc"])
        .await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("exists with 200Gi ReadWriteMany (class efs-sc)"),
        "{stderr}"
    );
    assert_eq!(claims(&running), 1);

    // A claim made for a Config change that then fails is deleted again: nothing is left behind.
    running.server.inject(Fault::new(
        Matcher::method("PATCH").and_path("/configs/cluster"),
        FaultAction::ServerError {
            code: 403,
            retry_after_seconds: 0,
        },
    ));
    let (code, _, stderr) = running
        .outcome(&[
            "storage",
            "set",
            "pvc",
            "--claim",
            "more-images",
            "--storage-class",
            "efs-sc",
        ])
        .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.starts_with("Error from server"), "{stderr}");
    running.server.clear_faults();
    // Created, then deleted.
    assert_eq!(claims(&running), 3);
    assert!(
        running
            .server
            .object("v1", "PersistentVolumeClaim", "openshift-image-registry", "more-images")
            .is_none()
    );
}
