//! The policy host against a hostile corpus: every module here tries to escape a limit or break
//! the ABI, and each must be refused with a clear error within its limit, leaving the host able to
//! run a well-behaved module afterwards.

use oc_registry::policy::{Cause, Host, Limits, PolicyError};
use serde_json::json;

const METADATA: &str = r#"{\"abi\":1,\"name\":\"hostile\",\"version\":\"0.0.1\",\"hooks\":[\"admission\"]}"#;
const ALLOW: &str = r#"{\"allowed\":true}"#;

/// A module honouring ABI v1 whose pieces can be replaced one at a time.
struct Wat<'a> {
    evaluate: &'a str,
    alloc: &'a str,
    extra: &'a str,
    memory: &'a str,
    metadata: &'a str,
    abi_version: i32,
}

impl Default for Wat<'_> {
    fn default() -> Self {
        Wat {
            // Returns the 16-byte `{"allowed":true}` stored at offset 16.
            evaluate: "i64.const 16 i64.const 32 i64.shl i64.const 16 i64.or",
            alloc: "global.get $heap global.get $heap local.get 0 i32.add global.set $heap",
            extra: "",
            memory: "(memory (export \"memory\") 2)",
            metadata: METADATA,
            abi_version: 1,
        }
    }
}

impl Wat<'_> {
    fn build(&self) -> Vec<u8> {
        let text = format!(
            r#"(module
                {memory}
                (global $heap (mut i32) (i32.const 4096))
                (data (i32.const 16) "{ALLOW}")
                (func (export "pol_abi_version") (result i32) i32.const {abi})
                (func (export "pol_alloc") (param i32) (result i32) {alloc})
                (func (export "pol_free") (param i32 i32))
                (func (export "pol_evaluate") (param i32 i32) (result i64) {evaluate})
                {extra}
                (@custom "oc-registry.policy" "{metadata}"))"#,
            memory = self.memory,
            abi = self.abi_version,
            alloc = self.alloc,
            evaluate = self.evaluate,
            extra = self.extra,
            metadata = self.metadata,
        );
        wat::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }
}

fn host() -> Host {
    Host::new(Limits::default()).unwrap()
}

fn run(host: &Host, bytes: &[u8]) -> Result<serde_json::Value, PolicyError> {
    let module = host.load("corpus", bytes)?;
    let out = host.evaluate(&module, "admission", &json!({"operation": "update", "kind": "Config"}))?;
    Ok(serde_json::to_value(out.response).unwrap())
}

/// Runs a hostile module, checks how it was refused, then proves the host still works. (Limits are
/// deterministic — fuel, bytes, elements — so no timing is asserted.)
fn refused(bytes: Vec<u8>, expected: impl Fn(&Cause) -> bool) -> PolicyError {
    let host = host();
    let err = run(&host, &bytes).expect_err("the module must be refused");
    assert!(expected(&err.cause), "unexpected cause: {err}");
    assert!(err.to_string().contains("policy module"), "{err}");
    let good = run(&host, &Wat::default().build()).expect("the host still works");
    assert_eq!(good["allowed"], true);
    err
}

#[test]
fn a_well_behaved_module_is_allowed() {
    assert_eq!(run(&host(), &Wat::default().build()).unwrap(), json!({"allowed": true}));
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let err = refused(
        Wat {
            evaluate: "(loop $l br $l) i64.const 0",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::OutOfFuel { .. }),
    );
    assert!(
        err.to_string()
            .contains("failed in hook admission: ran out of fuel (budget 200000000)"),
        "{err}"
    );
}

#[test]
fn infinite_loop_in_the_start_function_runs_out_of_fuel() {
    refused(
        Wat {
            extra: "(func $spin (loop $l br $l)) (start $spin)",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::OutOfFuel { .. }),
    );
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    let err = refused(
        Wat {
            evaluate: "(loop $l (drop (memory.grow (i32.const 16))) br $l) i64.const 0",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::MemoryLimit { .. }),
    );
    assert!(err.to_string().contains("exceeded the memory limit of 64 MiB"), "{err}");
}

#[test]
fn huge_initial_memory_is_refused_at_instantiation() {
    refused(
        Wat {
            memory: "(memory (export \"memory\") 65536)",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::MemoryLimit { .. }),
    );
}

#[test]
fn table_bomb_hits_the_table_limit() {
    refused(
        Wat {
            extra: "(table 10000000 funcref)",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::TableLimit { .. }),
    );
    refused(
        Wat {
            extra: "(table $t 1 funcref) (func $grow (loop $l (drop (table.grow $t (ref.null func) (i32.const 1000))) br $l)) (start $grow)",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::TableLimit { .. }),
    );
}

#[test]
fn unbounded_recursion_overflows_the_stack() {
    refused(
        Wat {
            extra: "(func $down (call $down))",
            evaluate: "call $down i64.const 0",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::StackOverflow),
    );
}

#[test]
fn a_trap_is_a_failure_not_a_decision() {
    let err = refused(
        Wat {
            evaluate: "unreachable",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::Trap(_)),
    );
    assert!(err.to_string().contains("unreachable"), "{err}");
}

#[test]
fn bad_pointers_are_caught_by_bounds_checks() {
    refused(
        Wat {
            alloc: "i32.const 0x7ffffff0",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::BadPointer(_)),
    );
    refused(
        Wat {
            alloc: "i32.const 0",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::BadPointer(_)),
    );
    refused(
        Wat {
            evaluate: "i64.const 0x7fff0000 i64.const 32 i64.shl i64.const 16 i64.or",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::BadPointer(_)),
    );
}

#[test]
fn invalid_utf8_json_and_shapes_are_refused() {
    let at_32 = "i64.const 32 i64.const 32 i64.shl i64.const 4 i64.or";
    let data = |bytes: &str| format!("(data (i32.const 32) \"{bytes}\")");
    for (bytes, len) in [("\\ff\\fe\\00\\01", 4), ("nope", 4), ("{\\\"ok\\\":1}", 8)] {
        let extra = data(bytes);
        let evaluate = at_32.replace("i64.const 4 i64.or", &format!("i64.const {len} i64.or"));
        refused(
            Wat {
                evaluate: &evaluate,
                extra: &extra,
                ..Wat::default()
            }
            .build(),
            |c| matches!(c, Cause::BadOutput(_)),
        );
    }
    // A 100 000-deep array is refused by the JSON parser's depth limit, not by a crash.
    let deep = "[".repeat(100_000);
    let extra = format!("(data (i32.const 65536) \"{deep}\")");
    refused(
        Wat {
            memory: "(memory (export \"memory\") 4)",
            evaluate: "i64.const 65536 i64.const 32 i64.shl i64.const 100000 i64.or",
            extra: &extra,
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::BadOutput(_)),
    );
}

#[test]
fn oversized_output_is_refused_before_copying() {
    refused(
        Wat {
            evaluate: "i64.const 16 i64.const 32 i64.shl i64.const 0xfffffff0 i64.or",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::OutputTooLarge { .. }),
    );
}

#[test]
fn any_import_is_refused_before_compiling() {
    for import in [
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
        r#"(import "env" "now" (func (result i64)))"#,
        r#"(import "env" "g" (global i32))"#,
    ] {
        let module = wat::parse_str(format!(
            "(module {import} (memory (export \"memory\") 1) (func (export \"pol_abi_version\") (result i32) i32.const 1))"
        ))
        .unwrap();
        let err = refused(module, |c| matches!(c, Cause::Imports(_)));
        assert!(err.to_string().contains("policies may import nothing"), "{err}");
    }
}

#[test]
fn wrong_abi_versions_are_refused() {
    let metadata = METADATA.replace("\\\"abi\\\":1", "\\\"abi\\\":2");
    let err = refused(
        Wat {
            metadata: &metadata,
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::AbiVersion { found: 2, .. }),
    );
    assert!(err.to_string().contains("policy ABI version 2"), "{err}");
    refused(
        Wat {
            abi_version: 7,
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::AbiVersion { found: 7, .. }),
    );
}

#[test]
fn oversized_modules_are_refused_before_compiling() {
    let big = format!("(@custom \"padding\" \"{}\")", "x".repeat(9 << 20));
    let err = refused(
        Wat {
            extra: &big,
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::TooLarge { .. }),
    );
    assert!(err.to_string().contains("over the 8388608-byte limit"), "{err}");
}

#[test]
fn missing_exports_and_metadata_are_refused() {
    let no_eval = wat::parse_str(format!(
        r#"(module (memory (export "memory") 1)
             (func (export "pol_abi_version") (result i32) i32.const 1)
             (func (export "pol_alloc") (param i32) (result i32) i32.const 8)
             (func (export "pol_free") (param i32 i32))
             (@custom "oc-registry.policy" "{METADATA}"))"#
    ))
    .unwrap();
    let err = refused(no_eval, |c| matches!(c, Cause::MissingExport(_)));
    assert!(
        err.to_string().contains("does not export function pol_evaluate"),
        "{err}"
    );
    refused(
        Wat {
            metadata: "not json",
            ..Wat::default()
        }
        .build(),
        |c| matches!(c, Cause::Metadata(_)),
    );
    refused(
        Wat {
            evaluate: "i32.const 1 drop i64.const 16 i64.const 32 i64.shl i64.const 16 i64.or",
            ..Wat::default()
        }
        .build()
        .into_iter()
        .take(8)
        .collect(),
        |c| matches!(c, Cause::Invalid(_) | Cause::MissingExport(_)),
    );
}

#[test]
fn a_hook_the_module_does_not_declare_is_refused() {
    let host = host();
    let module = host.load("corpus", &Wat::default().build()).unwrap();
    let err = host.evaluate(&module, "storage", &json!({})).unwrap_err();
    assert_eq!(err.cause, Cause::HookNotServed);
}
