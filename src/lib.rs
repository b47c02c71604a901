//! oc-registry: configure and reconcile the OpenShift image registry from the command line.
//!
//! The modules are layers; each imports only from its own layer and the ones below it (a test
//! holds them to it):
//!
//! 1. [`cli`]: the arguments, the command tree, and the entry point the binaries share.
//! 2. [`commands`]: one module per command, each turning parsed arguments into work and an exit
//!    status, with the [`commands::Context`] (flags resolved once, one session, one policy set).
//! 3. What the commands do: [`configure`] (checked changes to the Config and the ImagePruner),
//!    [`diagnose`] (doctor's findings) and [`reconcile`] (bootstrap, apply, tear down, status).
//! 4. What they decide with: [`render`] (the desired objects, pure), [`storage`] (one module per
//!    storage driver), [`state`] (what the cluster holds, read as typed snapshots), [`policy`]
//!    (the WebAssembly policy host) and [`registry_api`] (the registry's own HTTP API).
//! 5. What everything stands on: [`api`] (the typed OpenShift APIs and object names),
//!    [`cluster`] (kubeconfig, client, retries, how writes are made) and [`validate`] (rules for
//!    values, findings and problems).

pub mod api;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod configure;
pub mod diagnose;
pub mod policy;
pub mod reconcile;
pub mod registry_api;
pub mod render;
pub mod state;
pub mod storage;
pub mod validate;

#[cfg(test)]
mod layering;
