//! Keeps images for at least a day: the pruner may not prune anything younger.

use oc_registry_policy_sdk::{AdmissionInput, Outcome, policy};
use serde_json::Value;

const MINIMUM_SECONDS: u64 = 24 * 3600;

/// Seconds in a Go duration such as `60m`, `1h30m`, `48h`.
fn seconds(text: &str) -> Option<u64> {
    let (mut total, mut number) = (0u64, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        total += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
    }
    number.is_empty().then_some(total)
}

fn admission(input: AdmissionInput) -> Outcome<()> {
    if input.kind != "ImagePruner" {
        return Outcome::allow();
    }
    let Some(age) = input.proposed("/spec/keepYoungerThanDuration").and_then(Value::as_str) else {
        return Outcome::deny(
            "the pruner must set spec.keepYoungerThanDuration to at least 24h (the default, 60m, is too short here)",
        );
    };
    match seconds(age) {
        Some(s) if s >= MINIMUM_SECONDS => Outcome::allow(),
        Some(_) => Outcome::deny(format!(
            "keepYoungerThanDuration {age} is shorter than the required 24h"
        )),
        None => Outcome::deny(format!("keepYoungerThanDuration {age:?} is not a duration such as 24h")),
    }
}

policy! {
    name: "min-prune-age",
    version: "1.0.0",
    description: "The pruner keeps images younger than 24h",
    admission: admission,
}
