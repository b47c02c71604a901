//! oc-registry: configure and reconcile the OpenShift image registry from the command line.
//!
//! Layers, from the user inward: [`cli`] (arguments, output) → [`commands`] (one per command) →
//! [`state`] (what the cluster holds) → [`cluster`] (kubeconfig resolution, client, errors), with
//! the typed OpenShift APIs in [`api`].

pub mod api;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod configure;
pub mod diagnose;
pub mod policy;
pub mod reconcile;
pub mod registry_api;
pub mod state;
