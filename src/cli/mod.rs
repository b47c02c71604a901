//! The command line: global kubectl-style flags, the command tree, and the one entry point,
//! which acts on the name the program was invoked as.

mod args;
pub mod complete;
mod examples;

pub use args::{Cli, Command};

use crate::cluster::describe_kube_error;
use crate::commands::{self, Context, Failure};
use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::process::ExitCode;

/// The file name the program was invoked as, without `.exe`.
fn invoked_as(argv0: Option<&OsString>) -> String {
    let file = argv0
        .and_then(|a| {
            std::path::Path::new(a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "oc-registry".to_string());
    file.strip_suffix(".exe").unwrap_or(&file).to_string()
}

/// The name kubectl runs to complete `kubectl registry <TAB>`.
const KUBECTL_COMPLETE: &str = "kubectl_complete-registry";

/// How the program was invoked determines the name its help shows: as a kubectl plugin
/// (`kubectl-registry`) it is `kubectl registry`; otherwise its file name.
pub(crate) fn display_name(argv0: Option<&OsString>) -> String {
    let file = invoked_as(argv0);
    match file.strip_prefix("kubectl-") {
        Some(plugin) => format!("kubectl {}", plugin.replace('_', "-")),
        None => file,
    }
}

/// The options every command accepts, which each command's help leaves out (as kubectl's do):
/// listed by `options`.
fn global_options() -> String {
    use clap::Args as _;
    let options = clap::Command::new("options")
        .help_template("The following options can be passed to any command:\n\n{all-args}\n")
        .disable_help_flag(true);
    let options = commands::PolicyArgs::augment_args(commands::ConnectionArgs::augment_args(options));
    options
        .mut_args(|a| a.hide(false).global(false))
        .render_help()
        .to_string()
}

/// The help of `command` (at `path`) and every command below it as shown when invoked as `name`:
/// the commands it suggests named so, its examples, and kubectl's pointer to the global options
/// at the end.
fn as_invoked(command: clap::Command, path: &str, name: &str) -> clap::Command {
    let footer = format!("Use \"{name} options\" for a list of global command-line options (applies to all commands).");
    let mut command = command.mut_subcommands(|sub| {
        let path = format!("{path} {}", sub.get_name());
        as_invoked(sub, path.trim_start(), name)
    });
    let translated = |text: Option<&clap::builder::StyledStr>| {
        text.map(|t| commands::naming::as_invoked(&t.to_string()).into_owned())
    };
    if let Some(about) = translated(command.get_about()) {
        command = command.about(about);
    }
    if let Some(about) = translated(command.get_long_about()) {
        command = command.long_about(about);
    }
    let mut after: Vec<String> = translated(command.get_after_help()).into_iter().collect();
    if let Some(examples) = examples::of(path) {
        after.push(format!("Examples:\n{}", commands::naming::as_invoked(examples)));
    }
    after.push(footer);
    command.after_help(after.join("\n\n"))
}

/// Parses the arguments. Help and version print and exit 0; usage errors print and exit 1, as
/// kubectl's do (2 is reserved for `status` reporting a degraded registry).
pub fn parse(args: Vec<OsString>) -> Cli {
    let name = display_name(args.first());
    let tree = Cli::command();
    let top_level = tree.get_subcommands().map(|c| c.get_name().to_string()).collect();
    commands::naming::set(name.clone(), top_level);
    let command = as_invoked(tree, "", &name).bin_name(name.clone()).name(name);
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m));
    parsed.unwrap_or_else(|e| {
        // A command group named without a command is asked for its help, as kubectl's are: on
        // standard output, exit 0.
        if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            print!("{}", e.render());
            std::process::exit(0);
        }
        let _ = e.print();
        std::process::exit(if e.use_stderr() { 1 } else { 0 });
    })
}

/// The whole program, one executable under several names: `kubectl_complete-registry` (or
/// `__complete` as the first argument) answers kubectl's completion requests; `oc-registry` and
/// `kubectl-registry` parse, run and report.
pub fn main() -> ExitCode {
    let args = std::env::args().skip(1);
    if invoked_as(std::env::args_os().next().as_ref()) == KUBECTL_COMPLETE {
        return complete::kubectl_main(args.collect());
    }
    // cobra's hidden completion command, which the archive's `kubectl_complete-registry` runs.
    if std::env::args().nth(1).as_deref() == Some(complete::COMPLETE_COMMAND) {
        return complete::kubectl_main(args.skip(1).collect());
    }
    run_main()
}

fn run_main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    if args
        .next()
        .is_some_and(|a| a == crate::policy::compile::COMPILE_COMMAND)
    {
        let rest: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
        return crate::policy::compile::serve(&rest);
    }
    // Modules that are not built in are compiled in a bounded child of this executable.
    if let Ok(executable) = std::env::current_exe() {
        crate::policy::compile::compile_out_of_process(executable);
    }
    let cli = parse(std::env::args_os().collect());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            commands::style::eprint_line(&commands::naming::as_invoked(&render_error(&err)));
            let code = err.downcast_ref::<Failure>().map_or(1, |f| f.code);
            ExitCode::from(code)
        }
    }
}

/// Refuses `-n` where it would be ignored: the registry lives in `openshift-image-registry`
/// whatever the context says, and only `login -z` names something in another namespace.
fn namespace_means_something(cli: &Cli) -> anyhow::Result<()> {
    let Some(namespace) = cli.connection.namespace.as_deref().filter(|n| !n.is_empty()) else {
        return Ok(());
    };
    if let Command::Login(args) = &cli.command
        && args.service_account.is_some()
    {
        return Ok(());
    }
    Err(commands::invalid(format!(
        "-n/--namespace {namespace:?} means nothing here: the registry's objects are in {} whatever the \
         namespace, and -n only names a service account's namespace for `login -z SERVICE-ACCOUNT`; drop -n",
        crate::api::REGISTRY_NAMESPACE
    )))
}

/// `Error from server (…): …` for API failures, `error: …` for everything else.
pub(crate) fn render_error(err: &anyhow::Error) -> String {
    if let Some(failure) = err.downcast_ref::<Failure>() {
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
    let message = format!("{err:#}");
    // Messages already in kubectl's words stand as they are, never `error: Error from server`.
    if [
        "error: ",
        "Error from server",
        "Unable to connect",
        "The connection to the server",
    ]
    .iter()
    .any(|p| message.starts_with(p))
    {
        return message;
    }
    format!("error: {message}")
}

/// Runs the command the arguments name, with the flags every command shares resolved once.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    namespace_means_something(&cli)?;
    let cx = Context::new(cli.connection, cli.policy);
    match &cli.command {
        Command::Status(args) => commands::status::run(&cx, args).await,
        Command::Doctor(args) => commands::doctor::run(&cx, args).await,
        Command::Info(args) => commands::info::run(&cx, args).await,
        Command::Login(args) => commands::login::run(&cx, args).await,
        Command::Logs(args) => commands::logs::run(&cx, args).await,
        Command::Events(args) => commands::events::run(&cx, args).await,
        Command::Wait(args) => commands::wait::run(&cx, args).await,
        Command::Policy(command) => commands::policy::run(&cx, command).await,
        Command::Bootstrap(args) => commands::reconcile::run_bootstrap(&cx, args).await,
        Command::Reconcile(args) => commands::reconcile::run(&cx, args).await,
        // kubectl diff keeps 1 for "differences found": its errors exit 2.
        Command::Diff(args) => commands::diff::run(&cx, args)
            .await
            .map_err(|e| match e.downcast::<Failure>() {
                Ok(failure) => Failure {
                    code: failure.code.max(2),
                    ..failure
                }
                .into(),
                Err(e) => Failure {
                    message: render_error(&e),
                    code: 2,
                }
                .into(),
            }),
        Command::Render(args) => commands::render::run(&cx, args).await,
        Command::Manifests(args) => commands::manifests::run(args),
        Command::Trust(command) => commands::trust::run(&cx, command).await,
        Command::Storage(command) => commands::storage::run(&cx, command).await,
        Command::Set(command) => commands::set::run(&cx, command).await,
        Command::Pruner(command) => commands::pruner::run(&cx, command).await,
        Command::Routes(command) => commands::routes::run(&cx, command).await,
        Command::HttpSecret(command) => commands::http_secret::run(&cx, command).await,
        Command::Version(args) => commands::version::run(args),
        Command::Options => {
            print!("{}", global_options());
            Ok(ExitCode::SUCCESS)
        }
        Command::Completion { shell } => {
            let bin = display_name(std::env::args_os().next().as_ref()).replace(' ', "-");
            print!("{}", complete::script(*shell, &bin));
            Ok(ExitCode::SUCCESS)
        }
    }
}
