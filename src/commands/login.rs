//! `login`: saves credentials for the integrated registry in a container tools' auth file, as
//! `oc registry login` does: the session's token (or a service account's, or a user and password),
//! checked against the registry unless told not to, merged into `auths` with mode 0600.

use super::info::hosts;
use super::{Failure, Session};
use crate::commands::Context;
use crate::registry_api::{self, Answer};
use anyhow::{Context as _, Result};
use base64::Engine as _;
use clap::Args;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::api::PostParams;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry's host (and optional path) to log in to (default: the integrated registry's)
    #[arg(long, value_name = "HOST")]
    pub registry: Option<String>,
    /// Log in as this service account of the namespace, with its token
    #[arg(short = 'z', long, value_name = "NAME", conflicts_with = "auth_basic")]
    pub service_account: Option<String>,
    /// Log in with a user name and password instead of a token
    #[arg(long, value_name = "USER:PASSWORD")]
    pub auth_basic: Option<String>,
    /// The auth file to write ("-" for standard output); default ~/.docker/config.json
    #[arg(long = "to", short = 'a', visible_alias = "registry-config", value_name = "FILE")]
    pub to: Option<PathBuf>,
    /// Do not check the credentials against the registry
    #[arg(long)]
    pub skip_check: bool,
    /// When checking, do not verify the registry's certificate (and allow plain HTTP)
    #[arg(long)]
    pub insecure: bool,
}

fn failure(message: String) -> anyhow::Error {
    Failure { message, code: 1 }.into()
}

pub async fn run(cx: &Context, args: &LoginArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let (user, password) = credentials(session, args).await?;
    let host = match &args.registry {
        Some(h) => h.clone(),
        None => {
            let hosts = hosts(session).await?;
            let (host, public) = hosts.preferred().expect("one hostname is known");
            if !public {
                eprintln!("info: Using internal registry hostname {host}");
            }
            host.to_string()
        }
    };
    if !args.skip_check {
        let registry_host = host.split('/').next().unwrap_or(&host);
        match registry_api::ping(registry_host, Some((&user, &password)), args.insecure).await {
            Ok(Answer::Accepted) => {}
            Ok(Answer::Unauthorized) => {
                return Err(failure(format!(
                    "the registry {registry_host} refused the credentials of {user}"
                )));
            }
            Err(e) => {
                return Err(failure(format!(
                    "unable to check your credentials with {registry_host} (pass --skip-check to save them anyway): {e}"
                )));
            }
        }
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let target = match &args.to {
        Some(p) => p.clone(),
        None => default_auth_file()?,
    };
    if target.as_os_str() == "-" {
        // Asked for explicitly: the credentials go to standard output.
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"auths": {&host: {"auth": auth}}}))?
        );
    } else {
        save(&target, &host, &auth)?;
    }
    eprintln!("Saved credentials for {host}");
    Ok(ExitCode::SUCCESS)
}

async fn credentials(session: &Session, args: &LoginArgs) -> Result<(String, String)> {
    if let Some(basic) = &args.auth_basic {
        let (user, password) = basic
            .split_once(':')
            .filter(|(u, p)| !u.is_empty() && !p.is_empty())
            .ok_or_else(|| failure("--auth-basic: give USER:PASSWORD".into()))?;
        return Ok((user.into(), password.into()));
    }
    if let Some(sa) = &args.service_account {
        let namespace = &session.access.namespace;
        let token = service_account_token(session, namespace, sa).await?;
        return Ok((format!("system-serviceaccount-{namespace}-{sa}"), token));
    }
    let auth = &session.access.config.auth_info;
    let token = match (&auth.token, &auth.token_file) {
        (Some(t), _) => t.expose_secret().to_string(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("reading the token file {file}"))?
            .trim()
            .to_string(),
        (None, None) => {
            return Err(failure(
                "no token is currently in use for this session (log in with a token, or use -z SERVICE-ACCOUNT or --auth-basic)"
                    .into(),
            ));
        }
    };
    Ok(("user".into(), token))
}

/// A token of the service account: issued through the TokenRequest API (clusters since
/// Kubernetes 1.24 create no token Secrets), or, where the API server lacks it, read from the
/// account's token Secret.
async fn service_account_token(session: &Session, namespace: &str, account: &str) -> Result<String> {
    let accounts = kube::Api::<ServiceAccount>::namespaced(session.client.clone(), namespace);
    let request = TokenRequest {
        spec: TokenRequestSpec::default(),
        ..TokenRequest::default()
    };
    let post = PostParams::default();
    match crate::cluster::retry(|| accounts.create_token_request(account, &post, &request)).await {
        Ok(issued) => {
            let status = issued.status.context("the TokenRequest was answered without a token")?;
            eprintln!(
                "info: the token issued for {namespace}/{account} expires at {}",
                status.expiration_timestamp.0
            );
            return Ok(status.token);
        }
        Err(kube::Error::Api(s)) if s.code == 404 && s.details.as_ref().is_some_and(|d| d.name == account) => {
            return Err(failure(format!(
                "service account {namespace}/{account} not found (give its namespace with -n)"
            )));
        }
        // An API server without the TokenRequest API: the token Secret, as clusters before 1.24
        // made one.
        Err(kube::Error::Api(s)) if matches!(s.code, 404 | 405) => {}
        Err(e) => return Err(anyhow::anyhow!(session.describe(&e))),
    }
    let secrets = kube::Api::<Secret>::namespaced(session.client.clone(), namespace);
    let tokens = kube::api::ListParams::default().fields("type=kubernetes.io/service-account-token");
    let list = crate::cluster::retry(|| secrets.list(&tokens))
        .await
        .map_err(|e| anyhow::anyhow!(session.describe(&e)))?;
    let token = list
        .items
        .iter()
        .filter(|s| {
            s.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .is_some_and(|n| n == account)
        })
        .find_map(|s| s.data.as_ref()?.get("token").map(|t| t.0.clone()))
        .ok_or_else(|| {
            failure(format!(
                "service account {namespace}/{account} has no token: the server offers no TokenRequest API and no \
                 token Secret (kubernetes.io/service-account-token) names the account"
            ))
        })?;
    String::from_utf8(token).context("the service account token is not text")
}

fn default_auth_file() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set: give the auth file with --to")?;
    Ok(PathBuf::from(home).join(".docker").join("config.json"))
}

/// Merges one entry into the auth file's `auths`, keeping everything else, with mode 0600.
fn save(path: &std::path::Path, host: &str, auth: &str) -> Result<()> {
    let mut file: Value = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if !file.is_object() {
        anyhow::bail!("{} is not a JSON object", path.display());
    }
    if !file.get("auths").is_some_and(Value::is_object) {
        file["auths"] = json!({});
    }
    file["auths"][host] = json!({"auth": auth});
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&file)? + "\n";
    write_private(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

/// Replaces the file whole (a new file, private from its creation, renamed over the old one), so a
/// reader sees the old file or the new one, never a part; and never writes through a symbolic
/// link, which could send the credentials anywhere.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        let target = std::fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        return Err(std::io::Error::other(format!(
            "it is a symbolic link (to {target}); refusing to write credentials through it: give the file itself with --to"
        )));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    // tempfile creates the file with mode 0600 on Unix.
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
