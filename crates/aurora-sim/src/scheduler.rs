//! The RPCs: what `SchedulerThriftInterface` and `ReadOnlySchedulerImpl` do with each call
//! (reference aurora-api.md §1.6), on top of [`Core`].

use std::collections::{BTreeMap, BTreeSet};

use aurora_thrift::types::{
    self as t, ConfigGroup, ConfigSummary, ConfigSummaryResult, CronCollisionPolicy,
    GetJobUpdateDetailsResult, GetJobUpdateDiffResult, GetJobUpdateSummariesResult, GetJobsResult,
    GetPendingReasonResult, GetQuotaResult, GetTierConfigResult, InstanceKey, InstanceTaskConfig,
    JobConfiguration, JobKey, JobStats, JobSummary, JobSummaryResult, JobUpdate, JobUpdateDetails,
    JobUpdateInstructions, JobUpdateKey, JobUpdatePulseStatus, JobUpdateQuery, JobUpdateRequest,
    JobUpdateState, JobUpdateStatus, JobUpdateStrategy, JobUpdateSummary, PendingReason,
    PopulateJobResult, PulseJobUpdateResult, Resource, ResourceAggregate, Response, ResponseCode,
    ResponseDetail, RoleSummary, RoleSummaryResult, ScheduleStatus, ScheduleStatusResult,
    ScheduledTask, StartJobUpdateResult, TaskConfig, TaskConstraint, TaskQuery,
};
use aurora_thrift::wire::{IncomingCall, WireError};
use thrift::protocol::TSerializable;

use crate::cron::Crontab;
use crate::engine::{
    Core, effective_strategy, from_ranges, is_active, status_name, to_ranges, transition_allowed,
    update_active,
};
use crate::shape;
use crate::state::{CronJob, UpdateRec};
use crate::validate::{
    key_string, key_thrift_string, key_wrapper_string, task_resources, valid_key, validate_job,
    validate_task,
};

/// What the server sends back for one call.
#[derive(Debug)]
pub enum Reply {
    /// A REPLY carrying a `Response`.
    Response(Box<Response>),
    /// A Thrift `EXCEPTION` (unknown method, undecodable arguments).
    Exception(thrift::ApplicationErrorKind, String),
}

type R = Response;

fn response(code: ResponseCode, result: Option<t::Result>, details: Vec<Option<String>>) -> R {
    Response {
        response_code: Some(code),
        result,
        server_info: None,
        details: Some(
            details
                .into_iter()
                .map(|message| ResponseDetail { message })
                .collect(),
        ),
    }
}

fn ok(result: Option<t::Result>) -> R {
    response(ResponseCode::OK, result, Vec::new())
}

fn ok_msg(msg: impl Into<String>) -> R {
    response(ResponseCode::OK, None, vec![Some(msg.into())])
}

fn invalid(msg: impl Into<String>) -> R {
    response(ResponseCode::INVALID_REQUEST, None, vec![Some(msg.into())])
}

/// An uncaught runtime exception (`ERROR` with its message; null for NPE-like failures).
fn error(msg: Option<String>) -> R {
    response(ResponseCode::ERROR, None, vec![msg])
}

/// `JOB_UPDATING_ERROR` (JobUpdateControllerImpl.assertNotUpdating: "Job is currently
/// updating").
fn updating(_job: &JobKey) -> R {
    response(
        ResponseCode::JOB_UPDATING_ERROR,
        None,
        vec![Some("Job is currently updating".to_string())],
    )
}

/// A CALL in either protocol the endpoint speaks (reference §2.2).
#[derive(Debug)]
pub enum CallBody<'a> {
    /// TBinaryProtocol.
    Binary(IncomingCall<'a>),
    /// TJSONProtocol.
    Json(crate::tjson::JsonCall),
}

impl CallBody<'_> {
    /// The method name.
    pub fn method(&self) -> &str {
        match self {
            CallBody::Binary(c) => &c.method,
            CallBody::Json(c) => &c.method,
        }
    }

    /// The sequence id.
    pub fn seq(&self) -> i32 {
        match self {
            CallBody::Binary(c) => c.seq,
            CallBody::Json(c) => c.seq,
        }
    }

    fn args<C: TSerializable>(&self) -> Result<C, String> {
        match self {
            CallBody::Binary(c) => c.args::<C>().map_err(|e| match e {
                WireError::Exception { message, .. } => message,
                other => other.to_string(),
            }),
            CallBody::Json(c) => c.args::<C>().map_err(|e| e.to_string()),
        }
    }
}

fn decode<C: TSerializable>(call: &CallBody<'_>) -> Result<C, Reply> {
    // The generated union readers panic on a union with no field set ("return value should
    // have been constructed"); a malformed request must get a Thrift exception instead.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call.args::<C>()))
        .unwrap_or_else(|_| Err("malformed Thrift data: a union without a value".to_string()))
        .map_err(|msg| Reply::Exception(thrift::ApplicationErrorKind::ProtocolError, msg))
}

/// Runs one decoded call against the core; `user` is the audit user (reference §2.3).
pub fn dispatch(core: &mut Core, call: &CallBody<'_>, user: &str) -> Reply {
    core.audit_user = user.to_string();
    macro_rules! run {
        ($ty:ty, |$a:ident| $body:expr) => {
            match decode::<$ty>(call) {
                Ok($a) => Reply::Response(Box::new($body)),
                Err(e) => e,
            }
        };
    }
    match call.method() {
        "getRoleSummary" => run!(t::GetRoleSummaryCall, |_a| core.get_role_summary()),
        "getJobSummary" => run!(t::GetJobSummaryCall, |a| core.get_job_summary(a.role)),
        "getTasksStatus" => run!(t::GetTasksStatusCall, |a| core.get_tasks(a.query, false)),
        "getTasksWithoutConfigs" => {
            run!(t::GetTasksWithoutConfigsCall, |a| core
                .get_tasks(a.query, true))
        }
        "getPendingReason" => run!(t::GetPendingReasonCall, |a| core
            .get_pending_reason(a.query)),
        "getConfigSummary" => run!(t::GetConfigSummaryCall, |a| core.get_config_summary(a.job)),
        "getJobs" => run!(t::GetJobsCall, |a| core.get_jobs(a.owner_role)),
        "getQuota" => run!(t::GetQuotaCall, |a| core.get_quota(a.owner_role)),
        "populateJobConfig" => {
            run!(t::PopulateJobConfigCall, |a| core
                .populate_job_config(a.description))
        }
        "getJobUpdateSummaries" => run!(t::GetJobUpdateSummariesCall, |a| core
            .get_job_update_summaries(a.job_update_query)),
        "getJobUpdateDetails" => {
            run!(t::GetJobUpdateDetailsCall, |a| core
                .get_job_update_details(a.key, a.query))
        }
        "getJobUpdateDiff" => run!(t::GetJobUpdateDiffCall, |a| core
            .get_job_update_diff(a.request)),
        "getTierConfigs" => run!(t::GetTierConfigsCall, |_a| core.get_tier_configs()),
        "createJob" => run!(t::CreateJobCall, |a| core.create_job(a.description)),
        "scheduleCronJob" => run!(t::ScheduleCronJobCall, |a| core
            .schedule_cron(a.description, false)),
        "replaceCronTemplate" => run!(t::ReplaceCronTemplateCall, |a| core
            .schedule_cron(a.config, true)),
        "descheduleCronJob" => run!(t::DescheduleCronJobCall, |a| core.deschedule_cron(a.job)),
        "startCronJob" => run!(t::StartCronJobCall, |a| core.start_cron(a.job)),
        "restartShards" => run!(t::RestartShardsCall, |a| core
            .restart_shards(a.job, a.shard_ids)),
        "killTasks" => run!(t::KillTasksCall, |a| core.kill_tasks(
            a.job,
            a.instances,
            a.message
        )),
        "addInstances" => run!(t::AddInstancesCall, |a| core.add_instances(a.key, a.count)),
        "startJobUpdate" => run!(t::StartJobUpdateCall, |a| core
            .start_job_update(a.request, a.message)),
        "pauseJobUpdate" => run!(t::PauseJobUpdateCall, |a| core.control_update(
            a.key,
            Control::Pause,
            a.message
        )),
        "resumeJobUpdate" => run!(t::ResumeJobUpdateCall, |a| core.control_update(
            a.key,
            Control::Resume,
            a.message
        )),
        "abortJobUpdate" => run!(t::AbortJobUpdateCall, |a| core.control_update(
            a.key,
            Control::Abort,
            a.message
        )),
        "rollbackJobUpdate" => run!(t::RollbackJobUpdateCall, |a| core.control_update(
            a.key,
            Control::Rollback,
            a.message
        )),
        "pulseJobUpdate" => run!(t::PulseJobUpdateCall, |a| core.pulse_job_update(a.key)),
        other => Reply::Exception(
            thrift::ApplicationErrorKind::UnknownMethod,
            format!("Invalid method name: '{other}'"),
        ),
    }
}

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

/// Thrift's `toString` of a TaskQuery (set fields only), as getPendingReason prints it.
fn task_query_string(q: &TaskQuery) -> String {
    let mut parts = Vec::new();
    let set = |v: &BTreeSet<String>| v.iter().cloned().collect::<Vec<_>>().join(", ");
    if let Some(v) = &q.role {
        parts.push(format!("role:{v}"));
    }
    if let Some(v) = &q.environment {
        parts.push(format!("environment:{v}"));
    }
    if let Some(v) = &q.job_name {
        parts.push(format!("jobName:{v}"));
    }
    if let Some(v) = &q.task_ids {
        parts.push(format!("taskIds:[{}]", set(v)));
    }
    if let Some(v) = &q.statuses {
        let names: Vec<String> = v
            .iter()
            .map(|s| {
                s.name()
                    .map(str::to_string)
                    .unwrap_or_else(|| s.0.to_string())
            })
            .collect();
        parts.push(format!("statuses:[{}]", names.join(", ")));
    }
    if let Some(v) = &q.instance_ids {
        let ids: Vec<String> = v.iter().map(i32::to_string).collect();
        parts.push(format!("instanceIds:[{}]", ids.join(", ")));
    }
    if let Some(v) = &q.slave_hosts {
        parts.push(format!("slaveHosts:[{}]", set(v)));
    }
    if let Some(v) = &q.job_keys {
        let keys: Vec<String> = v.iter().map(|k| key_thrift_string(Some(k))).collect();
        parts.push(format!("jobKeys:[{}]", keys.join(", ")));
    }
    if let Some(v) = q.offset {
        parts.push(format!("offset:{v}"));
    }
    if let Some(v) = q.limit {
        parts.push(format!("limit:{v}"));
    }
    format!("TaskQuery({})", parts.join(", "))
}

/// The immutable wrapper's `toString` of an update key, as the scheduler's messages print
/// it: ReadOnlySchedulerImpl and JobUpdateControllerImpl hold an `IJobUpdateKey`, printed by
/// Guava's `MoreObjects.toStringHelper` (`IJobUpdateKey{job=IJobKey{role=…, environment=…,
/// name=…}, id=…}`).
fn update_key_string(k: &JobUpdateKey) -> String {
    format!(
        "IJobUpdateKey{{job={}, id={}}}",
        key_wrapper_string(k.job.as_ref()),
        k.id.as_deref().unwrap_or("null")
    )
}

fn task_matches(task: &ScheduledTask, q: &TaskQuery) -> bool {
    let a = task.assigned_task.clone().unwrap_or_default();
    let cfg = a.task.clone().unwrap_or_default();
    let job = cfg.job.clone().unwrap_or_default();
    if q.role
        .as_ref()
        .is_some_and(|r| job.role.as_ref() != Some(r))
    {
        return false;
    }
    if q.environment
        .as_ref()
        .is_some_and(|e| job.environment.as_ref() != Some(e))
    {
        return false;
    }
    if q.job_name
        .as_ref()
        .is_some_and(|n| job.name.as_ref() != Some(n))
    {
        return false;
    }
    if q.job_keys
        .as_ref()
        .is_some_and(|ks| !ks.is_empty() && !ks.contains(&job))
    {
        return false;
    }
    if q.task_ids.as_ref().is_some_and(|ids| {
        !ids.is_empty() && !a.task_id.as_ref().is_some_and(|id| ids.contains(id))
    }) {
        return false;
    }
    if q.statuses
        .as_ref()
        .is_some_and(|s| !s.is_empty() && !task.status.as_ref().is_some_and(|st| s.contains(st)))
    {
        return false;
    }
    if q.instance_ids.as_ref().is_some_and(|ids| {
        !ids.is_empty() && !a.instance_id.as_ref().is_some_and(|i| ids.contains(i))
    }) {
        return false;
    }
    if q.slave_hosts
        .as_ref()
        .is_some_and(|hs| !hs.is_empty() && !a.slave_host.as_ref().is_some_and(|h| hs.contains(h)))
    {
        return false;
    }
    true
}

fn page<T>(items: Vec<T>, offset: Option<i32>, limit: Option<i32>) -> Vec<T> {
    let offset = usize::try_from(offset.unwrap_or(0).max(0)).unwrap_or(0);
    let limit = limit.unwrap_or(0);
    let iter = items.into_iter().skip(offset);
    if limit > 0 {
        iter.take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect()
    } else {
        iter.collect()
    }
}

fn is_dedicated(cfg: &TaskConfig) -> bool {
    cfg.constraints.iter().flatten().any(|c| {
        c.name.as_deref() == Some("dedicated")
            && matches!(c.constraint, Some(TaskConstraint::Value(_)))
    })
}

fn aggregate(cpus: f64, ram: i64, disk: i64) -> ResourceAggregate {
    let mut set = BTreeSet::new();
    set.insert(Resource::NumCpus(cpus.into()));
    set.insert(Resource::RamMb(ram));
    set.insert(Resource::DiskMb(disk));
    ResourceAggregate {
        resources: Some(set),
    }
}

/// Groups instance → config into ConfigGroups (ReadOnlySchedulerImpl's TO_GROUP: configs
/// equal as `ITaskConfig`s share a group; each leaves through `ITaskConfig.newBuilder`).
fn groups(by_instance: &BTreeMap<i32, TaskConfig>) -> BTreeSet<ConfigGroup> {
    let mut by_cfg: Vec<(TaskConfig, Vec<i32>)> = Vec::new();
    for (i, c) in by_instance {
        let mut c = c.clone();
        shape::task_config(&mut c);
        match by_cfg.iter_mut().find(|(cfg, _)| *cfg == c) {
            Some((_, ids)) => ids.push(*i),
            None => by_cfg.push((c, vec![*i])),
        }
    }
    by_cfg
        .into_iter()
        .map(|(config, ids)| {
            let mut g = ConfigGroup {
                config: Some(config),
                instances: Some(to_ranges(ids)),
            };
            shape::config_group(&mut g);
            g
        })
        .collect()
}

/// Result of comparing a desired state with the active tasks (getJobUpdateDiff).
#[derive(Debug, Default)]
struct Diff {
    add: BTreeMap<i32, TaskConfig>,
    remove: BTreeMap<i32, TaskConfig>,
    update: BTreeMap<i32, TaskConfig>,
    unchanged: BTreeMap<i32, TaskConfig>,
}

impl Diff {
    fn is_noop(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty() && self.update.is_empty()
    }
}

impl Core {
    fn respond_role_filter(role: &Option<String>, job: &JobKey) -> bool {
        role.as_ref().is_none_or(|r| job.role.as_ref() == Some(r))
    }

    // ------------------------------------------------------------------ reads

    /// getRoleSummary (reference §1.6).
    fn get_role_summary(&self) -> R {
        // jobCount = job keys with any task in the store; cronJobCount = cron templates
        // (reference §1.6 getRoleSummary).
        let mut jobs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut crons: BTreeMap<String, i32> = BTreeMap::new();
        for t in self.state.tasks.values() {
            if let Some(j) = t.job() {
                jobs.entry(j.role.clone().unwrap_or_default())
                    .or_default()
                    .insert(key_string(j));
            }
        }
        for c in self.state.crons.values() {
            if let Some(k) = c.config.key.as_ref() {
                let role = k.role.clone().unwrap_or_default();
                *crons.entry(role.clone()).or_default() += 1;
                jobs.entry(role).or_default();
            }
        }
        let summaries = jobs
            .into_iter()
            .map(|(role, keys)| RoleSummary {
                cron_job_count: Some(crons.get(&role).copied().unwrap_or(0)),
                job_count: Some(i32::try_from(keys.len()).unwrap_or(i32::MAX)),
                role: Some(role),
            })
            .collect();
        ok(Some(t::Result::RoleSummaryResult(RoleSummaryResult {
            summaries: Some(summaries),
        })))
    }

    /// Synthesised job configurations (ReadOnlySchedulerImpl.getJobs): from `all` tasks or
    /// only active ones; cron templates win.
    fn synthesize_jobs(
        &self,
        role: &Option<String>,
        all: bool,
    ) -> BTreeMap<String, JobConfiguration> {
        // Job by job through the by-job index: the most recently changed task's config
        // (Tasks.getLatestActiveTask) and the number of tasks.
        let mut latest: BTreeMap<String, (TaskConfig, i32)> = BTreeMap::new();
        for job in self
            .job_keys()
            .filter(|j| Self::respond_role_filter(role, j))
        {
            let mut count = 0;
            let mut newest = None;
            for t in self.job_tasks(job).filter(|t| all || is_active(t.status())) {
                let Some(cfg) = t.config() else {
                    continue;
                };
                count += 1;
                let rank = (t.last_event_ms(), t.seq);
                if newest.as_ref().is_none_or(|(r, _)| rank > *r) {
                    newest = Some((rank, cfg));
                }
            }
            if let Some((_, cfg)) = newest {
                latest.insert(key_string(job), (cfg.clone(), count));
            }
        }
        let mut out: BTreeMap<String, JobConfiguration> = latest
            .into_iter()
            .map(|(k, (cfg, count))| {
                (
                    k,
                    // ReadOnlySchedulerImpl.getJobs sets key, owner, taskConfig and
                    // instanceCount only: no cronCollisionPolicy (an unset enum).
                    JobConfiguration {
                        cron_schedule: None,
                        cron_collision_policy: None,
                        owner: cfg.owner.clone(),
                        key: cfg.job.clone(),
                        task_config: Some(cfg),
                        instance_count: Some(count),
                    },
                )
            })
            .collect();
        for (k, c) in &self.state.crons {
            if c.config
                .key
                .as_ref()
                .is_some_and(|j| Self::respond_role_filter(role, j))
            {
                out.insert(k.clone(), c.config.clone());
            }
        }
        // IJobConfiguration.toBuildersSet / newBuilder on the way out.
        for job in out.values_mut() {
            shape::job_configuration(job);
        }
        out
    }

    /// getJobs (reference §1.6; ReadOnlySchedulerImpl.getJobs): services synthesised from
    /// active tasks, cron jobs from their templates.
    fn get_jobs(&self, role: Option<String>) -> R {
        let configs = self.synthesize_jobs(&role, false).into_values().collect();
        ok(Some(t::Result::GetJobsResult(GetJobsResult {
            configs: Some(configs),
        })))
    }

    /// getJobSummary (reference §1.6): synthesised from all stored tasks, with JobStats and
    /// the next cron run.
    fn get_job_summary(&self, role: Option<String>) -> R {
        // Synthesised from all tasks still in the store, terminal ones included (the
        // documented quirk: instanceCount may exceed the real instance count).
        let jobs = self.synthesize_jobs(&role, true);
        let mut summaries = BTreeSet::new();
        for job in jobs.into_values() {
            let mut stats = JobStats {
                active_task_count: Some(0),
                finished_task_count: Some(0),
                failed_task_count: Some(0),
                pending_task_count: Some(0),
            };
            // The job's own tasks through the by-job index (Jobs.getJobStats over the
            // tasks fetched for the job).
            let key = job.key.clone().unwrap_or_default();
            for t in self.job_tasks(&key) {
                let slot = match t.status() {
                    ScheduleStatus::PENDING | ScheduleStatus::THROTTLED => {
                        &mut stats.pending_task_count
                    }
                    ScheduleStatus::FAILED | ScheduleStatus::LOST => &mut stats.failed_task_count,
                    ScheduleStatus::FINISHED | ScheduleStatus::KILLED => {
                        &mut stats.finished_task_count
                    }
                    _ => &mut stats.active_task_count,
                };
                *slot = Some(slot.unwrap_or(0) + 1);
            }
            let next_cron_run_ms = job
                .cron_schedule
                .as_deref()
                .and_then(Crontab::parse)
                .and_then(|c| c.next_after(self.now()));
            summaries.insert(JobSummary {
                job: Some(job),
                stats: Some(stats),
                next_cron_run_ms,
            });
        }
        ok(Some(t::Result::JobSummaryResult(JobSummaryResult {
            summaries: Some(summaries),
        })))
    }

    /// getTasksStatus / getTasksWithoutConfigs (reference §1.4 TaskQuery, §1.6): filters
    /// AND-ed, then offset and limit (0 = unlimited).
    fn get_tasks(&self, query: Option<TaskQuery>, strip: bool) -> R {
        let q = query.unwrap_or_default();
        let mut tasks: Vec<(String, i32, u64, ScheduledTask)> = self
            .state
            .tasks
            .values()
            .filter(|t| task_matches(&t.task, &q))
            .map(|t| {
                (
                    t.job().map(key_string).unwrap_or_default(),
                    t.instance(),
                    t.seq,
                    t.task.clone(),
                )
            })
            .collect();
        tasks.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
        let mut tasks: Vec<ScheduledTask> = page(tasks, q.offset, q.limit)
            .into_iter()
            .map(|x| x.3)
            .collect();
        // IScheduledTask.toBuildersList on the way out.
        for task in &mut tasks {
            shape::scheduled_task(task);
        }
        if strip {
            // getTasksWithoutConfigs unsets executorConfig.data; a task without
            // executorConfig makes the scheduler throw a NullPointerException → ERROR.
            for task in &mut tasks {
                let ex = task
                    .assigned_task
                    .as_mut()
                    .and_then(|a| a.task.as_mut())
                    .and_then(|c| c.executor_config.as_mut());
                match ex {
                    Some(ex) => ex.data = None,
                    None => return error(None),
                }
            }
        }
        ok(Some(t::Result::ScheduleStatusResult(
            ScheduleStatusResult { tasks: Some(tasks) },
        )))
    }

    /// getPendingReason (ReadOnlySchedulerImpl): PENDING tasks with their scheduling vetoes.
    fn get_pending_reason(&self, query: Option<TaskQuery>) -> R {
        let Some(q) = query else {
            return error(None);
        };
        // ReadOnlySchedulerImpl.getPendingReason: non-empty slaveHosts, then non-empty
        // statuses, each with its own message.
        if q.slave_hosts.as_ref().is_some_and(|h| !h.is_empty()) {
            return invalid(format!(
                "SlaveHosts are not supported in {}",
                task_query_string(&q)
            ));
        }
        if q.statuses.as_ref().is_some_and(|s| !s.is_empty()) {
            return invalid(format!(
                "Statuses is not supported in {}",
                task_query_string(&q)
            ));
        }
        let reasons = self
            .state
            .tasks
            .values()
            .filter(|t| t.status() == ScheduleStatus::PENDING && task_matches(&t.task, &q))
            .map(|t| PendingReason {
                task_id: Some(t.id().to_string()),
                reason: Some(t.pending_reason.clone().unwrap_or_default()),
            })
            .collect();
        ok(Some(t::Result::GetPendingReasonResult(
            GetPendingReasonResult {
                reasons: Some(reasons),
            },
        )))
    }

    /// getConfigSummary (reference §1.6): active tasks grouped by identical TaskConfig.
    fn get_config_summary(&self, job: Option<JobKey>) -> R {
        let Some(job) = job.filter(|j| valid_key(Some(j))) else {
            return error(None);
        };
        let by_instance: BTreeMap<i32, TaskConfig> = self
            .active_tasks(&job)
            .into_iter()
            .filter_map(|(i, t)| t.config().cloned().map(|c| (i, c)))
            .collect();
        ok(Some(t::Result::ConfigSummaryResult(ConfigSummaryResult {
            summary: Some(ConfigSummary {
                key: Some(job),
                groups: Some(groups(&by_instance)),
            }),
        })))
    }

    fn consumption(&self, role: &str, exclude: Option<&JobKey>) -> [(f64, i64, i64); 4] {
        // prod shared, non-prod shared, prod dedicated, non-prod dedicated
        let mut out = [(0.0, 0, 0); 4];
        for t in self.state.tasks.values() {
            let (Some(job), Some(cfg)) = (t.job(), t.config()) else {
                continue;
            };
            if job.role.as_deref() != Some(role) || !is_active(t.status()) || Some(job) == exclude {
                continue;
            }
            let prod = cfg.production == Some(true);
            let slot = match (prod, is_dedicated(cfg)) {
                (true, false) => 0,
                (false, false) => 1,
                (true, true) => 2,
                (false, true) => 3,
            };
            let r = task_resources(cfg);
            out[slot].0 += r.0;
            out[slot].1 += r.1;
            out[slot].2 += r.2;
        }
        out
    }

    /// getQuota (reference §1.6): the role's quota and its consumption per tier kind.
    fn get_quota(&self, role: Option<String>) -> R {
        // checkNotBlank(ownerRole) → ERROR.
        let Some(role) = role.filter(|r| !r.trim().is_empty()) else {
            return error(None);
        };
        let q = self.cfg.quotas.get(&role).copied().unwrap_or_default();
        let c = self.consumption(&role, None);
        ok(Some(t::Result::GetQuotaResult(GetQuotaResult {
            quota: Some(aggregate(q.cpus, q.ram_mb, q.disk_mb)),
            prod_shared_consumption: Some(aggregate(c[0].0, c[0].1, c[0].2)),
            non_prod_shared_consumption: Some(aggregate(c[1].0, c[1].1, c[1].2)),
            prod_dedicated_consumption: Some(aggregate(c[2].0, c[2].1, c[2].2)),
            non_prod_dedicated_consumption: Some(aggregate(c[3].0, c[3].1, c[3].2)),
        })))
    }

    /// Quota check for production (shared) tasks (Aurora `QuotaManager`): consumption of the
    /// role's other jobs plus `count` instances of `cfg` must fit the role's quota.
    fn check_quota(
        &self,
        cfg: &TaskConfig,
        count: i32,
        job: &JobKey,
        replace: bool,
    ) -> Result<(), String> {
        if cfg.production != Some(true) || is_dedicated(cfg) {
            return Ok(());
        }
        let role = job.role.clone().unwrap_or_default();
        let quota = self.cfg.quotas.get(&role).copied().unwrap_or_default();
        let used = self.consumption(&role, replace.then_some(job))[0];
        let need = task_resources(cfg);
        let n = f64::from(count);
        let total = (
            used.0 + need.0 * n,
            used.1 + need.1 * i64::from(count),
            used.2 + need.2 * i64::from(count),
        );
        // QuotaCheckResult: "<auroraName> quota exceeded by %.2f <unit>", joined with "; ".
        let mut over = Vec::new();
        if total.0 > quota.cpus + 1e-9 {
            over.push(format!(
                "CPU quota exceeded by {:.2} core(s)",
                total.0 - quota.cpus
            ));
        }
        if total.1 > quota.ram_mb {
            over.push(format!(
                "RAM quota exceeded by {:.2} MB",
                (total.1 - quota.ram_mb) as f64
            ));
        }
        if total.2 > quota.disk_mb {
            over.push(format!(
                "disk quota exceeded by {:.2} MB",
                (total.2 - quota.disk_mb) as f64
            ));
        }
        if over.is_empty() {
            Ok(())
        } else {
            Err(format!("Insufficient resource quota: {}", over.join("; ")))
        }
    }

    /// `-max_tasks_per_job` (SchedulerThriftInterface.validateTaskLimits).
    fn check_instance_count(&self, count: i32) -> Result<(), String> {
        if count < 1 || count > self.cfg.max_tasks_per_job {
            return Err(format!(
                "Instance count must be between 1 and {} inclusive.",
                self.cfg.max_tasks_per_job
            ));
        }
        Ok(())
    }

    /// populateJobConfig (reference §1.6): validate-and-populate as a dry run.
    fn populate_job_config(&self, job: Option<JobConfiguration>) -> R {
        let Some(job) = job else {
            return error(None);
        };
        match validate_job(&self.cfg, &job) {
            Ok(mut j) => {
                // ITaskConfig.newBuilder on the way out.
                shape::job_configuration(&mut j);
                ok(Some(t::Result::PopulateJobResult(PopulateJobResult {
                    task_config: j.task_config,
                })))
            }
            Err(m) => invalid(format!("Invalid configuration: {m}")),
        }
    }

    /// getTierConfigs (reference §1.6): the `-tier_config` tiers and the default tier.
    fn get_tier_configs(&self) -> R {
        let tiers = self
            .cfg
            .tiers
            .tiers
            .iter()
            .map(|(name, tier)| t::TierConfig {
                name: Some(name.clone()),
                settings: Some(
                    [
                        ("preemptible".to_string(), tier.preemptible.to_string()),
                        ("revocable".to_string(), tier.revocable.to_string()),
                    ]
                    .into_iter()
                    .collect(),
                ),
            })
            .collect();
        ok(Some(t::Result::GetTierConfigResult(GetTierConfigResult {
            default_tier_name: Some(self.cfg.tiers.default_tier.clone()),
            tiers: Some(tiers),
        })))
    }

    /// JobUpdateQuery matching (reference §1.4): set fields AND-ed; no environment filter.
    fn update_matches(u: &UpdateRec, q: &JobUpdateQuery) -> bool {
        let summary = u
            .details
            .update
            .as_ref()
            .and_then(|x| x.summary.clone())
            .unwrap_or_default();
        let job = u.job().cloned().unwrap_or_default();
        if q.role
            .as_ref()
            .is_some_and(|r| job.role.as_ref() != Some(r))
        {
            return false;
        }
        if q.job_key.as_ref().is_some_and(|k| *k != job) {
            return false;
        }
        if q.user
            .as_ref()
            .is_some_and(|user| summary.user.as_ref() != Some(user))
        {
            return false;
        }
        if q.update_statuses
            .as_ref()
            .is_some_and(|s| !s.is_empty() && !s.contains(&u.status()))
        {
            return false;
        }
        if q.key
            .as_ref()
            .is_some_and(|k| summary.key.as_ref() != Some(k))
        {
            return false;
        }
        true
    }

    /// Updates matching a query, newest (last modified) first, offset/limit applied.
    fn query_updates(&self, q: &JobUpdateQuery) -> Vec<&UpdateRec> {
        let mut list: Vec<&UpdateRec> = self
            .state
            .updates
            .iter()
            .filter(|u| Self::update_matches(u, q))
            .collect();
        list.sort_by_key(|u| std::cmp::Reverse((u.last_modified_ms(), u.seq)));
        page(list, q.offset, q.limit)
    }

    /// getJobUpdateSummaries (reference §1.6): newest first.
    fn get_job_update_summaries(&self, q: Option<JobUpdateQuery>) -> R {
        let Some(q) = q else {
            return error(None);
        };
        let summaries = self
            .query_updates(&q)
            .into_iter()
            .filter_map(|u| u.details.update.as_ref().and_then(|x| x.summary.clone()))
            .map(|mut s| {
                // IJobUpdateSummary.toBuildersList.
                shape::job_update_summary(&mut s);
                s
            })
            .collect();
        ok(Some(t::Result::GetJobUpdateSummariesResult(
            GetJobUpdateSummariesResult {
                update_summaries: Some(summaries),
            },
        )))
    }

    /// getJobUpdateDetails (reference §1.6): `query` → detailsList; only the deprecated `key`
    /// → details plus a deprecation message; neither → ERROR.
    fn get_job_update_details(&self, key: Option<JobUpdateKey>, q: Option<JobUpdateQuery>) -> R {
        match (key, q) {
            (_, Some(q)) => {
                // IJobUpdateDetails.toBuildersList.
                let list = self
                    .query_updates(&q)
                    .into_iter()
                    .map(|u| {
                        let mut d = u.details.clone();
                        shape::job_update_details(&mut d);
                        d
                    })
                    .collect();
                ok(Some(t::Result::GetJobUpdateDetailsResult(
                    GetJobUpdateDetailsResult {
                        details: None,
                        details_list: Some(list),
                    },
                )))
            }
            (Some(key), None) => {
                let q = JobUpdateQuery {
                    key: Some(key.clone()),
                    ..JobUpdateQuery::default()
                };
                let Some(u) = self.query_updates(&q).into_iter().next() else {
                    return invalid(format!("Invalid update: {}", update_key_string(&key)));
                };
                let mut details = u.details.clone();
                shape::job_update_details(&mut details);
                response(
                    ResponseCode::OK,
                    Some(t::Result::GetJobUpdateDetailsResult(
                        GetJobUpdateDetailsResult {
                            details: Some(details),
                            details_list: None,
                        },
                    )),
                    vec![Some(
                        "The key argument is deprecated, use the query argument instead"
                            .to_string(),
                    )],
                )
            }
            (None, None) => error(Some("Either key or query must be set.".to_string())),
        }
    }

    /// JobDiff (reference §1.6 getJobUpdateDiff): desired {0..count-1 → config} against the
    /// active tasks, by full TaskConfig equality, restricted to `scope` when given.
    fn diff(&self, job: &JobKey, desired: &TaskConfig, count: i32, scope: &BTreeSet<i32>) -> Diff {
        let current: BTreeMap<i32, TaskConfig> = self
            .active_tasks(job)
            .into_iter()
            .filter_map(|(i, t)| t.config().cloned().map(|c| (i, c)))
            .collect();
        let in_scope = |i: &i32| scope.is_empty() || scope.contains(i);
        let mut d = Diff::default();
        for i in 0..count.max(0) {
            if !in_scope(&i) {
                continue;
            }
            match current.get(&i) {
                None => {
                    d.add.insert(i, desired.clone());
                }
                Some(c) if c == desired => {
                    d.unchanged.insert(i, c.clone());
                }
                Some(c) => {
                    d.update.insert(i, c.clone());
                }
            }
        }
        for (i, c) in &current {
            if *i >= count && in_scope(i) {
                d.remove.insert(*i, c.clone());
            }
        }
        d
    }

    /// getJobUpdateDiff (reference §1.6).
    fn get_job_update_diff(&self, request: Option<JobUpdateRequest>) -> R {
        let Some(req) = request else {
            return error(None);
        };
        let Some(task) = req.task_config.as_ref() else {
            return error(None);
        };
        let count = req.instance_count.unwrap_or(0);
        let populated = match validate_task(&self.cfg, task, count) {
            Ok(p) => p,
            Err(m) => return invalid(m),
        };
        let Some(job) = populated.job.clone() else {
            return error(None);
        };
        if self.is_cron(&job) {
            return invalid("Cron jobs are not supported.");
        }
        // `settings` must be present (NullPointerException → ERROR otherwise).
        let Some(settings) = req.settings.as_ref() else {
            return error(None);
        };
        let scope = from_ranges(settings.update_only_these_instances.iter().flatten());
        let d = self.diff(&job, &populated, count, &scope);
        ok(Some(t::Result::GetJobUpdateDiffResult(
            GetJobUpdateDiffResult {
                add: Some(groups(&d.add)),
                remove: Some(groups(&d.remove)),
                update: Some(groups(&d.update)),
                unchanged: Some(groups(&d.unchanged)),
            },
        )))
    }

    // ------------------------------------------------------------------ writes

    /// createJob (reference §1.6; SchedulerThriftInterface.createJob).
    fn create_job(&mut self, job: Option<JobConfiguration>) -> R {
        let Some(job) = job else {
            return error(None);
        };
        let populated = match validate_job(&self.cfg, &job) {
            Ok(j) => j,
            Err(m) => return invalid(m),
        };
        // SanitizedConfiguration.isCron: the schedule is set (even if empty).
        if populated.cron_schedule.is_some() {
            return invalid("Cron jobs may only be created/updated by calling scheduleCronJob.");
        }
        let key = populated.key.clone().unwrap_or_default();
        if self.active_update(&key).is_some() {
            return updating(&key);
        }
        if !self.active_tasks(&key).is_empty() || self.is_cron(&key) {
            return invalid(format!("Job {} already exists", key_string(&key)));
        }
        let task = populated.task_config.clone().unwrap_or_default();
        let count = populated.instance_count.unwrap_or(0);
        if let Err(m) = self
            .check_instance_count(count)
            .and_then(|()| self.check_quota(&task, count, &key, false))
        {
            return invalid(m);
        }
        for i in 0..count {
            self.add_task(&task, i, None, 0);
        }
        ok(None)
    }

    /// scheduleCronJob (upsert) / replaceCronTemplate (update only) (reference §1.6;
    /// SchedulerThriftInterface.createOrUpdateCronTemplate).
    fn schedule_cron(&mut self, job: Option<JobConfiguration>, replace_only: bool) -> R {
        // createOrUpdateCronTemplate: JobKeys.assertValid(job.getKey()) first → ERROR.
        let Some(job) = job.filter(|j| valid_key(j.key.as_ref())) else {
            return error(None);
        };
        // SchedulerThriftInterface.createOrUpdateCronTemplate, in its order.
        let populated = match validate_job(&self.cfg, &job) {
            Ok(j) => j,
            Err(m) => return invalid(m),
        };
        let key = populated.key.clone().unwrap_or_default();
        let ks = key_string(&key);
        // SanitizedConfiguration.isCron: the schedule is set.
        let Some(schedule) = populated.cron_schedule.clone() else {
            return invalid(format!("Job {ks} has no cron schedule"));
        };
        if self.active_update(&key).is_some() {
            return updating(&key);
        }
        let task = populated.task_config.clone().unwrap_or_default();
        if let Err(m) = self
            .check_instance_count(populated.instance_count.unwrap_or(0))
            .and_then(|()| {
                self.check_quota(&task, populated.instance_count.unwrap_or(0), &key, true)
            })
        {
            return invalid(m);
        }
        // SanitizedCronJob.from: a non-empty schedule that parses.
        let sanitized_cron = || {
            if schedule.is_empty() {
                Err("Job has an empty cron schedule.".to_string())
            } else if Crontab::parse(&schedule).is_none() {
                Err(format!("Invalid cron schedule: {schedule}"))
            } else {
                Ok(())
            }
        };
        // CronJobManagerImpl.checkNoRunOverlap.
        let no_run_overlap = || {
            if populated.cron_collision_policy == Some(CronCollisionPolicy::RUN_OVERLAP) {
                Err("The RUN_OVERLAP collision policy has been removed (AURORA-38).".to_string())
            } else {
                Ok(())
            }
        };
        let exists = self.is_cron(&key);
        let checked = if replace_only || exists {
            // cronJobManager.updateJob(SanitizedCronJob.from(…)): checkCronExists last.
            sanitized_cron()
                .and_then(|()| no_run_overlap())
                .and_then(|()| {
                    if exists {
                        Ok(())
                    } else {
                        Err(format!("No cron job found for {ks}."))
                    }
                })
        } else if !self.active_tasks(&key).is_empty() {
            // checkJobExists before cronJobManager.createJob.
            Err(format!("Job {ks} already exists"))
        } else {
            sanitized_cron().and_then(|()| no_run_overlap())
        };
        if let Err(m) = checked {
            // A schedule Aurora's CrontabEntry fails on past tryParse (a field of only
            // commas) is an uncaught NoSuchElementException: ERROR with no message.
            let internal = Crontab::check(&schedule).is_err_and(|e| e.is_internal_error());
            if internal && m.starts_with("Invalid cron schedule") {
                return error(None);
            }
            return invalid(m);
        }
        // Stored as sanitized: an unset collision policy stays unset (runs default it to
        // KILL_EXISTING, SanitizedCronJob.orDefault).
        let now = self.now();
        let next_run_ms = Crontab::parse(&schedule).and_then(|c| c.next_after(now));
        self.state.crons.insert(
            ks,
            CronJob {
                config: populated,
                scheduled_ms: now,
                next_run_ms,
            },
        );
        self.dirty = true;
        ok(None)
    }

    /// descheduleCronJob (reference §1.6): OK with a message when not a cron job.
    fn deschedule_cron(&mut self, job: Option<JobKey>) -> R {
        let Some(job) = job.filter(|j| valid_key(Some(j))) else {
            return error(None);
        };
        if self.active_update(&job).is_some() {
            return updating(&job);
        }
        let ks = key_string(&job);
        if self.state.crons.remove(&ks).is_none() {
            return ok_msg(format!("Job {ks} is not scheduled with cron"));
        }
        self.dirty = true;
        ok(None)
    }

    /// Starts a cron run now, honouring the collision policy (Aurora `CronJobManager`).
    pub fn run_cron(&mut self, ks: &str) -> bool {
        let Some(cron) = self.state.crons.get(ks).cloned() else {
            return false;
        };
        let key = cron.config.key.clone().unwrap_or_default();
        let active: Vec<String> = self
            .active_tasks(&key)
            .values()
            .map(|t| t.id().to_string())
            .collect();
        match cron
            .config
            .cron_collision_policy
            .unwrap_or(CronCollisionPolicy::KILL_EXISTING)
        {
            CronCollisionPolicy::CANCEL_NEW if !active.is_empty() => return true,
            CronCollisionPolicy::KILL_EXISTING => {
                for id in active {
                    self.kill_task(
                        &id,
                        // AuroraCronJob.KILL_AUDIT_MESSAGE.
                        Some("Killed by cronScheduler".to_string()),
                    );
                }
            }
            _ => {}
        }
        let task = cron.config.task_config.clone().unwrap_or_default();
        for i in 0..cron.config.instance_count.unwrap_or(0) {
            self.add_task(&task, i, None, 0);
        }
        true
    }

    /// startCronJob (reference §1.6): a run now; not blocked by updates.
    fn start_cron(&mut self, job: Option<JobKey>) -> R {
        let Some(job) = job.filter(|j| valid_key(Some(j))) else {
            return error(None);
        };
        let ks = key_string(&job);
        if !self.run_cron(&ks) {
            // CronJobManagerImpl.startJobNow → checkCronExists, wrapped by startCronJob.
            return invalid(format!(
                "Failed to start cron job - No cron job found for {ks}."
            ));
        }
        ok(None)
    }

    /// restartShards (reference §1.6): every requested shard must be active.
    fn restart_shards(&mut self, job: Option<JobKey>, shards: Option<BTreeSet<i32>>) -> R {
        let Some(job) = job.filter(|j| valid_key(Some(j))) else {
            return error(None);
        };
        let shards = shards.unwrap_or_default();
        if shards.is_empty() {
            return error(None);
        }
        if self.active_update(&job).is_some() {
            return updating(&job);
        }
        let active = self.active_tasks(&job);
        if !shards.iter().all(|s| active.contains_key(s)) {
            return invalid("Not all requested shards are active.");
        }
        let ids: Vec<String> = shards
            .iter()
            .filter_map(|s| active.get(s).map(|t| t.id().to_string()))
            .collect();
        for id in ids {
            self.restart_task(&id, Some(format!("Restarted by {}", self.audit_user)));
        }
        ok(None)
    }

    /// killTasks (reference §1.6): active tasks of the job (or the given instances).
    fn kill_tasks(
        &mut self,
        job: Option<JobKey>,
        instances: Option<BTreeSet<i32>>,
        message: Option<String>,
    ) -> R {
        let Some(job) = job.filter(|j| valid_key(Some(j))) else {
            return error(None);
        };
        if self.active_update(&job).is_some() {
            return updating(&job);
        }
        let instances = instances.unwrap_or_default();
        let ids: Vec<String> = self
            .active_tasks(&job)
            .iter()
            .filter(|(i, _)| instances.is_empty() || instances.contains(i))
            .map(|(_, t)| t.id().to_string())
            .collect();
        let audit = match message {
            Some(m) => format!("Killed by {}.\n{m}", self.audit_user),
            None => format!("Killed by {}", self.audit_user),
        };
        // Only tasks whose state changed count; "No tasks to kill." otherwise (already
        // KILLING tasks do not count).
        let mut killed = 0;
        for id in ids {
            if self.kill_task(&id, Some(audit.clone())) {
                killed += 1;
            }
        }
        if killed == 0 {
            return ok_msg("No tasks to kill.");
        }
        ok(None)
    }

    /// addInstances (reference §1.6; SchedulerThriftInterface.addInstances).
    fn add_instances(&mut self, key: Option<InstanceKey>, count: Option<i32>) -> R {
        let Some(key) = key else {
            return error(None);
        };
        let Some(job) = key.job_key.clone().filter(|j| valid_key(Some(j))) else {
            return error(None);
        };
        // SchedulerThriftInterface.addInstances, in order.
        let count = count.unwrap_or(0);
        if count <= 0 {
            return invalid("Instance count must be positive.");
        }
        if self.is_cron(&job) {
            return invalid("Instances may not be added to cron jobs.");
        }
        if self.active_update(&job).is_some() {
            return updating(&job);
        }
        let active = self.active_tasks(&job);
        let inst = key.instance_id.unwrap_or(0);
        let Some(template) = active.get(&inst).and_then(|t| t.config().cloned()) else {
            return invalid("No active task found for a given instance ID.");
        };
        let max = active.keys().max().copied().unwrap_or(-1);
        let total = i32::try_from(active.len())
            .unwrap_or(i32::MAX)
            .saturating_add(count);
        if let Err(m) = self
            .check_instance_count(total)
            .and_then(|()| self.check_quota(&template, total, &job, true))
        {
            return invalid(m);
        }
        for i in 0..count {
            self.add_task(&template, max + 1 + i, None, 0);
        }
        ok(None)
    }

    /// The update's summary as `IJobUpdateSummary.newBuilder()` hands it out.
    fn update_summary(u: &UpdateRec) -> Option<JobUpdateSummary> {
        let mut summary = u.details.update.as_ref().and_then(|x| x.summary.clone())?;
        shape::job_update_summary(&mut summary);
        Some(summary)
    }

    /// startJobUpdate (reference §1.6, checks 1-8 in order).
    fn start_job_update(
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
        let scope = from_ranges(settings.update_only_these_instances.iter().flatten());
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
            instances: Some(to_ranges(desired_ids)),
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
        self.state.updates.push(UpdateRec {
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
        self.state.updates.iter().position(|u| {
            u.details
                .update
                .as_ref()
                .and_then(|x| x.summary.as_ref())
                .and_then(|s| s.key.as_ref())
                == Some(key)
        })
    }

    fn pulse_expired(&self, idx: usize) -> bool {
        let u = &self.state.updates[idx];
        let timeout = i64::from(u.settings().block_if_no_pulses_after_ms.unwrap_or(0));
        timeout > 0 && self.now().saturating_sub(u.last_pulse_ms) >= timeout
    }

    /// pause/resume/abort/rollbackJobUpdate (reference §1.6; JobUpdateControllerImpl,
    /// JobUpdateStateMachine).
    fn control_update(
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
    fn pulse_job_update(&mut self, key: Option<JobUpdateKey>) -> R {
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
