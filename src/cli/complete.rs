//! Shell completion: generated scripts for bash, zsh and fish, and the protocol kubectl speaks to
//! `kubectl_complete-registry` to complete `kubectl registry <TAB>`: the words typed after the
//! plugin name come as arguments (the last one possibly empty), candidates go out one per line,
//! followed by `:<directive>` (4: no file completion; 0: the shell may complete file names).

use super::Cli;
use crate::commands::ConnectionArgs;
use crate::commands::completion::Dynamic;
use clap::{Arg, ArgAction, Command, CommandFactory, ValueEnum, ValueHint};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// The completion script for `shell`, for the program named `bin_name`. Each asks the program
/// itself (`bin_name __complete WORDS…`, the protocol kubectl speaks to plugins), so that the
/// shells complete what kubectl completes, the cluster's routes and trusted hosts included.
pub fn script(shell: Shell, bin_name: &str) -> String {
    let function: String = bin_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let template = match shell {
        Shell::Bash => BASH,
        Shell::Zsh => ZSH,
        Shell::Fish => FISH,
    };
    template.replace("PROGRAM", bin_name).replace("FUNCTION", &function)
}

const BASH: &str = r#"# bash completion for PROGRAM: the candidates come from `PROGRAM __complete WORDS...`.
__FUNCTION_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}" out directive line
    out=$(PROGRAM __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return
    directive=${out##*:}
    out=${out%:*}
    COMPREPLY=()
    while IFS= read -r line; do
        [[ -n $line ]] && COMPREPLY+=("$line")
    done <<< "$out"
    if (( ${#COMPREPLY[@]} == 0 && directive == 0 )); then
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}
complete -o bashdefault -F __FUNCTION_complete PROGRAM
"#;

const ZSH: &str = r#"#compdef PROGRAM
# zsh completion for PROGRAM: the candidates come from `PROGRAM __complete WORDS...`.
__FUNCTION_complete() {
    local out directive
    out=$(PROGRAM __complete "${(@)words[2,CURRENT]}" 2>/dev/null) || return
    directive=${out##*:}
    local -a candidates
    candidates=("${(@f)${out%:*}}")
    candidates=(${candidates:#})
    if (( ${#candidates} == 0 && directive == 0 )); then
        _files
    else
        compadd -- "${candidates[@]}"
    fi
}
compdef __FUNCTION_complete PROGRAM
"#;

const FISH: &str = r#"# fish completion for PROGRAM: the candidates come from `PROGRAM __complete WORDS...`.
function __FUNCTION_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l current (commandline -ct | string collect --allow-empty)
    set -l out (PROGRAM __complete $words $current 2>/dev/null)
    set -l directive (string replace -r '^:' '' -- $out[-1])
    set -e out[-1]
    if test (count $out) -eq 0 -a "$directive" = 0
        __fish_complete_path $current
        return
    end
    printf '%s\n' $out
end
complete -c PROGRAM -f -a '(__FUNCTION_complete)'
"#;

const NO_FILES: u8 = 4;
const FILES: u8 = 0;

fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
        && arg.get_num_args().is_none_or(|n| n.min_values() > 0)
}

fn wants_file(arg: &Arg) -> bool {
    matches!(
        arg.get_value_hint(),
        ValueHint::FilePath | ValueHint::AnyPath | ValueHint::DirPath
    ) || arg
        .get_value_names()
        .is_some_and(|n| n.iter().any(|v| v == "FILE" || v == "DIR"))
}

fn find_long<'c>(cmd: &'c Command, name: &str) -> Option<&'c Arg> {
    cmd.get_arguments().find(|a| a.get_long() == Some(name))
}

fn find_short(cmd: &Command, c: char) -> Option<&Arg> {
    cmd.get_arguments().find(|a| a.get_short() == Some(c))
}

fn values(arg: &Arg) -> Vec<String> {
    arg.get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect()
}

/// The argument whose values only the cluster or the kubeconfig knows, by the command it
/// belongs to and its id.
fn dynamic(path: &[&str], arg: &Arg) -> Option<Dynamic> {
    match (path, arg.get_id().as_str()) {
        (_, "context") => Some(Dynamic::Contexts),
        (["routes", "remove"], "name") => Some(Dynamic::Routes),
        (["trust", "remove"], "host") => Some(Dynamic::TrustedHosts),
        _ => None,
    }
}

/// Candidates for the words after the program name with the cobra directive, and the values to
/// read from the cluster or the kubeconfig as well.
pub fn candidates(words: &[String]) -> (Vec<String>, u8, Option<Dynamic>) {
    let mut root = Cli::command();
    root.build();
    let (partial, done) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut current = &root;
    let mut path: Vec<&str> = Vec::new();
    let mut pending: Option<&Arg> = None;
    let mut positionals = 0usize;
    for word in done {
        if pending.take().is_some() {
            continue;
        }
        if let Some(flag) = word.strip_prefix("--") {
            let (name, inline) = flag.split_once('=').map_or((flag, false), |(n, _)| (n, true));
            if let Some(arg) = find_long(current, name)
                && takes_value(arg)
                && !inline
            {
                pending = Some(arg);
            }
        } else if let Some(short) = word.strip_prefix('-').filter(|s| s.chars().count() == 1) {
            if let Some(arg) = short.chars().next().and_then(|c| find_short(current, c))
                && takes_value(arg)
            {
                pending = Some(arg);
            }
        } else if let Some(sub) = current.find_subcommand(word) {
            current = sub;
            path.push(sub.get_name());
            positionals = 0;
        } else {
            positionals += 1;
        }
    }
    let matching = |list: Vec<String>| list.into_iter().filter(|c| c.starts_with(partial)).collect::<Vec<_>>();
    if let Some(arg) = pending {
        let options = values(arg);
        return if options.is_empty() && wants_file(arg) {
            (Vec::new(), FILES, None)
        } else {
            (matching(options), NO_FILES, dynamic(&path, arg))
        };
    }
    if partial.starts_with('-') {
        // The global options are left out of each command's help, not out of completion.
        let flags = current
            .get_arguments()
            .filter(|a| !a.is_hide_set() || a.is_global_set())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .chain(["--help".to_string()])
            .collect();
        return (matching(flags), NO_FILES, None);
    }
    // `help` is offered where kubectl offers it: beside the top-level commands only.
    let at_root = std::ptr::eq(current, &root);
    let mut list: Vec<String> = current
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && (at_root || s.get_name() != "help"))
        .map(|s| s.get_name().to_string())
        .collect();
    let mut wanted = None;
    if let Some(arg) = current.get_positionals().nth(positionals) {
        let options = values(arg);
        if options.is_empty() && wants_file(arg) {
            return (Vec::new(), FILES, None);
        }
        list.extend(options);
        wanted = dynamic(&path, arg);
    }
    (matching(list), NO_FILES, wanted)
}

/// The connection flags among `words` (`--context`, `--kubeconfig`, `--server`, …), so that
/// values are read from the cluster the command would talk to.
fn connection(words: &[String]) -> ConnectionArgs {
    use clap::{Args as _, FromArgMatches as _};
    let flags = ConnectionArgs::augment_args(Command::new("connection"));
    let mut argv = vec!["connection".to_string()];
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let long = word.strip_prefix("--").map(|w| w.split_once('=').map_or(w, |(n, _)| n));
        let short = word
            .strip_prefix('-')
            .filter(|s| s.chars().count() == 1)
            .and_then(|s| s.chars().next());
        let Some(arg) = flags
            .get_arguments()
            .find(|a| long.is_some_and(|l| a.get_long() == Some(l)) || short.is_some_and(|c| a.get_short() == Some(c)))
        else {
            continue;
        };
        argv.push(word.clone());
        if takes_value(arg)
            && !word.contains('=')
            && let Some(value) = words.next()
        {
            argv.push(value.clone());
        }
    }
    flags
        .try_get_matches_from(argv)
        .ok()
        .and_then(|m| ConnectionArgs::from_arg_matches(&m).ok())
        .unwrap_or_default()
}

/// The candidates for `words`, the values only the cluster or the kubeconfig knows among them.
pub fn resolve(words: &[String]) -> (Vec<String>, u8) {
    let (mut list, directive, wanted) = candidates(words);
    if let Some(wanted) = wanted {
        let partial = words.last().map(String::as_str).unwrap_or_default();
        let done = &words[..words.len().saturating_sub(1)];
        let read = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|runtime| runtime.block_on(crate::commands::completion::values(wanted, connection(done))));
        list.extend(read.unwrap_or_default().into_iter().filter(|v| v.starts_with(partial)));
    }
    (list, directive)
}

/// The first argument that asks for completion candidates instead of running a command, as
/// cobra programs take it.
pub const COMPLETE_COMMAND: &str = "__complete";

/// What `kubectl_complete-registry` answers for `words`.
pub fn kubectl_main(words: Vec<String>) -> ExitCode {
    let (list, directive) = resolve(&words);
    for c in list {
        println!("{c}");
    }
    println!(":{directive}");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(words: &[&str]) -> (Vec<String>, u8) {
        let (list, directive, _) = candidates(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>());
        (list, directive)
    }

    #[test]
    fn values_only_the_cluster_knows_are_asked_for_where_they_belong() {
        let wanted = |words: &[&str]| candidates(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>()).2;
        assert_eq!(wanted(&["routes", "remove", ""]), Some(Dynamic::Routes));
        assert_eq!(wanted(&["trust", "remove", "reg"]), Some(Dynamic::TrustedHosts));
        assert_eq!(wanted(&["--context", ""]), Some(Dynamic::Contexts));
        assert_eq!(wanted(&["status", "--context", "x"]), Some(Dynamic::Contexts));
        assert_eq!(wanted(&["routes", "add", ""]), None);
        assert_eq!(wanted(&["status", ""]), None);
        let words: Vec<String> = [
            "--context",
            "prod",
            "routes",
            "--kubeconfig=/k",
            "-s",
            "https://x:6443",
            "remove",
        ]
        .iter()
        .map(|w| w.to_string())
        .collect();
        let c = connection(&words);
        assert_eq!(c.context.as_deref(), Some("prod"));
        assert_eq!(c.kubeconfig.as_deref(), Some(std::path::Path::new("/k")));
        assert_eq!(c.server.as_deref(), Some("https://x:6443"));
    }

    #[test]
    fn commands_flags_and_values() {
        let (top, d) = complete(&[""]);
        assert!(
            top.contains(&"status".to_string()) && top.contains(&"policy".to_string()),
            "{top:?}"
        );
        assert_eq!(d, NO_FILES);
        assert_eq!(complete(&["po"]).0, ["policy"]);
        assert_eq!(complete(&["policy", "e"]).0, ["eval"]);
        assert_eq!(complete(&["policy", "eval", ""]).0, ["storage", "pruner", "admission"]);
        assert_eq!(
            complete(&["status", "-o", ""]).0,
            ["json", "yaml", "name", "wide", "jsonpath="]
        );
        assert_eq!(complete(&["status", "--output", "y"]).0, ["yaml"]);
        assert!(complete(&["status", "--kube"]).0.contains(&"--kubeconfig".to_string()));
        assert_eq!(complete(&["--kubeconfig", ""]), (Vec::new(), FILES));
        assert_eq!(complete(&["--context", "x", "st"]).0, ["status", "storage"]);
        assert_eq!(complete(&["storage", "credentials", ""]).0, ["set", "show", "unset"]);
        assert_eq!(complete(&["completion", ""]).0, ["bash", "zsh", "fish"]);
    }

    #[test]
    fn the_configuration_commands_complete_their_values() {
        assert!(
            complete(&["set", ""])
                .0
                .starts_with(&["management-state".to_string(), "log-level".to_string()])
        );
        assert_eq!(
            complete(&["set", "log-level", ""]).0,
            ["Normal", "Debug", "Trace", "TraceAll"]
        );
        assert_eq!(complete(&["set", "read-only", ""]).0, ["true", "false"]);
        assert_eq!(complete(&["set", "management-state", "R"]).0, ["Removed"]);
        assert_eq!(complete(&["set", "requests", ""]).0, ["read", "write"]);
        assert_eq!(
            complete(&["storage", "set", ""]).0,
            ["s3", "gcs", "azure", "swift", "pvc", "empty-dir", "ibmcos"]
        );
        assert_eq!(
            complete(&["storage", "set", "azure", "--network-access", ""]).0,
            ["External", "Internal"]
        );
        assert_eq!(complete(&["routes", ""]).0, ["add", "remove", "list"]);
        assert_eq!(
            complete(&["pruner", ""]).0,
            ["set", "suspend", "resume", "status", "clear-failed"]
        );
        assert_eq!(
            complete(&["pruner", "set", "--log-level", "T"]).0,
            ["Trace", "TraceAll"]
        );
    }
}
