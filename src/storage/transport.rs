//! How this program reaches a cloud's API: the storage's CA bundles, the cluster proxy (loopback
//! never proxied) and timeouts, for the SDK clients and for the plain JSON calls alike.

use super::cloud::{CloudContext, CloudError};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Connector, ConnectorBuilder};
use std::time::Duration;

/// The CA roots: a `trustedCA` bundle replaces the system's; the cloud's bundle joins them.
fn trust_store(cx: &CloudContext<'_>) -> TrustStore {
    match (cx.trusted_ca, cx.cloud_ca) {
        (Some(own), _) => TrustStore::empty().with_pem_certificate(own.as_bytes().to_vec()),
        (None, Some(cloud)) => TrustStore::default().with_pem_certificate(cloud.as_bytes().to_vec()),
        (None, None) => TrustStore::default(),
    }
}

/// Loopback is never proxied, as Go's HTTP client (the operator's) never proxies it.
const LOOPBACK: &str = "localhost,127.0.0.0/8,::1";

/// The cluster proxy when one is set, else the environment's (`HTTPS_PROXY`, `NO_PROXY`).
fn proxy(cx: &CloudContext<'_>) -> Result<ProxyConfig, CloudError> {
    let Some(url) = cx.https_proxy.filter(|p| !p.is_empty()) else {
        return Ok(ProxyConfig::from_env());
    };
    let config = ProxyConfig::all(url).map_err(|e| CloudError {
        code: "InvalidProxy".into(),
        message: format!("the cluster proxy {url} cannot be used: {e}"),
    })?;
    let rules = match cx.no_proxy.filter(|n| !n.is_empty()) {
        Some(rules) => format!("{rules},{LOOPBACK}"),
        None => LOOPBACK.to_string(),
    };
    Ok(config.no_proxy(rules))
}

pub(super) fn connector(cx: &CloudContext<'_>) -> Result<Connector, CloudError> {
    let tls = TlsContext::builder()
        .with_trust_store(trust_store(cx))
        .build()
        .map_err(|e| CloudError {
            code: "InvalidCA".into(),
            message: format!("the storage CA bundle cannot be used: {e}"),
        })?;
    Ok(ConnectorBuilder::default()
        .proxy_config(proxy(cx)?)
        .connector_settings(
            aws_smithy_runtime_api::client::http::HttpConnectorSettings::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(60))
                .build(),
        )
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build())
}

/// A URL query value, percent-encoded (every byte but the unreserved ones).
pub(super) fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A credential (a token, a Keystone session) obtained once for a pass and again, once, when the
/// service refuses it: a token that expired midway.
pub(super) struct Renewable<T>(tokio::sync::Mutex<Option<T>>);

impl<T: Clone> Renewable<T> {
    pub fn new() -> Self {
        Renewable(tokio::sync::Mutex::new(None))
    }

    /// Sends the request `build` makes with the credential `obtain` gives; when the service
    /// answers 401, the credential is obtained anew and the request sent once more.
    pub async fn send<Obtained: Future<Output = Result<T, CloudError>>>(
        &self,
        connector: &aws_smithy_runtime_api::client::http::SharedHttpConnector,
        service: &str,
        obtain: impl Fn() -> Obtained,
        build: impl Fn(&T) -> http::Result<http::Request<Vec<u8>>>,
    ) -> Result<Answer, CloudError> {
        let mut renew = false;
        loop {
            let credential = {
                let mut held = self.0.lock().await;
                if renew || held.is_none() {
                    *held = Some(obtain().await?);
                }
                held.clone().expect("just obtained")
            };
            let request = build(&credential).map_err(|e| CloudError {
                code: "InvalidRequest".into(),
                message: format!("a request to {service} cannot be made: {e}"),
            })?;
            let answer = send(connector, service, request).await?;
            if answer.status == 401 && !renew {
                renew = true;
                continue;
            }
            return Ok(answer);
        }
    }
}

/// An HTTP answer: its status, headers and body.
pub(super) struct Answer {
    pub status: u16,
    /// The headers, names lower-case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The start of an answer's body, on one line, for a message.
pub(super) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// Answers that say "slow down" (429; Swift's rate limiter says 498) or "busy" (503).
fn throttled(status: u16) -> bool {
    matches!(status, 429 | 498 | 503)
}

/// Attempts at a throttled request, and the longest wait between two.
const ATTEMPTS: u32 = 5;
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// How long to wait before attempt `attempt + 1`: what `Retry-After` asks (in seconds, up to
/// [`LONGEST_WAIT`]), else 0.5 s doubled each time.
fn backoff(attempt: u32, retry_after: Option<&str>) -> Duration {
    retry_after
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or_else(|| Duration::from_millis(500 << attempt.min(4)))
        .min(LONGEST_WAIT)
}

/// Sends `request` through `connector` (the storage's CA, the cluster proxy, the timeouts),
/// again when the service throttles it; an unreachable service is `EndpointUnreachable`, naming
/// `service`.
pub(super) async fn send(
    connector: &aws_smithy_runtime_api::client::http::SharedHttpConnector,
    service: &str,
    request: http::Request<Vec<u8>>,
) -> Result<Answer, CloudError> {
    let (parts, body) = request.into_parts();
    let mut attempt = 0;
    loop {
        let mut again = http::Request::new(body.clone());
        *again.method_mut() = parts.method.clone();
        *again.uri_mut() = parts.uri.clone();
        *again.headers_mut() = parts.headers.clone();
        let answer = send_once(connector, service, again).await?;
        attempt += 1;
        if !throttled(answer.status) || attempt == ATTEMPTS {
            return Ok(answer);
        }
        tokio::time::sleep(backoff(attempt - 1, answer.header("retry-after"))).await;
    }
}

async fn send_once(
    connector: &aws_smithy_runtime_api::client::http::SharedHttpConnector,
    service: &str,
    request: http::Request<Vec<u8>>,
) -> Result<Answer, CloudError> {
    use aws_smithy_runtime_api::client::http::HttpConnector;
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_types::body::SdkBody;
    let url = request.uri().to_string();
    let unreachable = |detail: String| CloudError {
        code: "EndpointUnreachable".into(),
        message: format!(
            "{service} at {url} cannot be reached: {detail}: check the platform's service endpoint and the cluster proxy"
        ),
    };
    let request = HttpRequest::try_from(request.map(SdkBody::from)).map_err(|e| unreachable(e.to_string()))?;
    let response = connector
        .call(request)
        .await
        .map_err(|e| unreachable(crate::cluster::chain(&e)))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect();
    let body = aws_smithy_types::byte_stream::ByteStream::new(response.into_body())
        .collect()
        .await
        .map_err(|e| unreachable(e.to_string()))?
        .into_bytes()
        .to_vec();
    Ok(Answer { status, headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves `statuses` in turn, one connection each; the credentials each request carried.
    async fn serve(statuses: &'static [u16]) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            for status in statuses {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = stream.read(&mut buffer).await.unwrap();
                    request.extend_from_slice(&buffer[..n]);
                }
                let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                let credential = text
                    .lines()
                    .find_map(|l| l.strip_prefix("x-credential: "))
                    .unwrap_or_default();
                seen.push(credential.trim().to_string());
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                stream.write_all(answer.as_bytes()).await.unwrap();
            }
            seen
        });
        (url, task)
    }

    async fn send_twice(statuses: &'static [u16]) -> (Vec<u16>, Vec<String>, usize) {
        let infrastructure = crate::api::Infrastructure::new("cluster", Default::default());
        let credentials = super::super::Credentials::default();
        let cx = CloudContext {
            infrastructure: &infrastructure,
            credentials: &credentials,
            trusted_ca: None,
            cloud_ca: None,
            https_proxy: None,
            no_proxy: None,
            provisioning: super::super::cloud::default_provisioning(),
        };
        let https = aws_smithy_runtime_api::client::http::SharedHttpConnector::new(connector(&cx).unwrap());
        let (url, server) = serve(statuses).await;
        let held = Renewable::new();
        let obtained = std::sync::atomic::AtomicUsize::new(0);
        let obtain = || async {
            let n = obtained.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, CloudError>(format!("token-{n}"))
        };
        let build = |token: &String| http::Request::get(&url).header("x-credential", token).body(Vec::new());
        let mut answered = Vec::new();
        for _ in 0..2 {
            answered.push(held.send(&https, "test", obtain, build).await.unwrap().status);
        }
        (answered, server.await.unwrap(), obtained.into_inner())
    }

    #[tokio::test]
    async fn a_refused_credential_is_obtained_again_once() {
        // Kept across calls while the service takes it.
        let (answered, seen, obtained) = send_twice(&[200, 200]).await;
        assert_eq!(
            (answered, seen, obtained),
            (vec![200, 200], vec!["token-0".into(), "token-0".into()], 1)
        );
        // Expired midway: obtained anew, and the call made again with it.
        let (answered, seen, obtained) = send_twice(&[200, 401, 200]).await;
        assert_eq!(answered, [200, 200]);
        assert_eq!(seen, ["token-0", "token-0", "token-1"]);
        assert_eq!(obtained, 2);
        // Refused again: the service's answer stands.
        let (answered, seen, _) = send_twice(&[401, 401, 200]).await;
        assert_eq!(answered, [401, 200]);
        assert_eq!(seen, ["token-0", "token-1", "token-1"]);
    }

    #[test]
    fn backoff_follows_retry_after_within_bounds() {
        let cases = [
            (0, None, 500),
            (1, None, 1000),
            (3, None, 4000),
            (9, None, 8000),
            (0, Some("2"), 2000),
            (0, Some("3600"), 10_000),
            (2, Some("Wed, 21 Oct 2026 07:28:00 GMT"), 2000),
        ];
        for (attempt, retry_after, millis) in cases {
            assert_eq!(
                backoff(attempt, retry_after),
                Duration::from_millis(millis),
                "{attempt} {retry_after:?}"
            );
        }
        assert!(throttled(429) && throttled(498) && throttled(503) && !throttled(500));
        assert_eq!(excerpt(b"  <html>\n  too\tmany </html>"), "<html> too many </html>");
    }
}
