//! Policy failures. Every failure names the module, the hook and the cause, and every failure is
//! a refusal: nothing falls back to "allow".

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The module is larger than the limit.
    TooLarge {
        size: usize,
        limit: usize,
    },
    /// Not a WebAssembly module, or one wasmtime refuses to compile.
    Invalid(String),
    /// Compiling the module went past one of its bounds.
    CompileLimit {
        what: &'static str,
        limit: String,
    },
    /// Code shaped so that compiling it could take long or take much memory.
    TooComplex {
        what: &'static str,
        value: u64,
        limit: u64,
    },
    /// The module imports something; policies get no capabilities at all.
    Imports(Vec<String>),
    MissingExport(String),
    WrongExportType(String),
    /// No or unreadable `oc-registry.policy` metadata section.
    Metadata(String),
    AbiVersion {
        found: i64,
        supported: i32,
    },
    /// The module does not declare the hook it was asked to serve.
    HookNotServed,
    OutOfFuel {
        budget: u64,
    },
    MemoryLimit {
        limit: usize,
    },
    StackOverflow,
    TableLimit {
        limit: usize,
    },
    /// Any other trap (unreachable, out-of-bounds access, …).
    Trap(String),
    InputTooLarge {
        size: usize,
        limit: usize,
    },
    OutputTooLarge {
        size: u64,
        limit: usize,
    },
    /// A pointer/length the module handed back lies outside its memory.
    BadPointer(String),
    /// The output is not the JSON response the ABI specifies.
    BadOutput(String),
    /// The response is well-formed, but its result does not fit the hook.
    BadResult(String),
    /// A decision hook answered `allowed: false` instead of deciding.
    Refused(Vec<String>),
    /// The module's sha256 is not the one the configuration pins.
    DigestMismatch {
        expected: String,
        actual: String,
    },
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::TooLarge { size, limit } => {
                write!(f, "module is {size} bytes, over the {limit}-byte limit")
            }
            Cause::Invalid(e) => write!(f, "not a valid WebAssembly module: {e}"),
            Cause::CompileLimit { what, limit } => write!(
                f,
                "compiling it went past the {what} limit of {limit}: the module is refused"
            ),
            Cause::TooComplex { what, value, limit } => write!(
                f,
                "module has {value} {what}, over the limit of {limit}: compiling it could take too long, so it is refused uncompiled"
            ),
            Cause::Imports(list) => write!(
                f,
                "module imports {} (policies may import nothing, WASI included)",
                list.join(", ")
            ),
            Cause::MissingExport(name) => write!(f, "module does not export {name}"),
            Cause::WrongExportType(what) => write!(f, "export {what}"),
            Cause::Metadata(e) => write!(f, "metadata section: {e}"),
            Cause::AbiVersion { found, supported } => {
                write!(
                    f,
                    "module implements policy ABI version {found}; this oc-registry supports version {supported}"
                )
            }
            Cause::HookNotServed => write!(f, "module does not declare this hook in its metadata"),
            Cause::OutOfFuel { budget } => write!(f, "ran out of fuel (budget {budget}): the module ran too long"),
            Cause::MemoryLimit { limit } => {
                write!(f, "exceeded the memory limit of {} MiB", limit >> 20)
            }
            Cause::StackOverflow => write!(f, "overflowed its stack"),
            Cause::TableLimit { limit } => {
                write!(f, "exceeded the table limit of {limit} elements")
            }
            Cause::Trap(t) => write!(f, "trapped: {t}"),
            Cause::InputTooLarge { size, limit } => {
                write!(f, "input is {size} bytes, over the {limit}-byte limit")
            }
            Cause::OutputTooLarge { size, limit } => {
                write!(f, "output is {size} bytes, over the {limit}-byte limit")
            }
            Cause::BadPointer(e) => write!(f, "returned an invalid pointer: {e}"),
            Cause::BadOutput(e) => write!(f, "returned invalid output: {e}"),
            Cause::BadResult(e) => write!(f, "returned a result that does not fit the hook: {e}"),
            Cause::Refused(reasons) => write!(f, "refused to decide: {}", reasons.join("; ")),
            Cause::DigestMismatch { expected, actual } => {
                write!(
                    f,
                    "sha256 is {actual}, but the configuration pins {expected}: refusing to run it"
                )
            }
        }
    }
}

/// A policy that could not be loaded or did not produce a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub module: String,
    /// Empty while loading, before any hook runs.
    pub hook: String,
    pub cause: Cause,
}

impl PolicyError {
    pub fn loading(module: &str, cause: Cause) -> Self {
        PolicyError {
            module: module.to_string(),
            hook: String::new(),
            cause,
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hook.is_empty() {
            write!(f, "policy module {:?} refused: {}", self.module, self.cause)
        } else {
            write!(
                f,
                "policy module {:?} failed in hook {}: {}",
                self.module, self.hook, self.cause
            )
        }
    }
}

impl std::error::Error for PolicyError {}
