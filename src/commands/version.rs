//! `version`: what this build is, for bug reports and audits.

use crate::commands::output::{self, Format};
use crate::policy::{Limits, builtin, inspect};
use anyhow::Result;
use clap::Args;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Output format: json, yaml, name, wide or jsonpath=TEMPLATE (a summary when omitted)
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    /// Semantic version of oc-registry.
    pub version: String,
    pub git_commit: String,
    pub wasmtime_version: String,
    pub policy_abi_version: i32,
    pub platform: String,
    pub builtin_policies: Vec<BuiltinPolicy>,
}

#[derive(Debug, Serialize)]
pub struct BuiltinPolicy {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

pub fn info() -> VersionInfo {
    let builtin_policies = builtin::ALL
        .iter()
        .filter_map(|b| inspect(b.name, b.bytes, &Limits::default()).ok())
        .map(|i| BuiltinPolicy {
            name: i.metadata.name,
            version: i.metadata.version,
            sha256: i.sha256,
        })
        .collect();
    VersionInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        git_commit: env!("OC_REGISTRY_GIT_COMMIT").into(),
        wasmtime_version: env!("OC_REGISTRY_WASMTIME_VERSION").into(),
        policy_abi_version: crate::policy::sdk::ABI_VERSION,
        platform: format!("{}/{}", std::env::consts::OS, go_arch(std::env::consts::ARCH)),
        builtin_policies,
    }
}

/// Architecture names as kubectl and krew spell them.
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub fn run(args: &VersionArgs) -> Result<ExitCode> {
    let info = info();
    match Format::machine(args.output.as_ref()) {
        Some(f) => print!("{}", output::render(&info, f)?),
        None => {
            println!("oc-registry v{}", info.version);
            println!("  git commit:          {}", info.git_commit);
            println!("  platform:            {}", info.platform);
            println!("  wasmtime:            {}", info.wasmtime_version);
            println!("  policy ABI:          {}", info.policy_abi_version);
            for p in &info.builtin_policies {
                println!("  built-in policy:     {} {} (sha256 {})", p.name, p.version, p.sha256);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
