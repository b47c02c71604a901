//! `storage set pvc --size/--storage-class/--access-mode`: the claim is created before the Config
//! names it (so that no reconcile in between creates the default one instead), checked first
//! against the cluster's storage classes, and marked as the registry's, so that removing the
//! registry with its storage Managed deletes it.

use super::drivers::PvcArgs;
use crate::api::{CLUSTER, Config, DEFAULT_CLAIM, REGISTRY_NAMESPACE};
use crate::cluster::DryRun;
use crate::commands::{Session, dry_run_suffix, invalid, naming};
use crate::configure::write;
use crate::policy::sdk::{PvcFacts, PvcRequest};
use crate::storage::storage_class::{self, Wanted};
use anyhow::Result;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;

/// The size and access mode of a claim made without them, as the operator makes its own.
const DEFAULT_SIZE: &str = "100Gi";
const DEFAULT_ACCESS_MODE: &str = "ReadWriteMany";

/// A claim this command created (not one that existed), to be deleted again when the Config
/// cannot be changed to use it.
pub struct Created {
    pub name: String,
    access_mode: String,
    api: Api<PersistentVolumeClaim>,
    mode: Option<DryRun>,
}

impl Created {
    /// The claim as the Config's checks see it.
    pub fn facts(&self) -> PvcFacts {
        PvcFacts {
            name: self.name.clone(),
            access_modes: vec![self.access_mode.clone()],
            owned_by_registry: true,
        }
    }

    /// Deletes the claim again (nothing in a dry run).
    pub async fn undo(self, session: &Session) -> Result<()> {
        if self.mode.is_some() {
            return Ok(());
        }
        self.api
            .delete(&self.name, &Default::default())
            .await
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!(session.describe(&e)))
    }
}

/// Whether the command asks for a claim to be made.
pub fn wanted(args: &PvcArgs) -> bool {
    args.size.is_some() || args.storage_class.is_some() || args.access_mode.is_some()
}

/// Makes the claim `args` asks for, checked; `None` when one just like it exists already.
pub async fn create(session: &Session, args: &PvcArgs, mode: Option<DryRun>, quiet: bool) -> Result<Option<Created>> {
    let name = args.claim.clone().unwrap_or_else(|| DEFAULT_CLAIM.to_string());
    let size = args.size.clone().unwrap_or_else(|| DEFAULT_SIZE.to_string());
    crate::validate::quantity(&size).map_err(|e| invalid(format!("--size: {e}")))?;
    let access_mode = args.access_mode.map_or(DEFAULT_ACCESS_MODE, |m| m.as_str());
    let describe = |e: kube::Error| anyhow::anyhow!(session.describe(&e));
    let config = Api::<Config>::all(session.client.clone())
        .get_opt(CLUSTER)
        .await
        .map_err(describe)?
        .ok_or_else(|| {
            invalid(format!(
                "the registry Config does not exist: run `{} bootstrap` first",
                naming::name()
            ))
        })?;
    let classes = Api::<StorageClass>::all(session.client.clone())
        .list(&Default::default())
        .await
        .map_err(describe)?
        .items;
    let wanted = Wanted {
        class: args.storage_class.as_deref(),
        access_mode,
        replicas: config.spec.replicas,
        strategy: config.spec.rollout_strategy.as_ref(),
    };
    storage_class::check(&wanted, &classes, naming::name()).map_err(invalid)?;
    let request = PvcRequest {
        name: name.clone(),
        access_modes: vec![access_mode.to_string()],
        size,
        storage_class_name: args.storage_class.clone(),
    };
    let api = Api::<PersistentVolumeClaim>::namespaced(session.client.clone(), REGISTRY_NAMESPACE);
    if let Some(existing) = api.get_opt(&name).await.map_err(describe)? {
        return match differences(&existing, &request) {
            None => Ok(None),
            Some(differs) => Err(invalid(format!(
                "--claim: persistentvolumeclaim/{name} exists with {differs}: name another claim with --claim, \
                 or leave out --size, --storage-class and --access-mode to use it as it is"
            ))),
        };
    }
    let mut claim = crate::reconcile::bootstrap::claim(&request).object;
    claim["apiVersion"] = "v1".into();
    claim["kind"] = "PersistentVolumeClaim".into();
    claim["metadata"]["name"] = name.clone().into();
    claim["metadata"]["namespace"] = REGISTRY_NAMESPACE.into();
    let claim: PersistentVolumeClaim = serde_json::from_value(claim)?;
    write::create(&api, &claim, mode).await.map_err(describe)?;
    if !quiet {
        println!("persistentvolumeclaim/{name} created{}", dry_run_suffix(mode));
    }
    Ok(Some(Created {
        name,
        access_mode: access_mode.to_string(),
        api,
        mode,
    }))
}

/// How an existing claim differs from the one asked for, in words; `None` when it does not.
fn differences(existing: &PersistentVolumeClaim, request: &PvcRequest) -> Option<String> {
    let spec = existing.spec.clone().unwrap_or_default();
    let size = spec
        .resources
        .and_then(|r| r.requests?.get("storage").map(|q| q.0.clone()))
        .unwrap_or_default();
    let modes = spec.access_modes.unwrap_or_default();
    let class = spec.storage_class_name;
    let same = size == request.size
        && modes == request.access_modes
        && (request.storage_class_name.is_none() || class == request.storage_class_name);
    (!same).then(|| {
        format!(
            "{size} {} (class {})",
            modes.join(","),
            class.as_deref().unwrap_or("the default")
        )
    })
}
