//! Job RPCs (reference §1.6): createJob, killTasks, restartShards, addInstances, cron,
//! getJobs, getJobSummary, getConfigSummary, getTasksStatus, getPendingReason,
//! getRoleSummary, getQuota, getTierConfigs; and the simulated task lifecycle.

use std::collections::BTreeSet;

use aurora_sim::{Resources, SimConfig};
use aurora_thrift::types::{
    CronCollisionPolicy, InstanceKey, JobConfiguration, Resource, ResponseCode, ScheduleStatus,
    TaskQuery,
};

use crate::common::*;

fn cron_job(name: &str, schedule: &str) -> JobConfiguration {
    let k = key(name);
    let mut t = task(&k);
    t.is_service = Some(false);
    JobConfiguration {
        cron_schedule: Some(schedule.to_string()),
        ..job_with(&k, 2, t)
    }
}

#[test]
fn task_lifecycle_pending_assigned_starting_running() {
    let env = env();
    let k = key("life");
    env.client.create_job(&job(&k, 2)).expect("createJob");
    assert!(env.all_active(&k, 2, ScheduleStatus::PENDING));
    env.advance_secs(1);
    assert!(env.all_active(&k, 2, ScheduleStatus::ASSIGNED));
    env.advance_secs(1);
    assert!(env.all_active(&k, 2, ScheduleStatus::STARTING));
    env.advance_secs(1);
    assert!(env.all_active(&k, 2, ScheduleStatus::RUNNING));
    let tasks = env.tasks(&k);
    let t = &tasks[0];
    let events: Vec<ScheduleStatus> = t
        .task_events
        .iter()
        .flatten()
        .filter_map(|e| e.status)
        .collect();
    assert_eq!(
        events,
        vec![
            ScheduleStatus::PENDING,
            ScheduleStatus::ASSIGNED,
            ScheduleStatus::STARTING,
            ScheduleStatus::RUNNING
        ]
    );
    let a = t.assigned_task.as_ref().expect("assigned");
    assert!(a.slave_host.is_some());
    assert!(
        a.task_id
            .as_deref()
            .is_some_and(|id| id.starts_with("www-data-prod-life-"))
    );
}

#[test]
fn adhoc_tasks_finish_and_killed_tasks_pass_through_killing() {
    let env = env();
    let k = key("adhoc");
    let mut t = task(&k);
    t.is_service = Some(false);
    env.client
        .create_job(&job_with(&k, 1, t))
        .expect("createJob");
    assert!(env.step_until(60, |e| e.active(&k).is_empty()));
    let tasks = env.tasks(&k);
    assert_eq!(tasks[0].status, Some(ScheduleStatus::FINISHED));

    let k = key("kill");
    running_job(&env, &k, 1);
    env.client
        .kill_tasks(&k, None, Some("bye"))
        .expect("killTasks");
    assert_eq!(env.active(&k).get(&0), Some(&ScheduleStatus::KILLING));
    let killing = env.tasks(&k)[0].task_events.clone().unwrap_or_default();
    assert_eq!(
        killing.last().and_then(|e| e.message.as_deref()),
        Some("Killed by UNSECURE.\nbye")
    );
    env.advance_secs(1);
    assert!(env.active(&k).is_empty());
    assert_eq!(env.tasks(&k)[0].status, Some(ScheduleStatus::KILLED));
}

#[test]
fn create_job_exists_and_cron_only_via_schedule() {
    let env = env();
    let k = key("dup");
    env.client.create_job(&job(&k, 1)).expect("createJob");
    assert_rejected(
        env.client.create_job(&job(&k, 1)),
        ResponseCode::INVALID_REQUEST,
        "Job www-data/prod/dup already exists",
    );
    assert_rejected(
        env.client.create_job(&cron_job("c", "* * * * *")),
        ResponseCode::INVALID_REQUEST,
        "Cron jobs may only be created/updated by calling scheduleCronJob.",
    );
    assert_rejected(
        env.client.create_job(&job(&key("big"), 4001)),
        ResponseCode::INVALID_REQUEST,
        "Instance count must be between 1 and 4000 inclusive.",
    );
}

#[test]
fn kill_tasks_is_idempotent() {
    let env = env();
    let k = key("idem");
    running_job(&env, &k, 3);
    let r = env
        .client
        .kill_tasks(&k, Some(&[1].into_iter().collect()), None)
        .expect("kill 1");
    assert!(r.details.is_empty());
    env.advance_secs(2);
    assert_eq!(
        env.active(&k).keys().copied().collect::<Vec<_>>(),
        vec![0, 2]
    );
    env.client.kill_tasks(&k, None, None).expect("kill all");
    env.advance_secs(2);
    let r = env.client.kill_tasks(&k, None, None).expect("kill again");
    assert_eq!(r.details, vec!["No tasks to kill.".to_string()]);
    let r = env
        .client
        .kill_tasks(&key("never"), None, None)
        .expect("kill unknown job");
    assert_eq!(r.details, vec!["No tasks to kill.".to_string()]);
}

#[test]
fn restart_shards_and_add_instances() {
    let env = env();
    let k = key("rs");
    running_job(&env, &k, 2);
    assert_rejected(
        env.client.restart_shards(&k, &[0, 5].into_iter().collect()),
        ResponseCode::INVALID_REQUEST,
        "Not all requested shards are active.",
    );
    env.client
        .restart_shards(&k, &[0].into_iter().collect())
        .expect("restart");
    assert_eq!(env.active(&k).get(&0), Some(&ScheduleStatus::RESTARTING));
    env.advance_secs(1);
    // KILLED, and a new PENDING task for the same instance with the old one as ancestor.
    assert_eq!(env.active(&k).get(&0), Some(&ScheduleStatus::PENDING));
    let tasks = env.tasks(&k);
    let new = tasks
        .iter()
        .find(|t| t.status == Some(ScheduleStatus::PENDING))
        .expect("new task");
    assert!(new.ancestor_id.is_some());

    env.client
        .add_instances(
            &InstanceKey {
                job_key: Some(k.clone()),
                instance_id: Some(1),
            },
            2,
        )
        .expect("addInstances");
    assert_eq!(
        env.active(&k).keys().copied().collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
}

#[test]
fn cron_upsert_replace_deschedule_start() {
    let env = env();
    let c = cron_job("cron", "*/5 * * * *");
    let k = c.key.clone().expect("key");
    assert_rejected(
        env.client.replace_cron_template(&c),
        ResponseCode::INVALID_REQUEST,
        "No cron job found for www-data/prod/cron.",
    );
    env.client.schedule_cron_job(&c).expect("schedule (create)");
    let mut c2 = c.clone();
    c2.cron_schedule = Some("0 * * * *".to_string());
    env.client
        .schedule_cron_job(&c2)
        .expect("schedule (replace)");
    env.client.replace_cron_template(&c2).expect("replace");
    let jobs = env
        .client
        .get_jobs(Some("www-data"))
        .expect("getJobs")
        .value
        .configs
        .unwrap_or_default();
    assert_eq!(jobs.len(), 1);
    let stored = jobs.iter().next().expect("cron job");
    assert_eq!(stored.cron_schedule.as_deref(), Some("0 * * * *"));
    assert_eq!(
        stored.task_config.as_ref().and_then(|t| t.tier.as_deref()),
        Some("preemptible"),
        "the template is stored populated"
    );

    let mut no_schedule = c.clone();
    no_schedule.cron_schedule = None;
    assert_rejected(
        env.client.schedule_cron_job(&no_schedule),
        ResponseCode::INVALID_REQUEST,
        "Job www-data/prod/cron has no cron schedule",
    );
    let mut overlap = c.clone();
    overlap.cron_collision_policy = Some(CronCollisionPolicy::RUN_OVERLAP);
    assert_rejected(
        env.client.schedule_cron_job(&overlap),
        ResponseCode::INVALID_REQUEST,
        "The RUN_OVERLAP collision policy has been removed (AURORA-38).",
    );
    assert_rejected(
        env.client.schedule_cron_job(&cron_job("bad", "0 0 * * 7")),
        ResponseCode::INVALID_REQUEST,
        "Invalid cron schedule: 0 0 * * 7",
    );
    // SanitizedCronJob: a set but empty schedule.
    assert_rejected(
        env.client.schedule_cron_job(&cron_job("empty", "")),
        ResponseCode::INVALID_REQUEST,
        "Job has an empty cron schedule.",
    );
    // createJob refuses any set schedule (SanitizedConfiguration.isCron), even an empty one.
    let mut empty_schedule = job(&key("adhoc-empty"), 1);
    empty_schedule.cron_schedule = Some(String::new());
    empty_schedule
        .task_config
        .as_mut()
        .expect("task")
        .is_service = Some(false);
    assert_rejected(
        env.client.create_job(&empty_schedule),
        ResponseCode::INVALID_REQUEST,
        "Cron jobs may only be created/updated by calling scheduleCronJob.",
    );
    assert_rejected(
        env.client.create_job(&job(&k, 1)),
        ResponseCode::INVALID_REQUEST,
        "Job www-data/prod/cron already exists",
    );

    env.client.start_cron_job(&k).expect("startCronJob");
    assert_eq!(env.active(&k).len(), 2);
    // descheduling leaves running instances alone, and is OK when there is nothing to do.
    env.client.deschedule_cron_job(&k).expect("deschedule");
    assert_eq!(env.active(&k).len(), 2);
    let r = env
        .client
        .deschedule_cron_job(&k)
        .expect("deschedule again");
    assert_eq!(
        r.details,
        vec!["Job www-data/prod/cron is not scheduled with cron".to_string()]
    );
    assert_rejected(
        env.client.start_cron_job(&k),
        ResponseCode::INVALID_REQUEST,
        "Failed to start cron job - No cron job found for www-data/prod/cron.",
    );
}

#[test]
fn get_jobs_synthesises_services_and_job_summary_counts_terminal_tasks() {
    let env = env();
    let k = key("svc");
    running_job(&env, &k, 3);
    env.client
        .kill_tasks(&k, Some(&[2].into_iter().collect()), None)
        .expect("kill");
    env.advance_secs(2);
    let jobs = env
        .client
        .get_jobs(None)
        .expect("getJobs")
        .value
        .configs
        .unwrap_or_default();
    let j = jobs.iter().next().expect("one job");
    assert_eq!(j.instance_count, Some(2), "active tasks only");
    assert_eq!(j.cron_schedule, None);
    let summary = env
        .client
        .get_job_summary(Some("www-data"))
        .expect("getJobSummary")
        .value
        .summaries
        .unwrap_or_default();
    let s = summary.iter().next().expect("summary");
    // The documented quirk: terminal tasks still count.
    assert_eq!(s.job.as_ref().and_then(|j| j.instance_count), Some(3));
    let stats = s.stats.clone().expect("stats");
    assert_eq!(stats.active_task_count, Some(2));
    assert_eq!(stats.finished_task_count, Some(1));
    assert!(
        env.client
            .get_jobs(Some("other-role"))
            .expect("getJobs")
            .value
            .configs
            .unwrap_or_default()
            .is_empty()
    );
    let roles = env
        .client
        .get_role_summary()
        .expect("getRoleSummary")
        .value
        .summaries
        .unwrap_or_default();
    let r = roles.iter().next().expect("role");
    assert_eq!((r.job_count, r.cron_job_count), (Some(1), Some(0)));
}

#[test]
fn config_summary_groups_instances_by_config() {
    let env = env();
    let k = key("groups");
    running_job(&env, &k, 3);
    let summary = env
        .client
        .get_config_summary(&k)
        .expect("getConfigSummary")
        .value
        .summary
        .expect("summary");
    let groups = summary.groups.unwrap_or_default();
    assert_eq!(groups.len(), 1);
    let g = groups.iter().next().expect("group");
    let ranges: Vec<(Option<i32>, Option<i32>)> = g
        .instances
        .iter()
        .flatten()
        .map(|r| (r.first, r.last))
        .collect();
    assert_eq!(ranges, vec![(Some(0), Some(2))]);
}

#[test]
fn task_queries_filter_offset_and_limit() {
    let env = env();
    let k = key("q");
    running_job(&env, &k, 5);
    running_job(&env, &key("other"), 1);
    let q = |q: TaskQuery| {
        env.client
            .get_tasks_without_configs(&q)
            .expect("query")
            .value
            .tasks
            .unwrap_or_default()
    };
    assert_eq!(q(TaskQuery::default()).len(), 6);
    let by_name = q(TaskQuery {
        role: Some("www-data".to_string()),
        environment: Some("prod".to_string()),
        job_name: Some("q".to_string()),
        ..TaskQuery::default()
    });
    assert_eq!(by_name.len(), 5);
    assert!(by_name.iter().all(|t| {
        t.assigned_task
            .as_ref()
            .and_then(|a| a.task.as_ref())
            .and_then(|c| c.executor_config.as_ref())
            .is_some_and(|e| e.data.is_none())
    }));
    let page = q(TaskQuery {
        job_keys: Some([k.clone()].into_iter().collect()),
        offset: Some(1),
        limit: Some(2),
        ..TaskQuery::default()
    });
    let ids: Vec<i32> = page
        .iter()
        .filter_map(|t| t.assigned_task.as_ref().and_then(|a| a.instance_id))
        .collect();
    assert_eq!(ids, vec![1, 2]);
    let some = q(TaskQuery {
        job_keys: Some([k.clone()].into_iter().collect()),
        instance_ids: Some([0, 4].into_iter().collect()),
        statuses: Some([ScheduleStatus::RUNNING].into_iter().collect()),
        ..TaskQuery::default()
    });
    assert_eq!(some.len(), 2);
    assert!(
        q(TaskQuery {
            statuses: Some([ScheduleStatus::PENDING].into_iter().collect()),
            ..TaskQuery::default()
        })
        .is_empty()
    );
}

#[test]
fn pending_reason_when_capacity_is_short() {
    let cfg = SimConfig {
        capacity: Some(Resources {
            cpus: 2.0,
            ram_mb: 100_000,
            disk_mb: 100_000,
        }),
        ..SimConfig::for_tests()
    };
    let env = env_with(cfg);
    let k = key("crowded");
    env.client.create_job(&job(&k, 3)).expect("createJob");
    env.advance_secs(5);
    let active = env.active(&k);
    assert_eq!(
        active
            .values()
            .filter(|s| **s == ScheduleStatus::RUNNING)
            .count(),
        2
    );
    let reasons = env
        .client
        .get_pending_reason(&TaskQuery {
            job_keys: Some([k.clone()].into_iter().collect()),
            ..TaskQuery::default()
        })
        .expect("getPendingReason")
        .value
        .reasons
        .unwrap_or_default();
    assert_eq!(reasons.len(), 1);
    assert_eq!(
        reasons.iter().next().and_then(|r| r.reason.as_deref()),
        Some("Insufficient CPU")
    );
    assert_rejected(
        env.client.get_pending_reason(&TaskQuery {
            statuses: Some([ScheduleStatus::PENDING].into_iter().collect()),
            ..TaskQuery::default()
        }),
        ResponseCode::INVALID_REQUEST,
        "Statuses is not supported in TaskQuery(statuses:[PENDING])",
    );
    assert_rejected(
        env.client.get_pending_reason(&TaskQuery {
            statuses: Some([ScheduleStatus::PENDING].into_iter().collect()),
            slave_hosts: Some(["sim-agent-1".to_string()].into_iter().collect()),
            ..TaskQuery::default()
        }),
        ResponseCode::INVALID_REQUEST,
        "SlaveHosts are not supported in TaskQuery(statuses:[PENDING], slaveHosts:[sim-agent-1])",
    );
    // Freeing capacity lets the pending task run.
    env.client
        .kill_tasks(&k, Some(&[0].into_iter().collect()), None)
        .expect("kill");
    env.advance_secs(5);
    assert_eq!(
        env.active(&k)
            .values()
            .filter(|s| **s == ScheduleStatus::RUNNING)
            .count(),
        2
    );
}

#[test]
fn quota_and_tiers() {
    let mut cfg = SimConfig::for_tests();
    cfg.quotas.insert(
        "www-data".to_string(),
        Resources {
            cpus: 2.0,
            ram_mb: 1024,
            disk_mb: 1024,
        },
    );
    let env = env_with(cfg);
    let tiers = env.client.get_tier_configs().expect("tiers").value;
    assert_eq!(tiers.default_tier_name.as_deref(), Some("preemptible"));
    let names: BTreeSet<String> = tiers
        .tiers
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| t.name)
        .collect();
    assert_eq!(
        names,
        ["preemptible", "preferred", "revocable"]
            .into_iter()
            .map(String::from)
            .collect()
    );

    let k = key("prod");
    let mut t = task(&k);
    t.tier = Some("preferred".to_string());
    env.client
        .create_job(&job_with(&k, 2, t.clone()))
        .expect("fits the quota");
    assert_rejected(
        env.client.create_job(&job_with(&key("prod2"), 1, {
            let mut t = t.clone();
            t.job = Some(key("prod2"));
            t
        })),
        ResponseCode::INVALID_REQUEST,
        "Insufficient resource quota: CPU quota exceeded by 1.00 core(s)",
    );
    let quota = env.client.get_quota("www-data").expect("getQuota").value;
    let prod = quota.prod_shared_consumption.expect("prod consumption");
    assert!(
        prod.resources
            .unwrap_or_default()
            .contains(&Resource::NumCpus(2.0.into()))
    );
}

#[test]
fn cron_runs_start_on_schedule_with_kill_existing() {
    let env = env();
    let c = cron_job("minutely", "* * * * *");
    let k = c.key.clone().expect("key");
    env.client.schedule_cron_job(&c).expect("schedule");
    assert!(env.active(&k).is_empty());
    assert!(env.step_until(61, |e| e.active(&k).len() == 2));
    let next = env
        .client
        .get_job_summary(Some("www-data"))
        .expect("summary")
        .value
        .summaries
        .unwrap_or_default()
        .into_iter()
        .next()
        .and_then(|s| s.next_cron_run_ms)
        .expect("nextCronRunMs");
    assert!(next > env.sim.now_ms());
    assert_eq!(next % 60_000, 0);
    // The next run kills the previous one (KILL_EXISTING) before starting anew.
    let first: Vec<String> = env
        .tasks(&k)
        .into_iter()
        .filter_map(|t| t.assigned_task.and_then(|a| a.task_id))
        .collect();
    env.advance_secs(60);
    let tasks = env.tasks(&k);
    assert!(tasks.len() >= 4);
    assert!(tasks.iter().any(|t| {
        t.assigned_task
            .as_ref()
            .and_then(|a| a.task_id.as_ref())
            .is_some_and(|id| first.contains(id))
            && matches!(
                t.status,
                Some(ScheduleStatus::KILLING | ScheduleStatus::KILLED | ScheduleStatus::FINISHED)
            )
    }));
}

#[test]
fn fast_clock_needs_no_manual_steps() {
    let env = env_with(SimConfig {
        clock: aurora_sim::ClockMode::Scaled(1000.0),
        ..SimConfig::for_tests()
    });
    let k = key("fast");
    env.client.create_job(&job(&k, 2)).expect("createJob");
    // Poll with a deadline: 3 simulated seconds are 3 real milliseconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !env.all_active(&k, 2, ScheduleStatus::RUNNING) {
        assert!(
            std::time::Instant::now() < deadline,
            "never reached RUNNING"
        );
        std::thread::yield_now();
    }
}

#[test]
fn add_instances_checks_in_order() {
    let env = env();
    let k = key("add");
    running_job(&env, &k, 1);
    let at = |i: i32| InstanceKey {
        job_key: Some(k.clone()),
        instance_id: Some(i),
    };
    assert_rejected(
        env.client.add_instances(&at(0), 0),
        ResponseCode::INVALID_REQUEST,
        "Instance count must be positive.",
    );
    assert_rejected(
        env.client.add_instances(&at(9), 1),
        ResponseCode::INVALID_REQUEST,
        "No active task found for a given instance ID.",
    );
    let c = cron_job("addcron", "0 0 1 JAN *");
    env.client.schedule_cron_job(&c).expect("cron");
    assert_rejected(
        env.client.add_instances(
            &InstanceKey {
                job_key: c.key.clone(),
                instance_id: Some(0),
            },
            1,
        ),
        ResponseCode::INVALID_REQUEST,
        "Instances may not be added to cron jobs.",
    );
}

#[test]
fn killed_pending_tasks_are_deleted_and_killing_ones_do_not_count() {
    let env = env();
    let k = key("pendingkill");
    env.client.create_job(&job(&k, 2)).expect("createJob");
    env.client.kill_tasks(&k, None, None).expect("kill");
    assert!(env.tasks(&k).is_empty(), "PENDING tasks are deleted");

    let k = key("killing");
    running_job(&env, &k, 1);
    env.client.kill_tasks(&k, None, None).expect("kill");
    assert_eq!(env.active(&k).get(&0), Some(&ScheduleStatus::KILLING));
    let r = env.client.kill_tasks(&k, None, None).expect("kill again");
    assert_eq!(r.details, vec!["No tasks to kill.".to_string()]);
}

#[test]
fn invalid_bare_job_keys_are_errors() {
    let env = env();
    let bad = aurora_thrift::types::JobKey {
        name: Some("bad name".to_string()),
        ..key("x")
    };
    let code = |r: Result<aurora_api::Reply<()>, aurora_api::ApiError>| {
        sched_err(r.expect_err("rejected")).code
    };
    assert_eq!(
        code(env.client.kill_tasks(&bad, None, None)),
        ResponseCode::ERROR
    );
    assert_eq!(
        code(env.client.deschedule_cron_job(&bad)),
        ResponseCode::ERROR
    );
    assert_eq!(code(env.client.start_cron_job(&bad)), ResponseCode::ERROR);
    let mut c = cron_job("x", "* * * * *");
    c.key = Some(bad.clone());
    assert_eq!(code(env.client.schedule_cron_job(&c)), ResponseCode::ERROR);
    assert_eq!(
        sched_err(env.client.get_config_summary(&bad).expect_err("rejected")).code,
        ResponseCode::ERROR
    );
    assert_eq!(
        sched_err(env.client.get_quota("").expect_err("rejected")).code,
        ResponseCode::ERROR
    );
}

#[test]
fn flapping_services_are_throttled() {
    let env = env();
    let k = key("flap");
    let t = with_metadata(task(&k), aurora_sim::FAIL_AFTER_KEY, "1000");
    env.client
        .create_job(&job_with(&k, 1, t))
        .expect("createJob");
    // PENDING → ASSIGNED → STARTING → RUNNING (3 s), FAILED 1 s later: rescheduled THROTTLED.
    env.advance_secs(4);
    assert_eq!(env.active(&k).get(&0), Some(&ScheduleStatus::THROTTLED));
    let throttled = env
        .tasks(&k)
        .into_iter()
        .find(|t| t.status == Some(ScheduleStatus::THROTTLED))
        .expect("throttled task");
    assert_eq!(throttled.failure_count, Some(1));
    assert!(throttled.ancestor_id.is_some());
    // StateManagerImpl (RESCHEDULE): INIT → THROTTLED with the penalty in the audit message.
    let events: Vec<(Option<ScheduleStatus>, Option<String>)> = throttled
        .task_events
        .iter()
        .flatten()
        .map(|e| (e.status, e.message.clone()))
        .collect();
    assert_eq!(
        events,
        vec![(
            Some(ScheduleStatus::THROTTLED),
            Some("Rescheduled, penalized for 30000 ms for flapping".to_string())
        )]
    );
    // The first penalty is 30 s.
    env.advance_secs(29);
    assert_eq!(env.active(&k).get(&0), Some(&ScheduleStatus::THROTTLED));
    env.advance_secs(1);
    assert_eq!(env.active(&k).get(&0), Some(&ScheduleStatus::PENDING));
    // The second flap doubles the penalty.
    env.advance_secs(4);
    assert_eq!(env.active(&k).get(&0), Some(&ScheduleStatus::THROTTLED));
    env.advance_secs(59);
    assert_eq!(env.active(&k).get(&0), Some(&ScheduleStatus::THROTTLED));
    env.advance_secs(1);
    assert_eq!(env.active(&k).get(&0), Some(&ScheduleStatus::PENDING));
}

#[test]
fn tasks_without_configs_fails_for_executorless_docker_tasks() {
    use aurora_thrift::types::{Container, DockerContainer};
    let env = env_with(SimConfig {
        allowed_container_types: ["MESOS".to_string(), "DOCKER".to_string()]
            .into_iter()
            .collect(),
        require_docker_use_executor: false,
        ..SimConfig::for_tests()
    });
    let k = key("bare-docker");
    let mut t = task(&k);
    t.executor_config = None;
    t.container = Some(Container::Docker(DockerContainer {
        image: Some("nginx".to_string()),
        parameters: None,
    }));
    env.client
        .create_job(&job_with(&k, 1, t))
        .expect("createJob");
    let q = TaskQuery {
        job_keys: Some([k.clone()].into_iter().collect()),
        ..TaskQuery::default()
    };
    assert_eq!(
        env.client
            .get_tasks_status(&q)
            .expect("full")
            .value
            .tasks
            .map(|t| t.len()),
        Some(1)
    );
    // The documented quirk: unsetting executorConfig.data of a task without one throws.
    assert_eq!(
        sched_err(env.client.get_tasks_without_configs(&q).expect_err("ERROR")).code,
        ResponseCode::ERROR
    );
}

#[test]
fn a_schedule_aurora_throws_on_is_an_error_not_a_rejection() {
    let env = env();
    // CrontabEntry throws past tryParse on a field of only commas: ERROR, no message.
    let err = env
        .client
        .schedule_cron_job(&cron_job("commas", ", * * * *"))
        .expect_err("refused");
    assert_eq!(err.response_code(), Some(ResponseCode::ERROR), "{err}");
    // An ordinary bad schedule is a rejection with the scheduler's message.
    let err = env
        .client
        .schedule_cron_job(&cron_job("seven", "0 0 * * 7"))
        .expect_err("refused");
    assert_eq!(
        err.response_code(),
        Some(ResponseCode::INVALID_REQUEST),
        "{err}"
    );
    assert!(
        err.to_string().contains("Invalid cron schedule: 0 0 * * 7"),
        "{err}"
    );
}
