//! `routes add|remove|list`: the registry's extra Routes (`spec.routes`). The default route is
//! `set default-route`; `list` shows both, with the host each was admitted with.

use super::change::{self, WriteArgs};
use super::invalid;
use crate::api::{CLUSTER, Condition, Config, ExtraRoute, REGISTRY_NAMESPACE, Route};
use crate::commands::Context;
use crate::commands::output::{self, Format};
use crate::render::DEFAULT_ROUTE;
use crate::validate;
use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum RoutesCommand {
    /// Add a route (or with --overwrite, change one)
    #[command(
        long_about = "Add a Route to spec.routes. Without --hostname the router picks the host. With \
        --secret the route serves that certificate: a Secret in openshift-image-registry with tls.crt and \
        tls.key (and optionally tls.cacrt), e.g. made by `kubectl create secret tls NAME -n \
        openshift-image-registry --cert=… --key=…`; without it the route re-encrypts with the router's \
        default certificate. The name default-route is reserved: use `oc-registry set default-route true`."
    )]
    Add(AddArgs),
    /// Remove a route from spec.routes
    Remove(RemoveArgs),
    /// List the default route and spec.routes with their admitted hosts
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The Route's name in openshift-image-registry
    pub name: String,
    /// The host name it serves, e.g. registry.apps.example.com
    #[arg(long, value_name = "HOST")]
    pub hostname: Option<String>,
    /// TLS Secret in openshift-image-registry (keys tls.crt, tls.key)
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,
    /// Replace a route of the same name
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    pub name: String,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format: json, yaml, name, wide or jsonpath=TEMPLATE
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
}

pub async fn run(cx: &Context, command: &RoutesCommand) -> Result<ExitCode> {
    match command {
        RoutesCommand::Add(a) => add(cx, a).await,
        RoutesCommand::Remove(a) => remove(cx, a).await,
        RoutesCommand::List(a) => list(cx, a).await,
    }
}

async fn add(cx: &Context, args: &AddArgs) -> Result<ExitCode> {
    if args.name == DEFAULT_ROUTE {
        return Err(invalid(format!(
            "spec.routes: the name {DEFAULT_ROUTE} is reserved for the default route; run `oc-registry set default-route true`, or choose another name"
        )));
    }
    validate::object_name(&args.name).map_err(|e| invalid(format!("spec.routes: NAME {e}")))?;
    if let Some(h) = &args.hostname {
        validate::dns_name(h).map_err(|e| invalid(format!("spec.routes.hostname: {e}")))?;
    }
    if let Some(s) = &args.secret {
        validate::object_name(s).map_err(|e| invalid(format!("spec.routes.secretName: {e}")))?;
    }
    let route = ExtraRoute {
        name: args.name.clone(),
        hostname: args.hostname.clone(),
        secret_name: args.secret.clone(),
        ..ExtraRoute::default()
    };
    change::config(cx, &args.write, |spec| {
        let routes = spec.routes.get_or_insert_default();
        match routes.iter().position(|r| r.name == route.name) {
            Some(_) if !args.overwrite => {
                return Err(format!(
                    "spec.routes: a route named {} exists; pass --overwrite to replace it, or remove it first",
                    route.name
                ));
            }
            Some(i) => routes[i] = route.clone(),
            None => routes.push(route.clone()),
        }
        Ok(())
    })
    .await
}

async fn remove(cx: &Context, args: &RemoveArgs) -> Result<ExitCode> {
    let name = &args.name;
    change::config(cx, &args.write, |spec| {
        let routes = spec.routes.get_or_insert_default();
        let before = routes.len();
        routes.retain(|r| r.name != *name);
        if routes.len() == before {
            let hint = if name == DEFAULT_ROUTE {
                "; the default route goes with `oc-registry set default-route false`"
            } else {
                ""
            };
            return Err(format!("spec.routes: no route named {name}{hint}"));
        }
        if routes.is_empty() {
            spec.routes = None;
        }
        Ok(())
    })
    .await
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    name: String,
    /// The host asked for; `None` lets the router choose.
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_name: Option<String>,
    /// The host the Route serves, once it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    /// The router that answered for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    router: Option<String>,
    /// `Admitted`, `NotAdmitted: reason`, `Pending` (no router answered), or `NotCreated`.
    state: String,
}

async fn list(cx: &Context, args: &ListArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let describe = |e: kube::Error| anyhow::anyhow!(session.describe(&e));
    let config = kube::Api::<Config>::all(session.client.clone())
        .get(CLUSTER)
        .await
        .map_err(describe)?;
    let live = kube::Api::<Route>::namespaced(session.client.clone(), REGISTRY_NAMESPACE)
        .list(&Default::default())
        .await
        .map_err(describe)?
        .items;
    let mut wanted: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    if config.spec.default_route == Some(true) {
        wanted.push((DEFAULT_ROUTE.into(), None, None));
    }
    for r in config.spec.routes.iter().flatten() {
        wanted.push((r.name.clone(), r.hostname.clone(), r.secret_name.clone()));
    }
    let listed: Vec<Listed> = wanted
        .into_iter()
        .map(|(name, hostname, secret_name)| {
            let route = live.iter().find(|r| r.metadata.name.as_deref() == Some(name.as_str()));
            let ingress = route.and_then(|r| r.status.as_ref()?.ingress.first());
            let admitted = ingress.and_then(|i| i.conditions.iter().find(|c| c.type_ == "Admitted"));
            let state = match (route, admitted) {
                (None, _) => "NotCreated".into(),
                (Some(_), None) => "Pending".into(),
                (Some(_), Some(c)) if c.is_true() => "Admitted".into(),
                (Some(_), Some(c)) => format!("NotAdmitted: {}", reason(c)),
            };
            Listed {
                host: ingress
                    .and_then(|i| i.host.clone())
                    .or_else(|| route.and_then(|r| r.spec.host.clone())),
                router: ingress.and_then(|i| i.router_name.clone()),
                name,
                hostname,
                secret_name,
                state,
            }
        })
        .collect();
    if let Some(format) = Format::machine(args.output.as_ref()) {
        let names: Vec<String> = listed
            .iter()
            .filter(|l| l.state != "NotCreated")
            .map(|l| format!("route.route.openshift.io/{}", l.name))
            .collect();
        print!("{}", output::render_objects(&listed, format, &names)?);
        return Ok(ExitCode::SUCCESS);
    }
    let wide = args.output == Some(Format::Wide);
    if listed.is_empty() {
        let name = super::naming::name();
        println!(
            "No routes: add one with `{name} routes add NAME --hostname HOST` or `{name} set default-route true`."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|l| {
            let mut row = vec![
                l.name.clone(),
                l.host
                    .clone()
                    .or(l.hostname.clone())
                    .unwrap_or_else(|| "<router's choice>".into()),
                l.secret_name.clone().unwrap_or_else(|| "<router default>".into()),
                l.state.clone(),
            ];
            if wide {
                row.push(l.hostname.clone().unwrap_or_else(|| "<none>".into()));
                row.push(l.router.clone().unwrap_or_else(|| "<none>".into()));
            }
            row
        })
        .collect();
    let mut headers = vec!["NAME", "HOST", "TLS SECRET", "STATE"];
    if wide {
        headers.extend(["REQUESTED HOST", "ROUTER"]);
    }
    print!("{}", output::table(&headers, &rows));
    Ok(ExitCode::SUCCESS)
}

fn reason(c: &Condition) -> String {
    [c.reason.clone(), c.message.clone()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}
