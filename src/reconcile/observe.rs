//! The config observer: the cluster's TLS security profile (`apiservers.config.openshift.io/cluster`)
//! observed into the Config's `spec.observedConfig.servingInfo`, as the operator's observer writes
//! it, so the registry serves with the cluster's minimum TLS version and ciphers.

use crate::api::TlsSecurityProfile;
use serde_json::{Value, json};

const INTERMEDIATE: &str = "Intermediate";

const MODERN_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];
/// Intermediate's ciphers after Modern's.
const INTERMEDIATE_CIPHERS: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
];
/// Old's ciphers after Intermediate's.
const OLD_CIPHERS: &[&str] = &[
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-SHA256",
    "AES256-SHA256",
    "AES128-SHA",
    "AES256-SHA",
    "DES-CBC3-SHA",
];

/// The predefined profiles: minimum version and OpenSSL cipher names (Mozilla guidelines 5.8),
/// each profile's ciphers those of the stricter one followed by its own.
fn predefined(profile: &str) -> Option<(&'static str, Vec<&'static str>)> {
    let (min, tiers): (&str, &[&[&str]]) = match profile {
        "Old" => ("VersionTLS10", &[MODERN_CIPHERS, INTERMEDIATE_CIPHERS, OLD_CIPHERS]),
        INTERMEDIATE => ("VersionTLS12", &[MODERN_CIPHERS, INTERMEDIATE_CIPHERS]),
        "Modern" => ("VersionTLS13", &[MODERN_CIPHERS]),
        _ => return None,
    };
    Some((min, tiers.iter().flat_map(|t| t.iter().copied()).collect()))
}

/// OpenSSL cipher name → the IANA name Go servers take; ciphers Go does not know are left out.
fn iana(openssl: &str) -> Option<&'static str> {
    Some(match openssl {
        "TLS_AES_128_GCM_SHA256" => "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384" => "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256" => "TLS_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256" => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256" => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384" => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384" => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305" => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305" => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-AES128-SHA256" => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        "ECDHE-RSA-AES128-SHA256" => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        "AES128-GCM-SHA256" => "TLS_RSA_WITH_AES_128_GCM_SHA256",
        "AES256-GCM-SHA384" => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        "AES128-SHA256" => "TLS_RSA_WITH_AES_128_CBC_SHA256",
        "ECDHE-ECDSA-AES128-SHA" => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        "ECDHE-RSA-AES128-SHA" => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "ECDHE-ECDSA-AES256-SHA" => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        "ECDHE-RSA-AES256-SHA" => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "AES128-SHA" => "TLS_RSA_WITH_AES_128_CBC_SHA",
        "AES256-SHA" => "TLS_RSA_WITH_AES_256_CBC_SHA",
        "DES-CBC3-SHA" => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        _ => return None,
    })
}

/// `servingInfo` for a profile: no profile, an unknown type or a Custom type without its spec
/// mean Intermediate.
pub fn serving_info(profile: Option<&TlsSecurityProfile>) -> Value {
    let kind = profile.map_or(INTERMEDIATE, |p| p.profile_type.as_str());
    let (min, ciphers): (String, Vec<String>) = match (kind, profile.and_then(|p| p.custom.as_ref())) {
        ("Custom", Some(custom)) => (custom.min_tls_version.clone(), custom.ciphers.clone()),
        _ => {
            let (min, ciphers) = predefined(kind)
                .or_else(|| predefined(INTERMEDIATE))
                .expect("Intermediate is predefined");
            (min.to_string(), ciphers.iter().map(|c| c.to_string()).collect())
        }
    };
    let suites: Vec<&str> = ciphers.iter().filter_map(|c| iana(c)).collect();
    json!({"minTLSVersion": min, "cipherSuites": suites})
}

/// The Image config's `status.imageStreamImportMode`: the spec's when set, else
/// `PreserveOriginal` for a multi-architecture release and `Legacy` for a single-architecture one.
pub fn import_mode(spec: Option<&str>, release_architecture: Option<&str>) -> String {
    match spec.filter(|s| !s.is_empty()) {
        Some(mode) => mode.to_string(),
        None if release_architecture == Some("Multi") => "PreserveOriginal".into(),
        None => "Legacy".into(),
    }
}

/// The Config's `observedConfig` with `servingInfo` observed from `profile`; everything else in it
/// is kept.
pub fn observed_config(current: Option<&Value>, profile: Option<&TlsSecurityProfile>) -> Value {
    let mut observed = current.filter(|v| v.is_object()).cloned().unwrap_or_else(|| json!({}));
    if !observed["servingInfo"].is_object() {
        observed["servingInfo"] = json!({});
    }
    let info = serving_info(profile);
    observed["servingInfo"]["minTLSVersion"] = info["minTLSVersion"].clone();
    observed["servingInfo"]["cipherSuites"] = info["cipherSuites"].clone();
    observed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TlsProfileSpec;

    fn profile(kind: &str, custom: Option<(&str, &[&str])>) -> TlsSecurityProfile {
        TlsSecurityProfile {
            profile_type: kind.into(),
            custom: custom.map(|(min, ciphers)| TlsProfileSpec {
                min_tls_version: min.into(),
                ciphers: ciphers.iter().map(|c| c.to_string()).collect(),
                ..TlsProfileSpec::default()
            }),
            ..TlsSecurityProfile::default()
        }
    }

    const INTERMEDIATE_SUITES: &[&str] = &[
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ];

    #[test]
    fn each_profile_is_observed_as_the_operator_observes_it() {
        let old = profile("Old", None);
        let old_info = serving_info(Some(&old));
        assert_eq!(old_info["minTLSVersion"], "VersionTLS10");
        // 24 OpenSSL names, of which 3 (the SHA384/SHA256 CBC ones) Go does not serve.
        assert_eq!(old_info["cipherSuites"].as_array().unwrap().len(), 21);
        assert_eq!(old_info["cipherSuites"][20], "TLS_RSA_WITH_3DES_EDE_CBC_SHA");

        let cases: Vec<(Option<TlsSecurityProfile>, &str, Vec<&str>)> = vec![
            (None, "VersionTLS12", INTERMEDIATE_SUITES.to_vec()),
            (
                Some(profile("Intermediate", None)),
                "VersionTLS12",
                INTERMEDIATE_SUITES.to_vec(),
            ),
            (Some(profile("", None)), "VersionTLS12", INTERMEDIATE_SUITES.to_vec()),
            (
                Some(profile("Custom", None)),
                "VersionTLS12",
                INTERMEDIATE_SUITES.to_vec(),
            ),
            (
                Some(profile("Modern", None)),
                "VersionTLS13",
                vec![
                    "TLS_AES_128_GCM_SHA256",
                    "TLS_AES_256_GCM_SHA384",
                    "TLS_CHACHA20_POLY1305_SHA256",
                ],
            ),
            (
                Some(profile(
                    "Custom",
                    Some((
                        "VersionTLS11",
                        &["ECDHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384"],
                    )),
                )),
                "VersionTLS11",
                vec!["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
            ),
        ];
        for (profile, min, suites) in cases {
            let info = serving_info(profile.as_ref());
            assert_eq!(
                info,
                json!({"minTLSVersion": min, "cipherSuites": suites}),
                "{profile:?}"
            );
        }
    }

    #[test]
    fn the_import_mode_follows_the_spec_then_the_payload() {
        let cases = [
            (None, None, "Legacy"),
            (None, Some(""), "Legacy"),
            (None, Some("Multi"), "PreserveOriginal"),
            (Some(""), Some("Multi"), "PreserveOriginal"),
            (Some("Legacy"), Some("Multi"), "Legacy"),
            (Some("PreserveOriginal"), None, "PreserveOriginal"),
        ];
        for (spec, architecture, want) in cases {
            assert_eq!(import_mode(spec, architecture), want, "{spec:?} {architecture:?}");
        }
    }

    #[test]
    fn observing_keeps_the_rest_of_the_observed_config() {
        let current = json!({"servingInfo": {"bindAddress": ":5000", "minTLSVersion": "VersionTLS10"}, "other": 1});
        let observed = observed_config(Some(&current), Some(&profile("Modern", None)));
        assert_eq!(observed["other"], 1);
        assert_eq!(observed["servingInfo"]["bindAddress"], ":5000");
        assert_eq!(observed["servingInfo"]["minTLSVersion"], "VersionTLS13");
        assert_eq!(
            observed_config(None, None)["servingInfo"]["minTLSVersion"],
            "VersionTLS12"
        );
    }
}
