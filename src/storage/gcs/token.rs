//! An OAuth 2.0 access token for a service-account key, as Google's libraries obtain one: a JWT
//! signed RS256 with the key's private key, exchanged at the key's `token_uri` (RFC 7523).

use super::super::cloud::CloudError;
use super::super::transport::{self, url_encode};
use aws_smithy_runtime_api::client::http::SharedHttpConnector;
use base64::Engine as _;
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;
use serde_json::{Value, json};

/// What the token is good for: the storage and Resource Manager calls alike.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// How long the assertion (and so the token) is asked to live.
const LIFETIME_SECONDS: i64 = 3600;

/// The fields of a service-account key file this program uses.
#[derive(Deserialize)]
pub struct ServiceAccountKey {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub client_email: String,
    pub private_key: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
    #[serde(default)]
    pub token_uri: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
}

fn invalid(detail: impl std::fmt::Display) -> CloudError {
    CloudError {
        code: "InvalidCredentials".into(),
        message: format!(
            "the GCS credentials are not a usable service-account key ({detail}): store the key file Google gave \
             with oc-registry storage credentials set gcs keyfile=@FILE"
        ),
    }
}

impl ServiceAccountKey {
    /// Reads a key file; anything but a service account's key is refused, naming its type.
    pub fn parse(bytes: &[u8]) -> Result<ServiceAccountKey, CloudError> {
        let key: ServiceAccountKey =
            serde_json::from_slice(bytes).map_err(|e| invalid(format!("not a key file: {e}")))?;
        if key.kind != "service_account" {
            return Err(invalid(format!(
                "its type is {:?}, and only service_account keys are used here",
                key.kind
            )));
        }
        Ok(key)
    }

    fn token_uri(&self) -> &str {
        self.token_uri
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or(GOOGLE_TOKEN_URI)
    }

    /// The signed assertion, issued at `now` (seconds since the epoch).
    pub fn assertion(&self, now: i64) -> Result<String, CloudError> {
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let Some(id) = &self.private_key_id {
            header["kid"] = json!(id);
        }
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri(),
            "iat": now,
            "exp": now + LIFETIME_SECONDS,
        });
        let signed = format!("{}.{}", b64(&header), b64(&claims));
        let der = PrivatePkcs8KeyDer::from_pem_slice(self.private_key.as_bytes())
            .map_err(|_| invalid("its private_key is not a PKCS #8 PEM key"))?;
        let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| invalid(format!("its private_key is not an RSA key: {e}")))?;
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .map_err(|_| invalid("signing with its private_key failed"))?;
        Ok(format!(
            "{signed}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// Exchanges a fresh assertion for an access token.
pub async fn access_token(key: &ServiceAccountKey, https: &SharedHttpConnector) -> Result<String, CloudError> {
    let assertion = key.assertion(jiff::Timestamp::now().as_second())?;
    let form = format!(
        "grant_type={}&assertion={assertion}",
        url_encode("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    let uri = key.token_uri();
    let request = http::Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.into_bytes())
        .map_err(|e| invalid(format!("its token_uri {uri} is not a URL: {e}")))?;
    let answer = transport::send(https, "Google's token service", request).await?;
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    match body.get("access_token").and_then(Value::as_str) {
        Some(token) if answer.status == 200 => Ok(token.to_string()),
        _ => {
            let reason = body
                .get("error_description")
                .or_else(|| body.get("error"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP {}", answer.status));
            Err(CloudError {
                code: "Unauthorized".into(),
                message: format!(
                    "{uri} refused service account {}: {reason}: the key may be deleted or disabled; store a \
                     current one with oc-registry storage credentials set gcs keyfile=@FILE",
                    key.client_email
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_service_account_keys_are_taken() {
        let cases = [
            (
                r#"{"type": "external_account", "client_email": "x", "private_key": "y"}"#,
                "external_account",
            ),
            (r#"{"type": "service_account"}"#, "not a key file"),
            ("not json", "not a key file"),
        ];
        for (file, said) in cases {
            let err = ServiceAccountKey::parse(file.as_bytes()).err().expect(file);
            assert!(err.message.contains(said), "{file}: {}", err.message);
            assert!(err.message.contains("storage credentials set gcs"), "{}", err.message);
        }
        let key = ServiceAccountKey::parse(
            br#"{"type": "service_account", "client_email": "r@p.iam.gserviceaccount.com", "private_key": "junk"}"#,
        )
        .unwrap();
        assert_eq!(key.token_uri(), GOOGLE_TOKEN_URI);
        let err = key.assertion(0).unwrap_err();
        assert!(err.message.contains("PKCS #8"), "{}", err.message);
        assert!(!err.message.contains("junk"), "{}", err.message);
    }
}
