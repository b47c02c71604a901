//! The built-in storage policy: the Image Registry Operator's platform table (which storage, how
//! many replicas, which rollout strategy, and whether the registry starts Managed or Removed), and
//! what information is still missing, with the command that supplies it.

use oc_registry_policy_sdk::{
    Missing, Outcome, Provisioning, PvcRequest, StorageDecision, StorageInput, policy, storage_driver,
};
use serde_json::{Value, json};

const DEFAULT_CLAIM: &str = "image-registry-storage";
const USER_SECRET: &str = "image-registry-private-configuration-user";

/// The platform default storage, as the operator bootstraps it.
fn platform_default(input: &StorageInput) -> (Value, i32, &'static str) {
    let pvc = json!({"pvc": {"claim": DEFAULT_CLAIM}});
    match input.platform.type_.as_str() {
        "AWS" => (json!({"s3": {}}), 2, "RollingUpdate"),
        "Azure" => (json!({"azure": {}}), 2, "RollingUpdate"),
        "GCP" => (json!({"gcs": {}}), 2, "RollingUpdate"),
        "IBMCloud" | "PowerVS" => (json!({"ibmcos": {}}), 2, "RollingUpdate"),
        "OpenStack" if input.facts.swift_available == Some(true) => (json!({"swift": {}}), 2, "RollingUpdate"),
        "OpenStack" | "oVirt" => (pvc, 1, "Recreate"),
        "BareMetal" | "VSphere" | "None" | "Nutanix" | "KubeVirt" | "EquinixMetal" | "External" | "AlibabaCloud" => {
            (json!({}), 1, "RollingUpdate")
        }
        _ => (json!({"emptyDir": {}}), 1, "RollingUpdate"),
    }
}

/// The credential keys each driver needs in the user secret.
fn required_user_keys(driver: &str) -> &'static [&'static [&'static str]] {
    match driver {
        "s3" => &[&["REGISTRY_STORAGE_S3_ACCESSKEY", "REGISTRY_STORAGE_S3_SECRETKEY"]],
        "gcs" => &[&["REGISTRY_STORAGE_GCS_KEYFILE"]],
        "azure" => &[&["REGISTRY_STORAGE_AZURE_ACCOUNTKEY"]],
        "swift" => &[
            &["REGISTRY_STORAGE_SWIFT_USERNAME", "REGISTRY_STORAGE_SWIFT_PASSWORD"],
            // An application credential by ID, or by name with the user it belongs to.
            &[
                "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALID",
                "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALSECRET",
            ],
            &[
                "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALNAME",
                "REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALSECRET",
                "REGISTRY_STORAGE_SWIFT_USERNAME",
            ],
            &["REGISTRY_STORAGE_SWIFT_TOKENID"],
        ],
        "ibmcos" => &[&["REGISTRY_STORAGE_IBMCOS_IAMAPIKEY"]],
        _ => &[],
    }
}

/// The keys of the cloud-credential-minted secret that make it usable for a driver.
fn cloud_keys_usable(driver: &str, keys: &[String]) -> bool {
    let has = |k: &str| keys.iter().any(|x| x == k);
    match driver {
        "s3" => has("credentials") || (has("aws_access_key_id") && has("aws_secret_access_key")),
        "gcs" => has("service_account.json"),
        "azure" => has("azure_client_id") || has("azure_federated_token_file"),
        "swift" => has("clouds.yaml"),
        "ibmcos" => has("ibmcloud_api_key"),
        _ => true,
    }
}

fn credential_findings(driver: &str, input: &StorageInput, missing: &mut Vec<Missing>) {
    let alternatives = required_user_keys(driver);
    if alternatives.is_empty() {
        return;
    }
    // Values from files: a value on a command line is visible to other users.
    let create = format!(
        "oc-registry storage credentials set {driver} {}",
        alternatives[0]
            .iter()
            .map(|k| format!("{k}=@FILE"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    match &input.facts.user_credential_keys {
        // The user secret, when present, is used exclusively: it must be complete.
        Some(keys) => {
            let complete = alternatives
                .iter()
                .any(|set| set.iter().all(|k| keys.iter().any(|x| x == k)));
            if !complete {
                let absent: Vec<&str> = alternatives[0]
                    .iter()
                    .copied()
                    .filter(|k| !keys.iter().any(|x| x == k))
                    .collect();
                missing.push(Missing {
                    message: format!(
                        "secret openshift-image-registry/{USER_SECRET} does not contain the keys {driver} storage needs: {}",
                        absent.join(", ")
                    ),
                    // The stored set is replaced as a whole, so the command names every key.
                    command: create,
                });
            }
        }
        None => {
            let usable = input
                .facts
                .cloud_credential_keys
                .as_deref()
                .is_some_and(|k| cloud_keys_usable(driver, k));
            if !usable {
                missing.push(Missing {
                    message: format!(
                        "no credentials for {driver} storage: neither {USER_SECRET} nor usable cloud credentials exist in openshift-image-registry"
                    ),
                    command: create,
                });
            }
        }
    }
}

fn decide(input: StorageInput) -> Outcome<StorageDecision> {
    let mut warnings = Vec::new();
    let configured = input.current.as_ref().filter(|c| {
        c.storage
            .as_object()
            .is_some_and(|m| m.keys().any(|k| k != "managementState"))
    });
    let (storage, mut replicas, strategy) = match configured {
        // A configured storage block is kept: the decision completes it, never replaces it.
        Some(current) => (
            current.storage.clone(),
            current.replicas.max(0),
            if current.rollout_strategy.is_empty() {
                "RollingUpdate"
            } else {
                current.rollout_strategy.as_str()
            },
        ),
        None => platform_default(&input),
    };
    let mut strategy = strategy.to_string();
    if configured.is_none() && input.platform.infrastructure_topology == "SingleReplica" && replicas > 1 {
        replicas = 1;
    }
    let mut missing = Vec::new();
    let driver = storage_driver(&storage);
    let empty = storage
        .as_object()
        .is_none_or(|m| m.keys().all(|k| k == "managementState"));
    let management_state = if empty { "Removed" } else { "Managed" };
    if empty {
        missing.push(Missing {
            message: format!(
                "{} provides no shareable object storage, so the registry starts Removed: configure storage, then set managementState to Managed",
                input.platform.type_
            ),
            command: "oc-registry set rollout-strategy Recreate && oc-registry set replicas 1 && \
                      oc-registry storage set pvc && oc-registry set management-state Managed"
                .into(),
        });
    } else if driver.is_none() {
        let set: Vec<&str> = oc_registry_policy_sdk::STORAGE_DRIVERS
            .iter()
            .copied()
            .filter(|d| storage.get(*d).is_some())
            .collect();
        return Outcome::deny(format!(
            "exactly one storage type should be configured at the same time, got {}: [{}]",
            set.len(),
            set.join(" ")
        ));
    }
    let mut create_pvc = None;
    match driver {
        Some("pvc") => {
            let claim = storage
                .pointer("/pvc/claim")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .unwrap_or(DEFAULT_CLAIM);
            match &input.facts.existing_pvc {
                None if claim == DEFAULT_CLAIM => {
                    let class = match input.platform.type_.as_str() {
                        "OpenStack" => Some("standard-csi".to_string()),
                        "oVirt" => Some("ovirt-csi-sc".to_string()),
                        _ => input.facts.default_storage_class.clone(),
                    };
                    create_pvc = Some(PvcRequest {
                        name: DEFAULT_CLAIM.into(),
                        access_modes: vec!["ReadWriteOnce".into()],
                        size: "100Gi".into(),
                        storage_class_name: class,
                    });
                }
                None => missing.push(Missing {
                    message: format!("the claim {claim} does not exist in openshift-image-registry"),
                    command: format!(
                        "oc create -n openshift-image-registry -f <pvc-manifest-for-{claim}.yaml>  # a ReadWriteMany claim, or ReadWriteOnce with one replica"
                    ),
                }),
                Some(pvc) => {
                    let rwx = pvc.access_modes.iter().any(|m| m == "ReadWriteMany");
                    let rwo = pvc.access_modes.iter().any(|m| m == "ReadWriteOnce");
                    if !rwx && rwo {
                        if replicas > 1 {
                            warnings.push(format!("claim {} is ReadWriteOnce: one replica, not {replicas}", pvc.name));
                            replicas = 1;
                        }
                        if strategy != "Recreate" {
                            warnings.push(format!("claim {} is ReadWriteOnce: rollout strategy Recreate", pvc.name));
                            strategy = "Recreate".into();
                        }
                    } else if !rwx && !rwo {
                        missing.push(Missing {
                            message: format!("PVC {} does not contain the necessary access modes: ReadWriteMany or ReadWriteOnce", pvc.name),
                            command: format!("oc get pvc {} -n openshift-image-registry -o jsonpath='{{.spec.accessModes}}'", pvc.name),
                        });
                    }
                    if claim == DEFAULT_CLAIM && !pvc.owned_by_registry {
                        missing.push(Missing {
                            message: format!("could not create default PVC, it already exists and is not owned by the operator: {DEFAULT_CLAIM}"),
                            command: format!("oc annotate pvc {DEFAULT_CLAIM} -n openshift-image-registry imageregistry.openshift.io=true"),
                        });
                    }
                }
            }
        }
        Some("emptyDir") if replicas > 1 => {
            warnings.push(format!("emptyDir storage with {replicas} replicas: each replica keeps its own images, and all are lost on restart"));
        }
        Some(d) => credential_findings(d, &input, &mut missing),
        None => {}
    }
    // The operator's set-up: KMS with the configured key, else AES256.
    let kms_key = storage
        .pointer("/s3/keyID")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    let provisioning = Provisioning {
        encryption: if kms_key.is_some() { "aws:kms" } else { "AES256" }.into(),
        kms_key_id: kms_key,
        ..Provisioning::default()
    };
    let decision = StorageDecision {
        storage,
        replicas,
        rollout_strategy: strategy,
        management_state: management_state.into(),
        create_pvc,
        missing,
        provisioning: Some(provisioning),
    };
    warnings.into_iter().fold(Outcome::decide(decision), Outcome::warn)
}

policy! {
    name: "builtin-storage",
    version: "1.0.0",
    description: "The Image Registry Operator's platform storage table",
    storage: decide,
}
