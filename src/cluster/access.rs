//! Resolves which server, user and namespace to use the way kubectl does: `--kubeconfig` alone,
//! else the merged `KUBECONFIG` list, else `~/.kube/config`, else the in-cluster service account;
//! then `--context`, `--cluster`, `--user` select entries and `--server`, `--token`,
//! `--insecure-skip-tls-verify` override them.

use anyhow::{Context, Result, anyhow, bail};
use kube::config::{KubeConfigOptions, Kubeconfig};
use secrecy::SecretString;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// kubectl's connection flags. Empty strings count as unset, as they do for kubectl.
#[derive(Clone, Debug, Default)]
pub struct AccessOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub server: Option<String>,
    pub token: Option<String>,
    pub insecure_skip_tls_verify: bool,
    pub request_timeout: Option<Duration>,
    pub namespace: Option<String>,
}

/// The resolved connection.
pub struct Access {
    pub config: kube::Config,
    /// `--request-timeout` as given (`None`: not given, so the default bound applies).
    pub request_timeout: Option<Duration>,
    pub namespace: String,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
}

fn set(s: &Option<String>) -> Option<String> {
    s.clone().filter(|v| !v.is_empty())
}

pub const USER_AGENT: &str = concat!("oc-registry/", env!("CARGO_PKG_VERSION"));

/// Where kubeconfig files are looked for: the `KUBECONFIG` list and the home directory.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    pub kubeconfig: Option<OsString>,
    pub home: Option<PathBuf>,
}

impl Environment {
    pub fn current() -> Self {
        Environment {
            kubeconfig: std::env::var_os("KUBECONFIG"),
            home: std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from),
        }
    }

    /// The files of the `KUBECONFIG` list that exist, in order (kubectl skips missing ones).
    fn kubeconfig_list(&self) -> Vec<PathBuf> {
        self.kubeconfig
            .as_ref()
            .map(|v| {
                std::env::split_paths(v)
                    .filter(|p| !p.as_os_str().is_empty() && p.exists())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Reads one kubeconfig file; a file that cannot be read is said once, as kubectl says it.
fn read(path: &Path) -> Result<Kubeconfig> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        };
        anyhow!("stat {}: {why}", path.display())
    })?;
    Kubeconfig::from_yaml(&text).with_context(|| format!("reading kubeconfig {}", path.display()))
}

impl AccessOptions {
    /// The kubeconfig kubectl would read, if any: `--kubeconfig` alone, else the `KUBECONFIG`
    /// files merged (the first to define a name wins), else `~/.kube/config`.
    fn load_kubeconfig(&self, env: &Environment) -> Result<Option<Kubeconfig>> {
        if let Some(path) = &self.kubeconfig {
            return read(path).map(Some);
        }
        let list = env.kubeconfig_list();
        if !list.is_empty() {
            let mut merged = Kubeconfig::default();
            for path in &list {
                merged = merged
                    .merge(read(path)?)
                    .with_context(|| format!("merging kubeconfig {}", path.display()))?;
            }
            return Ok(Some(merged));
        }
        match env.home.as_ref().map(|h| h.join(".kube").join("config")) {
            Some(path) if path.exists() => read(&path).map(Some),
            _ => Ok(None),
        }
    }

    /// Resolves against the process environment.
    pub async fn resolve(&self) -> Result<Access> {
        self.resolve_in(&Environment::current()).await
    }

    pub async fn resolve_in(&self, env: &Environment) -> Result<Access> {
        let mut access = match self.load_kubeconfig(env)? {
            Some(kc) => self.with_kubeconfig(kc).await?,
            None => self.without_kubeconfig()?,
        };
        self.apply_overrides(&mut access)?;
        Ok(access)
    }

    async fn with_kubeconfig(&self, kc: Kubeconfig) -> Result<Access> {
        let context_name = set(&self.context).or_else(|| set(&kc.current_context));
        let context = match &context_name {
            Some(name) => Some(
                kc.contexts
                    .iter()
                    .find(|c| &c.name == name)
                    .and_then(|c| c.context.clone())
                    .ok_or_else(|| anyhow!("context was not found for specified context: {name}"))?,
            ),
            None => None,
        };
        let cluster =
            set(&self.cluster).or_else(|| context.as_ref().map(|c| c.cluster.clone()).filter(|c| !c.is_empty()));
        let user = set(&self.user).or_else(|| context.as_ref().and_then(|c| c.user.clone()).filter(|u| !u.is_empty()));
        let namespace = set(&self.namespace)
            .or_else(|| {
                context
                    .as_ref()
                    .and_then(|c| c.namespace.clone())
                    .filter(|n| !n.is_empty())
            })
            .unwrap_or_else(|| "default".to_string());
        let config = match (&context_name, &cluster) {
            (Some(_), _) => {
                let options = KubeConfigOptions {
                    context: context_name.clone(),
                    cluster: cluster.clone(),
                    user: user.clone(),
                };
                kube::Config::from_custom_kubeconfig(kc, &options)
                    .await
                    .context("loading kubeconfig")?
            }
            (None, _) if self.server.is_some() => kube::Config::new(self.server_uri()?),
            (None, _) => bail!(
                "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable"
            ),
        };
        Ok(Access {
            config,
            request_timeout: None,
            namespace,
            context: context_name,
            cluster,
            user,
        })
    }

    fn without_kubeconfig(&self) -> Result<Access> {
        if set(&self.server).is_some() {
            return Ok(Access {
                config: kube::Config::new(self.server_uri()?),
                request_timeout: None,
                namespace: set(&self.namespace).unwrap_or_else(|| "default".into()),
                context: None,
                cluster: None,
                user: None,
            });
        }
        let config = kube::Config::incluster().map_err(|_| {
            anyhow!("invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable")
        })?;
        let namespace = set(&self.namespace).unwrap_or_else(|| config.default_namespace.clone());
        Ok(Access {
            config,
            request_timeout: None,
            namespace,
            context: None,
            cluster: None,
            user: None,
        })
    }

    fn server_uri(&self) -> Result<http::Uri> {
        let server = set(&self.server).unwrap_or_default();
        server.parse().with_context(|| {
            format!("invalid --server {server:?}: expected a URL such as https://api.example.com:6443")
        })
    }

    fn apply_overrides(&self, access: &mut Access) -> Result<()> {
        let config = &mut access.config;
        if set(&self.server).is_some() {
            config.cluster_url = self.server_uri()?;
        }
        if let Some(token) = set(&self.token) {
            let auth = &mut config.auth_info;
            auth.token = Some(SecretString::from(token));
            auth.token_file = None;
            auth.exec = None;
            auth.auth_provider = None;
            auth.username = None;
            auth.password = None;
        }
        if self.insecure_skip_tls_verify {
            config.accept_invalid_certs = true;
            config.root_cert = None;
        }
        access.request_timeout = self.request_timeout;
        let config = &mut access.config;
        if let Some(t) = self.request_timeout.filter(|t| !t.is_zero()) {
            config.read_timeout = Some(t);
            config.write_timeout = Some(t);
            config.connect_timeout = Some(t.min(config.connect_timeout.unwrap_or(t)));
        }
        config
            .headers
            .push((http::header::USER_AGENT, http::HeaderValue::from_static(USER_AGENT)));
        // Retries are decided per operation (bounded, visible), not by a blanket 15-try layer.
        config.default_retry = false;
        Ok(())
    }
}

/// Parses kubectl's `--request-timeout`: `0` (none), a bare number of seconds, or a duration with a
/// unit (`30s`, `1m`, `1h`, `1m30s`, `500ms`).
pub fn parse_request_timeout(value: &str) -> Result<Duration> {
    let invalid =
        || anyhow!("invalid --request-timeout {value:?}: use a number of seconds or a duration such as 30s, 1m or 1h");
    if let Ok(secs) = value.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = value;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(invalid)?;
        let number: f64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        total += Duration::from_secs_f64(number * scale);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeout_forms() {
        assert_eq!(parse_request_timeout("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_request_timeout("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_request_timeout("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_request_timeout("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_request_timeout("soon").is_err());
        assert!(parse_request_timeout("5x").is_err());
    }
}
