//! One reconcile pass: bootstrap what is missing, then act on the Config's management state —
//! Managed renders and applies, Removed tears down, Unmanaged only reports — and write status.

use super::apply::{Applied, Applier, Outcome};
use super::bootstrap::{Bootstrapped, FINALIZER, bootstrap};
use super::complete::complete;
use super::conditions::{self, RegistryFacts};
use super::events;
use super::observe;
use super::plan::{self, Plan};
use super::provision;
use super::teardown::{self, StorageLoss};
use crate::api::ManagementState;
use crate::api::{
    APIServer, CLUSTER, ClusterOperator, ClusterVersion, Condition, Config, ConfigStatus, Image, ImagePruner,
    Infrastructure, REGISTRY_NAMESPACE, Route, Storage,
};
use crate::cluster::{DryRun, merge_patch_between};
use crate::cluster::{is_conflict, retry};
use crate::policy::Policies;
use crate::policy::sdk::PrunerDecision;
use crate::render::inputs::{Images, Inputs, referenced};
use crate::render::{self, Desired, Kind, Problem};
use crate::state::facts::storage_input;
use crate::state::snapshot::Snapshot;
use crate::storage::OsRandom;
use crate::storage::cloud::{CloudError, Ensured, Inspection, Mode};
use anyhow::{Context, Result, anyhow};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
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

    /// Bootstraps if needed, then reconciles once.
    pub async fn reconcile(&self) -> Result<Report, ReconcileError> {
        let booted = bootstrap(&self.applier, self.policies).await?;
        let configs = Api::<Config>::all(self.client());
        let config = match retry(|| configs.get_opt(CLUSTER))
            .await
            .map_err(|e| self.describe(&e))?
        {
            Some(c) => c,
            // Only when a dry run bootstrapped: nothing was created, so show what would be.
            None => config_preview(&booted)?,
        };
        let mut report = Report {
            management_state: config
                .spec
                .management_state
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            bootstrap: (booted.config_created || booted.pruner_created || booted.claim_created.is_some())
                .then_some(booted),
            ..Report::default()
        };
        let before = (previous_conditions(&config), config.spec.observed_config.clone());
        if config.metadata.deletion_timestamp.is_some() {
            self.removed(&config, &mut report, true).await?;
            self.record_events(&report, &before.0, &[]).await;
            return Ok(report);
        }
        let config = self.observe_tls(config).await?;
        let observed = events::of_observed(before.1.as_ref(), config.spec.observed_config.as_ref());
        match config.spec.management_state.clone() {
            Some(ManagementState::Managed) => self.managed(config, &mut report).await?,
            Some(ManagementState::Removed) => self.removed(&config, &mut report, false).await?,
            Some(ManagementState::Unmanaged) => self.unmanaged(&config, &mut report).await?,
            other => {
                let other = other.as_ref().map_or("", |s| s.as_str());
                report.problems.push(format!(
                    "unknown managementState {other:?}: nothing was changed; set Managed, Removed or Unmanaged"
                ));
            }
        }
        self.record_events(&report, &before.0, &observed).await;
        Ok(report)
    }

    /// Records what the pass did as events (not for dry runs, which did nothing).
    async fn record_events(&self, report: &Report, conditions_before: &[Condition], observed: &[events::Note]) {
        if !self.writes_status() {
            return;
        }
        let mut notes = observed.to_vec();
        notes.extend(report.objects.iter().filter_map(events::of_applied));
        notes.extend(events::of_conditions(conditions_before, &report.conditions));
        events::record(&self.client(), &notes).await;
    }

    /// What a pass would change, without changing anything: the Config before and after
    /// completion, the objects to apply and those to delete.
    pub async fn preview(&self) -> Result<Preview, ReconcileError> {
        let booted = bootstrap(&self.applier, self.policies).await?;
        let configs = Api::<Config>::all(self.client());
        let existing = retry(|| configs.get_opt(CLUSTER))
            .await
            .map_err(|e| self.describe(&e))?;
        let before = existing.clone();
        let config = match existing {
            Some(c) => c,
            None => config_preview(&booted)?,
        };
        let config = self.with_observed_tls(config).await?;
        let kept = match config.spec.management_state {
            Some(ManagementState::Managed) => None,
            _ => {
                let inputs =
                    crate::render::inputs::gather(&self.client(), config.clone(), self.options.images.clone()).await?;
                Some(plan::kept_trust(&inputs))
            }
        };
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
                let Planned { config, plan, .. } = self.plan(config, &mut report).await?;
                preview.after = Some(serde_json::to_value(&config).unwrap_or_default());
                preview.apply = plan.objects;
                preview.delete = plan.stale;
                preview.problems = plan.problems;
            }
            Some(ManagementState::Removed) => {
                preview.after = Some(serde_json::to_value(&config).unwrap_or_default());
                let routes = self.owned_routes().await?;
                preview.delete = teardown::OWNED
                    .iter()
                    .map(|(k, n)| (*k, n.to_string()))
                    .chain(teardown::route_names(&routes).into_iter().map(|r| (Kind::Route, r)))
                    .collect();
                let live = teardown::read_claim(&self.client(), &config)
                    .await
                    .map_err(|e| self.describe(&e))?;
                if let Ok(Some(loss)) = teardown::storage_loss(&config, live.as_ref())
                    && let Some(claim) = loss.claim
                {
                    preview.delete.push((Kind::PersistentVolumeClaim, claim));
                }
            }
            _ => preview.after = Some(serde_json::to_value(&config).unwrap_or_default()),
        }
        if let Some(kept) = kept {
            preview.apply = kept.objects;
            preview.problems = kept.problems;
        }
        Ok(preview)
    }

    /// The config observer, in every management state: the cluster's TLS security profile into
    /// `spec.observedConfig.servingInfo`, which the registry serves with.
    async fn observe_tls(&self, config: Config) -> Result<Config> {
        let observed = self.with_observed_tls(config.clone()).await?;
        if observed.spec.observed_config == config.spec.observed_config || !self.writes_status() {
            return Ok(observed);
        }
        let patch = json!({"spec": {"observedConfig": observed.spec.observed_config}});
        let configs = Api::<Config>::all(self.client());
        let (params, patch) = (status_params(), Patch::Merge(&patch));
        retry(|| configs.patch(CLUSTER, &params, &patch))
            .await
            .map_err(|e| self.describe(&e))
            .context("writing the observed TLS profile into the Config")
    }

    /// `config` with the TLS profile observed, nothing written.
    async fn with_observed_tls(&self, mut config: Config) -> Result<Config> {
        let servers = Api::<APIServer>::all(self.client());
        let profile = match retry(|| servers.get_opt(CLUSTER)).await {
            Ok(server) => server.and_then(|s| s.spec.tls_security_profile),
            // Without the APIServer config the cluster serves the default (Intermediate).
            Err(kube::Error::Api(s)) if s.code == 404 => None,
            // Unreadable is not "unset": what was observed stands.
            Err(kube::Error::Api(s)) if s.code == 403 => return Ok(config),
            Err(e) => return Err(self.describe(&e)),
        };
        config.spec.observed_config = Some(observe::observed_config(
            config.spec.observed_config.as_ref(),
            profile.as_ref(),
        ));
        Ok(config)
    }

    // ------------------------------------------------------------------------------- Managed

    /// Ensures the finalizer and completes the spec, writing it back (on a conflict, re-read and
    /// redo, so that a concurrent edit is never overwritten).
    async fn completed_config(&self, mut config: Config, report: &mut Report) -> Result<Config> {
        let configs = Api::<Config>::all(self.client());
        let infras = Api::<Infrastructure>::all(self.client());
        let infra = retry(|| infras.get(CLUSTER))
            .await
            .map_err(|e| self.describe(&e))
            .context("reading infrastructures.config.openshift.io/cluster")?;
        for _ in 0..MAX_CONFLICT_RETRIES {
            let mut next = config.clone();
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
                let decided = self.policies.storage(&storage_input(&self.client()).await?)?;
                Some(serde_json::from_value::<Storage>(decided.decision.storage).context("the storage decision")?)
            } else {
                None
            };
            let done = complete(&mut next, &infra, platform_storage.as_ref(), &mut OsRandom)?;
            super::bootstrap::refuse_invalid(
                Some(&config.spec),
                &next.spec,
                "completing the Config (the storage policy, the platform's names)",
            )?;
            if next.spec == config.spec && next.metadata.finalizers == config.metadata.finalizers {
                return Ok(config);
            }
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
            if !self.writes_status() {
                return Ok(next);
            }
            let post = PostParams {
                field_manager: Some(crate::cluster::FIELD_MANAGER.into()),
                ..PostParams::default()
            };
            match retry(|| configs.replace(CLUSTER, &post, &next)).await {
                Ok(written) => return Ok(written),
                Err(e) if is_conflict(&e) => {
                    config = retry(|| configs.get(CLUSTER)).await.map_err(|e| self.describe(&e))?;
                }
                Err(e) => return Err(self.describe(&e)).context("writing the completed Config"),
            }
        }
        Err(anyhow!(
            "the Config kept changing while it was being completed; try again"
        ))
    }

    /// Everything a Managed pass would write: the completed Config, what it is rendered from, the
    /// storage in its cloud made to exist, and the plan (the objects, the owned objects no longer
    /// wanted, what cannot be rendered).
    pub async fn plan(&self, config: Config, report: &mut Report) -> Result<Planned> {
        let mut config = self.completed_config(config, report).await?;
        let snapshot = Snapshot::fetch(&self.client(), &referenced(&config.spec)).await?;
        let mut inputs = Inputs::from_snapshot(config.clone(), &snapshot, self.options.images.clone());
        // Values nobody checked never reach the cloud (plan::managed reports them).
        let checked = crate::configure::checks::value_errors(&config.spec).is_empty();
        let storage = match provision::cloud_of(config.spec.storage.as_ref()).filter(|_| checked) {
            Some(cloud) => {
                let mode = if self.options.dry_run.is_some() {
                    Mode::DryRun
                } else {
                    Mode::Apply
                };
                let before = config.spec.storage.clone().unwrap_or_default();
                // The storage policy decides how the bucket is set up; the decision is checked
                // like any input before a single call.
                let decided = self.policies.storage(&storage_input(&self.client()).await?)?;
                let provisioning = decided
                    .decision
                    .provisioning
                    .clone()
                    .unwrap_or_else(|| provision::operator_default(&before));
                let ensured = match crate::validate::provisioning(&provisioning) {
                    Ok(()) => {
                        let context = provision::context(&inputs, &provisioning);
                        cloud.ensure(&before, context, mode).await
                    }
                    Err((field, why)) => provision::refused(&before, &decided.module, &field, &why),
                };
                if ensured.storage != before {
                    config = self.write_storage(config, &before, &ensured.storage).await?;
                    inputs.config = config.clone();
                    report.completed.push("spec.storage (as the storage was found)".into());
                }
                // Keys the cloud issued this pass are what the registry gets.
                if ensured.issued.is_some() {
                    inputs.credentials.issued = ensured.issued.clone();
                }
                if let Some(created) = &ensured.created {
                    report
                        .objects
                        .push(Applied::storage(created.clone(), Some(Outcome::Created), None));
                }
                Some(ensured)
            }
            None => None,
        };
        let mut plan = plan::managed(&inputs, &snapshot, self.policies);
        if let Some(problem) = storage.as_ref().and_then(provision::missing_storage) {
            plan.storage_ok = false;
            plan.objects.retain(|d| d.kind != Kind::Deployment);
            plan.problems.push(problem);
        }
        Ok(Planned {
            config,
            inputs,
            plan,
            storage,
        })
    }

    /// Writes what ensuring the storage decided (its management state, `encrypt`) as a merge patch
    /// of just those fields, so that nothing else anyone changed meanwhile is overwritten.
    async fn write_storage(&self, mut config: Config, before: &Storage, after: &Storage) -> Result<Config> {
        if !self.writes_status() {
            config.spec.storage = Some(after.clone());
            return Ok(config);
        }
        let changes = merge_patch_between(
            &serde_json::to_value(before).unwrap_or_default(),
            &serde_json::to_value(after).unwrap_or_default(),
        );
        let patch = json!({"spec": {"storage": changes}});
        let configs = Api::<Config>::all(self.client());
        let (params, patch) = (status_params(), Patch::Merge(&patch));
        retry(|| configs.patch(CLUSTER, &params, &patch))
            .await
            .map_err(|e| self.describe(&e))
            .context("writing what the storage was found to be into the Config")
    }

    async fn managed(&self, config: Config, report: &mut Report) -> Result<()> {
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
        } = self.plan(config, report).await?;
        // Everything the pods need first, then the workloads that use it.
        let (later, first): (Vec<Desired>, Vec<Desired>) = objects
            .into_iter()
            .partition(|d| matches!(d.kind, Kind::Deployment | Kind::CronJob));
        report.objects.extend(self.applier.apply_all(&first).await);
        report.objects.extend(self.applier.apply_all(&later).await);
        for (kind, name) in &stale {
            report.objects.push(self.applier.delete_reported(*kind, name).await);
        }

        for failure in report.objects.iter().filter_map(|a| a.error.clone()) {
            problems.push(Problem::new("Error", failure));
        }
        let pruner_sync_error = pruner_error.clone();
        if let Some(e) = pruner_error {
            report.problems.push(format!("pruner: {e}"));
        }
        report.problems.extend(problems.iter().map(|p| p.message.clone()));

        let (routes, deployment) = tokio::try_join!(self.owned_routes(), self.deployment())?;
        self.write_image_status(&routes).await?;
        let facts = RegistryFacts {
            management_state: ManagementState::Managed,
            problems: &problems,
            deployment: deployment.as_ref(),
            routes: &routes,
            remove_failures: &[],
            previous: &previous_conditions(&config),
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
        report.conditions = self.write_config_status(&config, status, fresh).await?;
        self.write_pruner_and_operator_status(&report.conditions, pruner.as_ref(), pruner_sync_error.as_deref())
            .await?;
        report.converged = problems.is_empty() && report.problems.is_empty();
        Ok(())
    }

    // ------------------------------------------------------------------------------- Removed

    async fn removed(&self, config: &Config, report: &mut Report, finalizing: bool) -> Result<(), ReconcileError> {
        let claim = teardown::read_claim(&self.client(), config)
            .await
            .map_err(|e| self.describe(&e))?;
        let mut loss = match teardown::storage_loss(config, claim.as_ref()) {
            Ok(loss) => loss,
            Err(note) => {
                report.storage_note = Some(note);
                None
            }
        };
        // What the cloud holds says what is lost: nothing when the bucket is gone already.
        let cloud = match loss.as_ref().and_then(|l| l.cloud.as_ref()) {
            Some(_) => Some(self.cloud_removal(config).await?),
            None => None,
        };
        if let (Some(l), Some((_, _, inspection))) = (loss.as_mut(), cloud.as_ref()) {
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
        let routes = self.owned_routes().await?;
        let names = teardown::route_names(&routes);
        let mut results = teardown::remove_objects(&self.applier, &names).await;
        let objects_gone = teardown::complete(&results);
        if objects_gone && let Some(loss) = &loss {
            // Only once nothing uses it any more.
            results.extend(teardown::remove_storage(&self.applier, loss).await);
            if let (Some(what), Some((storage, inputs, _))) = (&loss.cloud, &cloud) {
                results.push(self.remove_cloud_storage(what, storage, inputs).await);
            }
        } else if let Some(loss) = &loss {
            report.storage_note = Some(format!(
                "{} — not yet: the registry's objects are not all deleted",
                loss.description
            ));
        }
        let failures: Vec<String> = results.iter().filter_map(|r| r.error.clone()).collect();
        report.objects = results;
        report.problems.extend(failures.iter().cloned());
        self.write_image_status(&[]).await?;

        let deployment = self.deployment().await?;
        let facts = RegistryFacts {
            management_state: ManagementState::Removed,
            problems: &[],
            deployment: deployment.as_ref(),
            routes: &[],
            remove_failures: &failures,
            previous: &previous_conditions(config),
            now: jiff::Timestamp::now(),
        };
        let fresh = conditions::registry_conditions(&facts);
        let mut status = config.status.clone().unwrap_or_default();
        if failures.is_empty() {
            status.storage = Storage::default();
        }
        status.storage_managed = false;
        status.ready_replicas = Some(0);
        report.conditions = self.write_config_status(config, status, fresh).await?;
        let (pruner, pruner_error) = self.reconcile_kept(config, report).await?;
        self.write_pruner_and_operator_status(&report.conditions, pruner.as_ref(), pruner_error.as_deref())
            .await?;
        report.converged = failures.is_empty() && pruner_error.is_none() && report.problems.is_empty();
        if finalizing && failures.is_empty() && self.writes_status() && !self.options.finalizer_removed_by_caller {
            self.drop_finalizer().await?;
        }
        Ok(())
    }

    /// The applied storage a Removed registry acts on, the inputs its cloud calls read, and what
    /// the cloud says it holds.
    async fn cloud_removal(
        &self,
        config: &Config,
    ) -> Result<(Storage, Inputs, Result<Inspection, CloudError>), ReconcileError> {
        let storage = config.status.as_ref().map(|s| s.storage.clone()).unwrap_or_default();
        let inputs = crate::render::inputs::gather(&self.client(), config.clone(), self.options.images.clone()).await?;
        let inspection = match provision::cloud_of(Some(&storage)) {
            Some(cloud) => cloud.inspect(&storage, provision::reading_context(&inputs)).await,
            None => Err(CloudError {
                code: "NoCloud".into(),
                message: "the applied storage has no cloud to ask".into(),
            }),
        };
        Ok((storage, inputs, inspection))
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

    async fn unmanaged(&self, config: &Config, report: &mut Report) -> Result<()> {
        let deployment = self.deployment().await?;
        let facts = RegistryFacts {
            management_state: ManagementState::Unmanaged,
            problems: &[],
            deployment: deployment.as_ref(),
            routes: &[],
            remove_failures: &[],
            previous: &previous_conditions(config),
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
        report.conditions = self.write_config_status(config, status, fresh).await?;
        let snapshot = Snapshot::fetch(&self.client(), &referenced(&config.spec)).await?;
        let inputs = Inputs::from_snapshot(config.clone(), &snapshot, self.options.images.clone());
        // Unmanaged leaves the registry alone, not the trust every node needs.
        self.apply_kept_trust(&inputs, report).await;
        let (pruner, _) = plan::pruner(&inputs, &snapshot, self.policies, None);
        self.write_pruner_and_operator_status(&report.conditions, pruner.as_ref(), None)
            .await?;
        report.converged = report.problems.is_empty();
        Ok(())
    }

    /// Applies what outlives a Removed registry: the pruner's objects (it prunes image metadata
    /// without the registry) and the trust objects.
    async fn reconcile_kept(
        &self,
        config: &Config,
        report: &mut Report,
    ) -> Result<(Option<PrunerDecision>, Option<String>)> {
        let snapshot = Snapshot::fetch(&self.client(), &referenced(&config.spec)).await?;
        let inputs = Inputs::from_snapshot(config.clone(), &snapshot, self.options.images.clone());
        self.apply_kept_trust(&inputs, report).await;
        match plan::pruner(&inputs, &snapshot, self.policies, None) {
            (decision, Ok(objects)) => {
                let applied = self.applier.apply_all(&objects).await;
                let error = applied.iter().find_map(|a| a.error.clone());
                report.objects.extend(applied);
                Ok((decision, error))
            }
            (decision, Err(e)) => Ok((decision, Some(e))),
        }
    }

    /// The CA ConfigMaps and node-ca of a registry that is not Managed; what fails is a problem.
    async fn apply_kept_trust(&self, inputs: &Inputs, report: &mut Report) {
        let kept = plan::kept_trust(inputs);
        report.problems.extend(kept.problems.into_iter().map(|p| p.message));
        let applied = self.applier.apply_all(&kept.objects).await;
        report.problems.extend(applied.iter().filter_map(|a| a.error.clone()));
        report.objects.extend(applied);
    }

    // -------------------------------------------------------------------------------- status

    async fn deployment(&self) -> Result<Option<Deployment>> {
        let api = Api::<Deployment>::namespaced(self.client(), REGISTRY_NAMESPACE);
        retry(|| api.get_opt(render::DEPLOYMENT))
            .await
            .map_err(|e| self.describe(&e))
    }

    /// The Routes in the registry's namespace that the registry owns.
    async fn owned_routes(&self) -> Result<Vec<Route>> {
        let api = Api::<Route>::namespaced(self.client(), REGISTRY_NAMESPACE);
        let all = ListParams::default();
        match retry(|| api.list(&all)).await {
            Ok(list) => Ok(list.items.into_iter().filter(crate::state::is_owned_route).collect()),
            // A cluster without Routes has none to own.
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(Vec::new()),
            Err(e) => Err(self.describe(&e)),
        }
    }

    /// `images.config.openshift.io/cluster` status: the internal hostname while the Service
    /// exists, the owned Routes' admitted hosts (default route first), and how image streams
    /// import manifest lists.
    async fn write_image_status(&self, routes: &[Route]) -> Result<()> {
        let images = Api::<Image>::all(self.client());
        let Some(image) = retry(|| images.get_opt(CLUSTER)).await.map_err(|e| self.describe(&e))? else {
            return Ok(());
        };
        let services = Api::<k8s_openapi::api::core::v1::Service>::namespaced(self.client(), REGISTRY_NAMESPACE);
        let service = retry(|| services.get_opt("image-registry"))
            .await
            .map_err(|e| self.describe(&e))?;
        let internal = if service.is_some() {
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
        let versions = Api::<ClusterVersion>::all(self.client());
        let architecture = match retry(|| versions.get_opt("version")).await {
            Ok(version) => Some(version.and_then(|v| v.status?.desired?.architecture)),
            Err(kube::Error::Api(s)) if s.code == 404 => Some(None),
            // Unreadable: the payload type is unknown, so the mode is left as it is.
            Err(kube::Error::Api(s)) if s.code == 403 => None,
            Err(e) => return Err(self.describe(&e)),
        };
        let mode =
            architecture.map(|a| observe::import_mode(image.spec.image_stream_import_mode.as_deref(), a.as_deref()));
        let status = image.status.clone().unwrap_or_default();
        if status.internal_registry_hostname.clone().unwrap_or_default() == internal
            && status.external_registry_hostnames.clone().unwrap_or_default() == external
            && mode
                .as_ref()
                .is_none_or(|m| status.image_stream_import_mode.as_ref() == Some(m))
        {
            return Ok(());
        }
        if !self.writes_status() {
            return Ok(());
        }
        let mut patch =
            json!({"status": {"internalRegistryHostname": internal, "externalRegistryHostnames": external}});
        if let Some(mode) = mode {
            patch["status"]["imageStreamImportMode"] = json!(mode);
        }
        let (params, patch) = (status_params(), Patch::Merge(&patch));
        retry(|| images.patch_status(CLUSTER, &params, &patch))
            .await
            .map_err(|e| self.describe(&e))
            .context("writing images.config.openshift.io/cluster status")?;
        Ok(())
    }

    /// Writes the Config's status when it changed; returns the conditions now in effect.
    async fn write_config_status(
        &self,
        config: &Config,
        mut status: ConfigStatus,
        fresh: Vec<Condition>,
    ) -> Result<Vec<Condition>> {
        let previous = previous_conditions(config);
        status.conditions = conditions::merge(&previous, fresh, jiff::Timestamp::now());
        status.observed_generation = config.metadata.generation;
        let unchanged = config.status.as_ref().is_some_and(|s| {
            conditions::same(&s.conditions, &status.conditions)
                && s.observed_generation == status.observed_generation
                && s.ready_replicas == status.ready_replicas
                && s.storage == status.storage
                && s.storage_managed == status.storage_managed
        });
        if unchanged || !self.writes_status() {
            return Ok(status.conditions);
        }
        let configs = Api::<Config>::all(self.client());
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
        let (params, patch) = (status_params(), Patch::Merge(&patch));
        retry(|| configs.patch_status(CLUSTER, &params, &patch))
            .await
            .map_err(|e| self.describe(&e))
            .context("writing the Config's status")?;
        Ok(status.conditions)
    }

    async fn write_pruner_and_operator_status(
        &self,
        registry: &[Condition],
        decision: Option<&PrunerDecision>,
        sync_error: Option<&str>,
    ) -> Result<()> {
        let pruners = Api::<ImagePruner>::all(self.client());
        let cronjobs = Api::<CronJob>::namespaced(self.client(), REGISTRY_NAMESPACE);
        let jobs = Api::<Job>::namespaced(self.client(), REGISTRY_NAMESPACE);
        let mut pruner_conditions = Vec::new();
        let params = ListParams::default().labels(crate::state::PRUNER_JOB_SELECTOR);
        let (pruner, cronjob, list) = tokio::try_join!(
            retry(|| pruners.get_opt(CLUSTER)),
            retry(|| cronjobs.get_opt(render::CRONJOB)),
            retry(|| jobs.list(&params)),
        )
        .map_err(|e| self.describe(&e))?;
        if let Some(pruner) = pruner {
            let suspended = decision.map_or(pruner.spec.suspend.unwrap_or(false), |d| d.suspend);
            let fresh = conditions::pruner_conditions(cronjob.is_some(), suspended, &list.items, sync_error);
            let previous = pruner.status.clone().unwrap_or_default();
            let merged = conditions::merge(&previous.conditions, fresh, jiff::Timestamp::now());
            if self.writes_status()
                && (!conditions::same(&previous.conditions, &merged)
                    || previous.observed_generation != pruner.metadata.generation)
            {
                let patch = json!({"status": {"conditions": merged, "observedGeneration": pruner.metadata.generation}});
                let (params, patch) = (status_params(), Patch::Merge(&patch));
                retry(|| pruners.patch_status(CLUSTER, &params, &patch))
                    .await
                    .map_err(|e| self.describe(&e))
                    .context("writing the ImagePruner's status")?;
            }
            pruner_conditions = merged;
        }
        let operators = Api::<ClusterOperator>::all(self.client());
        let Some(co) = retry(|| operators.get_opt("image-registry")).await.unwrap_or(None) else {
            return Ok(());
        };
        let fresh = conditions::cluster_operator_conditions(registry, &pruner_conditions);
        let previous = co.status.clone().unwrap_or_default();
        let merged = conditions::merge(&previous.conditions, fresh, jiff::Timestamp::now());
        let related = related_objects();
        let current_related = serde_json::to_value(&previous.related_objects).unwrap_or_default();
        if self.writes_status() && (!conditions::same(&previous.conditions, &merged) || current_related != related) {
            let patch = json!({"status": {"conditions": merged, "relatedObjects": related}});
            let (params, patch) = (status_params(), Patch::Merge(&patch));
            retry(|| operators.patch_status("image-registry", &params, &patch))
                .await
                .map_err(|e| self.describe(&e))
                .context("writing the image-registry ClusterOperator's status")?;
        }
        Ok(())
    }
}

/// What a pass would change.
/// What a Managed pass works from.
pub struct Planned {
    pub config: Config,
    pub inputs: Inputs,
    pub plan: Plan,
    /// The storage in its cloud, for drivers whose storage lives in one.
    pub storage: Option<Ensured>,
}

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

/// The Config a dry-run bootstrap would have created.
fn config_preview(booted: &Bootstrapped) -> Result<Config> {
    let decision = crate::policy::sdk::StorageDecision {
        storage: booted.storage.clone(),
        replicas: booted.replicas,
        rollout_strategy: String::new(),
        management_state: booted.management_state.clone(),
        create_pvc: None,
        missing: Vec::new(),
        provisioning: None,
    };
    super::bootstrap::config_from(&decision)
}
