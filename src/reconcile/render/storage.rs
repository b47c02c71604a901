//! What each storage driver adds to the registry: environment, volumes, the keys of
//! `image-registry-private-configuration`, and the storage CA bundle.

use super::{Problem, env, secret_env};
use crate::api::Storage;
use crate::reconcile::inputs::{Credentials, Data, Inputs};
use serde_json::{Value, json};

pub const PRIVATE_CONFIGURATION: &str = "image-registry-private-configuration";
const S3_CREDENTIALS_PATH: &str = "/var/run/secrets/cloud/credentials";

#[derive(Debug, Default)]
pub struct StorageRendering {
    pub env: Vec<Value>,
    pub volumes: Vec<Value>,
    pub mounts: Vec<Value>,
    /// Keys for `image-registry-private-configuration`.
    pub secret_data: Data,
    pub ca_bundle: Option<String>,
}

impl StorageRendering {
    /// The private configuration Secret at the directory `S3_CREDENTIALS_PATH` is in (S3 and
    /// IBM COS read their credentials file there).
    fn mount_credentials_file(&mut self) {
        self.volume(
            json!({"name": PRIVATE_CONFIGURATION, "secret": {"secretName": PRIVATE_CONFIGURATION}}),
            json!({"name": PRIVATE_CONFIGURATION, "mountPath": "/var/run/secrets/cloud", "readOnly": true}),
        );
    }

    fn volume(&mut self, volume: Value, mount: Value) {
        self.volumes.push(volume);
        self.mounts.push(mount);
    }
}

pub fn render(inputs: &Inputs) -> Result<StorageRendering, Problem> {
    let storage = inputs.config.spec.storage.clone().unwrap_or_default();
    let drivers = storage.drivers();
    match drivers.as_slice() {
        [] => Err(Problem::permanent(
            "StorageNotConfigured",
            "storage backend not configured",
        )),
        [_] => render_driver(&storage, inputs),
        many => {
            let names: Vec<String> = many.iter().map(|d| upper_first(d)).collect();
            Err(Problem::new(
                "Error",
                format!(
                    "exactly one storage type should be configured at the same time, got {}: [{}]",
                    many.len(),
                    names.join(" ")
                ),
            ))
        }
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn get<'a>(data: &'a Data, key: &str) -> Option<&'a [u8]> {
    data.get(key).map(Vec::as_slice).filter(|v| !v.is_empty())
}

fn text(data: &Data, key: &str) -> Option<String> {
    get(data, key).map(|v| String::from_utf8_lossy(v).into_owned())
}

fn required(data: &Data, key: &str) -> Result<Vec<u8>, Problem> {
    get(data, key).map(<[u8]>::to_vec).ok_or_else(|| {
        Problem::new(
            "Error",
            format!(
                "secret \"openshift-image-registry/image-registry-private-configuration-user\" does not contain required key \"{key}\""
            ),
        )
    })
}

fn no_credentials(driver: &str, fix: &str) -> Problem {
    Problem::new(
        "Error",
        format!(
            "unable to get cluster minted credentials \"openshift-image-registry/installer-cloud-credentials\": not found; \
             the {driver} driver needs credentials: {fix}"
        ),
    )
}

fn s3_ini(access_key: &[u8], secret_key: &[u8]) -> Vec<u8> {
    let mut ini = b"[default]\naws_access_key_id = ".to_vec();
    ini.extend_from_slice(access_key);
    ini.extend_from_slice(b"\naws_secret_access_key = ");
    ini.extend_from_slice(secret_key);
    ini.push(b'\n');
    ini
}

fn render_driver(storage: &Storage, inputs: &Inputs) -> Result<StorageRendering, Problem> {
    let creds = &inputs.credentials;
    let mut out = StorageRendering::default();
    if let Some(s3) = &storage.s3 {
        out.secret_data.insert("credentials".into(), s3_credentials(creds)?);
        out.env.push(env("REGISTRY_STORAGE", "s3"));
        out.env.push(env(
            "REGISTRY_STORAGE_S3_BUCKET",
            s3.bucket.as_deref().unwrap_or_default(),
        ));
        out.env.push(env(
            "REGISTRY_STORAGE_S3_REGION",
            s3.region.as_deref().unwrap_or_default(),
        ));
        if let Some(endpoint) = s3.region_endpoint.as_deref().filter(|e| !e.is_empty()) {
            out.env.push(env("REGISTRY_STORAGE_S3_REGIONENDPOINT", endpoint));
        }
        if let Some(mib) = s3.chunk_size_mib.filter(|m| (5..=5120).contains(m)) {
            out.env.push(env(
                "REGISTRY_STORAGE_S3_CHUNKSIZE",
                &(i64::from(mib) * 1_048_576).to_string(),
            ));
        }
        out.env.push(env(
            "REGISTRY_STORAGE_S3_ENCRYPT",
            bool_str(s3.encrypt.unwrap_or(false)),
        ));
        if let Some(key) = s3.key_id.as_deref().filter(|k| !k.is_empty()) {
            out.env.push(env("REGISTRY_STORAGE_S3_KEYID", key));
        }
        out.env.push(env(
            "REGISTRY_STORAGE_S3_FORCEPATHSTYLE",
            bool_str(!s3.virtual_hosted_style.unwrap_or(false)),
        ));
        out.env
            .push(env("REGISTRY_STORAGE_S3_CREDENTIALSCONFIGPATH", S3_CREDENTIALS_PATH));
        out.env.push(env("REGISTRY_STORAGE_S3_USEDUALSTACK", "true"));
        out.mount_credentials_file();
        if let Some(cf) = &s3.cloud_front {
            let duration = cf
                .duration
                .clone()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "1200s".into());
            let middleware = format!(
                "- name: cloudfront\n  options:\n    baseurl: {}\n    privatekey: /etc/docker/cloudfront/private.pem\n    keypairid: {}\n    duration: {}\n    ipfilteredby: none\n",
                cf.base_url, cf.keypair_id, duration
            );
            out.env.push(env("REGISTRY_MIDDLEWARE_STORAGE", &middleware));
            let (name, key) = (
                cf.private_key.name.clone().unwrap_or_default(),
                cf.private_key.key.clone().unwrap_or_default(),
            );
            out.volume(
                json!({"name": "registry-cloudfront", "secret": {"secretName": name, "items": [{"key": key, "path": "private.pem"}]}}),
                json!({"name": "registry-cloudfront", "mountPath": "/etc/docker/cloudfront", "readOnly": true}),
            );
        }
        out.ca_bundle = inputs.storage_ca.clone();
        if s3.trusted_ca.as_ref().is_some_and(|r| !r.name.is_empty()) && inputs.storage_ca.is_none() {
            return Err(Problem::new(
                "Error",
                format!(
                    "spec.storage.s3.trustedCA: ConfigMap \"openshift-config/{}\" with key \"ca-bundle.crt\" not found",
                    s3.trusted_ca.as_ref().map(|r| r.name.as_str()).unwrap_or_default()
                ),
            ));
        }
    } else if let Some(gcs) = &storage.gcs {
        let keyfile = match (&creds.user, &creds.cloud) {
            (Some(user), _) => required(user, "REGISTRY_STORAGE_GCS_KEYFILE")?,
            (None, Some(cloud)) => get(cloud, "service_account.json").map(<[u8]>::to_vec).ok_or_else(|| {
                Problem::new(
                    "Error",
                    "invalid secret for gcs credentials: key \"service_account.json\" is missing",
                )
            })?,
            (None, None) => {
                return Err(no_credentials(
                    "gcs",
                    "create the Secret image-registry-private-configuration-user with key REGISTRY_STORAGE_GCS_KEYFILE",
                ));
            }
        };
        out.secret_data.insert("REGISTRY_STORAGE_GCS_KEYFILE".into(), keyfile);
        out.env.push(env("REGISTRY_STORAGE", "gcs"));
        out.env.push(env(
            "REGISTRY_STORAGE_GCS_BUCKET",
            gcs.bucket.as_deref().unwrap_or_default(),
        ));
        out.env.push(env("REGISTRY_STORAGE_GCS_KEYFILE", "/gcs/keyfile"));
        out.volume(
            json!({"name": "registry-storage-keyfile", "secret": {"secretName": PRIVATE_CONFIGURATION, "items": [{"key": "REGISTRY_STORAGE_GCS_KEYFILE", "path": "keyfile"}]}}),
            json!({"name": "registry-storage-keyfile", "mountPath": "/gcs"}),
        );
    } else if let Some(azure) = &storage.azure {
        let account = azure.account_name.clone().unwrap_or_default();
        let container = azure.container.clone().unwrap_or_default();
        match (&creds.user, &creds.cloud) {
            (Some(user), _) => {
                let key = get(user, "REGISTRY_STORAGE_AZURE_ACCOUNTKEY").ok_or_else(|| {
                    Problem::new(
                        "Error",
                        "the secret openshift-image-registry/image-registry-private-configuration-user has an empty \
                         REGISTRY_STORAGE_AZURE_ACCOUNTKEY; set the key or remove the secret",
                    )
                })?;
                if account.is_empty() {
                    return Err(Problem::permanent(
                        "StorageNotConfigured",
                        "Storage account key is provided, but account name is not specified",
                    ));
                }
                if container.is_empty() {
                    return Err(Problem::permanent(
                        "StorageNotConfigured",
                        "Storage account key is provided, but container is not specified",
                    ));
                }
                out.secret_data
                    .insert("REGISTRY_STORAGE_AZURE_ACCOUNTKEY".into(), key.to_vec());
                out.env
                    .push(secret_env("REGISTRY_STORAGE_AZURE_ACCOUNTKEY", PRIVATE_CONFIGURATION));
            }
            (None, Some(cloud)) if get(cloud, "azure_federated_token_file").is_some() => {
                for (var, key) in [
                    ("AZURE_CLIENT_ID", "azure_client_id"),
                    ("AZURE_TENANT_ID", "azure_tenant_id"),
                    ("AZURE_FEDERATED_TOKEN_FILE", "azure_federated_token_file"),
                ] {
                    out.env.push(env(var, &text(cloud, key).unwrap_or_default()));
                }
            }
            (None, _) => {
                return Err(Problem::new(
                    "Error",
                    format!(
                        "the key of storage account \"{account}\" is needed: the cloud credentials hold a service principal, \
                         and fetching account keys needs the Azure API; store the key as REGISTRY_STORAGE_AZURE_ACCOUNTKEY in \
                         the Secret image-registry-private-configuration-user"
                    ),
                ));
            }
        }
        out.env.push(env("REGISTRY_STORAGE", "azure"));
        out.env.push(env("REGISTRY_STORAGE_AZURE_CONTAINER", &container));
        out.env.push(env("REGISTRY_STORAGE_AZURE_ACCOUNTNAME", &account));
        if let Some(cloud) = azure.cloud_name.as_deref().filter(|c| !c.is_empty()) {
            out.env.push(env("REGISTRY_STORAGE_AZURE_REALM", azure_realm(cloud)));
        }
    } else if let Some(swift) = &storage.swift {
        let secret = swift_credentials(creds)?;
        let auth_url = secret
            .auth_url
            .clone()
            .or_else(|| swift.auth_url.clone())
            .unwrap_or_default();
        let auth_url = swift.auth_url.clone().filter(|u| !u.is_empty()).unwrap_or(auth_url);
        let version = swift
            .auth_version
            .clone()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "3".into());
        out.env.push(env("REGISTRY_STORAGE", "swift"));
        out.env.push(env(
            "REGISTRY_STORAGE_SWIFT_CONTAINER",
            swift.container.as_deref().unwrap_or_default(),
        ));
        out.env.push(env(
            "REGISTRY_STORAGE_SWIFT_AUTHURL",
            &normalise_auth_url(&auth_url, &version)?,
        ));
        for key in SWIFT_SECRET_KEYS {
            out.env.push(secret_env(key, PRIVATE_CONFIGURATION));
        }
        out.env.push(env("REGISTRY_STORAGE_SWIFT_AUTHVERSION", &version));
        let fields = [
            (
                "REGISTRY_STORAGE_SWIFT_DOMAIN",
                swift.domain.clone().or(secret.domain.clone()),
            ),
            ("REGISTRY_STORAGE_SWIFT_DOMAINID", swift.domain_id.clone()),
            (
                "REGISTRY_STORAGE_SWIFT_TENANT",
                swift.tenant.clone().or(secret.tenant.clone()),
            ),
            (
                "REGISTRY_STORAGE_SWIFT_TENANTID",
                swift.tenant_id.clone().or(secret.tenant_id.clone()),
            ),
            (
                "REGISTRY_STORAGE_SWIFT_REGION",
                swift.region_name.clone().or(secret.region.clone()),
            ),
        ];
        for (var, value) in fields {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                out.env.push(env(var, &v));
            }
        }
        out.secret_data = secret.data;
        out.ca_bundle = secret.ca;
    } else if let Some(pvc) = &storage.pvc {
        out.env.push(env("REGISTRY_STORAGE", "filesystem"));
        out.env
            .push(env("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/registry"));
        out.volume(
            json!({"name": "registry-storage", "persistentVolumeClaim": {"claimName": pvc.claim.as_deref().unwrap_or_default()}}),
            json!({"name": "registry-storage", "mountPath": "/registry"}),
        );
    } else if storage.empty_dir.is_some() {
        out.env.push(env("REGISTRY_STORAGE", "filesystem"));
        out.env
            .push(env("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/registry"));
        out.volume(
            json!({"name": "registry-storage", "emptyDir": {}}),
            json!({"name": "registry-storage", "mountPath": "/registry"}),
        );
    } else if let Some(cos) = &storage.ibmcos {
        let hmac = match &creds.user {
            Some(user) => match (
                get(user, "REGISTRY_STORAGE_S3_ACCESSKEY"),
                get(user, "REGISTRY_STORAGE_S3_SECRETKEY"),
            ) {
                (Some(a), Some(s)) => s3_ini(a, s),
                _ => return Err(ibmcos_hmac_missing()),
            },
            None => return Err(ibmcos_hmac_missing()),
        };
        let location = cos.location.clone().unwrap_or_default();
        out.secret_data.insert("credentials".into(), hmac);
        out.env.push(env("REGISTRY_STORAGE", "s3"));
        out.env.push(env(
            "REGISTRY_STORAGE_S3_BUCKET",
            cos.bucket.as_deref().unwrap_or_default(),
        ));
        out.env.push(env("REGISTRY_STORAGE_S3_REGION", &location));
        out.env.push(env(
            "REGISTRY_STORAGE_S3_REGIONENDPOINT",
            &format!("s3.{location}.cloud-object-storage.appdomain.cloud"),
        ));
        out.env.push(env("REGISTRY_STORAGE_S3_ENCRYPT", "false"));
        out.env.push(env("REGISTRY_STORAGE_S3_FORCEPATHSTYLE", "true"));
        out.env.push(env("REGISTRY_STORAGE_S3_USEDUALSTACK", "false"));
        out.env
            .push(env("REGISTRY_STORAGE_S3_CREDENTIALSCONFIGPATH", S3_CREDENTIALS_PATH));
        out.mount_credentials_file();
    } else {
        // `oss` still validates in the CRD but has no driver.
        return Err(Problem::permanent(
            "StorageNotConfigured",
            "storage backend not configured",
        ));
    }
    Ok(out)
}

fn ibmcos_hmac_missing() -> Problem {
    Problem::new(
        "Error",
        "IBM COS needs an HMAC key pair: creating one needs the IBM Cloud API; store the pair as \
         REGISTRY_STORAGE_S3_ACCESSKEY and REGISTRY_STORAGE_S3_SECRETKEY in the Secret \
         image-registry-private-configuration-user",
    )
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn s3_credentials(creds: &Credentials) -> Result<Vec<u8>, Problem> {
    match (&creds.user, &creds.cloud) {
        (Some(user), _) => Ok(s3_ini(
            &required(user, "REGISTRY_STORAGE_S3_ACCESSKEY")?,
            &required(user, "REGISTRY_STORAGE_S3_SECRETKEY")?,
        )),
        (None, Some(cloud)) => {
            if let Some(ini) = get(cloud, "credentials") {
                Ok(ini.to_vec())
            } else if let (Some(a), Some(s)) = (get(cloud, "aws_access_key_id"), get(cloud, "aws_secret_access_key")) {
                Ok(s3_ini(a, s))
            } else {
                Err(Problem::new("Error", "invalid secret for aws credentials"))
            }
        }
        (None, None) => Err(no_credentials(
            "s3",
            "create the Secret image-registry-private-configuration-user with keys REGISTRY_STORAGE_S3_ACCESSKEY and REGISTRY_STORAGE_S3_SECRETKEY",
        )),
    }
}

pub const SWIFT_SECRET_KEYS: [&str; 6] = [
    "REGISTRY_STORAGE_SWIFT_USERNAME",
    "REGISTRY_STORAGE_SWIFT_PASSWORD",
    "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALID",
    "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALNAME",
    "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALSECRET",
    "REGISTRY_STORAGE_SWIFT_TOKENID",
];

#[derive(Default)]
struct SwiftSecret {
    data: Data,
    auth_url: Option<String>,
    domain: Option<String>,
    tenant: Option<String>,
    tenant_id: Option<String>,
    region: Option<String>,
    ca: Option<String>,
}

fn swift_credentials(creds: &Credentials) -> Result<SwiftSecret, Problem> {
    let mut out = SwiftSecret::default();
    if let Some(user) = &creds.user {
        let has = |k: &str| get(user, k).is_some();
        let complete = (has("REGISTRY_STORAGE_SWIFT_USERNAME") && has("REGISTRY_STORAGE_SWIFT_PASSWORD"))
            || (has("REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALID")
                && has("REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALNAME")
                && has("REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALSECRET"))
            || has("REGISTRY_STORAGE_SWIFT_TOKENID");
        if !complete {
            return Err(Problem::new(
                "Error",
                "secret \"openshift-image-registry/image-registry-private-configuration-user\" must contain \
                 REGISTRY_STORAGE_SWIFT_USERNAME and _PASSWORD, or _APPLICATIONCREDENTIALID, _NAME and _SECRET, or _TOKENID",
            ));
        }
        for key in SWIFT_SECRET_KEYS {
            out.data.insert(key.into(), user.get(key).cloned().unwrap_or_default());
        }
        return Ok(out);
    }
    let Some(cloud) = &creds.cloud else {
        return Err(no_credentials(
            "swift",
            "create the Secret image-registry-private-configuration-user with REGISTRY_STORAGE_SWIFT_USERNAME and _PASSWORD",
        ));
    };
    let yaml = text(cloud, "clouds.yaml").ok_or_else(|| {
        Problem::new(
            "Error",
            "invalid secret for swift credentials: key \"clouds.yaml\" is missing",
        )
    })?;
    let clouds: Value = serde_saphyr::from_str(&yaml).map_err(|e| {
        Problem::new(
            "Error",
            format!("invalid clouds.yaml in installer-cloud-credentials: {e}"),
        )
    })?;
    let cloud_entry = clouds
        .pointer("/clouds/openstack")
        .or_else(|| clouds.get("clouds").and_then(|c| c.as_object()?.values().next()))
        .cloned()
        .unwrap_or(Value::Null);
    let field = |path: &str| cloud_entry.pointer(path).and_then(Value::as_str).map(str::to_string);
    let pairs = [
        ("REGISTRY_STORAGE_SWIFT_USERNAME", field("/auth/username")),
        ("REGISTRY_STORAGE_SWIFT_PASSWORD", field("/auth/password")),
        (
            "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALID",
            field("/auth/application_credential_id"),
        ),
        (
            "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALNAME",
            field("/auth/application_credential_name"),
        ),
        (
            "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALSECRET",
            field("/auth/application_credential_secret"),
        ),
        ("REGISTRY_STORAGE_SWIFT_TOKENID", field("/auth/token")),
    ];
    for (key, value) in pairs {
        out.data.insert(key.into(), value.unwrap_or_default().into_bytes());
    }
    out.auth_url = field("/auth/auth_url");
    out.domain = field("/auth/user_domain_name").or_else(|| field("/auth/domain_name"));
    out.tenant = field("/auth/project_name");
    out.tenant_id = field("/auth/project_id");
    out.region = field("/region_name");
    out.ca = text(cloud, "cacert");
    Ok(out)
}

/// Appends `/v<version>` to an auth URL without a path; refuses other paths.
fn normalise_auth_url(url: &str, version: &str) -> Result<String, Problem> {
    if url.is_empty() {
        return Err(Problem::new(
            "Error",
            "spec.storage.swift.authURL is empty and the credentials name none",
        ));
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return Ok(format!("{scheme}://{host}/v{version}"));
    }
    let is_version = path
        .strip_prefix('v')
        .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if !is_version {
        return Err(Problem::new(
            "Error",
            format!("Incorrect Auth URL {url:?}: its path must be empty or a version like /v3"),
        ));
    }
    Ok(format!("{scheme}://{host}/{path}"))
}

fn azure_realm(cloud: &str) -> &'static str {
    match cloud {
        "AzureUSGovernmentCloud" => "core.usgovcloudapi.net",
        "AzureChinaCloud" => "core.chinacloudapi.cn",
        "AzureGermanCloud" => "core.cloudapi.de",
        _ => "core.windows.net",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_urls() {
        assert_eq!(normalise_auth_url("https://k:5000", "3").unwrap(), "https://k:5000/v3");
        assert_eq!(
            normalise_auth_url("https://k:5000/v3/", "3").unwrap(),
            "https://k:5000/v3"
        );
        assert!(normalise_auth_url("https://k:5000/identity", "3").is_err());
    }
}
