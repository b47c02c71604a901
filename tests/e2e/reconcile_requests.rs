//! What a pass costs in requests, counted in the test server's log: a pass reads everything it
//! needs in one round of concurrent requests and writes in a few waves; a pass with nothing to
//! change writes nothing; a pass from the watch caches sends no request at all. Latency is added
//! to every request so that rounds can be told apart (a request sent after another's answer is
//! a round later), however loaded the machine.

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Patch, PatchParams};
use oc_registry::policy::Policies;
use oc_registry::reconcile::apply::Applier;
use oc_registry::reconcile::engine::{Engine, Options};
use oc_registry::reconcile::watch::Caches;
use oc_registry::state::cluster::with_base;
use std::time::Duration;
use test_apiserver::{
    ApiServer, Fault, FaultAction, Listening, LoggedRequest, Matcher, Platform, Settings, round_trips,
};

/// Longer than any stall a loaded machine puts between requests of one round.
const LATENCY: Duration = Duration::from_millis(200);

/// An OpenStack cluster without Swift, so the registry stores on a claim, and its identity
/// service (which bootstrapping asks whether Swift is offered) listening.
async fn cluster() -> (ApiServer, Listening) {
    let server = ApiServer::new(Settings::default());
    server.seed_openshift(Platform::OpenStackWithoutSwift).unwrap();
    let listening = server.listen_http(0).await.unwrap();
    (server, listening)
}

/// The API server's requests in the log: not the identity service's, and not the watch streams
/// the caches keep open (theirs, not a pass's).
fn api_requests(server: &ApiServer) -> Vec<LoggedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/") || r.path.starts_with("/apis/"))
        .filter(|r| r.query_param("watch").is_none())
        .collect()
}

fn engine<'a>(server: &ApiServer, policies: &'a Policies) -> Engine<'a> {
    let client = kube::Client::new(server.clone(), "default");
    Engine::new(
        Applier::new(client, None, "http://simulated".into()),
        policies,
        Options::default(),
    )
}

fn described(server: &ApiServer) -> Vec<String> {
    api_requests(server)
        .iter()
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_reads_in_one_round_and_writes_in_few() {
    let (server, _listening) = cluster().await;
    let policies = Policies::load(None, None).unwrap();
    let engine = engine(&server, &policies);
    server.inject(Fault::new(Matcher::any(), FaultAction::Latency(LATENCY)));

    let report = engine.reconcile().await.unwrap();
    assert!(report.converged, "{:?}", report.problems);
    let first = api_requests(&server);
    // Read; create the Config and pruner; what the workloads use; the workloads; statuses and
    // events.
    assert!(
        round_trips(&first) <= 5,
        "{} rounds: {:#?}",
        round_trips(&first),
        described(&server)
    );

    // Once the rollout finished and the status settled, a pass only reads, in one round.
    server.clear_faults();
    tokio::time::sleep(Duration::from_millis(600)).await;
    engine.reconcile().await.unwrap();
    server.inject(Fault::new(Matcher::any(), FaultAction::Latency(LATENCY)));
    server.clear_log();
    let report = engine.reconcile().await.unwrap();
    assert!(report.converged, "{:?}", report.problems);
    assert_eq!(report.writes(), 0);
    assert!(server.writes().is_empty(), "{:#?}", described(&server));
    assert_eq!(round_trips(&api_requests(&server)), 1, "{:#?}", described(&server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_pass_from_the_watch_caches_sends_no_request() {
    let (server, _listening) = cluster().await;
    let policies = Policies::load(None, None).unwrap();
    let engine = engine(&server, &policies);
    engine.reconcile().await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    engine.reconcile().await.unwrap();

    let client = kube::Client::new(server.clone(), "default");
    let (caches, changes) = Caches::new(&client, with_base(&Engine::sources()));
    let driving = tokio::spawn(changes.for_each(|()| async {}));
    let state = caches.ready().await;
    server.clear_log();
    let report = engine.reconcile_with(&state).await.unwrap();
    assert!(report.converged, "{:?}", report.problems);
    assert_eq!(report.writes(), 0);
    assert!(
        api_requests(&server).is_empty(),
        "a pass from the caches sent: {:#?}",
        described(&server)
    );

    // A change reaches the caches, and the pass that follows writes just that change back.
    let services = kube::Api::<Service>::namespaced(client.clone(), "openshift-image-registry");
    let patch = serde_json::json!({"spec": {"ports": [{"name": "5000-tcp", "port": 5001, "protocol": "TCP", "targetPort": 5000}]}});
    services
        .patch("image-registry", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let state = loop {
        let state = caches.ready().await;
        let seen = state
            .service()
            .unwrap()
            .and_then(|s| s.spec?.ports?.first().map(|p| p.port));
        if seen == Some(5001) {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    server.clear_log();
    let report = engine.reconcile_with(&state).await.unwrap();
    let writes: Vec<String> = server
        .writes()
        .iter()
        .map(|w| format!("{} {}", w.method, w.path))
        .collect();
    assert!(
        writes.iter().any(|w| w.ends_with("/services/image-registry")),
        "{writes:#?}"
    );
    assert!(
        api_requests(&server).iter().all(|r| r.method != "GET"),
        "{:#?}",
        described(&server)
    );
    assert!(report.converged, "{:?}", report.problems);
    driving.abort();
}
