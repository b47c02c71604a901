//! `info`: the integrated registry's hostname, as `oc registry info` prints it — public when there
//! is one, else internal — read from images.config.openshift.io/cluster, which the image streams'
//! repositories are derived from (so it works before any image stream exists).

use super::{Failure, Session};
use crate::api::{CLUSTER, Config, Image};
use crate::commands::Context;
use crate::commands::output::{self, Format};
use crate::registry_api::{self, Answer};
use anyhow::Result;
use clap::Args;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Print the public hostname (an error when the registry has none)
    #[arg(long, conflicts_with = "internal")]
    pub public: bool,
    /// Print the internal hostname
    #[arg(long)]
    pub internal: bool,
    /// Also check that the registry answers on that hostname
    #[arg(long)]
    pub check: bool,
    /// With --check: do not verify the registry's certificate (and allow plain HTTP)
    #[arg(long)]
    pub insecure: bool,
    /// Print nothing; the exit status says whether the hostname is known (and, with --check, answers)
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Output format: both hostnames as data
    #[arg(short = 'o', long, value_name = "FORMAT", conflicts_with = "quiet")]
    pub output: Option<Format>,
}

/// The registry's hostnames.
#[derive(Debug, Default, Serialize)]
pub struct Hosts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public: Option<String>,
}

impl Hosts {
    /// Public when there is one, else internal; and whether it is the public one.
    pub fn preferred(&self) -> Option<(&str, bool)> {
        self.public
            .as_deref()
            .map(|h| (h, true))
            .or(self.internal.as_deref().map(|h| (h, false)))
    }
}

pub async fn hosts(session: &Session) -> Result<Hosts> {
    let image = kube::Api::<Image>::all(session.client.clone())
        .get_opt(CLUSTER)
        .await
        .map_err(|e| anyhow::anyhow!(session.describe(&e)))?;
    let status = image.and_then(|i| i.status).unwrap_or_default();
    let hosts = Hosts {
        internal: status.internal_registry_hostname.filter(|h| !h.is_empty()),
        public: status
            .external_registry_hostnames
            .unwrap_or_default()
            .into_iter()
            .find(|h| !h.is_empty()),
    };
    if hosts.internal.is_none() && hosts.public.is_none() {
        return Err(failure(
            "the integrated registry has not been configured (check with `oc-registry status`)",
        ));
    }
    Ok(hosts)
}

/// Why there is no public hostname, and what gives it one: the default route when it is off,
/// else the reconcile that publishes the route's host.
async fn no_public_hostname(session: &Session) -> String {
    let config = kube::Api::<Config>::all(session.client.clone()).get_opt(CLUSTER).await;
    match config.ok().flatten().and_then(|c| c.spec.default_route) {
        Some(true) => "registry does not have public hostname yet: the default route is enabled, and its host is \
             published once the route is admitted (run `oc-registry reconcile`, then check `oc-registry status`)"
            .into(),
        _ => "registry does not have public hostname (give it one: oc-registry set default-route true)".into(),
    }
}

fn failure(message: &str) -> anyhow::Error {
    Failure {
        message: message.into(),
        code: 1,
    }
    .into()
}

pub async fn run(cx: &Context, args: &InfoArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let hosts = hosts(session).await?;
    if let Some(format) = Format::machine(args.output.as_ref()) {
        print!("{}", output::render(&hosts, format)?);
        return Ok(ExitCode::SUCCESS);
    }
    let (host, public) = if args.public {
        let Some(host) = hosts.public.as_deref() else {
            return Err(failure(&no_public_hostname(session).await));
        };
        (host, true)
    } else if args.internal {
        (
            hosts
                .internal
                .as_deref()
                .ok_or_else(|| failure("registry does not have an internal hostname"))?,
            false,
        )
    } else {
        hosts.preferred().expect("one hostname is known")
    };
    if args.check {
        if !public && !args.internal {
            eprintln!("info: Registry does not have a public hostname");
        }
        match registry_api::ping(host, None, args.insecure).await {
            Ok(Answer::Accepted | Answer::Unauthorized) => {}
            Err(e) => return Err(failure(&format!("unable to ping registry {host}: {e}"))),
        }
    }
    if !args.quiet {
        println!("{host}");
    }
    Ok(ExitCode::SUCCESS)
}
