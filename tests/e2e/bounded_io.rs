//! What the server answers cannot hold the program: an answer that never completes ends at the
//! request timeout, an answer too large is refused at the size bound, and a proxy's `Retry-After`
//! is waited out: the program run against the simulated cluster, and the client's retries.

use crate::support::{OC_REGISTRY, cluster, serve, text};
use oc_registry::api::{CLUSTER, Config};
use oc_registry::cluster::{AccessOptions, connect, retry};
use std::time::{Duration, Instant};
use test_apiserver::{Fault, FaultAction, Matcher, Platform};

const CONFIG_PATH: &str = "/configs/cluster";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dripping_answer_ends_at_the_request_timeout() {
    let running = serve(cluster(Platform::Aws, true)).await;
    // One byte a second: a read that makes progress forever and never completes.
    running.server.inject(Fault::new(
        Matcher::method("GET").and_path(CONFIG_PATH),
        FaultAction::Drip(Duration::from_secs(1)),
    ));
    let started = Instant::now();
    let out = running.run(OC_REGISTRY, &["status", "--request-timeout=2s"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no complete answer within 2s (raise --request-timeout, or 0 for none)"),
        "{stderr}"
    );
    // Not retried: the bound is the caller's, and the drip would outlast any number of tries.
    let reads = running
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(CONFIG_PATH))
        .count();
    assert_eq!(reads, 1, "the timed-out read was sent again");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_larger_than_the_bound_is_refused_unread() {
    let running = serve(cluster(Platform::Aws, true)).await;
    running.server.inject(Fault::new(
        Matcher::method("GET").and_path(CONFIG_PATH),
        FaultAction::Huge(1 << 30),
    ));
    let out = running.run(OC_REGISTRY, &["status"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the answer is larger than 64 MiB; refusing to read more"),
        "{stderr}"
    );
    assert!(!stderr.contains("xxxxxxxx"), "the answer was echoed: {}", stderr.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxys_retry_after_is_waited_out() {
    let running = serve(cluster(Platform::Aws, true)).await;
    running.server.inject(
        Fault::new(
            Matcher::method("GET").and_path(CONFIG_PATH),
            FaultAction::ProxyThrottle { retry_after_seconds: 2 },
        )
        .times(1),
    );
    let options = AccessOptions {
        kubeconfig: Some(running.kubeconfig()),
        ..AccessOptions::default()
    };
    let client = connect(&options.resolve().await.unwrap(), 0).unwrap();
    let configs = kube::Api::<Config>::all(client);
    let started = Instant::now();
    let config = retry(|| configs.get(CLUSTER)).await.unwrap();
    assert_eq!(config.metadata.name.as_deref(), Some(CLUSTER));
    // The header alone (a plain-text body) set the wait: far longer than the first backoff.
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
    let statuses: Vec<u16> = running
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(CONFIG_PATH))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 200]);
}
