//! `diff`: what `reconcile` would change, as `kubectl diff` shows it — a unified diff per object
//! between what the cluster holds and what it would hold (predicted by a server-side dry run),
//! with secret values masked.

use super::reconcile::ImageArgs;
use crate::cluster::DryRun;
use crate::cluster::redact::{MASK, redact};
use crate::commands::Context;
use crate::reconcile::apply::Applier;
use crate::reconcile::engine::{Engine, Options, ReconcileError};
use crate::validate::printable;
use anyhow::{Result, anyhow};
use clap::Args;
use serde_json::Value;
use similar::TextDiff;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub images: ImageArgs,
}

/// Fields the server maintains, which say nothing about the change.
const SERVER_FIELDS: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
];

fn for_display(object: Option<&Value>) -> Option<Value> {
    let mut v = object?.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in SERVER_FIELDS {
            meta.remove(*f);
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    Some(v)
}

/// Masks secret values; a value that changes shows as kubectl shows it.
fn masked_pair(before: Option<Value>, after: Option<Value>) -> (Option<Value>, Option<Value>) {
    let (mut b, mut a) = (before, after);
    let (rb, ra) = (b.clone(), a.clone());
    if let Some(v) = b.as_mut() {
        redact(v);
    }
    if let Some(v) = a.as_mut() {
        redact(v);
    }
    // Where both sides are masked but the values differ, say so.
    if let (Some(bv), Some(av), Some(rbv), Some(rav)) = (b.as_mut(), a.as_mut(), rb.as_ref(), ra.as_ref()) {
        for field in ["data", "stringData"] {
            let (Some(bm), Some(am)) = (
                bv.get_mut(field).and_then(Value::as_object_mut),
                av.get_mut(field).and_then(Value::as_object_mut),
            ) else {
                continue;
            };
            for (k, v) in am.iter_mut() {
                if bm.contains_key(k) && rbv[field].get(k) != rav[field].get(k) {
                    *v = Value::String(format!("{MASK} (after)"));
                    bm.insert(k.clone(), Value::String(format!("{MASK} (before)")));
                }
            }
        }
    }
    (b, a)
}

fn yaml(v: &Option<Value>) -> Result<String> {
    Ok(match v {
        Some(v) => serde_saphyr::to_string(v)?,
        None => String::new(),
    })
}

/// `apps.v1.Deployment.openshift-image-registry.image-registry`, as kubectl names diff files.
fn file_name(object: &Value) -> String {
    let api_version = object["apiVersion"].as_str().unwrap_or_default().replace('/', ".");
    let kind = object["kind"].as_str().unwrap_or_default();
    let ns = object.pointer("/metadata/namespace").and_then(Value::as_str);
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match ns {
        Some(ns) => format!("{api_version}.{kind}.{ns}.{name}"),
        None => format!("{api_version}.{kind}.{name}"),
    }
}

/// One object's two sides as YAML, under kubectl's file name for it.
struct Change {
    file: String,
    live: String,
    merged: String,
}

impl Change {
    /// `None` when both sides are the same.
    fn of(before: &Option<Value>, after: &Option<Value>) -> Result<Option<Change>> {
        let (live, merged) = (yaml(before)?, yaml(after)?);
        if live == merged {
            return Ok(None);
        }
        let file = file_name(after.as_ref().or(before.as_ref()).expect("one side exists"));
        Ok(Some(Change { file, live, merged }))
    }

    fn unified(&self) -> String {
        TextDiff::from_lines(&self.live, &self.merged)
            .unified_diff()
            .context_radius(3)
            .header(&format!("live/{}", self.file), &format!("merged/{}", self.file))
            .to_string()
    }
}

/// Exit status as kubectl diff's: 0 no differences, 1 differences, above 1 an error.
pub async fn run(cx: &Context, args: &DiffArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let policies = cx.policies().await?;
    let server = session.access.config.cluster_url.to_string();
    let applier = Applier::new(session.client.clone(), Some(DryRun::Server), server);
    let options = Options {
        dry_run: Some(DryRun::Server),
        storage_deletion_confirmed: false,
        images: args.images.images(),
        finalizer_removed_by_caller: false,
    };
    let preview = match Engine::new(applier.clone(), policies, options).preview().await {
        Ok(p) => p,
        Err(ReconcileError::NeedsConfirmation(l)) => return Err(anyhow!(l.description)),
        Err(ReconcileError::Other(e)) => return Err(e),
    };
    let mut changes = Vec::new();
    let (b, a) = masked_pair(
        for_display(preview.before.as_ref()),
        for_display(preview.after.as_ref()),
    );
    changes.extend(Change::of(&b, &a)?);
    for desired in &preview.apply {
        let (live, merged) = applier
            .predict(desired)
            .await
            .map_err(|e| anyhow!("{}: {}", desired.display(), applier.describe(&e)))?;
        let (b, a) = masked_pair(for_display(live.as_ref()), for_display(Some(&merged)));
        changes.extend(Change::of(&b, &a)?);
    }
    for (kind, name) in &preview.delete {
        let ns = kind.namespaced().then_some(crate::api::REGISTRY_NAMESPACE);
        if let Some(live) = applier
            .get(*kind, ns, name)
            .await
            .map_err(|e| anyhow!(applier.describe(&e)))?
        {
            let (b, a) = masked_pair(for_display(Some(&live)), None);
            changes.extend(Change::of(&b, &a)?);
        }
    }
    for p in &preview.problems {
        super::style::eprint_line(&format!("error: {}", printable(&p.message)));
    }
    match std::env::var(EXTERNAL_DIFF).ok().filter(|c| !c.trim().is_empty()) {
        Some(command) => external(&command, &changes),
        None => {
            for change in &changes {
                print!("{}", change.unified());
            }
            Ok(ExitCode::from(if changes.is_empty() { 0 } else { 1 }))
        }
    }
}

/// kubectl's variable naming the diff program, run on a directory of live and one of merged files.
const EXTERNAL_DIFF: &str = "KUBECTL_EXTERNAL_DIFF";

/// Runs the user's diff program as kubectl does: its words split on spaces, each argument
/// limited to letters, digits, `-` and `=`, the two directories last; its exit status passed on
/// (0 same, 1 different, anything else an error).
fn external(command: &str, changes: &[Change]) -> Result<ExitCode> {
    let mut words = command.split_whitespace();
    let program = words.next().expect("checked non-empty");
    let args: Vec<&str> = words.collect();
    if let Some(bad) = args
        .iter()
        .find(|a| !a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '='))
    {
        return Err(anyhow!(
            "{EXTERNAL_DIFF}: argument {bad:?} is not allowed: arguments may hold only letters, digits, '-' and '='"
        ));
    }
    let dir = tempfile::Builder::new().prefix("oc-registry-diff-").tempdir()?;
    let (live, merged) = (dir.path().join("live"), dir.path().join("merged"));
    std::fs::create_dir(&live)?;
    std::fs::create_dir(&merged)?;
    for change in changes {
        std::fs::write(live.join(&change.file), &change.live)?;
        std::fs::write(merged.join(&change.file), &change.merged)?;
    }
    let status = std::process::Command::new(program)
        .args(&args)
        .arg(&live)
        .arg(&merged)
        .status()
        .map_err(|e| anyhow!("{EXTERNAL_DIFF}: cannot run {program:?}: {e}"))?;
    match status.code() {
        Some(code @ (0 | 1)) => Ok(ExitCode::from(code as u8)),
        Some(code) => Err(anyhow!("{EXTERNAL_DIFF}: {program:?} exited with status {code}")),
        None => Err(anyhow!("{EXTERNAL_DIFF}: {program:?} was stopped by a signal")),
    }
}
