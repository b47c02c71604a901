//! Compiling a module is bounded: shapes known to make a compiler work for minutes are refused
//! before compiling, and whatever else is compiled in a child process under a CPU-time and memory
//! limit. `policy check` on an untrusted file is therefore safe to run.

use crate::support::text;
use oc_registry::policy::{Cause, Host, Limits};
use std::process::Command;

#[path = "../fixtures/bombs.rs"]
mod bombs;

use bombs::{locals_and_loops, module};

fn check(dir: &std::path::Path, name: &str, bytes: &[u8]) -> (Option<i32>, String) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oc-registry"))
        .args(["policy", "check", path.to_str().unwrap()])
        .env("HOME", dir)
        .env("KUBECONFIG", dir.join("no-cluster"))
        .output()
        .unwrap();
    (out.status.code(), text(&out.stderr) + &text(&out.stdout))
}

#[test]
fn compile_bombs_are_refused_before_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "locals-loops.wasm",
            locals_and_loops(5_000, 3_000),
            "5000 locals in one function, over the limit of 4000",
        ),
        (
            "locals-by-blocks.wasm",
            locals_and_loops(3_000, 2_000),
            "6000000 locals × blocks in one function, over the limit of 4000000",
        ),
        (
            "nested.wasm",
            module(&format!(
                "(func $bomb {}{})",
                "(block ".repeat(100_000),
                ")".repeat(100_000)
            )),
            "nested blocks in one function, over the limit of 1000",
        ),
        (
            "one-big-function.wasm",
            module(&format!(
                "(func $bomb (param i32) (result i32) (local.get 0){})",
                " (i32.add (i32.const 1048575))".repeat(900_000)
            )),
            "bytes in one function, over the limit of 1048576",
        ),
        (
            "many-functions.wasm",
            module(&"(func (param i32) (result i32) (local.get 0))".repeat(300_000)),
            "300004 functions, over the limit of 50000",
        ),
    ];
    for (name, bytes, message) in cases {
        let (code, output) = check(dir.path(), name, &bytes);
        assert_ne!(code, Some(0), "{name}: {output}");
        assert!(
            output.contains("policy module \"bomb\"") || output.contains(name),
            "{name}: {output}"
        );
        assert!(output.contains(message), "{name}: {output}");
        assert!(output.contains("refused uncompiled"), "{name}: {output}");
    }
}

#[test]
fn whatever_else_compiles_within_a_cpu_limit() {
    // Within the shape limits, yet minutes of compiling: ended by the child's CPU limit.
    oc_registry::policy::compile::compile_out_of_process(env!("CARGO_BIN_EXE_oc-registry").into());
    let host = Host::new(Limits {
        compile_cpu_seconds: 1,
        ..Limits::default()
    })
    .unwrap();
    let error = host
        .load("bomb", &locals_and_loops(3_900, 1_000))
        .err()
        .expect("refused");
    assert_eq!(error.module, "bomb");
    assert!(
        matches!(&error.cause, Cause::CompileLimit { what: "CPU time", limit } if limit == "1 s"),
        "{error}"
    );
    assert!(
        error.to_string().contains("went past the CPU time limit of 1 s"),
        "{error}"
    );
    // A policy compiles the same way, within the limit.
    let org = std::fs::read(crate::support::example_policies().join("org_buckets.wasm")).unwrap();
    assert!(host.load("org-buckets", &org).is_ok());
}
