//! Planning against a live cluster: observe, draft locally, confirm with the scheduler.
//!
//! In: the desired jobs of one cluster and a client for it. Out: one [`JobChange`] per job in
//! scope. Only jobs that differ locally are confirmed (`getJobUpdateDiff` for services,
//! `populateJobConfig` for cron templates); new jobs are validated with
//! `populateJobConfig`, so a config the scheduler would refuse fails the plan (exit 3) and
//! not the apply. Nothing is written.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use aurora_api::types::{ConfigGroup, JobKey, ResponseCode, ScheduleStatus, TaskQuery};
use aurora_api::{ApiError, Client};

use crate::compare::same_task;
use crate::desired::{DesiredJob, spec_hash};
use crate::error::EngineError;
use crate::key::ClusterJobKey;
use crate::live::{LiveJob, LiveState};
use crate::normalize::{Tiers, task_config};
use crate::observe::ObserveOptions;
pub use crate::observe::read_tiers;
use crate::plan::{
    Action, ActionReason, FORMAT_VERSION, JobChange, JobKind, Plan, PlanInputs, PlanScope, Summary,
};
use crate::planner::{Draft, plan_absent, plan_desired};
use crate::pool::{Latch, into_inner, lock};
use crate::ranges::{InstanceRange, ids_of, to_ranges};
use crate::target::Targets;

/// How to plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Kill owned jobs of the roles in scope that no spec describes.
    pub prune: bool,
    /// Where to look besides the roles of the specs: whole clusters or single roles. A role
    /// whose last job was removed from the specs is only pruned when it is in scope.
    pub scope: Vec<Scope>,
    /// How to read live state.
    pub observe: ObserveOptions,
    /// `--target`: only these jobs are planned, and only they can be pruned.
    pub targets: Targets,
}

/// Part of a cluster to observe (and prune).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The cluster.
    pub cluster: String,
    /// One role, or `None` for every role that has jobs (from `getRoleSummary`).
    pub role: Option<String>,
}

impl Scope {
    /// Parses `CLUSTER` or `CLUSTER/ROLE`.
    pub fn parse(text: &str) -> Option<Scope> {
        let mut parts = text.split('/');
        let cluster = parts.next().filter(|c| !c.is_empty())?.to_string();
        let role = match parts.next() {
            None => None,
            Some(r) if !r.is_empty() => Some(r.to_string()),
            Some(_) => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Scope { cluster, role })
    }
}

/// The roles of `cluster` to observe — those of the specs plus the scope's — each with the
/// jobs known to be in it: the specs' and, for a whole-cluster scope, `getRoleSummary`'s
/// count, whichever is more. A role reads as a big one by that count ([`read_roles`]), so a
/// big role that only the scope names (to prune) is read a few at a time too.
///
/// [`read_roles`]: crate::observe::read_roles
fn roles_in_scope(
    client: &Client,
    cluster: &str,
    keys: &[JobKey],
    scope: &[Scope],
) -> Result<BTreeMap<String, usize>, EngineError> {
    let mut roles: BTreeMap<String, usize> = BTreeMap::new();
    for role in keys.iter().filter_map(|k| k.role.as_ref()) {
        *roles.entry(role.clone()).or_default() += 1;
    }
    for entry in scope.iter().filter(|s| s.cluster == cluster) {
        match &entry.role {
            Some(role) => {
                roles.entry(role.clone()).or_default();
            }
            None => {
                let summary = client
                    .get_role_summary()
                    .map_err(|e| EngineError::api(format!("listing the roles of {cluster}"), e))?;
                for listed in summary.value.summaries.into_iter().flatten() {
                    let Some(role) = listed.role else {
                        continue;
                    };
                    let jobs = usize::try_from(listed.job_count.unwrap_or(0)).unwrap_or(0);
                    let known = roles.entry(role).or_default();
                    *known = (*known).max(jobs);
                }
            }
        }
    }
    Ok(roles)
}

/// The changes for one cluster, and what it cost.
#[derive(Debug, Clone)]
pub struct ClusterPlan {
    /// One change per job in scope (no-ops included), in job key order.
    pub changes: Vec<JobChange>,
    /// Round trips made.
    pub calls: usize,
}

fn invalid_or_api(job: &ClusterJobKey, context: &str, e: ApiError) -> EngineError {
    match e.scheduler() {
        Some(s) if s.code == ResponseCode::INVALID_REQUEST => EngineError::Invalid {
            job: job.to_string(),
            message: s.joined_messages(),
        },
        _ => EngineError::api(format!("{job}: {context}"), e),
    }
}

/// Plans the jobs of `cluster` (all `desired` must belong to it, placed already).
pub fn plan_cluster(
    client: &Client,
    cluster: &str,
    desired: &[DesiredJob],
    options: &PlanOptions,
) -> Result<ClusterPlan, EngineError> {
    let keys: Vec<_> = desired.iter().map(DesiredJob::key).collect();
    plan_cluster_placing(client, cluster, &keys, |_| desired, options).map(|(plan, _)| plan)
}

/// Plans `cluster` reading its tiers in the same round trip as its roles: `place` turns the
/// tiers into the desired jobs (a job's tier and `production` depend on the cluster's tiers,
/// as in Aurora's client; its key does not, so `keys` — the desired jobs' keys — say which
/// roles to read before the tiers are known). Returns the plan and the placed jobs.
///
/// Each role is compared as soon as its reads are in, while other roles are still being
/// read, and only what still needs the scheduler (a confirmation) keeps its live job: an
/// in-sync role's task configs are dropped as soon as it is planned, so what is held at
/// once is the desired jobs, the changes and a few roles' answers, not the whole cluster.
/// Confirmations then go out at once, bounded by the parallelism.
pub fn plan_cluster_placing<J: AsRef<DesiredJob> + Sync, P: AsRef<[J]> + Send + Sync>(
    client: &Client,
    cluster: &str,
    keys: &[JobKey],
    place: impl FnOnce(&Tiers) -> P + Send,
    options: &PlanOptions,
) -> Result<(ClusterPlan, P), EngineError> {
    let (roles, known_jobs): (Vec<String>, Vec<usize>) =
        roles_to_read(client, cluster, keys, options)?
            .into_iter()
            .unzip();
    let planner = RolePlanner {
        job: std::marker::PhantomData,
        cluster,
        options,
        place: Mutex::new(Some(place)),
        placed: Latch::default(),
        planned_roles: Mutex::new(BTreeSet::new()),
        settled: Mutex::new(Vec::new()),
        pending: Mutex::new(Vec::new()),
    };
    let mut calls = crate::observe::read_roles(
        client,
        cluster,
        &roles,
        &known_jobs,
        &options.observe,
        &|tiers| planner.place(tiers),
        &|role, live| planner.plan_role(role, live),
    )?;
    let RolePlanner {
        placed,
        planned_roles,
        settled,
        pending,
        ..
    } = planner;
    // Reading hands the tiers over before it returns.
    let placed = placed.into_inner().flatten().ok_or_else(|| {
        EngineError::api(
            format!("reading tiers of {cluster}"),
            ApiError::Config("the tiers were not handed over".into()),
        )
    })?;
    let mut changes = into_inner(settled);
    let mut pending = into_inner(pending);
    // Desired jobs of roles that were not read (none: every desired job's role is) are
    // planned against nothing, rather than left out.
    let planned_roles = into_inner(planned_roles);
    for (role, indexes) in &placed.by_role {
        if !planned_roles.contains(role) {
            let (settled, more) = placed.plan_jobs(indexes, &mut LiveState::default());
            changes.extend(settled);
            pending.extend(more);
        }
    }
    // Each changed job is confirmed (a round trip): all at once, with at most `parallelism`
    // calls in flight, so 50 changed jobs cost about 50 / parallelism latencies.
    let pending: Vec<Mutex<Option<Pending>>> =
        pending.into_iter().map(|p| Mutex::new(Some(p))).collect();
    let jobs = placed.jobs.as_ref();
    let confirmed = crate::pool::parallel_map(&pending, options.observe.parallelism, |p| {
        let Some(p) = lock(p).take() else {
            return Ok((None, 0));
        };
        let (change, n) = confirm(
            client,
            jobs[p.index].as_ref(),
            p.live.as_ref(),
            p.draft,
            &placed.tiers,
        )?;
        Ok::<_, EngineError>((Some(*change), n))
    });
    for result in confirmed {
        let (change, n) = result?;
        calls += n;
        changes.extend(change);
    }
    changes.sort_by(|a, b| a.job_key.cmp(&b.job_key));
    Ok((ClusterPlan { changes, calls }, placed.jobs))
}

/// The roles to read, with the jobs known in each (see `roles_in_scope`): those of the
/// desired jobs and of the scope a target can reach (a job that left the specs is pruned
/// only when its role is read).
pub fn roles_to_read(
    client: &Client,
    cluster: &str,
    keys: &[JobKey],
    options: &PlanOptions,
) -> Result<Vec<(String, usize)>, EngineError> {
    Ok(roles_in_scope(client, cluster, keys, &options.scope)?
        .into_iter()
        .filter(|(role, _)| options.targets.may_match_role(cluster, role))
        .collect())
}

/// A job whose plan needs the scheduler: a confirmation, or validating what is created.
struct Pending {
    /// Its index among the placed jobs.
    index: usize,
    /// Its live job.
    live: Option<LiveJob>,
    /// Its plan so far.
    draft: Draft,
}

/// A job drafted against its live job.
enum Drafted {
    /// Its change, settled locally.
    Settled(Box<JobChange>),
    /// Its plan needs the scheduler.
    Pending(Pending),
}

/// Plans each role of one cluster as its reads come in (see [`plan_cluster_placing`]).
struct RolePlanner<'a, J, P, F> {
    /// The kind of job `P` holds (owned or borrowed).
    job: std::marker::PhantomData<fn() -> J>,
    cluster: &'a str,
    options: &'a PlanOptions,
    /// Places the desired jobs once the tiers are known.
    place: Mutex<Option<F>>,
    /// The placed jobs, set when the tiers are in (`None`: nothing to plan, the plan fails).
    placed: Latch<Option<Placed<P>>>,
    /// Roles planned so far.
    planned_roles: Mutex<BTreeSet<String>>,
    /// Changes settled without the scheduler.
    settled: Mutex<Vec<JobChange>>,
    /// Jobs to confirm.
    pending: Mutex<Vec<Pending>>,
}

/// The desired jobs placed on the cluster's tiers, by role.
struct Placed<P> {
    tiers: Tiers,
    jobs: P,
    /// Indexes of the jobs to plan (those `--target` names), by role.
    by_role: BTreeMap<String, Vec<usize>>,
}

impl<J: AsRef<DesiredJob> + Sync, P: AsRef<[J]> + Sync, F: FnOnce(&Tiers) -> P>
    RolePlanner<'_, J, P, F>
{
    /// The tiers are in: places the desired jobs, for the roles waiting. When reading the
    /// tiers failed (the plan fails with that error) or placing panicked (the panic goes on),
    /// the roles are told there is nothing to plan rather than left waiting.
    fn place(&self, tiers: Option<Tiers>) {
        let place = lock(&self.place).take();
        let Some((tiers, place)) = tiers.zip(place) else {
            self.placed.set(None);
            return;
        };
        let placed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let jobs = place(&tiers);
            let mut by_role: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (i, job) in jobs.as_ref().iter().map(AsRef::as_ref).enumerate() {
                if self.options.targets.matches(&job.job_key()) {
                    by_role
                        .entry(job.key().role.unwrap_or_default())
                        .or_default()
                        .push(i);
                }
            }
            (jobs, by_role)
        }));
        match placed {
            Ok((jobs, by_role)) => self.placed.set(Some(Placed {
                tiers,
                jobs,
                by_role,
            })),
            Err(panic) => {
                self.placed.set(None);
                std::panic::resume_unwind(panic);
            }
        }
    }

    /// Plans the jobs of `role` against its live jobs as read, once the jobs are placed.
    fn plan_role(&self, role: &str, mut live: LiveState) {
        let Some(placed) = self.placed.wait() else {
            return;
        };
        let indexes = placed.by_role.get(role).map_or(&[][..], Vec::as_slice);
        let (mut settled, pending) = placed.plan_jobs(indexes, &mut live);
        // What is left are the live jobs no spec describes.
        for live in live.jobs.values() {
            let key = ClusterJobKey::new(self.cluster, &live.key);
            if self.options.targets.matches(&key)
                && let Some(change) = plan_absent(self.cluster, live, self.options.prune)
            {
                settled.push(change);
            }
        }
        drop(live);
        lock(&self.planned_roles).insert(role.to_string());
        lock(&self.settled).extend(settled);
        lock(&self.pending).extend(pending);
    }
}

impl<P> Placed<P> {
    /// Drafts the jobs at `indexes` against the live jobs they take out of `live`: the
    /// changes settled locally, and the jobs the scheduler must confirm (which keep their
    /// live job). A big role is compared on every core.
    fn plan_jobs<J: AsRef<DesiredJob> + Sync>(
        &self,
        indexes: &[usize],
        live: &mut LiveState,
    ) -> (Vec<JobChange>, Vec<Pending>)
    where
        P: AsRef<[J]> + Sync,
    {
        let jobs = self.jobs.as_ref();
        let live = Mutex::new(live);
        let draft = |&i: &usize| {
            let job = jobs[i].as_ref();
            let live = lock(&live).take(&job.key());
            match plan_desired(job, live.as_ref(), &self.tiers) {
                Draft::Done(change) if !creates(&change) => Drafted::Settled(change),
                draft => Drafted::Pending(Pending {
                    index: i,
                    live,
                    draft,
                }),
            }
        };
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let drafts = if indexes.len() >= 2 * COMPARED_PER_THREAD && cores > 1 {
            let chunks: Vec<&[usize]> = indexes.chunks(COMPARED_PER_THREAD).collect();
            crate::pool::parallel_map(&chunks, cores, |chunk| {
                chunk.iter().map(draft).collect::<Vec<_>>()
            })
            .into_iter()
            .flatten()
            .collect()
        } else {
            indexes.iter().map(draft).collect::<Vec<_>>()
        };
        let mut settled = Vec::with_capacity(drafts.len());
        let mut pending = Vec::new();
        for drafted in drafts {
            match drafted {
                Drafted::Settled(change) => settled.push(*change),
                Drafted::Pending(p) => pending.push(p),
            }
        }
        (settled, pending)
    }
}

/// Jobs compared per thread when a role is compared on every core.
const COMPARED_PER_THREAD: usize = 256;

/// Whether a locally settled change creates something, which the scheduler validates first.
fn creates(change: &JobChange) -> bool {
    change
        .actions
        .iter()
        .any(|a| matches!(a, Action::Create | Action::CronSchedule))
}

fn group_ranges(groups: Option<&BTreeSet<ConfigGroup>>) -> Vec<InstanceRange> {
    let mut ids = BTreeSet::new();
    for g in groups.into_iter().flatten() {
        if let Some(instances) = &g.instances {
            ids.extend(ids_of(instances));
        }
    }
    to_ranges(&ids)
}

fn confirm(
    client: &Client,
    job: &DesiredJob,
    live: Option<&LiveJob>,
    draft: Draft,
    tiers: &Tiers,
) -> Result<(Box<JobChange>, usize), EngineError> {
    let name = job.job_key();
    match draft {
        Draft::Done(change) => {
            let mut change = *change;
            let creates = change
                .actions
                .iter()
                .any(|a| matches!(a, Action::Create | Action::CronSchedule));
            if !creates {
                return Ok((Box::new(change), 0));
            }
            if change.job_kind == JobKind::Adhoc && change.actions == [Action::Create] {
                // An ad-hoc job that already ran to completion with this config is done,
                // not missing: creating it again would run it again.
                if finished_with_same_config(client, job, tiers)
                    .map_err(|e| invalid_or_api(&name, "reading finished tasks", e))?
                {
                    change.actions = vec![Action::Noop];
                    change.instances.add.clear();
                    change.execution = Default::default();
                    return Ok((Box::new(change), 1));
                }
            }
            // Validate what will be created, as the scheduler would, before anything runs.
            let config = crate::planner::config_to_send(job, live);
            client
                .populate_job_config(&config)
                .map_err(|e| invalid_or_api(&name, "validating", e))?;
            Ok((Box::new(change), 1))
        }
        Draft::ConfirmUpdate { change, request } => {
            let mut change = *change;
            let diff = client
                .get_job_update_diff(&request)
                .map_err(|e| invalid_or_api(&name, "asking for the update diff", e))?
                .value;
            change.instances.add = group_ranges(diff.add.as_ref());
            change.instances.remove = group_ranges(diff.remove.as_ref());
            change.instances.update = group_ranges(diff.update.as_ref());
            change.instances.unchanged = group_ranges(diff.unchanged.as_ref());
            if change.instances.add.is_empty()
                && change.instances.remove.is_empty()
                && change.instances.update.is_empty()
            {
                change.actions = vec![Action::Noop];
                change.fields.clear();
                change.execution = Default::default();
            } else if !change.instances.remove.is_empty() {
                change.destructive = true;
                change.action_reason = Some(ActionReason::FewerInstances);
            }
            Ok((Box::new(change), 1))
        }
        Draft::ConfirmCron {
            change,
            config,
            live_task,
        } => {
            let mut change = *change;
            let populated = client
                .populate_job_config(&config)
                .map_err(|e| invalid_or_api(&name, "validating", e))?
                .value
                .task_config
                .unwrap_or_default();
            let template = live
                .and_then(|l| l.cron.as_deref().cloned())
                .unwrap_or_default();
            let job_fields = crate::planner::cron_fields(&template, &config);
            if same_task(&live_task, &task_config(&populated, tiers)) && job_fields.is_empty() {
                change.actions = vec![Action::Noop];
                change.fields.clear();
                change.execution = Default::default();
            }
            Ok((Box::new(change), 1))
        }
    }
}

/// Whether the job's finished tasks ran exactly the desired config (every instance).
fn finished_with_same_config(
    client: &Client,
    job: &DesiredJob,
    tiers: &Tiers,
) -> Result<bool, ApiError> {
    let query = TaskQuery {
        job_keys: Some(BTreeSet::from([job.key()])),
        statuses: Some(BTreeSet::from([ScheduleStatus::FINISHED])),
        ..TaskQuery::default()
    };
    let tasks = client
        .get_tasks_status(&query)?
        .value
        .tasks
        .unwrap_or_default();
    let desired = crate::planner::config_to_send(job, None);
    let Some(desired_task) = desired.task_config.as_ref().map(|t| task_config(t, tiers)) else {
        return Ok(false);
    };
    let mut ids = BTreeSet::new();
    for task in &tasks {
        let Some(assigned) = &task.assigned_task else {
            continue;
        };
        let Some(config) = &assigned.task else {
            continue;
        };
        // Compare without our marker: the finished run may predate it.
        let mut config = task_config(config, tiers);
        let mut wanted = desired_task.clone();
        crate::marker::set_marker(&mut config, crate::marker::MANAGED_KEY, false);
        crate::marker::set_marker(&mut wanted, crate::marker::MANAGED_KEY, false);
        if !same_task(&config, &wanted) {
            return Ok(false);
        }
        if let Some(id) = assigned.instance_id {
            ids.insert(id);
        }
    }
    let count = desired.instance_count.unwrap_or(0);
    Ok(!ids.is_empty() && (0..count).all(|id| ids.contains(&id)))
}

/// Puts the changes of every cluster into one plan document.
pub fn assemble(
    changes: Vec<JobChange>,
    desired: &[impl AsRef<DesiredJob>],
    files: Vec<String>,
    options: &PlanOptions,
    created_at: String,
) -> Plan {
    let roles: Vec<String> = desired
        .iter()
        .map(AsRef::as_ref)
        .map(|d| format!("{}/{}", d.cluster, d.key().role.unwrap_or_default()))
        .chain(options.scope.iter().map(|s| match &s.role {
            Some(role) => format!("{}/{role}", s.cluster),
            None => format!("{}/*", s.cluster),
        }))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Plan {
        format_version: FORMAT_VERSION.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at,
        inputs: PlanInputs {
            files,
            spec_hash: spec_hash(desired),
        },
        scope: PlanScope {
            prune: options.prune,
            roles,
            targets: options.targets.texts(),
            stage: None,
        },
        summary: Summary::of(&changes),
        changes,
        variables: Vec::new(),
        rollout: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_a_cluster_or_a_cluster_and_role() {
        assert_eq!(
            Scope::parse("devcluster"),
            Some(Scope {
                cluster: "devcluster".into(),
                role: None
            })
        );
        assert_eq!(
            Scope::parse("devcluster/www-data").and_then(|s| s.role),
            Some("www-data".into())
        );
        for bad in ["", "/www-data", "devcluster/", "a/b/c"] {
            assert_eq!(Scope::parse(bad), None, "{bad}");
        }
    }
}
