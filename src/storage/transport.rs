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

/// Sends `request` through `connector` (the storage's CA, the cluster proxy, the timeouts); an
/// unreachable service is `EndpointUnreachable`, naming `service`.
pub(super) async fn send(
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
