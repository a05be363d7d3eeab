//! A rolling restart, as `aurora job restart` does it.
//!
//! Aurora 0.22 has no server-side restart: its client drives it (`Restarter` and
//! `InstanceWatcher` in the Python client) with `restartShards` a batch at a time, then
//! watches the batch — each instance must be RUNNING again within the restart threshold and
//! stay RUNNING for the watch time — before the next batch. An instance that fails goes back
//! into the queue; the restart stops once more instances have failed more often than
//! `max_per_instance_failures` than `max_total_failures` allows (Aurora's
//! `FailureThreshold`). A job update cannot do this: `startJobUpdate` with the job's own
//! config is "Job is unchanged by proposed update." and creates nothing.
//!
//! In: an [`InstanceSelection`] (checked live instances, no update running) and options.
//! Out: [`RestartEvent`]s as things happen and a [`RestartReport`]. Since the restart lives in
//! this process, stopping it (Ctrl-C, deadline) leaves the remaining instances as they are.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use aurora_api::Client;
use aurora_api::types::{ResponseCode, ScheduleStatus};
use serde::Serialize;

use crate::events::Outcome;
use crate::instances::{InstanceSelection, active_tasks};
use crate::key::ClusterJobKey;
use crate::ranges::{InstanceRange, to_ranges};
use crate::waiting::{Pacer, WaitOptions, Woke};

/// How to restart (Aurora's `job restart` options and defaults).
#[derive(Debug, Clone)]
pub struct RestartOptions {
    /// Instances restarted at once (`--batch-size`, 1).
    pub batch_size: usize,
    /// How long a restarted instance must stay RUNNING (`--watch-secs`, 30 s).
    pub watch: Duration,
    /// How long a restarted instance may take to be RUNNING again (60 s).
    pub restart_threshold: Duration,
    /// Failures an instance may have before it counts as failed (`--max-per-instance-failures`, 0).
    pub max_per_instance_failures: u32,
    /// Failed instances tolerated before the restart stops (`--max-total-failures`, 0).
    pub max_total_failures: u32,
    /// Deadline, poll interval, interrupt, and the clock that measures the watch times.
    pub wait: WaitOptions,
}

impl Default for RestartOptions {
    fn default() -> Self {
        RestartOptions {
            batch_size: 1,
            watch: Duration::from_secs(30),
            restart_threshold: Duration::from_secs(60),
            max_per_instance_failures: 0,
            max_total_failures: 0,
            wait: WaitOptions::default(),
        }
    }
}

/// What happens during a restart. As NDJSON (`restart -o json`) each event is an object with
/// a `type` tag (the variant in snake_case) and these fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RestartEvent {
    /// `restartShards` was sent for a batch.
    BatchRestarting {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// 1 for the first batch.
        batch: usize,
        /// The instances of the batch.
        instances: Vec<InstanceRange>,
    },
    /// A restarted instance runs again (a new task); now it is watched.
    InstanceRunning {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// The instance.
        instance: i32,
        /// The task that ran before the restart.
        previous_task_id: String,
        /// The task that runs now.
        task_id: String,
    },
    /// A restarted instance stayed RUNNING for the watch time.
    InstanceRestarted {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// The instance.
        instance: i32,
        /// The task that runs now.
        task_id: String,
    },
    /// A restarted instance did not come back, or did not stay up.
    InstanceFailed {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// The instance.
        instance: i32,
        /// Why, for people.
        reason: String,
    },
}

/// How a restart ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestartReport {
    /// `cluster/role/env/name`.
    pub job_key: ClusterJobKey,
    /// `succeeded`, `failed`, `timed_out`, `detached` (interrupted) or `error`.
    pub outcome: Outcome,
    /// Details for people.
    pub message: String,
    /// Instances restarted and healthy.
    pub restarted: Vec<InstanceRange>,
    /// Instances that failed (more often than allowed, or when the restart stopped).
    pub failed: Vec<InstanceRange>,
    /// Instances not restarted (the restart stopped first).
    pub remaining: Vec<InstanceRange>,
    /// The task of each restarted instance before and after: instance → (old, new).
    pub tasks: BTreeMap<i32, (String, String)>,
}

/// Aurora's `FailureThreshold`: an instance counts as failed once it has failed more often
/// than `max_per_instance`; the restart fails once more than `max_total` instances count.
#[derive(Debug, Default)]
struct Failures {
    by_instance: BTreeMap<i32, u32>,
}

impl Failures {
    fn record(&mut self, instance: i32) {
        *self.by_instance.entry(instance).or_default() += 1;
    }

    fn exceeded(&self, options: &RestartOptions) -> BTreeSet<i32> {
        self.by_instance
            .iter()
            .filter(|(_, n)| **n > options.max_per_instance_failures)
            .map(|(id, _)| *id)
            .collect()
    }

    fn failed(&self, options: &RestartOptions) -> bool {
        self.exceeded(options).len() > usize::try_from(options.max_total_failures).unwrap_or(0)
    }
}

/// What watching one instance of a batch came to.
#[derive(Debug, Clone)]
enum Watched {
    /// Not RUNNING with a new task yet.
    Waiting {
        last_seen: String,
    },
    /// RUNNING (new task) since `since`.
    Up {
        task_id: String,
        since: Instant,
    },
    Healthy {
        task_id: String,
    },
    Failed {
        reason: String,
    },
}

/// Restarts `selection.chosen`, a batch at a time, each batch watched before the next.
pub fn rolling_restart(
    client: &Client,
    selection: &InstanceSelection,
    options: &RestartOptions,
    on_event: &dyn Fn(&RestartEvent),
) -> RestartReport {
    let job_key = selection.job_key.clone();
    let mut queue: VecDeque<i32> = selection.chosen.iter().copied().collect();
    let mut failures = Failures::default();
    let mut restarted: BTreeSet<i32> = BTreeSet::new();
    let mut tasks: BTreeMap<i32, (String, String)> = BTreeMap::new();
    // The task each instance runs now, to tell the restarted task from the one before.
    let mut current: BTreeMap<i32, String> = selection
        .live
        .iter()
        .map(|(id, i)| (*id, i.task_id.clone()))
        .collect();
    let mut pacer = Pacer::new(&options.wait);
    let mut batch_no = 0;
    let batch_size = options.batch_size.max(1);
    let report = |outcome: Outcome,
                  message: String,
                  restarted: &BTreeSet<i32>,
                  failures: &Failures,
                  queue: &VecDeque<i32>,
                  tasks: &BTreeMap<i32, (String, String)>| {
        let failed: BTreeSet<i32> = failures
            .by_instance
            .keys()
            .filter(|id| !restarted.contains(id))
            .copied()
            .collect();
        let remaining: BTreeSet<i32> = queue
            .iter()
            .filter(|id| !failed.contains(id))
            .copied()
            .collect();
        RestartReport {
            job_key: job_key.clone(),
            outcome,
            message,
            restarted: to_ranges(restarted),
            failed: to_ranges(&failed),
            remaining: to_ranges(&remaining),
            tasks: tasks.clone(),
        }
    };
    while !queue.is_empty() && !failures.failed(options) {
        if pacer.interrupted() {
            return report(
                Outcome::Detached,
                "interrupted before the next batch".into(),
                &restarted,
                &failures,
                &queue,
                &tasks,
            );
        }
        if pacer.expired() {
            return report(
                Outcome::TimedOut,
                "the deadline passed before the next batch".into(),
                &restarted,
                &failures,
                &queue,
                &tasks,
            );
        }
        let n = batch_size.min(queue.len());
        let batch: BTreeSet<i32> = queue.drain(..n).collect();
        batch_no += 1;
        // A retried instance runs a task that replaced the failed one: learn which, so the
        // task that replaces it now is recognised.
        if batch.iter().any(|id| !current.contains_key(id)) {
            let keys = BTreeSet::from([selection.key.clone()]);
            if let Ok(seen) = active_tasks(client, &keys, Some(&batch)) {
                for t in seen {
                    if let Some(a) = t.assigned_task
                        && let (Some(id), Some(task_id)) = (a.instance_id, a.task_id)
                    {
                        current.insert(id, task_id);
                    }
                }
            }
        }
        if let Err(e) = client.restart_shards(&selection.key, &batch) {
            // The batch was not restarted: it is still to do.
            for id in batch.iter().rev() {
                queue.push_front(*id);
            }
            let outcome = if e.response_code() == Some(ResponseCode::JOB_UPDATING_ERROR) {
                Outcome::Conflict
            } else {
                Outcome::Error
            };
            return report(
                outcome,
                format!("restartShards: {e}"),
                &restarted,
                &failures,
                &queue,
                &tasks,
            );
        }
        on_event(&RestartEvent::BatchRestarting {
            job_key: job_key.clone(),
            batch: batch_no,
            instances: to_ranges(&batch),
        });
        let started = options.wait.clock.now();
        pacer.quicken();
        let mut watched: BTreeMap<i32, Watched> = batch
            .iter()
            .map(|id| {
                (
                    *id,
                    Watched::Waiting {
                        last_seen: "RESTARTING".into(),
                    },
                )
            })
            .collect();
        // Watch the batch until every instance is healthy or failed.
        loop {
            let seen = match active_tasks(
                client,
                &BTreeSet::from([selection.key.clone()]),
                Some(&batch),
            ) {
                Ok(tasks) => Some(tasks),
                // A failed read is not a failed instance: look again at the next poll.
                Err(e) if e.retryable() => None,
                Err(e) => {
                    for id in batch.iter().rev() {
                        if !matches!(watched.get(id), Some(Watched::Healthy { .. })) {
                            queue.push_front(*id);
                        }
                    }
                    return report(
                        Outcome::Error,
                        format!("reading the restarted tasks: {e}"),
                        &restarted,
                        &failures,
                        &queue,
                        &tasks,
                    );
                }
            };
            if let Some(seen) = seen {
                let mut by_instance: BTreeMap<i32, (String, ScheduleStatus)> = BTreeMap::new();
                for t in &seen {
                    let (Some(a), Some(status)) = (t.assigned_task.as_ref(), t.status) else {
                        continue;
                    };
                    let (Some(id), Some(task_id)) = (a.instance_id, a.task_id.clone()) else {
                        continue;
                    };
                    // The restarted task (still RESTARTING) and its successor may both be
                    // active for a moment: the successor counts.
                    if Some(&task_id) != current.get(&id) || !by_instance.contains_key(&id) {
                        by_instance.insert(id, (task_id, status));
                    }
                }
                let now = options.wait.clock.now();
                for (id, state) in watched.iter_mut() {
                    let next = step(
                        state,
                        by_instance.get(id),
                        current.get(id).map(String::as_str).unwrap_or(""),
                        now,
                        started,
                        options,
                    );
                    if let Some(next) = next {
                        match &next {
                            Watched::Up { task_id, .. } => {
                                on_event(&RestartEvent::InstanceRunning {
                                    job_key: job_key.clone(),
                                    instance: *id,
                                    previous_task_id: current.get(id).cloned().unwrap_or_default(),
                                    task_id: task_id.clone(),
                                })
                            }
                            Watched::Healthy { task_id } => {
                                on_event(&RestartEvent::InstanceRestarted {
                                    job_key: job_key.clone(),
                                    instance: *id,
                                    task_id: task_id.clone(),
                                });
                            }
                            Watched::Failed { reason } => on_event(&RestartEvent::InstanceFailed {
                                job_key: job_key.clone(),
                                instance: *id,
                                reason: reason.clone(),
                            }),
                            Watched::Waiting { .. } => {}
                        }
                        *state = next;
                    }
                }
            }
            let finished = watched
                .values()
                .all(|w| matches!(w, Watched::Healthy { .. } | Watched::Failed { .. }));
            if finished {
                break;
            }
            match pacer.wait() {
                Woke::Poll => {}
                woke => {
                    // Stopped mid-batch: healthy ones are done, failed ones failed; the rest
                    // were restarted but not watched to the end (neither done nor to do).
                    let mut unverified = BTreeSet::new();
                    for (id, w) in &watched {
                        match w {
                            Watched::Healthy { task_id } => {
                                restarted.insert(*id);
                                let before = current.get(id).cloned().unwrap_or_default();
                                tasks.insert(*id, (before, task_id.clone()));
                            }
                            Watched::Failed { .. } => failures.record(*id),
                            Watched::Waiting { .. } | Watched::Up { .. } => {
                                unverified.insert(*id);
                            }
                        }
                    }
                    let what = if unverified.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; [{}] restarted but not watched to the end",
                            crate::ranges::display(&to_ranges(&unverified))
                        )
                    };
                    return if woke == Woke::Deadline {
                        report(
                            Outcome::TimedOut,
                            format!("the deadline passed while watching batch {batch_no}{what}"),
                            &restarted,
                            &failures,
                            &queue,
                            &tasks,
                        )
                    } else {
                        report(
                            Outcome::Detached,
                            format!("interrupted while watching batch {batch_no}{what}"),
                            &restarted,
                            &failures,
                            &queue,
                            &tasks,
                        )
                    };
                }
            }
        }
        for (id, w) in watched {
            match w {
                Watched::Healthy { task_id } => {
                    restarted.insert(id);
                    let before = current.get(&id).cloned().unwrap_or_default();
                    tasks.insert(id, (before, task_id.clone()));
                    current.insert(id, task_id);
                }
                Watched::Failed { .. } => {
                    failures.record(id);
                    // As Aurora's Restarter: a failed instance goes back into the queue
                    // (its task is looked up again before it is restarted again).
                    queue.push_back(id);
                    current.remove(&id);
                }
                Watched::Waiting { .. } | Watched::Up { .. } => {}
            }
        }
    }
    if failures.failed(options) {
        let exceeded = failures.exceeded(options);
        return report(
            Outcome::Failed,
            format!(
                "{} instance(s) failed ([{}]); more than --max-total-failures {} allows, so the restart stopped",
                exceeded.len(),
                crate::ranges::display(&to_ranges(&exceeded)),
                options.max_total_failures
            ),
            &restarted,
            &failures,
            &queue
                .iter()
                .filter(|id| !exceeded.contains(id))
                .copied()
                .collect(),
            &tasks,
        );
    }
    report(
        Outcome::Succeeded,
        format!(
            "restarted [{}]",
            crate::ranges::display(&to_ranges(&restarted))
        ),
        &restarted,
        &failures,
        &queue,
        &tasks,
    )
}

/// One look at one instance of the batch: `seen` is its newest active task (id, state), if
/// any; `before` the task restarted. Returns the new state when it changed.
fn step(
    state: &Watched,
    seen: Option<&(String, ScheduleStatus)>,
    before: &str,
    now: Instant,
    started: Instant,
    options: &RestartOptions,
) -> Option<Watched> {
    let running_new = seen.filter(|(id, s)| id != before && *s == ScheduleStatus::RUNNING);
    match state {
        Watched::Waiting { last_seen } => {
            if let Some((task_id, _)) = running_new {
                if options.watch.is_zero() {
                    return Some(Watched::Healthy {
                        task_id: task_id.clone(),
                    });
                }
                return Some(Watched::Up {
                    task_id: task_id.clone(),
                    since: now,
                });
            }
            let state_now = seen.map_or_else(|| "gone".to_string(), |(_, s)| s.to_string());
            if now.duration_since(started) > options.restart_threshold {
                return Some(Watched::Failed {
                    reason: format!(
                        "not RUNNING again within {}s (last seen {state_now})",
                        options.restart_threshold.as_secs()
                    ),
                });
            }
            (state_now != *last_seen).then_some(Watched::Waiting {
                last_seen: state_now,
            })
        }
        Watched::Up { task_id, since } => match seen {
            Some((id, s)) if id == task_id && *s == ScheduleStatus::RUNNING => {
                (now.duration_since(*since) >= options.watch).then(|| Watched::Healthy {
                    task_id: task_id.clone(),
                })
            }
            other => Some(Watched::Failed {
                reason: format!(
                    "left RUNNING after {}s (now {})",
                    now.duration_since(*since).as_secs(),
                    other.map_or_else(|| "gone".to_string(), |(_, s)| s.to_string())
                ),
            }),
        },
        Watched::Healthy { .. } | Watched::Failed { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(watch: u64) -> RestartOptions {
        RestartOptions {
            watch: Duration::from_secs(watch),
            ..RestartOptions::default()
        }
    }

    #[test]
    fn the_old_task_running_is_not_the_restart() {
        let start = Instant::now();
        let waiting = Watched::Waiting {
            last_seen: "RESTARTING".into(),
        };
        let old = ("t0".to_string(), ScheduleStatus::RUNNING);
        assert!(matches!(
            step(&waiting, Some(&old), "t0", start, start, &options(30)),
            None | Some(Watched::Waiting { .. })
        ));
        let new = ("t1".to_string(), ScheduleStatus::RUNNING);
        assert!(matches!(
            step(&waiting, Some(&new), "t0", start, start, &options(30)),
            Some(Watched::Up { .. })
        ));
        // Without a watch time, RUNNING again is healthy at once.
        assert!(matches!(
            step(&waiting, Some(&new), "t0", start, start, &options(0)),
            Some(Watched::Healthy { .. })
        ));
    }

    #[test]
    fn an_instance_that_leaves_running_while_watched_fails() {
        let start = Instant::now();
        let up = Watched::Up {
            task_id: "t1".into(),
            since: start,
        };
        let failed = ("t1".to_string(), ScheduleStatus::FAILED);
        match step(&up, Some(&failed), "t0", start, start, &options(30)) {
            Some(Watched::Failed { reason }) => assert!(reason.contains("FAILED"), "{reason}"),
            other => panic!("{other:?}"),
        }
        let later = start + Duration::from_secs(31);
        let running = ("t1".to_string(), ScheduleStatus::RUNNING);
        assert!(matches!(
            step(&up, Some(&running), "t0", later, start, &options(30)),
            Some(Watched::Healthy { .. })
        ));
    }

    #[test]
    fn too_slow_to_come_back_is_a_failure() {
        let start = Instant::now();
        let waiting = Watched::Waiting {
            last_seen: "PENDING".into(),
        };
        let pending = ("t1".to_string(), ScheduleStatus::PENDING);
        let late = start + Duration::from_secs(61);
        assert!(matches!(
            step(&waiting, Some(&pending), "t0", late, start, &options(30)),
            Some(Watched::Failed { .. })
        ));
    }

    #[test]
    fn failure_threshold_as_aurora_counts_it() {
        let strict = RestartOptions::default();
        let mut f = Failures::default();
        assert!(!f.failed(&strict));
        f.record(3);
        assert!(f.failed(&strict));
        let lenient = RestartOptions {
            max_per_instance_failures: 1,
            max_total_failures: 1,
            ..RestartOptions::default()
        };
        f.record(3);
        f.record(4);
        f.record(4);
        // Two instances failed twice each: more than one instance over its limit.
        assert!(f.failed(&lenient));
    }
}
