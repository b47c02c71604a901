//! The life cycle of the registry's Azure storage. With the user's account key, only the
//! container: adopted when it exists (Unmanaged), created private when not (Managed), inspected,
//! removed with its blobs. Installer-provisioned (the cloud's service principal), the storage
//! account too, through Resource Manager as the operator makes it: created when missing, its
//! first key read for the container calls and given to the registry (with workload identity the
//! account refuses keys, and the container is made through Resource Manager too), and deleted
//! after the container when it is the cluster's.

use super::super::cloud::{
    COUNT_LIMIT, CloudContext, CloudError, Creator, Ensured, Inspection, Mode, Removed, Store, ensure_exists,
    ensure_store,
};
use super::super::credentials::{get, text};
use super::arm::{Arm, Principal};
use super::blob::{CLUSTER_ID, CREATED_BY, Container, THIS_PROGRAM};
use super::{ACCOUNT_KEY, authority_host, realm, value};
use crate::api::{ManagementState, Storage};
use aws_smithy_runtime_api::client::http::SharedHttpConnector;
use std::collections::BTreeMap;

pub struct AzureContainer;

/// The account and container the storage names.
fn names(storage: &Storage) -> Result<(String, String), CloudError> {
    let azure = storage.azure.clone().unwrap_or_default();
    match (value(&azure.account_name), value(&azure.container)) {
        (Some(account), Some(name)) => Ok((account.to_string(), name.to_string())),
        _ => Err(CloudError {
            code: "StorageNotConfigured".into(),
            message: "spec.storage.azure names no storage account or container: set them with oc-registry storage \
                      set azure --account-name NAME --container NAME"
                .into(),
        }),
    }
}

fn user_key<'a>(cx: &'a CloudContext<'_>) -> Option<&'a [u8]> {
    cx.credentials.user.as_ref().and_then(|u| get(u, ACCOUNT_KEY))
}

fn cloud_name(storage: &Storage) -> String {
    storage
        .azure
        .as_ref()
        .and_then(|a| value(&a.cloud_name))
        .unwrap_or_default()
        .to_string()
}

/// The container reached with `key`.
fn container_with(storage: &Storage, key: &[u8], cx: &CloudContext<'_>) -> Result<Container, CloudError> {
    let (account, name) = names(storage)?;
    Container::new(&account, &name, key, realm(&cloud_name(storage)), cx)
}

/// Resource Manager for the cloud's service principal: the Infrastructure's `armEndpoint` when it
/// names one (Azure Stack Hub), else the cloud's; tokens from `AZURE_AUTHORITY_HOST` when set, as
/// Azure's tools take it, else the cloud's authority.
fn arm(storage: &Storage, cx: &CloudContext<'_>) -> Result<Arm, CloudError> {
    let cloud = cx.credentials.cloud.as_ref().ok_or_else(|| CloudError {
        code: "NoAccountKey".into(),
        message: "no credentials reach Azure: store the storage account's key with oc-registry storage credentials \
                  set azure account-key=@FILE"
            .into(),
    })?;
    let principal = Principal::from_cloud(cloud)?;
    let cloud_name = cloud_name(storage);
    let endpoint = cx
        .infrastructure
        .status
        .as_ref()
        .and_then(|s| s.platform_status.as_ref()?.azure.as_ref()?.arm_endpoint.clone())
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| resource_manager(&cloud_name).to_string());
    let authority = std::env::var("AZURE_AUTHORITY_HOST")
        .ok()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| authority_host(&cloud_name).to_string());
    let https = SharedHttpConnector::new(super::super::transport::connector(cx)?);
    Ok(Arm::new(principal, &endpoint, &authority, https))
}

/// Resource Manager's endpoint in each Azure cloud.
fn resource_manager(cloud: &str) -> &'static str {
    match cloud {
        "AzureUSGovernmentCloud" => "https://management.usgovcloudapi.net",
        "AzureChinaCloud" => "https://management.chinacloudapi.cn",
        "AzureGermanCloud" => "https://management.microsoftazure.de",
        _ => "https://management.azure.com",
    }
}

/// The tags an account created here carries: the cluster's, the platform's, this program's mark.
fn account_tags(cx: &CloudContext<'_>) -> BTreeMap<String, String> {
    let mut tags: BTreeMap<String, String> = cx
        .infrastructure
        .status
        .as_ref()
        .and_then(|s| s.platform_status.as_ref()?.azure.as_ref()?.resource_tags.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
        .collect();
    tags.insert(
        format!("kubernetes.io_cluster.{}", cx.infrastructure_name()),
        "owned".into(),
    );
    tags.insert("createdby".into(), THIS_PROGRAM.into());
    tags
}

/// Whether the cluster's pods authenticate with a federated token, not the account's key.
fn workload_identity(cx: &CloudContext<'_>) -> bool {
    cx.credentials
        .cloud
        .as_ref()
        .is_some_and(|c| text(c, "azure_federated_token_file").is_some_and(|f| !f.is_empty()))
}

/// A container made and read through Resource Manager, in an account that refuses keys
/// (workload identity).
struct ManagedContainer<'a> {
    arm: &'a Arm,
    account: String,
    name: String,
    infrastructure: String,
}

impl Store for ManagedContainer<'_> {
    fn noun(&self) -> &str {
        "Azure container"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn driver(&self) -> &str {
        "azure"
    }

    fn name_flag(&self) -> &str {
        "--container"
    }

    async fn exists(&self) -> Result<bool, CloudError> {
        Ok(self.arm.container_metadata(&self.account, &self.name).await?.is_some())
    }

    async fn create(&self) -> Result<(), CloudError> {
        let metadata: BTreeMap<String, String> = [
            ("createdby".to_string(), THIS_PROGRAM.to_string()),
            ("openshiftclusterid".to_string(), self.infrastructure.clone()),
        ]
        .into();
        self.arm.create_container(&self.account, &self.name, &metadata).await
    }
}

/// The container as this pass reaches it: over the Blob API with a key, or through Resource
/// Manager when the account refuses keys; with Resource Manager (and the account as it read it)
/// when no user key is given.
struct Reached {
    arm: Option<(Arm, serde_json::Value)>,
    blob: Option<Container>,
    account: String,
    name: String,
}

impl Reached {
    /// `None` when the account does not exist.
    async fn of(storage: &Storage, cx: &CloudContext<'_>) -> Result<Option<Reached>, CloudError> {
        let (account, name) = names(storage)?;
        if let Some(key) = user_key(cx) {
            let blob = Some(container_with(storage, key, cx)?);
            return Ok(Some(Reached {
                arm: None,
                blob,
                account,
                name,
            }));
        }
        let arm = arm(storage, cx)?;
        let Some(resource) = arm.account(&account).await? else {
            return Ok(None);
        };
        let blob = match workload_identity(cx) {
            true => None,
            false => Some(container_with(storage, arm.first_key(&account).await?.as_bytes(), cx)?),
        };
        Ok(Some(Reached {
            arm: Some((arm, resource)),
            blob,
            account,
            name,
        }))
    }

    fn arm(&self) -> &Arm {
        let (arm, _) = self
            .arm
            .as_ref()
            .expect("a container reached without a key is reached through Resource Manager");
        arm
    }

    async fn metadata(&self) -> Result<Option<BTreeMap<String, String>>, CloudError> {
        match &self.blob {
            Some(blob) => blob.metadata().await,
            None => self.arm().container_metadata(&self.account, &self.name).await,
        }
    }

    /// How many blobs it holds; unknown through Resource Manager, which does not list blobs.
    async fn count(&self, limit: u64) -> Result<Option<u64>, CloudError> {
        match &self.blob {
            Some(blob) => blob.count(limit).await.map(Some),
            None => Ok(None),
        }
    }

    async fn delete(&self) -> Result<(), CloudError> {
        match &self.blob {
            Some(blob) => blob.delete().await,
            None => self.arm().delete_container(&self.account, &self.name).await,
        }
    }
}

/// Whether the account is the cluster's: tagged as owned by it, as the operator and this program
/// tag the accounts they create.
fn cluster_owned(account: &serde_json::Value, infrastructure: &str) -> bool {
    account
        .pointer(&format!("/tags/kubernetes.io_cluster.{infrastructure}"))
        .and_then(|v| v.as_str())
        == Some("owned")
}

impl AzureContainer {
    async fn ensure_azure(&self, storage: &Storage, cx: CloudContext<'_>, mode: Mode) -> Ensured {
        match user_key(&cx) {
            Some(key) => {
                ensure_store(container_with(storage, key, &cx), storage, &cx, mode)
                    .await
                    .0
            }
            None => {
                let mut out = Ensured::of(storage);
                if let Err(err) = self.through_resource_manager(storage, &cx, mode, &mut out).await {
                    out.cannot_exist(err);
                }
                out
            }
        }
    }

    /// Makes the account exist, then the container: over the Blob API with the account's first
    /// key (which the registry gets too), or, with workload identity, through Resource Manager in
    /// an account that refuses keys.
    async fn through_resource_manager(
        &self,
        storage: &Storage,
        cx: &CloudContext<'_>,
        mode: Mode,
        out: &mut Ensured,
    ) -> Result<(), CloudError> {
        let (account, name) = names(storage)?;
        let arm = arm(storage, cx)?;
        let identity = workload_identity(cx);
        let mut made = Vec::new();
        if arm.account(&account).await?.is_none() {
            if storage.management_state == Some(ManagementState::Unmanaged) {
                return Err(CloudError {
                    code: "StorageAccountNotFound".into(),
                    message: format!(
                        "storage account {account} does not exist in resource group {}, and Unmanaged storage is \
                         never created here: create it, or let reconcile create it with oc-registry set \
                         storage-management-state Managed",
                        arm.principal().resource_group
                    ),
                });
            }
            if let Some(why) = arm.name_taken(&account).await? {
                return Err(CloudError {
                    code: "StorageAccountNameTaken".into(),
                    message: format!(
                        "storage account {account} cannot be created: {why}: account names are global; name another \
                         with oc-registry storage set azure --account-name NAME"
                    ),
                });
            }
            made.push(format!("Azure storage account {account}"));
            if mode == Mode::DryRun {
                made.push(format!("Azure container {name}"));
                out.created = Some(made.join(", "));
                out.exists = true;
                out.storage.management_state = Some(ManagementState::Managed);
                return Ok(());
            }
            arm.create_account(&account, &account_tags(cx), !identity).await?;
        }
        if identity {
            let container = ManagedContainer {
                arm: &arm,
                account,
                name,
                infrastructure: cx.infrastructure_name().to_string(),
            };
            ensure_exists(&container, storage, cx.provisioning.adopt_existing, mode, out).await;
        } else {
            let key = arm.first_key(&account).await?;
            let container = container_with(storage, key.as_bytes(), cx)?;
            ensure_exists(&container, storage, cx.provisioning.adopt_existing, mode, out).await;
            // The registry gets the key; it is handed on only when it differs from the one the
            // registry has.
            let held = cx.credentials.issued.as_ref().and_then(|i| get(i, ACCOUNT_KEY));
            if held != Some(key.as_bytes()) {
                out.issued = Some([(ACCOUNT_KEY.to_string(), key.into_bytes())].into());
            }
        }
        made.extend(out.created.take());
        out.created = (!made.is_empty()).then(|| made.join(", "));
        Ok(())
    }

    async fn inspect_azure(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Inspection, CloudError> {
        let Some(reached) = Reached::of(storage, &cx).await? else {
            return Ok(Inspection::absent());
        };
        let Some(metadata) = reached.metadata().await? else {
            return Ok(Inspection::absent());
        };
        let creator = match (metadata.get(CREATED_BY), metadata.get(CLUSTER_ID)) {
            (Some(by), _) if by == THIS_PROGRAM => Creator::ThisProgram,
            (_, Some(cluster)) if cluster == cx.infrastructure_name() => Creator::Operator,
            _ => Creator::Other,
        };
        Ok(Inspection {
            exists: true,
            creator: Some(creator),
            objects: reached.count(COUNT_LIMIT).await.ok().flatten(),
            removal_started: None,
        })
    }

    /// Deletes the container with its blobs, then, as the operator does, the account when it is
    /// the cluster's (an account the user made may hold what is not the registry's).
    async fn remove_azure(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Removed, CloudError> {
        let Some(reached) = Reached::of(storage, &cx).await? else {
            return Ok(Removed::default());
        };
        let mut removed = Removed::default();
        if reached.metadata().await?.is_some() {
            removed.objects = reached.count(u64::MAX).await?.unwrap_or_default();
            reached.delete().await?;
        }
        if let Some((arm, account)) = &reached.arm
            && cluster_owned(account, cx.infrastructure_name())
        {
            arm.delete_account(&reached.account).await?;
        }
        Ok(removed)
    }
}

super::super::cloud::cloud_of_async_fns!(AzureContainer, ensure_azure, inspect_azure, remove_azure);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cloud_has_its_resource_manager() {
        let cases = [
            ("", "https://management.azure.com"),
            ("AzurePublicCloud", "https://management.azure.com"),
            ("AzureUSGovernmentCloud", "https://management.usgovcloudapi.net"),
            ("AzureChinaCloud", "https://management.chinacloudapi.cn"),
        ];
        for (cloud, endpoint) in cases {
            assert_eq!(resource_manager(cloud), endpoint, "{cloud}");
        }
    }
}
