//! What `status` shows per job: the plan's verdict (in sync, drifted with before → after
//! values, not created), each live instance (state, since when, whether its config matches
//! the spec, why it is pending) and the active update with its progress.
//!
//! In: one cluster's planned [`JobChange`]s and a client. Out: a [`JobStatus`] per change, in
//! the same order. Whether an instance's config matches the spec is the plan's instance
//! impact: the scheduler's `getJobUpdateDiff` put it among the instances an apply would
//! restart (or kill), or among the unchanged ones. Reads: one task query for all jobs, one
//! pending-reason query when a task is pending, one update query per active update.

use std::collections::BTreeSet;

use aurora_api::Client;
use aurora_api::types::{JobUpdateKey, JobUpdateQuery};
use serde::Serialize;

use crate::compare::FieldChange;
use crate::error::EngineError;
use crate::instances::{LiveInstance, live_instances};
use crate::key::ClusterJobKey;
use crate::plan::{ActiveUpdate, JobChange};
use crate::ranges::{InstanceRange, MAX_INSTANCES};
use crate::updates::{Progress, progress};

/// Whether a job matches its spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SyncState {
    /// Nothing would change.
    #[serde(rename = "in sync")]
    InSync,
    /// An apply would change it.
    #[serde(rename = "drifted")]
    Drifted,
    /// It does not exist yet.
    #[serde(rename = "not created")]
    NotCreated,
    /// Its instances run the spec, and an update an earlier aurora-apply run started is still
    /// in progress (awaiting a pulse, say): the next apply follows it.
    #[serde(rename = "update in progress")]
    Updating,
}

impl SyncState {
    /// The words `status` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::InSync => "in sync",
            SyncState::Drifted => "drifted",
            SyncState::NotCreated => "not created",
            SyncState::Updating => "update in progress",
        }
    }
}

/// One live instance and whether it runs the spec's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceStatus {
    /// The instance and its task.
    #[serde(flatten)]
    pub live: LiveInstance,
    /// `true`: runs the spec's config; `false`: an apply would restart or kill it; absent:
    /// not known (cron jobs: their runs use the template at the next run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_matches_spec: Option<bool>,
}

/// The update running on a job, and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateStatus {
    /// Which update, its state, who started it.
    #[serde(flatten)]
    pub update: ActiveUpdate,
    /// Instances updated / failed / touched (absent when the scheduler did not say).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

/// One job's status (`status -o json` prints a list of these).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobStatus {
    /// `cluster/role/environment/name`.
    pub job_key: ClusterJobKey,
    /// In sync, drifted or not created.
    pub state: SyncState,
    /// Live instance count (absent when the job does not exist).
    pub instances: Option<i32>,
    /// What differs, with the live (`before`) and the spec's (`after`) values.
    pub fields: Vec<FieldChange>,
    /// The update running on the job.
    pub active_update: Option<UpdateStatus>,
    /// Why tasks are pending (distinct reasons, none empty).
    pub pending_reasons: Vec<String>,
    /// Every live instance, by id.
    pub tasks: Vec<InstanceStatus>,
    /// The planned change the status is made from (for renderers; not in the JSON).
    #[serde(skip)]
    pub change: JobChange,
}

fn covers(ranges: &[InstanceRange], id: i32) -> bool {
    ranges.iter().any(|r| r.first <= id && id <= r.last)
}

/// Whether live instance `id` runs the config the spec asks for, by the plan's instance
/// impact; `None` when the plan does not say (cron templates, jobs the plan leaves alone).
pub fn config_matches(change: &JobChange, id: i32) -> Option<bool> {
    let i = &change.instances;
    if covers(&i.update, id) || covers(&i.remove, id) {
        Some(false)
    } else if covers(&i.unchanged, id) {
        Some(true)
    } else {
        None
    }
}

/// The status of each of `changes` (one cluster's), in order.
pub fn job_statuses(
    client: &Client,
    cluster: &str,
    changes: &[JobChange],
) -> Result<Vec<JobStatus>, EngineError> {
    let keys: BTreeSet<_> = changes.iter().map(|c| c.job_key.thrift()).collect();
    let mut live = live_instances(client, &keys)
        .map_err(|e| EngineError::api(format!("reading the tasks of {cluster}"), e))?;
    let mut out = Vec::with_capacity(changes.len());
    for change in changes {
        let key = Some(change.job_key.thrift());
        let state = if change.is_noop() {
            SyncState::InSync
        } else if change.actions == [crate::plan::Action::Follow] {
            SyncState::Updating
        } else if change.instance_count.0.is_none() {
            SyncState::NotCreated
        } else {
            SyncState::Drifted
        };
        let instances = key
            .as_ref()
            .and_then(|k| live.remove(k))
            .unwrap_or_default();
        let mut pending_reasons: Vec<String> = Vec::new();
        for reason in instances.values().filter_map(|i| i.pending_reason.as_ref()) {
            if !pending_reasons.contains(reason) {
                pending_reasons.push(reason.clone());
            }
        }
        let tasks = instances
            .into_values()
            .take(MAX_INSTANCES)
            .map(|i| InstanceStatus {
                config_matches_spec: config_matches(change, i.instance),
                live: i,
            })
            .collect();
        let active_update = match (&change.active_update, &key) {
            (Some(update), Some(job)) => {
                let query = JobUpdateQuery {
                    key: Some(JobUpdateKey {
                        job: Some(job.clone()),
                        id: Some(update.id.clone()),
                    }),
                    ..JobUpdateQuery::default()
                };
                // Progress is a nicety: a failed read leaves it out rather than the status.
                let progress = client
                    .get_job_update_details(&query)
                    .ok()
                    .and_then(|r| r.value.details_list)
                    .and_then(|l| l.into_iter().next())
                    .map(|d| progress(&d));
                Some(UpdateStatus {
                    update: update.clone(),
                    progress,
                })
            }
            _ => None,
        };
        out.push(JobStatus {
            job_key: change.job_key.clone(),
            state,
            instances: change.instance_count.0,
            fields: change.fields.clone(),
            active_update,
            pending_reasons,
            tasks,
            change: change.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, InstanceImpact, JobKind};

    #[test]
    fn instances_match_the_spec_unless_the_plan_restarts_or_kills_them() {
        let change = JobChange {
            instances: InstanceImpact {
                update: vec![InstanceRange { first: 0, last: 1 }],
                unchanged: vec![InstanceRange { first: 2, last: 2 }],
                remove: vec![InstanceRange { first: 3, last: 3 }],
                add: Vec::new(),
            },
            instance_count: (Some(4), Some(3)),
            ownership: crate::plan::Ownership::Owned,
            ..JobChange::new(
                "c/r/e/n".parse().expect("key"),
                JobKind::Service,
                vec![Action::Update],
            )
        };
        let got: Vec<Option<bool>> = (0..5).map(|id| config_matches(&change, id)).collect();
        assert_eq!(
            got,
            [Some(false), Some(false), Some(true), Some(false), None]
        );
    }
}
