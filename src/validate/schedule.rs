//! CronJob schedules as Kubernetes accepts them: five fields (minute, hour, day of month, month,
//! day of week) with `*`, `,`, `-`, `/`, `?` and month and weekday names, or a descriptor
//! (`@daily`, `@every 6h`, …). Time zone prefixes are refused, as the API server refuses them.

use super::go_duration;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;

const DESCRIPTORS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];
const NAMES: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", "SUN", "MON", "TUE", "WED",
    "THU", "FRI", "SAT",
];

/// The five fields: what each holds, and its range.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];

/// The first number of `field` (`a`, `a-b`, `*/n`, `a-b/n`, lists of them) outside `low..=high`;
/// steps and names are not bounded by the range.
fn out_of_range(field: &str, low: u32, high: u32) -> Option<u32> {
    field
        .split(',')
        .flat_map(|part| part.split('/').next().unwrap_or_default().split('-'))
        .filter_map(|n| n.parse::<u32>().ok())
        .find(|n| !(low..=high).contains(n))
}

/// A schedule that parsed.
pub enum Schedule {
    Cron(Box<Cron>),
    /// `@every DURATION`: runs at that interval from when the controller started.
    Every(std::time::Duration),
}

pub fn parse(schedule: &str) -> Result<Schedule, String> {
    let hint = "write five fields (minute hour day-of-month month day-of-week), e.g. '0 0 * * *', or @daily, @hourly, @every 6h";
    let trimmed = schedule.trim();
    if trimmed.starts_with("TZ=") || trimmed.starts_with("CRON_TZ=") {
        return Err(format!(
            "{schedule:?}: a time zone prefix is not allowed in a CronJob schedule; {hint}"
        ));
    }
    if let Some(every) = trimmed.strip_prefix("@every ") {
        return go_duration(every.trim())
            .map(Schedule::Every)
            .map_err(|e| format!("{schedule:?}: @every needs a duration: {e}"));
    }
    if trimmed.starts_with('@') {
        if !DESCRIPTORS.contains(&trimmed) {
            return Err(format!("{schedule:?} is not a known descriptor; {hint}"));
        }
    } else {
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("{schedule:?} has {} fields; {hint}", fields.len()));
        }
        for (field, (what, low, high)) in fields.iter().zip(FIELDS) {
            // Only the standard syntax: no L, W or # extensions.
            let upper = field.to_ascii_uppercase();
            let stripped = NAMES.iter().fold(upper, |s, n| s.replace(n, "0"));
            if !stripped
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '*' | ',' | '-' | '/' | '?'))
            {
                return Err(format!(
                    "{schedule:?}: the field {field:?} is not standard cron syntax; {hint}"
                ));
            }
            if let Some(n) = out_of_range(field, low, high) {
                return Err(format!(
                    "{schedule:?}: {n} is out of range for the {what} field ({field:?}): {what}s are {low}-{high}; {hint}"
                ));
            }
        }
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .sloppy_ranges(true)
        .build()
        .parse(trimmed)
        .map(|c| Schedule::Cron(Box::new(c)))
        .map_err(|e| format!("{schedule:?}: {e}; {hint}"))
}

impl Schedule {
    /// The next run after `after`, in UTC (the controller's zone unless the CronJob names one).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Schedule::Cron(cron) => cron
                .find_next_occurrence(&after.to_zoned(jiff::tz::TimeZone::UTC), false)
                .ok()
                .map(|z| z.timestamp()),
            Schedule::Every(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_schedules_parse() {
        for good in [
            "0 0 * * *",
            "*/15 2-4 1,15 * MON-FRI",
            "0 3 ? * sun",
            "@daily",
            "@every 6h",
            "5/10 * * * *",
        ] {
            assert!(parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn a_number_out_of_range_names_its_field_and_the_range() {
        let cases = [
            (
                "61 * * * *",
                "61 is out of range for the minute field (\"61\"): minutes are 0-59",
            ),
            (
                "0 0-25 * * *",
                "25 is out of range for the hour field (\"0-25\"): hours are 0-23",
            ),
            ("0 0 0 * *", "0 is out of range for the day-of-month field"),
            ("0 0 * 1,13 *", "13 is out of range for the month field"),
            ("0 0 * * 8/2", "8 is out of range for the day-of-week field"),
        ];
        for (schedule, said) in cases {
            let Err(e) = parse(schedule) else {
                panic!("{schedule} parsed")
            };
            assert!(e.contains(said), "{schedule}: {e}");
            assert!(!e.contains("Component error"), "{e}");
        }
    }

    #[test]
    fn bad_schedules_are_refused_with_the_form_to_use() {
        for bad in [
            "",
            "0 0 * *",
            "0 0 0 * * *",
            "61 * * * *",
            "0 25 * * *",
            "0 0 L * *",
            "@sometimes",
            "TZ=UTC 0 0 * * *",
            "@every soon",
        ] {
            let e = parse(bad).err().unwrap_or_else(|| panic!("{bad} parsed"));
            assert!(e.contains("e.g.") || e.contains("duration"), "{e}");
        }
    }

    #[test]
    fn next_run() {
        let Schedule::Cron(_) = parse("30 2 * * *").unwrap() else {
            panic!()
        };
        let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        let next = parse("30 2 * * *").unwrap().next_after(now).unwrap();
        assert_eq!(next.to_string(), "2026-11-25T02:30:00Z");
        assert!(parse("@every 1h").unwrap().next_after(now).is_none());
    }
}
