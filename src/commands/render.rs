//! `render`: the registry's full manifest set from files, with no cluster — the Config and the
//! Infrastructure at least, and any other object `reconcile` would read (the namespace, secrets,
//! the operator Deployment naming the release's images). Secret values are masked.

use super::Failure;
use super::reconcile::ImageArgs;
use crate::cluster::redact::redact;
use crate::commands::Context;
use crate::commands::output::{self, Format};
use crate::reconcile::offline::{parse_objects, render_offline};
use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Files holding the Config, the Infrastructure and any other cluster objects (YAML or JSON,
    /// lists included; "-" reads standard input)
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub images: ImageArgs,

    /// Output format: yaml, json, name or jsonpath=TEMPLATE
    #[arg(short = 'o', long, value_name = "FORMAT", default_value = "yaml")]
    pub output: Format,
}

pub async fn run(cx: &Context, args: &RenderArgs) -> Result<ExitCode> {
    let mut objects = Vec::new();
    for file in &args.files {
        let text = if file.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading standard input")?;
            s
        } else {
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
        };
        objects.extend(parse_objects(&text).with_context(|| format!("reading {}", file.display()))?);
    }
    let local = crate::policy::config::local_config_path(cx.policy.policy_config.as_deref())
        .map(|p| crate::policy::config::SourcedConfig::read_file(&p))
        .transpose()?;
    let policies = crate::policy::Policies::load(None, local)?;
    let rendered = render_offline(&objects, &policies, args.images.images())?;
    let manifests: Vec<Value> = rendered
        .objects
        .iter()
        .map(|d| {
            let mut o = d.object.clone();
            redact(&mut o);
            o
        })
        .collect();
    let text = output::render_manifests(&manifests, &args.output)?;
    print!("{text}");
    if !rendered.problems.is_empty() {
        let messages: Vec<String> = rendered.problems.iter().map(|p| p.message.clone()).collect();
        return Err(Failure {
            message: format!("some objects could not be rendered: {}", messages.join("; ")),
            code: super::reconcile::EXIT_INCOMPLETE,
        }
        .into());
    }
    Ok(ExitCode::SUCCESS)
}
