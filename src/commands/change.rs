//! Running one change to the registry Config or the ImagePruner and reporting it: what changed
//! (secrets masked), the warnings it raises, and who applies it.

use super::output::{self, Format};
use super::reconcile::DryRunFlag;
use super::{Failure, Session, dry_run_suffix};
use crate::api::{ConfigSpec, ImagePrunerSpec};
use crate::cluster::DryRun;
use crate::commands::Context;
use crate::configure::edit::{EditError, EditResult, Edited, Editor};
use crate::policy::sdk::PvcFacts;
use crate::reconcile::leader::LEASE_NAME;
use crate::validate::printable;
use anyhow::Result;
use clap::Args;
use k8s_openapi::api::coordination::v1::Lease;
use std::process::ExitCode;

pub(crate) const CONFIG_REF: &str = "config.imageregistry.operator.openshift.io/cluster";
pub(crate) const PRUNER_REF: &str = "imagepruner.imageregistry.operator.openshift.io/cluster";

/// `--dry-run` and `-o` of a command that changes one object.
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// Show the change without making it ("client"), or have the server check it too ("server")
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: Option<DryRunFlag>,

    /// Print the object as the change leaves it: json, yaml, name or jsonpath=TEMPLATE (secrets masked)
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
}

impl WriteArgs {
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

/// Connects, changes the Config's spec, and prints the change.
pub async fn config(
    cx: &Context,
    write: &WriteArgs,
    edit: impl FnMut(&mut ConfigSpec) -> EditResult,
) -> Result<ExitCode> {
    config_with_claim(cx, write, None, edit).await
}

/// As [`config`], with a claim the same command creates (or, in a dry run, would create) taken
/// as existing by the checks.
pub async fn config_with_claim(
    cx: &Context,
    write: &WriteArgs,
    new_claim: Option<PvcFacts>,
    edit: impl FnMut(&mut ConfigSpec) -> EditResult,
) -> Result<ExitCode> {
    let session = cx.session().await?;
    let mut editor = editor(cx, session, write.mode()).await?;
    editor.new_claim = new_claim;
    let edited = editor
        .config(edit)
        .await
        .map_err(|e| describe(session, Target::Config, e))?;
    report(session, Target::Config, write, &edited).await?;
    Ok(ExitCode::SUCCESS)
}

/// Connects, changes the ImagePruner's spec, and prints the change.
pub async fn pruner(
    cx: &Context,
    write: &WriteArgs,
    edit: impl FnMut(&mut ImagePrunerSpec) -> EditResult,
) -> Result<ExitCode> {
    let session = cx.session().await?;
    let editor = editor(cx, session, write.mode()).await?;
    let edited = editor
        .pruner(edit)
        .await
        .map_err(|e| describe(session, Target::Pruner, e))?;
    report(session, Target::Pruner, write, &edited).await?;
    Ok(ExitCode::SUCCESS)
}

/// Changes the Config's spec; errors are phrased for the user (exit 1).
pub(crate) async fn apply_config(
    cx: &Context,
    session: &Session,
    mode: Option<DryRun>,
    edit: impl FnMut(&mut ConfigSpec) -> EditResult,
) -> Result<Edited> {
    let editor = editor(cx, session, mode).await?;
    editor
        .config(edit)
        .await
        .map_err(|e| describe(session, Target::Config, e))
}

async fn editor<'a>(cx: &'a Context, session: &'a Session, mode: Option<DryRun>) -> Result<Editor<'a>> {
    Ok(Editor {
        client: &session.client,
        policies: cx.policies_for_write().await?,
        dry_run: mode,
        new_claim: None,
    })
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

/// Prints what changed (or, with `-o`, the object as the change left it), the warnings, and how
/// the change takes effect.
pub async fn report(session: &Session, target: Target, write: &WriteArgs, edited: &Edited) -> Result<()> {
    let (reference, mode) = (target.reference(), write.mode());
    if let Some(format) = Format::machine(write.output.as_ref()) {
        for warning in &edited.warnings {
            eprintln!("Warning: {}", printable(&super::naming::as_invoked(warning)));
        }
        print!(
            "{}",
            output::render_objects(&output::shown(&edited.object), format, &[reference.to_string()])?
        );
        return Ok(());
    }
    if !edited.changed() {
        println!("{reference} patched (no change)");
        return Ok(());
    }
    println!("{reference} patched{}", dry_run_suffix(mode));
    for change in &edited.changes {
        println!("  {}", change.describe());
    }
    for warning in &edited.warnings {
        eprintln!("Warning: {}", printable(&super::naming::as_invoked(warning)));
    }
    if mode.is_none() {
        let sentence = who_applies(session).await.sentence("it");
        println!("{}", super::naming::as_invoked(&sentence));
    }
    Ok(())
}

/// Who applies a change to the Config: the running operator, a running reconciler, or the user.
pub(crate) enum Applier {
    Operator { ready: i32, desired: i32 },
    Reconciler(String),
    User,
}

impl Applier {
    /// "… applies it." for one change, "… applies them." for several.
    pub(crate) fn sentence(&self, it: &str) -> String {
        match self {
            Applier::Operator { ready, desired } => format!(
                "The Image Registry Operator (cluster-image-registry-operator, {ready}/{desired} ready) applies {it}."
            ),
            Applier::Reconciler(holder) => format!("The running reconciler ({holder}) applies {it}."),
            Applier::User => format!("Run `oc-registry reconcile` to apply {it}."),
        }
    }
}

/// Whether the operator runs or a `reconcile --watch` holds the lease (and so applies a change),
/// or the user must.
pub(crate) async fn who_applies(session: &Session) -> Applier {
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
    let operator = crate::state::operator::running(&session.client).await.ok().flatten();
    match (holder, operator) {
        (_, Some((ready, desired))) => Applier::Operator { ready, desired },
        (Some(h), None) => Applier::Reconciler(h),
        (None, None) => Applier::User,
    }
}
