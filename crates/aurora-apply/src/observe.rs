//! Reads the live state of everything in scope in as few round trips as possible.
//!
//! Per role: `getTasksStatus` for its active tasks (full configs, paged with offset/limit),
//! `getJobs` for its cron templates and `getJobUpdateSummaries` for its active updates;
//! `getTierConfigs` once per cluster. The number of calls grows with the number of roles,
//! not jobs, and roles are read in parallel (bounded). Nothing is written.

use std::sync::Mutex;

use aurora_api::Client;
use aurora_api::types::{ConstACTIVEJOBUPDATESTATES, ConstACTIVESTATES, JobUpdateQuery, TaskQuery};

use crate::error::EngineError;
use crate::live::LiveState;
use crate::normalize::Tiers;

/// How to read.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// Tasks per `getTasksStatus` page.
    pub page_size: i32,
    /// Roles read at the same time.
    pub parallelism: usize,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        ObserveOptions {
            page_size: 1000,
            parallelism: 4,
        }
    }
}

/// Live state of one cluster's roles, and its tiers.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Jobs of the roles read.
    pub live: LiveState,
    /// The cluster's tier configuration.
    pub tiers: Tiers,
    /// Round trips made (for tests and benchmarks).
    pub calls: usize,
}

/// The distinct roles of some job keys, sorted: the unit observing works in.
pub fn roles_of<'a>(keys: impl IntoIterator<Item = &'a aurora_api::types::JobKey>) -> Vec<String> {
    keys.into_iter()
        .filter_map(|k| k.role.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Reads the tiers and `roles` of the cluster behind `client`. `cluster` names it in errors.
pub fn observe(
    client: &Client,
    cluster: &str,
    roles: &[String],
    options: &ObserveOptions,
) -> Result<Observed, EngineError> {
    let tiers = read_tiers(client, cluster)?;
    let mut observed = observe_with_tiers(client, cluster, roles, tiers, options)?;
    observed.calls += 1;
    Ok(observed)
}

/// The cluster's tiers (`getTierConfigs`): one round trip.
pub fn read_tiers(client: &Client, cluster: &str) -> Result<Tiers, EngineError> {
    let tiers = client
        .get_tier_configs()
        .map_err(|e| EngineError::api(format!("reading tiers of {cluster}"), e))?;
    Ok(Tiers::from_thrift(&tiers.value))
}

/// Reads `roles` of a cluster whose tiers the caller already has (the CLI reads them first
/// to place the desired jobs as Aurora's client would); `calls` counts the role reads only.
pub fn observe_with_tiers(
    client: &Client,
    cluster: &str,
    roles: &[String],
    tiers: Tiers,
    options: &ObserveOptions,
) -> Result<Observed, EngineError> {
    let next = Mutex::new(roles.iter());
    let results = Mutex::new(Vec::new());
    let workers = options.parallelism.clamp(1, roles.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let role = match next.lock() {
                        Ok(mut it) => it.next(),
                        Err(_) => None,
                    };
                    let Some(role) = role else { break };
                    let result =
                        observe_role(client, role, options.page_size.max(1)).map_err(|e| {
                            EngineError::api(format!("reading role {role} on {cluster}"), e)
                        });
                    if let Ok(mut r) = results.lock() {
                        r.push(result);
                    }
                }
            });
        }
    });

    let mut live = LiveState::default();
    let mut calls = 0;
    for result in results.into_inner().unwrap_or_default() {
        let (role_state, role_calls) = result?;
        calls += role_calls;
        live.jobs.extend(role_state.jobs);
    }
    Ok(Observed { live, tiers, calls })
}

fn observe_role(
    client: &Client,
    role: &str,
    page_size: i32,
) -> Result<(LiveState, usize), aurora_api::ApiError> {
    let mut state = LiveState::default();
    let mut calls = 0;
    // Cron templates and updates first: getJobs also returns every service synthesised from
    // its tasks, which is dropped at once; reading it before the tasks lets the tasks reuse
    // that memory instead of growing the heap around it.
    let jobs = client
        .get_jobs(Some(role))?
        .value
        .configs
        .unwrap_or_default();
    calls += 1;
    state.add_jobs(jobs);
    let query = JobUpdateQuery {
        role: Some(role.to_string()),
        update_statuses: Some(ConstACTIVEJOBUPDATESTATES::const_value()),
        ..JobUpdateQuery::default()
    };
    let updates = client
        .get_job_update_summaries(&query)?
        .value
        .update_summaries
        .unwrap_or_default();
    calls += 1;
    state.add_updates(updates);
    let mut offset = 0;
    loop {
        let query = TaskQuery {
            role: Some(role.to_string()),
            statuses: Some(ConstACTIVESTATES::const_value()),
            offset: Some(offset),
            limit: Some(page_size),
            ..TaskQuery::default()
        };
        let tasks = client
            .get_tasks_status(&query)?
            .value
            .tasks
            .unwrap_or_default();
        calls += 1;
        let n = i32::try_from(tasks.len()).unwrap_or(i32::MAX);
        state.add_tasks(tasks);
        if n < page_size {
            break;
        }
        offset = offset.saturating_add(n);
    }
    Ok((state, calls))
}
