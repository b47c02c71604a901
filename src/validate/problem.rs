//! A problem: why the registry cannot be rendered or run as configured, as a condition reason and
//! message.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The condition reason (`StorageNotConfigured`, `VerificationFailed`, `Error`).
    pub reason: String,
    pub message: String,
    /// Retrying cannot help until the Config changes.
    pub permanent: bool,
}

impl Problem {
    pub fn new(reason: &str, message: impl Into<String>) -> Problem {
        Problem {
            reason: reason.into(),
            message: message.into(),
            permanent: false,
        }
    }

    pub fn permanent(reason: &str, message: impl Into<String>) -> Problem {
        Problem {
            permanent: true,
            ..Problem::new(reason, message)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
