//! Release archives: a `.tar.gz` with the executables, LICENSE and README at its top level,
//! regular files only, reproducible (sorted, fixed timestamps and owners).

use anyhow::{Context, Result};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The file names an archive for `os`/`arch` gets, e.g. `oc-registry_v0.1.0_linux_amd64.tar.gz`.
pub fn archive_name(tag: &str, os: &str, arch: &str) -> String {
    format!("oc-registry_{tag}_{os}_{arch}.tar.gz")
}

pub struct Entry {
    /// The name inside the archive.
    pub name: &'static str,
    pub source: Source,
    pub executable: bool,
}

pub enum Source {
    File(PathBuf),
    Text(&'static str),
}

/// The names the one executable is installed under: krew links `kubectl-registry`, and
/// `oc-registry` is the tool's own name. krew accepts only regular files, so each is a copy.
pub const EXECUTABLE_NAMES: [&str; 2] = ["kubectl-registry", "oc-registry"];

/// What kubectl runs to complete `kubectl registry <TAB>`: the plugin answers, asked as cobra
/// programs are asked (`__complete`). A script rather than a third copy of the program; it finds
/// the plugin on PATH, where kubectl found it.
pub const COMPLETION_HELPER: (&str, &str) = (
    "kubectl_complete-registry",
    "#!/bin/sh\n# kubectl runs this to complete `kubectl registry <TAB>`; the plugin answers.\nexec kubectl-registry __complete \"$@\"\n",
);

/// What a release archive holds: the executable under each of its names, the completion helper,
/// and the repository's licence and README.
pub fn release_entries(executable: &Path, repo_root: &Path) -> Vec<Entry> {
    let doc = |name| Entry {
        name,
        source: Source::File(repo_root.join(name)),
        executable: false,
    };
    EXECUTABLE_NAMES
        .iter()
        .map(|name| Entry {
            name,
            source: Source::File(executable.to_path_buf()),
            executable: true,
        })
        .chain([Entry {
            name: COMPLETION_HELPER.0,
            source: Source::Text(COMPLETION_HELPER.1),
            executable: true,
        }])
        .chain([doc("LICENSE"), doc("README.md")])
        .collect()
}

/// Writes the archive and returns its sha256 (lower-case hex). Releases use
/// `Compression::best()`; tests of large debug builds may prefer `Compression::fast()`.
pub fn build(out: &Path, entries: &mut [Entry], compression: Compression) -> Result<String> {
    entries.sort_by(|a, b| a.name.cmp(b.name));
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, compression));
    tar.mode(tar::HeaderMode::Deterministic);
    for e in entries.iter() {
        let data = match &e.source {
            Source::File(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            Source::Text(text) => text.as_bytes().to_vec(),
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(if e.executable { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append_data(&mut header, e.name, data.as_slice())?;
    }
    tar.into_inner()?.finish()?;
    sha256_file(out)
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}
