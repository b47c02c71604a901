//! Builds the built-in policy modules in `policies/` for wasm32-unknown-unknown and leaves them in
//! OUT_DIR for `include_bytes!`, so the binary carries its policies and needs no files at run time.

use std::path::PathBuf;
use std::process::Command;

include!("src/policy/engine_config.rs");

/// The default limits, which the engine the built-ins are compiled for is configured with
/// (`Limits::CEILING`: memory, table elements, stack).
const DEFAULT_ENGINE: (usize, usize, usize) = (64 << 20, 10_000, 512 << 10);

const BUILTINS: &[&str] = &["builtin-storage", "builtin-pruner"];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    build_info(&manifest_dir);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let policies = manifest_dir.join("policies");
    for path in ["Cargo.toml", "Cargo.lock", "sdk", "builtin-storage", "builtin-pruner"] {
        println!("cargo:rerun-if-changed={}", policies.join(path).display());
    }
    // A target directory of its own: the outer build holds the lock on the main one.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir.join("target"))
        .join("policies");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--locked")
        .args(["--target", "wasm32-unknown-unknown"])
        .arg("--manifest-path")
        .arg(policies.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for b in BUILTINS {
        cmd.args(["-p", b]);
    }
    // The outer build's flags (coverage, sanitizers, target features) are not for wasm.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("running cargo for the policy modules");
    if !status.success() {
        panic!(
            "building the built-in policy modules failed; if the wasm32-unknown-unknown target is missing, run scripts/setup (rustup target add wasm32-unknown-unknown)"
        );
    }
    // Compiled here for this machine, so that no run of the program compiles them.
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("src/policy/engine_config.rs").display()
    );
    let (memory, tables, stack) = DEFAULT_ENGINE;
    let engine = wasmtime::Engine::new(&engine_config(memory, tables, stack)).expect("starting the policy engine");
    for b in BUILTINS {
        let stem = b.replace('-', "_");
        let built = target_dir.join(format!("wasm32-unknown-unknown/release/{stem}.wasm"));
        let wasm = std::fs::read(&built).unwrap_or_else(|e| panic!("reading {}: {e}", built.display()));
        let code = engine
            .precompile_module(&wasm)
            .unwrap_or_else(|e| panic!("compiling {}: {e}", built.display()));
        std::fs::write(out_dir.join(format!("{stem}.wasm")), &wasm).expect("writing to OUT_DIR");
        std::fs::write(out_dir.join(format!("{stem}.cwasm")), &code).expect("writing to OUT_DIR");
    }
    std::fs::write(
        out_dir.join("builtins.compatibility"),
        compatibility(&engine).to_string(),
    )
    .expect("writing to OUT_DIR");
}

/// What `version` reports beyond the package version: the git commit and the wasmtime version.
fn build_info(manifest_dir: &std::path::Path) {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(manifest_dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    println!(
        "cargo:rustc-env=OC_REGISTRY_GIT_COMMIT={commit}{}",
        if dirty { "-dirty" } else { "" }
    );
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        let git_dir = manifest_dir.join(git_dir);
        println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
        println!("cargo:rerun-if-changed={}", git_dir.join("index").display());
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", git_dir.join(head_ref).display());
        }
    }
    let lock = std::fs::read_to_string(manifest_dir.join("Cargo.lock")).unwrap_or_default();
    let wasmtime = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wasmtime\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=OC_REGISTRY_WASMTIME_VERSION={wasmtime}");
    println!("cargo:rerun-if-changed={}", manifest_dir.join("Cargo.lock").display());
}
