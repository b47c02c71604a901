//! IBM COS storage on a simulated IBM Cloud cluster: the service instance and HMAC resource key
//! through the IBM Cloud APIs (a stand-in: no emulator exists), the bucket over the COS S3 API
//! (moto), the registry configured with the issued keys, and the bucket removed only when that
//! is confirmed.

use crate::support::services::put_objects;
use crate::support::{Running, cluster, condition, serve};
use aws_sdk_s3::Client;
use serde_json::json;
use test_apiserver::Platform;

const NS: &str = "openshift-image-registry";

/// A freshly installed IBM Cloud cluster with its APIs and COS, bootstrapped; `None` without moto.
async fn fresh_ibm_cloud() -> Option<(Running, Client)> {
    let running = serve(cluster(Platform::IbmCloud, false)).await;
    let client = running.s3_client()?;
    let (code, _, err) = running.outcome(&["bootstrap"]).await;
    assert_eq!(code, Some(0), "{err}");
    Some((running, client))
}

async fn buckets(client: &Client) -> Vec<String> {
    let listed = client.list_buckets().send().await.unwrap();
    listed
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_key_and_bucket_are_provisioned_and_the_bucket_removed_only_when_confirmed() {
    let Some((running, client)) = fresh_ibm_cloud().await else {
        return;
    };
    let ibm = running.ibm.as_ref().unwrap();

    // A dry run says what it would create and creates nothing; the registry's keys come from the
    // resource key the real run creates, so it cannot be rendered yet, and says so.
    let (code, out, err) = running.outcome(&["reconcile", "--dry-run"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("reconcile creates the resource key"), "{err}");
    assert!(
        out.contains("IBM COS service instance sim-7xk2p-image-registry, IBM COS resource key sim-7xk2p-image-registry, IBM COS bucket"),
        "{out}"
    );
    assert!(ibm.state.lock().unwrap().instances.is_empty());
    assert!(buckets(&client).await.is_empty());

    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let bucket = running.config().await["spec"]["storage"]["ibmcos"]["bucket"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(bucket.starts_with("sim-7xk2p-image-registry-us-south-"), "{bucket}");
    assert!(out.contains(&format!("IBM COS bucket {bucket}")), "{out}");
    // The instance as the operator makes it: the cluster's name and tag, COS's standard plan, in
    // the Infrastructure's resource group; an HMAC key with the Writer role.
    let (instance, key) = {
        let state = ibm.state.lock().unwrap();
        assert_eq!((state.instances.len(), state.keys.len()), (1, 1));
        (state.instances[0].clone(), state.keys[0].clone())
    };
    assert_eq!(instance["name"], "sim-7xk2p-image-registry");
    assert_eq!(instance["tags"], json!(["kubernetes.io_cluster_sim-7xk2p:owned"]));
    assert_eq!(instance["resource_plan_id"], "744bfc56-d12c-4866-88d5-dac9139e0e5d");
    assert_eq!(
        key["credentials"]["iam_role_crn"],
        "crn:v1:bluemix:public:iam::::serviceRole:Writer"
    );
    assert_eq!(buckets(&client).await, std::slice::from_ref(&bucket));

    // The Config keeps what was made; the registry runs with the issued keys.
    let config = running.config().await;
    let cos = &config["spec"]["storage"]["ibmcos"];
    assert_eq!(cos["serviceInstanceCRN"], instance["crn"]);
    assert_eq!(cos["resourceKeyCRN"], key["crn"]);
    assert_eq!(config["spec"]["storage"]["managementState"], "Managed");
    let exists = condition(&config, "StorageExists");
    assert_eq!(
        (exists["status"].as_str(), exists["reason"].as_str()),
        (Some("True"), Some("IBM COS Bucket Exists"))
    );
    let secret = running
        .kubectl_get(&["secret", "image-registry-private-configuration", "-n", NS])
        .await
        .unwrap();
    use base64::Engine as _;
    let ini = base64::engine::general_purpose::STANDARD
        .decode(secret["data"]["credentials"].as_str().unwrap())
        .unwrap();
    let ini = String::from_utf8(ini).unwrap();
    assert!(ini.contains("aws_access_key_id = AKIACOSHMAC000000001"), "{ini}");
    let deployment = running
        .kubectl_get(&["deployment", "image-registry", "-n", NS])
        .await
        .unwrap();
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .clone();
    let value = |name: &str| env.iter().find(|e| e["name"] == name).map(|e| e["value"].clone());
    assert_eq!(value("REGISTRY_STORAGE_S3_REGIONENDPOINT"), Some(json!(ibm.url)));
    assert_eq!(value("REGISTRY_STORAGE_S3_REGION"), Some(json!("us-south")));
    // Never a key in the output.
    assert!(!out.contains("cos-hmac-secret") && !err.contains("cos-hmac-secret"));

    // status asks COS, with the issued keys, whether the bucket is there; COS keeps no creator
    // tag, so no creator is claimed.
    let out = running.oc_registry(&["status", "-o", "json"]).await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Nothing pending: the keys the registry got are the ones status reads back.
    assert_eq!(report["progress"]["notApplied"], json!([]), "{report:#}");
    let cloud = &report["storage"]["cloud"];
    assert_eq!(
        (cloud["exists"].as_bool(), cloud["objects"].as_u64()),
        (Some(true), Some(0)),
        "{report:#}"
    );
    assert!(cloud.get("creator").is_none(), "{cloud}");
    let text = crate::support::text(&running.oc_registry(&["status"]).await.stdout);
    assert!(text.contains("exists:         yes, no objects"), "{text}");
    assert!(!text.contains("created by"), "{text}");

    // Again: nothing new is made, and status reads the same keys back.
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!out.contains("IBM COS"), "{out}");
    assert_eq!(ibm.state.lock().unwrap().instances.len(), 1);
    assert_eq!(ibm.state.lock().unwrap().keys.len(), 1);

    // Images in it; Removed deletes the bucket only when confirmed, naming it and its objects.
    put_objects(
        &client,
        &bucket,
        &["docker/registry/v2/blobs/a", "docker/registry/v2/repositories/r"],
    )
    .await;
    let (code, _, err) = running.outcome(&["set", "management-state", "Removed", "--yes"]).await;
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(5), "{out}{err}");
    assert!(
        err.contains(&format!(
            "the IBM COS bucket {bucket} and its 2 objects will be deleted"
        )),
        "{err}"
    );
    assert_eq!(buckets(&client).await, std::slice::from_ref(&bucket));
    let (code, out, err) = running.outcome(&["reconcile", "--yes"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("IBM COS bucket {bucket} (2 objects) deleted")),
        "{out}"
    );
    assert!(buckets(&client).await.is_empty());
    // The instance and its key stay, as the operator leaves them.
    assert_eq!(ibm.state.lock().unwrap().instances.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_api_key_is_named_and_nothing_is_made() {
    let Some((running, client)) = fresh_ibm_cloud().await else {
        return;
    };
    let (code, _, err) = running
        .outcome(&[
            "storage",
            "credentials",
            "set",
            "ibmcos",
            "api-key=not-the-key-0000",
            "--allow-literal",
        ])
        .await;
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = running.outcome(&["reconcile"]).await;
    assert_ne!(code, Some(0), "{out}{err}");
    let config = running.config().await;
    let exists = condition(&config, "StorageExists");
    assert_eq!(exists["status"], "False");
    assert_eq!(exists["reason"], "BXNIM0415E");
    let message = exists["message"].as_str().unwrap();
    assert!(message.contains("REGISTRY_STORAGE_IBMCOS_IAMAPIKEY"), "{message}");
    for shown in [message, &out, &err] {
        assert!(!shown.contains("not-the-key-0000"), "{shown}");
    }
    let ibm = running.ibm.as_ref().unwrap();
    assert!(ibm.state.lock().unwrap().instances.is_empty());
    assert!(buckets(&client).await.is_empty());
    assert!(
        running
            .kubectl_get(&["deployment", "image-registry", "-n", NS])
            .await
            .is_none()
    );
}
