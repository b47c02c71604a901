//! Reconcile time against a simulated AWS cluster whose every API request takes 20 ms longer,
//! with independent writes in parallel (the default) against one at a time. Run with
//! `cargo bench --bench reconcile`.

use oc_registry::policy::Policies;
use oc_registry::reconcile::apply::Applier;
use oc_registry::reconcile::engine::{Engine, Options};
use std::time::{Duration, Instant};
use test_apiserver::{ApiServer, Fault, FaultAction, Matcher, Platform, Settings};

const LATENCY: Duration = Duration::from_millis(20);
const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// (first pass on a fresh cluster, pass with nothing to change, requests of the first pass)
async fn measure(concurrency: usize, policies: &Policies) -> (Duration, Duration, usize) {
    let server = ApiServer::new(Settings::default());
    server.seed_openshift(Platform::Aws).unwrap();
    server.inject(Fault::new(Matcher::any(), FaultAction::Latency(LATENCY)));
    let client = kube::Client::new(server.clone(), "default");
    let applier = Applier::new(client, None, "http://simulated".into()).with_concurrency(concurrency);
    let engine = Engine::new(applier, policies, Options::default());
    server.clear_log();
    let t = Instant::now();
    let report = engine.reconcile().await.expect("first pass");
    let first = t.elapsed();
    assert!(report.converged, "{:?}", report.problems);
    let requests = server.requests().len();
    // Let the simulated rollout finish so the second pass has nothing to write.
    tokio::time::sleep(Duration::from_millis(400)).await;
    engine.reconcile().await.expect("settling pass");
    let t = Instant::now();
    engine.reconcile().await.expect("no-op pass");
    (first, t.elapsed(), requests)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let policies = Policies::load(None, None).unwrap();
    println!(
        "== reconcile, simulated AWS cluster, {} ms added to every API request",
        LATENCY.as_millis()
    );
    let mut results = Vec::new();
    for (label, concurrency) in [("parallel (8 writes in flight)", 8), ("one at a time", 1)] {
        let mut firsts = Vec::new();
        let mut noops = Vec::new();
        let mut requests = 0;
        for _ in 0..RUNS {
            let (first, noop, n) = runtime.block_on(measure(concurrency, &policies));
            firsts.push(first);
            noops.push(noop);
            requests = n;
        }
        let (first, noop) = (median(firsts), median(noops));
        println!(
            "{label:<32} first pass {:>7.1} ms ({requests} requests)   no-op pass {:>7.1} ms   (median of {RUNS})",
            first.as_secs_f64() * 1e3,
            noop.as_secs_f64() * 1e3
        );
        results.push((first, noop));
    }
    let speedup = results[1].0.as_secs_f64() / results[0].0.as_secs_f64();
    println!("parallel is {speedup:.1}x faster on the first pass");
}
