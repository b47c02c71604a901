//! Text from outside — the cluster, policy modules, servers — made safe to show on a terminal:
//! control characters (escape sequences, carriage returns, newlines that would break a layout)
//! are shown escaped, as Rust writes them, and everything printable is left as it is.

use std::borrow::Cow;

/// `text` with every control character escaped (`\n`, `\r`, `\u{1b}`, …).
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(printable("plain text, ünïcode"), "plain text, ünïcode");
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable("\u{1b}[2Jgone\r"), "\\u{1b}[2Jgone\\r");
        assert_eq!(printable("tab\there\u{7}"), "tab\\there\\u{7}");
        assert!(matches!(printable("x"), Cow::Borrowed(_)));
    }
}
