//! Completing the Config the way the operator does before it renders anything: a generated
//! `httpSecret`, the platform's storage when none is set, and the storage block's generated names
//! and platform-derived fields. Everything filled here is written back to the Config's spec, so
//! it is generated once.

use crate::api::{Config, Infrastructure, Storage};
use crate::storage::{self, Platform, Randomness};
use anyhow::Result;

/// What completion changed, for the caller to report (never the secret itself).
#[derive(Debug, Default, PartialEq)]
pub struct Completed {
    pub generated_http_secret: bool,
    pub filled_storage: bool,
}

/// Fills `config.spec`: `platform_storage` is the storage hook's answer, used when no driver is set.
pub fn complete(
    config: &mut Config,
    infrastructure: &Infrastructure,
    platform_storage: Option<&Storage>,
    random: &mut dyn Randomness,
) -> Result<Completed> {
    let mut done = Completed::default();
    let spec = &mut config.spec;
    if spec.http_secret.as_deref().unwrap_or_default().is_empty() {
        spec.http_secret = Some(random.hex(64));
        done.generated_http_secret = true;
    }
    let before = spec.storage.clone();
    let storage = spec.storage.get_or_insert_with(Storage::default);
    if storage::block_names(storage).is_empty()
        && let Some(default) = platform_storage
    {
        // The operator replaces the whole block, a lone managementState included.
        *storage = default.clone();
    }
    let status = infrastructure.status.clone().unwrap_or_default();
    let infra_name = status.infrastructure_name.unwrap_or_default();
    let platform_status = status.platform_status.unwrap_or_default();
    let platform = Platform {
        infrastructure_name: &infra_name,
        status: &platform_status,
    };
    storage::complete(storage, &platform, random);
    done.filled_storage = spec.storage != before;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::names_for_tests::Fixed;
    use serde_json::json;

    fn infrastructure(platform: serde_json::Value) -> Infrastructure {
        serde_json::from_value(json!({
            "metadata": {"name": "cluster"},
            "spec": {},
            "status": {"infrastructureName": "sim-7xk2p", "platformStatus": platform},
        }))
        .unwrap()
    }

    fn completed(storage: serde_json::Value, platform: serde_json::Value) -> serde_json::Value {
        let mut config: Config = serde_json::from_value(json!({
            "metadata": {"name": "cluster"},
            "spec": {"replicas": 1, "storage": storage},
        }))
        .unwrap();
        complete(&mut config, &infrastructure(platform), None, &mut Fixed).unwrap();
        serde_json::to_value(config.spec.storage).unwrap()
    }

    /// A generated name: padded with `-` and (fixed) random letters to 62 characters.
    fn padded(base: &str) -> String {
        format!("{base}-{}", "x".repeat(62 - base.len() - 1))
    }

    #[test]
    fn storage_is_completed_as_the_operator_completes_it() {
        let aws = json!({"type": "AWS", "aws": {"region": "us-east-1"}});
        let cases = [
            // Names the registry generates make storage it manages.
            (
                json!({"s3": {}}),
                aws.clone(),
                json!({"s3": {"bucket": "sim-7xk2p-image-registry-us-east-1", "region": "us-east-1"}, "managementState": "Managed"}),
            ),
            // A user's bucket: its cloud decides (adopted when it exists, Managed when created).
            (
                json!({"s3": {"bucket": "mine"}}),
                aws.clone(),
                json!({"s3": {"bucket": "mine", "region": "us-east-1"}}),
            ),
            // An owner already decided stays.
            (
                json!({"s3": {}, "managementState": "Unmanaged"}),
                aws.clone(),
                json!({"s3": {"bucket": "sim-7xk2p-image-registry-us-east-1", "region": "us-east-1"}, "managementState": "Unmanaged"}),
            ),
            (
                json!({"s3": {}}),
                json!({"type": "AWS", "aws": {"region": "us-gov-west-1", "serviceEndpoints": [{"name": "s3", "url": "https://s3.example.com"}]}}),
                json!({"s3": {"bucket": "sim-7xk2p-image-registry-us-gov-west-1", "region": "us-gov-west-1", "regionEndpoint": "https://s3.example.com", "virtualHostedStyle": true}, "managementState": "Managed"}),
            ),
            (
                json!({"pvc": {}}),
                json!({"type": "OpenStack"}),
                json!({"pvc": {"claim": "image-registry-storage"}, "managementState": "Managed"}),
            ),
            (
                json!({"pvc": {"claim": "team-data"}}),
                json!({"type": "OpenStack"}),
                json!({"pvc": {"claim": "team-data"}, "managementState": "Unmanaged"}),
            ),
            (
                json!({"emptyDir": {}}),
                json!({"type": "Libvirt"}),
                json!({"emptyDir": {}, "managementState": "Managed"}),
            ),
            (
                json!({"gcs": {}}),
                json!({"type": "GCP", "gcp": {"region": "us-central1", "projectID": "p"}}),
                json!({"gcs": {"bucket": padded("sim-7xk2p-image-registry-us-central1"), "region": "us-central1", "projectID": "p"}, "managementState": "Managed"}),
            ),
            (
                json!({"azure": {}}),
                json!({"type": "Azure", "azure": {"cloudName": "AzurePublicCloud"}}),
                json!({"azure": {"accountName": "imageregistrysim7xkxxxxx", "container": padded("sim-7xk2p-image-registry"), "cloudName": "AzurePublicCloud"}, "managementState": "Managed"}),
            ),
            (
                json!({"swift": {"container": "c"}}),
                json!({"type": "OpenStack"}),
                // Whether it is the user's is for Swift to say: adopted when it exists.
                json!({"swift": {"container": "c"}}),
            ),
            (
                json!({"ibmcos": {}}),
                json!({"type": "IBMCloud", "ibmcloud": {"location": "us-east", "resourceGroupName": "rg"}}),
                json!({"ibmcos": {"bucket": padded("sim-7xk2p-image-registry-us-east"), "location": "us-east", "resourceGroupName": "rg"}, "managementState": "Managed"}),
            ),
            // PowerVS: the COS region serving the PowerVS region, its resource group.
            (
                json!({"ibmcos": {}}),
                json!({"type": "PowerVS", "powervs": {"region": "dal", "zone": "dal12", "resourceGroup": "rg"}}),
                json!({"ibmcos": {"bucket": padded("sim-7xk2p-image-registry-us-south"), "location": "us-south", "resourceGroupName": "rg"}, "managementState": "Managed"}),
            ),
            // Several drivers: nothing sensible to fill; rendering reports it.
            (
                json!({"emptyDir": {}, "pvc": {}}),
                json!({"type": "None"}),
                json!({"emptyDir": {}, "pvc": {}}),
            ),
        ];
        for (storage, platform, want) in cases {
            assert_eq!(completed(storage.clone(), platform), want, "{storage}");
        }
    }
}
