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

use crate::error::EngineError;
use crate::key::ClusterJobKey;

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
}
