//! The reconcile engine: complete the Config, render the desired objects, apply them, and report
//! status, as the Image Registry Operator does.

pub mod admission;
pub mod apply;
pub mod bootstrap;
pub mod complete;
pub mod conditions;
pub mod engine;
mod events;
pub mod leader;
pub mod observe;
pub mod offline;
pub mod permissions;
pub(crate) mod plan;
pub mod provision;
mod takeover;
pub mod teardown;
pub mod watch;
