//! Cluster access resolves to what kubectl resolves, for the same kubeconfig files, environment and
//! flags. kubectl is the oracle twice: `kubectl config view --minify --raw` for context selection,
//! and live HTTPS servers that record which server a request reached with which bearer token, for
//! the flags `config view` ignores (`--cluster`, `--user`, `--server`, `--token`).

use oc_registry::cluster::{AccessOptions, Environment};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use test_apiserver::{ApiServer, Settings};

const FILE_A: &str = r#"apiVersion: v1
kind: Config
clusters:
- name: c-a
  cluster: {server: "https://a.example.com:6443"}
- name: c-shared
  cluster: {server: "https://shared-a.example.com:6443"}
users:
- name: u-a
  user: {token: token-a}
contexts:
- name: ctx-a
  context: {cluster: c-a, user: u-a, namespace: team-a}
- name: ctx-shared
  context: {cluster: c-shared, user: u-a}
current-context: ctx-a
"#;

const FILE_B: &str = r#"apiVersion: v1
kind: Config
clusters:
- name: c-b
  cluster: {server: "https://b.example.com:6443"}
- name: c-shared
  cluster: {server: "https://shared-b.example.com:6443"}
users:
- name: u-b
  user: {token: token-b}
- name: u-a
  user: {token: token-a-from-b}
contexts:
- name: ctx-b
  context: {cluster: c-b, user: u-b, namespace: team-b}
current-context: ctx-b
"#;

struct Case {
    kubeconfig_env: Option<String>,
    kubeconfig_flag: Option<&'static str>,
    context: Option<&'static str>,
}

fn kubectl_minify(dir: &Path, case: &Case) -> (String, Option<String>, String) {
    let mut cmd = Command::new("kubectl");
    cmd.args(["config", "view", "--minify", "--raw", "-o", "json"])
        .env("HOME", dir)
        .env_remove("KUBECONFIG");
    if let Some(k) = &case.kubeconfig_env {
        cmd.env("KUBECONFIG", k);
    }
    if let Some(f) = case.kubeconfig_flag {
        cmd.arg("--kubeconfig").arg(dir.join(f));
    }
    if let Some(c) = case.context {
        cmd.arg(format!("--context={c}"));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let server = v["clusters"][0]["cluster"]["server"].as_str().unwrap().to_string();
    let token = v["users"][0]["user"]["token"].as_str().map(str::to_string);
    let namespace = v["contexts"][0]["context"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    (server, token, namespace)
}

#[tokio::test]
async fn context_selection_matches_kubectl_config_view() {
    if !crate::support::kubectl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), FILE_A).unwrap();
    std::fs::write(dir.path().join("b"), FILE_B).unwrap();
    let list = |names: &[&str]| {
        let paths: Vec<_> = names.iter().map(|n| dir.path().join(n)).collect();
        std::env::join_paths(paths).unwrap().to_string_lossy().into_owned()
    };
    let cases = [
        Case {
            kubeconfig_env: Some(list(&["a", "b"])),
            kubeconfig_flag: None,
            context: None,
        },
        Case {
            kubeconfig_env: Some(list(&["a", "b"])),
            kubeconfig_flag: None,
            context: Some("ctx-b"),
        },
        Case {
            kubeconfig_env: Some(list(&["b", "a"])),
            kubeconfig_flag: None,
            context: None,
        },
        Case {
            kubeconfig_env: Some(list(&["a", "b"])),
            kubeconfig_flag: None,
            context: Some("ctx-shared"),
        },
        Case {
            kubeconfig_env: Some(list(&["b", "missing", "a"])),
            kubeconfig_flag: None,
            context: Some("ctx-shared"),
        },
        Case {
            kubeconfig_env: Some(list(&["a", "b"])),
            kubeconfig_flag: Some("b"),
            context: None,
        },
        Case {
            kubeconfig_env: Some(list(&["a", "b"])),
            kubeconfig_flag: None,
            context: Some(""),
        },
    ];
    for case in &cases {
        let expected = kubectl_minify(dir.path(), case);
        let options = AccessOptions {
            kubeconfig: case.kubeconfig_flag.map(|f| dir.path().join(f)),
            context: case.context.map(str::to_string),
            ..AccessOptions::default()
        };
        let env = Environment {
            kubeconfig: case.kubeconfig_env.clone().map(Into::into),
            home: Some(dir.path().into()),
        };
        let access = options.resolve_in(&env).await.unwrap();
        let server = access.config.cluster_url.to_string();
        let token = access
            .config
            .auth_info
            .token
            .as_ref()
            .map(|t| t.expose_secret().to_string());
        assert_eq!(
            (
                server.trim_end_matches('/').to_string(),
                token,
                access.namespace.clone()
            ),
            expected,
            "KUBECONFIG={:?} --kubeconfig={:?} --context={:?}",
            case.kubeconfig_env,
            case.kubeconfig_flag,
            case.context
        );
    }
    // With no kubeconfig anywhere, ~/.kube/config is read.
    std::fs::create_dir_all(dir.path().join(".kube")).unwrap();
    std::fs::copy(dir.path().join("b"), dir.path().join(".kube/config")).unwrap();
    let home_case = Case {
        kubeconfig_env: None,
        kubeconfig_flag: None,
        context: None,
    };
    let expected = kubectl_minify(dir.path(), &home_case);
    let env = Environment {
        kubeconfig: None,
        home: Some(dir.path().into()),
    };
    let access = AccessOptions::default().resolve_in(&env).await.unwrap();
    assert_eq!(access.config.cluster_url.to_string().trim_end_matches('/'), expected.0);
    assert_eq!(access.namespace, expected.2);
}

#[tokio::test]
async fn missing_context_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), FILE_A).unwrap();
    let options = AccessOptions {
        context: Some("nope".into()),
        ..AccessOptions::default()
    };
    let env = Environment {
        kubeconfig: Some(dir.path().join("a").into()),
        home: None,
    };
    let err = options.resolve_in(&env).await.err().expect("unknown context");
    assert!(
        err.to_string()
            .contains("context was not found for specified context: nope"),
        "{err}"
    );
}

/// Which server got the `/version` requests since the last call, and with which Authorization
/// header (kubectl's version dispatcher asks once more, the same way).
fn last_request(servers: &[(&str, &ApiServer)]) -> (String, Option<String>) {
    let mut hits: Vec<(String, Option<String>)> = servers
        .iter()
        .flat_map(|(name, s)| {
            s.requests()
                .into_iter()
                .filter(|r| r.path == "/version")
                .map(|r| (name.to_string(), r.authorization))
        })
        .collect();
    hits.dedup();
    assert_eq!(
        hits.len(),
        1,
        "expected /version requests to one server with one token, got {hits:?}"
    );
    for (_, s) in servers {
        s.clear_log();
    }
    hits.pop().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_reach_the_same_server_with_the_same_token_as_kubectl() {
    if !crate::support::kubectl_available() {
        return;
    }
    let server_a = ApiServer::new(Settings::default());
    let server_b = ApiServer::new(Settings::default());
    let a = server_a.listen_https(0).await.unwrap();
    let b = server_b.listen_https(0).await.unwrap();
    use base64::Engine as _;
    let ca =
        |l: &test_apiserver::Listening| base64::engine::general_purpose::STANDARD.encode(l.ca_pem.as_ref().unwrap());
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c-a\n  cluster: {{server: \"{}\", certificate-authority-data: {}}}\n- name: c-b\n  cluster: {{server: \"{}\", certificate-authority-data: {}}}\nusers:\n- name: u-a\n  user: {{token: token-a}}\n- name: u-b\n  user: {{token: token-b}}\ncontexts:\n- name: ctx-a\n  context: {{cluster: c-a, user: u-a}}\ncurrent-context: ctx-a\n",
        a.url,
        ca(&a),
        b.url,
        ca(&b)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, kubeconfig).unwrap();
    let servers = [("a", &server_a), ("b", &server_b)];
    let b_url = b.url.clone();
    let cases: Vec<(Vec<String>, AccessOptions)> = vec![
        (vec![], AccessOptions::default()),
        (
            vec!["--cluster=c-b".into()],
            AccessOptions {
                cluster: Some("c-b".into()),
                ..Default::default()
            },
        ),
        (
            vec!["--user=u-b".into()],
            AccessOptions {
                user: Some("u-b".into()),
                ..Default::default()
            },
        ),
        (
            vec!["--token=override".into()],
            AccessOptions {
                token: Some("override".into()),
                ..Default::default()
            },
        ),
        (
            vec![format!("--server={b_url}"), "--insecure-skip-tls-verify".into()],
            AccessOptions {
                server: Some(b_url.clone()),
                insecure_skip_tls_verify: true,
                ..Default::default()
            },
        ),
    ];
    for (flags, mut options) in cases {
        let out = Command::new("kubectl")
            .args(["get", "--raw", "/version", "--kubeconfig"])
            .arg(&path)
            .args(&flags)
            .env("HOME", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl {flags:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let kubectl_hit = last_request(&servers);

        options.kubeconfig = Some(path.clone());
        let access = options.resolve_in(&Environment::default()).await.unwrap();
        let client = kube::Client::try_from(access.config).unwrap();
        client.apiserver_version().await.unwrap();
        let our_hit = last_request(&servers);
        assert_eq!(our_hit, kubectl_hit, "flags {flags:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_carry_the_user_agent() {
    let server = ApiServer::new(Settings::default());
    let listening = server.listen_http(0).await.unwrap();
    let options = AccessOptions {
        server: Some(listening.url.clone()),
        ..Default::default()
    };
    let access = options.resolve_in(&Environment::default()).await.unwrap();
    let client = kube::Client::try_from(access.config).unwrap();
    client.apiserver_version().await.unwrap();
    let ua = server.requests().last().unwrap().user_agent.clone().unwrap();
    assert_eq!(ua, format!("oc-registry/{}", env!("CARGO_PKG_VERSION")));
}
