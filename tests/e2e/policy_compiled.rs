//! Compiled policy code: the built-ins run the code compiled when the program was built, checked
//! against the engine's configuration; every other module is compiled in the run that uses it, so
//! no file anywhere can lend one module's compiled code to another.

use oc_registry::policy::{Host, Limits, builtin, inspect};
use serde_json::json;
use std::process::Command;

#[test]
fn the_builtins_run_the_code_compiled_at_build_time() {
    let host = Host::new(Limits::default()).unwrap();
    for b in builtin::ALL {
        let inspection = inspect(b.name, b.bytes, host.limits()).unwrap();
        let loaded = host.prepare(inspection, b.bytes, Some(&b.precompiled)).unwrap();
        assert!(loaded.compiled_at_build, "{} was compiled at run time", b.name);
        let input = match b.hook {
            "pruner" => json!({"registryManagementState": "Managed", "pruner": {}}),
            _ => json!({"platform": {"type": "None", "status": {"type": "None"}}, "facts": {}}),
        };
        assert!(
            host.evaluate(&loaded, b.hook, &input).unwrap().response.allowed,
            "{}",
            b.name
        );
    }
}

#[test]
fn code_for_another_engine_or_not_from_the_build_is_compiled_afresh() {
    let host = Host::new(Limits::default()).unwrap();
    let b = &builtin::STORAGE;
    let inspection = inspect(b.name, b.bytes, host.limits()).unwrap();
    let cases = [
        // Compiled for an engine configured otherwise.
        oc_registry::policy::Precompiled {
            code: b.precompiled.code,
            compatibility: b.precompiled.compatibility ^ 1,
        },
        // Claiming this engine, but not code the build wrote.
        oc_registry::policy::Precompiled {
            code: b"\x7fELF not code at all",
            compatibility: b.precompiled.compatibility,
        },
    ];
    for precompiled in cases {
        let loaded = host.prepare(inspection.clone(), b.bytes, Some(&precompiled)).unwrap();
        assert!(!loaded.compiled_at_build);
        let input = json!({"platform": {"type": "None", "status": {"type": "None"}}, "facts": {}});
        assert!(host.evaluate(&loaded, "storage", &input).unwrap().response.allowed);
    }
}

#[test]
fn compiled_code_left_where_a_cache_would_be_lends_no_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // An allow-everything module compiled for this engine, planted under every name a cache of
    // this program's could have used.
    let allow = wat::parse_str(include_str!("../fixtures/allow-all.wat").replace("NAME", "forbid-emptydir")).unwrap();
    let host = Host::new(Limits::default()).unwrap();
    let code = host.engine().precompile_module(&allow).unwrap();
    let deny = std::fs::read(crate::support::example_policies().join("forbid_emptydir.wasm")).unwrap();
    let digest = oc_registry::policy::sha256_hex(&deny);
    for cache in [
        home.join(".cache/oc-registry/policies"),
        home.join("xdg/oc-registry/policies"),
    ] {
        std::fs::create_dir_all(&cache).unwrap();
        for name in [digest.clone(), oc_registry::policy::sha256_hex(&code)] {
            std::fs::write(cache.join(format!("{name}.cwasm")), &code).unwrap();
            std::fs::write(
                cache.join(format!("{name}.sha256")),
                oc_registry::policy::sha256_hex(&code),
            )
            .unwrap();
        }
    }
    std::fs::write(home.join("forbid_emptydir.wasm"), &deny).unwrap();
    std::fs::write(
        home.join("policies.yaml"),
        format!("modules:\n- name: forbid-emptydir\n  path: forbid_emptydir.wasm\n  sha256: {digest}\nhooks:\n  admission: [forbid-emptydir]\n"),
    )
    .unwrap();
    std::fs::write(
        home.join("change.json"),
        json!({"operation": "update", "kind": "Config",
               "proposed": {"spec": {"managementState": "Managed", "storage": {"emptyDir": {}}}}})
        .to_string(),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oc-registry"))
        .args([
            "policy",
            "eval",
            "admission",
            "-f",
            "change.json",
            "--policy-config",
            "policies.yaml",
        ])
        .current_dir(home)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("xdg"))
        .env("KUBECONFIG", home.join("no-cluster"))
        .env_remove("OC_REGISTRY_POLICY_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("emptyDir"), "{stdout}");
}
