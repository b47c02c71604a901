//! Read-modify-write with a precondition: a JSON merge patch carrying the resourceVersion that
//! was read, retried on a fresh read when the server answers 409 Conflict.

use crate::cluster::{DryRun, FIELD_MANAGER};
use crate::cluster::{is_conflict, retry};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt::Debug;

/// Attempts before a write that keeps meeting concurrent edits gives up.
pub const ATTEMPTS: usize = 5;

/// What a change decided after looking at the object.
pub enum Change {
    /// A merge patch (without the precondition, which is added).
    Patch(Value),
    /// Nothing to do.
    Unchanged,
}

/// Creates `object` as this program's field manager; a client dry run sends nothing, a server
/// dry run has the server check it without storing it. Returns the object as created (as sent,
/// in a client dry run).
pub async fn create<K>(api: &Api<K>, object: &K, dry_run: Option<DryRun>) -> Result<K, kube::Error>
where
    K: kube::Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    if dry_run == Some(DryRun::Client) {
        return Ok(object.clone());
    }
    let params = PostParams {
        dry_run: dry_run == Some(DryRun::Server),
        field_manager: Some(FIELD_MANAGER.into()),
    };
    retry(|| api.create(&params, object)).await
}

/// What a patch left: whether it changed anything, and the object as it now is (as the server
/// stored it, or checked it in a server dry run; as the patch would leave it in a client dry run).
pub struct Written<K> {
    pub changed: bool,
    pub object: K,
}

/// Reads `name`, asks `change` what to patch, and patches with the read resourceVersion as a
/// precondition; on a conflict, reads again and asks again. `change` may itself read the cluster
/// (to check what the new value refers to).
pub async fn patch_with_precondition<K, F, E>(
    api: &Api<K>,
    name: &str,
    dry_run: Option<DryRun>,
    mut change: F,
) -> Result<Written<K>, E>
where
    K: kube::Resource + Clone + DeserializeOwned + Serialize + Debug,
    F: AsyncFnMut(&K) -> Result<Change, E>,
    E: From<kube::Error>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = retry(|| api.get(name)).await?;
        let mut patch = match change(&current).await? {
            Change::Unchanged => {
                return Ok(Written {
                    changed: false,
                    object: current,
                });
            }
            Change::Patch(p) => p,
        };
        if dry_run == Some(DryRun::Client) {
            let mut object = serde_json::to_value(&current).map_err(kube::Error::SerdeError)?;
            json_patch::merge(&mut object, &patch);
            let object = serde_json::from_value(object).map_err(kube::Error::SerdeError)?;
            return Ok(Written { changed: true, object });
        }
        patch["metadata"]["resourceVersion"] = json!(current.meta().resource_version);
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            dry_run: dry_run == Some(DryRun::Server),
            ..PatchParams::default()
        };
        let body = Patch::Merge(&patch);
        match retry(|| api.patch(name, &params, &body)).await {
            Ok(object) => return Ok(Written { changed: true, object }),
            Err(e) if is_conflict(&e) && attempt < ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
