//! Whole-object checks of a registry Config and an ImagePruner: what the operator would reject or
//! silently get wrong, each as a finding naming the field and the command that fixes it. The
//! configuration commands refuse a change that introduces an error; `doctor` reports them all.

use super::validate;
use crate::api::{ConfigSpec, ImagePrunerSpec, Storage};
use crate::state::references::References;
use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub severity: Severity,
    /// The field at fault, as a path (`spec.storage.pvc.claim`).
    pub field: String,
    pub message: String,
    /// The command that fixes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    fn error(field: impl Into<String>, message: impl Into<String>, fix: Option<String>) -> Finding {
        Finding {
            severity: Severity::Error,
            field: field.into(),
            message: message.into(),
            fix,
        }
    }

    fn warning(field: impl Into<String>, message: impl Into<String>, fix: Option<String>) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(field, message, fix)
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

/// An error finding when a set, non-empty `value` fails `check`.
fn value_finding<T>(
    field: &str,
    value: Option<&str>,
    check: impl Fn(&str) -> Result<T, String>,
    fix: Option<String>,
) -> Option<Finding> {
    let e = check(value.filter(|v| !v.is_empty())?).err()?;
    Some(Finding::error(field, e, fix))
}

/// An error finding when a set, non-empty `value` is not an http(s) URL.
fn url_finding(field: &str, value: Option<&str>, fix: Option<String>) -> Option<Finding> {
    value_finding(field, value, |v| validate::url(v, &["http", "https"]), fix)
}

/// The findings of `after` that `before` did not have: what a change introduces.
pub fn introduced(before: &[Finding], after: Vec<Finding>) -> Vec<Finding> {
    after
        .into_iter()
        .filter(|f| !before.iter().any(|b| b.field == f.field && b.message == f.message))
        .collect()
}

/// Every finding about a Config's spec, given what it refers to.
pub fn config(spec: &ConfigSpec, refs: &References) -> Vec<Finding> {
    let mut out = Vec::new();
    let replicas = spec.replicas;
    let strategy = spec
        .rollout_strategy
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("RollingUpdate");
    if replicas < 0 {
        out.push(Finding::error(
            "spec.replicas",
            format!("replicas must be greater than or equal to 0, got {replicas}"),
            Some("oc-registry set replicas 2".into()),
        ));
    }
    let storage = spec.storage.clone().unwrap_or_default();
    storage_findings(&storage, spec, strategy, refs, &mut out);
    if let Some(proxy) = &spec.proxy {
        for (field, value) in [("http", &proxy.http), ("https", &proxy.https)] {
            let fix = format!("oc-registry set proxy --{field} http://proxy.example.com:3128");
            out.extend(url_finding(&format!("spec.proxy.{field}"), value.as_deref(), Some(fix)));
        }
    }
    for (kind, limits) in [
        ("read", spec.requests.as_ref().and_then(|r| r.read.as_ref())),
        ("write", spec.requests.as_ref().and_then(|r| r.write.as_ref())),
    ] {
        let Some(limits) = limits else { continue };
        let field = |f: &str| format!("spec.requests.{kind}.{f}");
        for (name, value, flag) in [
            ("maxRunning", limits.max_running, "max-running"),
            ("maxInQueue", limits.max_in_queue, "max-in-queue"),
        ] {
            if value.is_some_and(|v| v < 0) {
                out.push(Finding::error(
                    field(name),
                    "must be 0 (no limit) or a positive number",
                    Some(format!("oc-registry set requests {kind} --{flag} 0")),
                ));
            }
        }
        if let Some(Err(e)) = limits.max_wait_in_queue.as_deref().map(validate::go_duration) {
            out.push(Finding::error(
                field("maxWaitInQueue"),
                e,
                Some(format!("oc-registry set requests {kind} --max-wait-in-queue 1m")),
            ));
        }
    }
    route_findings(spec, refs, &mut out);
    if let Some(r) = &spec.resources {
        out.extend(resource_findings("spec.resources", r, "oc-registry set resources"));
    }
    out.extend(toleration_findings(
        "spec.tolerations",
        spec.tolerations.as_deref().unwrap_or_default(),
    ));
    if replicas == 2 && spec.affinity.is_none() && refs.schedulable_workers.is_some_and(|n| n < 2) {
        out.push(Finding::warning(
            "spec.replicas",
            format!(
                "two replicas must run on different nodes, but only {} node(s) can take them: one pod stays Pending and rollouts stall",
                refs.schedulable_workers.unwrap_or_default()
            ),
            Some("oc-registry set replicas 1".into()),
        ));
    }
    if replicas == 0 && strategy == "RollingUpdate" && spec.management_state.as_deref() == Some("Managed") {
        out.push(Finding::warning(
            "spec.replicas",
            "no registry pod runs with 0 replicas; to stop the registry, set the management state to Removed",
            Some("oc-registry set replicas 1".into()),
        ));
    }
    out
}

fn storage_findings(storage: &Storage, spec: &ConfigSpec, strategy: &str, refs: &References, out: &mut Vec<Finding>) {
    let drivers = storage.drivers();
    if drivers.len() > 1 {
        out.push(Finding::error(
            "spec.storage",
            format!(
                "exactly one storage type should be configured at the same time, got {}: [{}]",
                drivers.len(),
                drivers.join(" ")
            ),
            Some(format!(
                "oc-registry storage set {} … (it replaces the others)",
                cli_driver(drivers[0])
            )),
        ));
    }
    if storage.oss.is_some() {
        out.push(Finding::error(
            "spec.storage.oss",
            "the Alibaba OSS driver no longer exists: the registry ignores this storage",
            Some("oc-registry storage set s3|gcs|azure|swift|pvc|empty-dir|ibmcos …".into()),
        ));
    }
    let replicas = spec.replicas;
    if storage.empty_dir.is_some() && replicas > 1 {
        out.push(Finding::warning(
            "spec.storage.emptyDir",
            format!(
                "each of the {replicas} replicas keeps its own emptyDir: an image pushed to one is missing from the others"
            ),
            Some("oc-registry set replicas 1".into()),
        ));
    }
    if let Some(pvc) = &storage.pvc {
        let named = pvc.claim.clone().filter(|c| !c.is_empty());
        match (&refs.claim, &named) {
            (None, Some(name)) => out.push(Finding::error(
                "spec.storage.pvc.claim",
                format!("PersistentVolumeClaim openshift-image-registry/{name} does not exist"),
                Some(
                    "create the claim first (kubectl create -n openshift-image-registry -f claim.yaml), \
                     or let the registry create one: oc-registry storage set pvc"
                        .into(),
                ),
            )),
            (Some(claim), _) => {
                let modes = &claim.access_modes;
                let many = modes.iter().any(|m| m == "ReadWriteMany");
                let once = modes.iter().any(|m| m == "ReadWriteOnce" || m == "ReadWriteOncePod");
                if !many && once && (replicas > 1 || strategy != "Recreate") {
                    out.push(Finding::error(
                        "spec.storage.pvc.claim",
                        format!(
                            "claim {} is ReadWriteOnce: it needs exactly 1 replica and the Recreate rollout strategy \
                             (now {replicas} replica(s), {strategy})",
                            claim.name
                        ),
                        Some("oc-registry set replicas 1 && oc-registry set rollout-strategy Recreate".into()),
                    ));
                } else if !many && !once {
                    out.push(Finding::error(
                        "spec.storage.pvc.claim",
                        format!(
                            "claim {} has neither ReadWriteMany nor ReadWriteOnce access",
                            claim.name
                        ),
                        Some("create a ReadWriteMany claim and run: oc-registry storage set pvc --claim NAME".into()),
                    ));
                }
            }
            (None, None) => {}
        }
    }
    if let Some(s3) = &storage.s3 {
        let fix = |flag: &str| Some(format!("oc-registry storage set s3 --{flag} …"));
        if let Some(Err(e)) = s3.bucket.as_deref().filter(|b| !b.is_empty()).map(validate::s3_bucket) {
            out.push(Finding::error("spec.storage.s3.bucket", e, fix("bucket")));
        }
        out.extend(url_finding(
            "spec.storage.s3.regionEndpoint",
            s3.region_endpoint.as_deref(),
            fix("region-endpoint"),
        ));
        if let Some(size) = s3.chunk_size_mib.filter(|s| !(5..=5120).contains(s)) {
            out.push(Finding::error(
                "spec.storage.s3.chunkSizeMiB",
                format!("must be from 5 to 5120, got {size}"),
                fix("chunk-size-mib"),
            ));
        }
        if s3.key_id.as_deref().is_some_and(|k| !k.is_empty()) && s3.encrypt != Some(true) {
            out.push(Finding::warning(
                "spec.storage.s3.keyID",
                "the KMS key is used only with encrypt: true",
                Some("oc-registry storage set s3 --encrypt".into()),
            ));
        }
        if let Some(name) = s3
            .trusted_ca
            .as_ref()
            .map(|c| c.name.as_str())
            .filter(|n| !n.is_empty())
        {
            match refs.config_maps.get(name) {
                Some(None) | None => out.push(Finding::error(
                    "spec.storage.s3.trustedCA.name",
                    format!("ConfigMap openshift-config/{name} does not exist"),
                    Some(format!(
                        "kubectl create configmap {name} -n openshift-config --from-file=ca-bundle.crt=ca.pem"
                    )),
                )),
                Some(Some(keys)) if !keys.contains("ca-bundle.crt") => out.push(Finding::error(
                    "spec.storage.s3.trustedCA.name",
                    format!("ConfigMap openshift-config/{name} has no key ca-bundle.crt"),
                    Some(format!(
                        "kubectl create configmap {name} -n openshift-config --from-file=ca-bundle.crt=ca.pem --dry-run=client -o yaml | kubectl apply -f -"
                    )),
                )),
                _ => {}
            }
        }
        if let Some(cf) = &s3.cloud_front {
            let base_url = Some(cf.base_url.as_str()).filter(|u| !u.is_empty()).unwrap_or("(none)");
            out.extend(url_finding(
                "spec.storage.s3.cloudFront.baseURL",
                Some(base_url),
                fix("cloudfront-base-url"),
            ));
            let name = cf.private_key.name.clone().unwrap_or_default();
            let key = cf.private_key.key.clone().unwrap_or_default();
            let keys = refs.secrets.get(&name).cloned().flatten();
            if name.is_empty() || key.is_empty() || !keys.as_ref().is_some_and(|k| k.contains(&key)) {
                out.push(Finding::error(
                    "spec.storage.s3.cloudFront.privateKey",
                    format!("Secret openshift-image-registry/{name} with key {key:?} does not exist"),
                    Some(format!(
                        "kubectl create secret generic {} -n openshift-image-registry --from-file=private.pem=KEYFILE",
                        if name.is_empty() { "cloudfront-key" } else { &name }
                    )),
                ));
            }
        }
    }
    if let Some(b) = storage
        .gcs
        .as_ref()
        .and_then(|g| g.bucket.as_deref())
        .filter(|b| !b.is_empty())
        && let Err(e) = validate::s3_bucket(b)
    {
        out.push(Finding::error(
            "spec.storage.gcs.bucket",
            e,
            Some("oc-registry storage set gcs --bucket …".into()),
        ));
    }
    if let Some(azure) = &storage.azure {
        let fix = |flag: &str| Some(format!("oc-registry storage set azure --{flag} …"));
        let container = azure.container.as_deref();
        out.extend(value_finding(
            "spec.storage.azure.container",
            container,
            validate::azure_container,
            fix("container"),
        ));
        let account = azure.account_name.as_deref();
        out.extend(value_finding(
            "spec.storage.azure.accountName",
            account,
            validate::azure_account,
            fix("account-name"),
        ));
        if let Some(access) = &azure.network_access {
            let type_ = access.type_.as_deref().unwrap_or("External");
            if access.internal.is_some() && type_ != "Internal" {
                out.push(Finding::error(
                    "spec.storage.azure.networkAccess.internal",
                    "internal network settings are allowed only when networkAccess.type is Internal",
                    Some("oc-registry storage set azure --network-access Internal".into()),
                ));
            }
        }
    }
    if let Some(swift) = &storage.swift {
        out.extend(url_finding(
            "spec.storage.swift.authURL",
            swift.auth_url.as_deref(),
            Some("oc-registry storage set swift --auth-url https://keystone.example.com:5000/v3".into()),
        ));
        if let Some(v) = swift
            .auth_version
            .as_deref()
            .filter(|v| !matches!(*v, "" | "1" | "2" | "3"))
        {
            out.push(Finding::error(
                "spec.storage.swift.authVersion",
                format!("{v:?} is not a Keystone version: 1, 2 or 3"),
                Some("oc-registry storage set swift --auth-version 3".into()),
            ));
        }
    }
    if let Some(cos) = &storage.ibmcos {
        for (field, value, kind, flag) in [
            (
                "resourceKeyCRN",
                &cos.resource_key_crn,
                Some("resource-key"),
                "resource-key-crn",
            ),
            (
                "serviceInstanceCRN",
                &cos.service_instance_crn,
                None,
                "service-instance-crn",
            ),
        ] {
            if let Some(Err(e)) = value
                .as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| validate::ibm_crn(v, kind))
            {
                out.push(Finding::error(
                    format!("spec.storage.ibmcos.{field}"),
                    e,
                    Some(format!("oc-registry storage set ibmcos --{flag} crn:…")),
                ));
            }
        }
    }
}

/// The driver's name on the command line (`emptyDir` → `empty-dir`).
pub fn cli_driver(driver: &str) -> &str {
    if driver == "emptyDir" { "empty-dir" } else { driver }
}

fn route_findings(spec: &ConfigSpec, refs: &References, out: &mut Vec<Finding>) {
    let mut seen = BTreeSet::new();
    for (i, route) in spec.routes.iter().flatten().enumerate() {
        let field = |f: &str| format!("spec.routes[{i}].{f}");
        if route.name == crate::reconcile::render::DEFAULT_ROUTE {
            out.push(Finding::error(
                field("name"),
                "default-route is reserved for the default route",
                Some("oc-registry routes remove default-route && oc-registry set default-route true".into()),
            ));
        }
        if let Err(e) = validate::object_name(&route.name) {
            out.push(Finding::error(field("name"), e, None));
        }
        if !seen.insert(route.name.clone()) {
            out.push(Finding::error(
                field("name"),
                format!("route {} is listed twice", route.name),
                Some(format!("oc-registry routes remove {}", route.name)),
            ));
        }
        if let Some(Err(e)) = route
            .hostname
            .as_deref()
            .filter(|h| !h.is_empty())
            .map(validate::dns_name)
        {
            out.push(Finding::error(
                field("hostname"),
                e,
                Some(format!(
                    "oc-registry routes add {} --hostname registry.apps.example.com",
                    route.name
                )),
            ));
        }
        if let Some(secret) = route.secret_name.as_deref().filter(|s| !s.is_empty()) {
            let create =
                format!("kubectl create secret tls {secret} -n openshift-image-registry --cert=tls.crt --key=tls.key");
            match refs.secrets.get(secret) {
                Some(Some(keys)) => {
                    let missing: Vec<&str> = ["tls.crt", "tls.key"]
                        .into_iter()
                        .filter(|k| !keys.contains(*k))
                        .collect();
                    if !missing.is_empty() {
                        out.push(Finding::error(
                            field("secretName"),
                            format!(
                                "Secret openshift-image-registry/{secret} has no {} key",
                                missing.join(" or ")
                            ),
                            Some(create),
                        ));
                    }
                }
                _ => out.push(Finding::error(
                    field("secretName"),
                    format!("Secret openshift-image-registry/{secret} does not exist"),
                    Some(create),
                )),
            }
        }
    }
}

/// Resource requests and limits: valid quantities, and no request above its limit.
pub fn resource_findings(field: &str, r: &ResourceRequirements, command: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let fix = Some(format!("{command} --requests cpu=100m,memory=256Mi"));
    let mut parsed = |kind: &str,
                      map: &Option<
        std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| {
        let mut values = std::collections::BTreeMap::new();
        for (name, q) in map.iter().flatten() {
            match validate::quantity(&q.0) {
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
                Err(e) => out.push(Finding::error(format!("{field}.{kind}.{name}"), e, fix.clone())),
            }
        }
        values
    };
    let requests = parsed("requests", &r.requests);
    let limits = parsed("limits", &r.limits);
    for (name, request) in &requests {
        if let Some(limit) = limits.get(name).filter(|l| *l < request) {
            out.push(Finding::error(
                format!("{field}.requests.{name}"),
                format!("the request ({request}) is above the limit ({limit})"),
                fix.clone(),
            ));
        }
    }
    out
}

pub fn toleration_findings(field: &str, tolerations: &[Toleration]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, t) in tolerations.iter().enumerate() {
        let operator = t.operator.as_deref().unwrap_or("Equal");
        if !matches!(operator, "Equal" | "Exists") {
            out.push(Finding::error(
                format!("{field}[{i}].operator"),
                "must be Equal or Exists",
                None,
            ));
        }
        if operator == "Exists" && t.value.as_deref().is_some_and(|v| !v.is_empty()) {
            out.push(Finding::error(
                format!("{field}[{i}].value"),
                "must be empty with operator Exists",
                None,
            ));
        }
        if let Some(e) = t
            .effect
            .as_deref()
            .filter(|e| !matches!(*e, "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute"))
        {
            out.push(Finding::error(
                format!("{field}[{i}].effect"),
                format!("{e:?} is not NoSchedule, PreferNoSchedule or NoExecute"),
                None,
            ));
        }
        if t.toleration_seconds.is_some() && t.effect.as_deref() != Some("NoExecute") {
            out.push(Finding::error(
                format!("{field}[{i}].tolerationSeconds"),
                "applies only to the NoExecute effect",
                None,
            ));
        }
    }
    out
}

/// Every finding about an ImagePruner's spec.
pub fn pruner(spec: &ImagePrunerSpec) -> Vec<Finding> {
    let mut out = Vec::new();
    if !spec.schedule.is_empty()
        && let Err(e) = super::schedule::parse(&spec.schedule)
    {
        out.push(Finding::error(
            "spec.schedule",
            e,
            Some("oc-registry pruner set --schedule '0 0 * * *'".into()),
        ));
    }
    if let Some(d) = spec.keep_younger_than_duration.as_deref()
        && let Err(e) = validate::go_duration(d)
    {
        out.push(Finding::error(
            "spec.keepYoungerThanDuration",
            e,
            Some("oc-registry pruner set --keep-younger-than 60m".into()),
        ));
    }
    for (field, value, flag) in [
        ("keepTagRevisions", spec.keep_tag_revisions, "keep-tag-revisions"),
        (
            "successfulJobsHistoryLimit",
            spec.successful_jobs_history_limit.map(i64::from),
            "successful-jobs-history-limit",
        ),
        (
            "failedJobsHistoryLimit",
            spec.failed_jobs_history_limit.map(i64::from),
            "failed-jobs-history-limit",
        ),
    ] {
        if value.is_some_and(|v| v < 0) {
            out.push(Finding::error(
                format!("spec.{field}"),
                "must not be negative",
                Some(format!("oc-registry pruner set --{flag} 3")),
            ));
        }
    }
    if let Some(r) = &spec.resources {
        out.extend(resource_findings("spec.resources", r, "oc-registry pruner set"));
    }
    out.extend(toleration_findings(
        "spec.tolerations",
        spec.tolerations.as_deref().unwrap_or_default(),
    ));
    out
}
