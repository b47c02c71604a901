//! What a reconcile pass costs against a simulated AWS cluster whose every API request takes
//! 20 ms longer (its S3 a moto server of its own): wall time, API requests and round trips of a
//! first pass on a fresh cluster, of a one-shot pass with nothing to change, and of a pass from
//! the watch caches with nothing to change. Run with `cargo bench --bench reconcile`.

#[path = "../tests/e2e/support/services.rs"]
#[allow(dead_code)]
mod services;

use futures::StreamExt;
use oc_registry::policy::Policies;
use oc_registry::reconcile::apply::Applier;
use oc_registry::reconcile::engine::{Engine, Options};
use oc_registry::reconcile::watch::Caches;
use oc_registry::state::cluster::with_base;
use std::time::{Duration, Instant};
use test_apiserver::{ApiServer, Fault, FaultAction, Matcher, Platform, Settings, round_trips};

const LATENCY: Duration = Duration::from_millis(20);
const RUNS: usize = 5;

/// One pass: wall time, API requests, round trips, writes.
#[derive(Clone, Copy)]
struct Pass {
    time: Duration,
    requests: usize,
    round_trips: usize,
    writes: usize,
}

impl Pass {
    /// The pass's requests: the watch streams the caches opened are theirs, not the pass's.
    fn of(server: &ApiServer, time: Duration) -> Pass {
        let log: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| r.query_param("watch").is_none())
            .collect();
        Pass {
            time,
            requests: log.len(),
            round_trips: round_trips(&log),
            writes: log.iter().filter(|r| r.is_write()).count(),
        }
    }
}

/// Empties moto, so that every run starts from a cloud without the bucket.
fn reset(moto: &str) {
    use std::io::{Read, Write};
    let address = moto.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("moto");
    let request = format!("POST /moto-api/reset HTTP/1.0\r\nHost: {address}\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("moto reset");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
}

/// (first pass, one-shot pass with nothing to change, pass from the caches with nothing to change)
async fn measure(policies: &Policies) -> (Pass, Pass, Pass) {
    let server = ApiServer::new(Settings::default());
    server.seed_openshift(Platform::Aws).unwrap();
    let client = kube::Client::new(server.clone(), "default");
    let engine = Engine::new(
        Applier::new(client.clone(), None, "http://simulated".into()),
        policies,
        Options::default(),
    );
    server.inject(Fault::new(Matcher::any(), FaultAction::Latency(LATENCY)));
    let t = Instant::now();
    let report = engine.reconcile().await.expect("first pass");
    let first = Pass::of(&server, t.elapsed());
    assert!(report.converged, "{:?}", report.problems);

    // Let the simulated rollout finish so that the next passes have nothing to write.
    tokio::time::sleep(Duration::from_millis(400)).await;
    engine.reconcile().await.expect("settling pass");
    server.clear_log();
    let t = Instant::now();
    engine.reconcile().await.expect("no-op pass");
    let one_shot = Pass::of(&server, t.elapsed());

    let (caches, changes) = Caches::new(&client, with_base(&Engine::sources()));
    let driving = tokio::spawn(changes.for_each(|()| async {}));
    let state = caches.ready().await;
    server.clear_log();
    let t = Instant::now();
    engine.reconcile_with(&state).await.expect("pass from the caches");
    let cached = Pass::of(&server, t.elapsed());
    driving.abort();
    (first, one_shot, cached)
}

fn median(passes: &[Pass]) -> Pass {
    let mut sorted = passes.to_vec();
    sorted.sort_by_key(|p| p.time);
    sorted[sorted.len() / 2]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(moto) = services::moto() else {
        println!("reconcile: moto is not installed (scripts/setup installs it); nothing measured");
        return;
    };
    // Set before any thread starts: the product's S3 and KMS calls go to moto.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL_S3", &moto.url);
        std::env::set_var("AWS_ENDPOINT_URL_KMS", &moto.url);
        std::env::remove_var("AWS_CA_BUNDLE");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let policies = Policies::load(None, None).unwrap();
    println!(
        "== reconcile, simulated AWS cluster (S3 on moto), {} ms added to every API request, median of {RUNS}",
        LATENCY.as_millis()
    );
    let (mut firsts, mut one_shots, mut cached) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        reset(&moto.url);
        let (first, one_shot, from_caches) = runtime.block_on(measure(&policies));
        firsts.push(first);
        one_shots.push(one_shot);
        cached.push(from_caches);
    }
    for (label, pass, goal) in [
        ("first pass", median(&firsts), "goal <= 6 round trips, <= 150 ms"),
        (
            "nothing to change, one-shot",
            median(&one_shots),
            "goal <= 3 round trips, <= 70 ms, 0 writes",
        ),
        ("nothing to change, watch caches", median(&cached), "goal 0 requests"),
    ] {
        println!(
            "{label:<32} {:>7.1} ms {:>4} requests {:>3} round trips {:>3} writes   ({goal})",
            pass.time.as_secs_f64() * 1e3,
            pass.requests,
            pass.round_trips,
            pass.writes,
        );
    }
}
