//! `oc-registry bootstrap` and `reconcile` end to end against simulated clusters: the objects read
//! back with the real kubectl against the operator's reference, idempotence from the server's
//! request log, teardown and its confirmation, dry runs, waiting, retries and resumption.

use crate::support::{Running, cluster, serve, text};
use serde_json::{Value, json};
use test_apiserver::{Fault, FaultAction, Matcher, PRUNER_IMAGE, Platform, REGISTRY_IMAGE, RolloutOutcome};

const NS: &str = "openshift-image-registry";

fn env_of(deployment: &Value) -> Vec<Value> {
    deployment
        .pointer("/spec/template/spec/containers/0/env")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn env_value(deployment: &Value, name: &str) -> Option<String> {
    env_of(deployment)
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e.get("value").and_then(Value::as_str).map(str::to_string))
}

fn env_secret(deployment: &Value, name: &str) -> Option<(String, String)> {
    let e = env_of(deployment).into_iter().find(|e| e["name"] == name)?;
    let r = e.pointer("/valueFrom/secretKeyRef")?;
    Some((r["name"].as_str()?.to_string(), r["key"].as_str()?.to_string()))
}

fn volume_names(deployment: &Value) -> Vec<String> {
    deployment
        .pointer("/spec/template/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect()
}

fn secret_keys(secret: &Value) -> Vec<String> {
    let mut keys: Vec<String> = secret["data"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

fn pruner_args(cronjob: &Value) -> Vec<String> {
    let command = cronjob
        .pointer("/spec/jobTemplate/spec/template/spec/containers/0/command")
        .and_then(Value::as_array)
        .unwrap();
    let at = command.iter().position(|a| a == "images").expect("oc adm prune images");
    command[at + 1..]
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

fn condition<'a>(object: &'a Value, type_: &str) -> &'a Value {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == type_))
        .unwrap_or(&Value::Null)
}

/// The common environment every registry gets, after the storage driver's.
fn assert_common_env(d: &Value, platform: Platform) {
    for (name, value) in [
        ("REGISTRY_HTTP_ADDR", ":5000"),
        ("REGISTRY_HTTP_NET", "tcp"),
        ("REGISTRY_LOG_LEVEL", "info"),
        ("REGISTRY_OPENSHIFT_QUOTA_ENABLED", "true"),
        ("REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR", "inmemory"),
        ("REGISTRY_STORAGE_DELETE_ENABLED", "true"),
        ("REGISTRY_HEALTH_STORAGEDRIVER_ENABLED", "true"),
        ("REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL", "10s"),
        ("REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD", "1"),
        ("REGISTRY_OPENSHIFT_METRICS_ENABLED", "true"),
        (
            "REGISTRY_OPENSHIFT_SERVER_ADDR",
            "image-registry.openshift-image-registry.svc:5000",
        ),
        ("REGISTRY_HTTP_TLS_CERTIFICATE", "/etc/secrets/tls.crt"),
        ("REGISTRY_HTTP_TLS_KEY", "/etc/secrets/tls.key"),
    ] {
        assert_eq!(env_value(d, name).as_deref(), Some(value), "{platform}: {name}");
    }
    // The HTTP secret comes from the private configuration, never as a literal.
    assert_eq!(
        env_secret(d, "REGISTRY_HTTP_SECRET"),
        Some((
            "image-registry-private-configuration".into(),
            "REGISTRY_HTTP_SECRET".into()
        )),
        "{platform}"
    );
    assert!(env_value(d, "REGISTRY_HTTP_SECRET").is_none(), "{platform}");
    let volumes = volume_names(d);
    for v in [
        "registry-tls",
        "ca-trust-extracted",
        "registry-certificates",
        "trusted-ca",
        "installation-pull-secrets",
        "bound-sa-token",
    ] {
        assert!(
            volumes.contains(&v.to_string()),
            "{platform}: volume {v} in {volumes:?}"
        );
    }
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["image"], REGISTRY_IMAGE, "{platform}");
    assert_eq!(pod["securityContext"]["fsGroup"], 1000430000, "{platform}");
    assert_eq!(pod["serviceAccountName"], "registry", "{platform}");
    assert_eq!(pod["priorityClassName"], "system-cluster-critical", "{platform}");
    assert_eq!(pod["nodeSelector"]["kubernetes.io/os"], "linux", "{platform}");
    assert_eq!(d["spec"]["selector"]["matchLabels"]["docker-registry"], "default");
    assert_eq!(d["metadata"]["annotations"]["release.openshift.io/version"], "4.20.3");
}

async fn reconcile(running: &Running, args: &[&str]) -> std::process::Output {
    let mut all = vec!["reconcile"];
    all.extend_from_slice(args);
    running.oc_registry(&all).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_platform_bootstraps_and_reconciles_to_the_reference() {
    for platform in Platform::ALL {
        let running = serve(cluster(platform, false)).await;
        let out = reconcile(&running, &[]).await;
        let stdout = text(&out.stdout);
        let stderr = text(&out.stderr);
        let config = running
            .kubectl_get(&["configs.imageregistry.operator.openshift.io", "cluster"])
            .await
            .unwrap_or_else(|| panic!("{platform}: no Config\n{stderr}"));
        let deployment = running.kubectl_get(&["deployment", "image-registry", "-n", NS]).await;
        let cronjob = running
            .kubectl_get(&["cronjob", "image-pruner", "-n", NS])
            .await
            .unwrap_or_else(|| panic!("{platform}: no pruner CronJob\n{stderr}"));
        assert_eq!(
            cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"],
            PRUNER_IMAGE
        );
        let pruner = running
            .kubectl_get(&["imagepruners.imageregistry.operator.openshift.io", "cluster"])
            .await
            .unwrap();
        assert_eq!(pruner["spec"]["ignoreInvalidImageReferences"], true, "{platform}");
        assert_eq!(condition(&pruner, "Available")["status"], "True", "{platform}");
        let mut common_args = vec![
            "--confirm=true".to_string(),
            "--certificate-authority=/var/run/configmaps/serviceca/service-ca.crt".into(),
            "--keep-tag-revisions=3".into(),
            "--keep-younger-than=60m".into(),
            "--ignore-invalid-refs=true".into(),
            "--loglevel=1".into(),
        ];
        let state = config["spec"]["managementState"].as_str().unwrap().to_string();
        match platform {
            Platform::BareMetal | Platform::VSphere | Platform::None => {
                assert_eq!(out.status.code(), Some(0), "{platform}: {stderr}");
                assert_eq!(state, "Removed", "{platform}");
                assert!(deployment.is_none(), "{platform}");
                let rule = running
                    .kubectl_get(&[
                        "prometheusrules.monitoring.coreos.com",
                        "image-registry-removed",
                        "-n",
                        NS,
                    ])
                    .await
                    .expect("the ImageRegistryRemoved alert");
                let alert = &rule["spec"]["groups"][0]["rules"][0];
                assert_eq!(alert["alert"], "ImageRegistryRemoved");
                assert!(
                    alert["annotations"]["message"]
                        .as_str()
                        .unwrap()
                        .starts_with("Image Registry has been removed. ImageStreamTags, BuildConfigs")
                );
                assert_eq!(condition(&config, "Removed")["status"], "True");
                assert_eq!(condition(&config, "Available")["reason"], "Removed");
                // What is missing, and the command that supplies it.
                let missing = condition(&config, "StorageExists");
                assert_eq!(missing["reason"], "StorageNotConfigured", "{platform}");
                assert!(
                    missing["message"].as_str().unwrap().contains("run: "),
                    "{platform}: {missing}"
                );
                common_args.push("--prune-registry=false".into());
                assert_eq!(pruner_args(&cronjob), common_args, "{platform}");
                continue;
            }
            Platform::OpenStack => {
                // The simulated cloud's catalog names a Swift that does not exist: nothing is
                // deployed on storage that cannot be reached, and the message says where it was
                // looked for. (storage_swift runs the registry on a real one.)
                assert_eq!(out.status.code(), Some(2), "{platform}: {stdout}{stderr}");
                assert!(deployment.is_none(), "{platform}");
                assert!(stderr.contains("Swift at https://swift.sim.example.com"), "{stderr}");
                assert!(stderr.contains("cannot be reached"), "{stderr}");
                assert_eq!(condition(&config, "StorageExists")["reason"], "EndpointUnreachable");
                continue;
            }
            Platform::Azure => {
                // The storage account is made through Azure's API, which the simulated cluster's
                // service principal cannot reach: nothing is deployed, and the Config says so.
                // (storage_azure makes it through a stand-in.)
                assert_eq!(out.status.code(), Some(2), "{platform}: {stdout}{stderr}");
                assert!(deployment.is_none(), "{platform}");
                assert_eq!(condition(&config, "StorageExists")["status"], "False", "{platform}");
                assert_eq!(condition(&config, "Degraded")["status"], "True", "{platform}");
                continue;
            }
            _ => {}
        }
        assert_eq!(out.status.code(), Some(0), "{platform}: {stdout}{stderr}");
        assert_eq!(state, "Managed", "{platform}");
        let d = deployment.unwrap_or_else(|| panic!("{platform}: no Deployment"));
        assert_common_env(&d, platform);
        let private = running
            .kubectl_get(&["secret", "image-registry-private-configuration", "-n", NS])
            .await
            .unwrap();
        let pdb = running.kubectl_get(&["pdb", "image-registry", "-n", NS]).await.unwrap();
        let replicas = d["spec"]["replicas"].as_i64().unwrap();
        let strategy = &d["spec"]["strategy"];
        let anti_affinity =
            d.pointer("/spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/0");
        if replicas == 2 {
            assert_eq!(
                strategy,
                &json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}})
            );
            let term = anti_affinity.unwrap_or_else(|| panic!("{platform}: anti-affinity"));
            assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
            assert_eq!(term["labelSelector"]["matchLabels"]["docker-registry"], "default");
            assert_eq!(pdb["spec"]["minAvailable"], 1, "{platform}");
        } else {
            assert!(anti_affinity.is_none(), "{platform}");
            assert_eq!(pdb["spec"]["minAvailable"], 0, "{platform}");
        }
        assert_eq!(pdb["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow");
        let spread: Vec<&str> = d["spec"]["template"]["spec"]["topologySpreadConstraints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["topologyKey"].as_str().unwrap())
            .collect();
        // Spread over zones where the nodes carry zone labels.
        let zoned = matches!(platform, Platform::Aws | Platform::Gcp | Platform::IbmCloud);
        assert_eq!(
            spread.contains(&"topology.kubernetes.io/zone"),
            zoned,
            "{platform}: {spread:?}"
        );
        let bucket = |name: &str| env_value(&d, name).unwrap_or_default();
        match platform {
            Platform::Aws => {
                assert_eq!(replicas, 2);
                assert_eq!(bucket("REGISTRY_STORAGE").as_str(), "s3");
                assert_eq!(
                    bucket("REGISTRY_STORAGE_S3_BUCKET"),
                    "sim-7xk2p-image-registry-us-east-1"
                );
                assert_eq!(bucket("REGISTRY_STORAGE_S3_REGION"), "us-east-1");
                // The bucket was created with default encryption, which the Config then records.
                assert_eq!(bucket("REGISTRY_STORAGE_S3_ENCRYPT"), "true");
                assert_eq!(bucket("REGISTRY_STORAGE_S3_FORCEPATHSTYLE"), "true");
                assert_eq!(
                    bucket("REGISTRY_STORAGE_S3_CREDENTIALSCONFIGPATH"),
                    "/var/run/secrets/cloud/credentials"
                );
                assert_eq!(secret_keys(&private), ["REGISTRY_HTTP_SECRET", "credentials"]);
                assert!(volume_names(&d).contains(&"image-registry-private-configuration".to_string()));
                assert_eq!(
                    config["spec"]["storage"]["s3"]["bucket"],
                    "sim-7xk2p-image-registry-us-east-1"
                );
                assert_eq!(config["spec"]["storage"]["managementState"], "Managed");
            }
            Platform::IbmCloud => {
                // The keys of the HMAC resource key reconcile created.
                assert_eq!(bucket("REGISTRY_STORAGE"), "s3");
                assert_eq!(bucket("REGISTRY_STORAGE_S3_REGION"), "us-south");
                assert_eq!(secret_keys(&private), ["REGISTRY_HTTP_SECRET", "credentials"]);
                assert!(
                    config["spec"]["storage"]["ibmcos"]["resourceKeyCRN"]
                        .as_str()
                        .is_some_and(|c| c.contains(":resource-key:"))
                );
            }
            Platform::Gcp => {
                assert_eq!(bucket("REGISTRY_STORAGE"), "gcs");
                let name = bucket("REGISTRY_STORAGE_GCS_BUCKET");
                assert!(
                    name.starts_with("sim-7xk2p-image-registry-us-central1-") && name.len() == 62,
                    "{name}"
                );
                assert_eq!(bucket("REGISTRY_STORAGE_GCS_KEYFILE"), "/gcs/keyfile");
                assert_eq!(
                    secret_keys(&private),
                    ["REGISTRY_HTTP_SECRET", "REGISTRY_STORAGE_GCS_KEYFILE"]
                );
                assert!(volume_names(&d).contains(&"registry-storage-keyfile".to_string()));
            }
            Platform::OpenStackWithoutSwift => {
                assert_eq!(replicas, 1);
                assert_eq!(strategy["type"], "Recreate");
                assert_eq!(bucket("REGISTRY_STORAGE"), "filesystem");
                assert_eq!(bucket("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY"), "/registry");
                let claim = running
                    .kubectl_get(&["pvc", "image-registry-storage", "-n", NS])
                    .await
                    .expect("the claim the policy asked for");
                assert_eq!(claim["spec"]["accessModes"], json!(["ReadWriteOnce"]));
                assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "100Gi");
                assert_eq!(claim["spec"]["storageClassName"], "standard-csi");
                assert_eq!(claim["metadata"]["annotations"]["imageregistry.openshift.io"], "true");
                assert_eq!(condition(&config, "StorageExists")["status"], "True");
                assert_eq!(secret_keys(&private), ["REGISTRY_HTTP_SECRET"]);
            }
            Platform::Libvirt => {
                assert_eq!(replicas, 1);
                assert_eq!(
                    strategy,
                    &json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}})
                );
                assert_eq!(bucket("REGISTRY_STORAGE"), "filesystem");
                let volumes = d["spec"]["template"]["spec"]["volumes"].as_array().unwrap();
                let storage = volumes.iter().find(|v| v["name"] == "registry-storage").unwrap();
                assert_eq!(storage["emptyDir"], json!({}));
            }
            other => unreachable!("{other}"),
        }
        let service = running
            .kubectl_get(&["service", "image-registry", "-n", NS])
            .await
            .unwrap();
        assert_eq!(service["spec"]["ports"][0]["port"], 5000);
        assert_eq!(service["spec"]["ports"][0]["name"], "5000-tcp");
        let image = running
            .kubectl_get(&["images.config.openshift.io", "cluster"])
            .await
            .unwrap();
        assert_eq!(
            image["status"]["internalRegistryHostname"],
            "image-registry.openshift-image-registry.svc:5000"
        );
        common_args.push("--prune-registry=true".into());
        common_args.push("--registry-url=https://image-registry.openshift-image-registry.svc:5000".into());
        assert_eq!(pruner_args(&cronjob), common_args, "{platform}");
        let co = running
            .kubectl_get(&["clusteroperator", "image-registry"])
            .await
            .unwrap();
        assert_eq!(condition(&co, "Degraded")["status"], "False", "{platform}: {co}");
        // The generated secret is never printed.
        let http_secret = config["spec"]["httpSecret"].as_str().unwrap();
        assert_eq!(http_secret.len(), 128);
        assert!(!stdout.contains(http_secret) && !stderr.contains(http_secret));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_reconcile_writes_each_object_once_and_a_second_writes_nothing() {
    let running = serve(cluster(Platform::Aws, false)).await;
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut applied: Vec<String> = running
        .server
        .writes()
        .into_iter()
        .filter(|w| w.method == "PATCH" && w.content_type.as_deref() == Some("application/apply-patch+yaml"))
        .map(|w| w.path)
        .collect();
    let count = applied.len();
    applied.sort();
    applied.dedup();
    assert_eq!(applied.len(), count, "an object was applied twice: {applied:#?}");
    assert!(count >= 17, "{applied:#?}");

    // Let the rollout finish and status settle, then nothing changes.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    running.server.clear_log();
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let writes: Vec<String> = running
        .server
        .writes()
        .iter()
        .map(|w| format!("{} {}", w.method, w.path))
        .collect();
    assert!(writes.is_empty(), "a reconcile with nothing changed wrote: {writes:#?}");
    assert!(text(&out.stdout).contains("deployment.apps/image-registry unchanged"));

    // The command reads its policies and the whole cluster state in one round of requests:
    // with every request slowed, none waits for another.
    running.server.inject(Fault::new(
        Matcher::any(),
        FaultAction::Latency(std::time::Duration::from_millis(200)),
    ));
    running.server.clear_log();
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let requests = running.server.requests();
    let sent: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    assert_eq!(test_apiserver::round_trips(&requests), 1, "{sent:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_takes_over_the_operators_objects_and_removes_what_it_no_longer_wants() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d = running
        .kubectl_get(&["deployment", "image-registry", "-n", NS])
        .await
        .unwrap();
    let secret_env = env_of(&d)
        .into_iter()
        .find(|e| e["name"] == "REGISTRY_HTTP_SECRET")
        .unwrap();
    assert!(
        secret_env.get("value").is_none(),
        "the operator's literal secret is gone: {secret_env}"
    );
    // Read-only on, then off again: the variable comes and goes.
    for (on, expect) in [(true, Some("{enabled: true}")), (false, None)] {
        running.patch_config(&json!({"spec": {"readOnly": on}})).await;
        let out = reconcile(&running, &[]).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let d = running
            .kubectl_get(&["deployment", "image-registry", "-n", NS])
            .await
            .unwrap();
        assert_eq!(
            env_value(&d, "REGISTRY_STORAGE_MAINTENANCE_READONLY").as_deref(),
            expect
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_are_created_and_stale_ones_deleted() {
    let running = serve(cluster(Platform::Aws, false)).await;
    assert_eq!(reconcile(&running, &[]).await.status.code(), Some(0));
    let spec = json!({"spec": {"defaultRoute": true, "routes": [{"name": "public", "hostname": "registry.apps.example.com"}]}});
    running.patch_config(&spec).await;
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let public = running.kubectl_get(&["route", "public", "-n", NS]).await.unwrap();
    assert_eq!(public["spec"]["host"], "registry.apps.example.com");
    assert_eq!(public["spec"]["tls"]["termination"], "reencrypt");
    assert_eq!(public["metadata"]["annotations"]["imageregistry.openshift.io"], "true");
    assert!(running.exists(&["route", "default-route", "-n", NS]).await);

    let spec = json!({"spec": {"defaultRoute": false, "routes": null}});
    running.patch_config(&spec).await;
    let out = reconcile(&running, &[]).await;
    assert!(
        text(&out.stdout).contains("route.route.openshift.io/public deleted"),
        "{}",
        text(&out.stdout)
    );
    assert!(!running.exists(&["route", "public", "-n", NS]).await);
    assert!(!running.exists(&["route", "default-route", "-n", NS]).await);

    // A route whose TLS secret is missing is an error naming the secret and its keys.
    let spec = json!({"spec": {"routes": [{"name": "tls", "hostname": "r.example.com", "secretName": "missing-tls"}]}});
    running.patch_config(&spec).await;
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("secret \"openshift-image-registry/missing-tls\" not found"));
}

async fn set_state(running: &Running, state: &str) {
    running.patch_config(&json!({"spec": {"managementState": state}})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_under_way_is_not_asked_for_again() {
    let running = serve(cluster(Platform::OpenStackWithoutSwift, false)).await;
    assert_eq!(reconcile(&running, &[]).await.status.code(), Some(0));
    // Foreground deletions wait while the collector does not run, as they wait for dependents.
    running.server.pause_garbage_collector();
    set_state(&running, "Removed").await;
    let out = reconcile(&running, &["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(running.exists(&["deployment", "image-registry", "-n", NS]).await);

    running.server.clear_log();
    let out = reconcile(&running, &["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let deletes: Vec<String> = running
        .server
        .writes()
        .into_iter()
        .filter(|w| w.method == "DELETE")
        .map(|w| w.path)
        .collect();
    assert!(deletes.is_empty(), "deletions under way were sent again: {deletes:#?}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("deployment.apps/image-registry being deleted"),
        "{stdout}"
    );

    running.server.resume_garbage_collector();
    assert!(!running.exists(&["deployment", "image-registry", "-n", NS]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_refuses_to_delete_managed_storage_without_confirmation() {
    let running = serve(cluster(Platform::OpenStackWithoutSwift, false)).await;
    assert_eq!(reconcile(&running, &[]).await.status.code(), Some(0));
    set_state(&running, "Removed").await;
    running.server.clear_log();

    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("PersistentVolumeClaim openshift-image-registry/image-registry-storage"),
        "{err}"
    );
    assert!(err.contains("--yes") && err.contains("Unmanaged"), "{err}");
    assert!(
        running.server.writes().is_empty(),
        "nothing is written: {:?}",
        running.server.writes()
    );
    assert!(running.exists(&["deployment", "image-registry", "-n", NS]).await);

    let out = reconcile(&running, &["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!running.exists(&["deployment", "image-registry", "-n", NS]).await);
    assert!(!running.exists(&["pvc", "image-registry-storage", "-n", NS]).await);
    assert!(!running.exists(&["service", "image-registry", "-n", NS]).await);
    let config = running.config().await;
    assert_eq!(config["status"]["storage"], json!({}));
    assert_eq!(condition(&config, "Removed")["status"], "True");
    let image = running
        .kubectl_get(&["images.config.openshift.io", "cluster"])
        .await
        .unwrap();
    assert_eq!(image["status"]["internalRegistryHostname"], "");
    // The pruner stays, no longer pruning registry storage.
    let cronjob = running
        .kubectl_get(&["cronjob", "image-pruner", "-n", NS])
        .await
        .unwrap();
    assert!(pruner_args(&cronjob).contains(&"--prune-registry=false".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_keeps_unmanaged_storage_and_needs_no_confirmation() {
    let running = serve(cluster(Platform::OpenStackWithoutSwift, false)).await;
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let patch = json!({"spec": {"managementState": "Removed", "storage": {"managementState": "Unmanaged", "pvc": {"claim": "image-registry-storage"}}}});
    running.patch_config(&patch).await;
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!running.exists(&["deployment", "image-registry", "-n", NS]).await);
    assert!(running.exists(&["pvc", "image-registry-storage", "-n", NS]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmanaged_writes_nothing_of_the_registrys_but_status() {
    let running = serve(cluster(Platform::Aws, true)).await;
    set_state(&running, "Unmanaged").await;
    let before = running
        .kubectl_get(&["deployment", "image-registry", "-n", NS])
        .await
        .unwrap();
    running.server.clear_log();
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Status, what the operator's side controllers keep in every state (the observed TLS
    // profile, the CA ConfigMaps and node-ca), and the events saying so.
    let kept = [
        "/configs/cluster",
        "/image-registry-certificates",
        "/image-registry-ca",
        "/node-ca",
        "/events",
    ];
    for w in running.server.writes() {
        assert!(
            w.path.ends_with("/status") || kept.iter().any(|k| w.path.ends_with(k)),
            "Unmanaged wrote {} {}",
            w.method,
            w.path
        );
    }
    let after = running
        .kubectl_get(&["deployment", "image-registry", "-n", NS])
        .await
        .unwrap();
    assert_eq!(
        before["metadata"]["resourceVersion"],
        after["metadata"]["resourceVersion"]
    );
    let config = running.config().await;
    assert_eq!(condition(&config, "Available")["reason"], "Unmanaged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_store_nothing() {
    for mode in ["--dry-run=client", "--dry-run=server"] {
        let running = serve(cluster(Platform::Gcp, false)).await;
        running.server.clear_log();
        let out = reconcile(&running, &[mode]).await;
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", text(&out.stderr));
        let suffix = if mode.ends_with("server") {
            "(server dry run)"
        } else {
            "(dry run)"
        };
        assert!(
            text(&out.stdout).contains(&format!("deployment.apps/image-registry created {suffix}")),
            "{mode}: {}",
            text(&out.stdout)
        );
        for w in running.server.writes() {
            assert_eq!(
                w.query_param("dryRun").as_deref(),
                Some("All"),
                "{mode}: {} {}",
                w.method,
                w.path
            );
        }
        assert!(
            !running
                .exists(&["configs.imageregistry.operator.openshift.io", "cluster"])
                .await
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_reports_ready_failed_and_timed_out_rollouts() {
    for (outcome, args, code) in [
        (RolloutOutcome::Ready, vec!["--wait"], 0),
        (RolloutOutcome::Fail, vec!["--wait"], 3),
        (RolloutOutcome::Stuck, vec!["--wait", "--timeout=1s"], 4),
    ] {
        let server = cluster(Platform::Aws, false);
        server.simulation(|s| s.rollout_outcome = outcome.clone());
        let running = serve(server).await;
        let out = reconcile(&running, &args).await;
        assert_eq!(out.status.code(), Some(code), "{outcome:?}: {}", text(&out.stderr));
        if code == 0 {
            let config = running.config().await;
            assert_eq!(condition(&config, "Progressing")["reason"], "Ready", "{config}");
            assert!(text(&out.stdout).contains("Available=True (Ready)"));
            // Off a terminal, progress is lines as kubectl rollout status writes them, and the
            // outcome a result line.
            assert!(
                text(&out.stderr).contains("Waiting for deployment \"image-registry\" rollout to finish: "),
                "{}",
                text(&out.stderr)
            );
            assert!(text(&out.stdout).contains("deployment.apps/image-registry successfully rolled out"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_conflicts_are_retried() {
    let server = cluster(Platform::Aws, false);
    server.inject(
        Fault::new(
            Matcher::method("PATCH").and_path("/deployments/"),
            FaultAction::ServerError {
                code: 503,
                retry_after_seconds: 0,
            },
        )
        .times(2),
    );
    let running = serve(server).await;
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(running.exists(&["deployment", "image-registry", "-n", NS]).await);
    // A Config to complete again, written by someone else meanwhile.
    running.patch_config(&json!({"spec": {"httpSecret": null}})).await;
    running.server.inject(
        Fault::new(
            Matcher::method("PUT").and_path("/configs/cluster"),
            FaultAction::Conflict,
        )
        .times(1),
    );
    running.server.clear_log();
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let puts = running
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with("/configs/cluster"))
        .count();
    assert_eq!(puts, 2, "the conflicting write is redone after a fresh read");
    assert!(running.exists(&["deployment", "image-registry", "-n", NS]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_cut_off_midway_converges_when_run_again() {
    let server = cluster(Platform::Aws, false);
    // The connection drops on every Deployment write: more than the retries allow.
    server.inject(Fault::new(
        Matcher::method("PATCH").and_path("/deployments/"),
        FaultAction::DropConnection,
    ));
    let running = serve(server).await;
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("failed to apply deployment.apps/image-registry"),
        "{}",
        text(&out.stderr)
    );
    let config = running.config().await;
    assert_eq!(condition(&config, "Degraded")["reason"], "ApplyFailed");
    assert!(!running.exists(&["deployment", "image-registry", "-n", NS]).await);

    running.server.clear_faults();
    running.server.clear_log();
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("deployment.apps/image-registry created"), "{stdout}");
    assert!(stdout.contains("service/image-registry unchanged"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_masks_secrets_writes_nothing_and_is_empty_once_converged() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let config = running.config().await;
    let http_secret = config["spec"]["httpSecret"].as_str().unwrap().to_string();
    running.server.clear_log();
    let out = running.oc_registry(&["diff"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(
        diff.contains("--- live/apps.v1.Deployment.openshift-image-registry.image-registry"),
        "{diff}"
    );
    assert!(diff.contains("+++ merged/v1.Secret.openshift-image-registry.image-registry-private-configuration"));
    assert!(diff.contains("REGISTRY_HTTP_SECRET: \"***\""), "{diff}");
    assert!(!diff.contains(&http_secret), "the httpSecret is shown");
    assert!(!diff.contains("AKIASIMULATED"), "a credential is shown");
    for w in running.server.writes() {
        assert_eq!(
            w.query_param("dryRun").as_deref(),
            Some("All"),
            "diff wrote {} {}",
            w.method,
            w.path
        );
    }
    assert_eq!(reconcile(&running, &[]).await.status.code(), Some(0));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(reconcile(&running, &[]).await.status.code(), Some(0));
    let out = running.oc_registry(&["diff"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.stdout.is_empty());
}

/// What offline rendering needs besides the Config and Infrastructure: the namespace's
/// supplemental groups and S3 keys.
const NAMESPACE_AND_S3_KEYS: &str = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: openshift-image-registry\n  annotations:\n    openshift.io/sa.scc.supplemental-groups: 1000650000/10000\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: image-registry-private-configuration-user\n  namespace: openshift-image-registry\nstringData:\n  REGISTRY_STORAGE_S3_ACCESSKEY: AKIAEXAMPLEKEY\n  REGISTRY_STORAGE_S3_SECRETKEY: very-secret-value\n";

fn write_files(dir: &std::path::Path, files: &[(&str, &str)]) {
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
}

/// The product run in `dir` with no cluster to reach.
fn offline(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(crate::support::OC_REGISTRY)
        .args(args)
        .current_dir(dir)
        .env("KUBECONFIG", dir.join("no-such-kubeconfig"))
        .env("HOME", dir)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_needs_no_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "config.yaml",
            "apiVersion: imageregistry.operator.openshift.io/v1\nkind: Config\nmetadata:\n  name: cluster\nspec:\n  managementState: Managed\n  replicas: 2\n  httpSecret: 0123456789abcdef\n  storage:\n    s3:\n      bucket: my-bucket\n      region: eu-west-1\n",
        ),
        (
            "infrastructure.yaml",
            &format!(
                "apiVersion: config.openshift.io/v1\nkind: Infrastructure\nmetadata:\n  name: cluster\nspec: {{}}\nstatus:\n  infrastructureName: demo-x1\n  platformStatus:\n    type: AWS\n    aws:\n      region: eu-west-1\n{NAMESPACE_AND_S3_KEYS}"
            ),
        ),
    ];
    write_files(dir.path(), &files);
    let run = |args: Vec<&str>| offline(dir.path(), &args);
    let out = run(vec![
        "render",
        "-f",
        "config.yaml",
        "-f",
        "infrastructure.yaml",
        "--registry-image",
        "example.com/registry:1",
        "--pruner-image",
        "example.com/cli:1",
        "--operator-image",
        "example.com/operator:1",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    for kind in [
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "CronJob",
        "ClusterRole",
        "Secret",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let d = items.iter().find(|i| i["kind"] == "Deployment").unwrap();
    assert_eq!(env_value(d, "REGISTRY_STORAGE_S3_BUCKET").as_deref(), Some("my-bucket"));
    assert_eq!(d["spec"]["template"]["spec"]["securityContext"]["fsGroup"], 1000650000);
    let all = text(&out.stdout);
    for secret in ["0123456789abcdef", "AKIAEXAMPLEKEY", "very-secret-value"] {
        assert!(!all.contains(secret), "{secret} printed");
    }

    // Without the images, the Deployment and CronJob cannot be rendered: the reason names the flag.
    let out = run(vec!["render", "-f", "config.yaml", "-f", "infrastructure.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--registry-image"), "{}", text(&out.stderr));
    // Without a Config there is nothing to render.
    let out = run(vec!["render", "-f", "infrastructure.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no configs.imageregistry.operator.openshift.io/cluster"));
}

/// A `reconcile --watch` process, stopped with SIGTERM.
struct Watcher {
    child: tokio::process::Child,
}

impl Watcher {
    fn start(running: &Running, name: &'static str) -> Watcher {
        Watcher::start_with(running, name, &[])
    }

    fn start_with(running: &Running, name: &'static str, extra: &[&str]) -> Watcher {
        let child = running
            .command(crate::support::OC_REGISTRY)
            .args(["reconcile", "--watch", "--identity", name, "--lease-duration", "2s"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        Watcher { child }
    }

    /// SIGTERM, then its exit status and output.
    async fn stop(self) -> (Option<i32>, String) {
        let pid = self.child.id().unwrap().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        let out = tokio::time::timeout(std::time::Duration::from_secs(20), self.child.wait_with_output())
            .await
            .expect("stops after SIGTERM")
            .unwrap();
        (out.status.code(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
    }
}

/// Polls until `check` holds (at most 30 s).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting: {what}");
}

async fn read_only_env(running: &Running) -> Option<String> {
    let d = running.kubectl_get(&["deployment", "image-registry", "-n", NS]).await?;
    env_value(&d, "REGISTRY_STORAGE_MAINTENANCE_READONLY")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_changes_with_one_leader_and_stops_cleanly() {
    let running = serve(cluster(Platform::Aws, false)).await;
    let a = Watcher::start(&running, "replica-a");
    // The first replica bootstraps and reconciles before the second starts.
    eventually("the first pass", || async {
        running.exists(&["deployment", "image-registry", "-n", NS]).await
    })
    .await;
    let b = Watcher::start(&running, "replica-b");
    let holder = || async {
        running
            .kubectl_get(&["lease", "oc-registry-reconciler", "-n", NS])
            .await
            .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
    };
    assert_eq!(holder().await.as_deref(), Some("replica-a"));

    running.patch_config(&json!({"spec": {"readOnly": true}})).await;
    eventually("read-only applied", || async {
        read_only_env(&running).await.is_some()
    })
    .await;

    // Watches that expire or drop are re-established.
    running.server.compact();
    running.server.drop_watches();
    running.patch_config(&json!({"spec": {"readOnly": false}})).await;
    eventually("read-only removed", || async {
        read_only_env(&running).await.is_none()
    })
    .await;

    // The leader stops; the other takes over and follows the next change.
    let (code, a_log) = a.stop().await;
    assert_eq!(code, Some(0), "{a_log}");
    assert!(
        a_log.contains("leading as replica-a") && a_log.contains("stopped"),
        "{a_log}"
    );
    eventually("replica-b leads", || async {
        holder().await.as_deref() == Some("replica-b")
    })
    .await;
    running.patch_config(&json!({"spec": {"readOnly": true}})).await;
    eventually("read-only applied by replica-b", || async {
        read_only_env(&running).await.is_some()
    })
    .await;
    let (code, b_log) = b.stop().await;
    assert_eq!(code, Some(0), "{b_log}");
    assert!(b_log.contains("leading as replica-b"), "{b_log}");
    assert!(b_log.contains("deployment.apps/image-registry configured"), "{b_log}");
    // Released on the way out.
    assert_eq!(holder().await, None);
}

/// The RBAC request attributes of an API path: (apiGroup, resource[/subresource], namespace, name).
fn attributes(path: &str) -> Option<(String, String, String, String)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => (String::new(), rest),
        ["apis", group, _version, rest @ ..] => (group.to_string(), rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (ns.to_string(), rest),
        // A namespace itself is checked in its own namespace.
        ["namespaces", ns] => return Some((group, "namespaces".into(), ns.to_string(), ns.to_string())),
        rest => (String::new(), rest),
    };
    match rest {
        [resource] => Some((group, resource.to_string(), namespace, String::new())),
        [resource, name] => Some((group, resource.to_string(), namespace, name.to_string())),
        [resource, name, sub] => Some((group, format!("{resource}/{sub}"), namespace, name.to_string())),
        _ => None,
    }
}

fn allows(rule: &Value, verb: &str, group: &str, resource: &str, name: &str) -> bool {
    let has = |field: &str, v: &str| {
        rule[field]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == v || x == "*"))
    };
    has("verbs", verb)
        && has("apiGroups", group)
        && has("resources", resource)
        && rule["resourceNames"]
            .as_array()
            .is_none_or(|names| names.iter().any(|n| n == name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_cluster_manifests_apply_and_grant_every_request_the_reconciler_makes() {
    let running = serve(cluster(Platform::OpenStackWithoutSwift, false)).await;
    let out = running
        .oc_registry(&["manifests", "--image", "quay.io/example/oc-registry:v0.1.0"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file = running.dir.path().join("manifests.yaml");
    std::fs::write(&file, &out.stdout).unwrap();
    let apply = running
        .kubectl(&["apply", "--server-side", "-f", file.to_str().unwrap()])
        .await;
    assert!(apply.status.success(), "{}", text(&apply.stderr));
    let deployment = running
        .kubectl_get(&["deployment", "oc-registry-reconciler", "-n", NS])
        .await
        .unwrap();
    assert_eq!(deployment["spec"]["replicas"], 2);

    // Every request a reconciler makes — bootstrap, reconcile, watch with leader election, the
    // admission webhook trusting its certificate, teardown — must be one the manifests' roles allow.
    // The webhook configuration is in place now: every write of the Config needs the webhook.
    running.server.clear_log();
    let address = running.route_webhook();
    let watcher = Watcher::start_with(&running, "in-cluster", &["--webhook-listen", &address]);
    eventually("the watcher leads and serves the webhook", || async {
        running.exists(&["lease", "oc-registry-reconciler", "-n", NS]).await
            && std::net::TcpStream::connect(&address).is_ok()
    })
    .await;
    assert_eq!(reconcile(&running, &[]).await.status.code(), Some(0));
    set_state(&running, "Removed").await;
    assert_eq!(reconcile(&running, &["--yes"]).await.status.code(), Some(0));
    let (code, log) = watcher.stop().await;
    assert_eq!(code, Some(0), "{log}");

    let list: Value = serde_json::from_slice(
        &running
            .oc_registry(&["manifests", "--image", "x", "-o", "json"])
            .await
            .stdout,
    )
    .unwrap();
    let items = list["items"].as_array().unwrap();
    let sa = "system:serviceaccount:openshift-image-registry:oc-registry";
    let requests: Vec<_> = running
        .server
        .requests()
        .into_iter()
        .filter(|r| r.user_agent.as_deref().is_some_and(|a| a.starts_with("oc-registry/")))
        .collect();
    assert!(requests.len() > 50);
    let mut denied = Vec::new();
    for r in &requests {
        let Some((group, resource, namespace, mut name)) = attributes(&r.path) else {
            continue;
        };
        // A list or watch narrowed to one name is authorized as a request for that name, as
        // kube-apiserver authorizes it.
        if name.is_empty()
            && let Some(named) = r
                .query_param("fieldSelector")
                .and_then(|f| f.strip_prefix("metadata.name=").map(str::to_string))
        {
            name = named;
        }
        let verb = match (r.method.as_str(), name.is_empty()) {
            ("GET", false) => "get",
            ("GET", true) if r.query_param("watch").as_deref() == Some("true") => "watch",
            ("GET", true) => "list",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", _) => "delete",
            _ => continue,
        };
        let allowed = items.iter().any(|o| match o["kind"].as_str() {
            Some("ClusterRole") => o["rules"]
                .as_array()
                .unwrap()
                .iter()
                .any(|rule| allows(rule, verb, &group, &resource, &name)),
            Some("Role") => {
                o["metadata"]["namespace"] == namespace
                    && o["rules"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|rule| allows(rule, verb, &group, &resource, &name))
            }
            _ => false,
        });
        if !allowed {
            denied.push(format!(
                "{sa} cannot {verb} {group}/{resource} {namespace}/{name} ({} {})",
                r.method, r.path
            ));
        }
    }
    denied.sort();
    denied.dedup();
    assert!(denied.is_empty(), "{denied:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_reaches_the_registry() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let server = cluster(Platform::Aws, false);
    // The cluster proxy, the service CA and an additional trusted CA, as the cluster has them.
    let mut proxy = server.object("config.openshift.io/v1", "Proxy", "", "cluster").unwrap();
    proxy["status"] = json!({"httpProxy": "http://proxy.example.com:3128", "httpsProxy": "http://proxy.example.com:3128", "noProxy": ".cluster.local"});
    server.seed(proxy).unwrap();
    server
        .seed(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "serviceca", "namespace": NS},
                     "data": {"service-ca.crt": "SERVICE-CA\n"}}),
        )
        .unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "registry-cas", "namespace": "openshift-config"},
                     "data": {"registry.example.com..5000": "EXAMPLE-CA\n"}}))
        .unwrap();
    let mut image = server.object("config.openshift.io/v1", "Image", "", "cluster").unwrap();
    image["spec"] = json!({"additionalTrustedCA": {"name": "registry-cas"}});
    server.seed(image).unwrap();
    // The user's credentials are used exclusively when they exist.
    server
        .seed(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "image-registry-private-configuration-user", "namespace": NS},
                     "data": {"REGISTRY_STORAGE_S3_ACCESSKEY": b64("AKIAUSERKEY"), "REGISTRY_STORAGE_S3_SECRETKEY": b64("user-secret")}}))
        .unwrap();
    let running = serve(server).await;
    assert_eq!(reconcile(&running, &[]).await.status.code(), Some(0));
    let spec = json!({"spec": {
        "logLevel": "Debug",
        "replicas": 3,
        "proxy": {"https": "http://registry-proxy.example.com:8080"},
        "requests": {"read": {"maxRunning": 10, "maxInQueue": 20, "maxWaitInQueue": "1m0s"}},
    }});
    running.patch_config(&spec).await;
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let d = running
        .kubectl_get(&["deployment", "image-registry", "-n", NS])
        .await
        .unwrap();
    for (name, value) in [
        ("REGISTRY_LOG_LEVEL", "debug"),
        ("HTTP_PROXY", "http://proxy.example.com:3128"),
        ("HTTPS_PROXY", "http://registry-proxy.example.com:8080"),
        ("NO_PROXY", ".cluster.local"),
        ("REGISTRY_OPENSHIFT_REQUESTS_READ_MAXRUNNING", "10"),
        ("REGISTRY_OPENSHIFT_REQUESTS_READ_MAXINQUEUE", "20"),
        ("REGISTRY_OPENSHIFT_REQUESTS_READ_MAXWAITINQUEUE", "1m0s"),
    ] {
        assert_eq!(env_value(&d, name).as_deref(), Some(value), "{name}");
    }
    assert!(env_value(&d, "REGISTRY_OPENSHIFT_REQUESTS_WRITE_MAXRUNNING").is_none());
    // Three replicas: no default anti-affinity, one may be unavailable at a time... of two.
    assert!(d.pointer("/spec/template/spec/affinity").is_none());
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 2);
    let pdb = running.kubectl_get(&["pdb", "image-registry", "-n", NS]).await.unwrap();
    assert_eq!(pdb["spec"]["minAvailable"], 1);

    let certs = running
        .kubectl_get(&["configmap", "image-registry-certificates", "-n", NS])
        .await
        .unwrap();
    assert_eq!(certs["data"]["registry.example.com..5000"], "EXAMPLE-CA\n");
    assert_eq!(
        certs["data"]["image-registry.openshift-image-registry.svc..5000"],
        "SERVICE-CA\n"
    );
    assert_eq!(
        certs["data"]["image-registry.openshift-image-registry.svc.cluster.local..5000"],
        "SERVICE-CA\n"
    );
    let published = running
        .kubectl_get(&["configmap", "image-registry-ca", "-n", "openshift-config-managed"])
        .await
        .unwrap();
    assert!(published["data"].get("registry.example.com..5000").is_none());

    let private = running
        .kubectl_get(&["secret", "image-registry-private-configuration", "-n", NS])
        .await
        .unwrap();
    let ini = base64::engine::general_purpose::STANDARD
        .decode(private["data"]["credentials"].as_str().unwrap())
        .unwrap();
    let ini = String::from_utf8(ini).unwrap();
    assert!(
        ini.contains("aws_access_key_id = AKIAUSERKEY"),
        "the user's key, not the cloud's"
    );
    assert!(!ini.contains("AKIASIMULATED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_teardown_says_what_remains_and_keeps_the_storage() {
    let running = serve(cluster(Platform::OpenStackWithoutSwift, false)).await;
    assert_eq!(reconcile(&running, &[]).await.status.code(), Some(0));
    set_state(&running, "Removed").await;
    running.server.inject(Fault::new(
        Matcher::method("DELETE").and_path("/services/image-registry"),
        FaultAction::ServerError {
            code: 500,
            retry_after_seconds: 0,
        },
    ));
    let out = reconcile(&running, &["--yes"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("failed to delete service/image-registry"), "{err}");
    assert!(
        err.contains("not yet"),
        "the storage is kept while objects remain: {err}"
    );
    assert!(running.exists(&["pvc", "image-registry-storage", "-n", NS]).await);
    assert!(!running.exists(&["deployment", "image-registry", "-n", NS]).await);
    let config = running.config().await;
    let degraded = condition(&config, "Degraded");
    assert_eq!(degraded["reason"], "RemoveFailed");
    assert!(degraded["message"].as_str().unwrap().contains("service/image-registry"));

    running.server.clear_faults();
    let out = reconcile(&running, &["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!running.exists(&["service", "image-registry", "-n", NS]).await);
    assert!(!running.exists(&["pvc", "image-registry-storage", "-n", NS]).await);
    assert_eq!(condition(&running.config().await, "Degraded")["reason"], "Removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_reads_the_s3_trusted_ca_from_files_as_reconcile_reads_it_from_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "config.yaml",
            "apiVersion: imageregistry.operator.openshift.io/v1\nkind: Config\nmetadata:\n  name: cluster\nspec:\n  managementState: Managed\n  replicas: 1\n  httpSecret: 0123456789abcdef\n  storage:\n    s3:\n      bucket: my-bucket\n      region: eu-west-1\n      regionEndpoint: https://rgw.example.com\n      trustedCA:\n        name: rgw-ca\n",
        ),
        (
            "infrastructure.yaml",
            &format!(
                "apiVersion: config.openshift.io/v1\nkind: Infrastructure\nmetadata:\n  name: cluster\nspec: {{}}\nstatus:\n  infrastructureName: demo-x1\n  platformStatus:\n    type: AWS\n{NAMESPACE_AND_S3_KEYS}"
            ),
        ),
        (
            "s3-ca-configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rgw-ca\n  namespace: openshift-config\ndata:\n  ca-bundle.crt: |\n    -----BEGIN CERTIFICATE-----\n    RGW-CA\n    -----END CERTIFICATE-----\n",
        ),
    ];
    write_files(dir.path(), &files);
    let render = |files: &[&str]| {
        let mut args = vec!["render"];
        for f in files {
            args.extend(["-f", f]);
        }
        args.extend([
            "--registry-image",
            "example.com/registry:1",
            "--pruner-image",
            "example.com/cli:1",
            "--operator-image",
            "example.com/operator:1",
            "-o",
            "json",
        ]);
        offline(dir.path(), &args)
    };
    let out = render(&["config.yaml", "infrastructure.yaml", "s3-ca-configmap.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    let deployment = items
        .iter()
        .find(|i| i["kind"] == "Deployment")
        .expect("the Deployment");
    assert_eq!(
        env_value(deployment, "REGISTRY_STORAGE_S3_REGIONENDPOINT").as_deref(),
        Some("https://rgw.example.com")
    );
    let certificates = items
        .iter()
        .find(|i| i["kind"] == "ConfigMap" && i["metadata"]["name"] == "image-registry-certificates")
        .expect("image-registry-certificates");
    assert!(
        certificates["data"]["storage-ca-bundle.pem"]
            .as_str()
            .is_some_and(|ca| ca.contains("RGW-CA")),
        "{certificates}"
    );

    // Without the ConfigMap, the Deployment is held back and the reason names it, as in reconcile.
    let out = render(&["config.yaml", "infrastructure.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("openshift-config/rgw-ca"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_write_once_pod_claim_serves_one_replica_rolled_out_by_recreate() {
    let server = cluster(Platform::Aws, true);
    server
        .seed(json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "rwop-claim", "namespace": "openshift-image-registry"},
            "spec": {"accessModes": ["ReadWriteOncePod"], "resources": {"requests": {"storage": "100Gi"}}},
            "status": {"phase": "Bound", "accessModes": ["ReadWriteOncePod"]}
        }))
        .unwrap();
    let running = serve(server).await;
    running.oc_registry_ok(&["set", "replicas", "1"]).await;
    running.oc_registry_ok(&["set", "rollout-strategy", "Recreate"]).await;
    // `storage set`, `doctor` and `reconcile` apply the one access-mode rule alike.
    running
        .oc_registry_ok(&["storage", "set", "pvc", "--claim", "rwop-claim"])
        .await;
    let doctor = running.oc_registry(&["doctor", "-o", "json"]).await;
    let findings: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    assert!(
        !findings.to_string().contains("spec.storage.pvc.claim"),
        "doctor: {findings}"
    );
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let deployment = running
        .kubectl_get(&["deployment", "image-registry", "-n", NS])
        .await
        .expect("the registry Deployment");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "registry-storage")
            .map(|v| v["persistentVolumeClaim"]["claimName"].clone()),
        Some(json!("rwop-claim"))
    );
    // Two replicas are refused on the same claim.
    let out = running.oc_registry(&["set", "replicas", "2"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("rwop-claim"), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_claim_the_registry_created_is_ever_deleted() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let claim = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "team-data", "namespace": NS},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "10Gi"}}}
    });
    running.server.seed(claim).unwrap();
    running
        .oc_registry_ok(&["storage", "set", "pvc", "--claim", "team-data"])
        .await;
    running
        .oc_registry_ok(&["set", "storage-management-state", "Managed"])
        .await;
    running.oc_registry_ok(&["reconcile"]).await;
    // status says whose the claim is, as checked.
    let status = running.oc_registry(&["status"]).await;
    assert!(
        text(&status.stdout).contains("provided by you (the registry did not create it and never deletes it)"),
        "{}",
        text(&status.stdout)
    );
    // Removing the registry keeps the user's claim, with no question asked, and says so.
    running.oc_registry_ok(&["set", "management-state", "Removed"]).await;
    let out = running.oc_registry(&["reconcile", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("persistentvolumeclaim/team-data deleted"), "{all}");
    assert!(all.contains("was not created by the registry"), "{all}");
    assert!(running.exists(&["pvc", "team-data", "-n", NS]).await);
    assert!(!running.exists(&["deployment", "image-registry", "-n", NS]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_that_cannot_render_keeps_its_live_copy() {
    let running = serve(cluster(Platform::Aws, true)).await;
    running
        .server
        .seed(
            json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                     "metadata": {"name": "secure-tls", "namespace": NS},
                     "stringData": {"tls.crt": "CERT", "tls.key": "KEY"}}),
        )
        .unwrap();
    let out = running
        .oc_registry(&[
            "routes",
            "add",
            "secure",
            "--hostname",
            "registry.example.com",
            "--secret",
            "secure-tls",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(reconcile(&running, &[]).await.status.code(), Some(0));
    assert!(running.exists(&["route", "secure", "-n", NS]).await);
    // The TLS Secret goes: the Route can no longer be rendered, but it is still wanted.
    let out = running.kubectl(&["delete", "secret", "secure-tls", "-n", NS]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = reconcile(&running, &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}{}", text(&out.stdout), text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("route.route.openshift.io/secure deleted"), "{all}");
    assert!(all.contains("secure-tls"), "{all}");
    assert!(running.exists(&["route", "secure", "-n", NS]).await);
    assert_eq!(condition(&running.config().await, "Degraded")["status"], "True");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_are_not_object_names_never_reach_a_request() {
    let running = serve(cluster(Platform::Aws, true)).await;
    running.server.clear_log();
    for claim in ["../secrets/victim-secret", "x?dryRun=All&fieldManager=evil"] {
        let out = running.oc_registry(&["storage", "set", "pvc", "--claim", claim]).await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("spec.storage.pvc.claim"),
            "{}",
            text(&out.stderr)
        );
    }
    // Written behind the tool's back, the name is refused before any request that would carry it.
    running
        .patch_config(&json!({"spec": {"storage": {"s3": null, "pvc": {"claim": "../secrets/victim-secret"}}}}))
        .await;
    running.server.clear_log();
    let out = reconcile(&running, &[]).await;
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("not a valid object name"),
        "{}",
        text(&out.stderr)
    );
    let paths: Vec<String> = running.server.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        !paths.iter().any(|p| p.contains("victim") || p.contains("..")),
        "{paths:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_young_server_still_starting_custom_resources_is_waited_for() {
    let running = serve(cluster(Platform::Libvirt, false)).await;
    // As kube-apiserver answers for seconds after the CRDs are established.
    running
        .server
        .custom_resources_initializing(std::time::Duration::from_secs(2));
    let out = running.oc_registry(&["bootstrap"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answers: Vec<u16> = running
        .server
        .requests()
        .iter()
        .filter(|r| r.path.contains("/apis/imageregistry.operator.openshift.io/"))
        .map(|r| r.status)
        .collect();
    assert!(answers.contains(&429), "{answers:?}");
    assert!(answers.last().is_some_and(|s| *s < 300), "{answers:?}");
    assert!(
        running
            .exists(&["configs.imageregistry.operator.openshift.io", "cluster"])
            .await
    );
}
