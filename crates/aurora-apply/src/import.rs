//! What `import` reads of live jobs: each job's configuration as the scheduler serves it and
//! the update settings of its most recent update, for the jobs a selector names.
//!
//! `getJobs` answers per role with every service (synthesised by the scheduler from its
//! active tasks) and every cron template, with the instance count; the update settings come
//! from the newest update of each job (`getJobUpdateSummaries` once per role, then
//! `getJobUpdateDetails` for those updates). Turning these into spec files is the migration
//! crate's work, not the engine's.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use aurora_api::Client;
use aurora_api::types::{
    JobConfiguration, JobKey, JobUpdateKey, JobUpdateQuery, JobUpdateSettings,
};

use crate::compare::{Effect, FieldChange, task_changes};
use crate::desired::kind_of;
use crate::error::EngineError;
use crate::key::ClusterJobKey;
use crate::marker::{MANAGED_KEY, PROTECT_KEY, is_managed, set_marker};
use crate::normalize::{Tiers, task_config};
use crate::planner::cron_fields;

/// `cluster/role[/environment[/name]]`: the jobs to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSelector {
    /// The cluster.
    pub cluster: String,
    /// The role (required: the scheduler lists jobs per role).
    pub role: String,
    /// Only this environment.
    pub environment: Option<String>,
    /// Only this job name (needs `environment`).
    pub name: Option<String>,
}

/// A selector that is not `cluster/role[/environment[/name]]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: not a job selector (expected cluster/role[/environment[/name]])")]
pub struct SelectorError(pub String);

impl FromStr for JobSelector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split('/').collect();
        if !(2..=4).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(SelectorError(text.chars().take(80).collect()));
        }
        let part = |i: usize| parts.get(i).map(|p| (*p).to_string());
        Ok(JobSelector {
            cluster: parts[0].to_string(),
            role: parts[1].to_string(),
            environment: part(2),
            name: part(3),
        })
    }
}

impl fmt::Display for JobSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.cluster, self.role)?;
        if let Some(env) = &self.environment {
            write!(f, "/{env}")?;
        }
        if let Some(name) = &self.name {
            write!(f, "/{name}")?;
        }
        Ok(())
    }
}

impl JobSelector {
    /// Whether the selector names `key` (a key of its role).
    pub fn matches(&self, key: &JobKey) -> bool {
        key.role.as_deref() == Some(self.role.as_str())
            && self
                .environment
                .as_deref()
                .is_none_or(|e| key.environment.as_deref() == Some(e))
            && self
                .name
                .as_deref()
                .is_none_or(|n| key.name.as_deref() == Some(n))
    }
}

/// One live job, as `import` needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveJobConfig {
    /// Its key.
    pub key: ClusterJobKey,
    /// The configuration the scheduler serves (`getJobs`): a service's from its tasks, a
    /// cron job's template.
    pub config: JobConfiguration,
    /// The settings of its most recent update, whatever its outcome; `None` when it never
    /// had one.
    pub update_settings: Option<JobUpdateSettings>,
}

/// Reads the jobs `selector` names, sorted by key. Calls: one `getJobs` and one
/// `getJobUpdateSummaries` for the role, then one `getJobUpdateDetails` per job that had an
/// update.
pub fn read_live_jobs(
    client: &Client,
    selector: &JobSelector,
) -> Result<Vec<LiveJobConfig>, EngineError> {
    let reading = |what: &str| format!("reading {what} of {selector}");
    let configs = client
        .get_jobs(Some(&selector.role))
        .map_err(|e| EngineError::api(reading("the jobs"), e))?
        .value
        .configs
        .unwrap_or_default();
    let summaries = client
        .get_job_update_summaries(&JobUpdateQuery {
            role: Some(selector.role.clone()),
            ..JobUpdateQuery::default()
        })
        .map_err(|e| EngineError::api(reading("the updates"), e))?
        .value
        .update_summaries
        .unwrap_or_default();
    // The newest update of each job (by creation time; the update id breaks ties).
    let mut newest: BTreeMap<JobKey, (i64, JobUpdateKey)> = BTreeMap::new();
    for summary in summaries {
        let Some(key) = summary.key else { continue };
        let Some(job) = key.job.clone() else { continue };
        let created = summary
            .state
            .and_then(|s| s.created_timestamp_ms)
            .unwrap_or(0);
        let newer = newest
            .get(&job)
            .is_none_or(|(at, seen)| (created, key.id.as_deref()) > (*at, seen.id.as_deref()));
        if newer {
            newest.insert(job, (created, key));
        }
    }
    let mut out = Vec::new();
    for config in configs {
        let Some(key) = config.key.clone() else {
            continue;
        };
        if !selector.matches(&key) {
            continue;
        }
        let update_settings = match newest.get(&key) {
            None => None,
            Some((_, update)) => read_settings(client, update)
                .map_err(|e| EngineError::api(reading("the last update"), e))?,
        };
        out.push(LiveJobConfig {
            key: ClusterJobKey::new(&selector.cluster, &key),
            config,
            update_settings,
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

fn read_settings(
    client: &Client,
    update: &JobUpdateKey,
) -> Result<Option<JobUpdateSettings>, aurora_api::ApiError> {
    let details = client
        .get_job_update_details(&JobUpdateQuery {
            key: Some(update.clone()),
            ..JobUpdateQuery::default()
        })?
        .value
        .details_list
        .unwrap_or_default();
    Ok(details
        .into_iter()
        .find_map(|d| d.update?.instructions?.settings))
}

/// The metadata keys of aurora-apply's own bookkeeping on a task ([`crate::marker`]): an
/// imported spec leaves them out (the engine adds them when it plans), `protect` becoming
/// `protect: true`.
pub const TOOL_METADATA_KEYS: &[&str] = &[MANAGED_KEY, PROTECT_KEY];

/// What a desired job (a spec's `JobConfiguration`, its update settings and `protect`)
/// changes on `live`, compared exactly as the planner compares them: the markers the engine
/// would add, both tasks normalised with the cluster's `tiers` and compared field by field,
/// the instance count, the kind, a cron job's schedule and collision policy. Empty: `plan`
/// shows the job as a no-op.
///
/// Also compares the update settings when the live job had an update (services and ad-hoc
/// jobs): the planner does not (an update is only started for a change), but an imported spec
/// should carry the settings the job was last updated with. Paths are the plan's
/// (`resources.cpu`, `task.processes[web].cmdline`, `update.watch`).
pub fn differences(
    live: &LiveJobConfig,
    desired: &JobConfiguration,
    desired_settings: Option<&JobUpdateSettings>,
    protect: bool,
    tiers: &Tiers,
) -> Vec<FieldChange> {
    let mut desired = desired.clone();
    let live_task = live.config.task_config.clone().unwrap_or_default();
    // As `planner::config_to_send`: the marker stays on a job that carries it.
    let owned = is_managed(&live_task);
    if let Some(task) = desired.task_config.as_mut() {
        set_marker(task, MANAGED_KEY, owned);
        set_marker(task, PROTECT_KEY, owned && protect);
    }
    let mut out = Vec::new();
    let field =
        |path: &str, before: Option<serde_json::Value>, after: Option<serde_json::Value>| {
            (before != after).then(|| FieldChange {
                path: path.to_string(),
                before,
                after,
                effect: Effect::None,
            })
        };
    let (before_kind, after_kind) = (kind_of(&live.config), kind_of(&desired));
    if before_kind != after_kind {
        out.extend(field(
            "kind",
            serde_json::to_value(before_kind).ok(),
            serde_json::to_value(after_kind).ok(),
        ));
        return out;
    }
    let desired_task = desired.task_config.clone().unwrap_or_default();
    out.extend(task_changes(
        &task_config(&live_task, tiers),
        &task_config(&desired_task, tiers),
        Effect::None,
    ));
    out.extend(field(
        "instances",
        live.config.instance_count.map(serde_json::Value::from),
        desired.instance_count.map(serde_json::Value::from),
    ));
    if after_kind == crate::plan::JobKind::Cron {
        out.extend(
            cron_fields(&live.config, &desired)
                .into_iter()
                .filter(|c| c.path != "instances"),
        );
    } else if let (Some(before), Some(after)) = (&live.update_settings, desired_settings) {
        let (b, a) = (settings_view(before), settings_view(after));
        out.extend(crate::compare::diff_views(&b, &a, Effect::None));
    }
    out
}

/// The update settings that matter, in spec terms (`update.strategy`, `update.watch`, …):
/// the strategy as the scheduler applies it (an older client's group size and batch flag
/// when no strategy is given); the legacy fields mirrored from the strategy are left out.
fn settings_view(s: &JobUpdateSettings) -> BTreeMap<String, serde_json::Value> {
    use aurora_api::types::{BatchJobUpdateStrategy, JobUpdateStrategy, QueueJobUpdateStrategy};
    let strategy = s.update_strategy.clone().unwrap_or_else(|| {
        let size = Some(s.update_group_size.unwrap_or(1));
        if s.wait_for_batch_completion.unwrap_or(false) {
            JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
                group_size: size,
                autopause_after_batch: Some(false),
            })
        } else {
            JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy { group_size: size })
        }
    });
    let mut view = BTreeMap::new();
    view.insert(
        "update.strategy".to_string(),
        aurora_api::json::to_json(&strategy),
    );
    let mut put = |k: &str, v: serde_json::Value| {
        view.insert(format!("update.{k}"), v);
    };
    put(
        "watch",
        s.min_wait_in_instance_running_ms.unwrap_or(0).into(),
    );
    put(
        "max_per_instance_failures",
        s.max_per_instance_failures.unwrap_or(0).into(),
    );
    put(
        "max_failed_instances",
        s.max_failed_instances.unwrap_or(0).into(),
    );
    put(
        "rollback_on_failure",
        s.rollback_on_failure.unwrap_or(false).into(),
    );
    put(
        "pulse_interval",
        s.block_if_no_pulses_after_ms
            .filter(|ms| *ms > 0)
            .map_or(serde_json::Value::Null, Into::into),
    );
    put("sla_aware", s.sla_aware.unwrap_or(false).into());
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_name_a_role_and_optionally_an_environment_and_a_name() {
        let s: JobSelector = "devcluster/www-data".parse().expect("role");
        assert_eq!((s.environment.clone(), s.name.clone()), (None, None));
        let key = |env: &str, name: &str| JobKey {
            role: Some("www-data".into()),
            environment: Some(env.into()),
            name: Some(name.into()),
        };
        assert!(s.matches(&key("prod", "a")));
        let s: JobSelector = "devcluster/www-data/prod/a".parse().expect("job");
        assert_eq!(s.to_string(), "devcluster/www-data/prod/a");
        assert!(s.matches(&key("prod", "a")));
        assert!(!s.matches(&key("prod", "b")));
        assert!(!s.matches(&key("devel", "a")));
        for bad in ["devcluster", "a//b", "a/b/c/d/e", ""] {
            let err = bad.parse::<JobSelector>().expect_err(bad);
            assert!(
                err.to_string()
                    .contains("cluster/role[/environment[/name]]")
            );
        }
    }

    fn fixture(name: &str) -> JobConfiguration {
        aurora_thrift::testing::job_configuration(name)
    }

    fn live_of(config: JobConfiguration) -> LiveJobConfig {
        LiveJobConfig {
            key: ClusterJobKey::new("devcluster", &config.key.clone().unwrap_or_default()),
            config,
            update_settings: None,
        }
    }

    #[test]
    fn differences_compare_as_the_planner_does() {
        let tiers = Tiers::aurora_default();
        let config = fixture("hello_world");
        // As the scheduler serves it: the owner of whoever created it, our marker on it.
        let mut served = config.clone();
        let task = served.task_config.as_mut().expect("task");
        task.owner = None;
        set_marker(task, MANAGED_KEY, true);
        let live = live_of(served);
        assert_eq!(differences(&live, &config, None, false, &tiers), []);

        let mut more_cpu = config.clone();
        more_cpu.task_config.as_mut().expect("task").resources =
            Some([aurora_api::types::Resource::NumCpus(2.0.into())].into());
        let paths: Vec<String> = differences(&live, &more_cpu, None, false, &tiers)
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert!(paths.contains(&"resources.cpu".to_string()), "{paths:?}");

        let mut more = config.clone();
        more.instance_count = Some(3);
        let paths: Vec<String> = differences(&live, &more, None, false, &tiers)
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(paths, ["instances"]);
    }

    #[test]
    fn update_settings_are_compared_when_the_job_had_an_update() {
        let tiers = Tiers::aurora_default();
        let config = fixture("hello_world");
        let mut live = live_of(config.clone());
        live.update_settings = Some(JobUpdateSettings {
            update_group_size: Some(2),
            min_wait_in_instance_running_ms: Some(45_000),
            rollback_on_failure: Some(true),
            block_if_no_pulses_after_ms: Some(0),
            ..JobUpdateSettings::default()
        });
        let same = JobUpdateSettings {
            update_group_size: Some(2),
            min_wait_in_instance_running_ms: Some(45_000),
            rollback_on_failure: Some(true),
            update_strategy: Some(aurora_api::types::JobUpdateStrategy::QueueStrategy(
                aurora_api::types::QueueJobUpdateStrategy {
                    group_size: Some(2),
                },
            )),
            ..JobUpdateSettings::default()
        };
        assert_eq!(differences(&live, &config, Some(&same), false, &tiers), []);
        let other = JobUpdateSettings {
            min_wait_in_instance_running_ms: Some(1_000),
            ..same
        };
        let paths: Vec<String> = differences(&live, &config, Some(&other), false, &tiers)
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(paths, ["update.watch"]);
    }
}
