//! The task lifecycle (Aurora `StateManagerImpl`, `TaskStateMachine`): PENDING → ASSIGNED →
//! STARTING → RUNNING → FINISHED/FAILED, KILLING → KILLED, RESTARTING → KILLED →
//! rescheduled; rescheduling with the flapping penalty, history pruning, failure injection
//! through task metadata, and the by-job and due-time indexes kept in step with the store.

use std::collections::BTreeMap;

use aurora_thrift::types::{
    AssignedTask, ConstSLAVEASSIGNEDSTATES, JobKey, ScheduleStatus, ScheduledTask, TaskConfig,
    TaskEvent,
};

use crate::engine::{Core, is_active, is_terminal};
use crate::state::SimTask;
use crate::validate::{port_names, task_resources};

/// Metadata key: the task fails this many ms after reaching RUNNING (failure injection).
pub const FAIL_AFTER_KEY: &str = "aurora-sim/fail-after-ms";
/// Metadata key: limits [`FAIL_AFTER_KEY`] to these instances (`0,2-3`).
pub const FAIL_INSTANCES_KEY: &str = "aurora-sim/fail-instances";
/// Metadata key: the task finishes this many ms after reaching RUNNING.
pub const FINISH_AFTER_KEY: &str = "aurora-sim/finish-after-ms";
/// Terminal tasks kept per job (Aurora `-history_max_per_job_threshold`, default 100).
pub const HISTORY_PER_JOB: usize = 100;

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
    /// Sets when a task's next transition is due, keeping the due index in step.
    pub(crate) fn set_due(&mut self, id: &str, at: Option<i64>) {
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

    pub(crate) fn fire_task(&mut self, id: &str) {
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
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use crate::config::SimConfig;
    use crate::state::State;

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
