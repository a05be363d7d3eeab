//! Reading tasks while an apply waits: whether a new job's instances have started (Aurora's
//! `job create --wait-until=RUNNING` waits the same way: until every task is running or has
//! already finished), and why instances failed when an update ends badly (the status message
//! of the task that failed, as `aurora job status` shows it).

use std::collections::{BTreeMap, BTreeSet};

use aurora_api::types::{JobKey, ScheduleStatus, ScheduledTask, TaskQuery};
use aurora_api::{ApiError, Client};

/// A job's active tasks, by whether they run yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskCounts {
    /// Tasks in RUNNING.
    pub running: usize,
    /// Active tasks not running yet (PENDING, ASSIGNED, STARTING, THROTTLED…) or on their way
    /// out (KILLING, RESTARTING…).
    pub waiting: usize,
}

/// The active tasks of every job in `keys`, counted, with one `getTasksWithoutConfigs` call.
/// A job with no active task is absent from the map (its tasks all finished, or none exist).
pub fn active_counts(
    client: &Client,
    keys: &BTreeSet<JobKey>,
) -> Result<BTreeMap<JobKey, TaskCounts>, ApiError> {
    let tasks = crate::instances::active_tasks(client, keys, None)?;
    let mut counts: BTreeMap<JobKey, TaskCounts> = BTreeMap::new();
    for task in &tasks {
        let Some(key) = job_of(task) else { continue };
        let entry = counts.entry(key).or_default();
        if task.status == Some(ScheduleStatus::RUNNING) {
            entry.running += 1;
        } else {
            entry.waiting += 1;
        }
    }
    Ok(counts)
}

fn job_of(task: &ScheduledTask) -> Option<JobKey> {
    task.assigned_task.as_ref()?.task.as_ref()?.job.clone()
}

/// Why each of `instances` failed: the message of the newest FAILED (or LOST) task of the
/// instance, from its last event. Instances without such a task, or whose task left no
/// message, are absent.
pub fn failure_reasons(
    client: &Client,
    key: &JobKey,
    instances: &BTreeSet<i32>,
) -> Result<BTreeMap<i32, String>, ApiError> {
    if instances.is_empty() {
        return Ok(BTreeMap::new());
    }
    let query = TaskQuery {
        job_keys: Some(BTreeSet::from([key.clone()])),
        instance_ids: Some(instances.clone()),
        statuses: Some(BTreeSet::from([
            ScheduleStatus::FAILED,
            ScheduleStatus::LOST,
        ])),
        ..TaskQuery::default()
    };
    let tasks = crate::instances::tasks(client, &query)?;
    // Per instance, the newest failed task (by its last event's time) and its message.
    let mut newest: BTreeMap<i32, (i64, String)> = BTreeMap::new();
    for task in &tasks {
        let Some(instance) = task.assigned_task.as_ref().and_then(|a| a.instance_id) else {
            continue;
        };
        let Some(last) = task.task_events.as_ref().and_then(|e| e.last()) else {
            continue;
        };
        let (Some(at), Some(message)) = (last.timestamp, last.message.as_ref()) else {
            continue;
        };
        if message.trim().is_empty() {
            continue;
        }
        let better = newest.get(&instance).is_none_or(|(t, _)| at > *t);
        if better {
            newest.insert(instance, (at, message.trim().to_string()));
        }
    }
    Ok(newest.into_iter().map(|(i, (_, m))| (i, m)).collect())
}

/// "instance 0: why; instance 3: why; instance 4" — every failed instance, with the reason
/// when one is known. Empty when no instance failed.
pub fn describe_failures(instances: &BTreeSet<i32>, reasons: &BTreeMap<i32, String>) -> String {
    instances
        .iter()
        .map(|i| match reasons.get(i) {
            Some(why) => format!("instance {i}: {why}"),
            None => format!("instance {i}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_every_instance_and_the_known_reasons() {
        let instances = BTreeSet::from([0, 3]);
        let reasons = BTreeMap::from([(0, "exit code 1".to_string())]);
        assert_eq!(
            describe_failures(&instances, &reasons),
            "instance 0: exit code 1; instance 3"
        );
        assert_eq!(describe_failures(&BTreeSet::new(), &reasons), "");
    }
}
