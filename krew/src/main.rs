//! `oc-registry-release`: build a release archive, render the krew manifest, validate it.

use anyhow::{Context, Result, bail};
use oc_registry_release::{archive, manifest, template};
use std::path::PathBuf;

const USAGE: &str = "usage:
  oc-registry-release archive --tag vX.Y.Z --os OS --arch ARCH --bin-dir DIR --out DIR
      archive DIR/oc-registry under each name it is installed as, with LICENSE and README.md;
      prints the archive and its sha256
  oc-registry-release render --template krew/.krew.yaml --tag vX.Y.Z --dist DIR [--out FILE]
      render the krew manifest, with the sha256 of each archive (found in DIR by file name)
  oc-registry-release validate FILE [--index-name NAME.yaml]
      check a manifest against krew's and krew-index's rules";

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn required(args: &[String], name: &str) -> Result<String> {
    flag(args, name).with_context(|| format!("{name} is required\n\n{USAGE}"))
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("krew/ is in the repository")
        .to_path_buf()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("archive") => {
            let (tag, os, arch) = (
                required(&args, "--tag")?,
                required(&args, "--os")?,
                required(&args, "--arch")?,
            );
            let bin_dir = PathBuf::from(required(&args, "--bin-dir")?);
            let out_dir = PathBuf::from(required(&args, "--out")?);
            std::fs::create_dir_all(&out_dir)?;
            let mut entries = archive::release_entries(&bin_dir.join("oc-registry"), &repo_root());
            let out = out_dir.join(archive::archive_name(&tag, &os, &arch));
            let sha = archive::build(&out, &mut entries, flate2::Compression::best())?;
            println!("{}  {sha}", out.display());
        }
        Some("render") => {
            let template = std::fs::read_to_string(required(&args, "--template")?)?;
            let dist = PathBuf::from(required(&args, "--dist")?);
            let rendered = template::render(&template, &required(&args, "--tag")?, |url| {
                let file = url.rsplit('/').next().unwrap_or(url);
                archive::sha256_file(&dist.join(file))
                    .with_context(|| format!("no archive {file} in {}", dist.display()))
            })?;
            let errors = manifest::validate(&manifest::parse(&rendered)?, None);
            if !errors.is_empty() {
                bail!("the rendered manifest breaks krew's rules:\n  {}", errors.join("\n  "));
            }
            match flag(&args, "--out") {
                Some(out) => std::fs::write(&out, rendered).with_context(|| format!("writing {out}"))?,
                None => print!("{rendered}"),
            }
        }
        Some("validate") => {
            let file = args.get(1).with_context(|| USAGE.to_string())?;
            let plugin = manifest::parse(&std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?)?;
            let errors = manifest::validate(&plugin, flag(&args, "--index-name").as_deref());
            if !errors.is_empty() {
                bail!("{file} breaks krew's rules:\n  {}", errors.join("\n  "));
            }
            println!(
                "{file}: valid krew plugin manifest for {} {}",
                plugin.metadata.name, plugin.spec.version
            );
        }
        _ => {
            println!("{USAGE}");
        }
    }
    Ok(())
}
