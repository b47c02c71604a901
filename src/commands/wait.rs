//! `wait`: block until the registry Config meets conditions, as `kubectl wait` does for one
//! object: `--for condition=Available` (true unless a value is given), `--for
//! jsonpath='{.status.readyReplicas}'=2`; several `--for` must all hold. Exit 0 when met, 1 on
//! timeout, with kubectl's words.

use super::output::Template;
use crate::api::{CLUSTER, Config};
use crate::commands::change::CONFIG_REF;
use crate::commands::{Context, Failure};
use anyhow::Result;
use clap::Args;
use futures::StreamExt;
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// What to wait for: condition=TYPE[=VALUE] or jsonpath='{EXPRESSION}'=VALUE (repeatable: all must hold)
    #[arg(long = "for", value_name = "CONDITION", required = true, value_parser = parse_for)]
    pub wait_for: Vec<Wanted>,
    /// How long to wait, e.g. 30s, 5m
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = super::reconcile::parse_duration)]
    pub timeout: Duration,
}

/// One thing to wait for.
#[derive(Clone, Debug, PartialEq)]
pub enum Wanted {
    /// A status condition with this status (compared case-insensitively, as kubectl does).
    Condition { type_: String, status: String },
    /// A field, as a JSONPath template prints it, with this value.
    JsonPath { template: Template, value: String },
}

/// kubectl's `--for` forms.
fn parse_for(given: &str) -> Result<Wanted, String> {
    if let Some(rest) = given.strip_prefix("condition=") {
        let (type_, status) = rest.split_once('=').unwrap_or((rest, "true"));
        if type_.is_empty() {
            return Err("condition=TYPE[=VALUE] needs a TYPE, e.g. condition=Available".into());
        }
        return Ok(Wanted::Condition {
            type_: type_.to_string(),
            status: status.to_string(),
        });
    }
    if let Some(rest) = given.strip_prefix("jsonpath=") {
        let end = rest
            .rfind('}')
            .ok_or("jsonpath= needs a template in braces, e.g. jsonpath='{.status.readyReplicas}'=2")?;
        let (template, value) = (&rest[..=end], &rest[end + 1..]);
        let value = value
            .strip_prefix('=')
            .ok_or("jsonpath='{…}'=VALUE needs the value to wait for")?;
        let template = Template::parse(template).map_err(|e| format!("{e:#}"))?;
        return Ok(Wanted::JsonPath {
            template,
            value: value.to_string(),
        });
    }
    Err(format!(
        "unrecognized condition: {given:?}; use condition=TYPE[=VALUE] (e.g. condition=Available) or jsonpath='{{.status.readyReplicas}}'=2"
    ))
}

impl Wanted {
    fn met(&self, config: &Value) -> bool {
        match self {
            Wanted::Condition { type_, status } => config
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| {
                    c.get("type").and_then(Value::as_str) == Some(type_)
                        && c.get("status")
                            .and_then(Value::as_str)
                            .is_some_and(|s| s.eq_ignore_ascii_case(status))
                }),
            Wanted::JsonPath { template, value } => template.render(config).is_ok_and(|v| v == *value),
        }
    }
}

pub async fn run(cx: &Context, args: &WaitArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let configs = Api::<Config>::all(session.client.clone());
    let config = watcher::Config::default().fields(&format!("metadata.name={CLUSTER}"));
    let mut changes = watcher(configs, config).default_backoff().applied_objects().boxed();
    let met = async {
        while let Some(change) = changes.next().await {
            // A watch that fails is retried with backoff; the timeout bounds it all.
            let Ok(config) = change else { continue };
            let value = serde_json::to_value(&config)?;
            if args.wait_for.iter().all(|w| w.met(&value)) {
                return Ok::<bool, anyhow::Error>(true);
            }
        }
        Ok(false)
    };
    match tokio::time::timeout(args.timeout, met).await {
        Ok(Ok(true)) => {
            println!("{CONFIG_REF} condition met");
            Ok(ExitCode::SUCCESS)
        }
        Ok(Err(e)) => Err(e),
        Ok(Ok(false)) | Err(_) => Err(Failure {
            message: "timed out waiting for the condition on configs/cluster".into(),
            code: 1,
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_forms_kubectl_takes() {
        let config = json!({"status": {"readyReplicas": 2, "conditions": [
            {"type": "Available", "status": "True"}, {"type": "Degraded", "status": "False"},
        ]}});
        let cases = [
            ("condition=Available", true),
            ("condition=Available=true", true),
            ("condition=Degraded=false", true),
            ("condition=Degraded", false),
            ("condition=Progressing", false),
            ("jsonpath={.status.readyReplicas}=2", true),
            ("jsonpath={.status.readyReplicas}=3", false),
        ];
        for (given, met) in cases {
            assert_eq!(parse_for(given).unwrap().met(&config), met, "{given}");
        }
        for bad in [
            "Available",
            "condition=",
            "jsonpath=.status",
            "jsonpath={.status.x}",
            "delete",
        ] {
            assert!(parse_for(bad).is_err(), "{bad}");
        }
    }
}
