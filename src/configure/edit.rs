//! One change to the registry Config or the ImagePruner: read the object, edit its typed spec,
//! check the result (refusing errors the change introduces), ask the admission policies, and write a
//! merge patch of only the changed fields under a resourceVersion precondition. A conflict redoes
//! all of it on a fresh read, so a concurrent edit is never lost.

use super::checks;
use super::write::{Change, patch_with_precondition};
use crate::api::{CLUSTER, Config, ConfigSpec, ImagePruner, ImagePrunerSpec};
use crate::cluster::DryRun;
use crate::cluster::merge_patch_between;
use crate::policy::Policies;
use crate::policy::sdk::{AdmissionFacts, AdmissionInput, PvcFacts};
use crate::state::references::References;
use crate::validate::{Finding, Severity};
use kube::{Api, Client};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt::Debug;

/// The fields whose values are never shown.
const SECRET_FIELDS: &[&str] = &["spec.httpSecret"];

/// One field a change sets or removes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldChange {
    /// A path such as `spec.storage.s3.bucket`.
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl FieldChange {
    /// `spec.replicas: 1 -> 2`, with secret values shown as `***`.
    pub fn describe(&self) -> String {
        let show = |v: &Option<Value>| match v {
            None => "(unset)".to_string(),
            Some(_) if SECRET_FIELDS.contains(&self.field.as_str()) => "***".to_string(),
            Some(v) => v.to_string(),
        };
        format!("{}: {} -> {}", self.field, show(&self.before), show(&self.after))
    }
}

#[derive(Debug, Default)]
pub struct Edited {
    pub changes: Vec<FieldChange>,
    /// Warnings the change introduces, from the checks and the admission policies.
    pub warnings: Vec<String>,
    /// The object as the change left it (as a dry run would leave it).
    pub object: Value,
}

impl Edited {
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// The edit itself could not be made (a value that does not fit, a name that is not there).
    #[error("{0}")]
    Invalid(String),
    /// The result has errors the cluster would reject or the registry would fail on.
    #[error("{}", refused_message(.0))]
    Refused(Vec<Finding>),
    /// An admission policy said no.
    #[error("denied by admission policy: {0}")]
    Denied(String),
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
}

fn refused_message(findings: &[Finding]) -> String {
    let lines: Vec<String> = findings.iter().map(|f| format!("  {f}")).collect();
    format!("the change was not made:\n{}", lines.join("\n"))
}

/// What a change needs besides the edit.
pub struct Editor<'a> {
    pub client: &'a Client,
    pub policies: &'a Policies,
    pub dry_run: Option<DryRun>,
    /// A claim the same command creates (in a dry run, would create): the checks take it as
    /// existing.
    pub new_claim: Option<PvcFacts>,
}

/// The edit of the object's spec; `Err` for an edit that cannot be made on this object.
pub type EditResult = Result<(), String>;

impl Editor<'_> {
    /// Edits `configs.imageregistry.operator.openshift.io/cluster`.
    pub async fn config(&self, mut edit: impl FnMut(&mut ConfigSpec) -> EditResult) -> Result<Edited, EditError> {
        let client = self.client.clone();
        self.edit(
            Api::<Config>::all(client.clone()),
            "Config",
            |config: &mut Config| edit(&mut config.spec),
            async move |before: &Config, after: &Config| {
                let mut refs = References::gather_each(
                    &client,
                    &[
                        (&before.spec, checks::referenced(&before.spec)),
                        (&after.spec, checks::referenced(&after.spec)),
                    ],
                )
                .await?;
                let (mut refs_after, refs_before) = (refs.remove(1), refs.remove(0));
                let named = |c: &PvcFacts| Some(c.name.as_str()) == checks::referenced(&after.spec).claim.as_deref();
                if refs_after.claim.is_none()
                    && let Some(claim) = self.new_claim.clone().filter(named)
                {
                    refs_after.claim = Some(claim);
                }
                let findings = checks::introduced(
                    &checks::config(&before.spec, &refs_before),
                    checks::config(&after.spec, &refs_after),
                );
                Ok::<_, kube::Error>((findings, AdmissionFacts { pvc: refs_after.claim }))
            },
        )
        .await
    }

    /// Edits `imagepruners.imageregistry.operator.openshift.io/cluster`.
    pub async fn pruner(&self, mut edit: impl FnMut(&mut ImagePrunerSpec) -> EditResult) -> Result<Edited, EditError> {
        let api = Api::<ImagePruner>::all(self.client.clone());
        self.edit(
            api,
            "ImagePruner",
            |pruner: &mut ImagePruner| edit(&mut pruner.spec),
            async |before: &ImagePruner, after: &ImagePruner| {
                let findings = checks::introduced(&checks::pruner(&before.spec), checks::pruner(&after.spec));
                Ok::<_, kube::Error>((findings, AdmissionFacts::default()))
            },
        )
        .await
    }

    async fn edit<K, C>(
        &self,
        api: Api<K>,
        kind: &str,
        mut edit: impl FnMut(&mut K) -> EditResult,
        mut check: C,
    ) -> Result<Edited, EditError>
    where
        K: kube::Resource + Clone + DeserializeOwned + Serialize + Debug,
        C: AsyncFnMut(&K, &K) -> Result<(Vec<Finding>, AdmissionFacts), kube::Error>,
    {
        let mut edited = Edited::default();
        let written = patch_with_precondition(&api, CLUSTER, self.dry_run, async |current: &K| {
            let before = serde_json::to_value(current).map_err(|e| EditError::Invalid(e.to_string()))?;
            let mut proposed = current.clone();
            edit(&mut proposed).map_err(EditError::Invalid)?;
            let after = serde_json::to_value(&proposed).map_err(|e| EditError::Invalid(e.to_string()))?;
            let patch = merge_patch_between(&before["spec"], &after["spec"]);
            edited = Edited {
                changes: changes(&before["spec"], &patch, "spec"),
                ..Edited::default()
            };
            if !edited.changed() {
                return Ok(Change::Unchanged);
            }
            let (findings, facts) = check(current, &proposed).await?;
            let (errors, warnings): (Vec<Finding>, Vec<Finding>) =
                findings.into_iter().partition(|f| f.severity == Severity::Error);
            if !errors.is_empty() {
                return Err(EditError::Refused(errors));
            }
            edited.warnings = warnings.iter().map(ToString::to_string).collect();
            let verdict = self.policies.admit(&AdmissionInput {
                operation: "update".into(),
                kind: kind.into(),
                current: Some(before),
                proposed: Some(after),
                facts,
            })?;
            if !verdict.allowed {
                return Err(EditError::Denied(verdict.denials_text()));
            }
            edited.warnings.extend(verdict.warnings);
            Ok(Change::Patch(json!({ "spec": patch })))
        })
        .await?;
        edited.object = serde_json::to_value(&written.object).map_err(|e| EditError::Invalid(e.to_string()))?;
        Ok(edited)
    }
}

/// The leaf fields a merge patch sets or removes, with their values before and after.
fn changes(before: &Value, patch: &Value, path: &str) -> Vec<FieldChange> {
    let Value::Object(fields) = patch else {
        return vec![FieldChange {
            field: path.to_string(),
            before: Some(before.clone()).filter(|v| !v.is_null()),
            after: Some(patch.clone()).filter(|v| !v.is_null()),
        }];
    };
    let mut out = Vec::new();
    for (key, value) in fields {
        let child = format!("{path}.{key}");
        let old = before.get(key).cloned().unwrap_or(Value::Null);
        match (value, &old) {
            // A whole object set where there was none, or removed: one line per leaf it holds.
            (Value::Object(_), Value::Object(_)) => out.extend(changes(&old, value, &child)),
            (Value::Object(map), _) if !map.is_empty() => out.extend(changes(&Value::Null, value, &child)),
            (Value::Null, Value::Object(map)) if !map.is_empty() => {
                for (k, v) in map {
                    out.extend(changes(v, &Value::Null, &format!("{child}.{k}")));
                }
            }
            _ => out.push(FieldChange {
                field: child,
                before: Some(old).filter(|v| !v.is_null()),
                after: Some(value.clone()).filter(|v| !v.is_null()),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_list_leaves_and_mask_the_http_secret() {
        let before =
            json!({"replicas": 1, "storage": {"emptyDir": {}}, "httpSecret": "old", "proxy": {"http": "http://p:1"}});
        let after = json!({"replicas": 2, "storage": {"s3": {"bucket": "b", "region": "r"}}, "httpSecret": "new"});
        let patch = merge_patch_between(&before, &after);
        let lines: Vec<String> = changes(&before, &patch, "spec")
            .iter()
            .map(FieldChange::describe)
            .collect();
        assert!(lines.contains(&"spec.replicas: 1 -> 2".to_string()), "{lines:?}");
        assert!(
            lines.contains(&"spec.storage.emptyDir: {} -> (unset)".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"spec.storage.s3.bucket: (unset) -> \"b\"".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"spec.httpSecret: *** -> ***".to_string()), "{lines:?}");
        assert!(
            lines.contains(&"spec.proxy.http: \"http://p:1\" -> (unset)".to_string()),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("old") || l.contains("new")),
            "{lines:?}"
        );
    }

    #[test]
    fn an_unchanged_value_is_no_change() {
        let v = json!({"replicas": 1});
        assert!(changes(&v, &merge_patch_between(&v, &v), "spec").is_empty());
    }
}
