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
