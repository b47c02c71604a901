//! The storage credentials in effect — the user's Secret exclusively when it exists, else the
//! cloud-minted one — and reading keys out of them. Values stay in memory only: they are rendered
//! into the registry's private Secret and never formatted into a message.

pub(super) use crate::api::USER_CREDENTIALS;
use crate::api::{CLOUD_CREDENTIALS, PRIVATE_CONFIGURATION};
use crate::validate::Problem;
use k8s_openapi::api::core::v1::Secret;
use std::collections::BTreeMap;

/// Secret or ConfigMap contents by key.
pub type Data = BTreeMap<String, Vec<u8>>;

#[derive(Clone, Debug, Default)]
pub struct Credentials {
    pub user: Option<Data>,
    pub cloud: Option<Data>,
    /// Keys a cloud issued for the registry (IBM COS's HMAC resource key), as the private
    /// configuration holds them: from this pass's calls, else from the Secret written before.
    pub issued: Option<Data>,
}

pub fn secret_data(secret: &Secret) -> Data {
    let mut data: Data = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in secret.string_data.iter().flatten() {
        data.insert(k.clone(), v.clone().into_bytes());
    }
    data
}

/// A key's value when it is set and not empty.
pub(super) fn get<'a>(data: &'a Data, key: &str) -> Option<&'a [u8]> {
    data.get(key).map(Vec::as_slice).filter(|v| !v.is_empty())
}

pub(super) fn text(data: &Data, key: &str) -> Option<String> {
    get(data, key).map(|v| String::from_utf8_lossy(v).into_owned())
}

/// A key the user's Secret must hold.
pub(super) fn required(data: &Data, key: &str) -> Result<Vec<u8>, Problem> {
    get(data, key).map(<[u8]>::to_vec).ok_or_else(|| {
        Problem::new(
            "Error",
            format!("secret \"openshift-image-registry/{USER_CREDENTIALS}\" does not contain required key \"{key}\""),
        )
    })
}

/// Neither Secret exists.
pub(super) fn missing(driver: &str, fix: &str) -> Problem {
    Problem::new(
        "Error",
        format!(
            "unable to get cluster minted credentials \"openshift-image-registry/{CLOUD_CREDENTIALS}\": not found; \
             the {driver} driver needs credentials: {fix}"
        ),
    )
}

/// An AWS shared-credentials file with one default profile.
pub(super) fn s3_ini(access_key: &[u8], secret_key: &[u8]) -> Vec<u8> {
    let mut ini = b"[default]\naws_access_key_id = ".to_vec();
    ini.extend_from_slice(access_key);
    ini.extend_from_slice(b"\naws_secret_access_key = ");
    ini.extend_from_slice(secret_key);
    ini.push(b'\n');
    ini
}

/// Where S3 and IBM COS read the credentials file from.
pub(super) const S3_CREDENTIALS_PATH: &str = "/var/run/secrets/cloud/credentials";

/// Mounts the private configuration at the directory `S3_CREDENTIALS_PATH` is in.
pub(super) fn mount_credentials_file(out: &mut super::Rendering) {
    out.volume(
        serde_json::json!({"name": PRIVATE_CONFIGURATION, "secret": {"secretName": PRIVATE_CONFIGURATION}}),
        serde_json::json!({"name": PRIVATE_CONFIGURATION, "mountPath": "/var/run/secrets/cloud", "readOnly": true}),
    );
}
