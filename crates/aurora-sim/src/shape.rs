//! The shape of what the scheduler sends back: every stored struct leaves Aurora through its
//! generated immutable wrapper (`IScheduledTask`, `ITaskConfig`, `IJobConfiguration`,
//! `IJobUpdateDetails`, … in `org.apache.aurora.scheduler.storage.entities`, made by
//! `src/main/python/apache/aurora/tools/java/thrift_wrapper_codegen.py`), and the wrapper's
//! `newBuilder()` sets every field that is not a string, a struct or an enum:
//!
//! - collections (`list`, `set`, `map`) unset on the way in come back **empty**
//!   (`IMMUTABLE_COLLECTION_ASSIGNMENT` / `STRUCT_COLLECTION_FIELD_ASSIGNMENT`:
//!   `isSetX() ? copyOf(x) : ImmutableX.of()`, and `newBuilder()` always calls `setX`);
//! - primitives (`bool`, `i32`, `i64`, `double`) come back **set**, unset ones as Java's
//!   default 0 / false (`SIMPLE_ASSIGNMENT` reads the getter; `newBuilder()` always calls
//!   `setX`, `optional` ones included);
//! - strings, structs and enums stay absent when absent (the "nullable" fields of the
//!   generator);
//! - `TaskConfig.container` defaults to `mesos {}` (api.thrift `Container container =
//!   { "mesos": {} }`, assigned by the Java struct's constructor).
//!
//! One function per wrapper family, applied to every reply built from stored structs (and to
//! configs as they are stored, as `ITaskConfig.build` does on the way in), so a client that
//! treats "empty" and "absent" differently sees what it would see against Aurora.

use std::collections::BTreeSet;

use aurora_thrift::types::{
    ConfigGroup, Constraint, Container, InstanceTaskConfig, JobConfiguration, JobUpdateDetails,
    JobUpdateSettings, JobUpdateStrategy, JobUpdateSummary, MesosContainer, Range, ScheduledTask,
    SlaPolicy, TaskConfig, TaskConstraint,
};

/// An unset primitive or collection as the wrapper's `newBuilder()` sets it.
fn fill<T: Default>(field: &mut Option<T>) {
    field.get_or_insert_with(T::default);
}

/// Normalises every element of a set (its elements cannot be changed in place).
fn each_in_set<T: Ord>(set: &mut Option<BTreeSet<T>>, f: impl Fn(&mut T)) {
    let items = set.take().unwrap_or_default();
    *set = Some(
        items
            .into_iter()
            .map(|mut x| {
                f(&mut x);
                x
            })
            .collect(),
    );
}

/// `IRange`: `first`, `last`.
fn range(r: &mut Range) {
    fill(&mut r.first);
    fill(&mut r.last);
}

fn ranges(set: &mut Option<BTreeSet<Range>>) {
    each_in_set(set, range);
}

/// `IConstraint` with its `ITaskConstraint` union (`IValueConstraint`, `ILimitConstraint`).
fn constraint(c: &mut Constraint) {
    match &mut c.constraint {
        Some(TaskConstraint::Value(v)) => {
            fill(&mut v.negated);
            fill(&mut v.values);
        }
        Some(TaskConstraint::Limit(l)) => fill(&mut l.limit),
        None => {}
    }
}

/// `ITaskConfig` and everything inside it (`IMesosFetcherURI`, `IContainer`,
/// `IPartitionPolicy`, `ISlaPolicy`, `IConstraint`).
pub fn task_config(c: &mut TaskConfig) {
    fill(&mut c.is_service);
    fill(&mut c.priority);
    fill(&mut c.max_task_failures);
    fill(&mut c.production);
    fill(&mut c.resources);
    each_in_set(&mut c.constraints, constraint);
    each_in_set(&mut c.mesos_fetcher_uris, |u| {
        fill(&mut u.extract);
        fill(&mut u.cache);
    });
    fill(&mut c.task_links);
    fill(&mut c.metadata);
    match c
        .container
        .get_or_insert_with(|| Container::Mesos(MesosContainer::default()))
    {
        Container::Mesos(m) => fill(&mut m.volumes),
        Container::Docker(d) => fill(&mut d.parameters),
    }
    if let Some(p) = &mut c.partition_policy {
        fill(&mut p.reschedule);
        fill(&mut p.delay_secs);
    }
    match &mut c.sla_policy {
        Some(SlaPolicy::PercentageSlaPolicy(p)) => {
            fill(&mut p.percentage);
            fill(&mut p.duration_secs);
        }
        Some(SlaPolicy::CountSlaPolicy(p)) => {
            fill(&mut p.count);
            fill(&mut p.duration_secs);
        }
        Some(SlaPolicy::CoordinatorSlaPolicy(_)) | None => {}
    }
}

/// `IScheduledTask` with its `IAssignedTask`, `ITaskConfig` and `ITaskEvent`s.
pub fn scheduled_task(t: &mut ScheduledTask) {
    fill(&mut t.failure_count);
    fill(&mut t.times_partitioned);
    for e in t.task_events.get_or_insert_with(Vec::new) {
        fill(&mut e.timestamp);
    }
    if let Some(a) = &mut t.assigned_task {
        fill(&mut a.assigned_ports);
        fill(&mut a.instance_id);
        if let Some(c) = &mut a.task {
            task_config(c);
        }
    }
}

/// `IJobConfiguration`: `instanceCount` and the task config.
pub fn job_configuration(j: &mut JobConfiguration) {
    fill(&mut j.instance_count);
    if let Some(c) = &mut j.task_config {
        task_config(c);
    }
}

/// `ConfigGroup` as ReadOnlySchedulerImpl builds it (`ITaskConfig.newBuilder()`,
/// `IRange.toBuildersSet`).
pub fn config_group(g: &mut ConfigGroup) {
    if let Some(c) = &mut g.config {
        task_config(c);
    }
    ranges(&mut g.instances);
}

/// `IJobUpdateSettings` with its `IJobUpdateStrategy` union.
pub fn job_update_settings(s: &mut JobUpdateSettings) {
    fill(&mut s.update_group_size);
    fill(&mut s.max_per_instance_failures);
    fill(&mut s.max_failed_instances);
    fill(&mut s.min_wait_in_instance_running_ms);
    fill(&mut s.rollback_on_failure);
    ranges(&mut s.update_only_these_instances);
    fill(&mut s.wait_for_batch_completion);
    fill(&mut s.block_if_no_pulses_after_ms);
    fill(&mut s.sla_aware);
    match &mut s.update_strategy {
        Some(JobUpdateStrategy::QueueStrategy(q)) => fill(&mut q.group_size),
        Some(JobUpdateStrategy::BatchStrategy(b)) => {
            fill(&mut b.group_size);
            fill(&mut b.autopause_after_batch);
        }
        Some(JobUpdateStrategy::VarBatchStrategy(v)) => {
            fill(&mut v.group_sizes);
            fill(&mut v.autopause_after_batch);
        }
        None => {}
    }
}

/// `IJobUpdateSummary` with its `IJobUpdateState`.
pub fn job_update_summary(s: &mut JobUpdateSummary) {
    fill(&mut s.metadata);
    if let Some(st) = &mut s.state {
        fill(&mut st.created_timestamp_ms);
        fill(&mut st.last_modified_timestamp_ms);
    }
}

fn instance_task_config(i: &mut InstanceTaskConfig) {
    if let Some(c) = &mut i.task {
        task_config(c);
    }
    ranges(&mut i.instances);
}

/// `IJobUpdateDetails`: the update (summary, instructions with initial and desired state and
/// settings) and its update and instance events.
pub fn job_update_details(d: &mut JobUpdateDetails) {
    if let Some(u) = &mut d.update {
        if let Some(s) = &mut u.summary {
            job_update_summary(s);
        }
        if let Some(i) = &mut u.instructions {
            each_in_set(&mut i.initial_state, instance_task_config);
            if let Some(desired) = &mut i.desired_state {
                instance_task_config(desired);
            }
            if let Some(s) = &mut i.settings {
                job_update_settings(s);
            }
        }
    }
    for e in d.update_events.get_or_insert_with(Vec::new) {
        fill(&mut e.timestamp_ms);
    }
    for e in d.instance_events.get_or_insert_with(Vec::new) {
        fill(&mut e.instance_id);
        fill(&mut e.timestamp_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurora_thrift::types::{JobKey, MesosFetcherURI, ValueConstraint};

    #[test]
    fn a_sparse_task_config_comes_back_as_the_wrapper_builds_it() {
        let mut c = TaskConfig {
            job: Some(JobKey::default()),
            constraints: Some(
                [Constraint {
                    name: Some("rack".into()),
                    constraint: Some(TaskConstraint::Value(ValueConstraint::default())),
                }]
                .into(),
            ),
            mesos_fetcher_uris: Some(
                [MesosFetcherURI {
                    value: Some("http://x".into()),
                    ..MesosFetcherURI::default()
                }]
                .into(),
            ),
            ..TaskConfig::default()
        };
        task_config(&mut c);
        assert_eq!(c.is_service, Some(false));
        assert_eq!(c.priority, Some(0));
        assert_eq!(c.max_task_failures, Some(0));
        assert_eq!(c.production, Some(false));
        assert_eq!(c.metadata, Some(BTreeSet::new()));
        assert_eq!(c.resources, Some(BTreeSet::new()));
        assert_eq!(c.task_links, Some(Default::default()));
        // Strings, structs and enums stay absent.
        assert_eq!(c.contact_email, None);
        assert_eq!(c.tier, None);
        assert_eq!(c.executor_config, None);
        assert_eq!(c.partition_policy, None);
        assert_eq!(
            c.container,
            Some(Container::Mesos(MesosContainer {
                image: None,
                volumes: Some(Vec::new()),
            }))
        );
        let uri = c.mesos_fetcher_uris.iter().flatten().next().cloned();
        assert_eq!(
            uri.and_then(|u| u.extract.zip(u.cache)),
            Some((false, false))
        );
        let constraint = c.constraints.iter().flatten().next().cloned();
        match constraint.and_then(|c| c.constraint) {
            Some(TaskConstraint::Value(v)) => {
                assert_eq!((v.negated, v.values), (Some(false), Some(BTreeSet::new())));
            }
            other => panic!("unexpected {other:?}"),
        }
        // Normalising twice changes nothing.
        let once = c.clone();
        task_config(&mut c);
        assert_eq!(c, once);
    }

    #[test]
    fn settings_and_details_get_their_defaults() {
        let mut s = JobUpdateSettings::default();
        job_update_settings(&mut s);
        assert_eq!(s.block_if_no_pulses_after_ms, Some(0));
        assert_eq!(s.update_only_these_instances, Some(BTreeSet::new()));
        assert_eq!(s.sla_aware, Some(false));
        assert_eq!(s.update_strategy, None);
        let mut d = JobUpdateDetails::default();
        job_update_details(&mut d);
        assert_eq!(d.update_events, Some(Vec::new()));
        assert_eq!(d.instance_events, Some(Vec::new()));
    }
}
