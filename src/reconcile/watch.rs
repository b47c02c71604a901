//! `reconcile --watch` on kube-runtime: watch caches of everything a pass reads (one reflector
//! per read, so that a pass reads from memory and sends only the writes it needs), and a
//! [`Controller`] of the registry Config, also triggered by every change those caches see.

use crate::api::{CLUSTER, Config};
use crate::state::cluster::{ClusterState, Found, Source};
use futures::{FutureExt, Stream, StreamExt, stream};
use kube::api::DynamicObject;
use kube::runtime::controller::{self, Controller};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client};
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Time from a change to the pass it causes, so that a burst of changes makes one pass.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(500);
/// A pass at least this often, to repair drift the watches did not see.
pub const RESYNC: Duration = Duration::from_secs(600);

/// Watch caches of everything a pass reads, one reflector per read: a pass reads its state from
/// them and sends only the writes it needs.
#[derive(Clone)]
pub struct Caches {
    stores: Vec<(Source, reflector::Store<DynamicObject>)>,
    /// Optional reads the cluster does not serve or lets this reconciler see, while so.
    unreadable: Arc<Mutex<BTreeMap<Source, (u16, String)>>>,
    /// Told of every event the caches take in, so that a pass waiting for them wakes then.
    events: Arc<Notify>,
}

type Changes = Pin<Box<dyn Stream<Item = ()> + Send>>;

impl Caches {
    /// The caches of `sources` and the stream that fills them, which yields on every change.
    /// Each watch backs off on its own, so that one failing never holds the others back.
    pub fn new(client: &Client, sources: Vec<Source>) -> (Caches, impl Stream<Item = ()> + Send + use<>) {
        let unreadable = Arc::new(Mutex::new(BTreeMap::new()));
        let events = Arc::new(Notify::new());
        let mut stores = Vec::new();
        let mut streams: Vec<Changes> = Vec::new();
        for source in sources {
            let writer = reflector::store::Writer::new(source.resource.api_resource());
            stores.push((source.clone(), writer.as_reader()));
            let params = source.list_params();
            let mut config = watcher::Config::default();
            if let Some(fields) = &params.field_selector {
                config = config.fields(fields);
            }
            if let Some(labels) = &params.label_selector {
                config = config.labels(labels);
            }
            let (marks, told) = (unreadable.clone(), events.clone());
            let stream = watcher(source.api(client), config)
                .default_backoff()
                .reflect(writer)
                .filter_map(move |event| {
                    let mut marks = marks.lock().expect("unreadable marks");
                    let changed = match event {
                        Ok(_) => {
                            marks.remove(&source);
                            Some(())
                        }
                        Err(watcher::Error::InitialListFailed(kube::Error::Api(s)))
                            if source.optional() && matches!(s.code, 403 | 404) =>
                        {
                            // Known now: a pass may go on without it.
                            marks
                                .insert(source.clone(), (s.code, s.message.clone()))
                                .is_none()
                                .then_some(())
                        }
                        Err(e) => {
                            eprintln!("watch {}: {e}", source.describe());
                            None
                        }
                    };
                    drop(marks);
                    // The store and the marks hold the event by now.
                    told.notify_waiters();
                    futures::future::ready(changed)
                })
                .boxed();
            streams.push(stream);
        }
        let caches = Caches {
            stores,
            unreadable,
            events,
        };
        (caches, stream::select_all(streams))
    }

    /// The state the caches hold, once every one holds a first full listing (or is known to be
    /// unreadable); `None` before.
    pub fn state(&self) -> Option<ClusterState> {
        let unreadable = self.unreadable.lock().expect("unreadable marks");
        let mut found = BTreeMap::new();
        for (source, store) in &self.stores {
            let entry = match unreadable.get(source) {
                Some((code, message)) => Found::Unreadable {
                    code: *code,
                    message: message.clone(),
                },
                None if store.wait_until_ready().now_or_never().is_some() => {
                    Found::Objects(store.state().iter().map(|o| (**o).clone()).collect())
                }
                None => return None,
            };
            found.insert(source.clone(), entry);
        }
        Some(ClusterState::from_found(found))
    }

    /// Waits until [`Caches::state`] has a state to give.
    pub async fn ready(&self) -> ClusterState {
        loop {
            // Listening before looking, so that an event in between is not missed.
            let event = self.events.notified();
            tokio::pin!(event);
            event.as_mut().enable();
            if let Some(state) = self.state() {
                return state;
            }
            event.await;
        }
    }
}

/// A controller of `configs.imageregistry.operator.openshift.io/cluster`, debounced, triggered
/// by the Config and by every change `changes` reports (the caches of what a pass reads).
pub fn controller(client: &Client, changes: impl Stream<Item = ()> + Send + 'static) -> Controller<Config> {
    let config = watcher::Config::default().fields(&format!("metadata.name={CLUSTER}"));
    Controller::new(Api::<Config>::all(client.clone()), config)
        .with_config(controller::Config::default().debounce(DEBOUNCE))
        .reconcile_all_on(changes)
}
