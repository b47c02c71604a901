//! Output as kubectl writes it (`-o`): JSON with sorted keys and four-space indentation, YAML
//! with two, `name` as `kind.group/name` lines, `jsonpath=TEMPLATE`, and `wide`, the
//! human-readable output with more columns.

mod jsonpath;

use crate::validate::printable;
use anyhow::{Result, bail};
use serde::Serialize;
use std::str::FromStr;

pub use jsonpath::Template;

/// What `-o` asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Format {
    Json,
    Yaml,
    /// `kind.group/name` of each object the command read or wrote.
    Name,
    /// The human-readable output, with more columns where it has any.
    Wide,
    JsonPath(Template),
}

/// The formats `-o` takes, as its errors and help list them.
pub const FORMATS: &str = "json, yaml, name, wide, jsonpath=TEMPLATE";

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Ok(match s {
            "json" => Format::Json,
            "yaml" => Format::Yaml,
            "name" => Format::Name,
            "wide" => Format::Wide,
            "jsonpath" => {
                return Err("jsonpath template format specified but no template given: -o jsonpath='{.field}'".into());
            }
            _ => match s.strip_prefix("jsonpath=") {
                Some(template) => Format::JsonPath(Template::parse(template).map_err(|e| format!("{e:#}"))?),
                None => {
                    return Err(format!(
                        "unable to match a printer suitable for the output format {s:?}, allowed formats are: {FORMATS}"
                    ));
                }
            },
        })
    }
}

/// `-o`'s parser: the formats are offered to completion and help as clap's possible values.
#[derive(Clone, Copy, Debug)]
pub struct FormatParser;

impl clap::builder::TypedValueParser for FormatParser {
    type Value = Format;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Format, clap::Error> {
        let text = value.to_string_lossy();
        text.parse().map_err(|why: String| {
            let arg = arg.map_or_else(|| "--output".to_string(), ToString::to_string);
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value '{text}' for '{arg}': {why}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let values = ["json", "yaml", "name", "wide", "jsonpath="];
        Some(Box::new(values.into_iter().map(clap::builder::PossibleValue::new)))
    }
}

impl clap::builder::ValueParserFactory for Format {
    type Parser = FormatParser;

    fn value_parser() -> FormatParser {
        FormatParser
    }
}

impl Format {
    /// The format when it is a machine format; `None` when the output is the human-readable
    /// one (no `-o`, or `-o wide`).
    pub fn machine(format: Option<&Format>) -> Option<&Format> {
        format.filter(|f| **f != Format::Wide)
    }
}

/// `-o` of a command whose result is the object(s) it read or wrote, named by `names`.
pub fn render_objects<T: Serialize>(value: &T, format: &Format, names: &[String]) -> Result<String> {
    match format {
        Format::Name => Ok(names.iter().map(|n| format!("{n}\n")).collect()),
        other => render(value, other),
    }
}

pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    let value = serde_json::to_value(value)?;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser)?;
    out.push(b'\n');
    Ok(String::from_utf8(out)?)
}

pub(crate) fn to_yaml<T: Serialize>(value: &T) -> Result<String> {
    let value = serde_json::to_value(value)?;
    Ok(serde_saphyr::to_string(&value)?)
}

/// Objects in `format`, as kubectl prints several: JSON and YAML as a `List`, `name` as their
/// names, and a JSONPath template applied to the `List`. They have no wider output.
pub fn render_list(objects: &[serde_json::Value], format: &Format) -> Result<String> {
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
    match format {
        Format::Name => Ok(objects.iter().map(|o| format!("{}\n", object_name(o))).collect()),
        Format::Wide => bail!("-o wide: these objects have no wider output; use -o yaml or -o json"),
        other => render(&list, other),
    }
}

/// Manifests to apply: YAML as one document each (for `kubectl apply -f -` and review), any
/// other format as [`render_list`].
pub fn render_manifests(objects: &[serde_json::Value], format: &Format) -> Result<String> {
    match format {
        Format::Yaml => Ok(objects.iter().map(to_yaml).collect::<Result<Vec<_>>>()?.join("---\n")),
        other => render_list(objects, other),
    }
}

/// `value` (a typed object, which serializes without them) with its `apiVersion` and `kind`,
/// as `-o` shows it.
pub fn typed<T: Serialize>(value: &T, api_version: &str, kind: &str) -> Result<serde_json::Value> {
    let mut object = serde_json::to_value(value)?;
    object["apiVersion"] = api_version.into();
    object["kind"] = kind.into();
    Ok(shown(&object))
}

/// An object as kubectl names it: `kind.group/name` (`kind/name` in the core group).
pub fn object_name(object: &serde_json::Value) -> String {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    };
    let kind = text("/kind").to_lowercase();
    let name = text("/metadata/name");
    match text("/apiVersion").rsplit_once('/') {
        Some((group, _)) => format!("{kind}.{group}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// An object as `-o` shows it: secrets masked, and without its managed fields (as kubectl
/// leaves them out).
pub fn shown(object: &serde_json::Value) -> serde_json::Value {
    let mut object = object.clone();
    crate::cluster::redact::redact(&mut object);
    if let Some(metadata) = object.get_mut("metadata").and_then(serde_json::Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    object
}

/// `value` in a machine format. A command whose result is not an object refuses `-o name`.
pub fn render<T: Serialize>(value: &T, format: &Format) -> Result<String> {
    match format {
        Format::Json => to_json(value),
        Format::Yaml => to_yaml(value),
        Format::JsonPath(template) => template.render(&serde_json::to_value(value)?),
        Format::Name => bail!(
            "-o name: this command's result is a report, not objects; use -o json, -o yaml or -o jsonpath=TEMPLATE"
        ),
        // The human-readable output is the command's own; it never comes here.
        Format::Wide => bail!("-o wide: this command has no wider output"),
    }
}

/// A kubectl-style table: upper-case headers, columns separated by three spaces, no borders.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    // Cells hold text from the cluster: control characters would break the layout or the terminal.
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| printable(c).into_owned()).collect())
        .collect();
    let rows = &rows;
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            line.push_str(cell);
            if i < last {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 3));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(headers.to_vec());
    for row in rows {
        push_row(row.iter().map(String::as_str).collect());
    }
    out
}
