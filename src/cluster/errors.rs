//! Errors the way kubectl prints them: `Error from server (Reason): message` for API failures,
//! `The connection to the server HOST was refused - …` when nothing listens.

use std::error::Error as _;

/// Renders a kube error for a person, naming the server for connection problems.
pub fn describe_kube_error(err: &kube::Error, server: &str) -> String {
    match err {
        // kubectl's words for it: the credentials are missing, expired or wrong.
        kube::Error::Api(status) if status.code == 401 => {
            let why = if status.message.is_empty() {
                "Unauthorized"
            } else {
                status.message.as_str()
            };
            format!("error: You must be logged in to the server ({why})")
        }
        kube::Error::Api(status) if status.reason.is_empty() => {
            format!("Error from server: {}", status.message)
        }
        kube::Error::Api(status) => {
            format!("Error from server ({}): {}", status.reason, status.message)
        }
        // It answered, but not as an API server does: say so rather than call it unreachable.
        kube::Error::SerdeError(e) => {
            let host = server.split("://").nth(1).unwrap_or(server).trim_end_matches('/');
            format!("the server {host} answered with a body that is not a Kubernetes API response: {e}")
        }
        other if super::exceeded(other).is_some() => {
            let host = server.split("://").nth(1).unwrap_or(server).trim_end_matches('/');
            let why = super::exceeded(other).map(ToString::to_string).unwrap_or_default();
            format!("Error reading from the server {host}: {why}")
        }
        other => {
            let host = server.split("://").nth(1).unwrap_or(server).trim_end_matches('/');
            let mut source: Option<&(dyn std::error::Error + 'static)> = other.source();
            while let Some(s) = source {
                if let Some(io) = s.downcast_ref::<std::io::Error>() {
                    match io.kind() {
                        std::io::ErrorKind::ConnectionRefused => {
                            return format!(
                                "The connection to the server {host} was refused - did you specify the right host or port?"
                            );
                        }
                        std::io::ErrorKind::TimedOut => {
                            return format!("Unable to connect to the server: {host}: i/o timeout");
                        }
                        _ => {}
                    }
                }
                if s.to_string().contains("timed out") || s.to_string().contains("elapsed") {
                    return format!("Unable to connect to the server: {host}: request timed out");
                }
                source = s.source();
            }
            format!("Unable to connect to the server: {}", chain(other))
        }
    }
}

/// An error and its causes, each as it says itself, joined with `: ` (repeats left out).
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

pub fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 404)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_says_to_log_in_as_kubectl_does() {
        let status = kube::core::Status::failure("Unauthorized", "Unauthorized").with_code(401);
        assert_eq!(
            describe_kube_error(&kube::Error::Api(status.boxed()), "https://api.example.com:6443"),
            "error: You must be logged in to the server (Unauthorized)"
        );
    }

    #[test]
    fn an_answer_that_is_not_json_is_not_called_unreachable() {
        let err = kube::Error::SerdeError(serde_json::from_str::<serde_json::Value>("<html>").unwrap_err());
        let text = describe_kube_error(&err, "https://api.example.com:6443");
        assert!(
            text.starts_with(
                "the server api.example.com:6443 answered with a body that is not a Kubernetes API response"
            ),
            "{text}"
        );
    }
}
