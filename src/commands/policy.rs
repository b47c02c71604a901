//! `policy`: see, run, check and start policy modules.

use super::Failure;
use crate::commands::Context;
use crate::commands::output::{self, Format};
use crate::policy::config::{SourcedConfig, local_config_path};
use crate::policy::{Host, Limits, inspect, scaffold};
use crate::state::policies::cluster_policy_config;
use crate::validate::printable;
use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// List the policy modules in effect: where each comes from, its sha256 and its hooks
    List(ListArgs),
    /// Run a hook on an input and show the decision
    #[command(long_about = "Run a hook on an input and show the decision.\n\n\
        The input is the hook's JSON input (see policies/README.md), from a file or - for stdin, or, for \
        storage and pruner, gathered from the cluster with --from-cluster. Without \
        --module, the modules in effect answer (for admission, every admission module must allow). \
        --module names a module in effect, or a .wasm file to try out (not pinned: for testing only).\n\n\
        Exit status: 0 decided or allowed; 2 denied or refused; 1 the policy failed or the input is invalid.")]
    Eval(EvalArgs),
    /// Inspect a module file: ABI, exports, metadata, limits, sha256
    Check(CheckArgs),
    /// Create an organisation policy crate (Rust) that builds and tests as it is
    New(NewArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format: json, yaml, name, wide or jsonpath=TEMPLATE (a table when omitted)
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Hook {
    Storage,
    Pruner,
    Admission,
}

impl Hook {
    fn name(self) -> &'static str {
        match self {
            Hook::Storage => "storage",
            Hook::Pruner => "pruner",
            Hook::Admission => "admission",
        }
    }
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The hook to run
    #[arg(value_enum)]
    pub hook: Hook,
    /// The hook's input: a JSON or YAML file, or - for stdin
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        required_unless_present = "from_cluster",
        conflicts_with = "from_cluster"
    )]
    pub input: Option<PathBuf>,
    /// Gather the storage or pruner input from the cluster, as a bootstrap or reconcile would
    #[arg(long)]
    pub from_cluster: bool,
    /// A module in effect (by name), or a .wasm file to try out
    #[arg(long, value_name = "NAME|FILE")]
    pub module: Option<String>,
    /// Output format: json, yaml, name, wide or jsonpath=TEMPLATE (a summary when omitted)
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The module file
    pub module: PathBuf,
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The policy's name (lower-case letters, digits, '-')
    pub name: String,
    /// Where to create it (default: ./NAME)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub async fn run(cx: &Context, command: &PolicyCommand) -> Result<ExitCode> {
    match command {
        PolicyCommand::List(args) => list(cx, args).await,
        PolicyCommand::Eval(args) => eval(cx, args).await,
        PolicyCommand::Check(args) => check(args),
        PolicyCommand::New(args) => {
            let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name));
            scaffold::create(&args.name, &dir)?;
            println!("created policy {} in {}", args.name, dir.display());
            println!(
                "next: cd {} && cargo test && cargo build --release --target wasm32-unknown-unknown",
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The cluster's policy configuration as it could be learned: absent (no ConfigMap), read, or
/// unknown because reading it failed in any other way.
pub enum ClusterPolicy {
    Known(Option<SourcedConfig>),
    Unknown(String),
}

/// The configurations in effect: the cluster's and the local one. The cluster's is unknown, not
/// absent, when it cannot be read for any reason but its ConfigMap not existing.
pub async fn sources(cx: &Context) -> Result<(ClusterPolicy, Option<SourcedConfig>)> {
    let local = match local_config_path(cx.policy.policy_config.as_deref()) {
        Some(path) => Some(SourcedConfig::read_file(&path)?),
        None => None,
    };
    let cluster = match cx.session().await {
        Ok(session) => match cluster_policy_config(&session.client).await {
            Ok(c) => ClusterPolicy::Known(c),
            Err(e) => ClusterPolicy::Unknown(match e.downcast_ref::<kube::Error>() {
                Some(k) => session.describe(k),
                None => format!("{e:#}"),
            }),
        },
        Err(e) => ClusterPolicy::Unknown(format!("{e:#}")),
    };
    Ok((cluster, local))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListItem {
    name: String,
    version: String,
    source: String,
    sha256: String,
    hooks: Vec<String>,
}

async fn list(cx: &Context, args: &ListArgs) -> Result<ExitCode> {
    let policies = cx.policies().await?;
    let items: Vec<ListItem> = policies
        .modules
        .iter()
        .map(|m| ListItem {
            name: m.name.clone(),
            version: m.version.clone(),
            source: m.origin.to_string(),
            sha256: m.sha256.clone(),
            hooks: m.hooks.clone(),
        })
        .collect();
    match Format::machine(args.output.as_ref()) {
        Some(f) => print!(
            "{}",
            output::render(&json!({"modules": items, "limits": policies.limits()}), f)?
        ),
        None => {
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|i| {
                    vec![
                        i.name.clone(),
                        i.hooks.join(","),
                        i.version.clone(),
                        i.source.clone(),
                        i.sha256.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(&["NAME", "HOOKS", "VERSION", "SOURCE", "SHA256"], &rows)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_input(path: &std::path::Path) -> Result<Value> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the input from stdin")?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading input {}", path.display()))?
    };
    serde_json::from_str(&text)
        .or_else(|_| serde_saphyr::from_str::<Value>(&text))
        .with_context(|| format!("input {}: not JSON or YAML", path.display()))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EvalReport {
    hook: String,
    input: Value,
    module: String,
    sha256: String,
    source: String,
    fuel_used: u64,
    response: oc_registry_policy_sdk::Response,
}

async fn gather(cx: &Context, hook: Hook) -> Result<Value> {
    let session = cx.session().await?;
    let input = match hook {
        Hook::Storage => {
            let state = crate::state::cluster::ClusterState::read(&session.client, &[]).await?;
            serde_json::to_value(crate::storage::hook_input(&state, state.config()?.as_ref()).await?)?
        }
        Hook::Pruner => serde_json::to_value(crate::state::facts::pruner_input(&session.client).await?)?,
        Hook::Admission => anyhow::bail!(
            "--from-cluster gathers storage and pruner inputs; an admission input describes a change: pass it with -f"
        ),
    };
    Ok(input)
}

async fn eval(cx: &Context, args: &EvalArgs) -> Result<ExitCode> {
    let input = match &args.input {
        Some(path) => read_input(path)?,
        None => gather(cx, args.hook).await?,
    };
    let hook = args.hook.name();
    let file = args
        .module
        .as_deref()
        .map(PathBuf::from)
        .filter(|p| p.extension().is_some_and(|e| e == "wasm") && p.exists());
    let mut reports = Vec::new();
    if let Some(path) = file {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let host = Host::new(Limits::default())?;
        let module = host.load(&path.display().to_string(), &bytes)?;
        let out = host.evaluate(&module, hook, &input)?;
        reports.push(EvalReport {
            hook: hook.into(),
            input: input.clone(),
            module: module.name().to_string(),
            sha256: module.inspection.sha256.clone(),
            source: format!("file {} (not pinned)", path.display()),
            fuel_used: out.fuel_used,
            response: out.response,
        });
    } else {
        let policies = cx.policies().await?;
        let chosen: Vec<_> = match (&args.module, args.hook) {
            (Some(name), _) => {
                let m = policies.modules.iter().find(|m| &m.name == name).ok_or_else(|| {
                    anyhow::anyhow!("no policy module {name:?} is in effect (see oc-registry policy list), and no file {name} exists")
                })?;
                vec![m]
            }
            (None, Hook::Admission) => policies
                .modules
                .iter()
                .filter(|m| m.hooks.iter().any(|h| h == "admission"))
                .collect(),
            (None, _) => vec![policies.decider(hook)],
        };
        for m in chosen {
            let out = policies.evaluate(m, hook, &input)?;
            reports.push(EvalReport {
                hook: hook.into(),
                input: input.clone(),
                module: m.name.clone(),
                sha256: m.sha256.clone(),
                source: m.origin.to_string(),
                fuel_used: out.fuel_used,
                response: out.response,
            });
        }
    }
    let allowed = reports.iter().all(|r| r.response.allowed);
    match Format::machine(args.output.as_ref()) {
        Some(f) => {
            let value = if reports.len() == 1 {
                serde_json::to_value(&reports[0])?
            } else {
                json!({"allowed": allowed, "evaluations": reports})
            };
            print!("{}", output::render(&value, f)?);
        }
        None if reports.is_empty() => println!("no {hook} policies are in effect: allowed"),
        None => {
            for r in &reports {
                let verdict = match (r.response.allowed, args.hook) {
                    (true, Hook::Admission) => "allowed",
                    (true, _) => "decided",
                    (false, Hook::Admission) => "DENIED",
                    (false, _) => "REFUSED",
                };
                println!("{} ({}): {verdict}", printable(&r.module), r.source);
                for reason in &r.response.reasons {
                    println!("  reason:  {}", printable(reason));
                }
                for warning in &r.response.warnings {
                    println!("  warning: {}", printable(warning));
                }
                if let Some(result) = &r.response.result {
                    for line in output::to_yaml(result)?.lines() {
                        println!("  {}", printable(line));
                    }
                }
            }
        }
    }
    if allowed {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure {
            message: format!(
                "error: the {hook} policy {}",
                if args.hook == Hook::Admission {
                    "denied the change"
                } else {
                    "refused to decide"
                }
            ),
            code: 2,
        }
        .into())
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckReport {
    file: String,
    #[serde(flatten)]
    inspection: crate::policy::Inspection,
    instantiates: bool,
    limits: Limits,
}

fn check(args: &CheckArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&args.module).with_context(|| format!("reading {}", args.module.display()))?;
    let label = args.module.display().to_string();
    let limits = Limits::default();
    let inspection = inspect(&label, &bytes, &limits)?;
    let host = Host::new(limits)?;
    let module = host.load(&label, &bytes)?;
    // A decision with an empty input proves the module instantiates and answers within its limits.
    let hook = inspection.metadata.hooks[0].clone();
    host.evaluate(&module, &hook, &json!({}))?;
    let report = CheckReport {
        file: label,
        inspection,
        instantiates: true,
        limits,
    };
    match Format::machine(args.output.as_ref()) {
        Some(f) => print!("{}", output::render(&report, f)?),
        None => {
            let i = &report.inspection;
            let m = &i.metadata;
            println!(
                "{}: policy module {} {} (ABI {})",
                report.file, m.name, m.version, m.abi
            );
            if !m.description.is_empty() {
                println!("  description: {}", printable(&m.description));
            }
            println!("  hooks:       {}", m.hooks.join(", "));
            println!("  sha256:      {}", i.sha256);
            println!("  size:        {} bytes", i.size);
            println!("  imports:     none");
            println!("  exports:     {}", i.exports.join(", "));
            println!(
                "  memory:      {} pages initially ({} KiB)",
                i.memory_initial_pages,
                i.memory_initial_pages * 64
            );
            println!(
                "  limits:      fuel {} per decision, memory {} MiB, stack {} KiB, output {} KiB",
                limits.fuel,
                limits.memory_bytes >> 20,
                limits.stack_bytes >> 10,
                limits.output_bytes >> 10
            );
            println!("  answers {hook} within its limits: yes");
        }
    }
    Ok(ExitCode::SUCCESS)
}
