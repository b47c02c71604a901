//! One reconcile pass: bootstrap what is missing, then act on the Config's management state —
//! Managed renders and applies, Removed tears down, Unmanaged only reports — and write status.

use super::apply::{Applied, Applier, Outcome};
use super::bootstrap::{self, Bootstrapped, FINALIZER};
use super::complete::complete;
use super::conditions::{self, RegistryFacts};
use super::events;
use super::observe;
use super::plan::{self, Plan};
use super::provision;
use super::teardown::{self, StorageLoss};
use crate::api::ManagementState;
use crate::api::{CLUSTER, ClusterOperator, Condition, Config, ConfigStatus, Image, ImagePruner, Route, Storage};
use crate::cluster::{DryRun, merge_patch_between};
use crate::cluster::{is_conflict, retry};
use crate::policy::Policies;
use crate::policy::sdk::PrunerDecision;
use crate::render::inputs::{Images, Inputs, referenced};
use crate::render::{self, Desired, Kind, Problem};
use crate::state::cluster::{ClusterState, Source};
use crate::state::snapshot::Snapshot;
use crate::storage::OsRandom;
use crate::storage::cloud::{CloudError, Ensured, Mode};
use anyhow::{Context, Result, anyhow};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub dry_run: Option<DryRun>,
    /// Storage may be deleted when the registry is Removed.
    pub storage_deletion_confirmed: bool,
    /// Images named on the command line (else the release's, from the operator Deployment).
    pub images: Images,
    /// The caller removes the Config's finalizer once a teardown is complete (kube-runtime's
    /// finalizer helper does, in `--watch`); else the pass does.
    pub finalizer_removed_by_caller: bool,
}

/// What a pass did.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub management_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Bootstrapped>,
    /// Spec fields filled in (named, never their values).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub completed: Vec<String>,
    pub objects: Vec<Applied>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_note: Option<String>,
    pub conditions: Vec<Condition>,
    /// Whether every object is as rendered and nothing failed.
    pub converged: bool,
}

impl Report {
    pub fn writes(&self) -> usize {
        self.objects
            .iter()
            .filter(|a| a.outcome.is_some_and(Outcome::is_write))
            .count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Removing the registry would destroy data, and that was not confirmed.
    #[error("{}", .0.description)]
    NeedsConfirmation(StorageLoss),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<kube::Error> for ReconcileError {
    fn from(e: kube::Error) -> Self {
        ReconcileError::Other(e.into())
    }
}

pub struct Engine<'a> {
    applier: Applier,
    policies: &'a Policies,
    options: Options,
}

const MAX_CONFLICT_RETRIES: usize = 5;

impl<'a> Engine<'a> {
    pub fn new(applier: Applier, policies: &'a Policies, options: Options) -> Engine<'a> {
        Engine {
            applier,
            policies,
            options,
        }
    }

    fn client(&self) -> kube::Client {
        self.applier.client().clone()
    }

    fn writes_status(&self) -> bool {
        self.options.dry_run.is_none()
    }

    fn describe(&self, e: &kube::Error) -> anyhow::Error {
        anyhow!(self.applier.describe(e))
    }

    /// What a pass reads besides the base reads: every object in the registry's namespace of
    /// each kind it writes, and the objects it writes elsewhere, by name.
    pub fn sources() -> Vec<Source> {
        let mut sources: Vec<Source> = Kind::ALL
            .into_iter()
            .filter(|k| k.namespaced())
            .map(|k| Source::in_registry_namespace(&k.api_resource()))
            .collect();
        sources.extend(
            render::OUTSIDE_REGISTRY_NAMESPACE
                .iter()
                .map(|(kind, namespace, name)| Source::object(&kind.api_resource(), *namespace, name)),
        );
        sources
    }

    /// Everything a pass reads, in one round of requests.
    pub async fn read_state(&self) -> Result<ClusterState> {
        ClusterState::read(&self.client(), &Self::sources()).await
    }

    /// Reads the cluster, bootstraps if needed, then reconciles once.
    pub async fn reconcile(&self) -> Result<Report, ReconcileError> {
        let state = self.read_state().await?;
        Box::pin(self.reconcile_with(&state)).await
    }

    /// Bootstraps if needed, then reconciles once, from `state`: every read the pass needs is in
    /// it, so that the pass itself sends only writes.
    pub async fn reconcile_with(&self, state: &ClusterState) -> Result<Report, ReconcileError> {
        let missing = bootstrap::decide(state, self.policies).await?;
        let existing = state.config()?;
        let config = existing
            .clone()
            .or_else(|| missing.config.clone())
            .context("the Config neither exists nor was decided")?;
        let booted = &missing.report;
        let mut report = Report {
            management_state: config
                .spec
                .management_state
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            ..Report::default()
        };
        // What the Config held before this pass: its conditions (a new one starts with what is
        // missing) and the configuration observed.
        let mut before = Before {
            conditions: previous_conditions(&config),
            pruner: state.pruner()?,
        };
        if existing.is_none() {
            before.conditions.extend(missing.first_conditions());
        }
        let observed_before = existing.as_ref().and_then(|c| c.spec.observed_config.clone());
        if config.metadata.deletion_timestamp.is_some() {
            let removed = Box::pin(self.removed(state, &config, &before, &mut report, true)).await?;
            self.finish(&report, removed, &before.conditions, &[]).await?;
            return Ok(report);
        }
        let (config, created) =
            Box::pin(self.settle_config(state, config, existing.is_none(), &missing, &mut report)).await?;
        // What bootstrapping created is there for the rest of the pass.
        let state = &state.updated(&created.stored);
        before.pruner = before.pruner.or(created.pruner);
        if booted.config_created || booted.pruner_created || booted.claim_created.is_some() {
            report.bootstrap = Some(missing.report);
        }
        let observed = events::of_observed(observed_before.as_ref(), config.spec.observed_config.as_ref());
        let statuses = match config.spec.management_state.clone() {
            // Boxed: a pass's future is large, and the caller's stack may not be.
            Some(ManagementState::Managed) => Box::pin(self.managed(state, config, &before, &mut report)).await?,
            Some(ManagementState::Removed) => {
                Box::pin(self.removed(state, &config, &before, &mut report, false)).await?
            }
            Some(ManagementState::Unmanaged) => Box::pin(self.unmanaged(state, &config, &before, &mut report)).await?,
            other => {
                let other = other.as_ref().map_or("", |s| s.as_str());
                report.problems.push(format!(
                    "unknown managementState {other:?}: nothing was changed; set Managed, Removed or Unmanaged"
                ));
                Statuses::default()
            }
        };
        self.finish(&report, statuses, &before.conditions, &observed).await?;
        Ok(report)
    }

    /// The last writes of a pass, at once: the statuses, and events saying what the pass did
    /// (not for dry runs, which did nothing). Then, once a teardown is complete, the finalizer.
    async fn finish(
        &self,
        report: &Report,
        statuses: Statuses,
        conditions_before: &[Condition],
        observed: &[events::Note],
    ) -> Result<()> {
        let record = async {
            if !self.writes_status() {
                return;
            }
            let mut notes = observed.to_vec();
            notes.extend(report.objects.iter().filter_map(events::of_applied));
            notes.extend(events::of_conditions(conditions_before, &report.conditions));
            events::record(&self.client(), &notes).await;
        };
        let finalize = statuses.drop_finalizer;
        let (sent, ()) = tokio::join!(self.send(statuses), record);
        sent?;
        if finalize {
            self.drop_finalizer().await?;
        }
        Ok(())
    }

    /// What a pass would change, without changing anything: the Config before and after
    /// completion, the objects to apply and those to delete.
    pub async fn preview(&self) -> Result<Preview, ReconcileError> {
        let state = self.read_state().await?;
        let missing = bootstrap::decide(&state, self.policies).await?;
        let before = state.config()?;
        let config = before
            .clone()
            .or_else(|| missing.config.clone())
            .context("the Config neither exists nor was decided")?;
        let mut config = self.with_observed_tls(&state, config)?;
        let mut report = Report::default();
        let mut preview = Preview {
            before: before.map(|c| serde_json::to_value(c).unwrap_or_default()),
            after: None,
            apply: Vec::new(),
            delete: Vec::new(),
            problems: Vec::new(),
        };
        match config.spec.management_state {
            Some(ManagementState::Managed) => {
                let original = config.clone();
                self.complete_spec(&state, &original, &mut config, &mut report).await?;
                let Planned { config, plan, .. } = self.plan(&state, config, &mut report).await?;
                preview.after = Some(serde_json::to_value(&config).unwrap_or_default());
                preview.apply = plan.objects;
                preview.delete = plan.stale;
                preview.problems = plan.problems;
            }
            _ => {
                let (inputs, _) = self.inputs(&state, &config)?;
                let kept = plan::kept_trust(&inputs);
                preview.after = Some(serde_json::to_value(&config).unwrap_or_default());
                preview.apply = kept.objects;
                preview.problems = kept.problems;
                if config.spec.management_state == Some(ManagementState::Removed) {
                    let routes = state.owned_routes()?;
                    preview.delete = teardown::OWNED
                        .iter()
                        .map(|(k, n)| (*k, n.to_string()))
                        .chain(teardown::route_names(&routes).into_iter().map(|r| (Kind::Route, r)))
                        .collect();
                    let live = teardown::claim_in(&state, &config)?;
                    if let Ok(Some(loss)) = teardown::storage_loss(&config, live.as_ref())
                        && let Some(claim) = loss.claim
                    {
                        preview.delete.push((Kind::PersistentVolumeClaim, claim));
                    }
                }
            }
        }
        Ok(preview)
    }

    /// What `config` is rendered from, out of `state`: the objects it names, and the rendering
    /// inputs made of them.
    fn inputs(&self, state: &ClusterState, config: &Config) -> Result<(Inputs, Snapshot)> {
        let snapshot = state.snapshot(&referenced(&config.spec))?;
        let inputs = Inputs::from_snapshot(config.clone(), &snapshot, self.options.images.clone());
        Ok((inputs, snapshot))
    }

    /// `config` with the cluster's TLS security profile observed into
    /// `spec.observedConfig.servingInfo`, which the registry serves with, in every management
    /// state; nothing written.
    fn with_observed_tls(&self, state: &ClusterState, mut config: Config) -> Result<Config> {
        let profile = match state.api_server()? {
            // Without the APIServer config the cluster serves the default (Intermediate).
            Ok(server) => server.and_then(|s| s.spec.tls_security_profile),
            // Unreadable is not "unset": what was observed stands.
            Err(_) => return Ok(config),
        };
        config.spec.observed_config = Some(observe::observed_config(
            config.spec.observed_config.as_ref(),
            profile.as_ref(),
        ));
        Ok(config)
    }

    /// The Config as this pass leaves it, written once: the TLS profile observed and, when
    /// Managed, the finalizer and the spec completed. A new Config is created so (with what else
    /// bootstrapping found missing); a changed one is replaced (on a conflict, read again and
    /// redone, so that a concurrent edit is never overwritten).
    async fn settle_config(
        &self,
        state: &ClusterState,
        config: Config,
        new: bool,
        missing: &bootstrap::ToCreate,
        report: &mut Report,
    ) -> Result<(Config, bootstrap::Created)> {
        let settled = self.settled(state, &config, report).await?;
        if new {
            let mut created = missing
                .create(&self.applier, self.policies, state, Some(&settled))
                .await?;
            return Ok((created.config.take().unwrap_or(settled), created));
        }
        let replace = async {
            let (mut config, mut settled) = (config, settled);
            let configs = Api::<Config>::all(self.client());
            let post = PostParams {
                field_manager: Some(crate::cluster::FIELD_MANAGER.into()),
                ..PostParams::default()
            };
            for _ in 0..MAX_CONFLICT_RETRIES {
                let unchanged =
                    settled.spec == config.spec && settled.metadata.finalizers == config.metadata.finalizers;
                if unchanged || !self.writes_status() {
                    return Ok(settled);
                }
                match retry(|| configs.replace(CLUSTER, &post, &settled)).await {
                    Ok(written) => return Ok(written),
                    Err(e) if is_conflict(&e) => {
                        config = retry(|| configs.get(CLUSTER)).await.map_err(|e| self.describe(&e))?;
                        settled = self.settled(state, &config, &mut Report::default()).await?;
                    }
                    Err(e) => return Err(self.describe(&e)).context("writing the completed Config"),
                }
            }
            Err(anyhow!(
                "the Config kept changing while it was being completed; try again"
            ))
        };
        let (created, written) = tokio::join!(missing.create(&self.applier, self.policies, state, None), replace);
        Ok((written?, created?))
    }

    /// `config` as this pass leaves it, nothing written: the TLS profile observed and, when
    /// Managed, completed (what was filled in is named in `report`).
    async fn settled(&self, state: &ClusterState, config: &Config, report: &mut Report) -> Result<Config> {
        let mut next = self.with_observed_tls(state, config.clone())?;
        if next.spec.management_state == Some(ManagementState::Managed) {
            self.complete_spec(state, config, &mut next, report).await?;
        }
        Ok(next)
    }

    /// Ensures the finalizer and completes the spec of `next` (which was `config`): the
    /// generated secret, and the storage the storage policy decides when there is none.
    async fn complete_spec(
        &self,
        state: &ClusterState,
        config: &Config,
        next: &mut Config,
        report: &mut Report,
    ) -> Result<()> {
        let infra = state
            .infrastructure()?
            .context("reading infrastructures.config.openshift.io/cluster: it does not exist")?;
        let finalizers = next.metadata.finalizers.get_or_insert_with(Vec::new);
        if !finalizers.iter().any(|f| f == FINALIZER) {
            finalizers.push(FINALIZER.into());
        }
        let platform_storage = if next
            .spec
            .storage
            .as_ref()
            .is_none_or(|s| crate::storage::block_names(s).is_empty())
        {
            let decided = self
                .policies
                .storage(&crate::storage::hook_input(state, Some(config)).await?)?;
            Some(serde_json::from_value::<Storage>(decided.decision.storage).context("the storage decision")?)
        } else {
            None
        };
        let done = complete(next, &infra, platform_storage.as_ref(), &mut OsRandom)?;
        super::bootstrap::refuse_invalid(
            Some(&config.spec),
            &next.spec,
            "completing the Config (the storage policy, the platform's names)",
        )?;
        report.completed.clear();
        if done.generated_http_secret {
            report.completed.push("spec.httpSecret (generated)".into());
        }
        if done.filled_storage {
            report.completed.push("spec.storage".into());
        }
        if next.metadata.finalizers != config.metadata.finalizers {
            report.completed.push(format!("metadata.finalizers ({FINALIZER})"));
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------- Managed

    /// Everything a Managed pass would write, from the completed `config` and `state`: what it is
    /// rendered from, the storage in its cloud made to exist, and the plan (the objects, the
    /// owned objects no longer wanted, what cannot be rendered).
    pub async fn plan(&self, state: &ClusterState, config: Config, report: &mut Report) -> Result<Planned> {
        let (inputs, snapshot) = self.inputs(state, &config)?;
        let storage = self.ensure_storage(state, &config, &inputs).await?;
        Ok(self.plan_with(config, inputs, &snapshot, storage, None, report))
    }

    /// The Config's storage made to exist in its cloud as the storage policy decides (`None`
    /// when it is in no cloud, or holds values nobody checked: those never reach the cloud).
    async fn ensure_storage(&self, state: &ClusterState, config: &Config, inputs: &Inputs) -> Result<Option<Ensured>> {
        let checked = crate::configure::checks::value_errors(&config.spec).is_empty();
        let Some(cloud) = provision::cloud_of(config.spec.storage.as_ref()).filter(|_| checked) else {
            return Ok(None);
        };
        let mode = if self.options.dry_run.is_some() {
            Mode::DryRun
        } else {
            Mode::Apply
        };
        let before = config.spec.storage.clone().unwrap_or_default();
        // The storage policy decides how the bucket is set up; the decision is checked like any
        // input before a single call.
        let decided = self
            .policies
            .storage(&crate::storage::hook_input(state, Some(config)).await?)?;
        let provisioning = decided
            .decision
            .provisioning
            .clone()
            .unwrap_or_else(|| provision::operator_default(&before));
        Ok(Some(match crate::validate::provisioning(&provisioning) {
            Ok(()) => {
                let context = provision::context(inputs, &provisioning);
                cloud.ensure(&before, context, mode).await
            }
            Err((field, why)) => provision::refused(&before, &decided.module, &field, &why),
        }))
    }

    /// The plan of a Managed pass from the completed `config`, what it is rendered from, and its
    /// storage as ensured (what that changed in the Config is named in `report`). `rendered` is
    /// the plan already made from `inputs` as given: it stands unless ensuring the storage
    /// changed them.
    fn plan_with(
        &self,
        mut config: Config,
        mut inputs: Inputs,
        snapshot: &Snapshot,
        storage: Option<Ensured>,
        rendered: Option<Plan>,
        report: &mut Report,
    ) -> Planned {
        let mut storage_change = None;
        let mut inputs_changed = false;
        if let Some(ensured) = &storage {
            let before = config.spec.storage.clone().unwrap_or_default();
            if ensured.storage != before {
                config.spec.storage = Some(ensured.storage.clone());
                inputs.config = config.clone();
                report.completed.push("spec.storage (as the storage was found)".into());
                storage_change = Some((before, ensured.storage.clone()));
                inputs_changed = true;
            }
            // Keys the cloud issued this pass are what the registry gets.
            if ensured.issued.is_some() {
                inputs.credentials.issued = ensured.issued.clone();
                inputs_changed = true;
            }
            if let Some(created) = &ensured.created {
                report
                    .objects
                    .push(Applied::storage(created.clone(), Some(Outcome::Created), None));
            }
        }
        let mut plan = match rendered.filter(|_| !inputs_changed) {
            Some(plan) => plan,
            None => plan::managed(&inputs, snapshot, self.policies),
        };
        if let Some(problem) = storage.as_ref().and_then(provision::missing_storage) {
            plan.storage_ok = false;
            plan.objects.retain(|d| d.kind != Kind::Deployment);
            plan.problems.push(problem);
        }
        Planned {
            config,
            inputs,
            plan,
            storage,
            storage_change,
        }
    }

    /// Writes what ensuring the storage decided (its management state, `encrypt`) as a merge patch
    /// of just those fields, so that nothing else anyone changed meanwhile is overwritten.
    async fn write_storage(&self, change: Option<&(Storage, Storage)>) -> Result<Option<Config>> {
        let Some((before, after)) = change.filter(|_| self.writes_status()) else {
            return Ok(None);
        };
        let changes = merge_patch_between(
            &serde_json::to_value(before).unwrap_or_default(),
            &serde_json::to_value(after).unwrap_or_default(),
        );
        let patch = json!({"spec": {"storage": changes}});
        let configs = Api::<Config>::all(self.client());
        let (params, patch) = (status_params(), Patch::Merge(&patch));
        retry(|| configs.patch(CLUSTER, &params, &patch))
            .await
            .map(Some)
            .map_err(|e| self.describe(&e))
            .context("writing what the storage was found to be into the Config")
    }

    async fn managed(
        &self,
        state: &ClusterState,
        config: Config,
        before: &Before,
        report: &mut Report,
    ) -> Result<Statuses> {
        // While the storage is ensured in its cloud, what the workloads use is applied as the
        // Config as read renders it, and the owned objects no longer wanted are deleted: ensuring
        // the storage changes neither those objects nor which are wanted, and anything it did
        // change is applied again below, before the workloads.
        let (inputs, snapshot) = self.inputs(state, &config)?;
        let early = plan::managed(&inputs, &snapshot, self.policies);
        let (_, early_first) = workloads_apart(early.objects.clone());
        let deletions = early
            .stale
            .iter()
            .map(|(kind, name)| self.applier.delete_reported(state, *kind, name));
        let (storage, mut applied, deleted) = tokio::join!(
            self.ensure_storage(state, &config, &inputs),
            self.applier.apply_all(&early_first, state),
            futures::future::join_all(deletions),
        );
        let Planned {
            config,
            inputs,
            plan:
                Plan {
                    objects,
                    stale,
                    mut problems,
                    storage_ok,
                    pruner,
                    pruner_error,
                },
            storage,
            storage_change,
        } = self.plan_with(config, inputs, &snapshot, storage?, Some(early), report);
        let (later, first) = workloads_apart(objects);
        let again: Vec<Desired> = first.into_iter().filter(|d| !early_first.contains(d)).collect();
        if !again.is_empty() {
            let redone = self.applier.apply_all(&again, state).await;
            applied.retain(|a| !redone.iter().any(|r| r.object == a.object));
            applied.extend(redone);
        }
        // Then the workloads, with what ensuring the storage found written into the Config.
        let (workloads, written) = tokio::join!(
            self.applier.apply_all(&later, state),
            self.write_storage(storage_change.as_ref()),
        );
        let config = written?.unwrap_or(config);
        report.objects.extend(applied);
        report.objects.extend(workloads);
        report.objects.extend(deleted);

        for failure in report.objects.iter().filter_map(|a| a.error.clone()) {
            problems.push(Problem::new("Error", failure));
        }
        if let Some(e) = &pruner_error {
            report.problems.push(format!("pruner: {e}"));
        }
        report.problems.extend(problems.iter().map(|p| p.message.clone()));

        // The registry as this pass left it: what it wrote, as stored; the rest as read.
        let routes: Vec<Route> = as_left(&report.objects, state.owned_routes()?)
            .into_iter()
            .filter(|r| {
                !stale
                    .iter()
                    .any(|(k, n)| *k == Kind::Route && r.metadata.name.as_ref() == Some(n))
            })
            .collect();
        let deployment = as_left(&report.objects, state.deployment()?.into_iter().collect())
            .into_iter()
            .find(|d: &Deployment| d.metadata.name.as_deref() == Some(render::DEPLOYMENT));
        let cronjob_exists = state.pruner_cronjob_exists() || wrote(&report.objects, Kind::CronJob, render::CRONJOB);
        let service_exists = state.service()?.is_some() || wrote(&report.objects, Kind::Service, render::DEPLOYMENT);
        let facts = RegistryFacts {
            management_state: ManagementState::Managed,
            problems: &problems,
            deployment: deployment.as_ref(),
            routes: &routes,
            remove_failures: &[],
            previous: &before.conditions,
            now: jiff::Timestamp::now(),
        };
        let mut fresh = conditions::registry_conditions(&facts);
        match &storage {
            Some(ensured) => fresh.extend(provision::conditions(ensured)),
            None => fresh.extend(storage_conditions(&inputs, &problems, storage_ok)),
        }
        let mut status = config.status.clone().unwrap_or_default();
        if storage_ok {
            status.storage = config.spec.storage.clone().unwrap_or_default();
        }
        status.storage_managed =
            config.spec.storage.as_ref().and_then(|s| s.management_state.as_ref()) == Some(&ManagementState::Managed);
        status.ready_replicas = Some(
            deployment
                .as_ref()
                .and_then(|d| d.status.as_ref()?.ready_replicas)
                .unwrap_or(0),
        );
        let (conditions, config_status) = config_status(&config, &before.conditions, status, fresh);
        report.conditions = conditions;
        let (pruner_status, operator_status) = pruner_and_operator_status(
            state,
            before.pruner.as_ref(),
            &report.conditions,
            pruner.as_ref(),
            pruner_error.as_deref(),
            cronjob_exists,
        )?;
        report.converged = problems.is_empty() && report.problems.is_empty();
        Ok(Statuses {
            config: config_status,
            image: image_status(state, &routes, service_exists)?,
            pruner: pruner_status,
            operator: operator_status,
            drop_finalizer: false,
        })
    }

    // ------------------------------------------------------------------------------- Removed

    async fn removed(
        &self,
        state: &ClusterState,
        config: &Config,
        before: &Before,
        report: &mut Report,
        finalizing: bool,
    ) -> Result<Statuses, ReconcileError> {
        let claim = teardown::claim_in(state, config)?;
        let mut loss = match teardown::storage_loss(config, claim.as_ref()) {
            Ok(loss) => loss,
            Err(note) => {
                report.storage_note = Some(note);
                None
            }
        };
        let (inputs, snapshot) = self.inputs(state, config)?;
        // What the cloud holds says what is lost: nothing when the bucket is gone already.
        let storage = config.status.as_ref().map(|s| s.storage.clone()).unwrap_or_default();
        let inspection = match loss.as_ref().and_then(|l| l.cloud.as_ref()) {
            Some(_) => Some(match provision::cloud_of(Some(&storage)) {
                Some(cloud) => cloud.inspect(&storage, provision::reading_context(&inputs)).await,
                None => Err(CloudError {
                    code: "NoCloud".into(),
                    message: "the applied storage has no cloud to ask".into(),
                }),
            }),
            None => None,
        };
        if let (Some(l), Some(inspection)) = (loss.as_mut(), inspection.as_ref()) {
            let what = l.cloud.clone().unwrap_or_default();
            match inspection {
                Ok(i) if !i.exists => {
                    report.storage_note = Some(format!("the {what} no longer exists: nothing to delete"));
                    loss = None;
                }
                Ok(i) => {
                    let resumed = i
                        .removal_started
                        .as_ref()
                        .map(|t| format!(" (finishing a removal begun at {t})"))
                        .unwrap_or_default();
                    l.description = format!("the {what} and {} will be deleted{resumed}", i.contents());
                }
                Err(e) => l.description = format!("{} (its contents cannot be counted: {e})", l.description),
            }
        }
        if let Some(loss) = &loss
            && !self.options.storage_deletion_confirmed
            && self.options.dry_run.is_none()
        {
            return Err(ReconcileError::NeedsConfirmation(loss.clone()));
        }
        let names = teardown::route_names(&state.owned_routes()?);
        // What outlives a Removed registry is kept beside the teardown.
        let kept = self.kept(&inputs, &snapshot);
        let (mut results, kept_applied) = tokio::join!(
            teardown::remove_objects(&self.applier, state, &names),
            self.applier.apply_all(&kept.objects, state),
        );
        let objects_gone = teardown::complete(&results);
        if objects_gone && let Some(loss) = &loss {
            // Only once nothing uses it any more.
            results.extend(teardown::remove_storage(&self.applier, state, loss).await);
            if let Some(what) = &loss.cloud {
                results.push(self.remove_cloud_storage(what, &storage, &inputs).await);
            }
        } else if let Some(loss) = &loss {
            report.storage_note = Some(format!(
                "{} — not yet: the registry's objects are not all deleted",
                loss.description
            ));
        }
        let failures: Vec<String> = results.iter().filter_map(|r| r.error.clone()).collect();
        let kept_failure = kept_applied.iter().find_map(|a| a.error.clone());
        report.problems.extend(failures.iter().cloned());
        report.problems.extend(kept.problems.iter().cloned());
        report.objects = results;
        report.objects.extend(kept_applied);

        let facts = RegistryFacts {
            management_state: ManagementState::Removed,
            problems: &[],
            // Its Deployment is deleted (or going) by now.
            deployment: None,
            routes: &[],
            remove_failures: &failures,
            previous: &before.conditions,
            now: jiff::Timestamp::now(),
        };
        let fresh = conditions::registry_conditions(&facts);
        let mut status = config.status.clone().unwrap_or_default();
        if failures.is_empty() {
            status.storage = Storage::default();
        }
        status.storage_managed = false;
        status.ready_replicas = Some(0);
        let (conditions, config_status) = config_status(config, &before.conditions, status, fresh);
        report.conditions = conditions;
        let pruner_error = kept.pruner_error.clone().or(kept_failure);
        let cronjob_exists = state.pruner_cronjob_exists() || wrote(&report.objects, Kind::CronJob, render::CRONJOB);
        let (pruner_status, operator_status) = pruner_and_operator_status(
            state,
            before.pruner.as_ref(),
            &report.conditions,
            kept.pruner.as_ref(),
            pruner_error.as_deref(),
            cronjob_exists,
        )?;
        report.converged = failures.is_empty() && pruner_error.is_none() && report.problems.is_empty();
        Ok(Statuses {
            config: config_status,
            // No Service and no Routes once Removed.
            image: image_status(state, &[], false)?,
            pruner: pruner_status,
            operator: operator_status,
            drop_finalizer: finalizing
                && failures.is_empty()
                && self.writes_status()
                && !self.options.finalizer_removed_by_caller,
        })
    }

    /// What outlives a registry that is not Managed, as the operator's side controllers keep it:
    /// the trust objects (CA ConfigMaps, node-ca) and the pruner's objects (it prunes image
    /// metadata without the registry).
    fn kept(&self, inputs: &Inputs, snapshot: &Snapshot) -> Kept {
        let trust = plan::kept_trust(inputs);
        let mut kept = Kept {
            objects: trust.objects,
            problems: trust.problems.into_iter().map(|p| p.message).collect(),
            pruner: None,
            pruner_error: None,
        };
        let (decision, objects) = plan::pruner(inputs, snapshot, self.policies, None);
        kept.pruner = decision;
        match objects {
            Ok(objects) => kept.objects.extend(objects),
            Err(e) => kept.pruner_error = Some(e),
        }
        kept
    }

    /// Deletes the bucket (everything in it first), reported as an object.
    async fn remove_cloud_storage(&self, what: &str, storage: &Storage, inputs: &Inputs) -> Applied {
        let Some(cloud) = provision::cloud_of(Some(storage)) else {
            return Applied::storage(
                what.to_string(),
                None,
                Some(format!("failed to delete the {what}: its driver has no cloud calls")),
            );
        };
        if self.options.dry_run.is_some() {
            return Applied::storage(what.to_string(), Some(Outcome::Deleted), None);
        }
        match cloud.remove(storage, provision::reading_context(inputs)).await {
            Ok(removed) => Applied::storage(
                if removed.resumed {
                    format!("{what} (an interrupted removal finished, {} objects)", removed.objects)
                } else {
                    format!("{what} ({} objects)", removed.objects)
                },
                Some(Outcome::Deleted),
                None,
            ),
            Err(e) => Applied::storage(
                what.to_string(),
                None,
                Some(format!("failed to delete the {what}: {e}")),
            ),
        }
    }

    async fn drop_finalizer(&self) -> Result<()> {
        let configs = Api::<Config>::all(self.client());
        for _ in 0..MAX_CONFLICT_RETRIES {
            let mut config = retry(|| configs.get(CLUSTER)).await.map_err(|e| self.describe(&e))?;
            let Some(f) = config.metadata.finalizers.as_mut() else {
                return Ok(());
            };
            f.retain(|f| f != FINALIZER);
            let post = PostParams::default();
            match retry(|| configs.replace(CLUSTER, &post, &config)).await {
                Ok(_) => return Ok(()),
                Err(e) if is_conflict(&e) => continue,
                Err(e) if crate::cluster::is_not_found(&e) => return Ok(()),
                Err(e) => return Err(self.describe(&e)).context("removing the Config's finalizer"),
            }
        }
        Err(anyhow!(
            "the Config kept changing while its finalizer was being removed"
        ))
    }

    // ----------------------------------------------------------------------------- Unmanaged

    async fn unmanaged(
        &self,
        state: &ClusterState,
        config: &Config,
        before: &Before,
        report: &mut Report,
    ) -> Result<Statuses> {
        let deployment = state.deployment()?;
        let facts = RegistryFacts {
            management_state: ManagementState::Unmanaged,
            problems: &[],
            deployment: deployment.as_ref(),
            routes: &[],
            remove_failures: &[],
            previous: &before.conditions,
            now: jiff::Timestamp::now(),
        };
        let fresh = conditions::registry_conditions(&facts);
        let mut status = config.status.clone().unwrap_or_default();
        status.ready_replicas = Some(
            deployment
                .as_ref()
                .and_then(|d| d.status.as_ref()?.ready_replicas)
                .unwrap_or(0),
        );
        let (conditions, config_status) = config_status(config, &before.conditions, status, fresh);
        report.conditions = conditions;
        // Unmanaged leaves the registry alone, not the trust every node needs; the pruner's
        // objects are left as they are.
        let (inputs, snapshot) = self.inputs(state, config)?;
        let trust = plan::kept_trust(&inputs);
        report.problems.extend(trust.problems.into_iter().map(|p| p.message));
        let applied = self.applier.apply_all(&trust.objects, state).await;
        report.problems.extend(applied.iter().filter_map(|a| a.error.clone()));
        report.objects.extend(applied);
        let (pruner, _) = plan::pruner(&inputs, &snapshot, self.policies, None);
        let (pruner_status, operator_status) = pruner_and_operator_status(
            state,
            before.pruner.as_ref(),
            &report.conditions,
            pruner.as_ref(),
            None,
            state.pruner_cronjob_exists(),
        )?;
        report.converged = report.problems.is_empty();
        Ok(Statuses {
            config: config_status,
            image: None,
            pruner: pruner_status,
            operator: operator_status,
            drop_finalizer: false,
        })
    }

    // -------------------------------------------------------------------------------- status

    /// Sends the status writes a pass decided, at once (none in a dry run).
    async fn send(&self, statuses: Statuses) -> Result<()> {
        if !self.writes_status() {
            return Ok(());
        }
        let (config, image, pruner, operator) = tokio::join!(
            self.patch_status::<Config>(CLUSTER, statuses.config, "the Config's status"),
            self.patch_status::<Image>(CLUSTER, statuses.image, "images.config.openshift.io/cluster status"),
            self.patch_status::<ImagePruner>(CLUSTER, statuses.pruner, "the ImagePruner's status"),
            self.patch_status::<ClusterOperator>(
                render::DEPLOYMENT,
                statuses.operator,
                "the image-registry ClusterOperator's status"
            ),
        );
        config.and(image).and(pruner).and(operator)
    }

    async fn patch_status<K>(&self, name: &str, patch: Option<Value>, what: &str) -> Result<()>
    where
        K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let Some(patch) = patch else {
            return Ok(());
        };
        let api = Api::<K>::all(self.client());
        let (params, patch) = (status_params(), Patch::Merge(&patch));
        retry(|| api.patch_status(name, &params, &patch))
            .await
            .map_err(|e| self.describe(&e))
            .with_context(|| format!("writing {what}"))?;
        Ok(())
    }
}

/// What held before the pass's own writes: the Config's conditions (a new one starts with what is
/// missing) and the ImagePruner (as created, when the pass created it).
struct Before {
    conditions: Vec<Condition>,
    pruner: Option<ImagePruner>,
}

/// The status writes a pass decided (`None`: already as it should be), and whether the
/// finalizer goes once they are written.
#[derive(Debug, Default)]
struct Statuses {
    config: Option<Value>,
    image: Option<Value>,
    pruner: Option<Value>,
    operator: Option<Value>,
    drop_finalizer: bool,
}

/// What a registry that is not Managed keeps, and the pruner's decision.
struct Kept {
    objects: Vec<Desired>,
    problems: Vec<String>,
    pruner: Option<PrunerDecision>,
    pruner_error: Option<String>,
}

/// The objects of one kind as a pass left them: those it wrote, as the server stored them, and
/// the others as `read`.
fn as_left<K: kube::Resource<DynamicType = ()> + serde::de::DeserializeOwned>(
    applied: &[Applied],
    read: Vec<K>,
) -> Vec<K> {
    let kind = K::kind(&());
    let written: Vec<K> = applied
        .iter()
        .filter_map(|a| a.stored.as_ref())
        .filter(|v| v.get("kind").and_then(Value::as_str) == Some(&*kind))
        .filter_map(|v| serde_json::from_value(v.clone()).ok())
        .collect();
    let mut out: Vec<K> = read
        .into_iter()
        .filter(|r| !written.iter().any(|w| w.meta().name == r.meta().name))
        .collect();
    out.extend(written);
    out
}

/// Whether the pass wrote the object.
fn wrote(applied: &[Applied], kind: Kind, name: &str) -> bool {
    applied.iter().any(|a| {
        a.object == format!("{}/{name}", kind.resource())
            && a.outcome
                .is_some_and(|o| matches!(o, Outcome::Created | Outcome::Configured | Outcome::Unchanged))
    })
}

/// The Config's status as the pass leaves it: the conditions in effect, and the patch to write
/// them (`None` when it holds them already).
fn config_status(
    config: &Config,
    previous: &[Condition],
    mut status: ConfigStatus,
    fresh: Vec<Condition>,
) -> (Vec<Condition>, Option<Value>) {
    status.conditions = conditions::merge(previous, fresh, jiff::Timestamp::now());
    status.observed_generation = config.metadata.generation;
    let unchanged = config.status.as_ref().is_some_and(|s| {
        conditions::same(&s.conditions, &status.conditions)
            && s.observed_generation == status.observed_generation
            && s.ready_replicas == status.ready_replicas
            && s.storage == status.storage
            && s.storage_managed == status.storage_managed
    });
    if unchanged {
        return (status.conditions, None);
    }
    let patch = json!({"status": {
        "conditions": status.conditions,
        "observedGeneration": status.observed_generation,
        "readyReplicas": status.ready_replicas,
        "storage": merge_patch_between(
            &serde_json::to_value(config.status.as_ref().map(|s| &s.storage)).unwrap_or_default(),
            &serde_json::to_value(&status.storage).unwrap_or_default(),
        ),
        "storageManaged": status.storage_managed,
    }});
    (status.conditions, Some(patch))
}

/// `images.config.openshift.io/cluster` status as the pass leaves it: the internal hostname
/// while the Service exists, the owned Routes' admitted hosts (default route first), and how
/// image streams import manifest lists. `None` when it holds that already.
fn image_status(state: &ClusterState, routes: &[Route], service_exists: bool) -> Result<Option<Value>> {
    let Some(image) = state.image()? else {
        return Ok(None);
    };
    let internal = if service_exists {
        render::SERVICE_HOST.to_string()
    } else {
        String::new()
    };
    let mut external: Vec<String> = routes
        .iter()
        .flat_map(|r| r.status.iter().flat_map(|s| s.ingress.iter()))
        .filter_map(|i| i.host.clone())
        .filter(|h| !h.is_empty())
        .collect();
    external.sort();
    external.dedup();
    external.sort_by_key(|h| !h.starts_with("default-route-openshift-image-registry"));
    // Unreadable: the payload type is unknown, so the mode is left as it is.
    let architecture = state
        .cluster_version()?
        .ok()
        .map(|version| version.and_then(|v| v.status?.desired?.architecture));
    let mode = architecture.map(|a| observe::import_mode(image.spec.image_stream_import_mode.as_deref(), a.as_deref()));
    let status = image.status.clone().unwrap_or_default();
    if status.internal_registry_hostname.clone().unwrap_or_default() == internal
        && status.external_registry_hostnames.clone().unwrap_or_default() == external
        && mode
            .as_ref()
            .is_none_or(|m| status.image_stream_import_mode.as_ref() == Some(m))
    {
        return Ok(None);
    }
    let mut patch = json!({"status": {"internalRegistryHostname": internal, "externalRegistryHostnames": external}});
    if let Some(mode) = mode {
        patch["status"]["imageStreamImportMode"] = json!(mode);
    }
    Ok(Some(patch))
}

/// The ImagePruner's and the ClusterOperator's status as the pass leaves them; `None` for each
/// that holds it already.
fn pruner_and_operator_status(
    state: &ClusterState,
    pruner: Option<&ImagePruner>,
    registry: &[Condition],
    decision: Option<&PrunerDecision>,
    sync_error: Option<&str>,
    cronjob_exists: bool,
) -> Result<(Option<Value>, Option<Value>)> {
    let mut pruner_conditions = Vec::new();
    let mut pruner_status = None;
    if let Some(pruner) = pruner {
        let suspended = decision.map_or(pruner.spec.suspend.unwrap_or(false), |d| d.suspend);
        let jobs = state.pruner_jobs()?;
        let fresh = conditions::pruner_conditions(cronjob_exists, suspended, &jobs, sync_error);
        let previous = pruner.status.clone().unwrap_or_default();
        let merged = conditions::merge(&previous.conditions, fresh, jiff::Timestamp::now());
        if !conditions::same(&previous.conditions, &merged)
            || previous.observed_generation != pruner.metadata.generation
        {
            pruner_status =
                Some(json!({"status": {"conditions": merged, "observedGeneration": pruner.metadata.generation}}));
        }
        pruner_conditions = merged;
    }
    let Some(co) = state.cluster_operator()? else {
        return Ok((pruner_status, None));
    };
    let fresh = conditions::cluster_operator_conditions(registry, &pruner_conditions);
    let previous = co.status.clone().unwrap_or_default();
    let merged = conditions::merge(&previous.conditions, fresh, jiff::Timestamp::now());
    let related = related_objects();
    let current_related = serde_json::to_value(&previous.related_objects).unwrap_or_default();
    let operator_status = (!conditions::same(&previous.conditions, &merged) || current_related != related)
        .then(|| json!({"status": {"conditions": merged, "relatedObjects": related}}));
    Ok((pruner_status, operator_status))
}

/// What a Managed pass works from.
pub struct Planned {
    pub config: Config,
    pub inputs: Inputs,
    pub plan: Plan,
    /// The storage in its cloud, for drivers whose storage lives in one.
    pub storage: Option<Ensured>,
    /// What ensuring the storage changed in the Config's storage (before, after), to be written.
    pub storage_change: Option<(Storage, Storage)>,
}

/// What a pass would change.
pub struct Preview {
    /// The Config as it is (`None` when it does not exist yet) and as the pass would leave it.
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub apply: Vec<Desired>,
    pub delete: Vec<(Kind, String)>,
    pub problems: Vec<Problem>,
}

fn status_params() -> PatchParams {
    PatchParams {
        field_manager: Some(crate::cluster::FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

/// The workloads (the registry's Deployment, the pruner's CronJob) and, apart, what they use.
fn workloads_apart(objects: Vec<Desired>) -> (Vec<Desired>, Vec<Desired>) {
    objects
        .into_iter()
        .partition(|d| matches!(d.kind, Kind::Deployment | Kind::CronJob))
}

fn previous_conditions(config: &Config) -> Vec<Condition> {
    config.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default()
}

/// StorageExists, for the drivers whose storage this program can see (claims and emptyDir).
fn storage_conditions(inputs: &Inputs, problems: &[Problem], storage_ok: bool) -> Vec<Condition> {
    let storage = inputs.config.spec.storage.clone().unwrap_or_default();
    let (status, reason, message) = if storage.pvc.is_some() {
        let claim = storage.pvc.and_then(|p| p.claim).unwrap_or_default();
        if storage_ok {
            ("True", "PVC Exists", format!("PVC {claim} exists"))
        } else {
            let why = problems.first().map(|p| p.message.clone()).unwrap_or_default();
            ("False", "PVC Issues Found", why)
        }
    } else if storage.empty_dir.is_some() {
        (
            "True",
            "Creation Successful",
            "EmptyDir storage successfully created".into(),
        )
    } else {
        return Vec::new();
    };
    vec![Condition {
        type_: "StorageExists".into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        ..Condition::default()
    }]
}

fn related_objects() -> Value {
    json!([
        {"group": "imageregistry.operator.openshift.io", "resource": "configs", "name": "cluster"},
        {"group": "imageregistry.operator.openshift.io", "resource": "imagepruners", "name": "cluster"},
        {"group": "rbac.authorization.k8s.io", "resource": "clusterroles", "name": "system:registry"},
        {"group": "rbac.authorization.k8s.io", "resource": "clusterrolebindings", "name": "registry-registry-role"},
        {"group": "rbac.authorization.k8s.io", "resource": "clusterrolebindings", "name": "openshift-image-registry-pruner"},
        {"group": "", "resource": "namespaces", "name": "openshift-image-registry"},
    ])
}
