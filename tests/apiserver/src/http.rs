//! Serving the API over TCP on 127.0.0.1, as plain HTTP or as HTTPS with a CA made for the run, and
//! writing a kubeconfig that points at it.

use crate::server::ApiServer;
use anyhow::{Context, Result};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// A server listening on a port; stops when dropped.
pub struct Listening {
    pub url: String,
    pub addr: SocketAddr,
    /// PEM of the CA that signed the serving certificate (HTTPS only).
    pub ca_pem: Option<String>,
    task: JoinHandle<()>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listening {
    /// A kubeconfig with one cluster, user and context (all named `sim`) for this server.
    pub fn kubeconfig(&self, token: Option<&str>, namespace: Option<&str>) -> String {
        use base64::Engine as _;
        let mut cluster = format!("    server: {}\n", self.url);
        if let Some(ca) = &self.ca_pem {
            let data = base64::engine::general_purpose::STANDARD.encode(ca);
            cluster.push_str(&format!("    certificate-authority-data: {data}\n"));
        }
        let user = match token {
            Some(t) => format!("    token: {t}\n"),
            None => "    username: admin\n".to_string(),
        };
        let ns = namespace.map(|n| format!("    namespace: {n}\n")).unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n{cluster}users:\n- name: sim\n  user:\n{user}contexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n{ns}current-context: sim\n"
        )
    }

    pub fn write_kubeconfig(&self, path: &Path, token: Option<&str>, namespace: Option<&str>) -> Result<()> {
        std::fs::write(path, self.kubeconfig(token, namespace)).with_context(|| format!("writing {}", path.display()))
    }
}

struct Tls {
    acceptor: tokio_rustls::TlsAcceptor,
    ca_pem: String,
}

fn make_tls() -> Result<Tls> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test-apiserver CA");
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key)?;

    let server_key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    params.distinguished_name.push(DnType::CommonName, "test-apiserver");
    let cert = params.signed_by(&server_key, &ca)?;

    let key_der = rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der()).map_err(anyhow::Error::msg)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key_der)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_pem: ca.pem(),
    })
}

impl ApiServer {
    /// Listens on `127.0.0.1:port` (0 for any free port) over plain HTTP.
    pub async fn listen_http(&self, port: u16) -> Result<Listening> {
        self.listen(port, None).await
    }

    /// Listens on `127.0.0.1:port` over HTTPS with a freshly made CA.
    pub async fn listen_https(&self, port: u16) -> Result<Listening> {
        self.listen(port, Some(make_tls()?)).await
    }

    async fn listen(&self, port: u16, tls: Option<Tls>) -> Result<Listening> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .context("binding 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        self.update_settings(|s| s.server_address = addr.to_string());
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        self.point_identity_at(&format!("{scheme}://{addr}"), ca_pem.as_deref());
        let acceptor = tls.map(|t| t.acceptor);
        let server = self.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let service = TowerToHyperService::new(server.clone());
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let builder = Builder::new(TokioExecutor::new());
                    match acceptor {
                        Some(a) => {
                            if let Ok(tls_stream) = a.accept(stream).await {
                                let _ = builder.serve_connection(TokioIo::new(tls_stream), service).await;
                            }
                        }
                        None => {
                            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Listening {
            url: format!("{scheme}://{addr}"),
            addr,
            ca_pem,
            task,
        })
    }
}
