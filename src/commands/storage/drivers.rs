//! `storage set DRIVER …`: the registry's storage, one subcommand per driver with every field of
//! that driver. Setting a driver removes any other (exactly one may be set). Given the driver
//! already set, only the given fields change; an empty value ("") unsets a field.

use crate::commands::Context;
use crate::commands::change::{self, DryRunArg, Target, prune_empty, put};
use crate::commands::set::{StorageManagement, api_name};
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum DriverCommand {
    /// Amazon S3 or S3-compatible storage (Ceph RGW, ODF, MinIO, …)
    #[command(
        long_about = "Store images in Amazon S3 or S3-compatible storage. For S3-compatible \
        storage give --region-endpoint (with its scheme), usually --virtual-hosted-style=false, \
        --trusted-ca when its certificate is not publicly trusted, and --management-state Unmanaged so \
        the registry makes no AWS-only calls. Credentials: `oc-registry storage credentials set s3 …`."
    )]
    S3(S3Args),
    /// Google Cloud Storage
    Gcs(GcsArgs),
    /// Azure Blob Storage
    Azure(AzureArgs),
    /// OpenStack Swift
    Swift(SwiftArgs),
    /// A PersistentVolumeClaim in openshift-image-registry
    #[command(long_about = "Store images on a PersistentVolumeClaim in openshift-image-registry. \
        Without --claim the registry creates image-registry-storage. A ReadWriteOnce claim needs 1 replica \
        and the Recreate rollout strategy (`oc-registry set replicas 1`, `oc-registry set rollout-strategy \
        Recreate`); ReadWriteMany has no such limit.")]
    Pvc(PvcArgs),
    /// Pod-local storage, lost whenever a registry pod restarts (tests only)
    #[command(
        long_about = "Store images in each registry pod's emptyDir: every image is lost when a pod \
        restarts, and with several replicas each pod holds different images. For tests only."
    )]
    EmptyDir(Common),
    /// IBM Cloud Object Storage
    Ibmcos(IbmCosArgs),
}

#[derive(Debug, Args)]
pub struct Common {
    /// Managed: the registry owns the storage (and deletes it when Removed); Unmanaged: never touched.
    /// Default when switching drivers: decided at the next reconcile (Managed only for storage it names)
    #[arg(long, value_enum, ignore_case = true, value_name = "STATE")]
    pub management_state: Option<StorageManagement>,
    #[command(flatten)]
    pub dry_run: DryRunArg,
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
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolValueParser::new())]
    pub encrypt: Option<bool>,
    /// KMS key for encryption (with --encrypt)
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// Virtual-hosted-style bucket addressing (false: path style, as most S3-compatible stores want)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolValueParser::new())]
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
    #[command(flatten)]
    pub common: Common,
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

/// A field given on the command line: its path inside the driver block, and its value
/// (`Null` for "" — unset).
type Field = (Vec<&'static str>, Value);

fn text(path: &[&'static str], value: &Option<String>) -> Option<Field> {
    value
        .as_ref()
        .map(|v| (path.to_vec(), if v.is_empty() { Value::Null } else { json!(v) }))
}

fn given<T: serde::Serialize>(path: &[&'static str], value: &Option<T>) -> Option<Field> {
    value.as_ref().map(|v| (path.to_vec(), json!(v)))
}

pub async fn run(cx: &Context, command: &DriverCommand) -> Result<ExitCode> {
    let (driver, fields, common): (&str, Vec<Option<Field>>, &Common) = match command {
        DriverCommand::S3(a) => {
            let private_key = match a.cloudfront_private_key.as_deref() {
                None => None,
                Some("") => Some((vec!["cloudFront", "privateKey"], Value::Null)),
                Some(reference) => {
                    let (name, key) = reference.split_once('/').filter(|(n, k)| !n.is_empty() && !k.is_empty()).ok_or_else(|| {
                        crate::commands::invalid(format!(
                            "spec.storage.s3.cloudFront.privateKey: {reference:?} is not SECRET/KEY, e.g. cloudfront/private.pem"
                        ))
                    })?;
                    Some((vec!["cloudFront", "privateKey"], json!({"name": name, "key": key})))
                }
            };
            (
                "s3",
                vec![
                    text(&["bucket"], &a.bucket),
                    text(&["region"], &a.region),
                    text(&["regionEndpoint"], &a.region_endpoint),
                    given(&["chunkSizeMiB"], &a.chunk_size_mib),
                    given(&["encrypt"], &a.encrypt),
                    text(&["keyID"], &a.key_id),
                    given(&["virtualHostedStyle"], &a.virtual_hosted_style),
                    a.trusted_ca.as_ref().map(|n| {
                        let v = if n.is_empty() { Value::Null } else { json!({"name": n}) };
                        (vec!["trustedCA"], v)
                    }),
                    text(&["cloudFront", "baseURL"], &a.cloudfront_base_url),
                    text(&["cloudFront", "keypairID"], &a.cloudfront_keypair_id),
                    private_key,
                    text(&["cloudFront", "duration"], &a.cloudfront_duration),
                ],
                &a.common,
            )
        }
        DriverCommand::Gcs(a) => (
            "gcs",
            vec![
                text(&["bucket"], &a.bucket),
                text(&["region"], &a.region),
                text(&["projectID"], &a.project_id),
                text(&["keyID"], &a.key_id),
            ],
            &a.common,
        ),
        DriverCommand::Azure(a) => (
            "azure",
            vec![
                text(&["accountName"], &a.account_name),
                text(&["container"], &a.container),
                text(&["cloudName"], &a.cloud_name),
                a.network_access
                    .map(|n| (vec!["networkAccess", "type"], json!(api_name(n)))),
                text(
                    &["networkAccess", "internal", "networkResourceGroupName"],
                    &a.network_resource_group,
                ),
                text(&["networkAccess", "internal", "vnetName"], &a.vnet_name),
                text(&["networkAccess", "internal", "subnetName"], &a.subnet_name),
                text(
                    &["networkAccess", "internal", "privateEndpointName"],
                    &a.private_endpoint_name,
                ),
            ],
            &a.common,
        ),
        DriverCommand::Swift(a) => (
            "swift",
            vec![
                text(&["authURL"], &a.auth_url),
                text(&["authVersion"], &a.auth_version),
                text(&["container"], &a.container),
                text(&["domain"], &a.domain),
                text(&["domainID"], &a.domain_id),
                text(&["tenant"], &a.tenant),
                text(&["tenantID"], &a.tenant_id),
                text(&["regionName"], &a.region_name),
            ],
            &a.common,
        ),
        DriverCommand::Pvc(a) => ("pvc", vec![text(&["claim"], &a.claim)], &a.common),
        DriverCommand::EmptyDir(common) => ("emptyDir", Vec::new(), common),
        DriverCommand::Ibmcos(a) => (
            "ibmcos",
            vec![
                text(&["bucket"], &a.bucket),
                text(&["location"], &a.location),
                text(&["resourceGroupName"], &a.resource_group_name),
                text(&["resourceKeyCRN"], &a.resource_key_crn),
                text(&["serviceInstanceCRN"], &a.service_instance_crn),
            ],
            &a.common,
        ),
    };
    let fields: Vec<Field> = fields.into_iter().flatten().collect();
    let management = common.management_state.map(api_name);
    change::run(cx, Target::Config, &common.dry_run, move |o| {
        edit_storage(o, driver, &fields, management.as_deref());
        Ok(())
    })
    .await
}

/// Makes `driver` the one driver of `spec.storage` and sets `fields` in it.
fn edit_storage(object: &mut Value, driver: &str, fields: &[Field], management: Option<&str>) {
    let storage = object["spec"]
        .get("storage")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    let same_driver = storage.get(driver).is_some();
    let mut block = if same_driver {
        storage[driver].clone()
    } else {
        json!({})
    };
    for (path, value) in fields {
        put(&mut block, path, Some(value.clone()).filter(|v| !v.is_null()));
        if value.is_null() {
            // Unsetting the last field of a nested object removes the object.
            let mut full = json!({ "block": block });
            let mut at: Vec<&str> = vec!["block"];
            at.extend(&path[..path.len() - 1]);
            prune_empty(&mut full, &at);
            block = full["block"].take();
        }
    }
    let mut new_storage = json!({ driver: block });
    // The storage's owner stays with the storage: kept for the same driver, decided anew for another.
    match (management, storage.get("managementState")) {
        (Some(m), _) => new_storage["managementState"] = json!(m),
        (None, Some(m)) if same_driver => new_storage["managementState"] = m.clone(),
        _ => {}
    }
    debug_assert!(crate::storage::by_name(driver).is_some());
    put(object, &["spec", "storage"], Some(new_storage));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switching_driver_replaces_the_others_and_forgets_the_owner() {
        let mut o = json!({"spec": {"storage": {"emptyDir": {}, "s3": {"bucket": "b"}, "managementState": "Managed"}}});
        edit_storage(&mut o, "pvc", &[(vec!["claim"], json!("mine"))], None);
        assert_eq!(o["spec"]["storage"], json!({"pvc": {"claim": "mine"}}));
    }

    #[test]
    fn same_driver_merges_and_empty_unsets() {
        let mut o = json!({"spec": {"storage": {"s3": {"bucket": "b", "region": "r", "trustedCA": {"name": "ca"}}, "managementState": "Unmanaged"}}});
        edit_storage(
            &mut o,
            "s3",
            &[
                (vec!["region"], Value::Null),
                (vec!["encrypt"], json!(true)),
                (vec!["trustedCA"], Value::Null),
            ],
            None,
        );
        assert_eq!(
            o["spec"]["storage"],
            json!({"s3": {"bucket": "b", "encrypt": true}, "managementState": "Unmanaged"})
        );
        edit_storage(&mut o, "s3", &[], Some("Managed"));
        assert_eq!(o["spec"]["storage"]["managementState"], json!("Managed"));
    }

    #[test]
    fn unsetting_the_last_nested_field_removes_its_object() {
        let mut o = json!({"spec": {"storage": {"azure": {"networkAccess": {"type": "Internal", "internal": {"vnetName": "v"}}}}}});
        edit_storage(
            &mut o,
            "azure",
            &[(vec!["networkAccess", "internal", "vnetName"], Value::Null)],
            None,
        );
        assert_eq!(
            o["spec"]["storage"],
            json!({"azure": {"networkAccess": {"type": "Internal"}}})
        );
    }
}
