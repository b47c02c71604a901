//! `events`: the registry's recent events (everything recorded in `openshift-image-registry`:
//! the operator's or reconciler's, the Deployment's, the pods'), oldest first, as `kubectl
//! events` prints them; `--types` picks Normal or Warning ones, `-w` prints new ones as they
//! come.

use super::output::{self, Format};
use crate::api::REGISTRY_NAMESPACE;
use crate::commands::Context;
use anyhow::Result;
use clap::{Args, ValueEnum};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::ListParams;
use kube::runtime::{WatchStreamExt, watcher};
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events of these types
    #[arg(long, value_enum, value_delimiter = ',', value_name = "TYPES")]
    pub types: Vec<EventType>,
    /// After the recent events, print new ones as they are recorded
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Leave out the header line
    #[arg(long)]
    pub no_headers: bool,
    /// Output format: json, yaml, name, wide or jsonpath=TEMPLATE (a table when omitted)
    #[arg(short = 'o', long, value_name = "FORMAT", conflicts_with = "watch")]
    pub output: Option<Format>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum EventType {
    Normal,
    Warning,
}

const HEADERS: [&str; 5] = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];

pub async fn run(cx: &Context, args: &EventsArgs) -> Result<ExitCode> {
    let session = cx.session().await?;
    let api = Api::<Event>::namespaced(session.client.clone(), REGISTRY_NAMESPACE);
    let wanted = |e: &Event| {
        args.types.is_empty()
            || args
                .types
                .iter()
                .any(|t| e.type_.as_deref() == Some(format!("{t:?}").as_str()))
    };
    let mut events: Vec<Event> = api
        .list(&ListParams::default())
        .await
        .map_err(|e| anyhow::anyhow!(session.describe(&e)))?
        .items
        .into_iter()
        .filter(wanted)
        .collect();
    events.sort_by_key(last_seen);
    if let Some(format) = Format::machine(args.output.as_ref()) {
        let objects = events
            .iter()
            .map(|e| output::typed(e, "v1", "Event"))
            .collect::<Result<Vec<_>>>()?;
        print!("{}", output::render_list(&objects, format)?);
        return Ok(ExitCode::SUCCESS);
    }
    let now = jiff::Timestamp::now();
    let rows: Vec<Vec<String>> = events.iter().map(|e| row(e, now)).collect();
    if rows.is_empty() && !args.watch {
        eprintln!("No events found in {REGISTRY_NAMESPACE} namespace.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = output::table(&HEADERS, &rows);
    if args.no_headers {
        table = table
            .split_once('\n')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default();
    }
    print!("{table}");
    if !args.watch {
        return Ok(ExitCode::SUCCESS);
    }
    // New ones, as they come: the listing above already showed what exists.
    let seen: std::collections::BTreeSet<String> = events.iter().filter_map(|e| e.metadata.uid.clone()).collect();
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    let mut out = std::io::stdout().lock();
    while let Some(event) = stream
        .try_next()
        .await
        .map_err(|e| anyhow::anyhow!("watching events: {e}"))?
    {
        if event.metadata.uid.as_ref().is_some_and(|u| seen.contains(u)) || !wanted(&event) {
            continue;
        }
        let line = output::table(&HEADERS, &[row(&event, jiff::Timestamp::now())]);
        if let Some((_, row)) = line.split_once('\n') {
            write!(out, "{row}")?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// When an event was last seen: its last timestamp, else its event time, else its first.
fn last_seen(e: &Event) -> Option<jiff::Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
}

fn row(e: &Event, now: jiff::Timestamp) -> Vec<String> {
    let ago = |t: Option<jiff::Timestamp>| {
        t.map_or_else(|| "<unknown>".to_string(), |t| human_duration(now.duration_since(t)))
    };
    let count = e.count.unwrap_or(1);
    let first = e.first_timestamp.as_ref().map(|t| t.0);
    let seen = if count > 1 {
        format!("{} (x{count} over {})", ago(last_seen(e)), ago(first))
    } else {
        ago(last_seen(e))
    };
    let object = &e.involved_object;
    vec![
        seen,
        e.type_.clone().unwrap_or_default(),
        e.reason.clone().unwrap_or_default(),
        format!(
            "{}/{}",
            object.kind.as_deref().unwrap_or_default(),
            object.name.as_deref().unwrap_or_default()
        ),
        e.message.clone().unwrap_or_default().trim().to_string(),
    ]
}

/// A duration as kubectl shows ages: two units while they say something (`4m30s`, `5h10m`,
/// `3d4h`), one after (`45m`, `20h`, `30d`).
pub fn human_duration(d: jiff::SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let two = |big: i64, unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            format!("{big}{unit}")
        } else {
            format!("{big}{unit}{small}{small_unit}")
        }
    };
    let minutes = seconds / 60;
    if minutes < 10 {
        return two(minutes, "m", seconds % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return two(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return two(days, "d", hours % 24, "h");
    }
    if days < 365 * 2 {
        return format!("{days}d");
    }
    if days < 365 * 8 {
        return two(days / 365, "y", days % 365, "d");
    }
    format!("{}y", days / 365)
}

#[cfg(test)]
mod tests {
    use super::human_duration;
    use jiff::SignedDuration;

    #[test]
    fn ages_as_kubectl_shows_them() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (270, "4m30s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (5 * 3600 + 600, "5h10m"),
            (20 * 3600, "20h"),
            (3 * 86400 + 4 * 3600, "3d4h"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400 + 86400, "3y1d"),
            (9 * 365 * 86400, "9y"),
        ];
        for (seconds, want) in cases {
            assert_eq!(human_duration(SignedDuration::from_secs(seconds)), want, "{seconds}");
        }
    }
}
