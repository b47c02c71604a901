//! What `kubectl krew install --manifest=plugin.yaml --archive=FILE` does, reproduced so it can be
//! tested without krew: pick the platform, verify the archive's sha256, sniff its type, extract it
//! refusing anything but regular files and directories inside the install directory, apply the
//! file operations, check the executable and the licence, and link `bin/kubectl-<name>`.

use crate::archive::sha256_file;
use crate::manifest::{FileOp, Plugin};
use anyhow::{Context, Result, anyhow, bail};
use flate2::read::GzDecoder;
use std::path::{Component, Path, PathBuf};

/// Licence file names krew-index requires one of (compared case-insensitively).
const LICENSE_NAMES: &[&str] = &[
    "license",
    "license.txt",
    "license.md",
    "licenses",
    "licenses.txt",
    "licenses.md",
    "copying",
    "copying.txt",
];

pub struct Installed {
    /// The `kubectl-<name>` link on the krew bin directory.
    pub link: PathBuf,
    pub install_dir: PathBuf,
}

fn safe_relative(name: &Path) -> Result<()> {
    let text = name.to_string_lossy();
    if text.starts_with('/') || text.starts_with('\\') || name.components().any(|c| matches!(c, Component::ParentDir)) {
        bail!("archive entry {text:?} points outside the install directory");
    }
    Ok(())
}

fn glob_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((prefix, suffix)) => {
            name.starts_with(prefix) && name.ends_with(suffix) && name.len() >= prefix.len() + suffix.len()
        }
    }
}

/// Installs `plugin` for `os`/`arch` from a local archive under `krew_root`.
pub fn install(plugin: &Plugin, os: &str, arch: &str, archive: &Path, krew_root: &Path) -> Result<Installed> {
    let platforms: Vec<_> = plugin
        .spec
        .platforms
        .iter()
        .filter(|p| p.selector.as_ref().is_some_and(|s| s.matches(os, arch)))
        .collect();
    let platform = match platforms.as_slice() {
        [one] => *one,
        [] => bail!(
            "plugin {:?} does not offer installation for this platform ({os}/{arch})",
            plugin.metadata.name
        ),
        _ => bail!(
            "more than one platform of plugin {:?} matches {os}/{arch}",
            plugin.metadata.name
        ),
    };
    let actual = sha256_file(archive)?;
    if actual != platform.sha256 {
        bail!("checksum does not match, want: {}, got: {actual}", platform.sha256);
    }
    let bytes = std::fs::read(archive)?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        bail!("archive type not supported: only gzipped tar is handled here (krew also takes zip)");
    }
    let name = &plugin.metadata.name;
    let staging = krew_root.join("staging").join(name);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    let mut tar = tar::Archive::new(GzDecoder::new(bytes.as_slice()));
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        if path.to_string_lossy() == "pax_global_header" {
            continue;
        }
        safe_relative(&path)?;
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Directory => {
                entry.unpack_in(&staging)?;
            }
            other => bail!("unable to handle file type {other:?} of {}", path.display()),
        }
    }
    let install_dir = krew_root.join("store").join(name).join(&plugin.spec.version);
    let _ = std::fs::remove_dir_all(&install_dir);
    std::fs::create_dir_all(&install_dir)?;
    let default_ops = vec![FileOp {
        from: "*".into(),
        to: ".".into(),
    }];
    for op in platform.files.as_ref().unwrap_or(&default_ops) {
        for entry in std::fs::read_dir(&staging)? {
            let entry = entry?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if glob_matches(&op.from, &file_name) {
                safe_relative(Path::new(&op.to))?;
                let target = install_dir.join(&op.to).join(&file_name);
                std::fs::rename(entry.path(), &target).with_context(|| format!("moving {file_name}"))?;
            }
        }
    }
    safe_relative(Path::new(&platform.bin))?;
    let bin = install_dir.join(&platform.bin);
    let meta = std::fs::metadata(&bin)
        .map_err(|_| anyhow!("the plugin's bin {:?} is not among the installed files", platform.bin))?;
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o111 == 0 {
        bail!("the plugin's bin {:?} is not executable", platform.bin);
    }
    let has_license = std::fs::read_dir(&install_dir)?
        .filter_map(|e| e.ok())
        .any(|e| LICENSE_NAMES.contains(&e.file_name().to_string_lossy().to_ascii_lowercase().as_str()));
    if !has_license {
        bail!(
            "no licence file among the installed files (krew-index requires one of {})",
            LICENSE_NAMES.join(", ")
        );
    }
    let bin_dir = krew_root.join("bin");
    std::fs::create_dir_all(&bin_dir)?;
    let link = bin_dir.join(format!("kubectl-{}", name.replace('-', "_")));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&bin, &link)?;
    Ok(Installed { link, install_dir })
}
