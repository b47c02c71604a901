//! The validating admission webhook the in-cluster reconciler serves, so that the cluster's
//! admission modules bind every writer of the Config and the ImagePruner (`kubectl patch`
//! included), not only users of this tool: AdmissionReview v1 over HTTPS, the modules of
//! `openshift-image-registry/oc-registry-policies` as they are now, failing closed.

use crate::api::REGISTRY_NAMESPACE;
use crate::policy::Policies;
use crate::policy::config::{CLUSTER_CONFIGMAP, SourcedConfig};
use crate::policy::sdk::AdmissionInput;
use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full, Limited};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The webhook configuration the manifests install, and the Service in front of the webhook.
pub const WEBHOOK_CONFIGURATION: &str = "oc-registry";
pub const WEBHOOK_SERVICE: &str = "oc-registry-webhook";
pub const WEBHOOK_PATH: &str = "/validate";
/// The largest AdmissionReview read.
const MOST_REVIEW: usize = 8 << 20;

/// The answer to an AdmissionReview: the cluster's admission modules judge the change. `policies`
/// is why the cluster's modules are unknown when they could not be read: the change is refused.
pub fn review(policies: Result<&Policies, &str>, review: &Value) -> Value {
    let request = &review["request"];
    let respond =
        |response: Value| json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response});
    let uid = request["uid"].clone();
    let deny =
        |message: String| respond(json!({"uid": uid, "allowed": false, "status": {"code": 403, "message": message}}));
    let policies = match policies {
        Ok(p) => p,
        Err(why) => {
            return deny(format!(
                "the cluster's policies could not be read ({why}): changes are refused until they can"
            ));
        }
    };
    let operation = request["operation"].as_str().unwrap_or_default().to_ascii_lowercase();
    let kind = request["kind"]["kind"].as_str().unwrap_or_default().to_string();
    let object = |key: &str| Some(request[key].clone()).filter(|v| v.is_object());
    let input = AdmissionInput {
        operation,
        kind,
        current: object("oldObject"),
        proposed: object("object"),
        facts: Default::default(),
    };
    match policies.admit(&input) {
        Ok(verdict) if verdict.allowed => respond(json!({"uid": uid, "allowed": true, "warnings": verdict.warnings})),
        Ok(verdict) => deny(verdict.denials_text()),
        Err(e) => deny(e.to_string()),
    }
}

/// The cluster's admission modules, loaded again only when their ConfigMap changed.
#[derive(Default)]
pub struct ClusterPolicies {
    loaded: Mutex<Option<(String, Arc<Policies>)>>,
}

impl ClusterPolicies {
    pub async fn current(&self, client: &Client) -> Result<Arc<Policies>, String> {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), REGISTRY_NAMESPACE);
        let map = api.get_opt(CLUSTER_CONFIGMAP).await.map_err(|e| e.to_string())?;
        let version = map
            .as_ref()
            .map_or_else(|| "absent".to_string(), |m| m.resource_version().unwrap_or_default());
        if let Some((v, p)) = self.loaded.lock().expect("policies").as_ref()
            && *v == version
        {
            return Ok(p.clone());
        }
        let config = match map {
            Some(map) => Some(crate::state::policies::parse_cluster_policy_config(map).map_err(|e| format!("{e:#}"))?),
            None => None,
        };
        let policies = tokio::task::spawn_blocking(move || load(config))
            .await
            .map_err(|e| e.to_string())??;
        *self.loaded.lock().expect("policies") = Some((version, policies.clone()));
        Ok(policies)
    }
}

fn load(config: Option<SourcedConfig>) -> Result<Arc<Policies>, String> {
    let policies = Policies::load(config, None).map_err(|e| format!("{e:#}"))?;
    // Compiled now, so that a review never waits on a compile.
    for m in policies
        .modules
        .iter()
        .filter(|m| m.hooks.iter().any(|h| h == "admission"))
    {
        policies.ready(m).map_err(|e| e.to_string())?;
    }
    Ok(Arc::new(policies))
}

/// The webhook's serving certificate: the one the service CA issued, else one made here for the
/// Service's name, whose CA then goes into the webhook configuration.
pub struct Certificate {
    pub chain_pem: String,
    pub key_pem: String,
    /// Made here: the webhook configuration must be told to trust it.
    pub generated: bool,
}

impl Certificate {
    pub fn load_or_generate(cert: Option<&std::path::Path>, key: Option<&std::path::Path>) -> Result<Self> {
        if let (Some(c), Some(k)) = (cert, key)
            && c.exists()
            && k.exists()
        {
            return Ok(Certificate {
                chain_pem: std::fs::read_to_string(c).with_context(|| format!("reading {}", c.display()))?,
                key_pem: std::fs::read_to_string(k).with_context(|| format!("reading {}", k.display()))?,
                generated: false,
            });
        }
        let key = rcgen::KeyPair::generate().context("generating the webhook's key")?;
        let name = format!("{WEBHOOK_SERVICE}.{REGISTRY_NAMESPACE}.svc");
        let mut params = rcgen::CertificateParams::new(vec![name.clone()]).context("the webhook's certificate")?;
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).context("signing the webhook's certificate")?;
        Ok(Certificate {
            chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            generated: true,
        })
    }

    fn server_config(&self) -> Result<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_slice_iter(self.chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .context("reading the webhook's certificate")?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).context("reading the webhook's key")?;
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .context("the webhook's certificate and key")
    }
}

/// Puts `ca_pem` in every webhook of the webhook configuration (a generated certificate).
pub async fn trust_in_configuration(client: &Client, ca_pem: &str) -> Result<()> {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let mut configuration = api
        .get(WEBHOOK_CONFIGURATION)
        .await
        .with_context(|| format!("reading validatingwebhookconfiguration {WEBHOOK_CONFIGURATION}"))?;
    let bundle = k8s_openapi::ByteString(ca_pem.as_bytes().to_vec());
    for webhook in configuration.webhooks.iter_mut().flatten() {
        webhook.client_config.ca_bundle = Some(bundle.clone());
    }
    api.replace(WEBHOOK_CONFIGURATION, &PostParams::default(), &configuration)
        .await
        .with_context(|| format!("trusting the webhook's certificate in {WEBHOOK_CONFIGURATION}"))?;
    Ok(())
}

/// Serves reviews on `listener` until `stop` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    certificate: &Certificate,
    client: Client,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(certificate.server_config()?));
    let policies = Arc::new(ClusterPolicies::default());
    tokio::pin!(stop);
    loop {
        let (tcp, _) = tokio::select! {
            _ = &mut stop => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
        };
        let (acceptor, policies, client) = (acceptor.clone(), policies.clone(), client.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (policies, client) = (policies.clone(), client.clone());
                async move { Ok::<_, std::convert::Infallible>(answer(request, &policies, &client).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}

async fn answer(
    request: hyper::Request<hyper::body::Incoming>,
    policies: &ClusterPolicies,
    client: &Client,
) -> hyper::Response<Full<bytes::Bytes>> {
    let reply = |status: u16, body: String| {
        hyper::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(bytes::Bytes::from(body)))
            .expect("a valid response")
    };
    if request.method() != hyper::Method::POST || request.uri().path() != WEBHOOK_PATH {
        return reply(404, json!({"message": "not found"}).to_string());
    }
    let body = match Limited::new(request.into_body(), MOST_REVIEW).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return reply(413, json!({"message": "the review is too large"}).to_string()),
    };
    let Ok(incoming) = serde_json::from_slice::<Value>(&body) else {
        return reply(400, json!({"message": "not an AdmissionReview"}).to_string());
    };
    let loaded = policies.current(client).await;
    let answer = match &loaded {
        Ok(p) => review(Ok(p), &incoming),
        Err(why) => review(Err(why), &incoming),
    };
    reply(200, answer.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(operation: &str, storage: Value) -> Value {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u-1",
            "kind": {"group": "imageregistry.operator.openshift.io", "version": "v1", "kind": "Config"},
            "operation": operation,
            "object": {"spec": {"managementState": "Managed", "replicas": 2, "storage": storage}},
            "oldObject": null,
            "dryRun": false,
        }})
    }

    #[test]
    fn reviews_are_answered_by_the_modules_and_refused_when_they_are_unknown() {
        let policies = Policies::load(None, None).unwrap();
        let answer = review(Ok(&policies), &request("CREATE", json!({"emptyDir": {}})));
        assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(answer["response"]["uid"], "u-1");
        assert_eq!(answer["response"]["allowed"], true);

        let answer = review(
            Err("Error from server (Forbidden): no"),
            &request("UPDATE", json!({"emptyDir": {}})),
        );
        assert_eq!(answer["response"]["allowed"], false);
        assert_eq!(answer["response"]["status"]["code"], 403);
        assert!(
            answer["response"]["status"]["message"]
                .as_str()
                .unwrap()
                .contains("the cluster's policies could not be read (Error from server (Forbidden): no)")
        );
    }
}
