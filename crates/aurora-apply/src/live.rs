//! Live state of jobs, as observed on the scheduler, grouped per job.
//!
//! Built from a role's active tasks (`getTasksStatus`), its cron templates (`getJobs`) and its
//! active updates (`getJobUpdateSummaries`). The scheduler keeps no job object for services,
//! so a service *is* its active tasks; grouping them per job and config here is what
//! `getConfigSummary` would do per job, without a round trip per job.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aurora_api::types::{JobConfiguration, JobKey, JobUpdateSummary, ScheduledTask, TaskConfig};
use sha2::{Digest, Sha256};

use crate::desired::hex;
use crate::ranges::{InstanceRange, to_ranges};

/// One job as the scheduler has it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveJob {
    /// The job key.
    pub key: JobKey,
    /// Active tasks by instance id (their stored, populated configs). Instances with equal
    /// configs share one allocation: a 1,000-instance job holds one config, not 1,000.
    pub instances: BTreeMap<i32, Arc<TaskConfig>>,
    /// The cron template, for cron jobs (boxed: most jobs have none).
    pub cron: Option<Box<JobConfiguration>>,
    /// The update in progress, if any (boxed: most jobs have none).
    pub active_update: Option<Box<JobUpdateSummary>>,
}

/// Instances sharing one config.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveGroup {
    /// The config.
    pub config: TaskConfig,
    /// Its instances.
    pub instances: Vec<InstanceRange>,
}

impl LiveJob {
    /// Active instances grouped by identical config, largest group first.
    pub fn groups(&self) -> Vec<LiveGroup> {
        let mut by_config: Vec<(TaskConfig, BTreeSet<i32>)> = Vec::new();
        for (id, config) in &self.instances {
            match by_config.iter_mut().find(|(c, _)| c == config.as_ref()) {
                Some((_, ids)) => {
                    ids.insert(*id);
                }
                None => by_config.push((TaskConfig::clone(config), BTreeSet::from([*id]))),
            }
        }
        by_config.sort_by_key(|(_, ids)| std::cmp::Reverse(ids.len()));
        by_config
            .into_iter()
            .map(|(config, ids)| LiveGroup {
                config,
                instances: to_ranges(&ids),
            })
            .collect()
    }

    /// Whether anything of the job exists (active tasks or a cron template).
    pub fn exists(&self) -> bool {
        !self.instances.is_empty() || self.cron.is_some()
    }

    /// A representative config: the cron template's, else the largest group's (the first
    /// in instance order among equally large ones, as in [`LiveJob::groups`]). Borrowed:
    /// planning asks for it several times per job.
    pub fn representative_task(&self) -> Option<&TaskConfig> {
        if let Some(cron) = &self.cron {
            return cron.task_config.as_ref();
        }
        let mut counts: Vec<(&Arc<TaskConfig>, usize)> = Vec::new();
        for config in self.instances.values() {
            match counts
                .iter_mut()
                .find(|(c, _)| Arc::ptr_eq(c, config) || c.as_ref() == config.as_ref())
            {
                Some((_, n)) => *n += 1,
                None => counts.push((config, 1)),
            }
        }
        let mut best: Option<(&Arc<TaskConfig>, usize)> = None;
        for (config, n) in counts {
            if best.is_none_or(|(_, most)| n > most) {
                best = Some((config, n));
            }
        }
        best.map(|(config, _)| config.as_ref())
    }

    /// `sha256:` over what a saved plan must still find: active configs per instance, the
    /// cron template and the active update. Any change means the plan is stale.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        // Instances mostly share one config (one allocation): each is encoded once.
        let mut encoded: Vec<(&Arc<TaskConfig>, Vec<u8>)> = Vec::new();
        for (id, config) in &self.instances {
            hasher.update(id.to_be_bytes());
            match encoded.iter().find(|(c, _)| Arc::ptr_eq(c, config)) {
                Some((_, bytes)) => hasher.update(bytes),
                None => {
                    let bytes = aurora_api::wire::encode_struct(config.as_ref());
                    hasher.update(&bytes);
                    encoded.push((config, bytes));
                }
            }
        }
        if let Some(cron) = &self.cron {
            hasher.update(b"cron");
            hasher.update(aurora_api::wire::encode_struct(cron.as_ref()));
        }
        if let Some(update) = self.active_update.as_ref().and_then(|u| u.key.as_ref()) {
            hasher.update(b"update");
            hasher.update(update.id.as_deref().unwrap_or("").as_bytes());
        }
        format!("sha256:{}", hex(&hasher.finalize()))
    }
}

/// Whether a `getJobs` entry is a cron template (the others are synthesised from tasks).
pub fn is_cron(config: &JobConfiguration) -> bool {
    config
        .cron_schedule
        .as_deref()
        .is_some_and(|s| !s.is_empty())
}

/// Fingerprint of a job that does not exist.
pub fn absent_fingerprint() -> String {
    LiveJob::default().fingerprint()
}

/// Live jobs of a set of roles, keyed by `(role, environment, name)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveState {
    /// Jobs by key.
    pub jobs: BTreeMap<(String, String, String), LiveJob>,
}

fn key_tuple(key: &JobKey) -> (String, String, String) {
    (
        key.role.clone().unwrap_or_default(),
        key.environment.clone().unwrap_or_default(),
        key.name.clone().unwrap_or_default(),
    )
}

impl LiveState {
    /// Adds active tasks; tasks without a job key or instance id are ignored.
    pub fn add_tasks(&mut self, tasks: impl IntoIterator<Item = ScheduledTask>) {
        for task in tasks {
            let Some(assigned) = task.assigned_task else {
                continue;
            };
            let (Some(config), Some(id)) = (assigned.task, assigned.instance_id) else {
                continue;
            };
            let Some(key) = config.job.clone() else {
                continue;
            };
            let job = self.job_mut(&key);
            // Checking the first and last configs keeps this linear; instances of a job
            // mostly share one config (or two, mid-update).
            let values = &job.instances;
            let shared = [values.values().next(), values.values().next_back()]
                .into_iter()
                .flatten()
                .find(|c| c.as_ref() == &config)
                .map_or_else(|| Arc::new(config), Arc::clone);
            job.instances.insert(id, shared);
        }
    }

    /// Adds cron templates from `getJobs` (services there are synthesised from tasks and
    /// ignored: tasks are the truth).
    pub fn add_jobs(&mut self, configs: impl IntoIterator<Item = JobConfiguration>) {
        for config in configs {
            if !is_cron(&config) {
                continue;
            }
            let Some(key) = config.key.clone() else {
                continue;
            };
            self.job_mut(&key).cron = Some(Box::new(config));
        }
    }

    /// Adds active updates (newest first, as the scheduler returns them: the first wins).
    pub fn add_updates(&mut self, summaries: impl IntoIterator<Item = JobUpdateSummary>) {
        for summary in summaries {
            let Some(key) = summary.key.as_ref().and_then(|k| k.job.clone()) else {
                continue;
            };
            let job = self.job_mut(&key);
            if job.active_update.is_none() {
                job.active_update = Some(Box::new(summary));
            }
        }
    }

    /// Adds the jobs of `other` (of other roles: a job in both keeps `other`'s).
    pub fn merge(&mut self, other: LiveState) {
        self.jobs.extend(other.jobs);
    }

    /// The job with this key, if the scheduler has anything of it.
    pub fn get(&self, key: &JobKey) -> Option<&LiveJob> {
        self.jobs.get(&key_tuple(key))
    }

    /// Takes the job with this key out, if the scheduler has anything of it.
    pub fn take(&mut self, key: &JobKey) -> Option<LiveJob> {
        self.jobs.remove(&key_tuple(key))
    }

    fn job_mut(&mut self, key: &JobKey) -> &mut LiveJob {
        self.jobs.entry(key_tuple(key)).or_insert_with(|| LiveJob {
            key: key.clone(),
            ..LiveJob::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurora_api::types::AssignedTask;

    fn task(name: &str, id: i32, priority: i32) -> ScheduledTask {
        ScheduledTask {
            assigned_task: Some(AssignedTask {
                instance_id: Some(id),
                task: Some(TaskConfig {
                    job: Some(JobKey {
                        role: Some("r".into()),
                        environment: Some("prod".into()),
                        name: Some(name.into()),
                    }),
                    priority: Some(priority),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn groups_tasks_per_job_and_config() {
        let mut live = LiveState::default();
        live.add_tasks([
            task("a", 0, 1),
            task("a", 1, 1),
            task("a", 2, 5),
            task("b", 0, 0),
        ]);
        assert_eq!(live.jobs.len(), 2);
        let a = &live.jobs[&("r".into(), "prod".into(), "a".into())];
        let groups = a.groups();
        assert_eq!(groups.len(), 2);
        assert_eq!(crate::ranges::display(&groups[0].instances), "0-1");
        assert_eq!(crate::ranges::display(&groups[1].instances), "2");
        assert_ne!(a.fingerprint(), absent_fingerprint());
    }

    #[test]
    fn the_representative_config_is_the_largest_groups_first_in_instance_order() {
        let mut live = LiveState::default();
        // Two groups of two: the one holding the lowest instance id is the largest group's
        // representative, as `groups` orders them.
        live.add_tasks([
            task("a", 0, 7),
            task("a", 1, 3),
            task("a", 2, 7),
            task("a", 3, 3),
            task("a", 4, 9),
        ]);
        let a = &live.jobs[&("r".into(), "prod".into(), "a".into())];
        assert_eq!(a.representative_task(), Some(&a.groups()[0].config));
        assert_eq!(a.representative_task().and_then(|t| t.priority), Some(7));
        live.add_tasks([task("a", 5, 3)]);
        let a = &live.jobs[&("r".into(), "prod".into(), "a".into())];
        assert_eq!(a.representative_task().and_then(|t| t.priority), Some(3));
        assert_eq!(a.representative_task(), Some(&a.groups()[0].config));
    }

    #[test]
    fn the_fingerprint_covers_each_instance_and_its_config() {
        let fingerprint = |tasks: Vec<ScheduledTask>| {
            let mut live = LiveState::default();
            live.add_tasks(tasks);
            live.jobs.values().next().map(LiveJob::fingerprint)
        };
        let shared = fingerprint(vec![task("a", 0, 1), task("a", 1, 1), task("a", 2, 1)]);
        assert_eq!(
            shared,
            fingerprint(vec![task("a", 0, 1), task("a", 1, 1), task("a", 2, 1)])
        );
        for other in [
            vec![task("a", 0, 1), task("a", 1, 2), task("a", 2, 1)],
            vec![task("a", 0, 1), task("a", 1, 1), task("a", 3, 1)],
            vec![task("a", 0, 1), task("a", 1, 1)],
        ] {
            assert_ne!(shared, fingerprint(other));
        }
    }
}
