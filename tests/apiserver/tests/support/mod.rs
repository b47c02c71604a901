//! What the server's integration tests share.
#![allow(dead_code)]

pub mod webhook;

/// The API error a call failed with.
pub fn api_error(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other}"),
    }
}
