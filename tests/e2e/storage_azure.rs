//! Azure Blob storage against Azurite, which checks every request's SharedKey signature as Azure
//! does: with the storage account's key, the registry's container is created private and marked
//! as this program's, reported as existing, refused with a wrong key (a clear condition, nothing
//! else written, the key never printed), and removed with its blobs when the registry is Removed.
//! Storage accounts (the Azure management API) have no service here: nothing here rests on one.

use crate::support::services::{self, AZURITE_ACCOUNT, AZURITE_KEY};
use crate::support::{OC_REGISTRY, Running, cluster, serve, text};
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
