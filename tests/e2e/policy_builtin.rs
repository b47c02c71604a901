//! The built-in policies, run as WebAssembly through the host, against the operator's platform
//! table (operator-behaviour §2.2) and the documented pruner rule.

use oc_registry::policy::sdk::{CurrentConfig, PlatformFacts, PrunerInput, PvcFacts, StorageFacts, StorageInput};
use oc_registry::policy::{Cause, Policies};
use serde_json::{Value, json};

fn policies() -> Policies {
    Policies::load(None, None).unwrap()
}

fn input(platform: &str, facts: StorageFacts) -> StorageInput {
    StorageInput {
        platform: PlatformFacts {
            type_: platform.into(),
            status: json!({"type": platform}),
            infrastructure_name: "sim-7xk2p".into(),
            infrastructure_topology: "HighlyAvailable".into(),
        },
        current: None,
        facts,
    }
}

fn cloud_creds(keys: &[&str]) -> StorageFacts {
    StorageFacts {
        cloud_credential_keys: Some(keys.iter().map(|k| k.to_string()).collect()),
        ..StorageFacts::default()
    }
}

#[test]
fn every_platform_gets_the_operators_bootstrap_storage() {
    let p = policies();
    let table: &[(&str, StorageFacts, Value, i32, &str, &str)] = &[
        (
            "AWS",
            cloud_creds(&["aws_access_key_id", "aws_secret_access_key"]),
            json!({"s3": {}}),
            2,
            "RollingUpdate",
            "Managed",
        ),
        (
            "Azure",
            cloud_creds(&["azure_client_id", "azure_client_secret"]),
            json!({"azure": {}}),
            2,
            "RollingUpdate",
            "Managed",
        ),
        (
            "GCP",
            cloud_creds(&["service_account.json"]),
            json!({"gcs": {}}),
            2,
            "RollingUpdate",
            "Managed",
        ),
        (
            "IBMCloud",
            cloud_creds(&["ibmcloud_api_key"]),
            json!({"ibmcos": {}}),
            2,
            "RollingUpdate",
            "Managed",
        ),
        (
            "PowerVS",
            cloud_creds(&["ibmcloud_api_key"]),
            json!({"ibmcos": {}}),
            2,
            "RollingUpdate",
            "Managed",
        ),
        (
            "OpenStack",
            StorageFacts {
                swift_available: Some(true),
                ..cloud_creds(&["clouds.yaml"])
            },
            json!({"swift": {}}),
            2,
            "RollingUpdate",
            "Managed",
        ),
        (
            "OpenStack",
            StorageFacts {
                swift_available: Some(false),
                ..cloud_creds(&["clouds.yaml"])
            },
            json!({"pvc": {"claim": "image-registry-storage"}}),
            1,
            "Recreate",
            "Managed",
        ),
        (
            "oVirt",
            StorageFacts::default(),
            json!({"pvc": {"claim": "image-registry-storage"}}),
            1,
            "Recreate",
            "Managed",
        ),
        (
            "Libvirt",
            StorageFacts::default(),
            json!({"emptyDir": {}}),
            1,
            "RollingUpdate",
            "Managed",
        ),
        (
            "SomethingNew",
            StorageFacts::default(),
            json!({"emptyDir": {}}),
            1,
            "RollingUpdate",
            "Managed",
        ),
    ];
    for (platform, facts, storage, replicas, strategy, state) in table {
        let d = p
            .storage(&input(platform, facts.clone()))
            .unwrap_or_else(|e| panic!("{platform}: {e}"));
        assert_eq!(d.module, "builtin-storage");
        let d = d.decision;
        assert_eq!(
            (
                &d.storage,
                d.replicas,
                d.rollout_strategy.as_str(),
                d.management_state.as_str()
            ),
            (storage, *replicas, *strategy, *state),
            "{platform}"
        );
        assert!(d.missing.is_empty(), "{platform}: {:?}", d.missing);
    }
    for platform in [
        "BareMetal",
        "VSphere",
        "None",
        "Nutanix",
        "KubeVirt",
        "EquinixMetal",
        "External",
        "AlibabaCloud",
    ] {
        let d = p.storage(&input(platform, StorageFacts::default())).unwrap().decision;
        assert_eq!(
            (d.storage, d.replicas, d.management_state.as_str()),
            (json!({}), 1, "Removed"),
            "{platform}"
        );
        assert!(
            d.missing[0].message.contains("no shareable object storage"),
            "{platform}"
        );
        assert!(
            d.missing[0].command.contains("oc-registry storage set pvc")
                && d.missing[0]
                    .command
                    .contains("oc-registry set management-state Managed"),
            "{platform}"
        );
    }
}

#[test]
fn openstack_without_swift_pre_creates_the_claim() {
    let d = policies()
        .storage(&input(
            "OpenStack",
            StorageFacts {
                swift_available: Some(false),
                ..StorageFacts::default()
            },
        ))
        .unwrap()
        .decision;
    let pvc = d.create_pvc.expect("a claim to create");
    assert_eq!(
        (pvc.name.as_str(), pvc.access_modes, pvc.size.as_str()),
        ("image-registry-storage", vec!["ReadWriteOnce".to_string()], "100Gi")
    );
    assert_eq!(pvc.storage_class_name.as_deref(), Some("standard-csi"));
}

#[test]
fn single_replica_topology_gets_one_replica() {
    let mut i = input("AWS", cloud_creds(&["credentials"]));
    i.platform.infrastructure_topology = "SingleReplica".into();
    assert_eq!(policies().storage(&i).unwrap().decision.replicas, 1);
}

#[test]
fn missing_credentials_name_the_secret_and_the_keys() {
    let p = policies();
    let none = p.storage(&input("AWS", StorageFacts::default())).unwrap().decision;
    assert!(
        none.missing[0].message.contains("no credentials for s3 storage"),
        "{:?}",
        none.missing
    );
    assert!(none.missing[0].command.contains(
        "oc-registry storage credentials set s3 REGISTRY_STORAGE_S3_ACCESSKEY=@FILE REGISTRY_STORAGE_S3_SECRETKEY=@FILE"
    ));
    let partial = StorageFacts {
        user_credential_keys: Some(vec!["REGISTRY_STORAGE_S3_ACCESSKEY".into()]),
        ..cloud_creds(&["credentials"])
    };
    let d = p.storage(&input("AWS", partial)).unwrap().decision;
    assert!(
        d.missing[0]
            .message
            .contains("does not contain the keys s3 storage needs: REGISTRY_STORAGE_S3_SECRETKEY"),
        "{:?}",
        d.missing
    );
}

#[test]
fn configured_storage_is_kept_and_checked() {
    let p = policies();
    let mut i = input("AWS", cloud_creds(&["credentials"]));
    i.current = Some(CurrentConfig {
        management_state: "Managed".into(),
        storage: json!({"pvc": {"claim": "registry"}}),
        replicas: 2,
        rollout_strategy: "RollingUpdate".into(),
    });
    i.facts.existing_pvc = Some(PvcFacts {
        name: "registry".into(),
        access_modes: vec!["ReadWriteOnce".into()],
        owned_by_registry: false,
    });
    let d = p.storage(&i).unwrap();
    assert_eq!(d.decision.storage, json!({"pvc": {"claim": "registry"}}));
    assert_eq!(
        (d.decision.replicas, d.decision.rollout_strategy.as_str()),
        (1, "Recreate"),
        "ReadWriteOnce forces one replica and Recreate"
    );
    assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);

    i.current.as_mut().unwrap().storage = json!({"pvc": {"claim": "registry"}, "emptyDir": {}});
    let err = p.storage(&i).unwrap_err();
    assert!(
        matches!(&err.cause, Cause::Refused(r) if r[0].contains("exactly one storage type should be configured at the same time, got 2")),
        "{err}"
    );
}

#[test]
fn the_pruner_follows_the_documented_rule() {
    let p = policies();
    let managed = p
        .pruner(&PrunerInput {
            registry_management_state: "Managed".into(),
            pruner: json!({"ignoreInvalidImageReferences": true}),
            internal_registry_hostname: String::new(),
        })
        .unwrap();
    let d = managed.decision;
    assert_eq!(
        d.args,
        [
            "--confirm=true",
            "--certificate-authority=/var/run/configmaps/serviceca/service-ca.crt",
            "--keep-tag-revisions=3",
            "--keep-younger-than=60m",
            "--ignore-invalid-refs=true",
            "--loglevel=1",
            "--prune-registry=true",
            "--registry-url=https://image-registry.openshift-image-registry.svc:5000",
        ]
    );
    assert!(d.prune_registry);
    assert_eq!(
        (
            d.schedule.as_str(),
            d.suspend,
            d.successful_jobs_history_limit,
            d.failed_jobs_history_limit
        ),
        ("0 0 * * *", false, 3, 3)
    );
    for state in ["Removed", "Unmanaged"] {
        let d = p
            .pruner(&PrunerInput {
                registry_management_state: state.into(),
                pruner: json!({"keepYoungerThanDuration": "90m", "keepTagRevisions": 5, "logLevel": "Debug", "schedule": "*/30 * * * *", "suspend": true}),
                internal_registry_hostname: "image-registry.openshift-image-registry.svc:5000".into(),
            })
            .unwrap()
            .decision;
        assert!(!d.prune_registry, "{state}");
        assert_eq!(d.args.last().unwrap(), "--prune-registry=false");
        assert!(d.args.contains(&"--keep-younger-than=1h30m0s".to_string()));
        assert!(d.args.contains(&"--keep-tag-revisions=5".to_string()));
        assert!(d.args.contains(&"--loglevel=4".to_string()));
        assert_eq!((d.schedule.as_str(), d.suspend), ("*/30 * * * *", true));
        assert!(d.reason.contains(state));
    }
}

#[test]
fn decisions_use_little_fuel() {
    let d = policies()
        .storage(&input("AWS", cloud_creds(&["credentials"])))
        .unwrap();
    assert!(d.fuel_used > 0 && d.fuel_used < 5_000_000, "{}", d.fuel_used);
}
