//! Shell completion: generated scripts for bash, zsh and fish, and the protocol kubectl speaks to
//! `kubectl_complete-registry` to complete `kubectl registry <TAB>`: the words typed after the
//! plugin name come as arguments (the last one possibly empty), candidates go out one per line,
//! followed by `:<directive>` (4: no file completion; 0: the shell may complete file names).

use super::Cli;
use clap::{Arg, ArgAction, Command, CommandFactory, ValueEnum, ValueHint};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// The completion script for `shell`, for the program named `bin_name`.
pub fn script(shell: Shell, bin_name: &str) -> String {
    let generate = |generator, name: &str| {
        let mut out = Vec::new();
        clap_complete::generate(generator, &mut Cli::command(), name, &mut out);
        String::from_utf8(out).expect("completion scripts are UTF-8")
    };
    match shell {
        // clap_complete's bash script names its per-subcommand cases inconsistently when the
        // program name contains '-', so it is generated for a plain name and registered for ours.
        Shell::Bash => {
            let plain: String = bin_name.chars().filter(char::is_ascii_alphanumeric).collect();
            generate(clap_complete::Shell::Bash, &plain)
                .lines()
                .map(|l| match l.trim_start().starts_with("complete ") {
                    true => l.replace(&format!(" {plain}"), &format!(" {bin_name}")),
                    false => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        }
        Shell::Zsh => generate(clap_complete::Shell::Zsh, bin_name),
        Shell::Fish => generate(clap_complete::Shell::Fish, bin_name),
    }
}

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

/// Candidates for the words after the program name, and the cobra directive.
pub fn candidates(words: &[String]) -> (Vec<String>, u8) {
    let mut root = Cli::command();
    root.build();
    let (partial, done) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut current = &root;
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
            positionals = 0;
        } else {
            positionals += 1;
        }
    }
    let matching = |list: Vec<String>| list.into_iter().filter(|c| c.starts_with(partial)).collect::<Vec<_>>();
    if let Some(arg) = pending {
        let options = values(arg);
        return if options.is_empty() && wants_file(arg) {
            (Vec::new(), FILES)
        } else {
            (matching(options), NO_FILES)
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
        return (matching(flags), NO_FILES);
    }
    // `help` is offered where kubectl offers it: beside the top-level commands only.
    let at_root = std::ptr::eq(current, &root);
    let mut list: Vec<String> = current
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && (at_root || s.get_name() != "help"))
        .map(|s| s.get_name().to_string())
        .collect();
    if let Some(arg) = current.get_positionals().nth(positionals) {
        let options = values(arg);
        if options.is_empty() && wants_file(arg) {
            return (Vec::new(), FILES);
        }
        list.extend(options);
    }
    (matching(list), NO_FILES)
}

/// The first argument that asks for completion candidates instead of running a command, as
/// cobra programs take it.
pub const COMPLETE_COMMAND: &str = "__complete";

/// What `kubectl_complete-registry` answers for `words`.
pub fn kubectl_main(words: Vec<String>) -> ExitCode {
    let (list, directive) = candidates(&words);
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
        candidates(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
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
