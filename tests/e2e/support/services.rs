//! Real services the storage tests start on 127.0.0.1 from what `scripts/setup` installs: moto's
//! S3 server, Azurite, gcp-storage-emulator. Each is stopped when its handle drops. A service that is
//! not installed skips the test with a message, except under `CI=true`, where it fails it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether a missing service fails the test (CI) or skips it.
pub fn required() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Says why a test does not run, or fails it under CI.
pub fn unavailable(what: &str) {
    assert!(!required(), "{what} is required under CI=true: run scripts/setup");
    eprintln!("skipped: {what} is not installed (scripts/setup installs it)");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed (and reaped) on drop.
pub struct Service {
    child: Child,
    pub url: String,
}

impl Service {
    pub fn new(child: Child, url: String) -> Service {
        Service { child, url }
    }

    /// The exit status, once the process has ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `url` answers HTTP at all, or the child exits.
fn wait_for(service: &mut Service, path: &str, within: Duration) {
    let deadline = Instant::now() + within;
    let address = service.url.trim_start_matches("http://").to_string();
    loop {
        if let Ok(Some(status)) = service.child.try_wait() {
            panic!("{} exited before it answered: {status}", service.url);
        }
        if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
            use std::io::{Read, Write};
            let request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n");
            let mut answer = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.starts_with("HTTP/")
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} did not answer within {within:?}",
            service.url
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_for_port(service: &mut Service, port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = service.child.try_wait() {
            panic!("{} exited before it listened: {status}", service.url);
        }
        assert!(
            Instant::now() < deadline,
            "{} did not listen within {within:?}",
            service.url
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Where `scripts/setup` installs Azurite (npm), unless `AZURITE_BLOB` names its executable.
fn azurite_executable() -> std::path::PathBuf {
    if let Some(given) = std::env::var_os("AZURITE_BLOB") {
        return given.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    std::path::Path::new(&home).join(".cache/oc-registry-services/azurite/node_modules/.bin/azurite-blob")
}

/// The account every Azurite serves, and its well-known key (Azurite's documentation gives it).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Azurite's Blob service (npm `azurite`), keeping nothing beyond the test; `None` when it is not
/// installed (outside CI). Its `url` is the account's blob endpoint.
pub fn azurite(data: &std::path::Path) -> Option<Service> {
    azurite_serving(data, AZURITE_ACCOUNT, None)
}

/// Azurite serving the storage account `account` with `key` (base64) instead of its own; its
/// `url` is that account's blob endpoint.
pub fn azurite_with_account(data: &std::path::Path, account: &str, key: &str) -> Option<Service> {
    azurite_serving(data, account, Some(&format!("{account}:{key}")))
}

fn azurite_serving(data: &std::path::Path, account: &str, accounts: Option<&str>) -> Option<Service> {
    let executable = azurite_executable();
    if !executable.exists() {
        unavailable("Azurite (npm azurite)");
        return None;
    }
    let port = free_port();
    let mut command = Command::new(&executable);
    if let Some(accounts) = accounts {
        command.env("AZURITE_ACCOUNTS", accounts);
    }
    let child = command
        .args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--silent",
            "--skipApiVersionCheck",
        ])
        .arg("--location")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting Azurite");
    let mut service = Service {
        child,
        url: format!("http://127.0.0.1:{port}/{account}"),
    };
    wait_for_port(&mut service, port, Duration::from_secs(60));
    Some(service)
}

/// gcp-storage-emulator (PyPI), in memory, or `None` when it is not installed (outside CI). Its
/// `url` is the JSON API's base.
pub fn gcs_emulator() -> Option<Service> {
    let installed = Command::new("python3")
        .args(["-c", "import gcp_storage_emulator"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        unavailable("gcp-storage-emulator (PyPI)");
        return None;
    }
    let port = free_port();
    let child = Command::new("python3")
        .args([
            "-m",
            "gcp_storage_emulator",
            "start",
            "--host",
            "127.0.0.1",
            "--in-memory",
            "--quiet",
        ])
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting gcp-storage-emulator");
    let mut service = Service {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    wait_for(&mut service, "/storage/v1/b/none", Duration::from_secs(60));
    Some(service)
}

/// moto's server (S3, STS, KMS), or `None` when moto is not installed (outside CI).
pub fn moto() -> Option<Service> {
    start_moto(None, &[])
}

/// moto checking every request's signature and permissions against its own IAM, as AWS does:
/// keys it did not issue are refused.
pub fn moto_checking_credentials() -> Option<Service> {
    start_moto(None, &[("INITIAL_NO_AUTH_ACTION_COUNT", "0")])
}

/// moto serving HTTPS with `cert` and `key` (PEM files).
pub fn moto_tls(cert: &std::path::Path, key: &std::path::Path) -> Option<Service> {
    start_moto(Some((cert, key)), &[])
}

fn start_moto(tls: Option<(&std::path::Path, &std::path::Path)>, env: &[(&str, &str)]) -> Option<Service> {
    let installed = Command::new("python3")
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        unavailable("moto (PyPI moto[server])");
        return None;
    }
    let port = free_port();
    let mut command = Command::new("python3");
    command.args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()]);
    if let Some((cert, key)) = tls {
        command.arg("-s").arg("-c").arg(cert).arg("-k").arg(key);
    }
    let child = command
        .envs(env.iter().copied())
        .env_remove("AWS_CA_BUNDLE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting moto");
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut service = Service {
        child,
        url: format!("{scheme}://127.0.0.1:{port}"),
    };
    if tls.is_some() {
        // A TLS server answers a plain request with an error, which is an answer all the same.
        wait_for_port(&mut service, port, Duration::from_secs(60));
    } else {
        wait_for(&mut service, "/moto-api/", Duration::from_secs(60));
    }
    Some(service)
}

/// An S3 client of the tests' own, to prepare and read back what the product does.
pub fn s3_client(url: &str) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .force_path_style(true)
        .credentials_provider(Credentials::new("AKIASIMULATED0000001", "any", None, None, "test"))
        .http_client(http)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Puts a few bytes at each of `keys` in `bucket`, as images the registry stored.
pub async fn put_objects(client: &aws_sdk_s3::Client, bucket: &str, keys: &[&str]) {
    for key in keys {
        client
            .put_object()
            .bucket(bucket)
            .key(*key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"layer"))
            .send()
            .await
            .unwrap();
    }
}

/// Creates `bucket` as the Image Registry Operator leaves it: tagged as the cluster's.
pub async fn operator_bucket(client: &aws_sdk_s3::Client, bucket: &str, infrastructure_name: &str) {
    use aws_sdk_s3::types::{Tag, Tagging};
    client.create_bucket().bucket(bucket).send().await.unwrap();
    let tags = [
        (
            format!("kubernetes.io/cluster/{infrastructure_name}"),
            "owned".to_string(),
        ),
        ("Name".to_string(), format!("{infrastructure_name}-image-registry")),
    ];
    let set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().unwrap())
        .collect();
    client
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(Tagging::builder().set_tag_set(Some(set)).build().unwrap())
        .send()
        .await
        .unwrap();
}

/// An HTTP answer: status, headers (names lower-case), body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.0 request to `url` (`http://127.0.0.1:PORT/…`): the tests' own look at what the
/// product did.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let rest = url.strip_prefix("http://").unwrap();
    let (address, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {address}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}
