//! Policy evaluation costs, printed as numbers against the goals:
//! - a warm decision (fresh instance + evaluation of the built-in storage policy) ≤ 30 µs;
//! - a CLI run that evaluates the built-in storage policy costs ≤ 5 ms more than a run that
//!   evaluates none (medians of repeated process runs);
//! - the first run on a machine (nothing written anywhere yet) is within 5 ms of later runs: the
//!   built-ins are compiled when the program is built, and nothing is cached on disk;
//! - `policy check` of a compile bomb ends within its bounds: refused uncompiled when its shape is
//!   beyond the limits, else ended by the compiler's CPU limit.
//!
//! Run with `cargo bench --bench policy`.

#[path = "../tests/fixtures/bombs.rs"]
mod bombs;

use oc_registry::policy::sdk::{PlatformFacts, StorageFacts, StorageInput};
use oc_registry::policy::{Host, Limits, builtin};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn storage_input() -> serde_json::Value {
    serde_json::to_value(StorageInput {
        platform: PlatformFacts {
            type_: "AWS".into(),
            status: serde_json::json!({"type": "AWS", "aws": {"region": "us-east-1"}}),
            infrastructure_name: "sim-7xk2p".into(),
            infrastructure_topology: "HighlyAvailable".into(),
        },
        current: None,
        facts: StorageFacts {
            cloud_credential_keys: Some(vec!["credentials".into()]),
            ..StorageFacts::default()
        },
    })
    .unwrap()
}

fn in_process() {
    println!(
        "== in process (built-in storage policy, {} bytes)",
        builtin::STORAGE.bytes.len()
    );
    let started = Instant::now();
    let host = Host::new(Limits::default()).unwrap();
    println!("engine start                      {}", micros(started.elapsed()));

    let compiles: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            host.load("builtin-storage", builtin::STORAGE.bytes).unwrap();
            t.elapsed()
        })
        .collect();
    println!("compile, median of 5              {}", millis(median(compiles)));

    let inspection =
        oc_registry::policy::inspect("builtin-storage", builtin::STORAGE.bytes, &Limits::default()).unwrap();
    let loads: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            host.prepare(
                inspection.clone(),
                builtin::STORAGE.bytes,
                Some(&builtin::STORAGE.precompiled),
            )
            .unwrap();
            t.elapsed()
        })
        .collect();
    println!("load precompiled at build time    {}", micros(median(loads)));

    // The host's fixed cost: a module that answers without looking at its input.
    let trivial = wat::parse_str(include_str!("../tests/fixtures/allow-all.wat").replace("NAME", "trivial")).unwrap();
    let trivial = host.load("trivial", &trivial).unwrap();
    let input = storage_input();
    let rounds: Vec<Duration> = (0..2000)
        .map(|_| {
            let t = Instant::now();
            host.evaluate(&trivial, "storage", &input).unwrap();
            t.elapsed()
        })
        .collect();
    println!("host round trip (trivial module)  median {}", micros(median(rounds)));

    let module = host.load("builtin-storage", builtin::STORAGE.bytes).unwrap();
    for _ in 0..200 {
        host.evaluate(&module, "storage", &input).unwrap();
    }
    let mut fuel = 0;
    let decisions: Vec<Duration> = (0..2000)
        .map(|_| {
            let t = Instant::now();
            let out = host.evaluate(&module, "storage", &input).unwrap();
            let d = t.elapsed();
            fuel = out.fuel_used;
            d
        })
        .collect();
    let m = median(decisions.clone());
    println!(
        "warm decision (fresh instance)    median {}  p99 {}  fuel {}   goal ≤ 30 µs: {}",
        micros(m),
        micros(percentile(decisions, 0.99)),
        fuel,
        if m <= Duration::from_micros(30) {
            "met"
        } else {
            "MISSED"
        }
    );
}

fn process_runs(dir: &Path) {
    let exe = env!("CARGO_BIN_EXE_oc-registry");
    std::fs::write(dir.join("storage.json"), storage_input().to_string()).unwrap();
    std::fs::write(
        dir.join("admission.json"),
        r#"{"operation":"update","kind":"Config","proposed":{"spec":{"replicas":2}}}"#,
    )
    .unwrap();
    let run = |args: &[&str], home: &Path| -> Duration {
        std::fs::create_dir_all(home).unwrap();
        let t = Instant::now();
        let status = Command::new(exe)
            .args(args)
            .current_dir(dir)
            .env("HOME", home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("KUBECONFIG", dir.join("no-cluster"))
            .env_remove("OC_REGISTRY_POLICY_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        let d = t.elapsed();
        assert!(status.success(), "{args:?}");
        d
    };
    let decide: &[&str] = &["policy", "eval", "storage", "-f", "storage.json", "-o", "json"];
    let none: &[&str] = &["policy", "eval", "admission", "-f", "admission.json", "-o", "json"];
    let warm = dir.join("warm-home");
    for _ in 0..5 {
        run(decide, &warm);
        run(none, &warm);
    }
    let (mut with_policy, mut without, mut first) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..60 {
        with_policy.push(run(decide, &warm));
        without.push(run(none, &warm));
        // A home this program has never run in: the first run on a new machine.
        first.push(run(decide, &dir.join(format!("fresh-home-{i}"))));
    }
    let (a, b, c) = (median(with_policy), median(without), median(first));
    let goal = |d: Duration| if d <= Duration::from_millis(5) { "met" } else { "MISSED" };
    println!("== process runs (release binary, medians of 60, interleaved)");
    println!("evaluates none (admission, no modules)    {}", millis(b));
    println!("evaluates builtin-storage                 {}", millis(a));
    println!(
        "overhead of the storage policy            {}   goal ≤ 5 ms: {}",
        millis(a.saturating_sub(b)),
        goal(a.saturating_sub(b))
    );
    println!("evaluates builtin-storage, first run     {}", millis(c));
    println!(
        "first run over a later run                {}   goal ≤ 5 ms: {}",
        millis(c.saturating_sub(a)),
        goal(c.saturating_sub(a))
    );
}

fn compile_bounds(dir: &Path) {
    let exe = env!("CARGO_BIN_EXE_oc-registry");
    println!(
        "== policy check of compile bombs (release binary; CPU limit {} s)",
        Limits::default().compile_cpu_seconds
    );
    for (label, locals, loops) in [
        ("5,000 locals × 3,000 loops (beyond the shape limits)", 5_000, 3_000),
        ("3,900 locals × 1,000 loops (within them)", 3_900, 1_000),
    ] {
        let path = dir.join("bomb.wasm");
        std::fs::write(&path, bombs::locals_and_loops(locals, loops)).unwrap();
        let t = Instant::now();
        let out = Command::new(exe)
            .args(["policy", "check", path.to_str().unwrap()])
            .env("HOME", dir)
            .env("KUBECONFIG", dir.join("no-cluster"))
            .output()
            .unwrap();
        let verdict = String::from_utf8_lossy(&out.stderr);
        let verdict = verdict.lines().next().unwrap_or_default();
        println!(
            "{label:55} {:>9}  {}",
            millis(t.elapsed()),
            verdict.split(": ").last().unwrap_or_default()
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing to run.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    in_process();
    process_runs(dir.path());
    compile_bounds(dir.path());
}
