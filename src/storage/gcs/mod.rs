//! Google Cloud Storage: the registry's settings, and its bucket's life cycle.

mod bucket;
mod token;

use super::credentials::{get, missing, required};
use super::{Driver, Environment, Platform, Randomness, Removal, Rendering, fill, location, random_name};
use crate::api::{ConfigSpec, Storage};
use crate::state::references::References;
use crate::validate::{self, Finding, Problem};
use serde_json::json;

pub struct Gcs;

const KEYFILE: &str = "REGISTRY_STORAGE_GCS_KEYFILE";

impl Driver for Gcs {
    fn name(&self) -> &'static str {
        "gcs"
    }

    fn title(&self) -> &'static str {
        "GCS"
    }

    fn summary(&self) -> &'static str {
        "Google Cloud Storage"
    }

    fn is_set(&self, storage: &Storage) -> bool {
        storage.gcs.is_some()
    }

    fn only(&self, storage: &Storage) -> Storage {
        Storage {
            gcs: storage.gcs.clone(),
            ..Storage::default()
        }
    }

    fn complete(&self, storage: &mut Storage, platform: &Platform<'_>, random: &mut dyn Randomness) -> bool {
        let Some(gcs) = storage.gcs.as_mut() else { return false };
        let gcp = platform.status.gcp.clone().unwrap_or_default();
        fill(&mut gcs.region, || gcp.region.clone());
        fill(&mut gcs.project_id, || gcp.project_id.clone());
        let region = gcs.region.clone().unwrap_or_default();
        fill(&mut gcs.bucket, || {
            Some(random_name(platform.infrastructure_name, &region, random))
        })
    }

    fn render(&self, storage: &Storage, environment: &Environment<'_>) -> Result<Rendering, Problem> {
        let gcs = storage.gcs.clone().unwrap_or_default();
        let keyfile = keyfile(environment.credentials)?;
        let mut out = Rendering::default();
        out.secret_data.insert(KEYFILE.into(), keyfile);
        out.env("REGISTRY_STORAGE", "gcs");
        out.text("REGISTRY_STORAGE_GCS_BUCKET", gcs.bucket.as_deref().unwrap_or_default());
        out.env(KEYFILE, "/gcs/keyfile");
        out.volume(
            json!({"name": "registry-storage-keyfile", "secret": {"secretName": crate::api::PRIVATE_CONFIGURATION, "items": [{"key": KEYFILE, "path": "keyfile"}]}}),
            json!({"name": "registry-storage-keyfile", "mountPath": "/gcs"}),
        );
        Ok(out)
    }

    fn check(&self, storage: &Storage, _spec: &ConfigSpec, _refs: &References) -> Vec<Finding> {
        let Some(gcs) = &storage.gcs else { return Vec::new() };
        let fix = |flag: &str| Some(format!("oc-registry storage set gcs --{flag} …"));
        let mut out: Vec<Finding> = Vec::new();
        out.extend(Finding::of_value(
            "spec.storage.gcs.bucket",
            gcs.bucket.as_deref(),
            validate::s3_bucket,
            fix("bucket"),
        ));
        out.extend(Finding::of_value(
            "spec.storage.gcs.region",
            gcs.region.as_deref(),
            validate::region,
            fix("region"),
        ));
        out
    }

    fn credential_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[("keyfile", KEYFILE)]
    }

    fn credential_sets(&self) -> &'static [&'static [&'static str]] {
        &[&["keyfile"]]
    }

    fn location(&self, storage: &Storage) -> Vec<(&'static str, String)> {
        let gcs = storage.gcs.clone().unwrap_or_default();
        location(&[
            ("bucket", gcs.bucket),
            ("region", gcs.region),
            ("projectID", gcs.project_id),
            ("keyID", gcs.key_id),
        ])
    }

    fn removal(&self, storage: &Storage) -> Removal {
        match storage.gcs.as_ref().and_then(|g| super::value(&g.bucket)) {
            Some(bucket) => Removal::Cloud(format!("GCS bucket {bucket}")),
            None => Removal::LeftInPlace,
        }
    }

    fn cloud(&self) -> Option<&'static dyn super::cloud::Cloud> {
        Some(&bucket::GcsBucket)
    }
}

/// The service-account key: the user's (`REGISTRY_STORAGE_GCS_KEYFILE`), else the cloud's
/// `service_account.json`.
fn keyfile(creds: &super::Credentials) -> Result<Vec<u8>, Problem> {
    match (&creds.user, &creds.cloud) {
        (Some(user), _) => required(user, KEYFILE),
        (None, Some(cloud)) => get(cloud, "service_account.json").map(<[u8]>::to_vec).ok_or_else(|| {
            Problem::new(
                "Error",
                "invalid secret for gcs credentials: key \"service_account.json\" is missing",
            )
        }),
        (None, None) => Err(missing(
            "gcs",
            "store the service account's key with oc-registry storage credentials set gcs keyfile=@FILE",
        )),
    }
}
