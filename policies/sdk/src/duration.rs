//! Go's `time.Duration` text: the host and policies read durations as the API server's Go clients
//! wrote them (`90s`, `1h30m`, `500ms`) and write them as `Duration.String()` does (`1m30s`,
//! `1h0m0s`), so that rendered arguments read exactly like the operator's.

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a non-negative Go duration into nanoseconds (`time.ParseDuration`, without the sign).
pub fn parse(text: &str) -> Option<u128> {
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (whole, fraction) = rest[..number_len].split_once('.').unwrap_or((&rest[..number_len], ""));
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = UNITS.iter().find(|(u, _)| *u == &rest[..unit_len])?.1;
        rest = &rest[unit_len..];
        let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let mut value = whole.checked_mul(scale)?;
        let mut place = scale;
        for digit in fraction.chars() {
            place /= 10;
            value += u128::from(digit.to_digit(10)?) * place;
        }
        total = total.checked_add(value)?;
    }
    Some(total)
}

/// `Duration.String()`: `0s`, `500ms`, `1.5s`, `1m30s`, `1h0m0s`.
pub fn format(nanos: u128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (scale, unit) = match nanos {
            n if n < 1_000 => (1, "ns"),
            n if n < 1_000_000 => (1_000, "µs"),
            _ => (1_000_000, "ms"),
        };
        return format!("{}{unit}", decimal(nanos, scale));
    }
    let seconds = decimal(nanos % 60_000_000_000, 1_000_000_000);
    let minutes = nanos / 60_000_000_000;
    match (minutes / 60, minutes % 60) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / scale` with the fraction's trailing zeros (and a bare point) dropped.
fn decimal(value: u128, scale: u128) -> String {
    let (whole, fraction) = (value / scale, value % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_go_does() {
        let cases: &[(&str, &str)] = &[
            ("0", "0s"),
            ("60m", "1h0m0s"),
            ("5m", "5m0s"),
            ("90s", "1m30s"),
            ("1h30m", "1h30m0s"),
            ("1.5s", "1.5s"),
            ("1500ms", "1.5s"),
            ("500ms", "500ms"),
            ("1.5ms", "1.5ms"),
            ("250us", "250µs"),
            ("7ns", "7ns"),
            ("2h45m10.25s", "2h45m10.25s"),
            ("+30s", "30s"),
        ];
        for (text, go) in cases {
            assert_eq!(parse(text).map(format).as_deref(), Some(*go), "{text}");
        }
    }

    #[test]
    fn refuses_what_go_refuses() {
        for bad in ["", "soon", "5", "1d", "-5m", ".s", "m"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
