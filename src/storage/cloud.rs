//! Storage in a cloud: whether the bucket exists, creating and configuring it, and removing it with
//! what it holds, through the cloud's own API. Drivers whose storage lives in a cloud return a
//! [`Cloud`] from [`super::Driver::cloud`]; the rest of the program sees only these types.

use super::Credentials;
use crate::api::{Infrastructure, Storage};
use futures::future::BoxFuture;
use serde::Serialize;
use std::fmt;

/// What the cloud calls read besides the storage block.
#[derive(Clone, Copy)]
pub struct CloudContext<'a> {
    pub infrastructure: &'a Infrastructure,
    pub credentials: &'a Credentials,
    /// The bundle the storage's own `trustedCA` names: the only roots trusted for its endpoint.
    pub trusted_ca: Option<&'a str>,
    /// The cloud provider's bundle (`openshift-config-managed/kube-cloud-config`), trusted besides
    /// the system roots.
    pub cloud_ca: Option<&'a str>,
    /// The cluster proxy for HTTPS, and the hosts it does not apply to.
    pub https_proxy: Option<&'a str>,
    pub no_proxy: Option<&'a str>,
    /// How the storage policy wants the bucket set up (checked before it gets here).
    pub provisioning: &'a Provisioning,
}

impl CloudContext<'_> {
    /// The cluster's infrastructure name, which the operator's storage names and tags carry.
    pub fn infrastructure_name(&self) -> &str {
        self.infrastructure
            .status
            .as_ref()
            .and_then(|s| s.infrastructure_name.as_deref())
            .unwrap_or_default()
    }

    /// The OpenStack cloud the Infrastructure names: its entry in `clouds.yaml`.
    pub fn cloud_name(&self) -> Option<&str> {
        let platform = self.infrastructure.status.as_ref()?.platform_status.as_ref()?;
        platform.openstack.as_ref()?.cloud_name.as_deref()
    }

    /// The URL the Infrastructure's service endpoints give `service`, when they override it.
    pub fn service_endpoint(&self, service: &str) -> Option<&str> {
        let platform = self.infrastructure.status.as_ref()?.platform_status.as_ref()?;
        super::service_endpoint(platform, service)
    }
}

pub use oc_registry_policy_sdk::Provisioning;

/// The operator's set-up, for calls that create nothing (inspecting, removing).
pub fn default_provisioning() -> &'static Provisioning {
    static DEFAULT: std::sync::LazyLock<Provisioning> = std::sync::LazyLock::new(Provisioning::default);
    &DEFAULT
}

/// Whether calls change anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Apply,
    /// Only reads: what would be created is reported, nothing is.
    DryRun,
}

/// One of the operator's storage conditions (`StorageExists`, `StorageEncrypted`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StorageCondition {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub ok: bool,
    pub reason: String,
    pub message: String,
}

impl StorageCondition {
    /// The condition a step sets: True with `reason` and `message` when it succeeded, else False
    /// with the cloud's code and message.
    pub fn of(
        type_: &'static str,
        result: Result<(), CloudError>,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        match result {
            Ok(()) => StorageCondition::new(type_, true, reason, message),
            Err(err) => StorageCondition::new(type_, false, err.code, err.message),
        }
    }

    pub fn new(type_: &'static str, ok: bool, reason: impl Into<String>, message: impl Into<String>) -> Self {
        StorageCondition {
            type_,
            ok,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// What ensuring the storage found and did.
#[derive(Clone, Debug, Default)]
pub struct Ensured {
    pub conditions: Vec<StorageCondition>,
    /// The block after the calls: its management state decided (Managed when created here,
    /// Unmanaged when it existed), `encrypt` set once default encryption is on.
    pub storage: Storage,
    /// What was created (`S3 bucket NAME`), or in a dry run would be.
    pub created: Option<String>,
    /// Whether the storage exists (or, in a dry run, would).
    pub exists: bool,
    /// Keys the cloud issued for the registry, for its private configuration (IBM COS's HMAC
    /// resource key).
    pub issued: Option<super::Data>,
}

impl Ensured {
    /// Nothing found or done yet about `storage`.
    pub fn of(storage: &Storage) -> Ensured {
        Ensured {
            storage: storage.clone(),
            ..Ensured::default()
        }
    }

    /// Records that the storage does not exist and will not this pass: it cannot be addressed or
    /// reached, and `err` says why.
    pub fn cannot_exist(&mut self, err: CloudError) {
        self.conditions
            .push(StorageCondition::new("StorageExists", false, err.code, err.message));
    }
}

/// Who created the storage, as far as the cloud tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Creator {
    /// This program (its own tag).
    ThisProgram,
    /// The Image Registry Operator (the cluster's ownership tag without this program's).
    Operator,
    /// Neither: the user's, adopted.
    Other,
}

/// What the cloud says about the storage now.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    pub exists: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<Creator>,
    /// How many objects it holds, counted up to [`COUNT_LIMIT`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<u64>,
    /// When a removal began and did not finish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removal_started: Option<String>,
}

impl Inspection {
    /// Storage that does not exist.
    pub fn absent() -> Inspection {
        Inspection {
            exists: false,
            creator: None,
            objects: None,
            removal_started: None,
        }
    }
}

/// Objects are counted up to this many: enough to say what a deletion loses.
pub const COUNT_LIMIT: u64 = 100_000;

impl Inspection {
    /// "its 12 objects", "more than 100000 objects", "no objects".
    pub fn contents(&self) -> String {
        match self.objects {
            Some(0) => "no objects".into(),
            Some(1) => "its 1 object".into(),
            Some(n) if n >= COUNT_LIMIT => format!("more than {COUNT_LIMIT} objects"),
            Some(n) => format!("its {n} objects"),
            None => "its objects".into(),
        }
    }
}

/// A failed cloud call: the cloud's error code and a message naming the storage and the fix.
/// Never carries a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudError {
    pub code: String,
    pub message: String,
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CloudError {}

/// What was removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Objects deleted on the way.
    pub objects: u64,
    /// Whether this pass finished a removal an earlier one began.
    pub resumed: bool,
}

/// Implements [`Cloud`] for a type whose `ensure`, `inspect` and `remove` are its own async
/// functions of those names: they are boxed, so that drivers can hand out `&dyn Cloud`.
macro_rules! cloud_of_async_fns {
    ($type:ty, $ensure:ident, $inspect:ident, $remove:ident) => {
        impl $crate::storage::cloud::Cloud for $type {
            fn ensure<'a>(
                &'a self,
                storage: &'a $crate::api::Storage,
                cx: $crate::storage::cloud::CloudContext<'a>,
                mode: $crate::storage::cloud::Mode,
            ) -> futures::future::BoxFuture<'a, $crate::storage::cloud::Ensured> {
                Box::pin(self.$ensure(storage, cx, mode))
            }

            fn inspect<'a>(
                &'a self,
                storage: &'a $crate::api::Storage,
                cx: $crate::storage::cloud::CloudContext<'a>,
            ) -> futures::future::BoxFuture<
                'a,
                Result<$crate::storage::cloud::Inspection, $crate::storage::cloud::CloudError>,
            > {
                Box::pin(self.$inspect(storage, cx))
            }

            fn remove<'a>(
                &'a self,
                storage: &'a $crate::api::Storage,
                cx: $crate::storage::cloud::CloudContext<'a>,
            ) -> futures::future::BoxFuture<
                'a,
                Result<$crate::storage::cloud::Removed, $crate::storage::cloud::CloudError>,
            > {
                Box::pin(self.$remove(storage, cx))
            }
        }
    };
}
pub(super) use cloud_of_async_fns;

/// A cloud's storage calls for one driver.
pub trait Cloud: Sync {
    /// Makes the storage exist as configured: adopts it when it exists, creates it when not, and
    /// (when Managed) configures it. A failed optional step sets its condition and nothing else.
    fn ensure<'a>(&'a self, storage: &'a Storage, cx: CloudContext<'a>, mode: Mode) -> BoxFuture<'a, Ensured>;

    /// Whether the storage exists, who made it, how much it holds.
    fn inspect<'a>(
        &'a self,
        storage: &'a Storage,
        cx: CloudContext<'a>,
    ) -> BoxFuture<'a, Result<Inspection, CloudError>>;

    /// Deletes everything in the storage, then the storage. Idempotent: an interrupted removal
    /// finishes on the next call.
    fn remove<'a>(&'a self, storage: &'a Storage, cx: CloudContext<'a>) -> BoxFuture<'a, Result<Removed, CloudError>>;
}

/// A bucket or container, as the life cycle shared by every cloud sees it.
pub(super) trait Store {
    /// How messages name it (`S3 bucket`, `Azure container`).
    fn noun(&self) -> &str;
    fn name(&self) -> &str;
    /// The storage driver, for the commands a message suggests.
    fn driver(&self) -> &str;
    /// The flag of `storage set DRIVER` that names it.
    fn name_flag(&self) -> &str;
    async fn exists(&self) -> Result<bool, CloudError>;
    async fn create(&self) -> Result<(), CloudError>;
}

/// Addresses the store and makes it exist ([`ensure_exists`]); one that cannot be addressed (no
/// name, unusable credentials) is `StorageExists` False. With the outcome, the store and whether
/// it was created here, when it exists, for the steps that configure it.
pub(super) async fn ensure_store<S: Store>(
    store: Result<S, CloudError>,
    storage: &Storage,
    cx: &CloudContext<'_>,
    mode: Mode,
) -> (Ensured, Option<(S, bool)>) {
    let mut out = Ensured::of(storage);
    let store = match store {
        Ok(store) => store,
        Err(err) => {
            out.cannot_exist(err);
            return (out, None);
        }
    };
    let created = ensure_exists(&store, storage, cx.provisioning.adopt_existing, mode, &mut out).await;
    (out, created.map(|created_here| (store, created_here)))
}

/// Whether the storage's owner is still to be decided.
fn undecided(storage: &Storage) -> bool {
    storage.management_state.as_ref().is_none_or(|s| s.as_str().is_empty())
}

/// Makes the store exist as the operator does: an existing one is adopted (Unmanaged, unless the
/// policy forbids adopting), a missing one created (Managed) unless the storage is Unmanaged.
/// Records the outcome in `out`; returns whether it was created here, or `None` when it does not
/// exist and will not (the condition says why).
pub(super) async fn ensure_exists(
    store: &impl Store,
    storage: &Storage,
    adopt_existing: bool,
    mode: Mode,
    out: &mut Ensured,
) -> Option<bool> {
    use crate::api::ManagementState;
    let fail = |out: &mut Ensured, code: String, message: String| {
        out.cannot_exist(CloudError { code, message });
        None
    };
    let creatable = mode == Mode::Apply && storage.management_state != Some(ManagementState::Unmanaged);
    let exists = match store.exists().await {
        Ok(exists) => exists,
        // As the operator: a store these credentials may not look at is tried as a new one, whose
        // refusal says why (the name is another account's, or the key is wrong).
        Err(err) if err.code == "Forbidden" && creatable => false,
        Err(err) => return fail(out, err.code, err.message),
    };
    let (noun, name, driver, flag) = (store.noun(), store.name(), store.driver(), store.name_flag());
    let mut created_here = false;
    if exists {
        if undecided(storage) && !adopt_existing {
            return fail(
                out,
                "AdoptionForbidden".into(),
                format!(
                    "{noun} {name} exists already and the storage policy forbids adopting an existing one: \
                     name another with oc-registry storage set {driver} {flag} NAME"
                ),
            );
        }
        if undecided(storage) {
            out.storage.management_state = Some(ManagementState::Unmanaged);
        }
    } else if storage.management_state == Some(ManagementState::Unmanaged) {
        return fail(
            out,
            "NoSuchBucket".into(),
            format!(
                "{noun} {name} does not exist, and Unmanaged storage is never created here: create it, or let \
                 reconcile create it with oc-registry set storage-management-state Managed"
            ),
        );
    } else {
        if mode == Mode::Apply
            && let Err(err) = store.create().await
        {
            return fail(out, err.code, err.message);
        }
        out.created = Some(format!("{noun} {name}"));
        created_here = true;
    }
    if created_here && undecided(storage) {
        out.storage.management_state = Some(ManagementState::Managed);
    }
    out.exists = true;
    out.conditions.push(StorageCondition::new(
        "StorageExists",
        true,
        exists_reason(noun),
        format!("{noun} exists"),
    ));
    Some(created_here)
}

/// The reason of a True `StorageExists`, as the operator words it: `S3 Bucket Exists`.
fn exists_reason(noun: &str) -> String {
    let words: Vec<String> = noun
        .split(' ')
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        })
        .collect();
    format!("{} Exists", words.join(" "))
}
