//! `doctor`: a read-only diagnosis of the registry, each finding with the command that fixes it.

use super::Failure;
use crate::commands::Context;
use crate::commands::output::{self, Format};
use crate::diagnose::{Evidence, diagnose, exit_code};
use crate::state::{Observed, ReadError};
use crate::validate::{Finding, Severity, printable};
use anyhow::Result;
use clap::Args;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Output format: json, yaml, name, wide or jsonpath=TEMPLATE
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
}

#[derive(Serialize)]
struct Diagnosis {
    findings: Vec<Finding>,
    errors: usize,
    warnings: usize,
}

pub async fn run(cx: &Context, args: &DoctorArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let describe = |e: kube::Error| anyhow::anyhow!(session.describe(&e));
    let observed = match Observed::read(&session.client).await {
        Ok(o) => o,
        Err(ReadError::NoRegistryApi) => {
            return Err(Failure {
                message: "the server does not serve configs.imageregistry.operator.openshift.io: this is not an OpenShift cluster with the image registry capability".into(),
                code: 1,
            }
            .into());
        }
        Err(ReadError::Api(e)) => return Err(describe(e)),
    };
    let mut evidence = Evidence::gather(&session.client, observed).await.map_err(describe)?;
    if evidence.observed.pruner.is_some() {
        let policies = cx.policies().await?;
        let input = crate::state::facts::pruner_input(&session.client).await?;
        let decision = policies.pruner(&input)?.decision;
        evidence.prune_registry = Some((decision.prune_registry, decision.reason));
    }
    match crate::diagnose::requested(&session.client, &evidence.observed).await {
        Ok(Some(requested)) => {
            evidence.progress = Some(requested.progress);
            evidence.cloud = requested.cloud;
        }
        Ok(None) => {}
        Err(e) => {
            eprintln!("Warning: cannot compare the requested settings with the running ones: {e:#}");
            eprintln!("Warning: cannot ask the storage's cloud: {e:#}");
        }
    }
    evidence.operator = crate::state::operator::running(&session.client)
        .await
        .map_err(describe)?;
    evidence.applied_by = match super::change::who_applies(session).await {
        super::change::Applier::User => None,
        other => Some(other.sentence("them")),
    };
    let findings = diagnose(&evidence);
    let code = exit_code(&findings);
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let diagnosis = Diagnosis {
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        findings,
    };
    if let Some(format) = Format::machine(args.output.as_ref()) {
        print!("{}", output::render(&diagnosis, format)?);
        return Ok(ExitCode::from(code));
    }
    for f in &diagnosis.findings {
        let label = match f.severity {
            Severity::Error => "ERROR  ",
            Severity::Warning => "WARNING",
        };
        let message = super::naming::as_invoked(&f.message);
        let line = format!("{label}  {}: {}", printable(&f.field), printable(&message));
        println!("{}", super::style::paint(&line, super::style::Stream::Stdout));
        if let Some(fix) = &f.fix {
            println!("         fix: {}", printable(&super::naming::as_invoked(fix)));
        }
    }
    if diagnosis.findings.is_empty() {
        println!("No problems found.");
    } else {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        println!(
            "\n{}, {}",
            plural(diagnosis.errors, "error"),
            plural(diagnosis.warnings, "warning")
        );
    }
    Ok(ExitCode::from(code))
}
