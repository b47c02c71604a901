//! `storage credentials set|show|unset`: the storage credentials the registry uses instead of the
//! cloud-minted ones, in `openshift-image-registry/image-registry-private-configuration-user`.
//! Values come from files, standard input or the environment; they are never printed.

use crate::api::USER_CREDENTIALS;
use crate::api::{CLUSTER, Config, REGISTRY_NAMESPACE};
use crate::cluster::DryRun;
use crate::commands::Context;
use crate::commands::change::WriteArgs;
use crate::commands::output::{self, Format};
use crate::commands::{dry_run_suffix, invalid};
use crate::configure::credentials::{self, Source};
use crate::configure::write::{Change, create, patch_with_precondition};
use crate::storage::secret_data;
use anyhow::Result;
use clap::{Args, Subcommand};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, ObjectMeta};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;

/// `credentials set --help`, with the names each driver takes, from the drivers themselves.
fn set_help() -> String {
    let drivers: Vec<String> = crate::storage::with_credentials()
        .map(|d| {
            let sets: Vec<String> = d.credential_sets().iter().map(|set| set.join(" and ")).collect();
            format!("  {}: {}", d.command_name(), sets.join(", or "))
        })
        .collect();
    format!(
        "Store the storage credentials the registry uses instead of the cloud-minted ones, in the Secret \
         openshift-image-registry/image-registry-private-configuration-user. Each value comes from NAME=@FILE, \
         NAME=- (standard input) or NAME=env:VARIABLE; a literal NAME=VALUE only with --allow-literal, since \
         command lines are visible to other users. The names per driver:\n{}\n\
         The key set is checked before anything is written. Values are never printed.",
        drivers.join("\n")
    )
}

#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Store credentials for a driver (replacing any stored)
    #[command(long_about = set_help())]
    Set(SetArgs),
    /// Show which credential keys are stored, with fingerprints (never values)
    Show(ShowArgs),
    /// Remove the stored credentials (the registry falls back to the cloud-minted ones)
    Unset(UnsetArgs),
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The storage driver whose credentials these are
    #[arg(
        value_name = "DRIVER",
        value_parser = clap::builder::PossibleValuesParser::new(crate::storage::with_credentials().map(|d| d.command_name()))
    )]
    pub driver: String,
    /// NAME=@FILE, NAME=- or NAME=env:VARIABLE, one per credential
    #[arg(value_name = "NAME=SOURCE", required = true)]
    pub values: Vec<String>,
    /// Accept NAME=VALUE with the value on the command line
    #[arg(long)]
    pub allow_literal: bool,
    /// Store them even though the registry is configured for another driver
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Output format: json, yaml, name, wide or jsonpath=TEMPLATE
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<Format>,
}

#[derive(Debug, Args)]
pub struct UnsetArgs {
    #[command(flatten)]
    pub write: WriteArgs,
}

pub async fn run(cx: &Context, command: &CredentialsCommand) -> Result<ExitCode> {
    match command {
        CredentialsCommand::Set(args) => set(cx, args).await,
        CredentialsCommand::Show(args) => show(cx, args).await,
        CredentialsCommand::Unset(args) => unset(cx, args).await,
    }
}

/// Reads a value from its source; errors name the credential and the source, never the value.
fn read(name: &str, source: &Source, stdin_used: &mut bool) -> Result<Vec<u8>> {
    let value = match source {
        Source::File(path) => std::fs::read(path).map_err(|e| invalid(format!("{name}: cannot read {path}: {e}")))?,
        Source::Env(var) => std::env::var_os(var)
            .ok_or_else(|| invalid(format!("{name}: the environment variable {var} is not set")))?
            .into_encoded_bytes(),
        Source::Stdin => {
            if std::mem::replace(stdin_used, true) {
                return Err(invalid(format!("{name}: standard input can supply only one value")));
            }
            let mut v = Vec::new();
            std::io::stdin().read_to_end(&mut v)?;
            v
        }
        Source::Literal(v) => v.clone().into_bytes(),
    };
    // A trailing newline from `echo` or an editor is not part of a key.
    let trimmed = value
        .strip_suffix(b"\n")
        .map(|v| v.strip_suffix(b"\r").unwrap_or(v))
        .unwrap_or(&value);
    if trimmed.is_empty() {
        return Err(invalid(format!("{name}: the value is empty")));
    }
    Ok(trimmed.to_vec())
}

async fn set(cx: &Context, args: &SetArgs) -> Result<ExitCode> {
    // Everything is checked and read before anything is written.
    let mut assignments = Vec::new();
    for arg in &args.values {
        assignments.push(credentials::parse_assignment(arg, args.allow_literal).map_err(invalid)?);
    }
    let names: Vec<String> = assignments.iter().map(|(n, _)| n.clone()).collect();
    let keys = credentials::resolve_names(&args.driver, &names).map_err(invalid)?;
    let mut stdin_used = false;
    let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (name, source) in &assignments {
        let key = keys
            .iter()
            .find(|(short, key)| *short == name || *key == name)
            .map(|(_, k)| k.clone())
            .unwrap_or_default();
        data.insert(key, read(name, source, &mut stdin_used)?);
    }
    let mode = args.write.mode();
    let session = cx.session().await?;
    let describe = |e: kube::Error| anyhow::anyhow!(session.describe(&e));
    // The user's Secret replaces the cloud's credentials for whatever driver is configured:
    // credentials for another driver would leave the registry without any.
    let configured = kube::Api::<Config>::all(session.client.clone())
        .get_opt(CLUSTER)
        .await
        .map_err(describe)?
        .and_then(|c| c.spec.storage)
        .and_then(|s| crate::storage::driver_of(&s).map(|d| d.command_name()));
    if let Some(configured) = configured
        && configured != args.driver
        && !args.force
    {
        return Err(invalid(format!(
            "DRIVER: the registry's storage is {configured}, not {}: the Secret would replace the credentials {configured} \
             needs; set {configured} credentials, switch the storage first (oc-registry storage set {} …), or pass --force",
            args.driver, args.driver
        )));
    }
    let secrets = Api::<Secret>::namespaced(session.client.clone(), REGISTRY_NAMESPACE);
    let (secret, verb) = if secrets.get_opt(USER_CREDENTIALS).await.map_err(describe)?.is_none() {
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(USER_CREDENTIALS.into()),
                namespace: Some(REGISTRY_NAMESPACE.into()),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".into()),
            data: Some(data.iter().map(|(k, v)| (k.clone(), ByteString(v.clone()))).collect()),
            ..Secret::default()
        };
        (create(&secrets, &secret, mode).await.map_err(describe)?, "created")
    } else {
        let written = patch_with_precondition(&secrets, USER_CREDENTIALS, mode, async |current: &Secret| {
            let existing = secret_data(current);
            if existing == data {
                return Ok::<_, kube::Error>(Change::Unchanged);
            }
            use base64::Engine as _;
            let mut patch = Map::new();
            for k in existing.keys().filter(|k| !data.contains_key(*k)) {
                patch.insert(k.clone(), Value::Null);
            }
            for (k, v) in &data {
                patch.insert(k.clone(), json!(base64::engine::general_purpose::STANDARD.encode(v)));
            }
            Ok(Change::Patch(json!({"data": patch, "stringData": null})))
        })
        .await
        .map_err(describe)?;
        let verb = if written.changed { "configured" } else { "unchanged" };
        (written.object, verb)
    };
    if let Some(format) = Format::machine(args.write.output.as_ref()) {
        // The Secret as left, every value masked.
        let object = output::typed(&secret, "v1", "Secret")?;
        print!("{}", output::render_list(&[object], format)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "secret/{USER_CREDENTIALS} {verb}{} (namespace {REGISTRY_NAMESPACE})",
        dry_run_suffix(mode)
    );
    for (k, v) in &data {
        println!("  {k}: {}", credentials::fingerprint(v));
    }
    println!("The registry uses these instead of the cloud credentials from its next reconcile.");
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown {
    secret: String,
    exists: bool,
    keys: BTreeMap<String, String>,
    /// The drivers these keys make complete credentials for.
    complete_for: Vec<String>,
}

async fn show(cx: &Context, args: &ShowArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let secrets = Api::<Secret>::namespaced(session.client.clone(), REGISTRY_NAMESPACE);
    let secret = secrets
        .get_opt(USER_CREDENTIALS)
        .await
        .map_err(|e| anyhow::anyhow!(session.describe(&e)))?;
    let data = secret.as_ref().map(secret_data).unwrap_or_default();
    let keys: BTreeMap<String, String> = data
        .iter()
        .map(|(k, v)| (k.clone(), credentials::fingerprint(v)))
        .collect();
    let present = data
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, _)| k.clone())
        .collect();
    let complete_for = crate::storage::with_credentials()
        .filter(|d| credentials::is_complete(*d, &present))
        .map(|d| d.command_name().to_string())
        .collect();
    let shown = Shown {
        secret: format!("{REGISTRY_NAMESPACE}/{USER_CREDENTIALS}"),
        exists: secret.is_some(),
        keys,
        complete_for,
    };
    if let Some(format) = Format::machine(args.output.as_ref()) {
        print!("{}", output::render(&shown, format)?);
        return Ok(ExitCode::SUCCESS);
    }
    if !shown.exists {
        println!("No stored credentials: the registry uses the cloud-minted installer-cloud-credentials.");
        return Ok(ExitCode::SUCCESS);
    }
    println!("Secret:        {}", shown.secret);
    let complete = if shown.complete_for.is_empty() {
        "none (incomplete)".into()
    } else {
        shown.complete_for.join(", ")
    };
    println!("Complete for:  {complete}");
    let rows: Vec<Vec<String>> = shown.keys.iter().map(|(k, f)| vec![k.clone(), f.clone()]).collect();
    print!("{}", output::table(&["KEY", "FINGERPRINT"], &rows));
    Ok(ExitCode::SUCCESS)
}

async fn unset(cx: &Context, args: &UnsetArgs) -> Result<ExitCode> {
    let mode = args.write.mode();
    let session = cx.session().await?;
    let secrets = Api::<Secret>::namespaced(session.client.clone(), REGISTRY_NAMESPACE);
    let describe = |e: kube::Error| anyhow::anyhow!(session.describe(&e));
    let machine = Format::machine(args.write.output.as_ref());
    let Some(secret) = secrets.get_opt(USER_CREDENTIALS).await.map_err(describe)? else {
        if machine.is_none() {
            println!("secret/{USER_CREDENTIALS} not found: nothing to remove");
        }
        return Ok(ExitCode::SUCCESS);
    };
    if mode != Some(DryRun::Client) {
        let params = DeleteParams {
            dry_run: mode == Some(DryRun::Server),
            ..DeleteParams::default()
        };
        secrets.delete(USER_CREDENTIALS, &params).await.map_err(describe)?;
    }
    if let Some(format) = machine {
        // As kubectl delete -o: the object deleted (its values masked).
        let object = output::typed(&secret, "v1", "Secret")?;
        print!("{}", output::render_list(&[object], format)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("secret/{USER_CREDENTIALS} deleted{}", dry_run_suffix(mode));
    Ok(ExitCode::SUCCESS)
}
