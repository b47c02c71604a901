//! The registry as the Image Registry Operator leaves it after installing a cluster on a platform
//! (its bootstrap table and status conditions), so tools reading the registry have a realistic
//! cluster to read before anything of theirs has run.

use crate::seeds::{INFRASTRUCTURE_NAME, Platform, REGISTRY_IMAGE, REGISTRY_NAMESPACE, RELEASE_VERSION};
use crate::server::ApiServer;
use anyhow::Result;
use serde_json::{Value, json};

/// The manager the installed objects are recorded as written by.
const OPERATOR: &str = "cluster-image-registry-operator";
const INSTALLED_AT: &str = "2026-11-01T08:00:00Z";
const PRUNED_AT: &str = "2026-11-23T00:00:41Z";

fn cond(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": INSTALLED_AT})
}

/// `spec.storage` after the first Managed sync filled it in, replicas, and the storage conditions.
fn storage_for(platform: Platform) -> (Value, i64, Vec<Value>) {
    let exists = |reason: &str, message: &str| cond("StorageExists", "True", reason, message);
    match platform {
        Platform::Aws => (
            json!({"managementState": "Managed", "s3": {
                "bucket": format!("{INFRASTRUCTURE_NAME}-image-registry-us-east-1"),
                "region": "us-east-1", "encrypt": true, "virtualHostedStyle": false, "trustedCA": {"name": ""}}}),
            2,
            vec![
                exists("S3 Bucket Exists", "S3 bucket exists"),
                cond(
                    "StorageEncrypted",
                    "True",
                    "Encryption Successful",
                    "Default AES256 encryption was successfully enabled on the S3 bucket",
                ),
                cond(
                    "StorageTagged",
                    "True",
                    "Tagging Successful",
                    "UserTags were successfully applied to the S3 bucket",
                ),
                cond(
                    "StoragePublicAccessBlocked",
                    "True",
                    "Public Access Block Successful",
                    "Public access to the S3 bucket and its contents have been successfully blocked.",
                ),
                cond(
                    "StorageIncompleteUploadCleanupEnabled",
                    "True",
                    "Enable Cleanup Successful",
                    "Default cleanup of incomplete multipart uploads after one (1) day was successfully enabled",
                ),
            ],
        ),
        Platform::Gcp => (
            json!({"managementState": "Managed", "gcs": {
                "bucket": format!("{INFRASTRUCTURE_NAME}-image-registry-us-central1-qxkdmwbnfaslvetg"),
                "projectID": "sim-project-4821", "region": "us-central1"}}),
            2,
            vec![exists("GCS Bucket Exists", "GCS bucket exists")],
        ),
        Platform::Azure => (
            json!({"managementState": "Managed", "azure": {
                "accountName": "imageregistrysim7xk2pqwert", "cloudName": "AzurePublicCloud",
                "container": format!("{INFRASTRUCTURE_NAME}-image-registry-hgfedcbaqwertyuiopasdfghjklzx")}}),
            2,
            vec![exists("ContainerExists", "Azure container exists")],
        ),
        Platform::OpenStack => (
            json!({"managementState": "Managed", "swift": {
                "container": format!("{INFRASTRUCTURE_NAME}-image-registry-nbvcxzlkjhgfdsapoiuytrewqmnb")}}),
            2,
            vec![exists("Swift Container Exists", "Swift container exists")],
        ),
        Platform::OpenStackWithoutSwift => (
            json!({"managementState": "Managed", "pvc": {"claim": "image-registry-storage"}}),
            1,
            vec![exists("PVC Exists", "PVC image-registry-storage exists")],
        ),
        Platform::IbmCloud => (
            json!({"managementState": "Managed", "ibmcos": {
                "bucket": format!("{INFRASTRUCTURE_NAME}-image-registry-us-south-lkjhgfdsapoiuytrewqmnbvcxz"),
                "location": "us-south", "resourceGroupName": INFRASTRUCTURE_NAME}}),
            2,
            vec![exists("Bucket Exists", "IBM COS bucket exists")],
        ),
        Platform::Libvirt => (
            json!({"managementState": "Managed", "emptyDir": {}}),
            1,
            vec![exists("Creation Successful", "EmptyDir storage successfully created")],
        ),
        Platform::BareMetal | Platform::VSphere | Platform::None => (json!({}), 1, Vec::new()),
    }
}

impl ApiServer {
    /// Adds what the operator creates at installation on `platform`: the Config `cluster`, the
    /// ImagePruner `cluster`, and — unless the platform bootstraps Removed — the running registry
    /// and a successful pruner run; the image-registry ClusterOperator and Image config status.
    pub fn seed_installed_registry(&self, platform: Platform) -> Result<()> {
        let (storage, replicas, storage_conditions) = storage_for(platform);
        let removed = storage.as_object().is_some_and(|m| m.is_empty());
        let pvc = platform == Platform::OpenStackWithoutSwift;
        let mut conditions = if removed {
            vec![
                cond("Available", "True", "Removed", "The registry is removed"),
                cond("Progressing", "False", "Removed", "All registry resources are removed"),
                cond("Degraded", "False", "Removed", "The registry is removed"),
                cond("Removed", "True", "Removed", "The registry is removed"),
            ]
        } else {
            vec![
                cond("Available", "True", "Ready", "The registry is ready"),
                cond("Progressing", "False", "Ready", "The registry is ready"),
                cond("Degraded", "False", "", ""),
                cond("Removed", "False", "", ""),
            ]
        };
        conditions.extend(storage_conditions);
        conditions.push(cond("ImageConfigControllerDegraded", "False", "AsExpected", ""));
        conditions.push(cond(
            "ImageRegistryCertificatesControllerDegraded",
            "False",
            "AsExpected",
            "",
        ));
        conditions.push(cond("NodeCADaemonControllerDegraded", "False", "AsExpected", ""));
        let storage_managed = storage.get("managementState") == Some(&json!("Managed"));
        let mut spec = json!({
            "managementState": if removed { "Removed" } else { "Managed" },
            "logLevel": "Normal",
            "operatorLogLevel": "Normal",
            "replicas": replicas,
            "rolloutStrategy": if pvc { "Recreate" } else { "RollingUpdate" },
            "storage": storage,
            "observedConfig": null,
            "unsupportedConfigOverrides": null,
        });
        if !removed {
            spec["httpSecret"] = json!(
                "5f1c0ffee0ddba11d00dfeedfacecafebeadedbadc0de0123456789abcdef0005f1c0ffee0ddba11d00dfeedfacecafebeadedbadc0de0123456789abcdef000"
            );
        }
        spec.as_object_mut().expect("object").retain(|_, v| !v.is_null());
        self.seed_as(OPERATOR, json!({
            "apiVersion": "imageregistry.operator.openshift.io/v1",
            "kind": "Config",
            "metadata": {"name": "cluster", "finalizers": ["imageregistry.operator.openshift.io/finalizer"], "creationTimestamp": INSTALLED_AT},
            "spec": spec,
            "status": {
                "conditions": conditions,
                "observedGeneration": 1,
                "readyReplicas": if removed { 0 } else { replicas },
                "storage": if removed { json!({}) } else { spec["storage"].clone() },
                "storageManaged": storage_managed,
                "generations": if removed { json!([]) } else { json!([{"group": "apps", "resource": "deployments", "namespace": REGISTRY_NAMESPACE, "name": "image-registry", "lastGeneration": 1}]) },
            },
        }))?;
        self.seed_as(OPERATOR, json!({
            "apiVersion": "imageregistry.operator.openshift.io/v1",
            "kind": "ImagePruner",
            "metadata": {"name": "cluster", "creationTimestamp": INSTALLED_AT},
            "spec": {"schedule": "", "suspend": false, "keepTagRevisions": 3, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3, "ignoreInvalidImageReferences": true},
            "status": {"observedGeneration": 1, "conditions": [
                cond("Available", "True", "AsExpected", "Pruner CronJob has been created"),
                cond("Scheduled", "True", "Scheduled", "The pruner job has been scheduled"),
                cond("Failed", "False", "Complete", "Pruner completed successfully"),
            ]},
        }))?;
        self.seed_as(OPERATOR, pruner_cronjob())?;
        self.seed_as(OPERATOR, pruner_job())?;
        if !removed {
            self.seed_running_registry(&spec, replicas, pvc)?;
        }
        let mut co = self
            .object("config.openshift.io/v1", "ClusterOperator", "", "image-registry")
            .expect("seeded with the cluster");
        let available_message = if removed {
            "Available: The registry is removed\nNodeCADaemonAvailable: The daemon set node-ca has available replicas\nImagePrunerAvailable: Pruner CronJob has been created"
        } else {
            "Available: The registry is ready\nNodeCADaemonAvailable: The daemon set node-ca has available replicas\nImagePrunerAvailable: Pruner CronJob has been created"
        };
        co["status"] = json!({
            "conditions": [
                cond("Available", "True", if removed { "Removed" } else { "Ready" }, available_message),
                cond("Progressing", "False", if removed { "Removed" } else { "Ready" }, if removed { "Progressing: All registry resources are removed" } else { "Progressing: The registry is ready" }),
                cond("Degraded", "False", if removed { "Removed" } else { "AsExpected" }, if removed { "Degraded: The registry is removed" } else { "" }),
            ],
            "versions": [{"name": "operator", "version": RELEASE_VERSION}],
            "relatedObjects": [
                {"group": "imageregistry.operator.openshift.io", "resource": "configs", "name": "cluster"},
                {"group": "imageregistry.operator.openshift.io", "resource": "imagepruners", "name": "cluster"},
                {"group": "rbac.authorization.k8s.io", "resource": "clusterroles", "name": "system:registry"},
                {"group": "rbac.authorization.k8s.io", "resource": "clusterrolebindings", "name": "registry-registry-role"},
                {"group": "rbac.authorization.k8s.io", "resource": "clusterrolebindings", "name": "openshift-image-registry-pruner"},
                {"group": "", "resource": "namespaces", "name": REGISTRY_NAMESPACE},
            ],
        });
        self.seed_as(OPERATOR, co)?;
        if !removed {
            let mut image = self
                .object("config.openshift.io/v1", "Image", "", "cluster")
                .expect("seeded with the cluster");
            image["status"] = json!({"internalRegistryHostname": "image-registry.openshift-image-registry.svc:5000"});
            self.seed_as(OPERATOR, image)?;
        }
        Ok(())
    }

    fn seed_running_registry(&self, spec: &Value, replicas: i64, pvc: bool) -> Result<()> {
        let labels = json!({"docker-registry": "default"});
        self.seed_as(
            OPERATOR,
            json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "registry", "namespace": REGISTRY_NAMESPACE},
            }),
        )?;
        self.seed_as(
            OPERATOR,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "image-registry", "namespace": REGISTRY_NAMESPACE, "labels": labels,
                    "annotations": {"service.alpha.openshift.io/serving-cert-secret-name": "image-registry-tls"}},
                "spec": {"type": "ClusterIP", "clusterIP": "172.30.127.56", "selector": labels,
                    "ports": [{"name": "5000-tcp", "port": 5000, "protocol": "TCP", "targetPort": 5000}]},
            }),
        )?;
        let mut volumes = vec![
            json!({"name": "registry-tls", "projected": {"sources": [{"secret": {"name": "image-registry-tls"}}]}}),
        ];
        let mut mounts = vec![json!({"name": "registry-tls", "mountPath": "/etc/secrets"})];
        if spec.pointer("/storage/emptyDir").is_some() {
            volumes.push(json!({"name": "registry-storage", "emptyDir": {}}));
            mounts.push(json!({"name": "registry-storage", "mountPath": "/registry"}));
        }
        if pvc {
            volumes.push(
                json!({"name": "registry-storage", "persistentVolumeClaim": {"claimName": "image-registry-storage"}}),
            );
            mounts.push(json!({"name": "registry-storage", "mountPath": "/registry"}));
            self.seed_as(OPERATOR, json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "image-registry-storage", "namespace": REGISTRY_NAMESPACE, "annotations": {"imageregistry.openshift.io": "true"}},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Gi"}}, "storageClassName": "standard-csi"},
                "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "100Gi"}},
            }))?;
        }
        let strategy = if pvc {
            json!({"type": "Recreate"})
        } else {
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}})
        };
        self.seed_as(OPERATOR, json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "image-registry", "namespace": REGISTRY_NAMESPACE, "labels": labels,
                "annotations": {"release.openshift.io/version": RELEASE_VERSION}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "strategy": strategy,
                "progressDeadlineSeconds": 120,
                "template": {
                    "metadata": {"labels": labels, "annotations": {"openshift.io/required-scc": "restricted-v2"}},
                    "spec": {
                        "serviceAccountName": "registry",
                        "priorityClassName": "system-cluster-critical",
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "containers": [{
                            "name": "registry",
                            "image": REGISTRY_IMAGE,
                            "ports": [{"containerPort": 5000, "protocol": "TCP"}],
                            "env": operator_env(spec),
                            "volumeMounts": mounts,
                        }],
                        "volumes": volumes,
                    },
                },
            },
            "status": {
                "observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.", "lastTransitionTime": INSTALLED_AT, "lastUpdateTime": INSTALLED_AT},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": "ReplicaSet \"image-registry-5d8f7c9b4\" has successfully progressed.", "lastTransitionTime": INSTALLED_AT, "lastUpdateTime": INSTALLED_AT},
                ],
            },
        }))?;
        Ok(())
    }
}

/// The registry's environment as the operator renders it for `spec`: the storage driver's
/// variables, then the common ones (the httpSecret as a literal, as the operator passes it).
fn operator_env(spec: &Value) -> Vec<Value> {
    let var = |name: &str, value: &str| json!({"name": name, "value": value});
    let from_secret = |name: &str| json!({"name": name, "valueFrom": {"secretKeyRef": {"name": "image-registry-private-configuration", "key": name}}});
    let storage = &spec["storage"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut env = Vec::new();
    if let Some(s3) = storage.get("s3") {
        env.extend([
            var("REGISTRY_STORAGE", "s3"),
            var("REGISTRY_STORAGE_S3_BUCKET", &text(&s3["bucket"])),
            var("REGISTRY_STORAGE_S3_REGION", &text(&s3["region"])),
            var("REGISTRY_STORAGE_S3_ENCRYPT", "true"),
            var("REGISTRY_STORAGE_S3_FORCEPATHSTYLE", "true"),
            var(
                "REGISTRY_STORAGE_S3_CREDENTIALSCONFIGPATH",
                "/var/run/secrets/cloud/credentials",
            ),
            var("REGISTRY_STORAGE_S3_USEDUALSTACK", "true"),
        ]);
    } else if let Some(gcs) = storage.get("gcs") {
        env.extend([
            var("REGISTRY_STORAGE", "gcs"),
            var("REGISTRY_STORAGE_GCS_BUCKET", &text(&gcs["bucket"])),
            var("REGISTRY_STORAGE_GCS_KEYFILE", "/gcs/keyfile"),
        ]);
    } else if let Some(azure) = storage.get("azure") {
        env.extend([
            from_secret("REGISTRY_STORAGE_AZURE_ACCOUNTKEY"),
            var("REGISTRY_STORAGE", "azure"),
            var("REGISTRY_STORAGE_AZURE_CONTAINER", &text(&azure["container"])),
            var("REGISTRY_STORAGE_AZURE_ACCOUNTNAME", &text(&azure["accountName"])),
            var("REGISTRY_STORAGE_AZURE_REALM", "core.windows.net"),
        ]);
    } else if let Some(swift) = storage.get("swift") {
        env.extend([
            var("REGISTRY_STORAGE", "swift"),
            var("REGISTRY_STORAGE_SWIFT_CONTAINER", &text(&swift["container"])),
            var(
                "REGISTRY_STORAGE_SWIFT_AUTHURL",
                "https://keystone.sim.example.com:5000/v3",
            ),
            from_secret("REGISTRY_STORAGE_SWIFT_USERNAME"),
            from_secret("REGISTRY_STORAGE_SWIFT_PASSWORD"),
            from_secret("REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALID"),
            from_secret("REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALNAME"),
            from_secret("REGISTRY_STORAGE_SWIFT_APPLICATIONCREDENTIALSECRET"),
            from_secret("REGISTRY_STORAGE_SWIFT_TOKENID"),
            var("REGISTRY_STORAGE_SWIFT_AUTHVERSION", "3"),
            var("REGISTRY_STORAGE_SWIFT_REGION", "regionOne"),
        ]);
    } else if let Some(cos) = storage.get("ibmcos") {
        let location = text(&cos["location"]);
        env.extend([
            var("REGISTRY_STORAGE", "s3"),
            var("REGISTRY_STORAGE_S3_BUCKET", &text(&cos["bucket"])),
            var("REGISTRY_STORAGE_S3_REGION", &location),
            var(
                "REGISTRY_STORAGE_S3_REGIONENDPOINT",
                &format!("s3.{location}.cloud-object-storage.appdomain.cloud"),
            ),
            var("REGISTRY_STORAGE_S3_ENCRYPT", "false"),
            var("REGISTRY_STORAGE_S3_FORCEPATHSTYLE", "true"),
            var("REGISTRY_STORAGE_S3_USEDUALSTACK", "false"),
            var(
                "REGISTRY_STORAGE_S3_CREDENTIALSCONFIGPATH",
                "/var/run/secrets/cloud/credentials",
            ),
        ]);
    } else if storage.get("pvc").is_some() || storage.get("emptyDir").is_some() {
        env.extend([
            var("REGISTRY_STORAGE", "filesystem"),
            var("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/registry"),
        ]);
    }
    env.extend([
        var("REGISTRY_HTTP_ADDR", ":5000"),
        var("REGISTRY_HTTP_NET", "tcp"),
        var("REGISTRY_HTTP_SECRET", &text(&spec["httpSecret"])),
        var("REGISTRY_LOG_LEVEL", "info"),
        var("REGISTRY_OPENSHIFT_QUOTA_ENABLED", "true"),
        var("REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR", "inmemory"),
        var("REGISTRY_STORAGE_DELETE_ENABLED", "true"),
        var("REGISTRY_HEALTH_STORAGEDRIVER_ENABLED", "true"),
        var("REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL", "10s"),
        var("REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD", "1"),
        var("REGISTRY_OPENSHIFT_METRICS_ENABLED", "true"),
        var(
            "REGISTRY_OPENSHIFT_SERVER_ADDR",
            "image-registry.openshift-image-registry.svc:5000",
        ),
        var("REGISTRY_HTTP_TLS_CERTIFICATE", "/etc/secrets/tls.crt"),
        var("REGISTRY_HTTP_TLS_KEY", "/etc/secrets/tls.key"),
    ]);
    env
}

fn pruner_cronjob() -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "image-pruner", "namespace": REGISTRY_NAMESPACE},
        "spec": {
            "schedule": "0 0 * * *", "suspend": false, "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": {"created-by": "image-pruner"}}, "spec": {"backoffLimit": 0, "template": {
                "metadata": {"labels": {"app": "image-pruner"}},
                "spec": {"restartPolicy": "Never", "serviceAccountName": "pruner", "containers": [{
                    "name": "image-pruner", "image": "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:c1c0ffee0ddba11d00dfeedfacecafebeadedbadc0de0123456789abcdef000",
                    "command": ["oc"], "args": ["adm", "prune", "images", "--confirm=true", "--keep-tag-revisions=3", "--keep-younger-than=60m", "--ignore-invalid-refs=true", "--loglevel=1",
                        "--prune-registry=true", "--registry-url=https://image-registry.openshift-image-registry.svc:5000"]}]}}}},
        },
        "status": {"lastScheduleTime": "2026-11-23T00:00:00Z", "lastSuccessfulTime": PRUNED_AT},
    })
}

fn pruner_job() -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "image-pruner-29398560", "namespace": REGISTRY_NAMESPACE, "labels": {"created-by": "image-pruner"}},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"app": "image-pruner"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "image-pruner", "image": "cli"}]}}},
        "status": {"succeeded": 1, "startTime": "2026-11-23T00:00:02Z", "completionTime": PRUNED_AT,
            "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": PRUNED_AT, "lastTransitionTime": PRUNED_AT}]},
    })
}
