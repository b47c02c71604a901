//! The life cycle of the registry's Azure container, with the storage account's key: adopted
//! when it exists (Unmanaged), created private when not (Managed), inspected, and removed with
//! its blobs. Storage accounts themselves are the Azure management API's, which is not called:
//! without a key, the fix is to store one.

use super::super::cloud::{
    COUNT_LIMIT, CloudContext, CloudError, Creator, Ensured, Inspection, Mode, Removed, ensure_store,
};
use super::super::credentials::get;
use super::blob::{CLUSTER_ID, CREATED_BY, Container, THIS_PROGRAM};
use super::{ACCOUNT_KEY, realm, value};
use crate::api::Storage;

pub struct AzureContainer;

/// The container the storage names, reached with the user's account key.
fn container(storage: &Storage, cx: &CloudContext<'_>) -> Result<Container, CloudError> {
    let azure = storage.azure.clone().unwrap_or_default();
    let (Some(account), Some(name)) = (value(&azure.account_name), value(&azure.container)) else {
        return Err(CloudError {
            code: "StorageNotConfigured".into(),
            message: "spec.storage.azure names no storage account or container: set them with oc-registry storage \
                      set azure --account-name NAME --container NAME"
                .into(),
        });
    };
    let Some(key) = cx.credentials.user.as_ref().and_then(|u| get(u, ACCOUNT_KEY)) else {
        return Err(CloudError {
            code: "NoAccountKey".into(),
            message: format!(
                "the key of storage account {account} is needed to reach Azure container {name}: storage accounts \
                 are made and read through the Azure management API, which is not called here; store the key with \
                 oc-registry storage credentials set azure account-key=@FILE"
            ),
        });
    };
    Container::new(
        account,
        name,
        key,
        realm(value(&azure.cloud_name).unwrap_or_default()),
        cx,
    )
}

impl AzureContainer {
    async fn ensure_azure(&self, storage: &Storage, cx: CloudContext<'_>, mode: Mode) -> Ensured {
        ensure_store(container(storage, &cx), storage, &cx, mode).await.0
    }

    async fn inspect_azure(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Inspection, CloudError> {
        let container = container(storage, &cx)?;
        let Some(metadata) = container.metadata().await? else {
            return Ok(Inspection {
                exists: false,
                creator: None,
                objects: None,
                removal_started: None,
            });
        };
        let creator = match (metadata.get(CREATED_BY), metadata.get(CLUSTER_ID)) {
            (Some(by), _) if by == THIS_PROGRAM => Creator::ThisProgram,
            (_, Some(cluster)) if cluster == cx.infrastructure_name() => Creator::Operator,
            _ => Creator::Other,
        };
        Ok(Inspection {
            exists: true,
            creator: Some(creator),
            objects: container.count(COUNT_LIMIT).await.ok(),
            removal_started: None,
        })
    }

    async fn remove_azure(&self, storage: &Storage, cx: CloudContext<'_>) -> Result<Removed, CloudError> {
        let container = container(storage, &cx)?;
        if container.metadata().await?.is_none() {
            return Ok(Removed::default());
        }
        let objects = container.count(u64::MAX).await?;
        container.delete().await?;
        Ok(Removed {
            objects,
            resumed: false,
        })
    }
}

super::super::cloud::cloud_of_async_fns!(AzureContainer, ensure_azure, inspect_azure, remove_azure);
