//! The cluster's admission modules bind every writer: the in-cluster reconciler serves a validating
//! webhook that the API server calls for every create and update of the Config and the
//! ImagePruner, so `kubectl patch` is judged like `oc-registry set`.

use crate::support::{Running, cluster, forbid_emptydir, serve, text};
use serde_json::{Value, json};
use std::time::Duration;
use test_apiserver::Platform;

const WEBHOOK: &str = "policies.oc-registry.openshift.io";

/// The reconciler, serving the webhook on `address`, stopped when dropped.
struct Reconciler(tokio::process::Child);

impl Drop for Reconciler {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

async fn webhook_configuration(running: &Running) -> Value {
    let out = running
        .oc_registry_ok(&["manifests", "--image", "example.com/oc-registry:1", "-o", "json"])
        .await;
    let list: Value = serde_json::from_str(&out).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "ValidatingWebhookConfiguration")
        .cloned()
        .expect("the manifests carry the webhook configuration")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_patch_is_judged_by_the_clusters_admission_modules() {
    let server = cluster(Platform::Aws, true);
    forbid_emptydir(&server);
    let running = serve(server).await;
    running.server.seed(webhook_configuration(&running).await).unwrap();
    let address = running.route_webhook();
    let _reconciler = Reconciler(
        running
            .command(crate::support::OC_REGISTRY)
            .args(["reconcile", "--watch", "--webhook-listen", &address])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap(),
    );
    // Without the service CA, the reconciler trusts a certificate of its own in the configuration.
    let mut trusted = false;
    for _ in 0..200 {
        let configuration = running
            .server
            .object(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "",
                "oc-registry",
            )
            .unwrap();
        let bundle = configuration["webhooks"][0]["clientConfig"]["caBundle"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !bundle.is_empty() && std::net::TcpStream::connect(&address).is_ok() {
            trusted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(trusted, "the webhook came up and its certificate is trusted");

    let refused = running
        .try_patch_config(&json!({"spec": {"storage": {"s3": null, "emptyDir": {}}}}))
        .await;
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(
        err.contains(&format!(
            "admission webhook \"{WEBHOOK}\" denied the request: forbid-emptydir:"
        )),
        "{err}"
    );
    assert!(running.config().await["spec"]["storage"].get("emptyDir").is_none());

    let allowed = running.try_patch_config(&json!({"spec": {"logLevel": "Debug"}})).await;
    assert!(allowed.status.success(), "{}", text(&allowed.stderr));
    assert_eq!(running.config().await["spec"]["logLevel"], "Debug");
}
