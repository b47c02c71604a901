//! Rendering without a cluster: the objects a cluster would hold (the Config, Infrastructure and
//! whatever else is at hand) read from files, completed and rendered exactly as `reconcile` would.

use super::complete::complete;
use super::plan;
use crate::api::ManagementState;
use crate::api::{CLUSTER, Infrastructure, InfrastructureSpec, Storage};
use crate::policy::Policies;
use crate::render::inputs::{Images, Inputs};
use crate::render::{Desired, Problem};
use crate::state::facts::{StorageSources, claim_name};
use crate::state::snapshot::{Snapshot, config_among};
use crate::storage::OsRandom;
use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Objects as read from files: a YAML stream or JSON, single objects or `List`s.
pub fn parse_objects(text: &str) -> Result<Vec<Value>> {
    let docs: Vec<Value> = match serde_json::from_str::<Value>(text) {
        Ok(v) => vec![v],
        Err(_) => serde_saphyr::from_str_multiple(text).context("not valid YAML or JSON")?,
    };
    let mut out = Vec::new();
    for doc in docs.into_iter().filter(|d| !d.is_null()) {
        match doc.get("items").and_then(Value::as_array) {
            Some(items)
                if doc
                    .get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.ends_with("List")) =>
            {
                out.extend(items.iter().cloned())
            }
            _ => out.push(doc),
        }
    }
    Ok(out)
}

/// The rendered registry and what kept parts of it from rendering.
pub struct Offline {
    pub objects: Vec<Desired>,
    pub problems: Vec<Problem>,
}

pub fn render_offline(objects: &[Value], policies: &Policies, images: Images) -> Result<Offline> {
    let Some(mut config) = config_among(objects)? else {
        bail!("no configs.imageregistry.operator.openshift.io/cluster among the objects given: add it with -f");
    };
    let needs_storage = config
        .spec
        .storage
        .as_ref()
        .is_none_or(|s| crate::storage::block_names(s).is_empty());
    let mut names = crate::render::inputs::referenced(&config.spec);
    if needs_storage {
        // The storage hook is told about the claim the registry would create.
        names.claim = Some(claim_name(Some(&config)));
    }
    let snapshot = Snapshot::from_objects(objects, &names)?;
    let infrastructure = snapshot
        .infrastructure
        .clone()
        .unwrap_or_else(|| Infrastructure::new(CLUSTER, InfrastructureSpec::default()));
    let platform_storage = if needs_storage {
        let input = StorageSources {
            infrastructure: &infrastructure,
            config: Some(&config),
            claim: snapshot.claim.as_ref(),
            user_credentials: snapshot.user_credentials.as_ref(),
            cloud_credentials: snapshot.cloud_credentials.as_ref(),
            storage_classes: &[],
        }
        .input()
        .context(
            "the storage is not set and no Infrastructure with status.platformStatus.type was given to decide it",
        )?;
        let decided = policies.storage(&input)?;
        Some(serde_json::from_value::<Storage>(decided.decision.storage)?)
    } else {
        None
    };
    complete(&mut config, &infrastructure, platform_storage.as_ref(), &mut OsRandom)?;
    let inputs = Inputs::from_snapshot(config.clone(), &snapshot, images);

    let mut out = Offline {
        objects: Vec::new(),
        problems: Vec::new(),
    };
    if config.spec.management_state == Some(ManagementState::Managed) {
        let plan = plan::managed(&inputs, &snapshot, policies);
        out.objects = plan.objects;
        out.problems = plan.problems;
        out.problems.extend(plan.pruner_error.map(|e| Problem::new("Error", e)));
    } else {
        // Only what a Removed or Unmanaged registry keeps: the pruner and the trust objects.
        match plan::pruner(&inputs, &snapshot, policies, None).1 {
            Ok(objects) => out.objects = objects,
            Err(e) => out.problems.push(Problem::new("Error", e)),
        }
        let kept = plan::kept_trust(&inputs);
        out.objects.extend(kept.objects);
        out.problems.extend(kept.problems);
    }
    Ok(out)
}
