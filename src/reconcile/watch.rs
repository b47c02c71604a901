//! `reconcile --watch` on kube-runtime: a [`Controller`] of the registry Config, also triggered
//! by every change to what the registry is rendered from or runs on. Each of those watches backs
//! off on its own, so one failing watch (an expired resource version, a missing resource type)
//! never holds the others back.

use crate::api::{CLUSTER, Config, Image, ImagePruner, Infrastructure, OPENSHIFT_CONFIG, Proxy, REGISTRY_NAMESPACE};
use crate::render::Kind;
use futures::{Stream, StreamExt, stream};
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::controller::{self, Controller};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use std::pin::Pin;
use std::time::Duration;

/// Time from a change to the pass it causes, so that a burst of changes makes one pass.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(500);
/// A pass at least this often, to repair drift the watches did not see.
pub const RESYNC: Duration = Duration::from_secs(600);

/// The kinds in the registry's namespace whose changes make a pass necessary: every namespaced
/// kind the registry writes but the alert rule (a cluster may lack its CRD, and nothing reads it).
fn owned_kinds() -> impl Iterator<Item = Kind> {
    Kind::ALL
        .into_iter()
        .filter(|k| k.namespaced() && *k != Kind::PrometheusRule)
}

type Changes = Pin<Box<dyn Stream<Item = ()> + Send>>;

/// A change whenever one of the resource's objects changes; errors are reported, and the watch
/// re-established with its own backoff.
fn changes_of(client: &Client, resource: ApiResource, namespace: Option<&str>, name: Option<&str>) -> Changes {
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let mut config = watcher::Config::default();
    if let Some(n) = name {
        config = config.fields(&format!("metadata.name={n}"));
    }
    let label = resource.plural.clone();
    watcher(api, config)
        .default_backoff()
        .touched_objects()
        .filter_map(move |touched| {
            let error = touched.err().map(|e| format!("watch {label}: {e}"));
            async move {
                match error {
                    Some(e) => {
                        eprintln!("{e}");
                        None
                    }
                    None => Some(()),
                }
            }
        })
        .boxed()
}

fn resource_of<K: Resource<DynamicType = ()>>() -> ApiResource {
    ApiResource::erase::<K>(&())
}

/// Every change besides the Config's own that can make a pass necessary.
fn changes(client: &Client) -> impl Stream<Item = ()> + Send + use<> {
    let mut streams: Vec<Changes> = vec![
        changes_of(client, resource_of::<ImagePruner>(), None, Some(CLUSTER)),
        changes_of(client, resource_of::<Infrastructure>(), None, Some(CLUSTER)),
        changes_of(client, resource_of::<Image>(), None, Some(CLUSTER)),
        changes_of(client, resource_of::<Proxy>(), None, Some(CLUSTER)),
        // The additional trusted CA and the S3 trusted CA live in openshift-config.
        changes_of(client, Kind::ConfigMap.api_resource(), Some(OPENSHIFT_CONFIG), None),
    ];
    for kind in owned_kinds() {
        streams.push(changes_of(client, kind.api_resource(), Some(REGISTRY_NAMESPACE), None));
    }
    stream::select_all(streams)
}

/// A controller of `configs.imageregistry.operator.openshift.io/cluster`, debounced, triggered
/// by the Config and by every object a pass reads or writes.
pub fn controller(client: &Client) -> Controller<Config> {
    let config = watcher::Config::default().fields(&format!("metadata.name={CLUSTER}"));
    Controller::new(Api::<Config>::all(client.clone()), config)
        .with_config(controller::Config::default().debounce(DEBOUNCE))
        .reconcile_all_on(changes(client))
}
