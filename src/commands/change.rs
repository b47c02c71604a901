//! Running one change to the registry Config or the ImagePruner and reporting it: what changed
//! (secrets masked), the warnings it raises, and who applies it.

use super::reconcile::DryRunFlag;
use super::{Failure, Session, dry_run_suffix};
use crate::cluster::DryRun;
use crate::commands::Context;
use crate::configure::edit::{EditError, EditResult, Edited, Editor};
use crate::reconcile::leader::LEASE_NAME;
use anyhow::Result;
use clap::Args;
use k8s_openapi::api::coordination::v1::Lease;
use serde_json::Value;
use std::process::ExitCode;

pub const CONFIG_REF: &str = "config.imageregistry.operator.openshift.io/cluster";
pub const PRUNER_REF: &str = "imagepruner.imageregistry.operator.openshift.io/cluster";

/// `--dry-run` for a command that changes one object.
#[derive(Debug, Clone, Args)]
pub struct DryRunArg {
    /// Show the change without making it ("client"), or have the server check it too ("server")
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<DryRunFlag>,
}

impl DryRunArg {
    pub fn mode(&self) -> Option<DryRun> {
        self.dry_run.and_then(DryRunFlag::mode)
    }
}

#[derive(Clone, Copy)]
pub enum Target {
    Config,
    Pruner,
}

impl Target {
    /// The object as kubectl names it in its output.
    fn reference(self) -> &'static str {
        match self {
            Target::Config => CONFIG_REF,
            Target::Pruner => PRUNER_REF,
        }
    }
}

/// Connects, makes the change, and prints it.
pub async fn run(
    cx: &Context,
    target: Target,
    dry_run: &DryRunArg,
    edit: impl FnMut(&mut Value) -> EditResult,
) -> Result<ExitCode> {
    let session = cx.session().await?;
    let edited = apply(cx, session, target, dry_run.mode(), edit).await?;
    report(session, target, dry_run.mode(), &edited).await;
    Ok(ExitCode::SUCCESS)
}

/// Makes the change; errors are phrased for the user (exit 1).
pub async fn apply(
    cx: &Context,
    session: &Session,
    target: Target,
    mode: Option<DryRun>,
    edit: impl FnMut(&mut Value) -> EditResult,
) -> Result<Edited> {
    let policies = cx.policies().await?;
    let editor = Editor {
        client: &session.client,
        policies,
        dry_run: mode,
    };
    let result = match target {
        Target::Config => editor.config(edit).await,
        Target::Pruner => editor.pruner(edit).await,
    };
    result.map_err(|e| describe(session, target, e))
}

fn describe(session: &Session, target: Target, e: EditError) -> anyhow::Error {
    let message = match e {
        EditError::Kube(kube::Error::Api(s)) if s.code == 404 => {
            format!(
                "{} does not exist: create it with `oc-registry bootstrap`",
                target.reference()
            )
        }
        EditError::Kube(e) => return anyhow::anyhow!(session.describe(&e)),
        other => format!("{other}"),
    };
    Failure { message, code: 1 }.into()
}

/// Prints what changed, the warnings, and how the change takes effect.
pub async fn report(session: &Session, target: Target, mode: Option<DryRun>, edited: &Edited) {
    let reference = target.reference();
    if !edited.changed() {
        println!("{reference} patched (no change)");
        return;
    }
    println!("{reference} patched{}", dry_run_suffix(mode));
    for change in &edited.changes {
        println!("  {}", change.describe());
    }
    for warning in &edited.warnings {
        eprintln!("Warning: {warning}");
    }
    if mode.is_none() {
        println!("{}", who_applies(session).await);
    }
}

/// Whether a `reconcile --watch` holds the lease (and so applies the change), or the user must.
async fn who_applies(session: &Session) -> String {
    let leases = kube::Api::<Lease>::namespaced(session.client.clone(), crate::api::REGISTRY_NAMESPACE);
    let holder = match leases.get_opt(LEASE_NAME).await {
        Ok(Some(lease)) => lease.spec.and_then(|s| {
            let renewed = s.renew_time?.0;
            let valid_for = jiff::SignedDuration::from_secs(i64::from(s.lease_duration_seconds.unwrap_or(15)));
            let held = jiff::Timestamp::now().duration_since(renewed) <= valid_for;
            s.holder_identity.filter(|h| held && !h.is_empty())
        }),
        _ => None,
    };
    match holder {
        Some(h) => format!("The running reconciler ({h}) applies it."),
        None => "Run `oc-registry reconcile` to apply it.".into(),
    }
}

/// Sets the field at `path` (creating the objects on the way), or removes it for `None`.
pub fn put(object: &mut Value, path: &[&str], value: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = object;
    for p in parents {
        if !at.get(*p).is_some_and(Value::is_object) {
            if value.is_none() {
                return;
            }
            at[*p] = serde_json::json!({});
        }
        at = &mut at[*p];
    }
    match (value, at.as_object_mut()) {
        (Some(v), _) => at[*last] = v,
        (None, Some(map)) => {
            map.remove(*last);
        }
        (None, None) => {}
    }
}

/// Removes empty objects left at `path` and above it (after a field was removed).
pub fn prune_empty(object: &mut Value, path: &[&str]) {
    // Never the top-level object (depth 1): `spec` itself stays.
    for depth in (2..=path.len()).rev() {
        let (parent, name) = (&path[..depth - 1], path[depth - 1]);
        let mut at = &mut *object;
        for p in parent {
            match at.get_mut(*p) {
                Some(v) => at = v,
                None => return,
            }
        }
        if at
            .get(name)
            .is_some_and(|v| v.as_object().is_some_and(|m| m.is_empty()))
            && let Some(map) = at.as_object_mut()
        {
            map.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn put_creates_and_removes() {
        let mut v = json!({"spec": {}});
        put(&mut v, &["spec", "proxy", "http"], Some(json!("http://p:3128")));
        assert_eq!(v, json!({"spec": {"proxy": {"http": "http://p:3128"}}}));
        put(&mut v, &["spec", "proxy", "http"], None);
        prune_empty(&mut v, &["spec", "proxy"]);
        assert_eq!(v, json!({"spec": {}}));
        put(&mut v, &["spec", "requests", "read", "maxRunning"], None);
        assert_eq!(v, json!({"spec": {}}));
    }
}
