//! A compile cache for policy modules. Compiled artifacts are native code, so the cache only ever
//! loads bytes this program wrote: in a directory private to the user (0700, owned by them), keyed
//! by the module's sha256, the engine's compatibility hash and this tool's version, and verified
//! against a recorded sha256 before wasmtime sees them.

use super::module::sha256_hex;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Module};

/// Set to `off` to disable the cache; `OC_REGISTRY_POLICY_CACHE_DIR` moves it.
pub const CACHE_ENV: &str = "OC_REGISTRY_POLICY_CACHE";
pub const CACHE_DIR_ENV: &str = "OC_REGISTRY_POLICY_CACHE_DIR";

#[derive(Clone, Debug)]
pub struct CompileCache {
    dir: PathBuf,
}

struct DigestHasher(Sha256);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl CompileCache {
    /// The cache in its usual place (`$OC_REGISTRY_POLICY_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/oc-registry/policies`, else `~/.cache/oc-registry/policies`), unless disabled
    /// or unsafe to use.
    pub fn from_environment() -> Option<Self> {
        if std::env::var(CACHE_ENV).is_ok_and(|v| v == "off" || v == "0" || v == "false") {
            return None;
        }
        let dir = std::env::var_os(CACHE_DIR_ENV)
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("oc-registry/policies")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/oc-registry/policies")))?;
        Self::open(&dir).ok()
    }

    /// Opens (creating, 0700) a cache directory; refuses one others can write or that another
    /// user owns.
    pub fn open(dir: &Path) -> Result<Self, String> {
        create_private_dir(dir)?;
        check_private(dir)?;
        Ok(CompileCache { dir: dir.to_path_buf() })
    }

    fn key(engine: &Engine, module_sha256: &str) -> String {
        let mut hasher = DigestHasher(Sha256::new());
        module_sha256.hash(&mut hasher);
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        hasher.0.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A previously written artifact whose recorded digest still matches, else a fresh compile
    /// (written back for next time).
    pub fn load_or_compile(&self, engine: &Engine, bytes: &[u8], module_sha256: &str) -> Result<Module, String> {
        let key = Self::key(engine, module_sha256);
        let artifact = self.dir.join(format!("{key}.cwasm"));
        let digest = self.dir.join(format!("{key}.sha256"));
        if let (Ok(compiled), Ok(recorded)) = (std::fs::read(&artifact), std::fs::read_to_string(&digest))
            && sha256_hex(&compiled) == recorded.trim()
        {
            // SAFETY: these bytes were produced by `Module::serialize` of this program (the key
            // includes the engine's compatibility hash and the tool version), stored in a private
            // directory, and verified against the digest recorded when they were written.
            if let Ok(module) = unsafe { Module::deserialize(engine, &compiled) } {
                return Ok(module);
            }
        }
        let module = Module::from_binary(engine, bytes).map_err(|e| format!("{e:#}"))?;
        if let Ok(compiled) = module.serialize() {
            // A failure to write only costs the next run a compile.
            let _ = write_atomically(&artifact, &compiled)
                .and_then(|()| write_atomically(&digest, sha256_hex(&compiled).as_bytes()));
        }
        Ok(module)
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("creating {}: {e}", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))
}

#[cfg(unix)]
fn check_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is accessible to other users (mode {:o}); not using it",
            dir.display(),
            meta.mode() & 0o777
        ));
    }
    // Whoever we are, a file we create is ours: the directory must be owned by the same user.
    let probe = dir.join(format!(".owner-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| e.to_string())?;
    let ours = std::fs::metadata(&probe).map(|m| m.uid());
    let _ = std::fs::remove_file(&probe);
    if ours.map_err(|e| e.to_string())? != meta.uid() {
        return Err(format!("{} is owned by another user; not using it", dir.display()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_dir: &Path) -> Result<(), String> {
    Ok(())
}
