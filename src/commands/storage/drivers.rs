//! `storage set DRIVER …`: the registry's storage, one subcommand per driver with every field of
//! that driver. Setting a driver removes any other (exactly one may be set). Given the driver
//! already set, only the given fields change; an empty value ("") unsets a field.

use crate::api::{
    AzureNetworkAccess, AzureNetworkAccessInternal, AzureStorage, CloudFront, GcsStorage, IbmCosStorage,
    ManagementState, NameRef, S3Storage, SecretKeyRef, Storage, SwiftStorage,
};
use crate::commands::change::{self, WriteArgs};
use crate::commands::set::StorageManagement;
use crate::commands::{Context, invalid};
use crate::configure::pod::set_text;
use crate::storage::{self, Driver};
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum DriverCommand {
    #[command(
        about = summary("s3"),
        long_about = "Store images in Amazon S3 or S3-compatible storage. For S3-compatible \
        storage give --region-endpoint (with its scheme), usually --virtual-hosted-style=false, \
        --trusted-ca when its certificate is not publicly trusted, and --management-state Unmanaged so \
        the registry makes no AWS-only calls. Credentials: `oc-registry storage credentials set s3 …`."
    )]
    S3(S3Args),
    #[command(about = summary("gcs"))]
    Gcs(GcsArgs),
    #[command(about = summary("azure"))]
    Azure(AzureArgs),
    #[command(about = summary("swift"))]
    Swift(SwiftArgs),
    #[command(about = summary("pvc"), long_about = "Store images on a PersistentVolumeClaim in openshift-image-registry. \
        Without --claim the registry creates image-registry-storage. A ReadWriteOnce or ReadWriteOncePod claim needs 1 replica \
        and the Recreate rollout strategy (`oc-registry set replicas 1`, `oc-registry set rollout-strategy \
        Recreate`); ReadWriteMany has no such limit.\n\n\
        With --size, --storage-class or --access-mode the claim (--claim, else image-registry-storage) is created now, \
        after checking that the class exists (else the cluster's default) and, where its provisioner is known, \
        that its volumes offer the access mode, so that a claim is never left Pending; the registry owns it \
        (its storage becomes Managed) unless --management-state says otherwise.")]
    Pvc(PvcArgs),
    #[command(
        about = summary("empty-dir"),
        long_about = "Store images in each registry pod's emptyDir: every image is lost when a pod \
        restarts, and with several replicas each pod holds different images. For tests only."
    )]
    EmptyDir(Common),
    #[command(about = summary("ibmcos"))]
    Ibmcos(IbmCosArgs),
}

#[derive(Debug, Args)]
pub struct Common {
    /// Managed: the registry owns the storage (and deletes it when Removed); Unmanaged: never touched.
    /// Default when switching drivers: decided at the next reconcile (Managed only for storage it names)
    #[arg(long, value_enum, ignore_case = true, value_name = "STATE")]
    pub management_state: Option<StorageManagement>,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct S3Args {
    /// Bucket name (default: named after the cluster)
    #[arg(long)]
    pub bucket: Option<String>,
    /// AWS region, e.g. us-east-1
    #[arg(long)]
    pub region: Option<String>,
    /// Endpoint URL with its scheme, e.g. https://s3.example.com:8443
    #[arg(long, value_name = "URL")]
    pub region_endpoint: Option<String>,
    /// Multipart upload chunk size in MiB (5–5120)
    #[arg(long, value_name = "MIB", allow_negative_numbers = true)]
    pub chunk_size_mib: Option<i64>,
    /// Encrypt images at rest
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = clap::builder::BoolValueParser::new())]
    pub encrypt: Option<bool>,
    /// KMS key for encryption (with --encrypt)
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// Virtual-hosted-style bucket addressing (false: path style, as most S3-compatible stores want)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = clap::builder::BoolValueParser::new())]
    pub virtual_hosted_style: Option<bool>,
    /// ConfigMap in openshift-config whose ca-bundle.crt the registry trusts for the endpoint
    #[arg(long, value_name = "CONFIGMAP")]
    pub trusted_ca: Option<String>,
    /// CloudFront distribution URL, e.g. https://d111111abcdef8.cloudfront.net
    #[arg(long, value_name = "URL")]
    pub cloudfront_base_url: Option<String>,
    /// CloudFront key pair ID
    #[arg(long, value_name = "ID")]
    pub cloudfront_keypair_id: Option<String>,
    /// Secret in openshift-image-registry holding the CloudFront private key, as SECRET/KEY
    #[arg(long, value_name = "SECRET/KEY")]
    pub cloudfront_private_key: Option<String>,
    /// How long CloudFront URLs stay valid, e.g. 20m
    #[arg(long, value_name = "DURATION")]
    pub cloudfront_duration: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct GcsArgs {
    /// Bucket name (default: named after the cluster)
    #[arg(long)]
    pub bucket: Option<String>,
    /// Region the bucket is created in
    #[arg(long)]
    pub region: Option<String>,
    /// Project the bucket is created in
    #[arg(long)]
    pub project_id: Option<String>,
    /// KMS key for encryption, projects/P/locations/L/keyRings/R/cryptoKeys/K
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum NetworkAccess {
    External,
    Internal,
}

#[derive(Debug, Args)]
pub struct AzureArgs {
    /// Storage account name (3–24 of a-z, 0-9)
    #[arg(long)]
    pub account_name: Option<String>,
    /// Blob container (3–63 of a-z, 0-9 and single '-')
    #[arg(long)]
    pub container: Option<String>,
    /// Azure cloud, e.g. AzurePublicCloud, AzureUSGovernmentCloud, AzureChinaCloud
    #[arg(long)]
    pub cloud_name: Option<String>,
    /// Reach the storage account publicly (External) or through a private endpoint (Internal)
    #[arg(long, value_enum, ignore_case = true)]
    pub network_access: Option<NetworkAccess>,
    /// Internal access: the resource group of the virtual network
    #[arg(long, value_name = "NAME")]
    pub network_resource_group: Option<String>,
    /// Internal access: the virtual network
    #[arg(long, value_name = "NAME")]
    pub vnet_name: Option<String>,
    /// Internal access: the subnet
    #[arg(long, value_name = "NAME")]
    pub subnet_name: Option<String>,
    /// Internal access: the private endpoint
    #[arg(long, value_name = "NAME")]
    pub private_endpoint_name: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct SwiftArgs {
    /// Keystone URL with its scheme, e.g. https://keystone.example.com:5000/v3
    #[arg(long, value_name = "URL")]
    pub auth_url: Option<String>,
    /// Keystone API version: 1, 2 or 3
    #[arg(long, value_name = "VERSION")]
    pub auth_version: Option<String>,
    /// Container name (default: named after the cluster)
    #[arg(long)]
    pub container: Option<String>,
    /// Keystone domain name
    #[arg(long)]
    pub domain: Option<String>,
    /// Keystone domain ID
    #[arg(long)]
    pub domain_id: Option<String>,
    /// Tenant (project) name
    #[arg(long)]
    pub tenant: Option<String>,
    /// Tenant (project) ID
    #[arg(long)]
    pub tenant_id: Option<String>,
    /// Region
    #[arg(long)]
    pub region_name: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct PvcArgs {
    /// Claim in openshift-image-registry (default: image-registry-storage, created by the registry)
    #[arg(long, value_name = "NAME")]
    pub claim: Option<String>,
    /// Create the claim now with this size (default 100Gi)
    #[arg(long, value_name = "QUANTITY")]
    pub size: Option<String>,
    /// Create the claim now in this storage class (default: the cluster's default class)
    #[arg(long, value_name = "CLASS")]
    pub storage_class: Option<String>,
    /// Create the claim now with this access mode (default ReadWriteMany)
    #[arg(long, value_enum, value_name = "MODE")]
    pub access_mode: Option<AccessMode>,
    #[command(flatten)]
    pub common: Common,
}

/// The access modes a registry's claim can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum AccessMode {
    ReadWriteMany,
    ReadWriteOnce,
    ReadWriteOncePod,
}

impl AccessMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::ReadWriteMany => "ReadWriteMany",
            AccessMode::ReadWriteOnce => "ReadWriteOnce",
            AccessMode::ReadWriteOncePod => "ReadWriteOncePod",
        }
    }
}

#[derive(Debug, Args)]
pub struct IbmCosArgs {
    /// Bucket name (default: named after the cluster)
    #[arg(long)]
    pub bucket: Option<String>,
    /// Location, e.g. us-east
    #[arg(long)]
    pub location: Option<String>,
    /// Resource group
    #[arg(long, value_name = "NAME")]
    pub resource_group_name: Option<String>,
    /// CRN of the resource key (crn:…:cloud-object-storage:…:resource-key:…)
    #[arg(long, value_name = "CRN")]
    pub resource_key_crn: Option<String>,
    /// CRN of the Cloud Object Storage instance
    #[arg(long, value_name = "CRN")]
    pub service_instance_crn: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// A driver's one-line help, from the driver itself.
fn summary(command_name: &str) -> &'static str {
    storage::by_command_name(command_name).map_or("", |d| d.summary())
}

pub async fn run(cx: &Context, command: &DriverCommand) -> Result<ExitCode> {
    let (name, common) = match command {
        DriverCommand::S3(a) => ("s3", &a.common),
        DriverCommand::Gcs(a) => ("gcs", &a.common),
        DriverCommand::Azure(a) => ("azure", &a.common),
        DriverCommand::Swift(a) => ("swift", &a.common),
        DriverCommand::Pvc(a) => ("pvc", &a.common),
        DriverCommand::EmptyDir(common) => ("emptyDir", common),
        DriverCommand::Ibmcos(a) => ("ibmcos", &a.common),
    };
    let driver = storage::by_name(name).expect("every storage command names a driver");
    // What can be checked without the cluster is checked before connecting.
    let private_key = match command {
        DriverCommand::S3(a) => {
            if let Some(mib) = a.chunk_size_mib.filter(|m| i32::try_from(*m).is_err()) {
                return Err(invalid(format!(
                    "spec.storage.s3.chunkSizeMiB: must be from 5 to 5120, got {mib}"
                )));
            }
            cloudfront_private_key(a.cloudfront_private_key.as_deref()).map_err(invalid)?
        }
        _ => None,
    };
    let mut management = common.management_state.map(ManagementState::from);
    // A claim asked for is made first; the registry owns what it made.
    let made = match command {
        DriverCommand::Pvc(a) if super::claim::wanted(a) => {
            let session = cx.session().await?;
            let quiet = crate::commands::output::Format::machine(common.write.output.as_ref()).is_some();
            let made = super::claim::create(session, a, common.write.mode(), quiet).await?;
            if made.is_some() {
                management = management.or(Some(ManagementState::Managed));
            }
            made
        }
        _ => None,
    };
    let claim_name = made.as_ref().map(|m| m.name.clone());
    let mut replaced = None;
    let edited = change::config_with_claim(cx, &common.write, made.as_ref().map(|m| m.facts()), |spec| {
        let old = spec.storage.clone().unwrap_or_default();
        replaced = storage::driver_of(&old).filter(|d| d.name() != driver.name());
        let mut new = one_driver(&old, driver, management.clone());
        match command {
            DriverCommand::S3(a) => edit_s3(new.s3.get_or_insert_default(), a, private_key.clone()),
            DriverCommand::Gcs(a) => edit_gcs(new.gcs.get_or_insert_default(), a),
            DriverCommand::Azure(a) => edit_azure(new.azure.get_or_insert_default(), a),
            DriverCommand::Swift(a) => edit_swift(new.swift.get_or_insert_default(), a),
            DriverCommand::Pvc(a) => set_text(
                &mut new.pvc.get_or_insert_default().claim,
                &claim_name.clone().or(a.claim.clone()),
            ),
            DriverCommand::EmptyDir(_) => {
                new.empty_dir.get_or_insert_default();
            }
            DriverCommand::Ibmcos(a) => edit_ibmcos(new.ibmcos.get_or_insert_default(), a),
        }
        // Another bucket or claim is other storage: who owns it is decided anew (an existing one
        // is adopted as Unmanaged), never carried over from the storage it replaces.
        if management.is_none() && driver.is_set(&old) && driver.removal(&old) != driver.removal(&new) {
            new.management_state = None;
        }
        spec.storage = Some(new);
        Ok(())
    })
    .await;
    let code = match (edited, made) {
        (Ok(code), _) => code,
        // Nothing uses the claim just made: it goes again.
        (Err(e), Some(made)) => {
            made.undo(cx.session().await?).await?;
            return Err(e);
        }
        (Err(e), None) => return Err(e),
    };
    if let Some(old) = replaced {
        eprintln!(
            "Warning: the images in the {} storage stay there: {} starts empty. Copy them first \
             (oc image mirror, skopeo copy) if they are still wanted.",
            old.command_name(),
            driver.command_name()
        );
    }
    Ok(code)
}

/// Makes `driver` the one driver of the block: its settings are kept when it already is the
/// driver, and so is the storage's owner, which stays with the storage; another driver starts
/// from nothing and its owner is decided by reconcile, unless `management` says.
fn one_driver(old: &Storage, driver: &dyn Driver, management: Option<ManagementState>) -> Storage {
    let same = driver.is_set(old);
    let mut new = driver.only(old);
    new.management_state = management.or_else(|| old.management_state.clone().filter(|_| same));
    new
}

/// `--cloudfront-private-key SECRET/KEY`: `None` when not given, `Some(None)` for "" (unset).
fn cloudfront_private_key(given: Option<&str>) -> Result<Option<Option<SecretKeyRef>>, String> {
    match given {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(reference) => {
            let (name, key) = reference
                .split_once('/')
                .filter(|(n, k)| !n.is_empty() && !k.is_empty())
                .ok_or_else(|| {
                    format!(
                        "spec.storage.s3.cloudFront.privateKey: {reference:?} is not SECRET/KEY, e.g. cloudfront/private.pem"
                    )
                })?;
            Ok(Some(Some(SecretKeyRef {
                name: Some(name.into()),
                key: Some(key.into()),
                ..SecretKeyRef::default()
            })))
        }
    }
}

fn edit_s3(s3: &mut S3Storage, a: &S3Args, private_key: Option<Option<SecretKeyRef>>) {
    set_text(&mut s3.bucket, &a.bucket);
    set_text(&mut s3.region, &a.region);
    set_text(&mut s3.region_endpoint, &a.region_endpoint);
    // Checked to fit before connecting; out of range values are refused by the checks.
    if let Some(mib) = a.chunk_size_mib.and_then(|m| i32::try_from(m).ok()) {
        s3.chunk_size_mib = Some(mib);
    }
    s3.encrypt = a.encrypt.or(s3.encrypt);
    set_text(&mut s3.key_id, &a.key_id);
    s3.virtual_hosted_style = a.virtual_hosted_style.or(s3.virtual_hosted_style);
    match a.trusted_ca.as_deref() {
        None => {}
        Some("") => s3.trusted_ca = None,
        Some(name) => {
            s3.trusted_ca = Some(NameRef {
                name: name.into(),
                ..NameRef::default()
            })
        }
    }
    let given = a.cloudfront_base_url.is_some()
        || a.cloudfront_keypair_id.is_some()
        || private_key.is_some()
        || a.cloudfront_duration.is_some();
    if given {
        let cf = s3.cloud_front.get_or_insert_default();
        if let Some(url) = &a.cloudfront_base_url {
            cf.base_url = url.clone();
        }
        if let Some(id) = &a.cloudfront_keypair_id {
            cf.keypair_id = id.clone();
        }
        if let Some(key) = private_key {
            cf.private_key = key.unwrap_or_default();
        }
        set_text(&mut cf.duration, &a.cloudfront_duration);
        // Unsetting the last field of CloudFront removes it.
        if *cf == CloudFront::default() {
            s3.cloud_front = None;
        }
    }
}

fn edit_gcs(gcs: &mut GcsStorage, a: &GcsArgs) {
    set_text(&mut gcs.bucket, &a.bucket);
    set_text(&mut gcs.region, &a.region);
    set_text(&mut gcs.project_id, &a.project_id);
    set_text(&mut gcs.key_id, &a.key_id);
}

fn edit_azure(azure: &mut AzureStorage, a: &AzureArgs) {
    set_text(&mut azure.account_name, &a.account_name);
    set_text(&mut azure.container, &a.container);
    set_text(&mut azure.cloud_name, &a.cloud_name);
    let internal_given = [
        &a.network_resource_group,
        &a.vnet_name,
        &a.subnet_name,
        &a.private_endpoint_name,
    ]
    .iter()
    .any(|v| v.is_some());
    if a.network_access.is_none() && !internal_given {
        return;
    }
    let access = azure.network_access.get_or_insert_default();
    if let Some(t) = a.network_access {
        access.type_ = Some(network_access_name(t).into());
    }
    if internal_given {
        let internal = access.internal.get_or_insert_default();
        set_text(&mut internal.network_resource_group_name, &a.network_resource_group);
        set_text(&mut internal.vnet_name, &a.vnet_name);
        set_text(&mut internal.subnet_name, &a.subnet_name);
        set_text(&mut internal.private_endpoint_name, &a.private_endpoint_name);
        // Unsetting the last field of a nested object removes the object.
        if *internal == AzureNetworkAccessInternal::default() {
            access.internal = None;
        }
    }
    if *access == AzureNetworkAccess::default() {
        azure.network_access = None;
    }
}

fn network_access_name(access: NetworkAccess) -> &'static str {
    match access {
        NetworkAccess::External => "External",
        NetworkAccess::Internal => "Internal",
    }
}

fn edit_swift(swift: &mut SwiftStorage, a: &SwiftArgs) {
    set_text(&mut swift.auth_url, &a.auth_url);
    set_text(&mut swift.auth_version, &a.auth_version);
    set_text(&mut swift.container, &a.container);
    set_text(&mut swift.domain, &a.domain);
    set_text(&mut swift.domain_id, &a.domain_id);
    set_text(&mut swift.tenant, &a.tenant);
    set_text(&mut swift.tenant_id, &a.tenant_id);
    set_text(&mut swift.region_name, &a.region_name);
}

fn edit_ibmcos(cos: &mut IbmCosStorage, a: &IbmCosArgs) {
    set_text(&mut cos.bucket, &a.bucket);
    set_text(&mut cos.location, &a.location);
    set_text(&mut cos.resource_group_name, &a.resource_group_name);
    set_text(&mut cos.resource_key_crn, &a.resource_key_crn);
    set_text(&mut cos.service_instance_crn, &a.service_instance_crn);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn storage(v: serde_json::Value) -> Storage {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn there_is_one_command_per_driver() {
        use clap::Subcommand as _;
        let commands = DriverCommand::augment_subcommands(clap::Command::new("set"));
        let mut ours: Vec<&str> = commands.get_subcommands().map(|c| c.get_name()).collect();
        let mut drivers = storage::command_names();
        ours.sort();
        drivers.sort();
        assert_eq!(ours, drivers);
        for c in commands.get_subcommands() {
            assert!(!summary(c.get_name()).is_empty(), "{}", c.get_name());
        }
    }

    #[test]
    fn switching_driver_replaces_the_others_and_forgets_the_owner() {
        let old = storage(json!({"emptyDir": {}, "s3": {"bucket": "b"}, "managementState": "Managed"}));
        let new = one_driver(&old, storage::by_name("pvc").unwrap(), None);
        assert_eq!(serde_json::to_value(new).unwrap(), json!({}));
        let same = one_driver(&old, storage::by_name("s3").unwrap(), None);
        assert_eq!(
            serde_json::to_value(same).unwrap(),
            json!({"s3": {"bucket": "b"}, "managementState": "Managed"})
        );
        let owned = one_driver(&old, storage::by_name("pvc").unwrap(), Some(ManagementState::Unmanaged));
        assert_eq!(
            serde_json::to_value(owned).unwrap(),
            json!({"managementState": "Unmanaged"})
        );
    }

    #[test]
    fn unsetting_the_last_nested_field_removes_its_object() {
        let mut azure: AzureStorage =
            serde_json::from_value(json!({"networkAccess": {"type": "Internal", "internal": {"vnetName": "v"}}}))
                .unwrap();
        let args = AzureArgs {
            account_name: None,
            container: None,
            cloud_name: None,
            network_access: None,
            network_resource_group: None,
            vnet_name: Some(String::new()),
            subnet_name: None,
            private_endpoint_name: None,
            common: Common {
                management_state: None,
                write: WriteArgs {
                    dry_run: None,
                    output: None,
                },
            },
        };
        edit_azure(&mut azure, &args);
        assert_eq!(
            serde_json::to_value(&azure).unwrap(),
            json!({"networkAccess": {"type": "Internal"}})
        );
    }

    #[test]
    fn cloudfront_keys_are_secret_slash_key() {
        assert!(
            cloudfront_private_key(Some("no-slash"))
                .unwrap_err()
                .contains("SECRET/KEY")
        );
        assert_eq!(cloudfront_private_key(Some("")).unwrap(), Some(None));
        assert_eq!(
            cloudfront_private_key(Some("cf/private.pem"))
                .unwrap()
                .unwrap()
                .unwrap()
                .key
                .as_deref(),
            Some("private.pem")
        );
    }
}
