//! `manifests`: the objects that run `reconcile --watch` inside the cluster, with least-privilege
//! RBAC and leader election, ready for `oc apply -f -`.

use crate::commands::output::{self, Format};
use crate::reconcile::permissions::manifests;
use anyhow::Result;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ManifestsArgs {
    /// The image holding the oc-registry executable
    #[arg(long, value_name = "IMAGE")]
    pub image: String,

    /// Reconciler replicas (one leads at a time)
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub replicas: i32,

    /// Output format: yaml, json, name or jsonpath=TEMPLATE
    #[arg(short = 'o', long, value_name = "FORMAT", default_value = "yaml")]
    pub output: Format,
}

pub fn run(args: &ManifestsArgs) -> Result<ExitCode> {
    let objects = manifests(&args.image, args.replicas);
    let text = output::render_manifests(&objects, &args.output)?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
