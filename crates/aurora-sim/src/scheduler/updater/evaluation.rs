//! Evaluating an active update (Aurora `JobUpdateControllerImpl.runUpdate`,
//! `OneWayJobUpdater`, `InstanceUpdater`, `UpdateFactory`): the target config of each
//! instance, the order and grouping the strategy allows, the failure limits, pulses, and
//! stepping one instance at a time towards its target.

use std::collections::{BTreeMap, BTreeSet};

use aurora_thrift::ranges;
use aurora_thrift::types::{
    JobInstanceUpdateEvent, JobKey, JobUpdateAction, JobUpdateStatus, JobUpdateStrategy,
    ScheduleStatus, TaskConfig,
};

use crate::engine::{Core, MAX_RANGE_IDS};
use crate::state::{InstPhase, InstProgress, UpdateRec};

/// Event message of an expired pulse (`JobUpdateControllerImpl.PULSE_TIMEOUT_MESSAGE`).
pub const PULSE_TIMEOUT_MESSAGE: &str = "Pulses from external service have timed out.";

impl Core {
    /// Target config per instance in the update's current direction: forward = desired
    /// state (absent = remove), backward = initial state (absent = remove).
    fn targets(u: &UpdateRec, forward: bool) -> BTreeMap<i32, Option<TaskConfig>> {
        let mut out: BTreeMap<i32, Option<TaskConfig>> = BTreeMap::new();
        let Some(instr) = u
            .details
            .update
            .as_ref()
            .and_then(|x| x.instructions.as_ref())
        else {
            return out;
        };
        let desired = instr.desired_state.as_ref();
        let desired_ids = desired
            .map(|d| ranges::expand(d.instances.iter().flatten(), MAX_RANGE_IDS))
            .unwrap_or_default();
        let mut initial: BTreeMap<i32, TaskConfig> = BTreeMap::new();
        for group in instr.initial_state.iter().flatten() {
            for id in ranges::expand(group.instances.iter().flatten(), MAX_RANGE_IDS) {
                if let Some(t) = group.task.clone() {
                    initial.insert(id, t);
                }
            }
        }
        let all: BTreeSet<i32> = desired_ids
            .iter()
            .copied()
            .chain(initial.keys().copied())
            .collect();
        for id in all {
            let target = if forward {
                desired_ids
                    .contains(&id)
                    .then(|| desired.and_then(|d| d.task.clone()))
                    .flatten()
            } else {
                initial.get(&id).cloned()
            };
            out.insert(id, target);
        }
        out
    }

    /// The order instances are worked on (UpdateFactory.UpdateOrdering): instances to
    /// create, then to update, then to kill, by id within each group; reversed for a rollback.
    fn update_order(u: &UpdateRec, forward: bool) -> Vec<i32> {
        let Some(instr) = u
            .details
            .update
            .as_ref()
            .and_then(|x| x.instructions.as_ref())
        else {
            return Vec::new();
        };
        let current: BTreeSet<i32> = instr
            .initial_state
            .iter()
            .flatten()
            .flat_map(|g| ranges::expand(g.instances.iter().flatten(), MAX_RANGE_IDS))
            .collect();
        let desired: BTreeSet<i32> = instr
            .desired_state
            .as_ref()
            .map(|d| ranges::expand(d.instances.iter().flatten(), MAX_RANGE_IDS))
            .unwrap_or_default();
        let mut order: Vec<(u8, i32)> = current
            .union(&desired)
            .map(|i| {
                let priority = match (desired.contains(i), current.contains(i)) {
                    (true, false) => 1,
                    (true, true) => 2,
                    _ => 3,
                };
                (priority, *i)
            })
            .collect();
        order.sort_unstable();
        if !forward {
            order.reverse();
        }
        order.into_iter().map(|(_, i)| i).collect()
    }

    fn instance_event(&mut self, idx: usize, instance: i32, action: JobUpdateAction) {
        let now = self.now();
        let Some(u) = self.state.updates.get_mut(idx) else {
            return;
        };
        let events = u.details.instance_events.get_or_insert_with(Vec::new);
        // "A given instance update action may only be issued once" (JobUpdateControllerImpl).
        if events
            .iter()
            .any(|e| e.instance_id == Some(instance) && e.action == Some(action))
        {
            return;
        }
        events.push(JobInstanceUpdateEvent {
            instance_id: Some(instance),
            timestamp_ms: Some(now),
            action: Some(action),
            message: None,
        });
        self.dirty = true;
    }

    /// A task of `job` failed: counts against the update's per-instance limit when it ran the
    /// update's target config (InstanceUpdater).
    pub(crate) fn note_instance_failure(
        &mut self,
        job: &JobKey,
        instance: i32,
        config: &TaskConfig,
    ) {
        let Some(idx) = self.active_update(job) else {
            return;
        };
        let (forward, max_per) = {
            let u = &self.state.updates[idx];
            let s = u.status();
            let forward = matches!(
                s,
                JobUpdateStatus::ROLLING_FORWARD
                    | JobUpdateStatus::ROLL_FORWARD_PAUSED
                    | JobUpdateStatus::ROLL_FORWARD_AWAITING_PULSE
            );
            (forward, u.settings().max_per_instance_failures.unwrap_or(0))
        };
        let target = Self::targets(&self.state.updates[idx], forward)
            .get(&instance)
            .cloned()
            .flatten();
        if target.as_ref() != Some(config) {
            return;
        }
        let failed = {
            let u = &mut self.state.updates[idx];
            let Some(p) = u.insts.get_mut(&instance) else {
                return;
            };
            if p.phase != InstPhase::Working {
                return;
            }
            p.failures += 1;
            if p.failures > max_per {
                p.phase = InstPhase::Failed;
                true
            } else {
                false
            }
        };
        if failed {
            let action = if forward {
                JobUpdateAction::INSTANCE_UPDATE_FAILED
            } else {
                JobUpdateAction::INSTANCE_ROLLBACK_FAILED
            };
            self.instance_event(idx, instance, action);
        }
        self.dirty = true;
    }

    /// Runs every active update's updater once.
    pub fn evaluate_updates(&mut self) {
        let touched = std::mem::take(&mut self.touched);
        // Only an active update has anything to evaluate (`evaluate_update` does nothing for
        // the others), in the order they were created. Evaluating one never activates
        // another, so the set taken here is the set to look at.
        let active: Vec<usize> = self.active_updates.iter().copied().collect();
        for idx in active {
            // Waiting for a time that has not come, and none of its tasks changed: nothing
            // to do (the scheduler's update controller is driven by the same two signals).
            let idle = self.state.updates.get(idx).is_some_and(|u| {
                u.wake_ms.is_some() && u.job().is_none_or(|job| !touched.contains(job))
            });
            if idle {
                continue;
            }
            // Re-evaluate after no-op instances and after a switch to ROLLING_BACK.
            for _ in 0..100_000 {
                if !self.evaluate_update(idx) {
                    break;
                }
            }
        }
    }

    /// One evaluation; returns true when it should run again right away.
    fn evaluate_update(&mut self, idx: usize) -> bool {
        let now = self.now();
        let Some(u) = self.state.updates.get(idx) else {
            return false;
        };
        let status = u.status();
        let settings = u.settings();
        let pulse_timeout = i64::from(settings.block_if_no_pulses_after_ms.unwrap_or(0));
        let forward = match status {
            JobUpdateStatus::ROLLING_FORWARD => true,
            JobUpdateStatus::ROLLING_BACK => false,
            _ => return false,
        };
        // Coordinated updates block when no pulse arrived in time.
        if pulse_timeout > 0 && now.saturating_sub(u.last_pulse_ms) >= pulse_timeout {
            {
                let blocked = if forward {
                    JobUpdateStatus::ROLL_FORWARD_AWAITING_PULSE
                } else {
                    JobUpdateStatus::ROLL_BACK_AWAITING_PULSE
                };
                self.change_update_status(
                    idx,
                    blocked,
                    None,
                    Some(PULSE_TIMEOUT_MESSAGE.to_string()),
                );
                return false;
            }
        }
        let Some(job) = u.job().cloned() else {
            return false;
        };
        // InstanceActionHandler.KillTask: "Killed for job update <update id>".
        let kill_message = format!("Killed for job update {}", u.id());
        let targets = Self::targets(u, forward);
        let min_wait = i64::from(settings.min_wait_in_instance_running_ms.unwrap_or(0).max(0));
        let mut wake: Option<i64> =
            (pulse_timeout > 0).then(|| u.last_pulse_ms.saturating_add(pulse_timeout));
        let (working_action, done_action) = if forward {
            (
                JobUpdateAction::INSTANCE_UPDATING,
                JobUpdateAction::INSTANCE_UPDATED,
            )
        } else {
            (
                JobUpdateAction::INSTANCE_ROLLING_BACK,
                JobUpdateAction::INSTANCE_ROLLED_BACK,
            )
        };

        // Progress every working instance.
        let working: Vec<i32> = self.state.updates[idx]
            .insts
            .iter()
            .filter(|(_, p)| p.phase == InstPhase::Working)
            .map(|(i, _)| *i)
            .collect();
        for inst in working {
            let target = targets.get(&inst).cloned().flatten();
            if let Some(w) =
                self.step_instance(&job, inst, target.as_ref(), min_wait, &kill_message)
            {
                wake = Some(wake.map_or(w, |x| x.min(w)));
            } else {
                self.set_phase(idx, inst, InstPhase::Succeeded);
                self.instance_event(idx, inst, done_action);
            }
        }

        // Failure limits (maxFailedInstances) → rollback or FAILED.
        let failed: Vec<i32> = self.state.updates[idx]
            .insts
            .iter()
            .filter(|(_, p)| p.phase == InstPhase::Failed)
            .map(|(i, _)| *i)
            .collect();
        let max_failed = settings.max_failed_instances.unwrap_or(0);
        if i32::try_from(failed.len()).unwrap_or(i32::MAX) > max_failed {
            let latest = failed.last().copied().unwrap_or(0);
            // JobUpdateControllerImpl.failureMessage with StateEvaluator.Failure.EXITED.
            let message = Some(format!("Latest failure: instance {latest} exited."));
            if forward && settings.rollback_on_failure == Some(true) {
                self.change_update_status(idx, JobUpdateStatus::ROLLING_BACK, None, message);
                return true;
            }
            self.change_update_status(idx, JobUpdateStatus::FAILED, None, message);
            return false;
        }

        // Done?
        let u = &self.state.updates[idx];
        let all_done = targets.keys().all(|i| {
            u.insts
                .get(i)
                .is_some_and(|p| matches!(p.phase, InstPhase::Succeeded | InstPhase::Failed))
        });
        if all_done {
            let end = if forward {
                JobUpdateStatus::ROLLED_FORWARD
            } else {
                JobUpdateStatus::ROLLED_BACK
            };
            self.change_update_status(idx, end, None, None);
            return false;
        }

        // Start more instances as the strategy allows.
        let idle: Vec<i32> = Self::update_order(u, forward)
            .into_iter()
            .filter(|i| u.insts.get(i).is_none_or(|p| p.phase == InstPhase::Idle))
            .collect();
        let working_now = u
            .insts
            .values()
            .filter(|p| p.phase == InstPhase::Working)
            .count();
        let strategy = effective_strategy(&settings);
        let to_start: Vec<i32> = match &strategy {
            JobUpdateStrategy::QueueStrategy(q) => {
                let group = usize::try_from(q.group_size.unwrap_or(1).max(1)).unwrap_or(1);
                idle.iter()
                    .copied()
                    .take(group.saturating_sub(working_now))
                    .collect()
            }
            JobUpdateStrategy::BatchStrategy(_) | JobUpdateStrategy::VarBatchStrategy(_) => {
                if working_now > 0 || idle.is_empty() {
                    Vec::new()
                } else {
                    let (sizes, autopause) = match &strategy {
                        JobUpdateStrategy::BatchStrategy(b) => (
                            vec![b.group_size.unwrap_or(1)],
                            b.autopause_after_batch == Some(true),
                        ),
                        // VariableBatchStrategy is told the direction; a rollback walks
                        // the batches in reverse (inferred from UpdateFactory).
                        JobUpdateStrategy::VarBatchStrategy(v) => {
                            let mut sizes = v.group_sizes.clone().unwrap_or_default();
                            if !forward {
                                sizes.reverse();
                            }
                            (sizes, v.autopause_after_batch == Some(true))
                        }
                        JobUpdateStrategy::QueueStrategy(_) => (vec![1], false),
                    };
                    let batch_no = u.batch_no;
                    // Autopause after each completed batch ("Update auto paused").
                    if forward && autopause && batch_no > 0 && u.autopaused_after != Some(batch_no)
                    {
                        if let Some(u) = self.state.updates.get_mut(idx) {
                            u.autopaused_after = Some(batch_no);
                        }
                        self.change_update_status(
                            idx,
                            JobUpdateStatus::ROLL_FORWARD_PAUSED,
                            None,
                            Some("Update auto paused".to_string()),
                        );
                        return false;
                    }
                    let size = sizes
                        .get(batch_no)
                        .or(sizes.last())
                        .copied()
                        .unwrap_or(1)
                        .max(1);
                    let size = usize::try_from(size).unwrap_or(1);
                    if let Some(u) = self.state.updates.get_mut(idx) {
                        u.batch_no += 1;
                    }
                    idle.iter().copied().take(size).collect()
                }
            }
        };
        let mut again = false;
        for inst in to_start {
            self.set_phase(idx, inst, InstPhase::Working);
            let target = targets.get(&inst).cloned().flatten();
            match self.step_instance(&job, inst, target.as_ref(), min_wait, &kill_message) {
                Some(w) => {
                    self.instance_event(idx, inst, working_action);
                    wake = Some(wake.map_or(w, |x| x.min(w)));
                }
                // Already in the target state: WORKING+SUCCEEDED with no saved events is a
                // no-op and suppressed (JobUpdateControllerImpl NOOP_INSTANCE_UPDATE).
                None => {
                    self.set_phase(idx, inst, InstPhase::Succeeded);
                    again = true;
                }
            }
        }
        if let Some(u) = self.state.updates.get_mut(idx) {
            u.wake_ms = wake.filter(|w| *w > now);
        }
        again
    }

    fn set_phase(&mut self, idx: usize, inst: i32, phase: InstPhase) {
        if let Some(u) = self.state.updates.get_mut(idx) {
            u.insts
                .entry(inst)
                .and_modify(|p| p.phase = phase)
                .or_insert(InstProgress { phase, failures: 0 });
            self.dirty = true;
        }
    }

    /// Moves one instance towards its target; `None` when it is there (RUNNING with the
    /// target config for `min_wait` ms, or gone when the target is removal), otherwise
    /// `Some(time to look again)` (`i64::MAX` = on the next task event).
    fn step_instance(
        &mut self,
        job: &JobKey,
        inst: i32,
        target: Option<&TaskConfig>,
        min_wait: i64,
        kill_message: &str,
    ) -> Option<i64> {
        let now = self.now();
        let current = self.active_tasks(job).get(&inst).map(|t| {
            (
                t.id().to_string(),
                t.status(),
                t.config().cloned(),
                t.running_since,
            )
        });
        match (current, target) {
            (None, None) => None,
            (None, Some(cfg)) => {
                let ancestor = self
                    .job_tasks(job)
                    .filter(|t| t.instance() == inst)
                    .max_by_key(|t| t.seq)
                    .map(|t| t.id().to_string());
                self.add_task(cfg, inst, ancestor, 0);
                Some(i64::MAX)
            }
            (Some((id, status, _, _)), None) => {
                if status != ScheduleStatus::KILLING {
                    self.kill_task(&id, Some(kill_message.to_string()));
                }
                // A PENDING task is deleted at once: the instance is gone now.
                if self.state.tasks.contains_key(&id) {
                    Some(i64::MAX)
                } else {
                    None
                }
            }
            (Some((id, status, config, since)), Some(cfg)) => {
                if config.as_ref() != Some(cfg) {
                    if status != ScheduleStatus::KILLING && status != ScheduleStatus::RESTARTING {
                        self.kill_task(&id, Some(kill_message.to_string()));
                    }
                    // A PENDING task is deleted at once: replace it right away.
                    if !self.state.tasks.contains_key(&id) {
                        self.add_task(cfg, inst, None, 0);
                    }
                    return Some(i64::MAX);
                }
                if status == ScheduleStatus::RUNNING {
                    let since = since.unwrap_or(now);
                    if now.saturating_sub(since) >= min_wait {
                        return None;
                    }
                    return Some(since.saturating_add(min_wait));
                }
                Some(i64::MAX)
            }
        }
    }
}

/// The strategy an update runs with: `updateStrategy`, or back-filled from the deprecated
/// fields (reference §1.6 startJobUpdate step 2).
pub fn effective_strategy(s: &aurora_thrift::types::JobUpdateSettings) -> JobUpdateStrategy {
    use aurora_thrift::types::{BatchJobUpdateStrategy, QueueJobUpdateStrategy};
    match &s.update_strategy {
        Some(st) => st.clone(),
        None if s.wait_for_batch_completion == Some(true) => {
            JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
                group_size: Some(s.update_group_size.unwrap_or(0)),
                autopause_after_batch: Some(false),
            })
        }
        None => JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy {
            group_size: Some(s.update_group_size.unwrap_or(0)),
        }),
    }
}
