//! IBM Cloud Object Storage, over its S3 API.

mod bucket;
mod platform;

use super::credentials::{S3_CREDENTIALS_PATH, USER_CREDENTIALS, get, mount_credentials_file, s3_ini};
use super::s3::HMAC_KEYS;
use super::{Driver, Environment, Platform, Randomness, Removal, Rendering, fill, location, random_name, value};
use crate::api::{ConfigSpec, PRIVATE_CONFIGURATION, Storage};
use crate::state::references::{Names, References};
use crate::validate::{self, Finding, Problem};

pub(crate) struct IbmCos;

/// The user Secret's keys IBM COS reads: the IBM Cloud API key that provisions everything, or an
/// HMAC pair for a bucket that exists.
const KEYS: &[(&str, &str)] = &[
    ("api-key", bucket::API_KEY),
    ("access-key", "REGISTRY_STORAGE_S3_ACCESSKEY"),
    ("secret-key", "REGISTRY_STORAGE_S3_SECRETKEY"),
];

/// The COS region serving a PowerVS region (`dal` is served from `us-south`).
pub(crate) fn cos_region(powervs_region: &str) -> Option<&'static str> {
    Some(match powervs_region {
        "dal" | "us-south" => "us-south",
        "wdc" | "us-east" => "us-east",
        "eu-de" => "eu-de",
        "lon" => "eu-gb",
        "mad" => "eu-es",
        "osa" => "jp-osa",
        "tok" => "jp-tok",
        "sao" => "br-sao",
        "syd" => "au-syd",
        "tor" => "ca-tor",
        _ => return None,
    })
}

/// The COS endpoint for `location`: the platform's override when it has one, else the public one.
fn endpoint(location: &str, overridden: Option<&str>) -> String {
    match overridden.filter(|u| !u.is_empty()) {
        Some(url) => url.to_string(),
        None => format!("s3.{location}.cloud-object-storage.appdomain.cloud"),
    }
}

impl Driver for IbmCos {
    fn name(&self) -> &'static str {
        "ibmcos"
    }

    fn title(&self) -> &'static str {
        "IBMCOS"
    }

    fn summary(&self) -> &'static str {
        "IBM Cloud Object Storage"
    }

    fn is_set(&self, storage: &Storage) -> bool {
        storage.ibmcos.is_some()
    }

    fn only(&self, storage: &Storage) -> Storage {
        Storage {
            ibmcos: storage.ibmcos.clone(),
            ..Storage::default()
        }
    }

    fn complete(&self, storage: &mut Storage, platform: &Platform<'_>, random: &mut dyn Randomness) -> bool {
        let Some(cos) = storage.ibmcos.as_mut() else {
            return false;
        };
        let ibm = platform.status.ibmcloud.clone().unwrap_or_default();
        let power = platform.status.powervs.clone().unwrap_or_default();
        // On PowerVS the bucket lives in the COS region serving the PowerVS region.
        fill(&mut cos.location, || {
            ibm.location
                .clone()
                .or_else(|| cos_region(power.region.as_deref()?).map(str::to_string))
        });
        fill(&mut cos.resource_group_name, || {
            ibm.resource_group_name.clone().or_else(|| power.resource_group.clone())
        });
        let location = cos.location.clone().unwrap_or_default();
        fill(&mut cos.bucket, || {
            Some(random_name(platform.infrastructure_name, &location, random))
        })
    }

    fn render(&self, storage: &Storage, environment: &Environment<'_>) -> Result<Rendering, Problem> {
        let cos = storage.ibmcos.clone().unwrap_or_default();
        // The user's pair, else the one the resource key issued.
        let credentials = environment.credentials;
        let hmac = credentials
            .user
            .as_ref()
            .and_then(|user| Some(s3_ini(get(user, HMAC_KEYS[0].1)?, get(user, HMAC_KEYS[1].1)?)))
            .or_else(|| Some(get(credentials.issued.as_ref()?, "credentials")?.to_vec()))
            .ok_or_else(|| {
                Problem::new(
                    "Error",
                    format!(
                        "IBM COS has no HMAC key pair yet: reconcile creates the resource key with the IBM Cloud API \
                         key ({} in the Secret {USER_CREDENTIALS}, or ibmcloud_api_key in installer-cloud-credentials); \
                         or store a pair as REGISTRY_STORAGE_S3_ACCESSKEY and REGISTRY_STORAGE_S3_SECRETKEY",
                        bucket::API_KEY
                    ),
                )
            })?;
        let location = cos.location.clone().unwrap_or_default();
        if location.is_empty() {
            return Err(Problem::permanent(
                "StorageNotConfigured",
                "spec.storage.ibmcos.location is empty and the platform names no COS region: set it with oc-registry \
                 storage set ibmcos --location REGION",
            ));
        }
        let mut out = Rendering::default();
        out.secret_data.insert("credentials".into(), hmac);
        out.env("REGISTRY_STORAGE", "s3");
        out.text("REGISTRY_STORAGE_S3_BUCKET", cos.bucket.as_deref().unwrap_or_default());
        out.text("REGISTRY_STORAGE_S3_REGION", &location);
        out.text(
            "REGISTRY_STORAGE_S3_REGIONENDPOINT",
            &endpoint(&location, environment.cos_endpoint),
        );
        out.env("REGISTRY_STORAGE_S3_ENCRYPT", "false");
        out.env("REGISTRY_STORAGE_S3_FORCEPATHSTYLE", "true");
        out.env("REGISTRY_STORAGE_S3_USEDUALSTACK", "false");
        out.env("REGISTRY_STORAGE_S3_CREDENTIALSCONFIGPATH", S3_CREDENTIALS_PATH);
        mount_credentials_file(&mut out);
        Ok(out)
    }

    fn check(&self, storage: &Storage, _spec: &ConfigSpec, _refs: &References) -> Vec<Finding> {
        let Some(cos) = &storage.ibmcos else { return Vec::new() };
        let mut out: Vec<Finding> = Finding::of_value(
            "spec.storage.ibmcos.location",
            cos.location.as_deref(),
            validate::region,
            Some("oc-registry storage set ibmcos --location us-south".into()),
        )
        .into_iter()
        .collect();
        out.extend(Finding::of_value(
            "spec.storage.ibmcos.bucket",
            cos.bucket.as_deref(),
            validate::s3_bucket,
            Some("oc-registry storage set ibmcos --bucket …".into()),
        ));
        for (field, value, kind, flag) in [
            (
                "resourceKeyCRN",
                &cos.resource_key_crn,
                Some("resource-key"),
                "resource-key-crn",
            ),
            (
                "serviceInstanceCRN",
                &cos.service_instance_crn,
                None,
                "service-instance-crn",
            ),
        ] {
            out.extend(Finding::of_value(
                &format!("spec.storage.ibmcos.{field}"),
                value.as_deref(),
                |v| validate::ibm_crn(v, kind),
                Some(format!("oc-registry storage set ibmcos --{flag} crn:…")),
            ));
        }
        out
    }

    fn referenced(&self, storage: &Storage, names: &mut Names) {
        // The pair a resource key issued lives in the private configuration written before.
        if storage
            .ibmcos
            .as_ref()
            .is_some_and(|c| value(&c.resource_key_crn).is_some())
        {
            names.secrets.insert(PRIVATE_CONFIGURATION.to_string());
        }
    }

    fn credential_keys(&self) -> &'static [(&'static str, &'static str)] {
        KEYS
    }

    fn credential_sets(&self) -> &'static [&'static [&'static str]] {
        &[&["api-key"], &["access-key", "secret-key"]]
    }

    fn location(&self, storage: &Storage) -> Vec<(&'static str, String)> {
        let cos = storage.ibmcos.clone().unwrap_or_default();
        location(&[
            ("bucket", cos.bucket),
            ("location", cos.location),
            ("resourceGroupName", cos.resource_group_name),
        ])
    }

    fn removal(&self, storage: &Storage) -> Removal {
        match storage.ibmcos.as_ref().and_then(|c| value(&c.bucket)) {
            Some(bucket) => Removal::Cloud(format!("IBM COS bucket {bucket}")),
            None => Removal::LeftInPlace,
        }
    }

    fn cloud(&self) -> Option<&'static dyn super::cloud::Cloud> {
        Some(&bucket::CosBucket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Credentials, Environment};
    use serde_json::json;

    fn rendered_endpoint(location: &str, overridden: Option<&str>) -> Result<String, Problem> {
        let storage: Storage =
            serde_json::from_value(json!({"ibmcos": {"bucket": "b", "location": location}})).unwrap();
        let keys = [
            ("REGISTRY_STORAGE_S3_ACCESSKEY", "A"),
            ("REGISTRY_STORAGE_S3_SECRETKEY", "S"),
        ];
        let credentials = Credentials {
            issued: None,
            user: Some(
                keys.iter()
                    .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                    .collect(),
            ),
            cloud: None,
        };
        let environment = Environment {
            credentials: &credentials,
            storage_ca: None,
            cloud_ca: None,
            cos_endpoint: overridden,
            openstack_cloud: None,
        };
        let out = IbmCos.render(&storage, &environment)?;
        Ok(out
            .env
            .iter()
            .find(|e| e["name"] == "REGISTRY_STORAGE_S3_REGIONENDPOINT")
            .and_then(|e| e["value"].as_str())
            .unwrap()
            .to_string())
    }

    #[test]
    fn the_endpoint_is_the_regions_unless_the_platform_overrides_it() {
        assert_eq!(
            rendered_endpoint("us-south", None).unwrap(),
            "s3.us-south.cloud-object-storage.appdomain.cloud"
        );
        assert_eq!(
            rendered_endpoint(
                "us-south",
                Some("https://s3.direct.us-south.cloud-object-storage.appdomain.cloud")
            )
            .unwrap(),
            "https://s3.direct.us-south.cloud-object-storage.appdomain.cloud"
        );
        // No region at all (a PowerVS region without a COS region): refused, not `s3..…`.
        assert!(rendered_endpoint("", None).unwrap_err().message.contains("--location"));
    }

    #[test]
    fn powervs_regions_map_to_cos_regions() {
        for (power, cos) in [
            ("dal", "us-south"),
            ("wdc", "us-east"),
            ("lon", "eu-gb"),
            ("sao", "br-sao"),
        ] {
            assert_eq!(cos_region(power), Some(cos));
        }
        assert_eq!(cos_region("nowhere"), None);
    }
}
