//! The enumerated values of the registry's API. Each keeps a value it does not know as written
//! (`Other`), so reading a Config a newer operator wrote never fails, and a check can name it.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! api_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* $variant,)+
            /// A value this program does not know, kept as written.
            #[serde(untagged)]
            Other(String),
        }

        impl $name {
            /// The values the API accepts and this program acts on.
            pub const KNOWN: &[$name] = &[$($name::$variant),+];

            /// As the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => stringify!($variant),)+
                    $name::Other(other) => other,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::KNOWN
                    .iter()
                    .find(|v| v.as_str() == value)
                    .cloned()
                    .unwrap_or_else(|| $name::Other(value.to_string()))
            }
        }
    };
}

api_enum!(
    /// `managementState`, of the registry and of its storage: who acts on it.
    ManagementState {
        /// Reconciled: the registry runs (or the storage is the registry's to create and delete).
        Managed,
        /// Left alone: nothing is changed (the storage is never deleted).
        Unmanaged,
        /// Taken down: every object the registry owns is deleted.
        Removed,
    }
);

api_enum!(
    /// `logLevel` and `operatorLogLevel`.
    LogLevel {
        Normal,
        Debug,
        Trace,
        TraceAll,
    }
);

api_enum!(
    /// `rolloutStrategy` of the registry's Deployment.
    RolloutStrategy {
        RollingUpdate,
        Recreate,
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_read_as_variants_and_others_as_written() {
        let read = |s: &str| serde_json::from_value::<ManagementState>(serde_json::json!(s)).unwrap();
        assert_eq!(read("Managed"), ManagementState::Managed);
        assert_eq!(read("Force"), ManagementState::Other("Force".into()));
        assert_eq!(serde_json::to_value(ManagementState::Removed).unwrap(), "Removed");
        assert_eq!(
            serde_json::to_value(ManagementState::Other("Force".into())).unwrap(),
            "Force"
        );
        assert_eq!(RolloutStrategy::from("Recreate"), RolloutStrategy::Recreate);
        assert_eq!(LogLevel::from("Loud").as_str(), "Loud");
        assert_eq!(LogLevel::TraceAll.to_string(), "TraceAll");
    }
}
