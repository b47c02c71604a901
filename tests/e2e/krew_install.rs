//! The krew distribution without krew: the manifest rendered from `krew/.krew.yaml` passes krew's
//! and krew-index's rules, a local archive installs the way `krew install --archive` installs it,
//! and the real kubectl then finds the plugin without warnings and runs it.

use oc_registry_release::{archive, install, manifest, template};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const TAG: &str = "v0.1.0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The release once per test run: the built executables archived for linux/amd64 (copies of that
/// archive stand in for the other platforms' builds, which need other toolchains), and the
/// manifest rendered for them.
fn release() -> &'static (tempfile::TempDir, String, manifest::Plugin) {
    static RELEASE: OnceLock<(tempfile::TempDir, String, manifest::Plugin)> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let dist = tempfile::tempdir().unwrap();
        let mut entries = archive::release_entries(Path::new(env!("CARGO_BIN_EXE_oc-registry")), &root());
        let linux = dist.path().join(archive::archive_name(TAG, "linux", "amd64"));
        archive::build(&linux, &mut entries, flate2::Compression::fast()).unwrap();
        for (os, arch) in [("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")] {
            std::fs::copy(&linux, dist.path().join(archive::archive_name(TAG, os, arch))).unwrap();
        }
        let template = std::fs::read_to_string(root().join("krew/.krew.yaml")).unwrap();
        let rendered = template::render(&template, TAG, |url| {
            archive::sha256_file(&dist.path().join(url.rsplit('/').next().unwrap()))
        })
        .unwrap();
        let plugin = manifest::parse(&rendered).unwrap();
        (dist, rendered, plugin)
    })
}

#[test]
fn the_rendered_manifest_passes_krews_rules() {
    let (_, rendered, plugin) = release();
    assert_eq!(
        manifest::validate(plugin, Some("registry.yaml")),
        Vec::<String>::new(),
        "{rendered}"
    );
    assert_eq!(plugin.spec.version, TAG);
    assert_eq!(plugin.spec.platforms.len(), 4);
    for (os, arch) in [
        ("linux", "amd64"),
        ("linux", "arm64"),
        ("darwin", "amd64"),
        ("darwin", "arm64"),
    ] {
        let matching = plugin
            .spec
            .platforms
            .iter()
            .filter(|p| p.selector.as_ref().unwrap().matches(os, arch))
            .count();
        assert_eq!(matching, 1, "{os}/{arch}");
    }
    assert!(
        plugin.spec.caveats.as_ref().unwrap().contains("oc registry"),
        "caveats explain oc's built-in"
    );
    assert!(rendered.contains(&format!("releases/download/{TAG}/oc-registry_{TAG}_linux_amd64.tar.gz")));
    // A typo is an error, not silently ignored as krew would.
    assert!(manifest::parse(&rendered.replace("shortDescription", "shortdescription")).is_err());
    let mut bad = plugin.clone();
    bad.spec.platforms[0].sha256 = bad.spec.platforms[0].sha256.to_uppercase();
    assert!(
        manifest::validate(&bad, None)
            .iter()
            .any(|e| e.contains("lower-case hex"))
    );
}

/// The committed manifest was rendered by `krew/build-release` from real archives of every
/// platform: it passes the rules, names this version, and matches the template but for digests.
#[test]
fn the_committed_plugin_yaml_is_the_template_rendered_for_this_version() {
    let text = std::fs::read_to_string(root().join("plugin.yaml")).unwrap();
    let plugin = manifest::parse(&text).unwrap();
    assert_eq!(manifest::validate(&plugin, Some("registry.yaml")), Vec::<String>::new());
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(plugin.spec.version, tag);
    let digest_of = |url: &str| {
        let platform = plugin.spec.platforms.iter().find(|p| p.uri == url);
        Ok(platform.map(|p| p.sha256.clone()).unwrap_or_default())
    };
    let template = std::fs::read_to_string(root().join("krew/.krew.yaml")).unwrap();
    let rendered = template::render(&template, &tag, digest_of).unwrap();
    assert_eq!(
        rendered, text,
        "plugin.yaml differs from krew/.krew.yaml rendered for {tag}"
    );
    let mut unique: Vec<&str> = plugin.spec.platforms.iter().map(|p| p.sha256.as_str()).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "one archive per platform");
}

fn kubectl_dir() -> Option<PathBuf> {
    let out = Command::new("sh").args(["-c", "command -v kubectl"]).output().ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    let real = std::fs::canonicalize(&path).ok()?;
    real.parent().map(Path::to_path_buf)
}

#[test]
fn an_emulated_krew_install_runs_under_the_real_kubectl() {
    let (dist, _, plugin) = release();
    let krew_root = tempfile::tempdir().unwrap();
    let archive = dist.path().join(archive::archive_name(TAG, "linux", "amd64"));
    let installed = install::install(plugin, "linux", "amd64", &archive, krew_root.path()).unwrap();
    assert_eq!(installed.link, krew_root.path().join("bin/kubectl-registry"));
    for f in [
        "LICENSE",
        "README.md",
        "kubectl-registry",
        "oc-registry",
        "kubectl_complete-registry",
    ] {
        assert!(installed.install_dir.join(f).exists(), "{f}");
    }
    // The oc-registry executable works when called directly.
    let direct = Command::new(installed.install_dir.join("oc-registry"))
        .args(["version", "-o", "json"])
        .output()
        .unwrap();
    assert!(direct.status.success());
    assert!(String::from_utf8_lossy(&direct.stdout).contains("\"policyAbiVersion\": 1"));
    // The completion helper asks the plugin krew put on PATH, as kubectl would run it.
    let completed = Command::new(installed.install_dir.join("kubectl_complete-registry"))
        .args(["pol"])
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", krew_root.path().join("bin").display()),
        )
        .output()
        .unwrap();
    assert!(
        completed.status.success(),
        "{}",
        String::from_utf8_lossy(&completed.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&completed.stdout), "policy\n:4\n");

    if !crate::support::kubectl_available() {
        return;
    }
    let kubectl = kubectl_dir().expect("kubectl is on PATH");
    let home = tempfile::tempdir().unwrap();
    let path = format!("{}:{}", krew_root.path().join("bin").display(), kubectl.display());
    let kubectl = |args: &[&str]| {
        Command::new("kubectl")
            .args(args)
            .env("PATH", &path)
            .env("HOME", home.path())
            .output()
            .unwrap()
    };
    let list = kubectl(&["plugin", "list"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&list.stdout),
        String::from_utf8_lossy(&list.stderr),
    );
    assert!(list.status.success(), "kubectl plugin list failed: {stdout}{stderr}");
    assert!(stdout.contains("kubectl-registry"), "{stdout}");
    assert!(!stderr.to_lowercase().contains("warning"), "{stderr}");
    let help = kubectl(&["registry", "--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: kubectl registry"));
    let version = kubectl(&["registry", "version"]);
    assert!(version.status.success());
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with(&format!("oc-registry v{}", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn installs_krew_would_refuse_are_refused() {
    let (dist, _, plugin) = release();
    let root = tempfile::tempdir().unwrap();
    let archive = dist.path().join(archive::archive_name(TAG, "linux", "amd64"));
    let mut tampered = std::fs::read(&archive).unwrap();
    let n = tampered.len();
    tampered[n / 2] ^= 0xff;
    let bad = dist.path().join("tampered.tar.gz");
    std::fs::write(&bad, tampered).unwrap();
    let err = install::install(plugin, "linux", "amd64", &bad, root.path())
        .err()
        .unwrap();
    assert!(err.to_string().contains("checksum does not match"), "{err}");
    let err = install::install(plugin, "windows", "amd64", &archive, root.path())
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("does not offer installation for this platform"),
        "{err}"
    );

    // An archive with a symlink, as krew refuses it.
    let with_link = dist.path().join("link.tar.gz");
    {
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            std::fs::File::create(&with_link).unwrap(),
            flate2::Compression::default(),
        ));
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        tar.append_link(&mut header, "kubectl-registry", "/bin/sh").unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    let mut linked = plugin.clone();
    linked.spec.platforms[0].sha256 = archive::sha256_file(&with_link).unwrap();
    let err = install::install(&linked, "linux", "amd64", &with_link, root.path())
        .err()
        .unwrap();
    assert!(err.to_string().contains("unable to handle file type"), "{err}");
}
