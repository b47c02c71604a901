//! `oc-registry policy …` end to end: configuration sources and pins, the cluster-wide ConfigMap
//! enforcing an organisation's admission policy, the example policies (one in C), the scaffold.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use test_apiserver::{ApiServer, Platform, Settings};

const OC_REGISTRY: &str = env!("CARGO_BIN_EXE_oc-registry");

use crate::support::{example_policies as examples, workspace};

fn sha256(path: &Path) -> String {
    oc_registry::policy::sha256_hex(&std::fs::read(path).unwrap())
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// A policy configuration beside a copy of `module`, pinned with `pin` (the real digest when None).
    fn config(&self, module: &str, hooks: &str, pin: Option<&str>) -> PathBuf {
        let file = format!("{}.wasm", module.replace('-', "_"));
        std::fs::copy(examples().join(&file), self.path(&file)).unwrap();
        let digest = pin.map(str::to_string).unwrap_or_else(|| sha256(&self.path(&file)));
        self.write(
            "policies.yaml",
            &format!("modules:\n- name: {module}\n  path: {file}\n  sha256: {digest}\nhooks:\n{hooks}\n"),
        )
    }

    fn run(&self, args: &[&str], kubeconfig: Option<&Path>) -> Output {
        let mut cmd = Command::new(OC_REGISTRY);
        cmd.args(args)
            .env("HOME", self.dir.path())
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env_remove("OC_REGISTRY_POLICY_CONFIG")
            .env_remove("XDG_CONFIG_HOME");
        match kubeconfig {
            Some(k) => cmd.env("KUBECONFIG", k),
            None => cmd.env("KUBECONFIG", self.path("no-kubeconfig")),
        };
        cmd.output().unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn change_to_emptydir() -> Value {
    json!({"operation": "update", "kind": "Config",
           "current": {"spec": {"managementState": "Managed", "replicas": 1, "storage": {"pvc": {"claim": "c"}}}},
           "proposed": {"spec": {"managementState": "Managed", "replicas": 1, "storage": {"emptyDir": {}}}}})
}

#[test]
fn list_shows_the_builtins_and_the_configured_modules() {
    let env = Env::new();
    let config = env.config("require-s3-kms", "  admission: [require-s3-kms]", None);
    let out = env.run(
        &[
            "policy",
            "list",
            "-o",
            "json",
            "--policy-config",
            config.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["builtin-storage", "builtin-pruner", "require-s3-kms"]);
    let org = &v["modules"][2];
    assert_eq!(org["hooks"], json!(["admission"]));
    assert_eq!(org["sha256"], sha256(&env.path("require_s3_kms.wasm")));
    assert!(org["source"].as_str().unwrap().starts_with("file "));
    assert!(text(&out.stderr).contains("the cluster's policies are unknown"));
    let table = env.run(&["policy", "list", "--policy-config", config.to_str().unwrap()], None);
    assert!(text(&table.stdout).starts_with("NAME"), "{}", text(&table.stdout));
}

#[test]
fn a_builtin_assigned_a_hook_it_does_not_serve_is_refused_at_load() {
    let env = Env::new();
    let config = env.write("policies.yaml", "hooks:\n  admission: [builtin-storage]\n");
    let out = env.run(&["policy", "list", "--policy-config", config.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("\"builtin-storage\"") && err.contains("assigned hook admission, but declares only: storage"),
        "{err}"
    );
}

#[test]
fn a_module_whose_digest_differs_from_its_pin_is_refused() {
    let env = Env::new();
    let config = env.config("require-s3-kms", "  admission: [require-s3-kms]", Some(&"0".repeat(64)));
    let out = env.run(&["policy", "list", "--policy-config", config.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("but the configuration pins 0000"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("refusing to run it"));
    let unpinned = env.write("unpinned.yaml", "modules:\n- name: x\n  path: x.wasm\n  sha256: \"\"\n");
    let out = env.run(&["policy", "list", "--policy-config", unpinned.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("needs sha256"), "{}", text(&out.stderr));
    let typo = env.write("typo.yaml", "hook:\n  admission: []\n");
    let out = env.run(&["policy", "list", "--policy-config", typo.to_str().unwrap()], None);
    assert!(text(&out.stderr).contains("unknown field"), "{}", text(&out.stderr));
}

#[test]
fn the_example_policies_decide_as_documented() {
    let env = Env::new();
    let config = env.config("min-prune-age", "  admission: [min-prune-age]", None);
    let c = config.to_str().unwrap();
    let short = env.write(
        "short.json",
        r#"{"operation":"update","kind":"ImagePruner","proposed":{"spec":{"keepYoungerThanDuration":"60m"}}}"#,
    );
    let out = env.run(
        &[
            "policy",
            "eval",
            "admission",
            "-f",
            short.to_str().unwrap(),
            "--policy-config",
            c,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("keepYoungerThanDuration 60m is shorter than the required 24h"));
    let long = env.write(
        "long.yaml",
        "operation: update\nkind: ImagePruner\nproposed:\n  spec:\n    keepYoungerThanDuration: 48h\n",
    );
    let out = env.run(
        &[
            "policy",
            "eval",
            "admission",
            "-f",
            long.to_str().unwrap(),
            "--policy-config",
            c,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let s3 = env.write("s3.json", r#"{"operation":"update","kind":"Config","proposed":{"spec":{"storage":{"s3":{"bucket":"b","encrypt":true}}}}}"#);
    let out = env.run(
        &[
            "policy",
            "eval",
            "admission",
            "-f",
            s3.to_str().unwrap(),
            "--module",
            examples().join("require_s3_kms.wasm").to_str().unwrap(),
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["module"], "require-s3-kms");
    assert!(v["response"]["reasons"][0].as_str().unwrap().contains("KMS"));

    let rwo = json!({"operation": "update", "kind": "Config",
        "proposed": {"spec": {"replicas": 2, "storage": {"pvc": {"claim": "c"}}}},
        "facts": {"pvc": {"name": "c", "accessModes": ["ReadWriteOnce"]}}});
    let f = env.write("rwo.json", &rwo.to_string());
    let out = env.run(
        &[
            "policy",
            "eval",
            "admission",
            "-f",
            f.to_str().unwrap(),
            "--module",
            examples().join("forbid_emptydir.wasm").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("a ReadWriteOnce claim cannot serve 2 registry replicas"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_policy_in_the_cluster_denies_a_change_for_every_admin() {
    let server = ApiServer::new(Settings::default());
    server.seed_openshift(Platform::Aws).unwrap();
    let module = std::fs::read(examples().join("forbid_emptydir.wasm")).unwrap();
    crate::support::install_policies(
        &server,
        &[("forbid-emptydir", module)],
        "  admission: [forbid-emptydir]\n",
    );
    let listening = server.listen_http(0).await.unwrap();
    let env = Env::new();
    let kubeconfig = env.path("kubeconfig");
    listening.write_kubeconfig(&kubeconfig, None, None).unwrap();
    let change = env.write("change.json", &change_to_emptydir().to_string());
    // An admin's local configuration that lists no admission modules cannot switch the cluster's off.
    let local = env.write("mine.yaml", "hooks:\n  admission: []\n");
    let (kc, change, local) = (
        kubeconfig.clone(),
        change.to_str().unwrap().to_string(),
        local.to_str().unwrap().to_string(),
    );
    let out = tokio::task::spawn_blocking(move || {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
        .run(
            &["policy", "eval", "admission", "-f", &change, "--policy-config", &local],
            Some(&kc),
        )
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("forbid-emptydir (cluster configmap openshift-image-registry/oc-registry-policies): DENIED"),
        "{stdout}"
    );
    assert!(stdout.contains("emptyDir registry storage is forbidden"), "{stdout}");
    assert!(text(&out.stderr).contains("error: the admission policy denied the change"));

    let kc = kubeconfig.clone();
    let listed = tokio::task::spawn_blocking(move || {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
        .run(&["policy", "list", "-o", "json"], Some(&kc))
    })
    .await
    .unwrap();
    let v: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        v["modules"][2]["source"],
        "cluster configmap openshift-image-registry/oc-registry-policies"
    );
    drop(listening);
}

#[test]
fn a_policy_written_in_c_speaks_the_same_abi() {
    let env = Env::new();
    let wasm = env.path("forbid_removed.wasm");
    let build = Command::new("bash")
        .arg(workspace().join("policies/examples/forbid-removed-c/build.sh"))
        .arg(&wasm)
        .output()
        .unwrap();
    if !build.status.success() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the C example must build under CI=true: {}",
            text(&build.stderr)
        );
        eprintln!(
            "SKIPPED: no C compiler for wasm32 (pip install ziglang): {}",
            text(&build.stderr)
        );
        return;
    }
    let w = wasm.to_str().unwrap();
    let check = env.run(&["policy", "check", w], None);
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert!(text(&check.stdout).contains("policy module forbid-removed 1.0.0 (ABI 1)"));
    assert!(text(&check.stdout).contains("imports:     none"));
    let to_removed = env.write("removed.json", r#"{"operation":"update","kind":"Config","current":{"spec":{"managementState":"Managed"}},"proposed":{"spec":{"managementState":"Removed"}}}"#);
    let out = env.run(
        &[
            "policy",
            "eval",
            "admission",
            "-f",
            to_removed.to_str().unwrap(),
            "--module",
            w,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("switching the registry to Removed is forbidden"));
    let stays = env.write("stays.json", r#"{"operation":"update","kind":"Config","current":{"spec":{"managementState":"Removed"}},"proposed":{"spec":{"managementState":"Removed","replicas":1}}}"#);
    let out = env.run(
        &[
            "policy",
            "eval",
            "admission",
            "-f",
            stays.to_str().unwrap(),
            "--module",
            w,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn policy_check_reports_the_abi_and_refuses_hostile_modules() {
    let env = Env::new();
    let out = env.run(
        &[
            "policy",
            "check",
            examples().join("require_s3_kms.wasm").to_str().unwrap(),
            "-o",
            "json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["metadata"]["name"], "require-s3-kms");
    assert_eq!(v["metadata"]["abi"], 1);
    assert_eq!(v["instantiates"], true);
    for f in ["pol_abi_version", "pol_alloc", "pol_free", "pol_evaluate", "memory"] {
        assert!(v["exports"].as_array().unwrap().contains(&json!(f)));
    }
    let wasi = env.path("wasi.wasm");
    std::fs::write(
        &wasi,
        wat::parse_str(
            r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))))"#,
        )
        .unwrap(),
    )
    .unwrap();
    let out = env.run(&["policy", "check", wasi.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("imports function wasi_snapshot_preview1.fd_write"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_new_policy_builds_passes_its_test_and_checks() {
    let env = Env::new();
    let dir = env.path("require-two-replicas");
    let out = env.run(
        &["policy", "new", "require-two-replicas", "--dir", dir.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = workspace().join("target/policy-scaffold");
    let test = Command::new(&cargo)
        .arg("test")
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(test.status.success(), "{}", text(&test.stderr));
    assert!(
        text(&test.stdout).contains("test result: ok. 2 passed"),
        "{}",
        text(&test.stdout)
    );
    let build = Command::new(&cargo)
        .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", text(&build.stderr));
    let wasm = target.join("wasm32-unknown-unknown/release/require_two_replicas.wasm");
    let check = env.run(&["policy", "check", wasm.to_str().unwrap()], None);
    assert!(check.status.success(), "{}", text(&check.stderr));
    let one = env.write(
        "one.json",
        r#"{"operation":"update","kind":"Config","proposed":{"spec":{"managementState":"Managed","replicas":1}}}"#,
    );
    let out = env.run(
        &[
            "policy",
            "eval",
            "admission",
            "-f",
            one.to_str().unwrap(),
            "--module",
            wasm.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let bad = env.run(&["policy", "new", "Bad Name"], None);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("invalid policy name"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_eval_storage_decides_for_each_simulated_platform() {
    let expected = [
        (Platform::Aws, json!({"s3": {}}), 2, "Managed"),
        (Platform::Gcp, json!({"gcs": {}}), 2, "Managed"),
        (Platform::Azure, json!({"azure": {}}), 2, "Managed"),
        (Platform::OpenStack, json!({"swift": {}}), 2, "Managed"),
        (
            Platform::OpenStackWithoutSwift,
            json!({"pvc": {"claim": "image-registry-storage"}}),
            1,
            "Managed",
        ),
        (Platform::IbmCloud, json!({"ibmcos": {}}), 2, "Managed"),
        (Platform::BareMetal, json!({}), 1, "Removed"),
        (Platform::VSphere, json!({}), 1, "Removed"),
        (Platform::None, json!({}), 1, "Removed"),
        (Platform::Libvirt, json!({"emptyDir": {}}), 1, "Managed"),
    ];
    for (platform, storage, replicas, state) in expected {
        let server = ApiServer::new(Settings::default());
        server.seed_openshift(platform).unwrap();
        let listening = server.listen_http(0).await.unwrap();
        let env = Env::new();
        let kubeconfig = env.path("kubeconfig");
        listening.write_kubeconfig(&kubeconfig, None, None).unwrap();
        let out = tokio::task::spawn_blocking(move || {
            let out = env.run(
                &["policy", "eval", "storage", "--from-cluster", "-o", "json"],
                Some(&kubeconfig),
            );
            drop(env);
            out
        })
        .await
        .unwrap();
        assert!(out.status.success(), "{platform}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            !stdout.contains("simulated/secret/access"),
            "{platform}: a credential value was printed"
        );
        let v: Value = serde_json::from_str(&stdout).unwrap();
        let result = &v["response"]["result"];
        assert_eq!(result["storage"], storage, "{platform}");
        assert_eq!(result["replicas"], replicas, "{platform}");
        assert_eq!(result["managementState"], state, "{platform}");
        assert_eq!(v["module"], "builtin-storage");
        if state == "Removed" {
            assert!(
                result["missing"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("no shareable object storage"),
                "{platform}"
            );
        } else {
            assert!(result.get("missing").is_none(), "{platform}: {}", result["missing"]);
        }
        if platform == Platform::OpenStackWithoutSwift {
            assert_eq!(result["createPvc"]["name"], "image-registry-storage");
            assert_eq!(v["input"]["facts"]["swiftAvailable"], false);
        }
        drop(listening);
    }
}
