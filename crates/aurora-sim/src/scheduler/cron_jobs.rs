//! Cron jobs (Aurora `CronJobManagerImpl`, `AuroraCronJob`): scheduleCronJob,
//! replaceCronTemplate, descheduleCronJob and startCronJob, and the runs that fall due as time
//! moves.

use aurora_thrift::types::{CronCollisionPolicy, JobConfiguration, JobKey};

use super::{R, error, invalid, ok, ok_msg, updating};
use crate::cron::Crontab;
use crate::engine::Core;
use crate::state::CronJob;
use crate::validate::{key_string, valid_key, validate_job};

impl Core {
    /// scheduleCronJob (upsert) / replaceCronTemplate (update only) (reference §1.6;
    /// SchedulerThriftInterface.createOrUpdateCronTemplate).
    pub(crate) fn schedule_cron(&mut self, job: Option<JobConfiguration>, replace_only: bool) -> R {
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
    pub(crate) fn deschedule_cron(&mut self, job: Option<JobKey>) -> R {
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
    pub(crate) fn start_cron(&mut self, job: Option<JobKey>) -> R {
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

    /// Starts the cron runs that are due (Aurora `CronJobManager` / Quartz trigger).
    pub(crate) fn fire_crons(&mut self) {
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
}
