//! An in-memory Kubernetes API server with the OpenShift APIs the image registry uses, faithful
//! enough that the real `kubectl` and `kube-rs` cannot tell it from a cluster for the operations
//! oc-registry performs: discovery, OpenAPI v3, CRUD with resourceVersion conflicts, CRD schema
//! validation, merge/JSON/strategic patches, server-side apply, status subresources, finalizers,
//! dry run, field validation, watches, selectors — plus a request log, fault injection and a small
//! controller simulation for tests.
//!
//! Use it in-process (`kube::Client::new(server.clone(), "default")`) or over TCP
//! (`server.listen_http(0)` / `listen_https(0)`).

mod admission;
mod apply;
mod catalog;
mod cel;
mod defaulting;
mod discovery;
mod faults;
mod field;
mod gc;
mod handlers;
mod http;
mod installed;
mod keystone;
mod lists;
mod logs;
mod native;
mod openapi;
mod openapi_v2;
mod patch;
mod quantity;
mod schema;
mod seeds;
mod selectors;
mod server;
mod sim;
mod status;
mod store;
mod table;
mod watch;
mod webhooks;

pub use catalog::{Catalog, Origin, ResourceKind};
pub use faults::{Fault, FaultAction, Matcher};
pub use http::Listening;
pub use seeds::{
    INFRASTRUCTURE_NAME, OPERATOR_IMAGE, PRUNER_IMAGE, Platform, REGISTRY_IMAGE, REGISTRY_NAMESPACE, RELEASE_VERSION,
    TlsProfile,
};
pub use server::{ApiServer, LoggedRequest, Settings, round_trips};
pub use sim::{RolloutOutcome, Simulation};
