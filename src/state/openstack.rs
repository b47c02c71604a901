//! Whether an OpenStack cloud offers object storage (Swift), asked the way the Image Registry
//! Operator asks: authenticate to Keystone with the cluster's cloud credentials and look for an
//! `object-store` service in the catalog.

use anyhow::{Context, Result, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::Secret;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn secret_value(secret: &Secret, key: &str) -> Option<String> {
    let bytes = secret.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone()).ok()
}

/// The Keystone v3 authentication request for a clouds.yaml `auth` block.
fn auth_request(auth: &Value) -> Result<Value> {
    let s = |k: &str| auth.get(k).and_then(Value::as_str);
    if let (Some(id), Some(secret)) = (s("application_credential_id"), s("application_credential_secret")) {
        return Ok(json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": id, "secret": secret}}}}));
    }
    let (Some(user), Some(password)) = (s("username"), s("password")) else {
        bail!("clouds.yaml has neither an application credential nor a username and password");
    };
    let user_domain = s("user_domain_name").or(s("domain_name")).unwrap_or("Default");
    let project_domain = s("project_domain_name").or(s("domain_name")).unwrap_or("Default");
    let mut request = json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"name": user, "domain": {"name": user_domain}, "password": password}}}}});
    if let Some(project) = s("project_id") {
        request["auth"]["scope"] = json!({"project": {"id": project}});
    } else if let Some(project) = s("project_name") {
        request["auth"]["scope"] = json!({"project": {"name": project, "domain": {"name": project_domain}}});
    }
    Ok(request)
}

fn tls_config(extra_ca: Option<&str>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(pem) = extra_ca {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.context("the cacert in the cloud credentials is not PEM")?)?;
        }
    }
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Asks Keystone, with the clouds.yaml in `credentials`, whether the catalog has object storage.
pub(crate) async fn offers_object_storage(credentials: Option<&Secret>, cloud: &str) -> Result<bool> {
    let credentials = credentials.ok_or_else(|| {
        anyhow!("cannot tell whether Swift is available: no OpenStack credentials in openshift-image-registry")
    })?;
    let clouds_yaml = secret_value(credentials, "clouds.yaml")
        .ok_or_else(|| anyhow!("cannot tell whether Swift is available: the credentials have no clouds.yaml"))?;
    let clouds: Value = serde_saphyr::from_str(&clouds_yaml).context("clouds.yaml is not valid YAML")?;
    let auth = clouds
        .pointer(&format!("/clouds/{cloud}/auth"))
        .ok_or_else(|| anyhow!("clouds.yaml has no cloud {cloud:?} with an auth section"))?;
    let auth_url = auth
        .get("auth_url")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("clouds.yaml cloud {cloud:?} has no auth_url"))?;
    let base = auth_url.trim_end_matches('/');
    let base = if base.ends_with("/v3") {
        base.to_string()
    } else {
        format!("{base}/v3")
    };
    let url = format!("{base}/auth/tokens");
    let body = serde_json::to_vec(&auth_request(auth)?)?;

    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(secret_value(credentials, "cacert").as_deref())?)
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let request = http::Request::post(&url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, crate::cluster::USER_AGENT)
        .body(Full::new(bytes::Bytes::from(body)))?;
    let response = tokio::time::timeout(Duration::from_secs(15), client.request(request))
        .await
        .map_err(|_| anyhow!("OpenStack identity service at {base} did not answer within 15s"))?
        .with_context(|| format!("asking the OpenStack identity service at {base}"))?;
    let status = response.status();
    let text = response.into_body().collect().await?.to_bytes();
    if status == http::StatusCode::UNAUTHORIZED {
        bail!("OpenStack authentication at {base} failed (401): check the credentials in openshift-image-registry");
    }
    if !status.is_success() {
        bail!("OpenStack identity service at {base} answered {status}");
    }
    let token: Value = serde_json::from_slice(&text).context("the identity service's answer is not JSON")?;
    let catalog = token
        .pointer("/token/catalog")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(catalog
        .iter()
        .any(|s| s.get("type").and_then(Value::as_str) == Some("object-store")))
}
