//! Job updates (reference §1.6): getJobUpdateDiff, startJobUpdate's checks, the update state
//! machine, strategies, failure limits, rollback, pause/resume/abort/pulse, and queries.

use aurora_api::client::StartJobUpdateOutcome;
use aurora_sim::{FAIL_AFTER_KEY, FAIL_INSTANCES_KEY};
use aurora_thrift::types::{
    BatchJobUpdateStrategy, JobUpdateAction, JobUpdateDetails, JobUpdateKey, JobUpdatePulseStatus,
    JobUpdateQuery, JobUpdateStatus, JobUpdateStrategy, Range, ResponseCode, ScheduleStatus,
    TaskConfig, VariableBatchJobUpdateStrategy,
};

use crate::common::*;

fn details(env: &Env, key: &JobUpdateKey) -> JobUpdateDetails {
    let q = JobUpdateQuery {
        key: Some(key.clone()),
        ..JobUpdateQuery::default()
    };
    env.client
        .get_job_update_details(&q)
        .expect("details")
        .value
        .details_list
        .unwrap_or_default()
        .into_iter()
        .next()
        .expect("one update")
}

fn statuses(d: &JobUpdateDetails) -> Vec<JobUpdateStatus> {
    d.update_events
        .iter()
        .flatten()
        .filter_map(|e| e.status)
        .collect()
}

fn instance_events(d: &JobUpdateDetails) -> Vec<(i32, JobUpdateAction)> {
    d.instance_events
        .iter()
        .flatten()
        .filter_map(|e| Some((e.instance_id?, e.action?)))
        .collect()
}

fn v2(k: &aurora_thrift::types::JobKey) -> TaskConfig {
    with_metadata(task(k), "version", "2")
}

fn range(a: i32, b: i32) -> Range {
    Range {
        first: Some(a),
        last: Some(b),
    }
}

#[test]
fn diff_compares_full_task_configs_with_ranges() {
    let env = env();
    let k = key("diff");
    running_job(&env, &k, 3);
    // Same config, 5 instances: add 3-4, unchanged 0-2.
    let d = env
        .client
        .get_job_update_diff(&request(task(&k), 5, settings(1, 0)))
        .expect("diff")
        .value;
    let ranges = |g: &Option<std::collections::BTreeSet<aurora_thrift::types::ConfigGroup>>| {
        g.iter()
            .flatten()
            .flat_map(|g| g.instances.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(ranges(&d.add), vec![range(3, 4)]);
    assert_eq!(ranges(&d.unchanged), vec![range(0, 2)]);
    assert!(ranges(&d.update).is_empty() && ranges(&d.remove).is_empty());
    // Another owner alone makes every instance an update (full thrift equality).
    let mut other_owner = task(&k);
    other_owner.owner = Some(aurora_thrift::types::Identity {
        user: Some("alice".to_string()),
    });
    let d = env
        .client
        .get_job_update_diff(&request(other_owner, 2, settings(1, 0)))
        .expect("diff")
        .value;
    assert_eq!(ranges(&d.update), vec![range(0, 1)]);
    assert_eq!(ranges(&d.remove), vec![range(2, 2)]);
    // The update group carries the *current* config.
    let current = d
        .update
        .iter()
        .flatten()
        .next()
        .and_then(|g| g.config.clone())
        .expect("config");
    assert_eq!(current.owner.and_then(|o| o.user).as_deref(), Some("root"));
    // Scoped to updateOnlyTheseInstances.
    let mut s = settings(1, 0);
    s.update_only_these_instances = Some([range(1, 1)].into_iter().collect());
    let d = env
        .client
        .get_job_update_diff(&request(v2(&k), 3, s))
        .expect("diff")
        .value;
    assert_eq!(ranges(&d.update), vec![range(1, 1)]);
    assert!(ranges(&d.unchanged).is_empty());
    // settings are required.
    let mut r = request(task(&k), 3, settings(1, 0));
    r.settings = None;
    assert_eq!(
        sched_err(env.client.get_job_update_diff(&r).expect_err("ERROR")).code,
        ResponseCode::ERROR
    );
}

#[test]
fn start_job_update_checks_in_order() {
    let env = env();
    let k = key("checks");
    running_job(&env, &k, 2);
    let mut adhoc = v2(&k);
    adhoc.is_service = Some(false);
    assert_rejected(
        env.client
            .start_job_update(&request(adhoc, 2, settings(1, 0)), None),
        ResponseCode::INVALID_REQUEST,
        "Updates are not supported for non-service tasks.",
    );
    let mut s = settings(0, 0);
    s.update_strategy = None;
    assert_rejected(
        env.client.start_job_update(&request(v2(&k), 2, s), None),
        ResponseCode::INVALID_REQUEST,
        "Update results in no instance being modified.",
    );
    let mut s = settings(1, 0);
    s.update_strategy = Some(JobUpdateStrategy::VarBatchStrategy(
        VariableBatchJobUpdateStrategy {
            group_sizes: Some(vec![1, 0]),
            autopause_after_batch: Some(false),
        },
    ));
    assert_rejected(
        env.client.start_job_update(&request(v2(&k), 2, s), None),
        ResponseCode::INVALID_REQUEST,
        "All update group sizes must be positive.",
    );
    let mut s = settings(1, 0);
    s.max_per_instance_failures = Some(-1);
    assert_rejected(
        env.client.start_job_update(&request(v2(&k), 2, s), None),
        ResponseCode::INVALID_REQUEST,
        "maxPerInstanceFailures must be non-negative.",
    );
    let mut s = settings(1, 0);
    s.max_per_instance_failures = Some(20_000);
    assert_rejected(
        env.client.start_job_update(&request(v2(&k), 2, s), None),
        ResponseCode::INVALID_REQUEST,
        "Your update allows too many failures to occur, consider decreasing the per-instance failures or maxFailedInstances.",
    );
    let mut s = settings(1, 0);
    s.sla_aware = Some(true);
    assert_rejected(
        env.client.start_job_update(&request(v2(&k), 2, s), None),
        ResponseCode::INVALID_REQUEST,
        "slaAware is true, but no task slaPolicy is specified.",
    );
    let mut s = settings(1, 0);
    s.update_only_these_instances = Some([range(7, 7)].into_iter().collect());
    assert_rejected(
        env.client.start_job_update(&request(v2(&k), 2, s), None),
        ResponseCode::INVALID_REQUEST,
        "The update request attempted to update specific instances, but some are irrelevant to the update and current job state: [7]",
    );
    // The no-op answer.
    let r = env
        .client
        .start_job_update(&request(task(&k), 2, settings(1, 0)), None)
        .expect("no-op");
    assert_eq!(r.value, StartJobUpdateOutcome::NoChange);
    assert_eq!(
        r.details,
        vec!["Job is unchanged by proposed update.".to_string()]
    );
    // An update in progress comes back in the result.
    let key1 = env.start_update(&request(v2(&k), 2, settings(1, 60_000)));
    let mut other = with_metadata(task(&k), "version", "3");
    other.priority = Some(1);
    let e = assert_rejected(
        env.client
            .start_job_update(&request(other, 2, settings(1, 0)), None),
        ResponseCode::INVALID_REQUEST,
        "An active update already exists for this job, please terminate it before starting another. Active updates are those in states [ROLLING_FORWARD, ROLLING_BACK, ROLL_FORWARD_PAUSED, ROLL_BACK_PAUSED, ROLL_FORWARD_AWAITING_PULSE, ROLL_BACK_AWAITING_PULSE]",
    );
    let in_progress = e.in_progress_update().expect("in-progress update");
    assert_eq!(in_progress.key.as_ref(), Some(&key1));
    let metadata = in_progress
        .update_summary
        .as_ref()
        .and_then(|s| s.metadata.clone())
        .unwrap_or_default();
    assert!(
        metadata
            .iter()
            .any(|m| m.key.as_deref() == Some("org.apache.aurora.client.update_id"))
    );
}

#[test]
fn writes_during_an_update_get_job_updating_error() {
    let env = env();
    let k = key("busy");
    running_job(&env, &k, 2);
    env.start_update(&request(v2(&k), 2, settings(1, 60_000)));
    let msg = "Job is currently updating";
    assert_rejected(
        env.client.kill_tasks(&k, None, None),
        ResponseCode::JOB_UPDATING_ERROR,
        msg,
    );
    assert_rejected(
        env.client.restart_shards(&k, &[0].into_iter().collect()),
        ResponseCode::JOB_UPDATING_ERROR,
        msg,
    );
    assert_rejected(
        env.client.create_job(&job(&k, 1)),
        ResponseCode::JOB_UPDATING_ERROR,
        msg,
    );
    assert_rejected(
        env.client.deschedule_cron_job(&k),
        ResponseCode::JOB_UPDATING_ERROR,
        msg,
    );
    let mut cron = job(&k, 1);
    cron.task_config.as_mut().expect("task").is_service = Some(false);
    cron.cron_schedule = Some("* * * * *".to_string());
    assert_rejected(
        env.client.schedule_cron_job(&cron),
        ResponseCode::JOB_UPDATING_ERROR,
        msg,
    );
}

#[test]
fn rolling_update_rolls_forward_with_instance_events() {
    let env = env();
    let k = key("roll");
    running_job(&env, &k, 2);
    let key = env.start_update(&request(v2(&k), 3, settings(1, 5_000)));
    assert_eq!(env.update_status(&key), JobUpdateStatus::ROLLING_FORWARD);
    assert!(env.step_until(120, |e| e.update_status(&key)
        == JobUpdateStatus::ROLLED_FORWARD));
    let d = details(&env, &key);
    assert_eq!(
        statuses(&d),
        vec![
            JobUpdateStatus::ROLLING_FORWARD,
            JobUpdateStatus::ROLLED_FORWARD
        ]
    );
    use JobUpdateAction as A;
    // New instances first, then updated ones (UpdateFactory.UpdateOrdering).
    assert_eq!(
        instance_events(&d),
        vec![
            (2, A::INSTANCE_UPDATING),
            (2, A::INSTANCE_UPDATED),
            (0, A::INSTANCE_UPDATING),
            (0, A::INSTANCE_UPDATED),
            (1, A::INSTANCE_UPDATING),
            (1, A::INSTANCE_UPDATED),
        ]
    );
    // Every instance runs the new config.
    let summary = env
        .client
        .get_config_summary(&k)
        .expect("summary")
        .value
        .summary
        .expect("summary");
    let groups = summary.groups.unwrap_or_default();
    assert_eq!(groups.len(), 1);
    let g = groups.iter().next().expect("group");
    assert!(
        g.config
            .as_ref()
            .and_then(|c| c.metadata.as_ref())
            .is_some_and(|m| m.iter().any(|m| m.value.as_deref() == Some("2")))
    );
    // The update's instructions: initial = replaced instances, desired = new config 0-2.
    let instr = d.update.and_then(|u| u.instructions).expect("instructions");
    assert_eq!(
        instr
            .desired_state
            .and_then(|d| d.instances)
            .unwrap_or_default()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![range(0, 2)]
    );
    assert_eq!(instr.initial_state.unwrap_or_default().len(), 1);
}

#[test]
fn failing_update_rolls_back_with_realistic_events() {
    let env = env();
    let k = key("rollback");
    running_job(&env, &k, 3);
    // Let the instances become stable (minWaitInInstanceRunningMs) before the update.
    env.advance_secs(30);
    let bad = with_metadata(task(&k), FAIL_AFTER_KEY, "2000");
    let key = env.start_update(&request(bad, 3, settings(1, 10_000)));
    assert!(env.step_until(300, |e| e.update_status(&key)
        == JobUpdateStatus::ROLLED_BACK));
    let d = details(&env, &key);
    assert_eq!(
        statuses(&d),
        vec![
            JobUpdateStatus::ROLLING_FORWARD,
            JobUpdateStatus::ROLLING_BACK,
            JobUpdateStatus::ROLLED_BACK
        ]
    );
    let rollback_event = d
        .update_events
        .iter()
        .flatten()
        .find(|e| e.status == Some(JobUpdateStatus::ROLLING_BACK))
        .expect("rollback event");
    assert!(
        rollback_event
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with("Latest failure: instance 0"))
    );
    use JobUpdateAction as A;
    // Instance 0 failed; 1 and 2 were never touched, so only 0 rolls back.
    assert_eq!(
        instance_events(&d),
        vec![
            (0, A::INSTANCE_UPDATING),
            (0, A::INSTANCE_UPDATE_FAILED),
            (0, A::INSTANCE_ROLLING_BACK),
            (0, A::INSTANCE_ROLLED_BACK),
        ]
    );
    env.advance_secs(30);
    let active = env.active(&k);
    assert_eq!(active.len(), 3);
    assert!(active.values().all(|s| *s == ScheduleStatus::RUNNING));
    // All instances run the original config again.
    let groups = env
        .client
        .get_config_summary(&k)
        .expect("summary")
        .value
        .summary
        .and_then(|s| s.groups)
        .unwrap_or_default();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        groups
            .iter()
            .next()
            .and_then(|g| g.config.clone())
            .and_then(|c| c.metadata),
        Some(Default::default())
    );
}

#[test]
fn failure_without_rollback_ends_failed_and_limits_count() {
    let env = env();
    let k = key("nofallback");
    running_job(&env, &k, 3);
    let bad = with_metadata(task(&k), FAIL_AFTER_KEY, "1000");
    let mut s = settings(1, 10_000);
    s.rollback_on_failure = Some(false);
    // One failed instance is tolerated; the second fails the update.
    s.max_failed_instances = Some(1);
    let key = env.start_update(&request(bad, 3, s));
    assert!(env.step_until(300, |e| e.update_status(&key) == JobUpdateStatus::FAILED));
    let d = details(&env, &key);
    let failed: Vec<i32> = instance_events(&d)
        .into_iter()
        .filter(|(_, a)| *a == JobUpdateAction::INSTANCE_UPDATE_FAILED)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, vec![0, 1]);
}

#[test]
fn per_instance_failures_are_tolerated_up_to_the_limit() {
    let env = env();
    let k = key("perinst");
    running_job(&env, &k, 1);
    let bad = with_metadata(task(&k), FAIL_AFTER_KEY, "1000");
    let mut s = settings(1, 10_000);
    s.max_per_instance_failures = Some(2);
    let key = env.start_update(&request(bad, 1, s));
    assert!(env.step_until(300, |e| e.update_status(&key)
        == JobUpdateStatus::ROLLED_BACK));
    // Three failed runs of the new config (the third exceeds the limit of 2).
    let failed_runs = env
        .tasks(&k)
        .iter()
        .filter(|t| t.status == Some(ScheduleStatus::FAILED))
        .count();
    assert_eq!(failed_runs, 3);
}

#[test]
fn pause_resume_abort() {
    let env = env();
    let k = key("pause");
    running_job(&env, &k, 3);
    let key = env.start_update(&request(v2(&k), 3, settings(1, 5_000)));
    env.client
        .pause_job_update(&key, Some("hold on"))
        .expect("pause");
    assert_eq!(
        env.update_status(&key),
        JobUpdateStatus::ROLL_FORWARD_PAUSED
    );
    env.advance_secs(60);
    assert_eq!(
        env.update_status(&key),
        JobUpdateStatus::ROLL_FORWARD_PAUSED
    );
    // Pausing again is a no-op.
    env.client
        .pause_job_update(&key, None)
        .expect("pause again");
    env.client.resume_job_update(&key, None).expect("resume");
    assert_eq!(env.update_status(&key), JobUpdateStatus::ROLLING_FORWARD);
    env.client
        .abort_job_update(&key, Some("stop"))
        .expect("abort");
    assert_eq!(env.update_status(&key), JobUpdateStatus::ABORTED);
    let d = details(&env, &key);
    let last = d.update_events.unwrap_or_default().pop().expect("event");
    assert_eq!(last.user.as_deref(), Some("UNSECURE"));
    assert_eq!(last.message.as_deref(), Some("stop"));
    // Terminal: pause, resume, abort are refused with the state machine's message.
    assert_rejected(
        env.client.pause_job_update(&key, None),
        ResponseCode::INVALID_REQUEST,
        "Cannot transition update from ABORTED to null",
    );
    assert_rejected(
        env.client.rollback_job_update(&key, None),
        ResponseCode::INVALID_REQUEST,
        "Cannot transition update from ABORTED to ROLLING_BACK",
    );
    // Same status: changeUpdateStatus returns without a transition.
    env.client
        .abort_job_update(&key, None)
        .expect("abort again");
    // Abort leaves instances as they are; the job is writable again.
    env.client
        .kill_tasks(&k, None, None)
        .expect("kill after abort");
    let missing = JobUpdateKey {
        job: Some(k.clone()),
        id: Some("nope".to_string()),
    };
    assert_rejected(
        env.client.resume_job_update(&missing, None),
        ResponseCode::INVALID_REQUEST,
        "Update does not exist: IJobUpdateKey{job=IJobKey{role=www-data, environment=prod, name=pause}, id=nope}",
    );
}

#[test]
fn manual_rollback_of_a_paused_update() {
    let env = env();
    let k = key("manual");
    running_job(&env, &k, 2);
    let key = env.start_update(&request(v2(&k), 2, settings(1, 1_000)));
    env.advance_secs(5);
    env.client.pause_job_update(&key, None).expect("pause");
    env.client
        .rollback_job_update(&key, Some("changed my mind"))
        .expect("rollback");
    assert_eq!(env.update_status(&key), JobUpdateStatus::ROLLING_BACK);
    assert!(env.step_until(120, |e| e.update_status(&key)
        == JobUpdateStatus::ROLLED_BACK));
}

#[test]
fn coordinated_update_waits_for_pulses() {
    let env = env();
    let k = key("pulse");
    running_job(&env, &k, 2);
    let mut s = settings(1, 100_000);
    s.block_if_no_pulses_after_ms = Some(60_000);
    let key = env.start_update(&request(v2(&k), 2, s));
    assert_eq!(
        env.update_status(&key),
        JobUpdateStatus::ROLL_FORWARD_AWAITING_PULSE
    );
    env.advance_secs(30);
    assert!(env.all_active(&k, 2, ScheduleStatus::RUNNING));
    let r = env.client.pulse_job_update(&key).expect("pulse");
    assert_eq!(r.value.status, Some(JobUpdatePulseStatus::OK));
    assert_eq!(env.update_status(&key), JobUpdateStatus::ROLLING_FORWARD);
    // Without further pulses the update blocks again after 60 s.
    env.advance_secs(61);
    assert_eq!(
        env.update_status(&key),
        JobUpdateStatus::ROLL_FORWARD_AWAITING_PULSE
    );
    let d = details(&env, &key);
    assert_eq!(
        d.update_events
            .unwrap_or_default()
            .last()
            .and_then(|e| e.message.clone())
            .as_deref(),
        Some("Pulses from external service have timed out.")
    );
    // Pulsing keeps it going to the end; afterwards pulses answer FINISHED.
    assert!(env.step_until(400, |e| {
        let _ = e.client.pulse_job_update(&key);
        e.update_status(&key) == JobUpdateStatus::ROLLED_FORWARD
    }));
    let r = env.client.pulse_job_update(&key).expect("pulse");
    assert_eq!(r.value.status, Some(JobUpdatePulseStatus::FINISHED));
}

#[test]
fn batch_strategy_with_autopause() {
    let env = env();
    let k = key("batch");
    running_job(&env, &k, 4);
    let mut s = settings(2, 1_000);
    s.update_strategy = Some(JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
        group_size: Some(2),
        autopause_after_batch: Some(true),
    }));
    let key = env.start_update(&request(v2(&k), 4, s));
    assert!(env.step_until(60, |e| e.update_status(&key)
        == JobUpdateStatus::ROLL_FORWARD_PAUSED));
    let d = details(&env, &key);
    let updated: Vec<i32> = instance_events(&d)
        .into_iter()
        .filter(|(_, a)| *a == JobUpdateAction::INSTANCE_UPDATED)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(updated, vec![0, 1], "first batch done, then paused");
    assert_eq!(
        d.update_events
            .unwrap_or_default()
            .last()
            .and_then(|e| e.message.clone())
            .as_deref(),
        Some("Update auto paused")
    );
    env.client.resume_job_update(&key, None).expect("resume");
    // Aurora 0.22 pauses an auto-pausing update by hand like any other.
    env.client
        .pause_job_update(&key, None)
        .expect("manual pause");
    assert_eq!(
        env.update_status(&key),
        JobUpdateStatus::ROLL_FORWARD_PAUSED
    );
    env.client.resume_job_update(&key, None).expect("resume");
    assert!(env.step_until(60, |e| e.update_status(&key)
        == JobUpdateStatus::ROLLED_FORWARD));
}

#[test]
fn variable_batch_and_queue_strategies_bound_concurrency() {
    let env = env();
    let k = key("varbatch");
    running_job(&env, &k, 6);
    let mut s = settings(1, 1_000);
    s.update_strategy = Some(JobUpdateStrategy::VarBatchStrategy(
        VariableBatchJobUpdateStrategy {
            group_sizes: Some(vec![1, 2, 3]),
            autopause_after_batch: Some(false),
        },
    ));
    let key = env.start_update(&request(v2(&k), 6, s));
    // First batch: only instance 0 is being replaced.
    env.advance_secs(1);
    let d = details(&env, &key);
    let updating: Vec<i32> = instance_events(&d)
        .into_iter()
        .filter(|(_, a)| *a == JobUpdateAction::INSTANCE_UPDATING)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(updating, vec![0]);
    assert!(env.step_until(120, |e| e.update_status(&key)
        == JobUpdateStatus::ROLLED_FORWARD));
    let d = details(&env, &key);
    // Batches 1, 2, 3: instance 1 and 2 start together, after 0 is done.
    let ts = |i: i32, a: JobUpdateAction| {
        d.instance_events
            .iter()
            .flatten()
            .find(|e| e.instance_id == Some(i) && e.action == Some(a))
            .and_then(|e| e.timestamp_ms)
            .expect("event")
    };
    use JobUpdateAction as A;
    assert_eq!(ts(1, A::INSTANCE_UPDATING), ts(2, A::INSTANCE_UPDATING));
    assert!(ts(1, A::INSTANCE_UPDATING) >= ts(0, A::INSTANCE_UPDATED));
    assert_eq!(ts(3, A::INSTANCE_UPDATING), ts(5, A::INSTANCE_UPDATING));

    // Queue strategy with groupSize 2: at most two instances at once.
    let k = crate::common::key("queue");
    running_job(&env, &k, 4);
    let upd = env.start_update(&request(v2(&k), 4, settings(2, 1_000)));
    env.advance_secs(1);
    let d = details(&env, &upd);
    assert_eq!(
        instance_events(&d),
        vec![(0, A::INSTANCE_UPDATING), (1, A::INSTANCE_UPDATING)]
    );
}

#[test]
fn min_wait_in_running_gates_success() {
    let env = env();
    let k = key("minwait");
    running_job(&env, &k, 1);
    let key = env.start_update(&request(v2(&k), 1, settings(1, 30_000)));
    // kill (1 s) + pending/assigned/starting (3 s) = RUNNING after ~4 s; success 30 s later.
    env.advance_secs(20);
    assert_eq!(env.update_status(&key), JobUpdateStatus::ROLLING_FORWARD);
    env.advance_secs(20);
    assert_eq!(env.update_status(&key), JobUpdateStatus::ROLLED_FORWARD);
}

#[test]
fn shrinking_and_growing_instance_counts() {
    let env = env();
    let k = key("resize");
    running_job(&env, &k, 3);
    let key = env.start_update(&request(task(&k), 1, settings(2, 1_000)));
    assert!(env.step_until(60, |e| e.update_status(&key)
        == JobUpdateStatus::ROLLED_FORWARD));
    assert_eq!(env.active(&k).keys().copied().collect::<Vec<_>>(), vec![0]);
    let key = env.start_update(&request(task(&k), 2, settings(2, 1_000)));
    assert!(env.step_until(60, |e| e.update_status(&key)
        == JobUpdateStatus::ROLLED_FORWARD));
    assert_eq!(
        env.active(&k).keys().copied().collect::<Vec<_>>(),
        vec![0, 1]
    );
}

#[test]
fn update_queries_newest_first_and_deprecated_key_argument() {
    let env = env();
    let a = key("qa");
    let b = key("qb");
    running_job(&env, &a, 1);
    running_job(&env, &b, 1);
    let ka = env.start_update(&request(v2(&a), 1, settings(1, 1_000)));
    env.advance_secs(1);
    let kb = env.start_update(&request(v2(&b), 1, settings(1, 1_000)));
    let all = env
        .client
        .get_job_update_summaries(&JobUpdateQuery {
            role: Some("www-data".to_string()),
            ..JobUpdateQuery::default()
        })
        .expect("summaries")
        .value
        .update_summaries
        .unwrap_or_default();
    let keys: Vec<_> = all.iter().filter_map(|s| s.key.clone()).collect();
    assert_eq!(keys, vec![kb.clone(), ka.clone()]);
    let active_a = env
        .client
        .get_job_update_summaries(&JobUpdateQuery {
            job_key: Some(a.clone()),
            update_statuses: Some([JobUpdateStatus::ROLLING_FORWARD].into_iter().collect()),
            ..JobUpdateQuery::default()
        })
        .expect("summaries")
        .value
        .update_summaries
        .unwrap_or_default();
    assert_eq!(active_a.len(), 1);
    let limited = env
        .client
        .get_job_update_summaries(&JobUpdateQuery {
            limit: Some(1),
            offset: Some(1),
            ..JobUpdateQuery::default()
        })
        .expect("summaries")
        .value
        .update_summaries
        .unwrap_or_default();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].key.as_ref(), Some(&ka));

    // The deprecated `key` argument alone answers in `details` with a message.
    let r = env
        .client
        .call::<aurora_thrift::rpc::GetJobUpdateDetails>(
            &aurora_thrift::types::GetJobUpdateDetailsCall {
                key: Some(ka.clone()),
                query: None,
            },
        )
        .expect("details by key");
    assert_eq!(
        r.details.unwrap_or_default()[0].message.as_deref(),
        Some("The key argument is deprecated, use the query argument instead")
    );
    match r.result {
        Some(aurora_thrift::types::Result::GetJobUpdateDetailsResult(d)) => {
            assert!(d.details.is_some() && d.details_list.is_none());
        }
        other => panic!("unexpected {other:?}"),
    }
    let e = env
        .client
        .call::<aurora_thrift::rpc::GetJobUpdateDetails>(
            &aurora_thrift::types::GetJobUpdateDetailsCall {
                key: None,
                query: None,
            },
        )
        .expect_err("neither argument");
    let e = sched_err(e);
    assert_eq!(e.code, ResponseCode::ERROR);
    assert_eq!(
        e.messages,
        vec!["Either key or query must be set.".to_string()]
    );
    // An unknown deprecated key: the IJobUpdateKey wrapper's toString.
    let mut unknown = ka.clone();
    unknown.id = Some("nope".to_string());
    let e = env
        .client
        .call::<aurora_thrift::rpc::GetJobUpdateDetails>(
            &aurora_thrift::types::GetJobUpdateDetailsCall {
                key: Some(unknown),
                query: None,
            },
        )
        .expect_err("unknown key");
    let e = sched_err(e);
    assert_eq!(e.code, ResponseCode::INVALID_REQUEST);
    assert_eq!(
        e.messages.first().map(String::as_str),
        Some(
            format!(
                "Invalid update: IJobUpdateKey{{job=IJobKey{{role=www-data, environment=prod, name={}}}, id=nope}}",
                ka.job.as_ref().and_then(|j| j.name.as_deref()).unwrap_or("")
            )
            .as_str()
        )
    );
}

#[test]
fn rollback_after_a_later_instance_fails_reverts_the_updated_ones() {
    let env = env();
    let k = key("partial");
    running_job(&env, &k, 3);
    env.advance_secs(30);
    let bad = with_metadata(
        with_metadata(task(&k), FAIL_AFTER_KEY, "2000"),
        FAIL_INSTANCES_KEY,
        "1",
    );
    let key = env.start_update(&request(bad, 3, settings(1, 5_000)));
    assert!(env.step_until(300, |e| e.update_status(&key)
        == JobUpdateStatus::ROLLED_BACK));
    use JobUpdateAction as A;
    assert_eq!(
        instance_events(&details(&env, &key)),
        // A rollback walks the instances in reverse order (UpdateFactory).
        vec![
            (0, A::INSTANCE_UPDATING),
            (0, A::INSTANCE_UPDATED),
            (1, A::INSTANCE_UPDATING),
            (1, A::INSTANCE_UPDATE_FAILED),
            (1, A::INSTANCE_ROLLING_BACK),
            (1, A::INSTANCE_ROLLED_BACK),
            (0, A::INSTANCE_ROLLING_BACK),
            (0, A::INSTANCE_ROLLED_BACK),
        ]
    );
}

#[test]
fn cron_jobs_cannot_be_updated_or_diffed() {
    let env = env();
    let k = key("cronupd");
    let mut t = task(&k);
    t.is_service = Some(false);
    let mut c = job_with(&k, 1, t);
    c.cron_schedule = Some("0 0 1 JAN *".to_string());
    env.client.schedule_cron_job(&c).expect("cron");
    assert_rejected(
        env.client
            .start_job_update(&request(v2(&k), 1, settings(1, 0)), None),
        ResponseCode::INVALID_REQUEST,
        "Cron jobs may only be created/updated by calling scheduleCronJob.",
    );
    assert_rejected(
        env.client
            .get_job_update_diff(&request(v2(&k), 1, settings(1, 0))),
        ResponseCode::INVALID_REQUEST,
        "Cron jobs are not supported.",
    );
}

/// User-driven transitions out of each active state (JobUpdateStateMachine).
#[test]
fn user_transitions_from_every_active_state() {
    use JobUpdateStatus as S;
    let env = env();
    let k = key("transitions");
    running_job(&env, &k, 2);
    let slow = || settings(1, 600_000);
    let u = env.start_update(&request(v2(&k), 2, slow()));
    let step = |f: &dyn Fn() -> Result<aurora_api::Reply<()>, aurora_api::ApiError>, want: S| {
        f().expect("transition");
        assert_eq!(env.update_status(&u), want);
    };
    step(
        &|| env.client.pause_job_update(&u, None),
        S::ROLL_FORWARD_PAUSED,
    );
    step(
        &|| env.client.resume_job_update(&u, None),
        S::ROLLING_FORWARD,
    );
    step(
        &|| env.client.rollback_job_update(&u, None),
        S::ROLLING_BACK,
    );
    step(
        &|| env.client.pause_job_update(&u, None),
        S::ROLL_BACK_PAUSED,
    );
    assert_rejected(
        env.client.call::<aurora_thrift::rpc::ResumeJobUpdate>(
            &aurora_thrift::types::ResumeJobUpdateCall {
                key: Some(JobUpdateKey {
                    id: Some("missing".to_string()),
                    ..u.clone()
                }),
                message: None,
            },
        ),
        ResponseCode::INVALID_REQUEST,
        "Update does not exist: IJobUpdateKey{job=IJobKey{role=www-data, environment=prod, name=transitions}, id=missing}",
    );
    step(&|| env.client.resume_job_update(&u, None), S::ROLLING_BACK);
    step(&|| env.client.abort_job_update(&u, None), S::ABORTED);

    // Coordinated: the awaiting-pulse states.
    let mut s = slow();
    s.block_if_no_pulses_after_ms = Some(60_000);
    let u = env.start_update(&request(with_metadata(task(&k), "version", "3"), 2, s));
    let step = |f: &dyn Fn() -> Result<aurora_api::Reply<()>, aurora_api::ApiError>, want: S| {
        f().expect("transition");
        assert_eq!(env.update_status(&u), want);
    };
    assert_eq!(env.update_status(&u), S::ROLL_FORWARD_AWAITING_PULSE);
    step(
        &|| env.client.pause_job_update(&u, None),
        S::ROLL_FORWARD_PAUSED,
    );
    // No pulse yet: resuming goes back to awaiting a pulse.
    step(
        &|| env.client.resume_job_update(&u, None),
        S::ROLL_FORWARD_AWAITING_PULSE,
    );
    step(
        &|| env.client.rollback_job_update(&u, None),
        S::ROLL_BACK_AWAITING_PULSE,
    );
    env.client.pulse_job_update(&u).expect("pulse");
    assert_eq!(env.update_status(&u), S::ROLLING_BACK);
    step(
        &|| env.client.pause_job_update(&u, None),
        S::ROLL_BACK_PAUSED,
    );
    step(&|| env.client.abort_job_update(&u, None), S::ABORTED);
    let events: Vec<S> = statuses(&details(&env, &u));
    assert_eq!(
        events,
        vec![
            S::ROLL_FORWARD_AWAITING_PULSE,
            S::ROLL_FORWARD_PAUSED,
            S::ROLL_FORWARD_AWAITING_PULSE,
            S::ROLLING_BACK,
            S::ROLL_BACK_AWAITING_PULSE,
            S::ROLLING_BACK,
            S::ROLL_BACK_PAUSED,
            S::ABORTED,
        ]
    );
}

#[test]
fn instances_not_yet_stable_are_rolled_back_too() {
    // appearsStable: an instance counts as in its target state only after
    // minWaitInInstanceRunningMs in RUNNING, so a rollback shortly after a start touches it.
    let env = env();
    let k = key("unstable");
    running_job(&env, &k, 2);
    let bad = with_metadata(task(&k), FAIL_AFTER_KEY, "1000");
    let key = env.start_update(&request(bad, 2, settings(1, 60_000)));
    assert!(env.step_until(300, |e| e.update_status(&key)
        == JobUpdateStatus::ROLLED_BACK));
    use JobUpdateAction as A;
    assert_eq!(
        instance_events(&details(&env, &key)),
        vec![
            (0, A::INSTANCE_UPDATING),
            (0, A::INSTANCE_UPDATE_FAILED),
            (1, A::INSTANCE_ROLLING_BACK),
            (1, A::INSTANCE_ROLLED_BACK),
            (0, A::INSTANCE_ROLLING_BACK),
            (0, A::INSTANCE_ROLLED_BACK),
        ]
    );
}

#[test]
fn a_service_that_exits_during_its_update_counts_as_failed() {
    let env = env();
    let k = key("exits");
    running_job(&env, &k, 1);
    env.advance_secs(30);
    let exits = with_metadata(task(&k), aurora_sim::FINISH_AFTER_KEY, "2000");
    let key = env.start_update(&request(exits, 1, settings(1, 10_000)));
    assert!(env.step_until(300, |e| e.update_status(&key)
        == JobUpdateStatus::ROLLED_BACK));
    let d = details(&env, &key);
    assert!(instance_events(&d).contains(&(0, JobUpdateAction::INSTANCE_UPDATE_FAILED)));
}
