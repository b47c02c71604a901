//! Additional trusted CAs for registries the cluster pulls from: one ConfigMap in
//! `openshift-config`, one key per registry (`host..port`: ConfigMap keys cannot hold `:`), each a
//! PEM bundle of CA certificates.

use x509_parser::pem::Pem;
use x509_parser::prelude::*;

/// The ConfigMap used when the Image config names none.
pub const DEFAULT_CONFIGMAP: &str = "registry-cas";

/// `registry.example.com:5000` → `registry.example.com..5000`, after checking it is a host name
/// or IP address with an optional port.
pub fn host_key(host: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!("HOST {host:?} {why}; give a registry host name with an optional port, e.g. registry.example.com:5000")
    };
    // A URL is what people paste; the nodes trust by host and port alone.
    if let Some((scheme, rest)) = host.split_once("://") {
        let bare = rest.split('/').next().unwrap_or(rest);
        return Err(format!(
            "HOST {host:?} has a scheme ({scheme}://): give the host alone, e.g. {bare}"
        ));
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(bad("has a port that is not a number from 1 to 65535"));
    }
    if name.is_empty() {
        return Err(bad("has no host name"));
    }
    if crate::validate::dns_name(name).is_err() {
        return Err(bad("is not a lower-case DNS name or IPv4 address"));
    }
    Ok(match port {
        Some(p) => format!("{name}..{p}"),
        None => name.to_string(),
    })
}

/// The host a key stands for: only the last `..` becomes `:`, as the nodes read it.
pub fn key_host(key: &str) -> String {
    match key.rsplit_once("..") {
        Some((h, p)) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => format!("{h}:{p}"),
        _ => key.to_string(),
    }
}

/// One certificate of a bundle, as shown to the user.
#[derive(Clone, Debug, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CertificateInfo {
    pub subject: String,
    pub not_before: String,
    pub not_after: String,
    pub is_ca: bool,
    /// `expired` or `not yet valid`, when so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity: Option<String>,
}

/// Reads every certificate of a PEM bundle.
pub fn certificates(pem: &str) -> Result<Vec<CertificateInfo>, String> {
    let mut out = Vec::new();
    for (i, block) in Pem::iter_from_buffer(pem.as_bytes()).enumerate() {
        let block = block.map_err(|e| format!("PEM block {} cannot be read: {e}", i + 1))?;
        if block.label != "CERTIFICATE" {
            return Err(format!(
                "PEM block {} is a {}, not a CERTIFICATE; give only CA certificates (never a private key)",
                i + 1,
                block.label
            ));
        }
        let (_, cert) = X509Certificate::from_der(&block.contents)
            .map_err(|e| format!("certificate {} is not a valid X.509 certificate: {e}", i + 1))?;
        let is_ca = cert.basic_constraints().ok().flatten().is_some_and(|b| b.value.ca);
        let validity = cert.validity();
        let now = ASN1Time::now();
        let state = if validity.not_after < now {
            Some("expired".to_string())
        } else if validity.not_before > now {
            Some("not yet valid".to_string())
        } else {
            None
        };
        out.push(CertificateInfo {
            subject: cert.subject().to_string(),
            not_before: validity.not_before.to_rfc2822().unwrap_or_default(),
            not_after: validity.not_after.to_rfc2822().unwrap_or_default(),
            is_ca,
            validity: state,
        });
    }
    if out.is_empty() {
        return Err("no PEM certificate found (expected -----BEGIN CERTIFICATE-----)".into());
    }
    Ok(out)
}

/// Checks a bundle to be trusted: every certificate a CA. Returns the certificates and warnings.
pub fn check_bundle(pem: &str) -> Result<(Vec<CertificateInfo>, Vec<String>), String> {
    let certs = certificates(pem)?;
    if let Some((i, c)) = certs.iter().enumerate().find(|(_, c)| !c.is_ca) {
        return Err(format!(
            "certificate {} ({}) is not a CA certificate (no basicConstraints CA:TRUE); give the CA that signed the registry's certificate, not the registry's own",
            i + 1,
            c.subject
        ));
    }
    let warnings = certs
        .iter()
        .filter_map(|c| {
            c.validity.as_ref().map(|v| match v.as_str() {
                "expired" => format!("certificate {} is expired since {}", c.subject, c.not_after),
                _ => format!("certificate {} is not valid before {}", c.subject, c.not_before),
            })
        })
        .collect();
    Ok((certs, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_keys() {
        assert_eq!(
            host_key("registry.example.com:5000").unwrap(),
            "registry.example.com..5000"
        );
        assert_eq!(host_key("registry.example.com").unwrap(), "registry.example.com");
        assert_eq!(host_key("10.0.0.1:443").unwrap(), "10.0.0.1..443");
        assert_eq!(
            host_key("https://registry.example.com:5000/v2/").unwrap_err(),
            "HOST \"https://registry.example.com:5000/v2/\" has a scheme (https://): give the host alone, e.g. registry.example.com:5000"
        );
        for bad in [
            "",
            "Registry.example.com",
            "r:0",
            "r:99999",
            "r:x",
            "-r.example.com",
            "r_1.example.com",
            "https://r",
        ] {
            assert!(host_key(bad).is_err(), "{bad}");
        }
        assert_eq!(key_host("registry.example.com..5000"), "registry.example.com:5000");
        assert_eq!(key_host("a..b..5000"), "a..b:5000");
        assert_eq!(key_host("registry.example.com"), "registry.example.com");
    }

    #[test]
    fn bundles_without_certificates_are_refused() {
        assert!(certificates("hello").is_err());
        let key = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
        assert!(certificates(key).unwrap_err().contains("not a CERTIFICATE"));
    }
}
