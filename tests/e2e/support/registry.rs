//! The real registry (Debian's `docker-registry`, CNCF distribution 2.8) run with the environment
//! the rendered Deployment gives its container, and `skopeo` pushing and pulling an image built
//! here as an OCI layout. The harness changes only what a process on this machine cannot take as
//! the pod does — each mapping is listed in `environment`.

use super::services::{Service, free_port, unavailable};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the registry and skopeo are here (a skip outside CI when not).
pub fn available() -> bool {
    let here = installed("docker-registry") && installed("skopeo");
    if !here {
        unavailable("the distribution registry and skopeo (Debian docker-registry, skopeo)");
    }
    here
}

/// The registry container's environment in `deployment`, each Secret reference read from
/// `secret` (image-registry-private-configuration).
fn container_env(deployment: &Value, secret: &Value) -> Vec<(String, String)> {
    let container = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "registry")
        .expect("the registry container");
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_string();
            let value = match e.pointer("/valueFrom/secretKeyRef/key").and_then(Value::as_str) {
                Some(key) => String::from_utf8(secret_value(secret, key)).unwrap(),
                None => e["value"].as_str().unwrap_or_default().to_string(),
            };
            (name, value)
        })
        .collect()
}

/// Where the registry of one test keeps its files.
pub struct Place {
    pub dir: PathBuf,
    pub port: u16,
}

/// The Deployment's environment, with the mappings a process here needs:
/// - `REGISTRY_HTTP_ADDR` `:5000` → 127.0.0.1 and a free port (tests listen on loopback only);
/// - `REGISTRY_HTTP_TLS_CERTIFICATE`/`_KEY` (the service CA's Secret, mounted at /etc/secrets) → a
///   certificate generated here for 127.0.0.1;
/// - `REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY` `/registry` (the claim or emptyDir) → a directory;
/// - `REGISTRY_STORAGE_S3_CREDENTIALSCONFIGPATH` (an OpenShift addition the upstream registry
///   ignores) → `AWS_SHARED_CREDENTIALS_FILE` naming the same file, written from the Secret;
/// - on AWS, whose S3 here is moto, `REGISTRY_STORAGE_S3_REGIONENDPOINT` → moto's address (as
///   `AWS_ENDPOINT_URL_S3` does for oc-registry);
/// - `AWS_CA_BUNDLE` removed (this machine's, which the S3 driver would load).
pub fn environment(deployment: &Value, secret: &Value, place: &Place, s3: Option<&str>) -> Vec<(String, String)> {
    let mut env = container_env(deployment, secret);
    let (cert, key) = certificate(&place.dir);
    for (name, value) in env.iter_mut() {
        match name.as_str() {
            "REGISTRY_HTTP_ADDR" => *value = format!("127.0.0.1:{}", place.port),
            "REGISTRY_HTTP_TLS_CERTIFICATE" => *value = cert.display().to_string(),
            "REGISTRY_HTTP_TLS_KEY" => *value = key.display().to_string(),
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY" => {
                let root = place.dir.join("storage");
                std::fs::create_dir_all(&root).unwrap();
                *value = root.display().to_string();
            }
            _ => {}
        }
    }
    let credentials_path = env
        .iter()
        .find(|(n, _)| n == "REGISTRY_STORAGE_S3_CREDENTIALSCONFIGPATH")
        .map(|(_, v)| v.clone());
    if let Some(path) = credentials_path {
        // The file the pod mounts from the private configuration Secret's `credentials` key.
        assert!(path.ends_with("/credentials"), "{path}");
        let file = place.dir.join("credentials");
        std::fs::write(&file, secret_value(secret, "credentials")).unwrap();
        env.push(("AWS_SHARED_CREDENTIALS_FILE".into(), file.display().to_string()));
    }
    if let Some(endpoint) = s3
        && !env.iter().any(|(n, _)| n == "REGISTRY_STORAGE_S3_REGIONENDPOINT")
    {
        env.push(("REGISTRY_STORAGE_S3_REGIONENDPOINT".into(), endpoint.to_string()));
    }
    env
}

fn secret_value(secret: &Value, key: &str) -> Vec<u8> {
    use base64::Engine as _;
    let encoded = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in the Secret"));
    base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()
}

/// A self-signed certificate for 127.0.0.1, and its key.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    // skopeo trusts the CAs in a directory of *.crt files.
    let trust = dir.join("trust");
    std::fs::create_dir_all(&trust).unwrap();
    std::fs::write(trust.join("ca.crt"), cert.pem()).unwrap();
    (cert_path, key_path)
}

/// Starts the registry with exactly `env` (and no other environment) and waits for `/v2/`.
pub fn start(env: &[(String, String)], place: &Place) -> Service {
    let config = place.dir.join("config.yml");
    // Everything else comes from the environment, as in the pod.
    std::fs::write(&config, "version: 0.1\n").unwrap();
    let log = std::fs::File::create(place.dir.join("registry.log")).unwrap();
    let mut command = Command::new("docker-registry");
    command
        .arg("serve")
        .arg(&config)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().expect("starting docker-registry");
    let mut service = Service::new(child, format!("https://127.0.0.1:{}", place.port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", place.port)).is_err() {
        if let Some(status) = service.exited() {
            panic!("the registry exited ({status}): {}", log_of(place));
        }
        assert!(
            Instant::now() < deadline,
            "the registry did not listen: {}",
            log_of(place)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    service
}

/// Pushes an image to a registry started from `deployment`'s environment and `secret` (the
/// private configuration) in `dir`, pulls it back, and checks the digest; where it ran.
pub fn push_and_pull(deployment: &Value, secret: &Value, s3: Option<&str>, dir: &Path) -> Place {
    let place = place(dir);
    let env = environment(deployment, secret, &place, s3);
    let _registry = start(&env, &place);
    let image = dir.join("image");
    let digest = oci_image(&image);
    let remote = format!("docker://127.0.0.1:{}/demo/hello:v1", place.port);
    skopeo_copy(&place, &format!("oci:{}:v1", image.display()), &remote);
    let back = dir.join("back");
    skopeo_copy(&place, &remote, &format!("oci:{}:v1", back.display()));
    assert_eq!(layout_digest(&back), digest, "the same image back");
    place
}

pub fn log_of(place: &Place) -> String {
    std::fs::read_to_string(place.dir.join("registry.log")).unwrap_or_default()
}

pub fn place(dir: &Path) -> Place {
    Place {
        dir: dir.to_path_buf(),
        port: free_port(),
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// A one-layer image as an OCI layout directory; returns its manifest's digest.
pub fn oci_image(dir: &Path) -> String {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let write_blob = |bytes: &[u8]| -> String {
        let digest = sha256(bytes);
        std::fs::write(blobs.join(digest.trim_start_matches("sha256:")), bytes).unwrap();
        digest
    };
    // The layer: one file, as a gzipped tar.
    let mut tar = tar::Builder::new(Vec::new());
    let content = b"stored and served by the registry oc-registry configured\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, "hello.txt", &content[..]).unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let layer = gz.finish().unwrap();
    let layer_digest = write_blob(&layer);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha256(&tar)]},
    }))
    .unwrap();
    let config_digest = write_blob(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}],
    }))
    .unwrap();
    let manifest_digest = write_blob(&manifest);
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
                           "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "v1"}}],
        }))
        .unwrap(),
    )
    .unwrap();
    manifest_digest
}

/// `skopeo copy`, trusting the registry's certificate; panics with skopeo's output on failure.
pub fn skopeo_copy(place: &Place, from: &str, to: &str) {
    let trust = place.dir.join("trust");
    let out = Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--src-cert-dir"])
        .arg(&trust)
        .arg("--dest-cert-dir")
        .arg(&trust)
        .args([from, to])
        .env_remove("AWS_CA_BUNDLE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy {from} {to}: {}{}\nregistry log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        log_of(place)
    );
}

/// The digest of the manifest an OCI layout's index names.
pub fn layout_digest(dir: &Path) -> String {
    let index: Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_string()
}
