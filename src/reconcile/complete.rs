//! Completing the Config the way the operator does before it renders anything: a generated
//! `httpSecret`, the platform's storage when none is set, and the storage block's generated names
//! and platform-derived fields. Everything filled here is written back to the Config's spec, so
//! it is generated once.

use crate::api::{Config, Infrastructure, PlatformStatus, Storage};
use anyhow::{Context, Result};

/// The claim the registry creates when `pvc.claim` is empty.
pub const DEFAULT_CLAIM: &str = "image-registry-storage";
/// Storage names are padded or cut to this length (bucket and container limits).
const STORAGE_NAME_LENGTH: usize = 62;

/// Random lowercase letters, injectable so that tests get stable names.
pub trait Randomness {
    fn letters(&mut self, count: usize) -> String;
    /// `count` random bytes, hex-encoded.
    fn hex(&mut self, count: usize) -> String;
}

/// The operating system's secure random source.
pub struct OsRandom;

impl Randomness for OsRandom {
    fn letters(&mut self, count: usize) -> String {
        let mut bytes = vec![0u8; count];
        getrandom::fill(&mut bytes).expect("the operating system's random source");
        // a–y, as the operator's generator: 25 letters.
        bytes.iter().map(|b| (b'a' + b % 25) as char).collect()
    }

    fn hex(&mut self, count: usize) -> String {
        let mut bytes = vec![0u8; count];
        getrandom::fill(&mut bytes).expect("the operating system's random source");
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What completion changed, for the caller to report (never the secret itself).
#[derive(Debug, Default, PartialEq)]
pub struct Completed {
    pub generated_http_secret: bool,
    pub filled_storage: bool,
}

/// Fills `config.spec`: `platform_storage` is the storage hook's answer, used when no driver is set.
pub fn complete(
    config: &mut Config,
    infrastructure: &Infrastructure,
    platform_storage: Option<&Storage>,
    random: &mut dyn Randomness,
) -> Result<Completed> {
    let mut done = Completed::default();
    let spec = &mut config.spec;
    if spec.http_secret.as_deref().unwrap_or_default().is_empty() {
        spec.http_secret = Some(random.hex(64));
        done.generated_http_secret = true;
    }
    let before = spec.storage.clone();
    let storage = spec.storage.get_or_insert_with(Storage::default);
    if storage.drivers().is_empty()
        && let Some(default) = platform_storage
    {
        // The operator replaces the whole block, a lone managementState included.
        *storage = default.clone();
    }
    let status = infrastructure.status.clone().unwrap_or_default();
    let infra_name = status.infrastructure_name.unwrap_or_default();
    fill_storage(
        storage,
        &infra_name,
        &status.platform_status.unwrap_or_default(),
        random,
    )
    .context("completing spec.storage")?;
    done.filled_storage = spec.storage != before;
    Ok(done)
}

fn set_if_empty(field: &mut Option<String>, value: impl FnOnce() -> Option<String>) -> bool {
    if field.as_deref().unwrap_or_default().is_empty()
        && let Some(v) = value().filter(|v| !v.is_empty())
    {
        *field = Some(v);
        return true;
    }
    false
}

fn fill_storage(
    storage: &mut Storage,
    infra: &str,
    platform: &PlatformStatus,
    random: &mut dyn Randomness,
) -> Result<()> {
    if storage.drivers().len() != 1 {
        return Ok(()); // reported by rendering; nothing sensible to fill
    }
    // Storage the registry names itself is storage it manages; a user's bucket is not.
    let mut generated = false;
    if let Some(s3) = storage.s3.as_mut() {
        let aws = platform.aws.clone().unwrap_or_default();
        if s3.region.as_deref().unwrap_or_default().is_empty()
            && s3.region_endpoint.as_deref().unwrap_or_default().is_empty()
        {
            s3.region = aws.region.clone();
            let endpoint = aws
                .service_endpoints
                .iter()
                .flatten()
                .find(|e| e.name.as_deref() == Some("s3"))
                .and_then(|e| e.url.clone());
            if endpoint.is_some() {
                s3.region_endpoint = endpoint;
                s3.virtual_hosted_style = Some(true);
            }
        }
        let region = s3.region.clone().unwrap_or_default();
        generated |= set_if_empty(&mut s3.bucket, || Some(deterministic_name(infra, &region)));
    } else if let Some(gcs) = storage.gcs.as_mut() {
        let gcp = platform.gcp.clone().unwrap_or_default();
        set_if_empty(&mut gcs.region, || gcp.region.clone());
        set_if_empty(&mut gcs.project_id, || gcp.project_id.clone());
        let region = gcs.region.clone().unwrap_or_default();
        generated |= set_if_empty(&mut gcs.bucket, || Some(random_name(infra, &region, random)));
    } else if let Some(azure) = storage.azure.as_mut() {
        let cloud = platform.azure.as_ref().and_then(|a| a.cloud_name.clone());
        if azure.account_name.as_deref().unwrap_or_default().is_empty() {
            set_if_empty(&mut azure.cloud_name, || cloud);
            generated |= set_if_empty(&mut azure.account_name, || Some(azure_account_name(infra, random)));
        }
        generated |= set_if_empty(&mut azure.container, || Some(random_name(infra, "", random)));
    } else if let Some(swift) = storage.swift.as_mut() {
        generated |= set_if_empty(&mut swift.container, || Some(random_name(infra, "", random)));
    } else if let Some(cos) = storage.ibmcos.as_mut() {
        let ibm = platform.ibmcloud.clone().unwrap_or_default();
        set_if_empty(&mut cos.location, || ibm.location.clone());
        set_if_empty(&mut cos.resource_group_name, || ibm.resource_group_name.clone());
        let location = cos.location.clone().unwrap_or_default();
        generated |= set_if_empty(&mut cos.bucket, || Some(random_name(infra, &location, random)));
    } else if let Some(pvc) = storage.pvc.as_mut() {
        generated |= set_if_empty(&mut pvc.claim, || Some(DEFAULT_CLAIM.to_string()));
    } else if storage.empty_dir.is_some() {
        generated = true;
    }
    set_if_empty(&mut storage.management_state, || {
        Some(if generated { "Managed" } else { "Unmanaged" }.to_string())
    });
    Ok(())
}

/// `<infra>-image-registry[-<extra>]`, lower-cased, runs of dashes collapsed.
fn base_name(infra: &str, extra: &str) -> String {
    let raw = if extra.is_empty() {
        format!("{infra}-image-registry")
    } else {
        format!("{infra}-image-registry-{extra}")
    };
    let mut out = String::with_capacity(raw.len());
    for c in raw.to_lowercase().chars() {
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    out
}

/// The S3 bucket name: deterministic, so a retried creation finds the same bucket.
pub fn deterministic_name(infra: &str, region: &str) -> String {
    let mut name = base_name(infra, region);
    name.truncate(STORAGE_NAME_LENGTH);
    if name.ends_with('-') {
        name.pop();
        name.push('s');
    }
    name
}

/// The operator's random variant: padded with `-` and random letters to exactly 62 characters.
pub fn random_name(infra: &str, extra: &str, random: &mut dyn Randomness) -> String {
    let mut name = base_name(infra, extra);
    match name.len() {
        n if n >= STORAGE_NAME_LENGTH => {
            name.truncate(STORAGE_NAME_LENGTH);
            if name.ends_with('-') {
                name.pop();
                name.push_str(&random.letters(1));
            }
        }
        n if n == STORAGE_NAME_LENGTH - 1 => name.push_str(&random.letters(1)),
        n => {
            name.push('-');
            name.push_str(&random.letters(STORAGE_NAME_LENGTH - n - 1));
        }
    }
    name
}

/// `imageregistry` + the infrastructure name's letters and digits, cut to 19, + 5 random letters.
pub fn azure_account_name(infra: &str, random: &mut dyn Randomness) -> String {
    let mut name: String = format!("imageregistry{infra}")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(19)
        .collect();
    name.push_str(&random.letters(5));
    name.to_lowercase()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Predictable "randomness" for tests.
    pub struct Fixed;
    impl Randomness for Fixed {
        fn letters(&mut self, count: usize) -> String {
            "x".repeat(count)
        }
        fn hex(&mut self, count: usize) -> String {
            "ab".repeat(count)
        }
    }

    #[test]
    fn names_follow_the_operator() {
        assert_eq!(
            deterministic_name("sim-7xk2p", "us-east-1"),
            "sim-7xk2p-image-registry-us-east-1"
        );
        let long = "a".repeat(60);
        assert_eq!(deterministic_name(&long, "r").len(), 62);
        let n = random_name("sjenning-dev", "us-west-1", &mut Fixed);
        assert_eq!(n.len(), 62);
        assert!(n.starts_with("sjenning-dev-image-registry-us-west-1-xx"));
        assert_eq!(azure_account_name("Sim-7xk2p", &mut Fixed), "imageregistrysim7xkxxxxx");
        assert_eq!(base_name("a--b", ""), "a-b-image-registry");
    }
}
