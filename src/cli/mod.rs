//! The command line: global kubectl-style flags, the command tree, and the entry point both
//! binaries share.

mod args;
pub mod complete;
pub mod output;

pub use args::{Cli, Command, ConnectionArgs, PolicyArgs};

use crate::cluster::describe_kube_error;
use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::process::ExitCode;

/// How the program was invoked determines the name its help shows: as a kubectl plugin
/// (`kubectl-registry`) it is `kubectl registry`; otherwise its file name.
pub fn display_name(argv0: Option<&OsString>) -> String {
    let file = argv0
        .and_then(|a| {
            std::path::Path::new(a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "oc-registry".to_string());
    let file = file.strip_suffix(".exe").unwrap_or(&file).to_string();
    match file.strip_prefix("kubectl-") {
        Some(plugin) => format!("kubectl {}", plugin.replace('_', "-")),
        None => file,
    }
}

/// Parses the arguments. Help and version print and exit 0; usage errors print and exit 1, as
/// kubectl's do (2 is reserved for `status` reporting a degraded registry).
pub fn parse(args: Vec<OsString>) -> Cli {
    let name = display_name(args.first());
    let command = Cli::command().bin_name(name.clone()).name(name);
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m));
    parsed.unwrap_or_else(|e| {
        let _ = e.print();
        std::process::exit(if e.use_stderr() { 1 } else { 0 });
    })
}

/// The whole program: parse, run, report. Both binaries call this.
pub fn main() -> ExitCode {
    let cli = parse(std::env::args_os().collect());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(crate::commands::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{}", render_error(&err));
            let code = err.downcast_ref::<crate::commands::Failure>().map_or(1, |f| f.code);
            ExitCode::from(code)
        }
    }
}

/// `Error from server (…): …` for API failures, `error: …` for everything else.
pub fn render_error(err: &anyhow::Error) -> String {
    if let Some(failure) = err.downcast_ref::<crate::commands::Failure>() {
        let message = failure.to_string();
        // Server errors and already-prefixed messages stand as they are.
        if message.starts_with("error: ") || message.starts_with("Error from server") {
            return message;
        }
        return format!("error: {message}");
    }
    for cause in err.chain() {
        if let Some(kube_err) = cause.downcast_ref::<kube::Error>() {
            return describe_kube_error(kube_err, "");
        }
    }
    format!("error: {err:#}")
}
