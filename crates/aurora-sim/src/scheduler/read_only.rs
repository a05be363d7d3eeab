//! The read-only RPCs on jobs and tasks (Aurora `ReadOnlySchedulerImpl`): getRoleSummary,
//! getJobSummary, getJobs, getTasksStatus / getTasksWithoutConfigs, getPendingReason,
//! getConfigSummary, getQuota, populateJobConfig and getTierConfigs. The update queries are in
//! `update_queries`.

use std::collections::{BTreeMap, BTreeSet};

use aurora_thrift::ranges;
use aurora_thrift::types::{
    self as t, AssignedTask, ConfigGroup, ConfigSummary, ConfigSummaryResult, GetJobsResult,
    GetPendingReasonResult, GetQuotaResult, GetTierConfigResult, JobConfiguration, JobKey,
    JobStats, JobSummary, JobSummaryResult, PendingReason, PopulateJobResult, Resource,
    ResourceAggregate, RoleSummary, RoleSummaryResult, ScheduleStatus, ScheduleStatusResult,
    ScheduledTask, TaskConfig, TaskQuery,
};

use super::{R, error, invalid, ok};
use crate::cron::Crontab;
use crate::engine::{Core, is_active, of_role};
use crate::shape;
use crate::state::SimTask;
use crate::validate::{key_string, key_thrift_string, valid_key, validate_job};

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

fn task_matches(task: &ScheduledTask, q: &TaskQuery) -> bool {
    // Unset parts read as empty structs (nothing set), as before; nothing is copied.
    let no_task = AssignedTask::default();
    let no_job = JobKey::default();
    let a = task.assigned_task.as_ref().unwrap_or(&no_task);
    let job = a
        .task
        .as_ref()
        .and_then(|cfg| cfg.job.as_ref())
        .unwrap_or(&no_job);
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
        .is_some_and(|ks| !ks.is_empty() && !ks.contains(job))
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

pub(crate) fn page<T>(items: Vec<T>, offset: Option<i32>, limit: Option<i32>) -> Vec<T> {
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
pub(crate) fn groups(by_instance: &BTreeMap<i32, TaskConfig>) -> BTreeSet<ConfigGroup> {
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
                instances: Some(ranges::compress(ids)),
            };
            shape::config_group(&mut g);
            g
        })
        .collect()
}

impl Core {
    /// The tasks a query can match, found through the by-job index when the query names
    /// jobs (`jobKeys`, or role, environment and name together), a role, or task ids — so a
    /// read costs what it returns, not what the store holds. Every task the query matches is
    /// among them; [`task_matches`] decides, as it did over the whole store. The order is
    /// unspecified: callers sort.
    fn task_candidates<'a>(
        &'a self,
        q: &'a TaskQuery,
    ) -> Box<dyn Iterator<Item = &'a SimTask> + 'a> {
        let whole_key =
            |k: &JobKey| k.role.is_some() && k.environment.is_some() && k.name.is_some();
        // Tasks without a job key are not in the index; a key with an unset part could match
        // them, so such a query reads the whole store.
        if let Some(keys) = q.job_keys.as_ref().filter(|ks| !ks.is_empty())
            && keys.iter().all(whole_key)
        {
            return Box::new(keys.iter().flat_map(|k| self.job_tasks(k)));
        }
        if let (Some(role), Some(environment), Some(name)) = (&q.role, &q.environment, &q.job_name)
        {
            let key = JobKey {
                role: Some(role.clone()),
                environment: Some(environment.clone()),
                name: Some(name.clone()),
            };
            let ids: Vec<&'a String> = self.by_job.get(&key).into_iter().flatten().collect();
            return Box::new(ids.into_iter().filter_map(|id| self.state.tasks.get(id)));
        }
        if let Some(role) = q.role.as_deref() {
            return Box::new(
                of_role(&self.by_job, role)
                    .flat_map(|(_, ids)| ids.iter())
                    .filter_map(|id| self.state.tasks.get(id)),
            );
        }
        if let Some(ids) = q.task_ids.as_ref().filter(|ids| !ids.is_empty()) {
            return Box::new(ids.iter().filter_map(|id| self.state.tasks.get(id)));
        }
        Box::new(self.state.tasks.values())
    }

    fn respond_role_filter(role: &Option<String>, job: &JobKey) -> bool {
        role.as_ref().is_none_or(|r| job.role.as_ref() == Some(r))
    }

    /// getRoleSummary (reference §1.6).
    pub(crate) fn get_role_summary(&self) -> R {
        // jobCount = job keys with any task in the store; cronJobCount = cron templates
        // (reference §1.6 getRoleSummary).
        let mut jobs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut crons: BTreeMap<String, i32> = BTreeMap::new();
        // The by-job index holds exactly the job keys of the stored tasks.
        for j in self.job_keys() {
            jobs.entry(j.role.clone().unwrap_or_default())
                .or_default()
                .insert(key_string(j));
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
        let jobs: Box<dyn Iterator<Item = &JobKey>> = match role.as_deref() {
            Some(r) => Box::new(of_role(&self.by_job, r).map(|(k, _)| k)),
            None => Box::new(self.job_keys()),
        };
        for job in jobs {
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
        // Cron templates are stored by `role/env/name`, and a role holds no `/`
        // (JobKeys.isValid): a role's templates are the keys starting with `role/`.
        let crons: Box<dyn Iterator<Item = (&String, &crate::state::CronJob)>> =
            match role.as_deref() {
                Some(r) => {
                    let prefix = format!("{r}/");
                    Box::new(
                        self.state
                            .crons
                            .range(prefix.clone()..)
                            .take_while(move |(k, _)| k.starts_with(&prefix)),
                    )
                }
                None => Box::new(self.state.crons.iter()),
            };
        for (k, c) in crons {
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
    pub(crate) fn get_jobs(&self, role: Option<String>) -> R {
        let configs = self.synthesize_jobs(&role, false).into_values().collect();
        ok(Some(t::Result::GetJobsResult(GetJobsResult {
            configs: Some(configs),
        })))
    }

    /// getJobSummary (reference §1.6): synthesised from all stored tasks, with JobStats and
    /// the next cron run.
    pub(crate) fn get_job_summary(&self, role: Option<String>) -> R {
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
    pub(crate) fn get_tasks(&self, query: Option<TaskQuery>, strip: bool) -> R {
        let q = query.unwrap_or_default();
        let mut tasks: Vec<(String, i32, u64, &SimTask)> = self
            .task_candidates(&q)
            .filter(|t| task_matches(&t.task, &q))
            .map(|t| {
                (
                    t.job().map(key_string).unwrap_or_default(),
                    t.instance(),
                    t.seq,
                    t,
                )
            })
            .collect();
        tasks.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
        // Only the page is copied.
        let mut tasks: Vec<ScheduledTask> = page(tasks, q.offset, q.limit)
            .into_iter()
            .map(|x| x.3.task.clone())
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
    pub(crate) fn get_pending_reason(&self, query: Option<TaskQuery>) -> R {
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
        // In task id order, as the store is ordered.
        let mut pending: Vec<&SimTask> = self
            .task_candidates(&q)
            .filter(|t| t.status() == ScheduleStatus::PENDING && task_matches(&t.task, &q))
            .collect();
        pending.sort_by(|a, b| a.id().cmp(b.id()));
        let reasons = pending
            .into_iter()
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
    pub(crate) fn get_config_summary(&self, job: Option<JobKey>) -> R {
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

    /// getQuota (reference §1.6): the role's quota and its consumption per tier kind.
    pub(crate) fn get_quota(&self, role: Option<String>) -> R {
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

    /// populateJobConfig (reference §1.6): validate-and-populate as a dry run.
    pub(crate) fn populate_job_config(&self, job: Option<JobConfiguration>) -> R {
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
    pub(crate) fn get_tier_configs(&self) -> R {
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
}
