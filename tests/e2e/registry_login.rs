//! `oc-registry info` and `login`, the superset of `oc registry info|login`: hostnames from the
//! Image config, the `/v2/` check against a registry stand-in, and the auth file merged with mode
//! 0600.

use crate::support::{Running, cluster, serve, text};
use base64::Engine as _;
use serde_json::{Value, json};
use std::process::Output;
use test_apiserver::{ApiServer, Fault, FaultAction, Matcher, Platform};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "sha256~session-token-for-tests";

/// A registry stand-in on 127.0.0.1 speaking plain HTTP: `/v2/` answers 200 for `accepted`
/// Basic credentials and 401 for anything else. Returns its `host:port`.
async fn registry(accepted: (&str, &str)) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", accepted.0, accepted.1))
    );
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let expected = expected.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 8192];
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buffer[..n]).into_owned();
                // Header names are case-insensitive; the credentials are not.
                let authorization = request.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("authorization")
                        .then(|| value.trim().to_string())
                });
                let status = if !request.starts_with("GET /v2/ ") {
                    "404 Not Found"
                } else if authorization.as_deref() == Some(expected.as_str()) {
                    "200 OK"
                } else {
                    "401 Unauthorized"
                };
                let response = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    address
}

/// Gives the Image config the hostnames the operator publishes.
fn publish(server: &ApiServer, internal: &str, public: Option<&str>) {
    let mut image = server.object("config.openshift.io/v1", "Image", "", "cluster").unwrap();
    image["status"]["internalRegistryHostname"] = json!(internal);
    if let Some(p) = public {
        image["status"]["externalRegistryHostnames"] = json!([p]);
    }
    server.seed(image).unwrap();
}

async fn with_token(server: ApiServer) -> Running {
    let running = serve(server).await;
    running
        .listening
        .write_kubeconfig(&running.kubeconfig(), Some(TOKEN), Some("team-a"))
        .unwrap();
    running
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_prints_the_public_hostname_else_the_internal_one() {
    let running = serve(cluster(Platform::Aws, true)).await;
    let out = running.oc_registry(&["info"]).await;
    assert_eq!(
        text(&out.stdout),
        "image-registry.openshift-image-registry.svc:5000\n",
        "{}",
        text(&out.stderr)
    );
    let out = running.oc_registry(&["info", "--public"]).await;
    assert_eq!(code(&out), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: registry does not have public hostname"),
        "{}",
        text(&out.stderr)
    );

    publish(
        &running.server,
        "image-registry.openshift-image-registry.svc:5000",
        Some("registry.apps.example.com"),
    );
    assert_eq!(
        text(&running.oc_registry(&["info"]).await.stdout),
        "registry.apps.example.com\n"
    );
    assert_eq!(
        text(&running.oc_registry(&["info", "--internal"]).await.stdout),
        "image-registry.openshift-image-registry.svc:5000\n"
    );
    let both: Value = serde_json::from_slice(&running.oc_registry(&["info", "-o", "json"]).await.stdout).unwrap();
    assert_eq!(
        both,
        json!({"internal": "image-registry.openshift-image-registry.svc:5000", "public": "registry.apps.example.com"})
    );
    let out = running.oc_registry(&["info", "--public", "--internal"]).await;
    assert_eq!(code(&out), Some(1));
    let out = running.oc_registry(&["info", "-q"]).await;
    assert_eq!((code(&out), text(&out.stdout)), (Some(0), String::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_without_a_registry_says_so() {
    let running = serve(cluster(Platform::BareMetal, false)).await;
    let out = running.oc_registry(&["info"]).await;
    assert_eq!(code(&out), Some(1));
    assert!(
        text(&out.stderr).contains("the integrated registry has not been configured"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_check_asks_the_registry() {
    let host = registry(("user", TOKEN)).await;
    let server = cluster(Platform::Aws, true);
    publish(&server, "image-registry.openshift-image-registry.svc:5000", Some(&host));
    let running = serve(server).await;
    // The stand-in speaks plain HTTP: only --insecure falls back to it.
    let out = running.oc_registry(&["info", "--check", "--insecure"]).await;
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{host}\n"));
    let out = running.oc_registry(&["info", "--check"]).await;
    assert_eq!(code(&out), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("error: unable to ping registry {host}")),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_checks_and_merges_the_sessions_token() {
    let host = registry(("user", TOKEN)).await;
    let server = cluster(Platform::Aws, true);
    publish(&server, "image-registry.openshift-image-registry.svc:5000", Some(&host));
    let running = with_token(server).await;
    let file = running.dir.path().join("auth.json");
    std::fs::write(
        &file,
        r#"{"auths": {"quay.io": {"auth": "b3RoZXI6c2VjcmV0"}}, "credsStore": "desktop"}"#,
    )
    .unwrap();
    let to = file.to_str().unwrap();

    let out = running.oc_registry(&["login", "--insecure", "--to", to]).await;
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), format!("Saved credentials for {host}\n"));
    assert!(!text(&out.stdout).contains(TOKEN));
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("user:{TOKEN}"));
    assert_eq!(saved["auths"][&host], json!({"auth": auth}));
    assert_eq!(
        saved["auths"]["quay.io"],
        json!({"auth": "b3RoZXI6c2VjcmV0"}),
        "other entries are kept"
    );
    assert_eq!(saved["credsStore"], "desktop");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Refused credentials are not saved.
    let before = std::fs::read(&file).unwrap();
    let out = running
        .oc_registry(&[
            "login",
            "--insecure",
            "--to",
            to,
            "--auth-basic",
            "someone:wrong",
            "--registry",
            &host,
        ])
        .await;
    assert_eq!(code(&out), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("the registry {host} refused the credentials of someone")),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains("wrong"), "the password is not echoed");
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // --to - prints the entry, on request; --skip-check does not ask the registry.
    let out = running
        .oc_registry(&[
            "login",
            "--skip-check",
            "--to",
            "-",
            "--registry",
            "registry.example.com/team-a",
        ])
        .await;
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed,
        json!({"auths": {"registry.example.com/team-a": {"auth": auth}}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_file_is_replaced_whole_and_never_written_through_a_link() {
    let running = with_token(cluster(Platform::Aws, true)).await;
    let file = running.dir.path().join("auth.json");
    std::fs::write(&file, r#"{"auths": {"quay.io": {"auth": "b3RoZXI6c2VjcmV0"}}}"#).unwrap();
    let to = file.to_str().unwrap().to_string();
    // A reader that keeps reading while logins rewrite the file sees a whole JSON file every time.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (file, stop) = (file.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let bytes = std::fs::read(&file).unwrap();
                serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|e| {
                    panic!("a reader saw a partial file ({e}): {}", String::from_utf8_lossy(&bytes))
                });
                reads += 1;
            }
            reads
        })
    };
    for i in 0..5 {
        let registry = format!("registry-{i}.example.com");
        let out = running
            .oc_registry(&["login", "--skip-check", "--to", &to, "--registry", &registry])
            .await;
        assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["auths"].as_object().unwrap().len(), 6);

    // A link is not written through, wherever it points.
    let elsewhere = running.dir.path().join("elsewhere.json");
    std::fs::write(&elsewhere, "{}").unwrap();
    let link = running.dir.path().join("link.json");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let out = running
        .oc_registry(&[
            "login",
            "--skip-check",
            "--to",
            link.to_str().unwrap(),
            "--registry",
            "r.example.com",
        ])
        .await;
    assert_eq!(code(&out), Some(1));
    assert!(
        text(&out.stderr).contains("is a symbolic link"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "{}");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_as_a_service_account_and_without_a_token() {
    let server = cluster(Platform::Aws, true);
    server
        .seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}))
        .unwrap();
    server
        .seed(
            json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                     "metadata": {"name": "builder-token", "namespace": "team-a",
                                  "annotations": {"kubernetes.io/service-account.name": "builder"}},
                     "data": {"token": base64::engine::general_purpose::STANDARD.encode("sa-token")}}),
        )
        .unwrap();
    let host = registry(("system-serviceaccount-team-a-builder", "sa-token")).await;
    publish(&server, &host, None);
    let running = serve(server).await;
    running
        .listening
        .write_kubeconfig(&running.kubeconfig(), None, Some("team-a"))
        .unwrap();
    // The TokenRequest API issues the token (no token Secret is made since Kubernetes 1.24).
    running
        .server
        .seed(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "team-a"}}))
        .unwrap();
    let issued = running.dir.path().join("issued.json");
    let out = running
        .oc_registry(&[
            "login",
            "-z",
            "builder",
            "--skip-check",
            "--to",
            issued.to_str().unwrap(),
        ])
        .await;
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("info: the token issued for team-a/builder expires at "),
        "{}",
        text(&out.stderr)
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&issued).unwrap()).unwrap();
    let auth = saved["auths"][&host]["auth"].as_str().unwrap();
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(auth).unwrap()).unwrap();
    assert!(
        decoded.starts_with("system-serviceaccount-team-a-builder:sim-token.team-a.builder."),
        "{decoded}"
    );
    let requests = running.server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.method == "POST" && r.path == "/api/v1/namespaces/team-a/serviceaccounts/builder/token")
    );

    // A server without the TokenRequest API: the account's token Secret, checked with the registry.
    running.server.inject(Fault::new(
        Matcher::method("POST").and_path("/serviceaccounts/builder/token"),
        FaultAction::ServerError {
            code: 405,
            retry_after_seconds: 0,
        },
    ));
    let file = running.dir.path().join("sa.json");
    let out = running
        .oc_registry(&["login", "-z", "builder", "--insecure", "--to", file.to_str().unwrap()])
        .await;
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("info: Using internal registry hostname {host}")),
        "{}",
        text(&out.stderr)
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("system-serviceaccount-team-a-builder:sa-token");
    assert_eq!(saved["auths"][&host]["auth"], auth);

    // No token in the session and no other credentials: oc's error, nothing written.
    let out = running
        .oc_registry(&["login", "--to", running.dir.path().join("none.json").to_str().unwrap()])
        .await;
    assert_eq!(code(&out), Some(1));
    assert!(
        text(&out.stderr).contains("no token is currently in use for this session"),
        "{}",
        text(&out.stderr)
    );
    assert!(!running.dir.path().join("none.json").exists());
    let out = running
        .oc_registry(&["login", "-z", "nobody", "--skip-check", "--to", "-"])
        .await;
    assert_eq!(code(&out), Some(1));
    assert!(
        text(&out.stderr).contains("service account team-a/nobody not found (give its namespace with -n)"),
        "{}",
        text(&out.stderr)
    );
}
