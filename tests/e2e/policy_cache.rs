//! The compile cache only ever loads artifacts this program wrote, from a private directory, after
//! checking them against the digest recorded when they were written.

use oc_registry::policy::{CompileCache, Host, Limits, builtin};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn artifacts(dir: &Path, extension: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect()
}

fn decide(host: &Host) -> serde_json::Value {
    let module = host.load("builtin-pruner", builtin::PRUNER.bytes).unwrap();
    let out = host
        .evaluate(
            &module,
            "pruner",
            &json!({"registryManagementState": "Managed", "pruner": {}}),
        )
        .unwrap();
    serde_json::to_value(out.response).unwrap()
}

#[test]
fn the_cache_is_private_and_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("policies");
    let host = Host::new(Limits::default(), Some(CompileCache::open(&cache_dir).unwrap())).unwrap();
    let first = decide(&host);
    assert_eq!(
        std::fs::metadata(&cache_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let written = artifacts(&cache_dir, "cwasm");
    assert_eq!(written.len(), 1);
    assert_eq!(artifacts(&cache_dir, "sha256").len(), 1);
    // A second run uses the artifact and decides the same.
    let again = Host::new(Limits::default(), Some(CompileCache::open(&cache_dir).unwrap())).unwrap();
    assert_eq!(decide(&again), first);
}

#[test]
fn a_tampered_artifact_is_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("policies");
    let host = Host::new(Limits::default(), Some(CompileCache::open(&cache_dir).unwrap())).unwrap();
    let expected = decide(&host);
    let artifact = artifacts(&cache_dir, "cwasm").remove(0);
    let mut bytes = std::fs::read(&artifact).unwrap();
    // Flip bytes in the middle of the native code, as a corrupted or malicious file would.
    for offset in [bytes.len() / 3, bytes.len() / 2, 2 * bytes.len() / 3] {
        bytes[offset] ^= 0xff;
    }
    std::fs::write(&artifact, &bytes).unwrap();
    // The digest no longer matches: the module is compiled again from its wasm, and the
    // decision is unchanged (a loaded tampered artifact could crash or decide anything).
    let host = Host::new(Limits::default(), Some(CompileCache::open(&cache_dir).unwrap())).unwrap();
    assert_eq!(decide(&host), expected);
    let rewritten = std::fs::read(&artifact).unwrap();
    assert_ne!(rewritten, bytes, "the tampered artifact was replaced");
}

#[test]
fn a_directory_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = CompileCache::open(&shared).unwrap_err();
    assert!(err.contains("accessible to other users"), "{err}");
}
