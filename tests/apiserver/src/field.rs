//! Field errors shaped like `k8s.io/apimachinery/pkg/util/validation/field`.

use serde_json::{Value, json};
use std::fmt;

/// A path into an object, rendered the way the apiserver renders it: `spec.routes[0].name`,
/// `metadata.labels[app]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    pub fn root() -> Self {
        FieldPath(String::new())
    }

    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            FieldPath(name.to_string())
        } else {
            FieldPath(format!("{}.{}", self.0, name))
        }
    }

    pub fn index(&self, i: usize) -> Self {
        FieldPath(format!("{}[{}]", self.0, i))
    }

    pub fn key(&self, k: &str) -> Self {
        FieldPath(format!("{}[{}]", self.0, k))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    Required,
    Invalid,
    NotSupported,
    TooLong,
    TooMany,
    Duplicate,
    Forbidden,
    NotFound,
}

impl ErrorType {
    fn reason(self) -> &'static str {
        match self {
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::NotFound => "FieldValueNotFound",
        }
    }

    fn label(self) -> &'static str {
        match self {
            ErrorType::Required => "Required value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::NotFound => "Not found",
        }
    }
}

#[derive(Clone, Debug)]
pub struct FieldError {
    pub kind: ErrorType,
    pub field: FieldPath,
    /// The offending value, shown for Invalid/NotSupported/Duplicate/TooMany.
    pub value: Option<Value>,
    pub detail: String,
}

impl FieldError {
    pub fn required(field: &FieldPath, detail: impl Into<String>) -> Self {
        Self {
            kind: ErrorType::Required,
            field: field.clone(),
            value: None,
            detail: detail.into(),
        }
    }

    pub fn invalid(field: &FieldPath, value: &Value, detail: impl Into<String>) -> Self {
        Self {
            kind: ErrorType::Invalid,
            field: field.clone(),
            value: Some(value.clone()),
            detail: detail.into(),
        }
    }

    pub fn not_supported(field: &FieldPath, value: &Value, supported: &[Value]) -> Self {
        let list: Vec<String> = supported.iter().map(render_value).collect();
        Self {
            kind: ErrorType::NotSupported,
            field: field.clone(),
            value: Some(value.clone()),
            detail: format!("supported values: {}", list.join(", ")),
        }
    }

    pub fn too_long(field: &FieldPath, max: u64) -> Self {
        Self {
            kind: ErrorType::TooLong,
            field: field.clone(),
            value: None,
            detail: format!("may not be more than {max} bytes"),
        }
    }

    pub fn too_many(field: &FieldPath, actual: usize, max: u64) -> Self {
        Self {
            kind: ErrorType::TooMany,
            field: field.clone(),
            value: Some(json!(actual)),
            detail: format!("must have at most {max} items"),
        }
    }

    pub fn duplicate(field: &FieldPath, value: &Value) -> Self {
        Self {
            kind: ErrorType::Duplicate,
            field: field.clone(),
            value: Some(value.clone()),
            detail: String::new(),
        }
    }

    pub fn not_found(field: &FieldPath, value: &Value) -> Self {
        Self {
            kind: ErrorType::NotFound,
            field: field.clone(),
            value: Some(value.clone()),
            detail: String::new(),
        }
    }

    pub fn forbidden(field: &FieldPath, detail: impl Into<String>) -> Self {
        Self {
            kind: ErrorType::Forbidden,
            field: field.clone(),
            value: None,
            detail: detail.into(),
        }
    }

    /// The message without the field prefix, as it appears in `details.causes[].message`.
    pub fn body(&self) -> String {
        let mut out = self.kind.label().to_string();
        if let Some(v) = &self.value {
            out.push_str(": ");
            out.push_str(&render_value(v));
        }
        if !self.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&self.detail);
        }
        out
    }

    pub fn cause(&self) -> Value {
        json!({"reason": self.kind.reason(), "message": self.body(), "field": self.field.as_str()})
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// Values are quoted like Go's `%q` for strings and printed bare for numbers and booleans.
fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// The aggregate message of an Invalid status: a single error bare, several in brackets.
pub fn aggregate(errors: &[FieldError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}
