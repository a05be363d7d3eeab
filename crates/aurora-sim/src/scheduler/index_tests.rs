//! The indexes reads go through (tasks by job and role, updates by job, active updates, cron
//! templates by role) give the answers a scan of the whole store gives. Each narrowed read is
//! compared with the unnarrowed read (a scan) filtered here, at several moments: after
//! creates, with tasks pending and running, after kills and restarts, and with updates
//! rolling, paused, aborted and finished. Roles `a`, `ab` and `a-b` sort next to each other
//! both as keys and as `role/env/name` strings, so a range that overshoots shows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aurora_thrift::types::{
    self as t, ConstACTIVEJOBUPDATESTATES, ConstACTIVESTATES, JobConfiguration, JobKey,
    JobUpdateKey, JobUpdateQuery, JobUpdateRequest, JobUpdateSettings, JobUpdateSummary, Resource,
    Response, ScheduleStatus, ScheduledTask, TaskQuery,
};

use super::updater::Control;
use crate::config::SimConfig;
use crate::engine::{Core, is_active, update_active};
use crate::state::State;

const ROLES: [&str; 5] = ["a", "ab", "a-b", "b", "absent"];

fn fixture() -> JobConfiguration {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/wire/hello_world.job_configuration.bin"
    );
    aurora_thrift::wire::decode_struct(&std::fs::read(path).expect("fixture")).expect("decodes")
}

fn key(role: &str, environment: &str, name: &str) -> JobKey {
    JobKey {
        role: Some(role.into()),
        environment: Some(environment.into()),
        name: Some(name.into()),
    }
}

fn job(k: &JobKey, instances: i32, cpu: f64) -> JobConfiguration {
    let mut config = fixture();
    config.key = Some(k.clone());
    config.instance_count = Some(instances);
    let task = config.task_config.as_mut().expect("task");
    task.job = Some(k.clone());
    let mut resources = task.resources.clone().unwrap_or_default();
    resources.retain(|r| !matches!(r, Resource::NumCpus(_)));
    resources.insert(Resource::NumCpus(cpu.into()));
    task.resources = Some(resources);
    config
}

fn assert_ok(r: &Response) {
    assert_eq!(r.response_code, Some(t::ResponseCode::OK), "{r:?}");
}

fn tasks_of(r: &Response) -> Vec<ScheduledTask> {
    match &r.result {
        Some(t::Result::ScheduleStatusResult(x)) => x.tasks.clone().unwrap_or_default(),
        other => panic!("not tasks: {other:?}"),
    }
}

fn job_of(task: &ScheduledTask) -> JobKey {
    task.assigned_task
        .as_ref()
        .and_then(|a| a.task.as_ref())
        .and_then(|c| c.job.clone())
        .unwrap_or_default()
}

fn summaries_of(r: &Response) -> Vec<JobUpdateSummary> {
    match &r.result {
        Some(t::Result::GetJobUpdateSummariesResult(x)) => {
            x.update_summaries.clone().unwrap_or_default()
        }
        other => panic!("not update summaries: {other:?}"),
    }
}

fn update_job(s: &JobUpdateSummary) -> JobKey {
    s.key
        .as_ref()
        .and_then(|k| k.job.clone())
        .unwrap_or_default()
}

/// Every narrowed read agrees with the scan, and the update indexes with the store.
fn check(core: &Core) {
    // Update indexes.
    // Kept in step by each write, they equal indexes built from scratch.
    let (by_job, active) = crate::engine::update_indexes(&core.state.updates);
    assert_eq!(core.updates_by_job, by_job, "updates by job");
    assert_eq!(core.active_updates, active, "active updates");

    // Tasks: the scan is a query that names no job, role or task.
    let everything = tasks_of(&core.get_tasks(Some(TaskQuery::default()), false));
    assert_eq!(everything.len(), core.state.tasks.len());
    let job_keys: BTreeSet<JobKey> = everything.iter().map(job_of).collect();
    let narrowed = |q: TaskQuery, keep: &dyn Fn(&ScheduledTask) -> bool| {
        let expected: Vec<ScheduledTask> = everything.iter().filter(|t| keep(t)).cloned().collect();
        assert_eq!(
            tasks_of(&core.get_tasks(Some(q.clone()), false)),
            expected,
            "{q:?}"
        );
        // getTasksWithoutConfigs reads the same tasks.
        assert_eq!(
            tasks_of(&core.get_tasks(Some(q.clone()), true)).len(),
            expected.len(),
            "{q:?}"
        );
    };
    for role in ROLES {
        let of_role = |t: &ScheduledTask| job_of(t).role.as_deref() == Some(role);
        narrowed(
            TaskQuery {
                role: Some(role.into()),
                ..TaskQuery::default()
            },
            &of_role,
        );
        narrowed(
            TaskQuery {
                role: Some(role.into()),
                statuses: Some(ConstACTIVESTATES::const_value()),
                ..TaskQuery::default()
            },
            &|t| of_role(t) && t.status.is_some_and(is_active),
        );
        // A page of the role's tasks.
        let all_of_role: Vec<ScheduledTask> =
            everything.iter().filter(|t| of_role(t)).cloned().collect();
        let page = tasks_of(&core.get_tasks(
            Some(TaskQuery {
                role: Some(role.into()),
                offset: Some(1),
                limit: Some(2),
                ..TaskQuery::default()
            }),
            false,
        ));
        let expected: Vec<ScheduledTask> = all_of_role.iter().skip(1).take(2).cloned().collect();
        assert_eq!(page, expected, "page of {role}");
    }
    for k in &job_keys {
        narrowed(
            TaskQuery {
                role: k.role.clone(),
                environment: k.environment.clone(),
                job_name: k.name.clone(),
                ..TaskQuery::default()
            },
            &|t| job_of(t) == *k,
        );
        // A role and environment without a name: the role's range, filtered.
        narrowed(
            TaskQuery {
                role: k.role.clone(),
                environment: k.environment.clone(),
                ..TaskQuery::default()
            },
            &|t| job_of(t).role == k.role && job_of(t).environment == k.environment,
        );
    }
    let some_keys: BTreeSet<JobKey> = job_keys
        .iter()
        .step_by(2)
        .cloned()
        .chain([key("absent", "prod", "none")])
        .collect();
    narrowed(
        TaskQuery {
            job_keys: Some(some_keys.clone()),
            ..TaskQuery::default()
        },
        &|t| some_keys.contains(&job_of(t)),
    );
    // jobKeys and a role that disagree: nothing.
    narrowed(
        TaskQuery {
            job_keys: Some(some_keys.clone()),
            role: Some("b".into()),
            ..TaskQuery::default()
        },
        &|t| some_keys.contains(&job_of(t)) && job_of(t).role.as_deref() == Some("b"),
    );
    let some_ids: BTreeSet<String> = core
        .state
        .tasks
        .keys()
        .step_by(3)
        .cloned()
        .chain(["no-such-task".to_string()])
        .collect();
    narrowed(
        TaskQuery {
            task_ids: Some(some_ids.clone()),
            ..TaskQuery::default()
        },
        &|t| {
            t.assigned_task
                .as_ref()
                .and_then(|a| a.task_id.as_ref())
                .is_some_and(|id| some_ids.contains(id))
        },
    );

    // getPendingReason: the role's PENDING tasks.
    let reasons = |q: TaskQuery| match core.get_pending_reason(Some(q)).result {
        Some(t::Result::GetPendingReasonResult(x)) => x.reasons.unwrap_or_default(),
        other => panic!("not pending reasons: {other:?}"),
    };
    let all_reasons = reasons(TaskQuery::default());
    for role in ROLES {
        let expected: BTreeSet<_> = all_reasons
            .iter()
            .filter(|r| {
                let id = r.task_id.as_deref().unwrap_or("");
                core.state.tasks[id].job().and_then(|j| j.role.as_deref()) == Some(role)
            })
            .cloned()
            .collect();
        let q = TaskQuery {
            role: Some(role.into()),
            ..TaskQuery::default()
        };
        assert_eq!(reasons(q), expected, "pending reasons of {role}");
    }

    // getJobs and getJobSummary of a role: the cluster-wide answer's jobs of that role.
    let jobs = |role: Option<&str>| match core.get_jobs(role.map(str::to_string)).result {
        Some(t::Result::GetJobsResult(x)) => x.configs.unwrap_or_default(),
        other => panic!("not jobs: {other:?}"),
    };
    let summaries = |role: Option<&str>| match core.get_job_summary(role.map(str::to_string)).result
    {
        Some(t::Result::JobSummaryResult(x)) => x.summaries.unwrap_or_default(),
        other => panic!("not job summaries: {other:?}"),
    };
    let all_jobs = jobs(None);
    let all_summaries = summaries(None);
    for role in ROLES {
        let in_role = |k: Option<&JobKey>| k.and_then(|k| k.role.as_deref()) == Some(role);
        let expected: BTreeSet<_> = all_jobs
            .iter()
            .filter(|j| in_role(j.key.as_ref()))
            .cloned()
            .collect();
        assert_eq!(jobs(Some(role)), expected, "getJobs({role})");
        let expected: BTreeSet<_> = all_summaries
            .iter()
            .filter(|s| in_role(s.job.as_ref().and_then(|j| j.key.as_ref())))
            .cloned()
            .collect();
        assert_eq!(summaries(Some(role)), expected, "getJobSummary({role})");
    }

    // Quota consumption: the role's tasks, summed in task id order over the whole store.
    for role in ROLES {
        for exclude in [
            None,
            job_keys.iter().find(|k| k.role.as_deref() == Some(role)),
        ] {
            let mut expected = [(0.0, 0, 0); 4];
            for task in core.state.tasks.values() {
                let (Some(job), Some(cfg)) = (task.job(), task.config()) else {
                    continue;
                };
                if job.role.as_deref() != Some(role)
                    || !is_active(task.status())
                    || Some(job) == exclude
                {
                    continue;
                }
                let slot = usize::from(cfg.production != Some(true));
                let r = crate::validate::task_resources(cfg);
                expected[slot].0 += r.0;
                expected[slot].1 += r.1;
                expected[slot].2 += r.2;
            }
            assert_eq!(
                core.consumption(role, exclude),
                expected,
                "consumption of {role}"
            );
        }
    }

    // Updates: the scan is a query that names no job, role or status.
    let everything = summaries_of(&core.get_job_update_summaries(Some(JobUpdateQuery::default())));
    assert_eq!(everything.len(), core.state.updates.len());
    let narrowed = |q: JobUpdateQuery, keep: &dyn Fn(&JobUpdateSummary) -> bool| {
        let expected: Vec<_> = everything.iter().filter(|s| keep(s)).cloned().collect();
        let got = summaries_of(&core.get_job_update_summaries(Some(q.clone())));
        assert_eq!(got, expected, "{q:?}");
    };
    let is_active_update = |s: &JobUpdateSummary| {
        s.state
            .as_ref()
            .and_then(|x| x.status)
            .is_some_and(update_active)
    };
    for role in ROLES {
        narrowed(
            JobUpdateQuery {
                role: Some(role.into()),
                ..JobUpdateQuery::default()
            },
            &|s| update_job(s).role.as_deref() == Some(role),
        );
        narrowed(
            JobUpdateQuery {
                role: Some(role.into()),
                update_statuses: Some(ConstACTIVEJOBUPDATESTATES::const_value()),
                ..JobUpdateQuery::default()
            },
            &|s| update_job(s).role.as_deref() == Some(role) && is_active_update(s),
        );
    }
    narrowed(
        JobUpdateQuery {
            update_statuses: Some(ConstACTIVEJOBUPDATESTATES::const_value()),
            ..JobUpdateQuery::default()
        },
        &is_active_update,
    );
    for s in &everything {
        let job = update_job(s);
        narrowed(
            JobUpdateQuery {
                job_key: Some(job.clone()),
                ..JobUpdateQuery::default()
            },
            &|x| update_job(x) == job,
        );
        narrowed(
            JobUpdateQuery {
                key: s.key.clone(),
                ..JobUpdateQuery::default()
            },
            &|x| x.key == s.key,
        );
        let active = everything
            .iter()
            .find(|x| update_job(x) == job && is_active_update(x))
            .and_then(|x| x.key.clone());
        let found = core
            .active_update(&job)
            .and_then(|idx| core.state.updates[idx].details.update.clone())
            .and_then(|u| u.summary)
            .and_then(|s| s.key);
        assert_eq!(found, active, "active update of {job:?}");
    }
    // An update key of a job that has none: nothing.
    narrowed(
        JobUpdateQuery {
            key: Some(JobUpdateKey {
                job: Some(key("absent", "prod", "none")),
                id: Some("x".into()),
            }),
            ..JobUpdateQuery::default()
        },
        &|_| false,
    );

    // getRoleSummary: the roles of the stored tasks (no cron templates here).
    let roles: BTreeMap<String, usize> = job_keys.iter().fold(BTreeMap::new(), |mut m, k| {
        *m.entry(k.role.clone().unwrap_or_default()).or_default() += 1;
        m
    });
    let got: BTreeMap<String, usize> = match core.get_role_summary().result {
        Some(t::Result::RoleSummaryResult(x)) => x
            .summaries
            .unwrap_or_default()
            .into_iter()
            .map(|s| {
                (
                    s.role.unwrap_or_default(),
                    usize::try_from(s.job_count.unwrap_or(0)).unwrap_or(0),
                )
            })
            .collect(),
        other => panic!("not role summaries: {other:?}"),
    };
    assert_eq!(got, roles, "getRoleSummary");
}

fn start_update(core: &mut Core, k: &JobKey, instances: i32, cpu: f64) -> JobUpdateKey {
    let config = job(k, instances, cpu);
    let request = JobUpdateRequest {
        task_config: config.task_config,
        instance_count: Some(instances),
        settings: Some(JobUpdateSettings {
            update_group_size: Some(1),
            min_wait_in_instance_running_ms: Some(5_000),
            ..JobUpdateSettings::default()
        }),
        metadata: None,
    };
    let reply = core.start_job_update(Some(request), None);
    assert_ok(&reply);
    match reply.result {
        Some(t::Result::StartJobUpdateResult(r)) => r.key.expect("key"),
        other => panic!("not a started update: {other:?}"),
    }
}

#[test]
fn narrowed_reads_agree_with_a_scan_of_the_store() {
    let mut core = Core::new(Arc::new(SimConfig::for_tests()), State::default());
    let mut now = 1_000_000;
    core.advance_to(now);
    let mut keys = Vec::new();
    for (n, role) in ["a", "ab", "a-b", "b"].into_iter().enumerate() {
        for (m, environment) in ["prod", "devel"].into_iter().enumerate() {
            for name in ["web", "db"] {
                let k = key(role, environment, name);
                let instances = i32::try_from(1 + (n + m) % 3).expect("small");
                assert_ok(&core.create_job(Some(job(&k, instances, 1.0))));
                keys.push(k);
            }
        }
    }
    // Everything PENDING.
    check(&core);
    now += 60_000;
    core.advance_to(now);
    check(&core);

    // Updates rolling, one paused, one aborted; a job killed, an instance killed, one
    // restarted.
    let rolling = start_update(&mut core, &keys[0], 1, 2.0);
    let paused = start_update(&mut core, &keys[5], 2, 2.0);
    let aborted = start_update(&mut core, &keys[9], 3, 2.0);
    let _grown = start_update(&mut core, &keys[12], 3, 2.0);
    assert_ok(&core.control_update(Some(paused), Control::Pause, None));
    assert_ok(&core.control_update(Some(aborted), Control::Abort, None));
    assert_ok(&core.kill_tasks(Some(keys[3].clone()), None, None));
    assert_ok(&core.kill_tasks(Some(keys[6].clone()), Some([0].into()), None));
    assert_ok(&core.restart_shards(Some(keys[14].clone()), Some([0].into())));
    now += 1_500;
    core.advance_to(now);
    check(&core);

    // Some finish; a second update of a finished job; the killed job comes back.
    now += 120_000;
    core.advance_to(now);
    assert!(
        core.active_update(&keys[0]).is_none(),
        "{rolling:?} finished"
    );
    start_update(&mut core, &keys[0], 2, 3.0);
    assert_ok(&core.create_job(Some(job(&keys[3], 2, 1.0))));
    now += 500;
    core.advance_to(now);
    check(&core);
    now += 600_000;
    core.advance_to(now);
    check(&core);

    // A core rebuilt from the stored state has the same indexes.
    let rebuilt = Core::new(Arc::clone(&core.cfg), core.state.clone());
    assert_eq!(rebuilt.updates_by_job, core.updates_by_job);
    assert_eq!(rebuilt.active_updates, core.active_updates);
    check(&rebuilt);
    let statuses: BTreeSet<ScheduleStatus> = core
        .state
        .tasks
        .values()
        .map(crate::state::SimTask::status)
        .collect();
    assert!(statuses.contains(&ScheduleStatus::RUNNING), "{statuses:?}");
    assert!(statuses.contains(&ScheduleStatus::KILLED), "{statuses:?}");
}
