//! Removing the registry: every object it owns, and its storage only when that storage is
//! Managed and the deletion was confirmed.

use super::apply::{Applied, Applier, Outcome};
use crate::api::{Config, ManagementState, PRIVATE_CONFIGURATION, REGISTRY_NAMESPACE, Storage};
use crate::render::Kind;
use crate::state::cluster::ClusterState;
use crate::state::references::created_by_registry;
use crate::storage::Removal;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde::Serialize;

/// The objects a Managed registry owns, deleted when it is Removed (Routes are found by their
/// owner annotation). The Deployment goes first so that no pod writes while the rest goes.
pub(crate) const OWNED: &[(Kind, &str)] = &[
    (Kind::Deployment, "image-registry"),
    (Kind::ClusterRole, "system:registry"),
    (Kind::ClusterRoleBinding, "registry-registry-role"),
    (Kind::ServiceAccount, "registry"),
    (Kind::Secret, "installation-pull-secrets"),
    (Kind::Secret, PRIVATE_CONFIGURATION),
    (Kind::Service, "image-registry"),
    (Kind::PodDisruptionBudget, "image-registry"),
    (Kind::NetworkPolicy, "image-registry-networkpolicy"),
];

/// Data that removing the registry destroys.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageLoss {
    /// `pvc`, `emptyDir`, …
    pub driver: String,
    /// What is lost, for the confirmation prompt.
    pub description: String,
    /// The claim to delete, when the storage is a claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// The bucket or container to delete through its cloud (`S3 bucket NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<String>,
}

/// The storage a Removed registry would act on: what its storage last applied names (the Config's
/// status), since that is what exists; `status.storage` is cleared once it is gone.
fn applied_storage(config: &Config) -> Option<(Storage, &'static dyn crate::storage::Driver, Removal)> {
    if config.spec.storage.as_ref().and_then(|s| s.management_state.as_ref()) != Some(&ManagementState::Managed) {
        return None;
    }
    let storage: Storage = config.status.as_ref().map(|s| s.storage.clone()).unwrap_or_default();
    // The most that is lost decides (a block should hold one driver, but the status may not).
    let (driver, removal) = crate::storage::configured(&storage)
        .into_iter()
        .map(|d| (d, d.removal(&storage)))
        .min_by_key(|(_, removal)| removal.clone())?;
    Some((storage, driver, removal))
}

/// The claim a Removed registry would delete, when its storage is a Managed claim.
pub fn claim_to_remove(config: &Config) -> Option<String> {
    match applied_storage(config)? {
        (_, _, Removal::Claim(name)) => Some(name),
        _ => None,
    }
}

/// Reads the claim a Removed registry would delete, so that its creator can be told.
pub async fn read_claim(client: &kube::Client, config: &Config) -> Result<Option<PersistentVolumeClaim>, kube::Error> {
    // A name that is not an object name names no claim, and never reaches a request path.
    let Some(name) = claim_to_remove(config).filter(|n| crate::validate::object_name(n).is_ok()) else {
        return Ok(None);
    };
    let claims = kube::Api::<PersistentVolumeClaim>::namespaced(client.clone(), REGISTRY_NAMESPACE);
    crate::cluster::retry(|| claims.get_opt(&name)).await
}

/// The claim a Removed registry would delete, as `state` holds it.
pub fn claim_in(state: &ClusterState, config: &Config) -> anyhow::Result<Option<PersistentVolumeClaim>> {
    match claim_to_remove(config).filter(|n| crate::validate::object_name(n).is_ok()) {
        Some(name) => state.claim(&name),
        None => Ok(None),
    }
}

/// What happens to storage when the registry is removed: `Ok(None)` nothing is lost,
/// `Ok(Some(loss))` data is destroyed (needs confirmation), and `Err(note)` storage this program
/// leaves in place. `claim` is the live claim [`claim_to_remove`] names: only a claim the
/// registry created (it carries the registry's annotation) is ever deleted.
pub fn storage_loss(config: &Config, claim: Option<&PersistentVolumeClaim>) -> Result<Option<StorageLoss>, String> {
    let Some((_, driver, removal)) = applied_storage(config) else {
        return Ok(None);
    };
    let driver_name = driver.name().to_string();
    match removal {
        Removal::Claim(name) => match claim {
            None => Ok(None),
            Some(c) if !created_by_registry(c) => Err(format!(
                "PersistentVolumeClaim {REGISTRY_NAMESPACE}/{name} was not created by the registry: it is left in \
                 place with its images"
            )),
            Some(_) => Ok(Some(StorageLoss {
                driver: driver_name,
                description: format!(
                    "PersistentVolumeClaim {REGISTRY_NAMESPACE}/{name} and every image stored on it will be deleted"
                ),
                claim: Some(name),
                cloud: None,
            })),
        },
        Removal::Cloud(what) => Ok(Some(StorageLoss {
            driver: driver_name,
            description: format!("the {what} and every image in it will be deleted"),
            claim: None,
            cloud: Some(what),
        })),
        Removal::PodLocal => Ok(Some(StorageLoss {
            driver: driver_name,
            description: "every image in the registry's emptyDir storage is lost when its pods are deleted".into(),
            claim: None,
            cloud: None,
        })),
        Removal::LeftInPlace => Err(format!(
            "the Managed {driver_name} storage is left in place: deleting cloud storage needs the cloud's API; \
             delete it with the cloud provider's tools if it is no longer wanted"
        )),
    }
}

/// Deletes every owned object and the stale routes, the Deployment first, as `state` read them.
/// Returns each result.
pub(crate) async fn remove_objects(applier: &Applier, state: &ClusterState, routes: &[String]) -> Vec<Applied> {
    let mut results = Vec::new();
    let first = OWNED[0];
    results.push(applier.delete_reported(state, first.0, first.1).await);
    let rest = OWNED[1..]
        .iter()
        .map(|(k, n)| (*k, n.to_string()))
        .chain(routes.iter().map(|r| (Kind::Route, r.clone())));
    let deletions = rest.map(|(kind, name)| async move { applier.delete_reported(state, kind, &name).await });
    results.extend(futures::future::join_all(deletions).await);
    results
}

/// Deletes the storage a confirmed loss names.
pub(crate) async fn remove_storage(applier: &Applier, state: &ClusterState, loss: &StorageLoss) -> Option<Applied> {
    let claim = loss.claim.as_deref()?;
    Some(applier.delete_reported(state, Kind::PersistentVolumeClaim, claim).await)
}

/// The names of Routes (already known to be owned).
pub(crate) fn route_names(routes: &[crate::api::Route]) -> Vec<String> {
    routes.iter().filter_map(|r| r.metadata.name.clone()).collect()
}

/// Whether every result is a deletion (sent now, or under way since an earlier pass) or an
/// absence.
pub fn complete(results: &[Applied]) -> bool {
    results.iter().all(|r| {
        matches!(
            r.outcome,
            Some(Outcome::Deleted | Outcome::Deleting | Outcome::NotFound)
        )
    })
}
