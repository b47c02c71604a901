//! Amazon S3 and S3-compatible storage.

pub(super) mod bucket;
pub(super) mod client;
mod tags;

use super::credentials::{S3_CREDENTIALS_PATH, get, missing, mount_credentials_file, required, s3_ini};
use super::rendering::bool_str;
use super::{Driver, Environment, Platform, Randomness, Removal, Rendering, deterministic_name, fill, location, value};
use crate::api::{ConfigSpec, Storage};
use crate::state::references::{Names, References};
use crate::validate::{self, Finding, Problem};
use serde_json::json;

pub struct S3;

/// Chunk sizes the registry accepts, in MiB.
const CHUNK_SIZES_MIB: std::ops::RangeInclusive<i32> = 5..=5120;

impl Driver for S3 {
    fn name(&self) -> &'static str {
        "s3"
    }

    fn title(&self) -> &'static str {
        "S3"
    }

    fn summary(&self) -> &'static str {
        "Amazon S3 or S3-compatible storage (Ceph RGW, ODF, MinIO, …)"
    }

    fn is_set(&self, storage: &Storage) -> bool {
        storage.s3.is_some()
    }

    fn only(&self, storage: &Storage) -> Storage {
        Storage {
            s3: storage.s3.clone(),
            ..Storage::default()
        }
    }

    fn complete(&self, storage: &mut Storage, platform: &Platform<'_>, _random: &mut dyn Randomness) -> bool {
        let Some(s3) = storage.s3.as_mut() else { return false };
        let aws = platform.status.aws.clone().unwrap_or_default();
        if value(&s3.region).is_none() && value(&s3.region_endpoint).is_none() {
            s3.region = aws.region.clone();
            let endpoint = super::service_endpoint(platform.status, "s3").map(str::to_string);
            if endpoint.is_some() {
                s3.region_endpoint = endpoint;
                s3.virtual_hosted_style = Some(true);
            }
        }
        let region = s3.region.clone().unwrap_or_default();
        fill(&mut s3.bucket, || {
            Some(deterministic_name(platform.infrastructure_name, &region))
        })
    }

    fn render(&self, storage: &Storage, environment: &Environment<'_>) -> Result<Rendering, Problem> {
        let s3 = storage.s3.clone().unwrap_or_default();
        let mut out = Rendering::default();
        out.secret_data
            .insert("credentials".into(), credentials_file(environment)?);
        out.env("REGISTRY_STORAGE", "s3");
        out.text("REGISTRY_STORAGE_S3_BUCKET", s3.bucket.as_deref().unwrap_or_default());
        out.text("REGISTRY_STORAGE_S3_REGION", s3.region.as_deref().unwrap_or_default());
        if let Some(endpoint) = value(&s3.region_endpoint) {
            out.text("REGISTRY_STORAGE_S3_REGIONENDPOINT", endpoint);
        }
        if let Some(mib) = s3.chunk_size_mib.filter(|m| CHUNK_SIZES_MIB.contains(m)) {
            out.env(
                "REGISTRY_STORAGE_S3_CHUNKSIZE",
                &(i64::from(mib) * 1_048_576).to_string(),
            );
        }
        out.env("REGISTRY_STORAGE_S3_ENCRYPT", bool_str(s3.encrypt.unwrap_or(false)));
        if let Some(key) = value(&s3.key_id) {
            out.text("REGISTRY_STORAGE_S3_KEYID", key);
        }
        out.env(
            "REGISTRY_STORAGE_S3_FORCEPATHSTYLE",
            bool_str(!s3.virtual_hosted_style.unwrap_or(false)),
        );
        out.env("REGISTRY_STORAGE_S3_CREDENTIALSCONFIGPATH", S3_CREDENTIALS_PATH);
        // Dual-stack where the region's partition serves it; a region whose partition has no S3
        // at all is refused, as the operator refuses it.
        match (
            value(&s3.region_endpoint),
            availability(s3.region.as_deref().unwrap_or_default()),
        ) {
            (Some(_), _) | (None, Availability::DualStack) => out.env("REGISTRY_STORAGE_S3_USEDUALSTACK", "true"),
            (None, Availability::SingleStack) => {}
            (None, Availability::None) => return Err(no_s3(s3.region.as_deref().unwrap_or_default())),
        }
        mount_credentials_file(&mut out);
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
            out.env("REGISTRY_MIDDLEWARE_STORAGE", &middleware);
            let (name, key) = (
                cf.private_key.name.clone().unwrap_or_default(),
                cf.private_key.key.clone().unwrap_or_default(),
            );
            out.volume(
                json!({"name": "registry-cloudfront", "secret": {"secretName": name, "items": [{"key": key, "path": "private.pem"}]}}),
                json!({"name": "registry-cloudfront", "mountPath": "/etc/docker/cloudfront", "readOnly": true}),
            );
        }
        // The named trustedCA, else the cloud's own CA (kube-cloud-config), as the operator.
        out.ca_bundle = match trusted_ca(storage) {
            Some(_) => environment.storage_ca,
            None => environment.cloud_ca,
        }
        .map(str::to_string);
        if let Some(name) = trusted_ca(storage)
            && environment.storage_ca.is_none()
        {
            return Err(Problem::new(
                "Error",
                format!(
                    "spec.storage.s3.trustedCA: ConfigMap \"openshift-config/{name}\" with key \"ca-bundle.crt\" not found"
                ),
            ));
        }
        Ok(out)
    }

    fn check(&self, storage: &Storage, _spec: &ConfigSpec, refs: &References) -> Vec<Finding> {
        let Some(s3) = &storage.s3 else { return Vec::new() };
        let mut out = Vec::new();
        let fix = |flag: &str| Some(format!("oc-registry storage set s3 --{flag} …"));
        out.extend(Finding::of_value(
            "spec.storage.s3.bucket",
            s3.bucket.as_deref(),
            validate::s3_bucket,
            fix("bucket"),
        ));
        out.extend(Finding::of_value(
            "spec.storage.s3.region",
            s3.region.as_deref(),
            validate::region,
            fix("region"),
        ));
        out.extend(Finding::of_url(
            "spec.storage.s3.regionEndpoint",
            s3.region_endpoint.as_deref(),
            fix("region-endpoint"),
        ));
        if let Some(size) = s3.chunk_size_mib.filter(|s| !CHUNK_SIZES_MIB.contains(s)) {
            out.push(Finding::error(
                "spec.storage.s3.chunkSizeMiB",
                format!("must be from 5 to 5120, got {size}"),
                fix("chunk-size-mib"),
            ));
        }
        if value(&s3.key_id).is_some() && s3.encrypt != Some(true) {
            out.push(Finding::warning(
                "spec.storage.s3.keyID",
                "the KMS key is used only with encrypt: true",
                Some("oc-registry storage set s3 --encrypt".into()),
            ));
        }
        if let Some(Err(e)) = trusted_ca(storage).map(validate::object_name) {
            out.push(Finding::error("spec.storage.s3.trustedCA.name", e, fix("trusted-ca")));
        } else if let Some(name) = trusted_ca(storage).filter(|_| refs.read) {
            match refs.config_maps.get(name) {
                Some(None) | None => out.push(Finding::error(
                    "spec.storage.s3.trustedCA.name",
                    format!("ConfigMap openshift-config/{name} does not exist"),
                    Some(format!(
                        "kubectl create configmap {name} -n openshift-config --from-file=ca-bundle.crt=ca.pem"
                    )),
                )),
                Some(Some(keys)) if !keys.contains("ca-bundle.crt") => out.push(Finding::error(
                    "spec.storage.s3.trustedCA.name",
                    format!("ConfigMap openshift-config/{name} has no key ca-bundle.crt"),
                    Some(format!(
                        "kubectl create configmap {name} -n openshift-config --from-file=ca-bundle.crt=ca.pem --dry-run=client -o yaml | kubectl apply -f -"
                    )),
                )),
                _ => {}
            }
        }
        if let Some(cf) = &s3.cloud_front {
            let base_url = Some(cf.base_url.as_str()).filter(|u| !u.is_empty()).unwrap_or("(none)");
            out.extend(Finding::of_url(
                "spec.storage.s3.cloudFront.baseURL",
                Some(base_url),
                fix("cloudfront-base-url"),
            ));
            let name = cf.private_key.name.clone().unwrap_or_default();
            let key = cf.private_key.key.clone().unwrap_or_default();
            let keys = refs.secrets.get(&name).cloned().flatten();
            if let Err(e) = Some(name.as_str())
                .filter(|n| !n.is_empty())
                .map_or(Ok(()), validate::object_name)
            {
                out.push(Finding::error(
                    "spec.storage.s3.cloudFront.privateKey.name",
                    e,
                    fix("cloudfront-private-key"),
                ));
            } else if name.is_empty()
                || key.is_empty()
                || (refs.read && !keys.as_ref().is_some_and(|k| k.contains(&key)))
            {
                out.push(Finding::error(
                    "spec.storage.s3.cloudFront.privateKey",
                    format!("Secret openshift-image-registry/{name} with key {key:?} does not exist"),
                    Some(format!(
                        "kubectl create secret generic {} -n openshift-image-registry --from-file=private.pem=KEYFILE",
                        if name.is_empty() { "cloudfront-key" } else { &name }
                    )),
                ));
            }
        }
        out
    }

    fn referenced(&self, storage: &Storage, names: &mut Names) {
        let Some(s3) = &storage.s3 else { return };
        if let Some(cf) = &s3.cloud_front {
            names.secrets.extend(cf.private_key.name.clone());
        }
        names.config_maps.extend(trusted_ca(storage).map(str::to_string));
    }

    fn credential_keys(&self) -> &'static [(&'static str, &'static str)] {
        HMAC_KEYS
    }

    fn credential_sets(&self) -> &'static [&'static [&'static str]] {
        &[&["access-key", "secret-key"]]
    }

    fn location(&self, storage: &Storage) -> Vec<(&'static str, String)> {
        let s3 = storage.s3.clone().unwrap_or_default();
        location(&[
            ("bucket", s3.bucket),
            ("region", s3.region),
            ("regionEndpoint", s3.region_endpoint),
            ("encrypt", s3.encrypt.map(|e| e.to_string())),
            ("keyID", s3.key_id),
            ("virtualHostedStyle", s3.virtual_hosted_style.map(|e| e.to_string())),
            ("cloudFront", s3.cloud_front.map(|c| c.base_url)),
        ])
    }

    fn removal(&self, storage: &Storage) -> Removal {
        match storage.s3.as_ref().and_then(|s| value(&s.bucket)) {
            Some(bucket) => Removal::Cloud(format!("S3 bucket {bucket}")),
            None => Removal::LeftInPlace,
        }
    }

    fn cloud(&self) -> Option<&'static dyn super::cloud::Cloud> {
        Some(&bucket::S3Bucket)
    }
}

/// What S3 a region's AWS partition offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Availability {
    DualStack,
    /// The US ISO partitions: IPv4 endpoints only.
    SingleStack,
    /// Partitions whose endpoint table has no S3 (EU ISOE, US ISOF).
    None,
}

pub(crate) fn availability(region: &str) -> Availability {
    if region.starts_with("us-iso-") || region.starts_with("us-isob-") {
        Availability::SingleStack
    } else if region.starts_with("eu-isoe-") || region.starts_with("us-isof-") {
        Availability::None
    } else {
        Availability::DualStack
    }
}

fn no_s3(region: &str) -> Problem {
    Problem::permanent(
        "InvalidRegion",
        format!(
            "spec.storage.s3.region {region:?}: the AWS endpoint table has no S3 in this region's partition; set the \
             endpoint with oc-registry storage set s3 --region-endpoint URL"
        ),
    )
}

/// The access key pair S3 and IBM COS read from the user's Secret.
pub(in crate::storage) const HMAC_KEYS: &[(&str, &str)] = &[
    ("access-key", "REGISTRY_STORAGE_S3_ACCESSKEY"),
    ("secret-key", "REGISTRY_STORAGE_S3_SECRETKEY"),
];

/// The ConfigMap in `openshift-config` whose `ca-bundle.crt` the registry trusts for the endpoint.
pub fn trusted_ca(storage: &Storage) -> Option<&str> {
    storage
        .s3
        .as_ref()?
        .trusted_ca
        .as_ref()
        .map(|r| r.name.as_str())
        .filter(|n| !n.is_empty())
}

/// The registry's shared-credentials file: from the user's key pair, else the cloud Secret's file
/// or key pair.
fn credentials_file(environment: &Environment<'_>) -> Result<Vec<u8>, Problem> {
    let creds = environment.credentials;
    match (&creds.user, &creds.cloud) {
        (Some(user), _) => Ok(s3_ini(
            &required(user, HMAC_KEYS[0].1)?,
            &required(user, HMAC_KEYS[1].1)?,
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
        (None, None) => Err(missing(
            "s3",
            "create the Secret image-registry-private-configuration-user with keys REGISTRY_STORAGE_S3_ACCESSKEY and REGISTRY_STORAGE_S3_SECRETKEY",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Credentials, Data};
    use serde_json::{Value, json};
    use std::collections::{BTreeMap, BTreeSet};

    fn storage(s3: Value) -> Storage {
        serde_json::from_value(json!({ "s3": s3 })).unwrap()
    }

    fn data(pairs: &[(&str, &str)]) -> Data {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    fn env_of(r: &Rendering) -> BTreeMap<String, Value> {
        r.env
            .iter()
            .map(|e| (e["name"].as_str().unwrap().to_string(), e["value"].clone()))
            .collect()
    }

    fn user_keys() -> Credentials {
        Credentials {
            issued: None,
            user: Some(data(&[
                ("REGISTRY_STORAGE_S3_ACCESSKEY", "AKIA"),
                ("REGISTRY_STORAGE_S3_SECRETKEY", "secret"),
            ])),
            cloud: None,
        }
    }

    #[test]
    fn environment() {
        // (block, environment variables that must hold these values; null: must be absent)
        let cases = [
            (
                json!({"bucket": "b", "region": "us-east-1"}),
                json!({"REGISTRY_STORAGE": "s3", "REGISTRY_STORAGE_S3_BUCKET": "b", "REGISTRY_STORAGE_S3_REGION": "us-east-1",
                       "REGISTRY_STORAGE_S3_ENCRYPT": "false", "REGISTRY_STORAGE_S3_FORCEPATHSTYLE": "true",
                       "REGISTRY_STORAGE_S3_CREDENTIALSCONFIGPATH": "/var/run/secrets/cloud/credentials",
                       "REGISTRY_STORAGE_S3_REGIONENDPOINT": null, "REGISTRY_STORAGE_S3_CHUNKSIZE": null,
                       "REGISTRY_STORAGE_S3_KEYID": null}),
            ),
            (
                json!({"bucket": "b", "regionEndpoint": "https://s3.example.com", "virtualHostedStyle": true}),
                json!({"REGISTRY_STORAGE_S3_REGIONENDPOINT": "https://s3.example.com", "REGISTRY_STORAGE_S3_FORCEPATHSTYLE": "false"}),
            ),
            (
                json!({"bucket": "b", "chunkSizeMiB": 16, "encrypt": true, "keyID": "kms-1"}),
                json!({"REGISTRY_STORAGE_S3_CHUNKSIZE": "16777216", "REGISTRY_STORAGE_S3_ENCRYPT": "true", "REGISTRY_STORAGE_S3_KEYID": "kms-1"}),
            ),
            // Dual-stack only where the partition has it; always with an endpoint of one's own.
            (
                json!({"bucket": "b", "region": "us-iso-east-1"}),
                json!({"REGISTRY_STORAGE_S3_USEDUALSTACK": null}),
            ),
            (
                json!({"bucket": "b", "region": "us-isob-east-1"}),
                json!({"REGISTRY_STORAGE_S3_USEDUALSTACK": null}),
            ),
            (
                json!({"bucket": "b", "region": "eu-west-1"}),
                json!({"REGISTRY_STORAGE_S3_USEDUALSTACK": "true"}),
            ),
            (
                json!({"bucket": "b", "region": "us-isof-south-1", "regionEndpoint": "https://s3.example.com"}),
                json!({"REGISTRY_STORAGE_S3_USEDUALSTACK": "true"}),
            ),
            // Text the registry would read as another type reaches it as the string it is.
            (
                json!({"bucket": "0123456", "region": "us-east-1"}),
                json!({"REGISTRY_STORAGE_S3_BUCKET": "\"0123456\""}),
            ),
            (
                json!({"bucket": "true", "region": "us-east-1"}),
                json!({"REGISTRY_STORAGE_S3_BUCKET": "\"true\""}),
            ),
            // Out of the registry's range: left to the registry's default (and refused by the checks).
            (
                json!({"bucket": "b", "chunkSizeMiB": 4}),
                json!({"REGISTRY_STORAGE_S3_CHUNKSIZE": null}),
            ),
        ];
        for (block, want) in cases {
            let environment = Environment {
                credentials: &user_keys(),
                storage_ca: None,
                cloud_ca: None,
                cos_endpoint: None,
                openstack_cloud: None,
            };
            let rendered = S3.render(&storage(block.clone()), &environment).unwrap();
            let env = env_of(&rendered);
            for (name, value) in want.as_object().unwrap() {
                assert_eq!(env.get(name).unwrap_or(&Value::Null), value, "{block}: {name}");
            }
            assert_eq!(
                rendered.secret_data["credentials"],
                b"[default]\naws_access_key_id = AKIA\naws_secret_access_key = secret\n"
            );
        }
    }

    #[test]
    fn a_region_without_s3_is_refused() {
        for region in ["eu-isoe-west-1", "us-isof-south-1"] {
            let environment = Environment {
                credentials: &user_keys(),
                storage_ca: None,
                cloud_ca: None,
                cos_endpoint: None,
                openstack_cloud: None,
            };
            let err = S3
                .render(&storage(json!({"bucket": "b", "region": region})), &environment)
                .unwrap_err();
            assert!(
                err.message.contains(region) && err.message.contains("--region-endpoint"),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn credentials() {
        let render = |credentials: Credentials| {
            let environment = Environment {
                credentials: &credentials,
                storage_ca: None,
                cloud_ca: None,
                cos_endpoint: None,
                openstack_cloud: None,
            };
            S3.render(&storage(json!({"bucket": "b"})), &environment)
                .map(|r| r.secret_data["credentials"].clone())
                .map_err(|p| p.message)
        };
        // The user's Secret is used alone, and must be complete.
        let incomplete = Credentials {
            issued: None,
            user: Some(data(&[("REGISTRY_STORAGE_S3_ACCESSKEY", "AKIA")])),
            cloud: Some(data(&[("credentials", "[default]\n")])),
        };
        assert!(
            render(incomplete)
                .unwrap_err()
                .contains("REGISTRY_STORAGE_S3_SECRETKEY")
        );
        let cloud_file = Credentials {
            issued: None,
            user: None,
            cloud: Some(data(&[("credentials", "[default]\nrole_arn = r\n")])),
        };
        assert_eq!(render(cloud_file).unwrap(), b"[default]\nrole_arn = r\n");
        let cloud_keys = Credentials {
            issued: None,
            user: None,
            cloud: Some(data(&[("aws_access_key_id", "A"), ("aws_secret_access_key", "S")])),
        };
        assert_eq!(
            render(cloud_keys).unwrap(),
            b"[default]\naws_access_key_id = A\naws_secret_access_key = S\n"
        );
        assert!(
            render(Credentials::default())
                .unwrap_err()
                .contains("needs credentials")
        );
    }

    #[test]
    fn the_trusted_ca_must_be_found() {
        let block = storage(json!({"bucket": "b", "trustedCA": {"name": "rgw-ca"}}));
        let creds = user_keys();
        let missing = S3.render(
            &block,
            &Environment {
                credentials: &creds,
                storage_ca: None,
                cloud_ca: None,
                cos_endpoint: None,
                openstack_cloud: None,
            },
        );
        assert!(missing.unwrap_err().message.contains("openshift-config/rgw-ca"));
        let found = S3
            .render(
                &block,
                &Environment {
                    credentials: &creds,
                    storage_ca: Some("PEM"),
                    cloud_ca: None,
                    cos_endpoint: None,
                    openstack_cloud: None,
                },
            )
            .unwrap();
        assert_eq!(found.ca_bundle.as_deref(), Some("PEM"));
    }

    #[test]
    fn checks() {
        let spec = ConfigSpec::default();
        let read = References {
            read: true,
            ..References::default()
        };
        let with_ca = References {
            read: true,
            config_maps: [(
                "rgw-ca".to_string(),
                Some(BTreeSet::from(["ca-bundle.crt".to_string()])),
            )]
            .into(),
            ..read.clone()
        };
        // (block, references, the fields found at fault: error or warning)
        let cases = [
            (json!({"bucket": "registry-bucket"}), read.clone(), vec![]),
            (
                json!({"bucket": "Bad_Bucket"}),
                read.clone(),
                vec!["spec.storage.s3.bucket"],
            ),
            (
                json!({"regionEndpoint": "s3.example.com"}),
                read.clone(),
                vec!["spec.storage.s3.regionEndpoint"],
            ),
            (
                json!({"chunkSizeMiB": 4}),
                read.clone(),
                vec!["spec.storage.s3.chunkSizeMiB"],
            ),
            (json!({"keyID": "k"}), read.clone(), vec!["spec.storage.s3.keyID"]),
            (json!({"keyID": "k", "encrypt": true}), read.clone(), vec![]),
            (
                json!({"trustedCA": {"name": "rgw-ca"}}),
                read.clone(),
                vec!["spec.storage.s3.trustedCA.name"],
            ),
            (json!({"trustedCA": {"name": "rgw-ca"}}), with_ca, vec![]),
            (
                json!({"cloudFront": {"baseURL": "https://d.cloudfront.net", "keypairID": "K", "privateKey": {"name": "cf", "key": "pem"}}}),
                read.clone(),
                vec!["spec.storage.s3.cloudFront.privateKey"],
            ),
        ];
        for (block, refs, want) in cases {
            let found: Vec<String> = S3
                .check(&storage(block.clone()), &spec, &refs)
                .into_iter()
                .map(|f| f.field)
                .collect();
            assert_eq!(found, want, "{block}");
        }
    }
}
