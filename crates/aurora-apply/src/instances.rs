//! The live instances of jobs, and operations on some of them.
//!
//! In: job keys (and instance ids) and a client. Out: per instance the task that runs it, its
//! state and since when, its host and why it is pending ([`live_instances`]); a checked
//! choice of instances ([`select_instances`]) and killing just those ([`kill_instances`]).
//!
//! Reads are batched: one `getTasksWithoutConfigs` for any number of jobs, one
//! `getPendingReason` when something is pending. `getTasksWithoutConfigs` throws on tasks
//! without an executor (executor-less Docker tasks; the scheduler answers ERROR), so an ERROR
//! answer is retried once with `getTasksStatus`, which carries whole configs.

use std::collections::{BTreeMap, BTreeSet};

use aurora_api::types::{ConstACTIVESTATES, JobKey, ResponseCode, ScheduledTask, TaskQuery};
use aurora_api::{ApiError, Client};
use serde::Serialize;

use crate::error::EngineError;
use crate::events::Outcome;
use crate::execute::JobResult;
use crate::key::ClusterJobKey;
use crate::marker::is_protected;
use crate::ranges::display_ids;
use crate::waiting::{Pacer, WaitOptions, Woke};

/// One live instance of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveInstance {
    /// The instance id.
    pub instance: i32,
    /// The task that runs it now.
    pub task_id: String,
    /// Its state (`RUNNING`, `PENDING`…).
    pub status: String,
    /// When it entered that state (ms since the epoch; the scheduler's clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
    /// The agent it runs on, once assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Why it is pending (only for pending tasks with a reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_reason: Option<String>,
    /// Whether the task carries `protect: true`.
    #[serde(skip)]
    pub protected: bool,
}

/// Active tasks of `keys` (optionally only `instances`), without executor data where the
/// scheduler allows it.
pub fn active_tasks(
    client: &Client,
    keys: &BTreeSet<JobKey>,
    instances: Option<&BTreeSet<i32>>,
) -> Result<Vec<ScheduledTask>, ApiError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let query = TaskQuery {
        job_keys: Some(keys.clone()),
        instance_ids: instances.cloned(),
        statuses: Some(ConstACTIVESTATES::const_value()),
        ..TaskQuery::default()
    };
    tasks(client, &query)
}

/// The tasks `query` selects, without executor data where the scheduler allows it: it
/// answers ERROR to `getTasksWithoutConfigs` for tasks without an executor (executor-less
/// Docker jobs), and then `getTasksStatus` is asked instead.
pub fn tasks(client: &Client, query: &TaskQuery) -> Result<Vec<ScheduledTask>, ApiError> {
    let reply = match client.get_tasks_without_configs(query) {
        Err(e) if e.response_code() == Some(ResponseCode::ERROR) => {
            client.get_tasks_status(query)?
        }
        other => other?,
    };
    Ok(reply.value.tasks.unwrap_or_default())
}

fn to_instance(task: &ScheduledTask) -> Option<(JobKey, LiveInstance)> {
    let assigned = task.assigned_task.as_ref()?;
    let config = assigned.task.as_ref()?;
    let key = config.job.clone()?;
    let status = task.status?;
    // The newest event with the current state says since when; events come oldest first,
    // but the order is not promised.
    let since_ms = task
        .task_events
        .iter()
        .flatten()
        .filter(|e| e.status == Some(status))
        .filter_map(|e| e.timestamp)
        .max();
    Some((
        key,
        LiveInstance {
            instance: assigned.instance_id?,
            task_id: assigned.task_id.clone().unwrap_or_default(),
            status: status.to_string(),
            since_ms,
            host: assigned.slave_host.clone().filter(|h| !h.is_empty()),
            pending_reason: None,
            protected: is_protected(config),
        },
    ))
}

/// Live instances of jobs, by job and instance id, with the pending reasons of pending ones.
/// Jobs without active tasks are absent.
pub fn live_instances(
    client: &Client,
    keys: &BTreeSet<JobKey>,
) -> Result<BTreeMap<JobKey, BTreeMap<i32, LiveInstance>>, ApiError> {
    let mut out: BTreeMap<JobKey, BTreeMap<i32, LiveInstance>> = BTreeMap::new();
    for task in active_tasks(client, keys, None)? {
        let Some((key, instance)) = to_instance(&task) else {
            continue;
        };
        let slot = out.entry(key).or_default();
        // Two active tasks for one instance (a restart in between): the newer one counts.
        let newer = slot
            .get(&instance.instance)
            .is_none_or(|old| instance.since_ms >= old.since_ms);
        if newer {
            slot.insert(instance.instance, instance);
        }
    }
    let pending: BTreeSet<JobKey> = out
        .iter()
        .filter(|(_, instances)| instances.values().any(|i| i.status == "PENDING"))
        .map(|(k, _)| k.clone())
        .collect();
    if !pending.is_empty() {
        // getPendingReason rejects queries with statuses: it adds PENDING itself.
        let query = TaskQuery {
            job_keys: Some(pending),
            ..TaskQuery::default()
        };
        let reasons: BTreeMap<String, String> = client
            .get_pending_reason(&query)?
            .value
            .reasons
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| Some((r.task_id?, r.reason.filter(|t| !t.trim().is_empty())?)))
            .collect();
        for instance in out.values_mut().flat_map(BTreeMap::values_mut) {
            instance.pending_reason = reasons.get(&instance.task_id).cloned();
        }
    }
    Ok(out)
}

/// Some live instances of one job, checked to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSelection {
    /// `cluster/role/env/name`.
    pub job_key: ClusterJobKey,
    /// The job.
    pub key: JobKey,
    /// The instances chosen (all live ones when none were named).
    pub chosen: BTreeSet<i32>,
    /// Every live instance of the job.
    pub live: BTreeMap<i32, LiveInstance>,
}

impl InstanceSelection {
    /// Live instances not chosen.
    pub fn others(&self) -> BTreeSet<i32> {
        self.live
            .keys()
            .filter(|id| !self.chosen.contains(id))
            .copied()
            .collect()
    }

    /// Whether the job carries `protect: true`.
    pub fn protected(&self) -> bool {
        self.live.values().any(|i| i.protected)
    }
}

/// Why instances could not be chosen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// The job has no live instance, or a requested instance is not live: invalid input
    /// (exit 3), nothing was changed.
    #[error("{job}: {message}")]
    NotLive {
        /// `cluster/role/env/name`.
        job: ClusterJobKey,
        /// What is missing, and what is live.
        message: String,
    },
    /// An update runs on the job: the scheduler refuses kills and restarts until it ends
    /// (exit 4).
    #[error("{job}: {message}")]
    UpdateInProgress {
        /// `cluster/role/env/name`.
        job: ClusterJobKey,
        /// Which update, and what to do.
        message: String,
    },
    /// Reading failed (exit 1).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Checks that the job has live instances, that every requested id is one of them and that
/// no update is running on the job (the scheduler refuses kills and restarts during one).
/// A job or an instance that is not live is [`SelectError::NotLive`] (a typo must not pass as
/// "nothing to do"); an update is [`SelectError::UpdateInProgress`] naming it.
pub fn select_instances(
    client: &Client,
    cluster: &str,
    key: &JobKey,
    requested: Option<&BTreeSet<i32>>,
) -> Result<InstanceSelection, SelectError> {
    let job_key = ClusterJobKey::new(cluster, key);
    let keys = BTreeSet::from([key.clone()]);
    let live = live_instances(client, &keys)
        .map_err(|e| EngineError::api(format!("reading the tasks of {job_key}"), e))?
        .remove(key)
        .unwrap_or_default();
    if live.is_empty() {
        return Err(SelectError::NotLive {
            job: job_key,
            message: "no such job on the scheduler (no live instance); nothing was changed".into(),
        });
    }
    let chosen = match requested {
        Some(ids) => ids.clone(),
        None => live.keys().copied().collect(),
    };
    let missing: BTreeSet<i32> = chosen
        .iter()
        .filter(|id| !live.contains_key(id))
        .copied()
        .collect();
    if !missing.is_empty() {
        let ids: BTreeSet<i32> = live.keys().copied().collect();
        return Err(SelectError::NotLive {
            job: job_key,
            message: format!(
                "no live instance {} (live: {}); nothing was changed",
                display_ids(&missing),
                display_ids(&ids)
            ),
        });
    }
    if let Some(update) = crate::ops::active_update(client, key)
        .map_err(|e| EngineError::api(format!("reading the updates of {job_key}"), e))?
    {
        let state = update.state.as_ref();
        let mut message = format!(
            "update {} is {}",
            update
                .key
                .as_ref()
                .and_then(|k| k.id.as_deref())
                .unwrap_or("?"),
            state
                .and_then(|s| s.status)
                .map_or_else(|| "active".to_string(), |s| s.to_string()),
        );
        if let Some(user) = update.user.as_deref().filter(|u| !u.is_empty()) {
            message.push_str(&format!(" (started by {user})"));
        }
        message.push_str(&format!(
            "; the scheduler refuses kills and restarts until it ends: wait for it (`aurora-apply update wait {job_key}`) or abort it (`aurora-apply update abort {job_key}`)"
        ));
        return Err(SelectError::UpdateInProgress {
            job: job_key,
            message,
        });
    }
    Ok(InstanceSelection {
        job_key,
        key: key.clone(),
        chosen,
        live,
    })
}

/// Kills the chosen instances (`killTasks` with their ids) and waits until none of them is
/// active. The other instances keep running; a killed service instance is not rescheduled.
pub fn kill_instances(
    client: &Client,
    selection: &InstanceSelection,
    message: Option<&str>,
    options: &WaitOptions,
) -> JobResult {
    let result = |outcome: Outcome, message: String| JobResult {
        job_key: selection.job_key.clone(),
        outcome,
        message,
        update_id: None,
    };
    let text = message.map_or_else(
        || "killed by aurora-apply".to_string(),
        |m| format!("killed by aurora-apply: {m}"),
    );
    if let Err(e) = client.kill_tasks(&selection.key, Some(&selection.chosen), Some(&text)) {
        let outcome = if e.response_code() == Some(ResponseCode::JOB_UPDATING_ERROR) {
            Outcome::Conflict
        } else {
            Outcome::Error
        };
        return result(outcome, e.to_string());
    }
    let keys = BTreeSet::from([selection.key.clone()]);
    let mut pacer = Pacer::new(options);
    loop {
        let still: BTreeSet<i32> = match active_tasks(client, &keys, Some(&selection.chosen)) {
            Ok(tasks) => tasks
                .iter()
                .filter_map(|t| t.assigned_task.as_ref()?.instance_id)
                .collect(),
            Err(e) => return result(Outcome::Error, e.to_string()),
        };
        if still.is_empty() {
            return result(
                Outcome::Succeeded,
                format!("killed [{}]", display_ids(&selection.chosen)),
            );
        }
        match pacer.wait() {
            Woke::Poll => {}
            Woke::Deadline => {
                return result(
                    Outcome::TimedOut,
                    format!("[{}] still shutting down", display_ids(&still)),
                );
            }
            Woke::Interrupted => {
                return result(
                    Outcome::Detached,
                    format!(
                        "stopped waiting; [{}] are being killed by the scheduler",
                        display_ids(&still)
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurora_api::types::{AssignedTask, ScheduleStatus, TaskConfig, TaskEvent};

    #[test]
    fn an_instance_is_in_its_state_since_the_newest_event_of_that_state() {
        let task = ScheduledTask {
            assigned_task: Some(AssignedTask {
                task_id: Some("t-0".into()),
                instance_id: Some(0),
                slave_host: Some(String::new()),
                task: Some(TaskConfig {
                    job: Some(JobKey::default()),
                    ..TaskConfig::default()
                }),
                ..AssignedTask::default()
            }),
            status: Some(ScheduleStatus::RUNNING),
            task_events: Some(vec![
                TaskEvent {
                    timestamp: Some(10),
                    status: Some(ScheduleStatus::PENDING),
                    ..TaskEvent::default()
                },
                TaskEvent {
                    timestamp: Some(30),
                    status: Some(ScheduleStatus::RUNNING),
                    ..TaskEvent::default()
                },
            ]),
            ..ScheduledTask::default()
        };
        let (_, instance) = to_instance(&task).expect("an instance");
        assert_eq!(instance.status, "RUNNING");
        assert_eq!(instance.since_ms, Some(30));
        // An empty host is no host.
        assert_eq!(instance.host, None);
    }
}
