//! Operations the commands call, one function each, over the stages: destroy plans, saved
//! plan staleness, finding a job's active update. Plan and apply themselves are
//! [`crate::planning::plan_cluster`] and [`crate::execute::execute`].

use aurora_api::Client;
use aurora_api::types::{ConstACTIVEJOBUPDATESTATES, JobKey, JobUpdateQuery, JobUpdateSummary};

use crate::error::EngineError;
use crate::key::ClusterJobKey;
use crate::live::LiveJob;
use crate::marker::is_protected;
use crate::observe::{ObserveOptions, observe, roles_of};
use crate::plan::{Action, ActionReason, Execution, InstanceImpact, JobChange};
use crate::planner::plan_absent;

/// Kills (and deschedules) the jobs with these keys that exist. Each change records the job's
/// ownership; whether a job aurora-apply did not create may be killed is the caller's rail
/// ([`crate::rails::check`]: `destroy` needs consent, `kill JOBKEY` names the job). Protection
/// still holds (see `execute`).
pub fn destroy_cluster(
    client: &Client,
    cluster: &str,
    keys: &[JobKey],
    observe_options: &ObserveOptions,
) -> Result<Vec<JobChange>, EngineError> {
    let observed = observe(client, cluster, &roles_of(keys), observe_options)?;
    let mut changes = Vec::new();
    for key in keys {
        let Some(live) = observed.live.get(key).filter(|l| l.exists()) else {
            continue;
        };
        changes.push(kill_change(cluster, live));
    }
    Ok(changes)
}

fn kill_change(cluster: &str, live: &LiveJob) -> JobChange {
    // Reuse the prune shape, without its ownership rule.
    if let Some(mut change) = plan_absent(cluster, live, true) {
        change.action_reason = None;
        return change;
    }
    let mut actions = Vec::new();
    if live.cron.is_some() {
        actions.push(Action::CronDeschedule);
    }
    if !live.instances.is_empty() {
        actions.push(Action::Kill);
    }
    let kind = if live.cron.is_some() {
        crate::plan::JobKind::Cron
    } else if live
        .representative_task()
        .and_then(|t| t.is_service)
        .unwrap_or(false)
    {
        crate::plan::JobKind::Service
    } else {
        crate::plan::JobKind::Adhoc
    };
    JobChange {
        job_key: ClusterJobKey::new(cluster, &live.key),
        job_kind: kind,
        actions,
        action_reason: None::<ActionReason>,
        destructive: true,
        live_fingerprint: live.fingerprint(),
        active_update: None,
        instances: InstanceImpact {
            remove: crate::ranges::to_ranges(&live.instances.keys().copied().collect()),
            ..InstanceImpact::default()
        },
        fields: Vec::new(),
        instance_count: (i32::try_from(live.instances.len()).ok(), None),
        source: None,
        protected: live.representative_task().is_some_and(is_protected),
        ownership: crate::planner::ownership_of(Some(live)),
        adopt: false,
        execution: Execution::default(),
    }
}

/// Checks that every job of a saved plan still looks as it did when planned. Returns the
/// jobs that moved (empty = the plan may be applied).
pub fn stale_jobs(
    client: &Client,
    cluster: &str,
    changes: &[JobChange],
    observe_options: &ObserveOptions,
) -> Result<Vec<ClusterJobKey>, EngineError> {
    let keys: Vec<JobKey> = changes.iter().map(|c| c.job_key.thrift()).collect();
    let observed = observe(client, cluster, &roles_of(&keys), observe_options)?;
    Ok(changes
        .iter()
        .filter(|c| {
            let now = observed
                .live
                .get(&c.job_key.thrift())
                .cloned()
                .unwrap_or_default();
            let fingerprint = if now.exists() || now.active_update.is_some() {
                now.fingerprint()
            } else {
                crate::live::absent_fingerprint()
            };
            fingerprint != c.live_fingerprint
        })
        .map(|c| c.job_key.clone())
        .collect())
}

/// The active update of a job (the newest, if several).
pub fn active_update(
    client: &Client,
    key: &JobKey,
) -> Result<Option<JobUpdateSummary>, aurora_api::ApiError> {
    let query = JobUpdateQuery {
        job_key: Some(key.clone()),
        update_statuses: Some(ConstACTIVEJOBUPDATESTATES::const_value()),
        ..JobUpdateQuery::default()
    };
    Ok(client
        .get_job_update_summaries(&query)?
        .value
        .update_summaries
        .unwrap_or_default()
        .into_iter()
        .next())
}
