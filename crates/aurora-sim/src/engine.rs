//! The simulated cluster: task lifecycle (PENDING → ASSIGNED → STARTING → RUNNING →
//! FINISHED/FAILED, KILLING → KILLED, RESTARTING → KILLED → rescheduled) and the job update
//! state machine (Aurora `JobUpdateControllerImpl`, `JobUpdateStateMachine`,
//! `InstanceUpdater`; reference §1.6). Time only moves through [`Core::advance_to`], which
//! replays every due event in time order, so the outcome does not depend on when clients poll.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aurora_thrift::types::{
    AssignedTask, ConstACTIVESTATES, ConstSLAVEASSIGNEDSTATES, JobInstanceUpdateEvent, JobKey,
    JobUpdateAction, JobUpdateEvent, JobUpdateStatus, JobUpdateStrategy, Range, ScheduleStatus,
    ScheduledTask, TaskConfig, TaskEvent,
};

use crate::config::SimConfig;
use crate::state::{InstPhase, InstProgress, SimTask, State, UpdateRec};
use crate::validate::{key_string, port_names, task_resources};

/// Metadata key: the task fails this many ms after reaching RUNNING (failure injection).
pub const FAIL_AFTER_KEY: &str = "aurora-sim/fail-after-ms";
/// Metadata key: limits [`FAIL_AFTER_KEY`] to these instances (`0,2-3`).
pub const FAIL_INSTANCES_KEY: &str = "aurora-sim/fail-instances";
/// Metadata key: the task finishes this many ms after reaching RUNNING.
pub const FINISH_AFTER_KEY: &str = "aurora-sim/finish-after-ms";
/// Terminal tasks kept per job (Aurora `-history_max_per_job_threshold`, default 100).
pub const HISTORY_PER_JOB: usize = 100;
/// Events replayed per call before a time jump is compressed (see [`Core::advance_to`]).
pub const MAX_EVENT_STEPS: usize = 10_000;
/// The audit user without authentication (reference §2.3).
pub const AUDIT_USER: &str = "UNSECURE";
/// Event message of an expired pulse (`JobUpdateControllerImpl.PULSE_TIMEOUT_MESSAGE`).
pub const PULSE_TIMEOUT_MESSAGE: &str = "Pulses from external service have timed out.";

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
    /// `state.tasks` by the only three places that add or remove tasks.
    by_job: BTreeMap<JobKey, BTreeSet<String>>,
    /// (due time, task id) of every task with a transition due, so the event loop finds the
    /// next event and the due tasks without scanning every task. Kept in step with
    /// `SimTask::due_ms` by [`Core::set_due`], `add_task` and `remove_task`.
    due: BTreeSet<(i64, String)>,
    /// Jobs whose tasks changed since the updates were last evaluated: an update waiting for
    /// a time (`wake_ms`) needs a look before then only when one of its tasks changed.
    touched: BTreeSet<JobKey>,
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

/// `JobUpdateStateMachine`'s allowed transitions (reference §1.6).
pub fn transition_allowed(from: JobUpdateStatus, to: JobUpdateStatus) -> bool {
    use JobUpdateStatus as S;
    let allowed: &[S] = match from {
        S::ROLLING_FORWARD => &[
            S::ROLLING_BACK,
            S::ROLL_FORWARD_PAUSED,
            S::ROLL_FORWARD_AWAITING_PULSE,
            S::ROLLED_FORWARD,
            S::ABORTED,
            S::FAILED,
            S::ERROR,
        ],
        S::ROLLING_BACK => &[
            S::ROLL_BACK_PAUSED,
            S::ROLL_BACK_AWAITING_PULSE,
            S::ROLLED_BACK,
            S::ABORTED,
            S::ERROR,
            S::FAILED,
        ],
        S::ROLL_FORWARD_PAUSED => &[
            S::ROLLING_BACK,
            S::ROLLING_FORWARD,
            S::ROLL_FORWARD_AWAITING_PULSE,
            S::ABORTED,
            S::ERROR,
        ],
        S::ROLL_BACK_PAUSED => &[
            S::ROLLING_BACK,
            S::ROLL_BACK_AWAITING_PULSE,
            S::ABORTED,
            S::ERROR,
        ],
        S::ROLL_FORWARD_AWAITING_PULSE => &[
            S::ROLLING_BACK,
            S::ROLLING_FORWARD,
            S::ROLL_FORWARD_PAUSED,
            S::ABORTED,
            S::ERROR,
        ],
        S::ROLL_BACK_AWAITING_PULSE => {
            &[S::ROLLING_BACK, S::ROLL_BACK_PAUSED, S::ABORTED, S::ERROR]
        }
        _ => &[],
    };
    allowed.contains(&to)
}

/// Name of an update status for messages.
pub fn status_name(s: JobUpdateStatus) -> String {
    s.name()
        .map(str::to_string)
        .unwrap_or_else(|| s.0.to_string())
}

/// Groups instance ids into closed ranges.
pub fn to_ranges(ids: impl IntoIterator<Item = i32>) -> BTreeSet<Range> {
    let ids: BTreeSet<i32> = ids.into_iter().collect();
    let mut out = BTreeSet::new();
    let mut cur: Option<(i32, i32)> = None;
    for id in ids {
        cur = match cur {
            Some((a, b)) if b.checked_add(1) == Some(id) => Some((a, id)),
            Some((a, b)) => {
                out.insert(Range {
                    first: Some(a),
                    last: Some(b),
                });
                Some((id, id))
            }
            None => Some((id, id)),
        };
    }
    if let Some((a, b)) = cur {
        out.insert(Range {
            first: Some(a),
            last: Some(b),
        });
    }
    out
}

/// Expands ranges into ids (bounded to avoid absurd ranges from a client).
pub fn from_ranges<'a>(ranges: impl IntoIterator<Item = &'a Range>) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for r in ranges {
        let (a, b) = (r.first.unwrap_or(0), r.last.unwrap_or(0));
        if a > b {
            continue;
        }
        let b = b.min(a.saturating_add(100_000));
        for i in a..=b {
            out.insert(i);
        }
    }
    out
}

fn metadata_ms(t: &TaskConfig, key: &str) -> Option<i64> {
    t.metadata
        .iter()
        .flatten()
        .find(|m| m.key.as_deref() == Some(key))
        .and_then(|m| m.value.as_deref())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|v| v.max(0))
}

/// The injected failure delay for `instance`, honouring [`FAIL_INSTANCES_KEY`].
fn fail_after(t: &TaskConfig, instance: i32) -> Option<i64> {
    let delay = metadata_ms(t, FAIL_AFTER_KEY)?;
    let only = t
        .metadata
        .iter()
        .flatten()
        .find(|m| m.key.as_deref() == Some(FAIL_INSTANCES_KEY))
        .and_then(|m| m.value.clone());
    let Some(only) = only else {
        return Some(delay);
    };
    let hit = only.split(',').any(|part| {
        let part = part.trim();
        match part.split_once('-') {
            Some((a, b)) => match (a.trim().parse::<i32>(), b.trim().parse::<i32>()) {
                (Ok(a), Ok(b)) => (a..=b).contains(&instance),
                _ => false,
            },
            None => part.parse::<i32>() == Ok(instance),
        }
    });
    hit.then_some(delay)
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
        Core {
            cfg,
            state,
            dirty: false,
            audit_user: AUDIT_USER.to_string(),
            by_job,
            due,
            touched: BTreeSet::new(),
        }
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

    /// Sets when a task's next transition is due, keeping the due index in step.
    fn set_due(&mut self, id: &str, at: Option<i64>) {
        let Some(t) = self.state.tasks.get_mut(id) else {
            return;
        };
        if let Some(old) = t.due_ms {
            self.due.remove(&(old, id.to_string()));
        }
        if let Some(new) = at {
            self.due.insert((new, id.to_string()));
        }
        t.due_ms = at;
    }

    fn remove_task(&mut self, id: &str) {
        if let Some(d) = self.state.tasks.get(id).and_then(|t| t.due_ms) {
            self.due.remove(&(d, id.to_string()));
        }
        if let Some(t) = self.state.tasks.remove(id)
            && let Some(job) = t.job()
        {
            self.touched.insert(job.clone());
            if let Some(ids) = self.by_job.get_mut(job) {
                ids.remove(id);
                if ids.is_empty() {
                    self.by_job.remove(job);
                }
            }
        }
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
        self.state
            .updates
            .iter()
            .position(|u| u.job() == Some(job) && update_active(u.status()))
    }

    /// Whether a job has a cron template.
    pub fn is_cron(&self, job: &JobKey) -> bool {
        self.state.crons.contains_key(&key_string(job))
    }

    // ----------------------------------------------------------------------------------
    // Task lifecycle

    /// Inserts a new PENDING task (Aurora `StateManager.insertPendingTasks`).
    pub fn add_task(
        &mut self,
        config: &TaskConfig,
        instance: i32,
        ancestor: Option<String>,
        failure_count: i32,
    ) -> String {
        let seq = self.state.next_seq();
        let job = config.job.clone().unwrap_or_default();
        let id = format!(
            "{}-{}-{}-{}-{:08x}-0000-4000-8000-{:012x}",
            job.role.as_deref().unwrap_or(""),
            job.environment.as_deref().unwrap_or(""),
            job.name.as_deref().unwrap_or(""),
            instance,
            seq >> 32,
            seq & 0xffff_ffff_ffff
        );
        let now = self.now();
        let task = ScheduledTask {
            assigned_task: Some(AssignedTask {
                task_id: Some(id.clone()),
                slave_id: None,
                slave_host: None,
                task: Some({
                    // Stored as `IScheduledTask.build` stores it (see `shape`).
                    let mut c = config.clone();
                    crate::shape::task_config(&mut c);
                    c
                }),
                assigned_ports: Some(BTreeMap::new()),
                instance_id: Some(instance),
            }),
            status: Some(ScheduleStatus::PENDING),
            failure_count: Some(failure_count),
            task_events: Some(vec![TaskEvent {
                timestamp: Some(now),
                status: Some(ScheduleStatus::PENDING),
                message: None,
                scheduler: Some("aurora-sim".to_string()),
            }]),
            ancestor_id: ancestor,
            times_partitioned: Some(0),
        };
        if let Some(job) = task
            .assigned_task
            .as_ref()
            .and_then(|a| a.task.as_ref())
            .and_then(|c| c.job.clone())
        {
            self.touched.insert(job.clone());
            self.by_job.entry(job).or_default().insert(id.clone());
        }
        let due = now.saturating_add(self.cfg.timings.assign_ms);
        self.due.insert((due, id.clone()));
        self.state.tasks.insert(
            id.clone(),
            SimTask {
                task,
                due_ms: Some(due),
                running_since: None,
                pending_reason: None,
                seq,
                flaps: 0,
            },
        );
        self.dirty = true;
        id
    }

    /// Reschedules a task that ended (Aurora `RescheduleCalculator`): when its run was shorter
    /// than the flapping threshold the new task waits THROTTLED for a penalty (30 s, doubled
    /// per consecutive flap, at most 5 min) before it becomes PENDING. The new task's first
    /// event carries StateManagerImpl's audit message ("Rescheduled", or "Rescheduled,
    /// penalized for N ms for flapping" on THROTTLED).
    fn reschedule(&mut self, old: &SimTask, config: &TaskConfig, failure_count: i32) {
        let now = self.now();
        let timings = self.cfg.timings;
        let ran_ms = old.running_since.map(|s| now.saturating_sub(s));
        let flapping = ran_ms.is_none_or(|r| r < timings.flapping_task_threshold_ms);
        let id = self.add_task(
            config,
            old.instance(),
            Some(old.id().to_string()),
            failure_count,
        );
        if !flapping {
            if let Some(first) = self
                .state
                .tasks
                .get_mut(&id)
                .and_then(|t| t.task.task_events.as_mut())
                .and_then(|events| events.first_mut())
            {
                first.message = Some("Rescheduled".to_string());
            }
            return;
        }
        let flaps = old.flaps.saturating_add(1);
        let factor = 1i64 << (flaps - 1).min(20);
        let penalty = timings
            .initial_flapping_task_delay_ms
            .saturating_mul(factor)
            .min(timings.max_flapping_task_delay_ms);
        if let Some(t) = self.state.tasks.get_mut(&id) {
            t.flaps = flaps;
            t.task.status = Some(ScheduleStatus::THROTTLED);
            // The task goes from INIT straight to THROTTLED: that is its first event.
            t.task.task_events = Some(vec![TaskEvent {
                timestamp: Some(now),
                status: Some(ScheduleStatus::THROTTLED),
                message: Some(format!(
                    "Rescheduled, penalized for {penalty} ms for flapping"
                )),
                scheduler: Some("aurora-sim".to_string()),
            }]);
        }
        self.set_due(&id, Some(now.saturating_add(penalty)));
    }

    fn set_status(&mut self, id: &str, status: ScheduleStatus, message: Option<String>) {
        if let Some(job) = self.state.tasks.get(id).and_then(|t| t.job().cloned()) {
            self.touched.insert(job);
        }
        let now = self.now();
        if let Some(t) = self.state.tasks.get_mut(id) {
            t.task.status = Some(status);
            t.task
                .task_events
                .get_or_insert_with(Vec::new)
                .push(TaskEvent {
                    timestamp: Some(now),
                    status: Some(status),
                    message,
                    scheduler: Some("aurora-sim".to_string()),
                });
            self.dirty = true;
        }
    }

    /// Kills a task (Aurora `StateManager.changeState(KILLING)`): a PENDING task is deleted
    /// from the store (it never ran), others go to KILLING. Returns whether anything changed.
    pub fn kill_task(&mut self, id: &str, message: Option<String>) -> bool {
        let Some(status) = self.state.tasks.get(id).map(SimTask::status) else {
            return false;
        };
        if !is_active(status) || status == ScheduleStatus::KILLING {
            return false;
        }
        if status == ScheduleStatus::PENDING || status == ScheduleStatus::THROTTLED {
            self.remove_task(id);
            self.dirty = true;
        } else {
            self.set_status(id, ScheduleStatus::KILLING, message);
            let due = self.now().saturating_add(self.cfg.timings.kill_ms);
            self.set_due(id, Some(due));
        }
        true
    }

    /// Restarts a task (RESTARTING, then KILLED and rescheduled).
    pub fn restart_task(&mut self, id: &str, message: Option<String>) {
        let Some(status) = self.state.tasks.get(id).map(SimTask::status) else {
            return;
        };
        if !is_active(status) {
            return;
        }
        self.set_status(id, ScheduleStatus::RESTARTING, message);
        let due = self.now().saturating_add(self.cfg.timings.kill_ms);
        self.set_due(id, Some(due));
    }

    fn capacity_veto(&self, config: &TaskConfig) -> Option<String> {
        let cap = self.cfg.capacity?;
        let assigned = ConstSLAVEASSIGNEDSTATES::const_value();
        let (mut cpu, mut ram, mut disk) = (0.0, 0, 0);
        for t in self.state.tasks.values() {
            if assigned.contains(&t.status())
                && let Some(c) = t.config()
            {
                let r = task_resources(c);
                cpu += r.0;
                ram += r.1;
                disk += r.2;
            }
        }
        let need = task_resources(config);
        let mut vetoes = Vec::new();
        if cpu + need.0 > cap.cpus + 1e-9 {
            // Veto reasons "Insufficient <auroraName>", joined with ',' by getPendingReason.
            vetoes.push("Insufficient CPU");
        }
        if ram + need.1 > cap.ram_mb {
            vetoes.push("Insufficient RAM");
        }
        if disk + need.2 > cap.disk_mb {
            vetoes.push("Insufficient disk");
        }
        (!vetoes.is_empty()).then(|| vetoes.join(","))
    }

    fn fire_task(&mut self, id: &str) {
        let Some(t) = self.state.tasks.get(id) else {
            return;
        };
        let now = self.now();
        let timings = self.cfg.timings;
        let status = t.status();
        let config = t.config().cloned().unwrap_or_default();
        match status {
            ScheduleStatus::THROTTLED => {
                self.set_due(id, Some(now.saturating_add(timings.assign_ms)));
                self.set_status(id, ScheduleStatus::PENDING, None);
            }
            ScheduleStatus::PENDING => {
                if let Some(veto) = self.capacity_veto(&config) {
                    if let Some(t) = self.state.tasks.get_mut(id) {
                        t.pending_reason = Some(veto);
                    }
                    self.set_due(id, None);
                    return;
                }
                let seq = self.state.seq;
                let host = format!("sim-agent-{}", seq % 16);
                let ports: BTreeMap<String, i32> = port_names(&config)
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let base = 31_000 + i32::try_from(seq.wrapping_mul(7) % 2000).unwrap_or(0);
                        (p, base + i32::try_from(i).unwrap_or(0))
                    })
                    .collect();
                if let Some(t) = self.state.tasks.get_mut(id) {
                    t.pending_reason = None;
                    if let Some(a) = t.task.assigned_task.as_mut() {
                        a.slave_host = Some(host.clone());
                        a.slave_id = Some(format!("{host}-S0"));
                        a.assigned_ports = Some(ports);
                    }
                }
                self.set_due(id, Some(now.saturating_add(timings.starting_ms)));
                self.set_status(id, ScheduleStatus::ASSIGNED, None);
            }
            ScheduleStatus::ASSIGNED => {
                self.set_due(id, Some(now.saturating_add(timings.running_ms)));
                self.set_status(id, ScheduleStatus::STARTING, None);
            }
            ScheduleStatus::STARTING => {
                let fail = fail_after(&config, t.instance());
                let finish = metadata_ms(&config, FINISH_AFTER_KEY)
                    .or_else(|| (config.is_service != Some(true)).then_some(timings.adhoc_run_ms));
                let due = match (fail, finish) {
                    (Some(a), Some(b)) => Some(now.saturating_add(a.min(b))),
                    (Some(a), None) | (None, Some(a)) => Some(now.saturating_add(a)),
                    (None, None) => None,
                };
                if let Some(t) = self.state.tasks.get_mut(id) {
                    t.running_since = Some(now);
                }
                self.set_due(id, due);
                self.set_status(id, ScheduleStatus::RUNNING, None);
            }
            ScheduleStatus::RUNNING => {
                let since = t.running_since.unwrap_or(now);
                let fail = fail_after(&config, t.instance());
                let failing = fail.is_some_and(|f| since.saturating_add(f) <= now);
                self.set_due(id, None);
                if failing {
                    self.set_status(
                        id,
                        ScheduleStatus::FAILED,
                        Some(format!("Task failed (injected by {FAIL_AFTER_KEY}).")),
                    );
                } else {
                    self.set_status(
                        id,
                        ScheduleStatus::FINISHED,
                        Some("Task finished.".to_string()),
                    );
                }
                self.after_terminal(id);
            }
            ScheduleStatus::KILLING => {
                self.set_due(id, None);
                self.set_status(id, ScheduleStatus::KILLED, None);
                self.after_terminal(id);
            }
            ScheduleStatus::RESTARTING => {
                self.set_due(id, None);
                self.set_status(id, ScheduleStatus::KILLED, None);
                let failures = self
                    .state
                    .tasks
                    .get(id)
                    .and_then(|t| t.task.failure_count)
                    .unwrap_or(0);
                let inst = self.state.tasks.get(id).map(SimTask::instance).unwrap_or(0);
                self.add_task(&config, inst, Some(id.to_string()), failures);
                self.after_terminal(id);
            }
            _ => {
                self.set_due(id, None);
            }
        }
    }

    /// Rescheduling (services always; ad-hoc tasks up to `maxTaskFailures`), update failure
    /// accounting, capacity release and history pruning after a task became terminal.
    fn after_terminal(&mut self, id: &str) {
        let Some(t) = self.state.tasks.get(id).cloned() else {
            return;
        };
        let status = t.status();
        let config = t.config().cloned().unwrap_or_default();
        let failures = t.task.failure_count.unwrap_or(0);
        let is_service = config.is_service == Some(true);
        let is_cron_run = t.job().is_some_and(|j| self.is_cron(j));
        // InstanceUpdater: the desired task terminating is a failure of that instance's
        // update, unless it was killed (a task that went through KILLING is "permanently
        // killed" and simply absent).
        let was_killing = t
            .task
            .task_events
            .iter()
            .flatten()
            .any(|e| e.status == Some(ScheduleStatus::KILLING));
        if !was_killing && let Some(job) = t.job().cloned() {
            self.note_instance_failure(&job, t.instance(), &config);
        }
        if status == ScheduleStatus::FAILED || status == ScheduleStatus::LOST {
            let max = config.max_task_failures.unwrap_or(1);
            let retry = is_service || max < 0 || failures + 1 < max;
            if retry && !is_cron_run {
                self.reschedule(&t, &config, failures + 1);
            }
        } else if status == ScheduleStatus::FINISHED && is_service {
            self.reschedule(&t, &config, failures);
        }
        // Resources were released: blocked PENDING tasks try again. Only a cluster with a
        // capacity blocks tasks, so only then is the store scanned for them.
        if self.cfg.capacity.is_some() {
            let now = self.now();
            let blocked: Vec<String> = self
                .state
                .tasks
                .iter()
                .filter(|(_, t)| t.status() == ScheduleStatus::PENDING && t.due_ms.is_none())
                .map(|(id, _)| id.clone())
                .collect();
            for id in blocked {
                self.set_due(&id, Some(now));
            }
        }
        if let Some(job) = t.job().cloned() {
            self.prune_history(&job);
        }
    }

    fn prune_history(&mut self, job: &JobKey) {
        let mut terminal: Vec<(u64, String)> = self
            .job_tasks(job)
            .filter(|t| is_terminal(t.status()))
            .map(|t| (t.seq, t.id().to_string()))
            .collect();
        if terminal.len() > HISTORY_PER_JOB {
            terminal.sort();
            let excess = terminal.len() - HISTORY_PER_JOB;
            for (_, id) in terminal.into_iter().take(excess) {
                self.remove_task(&id);
            }
        }
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
            .state
            .updates
            .iter()
            .filter(|u| update_active(u.status()))
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
                .state
                .updates
                .iter()
                .any(|u| update_active(u.status()) && u.wake_ms.is_some())
    }

    /// Updates that roll by themselves: rolling forward or back with a task transition of
    /// their job or a wake-up due. Paused and pulse-blocked updates wait for a person, and an
    /// update whose tasks cannot be placed waits for capacity, so neither counts. A shared
    /// emulator stays up while this is non-zero (so `apply --no-wait` finishes unattended).
    pub fn rolling_updates(&self) -> usize {
        self.state
            .updates
            .iter()
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
        for u in &mut self.state.updates {
            if u.wake_ms.is_some_and(|w| w <= now) {
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

    /// Starts the cron runs that are due (Aurora `CronJobManager` / Quartz trigger).
    fn fire_crons(&mut self) {
        let now = self.now();
        let due: Vec<String> = self
            .state
            .crons
            .iter()
            .filter(|(_, c)| c.next_run_ms.is_some_and(|t| t <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for ks in due {
            self.run_cron(&ks);
            if let Some(c) = self.state.crons.get_mut(&ks) {
                c.next_run_ms = c
                    .config
                    .cron_schedule
                    .as_deref()
                    .and_then(crate::cron::Crontab::parse)
                    .and_then(|t| t.next_after(now));
            }
            self.dirty = true;
        }
    }

    // ----------------------------------------------------------------------------------
    // Updates

    /// Records a status change of update `idx` with an event (Aurora
    /// `changeJobUpdateStatus`); the same status is a no-op.
    pub fn change_update_status(
        &mut self,
        idx: usize,
        status: JobUpdateStatus,
        user: Option<String>,
        message: Option<String>,
    ) {
        let now = self.now();
        let Some(u) = self.state.updates.get_mut(idx) else {
            return;
        };
        if u.status() == status {
            return;
        }
        let rolling_back_now = status == JobUpdateStatus::ROLLING_BACK
            && u.status() != JobUpdateStatus::ROLL_BACK_PAUSED
            && u.status() != JobUpdateStatus::ROLL_BACK_AWAITING_PULSE;
        if let Some(state) = u
            .details
            .update
            .as_mut()
            .and_then(|x| x.summary.as_mut())
            .and_then(|s| s.state.as_mut())
        {
            state.status = Some(status);
            state.last_modified_timestamp_ms = Some(now);
        }
        u.details
            .update_events
            .get_or_insert_with(Vec::new)
            .push(JobUpdateEvent {
                status: Some(status),
                timestamp_ms: Some(now),
                user,
                message,
            });
        if rolling_back_now {
            // The rollback is a new one-way updater over the reversed instructions.
            for p in u.insts.values_mut() {
                *p = InstProgress {
                    phase: InstPhase::Idle,
                    failures: 0,
                };
            }
            u.batch_no = 0;
            u.batch.clear();
            u.autopaused_after = None;
        }
        // A new state is a reason to look again (a resumed update, a rollback).
        u.wake_ms = None;
        self.dirty = true;
    }

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
            .map(|d| from_ranges(d.instances.iter().flatten()))
            .unwrap_or_default();
        let mut initial: BTreeMap<i32, TaskConfig> = BTreeMap::new();
        for group in instr.initial_state.iter().flatten() {
            for id in from_ranges(group.instances.iter().flatten()) {
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
            .flat_map(|g| from_ranges(g.instances.iter().flatten()))
            .collect();
        let desired: BTreeSet<i32> = instr
            .desired_state
            .as_ref()
            .map(|d| from_ranges(d.instances.iter().flatten()))
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
    fn note_instance_failure(&mut self, job: &JobKey, instance: i32, config: &TaskConfig) {
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
        for idx in 0..self.state.updates.len() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        let r = to_ranges([0, 1, 2, 5, 7, 8]);
        assert_eq!(r.len(), 3);
        assert_eq!(from_ranges(&r), [0, 1, 2, 5, 7, 8].into_iter().collect());
    }

    #[test]
    fn transitions_follow_the_state_machine() {
        use JobUpdateStatus as S;
        assert!(transition_allowed(
            S::ROLLING_FORWARD,
            S::ROLL_FORWARD_PAUSED
        ));
        assert!(!transition_allowed(
            S::ROLLED_FORWARD,
            S::ROLL_FORWARD_PAUSED
        ));
        assert!(!transition_allowed(S::ROLL_BACK_PAUSED, S::ROLLING_FORWARD));
        assert!(transition_allowed(
            S::ROLL_FORWARD_AWAITING_PULSE,
            S::ROLLING_FORWARD
        ));
    }

    /// The indexes agree with a scan of the store.
    fn assert_indexes_in_step(core: &Core) {
        let due: BTreeSet<(i64, String)> = core
            .state
            .tasks
            .iter()
            .filter_map(|(id, t)| t.due_ms.map(|d| (d, id.clone())))
            .collect();
        assert_eq!(core.due, due, "due index");
        let mut by_job: BTreeMap<JobKey, BTreeSet<String>> = BTreeMap::new();
        for (id, t) in &core.state.tasks {
            if let Some(job) = t.job() {
                by_job.entry(job.clone()).or_default().insert(id.clone());
            }
        }
        assert_eq!(core.by_job, by_job, "by-job index");
    }

    #[test]
    fn task_indexes_stay_in_step_with_the_store() {
        let mut core = Core::new(Arc::new(SimConfig::for_tests()), State::default());
        let job = |name: &str| JobKey {
            role: Some("r".into()),
            environment: Some("prod".into()),
            name: Some(name.into()),
        };
        let service = |name: &str, extra: Option<(&str, &str)>| TaskConfig {
            job: Some(job(name)),
            is_service: Some(true),
            metadata: extra.map(|(k, v)| {
                [aurora_thrift::types::Metadata {
                    key: Some(k.into()),
                    value: Some(v.into()),
                }]
                .into()
            }),
            ..TaskConfig::default()
        };
        let flapping = service("flap", Some((FAIL_AFTER_KEY, "1000")));
        let adhoc = TaskConfig {
            is_service: Some(false),
            ..service("adhoc", None)
        };
        for i in 0..3 {
            core.add_task(&service("svc", None), i, None, 0);
        }
        core.add_task(&flapping, 0, None, 0);
        core.add_task(&adhoc, 0, None, 0);
        assert_indexes_in_step(&core);
        assert!(core.in_motion());
        // Lifecycle, a flap (reschedule, THROTTLED), an ad-hoc task finishing.
        for step in 1..=20 {
            core.advance_to(step * 1_000);
            assert_indexes_in_step(&core);
        }
        // Kills (a RUNNING task goes KILLING; PENDING ones are deleted) and a restart.
        let svc: Vec<String> = core
            .job_tasks(&job("svc"))
            .map(|t| t.id().to_string())
            .collect();
        core.kill_task(&svc[0], None);
        core.restart_task(&svc[1], None);
        let flap: Vec<String> = core
            .job_tasks(&job("flap"))
            .filter(|t| is_active(t.status()))
            .map(|t| t.id().to_string())
            .collect();
        for id in &flap {
            core.kill_task(id, None);
        }
        assert_indexes_in_step(&core);
        core.advance_to(100_000);
        assert_indexes_in_step(&core);
        // A jump far ahead is compressed and still consistent.
        core.advance_to(i64::MAX / 2);
        assert_indexes_in_step(&core);
        let active: Vec<ScheduleStatus> = core
            .job_tasks(&job("svc"))
            .filter(|t| is_active(t.status()))
            .map(SimTask::status)
            .collect();
        assert_eq!(
            active.len(),
            2,
            "the killed instance is gone, the restarted one is back"
        );
        assert!(active.iter().all(|s| *s == ScheduleStatus::RUNNING));
    }
}
