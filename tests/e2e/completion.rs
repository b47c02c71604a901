//! Completion as users get it: the bash script driven by bash's own completion machinery
//! (`complete`, `COMP_WORDS`, `COMPREPLY`), and `kubectl registry <TAB>` through the real kubectl,
//! which runs `kubectl_complete-registry`; both offer what only the cluster knows (routes,
//! trusted registries) and the kubeconfig's contexts.

use crate::support::{cluster, serve};
use std::path::Path;
use std::process::Command;
use test_apiserver::Platform;

const OC_REGISTRY: &str = env!("CARGO_BIN_EXE_oc-registry");

/// What bash offers for `line` (the cursor at its end), using the completion the script
/// registered, with the program on PATH as installed.
fn bash_complete(line: &str) -> Vec<String> {
    bash_complete_with(line, &[])
}

fn bash_complete_with(line: &str, env: &[(&str, &str)]) -> Vec<String> {
    let installed = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(OC_REGISTRY, installed.path().join("oc-registry")).unwrap();
    let script = format!(
        r#"source <(oc-registry completion bash)
        line='{line}'
        read -r -a COMP_WORDS <<< "$line"
        [[ "$line" == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
        COMP_LINE="$line"; COMP_POINT=${{#line}}
        func=$(complete -p oc-registry | sed -E 's/.*-F ([^ ]+).*/\1/')
        prev=""; (( COMP_CWORD > 0 )) && prev="${{COMP_WORDS[COMP_CWORD-1]}}"
        "$func" oc-registry "${{COMP_WORDS[COMP_CWORD]}}" "$prev"
        printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", with_plugins(installed.path()))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_commands_flags_and_values() {
    assert!(bash_complete("oc-registry pol").contains(&"policy".to_string()));
    let sub = bash_complete("oc-registry policy ");
    for c in ["list", "eval", "check", "new"] {
        assert!(sub.contains(&c.to_string()), "{sub:?}");
    }
    assert_eq!(bash_complete("oc-registry status --output y"), ["yaml"]);
    assert!(bash_complete("oc-registry status --kubec").contains(&"--kubeconfig".to_string()));
}

#[test]
fn zsh_and_fish_scripts_are_generated() {
    for (shell, marker) in [("zsh", "#compdef oc-registry"), ("fish", "complete -c oc-registry")] {
        let out = Command::new(OC_REGISTRY).args(["completion", shell]).output().unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains(marker), "{shell}");
    }
    let bad = Command::new(OC_REGISTRY).args(["completion", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
}

fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // The one executable, under the names the release archive gives it.
    for name in ["kubectl-registry", "kubectl_complete-registry"] {
        std::os::unix::fs::symlink(OC_REGISTRY, dir.path().join(name)).unwrap();
    }
    dir
}

fn with_plugins(dir: &Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

#[test]
fn kubectl_completes_the_plugin_through_kubectl_complete_registry() {
    if !crate::support::kubectl_available() {
        return;
    }
    let plugins = plugin_dir();
    let home = tempfile::tempdir().unwrap();
    let complete = |words: &[&str]| {
        let out = Command::new("kubectl")
            .arg("__complete")
            .arg("registry")
            .args(words)
            .env("PATH", with_plugins(plugins.path()))
            .env("HOME", home.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let top = complete(&[""]);
    assert!(
        top.lines().any(|l| l == "status") && top.lines().any(|l| l == "policy"),
        "{top}"
    );
    assert_eq!(
        top.lines().last(),
        Some(":4"),
        "no file completion among commands: {top}"
    );
    assert_eq!(
        complete(&["status", "-o", ""]).lines().collect::<Vec<_>>(),
        ["json", "yaml", "name", "wide", "jsonpath=", ":4"]
    );
    assert_eq!(
        complete(&["--kubeconfig", ""]).lines().collect::<Vec<_>>(),
        [":0"],
        "file names for --kubeconfig"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_trusted_hosts_and_contexts_complete_from_the_cluster() {
    let running = serve(cluster(Platform::Aws, true)).await;
    running
        .oc_registry_ok(&[
            "routes",
            "add",
            "public-registry",
            "--hostname",
            "registry.apps.example.com",
        ])
        .await;
    running.oc_registry_ok(&["routes", "add", "partners"]).await;
    crate::support::trust_a_registry(&running).await;
    let kubeconfig = running.kubeconfig();
    let env = [("KUBECONFIG", kubeconfig.to_str().unwrap())];
    let bash = |line: &str| {
        let mut got = bash_complete_with(line, &env);
        got.sort();
        got
    };
    assert_eq!(bash("oc-registry routes remove "), ["partners", "public-registry"]);
    assert_eq!(bash("oc-registry routes remove pu"), ["public-registry"]);
    assert_eq!(bash("oc-registry trust remove "), ["registry.example.com:5000"]);
    let contexts = bash("oc-registry status --context ");
    assert!(!contexts.is_empty(), "the kubeconfig's contexts");
    // Another cluster than the kubeconfig's (nothing listens there): nothing, and quickly.
    assert!(bash("oc-registry --server http://127.0.0.1:1 routes remove ").is_empty());

    if !crate::support::kubectl_available() {
        return;
    }
    let plugins = plugin_dir();
    let out = Command::new("kubectl")
        .args(["__complete", "registry", "routes", "remove", ""])
        .env("PATH", with_plugins(plugins.path()))
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let said = String::from_utf8(out.stdout).unwrap();
    let mut lines: Vec<&str> = said.lines().collect();
    lines.sort();
    assert_eq!(lines, [":4", "partners", "public-registry"], "{said}");
}
