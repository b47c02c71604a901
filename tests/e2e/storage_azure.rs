//! Azure Blob storage against Azurite, which checks every request's SharedKey signature as Azure
//! does: with the storage account's key, the registry's container is created private and marked
//! as this program's, reported as existing, refused with a wrong key (a clear condition, nothing
//! else written, the key never printed), and removed with its blobs when the registry is Removed.
//! Installer-provisioned, without a key, the storage account is made through Resource Manager
//! with the cloud's service principal: Entra ID and Resource Manager have no emulator, so those
//! calls rest on the stand-in in `support/azure.rs`; the container made with the account's key
//! rests on Azurite.

use crate::support::azure::Azure;
use crate::support::services::{self, AZURITE_ACCOUNT, AZURITE_KEY};
use crate::support::{OC_REGISTRY, Running, cluster, condition, serve, text};
use base64::Engine as _;
use serde_json::json;
use std::process::Output;
use test_apiserver::Platform;

/// The cluster's Azure Blob endpoint (Azurite's, as a connection string names it) and `KEY`,
/// for the product's environment.
fn azure(endpoint: &str, key: &str) -> [(&'static str, String); 2] {
    let connection = format!("DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};BlobEndpoint={endpoint}");
    [
        ("AZURE_STORAGE_CONNECTION_STRING", connection),
        ("KEY", key.to_string()),
    ]
}

async fn run(running: &Running, endpoint: &str, key: &str, args: &[&str]) -> Output {
    let env = azure(endpoint, key);
    running
        .command(OC_REGISTRY)
        .args(args)
        .envs(env)
        .output()
        .await
        .unwrap()
}

/// As [`run`] with the account's own key; it must succeed. What it printed.
async fn ok(running: &Running, endpoint: &str, args: &[&str]) -> String {
    let env = azure(endpoint, AZURITE_KEY);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    running.oc_registry_ok_with(args, &env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_is_created_checked_refused_with_a_wrong_key_and_removed() {
    let data = tempfile::tempdir().unwrap();
    let Some(azurite) = services::azurite(data.path()) else {
        return;
    };
    let running = serve(cluster(Platform::Azure, false)).await;
    let endpoint = azurite.url.clone();
    let store_key = ["storage", "credentials", "set", "azure", "account-key=env:KEY"];
    ok(&running, &endpoint, &["bootstrap"]).await;
    let images = [
        "storage",
        "set",
        "azure",
        "--account-name",
        AZURITE_ACCOUNT,
        "--container",
        "images",
    ];
    ok(&running, &endpoint, &images).await;
    ok(&running, &endpoint, &store_key).await;

    let created = ok(&running, &endpoint, &["reconcile", "--wait"]).await;
    assert!(created.contains("Azure container images created"), "{created}");
    let spec = running.config().await["spec"]["storage"].clone();
    assert_eq!(
        spec["managementState"], "Managed",
        "created here, so the registry's: {spec}"
    );
    let status = ok(&running, &endpoint, &["status"]).await;
    assert!(
        status.contains("exists:         yes, created by oc-registry"),
        "{status}"
    );
    // A second pass finds it and creates nothing.
    let again = ok(&running, &endpoint, &["reconcile"]).await;
    assert!(!again.contains("created"), "{again}");

    // Azurite refuses a key that is not the account's: the condition says so, the key is never shown.
    let wrong = "d3Jvbmcga2V5IGZvciB0aGlzIGFjY291bnQ=";
    let stored = run(&running, &endpoint, wrong, &store_key).await;
    assert_eq!(stored.status.code(), Some(0), "{}", text(&stored.stderr));
    let refused = run(&running, &endpoint, wrong, &["reconcile"]).await;
    let said = format!("{}{}", text(&refused.stdout), text(&refused.stderr));
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(said.contains("storage account devstoreaccount1 refused"), "{said}");
    assert!(
        said.contains("storage credentials set azure account-key=@FILE"),
        "{said}"
    );
    assert!(!said.contains(wrong) && !said.contains(AZURITE_KEY), "{said}");
    ok(&running, &endpoint, &store_key).await;

    // Removed, confirmed: the container goes with the registry.
    ok(&running, &endpoint, &["set", "management-state", "Removed", "--yes"]).await;
    let removed = ok(&running, &endpoint, &["reconcile", "--yes"]).await;
    assert!(
        removed.contains("Azure container images (storage account devstoreaccount1)"),
        "{removed}"
    );
    assert!(removed.contains("deleted"), "{removed}");
    // Managed again: there is no container, so one is created anew.
    ok(&running, &endpoint, &["set", "management-state", "Managed"]).await;
    let recreated = ok(&running, &endpoint, &["reconcile"]).await;
    assert!(recreated.contains("Azure container images created"), "{recreated}");
}

/// The seeded cloud credentials' service principal.
const CLIENT_ID: &str = "00000000-0000-0000-0000-000000000002";
const CLIENT_SECRET: &str = "simulated-client-secret";
const ACCOUNT: &str = "imageregistrysimarm01";

/// An Azure cluster whose Infrastructure sends Resource Manager calls to `arm`, bootstrapped, its
/// storage naming `ACCOUNT` and container `images`.
async fn installer_provisioned(arm: &Azure) -> Running {
    let running = serve(cluster(Platform::Azure, false)).await;
    let mut infra = running.kubectl_get(&["infrastructure", "cluster"]).await.unwrap();
    infra["status"]["platformStatus"]["azure"]["armEndpoint"] = json!(arm.url);
    infra["status"]["platformStatus"]["azure"]["resourceTags"] = json!([{"key": "team", "value": "registry"}]);
    running.server.seed(infra).unwrap();
    running.oc_registry_ok(&["bootstrap"]).await;
    let names = [
        "storage",
        "set",
        "azure",
        "--account-name",
        ACCOUNT,
        "--container",
        "images",
    ];
    running.oc_registry_ok(&names).await;
    running
}

fn principal_env(arm: &Azure, blob: &str) -> [(&'static str, String); 2] {
    let connection = format!("DefaultEndpointsProtocol=http;AccountName={ACCOUNT};BlobEndpoint={blob}");
    [
        ("AZURE_AUTHORITY_HOST", arm.url.clone()),
        ("AZURE_STORAGE_CONNECTION_STRING", connection),
    ]
}

/// Azurite serving `ACCOUNT`, and the stand-in that gives the account Azurite's key when it is
/// created; the key.
async fn account_in_azurite(data: &std::path::Path) -> Option<(services::Service, Azure, String)> {
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
    let azurite = services::azurite_with_account(data, ACCOUNT, &key)?;
    let arm = Azure::start(CLIENT_ID, CLIENT_SECRET).await;
    arm.key_for(ACCOUNT, &key);
    Some((azurite, arm, key))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_principal_makes_the_account_and_the_registry_gets_its_key() {
    let data = tempfile::tempdir().unwrap();
    let Some((azurite, arm, key)) = account_in_azurite(data.path()).await else {
        return;
    };
    let running = installer_provisioned(&arm).await;
    let env = principal_env(&arm, &azurite.url);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let created = running.oc_registry_ok_with(&["reconcile", "--wait"], &env).await;
    assert!(
        created.contains(&format!(
            "Azure storage account {ACCOUNT}, Azure container images created"
        )),
        "{created}"
    );
    let calls = arm.calls();
    let order: Vec<String> = calls
        .iter()
        .map(|c| format!("{} {}", c.method, c.target.split('?').next().unwrap()))
        .collect();
    let rg = format!(
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/sim-7xk2p-rg/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
    );
    assert_eq!(
        order[..6],
        [
            "POST /00000000-0000-0000-0000-000000000003/oauth2/v2.0/token".to_string(),
            format!("GET {rg}"),
            "POST /subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Storage/checkNameAvailability".into(),
            format!("PUT {rg}"),
            "GET /operations/create-1".into(),
            format!("POST {rg}/listKeys"),
        ],
        "{order:#?}"
    );
    let put = calls.iter().find(|c| c.method == "PUT").unwrap();
    assert_eq!(
        put.body,
        json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "eastus",
            "tags": {"kubernetes.io_cluster.sim-7xk2p": "owned", "team": "registry", "createdby": "oc-registry"},
            "properties": {"supportsHttpsTrafficOnly": true, "allowBlobPublicAccess": false, "minimumTlsVersion": "TLS1_2"}})
    );
    // The registry gets the account's key through its private configuration.
    let private = running
        .kubectl_get(&[
            "secret",
            "image-registry-private-configuration",
            "-n",
            "openshift-image-registry",
        ])
        .await
        .unwrap();
    let given = private["data"]["REGISTRY_STORAGE_AZURE_ACCOUNTKEY"].as_str().unwrap();
    assert_eq!(given, base64::engine::general_purpose::STANDARD.encode(&key));
    assert!(!created.contains(&key), "the key is never printed");
    let config = running.config().await;
    assert_eq!(config["spec"]["storage"]["managementState"], "Managed");
    assert!(
        running
            .exists(&["deployment", "image-registry", "-n", "openshift-image-registry"])
            .await
    );
    let status = running.oc_registry_ok_with(&["status"], &env).await;
    assert!(
        status.contains("exists:         yes, created by oc-registry"),
        "{status}"
    );

    // A second pass creates nothing and writes no key again.
    let before = arm.calls().len();
    let again = running.oc_registry_ok_with(&["reconcile"], &env).await;
    assert!(!again.contains("created"), "{again}");
    assert!(arm.calls()[before..].iter().all(|c| c.method != "PUT"));

    // Removed: the container, then the account this program made.
    running
        .oc_registry_ok_with(&["set", "management-state", "Removed", "--yes"], &env)
        .await;
    let removed = running.oc_registry_ok_with(&["reconcile", "--yes"], &env).await;
    assert!(removed.contains("deleted"), "{removed}");
    assert!(arm.accounts().is_empty(), "the account is deleted");
}

/// A reconcile that must fail (no Blob endpoint is needed: nothing gets that far); what it said.
async fn refused_reconcile(running: &Running, arm: &Azure) -> String {
    let env = principal_env(arm, "http://127.0.0.1:9/none");
    let out = running
        .command(OC_REGISTRY)
        .arg("reconcile")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .unwrap();
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{said}");
    said
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_makes_the_account_and_the_pods_use_their_own_identity() {
    let data = tempfile::tempdir().unwrap();
    let Some((azurite, arm, _)) = account_in_azurite(data.path()).await else {
        return;
    };
    let federated = "eyJhbGciOiJSUzI1NiJ9.federated-service-account-token.c2ln";
    arm.federated(federated);
    let running = installer_provisioned(&arm).await;
    // The cloud credentials of a cluster with short-lived credentials: no secret, a token file.
    let token_file = running.dir.path().join("token");
    std::fs::write(&token_file, federated).unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    running
        .server
        .seed(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "installer-cloud-credentials", "namespace": "openshift-image-registry"},
            "data": {"azure_client_id": b64(CLIENT_ID), "azure_tenant_id": b64("00000000-0000-0000-0000-000000000003"),
                "azure_subscription_id": b64("00000000-0000-0000-0000-000000000001"),
                "azure_resourcegroup": b64("sim-7xk2p-rg"), "azure_region": b64("eastus"),
                "azure_federated_token_file": b64(&token_file.display().to_string())}}))
        .unwrap();
    let env = principal_env(&arm, &azurite.url);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = running.oc_registry_ok_with(&["reconcile", "--wait"], &env).await;
    assert!(
        created.contains(&format!("Azure storage account {ACCOUNT}")),
        "{created}"
    );
    let calls = arm.calls();
    let token = calls[0].body.as_str().unwrap().to_string();
    assert!(
        token.contains("client_assertion=") && !token.contains("client_secret"),
        "{token}"
    );
    // As the operator: the account refuses its keys, and the container is made through Resource
    // Manager; no key is read.
    let account = calls
        .iter()
        .find(|c| c.method == "PUT" && !c.target.contains("/containers/"))
        .unwrap();
    assert_eq!(account.body["properties"]["allowSharedKeyAccess"], false);
    let made = calls
        .iter()
        .find(|c| c.method == "PUT" && c.target.contains("/blobServices/default/containers/images"))
        .unwrap();
    assert_eq!(
        made.body,
        json!({"properties": {"publicAccess": "None", "metadata": {"createdby": "oc-registry", "openshiftclusterid": "sim-7xk2p"}}})
    );
    assert!(calls.iter().all(|c| !c.target.contains("listKeys")), "no key is read");
    assert_eq!(arm.containers(), [(ACCOUNT.to_string(), "images".to_string())]);
    // The pods exchange their own token; they get no account key.
    let private = running
        .kubectl_get(&[
            "secret",
            "image-registry-private-configuration",
            "-n",
            "openshift-image-registry",
        ])
        .await
        .unwrap();
    assert!(
        private["data"].get("REGISTRY_STORAGE_AZURE_ACCOUNTKEY").is_none(),
        "{private}"
    );
    let deployment = running
        .kubectl_get(&["deployment", "image-registry", "-n", "openshift-image-registry"])
        .await
        .unwrap();
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(env.contains("AZURE_FEDERATED_TOKEN_FILE"), "{env}");
    assert!(env.contains("https://login.microsoftonline.com/"), "{env}");
    let env = principal_env(&arm, &azurite.url);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let status = running.oc_registry_ok_with(&["status"], &env).await;
    assert!(
        status.contains("exists:         yes, created by oc-registry"),
        "{status}"
    );

    // Removed: the container through Resource Manager, then the cluster's account.
    running
        .oc_registry_ok_with(&["set", "management-state", "Removed", "--yes"], &env)
        .await;
    running.oc_registry_ok_with(&["reconcile", "--yes"], &env).await;
    assert!(arm.containers().is_empty() && arm.accounts().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_principal_or_a_taken_account_name_writes_nothing_and_says_why() {
    let arm = Azure::start(CLIENT_ID, "another-secret").await;
    let running = installer_provisioned(&arm).await;
    let said = refused_reconcile(&running, &arm).await;
    assert!(said.contains("AADSTS7000215"), "{said}");
    assert!(
        said.contains("storage credentials set azure account-key=@FILE"),
        "{said}"
    );
    assert!(!said.contains(CLIENT_SECRET), "{said}");
    assert_eq!(
        condition(&running.config().await, "StorageExists")["reason"],
        "invalid_client"
    );
    assert!(
        arm.calls().iter().all(|c| c.target.contains("/oauth2/")),
        "only the token was asked for"
    );

    let arm = Azure::start(CLIENT_ID, CLIENT_SECRET).await;
    arm.taken(ACCOUNT);
    let running = installer_provisioned(&arm).await;
    let said = refused_reconcile(&running, &arm).await;
    assert!(said.contains("already taken"), "{said}");
    assert!(said.contains("storage set azure --account-name NAME"), "{said}");
    assert!(arm.calls().iter().all(|c| c.method != "PUT"), "nothing created");
}
