//! `trust add|remove|list`: the CAs the cluster trusts for other registries, kept in a ConfigMap
//! in openshift-config named by `images.config.openshift.io/cluster` `spec.additionalTrustedCA`.

use super::change::WriteArgs;
use super::{Session, dry_run_suffix, invalid};
use crate::api::OPENSHIFT_CONFIG as NAMESPACE;
use crate::api::{CLUSTER, Image};
use crate::commands::Context;
use crate::commands::output::{self, Format};
use crate::configure::trust::{self, CertificateInfo, DEFAULT_CONFIGMAP};
use crate::configure::write::{Change, create, patch_with_precondition};
use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::ObjectMeta;
use serde::Serialize;
use serde_json::json;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Trust a CA for a registry: HOST[:PORT] and a PEM file of CA certificates
    Add(AddArgs),
    /// Stop trusting the CA configured for a registry
    Remove(RemoveArgs),
    /// List the registries with additional trusted CAs, their certificates and expiry
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The registry, as images name it: registry.example.com or registry.example.com:5000
    #[arg(value_name = "HOST[:PORT]")]
    pub host: String,
    /// PEM file with the CA certificate(s) that signed the registry's certificate ("-" for stdin)
    #[arg(long, value_name = "FILE")]
    pub ca_file: PathBuf,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    #[arg(value_name = "HOST[:PORT]")]
    pub host: String,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format: json, yaml, name, wide or jsonpath=TEMPLATE (a table when omitted)
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
}

pub async fn run(cx: &Context, command: &TrustCommand) -> Result<ExitCode> {
    match command {
        TrustCommand::Add(args) => add(cx, args).await,
        TrustCommand::Remove(args) => remove(cx, args).await,
        TrustCommand::List(args) => list(cx, args).await,
    }
}

/// The registries trusted now: the hosts of the keys of the ConfigMap the Image config names.
pub(crate) async fn trusted_hosts(session: &Session) -> Result<Vec<String>> {
    let Some(name) = configured_name(session).await? else {
        return Ok(Vec::new());
    };
    let map = Api::<ConfigMap>::namespaced(session.client.clone(), NAMESPACE)
        .get_opt(&name)
        .await
        .map_err(|e| anyhow::anyhow!(session.describe(&e)))?;
    let keys = map.map(|m| {
        let data = m.data.unwrap_or_default().into_keys();
        data.chain(m.binary_data.unwrap_or_default().into_keys())
            .collect::<Vec<_>>()
    });
    Ok(keys.unwrap_or_default().iter().map(|k| trust::key_host(k)).collect())
}

/// The ConfigMap the Image config names, if it names one.
async fn configured_name(session: &Session) -> Result<Option<String>> {
    let images = Api::<Image>::all(session.client.clone());
    let image = images
        .get_opt(CLUSTER)
        .await
        .map_err(|e| anyhow::anyhow!(session.describe(&e)))?;
    Ok(image
        .and_then(|i| i.spec.additional_trusted_ca)
        .map(|r| r.name)
        .filter(|n| !n.is_empty()))
}

async fn add(cx: &Context, args: &AddArgs) -> Result<ExitCode> {
    // Everything is checked before anything is written.
    let key = trust::host_key(&args.host).map_err(invalid)?;
    let pem = if args.ca_file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the CA bundle from standard input")?;
        s
    } else {
        std::fs::read_to_string(&args.ca_file)
            .map_err(|e| invalid(format!("--ca-file {}: {e}", args.ca_file.display())))?
    };
    let (certs, warnings) =
        trust::check_bundle(&pem).map_err(|e| invalid(format!("--ca-file {}: {e}", args.ca_file.display())))?;
    for w in &warnings {
        eprintln!("Warning: {w}");
    }
    let mode = args.write.mode();
    let machine = Format::machine(args.write.output.as_ref());
    let session = cx.session().await?;
    let describe = |e: kube::Error| anyhow::anyhow!(session.describe(&e));
    let named = configured_name(session).await?;
    let name = named.clone().unwrap_or_else(|| DEFAULT_CONFIGMAP.to_string());
    let maps = Api::<ConfigMap>::namespaced(session.client.clone(), NAMESPACE);

    let existing = maps.get_opt(&name).await.map_err(describe)?;
    let (map, verb) = if existing.is_none() {
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(NAMESPACE.into()),
                ..ObjectMeta::default()
            },
            data: Some([(key.clone(), pem.clone())].into_iter().collect()),
            ..ConfigMap::default()
        };
        (create(&maps, &cm, mode).await.map_err(describe)?, "created")
    } else {
        let written = patch_with_precondition(&maps, &name, mode, async |cm: &ConfigMap| {
            let current = cm.data.as_ref().and_then(|d| d.get(&key));
            Ok::<_, kube::Error>(if current == Some(&pem) {
                Change::Unchanged
            } else {
                Change::Patch(json!({"data": {&key: &pem}}))
            })
        })
        .await
        .map_err(describe)?;
        let verb = if written.changed { "configured" } else { "unchanged" };
        (written.object, verb)
    };
    if machine.is_none() {
        println!(
            "configmap/{name} {verb}{} (namespace {NAMESPACE})",
            dry_run_suffix(mode)
        );
    }

    if named.is_none() {
        let images = Api::<Image>::all(session.client.clone());
        let wrote = patch_with_precondition(&images, CLUSTER, mode, async |image: &Image| {
            let set = image
                .spec
                .additional_trusted_ca
                .as_ref()
                .is_some_and(|r| !r.name.is_empty());
            Ok::<_, kube::Error>(if set {
                Change::Unchanged
            } else {
                Change::Patch(json!({"spec": {"additionalTrustedCA": {"name": &name}}}))
            })
        })
        .await
        .map_err(describe)?
        .changed;
        if wrote && machine.is_none() {
            println!(
                "image.config.openshift.io/cluster configured{}: spec.additionalTrustedCA.name={name}",
                dry_run_suffix(mode)
            );
        }
    }
    if let Some(format) = machine {
        return print_map(&map, format);
    }
    for c in &certs {
        println!(
            "{} trusts {} (valid until {})",
            trust::key_host(&key),
            c.subject,
            c.not_after
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `-o` of a change: the ConfigMap of trusted CAs as the change left it.
fn print_map(map: &ConfigMap, format: &Format) -> Result<ExitCode> {
    let object = output::typed(map, "v1", "ConfigMap")?;
    let name = output::object_name(&object);
    print!("{}", output::render_objects(&object, format, &[name])?);
    Ok(ExitCode::SUCCESS)
}

async fn remove(cx: &Context, args: &RemoveArgs) -> Result<ExitCode> {
    let key = trust::host_key(&args.host).map_err(invalid)?;
    let mode = args.write.mode();
    let session = cx.session().await?;
    let Some(name) = configured_name(session).await? else {
        return Err(invalid(format!(
            "{} is not trusted: images.config.openshift.io/cluster names no additionalTrustedCA ConfigMap",
            args.host
        )));
    };
    let maps = Api::<ConfigMap>::namespaced(session.client.clone(), NAMESPACE);
    let mut missing = false;
    let written = patch_with_precondition(&maps, &name, mode, async |cm: &ConfigMap| {
        let present = cm.data.as_ref().is_some_and(|d| d.contains_key(&key))
            || cm.binary_data.as_ref().is_some_and(|d| d.contains_key(&key));
        missing = !present;
        Ok::<_, kube::Error>(if present {
            Change::Patch(json!({"data": {&key: null}, "binaryData": {&key: null}}))
        } else {
            Change::Unchanged
        })
    })
    .await
    .map_err(|e| anyhow::anyhow!(session.describe(&e)))?;
    if missing {
        return Err(invalid(format!(
            "{} is not trusted: ConfigMap {NAMESPACE}/{name} has no key {key:?} (see `trust list`)",
            args.host
        )));
    }
    if let Some(format) = Format::machine(args.write.output.as_ref()) {
        return print_map(&written.object, format);
    }
    println!(
        "configmap/{name} configured{}: {} removed",
        dry_run_suffix(mode),
        trust::key_host(&key)
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrustedRegistry {
    host: String,
    key: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    certificates: Vec<CertificateInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn list(cx: &Context, args: &ListArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let name = configured_name(session).await?;
    let maps = Api::<ConfigMap>::namespaced(session.client.clone(), NAMESPACE);
    let cm = match &name {
        Some(n) => maps
            .get_opt(n)
            .await
            .map_err(|e| anyhow::anyhow!(session.describe(&e)))?,
        None => None,
    };
    let mut items: Vec<TrustedRegistry> = cm
        .as_ref()
        .and_then(|c| c.data.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(key, pem)| {
            let (certificates, error) = match trust::certificates(&pem) {
                Ok(c) => (c, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            TrustedRegistry {
                host: trust::key_host(&key),
                key,
                certificates,
                error,
            }
        })
        .collect();
    items.sort_by(|a, b| a.host.cmp(&b.host));
    if let Some(format) = Format::machine(args.output.as_ref()) {
        print!("{}", output::render(&items, format)?);
        return Ok(ExitCode::SUCCESS);
    }
    let wide = args.output == Some(Format::Wide);
    if name.is_some() && cm.is_none() {
        eprintln!(
            "Warning: images.config.openshift.io/cluster names ConfigMap {NAMESPACE}/{}, which does not exist",
            name.as_deref().unwrap_or_default()
        );
    }
    if items.is_empty() {
        println!("No additional trusted CAs.");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .flat_map(|item| {
            if let Some(e) = &item.error {
                let mut row = vec![
                    item.host.clone(),
                    String::new(),
                    String::new(),
                    format!("unreadable: {e}"),
                ];
                if wide {
                    row.extend([String::new(), item.key.clone()]);
                }
                return vec![row];
            }
            item.certificates
                .iter()
                .map(|c| {
                    let mut row = vec![
                        item.host.clone(),
                        c.subject.clone(),
                        c.not_after.clone(),
                        c.validity
                            .clone()
                            .unwrap_or_else(|| if c.is_ca { "valid".into() } else { "not a CA".into() }),
                    ];
                    if wide {
                        row.extend([c.not_before.clone(), item.key.clone()]);
                    }
                    row
                })
                .collect()
        })
        .collect();
    let mut headers = vec!["HOST", "SUBJECT", "EXPIRES", "STATUS"];
    if wide {
        headers.extend(["VALID FROM", "CONFIGMAP KEY"]);
    }
    print!("{}", output::table(&headers, &rows));
    Ok(ExitCode::SUCCESS)
}
