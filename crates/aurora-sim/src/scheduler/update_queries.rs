//! The read-only RPCs on job updates (Aurora `ReadOnlySchedulerImpl`):
//! getJobUpdateSummaries, getJobUpdateDetails and getJobUpdateDiff, and the job diff that
//! startJobUpdate shares.

use std::collections::{BTreeMap, BTreeSet};

use aurora_thrift::ranges;
use aurora_thrift::types::{
    self as t, GetJobUpdateDetailsResult, GetJobUpdateDiffResult, GetJobUpdateSummariesResult,
    JobKey, JobUpdateKey, JobUpdateQuery, JobUpdateRequest, JobUpdateSummary, ResponseCode,
    TaskConfig,
};

use super::read_only::{groups, page};
use super::{R, error, invalid, ok, response, update_key_string};
use crate::engine::{Core, MAX_RANGE_IDS, of_role, update_active};
use crate::shape;
use crate::state::UpdateRec;
use crate::validate::validate_task;

/// Result of comparing a desired state with the active tasks (getJobUpdateDiff).
#[derive(Debug, Default)]
pub(crate) struct Diff {
    pub(crate) add: BTreeMap<i32, TaskConfig>,
    pub(crate) remove: BTreeMap<i32, TaskConfig>,
    pub(crate) update: BTreeMap<i32, TaskConfig>,
    pub(crate) unchanged: BTreeMap<i32, TaskConfig>,
}

impl Diff {
    pub(crate) fn is_noop(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty() && self.update.is_empty()
    }
}

impl Core {
    /// JobUpdateQuery matching (reference §1.4): set fields AND-ed; no environment filter.
    fn update_matches(u: &UpdateRec, q: &JobUpdateQuery) -> bool {
        let no_summary = JobUpdateSummary::default();
        let summary = u
            .details
            .update
            .as_ref()
            .and_then(|x| x.summary.as_ref())
            .unwrap_or(&no_summary);
        let no_job = JobKey::default();
        let job = u.job().unwrap_or(&no_job);
        if q.role
            .as_ref()
            .is_some_and(|r| job.role.as_ref() != Some(r))
        {
            return false;
        }
        if q.job_key.as_ref().is_some_and(|k| k != job) {
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

    /// Positions of the updates a query can match, through the update indexes when the
    /// query names a job (by its key or update key), a role, or only active statuses. Every
    /// update the query matches is among them; [`Core::update_matches`] decides.
    fn update_candidates(&self, q: &JobUpdateQuery) -> Vec<usize> {
        // An update key holds its job; an update key without one matches only updates
        // without one, which are under the empty key.
        let job = q
            .key
            .as_ref()
            .map(|k| k.job.clone().unwrap_or_default())
            .or_else(|| q.job_key.clone());
        if let Some(job) = job {
            return self.job_updates(&job).collect();
        }
        if let Some(role) = q.role.as_deref() {
            return of_role(&self.updates_by_job, role)
                .flat_map(|(_, ids)| ids.iter().copied())
                .collect();
        }
        let active_only = q
            .update_statuses
            .as_ref()
            .is_some_and(|s| !s.is_empty() && s.iter().all(|status| update_active(*status)));
        if active_only {
            return self.active_updates.iter().copied().collect();
        }
        (0..self.state.updates.len()).collect()
    }

    /// Updates matching a query, newest (last modified) first, offset/limit applied.
    fn query_updates(&self, q: &JobUpdateQuery) -> Vec<&UpdateRec> {
        let mut list: Vec<&UpdateRec> = self
            .update_candidates(q)
            .into_iter()
            .filter_map(|idx| self.state.updates.get(idx))
            .filter(|u| Self::update_matches(u, q))
            .collect();
        list.sort_by_key(|u| std::cmp::Reverse((u.last_modified_ms(), u.seq)));
        page(list, q.offset, q.limit)
    }

    /// getJobUpdateSummaries (reference §1.6): newest first.
    pub(crate) fn get_job_update_summaries(&self, q: Option<JobUpdateQuery>) -> R {
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
    pub(crate) fn get_job_update_details(
        &self,
        key: Option<JobUpdateKey>,
        q: Option<JobUpdateQuery>,
    ) -> R {
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
    pub(crate) fn diff(
        &self,
        job: &JobKey,
        desired: &TaskConfig,
        count: i32,
        scope: &BTreeSet<i32>,
    ) -> Diff {
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
    pub(crate) fn get_job_update_diff(&self, request: Option<JobUpdateRequest>) -> R {
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
        let scope = ranges::expand(
            settings.update_only_these_instances.iter().flatten(),
            MAX_RANGE_IDS,
        );
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
}
