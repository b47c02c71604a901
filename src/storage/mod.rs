//! Storage drivers: one module per driver behind one [`Driver`] interface, and one list of them,
//! [`DRIVERS`], from which every other list of drivers derives (the commands, completion, help,
//! status). A driver owns everything its storage means: its block of `spec.storage`, the names and
//! platform values the operator fills in, the environment, volumes and secret keys the registry
//! runs with, its checks, the credentials it needs, how status describes it, and what removing the
//! registry does to it.

mod azure;
pub mod cloud;
mod credentials;
mod empty_dir;
mod gcs;
mod ibmcos;
mod names;
mod pvc;
mod rendering;
mod s3;
mod swift;
mod transport;

pub use credentials::{Credentials, Data, secret_data};
#[cfg(test)]
pub(crate) use names::tests as names_for_tests;
pub use names::{OsRandom, Randomness, azure_account_name, deterministic_name, random_name};
pub use pvc::access_verdict;
pub use pvc::class as storage_class;
pub use rendering::{Rendering, env, secret_env};
pub use s3::trusted_ca as s3_trusted_ca;

use crate::api::{ConfigSpec, ManagementState, PlatformStatus, Storage};
use crate::state::references::{Names, References};
use crate::validate::{Finding, Problem};

/// Every driver the registry has, in the order the API lists them.
pub(crate) static DRIVERS: &[&dyn Driver] = &[
    &empty_dir::EmptyDir,
    &s3::S3,
    &gcs::Gcs,
    &azure::Azure,
    &swift::Swift,
    &pvc::Pvc,
    &ibmcos::IbmCos,
];

/// A block of `spec.storage` the CRD still accepts but no driver serves.
pub(crate) const RETIRED: &[&str] = &["oss"];

/// What the registry's storage is, from configuring it to removing it.
pub trait Driver: Sync {
    /// The field of `spec.storage` (`s3`, `emptyDir`).
    fn name(&self) -> &'static str;

    /// How commands spell it (`oc-registry storage set empty-dir`).
    fn command_name(&self) -> &'static str {
        self.name()
    }

    /// How the operator's messages spell it (`S3`, `EmptyDir`, `PVC`).
    fn title(&self) -> &'static str;

    /// One line for help texts.
    fn summary(&self) -> &'static str;

    fn is_set(&self, storage: &Storage) -> bool;

    /// A block holding this driver's part of `storage` and nothing else.
    fn only(&self, storage: &Storage) -> Storage;

    /// Fills what the operator fills before rendering: values from the platform and the names
    /// the registry generates. Returns whether the registry named the storage itself — storage
    /// it names is storage it manages; a user's is not.
    fn complete(&self, storage: &mut Storage, platform: &Platform<'_>, random: &mut dyn Randomness) -> bool;

    /// The registry's environment, volumes and private-configuration keys for this storage.
    fn render(&self, storage: &Storage, environment: &Environment<'_>) -> Result<Rendering, Problem>;

    /// What is wrong with this storage's configuration, given what it refers to.
    fn check(&self, _storage: &Storage, _spec: &ConfigSpec, _refs: &References) -> Vec<Finding> {
        Vec::new()
    }

    /// The objects this storage's configuration names, read before it is checked.
    fn referenced(&self, _storage: &Storage, _names: &mut Names) {}

    /// The keys of `image-registry-private-configuration-user` this driver reads, as
    /// (the short name users type, the key).
    fn credential_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// The sets of short names that make complete credentials (any one of them).
    fn credential_sets(&self) -> &'static [&'static [&'static str]] {
        &[]
    }

    /// Where images live, field by field, for status (never a credential).
    fn location(&self, storage: &Storage) -> Vec<(&'static str, String)>;

    /// What removing a registry whose Managed storage this is does to the storage.
    fn removal(&self, storage: &Storage) -> Removal;

    /// The cloud calls that create, check and remove this storage, for storage in a cloud.
    fn cloud(&self) -> Option<&'static dyn cloud::Cloud> {
        None
    }
}

/// The platform values a driver completes its block from.
pub struct Platform<'a> {
    pub infrastructure_name: &'a str,
    pub status: &'a PlatformStatus,
}

/// What rendering a driver reads besides its block.
#[derive(Clone, Copy)]
pub struct Environment<'a> {
    pub credentials: &'a Credentials,
    /// `ca-bundle.crt` of the ConfigMap S3's `trustedCA` names, when it exists.
    pub storage_ca: Option<&'a str>,
    /// `ca-bundle.pem` of `openshift-config-managed/kube-cloud-config`: the cloud's CA, which S3
    /// trusts when no `trustedCA` is named.
    pub cloud_ca: Option<&'a str>,
    /// The platform's override of the IBM COS endpoint (`serviceEndpoints[name=COS]`).
    pub cos_endpoint: Option<&'a str>,
    /// The OpenStack cloud the Infrastructure names: its entry in `clouds.yaml`.
    pub openstack_cloud: Option<&'a str>,
}

/// The URL a platform's service endpoints give `service` (`COS`, `s3`), when they override it.
pub fn service_endpoint<'s>(platform: &'s PlatformStatus, service: &str) -> Option<&'s str> {
    let lists = [
        platform.aws.as_ref().and_then(|a| a.service_endpoints.as_ref()),
        platform.ibmcloud.as_ref().and_then(|i| i.service_endpoints.as_ref()),
        platform.powervs.as_ref().and_then(|p| p.service_endpoints.as_ref()),
    ];
    lists
        .into_iter()
        .flatten()
        .flatten()
        .find(|e| e.name.as_deref() == Some(service))
        .and_then(|e| e.url.as_deref())
        .filter(|u| !u.is_empty())
}

/// The storage hook's input for the cluster `state` read, with `config` as its Config: what the
/// cluster says and, on OpenStack while the Config names no storage yet, whether the cloud
/// offers Swift, asked of its identity service.
pub async fn hook_input(
    state: &crate::state::cluster::ClusterState,
    config: Option<&crate::api::Config>,
) -> anyhow::Result<oc_registry_policy_sdk::StorageInput> {
    use anyhow::Context as _;
    let mut input = state.storage_input(config)?;
    // A storage block with anything but its management state names a driver.
    let decided = input.current.as_ref().is_some_and(|c| {
        c.storage
            .as_object()
            .is_some_and(|block| block.keys().any(|k| k != "managementState"))
    });
    if input.platform.type_ == "OpenStack" && !decided {
        let infrastructure = state.infrastructure()?.context("the Infrastructure does not exist")?;
        let cloud = state.cloud_credentials()?.as_ref().map(secret_data);
        let offered = swift::offers_object_storage(cloud, &infrastructure)
            .await
            .context("cannot tell whether the OpenStack cloud offers Swift")?;
        input.facts.swift_available = Some(offered);
    }
    Ok(input)
}

/// What removing the registry does to Managed storage, the greatest loss first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Removal {
    /// The bucket or container is deleted with every image in it (`S3 bucket NAME`).
    Cloud(String),
    /// The claim is deleted, and every image on it.
    Claim(String),
    /// The images go with the pods.
    PodLocal,
    /// Cloud storage this program cannot delete (no cloud calls for its driver yet), or that
    /// names nothing: it stays.
    LeftInPlace,
}

/// What the storage is called in messages: `S3 bucket NAME` for storage in a cloud, else
/// `storage`.
pub fn cloud_name(storage: &Storage) -> String {
    match driver_of(storage).map(|d| d.removal(storage)) {
        Some(Removal::Cloud(what)) => what,
        _ => "storage".into(),
    }
}

/// The drivers set in a block, in [`DRIVERS`] order; the retired ones are not among them.
pub fn configured(storage: &Storage) -> Vec<&'static dyn Driver> {
    DRIVERS.iter().copied().filter(|d| d.is_set(storage)).collect()
}

/// The one driver set, when exactly one is.
pub(crate) fn driver_of(storage: &Storage) -> Option<&'static dyn Driver> {
    match configured(storage).as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// The names of every block set, retired ones included, as the API spells them.
pub fn block_names(storage: &Storage) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = configured(storage).iter().map(|d| d.name()).collect();
    if storage.oss.is_some() {
        names.push(RETIRED[0]);
    }
    names
}

/// A driver by its API name.
pub fn by_name(name: &str) -> Option<&'static dyn Driver> {
    DRIVERS.iter().copied().find(|d| d.name() == name)
}

/// A driver by the name commands use.
pub fn by_command_name(name: &str) -> Option<&'static dyn Driver> {
    DRIVERS.iter().copied().find(|d| d.command_name() == name)
}

/// The drivers that read credentials from the user's Secret.
pub fn with_credentials() -> impl Iterator<Item = &'static dyn Driver> {
    DRIVERS.iter().copied().filter(|d| !d.credential_keys().is_empty())
}

/// `pvc, s3, gcs, …` as commands spell them, for help and hints.
pub fn command_names() -> Vec<&'static str> {
    DRIVERS.iter().map(|d| d.command_name()).collect()
}

/// The message for a block with several drivers, as the operator words it.
pub(crate) fn several_message(storage: &Storage) -> Option<String> {
    let set = configured(storage);
    let titles: Vec<&str> = set.iter().map(|d| d.title()).collect();
    let count = titles.len() + usize::from(storage.oss.is_some());
    (count > 1).then(|| {
        let mut titles = titles;
        if storage.oss.is_some() {
            titles.push("OSS");
        }
        format!(
            "exactly one storage type should be configured at the same time, got {count}: [{}]",
            titles.join(" ")
        )
    })
}

/// The one driver set, or why there is none: several blocks, or none the registry can run on.
/// The operator applies nothing at all for a Config in either case.
pub fn selected(storage: &Storage) -> Result<&'static dyn Driver, Problem> {
    if let Some(message) = several_message(storage) {
        return Err(Problem::new("Error", message));
    }
    // `oss` still validates in the CRD but has no driver.
    driver_of(storage).ok_or_else(|| Problem::permanent("StorageNotConfigured", "storage backend not configured"))
}

/// Renders the one driver set, or says why none can be.
pub fn render(storage: &Storage, environment: &Environment<'_>) -> Result<Rendering, Problem> {
    selected(storage)?.render(storage, environment)
}

/// Completes the one driver set and decides the storage's owner when nobody has.
pub fn complete(storage: &mut Storage, platform: &Platform<'_>, random: &mut dyn Randomness) {
    let Some(driver) = driver_of(storage) else {
        return; // reported by rendering; nothing sensible to fill
    };
    if storage.oss.is_some() {
        return;
    }
    let named = driver.complete(storage, platform, random);
    if storage.management_state.as_ref().map_or("", |s| s.as_str()).is_empty() {
        // Storage the registry names is its own. A user's bucket is decided by its cloud: adopted
        // (Unmanaged) when it exists, Managed when the registry creates it.
        if named {
            storage.management_state = Some(ManagementState::Managed);
        } else if driver.cloud().is_none() {
            storage.management_state = Some(ManagementState::Unmanaged);
        }
    }
}

/// The findings about a whole storage block.
pub fn check(storage: &Storage, spec: &ConfigSpec, refs: &References) -> Vec<Finding> {
    let mut out = Vec::new();
    let names = block_names(storage);
    if names.len() > 1 {
        let keep = configured(storage).first().map_or("pvc", |d| d.command_name());
        out.push(Finding::error(
            "spec.storage",
            format!(
                "exactly one storage type should be configured at the same time, got {}: [{}]",
                names.len(),
                names.join(" ")
            ),
            Some(format!("oc-registry storage set {keep} … (it replaces the others)")),
        ));
    }
    if storage.oss.is_some() {
        out.push(Finding::error(
            "spec.storage.oss",
            "the Alibaba OSS driver no longer exists: the registry ignores this storage",
            Some(format!("oc-registry storage set {} …", command_names().join("|"))),
        ));
    }
    for driver in configured(storage) {
        out.extend(driver.check(storage, spec, refs));
    }
    out
}

/// The objects a Config's storage names.
pub fn referenced(spec: &ConfigSpec) -> Names {
    let mut names = Names::default();
    if let Some(storage) = &spec.storage {
        for driver in configured(storage) {
            driver.referenced(storage, &mut names);
        }
    }
    names
}

/// A set, non-empty string field.
fn value(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|v| !v.is_empty())
}

/// Sets an empty field from `value`; whether it did.
fn fill(field: &mut Option<String>, value: impl FnOnce() -> Option<String>) -> bool {
    if field.as_deref().unwrap_or_default().is_empty()
        && let Some(v) = value().filter(|v| !v.is_empty())
    {
        *field = Some(v);
        return true;
    }
    false
}

/// Location fields that are set, in order.
fn location(fields: &[(&'static str, Option<String>)]) -> Vec<(&'static str, String)> {
    fields
        .iter()
        .filter_map(|(k, v)| Some((*k, v.clone().filter(|v| !v.is_empty())?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::sdk::STORAGE_DRIVERS;

    #[test]
    fn the_policy_sdk_lists_the_same_drivers() {
        let mut ours: Vec<&str> = DRIVERS.iter().map(|d| d.name()).collect();
        ours.extend(RETIRED);
        let mut sdk = STORAGE_DRIVERS.to_vec();
        ours.sort();
        sdk.sort();
        assert_eq!(ours, sdk);
    }

    #[test]
    fn each_driver_is_recognised_by_its_own_block_only() {
        for driver in DRIVERS {
            let storage: Storage = serde_json::from_value(serde_json::json!({ driver.name(): {} })).unwrap();
            assert_eq!(driver_of(&storage).map(|d| d.name()), Some(driver.name()));
            assert_eq!(
                by_command_name(driver.command_name()).map(|d| d.name()),
                Some(driver.name())
            );
        }
    }

    #[test]
    fn several_drivers_are_named_as_the_operator_names_them() {
        let storage: Storage = serde_json::from_value(serde_json::json!({"emptyDir": {}, "pvc": {}})).unwrap();
        assert_eq!(
            several_message(&storage).unwrap(),
            "exactly one storage type should be configured at the same time, got 2: [EmptyDir PVC]"
        );
        assert!(
            render(
                &storage,
                &Environment {
                    credentials: &Credentials::default(),
                    storage_ca: None,
                    cloud_ca: None,
                    cos_endpoint: None,
                    openstack_cloud: None,
                }
            )
            .is_err()
        );
        let one: Storage = serde_json::from_value(serde_json::json!({"oss": {}})).unwrap();
        assert_eq!(several_message(&one), None);
        assert_eq!(block_names(&one), ["oss"]);
    }
}
