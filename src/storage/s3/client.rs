//! The S3 client a storage block calls with: its region and endpoint, path or virtual-hosted
//! style, the credentials the registry itself uses (never this machine's), the CA bundles and the
//! cluster proxy. Throttling and transient failures are retried with backoff by the SDK.

use super::super::cloud::{CloudContext, CloudError};
use super::super::credentials::{get, text};
use super::HMAC_KEYS;
use crate::api::S3Storage;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::{StaticConfiguration, WebIdentityTokenCredentialsProvider};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3::config::{BehaviorVersion, Region, retry::RetryConfig, timeout::TimeoutConfig};
use std::collections::BTreeMap;
use std::time::Duration;

/// Attempts per call, the first included: throttling and server errors back off in between.
const MAX_ATTEMPTS: u32 = 3;

/// Where S3 is: the region, and an endpoint when it is not AWS's own for the region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::storage) struct Endpoint {
    pub region: String,
    pub url: Option<String>,
    pub path_style: bool,
}

/// The AWS SDKs' variable for another S3 endpoint (a VPC endpoint, a local S3): honoured for this
/// program's own calls when the storage names no endpoint, never rendered for the registry.
pub(super) const ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL_S3";

impl Endpoint {
    /// Where `s3` is; `fallback` is the endpoint to use when the storage names none.
    pub fn of(s3: &S3Storage, fallback: Option<String>) -> Endpoint {
        let url = s3
            .region_endpoint
            .clone()
            .filter(|u| !u.is_empty())
            .or(fallback.filter(|u| !u.is_empty()))
            .map(with_scheme);
        Endpoint {
            // S3-compatible services ignore the region but the signature needs one.
            region: s3
                .region
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "us-east-1".into()),
            url,
            path_style: !s3.virtual_hosted_style.unwrap_or(false),
        }
    }
}

/// An endpoint as the SDK needs it: the registry takes a bare host, the SDK a URL (HTTPS unless
/// said otherwise).
pub(in crate::storage) fn with_scheme(endpoint: String) -> String {
    if endpoint.contains("://") {
        endpoint
    } else {
        format!("https://{endpoint}")
    }
}

/// The keys of an AWS shared-credentials file's default profile (or its only profile).
pub(in crate::storage) fn profile(ini: &str) -> BTreeMap<String, String> {
    let mut profiles: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for line in ini.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim().trim_start_matches("profile ").trim().to_string();
            profiles.push((name, BTreeMap::new()));
        } else if let Some((k, v)) = line.split_once('=')
            && let Some((_, keys)) = profiles.last_mut()
        {
            keys.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let only = profiles.len() == 1;
    profiles
        .into_iter()
        .find(|(name, _)| only || name == "default")
        .map(|(_, keys)| keys)
        .unwrap_or_default()
}

/// How the calls authenticate.
#[derive(Clone, PartialEq, Eq)]
pub(in crate::storage) enum Auth {
    Keys {
        access_key: String,
        secret_key: String,
        session_token: Option<String>,
    },
    WebIdentity {
        role_arn: String,
        token_file: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Keys { .. } => f.write_str("Keys(***)"),
            Auth::WebIdentity { role_arn, .. } => write!(f, "WebIdentity({role_arn})"),
        }
    }
}

fn missing_credentials(detail: &str) -> CloudError {
    CloudError {
        code: "InvalidCredentials".into(),
        message: format!(
            "no usable S3 credentials: {detail}; put REGISTRY_STORAGE_S3_ACCESSKEY and REGISTRY_STORAGE_S3_SECRETKEY \
             in the Secret openshift-image-registry/image-registry-private-configuration-user \
             (oc-registry storage credentials set s3 access-key=@FILE secret-key=@FILE)"
        ),
    }
}

/// The registry's credentials: the user's key pair, else the cloud Secret's credentials file or
/// key pair — the same ones the registry pods get.
pub(super) fn auth(credentials: &super::super::Credentials) -> Result<Auth, CloudError> {
    if let Some(user) = &credentials.user {
        let key = |k: &str| text(user, k).ok_or_else(|| missing_credentials(&format!("the user Secret lacks {k}")));
        return Ok(Auth::Keys {
            access_key: key(HMAC_KEYS[0].1)?,
            secret_key: key(HMAC_KEYS[1].1)?,
            session_token: None,
        });
    }
    let Some(cloud) = &credentials.cloud else {
        return Err(missing_credentials(
            "neither image-registry-private-configuration-user nor installer-cloud-credentials exists",
        ));
    };
    let keys = match get(cloud, "credentials") {
        Some(ini) => profile(&String::from_utf8_lossy(ini)),
        None => ["aws_access_key_id", "aws_secret_access_key"]
            .iter()
            .filter_map(|k| Some((k.to_string(), text(cloud, k)?)))
            .collect(),
    };
    let value = |k: &str| keys.get(k).filter(|v| !v.is_empty()).cloned();
    if let (Some(access_key), Some(secret_key)) = (value("aws_access_key_id"), value("aws_secret_access_key")) {
        return Ok(Auth::Keys {
            access_key,
            secret_key,
            session_token: value("aws_session_token"),
        });
    }
    if let (Some(role_arn), Some(token_file)) = (value("role_arn"), value("web_identity_token_file")) {
        return Ok(Auth::WebIdentity { role_arn, token_file });
    }
    Err(missing_credentials(
        "installer-cloud-credentials holds neither a key pair nor a role with a web identity token",
    ))
}

/// The AWS SDKs' variable for another KMS endpoint, honoured like [`ENDPOINT_VARIABLE`].
pub(super) const KMS_ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL_KMS";

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(60))
        .build()
}

/// What every client of one storage shares: the connection (its CA bundles and proxy), the
/// region, and one credentials provider (so that a web identity is exchanged once).
pub(in crate::storage) struct Shared {
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
    region: Region,
    credentials: SharedCredentialsProvider,
}

impl Shared {
    pub fn of(region: &str, cx: &CloudContext<'_>, auth: Auth) -> Result<Shared, CloudError> {
        let connector =
            aws_smithy_runtime_api::client::http::SharedHttpConnector::new(super::super::transport::connector(cx)?);
        let http = aws_smithy_runtime_api::client::http::http_client_fn(move |_, _| connector.clone());
        let region = Region::new(region.to_string());
        let credentials = match auth {
            Auth::Keys {
                access_key,
                secret_key,
                session_token,
            } => SharedCredentialsProvider::new(Credentials::new(
                access_key,
                secret_key,
                session_token,
                None,
                "oc-registry",
            )),
            Auth::WebIdentity { role_arn, token_file } => {
                let provider_config = ProviderConfig::without_region()
                    .with_region(Some(region.clone()))
                    .with_http_client(http.clone());
                SharedCredentialsProvider::new(
                    WebIdentityTokenCredentialsProvider::builder()
                        .static_configuration(StaticConfiguration {
                            web_identity_token_file: token_file.into(),
                            role_arn,
                            session_name: "oc-registry".into(),
                        })
                        .configure(&provider_config)
                        .build(),
                )
            }
        };
        Ok(Shared {
            http,
            region,
            credentials,
        })
    }

    /// An S3 client for `endpoint` (in this region).
    pub fn s3(&self, endpoint: &Endpoint) -> aws_sdk_s3::Client {
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(self.region.clone())
            .credentials_provider(self.credentials.clone())
            .http_client(self.http.clone())
            .force_path_style(endpoint.path_style)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(timeouts());
        if let Some(url) = &endpoint.url {
            config = config.endpoint_url(url);
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }

    /// A KMS client (at `url` when given, else AWS's for the region).
    pub fn kms(&self, url: Option<String>) -> aws_sdk_kms::Client {
        let mut config = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new(self.region.to_string()))
            .credentials_provider(self.credentials.clone())
            .http_client(self.http.clone())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(timeouts());
        if let Some(url) = url {
            config = config.endpoint_url(url);
        }
        aws_sdk_kms::Client::from_conf(config.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Credentials as Secrets, Data};

    fn data(pairs: &[(&str, &str)]) -> Data {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn credentials_come_from_the_user_secret_first_then_the_cloud_secret() {
        let user = Secrets {
            issued: None,
            user: Some(data(&[
                ("REGISTRY_STORAGE_S3_ACCESSKEY", "AKIAUSER"),
                ("REGISTRY_STORAGE_S3_SECRETKEY", "user-secret"),
            ])),
            cloud: Some(data(&[
                ("aws_access_key_id", "AKIACLOUD"),
                ("aws_secret_access_key", "s"),
            ])),
        };
        assert!(matches!(auth(&user), Ok(Auth::Keys { access_key, .. }) if access_key == "AKIAUSER"));

        let ini = "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = file-secret\n";
        let cloud = Secrets {
            issued: None,
            user: None,
            cloud: Some(data(&[("credentials", ini)])),
        };
        assert!(matches!(auth(&cloud), Ok(Auth::Keys { access_key, .. }) if access_key == "AKIAFILE"));

        let sts = "[default]\nrole_arn = arn:aws:iam::123456789012:role/registry\nweb_identity_token_file = /var/run/secrets/openshift/serviceaccount/token\n";
        let cloud = Secrets {
            issued: None,
            user: None,
            cloud: Some(data(&[("credentials", sts)])),
        };
        assert_eq!(
            auth(&cloud).unwrap(),
            Auth::WebIdentity {
                role_arn: "arn:aws:iam::123456789012:role/registry".into(),
                token_file: "/var/run/secrets/openshift/serviceaccount/token".into()
            }
        );

        let half = Secrets {
            issued: None,
            user: Some(data(&[("REGISTRY_STORAGE_S3_ACCESSKEY", "AKIAUSER")])),
            cloud: None,
        };
        let err = auth(&half).unwrap_err();
        assert!(err.message.contains("REGISTRY_STORAGE_S3_SECRETKEY"), "{err}");
        assert!(!format!("{err} {:?}", auth(&user)).contains("user-secret"));
        assert!(auth(&Secrets::default()).is_err());
    }

    #[test]
    fn profiles() {
        let two = "[other]\naws_access_key_id = X\n\n[default]\n# comment\naws_access_key_id = Y\n";
        assert_eq!(profile(two).get("aws_access_key_id").map(String::as_str), Some("Y"));
        let one = "[profile registry]\nAWS_ACCESS_KEY_ID=Z\n";
        assert_eq!(profile(one).get("aws_access_key_id").map(String::as_str), Some("Z"));
        assert!(profile("").is_empty());
    }

    #[test]
    fn endpoints() {
        let s3 = |v: serde_json::Value| -> S3Storage { serde_json::from_value(v).unwrap() };
        assert_eq!(
            Endpoint::of(&s3(serde_json::json!({"region": "eu-west-1"})), None),
            Endpoint {
                region: "eu-west-1".into(),
                url: None,
                path_style: true
            }
        );
        let compatible = Endpoint::of(
            &s3(serde_json::json!({"regionEndpoint": "rgw.example.com:8080", "virtualHostedStyle": true})),
            Some("http://127.0.0.1:9000".into()),
        );
        assert_eq!(compatible.region, "us-east-1");
        assert_eq!(compatible.url.as_deref(), Some("https://rgw.example.com:8080"));
        assert!(!compatible.path_style);
        let local = Endpoint::of(&s3(serde_json::json!({})), Some("http://127.0.0.1:9000".into()));
        assert_eq!(local.url.as_deref(), Some("http://127.0.0.1:9000"));
    }
}
