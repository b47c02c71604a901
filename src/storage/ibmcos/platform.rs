//! The IBM Cloud APIs behind a COS bucket, as the operator calls them: an IAM token for the API
//! key, the resource group by name (Resource Manager), the COS service instance and its HMAC
//! resource key (Resource Controller). Each endpoint honours the platform's override.

use super::super::cloud::{CloudContext, CloudError};
use super::super::transport::{self, Answer};
use aws_smithy_runtime_api::client::http::SharedHttpConnector;
use base64::Engine as _;
use serde_json::{Value, json};

/// COS's standard plan, the one the operator provisions.
const COS_PLAN: &str = "744bfc56-d12c-4866-88d5-dac9139e0e5d";
/// The key's role: the registry writes and deletes objects.
pub(super) const WRITER: &str = "crn:v1:bluemix:public:iam::::serviceRole:Writer";
const MANAGER: &str = "crn:v1:bluemix:public:iam::::serviceRole:Manager";

/// The public endpoints, by the name `platformStatus.*.serviceEndpoints` overrides them with.
const ENDPOINTS: &[(&str, &str)] = &[
    ("IAM", "https://iam.cloud.ibm.com"),
    ("ResourceController", "https://resource-controller.cloud.ibm.com"),
    ("ResourceManager", "https://resource-controller.cloud.ibm.com"),
];

/// A COS service instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Instance {
    pub crn: String,
    pub state: String,
    pub resource_group_id: String,
}

/// A resource key, with its HMAC pair when it has one. Debug never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct ResourceKey {
    pub crn: String,
    pub source_crn: String,
    pub role: String,
    pub hmac: Option<(String, String)>,
}

impl std::fmt::Debug for ResourceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResourceKey({}, hmac: {})", self.crn, self.hmac.is_some())
    }
}

impl ResourceKey {
    /// Whether the registry can use it for `instance`: its source, HMAC keys, a writing role.
    pub fn unusable_for(&self, instance: &str) -> Option<&'static str> {
        if self.source_crn != instance {
            Some("belongs to another service instance")
        } else if self.hmac.is_none() {
            Some("has no HMAC keys (create it with {\"HMAC\": true})")
        } else if self.role != WRITER && self.role != MANAGER {
            Some("has neither the Writer nor the Manager role")
        } else {
            None
        }
    }
}

/// Signed-in calls to the IBM Cloud APIs.
pub(super) struct IbmCloud {
    https: SharedHttpConnector,
    urls: Vec<(&'static str, String)>,
    token: String,
}

/// The IBM Cloud error in an answer: its code and message, never the request.
fn refusal(service: &str, call: &str, answer: &Answer) -> CloudError {
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = ["/errorCode", "/errors/0/code", "/code"]
        .iter()
        .find_map(|p| body.pointer(p).and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP{}", answer.status));
    let message = ["/errorMessage", "/message", "/errors/0/message"]
        .iter()
        .find_map(|p| body.pointer(p).and_then(Value::as_str))
        .unwrap_or("no message");
    let fix = match answer.status {
        400 | 401 if service == "IAM" => {
            ": the API key was refused; store a valid one as REGISTRY_STORAGE_IBMCOS_IAMAPIKEY in the Secret \
             openshift-image-registry/image-registry-private-configuration-user"
        }
        401 | 403 => {
            ": the API key's service ID lacks the access this needs (Editor on the resource group, Writer on COS)"
        }
        _ => "",
    };
    CloudError {
        code,
        message: format!(
            "{call} at IBM Cloud {service} failed ({}): {message}{fix}",
            answer.status
        ),
    }
}

impl IbmCloud {
    /// Exchanges the API key for an IAM token.
    pub async fn sign_in(api_key: &str, cx: &CloudContext<'_>) -> Result<IbmCloud, CloudError> {
        let https = SharedHttpConnector::new(transport::connector(cx)?);
        let urls = ENDPOINTS
            .iter()
            .map(|(name, default)| {
                let url = cx.service_endpoint(name).unwrap_or(default);
                (*name, url.trim_end_matches('/').to_string())
            })
            .collect();
        let mut cloud = IbmCloud {
            https,
            urls,
            token: String::new(),
        };
        let body = format!(
            "grant_type={}&apikey={}",
            transport::url_encode("urn:ibm:params:oauth:grant-type:apikey"),
            transport::url_encode(api_key)
        );
        let request = http::Request::post(format!("{}/identity/token", cloud.url("IAM")))
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, crate::cluster::USER_AGENT)
            .body(body.into_bytes())
            .map_err(|e| invalid(e.to_string()))?;
        let answer = transport::send(&cloud.https, "IBM Cloud IAM", request).await?;
        if answer.status != 200 {
            return Err(refusal("IAM", "exchanging the API key for a token", &answer));
        }
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        cloud.token = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| invalid("IBM Cloud IAM answered without an access token".into()))?
            .to_string();
        Ok(cloud)
    }

    fn url(&self, service: &str) -> &str {
        self.urls
            .iter()
            .find(|(name, _)| *name == service)
            .map_or("", |(_, url)| url.as_str())
    }

    /// The account the token is for (the `account.bss` claim).
    pub fn account_id(&self) -> Result<String, CloudError> {
        let payload = self.token.split('.').nth(1).unwrap_or_default();
        let claims: Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        claims
            .pointer("/account/bss")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| invalid("the IAM token names no account (no account.bss claim)".into()))
    }

    async fn call(
        &self,
        service: &str,
        call: &str,
        method: http::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Option<Value>, CloudError> {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url(service)))
            .header(http::header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, crate::cluster::USER_AGENT)
            .body(body.map(|b| b.to_string().into_bytes()).unwrap_or_default())
            .map_err(|e| invalid(e.to_string()))?;
        let answer = transport::send(&self.https, &format!("IBM Cloud {service}"), request).await?;
        match answer.status {
            200..=299 => Ok(Some(serde_json::from_slice(&answer.body).map_err(|e| {
                invalid(format!(
                    "{call}: IBM Cloud {service} answered with something other than JSON: {e}"
                ))
            })?)),
            404 | 410 => Ok(None),
            _ => Err(refusal(service, call, &answer)),
        }
    }

    /// The ID of the resource group `name` in `account`.
    pub async fn resource_group_id(&self, account: &str, name: &str) -> Result<String, CloudError> {
        let path = format!(
            "/v2/resource_groups?account_id={}&name={}",
            transport::url_encode(account),
            transport::url_encode(name)
        );
        let found = self
            .call(
                "ResourceManager",
                "listing resource groups",
                http::Method::GET,
                &path,
                None,
            )
            .await?
            .unwrap_or_default();
        found
            .pointer("/resources/0/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| CloudError {
                code: "ResourceGroupNotFound".into(),
                message: format!(
                    "IBM Cloud account {account} has no resource group {name}: set spec.storage.ibmcos.resourceGroupName \
                     to one it has"
                ),
            })
    }

    /// The service instance `crn`, when it exists.
    pub async fn instance(&self, crn: &str) -> Result<Option<Instance>, CloudError> {
        let path = format!("/v2/resource_instances/{}", transport::url_encode(crn));
        let found = self
            .call(
                "ResourceController",
                "reading the COS service instance",
                http::Method::GET,
                &path,
                None,
            )
            .await?;
        Ok(found.as_ref().and_then(instance_of))
    }

    /// The COS instance called `name` in the resource group, when one is.
    pub async fn find_instance(&self, name: &str, group_id: &str) -> Result<Option<Instance>, CloudError> {
        let path = format!(
            "/v2/resource_instances?name={}&resource_group_id={}&resource_plan_id={COS_PLAN}",
            transport::url_encode(name),
            transport::url_encode(group_id)
        );
        let found = self
            .call(
                "ResourceController",
                "listing COS service instances",
                http::Method::GET,
                &path,
                None,
            )
            .await?
            .unwrap_or_default();
        Ok(found.pointer("/resources/0").and_then(instance_of))
    }

    /// Creates a COS instance, tagged as the cluster's.
    pub async fn create_instance(
        &self,
        name: &str,
        group_id: &str,
        infrastructure_name: &str,
    ) -> Result<Instance, CloudError> {
        let body = json!({
            "name": name,
            "target": "bluemix-global",
            "resource_group": group_id,
            "resource_plan_id": COS_PLAN,
            "tags": [format!("kubernetes.io_cluster_{infrastructure_name}:owned")],
        });
        let created = self
            .call(
                "ResourceController",
                "creating the COS service instance",
                http::Method::POST,
                "/v2/resource_instances",
                Some(body),
            )
            .await?;
        created.as_ref().and_then(instance_of).ok_or_else(|| {
            invalid("IBM Cloud ResourceController answered the creation without the instance's CRN".into())
        })
    }

    /// The resource key `crn`, when it exists.
    pub async fn key(&self, crn: &str) -> Result<Option<ResourceKey>, CloudError> {
        let path = format!("/v2/resource_keys/{}", transport::url_encode(crn));
        let found = self
            .call(
                "ResourceController",
                "reading the resource key",
                http::Method::GET,
                &path,
                None,
            )
            .await?;
        Ok(found.as_ref().and_then(key_of))
    }

    /// Creates an HMAC resource key with the Writer role for `instance`.
    pub async fn create_key(&self, name: &str, instance: &str) -> Result<ResourceKey, CloudError> {
        let body = json!({"name": name, "source": instance, "role": WRITER, "parameters": {"HMAC": true}});
        let created = self
            .call(
                "ResourceController",
                "creating the HMAC resource key",
                http::Method::POST,
                "/v2/resource_keys",
                Some(body),
            )
            .await?;
        created
            .as_ref()
            .and_then(key_of)
            .ok_or_else(|| invalid("IBM Cloud ResourceController answered the creation without the key's CRN".into()))
    }
}

fn invalid(message: String) -> CloudError {
    CloudError {
        code: "InvalidResponse".into(),
        message,
    }
}

fn instance_of(v: &Value) -> Option<Instance> {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    let crn = s("/crn");
    (!crn.is_empty()).then(|| Instance {
        crn,
        state: s("/state"),
        resource_group_id: s("/resource_group_id"),
    })
}

fn key_of(v: &Value) -> Option<ResourceKey> {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    let crn = s("/crn");
    let hmac = Some((
        s("/credentials/cos_hmac_keys/access_key_id"),
        s("/credentials/cos_hmac_keys/secret_access_key"),
    ))
    .filter(|(a, k)| !a.is_empty() && !k.is_empty());
    (!crn.is_empty()).then(|| ResourceKey {
        crn,
        source_crn: s("/source_crn"),
        role: s("/credentials/iam_role_crn"),
        hmac,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_with_their_hmac_pair_and_judged() {
        let key = key_of(&json!({
            "crn": "crn:v1:bluemix:public:cloud-object-storage:global:a/1:i::",
            "source_crn": "crn:i",
            "credentials": {"iam_role_crn": WRITER, "cos_hmac_keys": {"access_key_id": "AK", "secret_access_key": "SK"}},
        }))
        .unwrap();
        assert_eq!(key.hmac, Some(("AK".into(), "SK".into())));
        assert_eq!(key.unusable_for("crn:i"), None);
        assert!(key.unusable_for("crn:other").is_some());
        assert!(!format!("{key:?}").contains("SK"));
        let without =
            key_of(&json!({"crn": "c", "source_crn": "crn:i", "credentials": {"iam_role_crn": WRITER}})).unwrap();
        assert!(without.unusable_for("crn:i").unwrap().contains("HMAC"));
        let reader = ResourceKey {
            role: "crn:v1:bluemix:public:iam::::serviceRole:Reader".into(),
            ..key
        };
        assert!(reader.unusable_for("crn:i").unwrap().contains("Writer"));
        assert_eq!(key_of(&json!({})), None);
    }

    #[test]
    fn refusals_name_the_service_and_the_fix_never_the_request() {
        let answer = Answer {
            status: 400,
            headers: Vec::new(),
            body: br#"{"errorCode":"BXNIM0415E","errorMessage":"Provided API key could not be found."}"#.to_vec(),
        };
        let err = refusal("IAM", "exchanging the API key for a token", &answer);
        assert_eq!(err.code, "BXNIM0415E");
        assert!(err.message.contains("REGISTRY_STORAGE_IBMCOS_IAMAPIKEY"), "{err}");
        let answer = Answer {
            status: 500,
            headers: Vec::new(),
            body: b"oops".to_vec(),
        };
        assert_eq!(refusal("ResourceController", "x", &answer).code, "HTTP500");
    }

    #[test]
    fn values_are_url_encoded() {
        assert_eq!(transport::url_encode("a b/c:d"), "a%20b%2Fc%3Ad");
        assert_eq!(transport::url_encode("crn:v1:x"), "crn%3Av1%3Ax");
    }
}
