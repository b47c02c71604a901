//! The name the program was invoked as, in the commands its messages suggest: `kubectl registry
//! status` when run as a kubectl plugin (where `oc-registry` may not be on PATH), `oc-registry
//! status` otherwise. Messages (and the policy modules' hints) name commands as `oc-registry …`;
//! human output is translated here on its way out. Machine output (`-o json|yaml`) and what is
//! written into the cluster keep the canonical name.

use std::borrow::Cow;
use std::sync::OnceLock;

/// The canonical name messages are written with.
pub const CANONICAL: &str = "oc-registry";

struct Invoked {
    name: String,
    commands: Vec<String>,
}

static INVOKED: OnceLock<Invoked> = OnceLock::new();

/// Records, once at start-up, the name the program was invoked as and its top-level commands.
pub fn set(name: String, commands: Vec<String>) {
    let _ = INVOKED.set(Invoked { name, commands });
}

/// The name the program was invoked as (`oc-registry` until [`set`]).
pub fn name() -> &'static str {
    INVOKED.get().map_or(CANONICAL, |i| i.name.as_str())
}

/// `text` with every suggested command (`oc-registry` followed by one of its commands) in the
/// name the program was invoked as. Prose that names the product is left alone.
pub fn as_invoked(text: &str) -> Cow<'_, str> {
    match INVOKED.get() {
        Some(invoked) if invoked.name != CANONICAL => Cow::Owned(translate(text, &invoked.name, &invoked.commands)),
        _ => Cow::Borrowed(text),
    }
}

fn translate(text: &str, name: &str, commands: &[String]) -> String {
    let prefix = format!("{CANONICAL} ");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&prefix) {
        let before = &rest[..at];
        let after = &rest[at + prefix.len()..];
        let word_start = before
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '/' || c == '.'));
        let command = after
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .next()
            .unwrap_or_default();
        out.push_str(before);
        if word_start && commands.iter().any(|c| c == command) {
            out.push_str(name);
            out.push(' ');
        } else {
            out.push_str(&prefix);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn suggested_commands_take_the_invoked_name_and_prose_does_not() {
        let commands = ["status".to_string(), "set".to_string(), "storage".to_string()];
        let cases = [
            (
                "run: oc-registry set replicas 2",
                "run: kubectl registry set replicas 2",
            ),
            ("`oc-registry status`", "`kubectl registry status`"),
            (
                "oc-registry storage set pvc, then: oc-registry set management-state Managed",
                "kubectl registry storage set pvc, then: kubectl registry set management-state Managed",
            ),
            ("oc-registry leaves it in place", "oc-registry leaves it in place"),
            (
                "image quay.io/x/oc-registry status",
                "image quay.io/x/oc-registry status",
            ),
            ("my-oc-registry status", "my-oc-registry status"),
            ("oc-registry statuses", "oc-registry statuses"),
            ("nothing to translate", "nothing to translate"),
        ];
        for (text, want) in cases {
            assert_eq!(translate(text, "kubectl registry", &commands), want, "{text}");
        }
    }
}
