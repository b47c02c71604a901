//! The release binary's size and start-up time, against `kubectl version --client` (what users
//! compare a plugin's responsiveness with). Run with `cargo bench --bench startup`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(program: &str, args: &[&str], runs: usize) -> Option<Duration> {
    let run = || {
        let t = Instant::now();
        let ok = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?
            .success();
        ok.then(|| t.elapsed())
    };
    for _ in 0..3 {
        run()?;
    }
    (0..runs).map(|_| run()).collect::<Option<Vec<_>>>().map(median)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let exe = env!("CARGO_BIN_EXE_oc-registry");
    let size = std::fs::metadata(exe).map(|m| m.len()).unwrap_or(0);
    println!("== release binary");
    println!(
        "size                               {:.1} MiB ({size} bytes)",
        size as f64 / (1 << 20) as f64
    );
    let ours = time(exe, &["version"], 50).expect("oc-registry version runs");
    println!(
        "oc-registry version                {:.2} ms (median of 50)",
        ours.as_secs_f64() * 1e3
    );
    match time("kubectl", &["version", "--client"], 50) {
        Some(k) => println!(
            "kubectl version --client           {:.2} ms (median of 50); oc-registry takes {:.0}% of that",
            k.as_secs_f64() * 1e3,
            100.0 * ours.as_secs_f64() / k.as_secs_f64()
        ),
        None => println!("kubectl version --client           (kubectl is not on PATH)"),
    }
}
