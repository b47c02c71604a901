//! Checks of single values, each phrased as the fix: what the value must look like. The caller
//! names the field.

use std::time::Duration;

/// A lower-case DNS name (RFC 1123 subdomain), as Route hosts and node labels need.
pub fn dns_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("must be a DNS name of 1 to 253 characters".into());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a lower-case DNS name (labels of a-z, 0-9 and '-', separated by dots)"
        ))
    }
}

/// A region or location: 1 to 63 letters, digits, '-', '_' and '.' (AWS `us-east-1`, GCS `US`,
/// OpenStack `RegionOne`, IBM `us-south`).
pub fn region(value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{value:?} is not a region: 1 to 63 letters, digits, '-', '_' and '.', e.g. us-east-1"
        ))
    }
}

/// A Kubernetes object name (RFC 1123 subdomain).
pub fn object_name(name: &str) -> Result<(), String> {
    dns_name(name).map_err(|_| format!("{name:?} is not a valid object name (lower-case a-z, 0-9, '-' and '.')"))
}

/// An absolute URL with one of `schemes`, e.g. `https://s3.example.com:8080`.
pub fn url(value: &str, schemes: &[&str]) -> Result<(), String> {
    let wanted = schemes
        .iter()
        .map(|s| format!("{s}://"))
        .collect::<Vec<_>>()
        .join(" or ");
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(format!("{value:?} has no scheme: write it as {wanted}HOST[:PORT]"));
    };
    if !schemes.contains(&scheme) {
        return Err(format!("{value:?} must start with {wanted}"));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if host.is_empty() || host.starts_with(':') || host.contains(char::is_whitespace) {
        return Err(format!("{value:?} has no host"));
    }
    Ok(())
}

/// An Azure blob container name: 3 to 63 characters, `^[0-9a-z]+(-[0-9a-z]+)*$`.
pub fn azure_container(name: &str) -> Result<(), String> {
    let groups_ok = name
        .split('-')
        .all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    if (3..=63).contains(&name.len()) && groups_ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not an Azure container name: 3 to 63 characters of a-z and 0-9, \
             with single '-' between them (not first or last)"
        ))
    }
}

/// An Azure storage account name: 3 to 24 lower-case letters and digits.
pub fn azure_account(name: &str) -> Result<(), String> {
    if (3..=24).contains(&name.len()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not an Azure storage account name: 3 to 24 characters of a-z and 0-9"
        ))
    }
}

/// An S3 bucket name: 3 to 63 characters of a-z, 0-9, '.' and '-', starting and ending with a
/// letter or digit, not shaped like an IP address.
pub fn s3_bucket(name: &str) -> Result<(), String> {
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends_ok =
        name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let ip_like = name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok());
    if (3..=63).contains(&name.len()) && chars_ok && ends_ok && !ip_like && !name.contains("..") {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a bucket name: 3 to 63 characters of a-z, 0-9, '.' and '-', \
             starting and ending with a letter or digit"
        ))
    }
}

/// An IBM Cloud resource CRN of the given resource type
/// (`crn:v1:bluemix:public:cloud-object-storage:global:a/…:…:resource-key:…`).
pub fn ibm_crn(value: &str, resource_type: Option<&str>) -> Result<(), String> {
    let parts: Vec<&str> = value.split(':').collect();
    let shape_ok = parts.len() >= 10 && parts[0] == "crn" && parts[4] == "cloud-object-storage";
    let type_ok = resource_type.is_none_or(|t| parts.get(8) == Some(&t));
    if shape_ok && type_ok {
        Ok(())
    } else {
        let example = match resource_type {
            Some(t) => format!("crn:v1:bluemix:public:cloud-object-storage:global:a/ACCOUNT:INSTANCE:{t}:ID"),
            None => "crn:v1:bluemix:public:cloud-object-storage:global:a/ACCOUNT:INSTANCE::".into(),
        };
        Err(format!("{value:?} is not a cloud-object-storage CRN such as {example}"))
    }
}

/// A Go duration (`90s`, `1m30s`, `1h`, `500ms`), as metav1.Duration fields take.
pub fn go_duration(value: &str) -> Result<Duration, String> {
    let nanos = oc_registry_policy_sdk::duration::parse(value).ok_or_else(|| {
        format!("{value:?} is not a duration: write a number and a unit (ns, us, ms, s, m, h), e.g. 1m30s")
    })?;
    Ok(Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)))
}

/// A duration as Go's `Duration.String()` writes it (`5m0s`, `1m30s`), which is how the operator
/// renders the durations it copies from the Config.
pub fn go_duration_text(duration: Duration) -> String {
    oc_registry_policy_sdk::duration::format(duration.as_nanos())
}

/// A Kubernetes resource quantity (`100m`, `256Mi`, `1.5`, `2e3`), as a number for comparisons.
pub fn quantity(value: &str) -> Result<f64, String> {
    let bad = || format!("{value:?} is not a quantity such as 100m, 0.5, 256Mi or 1Gi");
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, factor) = SUFFIXES
        .iter()
        .find_map(|(s, f)| value.strip_suffix(s).map(|n| (n, *f)))
        .unwrap_or((value, 1.0));
    let plain =
        |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.') && n.matches('.').count() <= 1;
    let parsed = match number.split_once(['e', 'E']) {
        Some((mantissa, exponent))
            if factor == 1.0
                && plain(mantissa)
                && exponent
                    .trim_start_matches(['+', '-'])
                    .chars()
                    .all(|c| c.is_ascii_digit()) =>
        {
            number.parse::<f64>().ok()
        }
        Some(_) => None,
        None => plain(number.trim_start_matches('+'))
            .then(|| number.parse::<f64>().ok())
            .flatten(),
    };
    parsed.map(|n| n * factor).ok_or_else(bad)
}

/// A label key (`[prefix/]name`) as node selectors and tolerations use.
pub fn label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        dns_name(p).map_err(|_| format!("{key:?} has a prefix that is not a DNS name"))?;
    }
    label_value(name).ok().filter(|_| !name.is_empty()).ok_or_else(|| {
        format!("{key:?} is not a label key: [PREFIX/]NAME, NAME up to 63 of a-z, A-Z, 0-9, '-', '_', '.'")
    })
}

/// A label value: empty, or up to 63 alphanumerics with '-', '_', '.' inside.
pub fn label_value(value: &str) -> Result<(), String> {
    let ok = value.is_empty()
        || (value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{value:?} is not a label value: up to 63 of a-z, A-Z, 0-9, '-', '_', '.', alphanumeric at both ends"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        assert!(url("https://s3.example.com:8443", &["http", "https"]).is_ok());
        assert!(url("http://10.0.0.1/path", &["http", "https"]).is_ok());
        assert!(
            url("s3.example.com", &["http", "https"])
                .unwrap_err()
                .contains("no scheme")
        );
        assert!(
            url("ftp://x", &["http", "https"])
                .unwrap_err()
                .contains("http:// or https://")
        );
        assert!(url("https://", &["https"]).is_err());
        assert!(url("https://:80", &["https"]).is_err());
    }

    #[test]
    fn azure_container_names() {
        for good in ["abc", "image-registry-1", &"a".repeat(63)] {
            assert!(azure_container(good).is_ok(), "{good}");
        }
        for bad in ["ab", "Abc", "a--b", "-ab", "ab-", "a_b", &"a".repeat(64)] {
            assert!(azure_container(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bucket_names() {
        assert!(s3_bucket("my-registry.bucket-1").is_ok());
        for bad in ["ab", "My-bucket", "-bucket", "bucket-", "10.0.0.1", "a..b", "a_b"] {
            assert!(s3_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_as_go_writes_them() {
        assert_eq!(go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(go_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(go_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(go_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "10", "1x", "-1s", "m", "1m30"] {
            assert!(go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity("100m").unwrap(), 0.1);
        assert_eq!(quantity("256Mi").unwrap(), 268435456.0);
        assert_eq!(quantity("2").unwrap(), 2.0);
        assert_eq!(quantity("1e3").unwrap(), 1000.0);
        for bad in ["", "abc", "1.2.3", "10Mb", "-1", "1e"] {
            assert!(quantity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn crns_and_labels() {
        let key = "crn:v1:bluemix:public:cloud-object-storage:global:a/1234:5678:resource-key:abcd";
        assert!(ibm_crn(key, Some("resource-key")).is_ok());
        assert!(ibm_crn(key, Some("bucket")).is_err());
        assert!(ibm_crn("crn:v1:x", None).is_err());
        assert!(label_key("node-role.kubernetes.io/infra").is_ok());
        assert!(label_key("infra").is_ok());
        assert!(label_key("Bad Key").is_err());
        assert!(label_key("example.com/").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("-x").is_err());
    }

    #[test]
    fn dns_names() {
        assert!(dns_name("registry.apps.example.com").is_ok());
        assert!(dns_name("Registry.example.com").is_err());
        assert!(dns_name("a..b").is_err());
        assert!(dns_name("").is_err());
    }
}
