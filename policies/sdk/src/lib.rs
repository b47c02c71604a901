//! Write oc-registry policy modules in Rust.
//!
//! A policy module is a WebAssembly module built for `wasm32-unknown-unknown` that implements one
//! or more *hooks* (`storage`, `pruner`, `admission`). The [`policy!`] macro produces everything the
//! ABI asks for — the exports, the metadata section — around plain Rust functions:
//!
//! ```ignore
//! use oc_registry_policy_sdk::{policy, AdmissionInput, Outcome};
//!
//! fn admission(input: AdmissionInput) -> Outcome<()> {
//!     if input.proposed_storage_driver() == Some("emptyDir") {
//!         return Outcome::deny("emptyDir storage loses images on every restart");
//!     }
//!     Outcome::allow()
//! }
//!
//! policy! {
//!     name: "forbid-emptydir",
//!     version: "1.0.0",
//!     description: "Refuses emptyDir registry storage",
//!     admission: admission,
//! }
//! ```
//!
//! The same types are what the host (oc-registry) sends and expects, so a policy and the host agree
//! on the JSON by construction. See `policies/README.md` for the ABI itself.

pub mod duration;
mod hooks;

#[doc(hidden)]
pub mod abi;

pub use hooks::*;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The ABI version this SDK implements (`pol_abi_version`).
pub const ABI_VERSION: i32 = 1;

/// Name of the custom section holding the module's metadata JSON.
pub const METADATA_SECTION: &str = "oc-registry.policy";

/// What the host sends: the hook and its input.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Request {
    pub hook: String,
    pub input: Value,
}

/// What a module answers. `allowed: false` with `reasons` is a refusal; for the decision hooks
/// (`storage`, `pruner`) `result` carries the decision.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Response {
    pub allowed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The metadata section's content.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Metadata {
    pub abi: i32,
    pub name: String,
    pub version: String,
    pub hooks: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A hook's answer, built by policy functions.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome<T> {
    pub allowed: bool,
    pub result: Option<T>,
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
}

impl<T> Outcome<T> {
    /// A decision (for `storage` and `pruner`).
    pub fn decide(result: T) -> Self {
        Outcome {
            allowed: true,
            result: Some(result),
            reasons: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// A refusal, with the reason shown to the user.
    pub fn deny(reason: impl Into<String>) -> Self {
        Outcome {
            allowed: false,
            result: None,
            reasons: vec![reason.into()],
            warnings: Vec::new(),
        }
    }

    pub fn and_reason(mut self, reason: impl Into<String>) -> Self {
        self.reasons.push(reason.into());
        self
    }

    pub fn warn(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(warning.into());
        self
    }
}

impl Outcome<()> {
    /// Allows an admission request.
    pub fn allow() -> Self {
        Outcome {
            allowed: true,
            result: None,
            reasons: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

impl<T: Serialize> Outcome<T> {
    pub fn into_response(self) -> Response {
        Response {
            allowed: self.allowed,
            result: self
                .result
                .and_then(|r| serde_json::to_value(r).ok())
                .filter(|v| !v.is_null()),
            reasons: self.reasons,
            warnings: self.warnings,
        }
    }
}

/// Declares a policy module: its metadata and the functions serving each hook.
///
/// Each hook function takes the hook's input type and returns an [`Outcome`]:
/// `storage: fn(StorageInput) -> Outcome<StorageDecision>`,
/// `pruner: fn(PrunerInput) -> Outcome<PrunerDecision>`,
/// `admission: fn(AdmissionInput) -> Outcome<()>`.
#[macro_export]
macro_rules! policy {
    (
        name: $name:literal,
        version: $version:literal,
        description: $description:literal,
        $($hook:ident : $handler:path),+ $(,)?
    ) => {
        const __POLICY_METADATA_RAW: &str = concat!(
            "{\"abi\":1,\"name\":\"", $name, "\",\"version\":\"", $version,
            "\",\"description\":\"", $description, "\",\"hooks\":[",
            $("\"", stringify!($hook), "\",",)+
            "]}"
        );
        const __POLICY_METADATA_LEN: usize = $crate::abi::without_trailing_comma_len(__POLICY_METADATA_RAW);

        #[used]
        #[unsafe(link_section = "oc-registry.policy")]
        static __POLICY_METADATA: [u8; __POLICY_METADATA_LEN] =
            $crate::abi::without_trailing_comma::<__POLICY_METADATA_LEN>(__POLICY_METADATA_RAW);

        #[unsafe(no_mangle)]
        pub extern "C" fn pol_abi_version() -> i32 {
            $crate::ABI_VERSION
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn pol_alloc(len: i32) -> i32 {
            $crate::abi::alloc(len)
        }

        /// # Safety
        /// `ptr`/`len` must come from `pol_alloc` or `pol_evaluate`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn pol_free(ptr: i32, len: i32) {
            unsafe { $crate::abi::free(ptr, len) }
        }

        /// # Safety
        /// `ptr`/`len` must describe a buffer obtained from `pol_alloc`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn pol_evaluate(ptr: i32, len: i32) -> i64 {
            unsafe {
                $crate::abi::evaluate(ptr, len, |hook, input| match hook {
                    $(stringify!($hook) => $crate::abi::run(input, $handler),)+
                    other => $crate::Response {
                        allowed: false,
                        reasons: vec![format!("this module does not serve the {other} hook")],
                        ..$crate::Response::default()
                    },
                })
            }
        }

        /// Evaluates a request natively, the way the host would through the ABI (for tests).
        pub fn evaluate_json(request: &str) -> String {
            let response = $crate::abi::dispatch_json(request.as_bytes(), |hook, input| match hook {
                $(stringify!($hook) => $crate::abi::run(input, $handler),)+
                other => $crate::Response { allowed: false, reasons: vec![format!("this module does not serve the {other} hook")], ..$crate::Response::default() },
            });
            serde_json::to_string(&response).unwrap_or_default()
        }

        /// This module's metadata, as written to its custom section.
        pub fn metadata() -> $crate::Metadata {
            serde_json::from_slice(&__POLICY_METADATA).expect("the metadata is valid JSON")
        }
    };
}
