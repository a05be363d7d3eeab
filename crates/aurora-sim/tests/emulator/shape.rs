//! The shape of replies: stored structs leave the scheduler through its generated immutable
//! wrappers (`thrift_wrapper_codegen.py`), so unset collections come back empty and unset
//! numbers and booleans as 0 / false, while strings, structs and enums stay absent.

use std::collections::{BTreeMap, BTreeSet};

use aurora_thrift::types::{
    Container, JobUpdateQuery, MesosContainer, ScheduleStatus, TaskConfig, TaskQuery,
};

use aurora_api::client::StartJobUpdateOutcome;

use crate::common::*;

/// A service config with only what validation needs: no priority, maxTaskFailures,
/// constraints, metadata, task links, fetcher URIs or production flag.
fn sparse(name: &str) -> TaskConfig {
    let k = key(name);
    TaskConfig {
        priority: None,
        max_task_failures: None,
        production: None,
        constraints: None,
        task_links: None,
        metadata: None,
        mesos_fetcher_uris: None,
        container: Some(Container::Mesos(MesosContainer::default())),
        ..task(&k)
    }
}

/// Asserts the wrapper shape of a config that was sent sparse.
#[track_caller]
fn assert_wrapper_shape(c: &TaskConfig) {
    assert_eq!(c.priority, Some(0), "priority");
    assert_eq!(c.max_task_failures, Some(0), "maxTaskFailures");
    assert_eq!(c.is_service, Some(true), "isService");
    assert_eq!(c.production, Some(false), "production");
    assert_eq!(c.constraints, Some(BTreeSet::new()), "constraints");
    assert_eq!(c.metadata, Some(BTreeSet::new()), "metadata");
    assert_eq!(
        c.mesos_fetcher_uris,
        Some(BTreeSet::new()),
        "mesosFetcherUris"
    );
    assert_eq!(c.task_links, Some(BTreeMap::new()), "taskLinks");
    assert_eq!(
        c.container,
        Some(Container::Mesos(MesosContainer {
            image: None,
            volumes: Some(Vec::new()),
        })),
        "container.mesos.volumes"
    );
    // Strings and structs that were not sent stay absent.
    assert_eq!(c.contact_email, None);
    assert_eq!(c.partition_policy, None);
    assert_eq!(c.sla_policy, None);
}

#[test]
fn reads_return_sparse_configs_in_the_wrappers_shape() {
    let env = env();
    let k = key("sparse");
    env.client
        .create_job(&job_with(&k, 2, sparse("sparse")))
        .expect("createJob");
    assert!(env.step_until(5, |e| e.all_active(&k, 2, ScheduleStatus::RUNNING)));

    // getTasksStatus: IScheduledTask.toBuildersList.
    let tasks = env.tasks(&k);
    assert_eq!(tasks.len(), 2);
    for t in &tasks {
        let a = t.assigned_task.as_ref().expect("assigned task");
        assert_wrapper_shape(a.task.as_ref().expect("config"));
        assert_eq!(t.failure_count, Some(0));
        assert_eq!(t.times_partitioned, Some(0));
        assert_eq!(t.ancestor_id, None);
        assert_eq!(a.assigned_ports, Some(BTreeMap::new()));
    }
    // getTasksWithoutConfigs: the same, executor data unset.
    let q = TaskQuery {
        job_keys: Some([k.clone()].into()),
        ..TaskQuery::default()
    };
    let stripped = env
        .client
        .get_tasks_without_configs(&q)
        .expect("getTasksWithoutConfigs")
        .value
        .tasks
        .unwrap_or_default();
    assert_eq!(stripped.len(), 2);
    for t in &stripped {
        let c = t
            .assigned_task
            .as_ref()
            .and_then(|a| a.task.as_ref())
            .expect("config");
        assert_wrapper_shape(c);
    }

    // getJobs: key, owner, taskConfig, instanceCount only — no cronCollisionPolicy.
    let jobs = env
        .client
        .get_jobs(Some("www-data"))
        .expect("getJobs")
        .value
        .configs
        .unwrap_or_default();
    let j = jobs
        .iter()
        .find(|j| j.key.as_ref() == Some(&k))
        .expect("job");
    assert_eq!(j.cron_collision_policy, None);
    assert_eq!(j.cron_schedule, None);
    assert_eq!(j.instance_count, Some(2));
    assert!(j.owner.is_some());
    assert_wrapper_shape(j.task_config.as_ref().expect("task config"));

    // getJobSummary: the same synthesised configuration.
    let summaries = env
        .client
        .get_job_summary(Some("www-data"))
        .expect("getJobSummary")
        .value
        .summaries
        .unwrap_or_default();
    let s = summaries
        .iter()
        .find(|s| s.job.as_ref().and_then(|j| j.key.as_ref()) == Some(&k))
        .expect("summary");
    let sj = s.job.as_ref().expect("job");
    assert_eq!(sj.cron_collision_policy, None);
    assert_wrapper_shape(sj.task_config.as_ref().expect("task config"));
    assert_eq!(s.next_cron_run_ms, None);
    assert_eq!(s.stats.as_ref().and_then(|x| x.active_task_count), Some(2));

    // getConfigSummary: one group, the config in the wrapper's shape.
    let groups = env
        .client
        .get_config_summary(&k)
        .expect("getConfigSummary")
        .value
        .summary
        .and_then(|s| s.groups)
        .unwrap_or_default();
    assert_eq!(groups.len(), 1);
    for g in &groups {
        assert_wrapper_shape(g.config.as_ref().expect("config"));
    }

    // populateJobConfig: ITaskConfig.newBuilder.
    let populated = env
        .client
        .populate_job_config(&job_with(&k, 2, sparse("sparse")))
        .expect("populateJobConfig")
        .value
        .task_config
        .expect("task config");
    assert_wrapper_shape(&populated);
}

#[test]
fn explicit_empties_equal_unset_fields_as_wrappers_do() {
    let env = env();
    let k = key("empties");
    env.client
        .create_job(&job_with(&k, 2, sparse("empties")))
        .expect("createJob");
    // The same config with every empty spelled out: ITaskConfig equality makes it
    // unchanged, so the diff is a no-op and a start is "Job is unchanged".
    let explicit = TaskConfig {
        priority: Some(0),
        max_task_failures: Some(0),
        constraints: Some(BTreeSet::new()),
        metadata: Some(BTreeSet::new()),
        mesos_fetcher_uris: Some(BTreeSet::new()),
        container: Some(Container::Mesos(MesosContainer {
            image: None,
            volumes: Some(Vec::new()),
        })),
        ..sparse("empties")
    };
    let diff = env
        .client
        .get_job_update_diff(&request(explicit, 2, settings(1, 0)))
        .expect("getJobUpdateDiff")
        .value;
    assert_eq!(diff.update, Some(BTreeSet::new()));
    assert_eq!(diff.add, Some(BTreeSet::new()));
    let unchanged = diff.unchanged.unwrap_or_default();
    assert_eq!(unchanged.len(), 1);
    for g in &unchanged {
        assert_wrapper_shape(g.config.as_ref().expect("config"));
    }
}

#[test]
fn update_details_carry_defaulted_settings() {
    let env = env();
    let k = key("sparseupd");
    running_job(&env, &k, 1);
    // Settings without blockIfNoPulsesAfterMs or updateOnlyTheseInstances, and a sparse
    // desired config.
    let mut s = settings(1, 0);
    s.block_if_no_pulses_after_ms = None;
    s.update_only_these_instances = None;
    s.sla_aware = None;
    // No request metadata either: the summary's set comes back empty
    // (IMetadata.toBuildersSet, IJobUpdateSummary.newBuilder).
    let mut req = request(sparse("sparseupd"), 1, s);
    req.metadata = None;
    let started = match env
        .client
        .start_job_update(&req, None)
        .expect("startJobUpdate")
        .value
    {
        StartJobUpdateOutcome::Started(r) => r,
        StartJobUpdateOutcome::NoChange => panic!("unexpected no-op update"),
    };
    let summary = started.update_summary.expect("update summary");
    assert_eq!(summary.metadata, Some(BTreeSet::new()));
    assert_eq!(summary.state, None);
    let update = started.key.expect("key");
    let q = JobUpdateQuery {
        key: Some(update.clone()),
        ..JobUpdateQuery::default()
    };
    let details = env
        .client
        .get_job_update_details(&q)
        .expect("getJobUpdateDetails")
        .value
        .details_list
        .unwrap_or_default();
    assert_eq!(details.len(), 1);
    let instructions = details[0]
        .update
        .as_ref()
        .and_then(|u| u.instructions.as_ref())
        .expect("instructions");
    let settings = instructions.settings.as_ref().expect("settings");
    assert_eq!(settings.block_if_no_pulses_after_ms, Some(0));
    assert_eq!(settings.update_only_these_instances, Some(BTreeSet::new()));
    assert_eq!(settings.sla_aware, Some(false));
    let desired = instructions.desired_state.as_ref().expect("desired");
    assert_wrapper_shape(desired.task.as_ref().expect("desired config"));
    assert!(details[0].instance_events.is_some());
    assert!(details[0].update_events.is_some());
    let stored = details[0]
        .update
        .as_ref()
        .and_then(|u| u.summary.as_ref())
        .expect("summary");
    assert_eq!(stored.metadata, Some(BTreeSet::new()));
}
