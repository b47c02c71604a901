//! The registry's own HTTP API (Docker Registry HTTP API v2), as far as `info --check` and `login`
//! need it: whether `/v2/` answers, and whether it accepts a set of credentials.

use base64::Engine as _;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;

/// What `/v2/` answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200: reachable, and the credentials (if any) were accepted.
    Accepted,
    /// 401: reachable, and the credentials (or their absence) were refused.
    Unauthorized,
}

/// Asks `https://HOST/v2/`, with Basic credentials when given. With `insecure`, the certificate is
/// not checked and plain HTTP is tried when TLS fails, as the registry clients of oc do.
pub async fn ping(host: &str, credentials: Option<(&str, &str)>, insecure: bool) -> Result<Answer, String> {
    let https = attempt(&format!("https://{host}/v2/"), credentials, insecure).await;
    match https {
        Err(_) if insecure => attempt(&format!("http://{host}/v2/"), credentials, true).await,
        other => other,
    }
}

async fn attempt(url: &str, credentials: Option<(&str, &str)>, insecure: bool) -> Result<Answer, String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(insecure))
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut request = http::Request::get(url).header(http::header::USER_AGENT, crate::cluster::USER_AGENT);
    if let Some((user, password)) = credentials {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request = request.header(http::header::AUTHORIZATION, format!("Basic {basic}"));
    }
    let request = request.body(Empty::new()).map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .map_err(|_| format!("{url} did not answer within 10s"))?
        .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
    match response.status().as_u16() {
        200 => Ok(Answer::Accepted),
        401 => Ok(Answer::Unauthorized),
        code => Err(format!("{url} answered {code}: it is not a registry's API")),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn tls_config(insecure: bool) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default versions");
    if insecure {
        return builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    builder.with_root_certificates(roots).with_no_client_auth()
}

/// `--insecure`: accepts any certificate, still checking that the handshake is signed by it.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
