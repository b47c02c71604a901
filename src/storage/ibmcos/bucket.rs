//! The COS bucket's life cycle, as the operator runs it: with the IBM Cloud API key, the service
//! instance (found by name in the resource group, or created) and its HMAC resource key (created
//! once, its CRN kept in the Config); then the bucket over the COS S3 API, path style, created
//! with `LocationConstraint=<location>-smart`. Removal empties and deletes the bucket; the
//! instance and the key stay, as the operator leaves them. A user's own HMAC pair skips the
//! IBM Cloud calls.

use super::platform::{IbmCloud, Instance};
use crate::api::{IbmCosStorage, Storage};
use crate::storage::cloud::{CloudContext, CloudError, Ensured, Inspection, Mode, Removed};
use crate::storage::credentials::{USER_CREDENTIALS, s3_ini, text};
use crate::storage::s3::bucket::Target;
use crate::storage::s3::client::{Auth, Endpoint, Shared, profile, with_scheme};
use crate::storage::{Data, s3::HMAC_KEYS};

pub(crate) struct CosBucket;

/// The user Secret's key for the IBM Cloud API key.
pub(super) const API_KEY: &str = "REGISTRY_STORAGE_IBMCOS_IAMAPIKEY";
/// The cloud Secret's key for it, as the cloud-credential operator mints it.
const CLOUD_API_KEY: &str = "ibmcloud_api_key";

/// An HMAC pair. Debug never shows it.
struct Pair(String, String);

impl Pair {
    fn ini(&self) -> Data {
        Data::from([("credentials".to_string(), s3_ini(self.0.as_bytes(), self.1.as_bytes()))])
    }
}

/// The user's own pair, when the user Secret holds one.
fn user_pair(credentials: &crate::storage::Credentials) -> Option<Pair> {
    let user = credentials.user.as_ref()?;
    Some(Pair(text(user, HMAC_KEYS[0].1)?, text(user, HMAC_KEYS[1].1)?))
}

/// The pair issued before, as the private configuration holds it.
fn issued_pair(credentials: &crate::storage::Credentials) -> Option<Pair> {
    let ini = text(credentials.issued.as_ref()?, "credentials")?;
    let keys = profile(&ini);
    Some(Pair(
        keys.get("aws_access_key_id")?.clone(),
        keys.get("aws_secret_access_key")?.clone(),
    ))
}

/// The IBM Cloud API key: the user's, else the one minted for the registry.
fn api_key(credentials: &crate::storage::Credentials) -> Result<String, CloudError> {
    if let Some(user) = &credentials.user {
        return text(user, API_KEY).ok_or_else(|| CloudError {
            code: "InvalidCredentials".into(),
            message: format!(
                "the Secret openshift-image-registry/{USER_CREDENTIALS} holds neither {API_KEY} nor an HMAC pair: \
                 add one with oc-registry storage credentials set ibmcos api-key=@FILE (or access-key=@FILE \
                 secret-key=@FILE)"
            ),
        });
    }
    credentials
        .cloud
        .as_ref()
        .and_then(|cloud| text(cloud, CLOUD_API_KEY))
        .ok_or_else(|| CloudError {
            code: "InvalidCredentials".into(),
            message: format!(
                "no IBM Cloud API key: installer-cloud-credentials has no {CLOUD_API_KEY}; store one with \
                 oc-registry storage credentials set ibmcos api-key=@FILE"
            ),
        })
}

fn not_configured(field: &str, flag: &str) -> CloudError {
    CloudError {
        code: "StorageNotConfigured".into(),
        message: format!("spec.storage.ibmcos.{field} is empty: set it with oc-registry storage set ibmcos --{flag} …"),
    }
}

/// The bucket over the COS S3 API, signed with `pair`.
fn target(cos: &IbmCosStorage, cx: &CloudContext<'_>, pair: Pair) -> Result<Target, CloudError> {
    let location = cos
        .location
        .clone()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| not_configured("location", "location"))?;
    let bucket = cos
        .bucket
        .clone()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| not_configured("bucket", "bucket"))?;
    let endpoint = Endpoint {
        region: location.clone(),
        url: Some(with_scheme(super::endpoint(&location, cx.service_endpoint("COS")))),
        path_style: true,
    };
    let auth = Auth::Keys {
        access_key: pair.0,
        secret_key: pair.1,
        session_token: None,
    };
    let client = Shared::of(&endpoint.region, cx, auth)?.s3(&endpoint);
    Ok(Target::new(
        bucket,
        endpoint,
        client,
        ("IBM COS bucket", "ibmcos"),
        Some(format!("{location}-smart")),
    ))
}

/// The name the operator gives the instance and the key.
fn resource_name(cx: &CloudContext<'_>) -> String {
    format!("{}-image-registry", cx.infrastructure_name())
}

impl CosBucket {
    /// The service instance the Config names when it is active, else the one named for the
    /// cluster in its resource group, else (when applying) a new one.
    async fn instance(
        &self,
        ibm: &IbmCloud,
        cos: &IbmCosStorage,
        cx: &CloudContext<'_>,
        mode: Mode,
        made: &mut Vec<String>,
    ) -> Result<Option<Instance>, CloudError> {
        if let Some(crn) = cos.service_instance_crn.as_deref().filter(|c| !c.is_empty()) {
            match ibm.instance(crn).await? {
                Some(instance) if instance.state == "active" => return Ok(Some(instance)),
                Some(instance) if instance.state == "provisioning" => {
                    return Err(CloudError {
                        code: "IBM COS Instance Provisioning".into(),
                        message: format!("IBM COS service instance {crn} is still provisioning: reconcile again soon"),
                    });
                }
                // Gone or inactive: another is found or made, as the operator does.
                _ => {}
            }
        }
        let group = cos
            .resource_group_name
            .clone()
            .filter(|g| !g.is_empty())
            .ok_or_else(|| not_configured("resourceGroupName", "resource-group-name"))?;
        let group_id = ibm.resource_group_id(&ibm.account_id()?, &group).await?;
        let name = resource_name(cx);
        if let Some(found) = ibm.find_instance(&name, &group_id).await? {
            return Ok(Some(found));
        }
        made.push(format!("IBM COS service instance {name}"));
        if mode == Mode::DryRun {
            return Ok(None);
        }
        Ok(Some(
            ibm.create_instance(&name, &group_id, cx.infrastructure_name()).await?,
        ))
    }

    /// The HMAC pair of the instance's resource key: the one the Config names, else a new one.
    /// `None` in a dry run that would create it.
    async fn issued(
        &self,
        ibm: &IbmCloud,
        instance: &Instance,
        cos: &IbmCosStorage,
        cx: &CloudContext<'_>,
        mode: Mode,
        (out, made): (&mut Ensured, &mut Vec<String>),
    ) -> Result<Option<Pair>, CloudError> {
        let named = cos.resource_key_crn.as_deref().filter(|c| !c.is_empty());
        let key = match named {
            Some(crn) => {
                let key = ibm.key(crn).await?.ok_or_else(|| CloudError {
                    code: "ResourceKeyNotFound".into(),
                    message: format!(
                        "the resource key {crn} in spec.storage.ibmcos.resourceKeyCRN does not exist: clear the \
                         field (oc-registry storage set ibmcos --resource-key-crn \"\") to have one created"
                    ),
                })?;
                if let Some(why) = key.unusable_for(&instance.crn) {
                    return Err(CloudError {
                        code: "InvalidResourceKey".into(),
                        message: format!("the resource key {crn} in spec.storage.ibmcos.resourceKeyCRN {why}"),
                    });
                }
                key
            }
            None => {
                let name = resource_name(cx);
                made.push(format!("IBM COS resource key {name}"));
                if mode == Mode::DryRun {
                    return Ok(None);
                }
                ibm.create_key(&name, &instance.crn).await?
            }
        };
        let block = out.storage.ibmcos.get_or_insert_with(Default::default);
        block.service_instance_crn = Some(instance.crn.clone());
        block.resource_key_crn = Some(key.crn.clone());
        Ok(key.hmac.map(|(access, secret)| Pair(access, secret)))
    }

    async fn ensure_cos(&self, storage: &Storage, cx: CloudContext<'_>, mode: Mode) -> Ensured {
        let mut out = Ensured::of(storage);
        let Some(cos) = storage.ibmcos.clone() else { return out };
        let mut made = Vec::new();
        let user = user_pair(cx.credentials);
        let from_user = user.is_some();
        let pair = match user {
            Some(pair) => Ok(Some(pair)),
            None => self.through_ibm_cloud(&cos, &cx, mode, (&mut out, &mut made)).await,
        };
        match pair {
            // A dry run that would create the key: the bucket would follow.
            Ok(None) => {
                made.push(format!("IBM COS bucket {}", cos.bucket.clone().unwrap_or_default()));
                out.exists = true;
            }
            Ok(Some(pair)) => {
                if !from_user {
                    out.issued = Some(pair.ini());
                }
                match target(&cos, &cx, pair) {
                    // COS has no tags, encryption or lifecycle calls: existing is all there is.
                    Ok(target) => {
                        super::super::cloud::ensure_exists(
                            &target,
                            storage,
                            cx.provisioning.adopt_existing,
                            mode,
                            &mut out,
                        )
                        .await;
                        made.extend(out.created.take());
                    }
                    Err(err) => out.cannot_exist(err),
                }
            }
            Err(err) => out.cannot_exist(err),
        }
        out.created = (!made.is_empty()).then(|| made.join(", "));
        out
    }

    async fn through_ibm_cloud(
        &self,
        cos: &IbmCosStorage,
        cx: &CloudContext<'_>,
        mode: Mode,
        (out, made): (&mut Ensured, &mut Vec<String>),
    ) -> Result<Option<Pair>, CloudError> {
        let ibm = IbmCloud::sign_in(&api_key(cx.credentials)?, cx).await?;
        let Some(instance) = self.instance(&ibm, cos, cx, mode, made).await? else {
            // A dry run: a new instance would get a new key.
            made.push(format!("IBM COS resource key {}", resource_name(cx)));
            return Ok(None);
        };
        match self.issued(&ibm, &instance, cos, cx, mode, (out, made)).await? {
            Some(pair) => Ok(Some(pair)),
            None if mode == Mode::DryRun => Ok(None),
            None => Err(CloudError {
                code: "InvalidResourceKey".into(),
                message: "the new resource key came without HMAC keys".into(),
            }),
        }
    }

    /// The pair for reading or removing: the user's, else the one issued before, else the key the
    /// Config names, read with the API key.
    async fn pair(&self, cos: &IbmCosStorage, cx: &CloudContext<'_>) -> Result<Pair, CloudError> {
        if let Some(pair) = user_pair(cx.credentials).or_else(|| issued_pair(cx.credentials)) {
            return Ok(pair);
        }
        let crn = cos
            .resource_key_crn
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| not_configured("resourceKeyCRN", "resource-key-crn"))?;
        let ibm = IbmCloud::sign_in(&api_key(cx.credentials)?, cx).await?;
        let key = ibm.key(&crn).await?;
        key.and_then(|k| k.hmac)
            .map(|(a, s)| Pair(a, s))
            .ok_or_else(|| CloudError {
                code: "ResourceKeyNotFound".into(),
                message: format!("the resource key {crn} does not exist or has no HMAC keys"),
            })
    }

    async fn inspect_cos(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Inspection, CloudError> {
        let cos = storage.ibmcos.clone().unwrap_or_default();
        let target = target(&cos, &cx, self.pair(&cos, &cx).await?)?;
        let exists = target.exists().await?;
        Ok(Inspection {
            exists,
            creator: None,
            objects: match exists {
                true => target.count().await.ok(),
                false => None,
            },
            removal_started: None,
        })
    }

    async fn remove_cos(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Removed, CloudError> {
        let cos = storage.ibmcos.clone().unwrap_or_default();
        let target = target(&cos, &cx, self.pair(&cos, &cx).await?)?;
        if !target.exists().await? {
            return Ok(Removed::default());
        }
        let objects = target.empty().await?;
        target.delete().await?;
        Ok(Removed {
            objects,
            resumed: false,
        })
    }
}

super::super::cloud::cloud_of_async_fns!(CosBucket, ensure_cos, inspect_cos, remove_cos);
