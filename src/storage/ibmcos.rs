//! IBM Cloud Object Storage, over its S3 API.

use super::credentials::{S3_CREDENTIALS_PATH, USER_CREDENTIALS, get, mount_credentials_file, s3_ini};
use super::s3::HMAC_KEYS;
use super::{Driver, Environment, Platform, Randomness, Removal, Rendering, fill, location, random_name};
use crate::api::{ConfigSpec, Storage};
use crate::state::references::References;
use crate::validate::{self, Finding, Problem};

pub(crate) struct IbmCos;

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
        fill(&mut cos.location, || ibm.location.clone());
        fill(&mut cos.resource_group_name, || ibm.resource_group_name.clone());
        let location = cos.location.clone().unwrap_or_default();
        fill(&mut cos.bucket, || {
            Some(random_name(platform.infrastructure_name, &location, random))
        })
    }

    fn render(&self, storage: &Storage, environment: &Environment<'_>) -> Result<Rendering, Problem> {
        let cos = storage.ibmcos.clone().unwrap_or_default();
        let hmac = environment
            .credentials
            .user
            .as_ref()
            .and_then(|user| Some(s3_ini(get(user, HMAC_KEYS[0].1)?, get(user, HMAC_KEYS[1].1)?)))
            .ok_or_else(|| {
                Problem::new(
                    "Error",
                    format!(
                        "IBM COS needs an HMAC key pair: creating one needs the IBM Cloud API; store the pair as \
                         REGISTRY_STORAGE_S3_ACCESSKEY and REGISTRY_STORAGE_S3_SECRETKEY in the Secret {USER_CREDENTIALS}"
                    ),
                )
            })?;
        let location = cos.location.clone().unwrap_or_default();
        let mut out = Rendering::default();
        out.secret_data.insert("credentials".into(), hmac);
        out.env("REGISTRY_STORAGE", "s3");
        out.text("REGISTRY_STORAGE_S3_BUCKET", cos.bucket.as_deref().unwrap_or_default());
        out.text("REGISTRY_STORAGE_S3_REGION", &location);
        out.text(
            "REGISTRY_STORAGE_S3_REGIONENDPOINT",
            &format!("s3.{location}.cloud-object-storage.appdomain.cloud"),
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

    fn credential_keys(&self) -> &'static [(&'static str, &'static str)] {
        HMAC_KEYS
    }

    fn credential_sets(&self) -> &'static [&'static [&'static str]] {
        &[&["access-key", "secret-key"]]
    }

    fn location(&self, storage: &Storage) -> Vec<(&'static str, String)> {
        let cos = storage.ibmcos.clone().unwrap_or_default();
        location(&[
            ("bucket", cos.bucket),
            ("location", cos.location),
            ("resourceGroupName", cos.resource_group_name),
        ])
    }

    fn removal(&self, _storage: &Storage) -> Removal {
        Removal::LeftInPlace
    }
}
