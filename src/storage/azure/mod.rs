//! Azure Blob Storage: the registry's settings, and its container's life cycle.

mod arm;
mod blob;
mod container;

use super::credentials::{USER_CREDENTIALS, get, text};
use super::{
    Driver, Environment, Platform, Randomness, Removal, Rendering, azure_account_name, fill, location, random_name,
    secret_env, value,
};
use crate::api::{ConfigSpec, PRIVATE_CONFIGURATION, Storage};
use crate::state::references::References;
use crate::validate::{self, Finding, Problem};

pub struct Azure;

const ACCOUNT_KEY: &str = "REGISTRY_STORAGE_AZURE_ACCOUNTKEY";

impl Driver for Azure {
    fn name(&self) -> &'static str {
        "azure"
    }

    fn title(&self) -> &'static str {
        "Azure"
    }

    fn summary(&self) -> &'static str {
        "Azure Blob Storage"
    }

    fn is_set(&self, storage: &Storage) -> bool {
        storage.azure.is_some()
    }

    fn only(&self, storage: &Storage) -> Storage {
        Storage {
            azure: storage.azure.clone(),
            ..Storage::default()
        }
    }

    fn complete(&self, storage: &mut Storage, platform: &Platform<'_>, random: &mut dyn Randomness) -> bool {
        let Some(azure) = storage.azure.as_mut() else {
            return false;
        };
        let infra = platform.infrastructure_name;
        let mut named = false;
        if value(&azure.account_name).is_none() {
            let cloud = platform.status.azure.as_ref().and_then(|a| a.cloud_name.clone());
            fill(&mut azure.cloud_name, || cloud);
            named |= fill(&mut azure.account_name, || Some(azure_account_name(infra, random)));
        }
        named |= fill(&mut azure.container, || Some(random_name(infra, "", random)));
        named
    }

    fn render(&self, storage: &Storage, environment: &Environment<'_>) -> Result<Rendering, Problem> {
        let azure = storage.azure.clone().unwrap_or_default();
        let account = azure.account_name.clone().unwrap_or_default();
        let container = azure.container.clone().unwrap_or_default();
        let creds = environment.credentials;
        let mut out = Rendering::default();
        match (&creds.user, &creds.cloud) {
            (Some(user), _) => {
                let key = get(user, ACCOUNT_KEY).ok_or_else(|| {
                    Problem::new(
                        "Error",
                        format!(
                            "the secret openshift-image-registry/{USER_CREDENTIALS} has an empty \
                             {ACCOUNT_KEY}; set the key or remove the secret"
                        ),
                    )
                })?;
                if account.is_empty() {
                    return Err(Problem::permanent(
                        "StorageNotConfigured",
                        "Storage account key is provided, but account name is not specified",
                    ));
                }
                if container.is_empty() {
                    return Err(Problem::permanent(
                        "StorageNotConfigured",
                        "Storage account key is provided, but container is not specified",
                    ));
                }
                out.secret_data.insert(ACCOUNT_KEY.into(), key.to_vec());
                out.env.push(secret_env(ACCOUNT_KEY, PRIVATE_CONFIGURATION));
            }
            (None, Some(cloud)) if get(cloud, "azure_federated_token_file").is_some() => {
                for (var, key) in [
                    ("AZURE_CLIENT_ID", "azure_client_id"),
                    ("AZURE_TENANT_ID", "azure_tenant_id"),
                    ("AZURE_FEDERATED_TOKEN_FILE", "azure_federated_token_file"),
                ] {
                    out.env(var, &text(cloud, key).unwrap_or_default());
                }
                // The token is exchanged with the cloud's own authority: a sovereign cloud's
                // federated token means nothing to the public one.
                out.env(
                    "AZURE_AUTHORITY_HOST",
                    authority_host(value(&azure.cloud_name).unwrap_or_default()),
                );
            }
            // The key reconcile read through Resource Manager with the cloud's service principal.
            (None, _) => {
                let key = creds.issued.as_ref().and_then(|i| get(i, ACCOUNT_KEY)).ok_or_else(|| {
                    Problem::new(
                        "Error",
                        format!(
                            "the key of storage account \"{account}\" is not known yet: reconcile reads it through the \
                             Azure API with the service principal in installer-cloud-credentials; or store the key \
                             (it goes into {ACCOUNT_KEY} of the Secret {USER_CREDENTIALS}) with: oc-registry storage \
                             credentials set azure account-key=@FILE"
                        ),
                    )
                })?;
                out.secret_data.insert(ACCOUNT_KEY.into(), key.to_vec());
                out.env.push(secret_env(ACCOUNT_KEY, PRIVATE_CONFIGURATION));
            }
        }
        out.env("REGISTRY_STORAGE", "azure");
        out.text("REGISTRY_STORAGE_AZURE_CONTAINER", &container);
        out.text("REGISTRY_STORAGE_AZURE_ACCOUNTNAME", &account);
        if let Some(cloud) = value(&azure.cloud_name) {
            out.env("REGISTRY_STORAGE_AZURE_REALM", realm(cloud));
        }
        Ok(out)
    }

    fn check(&self, storage: &Storage, _spec: &ConfigSpec, _refs: &References) -> Vec<Finding> {
        let Some(azure) = &storage.azure else { return Vec::new() };
        let fix = |flag: &str| Some(format!("oc-registry storage set azure --{flag} …"));
        let mut out = Vec::new();
        out.extend(Finding::of_value(
            "spec.storage.azure.container",
            azure.container.as_deref(),
            validate::azure_container,
            fix("container"),
        ));
        out.extend(Finding::of_value(
            "spec.storage.azure.accountName",
            azure.account_name.as_deref(),
            validate::azure_account,
            fix("account-name"),
        ));
        if let Some(access) = &azure.network_access {
            let type_ = access.type_.as_deref().unwrap_or("External");
            if access.internal.is_some() && type_ != "Internal" {
                out.push(Finding::error(
                    "spec.storage.azure.networkAccess.internal",
                    "internal network settings are allowed only when networkAccess.type is Internal",
                    Some("oc-registry storage set azure --network-access Internal".into()),
                ));
            }
        }
        out
    }

    fn credential_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[("account-key", ACCOUNT_KEY)]
    }

    fn credential_sets(&self) -> &'static [&'static [&'static str]] {
        &[&["account-key"]]
    }

    fn location(&self, storage: &Storage) -> Vec<(&'static str, String)> {
        let az = storage.azure.clone().unwrap_or_default();
        location(&[
            ("accountName", az.account_name),
            ("container", az.container),
            ("cloudName", az.cloud_name),
            ("networkAccess", az.network_access.and_then(|n| n.type_)),
        ])
    }

    fn removal(&self, storage: &Storage) -> Removal {
        let azure = storage.azure.clone().unwrap_or_default();
        match (value(&azure.account_name), value(&azure.container)) {
            (Some(account), Some(container)) => {
                Removal::Cloud(format!("Azure container {container} (storage account {account})"))
            }
            _ => Removal::LeftInPlace,
        }
    }

    fn cloud(&self) -> Option<&'static dyn super::cloud::Cloud> {
        Some(&container::AzureContainer)
    }
}

/// Where an Azure cloud's tokens are issued (Entra ID's authority for that cloud).
fn authority_host(cloud: &str) -> &'static str {
    match cloud {
        "AzureUSGovernmentCloud" => "https://login.microsoftonline.us/",
        "AzureChinaCloud" => "https://login.chinacloudapi.cn/",
        "AzureGermanCloud" => "https://login.microsoftonline.de/",
        _ => "https://login.microsoftonline.com/",
    }
}

/// The blob endpoint suffix of an Azure cloud.
fn realm(cloud: &str) -> &'static str {
    match cloud {
        "AzureUSGovernmentCloud" => "core.usgovcloudapi.net",
        "AzureChinaCloud" => "core.chinacloudapi.cn",
        "AzureGermanCloud" => "core.cloudapi.de",
        _ => "core.windows.net",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(cloud_name: Option<&str>, credentials: &super::super::Credentials) -> Result<Rendering, Problem> {
        let storage = Storage {
            azure: Some(crate::api::AzureStorage {
                account_name: Some("acct".into()),
                container: Some("registry".into()),
                cloud_name: cloud_name.map(String::from),
                ..Default::default()
            }),
            ..Storage::default()
        };
        let environment = Environment {
            credentials,
            storage_ca: None,
            cloud_ca: None,
            cos_endpoint: None,
            openstack_cloud: None,
        };
        Azure.render(&storage, &environment)
    }

    fn env(r: &Rendering, name: &str) -> Option<String> {
        r.env
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str().map(String::from))
    }

    #[test]
    fn workload_identity_exchanges_its_token_with_the_clouds_own_authority() {
        let data = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect()
        };
        let workload = super::super::Credentials {
            cloud: Some(data(&[
                ("azure_client_id", "client"),
                ("azure_tenant_id", "tenant"),
                ("azure_federated_token_file", "/var/run/secrets/token"),
            ])),
            ..Default::default()
        };
        let gov = rendered(Some("AzureUSGovernmentCloud"), &workload).unwrap();
        assert_eq!(
            env(&gov, "AZURE_AUTHORITY_HOST").as_deref(),
            Some("https://login.microsoftonline.us/")
        );
        assert_eq!(
            env(&gov, "REGISTRY_STORAGE_AZURE_REALM").as_deref(),
            Some("core.usgovcloudapi.net")
        );
        let public = rendered(None, &workload).unwrap();
        assert_eq!(
            env(&public, "AZURE_AUTHORITY_HOST").as_deref(),
            Some("https://login.microsoftonline.com/")
        );
        // A service principal alone cannot give the registry a key: the fix is the command that stores one.
        let principal = super::super::Credentials {
            cloud: Some(data(&[("azure_client_id", "client"), ("azure_client_secret", "s")])),
            ..Default::default()
        };
        let problem = rendered(None, &principal).unwrap_err();
        assert!(
            problem
                .message
                .contains("oc-registry storage credentials set azure account-key=@FILE"),
            "{}",
            problem.message
        );
        assert!(!problem.message.contains("client"), "{}", problem.message);
    }

    #[test]
    fn each_cloud_has_its_authority_and_realm() {
        let cases = [
            ("", "https://login.microsoftonline.com/", "core.windows.net"),
            (
                "AzurePublicCloud",
                "https://login.microsoftonline.com/",
                "core.windows.net",
            ),
            (
                "AzureUSGovernmentCloud",
                "https://login.microsoftonline.us/",
                "core.usgovcloudapi.net",
            ),
            (
                "AzureChinaCloud",
                "https://login.chinacloudapi.cn/",
                "core.chinacloudapi.cn",
            ),
        ];
        for (cloud, authority, suffix) in cases {
            assert_eq!(authority_host(cloud), authority, "{cloud}");
            assert_eq!(realm(cloud), suffix, "{cloud}");
        }
    }
}
