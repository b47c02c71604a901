//! Resource quantities (`500m`, `1Gi`, `2k`) as kube-apiserver reads and writes them.

const DECIMAL: &[(&str, i32)] = &[
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];
const BINARY: &[(&str, u32)] = &[("Ki", 10), ("Mi", 20), ("Gi", 30), ("Ti", 40), ("Pi", 50), ("Ei", 60)];

/// A quantity as Kubernetes writes it back: the same format (decimal or binary suffix), with the
/// largest suffix that keeps it whole (`1000m` → `1`, `1024Mi` → `1Gi`, `0.5` → `500m`,
/// `1.5Gi` → `1536Mi`). Exponent forms and values it cannot read are left as they are.
pub fn canonical(quantity: &str) -> Option<String> {
    let split = quantity
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    let (negative, digits) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() || !(whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit())) {
        return None;
    }
    // The value as an integer count of 10^-9 (decimal) or of bytes (binary).
    let sign = if negative { "-" } else { "" };
    if let Some((_, shift)) = BINARY.iter().find(|(s, _)| *s == suffix) {
        // value = digits × 2^shift; with a fraction, exact only if it divides out.
        let scale = 10u128.pow(fraction.len() as u32);
        let mantissa: u128 = format!("{whole}{fraction}").parse().ok()?;
        let bytes = mantissa.checked_mul(1u128 << shift)?;
        if !bytes.is_multiple_of(scale) {
            return None;
        }
        let bytes = bytes / scale;
        for (s, shift) in BINARY.iter().rev() {
            if bytes != 0 && bytes.is_multiple_of(1u128 << shift) {
                return Some(format!("{sign}{}{s}", bytes >> shift));
            }
        }
        return Some(format!("{sign}{bytes}"));
    }
    let exponent = DECIMAL.iter().find(|(s, _)| *s == suffix)?.1;
    let mantissa: u128 = format!("{whole}{fraction}").parse().ok()?;
    // value = mantissa × 10^(exponent - fraction digits); expressed in nano units.
    let nano_exp = exponent + 9 - fraction.len() as i32;
    if nano_exp < 0 {
        // Finer than a nano unit: Kubernetes rounds up; leave such values as given.
        return None;
    }
    let nanos = mantissa.checked_mul(10u128.checked_pow(nano_exp as u32)?)?;
    if nanos == 0 {
        return Some("0".into());
    }
    for (s, exp) in DECIMAL.iter().rev() {
        let unit = 10u128.pow((exp + 9) as u32);
        if nanos.is_multiple_of(unit) {
            return Some(format!("{sign}{}{s}", nanos / unit));
        }
    }
    None
}

/// A quantity's value as a number, for comparisons (requests against limits).
pub fn value(quantity: &str) -> Option<f64> {
    let split = quantity
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    let number: f64 = number.parse().ok()?;
    if let Some((_, shift)) = BINARY.iter().find(|(s, _)| *s == suffix) {
        return Some(number * 2f64.powi(*shift as i32));
    }
    if let Some(exponent) = suffix.strip_prefix(['e', 'E']) {
        return Some(number * 10f64.powi(exponent.parse().ok()?));
    }
    let (_, exponent) = DECIMAL.iter().find(|(s, _)| *s == suffix)?;
    Some(number * 10f64.powi(*exponent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_written_back_canonical() {
        for (given, stored) in [
            ("1000m", "1"),
            ("0.5", "500m"),
            ("100m", "100m"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("1Gi", "1Gi"),
            ("2000", "2k"),
            ("1500M", "1500M"),
            ("0", "0"),
            ("256Mi", "256Mi"),
        ] {
            assert_eq!(canonical(given).as_deref(), Some(stored), "{given}");
        }
        assert_eq!(canonical("1e3"), None);
        assert_eq!(canonical("lots"), None);
    }

    #[test]
    fn values_compare_across_suffixes() {
        assert_eq!(value("500m"), Some(0.5));
        assert_eq!(value("1Gi"), Some(1073741824.0));
        assert!(value("2").unwrap() > value("1500m").unwrap());
        assert_eq!(value("1e3"), Some(1000.0));
        assert_eq!(value("x"), None);
    }
}
