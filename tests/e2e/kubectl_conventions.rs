//! kubectl's habits, as scripts and fingers rely on them: a value for an optional-value flag
//! needs `=`, a command group without a command prints its help on standard output and exits 0,
//! `help CMD` works, and reads survive a server that asks them to come back later.

use crate::support::{OC_REGISTRY, cluster, serve, text};
use std::process::Command;
use test_apiserver::{Fault, FaultAction, Matcher, Platform};

fn run(args: &[&str]) -> std::process::Output {
    Command::new(OC_REGISTRY)
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("HOME")
        .output()
        .unwrap()
}

#[test]
fn an_optional_value_needs_an_equals_sign() {
    // The flag takes no value from the next word: the command runs (and fails for want of a
    // cluster, not of a flag value).
    for args in [
        &["--insecure-skip-tls-verify", "status"][..],
        &["set", "replicas", "--dry-run", "4"],
    ] {
        let out = run(args);
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("invalid value"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no configuration has been provided"),
            "{args:?}: {stderr}"
        );
    }
    let out = run(&["set", "replicas", "--dry-run=bogus", "4"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("invalid value 'bogus' for '--dry-run"));
}

#[test]
fn a_group_without_a_command_prints_its_help() {
    for args in [&[][..], &["set"], &["storage"], &["policy"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Usage:"), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
    }
    let out = run(&["help", "status"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Show the registry's state"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_waits_out_a_server_that_asks_it_to_come_back() {
    let running = serve(cluster(Platform::Aws, true)).await;
    running.server.inject(
        Fault::new(
            Matcher::method("GET").and_path("/configs/cluster"),
            FaultAction::ServerError {
                code: 429,
                retry_after_seconds: 1,
            },
        )
        .times(2),
    );
    running.server.inject(
        Fault::new(
            Matcher::method("GET").and_path("/deployments/image-registry"),
            FaultAction::ServerError {
                code: 503,
                retry_after_seconds: 0,
            },
        )
        .times(1),
    );
    let out = running.run(OC_REGISTRY, &["status"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Registry:"));
}

/// `kubectl diff -f` of one ConfigMap and `oc-registry diff`, run against the same failing
/// cluster: both exit 2 for an error, as `kubectl diff` documents (1 is "differences found").
async fn diff_exit_codes(running: &crate::support::Running, extra: &[&str]) -> (Option<i32>, Option<i32>) {
    let file = running.dir.path().join("configmap.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe, namespace: default}\ndata: {a: b}\n",
    )
    .unwrap();
    let mut kubectl_args = vec!["diff", "-f", file.to_str().unwrap()];
    kubectl_args.extend(extra);
    let kubectl = running.kubectl(&kubectl_args).await;
    let mut ours = vec!["diff"];
    ours.extend(extra);
    let ours = running.run(OC_REGISTRY, &ours).await;
    (kubectl.status.code(), ours.status.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_exits_2_for_every_error_as_kubectl_diff_does() {
    if !crate::support::kubectl_available() {
        return;
    }
    let running = serve(cluster(Platform::Aws, true)).await;
    // A context the kubeconfig does not have, and a server nothing listens on.
    assert_eq!(
        diff_exit_codes(&running, &["--context", "nope"]).await,
        (Some(2), Some(2))
    );
    assert_eq!(
        diff_exit_codes(&running, &["--server", "http://127.0.0.1:1"]).await,
        (Some(2), Some(2))
    );
    // Every request refused.
    running.server.inject(Fault::new(
        Matcher::any(),
        FaultAction::ServerError {
            code: 403,
            retry_after_seconds: 0,
        },
    ));
    assert_eq!(diff_exit_codes(&running, &[]).await, (Some(2), Some(2)));
    running.server.clear_faults();

    // A cluster that is not OpenShift: nothing for kubectl to compare it with, and an error here.
    let plain = serve(test_apiserver::ApiServer::new(test_apiserver::Settings::default())).await;
    let out = plain.run(OC_REGISTRY, &["diff"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbosity_shows_requests_and_bodies_with_secrets_masked() {
    use base64::Engine as _;
    let running = serve(cluster(Platform::Aws, true)).await;
    let http_secret = "5f1c0ffee0ddba11d00dfeedfacecafe";
    let key = base64::engine::general_purpose::STANDARD.encode("simulated/secret/access/key/000000000000");

    let out = running.run(OC_REGISTRY, &["status", "-v=6"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| {
            l.contains("GET http://") && l.contains("/apis/imageregistry.operator.openshift.io/v1/configs/cluster")
        })
        .unwrap_or_else(|| panic!("no request line: {stderr}"));
    assert!(
        line.starts_with('I') && line.contains(" 200 OK in ") && line.ends_with(" milliseconds"),
        "{line}"
    );
    assert!(!stderr.contains("Response Body"), "{stderr}");
    // The standard output is the same as without -v.
    assert!(text(&out.stdout).starts_with("Registry:"));

    // A pass reads the Config (its httpSecret) and every Secret in the namespace (the cloud keys).
    let out = running
        .run(OC_REGISTRY, &["reconcile", "--dry-run=client", "-v=8"])
        .await;
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Response Body: {"), "{stderr}");
    assert!(
        stderr.contains("\"kind\":\"SecretList\""),
        "the Secrets were read: {stderr}"
    );
    assert!(!stderr.contains(http_secret), "the httpSecret was shown");
    assert!(!stderr.contains(&key), "a cloud key was shown");
    assert!(!stderr.contains("Bearer"), "a header was shown");
}

/// Runs the program on a pseudo-terminal (util-linux `script`) and returns what it wrote there.
fn on_a_terminal(args: &str, no_color: bool) -> Option<String> {
    let mut command = Command::new("script");
    command
        .args(["-qec", &format!("{OC_REGISTRY} {args}"), "/dev/null"])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("NO_COLOR");
    if no_color {
        command.env("NO_COLOR", "1");
    }
    let out = command.output().ok()?;
    Some(text(&out.stdout))
}

#[test]
fn errors_are_coloured_on_a_terminal_only() {
    let Some(coloured) = on_a_terminal("status", false) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "script (util-linux) is required under CI=true"
        );
        eprintln!("SKIPPED: script (util-linux) is not installed");
        return;
    };
    assert!(
        coloured.contains("\x1b[1;31merror:\x1b[0m invalid configuration"),
        "{coloured:?}"
    );
    let plain = on_a_terminal("status", true).unwrap();
    assert!(
        plain.contains("error: invalid configuration") && !plain.contains('\x1b'),
        "{plain:?}"
    );
    let piped = run(&["status"]);
    assert!(!text(&piped.stderr).contains('\x1b'));
}

#[test]
fn global_options_are_listed_once_under_options() {
    let help = text(&run(&["status", "--help"]).stdout);
    assert!(!help.contains("--kubeconfig"), "{help}");
    assert!(
        help.contains(
            "Use \"oc-registry options\" for a list of global command-line options (applies to all commands)."
        ),
        "{help}"
    );
    let options = run(&["options"]);
    assert_eq!(options.status.code(), Some(0));
    let listed = text(&options.stdout);
    for flag in [
        "--kubeconfig",
        "--context",
        "--server",
        "--token",
        "--request-timeout",
        "--v",
        "--policy-config",
    ] {
        assert!(listed.contains(flag), "{flag}: {listed}");
    }
    // The flags still work wherever they are given.
    let out = run(&["status", "--kubeconfig", "/nonexistent/other"]);
    assert!(
        text(&out.stderr).contains("/nonexistent/other"),
        "{}",
        text(&out.stderr)
    );
    // Under krew, the pointer names the plugin.
    let plugin = Command::new(crate::support::installed_as("kubectl-registry"))
        .args(["status", "--help"])
        .output()
        .unwrap();
    assert!(text(&plugin.stdout).contains("Use \"kubectl registry options\""));
}

#[test]
fn a_namespace_is_refused_where_it_means_nothing() {
    let out = run(&["status", "-n", "team-a"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("-n/--namespace \"team-a\" means nothing here") && stderr.contains("drop -n"),
        "{stderr}"
    );
    // Where it names something, it is taken (and the command goes on to want a cluster).
    let out = run(&["login", "-z", "builder", "-n", "team-a"]);
    assert!(!text(&out.stderr).contains("means nothing"), "{}", text(&out.stderr));
}

#[test]
fn a_missing_kubeconfig_is_said_once_as_kubectl_says_it() {
    let out = run(&["status", "--kubeconfig", "/nonexistent/config"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: stat /nonexistent/config: no such file or directory\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hints_name_the_command_as_it_was_invoked() {
    // A cluster without a registry Config: every read suggests bootstrapping.
    let running = serve(cluster(Platform::None, false)).await;
    let plugin = crate::support::installed_as("kubectl-registry");
    let status = running.run(&plugin, &["status"]).await;
    let said = text(&status.stdout);
    assert!(said.contains("kubectl registry bootstrap"), "{said}");
    assert!(!said.contains("oc-registry bootstrap"), "{said}");
    let doctor = running.run(&plugin, &["doctor"]).await;
    let said = text(&doctor.stdout);
    assert!(said.contains("fix: kubectl registry "), "{said}");
    assert!(!said.contains("oc-registry "), "{said}");
    // Errors and help too.
    let set = running.run(&plugin, &["set", "replicas", "2"]).await;
    let said = text(&set.stderr);
    assert!(said.contains("`kubectl registry bootstrap`"), "{said}");
    let help = Command::new(&plugin)
        .args(["set", "management-state", "--help"])
        .output()
        .unwrap();
    // Help wraps lines: compare words.
    let said = text(&help.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        said.contains("kubectl registry set storage-management-state Unmanaged"),
        "{said}"
    );
    // Invoked by its own name, it names itself.
    let status = running.run(OC_REGISTRY, &["status"]).await;
    assert!(text(&status.stdout).contains("oc-registry bootstrap"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_and_status_watch_follow_the_registry() {
    let running = serve(cluster(Platform::Aws, true)).await;
    running.oc_registry_ok(&["reconcile", "--wait"]).await;
    let met = running
        .oc_registry_ok(&[
            "wait",
            "--for",
            "condition=Available",
            "--for",
            "jsonpath={.spec.replicas}=2",
        ])
        .await;
    assert_eq!(
        met,
        "config.imageregistry.operator.openshift.io/cluster condition met\n"
    );
    let out = running
        .run(OC_REGISTRY, &["wait", "--for", "condition=Degraded", "--timeout", "1s"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stderr);
    assert_eq!(said, "error: timed out waiting for the condition on configs/cluster\n");
    if crate::support::kubectl_available() {
        let kubectl = running
            .kubectl(&[
                "wait",
                "--for=condition=Degraded",
                "configs.imageregistry.operator.openshift.io/cluster",
                "--timeout=1s",
            ])
            .await;
        assert_eq!((kubectl.status.code(), text(&kubectl.stderr)), (Some(1), said));
    }

    // status -w: a line when the registry's state changes.
    let mut watch = running
        .command(OC_REGISTRY)
        .args(["status", "-w"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(watch.stdout.take().unwrap()));
    // The status first, to its last line.
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.starts_with("Operator:") || line.starts_with("ClusterOperator") {
            break;
        }
    }
    running.oc_registry_ok(&["set", "replicas", "3"]).await;
    running.oc_registry_ok(&["reconcile"]).await;
    let changed = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            let line = lines.next_line().await.unwrap().unwrap();
            if line.contains("Managed: ") && line.contains("/3 ready") {
                return line;
            }
        }
    })
    .await
    .expect("a line for the change within a minute");
    assert!(changed.contains("Available="), "{changed}");
    watch.kill().await.unwrap();
}
