//! The pruner's Jobs: which ran last and how it ended.

use k8s_openapi::api::batch::v1::{Job, JobCondition};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRun {
    pub job: String,
    pub succeeded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// When and how a Job finished, if it has.
fn finish_of(job: &Job) -> Option<(String, &JobCondition)> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    let done = conditions
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")?;
    let when = done
        .last_transition_time
        .as_ref()
        .map(|t| t.0.to_string())
        .unwrap_or_default();
    Some((when, done))
}

/// The newest finished pruner Job.
pub fn last_pruner_run(jobs: &[Job]) -> Option<JobRun> {
    jobs.iter()
        .filter_map(|j| finish_of(j).map(|f| (j, f)))
        .max_by(|a, b| a.1.0.cmp(&b.1.0))
        .map(|(job, (when, done))| JobRun {
            job: job.metadata.name.clone().unwrap_or_default(),
            succeeded: done.type_ == "Complete",
            finished: Some(when).filter(|w| !w.is_empty()),
            reason: done.reason.clone(),
            message: done.message.clone(),
        })
}
