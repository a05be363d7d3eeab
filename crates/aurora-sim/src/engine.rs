//! The emulator's core: the stored state with the indexes kept beside it, the queries every
//! part of the scheduler shares, and time. Time only moves through [`Core::advance_to`], which
//! replays every due event in time order, so the outcome does not depend on when clients poll.
//!
//! What an RPC or a due event does to the core lives in `crate::scheduler`, one module per
//! concern as Aurora splits its scheduler: the task lifecycle (PENDING → ASSIGNED → STARTING →
//! RUNNING → FINISHED/FAILED, KILLING → KILLED, RESTARTING → KILLED → rescheduled) in
//! `scheduler::tasks`, cron runs in `scheduler::cron_jobs`, and the job update state machine
//! (Aurora `JobUpdateControllerImpl`, `JobUpdateStateMachine`, `InstanceUpdater`; reference
//! §1.6) in `scheduler::updater`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aurora_thrift::types::{ConstACTIVESTATES, JobKey, JobUpdateStatus, ScheduleStatus};

use crate::config::SimConfig;
use crate::state::{SimTask, State, UpdateRec};
use crate::validate::key_string;

/// Events replayed per call before a time jump is compressed (see [`Core::advance_to`]).
pub const MAX_EVENT_STEPS: usize = 10_000;
/// The audit user without authentication (reference §2.3).
pub const AUDIT_USER: &str = "UNSECURE";
/// The most instance ids read from a set of ranges ([`aurora_thrift::ranges::expand`]): far
/// beyond any real job, so a client's `0..=i32::MAX` cannot exhaust memory.
pub const MAX_RANGE_IDS: usize = 100_001;

/// The emulator's mutable core, kept behind one mutex.
#[derive(Debug)]
pub struct Core {
    /// Configuration.
    pub cfg: Arc<SimConfig>,
    /// State.
    pub state: State,
    /// Set when the state changed since the last save.
    pub dirty: bool,
    /// The audit user of the call being handled.
    pub audit_user: String,
    /// Task ids by job, so that a job's tasks are found without scanning every task (the
    /// scheduler's own store indexes them by job the same way). Kept in step with
    /// `state.tasks` by the only three places that add or remove tasks (`scheduler::tasks`).
    pub(crate) by_job: BTreeMap<JobKey, BTreeSet<String>>,
    /// (due time, task id) of every task with a transition due, so the event loop finds the
    /// next event and the due tasks without scanning every task. Kept in step with
    /// `SimTask::due_ms` by [`Core::set_due`], `add_task` and `remove_task` (`scheduler::tasks`).
    pub(crate) due: BTreeSet<(i64, String)>,
    /// Jobs whose tasks changed since the updates were last evaluated: an update waiting for
    /// a time (`wake_ms`) needs a look before then only when one of its tasks changed.
    pub(crate) touched: BTreeSet<JobKey>,
    /// Positions in `state.updates` of every update of a job, oldest first (Aurora's
    /// `MemJobUpdateStore` maps update keys, which hold the job, to updates and filters on
    /// each query; the index gives the same answers); an update without a job key, which only a
    /// damaged state file holds, is under the empty key, as the queries read it. Updates are
    /// only ever appended, so positions are stable; kept in step by [`Core::push_update`].
    pub(crate) updates_by_job: BTreeMap<JobKey, Vec<usize>>,
    /// Positions of the updates in an active status (`ACTIVE_JOB_UPDATE_STATES`): only
    /// these move or wait for a time, so the event loop looks at them and not at the whole
    /// history. Kept in step by [`Core::push_update`] and `change_update_status`.
    pub(crate) active_updates: BTreeSet<usize>,
}

/// The update indexes of a store's updates, built from scratch: positions per job (oldest
/// first) and of the active ones (see [`Core::updates_by_job`], [`Core::active_updates`]).
pub(crate) fn update_indexes(
    updates: &[UpdateRec],
) -> (BTreeMap<JobKey, Vec<usize>>, BTreeSet<usize>) {
    let mut by_job: BTreeMap<JobKey, Vec<usize>> = BTreeMap::new();
    let mut active = BTreeSet::new();
    for (idx, u) in updates.iter().enumerate() {
        by_job
            .entry(u.job().cloned().unwrap_or_default())
            .or_default()
            .push(idx);
        if update_active(u.status()) {
            active.insert(idx);
        }
    }
    (by_job, active)
}

/// The entries of `map` whose job belongs to `role`, in key order: a range of the map, since
/// job keys order by role first (`JobKey` derives `Ord` over role, environment, name, and an
/// unset part sorts before any set one).
pub(crate) fn of_role<'a, V>(
    map: &'a BTreeMap<JobKey, V>,
    role: &'a str,
) -> impl Iterator<Item = (&'a JobKey, &'a V)> + 'a {
    let first = JobKey {
        role: Some(role.to_string()),
        environment: None,
        name: None,
    };
    map.range(first..)
        .take_while(move |(k, _)| k.role.as_deref() == Some(role))
}

/// Whether a status is in `ACTIVE_STATES` (reference §1.3).
pub fn is_active(s: ScheduleStatus) -> bool {
    ConstACTIVESTATES::const_value().contains(&s)
}

/// Whether a status is terminal (`TERMINAL_STATES`).
pub fn is_terminal(s: ScheduleStatus) -> bool {
    matches!(
        s,
        ScheduleStatus::FAILED
            | ScheduleStatus::FINISHED
            | ScheduleStatus::KILLED
            | ScheduleStatus::LOST
    )
}

/// Whether an update status is active (`ACTIVE_JOB_UPDATE_STATES`).
pub fn update_active(s: JobUpdateStatus) -> bool {
    matches!(
        s,
        JobUpdateStatus::ROLLING_FORWARD
            | JobUpdateStatus::ROLLING_BACK
            | JobUpdateStatus::ROLL_FORWARD_PAUSED
            | JobUpdateStatus::ROLL_BACK_PAUSED
            | JobUpdateStatus::ROLL_FORWARD_AWAITING_PULSE
            | JobUpdateStatus::ROLL_BACK_AWAITING_PULSE
    )
}

impl Core {
    /// A core over `state`.
    pub fn new(cfg: Arc<SimConfig>, state: State) -> Self {
        let mut state = state;
        // A state file written before replies took the wrappers' shape: store what
        // `ITaskConfig.build` would have stored, so configs compare as they do in Aurora.
        for t in state.tasks.values_mut() {
            crate::shape::scheduled_task(&mut t.task);
        }
        for c in state.crons.values_mut() {
            crate::shape::job_configuration(&mut c.config);
        }
        for u in &mut state.updates {
            crate::shape::job_update_details(&mut u.details);
        }
        let mut by_job: BTreeMap<JobKey, BTreeSet<String>> = BTreeMap::new();
        let mut due = BTreeSet::new();
        for (id, t) in &state.tasks {
            if let Some(job) = t.job() {
                by_job.entry(job.clone()).or_default().insert(id.clone());
            }
            if let Some(d) = t.due_ms {
                due.insert((d, id.clone()));
            }
        }
        let (updates_by_job, active_updates) = update_indexes(&state.updates);
        Core {
            cfg,
            state,
            dirty: false,
            audit_user: AUDIT_USER.to_string(),
            by_job,
            due,
            touched: BTreeSet::new(),
            updates_by_job,
            active_updates,
        }
    }

    /// Stores a new update, keeping the update indexes in step; returns its position.
    pub(crate) fn push_update(&mut self, update: UpdateRec) -> usize {
        let idx = self.state.updates.len();
        self.updates_by_job
            .entry(update.job().cloned().unwrap_or_default())
            .or_default()
            .push(idx);
        if update_active(update.status()) {
            self.active_updates.insert(idx);
        }
        self.state.updates.push(update);
        idx
    }

    /// The updates of a job, oldest first.
    pub(crate) fn job_updates(&self, job: &JobKey) -> impl Iterator<Item = usize> + '_ {
        self.updates_by_job.get(job).into_iter().flatten().copied()
    }

    /// The keys of the jobs with tasks in the store (any status).
    pub fn job_keys(&self) -> impl Iterator<Item = &JobKey> {
        self.by_job.keys()
    }

    /// The tasks of a job (any status).
    pub fn job_tasks<'a>(&'a self, job: &JobKey) -> impl Iterator<Item = &'a SimTask> + 'a {
        self.by_job
            .get(job)
            .into_iter()
            .flatten()
            .filter_map(|id| self.state.tasks.get(id))
    }

    /// Now, as far as the state is concerned.
    pub fn now(&self) -> i64 {
        self.state.now_ms
    }

    // ----------------------------------------------------------------------------------
    // Queries

    /// Active tasks of a job by instance id.
    pub fn active_tasks(&self, job: &JobKey) -> BTreeMap<i32, &SimTask> {
        let mut out: BTreeMap<i32, &SimTask> = BTreeMap::new();
        for t in self.job_tasks(job) {
            if is_active(t.status()) {
                match out.get(&t.instance()) {
                    Some(prev) if prev.seq > t.seq => {}
                    _ => {
                        out.insert(t.instance(), t);
                    }
                }
            }
        }
        out
    }

    /// The active update of a job, if any.
    pub fn active_update(&self, job: &JobKey) -> Option<usize> {
        self.job_updates(job).find(|idx| {
            self.active_updates.contains(idx) && self.state.updates[*idx].job() == Some(job)
        })
    }

    /// Whether a job has a cron template.
    pub fn is_cron(&self, job: &JobKey) -> bool {
        self.state.crons.contains_key(&key_string(job))
    }

    // ----------------------------------------------------------------------------------
    // Time

    fn next_due(&self) -> Option<i64> {
        let tasks = self
            .due
            .first()
            .map(|(d, _)| *d)
            .into_iter()
            .chain(self.state.crons.values().filter_map(|c| c.next_run_ms));
        let updates = self
            .active_updates
            .iter()
            .filter_map(|idx| self.state.updates.get(*idx))
            .filter_map(|u| u.wake_ms);
        tasks.chain(updates).min()
    }

    /// Whether something will happen by itself: a task transition is due (a lifecycle step,
    /// an ad-hoc task finishing, a throttled reschedule, an injected failure) or an active
    /// update waits for a moment (minimum time in RUNNING, pulse timeout). Cron runs do not
    /// count: they are far apart, and a missed one fires when the clock gets there. Drives
    /// the clock's pace ([`crate::clock::Pace`]).
    pub fn in_motion(&self) -> bool {
        !self.due.is_empty()
            || self
                .active_updates
                .iter()
                .filter_map(|idx| self.state.updates.get(*idx))
                .any(|u| u.wake_ms.is_some())
    }

    /// Updates that roll by themselves: rolling forward or back with a task transition of
    /// their job or a wake-up due. Paused and pulse-blocked updates wait for a person, and an
    /// update whose tasks cannot be placed waits for capacity, so neither counts. A shared
    /// emulator stays up while this is non-zero (so `apply --no-wait` finishes unattended).
    pub fn rolling_updates(&self) -> usize {
        self.active_updates
            .iter()
            .filter_map(|idx| self.state.updates.get(*idx))
            .filter(|u| {
                matches!(
                    u.status(),
                    JobUpdateStatus::ROLLING_FORWARD | JobUpdateStatus::ROLLING_BACK
                )
            })
            .filter(|u| {
                u.wake_ms.is_some()
                    || u.job()
                        .is_some_and(|job| self.job_tasks(job).any(|t| t.due_ms.is_some()))
            })
            .count()
    }

    /// Replays every event due up to `target` in time order, then evaluates updates.
    pub fn advance_to(&mut self, target: i64) {
        let mut steps = 0;
        while let Some(t) = self.next_due().filter(|t| *t <= target) {
            if steps == MAX_EVENT_STEPS {
                // A jump that needs more steps is compressed: whatever is still due happens
                // at `target`, as if the scheduler had been asleep (cron misfires run once).
                self.compress_to(target);
                break;
            }
            steps += 1;
            if t > self.state.now_ms {
                self.state.now_ms = t;
            }
            self.fire_due();
        }
        if target > self.state.now_ms {
            self.state.now_ms = target;
        }
        self.evaluate_updates();
    }

    /// Fires every task transition, update wake-up and cron run due at the current time.
    fn fire_due(&mut self) {
        let now = self.state.now_ms;
        let due: Vec<String> = self
            .due
            .iter()
            .take_while(|(d, _)| *d <= now)
            .map(|(_, id)| id.clone())
            .collect();
        // Only active updates wait for a time: a status change clears `wake_ms`
        // (`change_update_status`), and only a rolling update sets it.
        for idx in &self.active_updates {
            if let Some(u) = self.state.updates.get_mut(*idx)
                && u.wake_ms.is_some_and(|w| w <= now)
            {
                u.wake_ms = None;
            }
        }
        for id in due {
            self.fire_task(&id);
        }
        self.fire_crons();
        self.evaluate_updates();
    }

    fn compress_to(&mut self, target: i64) {
        self.state.now_ms = self.state.now_ms.max(target);
        let now = self.state.now_ms;
        for c in self.state.crons.values_mut() {
            if c.next_run_ms.is_some_and(|t| t < now) {
                c.next_run_ms = Some(now);
            }
        }
        let late: Vec<String> = self
            .due
            .iter()
            .take_while(|(d, _)| *d < now)
            .map(|(_, id)| id.clone())
            .collect();
        for id in late {
            self.set_due(&id, Some(now));
        }
        self.fire_due();
        self.dirty = true;
    }
}
