//! What the end-to-end tests share: a simulated cluster served on 127.0.0.1, the product run as
//! a process against it, and the real kubectl reading back what it wrote.
#![allow(dead_code)]

pub mod azure;
pub mod google;
pub mod ibmcloud;
pub mod openstack;
pub mod registry;
pub mod services;
pub mod stand_in;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::process::Output;
use std::sync::OnceLock;
use test_apiserver::{ApiServer, Listening, Platform, Settings};

pub const OC_REGISTRY: &str = env!("CARGO_BIN_EXE_oc-registry");

/// Whether the real kubectl is on PATH; without it a test that compares with it is skipped,
/// except under `CI=true`, where it fails.
pub fn kubectl_available() -> bool {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is required under CI=true"
        );
        eprintln!("SKIPPED: kubectl is not on PATH");
    }
    found
}

/// The executable under another of its installed names (`kubectl-registry`,
/// `kubectl_complete-registry`), as the release archive ships it: a link in a directory kept for
/// the whole test run.
pub fn installed_as(name: &str) -> String {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let path = dir.path().join(name);
    if let Err(e) = std::os::unix::fs::symlink(OC_REGISTRY, &path)
        && e.kind() != std::io::ErrorKind::AlreadyExists
    {
        panic!("linking {name}: {e}");
    }
    path.to_string_lossy().into_owned()
}

pub fn cluster(platform: Platform, installed: bool) -> ApiServer {
    let server = ApiServer::new(Settings::default());
    server.seed_openshift(platform).unwrap();
    if installed {
        server.seed_installed_registry(platform).unwrap();
    }
    server
}

pub struct Running {
    pub server: ApiServer,
    pub listening: Listening,
    pub dir: tempfile::TempDir,
    /// On AWS, the cluster's S3: a moto of its own, which `AWS_ENDPOINT_URL_S3` points the
    /// product's calls at. On IBM Cloud, the moto behind COS.
    pub s3: Option<services::Service>,
    /// On IBM Cloud, its APIs, which the Infrastructure's service endpoints name.
    pub ibm: Option<ibmcloud::IbmCloud>,
    /// On GCP, Google's storage and token service, which the cloud credentials' key file and
    /// the product's environment name.
    pub google: Option<google::Google>,
}

pub async fn serve(server: ApiServer) -> Running {
    let listening = server.listen_http(0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    listening
        .write_kubeconfig(&dir.path().join("kubeconfig"), None, None)
        .unwrap();
    let (s3, ibm) = match platform_of(&server).as_deref() {
        Some("IBMCloud") => match ibm_cloud(&server).await {
            Some((moto, ibm)) => (Some(moto), Some(ibm)),
            None => (None, None),
        },
        _ => (cloud_storage(&server).await, None),
    };
    let google = match platform_of(&server).as_deref() {
        Some("GCP") => google_cloud(&server).await,
        _ => None,
    };
    Running {
        server,
        listening,
        dir,
        s3,
        ibm,
        google,
    }
}

/// Google's storage for a simulated GCP cluster: the cloud credentials hold a real key whose
/// token service is the stand-in's, and the bucket the operator created when it installed the
/// registry exists.
async fn google_cloud(server: &ApiServer) -> Option<google::Google> {
    use base64::Engine as _;
    let pem = google::private_key();
    let google = google::Google::start(pem).await?;
    let key = google::key_file(pem, &google.token_uri());
    server
        .seed(serde_json::json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "installer-cloud-credentials", "namespace": "openshift-image-registry"},
            "data": {"service_account.json": base64::engine::general_purpose::STANDARD.encode(&key)}}))
        .unwrap();
    let config = server.object("imageregistry.operator.openshift.io/v1", "Config", "", "cluster");
    if let Some(bucket) = config
        .as_ref()
        .and_then(|c| c.pointer("/spec/storage/gcs/bucket"))
        .and_then(Value::as_str)
    {
        let body = serde_json::json!({"name": bucket}).to_string();
        let url = format!("{}/storage/v1/b?project=sim-project", google.emulator);
        let made = services::http("POST", &url, &[("Content-Type", "application/json")], &body);
        assert_eq!(made.status, 200, "{}", made.body);
    }
    Some(google)
}

fn platform_of(server: &ApiServer) -> Option<String> {
    let infra = server.object("config.openshift.io/v1", "Infrastructure", "", "cluster")?;
    infra
        .pointer("/status/platformStatus/type")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// IBM Cloud's APIs for a simulated IBM Cloud cluster, COS's S3 API on a moto of its own, and
/// the Infrastructure's service endpoints naming them, as a cluster with private endpoints has.
async fn ibm_cloud(server: &ApiServer) -> Option<(services::Service, ibmcloud::IbmCloud)> {
    use base64::Engine as _;
    let moto = services::moto()?;
    let secret = server.object(
        "v1",
        "Secret",
        "openshift-image-registry",
        "installer-cloud-credentials",
    )?;
    let api_key = secret
        .pointer("/data/ibmcloud_api_key")
        .and_then(Value::as_str)
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut infra = server.object("config.openshift.io/v1", "Infrastructure", "", "cluster")?;
    let ibm_status = &mut infra["status"]["platformStatus"]["ibmcloud"];
    let group = ibm_status["resourceGroupName"].as_str().unwrap_or_default().to_string();
    let ibm = ibmcloud::IbmCloud::start(&api_key, &group, &moto.url).await;
    ibm_status["serviceEndpoints"] = serde_json::json!(
        ["IAM", "ResourceController", "ResourceManager", "COS"]
            .iter()
            .map(|name| serde_json::json!({"name": name, "url": ibm.url}))
            .collect::<Vec<_>>()
    );
    server.seed(infra).unwrap();
    Some((moto, ibm))
}

/// The S3 an AWS cluster stores in, with the bucket the operator created when it installed the
/// registry. Without moto (outside CI), AWS clusters have no S3 and their reconciles say so.
async fn cloud_storage(server: &ApiServer) -> Option<services::Service> {
    let infra = server.object("config.openshift.io/v1", "Infrastructure", "", "cluster")?;
    if infra.pointer("/status/platformStatus/type").and_then(Value::as_str) != Some("AWS") {
        return None;
    }
    let moto = services::moto()?;
    let config = server.object("imageregistry.operator.openshift.io/v1", "Config", "", "cluster");
    if let Some(bucket) = config
        .as_ref()
        .and_then(|c| c.pointer("/spec/storage/s3/bucket"))
        .and_then(Value::as_str)
    {
        let name = infra["status"]["infrastructureName"].as_str().unwrap_or_default();
        services::operator_bucket(&services::s3_client(&moto.url), bucket, name).await;
    }
    Some(moto)
}

impl Running {
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Runs a program with this cluster as its kubeconfig and a private HOME.
    /// A program with this cluster as its kubeconfig, a private HOME, and the cluster's S3.
    pub fn command(&self, bin: &str) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(bin);
        if let Some(s3) = &self.s3 {
            // moto serves KMS beside S3.
            command
                .env("AWS_ENDPOINT_URL_S3", &s3.url)
                .env("AWS_ENDPOINT_URL_KMS", &s3.url);
        }
        if let Some(google) = &self.google {
            command.envs(google.env());
        }
        command
            .env("KUBECONFIG", self.kubeconfig())
            .env("HOME", self.dir.path())
            .stdin(std::process::Stdio::null());
        command
    }

    /// A client of the tests' own for the cluster's S3 (moto); `None` when there is none.
    pub fn s3_client(&self) -> Option<aws_sdk_s3::Client> {
        Some(services::s3_client(&self.s3.as_ref()?.url))
    }

    pub async fn run(&self, bin: &str, args: &[&str]) -> Output {
        self.command(bin).args(args).output().await.unwrap()
    }

    pub async fn oc_registry(&self, args: &[&str]) -> Output {
        self.run(OC_REGISTRY, args).await
    }

    /// Runs the product: its exit code, standard output and standard error.
    pub async fn outcome(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.oc_registry(args).await;
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    }

    /// Runs the product, which must exit 0; its standard output.
    pub async fn oc_registry_ok(&self, args: &[&str]) -> String {
        ok(args, self.oc_registry(args).await)
    }

    /// Runs the product with `env` besides the cluster's; it must exit 0. Its standard output.
    pub async fn oc_registry_ok_with(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = self
            .command(OC_REGISTRY)
            .args(args)
            .envs(env.iter().copied())
            .output()
            .await
            .unwrap();
        ok(args, out)
    }
}

/// The standard output of a run that must have exited 0.
fn ok(args: &[&str], out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

impl Running {
    /// What reconcile applied for the registry: its Deployment and private configuration.
    pub async fn applied_registry(&self) -> (Value, Value) {
        let ns = "openshift-image-registry";
        let deployment = self
            .kubectl_get(&["deployment", "image-registry", "-n", ns])
            .await
            .expect("the registry Deployment");
        let secret = self
            .kubectl_get(&["secret", "image-registry-private-configuration", "-n", ns])
            .await
            .expect("the private configuration");
        (deployment, secret)
    }

    /// `kubectl get … -o json`, parsed; `None` when the object does not exist.
    pub async fn kubectl_get(&self, args: &[&str]) -> Option<Value> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let out = self.run("kubectl", &all).await;
        if !out.status.success() {
            let err = text(&out.stderr);
            assert!(err.contains("NotFound"), "kubectl {all:?}: {err}");
            return None;
        }
        Some(serde_json::from_slice(&out.stdout).unwrap())
    }

    pub async fn exists(&self, args: &[&str]) -> bool {
        self.kubectl_get(args).await.is_some()
    }

    /// The registry Config, which must exist.
    pub async fn config(&self) -> Value {
        self.kubectl_get(&["configs.imageregistry.operator.openshift.io", "cluster"])
            .await
            .expect("configs.imageregistry.operator.openshift.io/cluster")
    }

    /// `kubectl patch` of the registry Config with a merge patch, which must succeed.
    pub async fn patch_config(&self, patch: &Value) {
        let out = self.try_patch_config(patch).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }

    /// `kubectl patch` of the registry Config with a merge patch, as it went.
    pub async fn try_patch_config(&self, patch: &Value) -> Output {
        self.kubectl(&[
            "patch",
            "configs.imageregistry.operator.openshift.io",
            "cluster",
            "--type=merge",
            "-p",
            &patch.to_string(),
        ])
        .await
    }

    /// Routes the admission webhook's Service to a free address on 127.0.0.1, returned, where the
    /// reconciler is to serve it.
    pub fn route_webhook(&self) -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        self.server
            .route_service("openshift-image-registry", "oc-registry-webhook", &address);
        address
    }

    pub async fn kubectl(&self, args: &[&str]) -> Output {
        self.run("kubectl", args).await
    }
}

/// The condition `type_` of an object's status, which must be there.
pub fn condition<'c>(object: &'c Value, type_: &str) -> &'c Value {
    object["status"]["conditions"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("no {type_} condition: {:#}", object["status"]))
}

pub fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the example policy crates for wasm32 (once per test run) and returns their directory.
pub fn example_policies() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = workspace().join("target/policies");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--release",
                "--locked",
                "--target",
                "wasm32-unknown-unknown",
                "--manifest-path",
            ])
            .arg(workspace().join("policies/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .args([
                "-p",
                "require-s3-kms",
                "-p",
                "forbid-emptydir",
                "-p",
                "min-prune-age",
                "-p",
                "org-buckets",
            ])
            .env_remove("RUSTFLAGS")
            .status()
            .unwrap();
        assert!(status.success(), "building the example policies");
        target.join("wasm32-unknown-unknown/release")
    })
}

/// Installs the example module that forbids emptyDir storage as the cluster's admission policy.
pub fn forbid_emptydir(server: &ApiServer) {
    let module = std::fs::read(example_policies().join("forbid_emptydir.wasm")).unwrap();
    install_policies(
        server,
        &[("forbid-emptydir", module)],
        "  admission: [forbid-emptydir]\n",
    );
}

/// Installs organisation policy modules in the cluster's policy ConfigMap, with `hooks` (the
/// YAML under `hooks:`, e.g. `  storage: name\n`).
pub fn install_policies(server: &ApiServer, modules: &[(&str, Vec<u8>)], hooks: &str) {
    use base64::Engine as _;
    let mut listed = String::new();
    let mut binary = serde_json::Map::new();
    for (name, bytes) in modules {
        let digest = oc_registry::policy::sha256_hex(bytes);
        listed.push_str(&format!("- name: {name}\n  path: {name}.wasm\n  sha256: {digest}\n"));
        binary.insert(
            format!("{name}.wasm"),
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
        );
    }
    server
        .seed(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "oc-registry-policies", "namespace": "openshift-image-registry"},
            "data": {"policies.yaml": format!("modules:\n{listed}hooks:\n{hooks}")},
            "binaryData": binary,
        }))
        .unwrap();
}

/// A CA certificate, as a registry's CA would be.
pub fn ca_pem() -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Example Registry CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2099, 1, 1);
    params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap().pem()
}

/// `trust add` for registry.example.com:5000; returns the CA.
pub async fn trust_a_registry(running: &Running) -> String {
    trust_a_registry_with(running, &[]).await.0
}

/// `trust add` for registry.example.com:5000 with `extra` arguments; the CA and what the
/// command printed.
pub async fn trust_a_registry_with(running: &Running, extra: &[&str]) -> (String, String) {
    let pem = ca_pem();
    let ca = running.dir.path().join("ca.pem");
    std::fs::write(&ca, &pem).unwrap();
    let mut args = vec![
        "trust",
        "add",
        "registry.example.com:5000",
        "--ca-file",
        ca.to_str().unwrap(),
    ];
    args.extend(extra);
    let printed = running.oc_registry_ok(&args).await;
    (pem, printed)
}

/// `storage credentials set s3` with the keys from the environment, and `extra` arguments.
pub async fn set_s3_credentials(running: &Running, key: &str, secret: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "storage",
        "credentials",
        "set",
        "s3",
        "access-key=env:KEY",
        "secret-key=env:SECRET",
    ];
    args.extend(extra);
    running
        .command(OC_REGISTRY)
        .args(args)
        .env("KEY", key)
        .env("SECRET", secret)
        .output()
        .await
        .unwrap()
}
