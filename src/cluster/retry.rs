//! Bounded retries for API calls: server errors, throttling and timeouts are retried with
//! exponential backoff; everything else (including conflicts, which need a fresh read) is returned.

use std::future::Future;
use std::time::Duration;

/// Attempts per call, the first included.
pub const ATTEMPTS: u32 = 5;
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(2);
/// The longest wait a server's `Retry-After` is granted.
const MAX_SERVER_DELAY: Duration = Duration::from_secs(10);

/// Whether another attempt may succeed where this one failed.
pub fn is_transient(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(s) => matches!(s.code, 429 | 500 | 502 | 503 | 504),
        // A bound this program set is the caller's limit, not a passing fault.
        kube::Error::Service(_) => super::exceeded(err).is_none(),
        kube::Error::HyperError(_) => true,
        _ => false,
    }
}

/// How long the server asked to wait (`Retry-After`, which the client layer carries into
/// `details.retryAfterSeconds`), at most [`MAX_SERVER_DELAY`].
fn retry_after(err: &kube::Error) -> Duration {
    match err {
        kube::Error::Api(s) => s
            .details
            .as_ref()
            .map(|d| Duration::from_secs(u64::from(d.retry_after_seconds)).min(MAX_SERVER_DELAY))
            .unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

pub fn is_conflict(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 409)
}

/// Runs `call` until it succeeds, fails for good, or has been tried [`ATTEMPTS`] times.
pub async fn retry<T, F, Fut>(mut call: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut delay = FIRST_DELAY;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                // The server's own estimate wins when it gives one (`429 storage is
                // (re)initializing` asks for a second), within the same bound.
                tokio::time::sleep(delay.max(retry_after(&e))).await;
                delay = (delay * 2).min(MAX_DELAY);
                attempt += 1;
            }
            other => return other,
        }
    }
}
