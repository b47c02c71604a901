//! `reconcile --watch`: a pass whenever anything the registry is rendered from or runs on
//! changes (debounced), and periodically, for as long as this process leads. Watch errors and
//! failed passes are retried with backoff; a signal ends it after the pass in progress.

use crate::api::{CLUSTER, Config, Image, ImagePruner, Infrastructure, Proxy, REGISTRY_NAMESPACE};
use crate::render::Kind;
use futures::{Stream, StreamExt, stream};
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use std::pin::Pin;
use std::time::Duration;

/// Time from a change to the pass it causes, so that a burst of changes makes one pass.
pub const DEBOUNCE: Duration = Duration::from_millis(500);
/// A pass at least this often, to repair drift the watches did not see.
pub const RESYNC: Duration = Duration::from_secs(600);

type Changes = Pin<Box<dyn Stream<Item = String> + Send>>;

/// A stream yielding the name of the resource whenever one of its objects changes.
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
        .filter_map(move |event| {
            let label = label.clone();
            async move {
                match event {
                    Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_) | watcher::Event::InitDone) => Some(label),
                    Ok(_) => None,
                    // Reported and retried by the backoff; a missing resource type ends in silence.
                    Err(e) => {
                        eprintln!("watch {label}: {e}");
                        None
                    }
                }
            }
        })
        .boxed()
}

fn cluster_resource<K: Resource<DynamicType = ()>>() -> ApiResource {
    ApiResource::erase::<K>(&())
}

/// Every change that can make a pass necessary.
pub fn changes(client: &Client) -> impl Stream<Item = String> + Send + use<> {
    let ns = Some(REGISTRY_NAMESPACE);
    let mut streams: Vec<Changes> = vec![
        changes_of(client, cluster_resource::<Config>(), None, Some(CLUSTER)),
        changes_of(client, cluster_resource::<ImagePruner>(), None, Some(CLUSTER)),
        changes_of(client, cluster_resource::<Infrastructure>(), None, Some(CLUSTER)),
        changes_of(client, cluster_resource::<Image>(), None, Some(CLUSTER)),
        changes_of(client, cluster_resource::<Proxy>(), None, Some(CLUSTER)),
        // The additional trusted CA ConfigMap lives in openshift-config.
        changes_of(client, Kind::ConfigMap.api_resource(), Some("openshift-config"), None),
    ];
    for kind in [
        Kind::Secret,
        Kind::ConfigMap,
        Kind::Service,
        Kind::ServiceAccount,
        Kind::Deployment,
        Kind::PodDisruptionBudget,
        Kind::NetworkPolicy,
        Kind::Route,
        Kind::CronJob,
        Kind::PersistentVolumeClaim,
    ] {
        streams.push(changes_of(client, kind.api_resource(), ns, None));
    }
    stream::select_all(streams)
}
