//! Rolling updates as people ask about them: recent ones, one in detail, and following one
//! to its end.
//!
//! In: a client and a job (or role) key. Out: [`UpdateInfo`] values (plain data for the CLI
//! to render, `-o json` as is) and, for [`wait_for_update`], the apply [`Event`]s of an update
//! (`update_status`, `heartbeat`, `job_complete`) and a [`JobResult`] whose outcome maps onto
//! the exit codes like apply's. Reads only: `getJobUpdateDetails` with a query (role, job or
//! update key), which also carries what [`progress`] counts.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aurora_api::types::{
    ConstACTIVEJOBUPDATESTATES, ConstAWAITNGPULSEJOBUPDATESTATES, JobKey, JobUpdateAction,
    JobUpdateDetails, JobUpdateKey, JobUpdateQuery, JobUpdateStatus,
};
use aurora_api::{ApiError, Client};
use serde::Serialize;

use crate::events::{Event, EventSink, Outcome};
use crate::execute::{JobResult, terminal_outcome};
use crate::key::ClusterJobKey;
use crate::marker::is_our_update;
use crate::ranges::{InstanceRange, ids_of, to_ranges};
use crate::waiting::{Pacer, WaitOptions, Woke};

/// How far an update got, counted from its instance events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Instances whose last event is `INSTANCE_UPDATED`.
    pub updated: usize,
    /// Instances that failed at some point.
    pub failed: usize,
    /// Instances the update touches (initial and desired state together).
    pub total: usize,
    /// The failed instances.
    pub failed_instances: Vec<InstanceRange>,
}

/// The update's state as its details give it.
pub fn status_of(detail: &JobUpdateDetails) -> Option<JobUpdateStatus> {
    detail
        .update
        .as_ref()
        .and_then(|u| u.summary.as_ref())
        .and_then(|s| s.state.as_ref())
        .and_then(|s| s.status)
}

/// How far an update got, from its details (the same counts apply reports).
pub fn progress(detail: &JobUpdateDetails) -> Progress {
    let instructions = detail.update.as_ref().and_then(|u| u.instructions.as_ref());
    let mut ids = BTreeSet::new();
    if let Some(i) = instructions {
        if let Some(desired) = i.desired_state.as_ref().and_then(|d| d.instances.as_ref()) {
            ids.extend(ids_of(desired));
        }
        for initial in i.initial_state.iter().flatten() {
            if let Some(r) = &initial.instances {
                ids.extend(ids_of(r));
            }
        }
    }
    let mut last: BTreeMap<i32, (i64, JobUpdateAction)> = BTreeMap::new();
    for e in detail.instance_events.iter().flatten() {
        if let (Some(id), Some(action)) = (e.instance_id, e.action) {
            let at = e.timestamp_ms.unwrap_or(0);
            if last.get(&id).is_none_or(|(t, _)| at >= *t) {
                last.insert(id, (at, action));
            }
        }
    }
    let updated = last
        .values()
        .filter(|(_, a)| *a == JobUpdateAction::INSTANCE_UPDATED)
        .count();
    // Failed at any point (as apply counts them): after a rollback an instance's last event
    // is "rolled back", and it still counts among the instances that failed.
    let failed: BTreeSet<i32> = detail
        .instance_events
        .iter()
        .flatten()
        .filter(|e| {
            matches!(
                e.action,
                Some(
                    JobUpdateAction::INSTANCE_UPDATE_FAILED
                        | JobUpdateAction::INSTANCE_ROLLBACK_FAILED
                )
            )
        })
        .filter_map(|e| e.instance_id)
        .collect();
    Progress {
        updated,
        failed: failed.len(),
        total: ids.len(),
        failed_instances: to_ranges(&failed),
    }
}

/// One state change of an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateEventInfo {
    /// The new state.
    pub status: String,
    /// When (ms since the epoch).
    pub timestamp_ms: i64,
    /// Who caused it, when a person did (pause, resume, abort…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The audit message, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One step of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceEventInfo {
    /// The instance.
    pub instance: i32,
    /// What happened (`INSTANCE_UPDATING`, `INSTANCE_UPDATED`, `INSTANCE_UPDATE_FAILED`…).
    pub action: String,
    /// When (ms since the epoch).
    pub timestamp_ms: i64,
    /// The scheduler's message, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// An update, for people and programs (`update list|info -o json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateInfo {
    /// The update id.
    pub id: String,
    /// `cluster/role/env/name`.
    pub job_key: ClusterJobKey,
    /// Its state (`ROLLING_FORWARD`, `ROLLED_FORWARD`…).
    pub status: String,
    /// Whether it is still active (running, paused or awaiting a pulse).
    pub active: bool,
    /// Who started it (empty when the scheduler does not say).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// When it started (ms since the epoch).
    pub created_at_ms: i64,
    /// When it last changed (ms since the epoch).
    pub last_modified_at_ms: i64,
    /// Whether aurora-apply started it.
    pub ours: bool,
    /// The instances it touches.
    pub instances: Vec<InstanceRange>,
    /// How far it got.
    pub progress: Progress,
    /// Its state changes, oldest first.
    pub events: Vec<UpdateEventInfo>,
    /// Its instances' steps, oldest first.
    pub instance_events: Vec<InstanceEventInfo>,
    /// The update's metadata (provenance: tool, spec hash, commit, user), sorted by key.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

fn nonempty(s: Option<&String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).cloned()
}

impl UpdateInfo {
    /// The view of one update's details; `cluster` completes the job key.
    pub fn from_details(cluster: &str, detail: &JobUpdateDetails) -> UpdateInfo {
        let summary = detail
            .update
            .as_ref()
            .and_then(|u| u.summary.clone())
            .unwrap_or_default();
        let key = summary.key.clone().unwrap_or_default();
        let state = summary.state.clone().unwrap_or_default();
        let status = state.status.unwrap_or(JobUpdateStatus::ERROR);
        let progress = progress(detail);
        let mut touched = BTreeSet::new();
        if let Some(i) = detail.update.as_ref().and_then(|u| u.instructions.as_ref()) {
            if let Some(d) = i.desired_state.as_ref().and_then(|d| d.instances.as_ref()) {
                touched.extend(ids_of(d));
            }
            for initial in i.initial_state.iter().flatten() {
                if let Some(r) = &initial.instances {
                    touched.extend(ids_of(r));
                }
            }
        }
        let mut events: Vec<UpdateEventInfo> = detail
            .update_events
            .iter()
            .flatten()
            .map(|e| UpdateEventInfo {
                status: e.status.map(|s| s.to_string()).unwrap_or_default(),
                timestamp_ms: e.timestamp_ms.unwrap_or(0),
                user: nonempty(e.user.as_ref()),
                message: nonempty(e.message.as_ref()),
            })
            .collect();
        events.sort_by_key(|e| e.timestamp_ms);
        let mut instance_events: Vec<InstanceEventInfo> = detail
            .instance_events
            .iter()
            .flatten()
            .map(|e| InstanceEventInfo {
                instance: e.instance_id.unwrap_or(-1),
                action: e.action.map(|a| a.to_string()).unwrap_or_default(),
                timestamp_ms: e.timestamp_ms.unwrap_or(0),
                message: nonempty(e.message.as_ref()),
            })
            .collect();
        instance_events.sort_by_key(|e| (e.timestamp_ms, e.instance));
        UpdateInfo {
            id: key.id.clone().unwrap_or_default(),
            job_key: ClusterJobKey::new(cluster, &key.job.clone().unwrap_or_default()),
            status: status.to_string(),
            active: ConstACTIVEJOBUPDATESTATES::const_value().contains(&status),
            user: summary.user.clone().unwrap_or_default(),
            created_at_ms: state.created_timestamp_ms.unwrap_or(0),
            last_modified_at_ms: state.last_modified_timestamp_ms.unwrap_or(0),
            ours: is_our_update(summary.metadata.as_ref()),
            instances: to_ranges(&touched),
            progress,
            events,
            instance_events,
            metadata: summary
                .metadata
                .iter()
                .flatten()
                .filter_map(|m| Some((m.key.clone()?, m.value.clone().unwrap_or_default())))
                .collect(),
        }
    }
}

/// Which updates to list.
#[derive(Debug, Clone, Default)]
pub struct UpdateFilter {
    /// One role (all roles when `None` and no job).
    pub role: Option<String>,
    /// One environment of the role (filtered here: the scheduler's query has no such field).
    pub environment: Option<String>,
    /// One job.
    pub job: Option<JobKey>,
    /// Only these states (all when empty).
    pub statuses: BTreeSet<JobUpdateStatus>,
    /// Only updates started by this user.
    pub user: Option<String>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// Recent updates matching `filter`, newest first.
pub fn list_updates(
    client: &Client,
    cluster: &str,
    filter: &UpdateFilter,
) -> Result<Vec<UpdateInfo>, ApiError> {
    let limit = i32::try_from(filter.limit.max(1)).unwrap_or(i32::MAX);
    let query = JobUpdateQuery {
        role: filter.role.clone(),
        job_key: filter.job.clone(),
        user: filter.user.clone(),
        update_statuses: (!filter.statuses.is_empty()).then(|| filter.statuses.clone()),
        // With an environment filter applied here, ask for more so `limit` can still fill.
        limit: Some(if filter.environment.is_some() {
            limit.saturating_mul(4)
        } else {
            limit
        }),
        ..JobUpdateQuery::default()
    };
    let details = client
        .get_job_update_details(&query)?
        .value
        .details_list
        .unwrap_or_default();
    let mut out: Vec<UpdateInfo> = details
        .iter()
        .filter(|d| {
            filter.environment.as_ref().is_none_or(|env| {
                d.update
                    .as_ref()
                    .and_then(|u| u.summary.as_ref())
                    .and_then(|s| s.key.as_ref())
                    .and_then(|k| k.job.as_ref())
                    .and_then(|j| j.environment.as_ref())
                    == Some(env)
            })
        })
        .map(|d| UpdateInfo::from_details(cluster, d))
        .collect();
    // Newest first by start (the scheduler sorts by last modification).
    out.sort_by_key(|u| std::cmp::Reverse(u.created_at_ms));
    out.truncate(filter.limit.max(1));
    Ok(out)
}

/// One update of a job: the one with `id`, else the active one, else the newest. `None` when
/// the job has no such update (or none at all).
pub fn find_update(
    client: &Client,
    cluster: &str,
    job: &JobKey,
    id: Option<&str>,
) -> Result<Option<UpdateInfo>, ApiError> {
    let query = match id {
        Some(id) => JobUpdateQuery {
            key: Some(JobUpdateKey {
                job: Some(job.clone()),
                id: Some(id.to_string()),
            }),
            ..JobUpdateQuery::default()
        },
        None => JobUpdateQuery {
            job_key: Some(job.clone()),
            update_statuses: Some(ConstACTIVEJOBUPDATESTATES::const_value()),
            ..JobUpdateQuery::default()
        },
    };
    let first = |query: &JobUpdateQuery| -> Result<Option<UpdateInfo>, ApiError> {
        let list = client
            .get_job_update_details(query)?
            .value
            .details_list
            .unwrap_or_default();
        let mut infos: Vec<UpdateInfo> = list
            .iter()
            .map(|d| UpdateInfo::from_details(cluster, d))
            .collect();
        infos.sort_by_key(|u| std::cmp::Reverse(u.created_at_ms));
        Ok(infos.into_iter().next())
    };
    if let Some(found) = first(&query)? {
        return Ok(Some(found));
    }
    if id.is_some() {
        return Ok(None);
    }
    // No active update: the newest one (a few, since the scheduler sorts by modification).
    first(&JobUpdateQuery {
        job_key: Some(job.clone()),
        limit: Some(16),
        ..JobUpdateQuery::default()
    })
}

/// Follows the update `id` of `job` until it ends, the deadline passes or the caller
/// interrupts, sending `update_status` on every change (and a `heartbeat` every
/// `heartbeat_every` without one) and `job_complete` at the end. The update is never pulsed
/// or changed: `wait` only watches (a coordinated update waiting for pulses ends as
/// [`Outcome::AwaitingPulse`] at the deadline).
pub fn wait_for_update(
    client: &Client,
    cluster: &str,
    job: &JobKey,
    id: &str,
    options: &WaitOptions,
    heartbeat_every: Duration,
    sink: &dyn EventSink,
) -> JobResult {
    let job_key = ClusterJobKey::new(cluster, job);
    let clock = &options.clock;
    let start = clock.now();
    let mut pacer = Pacer::new(options);
    let mut last: Option<(JobUpdateStatus, Progress)> = None;
    let mut last_report = start;
    let finish = |outcome: Outcome, message: String| {
        let result = JobResult {
            job_key: job_key.clone(),
            outcome,
            message,
            update_id: Some(id.to_string()),
        };
        sink.event(&Event::JobComplete {
            job_key: result.job_key.clone(),
            outcome: result.outcome,
            message: result.message.clone(),
            update_id: result.update_id.clone(),
        });
        result
    };
    let query = JobUpdateQuery {
        key: Some(JobUpdateKey {
            job: Some(job.clone()),
            id: Some(id.to_string()),
        }),
        ..JobUpdateQuery::default()
    };
    loop {
        let detail = match client.get_job_update_details(&query) {
            Ok(reply) => reply.value.details_list.and_then(|l| l.into_iter().next()),
            // A failed read while following is not the update failing: try again next time.
            Err(e) if e.retryable() => None,
            Err(e) => return finish(Outcome::Error, e.to_string()),
        };
        if let Some(detail) = detail {
            let status = status_of(&detail).unwrap_or(JobUpdateStatus::ERROR);
            let now = progress(&detail);
            let changed = last.as_ref() != Some(&(status, now.clone()));
            let at = clock.now();
            if changed {
                last_report = at;
                sink.event(&Event::UpdateStatus {
                    job_key: job_key.clone(),
                    update_id: id.to_string(),
                    status: status.to_string(),
                    updated: now.updated,
                    failed: now.failed,
                    total: now.total,
                });
            } else if at.saturating_duration_since(last_report) >= heartbeat_every {
                last_report = at;
                sink.event(&Event::Heartbeat {
                    job_key: job_key.clone(),
                    status: status.to_string(),
                    updated: now.updated,
                    total: now.total,
                    elapsed_seconds: at.saturating_duration_since(start).as_secs(),
                });
            }
            if let Some(outcome) = terminal_outcome(status) {
                let message = match outcome {
                    Outcome::Succeeded => format!("update {id} rolled forward"),
                    _ if now.failed_instances.is_empty() => format!("update {id} ended {status}"),
                    // As apply says it: each failed instance with its task's last message.
                    _ => {
                        let ids: std::collections::BTreeSet<i32> = now
                            .failed_instances
                            .iter()
                            .flat_map(|r| r.first..=r.last)
                            .collect();
                        let reasons =
                            crate::starting::failure_reasons(client, job, &ids).unwrap_or_default();
                        format!(
                            "update {id} ended {status}; failed: {}",
                            crate::starting::describe_failures(&ids, &reasons)
                        )
                    }
                };
                return finish(outcome, message);
            }
            last = Some((status, now));
        }
        match pacer.wait() {
            Woke::Poll => {}
            Woke::Deadline => {
                let (outcome, state) = match &last {
                    Some((s, p)) => (
                        if ConstAWAITNGPULSEJOBUPDATESTATES::const_value().contains(s) {
                            Outcome::AwaitingPulse
                        } else {
                            Outcome::TimedOut
                        },
                        format!(" ({s}, {}/{} instances updated)", p.updated, p.total),
                    ),
                    None => (Outcome::TimedOut, String::new()),
                };
                return finish(
                    outcome,
                    format!(
                        "update {id} is still running{state}; it keeps running on the scheduler"
                    ),
                );
            }
            Woke::Interrupted => {
                return finish(
                    Outcome::Detached,
                    format!("stopped following update {id}; it keeps running on the scheduler"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurora_api::types::{
        InstanceTaskConfig, JobInstanceUpdateEvent, JobUpdate, JobUpdateInstructions,
        JobUpdateState, JobUpdateSummary, Range,
    };

    fn details() -> JobUpdateDetails {
        let event = |id: i32, at: i64, action: JobUpdateAction| JobInstanceUpdateEvent {
            instance_id: Some(id),
            timestamp_ms: Some(at),
            action: Some(action),
            message: None,
        };
        JobUpdateDetails {
            update: Some(JobUpdate {
                summary: Some(JobUpdateSummary {
                    user: Some("alice".into()),
                    state: Some(JobUpdateState {
                        status: Some(JobUpdateStatus::ROLLING_FORWARD),
                        created_timestamp_ms: Some(1),
                        last_modified_timestamp_ms: Some(9),
                    }),
                    key: Some(JobUpdateKey {
                        job: Some(JobKey {
                            role: Some("www-data".into()),
                            environment: Some("prod".into()),
                            name: Some("hello".into()),
                        }),
                        id: Some("u1".into()),
                    }),
                    metadata: None,
                }),
                instructions: Some(JobUpdateInstructions {
                    initial_state: None,
                    desired_state: Some(InstanceTaskConfig {
                        task: None,
                        instances: Some(BTreeSet::from([Range {
                            first: Some(0),
                            last: Some(2),
                        }])),
                    }),
                    settings: None,
                }),
            }),
            update_events: None,
            instance_events: Some(vec![
                // Out of order on purpose: the newest event of an instance counts.
                event(0, 5, JobUpdateAction::INSTANCE_UPDATED),
                event(0, 2, JobUpdateAction::INSTANCE_UPDATING),
                event(1, 3, JobUpdateAction::INSTANCE_UPDATING),
                event(2, 4, JobUpdateAction::INSTANCE_UPDATE_FAILED),
            ]),
        }
    }

    #[test]
    fn progress_counts_each_instance_by_its_newest_event() {
        let p = progress(&details());
        assert_eq!((p.updated, p.failed, p.total), (1, 1, 3));
        assert_eq!(crate::ranges::display(&p.failed_instances), "2");
    }

    #[test]
    fn info_names_the_job_and_sorts_instance_events() {
        let info = UpdateInfo::from_details("devcluster", &details());
        assert_eq!(info.job_key, "devcluster/www-data/prod/hello");
        assert_eq!(info.status, "ROLLING_FORWARD");
        assert!(info.active);
        assert_eq!(crate::ranges::display(&info.instances), "0-2");
        let order: Vec<i64> = info
            .instance_events
            .iter()
            .map(|e| e.timestamp_ms)
            .collect();
        assert_eq!(order, [2, 3, 4, 5]);
    }
}
