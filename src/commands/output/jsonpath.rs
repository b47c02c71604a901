//! `-o jsonpath=TEMPLATE` as kubectl prints it: text with `{expression}` actions, `{range
//! expression}…{end}` loops and `{"quoted text"}`. Expressions are JSONPath (RFC 9535, by
//! jsonpath-rust) relative to the object, or to the item a range is at; a key that is absent
//! prints nothing. Each expression's results are separated by spaces: strings as they are,
//! everything else as compact JSON with kubectl's escaping.

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    source: String,
    nodes: Vec<Node>,
}

/// The nodes of the template, or of a range being parsed (with its expression as given and as
/// run).
#[derive(Default)]
struct Frame {
    range: Option<(String, String)>,
    nodes: Vec<Node>,
}

/// The nodes of the innermost range being parsed (of the template outside any).
fn innermost(stack: &mut [Frame]) -> &mut Vec<Node> {
    &mut stack.last_mut().expect("the root frame").nodes
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Text(String),
    /// An expression, as given and as the JSONPath it is run as.
    Field(String, String),
    Range(String, String, Vec<Node>),
}

impl Template {
    /// Parses `source`; errors name what is wrong, as kubectl's do.
    pub fn parse(source: &str) -> Result<Template> {
        let mut stack = vec![Frame::default()];
        let mut rest = source;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                push_text(&mut stack, rest);
                break;
            };
            push_text(&mut stack, &rest[..open]);
            let (action, after) =
                action(&rest[open + 1..]).ok_or_else(|| anyhow!("error parsing jsonpath {source}, unclosed action"))?;
            rest = after;
            let action = action.trim();
            if action == "end" {
                let Frame {
                    range: Some((given, path)),
                    nodes,
                } = stack.pop().expect("the root frame")
                else {
                    bail!("error parsing jsonpath {source}, not in range, nothing to end");
                };
                innermost(&mut stack).push(Node::Range(given, path, nodes));
            } else if let Some(expression) = action.strip_prefix("range ") {
                let expression = expression.trim();
                stack.push(Frame {
                    range: Some((expression.to_string(), to_jsonpath(expression, source)?)),
                    nodes: Vec::new(),
                });
            } else if let Some(text) = quoted(action) {
                push_text(&mut stack, &text);
            } else {
                let path = to_jsonpath(action, source)?;
                innermost(&mut stack).push(Node::Field(action.into(), path));
            }
        }
        if stack.len() > 1 {
            bail!("error parsing jsonpath {source}, unclosed range: add {{end}}");
        }
        let nodes = stack.pop().expect("the root frame").nodes;
        Ok(Template {
            source: source.to_string(),
            nodes,
        })
    }

    /// The template applied to `value`.
    pub fn render(&self, value: &Value) -> Result<String> {
        let mut out = String::new();
        render(&self.nodes, value, &mut out).map_err(|e| anyhow!("error executing jsonpath {:?}: {e}", self.source))?;
        Ok(out)
    }
}

fn push_text(stack: &mut [Frame], text: &str) {
    if text.is_empty() {
        return;
    }
    let frame = innermost(stack);
    match frame.last_mut() {
        Some(Node::Text(t)) => t.push_str(text),
        _ => frame.push(Node::Text(text.to_string())),
    }
}

/// The action that starts `text` (just after its `{`), up to its `}` outside quotes, and the
/// text after it.
fn action(text: &str) -> Option<(&str, &str)> {
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '}') => return Some((&text[..i], &text[i + 1..])),
            (None, _) => {}
        }
    }
    None
}

/// The text of a quoted action (`"\n"`), its escapes resolved.
fn quoted(action: &str) -> Option<String> {
    let inner = action.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// kubectl's expression (`.a.b`, `$.a`, `@`, `..name`, `[0]`) as the JSONPath it means.
fn to_jsonpath(expression: &str, source: &str) -> Result<String> {
    let relative = expression.strip_prefix(['$', '@']).unwrap_or(expression);
    if !(relative.is_empty() || relative.starts_with(['.', '['])) {
        bail!("error parsing jsonpath {source}, unrecognized identifier {expression}: start it with '.'");
    }
    let path = format!("${relative}");
    // Parsed now, so that a bad template fails before anything is read or written.
    jsonpath_rust::parser::parse_json_path(&path)
        .map_err(|e| anyhow!("error parsing jsonpath {source}, {expression}: {e}"))?;
    Ok(path)
}

fn query<'a>(path: &str, value: &'a Value) -> Result<Vec<&'a Value>> {
    jsonpath_rust::query::js_path_vals(path, value).map_err(|e| anyhow!("{e}"))
}

fn render(nodes: &[Node], value: &Value, out: &mut String) -> Result<()> {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Field(_, path) => {
                let printed: Vec<String> = query(path, value)?.into_iter().map(printed).collect();
                out.push_str(&printed.join(" "));
            }
            Node::Range(_, path, body) => {
                for item in query(path, value)? {
                    render(body, item, out)?;
                }
            }
        }
    }
    Ok(())
}

/// A result as kubectl prints it: a string as it is, anything else as compact JSON, with `<`,
/// `>` and `&` escaped as Go's encoder escapes them.
fn printed(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other
            .to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026"),
    }
}

#[cfg(test)]
mod tests {
    use super::Template;
    use serde_json::json;

    fn run(template: &str) -> String {
        let object = json!({
            "kind": "Deployment",
            "metadata": {"name": "d", "creationTimestamp": null, "labels": {"app": "<d&>"}},
            "spec": {"replicas": 2, "paused": false, "template": {"spec": {"containers": [
                {"name": "nginx", "image": "nginx", "resources": {}},
                {"name": "busybox", "image": "busybox", "resources": {}},
            ]}}},
        });
        Template::parse(template).unwrap().render(&object).unwrap()
    }

    #[test]
    fn templates_print_as_kubectl_prints_them() {
        let cases = [
            ("{.metadata.name}", "d"),
            ("{$.kind}", "Deployment"),
            ("name: {.metadata.name}{\"\\n\"}", "name: d\n"),
            ("{.spec.replicas} {.spec.paused}", "2 false"),
            ("{.metadata.creationTimestamp}", "null"),
            ("{.metadata.missing}|", "|"),
            ("{.metadata.labels}", "{\"app\":\"\\u003cd\\u0026\\u003e\"}"),
            ("{.metadata.labels.app}", "<d&>"),
            ("{.spec.template.spec.containers[*].name}", "nginx busybox"),
            ("{.spec.template.spec.containers[-1:].name}", "busybox"),
            (
                "{.spec.template.spec.containers[?(@.name==\"busybox\")].image}",
                "busybox",
            ),
            (
                "{range .spec.template.spec.containers[*]}[{.name}, {.image}] {end}",
                "[nginx, nginx] [busybox, busybox] ",
            ),
            ("{..name}", "d nginx busybox"),
            ("{.spec.template.spec.containers[0].resources}", "{}"),
            ("{@.kind}", "Deployment"),
            ("{\"a \\\"quoted\\\" {text}\"}", "a \"quoted\" {text}"),
        ];
        for (template, want) in cases {
            assert_eq!(run(template), want, "{template}");
        }
    }

    #[test]
    fn bad_templates_are_refused_before_anything_runs() {
        for bad in ["{.a[}", "{range .a}{.b}", "{end}", "{.a", "{metadata.name}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
