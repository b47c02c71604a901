//! The layers of the crate, checked: every module imports only from its own layer or the layers
//! below it, and modules of one layer import each other without cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top to bottom, as `lib.rs` describes them.
const LAYERS: &[&[&str]] = &[
    &["bin", "cli"],
    &["commands"],
    &["configure", "diagnose", "reconcile"],
    &["render", "storage", "state", "policy", "registry_api"],
    &["api", "cluster", "validate"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level modules a source file names through `crate::` (or `oc_registry::` in the
/// binaries, or `super::` in a file at the crate's root).
fn imports(source: &str, at_root: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let prefixes: &[&str] = if at_root {
        &["crate::", "oc_registry::", "super::"]
    } else {
        &["crate::", "oc_registry::"]
    };
    for prefix in prefixes {
        for (at, _) in source.match_indices(prefix) {
            let before = source[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest = &source[at + prefix.len()..];
            let names = match rest.strip_prefix('{') {
                Some(group) => top_level_items(group),
                None => vec![rest],
            };
            for name in names {
                let name: String = name
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && name != "self" {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// The items of a `{…}` group up to its closing brace, split at the commas of its own level.
fn top_level_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
}

/// Every `.rs` file under `dir`, with the top-level module it belongs to.
fn sources(src: &Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap();
            let first = relative.components().next().unwrap().as_os_str().to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            if module == "lib" || module == "layering" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((relative.display().to_string(), module, text));
        }
    }
    out
}

#[test]
fn modules_import_only_their_own_layer_and_the_layers_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (file, module, text) in sources(&src) {
        let Some(own) = layer_of(&module) else {
            wrong.push(format!(
                "src/{file}: module `{module}` is in no layer: add it to LAYERS and lib.rs"
            ));
            continue;
        };
        let at_root = !file.contains('/');
        for target in imports(&text, at_root) {
            if target == module {
                continue;
            }
            match layer_of(&target) {
                Some(layer) if layer < own => wrong.push(format!(
                    "src/{file}: `{module}` (layer {own}) imports `{target}` from layer {layer} above it"
                )),
                Some(_) => {
                    graph.entry(module.clone()).or_default().insert(target);
                }
                None => {}
            }
        }
    }
    // Within a layer, imports must not go round in a circle.
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Vec<String>> = vec![vec![start.clone()]];
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap();
            for next in graph.get(last).into_iter().flatten() {
                if next == start {
                    wrong.push(format!("import cycle: {} -> {start}", path.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn imports_are_read_as_rust_names_them() {
    let text = "use crate::{api::{A, B}, storage};\nuse crate::cluster::retry;\nlet x = mycrate::policy::y;";
    let found: Vec<String> = imports(text, false).into_iter().collect();
    assert_eq!(found, ["api", "cluster", "storage"]);
    assert!(imports("use super::validate;", true).contains("validate"));
    assert!(imports("use super::validate;", false).is_empty());
}
