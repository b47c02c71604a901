//! The effective policy set: configurations resolved into loaded modules per hook, and the typed
//! calls the rest of the program makes (`storage`, `pruner`, `admit`).

use super::builtin;
use super::config::{Origin, SourcedConfig};
use super::error::{Cause, PolicyError};
use super::host::{Evaluation, Host, LoadedModule};
use super::limits::Limits;
use super::module::{Inspection, inspect};
use anyhow::{Result, anyhow, bail};
use oc_registry_policy_sdk::{
    AdmissionInput, PrunerDecision, PrunerInput, StorageDecision, StorageInput, storage_driver,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::{Arc, OnceLock};

/// A module in effect, and what it serves.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveModule {
    pub name: String,
    pub version: String,
    pub origin: Origin,
    pub sha256: String,
    /// The hooks this configuration assigns to it.
    pub hooks: Vec<String>,
    #[serde(skip)]
    inspection: Inspection,
    #[serde(skip)]
    bytes: Arc<[u8]>,
    /// Compiled on first use: a command that evaluates nothing compiles nothing.
    #[serde(skip)]
    loaded: Arc<OnceLock<Arc<LoadedModule>>>,
}

pub struct Policies {
    limits: Limits,
    host: OnceLock<Host>,
    pub modules: Vec<EffectiveModule>,
    /// Why the cluster's configuration could not be learned, when it could not: these are then
    /// the local and built-in policies only, which may admit what the cluster's would refuse.
    cluster_unknown: Option<String>,
}

/// A decision and where it came from.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decided<T> {
    pub decision: T,
    pub module: String,
    pub warnings: Vec<String>,
    pub fuel_used: u64,
}

/// The admission verdict: every admission module must allow.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Admission {
    pub allowed: bool,
    pub denials: Vec<Denial>,
    pub warnings: Vec<String>,
}

impl Admission {
    /// Every denial as `module: reason; reason`, joined.
    pub fn denials_text(&self) -> String {
        let each: Vec<String> = self
            .denials
            .iter()
            .map(|d| format!("{}: {}", d.module, d.reasons.join("; ")))
            .collect();
        // Reasons come from modules: shown escaped, they cannot drive the terminal.
        crate::validate::printable(&each.join("; ")).into_owned()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Denial {
    pub module: String,
    pub reasons: Vec<String>,
}

impl Policies {
    /// Resolves the cluster and local configurations (either may be absent) over the built-ins.
    pub fn load(cluster: Option<SourcedConfig>, local: Option<SourcedConfig>) -> Result<Self> {
        let mut limits = Limits::default();
        for c in [&cluster, &local].into_iter().flatten() {
            if let Some(o) = &c.config.limits {
                limits = o.apply(&limits);
            }
        }
        let mut policies = Policies {
            limits,
            host: OnceLock::new(),
            modules: Vec::new(),
            cluster_unknown: None,
        };
        // Decision hooks: the cluster's choice, else the local one, else the built-in.
        for hook in ["storage", "pruner"] {
            let chosen = [&cluster, &local].into_iter().flatten().find_map(|c| {
                let name = match hook {
                    "storage" => c.config.hooks.storage.clone(),
                    _ => c.config.hooks.pruner.clone(),
                };
                name.map(|n| (n, c))
            });
            match chosen {
                Some((name, source)) => policies.assign(hook, &name, Some(source))?,
                None => {
                    let b = if hook == "storage" {
                        &builtin::STORAGE
                    } else {
                        &builtin::PRUNER
                    };
                    policies.assign(hook, b.name, None)?
                }
            }
        }
        for source in [&cluster, &local].into_iter().flatten() {
            for name in &source.config.hooks.admission {
                policies.assign("admission", name, Some(source))?;
            }
        }
        Ok(policies)
    }

    /// Loads (once) the module `name` of `source` (or a built-in) and assigns it to `hook`.
    fn assign(&mut self, hook: &str, name: &str, source: Option<&SourcedConfig>) -> Result<()> {
        let origin = source.map_or(Origin::Builtin, |s| s.origin.clone());
        let declared = source.and_then(|s| s.config.modules.iter().find(|m| m.name == name));
        let (bytes, origin): (Vec<u8>, Origin) = match (declared, builtin::find(name)) {
            (Some(m), _) => (source.expect("declared in a source").module_bytes(m)?, origin),
            (None, Some(b)) => (b.bytes.to_vec(), Origin::Builtin),
            (None, None) => {
                bail!(
                    "policy configuration ({origin}) assigns hook {hook} to module {name:?}, which it does not declare under modules"
                )
            }
        };
        let serves = |inspection: &Inspection| -> Result<()> {
            if inspection.metadata.hooks.iter().any(|h| h == hook) {
                return Ok(());
            }
            bail!(
                "policy module {name:?} ({origin}) is assigned hook {hook}, but declares only: {}",
                inspection.metadata.hooks.join(", ")
            )
        };
        if let Some(existing) = self.modules.iter_mut().find(|m| m.name == name && m.origin == origin) {
            serves(&existing.inspection)?;
            if !existing.hooks.iter().any(|h| h == hook) {
                existing.hooks.push(hook.to_string());
            }
            return Ok(());
        }
        let inspection = inspect(name, &bytes, &self.limits).map_err(|e| anyhow!(e))?;
        serves(&inspection)?;
        self.modules.push(EffectiveModule {
            name: name.to_string(),
            version: inspection.metadata.version.clone(),
            origin,
            sha256: inspection.sha256.clone(),
            hooks: vec![hook.to_string()],
            inspection,
            bytes: bytes.into(),
            loaded: Arc::new(OnceLock::new()),
        });
        Ok(())
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The engine, started on first use.
    pub fn host(&self) -> Result<&Host, PolicyError> {
        if let Some(h) = self.host.get() {
            return Ok(h);
        }
        let host =
            Host::new(self.limits).map_err(|e| PolicyError::loading("(engine)", Cause::Invalid(format!("{e:#}"))))?;
        Ok(self.host.get_or_init(|| host))
    }

    /// Compiles `m` now rather than at its first decision.
    pub fn ready(&self, m: &EffectiveModule) -> Result<(), PolicyError> {
        self.loaded(m).map(|_| ())
    }

    /// The compiled module, compiled on first use.
    fn loaded(&self, m: &EffectiveModule) -> Result<Arc<LoadedModule>, PolicyError> {
        if let Some(l) = m.loaded.get() {
            return Ok(l.clone());
        }
        let precompiled = match m.origin {
            Origin::Builtin => builtin::find(&m.name).map(|b| &b.precompiled),
            _ => None,
        };
        let loaded = Arc::new(self.host()?.prepare(m.inspection.clone(), &m.bytes, precompiled)?);
        Ok(m.loaded.get_or_init(|| loaded).clone())
    }

    fn serving(&self, hook: &str) -> impl Iterator<Item = &EffectiveModule> {
        self.modules.iter().filter(move |m| m.hooks.iter().any(|h| h == hook))
    }

    /// The module deciding `hook` (`storage` or `pruner`).
    pub fn decider(&self, hook: &str) -> &EffectiveModule {
        self.serving(hook).next().expect("decision hooks always have a module")
    }

    /// Runs `hook` on a module in effect, raw.
    pub fn evaluate(&self, module: &EffectiveModule, hook: &str, input: &Value) -> Result<Evaluation, PolicyError> {
        let loaded = self.loaded(module)?;
        self.host()?.evaluate(&loaded, hook, input)
    }

    fn decide<I: Serialize, T: DeserializeOwned>(&self, hook: &str, input: &I) -> Result<Decided<T>, PolicyError> {
        let module = self.decider(hook);
        let input = serde_json::to_value(input).expect("hook inputs serialise");
        let out = self.evaluate(module, hook, &input)?;
        decision_of(&module.name, hook, out)
    }

    pub fn storage(&self, input: &StorageInput) -> Result<Decided<StorageDecision>, PolicyError> {
        let decided: Decided<StorageDecision> = self.decide("storage", input)?;
        check_storage(&decided.decision).map_err(|e| PolicyError {
            module: decided.module.clone(),
            hook: "storage".into(),
            cause: Cause::BadResult(e),
        })?;
        Ok(decided)
    }

    pub fn pruner(&self, input: &PrunerInput) -> Result<Decided<PrunerDecision>, PolicyError> {
        let decided: Decided<PrunerDecision> = self.decide("pruner", input)?;
        let d = &decided.decision;
        let bad = if let Err(e) = crate::validate::schedule::parse(&d.schedule) {
            Some(format!("schedule: {e}"))
        } else if d.args.is_empty() {
            Some("no oc adm prune images arguments".into())
        } else if d.successful_jobs_history_limit < 0 || d.failed_jobs_history_limit < 0 {
            Some("negative history limit".into())
        } else {
            None
        };
        match bad {
            Some(e) => Err(PolicyError {
                module: decided.module,
                hook: "pruner".into(),
                cause: Cause::BadResult(e),
            }),
            None => Ok(decided),
        }
    }

    /// Asks every admission module; all must allow. A module that fails denies.
    /// These policies without the cluster's configuration, which could not be read for `why`.
    pub fn without_cluster(mut self, why: String) -> Self {
        self.cluster_unknown = Some(why);
        self
    }

    /// Why the cluster's configuration is unknown, when it is.
    pub fn cluster_unknown(&self) -> Option<&str> {
        self.cluster_unknown.as_deref()
    }

    pub fn admit(&self, input: &AdmissionInput) -> Result<Admission, PolicyError> {
        let value = serde_json::to_value(input).expect("hook inputs serialise");
        let mut verdict = Admission {
            allowed: true,
            ..Admission::default()
        };
        for m in self.serving("admission") {
            let out = self.evaluate(m, "admission", &value)?;
            verdict
                .warnings
                .extend(out.response.warnings.iter().map(|w| format!("{}: {w}", m.name)));
            if !out.response.allowed {
                verdict.allowed = false;
                let reasons = if out.response.reasons.is_empty() {
                    vec!["denied without a reason".into()]
                } else {
                    out.response.reasons
                };
                verdict.denials.push(Denial {
                    module: m.name.clone(),
                    reasons,
                });
            }
        }
        Ok(verdict)
    }
}

fn decision_of<T: DeserializeOwned>(module: &str, hook: &str, out: Evaluation) -> Result<Decided<T>, PolicyError> {
    let fail = |cause| PolicyError {
        module: module.to_string(),
        hook: hook.to_string(),
        cause,
    };
    if !out.response.allowed {
        return Err(fail(Cause::Refused(out.response.reasons)));
    }
    let result = out
        .response
        .result
        .ok_or_else(|| fail(Cause::BadResult("no result".into())))?;
    let decision = serde_json::from_value(result).map_err(|e| fail(Cause::BadResult(e.to_string())))?;
    Ok(Decided {
        decision,
        module: module.to_string(),
        warnings: out.response.warnings,
        fuel_used: out.fuel_used,
    })
}

fn check_storage(d: &StorageDecision) -> Result<(), String> {
    if !matches!(d.management_state.as_str(), "Managed" | "Removed") {
        return Err(format!(
            "managementState {:?} is neither Managed nor Removed",
            d.management_state
        ));
    }
    if !matches!(d.rollout_strategy.as_str(), "RollingUpdate" | "Recreate") {
        return Err(format!(
            "rolloutStrategy {:?} is neither RollingUpdate nor Recreate",
            d.rollout_strategy
        ));
    }
    if d.replicas < 0 {
        return Err(format!("replicas {} is negative", d.replicas));
    }
    let Some(block) = d.storage.as_object() else {
        return Err("storage is not an object".into());
    };
    let drivers = block.keys().filter(|k| *k != "managementState").count();
    if drivers > 1 || (drivers == 1 && storage_driver(&d.storage).is_none()) {
        return Err(format!("storage {} does not name exactly one known driver", d.storage));
    }
    if drivers == 0 && d.management_state == "Managed" {
        return Err("a Managed registry needs storage".into());
    }
    Ok(())
}
