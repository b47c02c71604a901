//! The registry Deployment `image-registry`: the operator's pod template, with the storage
//! driver's environment and volumes.

use super::{DEPENDENCIES_ANNOTATION, Desired, Kind, REGISTRY_LABELS, env, hash, metadata_labels, secret_env};
use crate::api::{LogLevel, PRIVATE_CONFIGURATION};
use crate::render::inputs::Inputs;
use crate::storage::Rendering;
use crate::validate::Problem;
use serde_json::{Value, json};

pub use crate::state::DEPLOYMENT;
pub const SERVICE_HOST: &str = "image-registry.openshift-image-registry.svc:5000";
pub const SERVICE_PORT: i32 = 5000;

/// Builds the Deployment. `dependencies` are the mounted Secrets and ConfigMaps whose contents
/// roll the pods when they change.
pub fn deployment(inputs: &Inputs, storage: &Rendering, dependencies: &[&Desired]) -> Result<Desired, Problem> {
    let spec = &inputs.config.spec;
    let image = inputs.images.registry.clone().ok_or_else(|| {
        Problem::new(
            "Error",
            "the registry image is unknown: the cluster has no openshift-image-registry/cluster-image-registry-operator \
             Deployment naming it (env IMAGE); pass --registry-image",
        )
    })?;
    let fs_group = inputs.fs_group.ok_or_else(|| {
        Problem::new(
            "Error",
            "namespace openshift-image-registry has no openshift.io/sa.scc.supplemental-groups annotation",
        )
    })?;
    let replicas = spec.replicas;
    let strategy = match spec.rollout_strategy.as_ref().map(|s| s.as_str()).unwrap_or_default() {
        "Recreate" => json!({"type": "Recreate"}),
        _ => {
            let (unavailable, surge) = if replicas == 2 {
                (json!(1), json!(1))
            } else {
                // The operator renders replicas−1, which the API rejects for 0 replicas.
                (json!((replicas - 1).max(0)), json!("25%"))
            };
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": unavailable, "maxSurge": surge}})
        }
    };

    let mut volumes = vec![
        json!({"name": "registry-tls", "projected": {"sources": [{"secret": {"name": "image-registry-tls"}}]}}),
        json!({"name": "ca-trust-extracted", "emptyDir": {}}),
        json!({"name": "registry-certificates", "configMap": {"name": super::REGISTRY_CERTIFICATES}}),
        json!({"name": "trusted-ca", "configMap": {"name": "trusted-ca", "optional": true, "items": [{"key": "ca-bundle.crt", "path": "anchors/ca-bundle.crt"}]}}),
        json!({"name": "installation-pull-secrets", "secret": {"secretName": "installation-pull-secrets", "optional": true, "items": [{"key": ".dockerconfigjson", "path": "config.json"}]}}),
        json!({"name": "bound-sa-token", "projected": {"sources": [{"serviceAccountToken": {"audience": "openshift", "path": "token"}}]}}),
    ];
    let mut mounts = vec![
        json!({"name": "registry-tls", "mountPath": "/etc/secrets"}),
        json!({"name": "ca-trust-extracted", "mountPath": "/etc/pki/ca-trust/extracted"}),
        json!({"name": "registry-certificates", "mountPath": "/etc/pki/ca-trust/source/anchors"}),
        json!({"name": "trusted-ca", "mountPath": "/usr/share/pki/ca-trust-source"}),
        json!({"name": "installation-pull-secrets", "mountPath": "/var/lib/kubelet/"}),
        json!({"name": "bound-sa-token", "mountPath": "/var/run/secrets/openshift/serviceaccount", "readOnly": true}),
    ];
    volumes.extend(storage.volumes.iter().cloned());
    mounts.extend(storage.mounts.iter().cloned());

    let mut envs = storage.env.clone();
    envs.extend(common_env(inputs));

    let mut template_annotations = json!({
        "target.workload.openshift.io/management": "{\"effect\": \"PreferredDuringScheduling\"}",
        "openshift.io/required-scc": "restricted-v2",
    });
    let dependency_data: Vec<&Value> = dependencies.iter().map(|d| &d.object["data"]).collect();
    template_annotations[DEPENDENCIES_ANNOTATION] = json!(hash(&json!(dependency_data)));
    let mut annotations = json!({});
    if let Some(v) = &inputs.images.release_version {
        annotations["release.openshift.io/version"] = json!(v);
    }
    let overrides = spec
        .unsupported_config_overrides
        .as_ref()
        .and_then(|o| o.pointer("/deployment").cloned())
        .unwrap_or(Value::Null);
    if let Some(extra) = overrides.get("annotations").and_then(Value::as_object) {
        for (k, v) in extra {
            annotations[k] = v.clone();
            template_annotations[k] = v.clone();
        }
    }

    let mut pod = json!({
        "serviceAccountName": "registry",
        "priorityClassName": "system-cluster-critical",
        "terminationGracePeriodSeconds": 55,
        "securityContext": {"fsGroup": fs_group, "fsGroupChangePolicy": "OnRootMismatch"},
        "containers": [{
            "name": "registry",
            "image": image,
            "command": ["/bin/sh", "-c", START_SCRIPT],
            "ports": [{"containerPort": 5000, "protocol": "TCP"}],
            "env": envs,
            "resources": spec.resources.as_ref().map_or_else(
                || json!({"requests": {"cpu": "100m", "memory": "256Mi"}}),
                |r| serde_json::to_value(r).unwrap_or_default(),
            ),
            "livenessProbe": probe(5),
            "readinessProbe": probe(15),
            "lifecycle": {"preStop": {"exec": {"command": ["sleep", "25"]}}},
            "securityContext": {"readOnlyRootFilesystem": true},
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "volumeMounts": mounts,
        }],
        "volumes": volumes,
        "nodeSelector": node_selector(inputs),
    });
    if let Some(t) = &spec.tolerations {
        pod["tolerations"] = serde_json::to_value(t).unwrap_or_default();
    }
    if let Some(affinity) = &spec.affinity {
        pod["affinity"] = serde_json::to_value(affinity).unwrap_or_default();
    } else if replicas == 2 {
        pod["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "topologyKey": "kubernetes.io/hostname",
            "namespaces": ["openshift-image-registry"],
            "labelSelector": {"matchLabels": metadata_labels()},
        }]}});
    }
    if let Some(constraints) = &spec.topology_spread_constraints {
        pod["topologySpreadConstraints"] = serde_json::to_value(constraints).unwrap_or_default();
    } else if spec.node_selector.is_none() {
        let mut keys = vec!["kubernetes.io/hostname", "node-role.kubernetes.io/worker"];
        if inputs.nodes.zoned {
            keys.push("topology.kubernetes.io/zone");
        }
        pod["topologySpreadConstraints"] = json!(
            keys.into_iter()
                .map(|key| json!({
                    "maxSkew": 1,
                    "topologyKey": key,
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": metadata_labels()},
                    "matchLabelKeys": ["pod-template-hash"],
                    "nodeAffinityPolicy": "Honor",
                    "nodeTaintsPolicy": "Honor",
                }))
                .collect::<Vec<_>>()
        );
    }
    if let Some(class) = overrides.get("runtimeClassName").and_then(Value::as_str) {
        pod["runtimeClassName"] = json!(class);
    }

    Ok(Desired::new(
        Kind::Deployment,
        DEPLOYMENT,
        json!({
            "metadata": {"labels": metadata_labels(), "annotations": annotations},
            "spec": {
                "replicas": replicas,
                "progressDeadlineSeconds": 120,
                "selector": {"matchLabels": {REGISTRY_LABELS.0: REGISTRY_LABELS.1}},
                "strategy": strategy,
                "template": {
                    "metadata": {"labels": metadata_labels(), "annotations": template_annotations},
                    "spec": pod,
                },
            },
        }),
    ))
}

const START_SCRIPT: &str = "mkdir -p /etc/pki/ca-trust/extracted/edk2 /etc/pki/ca-trust/extracted/java \
/etc/pki/ca-trust/extracted/openssl /etc/pki/ca-trust/extracted/pem && \
update-ca-trust extract --output /etc/pki/ca-trust/extracted/ && exec /usr/bin/dockerregistry";

fn probe(initial_delay: i32) -> Value {
    json!({
        "httpGet": {"path": "/healthz", "port": 5000, "scheme": "HTTPS"},
        "initialDelaySeconds": initial_delay,
        "timeoutSeconds": 5,
    })
}

fn node_selector(inputs: &Inputs) -> Value {
    let mut selector = inputs.config.spec.node_selector.clone().unwrap_or_default();
    selector
        .entry("kubernetes.io/os".into())
        .or_insert_with(|| "linux".into());
    json!(selector)
}

/// The registry's environment after the storage driver's, in the operator's order.
fn common_env(inputs: &Inputs) -> Vec<Value> {
    let spec = &inputs.config.spec;
    let mut out = vec![
        env("REGISTRY_HTTP_ADDR", ":5000"),
        env("REGISTRY_HTTP_NET", "tcp"),
        // From the private configuration Secret rather than a literal, so that reading the
        // Deployment does not reveal it.
        secret_env("REGISTRY_HTTP_SECRET", PRIVATE_CONFIGURATION),
        env("REGISTRY_LOG_LEVEL", log_level(spec.log_level.as_ref(), spec.logging)),
        env("REGISTRY_OPENSHIFT_QUOTA_ENABLED", "true"),
        env("REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR", "inmemory"),
        env("REGISTRY_STORAGE_DELETE_ENABLED", "true"),
        env("REGISTRY_HEALTH_STORAGEDRIVER_ENABLED", "true"),
        env("REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL", "10s"),
        env("REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD", "1"),
        env("REGISTRY_OPENSHIFT_METRICS_ENABLED", "true"),
        env("REGISTRY_OPENSHIFT_SERVER_ADDR", SERVICE_HOST),
    ];
    if spec.read_only == Some(true) {
        out.push(env("REGISTRY_STORAGE_MAINTENANCE_READONLY", "{enabled: true}"));
    }
    if spec.disable_redirect == Some(true) {
        out.push(env("REGISTRY_STORAGE_REDIRECT_DISABLE", "true"));
    }
    let proxy = spec.proxy.clone().unwrap_or_default();
    for (name, own, cluster) in [
        ("HTTP_PROXY", proxy.http, &inputs.cluster_proxy.http),
        ("HTTPS_PROXY", proxy.https, &inputs.cluster_proxy.https),
        ("NO_PROXY", proxy.no_proxy, &inputs.cluster_proxy.no_proxy),
    ] {
        let value = own.filter(|v| !v.is_empty()).unwrap_or_else(|| cluster.clone());
        if !value.is_empty() {
            out.push(env(name, &value));
        }
    }
    if let Some(requests) = &spec.requests {
        for (which, limits) in [("READ", &requests.read), ("WRITE", &requests.write)] {
            let Some(l) = limits else { continue };
            let (running, queue) = (l.max_running.unwrap_or(0), l.max_in_queue.unwrap_or(0));
            if running == 0 && queue == 0 {
                continue;
            }
            // Spelled as Go prints it (`5m` → `5m0s`); unset is `0s`.
            let wait = l
                .max_wait_in_queue
                .as_deref()
                .and_then(|w| crate::validate::go_duration(w).ok())
                .map_or_else(|| "0s".into(), crate::validate::go_duration_text);
            out.push(env(
                &format!("REGISTRY_OPENSHIFT_REQUESTS_{which}_MAXRUNNING"),
                &running.to_string(),
            ));
            out.push(env(
                &format!("REGISTRY_OPENSHIFT_REQUESTS_{which}_MAXINQUEUE"),
                &queue.to_string(),
            ));
            out.push(env(
                &format!("REGISTRY_OPENSHIFT_REQUESTS_{which}_MAXWAITINQUEUE"),
                &wait,
            ));
        }
    }
    out.push(env("REGISTRY_HTTP_TLS_CERTIFICATE", "/etc/secrets/tls.crt"));
    out.push(env("REGISTRY_HTTP_TLS_KEY", "/etc/secrets/tls.key"));
    let serving = spec.observed_config.as_ref().and_then(|o| o.get("servingInfo"));
    if let Some(min) = serving.and_then(|s| s.get("minTLSVersion")).and_then(Value::as_str) {
        out.push(env("REGISTRY_HTTP_TLS_MINVERSION", min));
    }
    if let Some(suites) = serving.and_then(|s| s.get("cipherSuites")).and_then(Value::as_array) {
        let joined: Vec<&str> = suites.iter().filter_map(Value::as_str).collect();
        out.push(env("OPENSHIFT_REGISTRY_HTTP_TLS_CIPHERSUITES", &joined.join(",")));
    }
    out
}

/// `REGISTRY_LOG_LEVEL`: `logLevel` Debug and above → debug; else the deprecated `logging` number.
pub fn log_level(level: Option<&LogLevel>, logging: Option<i64>) -> &'static str {
    match level {
        Some(LogLevel::Debug | LogLevel::Trace | LogLevel::TraceAll) => "debug",
        _ => match logging.unwrap_or(0) {
            1 => "warn",
            0 | 2 | 3 => "info",
            _ => "debug",
        },
    }
}
