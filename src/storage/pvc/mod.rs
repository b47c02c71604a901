//! A PersistentVolumeClaim in the registry's namespace.

pub mod class;

use super::{Driver, Environment, Platform, Randomness, Removal, Rendering, fill, value};
use crate::api::{ConfigSpec, DEFAULT_CLAIM, RolloutStrategy, Storage};
use crate::state::references::{Names, References};
use crate::validate::{Finding, Problem};
use serde_json::json;

pub struct Pvc;

impl Driver for Pvc {
    fn name(&self) -> &'static str {
        "pvc"
    }

    fn title(&self) -> &'static str {
        "PVC"
    }

    fn summary(&self) -> &'static str {
        "A PersistentVolumeClaim in openshift-image-registry"
    }

    fn is_set(&self, storage: &Storage) -> bool {
        storage.pvc.is_some()
    }

    fn only(&self, storage: &Storage) -> Storage {
        Storage {
            pvc: storage.pvc.clone(),
            ..Storage::default()
        }
    }

    fn complete(&self, storage: &mut Storage, _platform: &Platform<'_>, _random: &mut dyn Randomness) -> bool {
        let Some(pvc) = storage.pvc.as_mut() else { return false };
        fill(&mut pvc.claim, || Some(DEFAULT_CLAIM.to_string()))
    }

    fn render(&self, storage: &Storage, _environment: &Environment<'_>) -> Result<Rendering, Problem> {
        let claim = storage.pvc.as_ref().and_then(|p| p.claim.clone()).unwrap_or_default();
        let mut out = Rendering::default();
        out.filesystem(json!({"name": "registry-storage", "persistentVolumeClaim": {"claimName": claim}}));
        Ok(out)
    }

    fn check(&self, storage: &Storage, spec: &ConfigSpec, refs: &References) -> Vec<Finding> {
        let Some(pvc) = &storage.pvc else { return Vec::new() };
        let replicas = spec.replicas;
        let strategy = spec.rollout_strategy.as_ref();
        let field = "spec.storage.pvc.claim";
        if let Some(Err(e)) = value(&pvc.claim).map(crate::validate::object_name) {
            return vec![Finding::error(
                field,
                e,
                Some("oc-registry storage set pvc --claim NAME".into()),
            )];
        }
        if !refs.read {
            return Vec::new();
        }
        match (&refs.claim, value(&pvc.claim)) {
            (None, Some(name)) => vec![Finding::error(
                field,
                format!("PersistentVolumeClaim openshift-image-registry/{name} does not exist"),
                Some(
                    "create the claim first (kubectl create -n openshift-image-registry -f claim.yaml), \
                     or let the registry create one: oc-registry storage set pvc"
                        .into(),
                ),
            )],
            (Some(claim), _) => match access_verdict(&claim.access_modes, replicas, strategy) {
                AccessVerdict::Usable => Vec::new(),
                AccessVerdict::TooManyReplicas | AccessVerdict::NeedsRecreate => vec![Finding::error(
                    field,
                    format!(
                        "claim {} is ReadWriteOnce: it needs exactly 1 replica and the Recreate rollout strategy \
                         (now {replicas} replica(s), {})",
                        claim.name,
                        strategy.map_or("RollingUpdate", |s| s.as_str())
                    ),
                    Some("oc-registry set replicas 1 && oc-registry set rollout-strategy Recreate".into()),
                )],
                AccessVerdict::NoUsableMode => vec![Finding::error(
                    field,
                    format!(
                        "claim {} has neither ReadWriteMany nor ReadWriteOnce access",
                        claim.name
                    ),
                    Some("create a ReadWriteMany claim and run: oc-registry storage set pvc --claim NAME".into()),
                )],
            },
            (None, None) => Vec::new(),
        }
    }

    fn referenced(&self, storage: &Storage, names: &mut Names) {
        if let Some(pvc) = &storage.pvc {
            names.claim = Some(value(&pvc.claim).unwrap_or(DEFAULT_CLAIM).to_string());
        }
    }

    fn location(&self, storage: &Storage) -> Vec<(&'static str, String)> {
        let claim = storage
            .pvc
            .as_ref()
            .and_then(|p| value(&p.claim))
            .unwrap_or(DEFAULT_CLAIM);
        vec![("claim", claim.to_string())]
    }

    fn removal(&self, storage: &Storage) -> Removal {
        Removal::Claim(storage.pvc.as_ref().and_then(|p| p.claim.clone()).unwrap_or_default())
    }
}

/// Whether a claim with these access modes can hold a registry of `replicas` rolled out by
/// `strategy` (RollingUpdate when unset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessVerdict {
    Usable,
    /// Single-node access, several replicas.
    TooManyReplicas,
    /// Single-node access, a rolling update would run two pods at once.
    NeedsRecreate,
    /// Neither shared nor single-node read-write access.
    NoUsableMode,
}

/// The one access-mode rule: ReadWriteMany suits any registry; ReadWriteOnce and
/// ReadWriteOncePod only one replica rolled out by Recreate.
pub fn access_verdict(modes: &[String], replicas: i32, strategy: Option<&RolloutStrategy>) -> AccessVerdict {
    let has = |mode: &str| modes.iter().any(|m| m == mode);
    if has("ReadWriteMany") {
        AccessVerdict::Usable
    } else if !has("ReadWriteOnce") && !has("ReadWriteOncePod") {
        AccessVerdict::NoUsableMode
    } else if replicas > 1 {
        AccessVerdict::TooManyReplicas
    } else if strategy != Some(&RolloutStrategy::Recreate) {
        AccessVerdict::NeedsRecreate
    } else {
        AccessVerdict::Usable
    }
}

impl AccessVerdict {
    /// The operator's words for a claim that cannot be used.
    pub fn problem(self, claim: &str) -> Option<Problem> {
        let message = match self {
            AccessVerdict::Usable => return None,
            AccessVerdict::TooManyReplicas => {
                "cannot use ReadWriteOnce access mode with more than one replica of the image registry".to_string()
            }
            AccessVerdict::NeedsRecreate => {
                "cannot use ReadWriteOnce access mode with RollingUpdate rollout strategy".to_string()
            }
            AccessVerdict::NoUsableMode => {
                format!("PVC {claim} does not contain the necessary access modes: ReadWriteMany or ReadWriteOnce")
            }
        };
        Some(Problem::new("Error", message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessVerdict::*;

    #[test]
    fn access_modes() {
        let cases: &[(&[&str], i32, Option<&str>, AccessVerdict)] = &[
            (&["ReadWriteMany"], 3, None, Usable),
            (&["ReadWriteOnce", "ReadWriteMany"], 2, Some("RollingUpdate"), Usable),
            (&["ReadWriteOnce"], 1, Some("Recreate"), Usable),
            (&["ReadWriteOncePod"], 1, Some("Recreate"), Usable),
            (&["ReadWriteOnce"], 2, Some("Recreate"), TooManyReplicas),
            (&["ReadWriteOncePod"], 2, Some("Recreate"), TooManyReplicas),
            (&["ReadWriteOnce"], 1, None, NeedsRecreate),
            (&["ReadWriteOncePod"], 1, Some("RollingUpdate"), NeedsRecreate),
            (&["ReadOnlyMany"], 1, Some("Recreate"), NoUsableMode),
            (&[], 1, Some("Recreate"), NoUsableMode),
        ];
        for (modes, replicas, strategy, want) in cases {
            let modes: Vec<String> = modes.iter().map(|m| m.to_string()).collect();
            let strategy = strategy.map(RolloutStrategy::from);
            assert_eq!(
                access_verdict(&modes, *replicas, strategy.as_ref()),
                *want,
                "{modes:?} {replicas} {strategy:?}"
            );
        }
        assert!(Usable.problem("c").is_none());
        assert!(NoUsableMode.problem("c").unwrap().message.contains("PVC c does not"));
    }
}
