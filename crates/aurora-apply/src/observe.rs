//! Reads the live state of everything in scope in as few round trips as possible.
//!
//! Per role: `getTasksStatus` for its active tasks (full configs, paged with offset/limit),
//! `getJobs` for its cron templates and `getJobUpdateSummaries` for its active updates;
//! `getTierConfigs` once per cluster. The number of calls grows with the number of roles,
//! not jobs, and roles are read in parallel (bounded). Nothing is written.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use aurora_api::Client;
use aurora_api::types::{ConstACTIVEJOBUPDATESTATES, ConstACTIVESTATES, JobUpdateQuery, TaskQuery};

use crate::error::EngineError;
use crate::live::LiveState;
use crate::normalize::Tiers;

/// Read calls in flight at once by default. Aurora 0.22 serves the API from Jetty's default
/// thread pool (JettyServerModule creates `new Server()`: at most 200 threads) and these
/// reads and confirmations (`getJobUpdateDiff`, `populateJobConfig`) are answered from its
/// in-memory store; 64 is a third of that pool, leaving two thirds to everyone else, and
/// reads a cluster of up to 21 roles in one round trip and confirms up to 64 changed jobs in
/// one more — the two round trips a plan needs at least.
pub const DEFAULT_PARALLELISM: usize = 64;

/// How to read.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// Tasks per `getTasksStatus` page.
    pub page_size: i32,
    /// Read calls in flight at once (and confirmations, in planning): `--parallelism`.
    pub parallelism: usize,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        ObserveOptions {
            page_size: 1000,
            parallelism: DEFAULT_PARALLELISM,
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

/// Reads the tiers and `roles` of the cluster behind `client`, all in one round trip of
/// latency. `cluster` names it in errors.
pub fn observe(
    client: &Client,
    cluster: &str,
    roles: &[String],
    options: &ObserveOptions,
) -> Result<Observed, EngineError> {
    read_all(client, cluster, roles, options)
}

/// The cluster's tiers (`getTierConfigs`): one round trip.
pub fn read_tiers(client: &Client, cluster: &str) -> Result<Tiers, EngineError> {
    let tiers = client
        .get_tier_configs()
        .map_err(|e| EngineError::api(format!("reading tiers of {cluster}"), e))?;
    Ok(Tiers::from_thrift(&tiers.value))
}

/// Every read of `roles` and the tiers, in one bounded wave.
///
/// The three reads of every role are independent, so all of them — every role's
/// `getJobs`, `getJobUpdateSummaries` and first `getTasksStatus` page — and `getTierConfigs`
/// go out at once, bounded by `options.parallelism` calls in flight: one round trip of
/// latency for the whole cluster instead of three per role. A role whose first task page was
/// full reads all its further pages at once, in a second round trip.
fn read_all(
    client: &Client,
    cluster: &str,
    roles: &[String],
    options: &ObserveOptions,
) -> Result<Observed, EngineError> {
    let page_size = options.page_size.max(1);
    let mut reads: Vec<(&str, Read)> = roles
        .iter()
        .flat_map(|role| {
            [Read::Jobs, Read::Updates, Read::Tasks(0)].map(|read| (role.as_str(), read))
        })
        .collect();
    reads.insert(0, ("", Read::Tiers));
    // Each answer is folded into the live state as it arrives (under a lock), so what is
    // held at once is the state plus the answers in flight — `getJobs` also returns every
    // service synthesised from its tasks, dropped here at once.
    let live = Mutex::new(LiveState::default());
    let read_tiers = Mutex::new(None);
    let more_pages = Mutex::new(Vec::new());
    // How many active tasks each role has, as `getJobs` counts them: which further pages to
    // ask for at once. Aurora synthesises a service's config with `instanceCount` = its active
    // tasks (ReadOnlySchedulerImpl.getJobs, rel/0.22.0); a cron template's own count replaces
    // it, so this is an estimate, and reading goes on past it when the last page is full.
    let expected = Mutex::new(BTreeMap::<&str, i64>::new());
    let answers = crate::pool::parallel_map(&reads, options.parallelism, |(role, read)| {
        let answer = read_one(client, role, *read, page_size).map_err(|e| match read {
            Read::Tiers => EngineError::api(format!("reading tiers of {cluster}"), e),
            _ => EngineError::api(format!("reading role {role} on {cluster}"), e),
        })?;
        let mut live = live.lock().unwrap_or_else(|e| e.into_inner());
        match answer {
            Answer::Tiers(t) => {
                *read_tiers.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Tiers::from_thrift(&t));
            }
            Answer::Jobs(jobs) => {
                let tasks = jobs
                    .iter()
                    .map(|j| i64::from(j.instance_count.unwrap_or(0).max(0)))
                    .sum();
                expected
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(*role, tasks);
                live.add_jobs(jobs);
            }
            Answer::Updates(updates) => live.add_updates(updates),
            Answer::Tasks(tasks) => {
                let n = i32::try_from(tasks.len()).unwrap_or(i32::MAX);
                live.add_tasks(tasks);
                if n >= page_size {
                    more_pages
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((*role, n));
                }
            }
        }
        Ok::<(), EngineError>(())
    });
    answers.into_iter().collect::<Result<(), EngineError>>()?;
    let mut calls = reads.len();
    let mut live = live.into_inner().unwrap_or_else(|e| e.into_inner());
    let tiers = read_tiers.into_inner().unwrap_or_else(|e| e.into_inner());
    let more_pages = more_pages.into_inner().unwrap_or_else(|e| e.into_inner());
    let expected = expected.into_inner().unwrap_or_else(|e| e.into_inner());
    // Roles with more tasks than a page: every further page `getJobs` says the role has —
    // and the one after it, which shows the end — all at once, in one more round trip.
    // Should the last of them still be full (tasks were added meanwhile), that role reads on
    // page by page.
    let mut pages: Vec<(&str, i32)> = Vec::new();
    for &(role, first) in &more_pages {
        let total = expected.get(role).copied().unwrap_or(0);
        let mut offset = first;
        loop {
            pages.push((role, offset));
            // This page is expected to be short (or empty): it shows the end.
            if i64::from(offset) + i64::from(page_size) > total {
                break;
            }
            offset = offset.saturating_add(page_size);
        }
    }
    let read =
        crate::pool::parallel_map(
            &pages,
            options.parallelism,
            |(role, offset)| match read_one(client, role, Read::Tasks(*offset), page_size)
                .map_err(|e| EngineError::api(format!("reading role {role} on {cluster}"), e))?
            {
                Answer::Tasks(page) => Ok(page),
                _ => Ok(Vec::new()),
            },
        );
    calls += pages.len();
    let mut last_full: BTreeMap<&str, i32> = BTreeMap::new();
    let mut ended: BTreeSet<&str> = BTreeSet::new();
    for ((role, offset), page) in pages.iter().zip(read) {
        let page = page?;
        // Pages are in offset order per role; after a short page the role has ended.
        if ended.contains(role) {
            continue;
        }
        let n = i32::try_from(page.len()).unwrap_or(i32::MAX);
        live.add_tasks(page);
        if n < page_size {
            ended.insert(role);
            last_full.remove(role);
        } else {
            last_full.insert(role, offset.saturating_add(n));
        }
    }
    let rest: Vec<(&str, i32)> = last_full.into_iter().collect();
    let rest = crate::pool::parallel_map(&rest, options.parallelism, |(role, next)| {
        let mut tasks = Vec::new();
        let mut calls = 0;
        let mut offset = *next;
        while let Answer::Tasks(page) = read_one(client, role, Read::Tasks(offset), page_size)
            .map_err(|e| EngineError::api(format!("reading role {role} on {cluster}"), e))?
        {
            calls += 1;
            let n = i32::try_from(page.len()).unwrap_or(i32::MAX);
            tasks.extend(page);
            if n < page_size {
                break;
            }
            offset = offset.saturating_add(n);
        }
        Ok::<_, EngineError>((tasks, calls))
    });
    for result in rest {
        let (tasks, n) = result?;
        calls += n;
        live.add_tasks(tasks);
    }
    Ok(Observed {
        live,
        // Read above (an answer without tiers leaves Aurora's defaults).
        tiers: tiers.unwrap_or_else(|| Tiers::from_thrift(&Default::default())),
        calls,
    })
}

/// One read of a role (or of the cluster's tiers).
#[derive(Clone, Copy, Debug)]
enum Read {
    /// `getTierConfigs`.
    Tiers,
    /// `getJobs`: cron templates (and every service synthesised from its tasks).
    Jobs,
    /// `getJobUpdateSummaries` of the active updates.
    Updates,
    /// One `getTasksStatus` page of the active tasks, from this offset.
    Tasks(i32),
}

/// What a read returned.
enum Answer {
    Tiers(aurora_api::types::GetTierConfigResult),
    Jobs(Vec<aurora_api::types::JobConfiguration>),
    Updates(Vec<aurora_api::types::JobUpdateSummary>),
    Tasks(Vec<aurora_api::types::ScheduledTask>),
}

fn read_one(
    client: &Client,
    role: &str,
    read: Read,
    page_size: i32,
) -> Result<Answer, aurora_api::ApiError> {
    Ok(match read {
        Read::Tiers => Answer::Tiers(client.get_tier_configs()?.value),
        Read::Jobs => Answer::Jobs(
            client
                .get_jobs(Some(role))?
                .value
                .configs
                .unwrap_or_default()
                .into_iter()
                .collect(),
        ),
        Read::Updates => {
            let query = JobUpdateQuery {
                role: Some(role.to_string()),
                update_statuses: Some(ConstACTIVEJOBUPDATESTATES::const_value()),
                ..JobUpdateQuery::default()
            };
            Answer::Updates(
                client
                    .get_job_update_summaries(&query)?
                    .value
                    .update_summaries
                    .unwrap_or_default(),
            )
        }
        Read::Tasks(offset) => {
            let query = TaskQuery {
                role: Some(role.to_string()),
                statuses: Some(ConstACTIVESTATES::const_value()),
                offset: Some(offset),
                limit: Some(page_size),
                ..TaskQuery::default()
            };
            Answer::Tasks(
                client
                    .get_tasks_status(&query)?
                    .value
                    .tasks
                    .unwrap_or_default(),
            )
        }
    })
}
