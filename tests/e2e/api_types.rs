//! The typed OpenShift APIs: fixtures of each kind validate against the real upstream CRD schema,
//! unknown fields survive a read-modify-write, and writes the schema forbids come back as 422 with
//! the field path.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::Api;
use kube::api::PostParams;
use oc_registry::api::*;
use serde_json::json;
use std::collections::BTreeMap;
use test_apiserver::{ApiServer, Platform, Settings};

fn check<T: serde::Serialize>(server: &ApiServer, object: &T) {
    let value = serde_json::to_value(object).unwrap();
    server
        .check(&value)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", serde_json::to_string_pretty(&value).unwrap()));
}

fn full_config_spec(storage: Storage) -> ConfigSpec {
    ConfigSpec {
        management_state: Some("Managed".into()),
        log_level: Some("Debug".into()),
        operator_log_level: Some("Normal".into()),
        logging: Some(2),
        http_secret: Some("0123456789abcdef".into()),
        proxy: Some(ProxySettings {
            http: Some("http://proxy.example.com:3128".into()),
            https: Some("http://proxy.example.com:3128".into()),
            no_proxy: Some(".cluster.local,.svc".into()),
            ..Default::default()
        }),
        storage: Some(storage),
        read_only: Some(false),
        disable_redirect: Some(false),
        requests: Some(Requests {
            read: Some(RequestLimits {
                max_running: Some(10),
                max_in_queue: Some(20),
                max_wait_in_queue: Some("1m0s".into()),
                ..Default::default()
            }),
            write: Some(RequestLimits {
                max_running: Some(5),
                ..Default::default()
            }),
            ..Default::default()
        }),
        default_route: Some(true),
        routes: Some(vec![ExtraRoute {
            name: "public".into(),
            hostname: Some("registry.apps.example.com".into()),
            secret_name: Some("public-route-tls".into()),
            ..Default::default()
        }]),
        replicas: 2,
        rollout_strategy: Some("RollingUpdate".into()),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".into(), Quantity("100m".into())),
                ("memory".into(), Quantity("256Mi".into())),
            ])),
            ..Default::default()
        }),
        node_selector: Some(BTreeMap::from([(
            "node-role.kubernetes.io/infra".into(),
            String::new(),
        )])),
        ..Default::default()
    }
}

fn storages() -> Vec<Storage> {
    vec![
        Storage {
            management_state: Some("Unmanaged".into()),
            s3: Some(S3Storage {
                bucket: Some("registry".into()),
                region: Some("us-east-1".into()),
                region_endpoint: Some("https://s3.example.com".into()),
                chunk_size_mib: Some(10),
                encrypt: Some(true),
                key_id: Some("arn:aws:kms:us-east-1:000000000000:key/abc".into()),
                virtual_hosted_style: Some(false),
                trusted_ca: Some(NameRef {
                    name: "s3-ca".into(),
                    ..Default::default()
                }),
                cloud_front: Some(CloudFront {
                    base_url: "https://d111111abcdef8.cloudfront.net".into(),
                    private_key: SecretKeyRef {
                        name: Some("cloudfront".into()),
                        key: Some("private.pem".into()),
                        ..Default::default()
                    },
                    keypair_id: "K2JCJMDEHXQW5F".into(),
                    duration: Some("300s".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
        Storage {
            gcs: Some(GcsStorage {
                bucket: Some("b".into()),
                region: Some("us-central1".into()),
                project_id: Some("p".into()),
                key_id: Some("k".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        Storage {
            azure: Some(AzureStorage {
                account_name: Some("account".into()),
                container: Some("registry-images".into()),
                cloud_name: Some("AzurePublicCloud".into()),
                network_access: Some(AzureNetworkAccess {
                    type_: Some("Internal".into()),
                    internal: Some(AzureNetworkAccessInternal {
                        vnet_name: Some("vnet".into()),
                        subnet_name: Some("subnet".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
        Storage {
            swift: Some(SwiftStorage {
                container: Some("c".into()),
                auth_url: Some("https://keystone:5000/v3".into()),
                auth_version: Some("3".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        Storage {
            pvc: Some(PvcStorage {
                claim: Some("image-registry-storage".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        Storage {
            empty_dir: Some(EmptyDirStorage::default()),
            ..Default::default()
        },
        Storage {
            ibmcos: Some(IbmCosStorage {
                bucket: Some("b".into()),
                location: Some("us-south".into()),
                resource_group_name: Some("rg".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    ]
}

#[test]
fn fixtures_of_every_kind_validate_against_the_upstream_crds() {
    let server = ApiServer::new(Settings::default());
    for storage in storages() {
        let mut config = Config::new(CLUSTER, full_config_spec(storage.clone()));
        config.status = Some(ConfigStatus {
            conditions: vec![Condition {
                type_: "Available".into(),
                status: "True".into(),
                reason: Some("Ready".into()),
                message: Some("The registry is ready".into()),
                last_transition_time: Some("2026-11-01T08:00:00Z".into()),
                ..Default::default()
            }],
            observed_generation: Some(1),
            ready_replicas: Some(2),
            storage,
            storage_managed: false,
            ..Default::default()
        });
        check(&server, &config);
    }
    let pruner = ImagePruner::new(
        CLUSTER,
        ImagePrunerSpec {
            schedule: "0 */6 * * *".into(),
            suspend: Some(false),
            keep_tag_revisions: Some(5),
            keep_younger_than_duration: Some("2h".into()),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(1),
            ignore_invalid_image_references: Some(true),
            log_level: Some("Debug".into()),
            ..Default::default()
        },
    );
    check(&server, &pruner);
    let mut infra = Infrastructure::new(CLUSTER, InfrastructureSpec::default());
    infra.status = Some(InfrastructureStatus {
        infrastructure_name: Some("sim-7xk2p".into()),
        platform: Some("AWS".into()),
        platform_status: Some(PlatformStatus {
            type_: Some("AWS".into()),
            aws: Some(AwsPlatformStatus {
                region: Some("us-east-1".into()),
                service_endpoints: Some(vec![ServiceEndpoint {
                    name: Some("s3".into()),
                    url: Some("https://s3.example.com".into()),
                    ..Default::default()
                }]),
                resource_tags: Some(vec![ResourceTag {
                    key: Some("team".into()),
                    value: Some("registry".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        infrastructure_topology: Some("HighlyAvailable".into()),
        control_plane_topology: Some("HighlyAvailable".into()),
        ..Default::default()
    });
    check(&server, &infra);
    let image = Image::new(
        CLUSTER,
        ImageSpec {
            additional_trusted_ca: Some(NameRef {
                name: "registry-cas".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    check(&server, &image);
    let proxy = Proxy::new(
        CLUSTER,
        ProxySpec {
            http_proxy: Some("http://proxy:3128".into()),
            no_proxy: Some(".svc".into()),
            ..Default::default()
        },
    );
    check(&server, &proxy);
    let mut co = ClusterOperator::new("image-registry", ClusterOperatorSpec::default());
    co.status = Some(ClusterOperatorStatus {
        conditions: vec![Condition {
            type_: "Available".into(),
            status: "True".into(),
            last_transition_time: Some("2026-11-01T08:00:00Z".into()),
            ..Default::default()
        }],
        versions: vec![OperandVersion {
            name: "operator".into(),
            version: "4.20.3".into(),
            ..Default::default()
        }],
        related_objects: vec![RelatedObject {
            group: "".into(),
            resource: "namespaces".into(),
            name: REGISTRY_NAMESPACE.into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    check(&server, &co);
    let mut route = Route::new(
        "default-route",
        RouteSpec {
            host: Some("default-route-openshift-image-registry.apps.example.com".into()),
            to: RouteTarget {
                kind: "Service".into(),
                name: "image-registry".into(),
                weight: Some(100),
                ..Default::default()
            },
            tls: Some(RouteTls {
                termination: "reencrypt".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    route.metadata.namespace = Some(REGISTRY_NAMESPACE.into());
    check(&server, &route);
}

#[test]
fn a_fixture_breaking_the_schema_is_caught() {
    let server = ApiServer::new(Settings::default());
    let mut spec = full_config_spec(storages()[2].clone());
    spec.storage.as_mut().unwrap().azure.as_mut().unwrap().container = Some("Not_Valid".into());
    let err = server
        .check(&serde_json::to_value(Config::new(CLUSTER, spec)).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("spec.storage.azure.container"), "{err}");
}

#[test]
fn unknown_fields_survive_deserialising_and_serialising() {
    let input = json!({
        "apiVersion": "imageregistry.operator.openshift.io/v1",
        "kind": "Config",
        "metadata": {"name": "cluster"},
        "spec": {
            "managementState": "Managed",
            "replicas": 1,
            "futureTopLevel": {"x": 1},
            "storage": {"s3": {"bucket": "b", "futureS3Field": true}, "futureDriver": {}},
            "routes": [{"name": "r", "futureRouteField": "y"}],
            "requests": {"read": {"maxRunning": 1, "futureLimit": 3}},
        },
        "status": {"storage": {}, "storageManaged": false, "futureStatus": [1, 2],
                   "conditions": [{"type": "A", "status": "True", "futureConditionField": "z"}]},
    });
    let typed: Config = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), input);
}

#[tokio::test]
async fn read_modify_write_through_the_server_keeps_fields_the_types_do_not_model() {
    let server = ApiServer::new(Settings::default());
    server.seed_openshift(Platform::Aws).unwrap();
    let before = server
        .object("config.openshift.io/v1", "Infrastructure", "", "cluster")
        .unwrap();
    // Defaulted by the CRD and not modelled by oc-registry.
    assert!(
        before
            .pointer("/status/platformStatus/aws/cloudLoadBalancerConfig")
            .is_some()
    );
    let client = kube::Client::new(server.clone(), "default");
    let api: Api<Infrastructure> = Api::all(client);
    let mut infra = api.get(CLUSTER).await.unwrap();
    infra.metadata.labels = Some(BTreeMap::from([("touched".into(), "yes".into())]));
    api.replace(CLUSTER, &PostParams::default(), &infra).await.unwrap();
    let after = server
        .object("config.openshift.io/v1", "Infrastructure", "", "cluster")
        .unwrap();
    for pointer in [
        "/status/platformStatus/aws/cloudLoadBalancerConfig",
        "/status/cpuPartitioning",
        "/spec/platformSpec",
        "/spec/cloudConfig",
    ] {
        assert_eq!(after.pointer(pointer), before.pointer(pointer), "{pointer}");
    }
    assert_eq!(after.pointer("/metadata/labels/touched"), Some(&json!("yes")));
}

#[tokio::test]
async fn a_write_violating_the_config_schema_is_rejected_with_its_field_path() {
    let server = ApiServer::new(Settings::default());
    let client = kube::Client::new(server.clone(), "default");
    let api: Api<Config> = Api::all(client);
    let mut spec = full_config_spec(storages()[4].clone());
    spec.management_state = Some("Bogus".into());
    spec.log_level = Some("Loud".into());
    let err = api
        .create(&PostParams::default(), &Config::new(CLUSTER, spec))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected an API error, got {err}")
    };
    assert_eq!(status.code, 422);
    assert_eq!(status.reason, "Invalid");
    assert!(
        status.message.contains(r#"spec.managementState: Invalid value: "Bogus": spec.managementState in body should match '^(Managed|Unmanaged|Force|Removed)$'"#),
        "{}",
        status.message
    );
    assert!(
        status.message.contains(r#"spec.logLevel: Unsupported value: "Loud""#),
        "{}",
        status.message
    );
    let fields: Vec<String> = status.details.unwrap().causes.into_iter().map(|c| c.field).collect();
    assert_eq!(fields, vec!["spec.logLevel", "spec.managementState"]);
    assert!(
        server
            .object("imageregistry.operator.openshift.io/v1", "Config", "", CLUSTER)
            .is_none(),
        "nothing written"
    );
}
