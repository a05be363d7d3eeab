//! The RPCs that change jobs (Aurora `SchedulerThriftInterface`): createJob, restartShards,
//! killTasks, addInstances, and the checks they share with cron templates and updates: the
//! role's quota (Aurora `QuotaManager`) and `-max_tasks_per_job`.

use std::collections::BTreeSet;

use aurora_thrift::types::{InstanceKey, JobConfiguration, JobKey, TaskConfig, TaskConstraint};

use super::{R, error, invalid, ok, ok_msg, updating};
use crate::engine::{Core, is_active, of_role};
use crate::validate::{key_string, task_resources, valid_key, validate_job};

fn is_dedicated(cfg: &TaskConfig) -> bool {
    cfg.constraints.iter().flatten().any(|c| {
        c.name.as_deref() == Some("dedicated")
            && matches!(c.constraint, Some(TaskConstraint::Value(_)))
    })
}

impl Core {
    /// createJob (reference §1.6; SchedulerThriftInterface.createJob).
    pub(crate) fn create_job(&mut self, job: Option<JobConfiguration>) -> R {
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

    /// restartShards (reference §1.6): every requested shard must be active.
    pub(crate) fn restart_shards(
        &mut self,
        job: Option<JobKey>,
        shards: Option<BTreeSet<i32>>,
    ) -> R {
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
    pub(crate) fn kill_tasks(
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
    pub(crate) fn add_instances(&mut self, key: Option<InstanceKey>, count: Option<i32>) -> R {
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

    pub(crate) fn consumption(&self, role: &str, exclude: Option<&JobKey>) -> [(f64, i64, i64); 4] {
        // prod shared, non-prod shared, prod dedicated, non-prod dedicated
        let mut out = [(0.0, 0, 0); 4];
        // The role's tasks through the by-job index, summed in task id order as the whole
        // store was: the same additions in the same order give the same floating-point sums.
        let mut tasks: Vec<(&String, &crate::state::SimTask)> = of_role(&self.by_job, role)
            .filter(|(job, _)| Some(*job) != exclude)
            .flat_map(|(_, ids)| ids.iter())
            .filter_map(|id| self.state.tasks.get_key_value(id))
            .collect();
        tasks.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (_, t) in tasks {
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

    /// Quota check for production (shared) tasks (Aurora `QuotaManager`): consumption of the
    /// role's other jobs plus `count` instances of `cfg` must fit the role's quota.
    pub(crate) fn check_quota(
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
    pub(crate) fn check_instance_count(&self, count: i32) -> Result<(), String> {
        if count < 1 || count > self.cfg.max_tasks_per_job {
            return Err(format!(
                "Instance count must be between 1 and {} inclusive.",
                self.cfg.max_tasks_per_job
            ));
        }
        Ok(())
    }
}
