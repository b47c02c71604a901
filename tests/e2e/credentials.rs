//! `oc-registry storage credentials set|show|unset`: values from files, standard input and the
//! environment reach the Secret; the key set is checked before anything is written; no value is
//! ever printed.

use crate::support::{Running, cluster, serve, text};
use base64::Engine as _;
use serde_json::Value;
use test_apiserver::Platform;

const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

async fn stored(running: &Running) -> Option<Value> {
    running
        .kubectl_get(&[
            "secret",
            "image-registry-private-configuration-user",
            "-n",
            "openshift-image-registry",
        ])
        .await
}

fn decoded(secret: &Value, key: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD
        .decode(secret["data"][key].as_str().unwrap())
        .unwrap();
    String::from_utf8(b).unwrap()
}

async fn run_with_env(
    running: &Running,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(crate::support::OC_REGISTRY);
    cmd.args(args)
        .env("KUBECONFIG", running.kubeconfig())
        .env("HOME", running.dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default().as_bytes()).await.unwrap();
    drop(input);
    child.wait_with_output().await.unwrap()
}

fn assert_never_printed(out: &std::process::Output) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    for secret in [SECRET_KEY, ACCESS_KEY, "hunter2"] {
        assert!(!all.contains(secret), "a credential was printed: {all}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_show_and_unset_without_printing_a_value() {
    let running = serve(cluster(Platform::Aws, false)).await;
    let key_file = running.dir.path().join("access-key");
    std::fs::write(&key_file, format!("{ACCESS_KEY}\n")).unwrap();
    let access = format!("access-key=@{}", key_file.display());
    let out = run_with_env(
        &running,
        &[
            "storage",
            "credentials",
            "set",
            "s3",
            &access,
            "secret-key=env:TEST_SECRET_KEY",
        ],
        &[("TEST_SECRET_KEY", SECRET_KEY)],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_never_printed(&out);
    assert!(text(&out.stdout).contains("REGISTRY_STORAGE_S3_SECRETKEY: sha256:"));
    let secret = stored(&running).await.unwrap();
    assert_eq!(
        decoded(&secret, "REGISTRY_STORAGE_S3_ACCESSKEY"),
        ACCESS_KEY,
        "the newline is not part of the key"
    );
    assert_eq!(decoded(&secret, "REGISTRY_STORAGE_S3_SECRETKEY"), SECRET_KEY);

    let out = running.oc_registry(&["storage", "credentials", "show"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_never_printed(&out);
    let shown = text(&out.stdout);
    assert!(shown.contains("Complete for:  s3, ibmcos"), "{shown}");
    assert!(shown.contains("REGISTRY_STORAGE_S3_ACCESSKEY"), "{shown}");
    let out = running
        .oc_registry(&["storage", "credentials", "show", "-o", "json"])
        .await;
    assert_never_printed(&out);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["keys"]["REGISTRY_STORAGE_S3_SECRETKEY"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // The registry now renders the user's credentials; reconcile prints none of them either.
    let out = running.oc_registry(&["reconcile"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_never_printed(&out);
    let out = running.oc_registry(&["diff"]).await;
    assert_never_printed(&out);

    // Another driver's keys replace the set (asked for with --force, as the registry runs on
    // S3); from standard input.
    let out = run_with_env(
        &running,
        &["storage", "credentials", "set", "azure", "account-key=-"],
        &[],
        Some("hunter2\n"),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--force"), "{}", text(&out.stderr));
    let out = run_with_env(
        &running,
        &["storage", "credentials", "set", "azure", "account-key=-", "--force"],
        &[],
        Some("hunter2\n"),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_never_printed(&out);
    let secret = stored(&running).await.unwrap();
    assert_eq!(decoded(&secret, "REGISTRY_STORAGE_AZURE_ACCOUNTKEY"), "hunter2");
    assert!(secret["data"].get("REGISTRY_STORAGE_S3_ACCESSKEY").is_none());

    let out = running.oc_registry(&["storage", "credentials", "unset"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(stored(&running).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_credential_and_writes_nothing() {
    let running = serve(cluster(Platform::Aws, false)).await;
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "s3",
                "access-key=env:UNSET_VARIABLE_X",
                "secret-key=env:TEST_SECRET_KEY",
            ],
            "UNSET_VARIABLE_X is not set",
        ),
        (
            vec!["s3", "access-key=env:TEST_SECRET_KEY"],
            "access-key and secret-key",
        ),
        (
            vec!["s3", "password=env:TEST_SECRET_KEY", "secret-key=env:TEST_SECRET_KEY"],
            "not a s3 credential",
        ),
        (
            vec!["s3", "access-key=hunter2", "secret-key=env:TEST_SECRET_KEY"],
            "--allow-literal",
        ),
        (vec!["s3", "hunter2"], "NAME=SOURCE"),
        (vec!["gcs", "keyfile=@/no/such/keyfile.json"], "keyfile: cannot read"),
        (
            vec!["swift", "username=env:TEST_SECRET_KEY", "token-id=env:TEST_SECRET_KEY"],
            "username and password",
        ),
    ];
    running.server.clear_log();
    for (args, expected) in cases {
        let mut all = vec!["storage", "credentials", "set"];
        all.extend(args.iter());
        let out = run_with_env(&running, &all, &[("TEST_SECRET_KEY", SECRET_KEY)], None).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_never_printed(&out);
    }
    assert!(running.server.writes().is_empty(), "{:?}", running.server.writes());
    assert!(stored(&running).await.is_none());

    // With the explicit flag a literal is accepted (and still not printed).
    let out = run_with_env(
        &running,
        &[
            "storage",
            "credentials",
            "set",
            "swift",
            "token-id=hunter2",
            "--allow-literal",
            "--dry-run=server",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_never_printed(&out);
    assert!(stored(&running).await.is_none(), "a dry run stores nothing");
}
