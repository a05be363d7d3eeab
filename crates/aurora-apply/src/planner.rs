//! Desired vs live, per job, decided locally as far as possible.
//!
//! In: a [`DesiredJob`] (or none, for pruning) and the [`LiveJob`] with that key (or none).
//! Out: a [`Draft`]: a finished [`JobChange`] when the local comparison settles it (create,
//! kill, no-op), or a change that the scheduler must confirm first because the configs
//! differ locally (`getJobUpdateDiff` for services, `populateJobConfig` for cron). Only jobs
//! that differ locally cost a round trip.
//!
//! This stage refuses nothing: safety rails (destructive changes, protection, ownership,
//! foreign updates) are facts recorded on the change and enforced by [`crate::rails`],
//! `execute` and the CLI.

use std::collections::BTreeSet;

use aurora_api::json::to_json;
use aurora_api::types::{JobConfiguration, JobUpdateRequest, TaskConfig};
use base64::Engine as _;
use serde_json::Value;

use crate::compare::{Effect, FieldChange, same_task, task_changes};
use crate::desired::{DesiredJob, kind_of};
use crate::key::ClusterJobKey;
use crate::live::{LiveJob, absent_fingerprint};
use crate::marker::{
    MANAGED_KEY, PROTECT_KEY, is_managed, is_our_update, is_protected, set_marker,
};
use crate::normalize::{Tiers, task_config};
use crate::plan::{
    Action, ActionReason, ActiveUpdate, Execution, InstanceImpact, JobChange, JobKind, Ownership,
};
use crate::ranges::{InstanceRange, to_ranges};

/// A job's plan before the scheduler has confirmed it.
#[derive(Debug, Clone, PartialEq)]
/// Variants are boxed: a plan of 10,000 unchanged jobs holds 10,000 drafts at once.
pub enum Draft {
    /// Settled locally.
    Done(Box<JobChange>),
    /// A service whose configs differ locally: `getJobUpdateDiff(request)` decides whether
    /// anything changes and which instances.
    ConfirmUpdate {
        /// The change if confirmed (actions `["update"]`).
        change: Box<JobChange>,
        /// What to ask the scheduler.
        request: Box<JobUpdateRequest>,
    },
    /// A cron job whose template differs locally: `populateJobConfig(config)` gives the task
    /// config the scheduler would store.
    ConfirmCron {
        /// The change if confirmed (actions `["cron_schedule"]`).
        change: Box<JobChange>,
        /// The desired job, to populate.
        config: Box<JobConfiguration>,
        /// The live template's task config, normalised.
        live_task: Box<TaskConfig>,
    },
}

/// Whether the live job with a key (if any) carries our ownership marker. A job whose
/// instances disagree is judged by its largest group (its cron template, for cron jobs), as
/// pruning does.
pub fn ownership_of(live: Option<&LiveJob>) -> Ownership {
    match live.filter(|l| l.exists()) {
        None => Ownership::Absent,
        Some(l) if l.representative_task().is_some_and(is_managed) => Ownership::Owned,
        Some(_) => Ownership::Unowned,
    }
}

/// The config the engine will send for `desired`: the spec's config plus our markers. The
/// ownership marker goes on new jobs and on jobs that already carry it, never on a job found
/// without it (that would restart it) unless the spec asks to adopt it. Protection is written
/// with it.
pub fn config_to_send(desired: &DesiredJob, live: Option<&LiveJob>) -> JobConfiguration {
    let mut config = desired.config();
    let owned = desired.adopt || ownership_of(live) != Ownership::Unowned;
    if let Some(task) = &mut config.task_config {
        let metadata = task.metadata.clone();
        set_marker(task, MANAGED_KEY, owned);
        set_marker(task, PROTECT_KEY, owned && desired.protect);
        if task.metadata.as_ref().is_some_and(BTreeSet::is_empty) {
            task.metadata = metadata;
        }
    }
    config
}

fn live_kind(live: &LiveJob) -> Option<JobKind> {
    if live.cron.is_some() {
        return Some(JobKind::Cron);
    }
    let task = live.representative_task()?;
    Some(if task.is_service.unwrap_or(false) {
        JobKind::Service
    } else {
        JobKind::Adhoc
    })
}

fn b64(bytes: Vec<u8>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn execution(config: &JobConfiguration, desired: &DesiredJob) -> Execution {
    Execution {
        job_configuration: Some(b64(aurora_api::wire::encode_struct(config))),
        update_settings: Some(b64(aurora_api::wire::encode_struct(
            &desired.update_settings,
        ))),
    }
}

fn active_update(live: Option<&LiveJob>) -> Option<ActiveUpdate> {
    let summary = live?.active_update.as_ref()?;
    let state = summary.state.as_ref();
    Some(ActiveUpdate {
        id: summary
            .key
            .as_ref()
            .and_then(|k| k.id.clone())
            .unwrap_or_default(),
        status: state
            .and_then(|s| s.status)
            .map(|s| s.to_string())
            .unwrap_or_default(),
        user: summary.user.clone().unwrap_or_default(),
        created_at_ms: state.and_then(|s| s.created_timestamp_ms).unwrap_or(0),
        ours: is_our_update(summary.metadata.as_ref()),
    })
}

fn all_ids(count: i32) -> Vec<InstanceRange> {
    if count <= 0 {
        return Vec::new();
    }
    vec![InstanceRange {
        first: 0,
        last: count - 1,
    }]
}

fn live_ids(live: &LiveJob) -> Vec<InstanceRange> {
    to_ranges(&live.instances.keys().copied().collect())
}

fn count_change(before: Option<i32>, after: Option<i32>) -> Option<FieldChange> {
    if before == after {
        return None;
    }
    let effect = match (before, after) {
        (Some(b), Some(a)) if a < b => Effect::RemoveInstances,
        _ => Effect::AddInstances,
    };
    Some(FieldChange {
        path: "instances".into(),
        before: before.map(Value::from),
        after: after.map(Value::from),
        effect,
    })
}

/// Plans one job that the specs describe.
pub fn plan_desired(desired: &DesiredJob, live: Option<&LiveJob>, tiers: &Tiers) -> Draft {
    let mut draft = plan_desired_inner(desired, live, tiers);
    // What execute sends is encoded only for jobs that change: a no-op has nothing to
    // execute, and big unchanged sets stay small and cheap to plan.
    let change = match &mut draft {
        Draft::Done(change) if change.is_noop() => return draft,
        Draft::Done(change)
        | Draft::ConfirmUpdate { change, .. }
        | Draft::ConfirmCron { change, .. } => change,
    };
    let live = live.filter(|l| l.exists());
    change.execution = execution(&config_to_send(desired, live), desired);
    draft
}

fn plan_desired_inner(desired: &DesiredJob, live: Option<&LiveJob>, tiers: &Tiers) -> Draft {
    let live = live.filter(|l| l.exists());
    let ownership = ownership_of(live);
    let config = config_to_send(desired, live);
    let kind = kind_of(&config);
    let desired_count = config.instance_count;
    let mut change = JobChange {
        job_key: desired.job_key(),
        job_kind: kind,
        actions: vec![Action::Noop],
        action_reason: None,
        destructive: false,
        live_fingerprint: live.map_or_else(absent_fingerprint, LiveJob::fingerprint),
        active_update: active_update(live),
        instances: InstanceImpact::default(),
        fields: Vec::new(),
        instance_count: (None, desired_count),
        source: desired.source.clone(),
        protected: live
            .and_then(LiveJob::representative_task)
            .is_some_and(is_protected),
        ownership,
        adopt: desired.adopt && ownership == Ownership::Unowned,
        // Filled in by `plan_desired` when the job changes.
        execution: Execution::default(),
    };
    let desired_task = config
        .task_config
        .as_ref()
        .map(|t| task_config(t, tiers))
        .unwrap_or_default();

    let Some(live) = live else {
        change.actions = vec![match kind {
            JobKind::Cron => Action::CronSchedule,
            _ => Action::Create,
        }];
        if kind != JobKind::Cron {
            change.instances.add = all_ids(desired_count.unwrap_or(0));
        }
        return Draft::Done(Box::new(change));
    };
    let live_count = match live.cron.as_ref() {
        Some(cron) => cron.instance_count,
        None => i32::try_from(live.instances.len()).ok(),
    };
    change.instance_count.0 = live_count;
    let before_kind = live_kind(live).unwrap_or(kind);

    if before_kind != kind {
        change.actions = replacement(before_kind, live, kind);
        change.action_reason = Some(ActionReason::KindChanged);
        change.destructive = true;
        change.instances.remove = live_ids(live);
        if kind != JobKind::Cron {
            change.instances.add = all_ids(desired_count.unwrap_or(0));
        }
        change.fields.push(FieldChange {
            path: "kind".into(),
            before: Some(to_json_kind(before_kind)),
            after: Some(to_json_kind(kind)),
            effect: Effect::Replace,
        });
        return Draft::Done(Box::new(change));
    }

    match kind {
        JobKind::Service | JobKind::Adhoc => {
            let groups = live.groups();
            let live_tasks: Vec<TaskConfig> = groups
                .iter()
                .map(|g| task_config(&g.config, tiers))
                .collect();
            let same = live_tasks.iter().all(|t| same_task(t, &desired_task));
            let counts_match = live_count == desired_count;
            if same && counts_match {
                change.instances.unchanged = live_ids(live);
                // The instances already run the spec, but an update an earlier run started
                // (Ctrl-C, kill -9) is still in progress: follow it to its end — pulsing it if
                // it is coordinated — rather than call the job done.
                if change.active_update.as_ref().is_some_and(|u| u.ours) {
                    change.actions = vec![Action::Follow];
                }
                return Draft::Done(Box::new(change));
            }
            let effect = if kind == JobKind::Adhoc {
                Effect::Replace
            } else {
                Effect::Restart
            };
            if let Some(first) = live_tasks.first() {
                change.fields = task_changes(first, &desired_task, effect);
            }
            change
                .fields
                .extend(count_change(live_count, desired_count));
            // More instances of an unchanged ad-hoc job: add them, as `aurora job add` does,
            // instead of killing what runs. The scheduler numbers new instances after the
            // highest live one, so the live ones must be exactly 0..n-1.
            if kind == JobKind::Adhoc
                && same
                && let (Some(have), Some(want)) = (live_count, desired_count)
                && want > have
                && live_ids(live) == all_ids(have)
            {
                change.actions = vec![Action::AddInstances];
                change.instances.unchanged = live_ids(live);
                change.instances.add = vec![InstanceRange {
                    first: have,
                    last: want - 1,
                }];
                return Draft::Done(Box::new(change));
            }
            if kind == JobKind::Adhoc {
                change.actions = vec![Action::Kill, Action::Create];
                change.action_reason = Some(ActionReason::AdhocNotUpdatable);
                change.destructive = true;
                change.instances.remove = live_ids(live);
                change.instances.add = all_ids(desired_count.unwrap_or(0));
                return Draft::Done(Box::new(change));
            }
            change.actions = vec![Action::Update];
            let request = JobUpdateRequest {
                task_config: config.task_config.clone(),
                instance_count: desired_count,
                settings: Some(desired.update_settings.clone()),
                metadata: None,
            };
            Draft::ConfirmUpdate {
                change: Box::new(change),
                request: Box::new(request),
            }
        }
        JobKind::Cron => {
            let template = live.cron.as_deref().cloned().unwrap_or_default();
            let live_task = template
                .task_config
                .as_ref()
                .map(|t| task_config(t, tiers))
                .unwrap_or_default();
            let job_fields = cron_fields(&template, &config);
            if same_task(&live_task, &desired_task) && job_fields.is_empty() {
                return Draft::Done(Box::new(change));
            }
            change.fields = task_changes(&live_task, &desired_task, Effect::CronNextRun);
            change.fields.extend(job_fields);
            change.actions = vec![Action::CronSchedule];
            Draft::ConfirmCron {
                change: Box::new(change),
                config: Box::new(config),
                live_task: Box::new(live_task),
            }
        }
    }
}

/// Job-level cron differences: schedule, collision policy, instance count.
pub fn cron_fields(live: &JobConfiguration, desired: &JobConfiguration) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut field = |path: &str, before: Option<Value>, after: Option<Value>| {
        if before != after {
            out.push(FieldChange {
                path: path.into(),
                before,
                after,
                effect: Effect::CronNextRun,
            });
        }
    };
    field(
        "cron.schedule",
        live.cron_schedule.clone().map(Value::from),
        desired.cron_schedule.clone().map(Value::from),
    );
    let policy = |c: &JobConfiguration| {
        Some(Value::from(
            c.cron_collision_policy
                .unwrap_or(aurora_api::types::CronCollisionPolicy::KILL_EXISTING)
                .to_string(),
        ))
    };
    field("cron.collision_policy", policy(live), policy(desired));
    field(
        "instances",
        live.instance_count.map(Value::from),
        desired.instance_count.map(Value::from),
    );
    out
}

fn to_json_kind(kind: JobKind) -> Value {
    serde_json::to_value(kind).unwrap_or(Value::Null)
}

fn replacement(before: JobKind, live: &LiveJob, after: JobKind) -> Vec<Action> {
    let mut actions = Vec::new();
    if before == JobKind::Cron {
        actions.push(Action::CronDeschedule);
    }
    if !live.instances.is_empty() {
        actions.push(Action::Kill);
    }
    actions.push(match after {
        JobKind::Cron => Action::CronSchedule,
        _ => Action::Create,
    });
    actions
}

/// Plans a live job that no spec describes: killed (and descheduled) only when `prune` is
/// set and the job carries our ownership marker; otherwise `None` (not ours to touch).
pub fn plan_absent(cluster: &str, live: &LiveJob, prune: bool) -> Option<JobChange> {
    let task = live.representative_task()?;
    if !prune || !is_managed(task) {
        return None;
    }
    let kind = live_kind(live)?;
    let mut actions = Vec::new();
    if live.cron.is_some() {
        actions.push(Action::CronDeschedule);
    }
    if !live.instances.is_empty() {
        actions.push(Action::Kill);
    }
    let count = match &live.cron {
        Some(cron) => cron.instance_count,
        None => i32::try_from(live.instances.len()).ok(),
    };
    Some(JobChange {
        job_key: ClusterJobKey::new(cluster, &live.key),
        job_kind: kind,
        actions,
        action_reason: Some(ActionReason::NotInSpecPruned),
        destructive: true,
        live_fingerprint: live.fingerprint(),
        active_update: active_update(Some(live)),
        instances: InstanceImpact {
            remove: live_ids(live),
            ..InstanceImpact::default()
        },
        fields: Vec::new(),
        instance_count: (count, None),
        source: None,
        protected: is_protected(task),
        ownership: Ownership::Owned,
        adopt: false,
        execution: Execution {
            job_configuration: live
                .cron
                .as_ref()
                .map(|c| b64(aurora_api::wire::encode_struct(c.as_ref()))),
            update_settings: None,
        },
    })
}

/// The JSON view of a task config, for callers that show whole configs.
pub fn task_json(task: &TaskConfig) -> Value {
    to_json(task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::LiveState;
    use aurora_api::types::{AssignedTask, Identity, JobUpdateSettings, Resource, ScheduledTask};

    fn fixture(name: &str) -> JobConfiguration {
        aurora_thrift::testing::job_configuration(name)
    }

    fn desired(config: JobConfiguration) -> DesiredJob {
        DesiredJob::new("devcluster", &config, JobUpdateSettings::default())
    }

    /// The live job as the scheduler would hold it after `createJob(config)`.
    fn live_of(config: &JobConfiguration) -> LiveJob {
        let mut state = LiveState::default();
        let count = config.instance_count.unwrap_or(0);
        state.add_tasks((0..count).map(|id| ScheduledTask {
            assigned_task: Some(AssignedTask {
                instance_id: Some(id),
                task: config.task_config.clone(),
                ..Default::default()
            }),
            ..Default::default()
        }));
        state.add_jobs([config.clone()]);
        state.jobs.into_values().next().expect("one job")
    }

    fn done(draft: Draft) -> JobChange {
        match draft {
            Draft::Done(change) => *change,
            other => panic!("expected a settled change, got {other:?}"),
        }
    }

    #[test]
    fn absent_job_is_created_with_the_ownership_marker() {
        let change = done(plan_desired(
            &desired(fixture("hello_world")),
            None,
            &Tiers::aurora_default(),
        ));
        assert_eq!(change.actions, [Action::Create]);
        assert_eq!(change.ownership, Ownership::Absent);
        assert_eq!(crate::ranges::display(&change.instances.add), "0");
        let sent = config_to_send(&desired(fixture("hello_world")), None);
        assert!(is_managed(sent.task_config.as_ref().expect("task")));
    }

    #[test]
    fn job_created_by_aurora_client_is_a_noop_despite_owner_and_json_order() {
        let live = live_of(&fixture("hello_world"));
        let mut config = fixture("hello_world");
        let task = config.task_config.as_mut().expect("task");
        task.owner = Some(Identity {
            user: Some("www-data".into()),
        });
        let exec = task.executor_config.as_mut().expect("executor");
        let payload: Value =
            serde_json::from_str(exec.data.as_deref().unwrap_or("")).expect("json");
        exec.data = Some(serde_json::to_string(&payload).expect("serialises"));
        let change = done(plan_desired(
            &desired(config),
            Some(&live),
            &Tiers::aurora_default(),
        ));
        assert!(change.is_noop(), "{change:?}");
        assert_eq!(crate::ranges::display(&change.instances.unchanged), "0");
    }

    #[test]
    fn cpu_change_asks_the_scheduler_to_confirm_an_update() {
        let live = live_of(&fixture("hello_world"));
        let mut config = fixture("hello_world");
        let task = config.task_config.as_mut().expect("task");
        let mut resources = task.resources.clone().unwrap_or_default();
        resources.retain(|r| !matches!(r, Resource::NumCpus(_)));
        resources.insert(Resource::NumCpus(2.0.into()));
        task.resources = Some(resources);
        match plan_desired(&desired(config), Some(&live), &Tiers::aurora_default()) {
            Draft::ConfirmUpdate { change, request } => {
                assert_eq!(change.actions, [Action::Update]);
                let paths: Vec<_> = change.fields.iter().map(|f| f.path.as_str()).collect();
                assert_eq!(paths, ["resources.cpu"]);
                assert_eq!(request.instance_count, Some(1));
                // The unmarked live job stays unmarked, and the plan says it is not ours.
                assert!(!is_managed(request.task_config.as_ref().expect("task")));
                assert_eq!(
                    (change.ownership, change.adopt),
                    (Ownership::Unowned, false)
                );
            }
            other => panic!("expected confirmation, got {other:?}"),
        }
    }

    #[test]
    fn adopting_records_that_the_change_adds_the_marker() {
        let live = live_of(&fixture("hello_world"));
        let mut job = desired(fixture("hello_world"));
        job.adopt = true;
        match plan_desired(&job, Some(&live), &Tiers::aurora_default()) {
            Draft::ConfirmUpdate { change, request } => {
                assert_eq!((change.ownership, change.adopt), (Ownership::Unowned, true));
                assert!(is_managed(request.task_config.as_ref().expect("task")));
            }
            other => panic!("expected confirmation, got {other:?}"),
        }
        // On a job that is ours already, --adopt changes nothing.
        let owned = live_of(&config_to_send(&desired(fixture("hello_world")), None));
        let change = done(plan_desired(&job, Some(&owned), &Tiers::aurora_default()));
        assert!(change.is_noop(), "{change:?}");
        assert_eq!((change.ownership, change.adopt), (Ownership::Owned, false));
    }

    #[test]
    fn cron_schedule_change_is_confirmed_as_a_template_replacement() {
        let live = live_of(&fixture("cron_hello_world"));
        let mut config = fixture("cron_hello_world");
        config.cron_schedule = Some("0 3 * * *".into());
        match plan_desired(&desired(config), Some(&live), &Tiers::aurora_default()) {
            Draft::ConfirmCron { change, .. } => {
                assert_eq!(change.actions, [Action::CronSchedule]);
                assert_eq!(change.fields[0].path, "cron.schedule");
                assert_eq!(change.fields[0].effect, Effect::CronNextRun);
            }
            other => panic!("expected confirmation, got {other:?}"),
        }
    }

    #[test]
    fn service_to_cron_is_a_destructive_replacement() {
        let live = live_of(&fixture("hello_world"));
        let mut config = fixture("hello_world");
        config.cron_schedule = Some("0 3 * * *".into());
        let change = done(plan_desired(
            &desired(config),
            Some(&live),
            &Tiers::aurora_default(),
        ));
        assert_eq!(change.actions, [Action::Kill, Action::CronSchedule]);
        assert_eq!(change.action_reason, Some(ActionReason::KindChanged));
        assert!(change.destructive);
    }

    #[test]
    fn prune_kills_only_owned_jobs() {
        let unowned = live_of(&fixture("hello_world"));
        assert!(plan_absent("devcluster", &unowned, true).is_none());
        let owned_config = config_to_send(&desired(fixture("hello_world")), None);
        let owned = live_of(&owned_config);
        assert!(plan_absent("devcluster", &owned, false).is_none());
        let change = plan_absent("devcluster", &owned, true).expect("pruned");
        assert_eq!(change.actions, [Action::Kill]);
        assert_eq!(change.ownership, Ownership::Owned);
        assert_eq!(change.job_key, "devcluster/www-data/prod/hello");
    }
}
