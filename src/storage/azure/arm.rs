//! Azure Resource Manager, for installer-provisioned storage: a token for the cluster's service
//! principal (client secret or federated token, OAuth 2.0 client credentials at the cloud's
//! authority), and the storage account calls the operator makes: whether it exists, whether its
//! name is free, creating it with the operator's settings, reading its first key, deleting it.

use super::super::Data;
use super::super::cloud::CloudError;
use super::super::credentials::text;
use super::super::transport::{self, Answer, Renewable, url_encode};
use aws_smithy_runtime_api::client::http::SharedHttpConnector;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// The Storage resource provider's API version the calls speak.
const API_VERSION: &str = "2023-01-01";
/// How often, and how many times, an account's creation is asked about.
const POLL_EVERY: Duration = Duration::from_secs(2);
const POLLS: u32 = 60;

/// How the service principal proves who it is.
enum Proof {
    ClientSecret(String),
    /// A file holding a federated token (workload identity), read for each exchange.
    FederatedTokenFile(String),
}

/// The cluster's service principal and where its resources go, from `installer-cloud-credentials`.
pub(super) struct Principal {
    tenant: String,
    client_id: String,
    proof: Proof,
    subscription: String,
    pub resource_group: String,
    pub region: String,
}

impl Principal {
    /// Reads the cloud credentials the cloud-credential operator minted.
    pub fn from_cloud(cloud: &Data) -> Result<Principal, CloudError> {
        let field = |key: &str| {
            text(cloud, key).filter(|v| !v.is_empty()).ok_or_else(|| CloudError {
                code: "InvalidCredentials".into(),
                message: format!(
                    "installer-cloud-credentials has no {key}, which the Azure API needs to make the storage account: \
                     store the account's key instead with oc-registry storage credentials set azure account-key=@FILE"
                ),
            })
        };
        let proof = match (
            text(cloud, "azure_client_secret"),
            text(cloud, "azure_federated_token_file"),
        ) {
            (Some(secret), _) if !secret.is_empty() => Proof::ClientSecret(secret),
            (_, Some(file)) if !file.is_empty() => Proof::FederatedTokenFile(file),
            _ => Proof::ClientSecret(field("azure_client_secret")?),
        };
        Ok(Principal {
            tenant: field("azure_tenant_id")?,
            client_id: field("azure_client_id")?,
            proof,
            subscription: field("azure_subscription_id")?,
            resource_group: field("azure_resourcegroup")?,
            region: field("azure_region")?,
        })
    }
}

/// The body of the account's creation, with the operator's settings; without `shared_key`
/// (workload identity), the account refuses its keys.
pub fn account_request(region: &str, tags: &BTreeMap<String, String>, shared_key: bool) -> Value {
    let mut request = json!({
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
        "location": region,
        "tags": tags,
        "properties": {
            "supportsHttpsTrafficOnly": true,
            "allowBlobPublicAccess": false,
            "minimumTlsVersion": "TLS1_2",
        },
    });
    if !shared_key {
        request["properties"]["allowSharedKeyAccess"] = json!(false);
    }
    request
}

/// Calls to one subscription's Resource Manager.
pub(super) struct Arm {
    principal: Principal,
    /// `https://management.azure.com`, or the cloud's.
    endpoint: String,
    /// `https://login.microsoftonline.com/`, or the cloud's.
    authority: String,
    https: SharedHttpConnector,
    token: Renewable<String>,
}

impl Arm {
    pub fn new(principal: Principal, endpoint: &str, authority: &str, https: SharedHttpConnector) -> Arm {
        Arm {
            principal,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            authority: format!("{}/", authority.trim_end_matches('/')),
            https,
            token: Renewable::new(),
        }
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Exchanges the principal's proof for a token for Resource Manager.
    async fn exchange(&self) -> Result<String, CloudError> {
        let p = &self.principal;
        let mut form = vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", p.client_id.clone()),
            ("scope", format!("{}/.default", self.endpoint)),
        ];
        match &p.proof {
            Proof::ClientSecret(secret) => form.push(("client_secret", secret.clone())),
            Proof::FederatedTokenFile(file) => {
                let token = std::fs::read_to_string(file).map_err(|e| CloudError {
                    code: "InvalidCredentials".into(),
                    message: format!("the federated token file {file} cannot be read: {e}"),
                })?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion", token.trim().to_string()));
            }
        }
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect();
        let url = format!("{}{}/oauth2/v2.0/token", self.authority, url_encode(&p.tenant));
        let request = http::Request::post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&").into_bytes())
            .map_err(|e| CloudError {
                code: "InvalidRequest".into(),
                message: format!("a request to {url} cannot be made: {e}"),
            })?;
        let answer = transport::send(&self.https, "Microsoft Entra ID", request).await?;
        let reply: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        match reply.get("access_token").and_then(Value::as_str) {
            Some(token) if answer.status == 200 => Ok(token.to_string()),
            _ => {
                let code = reply.get("error").and_then(Value::as_str).unwrap_or("Unauthorized");
                // Entra ID's description starts with its AADSTS code, which says why.
                let why = reply
                    .get("error_description")
                    .and_then(Value::as_str)
                    .and_then(|d| d.lines().next())
                    .unwrap_or("no reason given")
                    .to_string();
                Err(CloudError {
                    code: code.to_string(),
                    message: format!(
                        "Microsoft Entra ID refused service principal {} of tenant {}: {why}: check \
                         installer-cloud-credentials, or store the storage account's key with oc-registry storage \
                         credentials set azure account-key=@FILE",
                        p.client_id, p.tenant
                    ),
                })
            }
        }
    }

    /// A call to `path` below the subscription (`/resourceGroups/…`, `/providers/…`), with a
    /// token renewed once when Resource Manager says it expired.
    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, CloudError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}/subscriptions/{}{path}{separator}api-version={API_VERSION}",
            self.endpoint,
            url_encode(&self.principal.subscription)
        );
        self.call_url(method, &url, body).await
    }

    async fn call_url(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Answer, CloudError> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let build = |token: &String| {
            http::Request::builder()
                .method(method)
                .uri(url)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(bytes.clone())
        };
        self.token
            .send(&self.https, "Azure Resource Manager", || self.exchange(), build)
            .await
    }

    fn account_path(&self, account: &str) -> String {
        format!(
            "/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}",
            url_encode(&self.principal.resource_group),
            url_encode(account)
        )
    }

    /// Resource Manager's refusal, named for the user.
    fn failed(&self, what: &str, answer: &Answer) -> CloudError {
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let code = body
            .pointer("/error/code")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP{}", answer.status));
        let said = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| transport::excerpt(&answer.body));
        let message = match answer.status {
            403 => format!(
                "{what}: service principal {} may not ({said}): give it the Contributor role on resource group {}",
                self.principal.client_id, self.principal.resource_group
            ),
            _ => format!("{what}: {code}: {said}"),
        };
        CloudError { code, message }
    }

    /// The account's resource, or `None` when it does not exist.
    pub async fn account(&self, account: &str) -> Result<Option<Value>, CloudError> {
        let answer = self.call("GET", &self.account_path(account), None).await?;
        match answer.status {
            200 => Ok(Some(serde_json::from_slice(&answer.body).unwrap_or(Value::Null))),
            404 => Ok(None),
            _ => Err(self.failed(&format!("reading storage account {account}"), &answer)),
        }
    }

    /// Why `account` cannot be created with that name, when it cannot.
    pub async fn name_taken(&self, account: &str) -> Result<Option<String>, CloudError> {
        let body = json!({"name": account, "type": "Microsoft.Storage/storageAccounts"});
        let answer = self
            .call(
                "POST",
                "/providers/Microsoft.Storage/checkNameAvailability",
                Some(&body),
            )
            .await?;
        if answer.status != 200 {
            return Err(self.failed(&format!("checking the name of storage account {account}"), &answer));
        }
        let reply: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        if reply.get("nameAvailable").and_then(Value::as_bool) == Some(true) {
            return Ok(None);
        }
        Ok(Some(
            reply
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the name is not available")
                .to_string(),
        ))
    }

    /// Creates the account and waits until Azure says it succeeded.
    pub async fn create_account(
        &self,
        account: &str,
        tags: &BTreeMap<String, String>,
        shared_key: bool,
    ) -> Result<(), CloudError> {
        let what = format!("creating storage account {account}");
        let body = account_request(&self.principal.region, tags, shared_key);
        let answer = self.call("PUT", &self.account_path(account), Some(&body)).await?;
        match answer.status {
            200 => return Ok(()),
            202 => {}
            _ => return Err(self.failed(&what, &answer)),
        }
        let Some(poll) = answer.header("azure-asyncoperation").or(answer.header("location")) else {
            return Ok(());
        };
        let poll = poll.to_string();
        for _ in 0..POLLS {
            tokio::time::sleep(POLL_EVERY).await;
            let answer = self.call_url("GET", &poll, None).await?;
            let reply: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            let status = reply.get("status").and_then(Value::as_str);
            match (answer.status, status) {
                (200, Some("Succeeded") | None) => return Ok(()),
                (200, Some("Failed" | "Canceled")) => {
                    return Err(CloudError {
                        code: "AccountCreationFailed".into(),
                        message: format!(
                            "{what}: Azure says {}",
                            reply
                                .pointer("/error/message")
                                .and_then(Value::as_str)
                                .unwrap_or("it failed")
                        ),
                    });
                }
                (200 | 202, _) => continue,
                _ => return Err(self.failed(&what, &answer)),
            }
        }
        Err(CloudError {
            code: "AccountCreationTimedOut".into(),
            message: format!("{what}: Azure had not finished after two minutes; the next pass looks again"),
        })
    }

    /// The account's first key, as the operator gives the registry.
    pub async fn first_key(&self, account: &str) -> Result<String, CloudError> {
        let path = format!("{}/listKeys", self.account_path(account));
        let answer = self.call("POST", &path, None).await?;
        let what = format!("reading the keys of storage account {account}");
        if answer.status != 200 {
            return Err(self.failed(&what, &answer));
        }
        let reply: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        reply
            .pointer("/keys/0/value")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| CloudError {
                code: "NoAccountKey".into(),
                message: format!("{what}: Azure listed none (is shared key access disabled on it?)"),
            })
    }

    fn container_path(&self, account: &str, container: &str) -> String {
        format!(
            "{}/blobServices/default/containers/{}",
            self.account_path(account),
            url_encode(container)
        )
    }

    /// A container's metadata through Resource Manager, or `None` when it does not exist: for
    /// accounts that refuse keys.
    pub async fn container_metadata(
        &self,
        account: &str,
        container: &str,
    ) -> Result<Option<BTreeMap<String, String>>, CloudError> {
        let answer = self.call("GET", &self.container_path(account, container), None).await?;
        match answer.status {
            200 => {
                let reply: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
                let metadata = reply
                    .pointer("/properties/metadata")
                    .and_then(Value::as_object)
                    .map(|m| {
                        // Named as the Blob API's headers name them.
                        m.iter()
                            .filter_map(|(k, v)| {
                                Some((format!("x-ms-meta-{}", k.to_ascii_lowercase()), v.as_str()?.to_string()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Some(metadata))
            }
            404 => Ok(None),
            _ => Err(self.failed(&format!("reading Azure container {container}"), &answer)),
        }
    }

    /// Creates a private container with `metadata` through Resource Manager.
    pub async fn create_container(
        &self,
        account: &str,
        container: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), CloudError> {
        let body = json!({"properties": {"publicAccess": "None", "metadata": metadata}});
        let answer = self
            .call("PUT", &self.container_path(account, container), Some(&body))
            .await?;
        match answer.status {
            200 | 201 => Ok(()),
            _ => Err(self.failed(&format!("creating Azure container {container}"), &answer)),
        }
    }

    /// Deletes a container with its blobs through Resource Manager; gone already is done.
    pub async fn delete_container(&self, account: &str, container: &str) -> Result<(), CloudError> {
        let answer = self
            .call("DELETE", &self.container_path(account, container), None)
            .await?;
        match answer.status {
            200 | 202 | 204 | 404 => Ok(()),
            _ => Err(self.failed(&format!("deleting Azure container {container}"), &answer)),
        }
    }

    /// Deletes the account; gone already is done.
    pub async fn delete_account(&self, account: &str) -> Result<(), CloudError> {
        let answer = self.call("DELETE", &self.account_path(account), None).await?;
        match answer.status {
            200 | 202 | 204 | 404 => Ok(()),
            _ => Err(self.failed(&format!("deleting storage account {account}"), &answer)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_made_as_the_operator_makes_it() {
        let tags: BTreeMap<String, String> =
            [("kubernetes.io_cluster.sim-7xk2p".to_string(), "owned".to_string())].into();
        assert_eq!(
            account_request("eastus", &tags, true),
            json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "eastus",
                "tags": {"kubernetes.io_cluster.sim-7xk2p": "owned"},
                "properties": {"supportsHttpsTrafficOnly": true, "allowBlobPublicAccess": false, "minimumTlsVersion": "TLS1_2"}})
        );
        assert_eq!(
            account_request("eastus", &tags, false)["properties"]["allowSharedKeyAccess"],
            json!(false)
        );
    }

    #[test]
    fn a_principal_needs_every_field_and_a_proof() {
        let data = |pairs: &[(&str, &str)]| -> Data {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect()
        };
        let full = [
            ("azure_tenant_id", "t"),
            ("azure_client_id", "c"),
            ("azure_client_secret", "hunter2"),
            ("azure_subscription_id", "s"),
            ("azure_resourcegroup", "rg"),
            ("azure_region", "eastus"),
        ];
        let principal = Principal::from_cloud(&data(&full)).unwrap();
        assert_eq!(
            (principal.resource_group.as_str(), principal.region.as_str()),
            ("rg", "eastus")
        );
        let federated = [
            &full[..2],
            &[("azure_federated_token_file", "/var/run/token")],
            &full[3..],
        ]
        .concat();
        assert!(matches!(
            Principal::from_cloud(&data(&federated)).unwrap().proof,
            Proof::FederatedTokenFile(_)
        ));
        let err = Principal::from_cloud(&data(&full[1..])).err().unwrap();
        assert!(err.message.contains("azure_tenant_id"), "{}", err.message);
        assert!(!err.message.contains("hunter2"), "{}", err.message);
    }
}
