//! A finding: what is wrong with one field, and the command that fixes it.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub severity: Severity,
    /// The field at fault, as a path (`spec.storage.pvc.claim`).
    pub field: String,
    pub message: String,
    /// The command that fixes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    pub fn error(field: impl Into<String>, message: impl Into<String>, fix: Option<String>) -> Finding {
        Finding {
            severity: Severity::Error,
            field: field.into(),
            message: message.into(),
            fix,
        }
    }

    pub fn warning(field: impl Into<String>, message: impl Into<String>, fix: Option<String>) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(field, message, fix)
        }
    }

    /// An error when a set, non-empty `value` fails `check`.
    pub fn of_value<T>(
        field: &str,
        value: Option<&str>,
        check: impl Fn(&str) -> Result<T, String>,
        fix: Option<String>,
    ) -> Option<Finding> {
        let e = check(value.filter(|v| !v.is_empty())?).err()?;
        Some(Finding::error(field, e, fix))
    }

    /// An error when a set, non-empty `value` is not an http(s) URL.
    pub fn of_url(field: &str, value: Option<&str>, fix: Option<String>) -> Option<Finding> {
        Finding::of_value(field, value, |v| super::url(v, &["http", "https"]), fix)
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

/// The findings of `after` that `before` did not have: what a change introduces.
pub fn introduced(before: &[Finding], after: Vec<Finding>) -> Vec<Finding> {
    after
        .into_iter()
        .filter(|f| !before.iter().any(|b| b.field == f.field && b.message == f.message))
        .collect()
}
