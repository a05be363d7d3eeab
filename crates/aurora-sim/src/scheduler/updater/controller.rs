//! The RPCs that start and steer job updates (Aurora `JobUpdateControllerImpl`,
//! `SchedulerThriftInterface.startJobUpdate`): startJobUpdate, pauseJobUpdate,
//! resumeJobUpdate, abortJobUpdate, rollbackJobUpdate and pulseJobUpdate.

use std::collections::{BTreeMap, BTreeSet};

use aurora_thrift::ranges;
use aurora_thrift::types::{
    self as t, InstanceTaskConfig, JobUpdate, JobUpdateDetails, JobUpdateInstructions,
    JobUpdateKey, JobUpdatePulseStatus, JobUpdateRequest, JobUpdateState, JobUpdateStatus,
    JobUpdateStrategy, JobUpdateSummary, PulseJobUpdateResult, ResponseCode, StartJobUpdateResult,
    TaskConfig,
};

use super::{effective_strategy, status_name, transition_allowed};
use crate::engine::{Core, MAX_RANGE_IDS, update_active};
use crate::scheduler::read_only::groups;
use crate::scheduler::{R, error, invalid, ok, ok_msg, response, update_key_string};
use crate::shape;
use crate::state::UpdateRec;
use crate::validate::{valid_key, validate_task};

/// A user action on an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// pauseJobUpdate.
    Pause,
    /// resumeJobUpdate.
    Resume,
    /// abortJobUpdate.
    Abort,
    /// rollbackJobUpdate.
    Rollback,
}

impl Core {
    /// The update's summary as `IJobUpdateSummary.newBuilder()` hands it out.
    fn update_summary(u: &UpdateRec) -> Option<JobUpdateSummary> {
        let mut summary = u.details.update.as_ref().and_then(|x| x.summary.clone())?;
        shape::job_update_summary(&mut summary);
        Some(summary)
    }

    /// startJobUpdate (reference §1.6, checks 1-8 in order).
    pub(crate) fn start_job_update(
        &mut self,
        request: Option<JobUpdateRequest>,
        message: Option<String>,
    ) -> R {
        let Some(req) = request else {
            return error(None);
        };
        let Some(task) = req.task_config.as_ref() else {
            return error(None);
        };
        // 1. Services only.
        if task.is_service != Some(true) {
            return invalid("Updates are not supported for non-service tasks.");
        }
        let Some(mut settings) = req.settings.clone() else {
            return error(None);
        };
        // 2. Back-fill the strategy; group sizes must be positive.
        let strategy = effective_strategy(&settings);
        match &strategy {
            JobUpdateStrategy::QueueStrategy(q) if q.group_size.unwrap_or(0) <= 0 => {
                return invalid("Update results in no instance being modified.");
            }
            JobUpdateStrategy::BatchStrategy(b) if b.group_size.unwrap_or(0) <= 0 => {
                return invalid("Update results in no instance being modified.");
            }
            JobUpdateStrategy::VarBatchStrategy(v)
                if v.group_sizes.iter().flatten().any(|s| *s <= 0) =>
            {
                return invalid("All update group sizes must be positive.");
            }
            // The sum of the sizes is the number of instances the strategy touches.
            JobUpdateStrategy::VarBatchStrategy(v)
                if v.group_sizes
                    .iter()
                    .flatten()
                    .map(|s| i64::from(*s))
                    .sum::<i64>()
                    <= 0 =>
            {
                return invalid("Update results in no instance being modified.");
            }
            _ => {}
        }
        settings.update_strategy = Some(strategy);
        // 3. Failure and timing settings.
        let count = req.instance_count.unwrap_or(0);
        let per = settings.max_per_instance_failures.unwrap_or(0);
        if per < 0 {
            return invalid("maxPerInstanceFailures must be non-negative.");
        }
        if settings.max_failed_instances.unwrap_or(0) < 0 {
            return invalid("maxFailedInstances must be non-negative.");
        }
        if i64::from(per) * i64::from(count) > i64::from(self.cfg.max_update_instance_failures) {
            return invalid(
                "Your update allows too many failures to occur, consider decreasing the \
                 per-instance failures or maxFailedInstances.",
            );
        }
        if settings.min_wait_in_instance_running_ms.unwrap_or(0) < 0 {
            return invalid("minWaitInInstanceRunningMs must be non-negative.");
        }
        if settings.block_if_no_pulses_after_ms.is_some_and(|v| v < 0) {
            return invalid("blockIfNoPulsesAfterMs must be positive.");
        }
        if settings.sla_aware == Some(true) && task.sla_policy.is_none() {
            return invalid("slaAware is true, but no task slaPolicy is specified.");
        }
        // 4. Validate and populate.
        let populated = match validate_task(&self.cfg, task, count) {
            Ok(p) => p,
            Err(m) => return invalid(m),
        };
        let Some(job) = populated.job.clone() else {
            return error(None);
        };
        // 5. Not for cron jobs.
        if self.is_cron(&job) {
            return invalid("Cron jobs may only be created/updated by calling scheduleCronJob.");
        }
        // 6. Diff; scope ids must be relevant; a no-op creates nothing.
        let scope = ranges::expand(
            settings.update_only_these_instances.iter().flatten(),
            MAX_RANGE_IDS,
        );
        let current: BTreeSet<i32> = self.active_tasks(&job).keys().copied().collect();
        let bad: Vec<i32> = scope
            .iter()
            .copied()
            .filter(|i| !current.contains(i) && !(0..count).contains(i))
            .collect();
        if !bad.is_empty() {
            return invalid(format!(
                "The update request attempted to update specific instances, but some are \
                 irrelevant to the update and current job state: {bad:?}"
            ));
        }
        let d = self.diff(&job, &populated, count, &scope);
        if d.is_noop() {
            return ok_msg("Job is unchanged by proposed update.");
        }
        // 7. Instance count and quota; an active update is returned in the result.
        if let Err(m) = self
            .check_instance_count(count)
            .and_then(|()| self.check_quota(&populated, count, &job, true))
        {
            return invalid(m);
        }
        if let Some(idx) = self.active_update(&job) {
            let u = &self.state.updates[idx];
            let summary = Self::update_summary(u);
            return response(
                ResponseCode::INVALID_REQUEST,
                Some(t::Result::StartJobUpdateResult(StartJobUpdateResult {
                    key: summary.as_ref().and_then(|s| s.key.clone()),
                    update_summary: summary,
                })),
                vec![Some(
                    "An active update already exists for this job, please terminate it before \
                     starting another. Active updates are those in states [ROLLING_FORWARD, \
                     ROLLING_BACK, ROLL_FORWARD_PAUSED, ROLL_BACK_PAUSED, \
                     ROLL_FORWARD_AWAITING_PULSE, ROLL_BACK_AWAITING_PULSE]"
                        .to_string(),
                )],
            );
        }
        // 8. Create the update.
        let now = self.now();
        let seq = self.state.next_seq();
        let id = format!(
            "{:08x}-0000-4000-9000-{:012x}",
            seq >> 32,
            seq & 0xffff_ffff_ffff
        );
        let key = JobUpdateKey {
            job: Some(job.clone()),
            id: Some(id),
        };
        let mut initial: BTreeMap<i32, TaskConfig> = d.update.clone();
        initial.extend(d.remove.clone());
        let initial_state: BTreeSet<InstanceTaskConfig> = groups(&initial)
            .into_iter()
            .map(|g| InstanceTaskConfig {
                task: g.config,
                instances: g.instances,
            })
            .collect();
        let desired_ids: Vec<i32> = d.add.keys().chain(d.update.keys()).copied().collect();
        let desired_state = (!desired_ids.is_empty()).then(|| InstanceTaskConfig {
            task: Some(populated.clone()),
            instances: Some(ranges::compress(desired_ids)),
        });
        let coordinated = settings.block_if_no_pulses_after_ms.unwrap_or(0) > 0;
        let status = if coordinated {
            JobUpdateStatus::ROLL_FORWARD_AWAITING_PULSE
        } else {
            JobUpdateStatus::ROLLING_FORWARD
        };
        let summary = JobUpdateSummary {
            user: Some(self.audit_user.clone()),
            state: Some(JobUpdateState {
                status: Some(status),
                created_timestamp_ms: Some(now),
                last_modified_timestamp_ms: Some(now),
            }),
            key: Some(key.clone()),
            metadata: req.metadata.clone(),
        };
        let details = JobUpdateDetails {
            update: Some(JobUpdate {
                summary: Some(summary.clone()),
                instructions: Some(JobUpdateInstructions {
                    initial_state: Some(initial_state),
                    desired_state,
                    settings: Some(settings),
                }),
            }),
            update_events: Some(vec![t::JobUpdateEvent {
                status: Some(status),
                timestamp_ms: Some(now),
                user: Some(self.audit_user.clone()),
                message,
            }]),
            instance_events: Some(Vec::new()),
        };
        self.push_update(UpdateRec {
            details,
            last_pulse_ms: 0,
            insts: BTreeMap::new(),
            batch_no: 0,
            batch: Vec::new(),
            autopaused_after: None,
            wake_ms: None,
            seq,
        });
        self.dirty = true;
        self.evaluate_updates();
        // The reply carries the summary as built before the update started: key, user and
        // metadata, no state (SchedulerThriftInterface.startJobUpdate).
        let mut reply_summary = JobUpdateSummary {
            state: None,
            ..summary
        };
        // IJobUpdateSummary.newBuilder: request metadata left unset comes back empty.
        shape::job_update_summary(&mut reply_summary);
        ok(Some(t::Result::StartJobUpdateResult(
            StartJobUpdateResult {
                key: Some(key),
                update_summary: Some(reply_summary),
            },
        )))
    }

    fn find_update(&self, key: &JobUpdateKey) -> Option<usize> {
        let is_key = |idx: &usize| {
            self.state.updates.get(*idx).is_some_and(|u| {
                u.details
                    .update
                    .as_ref()
                    .and_then(|x| x.summary.as_ref())
                    .and_then(|s| s.key.as_ref())
                    == Some(key)
            })
        };
        // An update's key holds its job: only that job's updates can match.
        self.job_updates(&key.job.clone().unwrap_or_default())
            .find(is_key)
    }

    fn pulse_expired(&self, idx: usize) -> bool {
        let u = &self.state.updates[idx];
        let timeout = i64::from(u.settings().block_if_no_pulses_after_ms.unwrap_or(0));
        timeout > 0 && self.now().saturating_sub(u.last_pulse_ms) >= timeout
    }

    /// pause/resume/abort/rollbackJobUpdate (reference §1.6; JobUpdateControllerImpl,
    /// JobUpdateStateMachine).
    pub(crate) fn control_update(
        &mut self,
        key: Option<JobUpdateKey>,
        op: Control,
        message: Option<String>,
    ) -> R {
        use JobUpdateStatus as S;
        // JobKeys.assertValid(key.getJob()) → IllegalArgumentException → ERROR.
        let Some(key) = key.filter(|k| valid_key(k.job.as_ref())) else {
            return error(None);
        };
        let Some(idx) = self.find_update(&key) else {
            let sep = if op == Control::Resume { ": " } else { " " };
            return invalid(format!(
                "Update does not exist{sep}{}",
                update_key_string(&key)
            ));
        };
        let from = self.state.updates[idx].status();
        // JobUpdateControllerImpl.pause (0.22) pauses any update, auto-pausing ones included
        // (the refusal "Pauses not allowed on auto-pause enabled job updates" existed only in
        // aurora-scheduler 0.24.2: added by #216, reverted by #249).
        // JobUpdateStateMachine's maps; a status without an entry maps to null, which
        // assertTransitionAllowed then refuses ("… to null").
        let to: Option<S> = match op {
            // PAUSE_BEHAVIOR
            Control::Pause => match from {
                S::ROLLING_FORWARD | S::ROLL_FORWARD_AWAITING_PULSE | S::ROLL_FORWARD_PAUSED => {
                    Some(S::ROLL_FORWARD_PAUSED)
                }
                S::ROLLING_BACK | S::ROLL_BACK_AWAITING_PULSE | S::ROLL_BACK_PAUSED => {
                    Some(S::ROLL_BACK_PAUSED)
                }
                _ => None,
            },
            // RESUME_BLOCKED_BEHAVIOR when a coordinated update's pulse expired, else
            // RESUME_ACTIVE_BEHAVIOR.
            Control::Resume => {
                if self.pulse_expired(idx) {
                    match from {
                        S::ROLL_FORWARD_PAUSED | S::ROLL_FORWARD_AWAITING_PULSE => {
                            Some(S::ROLL_FORWARD_AWAITING_PULSE)
                        }
                        S::ROLL_BACK_PAUSED | S::ROLL_BACK_AWAITING_PULSE => {
                            Some(S::ROLL_BACK_AWAITING_PULSE)
                        }
                        _ => None,
                    }
                } else {
                    match from {
                        S::ROLL_FORWARD_PAUSED | S::ROLLING_FORWARD => Some(S::ROLLING_FORWARD),
                        S::ROLL_BACK_PAUSED | S::ROLLING_BACK => Some(S::ROLLING_BACK),
                        _ => None,
                    }
                }
            }
            Control::Abort => Some(S::ABORTED),
            Control::Rollback => Some(S::ROLLING_BACK),
        };
        let Some(to) = to else {
            return invalid(format!(
                "Cannot transition update from {} to null",
                status_name(from)
            ));
        };
        if from == to {
            return ok(None);
        }
        if !transition_allowed(from, to) {
            return invalid(format!(
                "Cannot transition update from {} to {}",
                status_name(from),
                status_name(to)
            ));
        }
        let user = Some(self.audit_user.clone());
        self.change_update_status(idx, to, user, message);
        self.evaluate_updates();
        ok(None)
    }

    /// pulseJobUpdate (reference §1.6; JobUpdateControllerImpl.pulse): OK for an active
    /// coordinated update (unblocking it), FINISHED otherwise.
    pub(crate) fn pulse_job_update(&mut self, key: Option<JobUpdateKey>) -> R {
        use JobUpdateStatus as S;
        // validateJobUpdateKey: valid job key and a non-blank id, else ERROR.
        let Some(key) = key.filter(|k| {
            valid_key(k.job.as_ref()) && k.id.as_deref().is_some_and(|id| !id.trim().is_empty())
        }) else {
            return error(None);
        };
        let finished = ok(Some(t::Result::PulseJobUpdateResult(
            PulseJobUpdateResult {
                status: Some(JobUpdatePulseStatus::FINISHED),
            },
        )));
        let Some(idx) = self.find_update(&key) else {
            return finished;
        };
        let u = &self.state.updates[idx];
        // Only coordinated updates have pulse state; others and terminal ones are FINISHED.
        if !update_active(u.status()) || u.settings().block_if_no_pulses_after_ms.unwrap_or(0) <= 0
        {
            return finished;
        }
        let now = self.now();
        let from = u.status();
        if let Some(u) = self.state.updates.get_mut(idx) {
            u.last_pulse_ms = now;
        }
        self.dirty = true;
        // GET_UNBLOCKED_STATE
        let unblocked = match from {
            S::ROLL_FORWARD_AWAITING_PULSE => Some(S::ROLLING_FORWARD),
            S::ROLL_BACK_AWAITING_PULSE => Some(S::ROLLING_BACK),
            _ => None,
        };
        if let Some(to) = unblocked {
            self.change_update_status(idx, to, None, None);
            self.evaluate_updates();
        }
        ok(Some(t::Result::PulseJobUpdateResult(
            PulseJobUpdateResult {
                status: Some(JobUpdatePulseStatus::OK),
            },
        )))
    }
}
