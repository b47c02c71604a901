//! The end-to-end tests, in one binary so that the product and the test API server are linked
//! once. Each module drives the product as users do: the built binaries against a simulated
//! cluster served on 127.0.0.1, read back with the real kubectl.

mod support;

mod api_types;
mod bounded_io;
mod cluster_access;
mod completion;
mod configure;
mod credentials;
mod doctor;
mod events;
mod krew_install;
mod kubectl_conventions;
mod logs;
mod output_formats;
mod parity;
mod policy_builtin;
mod policy_cli;
mod policy_compile_bounds;
mod policy_compiled;
mod policy_fail_closed;
mod policy_sandbox;
mod policy_webhook;
mod reconcile;
mod reconcile_requests;
mod registry_login;
mod registry_proof;
mod safety;
mod status;
mod storage_azure;
mod storage_gcs;
mod storage_ibmcos;
mod storage_s3;
mod storage_swift;
mod trust;
