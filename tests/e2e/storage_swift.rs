//! Swift storage against Debian's Swift behind Debian's Keystone, which issues real v3 tokens that
//! the proxy checks: the registry's container is created with the operator's metadata, the real
//! registry pushes and pulls through it with the rendered environment, and it is removed with its
//! objects (bulk delete) when the registry is Removed; wrong credentials and an unreachable
//! identity service are clear conditions that write nothing and print no secret; the cloud's
//! `clouds.yaml` with an application credential works alone. No part rests on a stand-in.

use crate::support::openstack::{self, OpenStack};
use crate::support::registry;
use crate::support::{Running, cluster, condition, serve, text};
use base64::Engine as _;
use serde_json::{Value, json};
use test_apiserver::Platform;

const NS: &str = "openshift-image-registry";

/// Points the storage at the real Keystone and names the container.
async fn configure(running: &Running, os: &OpenStack, container: &str) {
    running.oc_registry_ok(&["bootstrap"]).await;
    running
        .oc_registry_ok(&[
            "storage",
            "set",
            "swift",
            "--auth-url",
            &os.keystone,
            "--container",
            container,
            "--tenant",
            &os.project,
            "--domain",
            "Default",
            "--region-name",
            &os.region,
        ])
        .await;
}

async fn store_password(running: &Running, os: &OpenStack, password: &str) {
    running
        .oc_registry_ok_with(
            &[
                "storage",
                "credentials",
                "set",
                "swift",
                "username=env:USER",
                "password=env:PASSWORD",
            ],
            &[("USER", &os.user), ("PASSWORD", password)],
        )
        .await;
}

/// The names of the project's containers, as Swift lists them.
fn containers(os: &OpenStack) -> Vec<String> {
    let listing = os.swift("GET", "?format=json", "");
    let listed: Vec<Value> = serde_json::from_str(&listing.body).unwrap_or_default();
    listed.iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_is_created_used_by_the_registry_and_removed_with_its_objects() {
    let dir = tempfile::tempdir().unwrap();
    let Some(os) = openstack::start(&dir.path().join("openstack")) else {
        return;
    };
    let running = serve(cluster(Platform::OpenStack, false)).await;
    configure(&running, &os, "images").await;
    store_password(&running, &os, &os.password).await;

    let created = running.oc_registry_ok(&["reconcile", "--wait"]).await;
    assert!(created.contains("Swift container images created"), "{created}");
    let head = os.swift("HEAD", "/images", "");
    assert_eq!(head.status, 204);
    let infrastructure = running.kubectl_get(&["infrastructure", "cluster"]).await.unwrap();
    assert_eq!(
        head.header("x-container-meta-openshiftclusterid"),
        infrastructure["status"]["infrastructureName"].as_str()
    );
    assert_eq!(head.header("x-container-meta-name"), Some("images"));
    let config = running.config().await;
    assert_eq!(config["spec"]["storage"]["managementState"], "Managed");
    let status = running.oc_registry_ok(&["status"]).await;
    assert!(
        status.contains("exists:         yes, created by oc-registry"),
        "{status}"
    );
    let again = running.oc_registry_ok(&["reconcile"]).await;
    assert!(!again.contains("created"), "{again}");

    // The real registry, with the environment and Secret reconcile applied, keeps its images in
    // the container, authenticating with Keystone itself.
    let pushed = registry::available();
    if pushed {
        let (deployment, secret) = running.applied_registry().await;
        let place = registry::push_and_pull(&deployment, &secret, None, dir.path());
        let listing = os.swift(
            "GET",
            "/images?prefix=files/docker/registry/v2/repositories/demo/hello/",
            "",
        );
        assert!(!listing.body.trim().is_empty(), "{}", registry::log_of(&place));
    }
    let held: u64 = os
        .swift("HEAD", "/images", "")
        .header("x-container-object-count")
        .unwrap()
        .parse()
        .unwrap();

    // Removed, confirmed: the objects go in bulk, then the container. A removal that began
    // (and marked the container) and was cut off is finished, and said to be.
    let marked = os.swift_with(
        "POST",
        "/images",
        &[("X-Container-Meta-Removal-Started", "2026-11-30T05:00:00Z")],
        "",
    );
    assert_eq!(marked.status, 204);
    running
        .oc_registry_ok(&["set", "management-state", "Removed", "--yes"])
        .await;
    let (code, _, err) = running.outcome(&["reconcile"]).await;
    assert_eq!(code, Some(5), "unconfirmed: {err}");
    assert!(
        err.contains("(finishing a removal begun at 2026-11-30T05:00:00Z)"),
        "{err}"
    );
    let removed = running.oc_registry_ok(&["reconcile", "--yes"]).await;
    assert!(removed.contains("Swift container images"), "{removed}");
    assert!(removed.contains("(an interrupted removal finished"), "{removed}");
    assert!(removed.contains("deleted"), "{removed}");
    assert_eq!(os.swift("HEAD", "/images", "").status, 404);
    if pushed {
        assert!(held > 0);
        assert!(
            removed.contains(&format!("{held} objects")),
            "{held} objects: {removed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_and_an_unreachable_keystone_write_nothing_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let Some(os) = openstack::start(dir.path()) else {
        return;
    };
    let running = serve(cluster(Platform::OpenStack, false)).await;
    configure(&running, &os, "refused").await;
    let wrong = "not-the-registry-password";
    store_password(&running, &os, wrong).await;
    let out = running.oc_registry(&["reconcile"]).await;
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("refused user registry's password"), "{said}");
    assert!(said.contains("storage credentials set swift"), "{said}");
    assert!(!said.contains(wrong), "{said}");
    let config = running.config().await;
    let exists = condition(&config, "StorageExists");
    assert_eq!(exists["status"], "False");
    assert_eq!(exists["reason"], "Unauthorized");
    assert!(!exists.to_string().contains(wrong));
    assert!(containers(&os).is_empty(), "nothing created");

    // An identity service that does not answer.
    let closed = format!("http://127.0.0.1:{}", crate::support::services::free_port());
    running
        .oc_registry_ok(&["storage", "set", "swift", "--auth-url", &closed])
        .await;
    store_password(&running, &os, &os.password).await;
    let out = running.oc_registry(&["reconcile"]).await;
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("Keystone at"), "{said}");
    assert!(said.contains("cannot be reached"), "{said}");
    assert!(!said.contains(&os.password), "{said}");
    assert!(containers(&os).is_empty(), "nothing created");

    // A token alone is used while Keystone honours it, and named as the fault once revoked.
    running
        .oc_registry_ok(&["storage", "set", "swift", "--auth-url", &os.keystone])
        .await;
    running.oc_registry_ok(&["storage", "credentials", "unset"]).await;
    let token = os.token();
    running
        .oc_registry_ok_with(
            &["storage", "credentials", "set", "swift", "token-id=env:TOKEN"],
            &[("TOKEN", &token)],
        )
        .await;
    let made = running.oc_registry_ok(&["reconcile"]).await;
    assert!(made.contains("Swift container refused created"), "{made}");
    let revoked = crate::support::services::http(
        "DELETE",
        &format!("{}/v3/auth/tokens", os.keystone),
        &[("X-Auth-Token", &os.token()), ("X-Subject-Token", &token)],
        "",
    );
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let out = running.oc_registry(&["status"]).await;
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        said.contains("tokens expire: store a password or an application credential"),
        "{said}"
    );
    assert!(!said.contains(&token), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clouds_application_credential_alone_reaches_swift() {
    let dir = tempfile::tempdir().unwrap();
    let Some(os) = openstack::start(dir.path()) else {
        return;
    };
    let running = serve(cluster(Platform::OpenStack, false)).await;
    running.oc_registry_ok(&["bootstrap"]).await;
    // The installer's credentials: clouds.yaml naming the cloud the Infrastructure names.
    let clouds = format!(
        "clouds:\n  openstack:\n    auth:\n      auth_url: {}\n      application_credential_id: {}\n      \
         application_credential_secret: {}\n    region_name: {}\n",
        os.keystone, os.credential_id, os.credential_secret, os.region
    );
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    running
        .server
        .seed(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "installer-cloud-credentials", "namespace": NS},
            "data": {"clouds.yaml": b64(&clouds)}}))
        .unwrap();
    running
        .oc_registry_ok(&["storage", "set", "swift", "--container", "from-clouds-yaml"])
        .await;
    let created = running.oc_registry_ok(&["reconcile"]).await;
    assert!(
        created.contains("Swift container from-clouds-yaml created"),
        "{created}"
    );
    assert_eq!(os.swift("HEAD", "/from-clouds-yaml", "").status, 204);
    assert!(!created.contains(&os.credential_secret));

    // The registry gets the same: the auth URL with its version, the region, and the credential
    // through the private configuration.
    let (deployment, private) = running.applied_registry().await;
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .clone();
    let value = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .map(str::to_string)
    };
    assert_eq!(value("REGISTRY_STORAGE").as_deref(), Some("swift"));
    assert_eq!(
        value("REGISTRY_STORAGE_SWIFT_AUTHURL"),
        Some(format!("{}/v3", os.keystone))
    );
    assert_eq!(value("REGISTRY_STORAGE_SWIFT_AUTHVERSION").as_deref(), Some("3"));
    assert_eq!(value("REGISTRY_STORAGE_SWIFT_REGION"), Some(os.region.clone()));
    assert_eq!(
        value("REGISTRY_STORAGE_SWIFT_CONTAINER").as_deref(),
        Some("from-clouds-yaml")
    );
    let reference = env
        .iter()
        .find(|e| e["name"] == "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALID")
        .unwrap();
    assert_eq!(
        reference["valueFrom"]["secretKeyRef"],
        json!({"name": "image-registry-private-configuration", "key": "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALID"})
    );
    let stored = private["data"]["REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALID"]
        .as_str()
        .unwrap();
    let stored = base64::engine::general_purpose::STANDARD.decode(stored).unwrap();
    assert_eq!(String::from_utf8(stored).unwrap(), os.credential_id);

    // The same credential stored by the user: its ID and secret are enough.
    running
        .oc_registry_ok_with(
            &[
                "storage",
                "credentials",
                "set",
                "swift",
                "application-credential-id=env:ID",
                "application-credential-secret=env:SECRET",
            ],
            &[("ID", &os.credential_id), ("SECRET", &os.credential_secret)],
        )
        .await;
    running
        .oc_registry_ok(&[
            "storage",
            "set",
            "swift",
            "--auth-url",
            &os.keystone,
            "--container",
            "from-the-user",
        ])
        .await;
    let created = running.oc_registry_ok(&["reconcile"]).await;
    assert!(created.contains("Swift container from-the-user created"), "{created}");
    assert_eq!(os.swift("HEAD", "/from-the-user", "").status, 204);
}
