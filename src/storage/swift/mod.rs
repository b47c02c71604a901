//! OpenStack Swift: the registry's settings, and its container's life cycle through Keystone.

mod container;
mod keystone;

use super::cloud::CloudError;
use super::credentials::{USER_CREDENTIALS, get, missing, text};
use super::{
    Credentials, Data, Driver, Environment, Platform, Randomness, Removal, Rendering, fill, location, random_name,
    secret_env, value,
};
use crate::api::{ConfigSpec, PRIVATE_CONFIGURATION, Storage, SwiftStorage};
use crate::state::references::References;
use crate::validate::{Finding, Problem};
use keystone::{Identity, Method, Named};
use serde_json::Value;

pub struct Swift;

/// Every credential key the registry reads, from the user's Secret or `clouds.yaml`.
const SECRET_KEYS: [&str; 6] = [
    "REGISTRY_STORAGE_SWIFT_USERNAME",
    "REGISTRY_STORAGE_SWIFT_PASSWORD",
    "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALID",
    "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALNAME",
    "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALSECRET",
    "REGISTRY_STORAGE_SWIFT_TOKENID",
];

impl Driver for Swift {
    fn name(&self) -> &'static str {
        "swift"
    }

    fn title(&self) -> &'static str {
        "Swift"
    }

    fn summary(&self) -> &'static str {
        "OpenStack Swift"
    }

    fn is_set(&self, storage: &Storage) -> bool {
        storage.swift.is_some()
    }

    fn only(&self, storage: &Storage) -> Storage {
        Storage {
            swift: storage.swift.clone(),
            ..Storage::default()
        }
    }

    fn complete(&self, storage: &mut Storage, platform: &Platform<'_>, random: &mut dyn Randomness) -> bool {
        let Some(swift) = storage.swift.as_mut() else {
            return false;
        };
        fill(&mut swift.container, || {
            Some(random_name(platform.infrastructure_name, "", random))
        })
    }

    fn render(&self, storage: &Storage, environment: &Environment<'_>) -> Result<Rendering, Problem> {
        let swift = storage.swift.clone().unwrap_or_default();
        let secret = credentials(environment.credentials, environment.openstack_cloud)?;
        let auth_url = swift
            .auth_url
            .clone()
            .filter(|u| !u.is_empty())
            .or(secret.auth_url.clone())
            .unwrap_or_default();
        let version = swift
            .auth_version
            .clone()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "3".into());
        let mut out = Rendering::default();
        out.env("REGISTRY_STORAGE", "swift");
        out.text(
            "REGISTRY_STORAGE_SWIFT_CONTAINER",
            swift.container.as_deref().unwrap_or_default(),
        );
        out.text(
            "REGISTRY_STORAGE_SWIFT_AUTHURL",
            &normalise_auth_url(&auth_url, &version)?,
        );
        for key in SECRET_KEYS {
            out.env.push(secret_env(key, PRIVATE_CONFIGURATION));
        }
        out.env("REGISTRY_STORAGE_SWIFT_AUTHVERSION", &version);
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
                out.text(var, &v);
            }
        }
        out.secret_data = secret.data;
        out.ca_bundle = secret.ca;
        Ok(out)
    }

    fn check(&self, storage: &Storage, _spec: &ConfigSpec, _refs: &References) -> Vec<Finding> {
        let Some(swift) = &storage.swift else { return Vec::new() };
        let mut out: Vec<Finding> = Finding::of_url(
            "spec.storage.swift.authURL",
            swift.auth_url.as_deref(),
            Some("oc-registry storage set swift --auth-url https://keystone.example.com:5000/v3".into()),
        )
        .into_iter()
        .collect();
        out.extend(Finding::of_value(
            "spec.storage.swift.regionName",
            swift.region_name.as_deref(),
            crate::validate::region,
            Some("oc-registry storage set swift --region-name RegionOne".into()),
        ));
        if let Some(v) = swift
            .auth_version
            .as_deref()
            .filter(|v| !matches!(*v, "" | "1" | "2" | "3"))
        {
            out.push(Finding::error(
                "spec.storage.swift.authVersion",
                format!("{v:?} is not a Keystone version: 1, 2 or 3"),
                Some("oc-registry storage set swift --auth-version 3".into()),
            ));
        }
        out
    }

    fn credential_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("username", SECRET_KEYS[0]),
            ("password", SECRET_KEYS[1]),
            ("application-credential-id", SECRET_KEYS[2]),
            ("application-credential-name", SECRET_KEYS[3]),
            ("application-credential-secret", SECRET_KEYS[4]),
            ("token-id", SECRET_KEYS[5]),
        ]
    }

    fn credential_sets(&self) -> &'static [&'static [&'static str]] {
        // An application credential by ID, or by name with the user it belongs to, as Keystone
        // takes one.
        &[
            &["username", "password"],
            &["application-credential-id", "application-credential-secret"],
            &[
                "application-credential-name",
                "application-credential-secret",
                "username",
            ],
            &["token-id"],
        ]
    }

    fn location(&self, storage: &Storage) -> Vec<(&'static str, String)> {
        let sw = storage.swift.clone().unwrap_or_default();
        location(&[
            ("container", sw.container),
            ("authURL", sw.auth_url),
            ("regionName", sw.region_name),
            ("tenant", sw.tenant),
            ("domain", sw.domain),
        ])
    }

    fn removal(&self, storage: &Storage) -> Removal {
        match storage.swift.as_ref().and_then(|s| value(&s.container)) {
            Some(container) => Removal::Cloud(format!("Swift container {container}")),
            None => Removal::LeftInPlace,
        }
    }

    fn cloud(&self) -> Option<&'static dyn super::cloud::Cloud> {
        Some(&container::SwiftContainer)
    }
}

/// Swift credentials and the identity settings that came with them.
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

/// The credentials from the user's Secret, else from the cloud's `clouds.yaml` (the entry of
/// `cloud`, the one the Infrastructure names; else `openstack`; else the first).
fn credentials(creds: &Credentials, cloud_name: Option<&str>) -> Result<SwiftSecret, Problem> {
    let mut out = SwiftSecret::default();
    if let Some(user) = &creds.user {
        let has = |k: &str| get(user, k).is_some();
        let complete = (has(SECRET_KEYS[0]) && has(SECRET_KEYS[1]))
            || (has(SECRET_KEYS[2]) && has(SECRET_KEYS[4]))
            || (has(SECRET_KEYS[3]) && has(SECRET_KEYS[4]) && has(SECRET_KEYS[0]))
            || has(SECRET_KEYS[5]);
        if !complete {
            return Err(Problem::new(
                "Error",
                format!(
                    "secret \"openshift-image-registry/{USER_CREDENTIALS}\" must contain \
                     REGISTRY_STORAGE_SWIFT_USERNAME and _PASSWORD, or _APPLICATIONCREDENTIALID and _SECRET, or \
                     _APPLICATIONCREDENTIALNAME, _SECRET and _USERNAME, or _TOKENID"
                ),
            ));
        }
        for key in SECRET_KEYS {
            out.data.insert(key.into(), user.get(key).cloned().unwrap_or_default());
        }
        return Ok(out);
    }
    let Some(cloud) = &creds.cloud else {
        return Err(missing(
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
    let cloud_entry = cloud_name
        .and_then(|name| clouds.get("clouds")?.get(name))
        .or_else(|| clouds.pointer("/clouds/openstack"))
        .or_else(|| clouds.get("clouds").and_then(|c| c.as_object()?.values().next()))
        .cloned()
        .unwrap_or(Value::Null);
    let field = |path: &str| cloud_entry.pointer(path).and_then(Value::as_str).map(str::to_string);
    let pairs = [
        "/auth/username",
        "/auth/password",
        "/auth/application_credential_id",
        "/auth/application_credential_name",
        "/auth/application_credential_secret",
        "/auth/token",
    ];
    for (key, path) in SECRET_KEYS.iter().zip(pairs) {
        out.data
            .insert((*key).into(), field(path).unwrap_or_default().into_bytes());
    }
    out.auth_url = field("/auth/auth_url");
    out.domain = field("/auth/user_domain_name").or_else(|| field("/auth/domain_name"));
    out.tenant = field("/auth/project_name");
    out.tenant_id = field("/auth/project_id");
    out.region = field("/region_name");
    out.ca = text(cloud, "cacert");
    Ok(out)
}

/// Whether the OpenStack cloud offers object storage, asked as the operator asks it: a token for
/// the cloud's own credentials (the `clouds.yaml` entry the Infrastructure names), whose catalog
/// lists an object store in the cloud's region.
pub async fn offers_object_storage(
    cloud: Option<Data>,
    infrastructure: &crate::api::Infrastructure,
) -> Result<bool, CloudError> {
    let cloud_only = Credentials {
        cloud,
        ..Credentials::default()
    };
    let cx = super::cloud::CloudContext {
        infrastructure,
        credentials: &cloud_only,
        trusted_ca: None,
        cloud_ca: None,
        https_proxy: None,
        no_proxy: None,
        provisioning: super::cloud::default_provisioning(),
    };
    let unusable = |problem: Problem| CloudError {
        code: "InvalidCredentials".into(),
        message: problem.message,
    };
    let secret = credentials(&cloud_only, cx.cloud_name()).map_err(unusable)?;
    let identity = identity(&SwiftStorage::default(), &secret).map_err(unusable)?;
    let cx = super::cloud::CloudContext {
        cloud_ca: secret.ca.as_deref(),
        ..cx
    };
    let https = aws_smithy_runtime_api::client::http::SharedHttpConnector::new(super::transport::connector(&cx)?);
    match keystone::authenticate(&identity, &https).await {
        Ok(_) => Ok(true),
        Err(err) if err.code == "EndpointNotFound" => Ok(false),
        Err(err) => Err(err),
    }
}

/// The Keystone identity for the registry's credentials; the storage's own settings win over
/// those that came with `clouds.yaml`.
fn identity(swift: &SwiftStorage, secret: &SwiftSecret) -> Result<Identity, Problem> {
    let key = |index: usize| {
        secret
            .data
            .get(SECRET_KEYS[index])
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let version = value(&swift.auth_version).unwrap_or("3");
    let auth_url = value(&swift.auth_url)
        .map(str::to_string)
        .or_else(|| secret.auth_url.clone())
        .unwrap_or_default();
    let method = match (key(0), key(1), key(4), key(5)) {
        (Some(user), Some(password), _, _) => Method::Password { user, password },
        (user, _, Some(credential), _) => Method::ApplicationCredential {
            id: key(2),
            name: key(3),
            user,
            secret: credential,
        },
        (_, _, _, Some(id)) => Method::Token { id },
        _ => {
            return Err(missing(
                "swift",
                "store a username and password with oc-registry storage credentials set swift username=NAME password=@FILE",
            ));
        }
    };
    let own = |field: &Option<String>| value(field).map(str::to_string);
    Ok(Identity {
        auth_url: normalise_auth_url(&auth_url, version)?,
        version: version.parse().unwrap_or(3),
        method,
        domain: own(&swift.domain_id)
            .map(Named::Id)
            .or_else(|| own(&swift.domain).or_else(|| secret.domain.clone()).map(Named::Name)),
        project: own(&swift.tenant_id)
            .or_else(|| secret.tenant_id.clone())
            .map(Named::Id)
            .or_else(|| own(&swift.tenant).or_else(|| secret.tenant.clone()).map(Named::Name)),
        region: own(&swift.region_name).or_else(|| secret.region.clone()),
    })
}

/// Appends `/v<version>` to an auth URL without a path (one without a scheme is `http://`, as
/// the operator takes it); refuses other paths.
fn normalise_auth_url(url: &str, version: &str) -> Result<String, Problem> {
    if url.is_empty() {
        return Err(Problem::new(
            "Error",
            "spec.storage.swift.authURL is empty and the credentials name none",
        ));
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds_yaml_gives_the_entry_the_infrastructure_names() {
        let yaml = "clouds:\n  openstack:\n    auth: {auth_url: https://a:5000, username: a, password: x}\n  \
                    shiftstack:\n    auth: {auth_url: https://b:5000, username: b, password: y}\n    region_name: r2\n";
        let creds = Credentials {
            cloud: Some([("clouds.yaml".to_string(), yaml.as_bytes().to_vec())].into()),
            ..Credentials::default()
        };
        let cases = [
            (Some("shiftstack"), "https://b:5000", Some("r2")),
            (Some("openstack"), "https://a:5000", None),
            (None, "https://a:5000", None),
            (Some("missing"), "https://a:5000", None),
        ];
        for (cloud, url, region) in cases {
            let secret = credentials(&creds, cloud).unwrap();
            assert_eq!(secret.auth_url.as_deref(), Some(url), "{cloud:?}");
            assert_eq!(secret.region.as_deref(), region, "{cloud:?}");
        }
    }

    #[test]
    fn auth_urls() {
        assert_eq!(normalise_auth_url("https://k:5000", "3").unwrap(), "https://k:5000/v3");
        assert_eq!(
            normalise_auth_url("https://k:5000/v3/", "3").unwrap(),
            "https://k:5000/v3"
        );
        assert!(normalise_auth_url("https://k:5000/identity", "3").is_err());
        assert_eq!(normalise_auth_url("k:5000", "2").unwrap(), "http://k:5000/v2");
        assert_eq!(
            normalise_auth_url("keystone.example.com/v3", "3").unwrap(),
            "http://keystone.example.com/v3"
        );
    }
}
