//! `test-apiserver`: serves a simulated OpenShift cluster on 127.0.0.1 and writes a kubeconfig for
//! it, so the real `kubectl` and `oc-registry` can be pointed at it.

use anyhow::{Context, Result};
use std::path::PathBuf;
use test_apiserver::{ApiServer, Platform, Settings, TlsProfile};

struct Args {
    platform: Platform,
    port: u16,
    tls: bool,
    kubeconfig: Option<PathBuf>,
    version: String,
    aggregated: bool,
    token: Option<String>,
    installed: bool,
    tls_profile: Option<TlsProfile>,
}

const USAGE: &str = "usage: test-apiserver [--platform NAME] [--port N] [--tls] [--token T]
                      [--kubeconfig FILE] [--server-version vX.Y.Z] [--legacy-discovery] [--fresh]
                      [--tls-profile Old|Intermediate|Modern|Custom]

Serves a simulated OpenShift cluster on 127.0.0.1 until interrupted, with the image registry
as the operator leaves it after installation (--fresh: before the registry was set up).
Platforms: aws, gcp, azure, openstack, openstack-without-swift, ibmcloud, baremetal,
vsphere, none, libvirt (default aws). The cluster's TLS security profile is unset (Intermediate)
unless --tls-profile names one.";

fn parse() -> Result<Args> {
    let mut args = Args {
        platform: Platform::Aws,
        port: 0,
        tls: false,
        kubeconfig: None,
        version: Settings::default().git_version,
        aggregated: true,
        token: None,
        installed: true,
        tls_profile: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value\n\n{USAGE}"));
        match a.as_str() {
            "--platform" => args.platform = value("--platform")?.parse()?,
            "--port" => args.port = value("--port")?.parse().context("--port takes a number")?,
            "--tls" => args.tls = true,
            "--token" => args.token = Some(value("--token")?),
            "--kubeconfig" => args.kubeconfig = Some(value("--kubeconfig")?.into()),
            "--server-version" => args.version = value("--server-version")?,
            "--legacy-discovery" => args.aggregated = false,
            "--fresh" => args.installed = false,
            "--tls-profile" => args.tls_profile = Some(value("--tls-profile")?.parse()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse()?;
    let server = ApiServer::new(Settings {
        git_version: args.version.clone(),
        aggregated_discovery: args.aggregated,
        token: args.token.clone(),
        ..Settings::default()
    });
    server.seed_openshift(args.platform)?;
    if let Some(profile) = args.tls_profile {
        server.seed_tls_profile(profile)?;
    }
    if args.installed {
        server.seed_installed_registry(args.platform)?;
    }
    let listening = if args.tls {
        server.listen_https(args.port).await?
    } else {
        server.listen_http(args.port).await?
    };
    if let Some(path) = &args.kubeconfig {
        listening.write_kubeconfig(path, args.token.as_deref(), None)?;
        eprintln!("kubeconfig written to {}", path.display());
    }
    eprintln!(
        "simulated {} cluster ({}) serving at {}",
        args.platform, args.version, listening.url
    );
    println!("{}", listening.url);
    tokio::signal::ctrl_c().await?;
    Ok(())
}
