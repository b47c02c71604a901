//! Validating admission webhooks as kube-apiserver calls them: a real HTTPS webhook on
//! 127.0.0.1 judges AdmissionReviews; denials, failed calls, failure policies, dry runs and
//! Service-routed webhooks answer as the real server answers them.

mod support;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;
use support::api_error;
use support::webhook::{Webhook, configuration};
use test_apiserver::{ApiServer, Platform, Settings};

fn config_map(name: &str, deny: bool) -> ConfigMap {
    let labels = if deny { json!({"deny": "yes"}) } else { json!({}) };
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "data": {"a": "b"}})).unwrap()
}

#[tokio::test]
async fn webhooks_judge_writes_as_kube_apiserver_calls_them() {
    let server = ApiServer::new(Settings::default());
    server.seed_openshift(Platform::Aws).unwrap();
    let api: Api<ConfigMap> = Api::default_namespaced(kube::Client::new(server.clone(), "default"));
    let webhook = Webhook::start(&["localhost"]).await;
    let url = format!("https://{}/validate", webhook.address);
    server
        .seed(configuration(
            "deny",
            json!({"url": url, "caBundle": webhook.ca_bundle()}),
            "Fail",
        ))
        .unwrap();

    // Allowed: the review carried the object as it would be stored.
    api.create(&PostParams::default(), &config_map("fine", false))
        .await
        .unwrap();
    let review = webhook.reviews.lock().unwrap().last().cloned().unwrap();
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    let request = &review["request"];
    assert_eq!(
        (request["operation"].as_str(), request["name"].as_str()),
        (Some("CREATE"), Some("fine"))
    );
    assert_eq!(request["namespace"], "default");
    assert_eq!(
        request["resource"],
        json!({"group": "", "version": "v1", "resource": "configmaps"})
    );
    assert_eq!(request["object"]["data"], json!({"a": "b"}));
    assert_eq!(request["dryRun"], false);

    // Denied, with the webhook's code and message.
    let denied = api_error(
        api.create(&PostParams::default(), &config_map("no", true))
            .await
            .unwrap_err(),
    );
    assert_eq!(denied.code, 403);
    assert_eq!(
        denied.message,
        "admission webhook \"deny.example.com\" denied the request: label deny is set"
    );
    assert!(api.get_opt("no").await.unwrap().is_none());

    // A dry run reaches a webhook without side effects, marked as one.
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    assert_eq!(
        api_error(api.create(&dry, &config_map("no", true)).await.unwrap_err()).code,
        403
    );
    assert_eq!(
        webhook.reviews.lock().unwrap().last().unwrap()["request"]["dryRun"],
        true
    );

    // Updates carry the old object too.
    let mut fine = api.get("fine").await.unwrap();
    fine.data = Some([("a".to_string(), "c".to_string())].into());
    api.replace("fine", &PostParams::default(), &fine).await.unwrap();
    let review = webhook.reviews.lock().unwrap().last().cloned().unwrap();
    assert_eq!(review["request"]["operation"], "UPDATE");
    assert_eq!(review["request"]["oldObject"]["data"], json!({"a": "b"}));

    // A webhook that cannot be reached fails the write (Fail) or is skipped (Ignore).
    drop(webhook);
    let failed = api_error(
        api.create(&PostParams::default(), &config_map("later", false))
            .await
            .unwrap_err(),
    );
    assert_eq!(failed.code, 500);
    assert!(
        failed
            .message
            .starts_with("Internal error occurred: failed calling webhook \"deny.example.com\": failed to call webhook: Post \"https://"),
        "{}",
        failed.message
    );
    let mut ignore = configuration("deny", json!({"url": url, "caBundle": ""}), "Ignore");
    ignore["metadata"]["name"] = json!("deny");
    server.seed(ignore).unwrap();
    api.create(&PostParams::default(), &config_map("later", false))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_webhook_behind_a_service_is_called_by_its_service_name_and_checked_against_it() {
    let server = ApiServer::new(Settings::default());
    server.seed_openshift(Platform::Aws).unwrap();
    let api: Api<ConfigMap> = Api::default_namespaced(kube::Client::new(server.clone(), "default"));
    let webhook = Webhook::start(&["policy.openshift-image-registry.svc"]).await;
    server.route_service("openshift-image-registry", "policy", &webhook.address);
    let client = json!({"service": {"namespace": "openshift-image-registry", "name": "policy", "path": "/validate", "port": 443},
        "caBundle": webhook.ca_bundle()});
    server.seed(configuration("svc", client, "Fail")).unwrap();
    let denied = api_error(
        api.create(&PostParams::default(), &config_map("no", true))
            .await
            .unwrap_err(),
    );
    assert!(
        denied.message.contains("denied the request: label deny is set"),
        "{}",
        denied.message
    );
    assert_eq!(webhook.reviews.lock().unwrap().len(), 1);

    // A certificate that does not name the Service is refused as TLS refuses it.
    let wrong = Webhook::start(&["elsewhere.example.com"]).await;
    server.route_service("openshift-image-registry", "policy", &wrong.address);
    let client = json!({"service": {"namespace": "openshift-image-registry", "name": "policy", "path": "/validate", "port": 443},
        "caBundle": wrong.ca_bundle()});
    server.seed(configuration("svc", client, "Fail")).unwrap();
    let failed = api_error(
        api.create(&PostParams::default(), &config_map("other", false))
            .await
            .unwrap_err(),
    );
    assert_eq!(failed.code, 500);
    assert!(failed.message.contains("certificate"), "{}", failed.message);
    assert!(wrong.reviews.lock().unwrap().is_empty());
}
