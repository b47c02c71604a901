//! Colour for what needs the eye: ERROR and WARNING labels and `error:` / `warning:` prefixes, red
//! and yellow, on a terminal only — never when the stream is piped or redirected, or when
//! `NO_COLOR` is set (<https://no-color.org>).

use std::io::IsTerminal;

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const RESET: &str = "\x1b[0m";

/// Which stream a line goes to (each may be a terminal or not).
#[derive(Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

fn colours(stream: Stream) -> bool {
    let terminal = match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    };
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `line` with its leading label (`error:`, `warning:`, `ERROR`, `WARNING`) coloured when
/// `enabled`.
fn painted(line: &str, enabled: bool) -> String {
    if !enabled {
        return line.to_string();
    }
    for (label, colour) in [
        ("error:", RED),
        ("ERROR", RED),
        ("warning:", YELLOW),
        ("WARNING", YELLOW),
    ] {
        if let Some(rest) = line.strip_prefix(label) {
            return format!("{colour}{label}{RESET}{rest}");
        }
    }
    line.to_string()
}

/// `line`, its label coloured when `stream` shows colour.
pub fn paint(line: &str, stream: Stream) -> String {
    painted(line, colours(stream))
}

/// Writes `line` to standard error, its label coloured on a terminal.
pub fn eprint_line(line: &str) {
    eprintln!("{}", paint(line, Stream::Stderr));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_label_is_coloured_and_only_when_enabled() {
        assert_eq!(painted("error: boom", false), "error: boom");
        assert_eq!(painted("error: boom", true), "\x1b[1;31merror:\x1b[0m boom");
        assert_eq!(painted("WARNING  x", true), "\x1b[1;33mWARNING\x1b[0m  x");
        assert_eq!(painted("deployment created", true), "deployment created");
    }
}
