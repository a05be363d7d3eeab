//! The engine against the scheduler emulator over real HTTP: observe, plan, confirm,
//! execute and monitor, through the production client.
//!
//! Tests that wait for a deadline run the emulator on its manual clock and execution on a
//! [`ManualClock`] that drives it ([`start_manual`]): their deadlines are virtual, so they
//! take no real time and do not depend on how fast the machine is.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aurora_api::types::{
    JobConfiguration, JobUpdateSettings, JobUpdateStrategy, Metadata, QueueJobUpdateStrategy,
    Resource,
};
use aurora_api::{Client, ClientConfig};
use aurora_apply::clock::ManualClock;
use aurora_apply::desired::DesiredJob;
use aurora_apply::error::EngineError;
use aurora_apply::events::{CollectSink, Outcome};
use aurora_apply::execute::{ExecuteOptions, execute};
use aurora_apply::plan::Action;
use aurora_apply::planning::{PlanOptions, plan_cluster};
use aurora_sim::{ClockMode, Sim, SimConfig, SimHandle};

fn start_sim() -> (SimHandle, Client) {
    let config = SimConfig {
        clock: ClockMode::Scaled(200.0),
        cluster_name: "devcluster".into(),
        ..SimConfig::default()
    };
    let sim = Sim::start(config).expect("emulator starts");
    let client = Client::new(ClientConfig::new(sim.url())).expect("client");
    (sim, client)
}

fn fixture(name: &str) -> JobConfiguration {
    aurora_thrift::testing::job_configuration(name)
}

fn settings() -> JobUpdateSettings {
    JobUpdateSettings {
        update_group_size: Some(1),
        max_per_instance_failures: Some(0),
        max_failed_instances: Some(0),
        min_wait_in_instance_running_ms: Some(2_000),
        rollback_on_failure: Some(true),
        wait_for_batch_completion: Some(false),
        update_strategy: Some(JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy {
            group_size: Some(1),
        })),
        ..JobUpdateSettings::default()
    }
}

fn desired(config: JobConfiguration) -> DesiredJob {
    DesiredJob::new("devcluster", &config, settings())
}

fn options() -> ExecuteOptions {
    ExecuteOptions {
        poll_interval: Duration::from_millis(20),
        timeout: Duration::from_secs(60),
        ..ExecuteOptions::default()
    }
}

fn plan(client: &Client, jobs: &[DesiredJob], prune: bool) -> Vec<aurora_apply::plan::JobChange> {
    let options = PlanOptions {
        prune,
        ..PlanOptions::default()
    };
    plan_cluster(client, "devcluster", jobs, &options)
        .expect("plans")
        .changes
}

fn apply(client: &Client, jobs: &[DesiredJob], prune: bool) -> Vec<Outcome> {
    let changes = plan(client, jobs, prune);
    execute(client, &changes, &options(), &CollectSink::default())
        .into_iter()
        .map(|r| r.outcome)
        .collect()
}

#[test]
fn create_then_noop_then_rolling_update() {
    let (_sim, client) = start_sim();
    let hello = desired(fixture("hello_world"));

    let changes = plan(&client, std::slice::from_ref(&hello), false);
    assert_eq!(changes[0].actions, [Action::Create]);
    assert_eq!(
        apply(&client, std::slice::from_ref(&hello), false),
        [Outcome::Succeeded]
    );

    // Unchanged spec: a no-op, settled locally (no getJobUpdateDiff).
    let again = plan_cluster(
        &client,
        "devcluster",
        std::slice::from_ref(&hello),
        &PlanOptions::default(),
    )
    .expect("plans");
    assert!(again.changes[0].is_noop(), "{:?}", again.changes[0]);
    assert_eq!(
        again.calls, 4,
        "tiers + tasks + jobs + updates for one role"
    );

    // cpu 1 -> 2: a confirmed rolling update that rolls forward.
    let bigger = desired(aurora_thrift::testing::with_cpu(
        fixture("hello_world"),
        2.0,
    ));
    let changes = plan(&client, std::slice::from_ref(&bigger), false);
    assert_eq!(changes[0].actions, [Action::Update]);
    assert_eq!(
        aurora_apply::ranges::display(&changes[0].instances.update),
        "0"
    );
    let sink = CollectSink::default();
    let results = execute(&client, &changes, &options(), &sink);
    assert_eq!(results[0].outcome, Outcome::Succeeded, "{results:?}");
    assert!(plan(&client, std::slice::from_ref(&bigger), false)[0].is_noop());
    // The update carries provenance (restarting nothing) and our update id.
    let summaries = client
        .get_job_update_summaries(&aurora_api::types::JobUpdateQuery {
            job_key: bigger.key().into(),
            ..Default::default()
        })
        .expect("summaries")
        .value
        .update_summaries
        .unwrap_or_default();
    let keys: Vec<String> = summaries[0]
        .metadata
        .iter()
        .flatten()
        .filter_map(|m| m.key.clone())
        .collect();
    for key in [
        aurora_apply::marker::UPDATE_ID_KEY,
        aurora_apply::marker::TOOL_KEY,
        aurora_apply::marker::SPEC_HASH_KEY,
        aurora_apply::marker::USER_KEY,
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
    }
}

#[test]
fn failing_update_rolls_back() {
    let (_sim, client) = start_sim();
    let hello = desired(fixture("hello_world"));
    assert_eq!(
        apply(&client, std::slice::from_ref(&hello), false),
        [Outcome::Succeeded]
    );

    let mut broken = aurora_thrift::testing::with_cpu(fixture("hello_world"), 2.0);
    let task = broken.task_config.as_mut().expect("task");
    task.metadata = Some(BTreeSet::from([Metadata {
        key: Some(aurora_sim::FAIL_AFTER_KEY.into()),
        value: Some("500".into()),
    }]));
    let outcomes = apply(&client, &[desired(broken)], false);
    assert_eq!(outcomes, [Outcome::RolledBack]);
    // The job runs its previous config again: the original spec is a no-op.
    assert!(plan(&client, std::slice::from_ref(&hello), false)[0].is_noop());
}

#[test]
fn job_created_by_aurora_client_is_not_restarted() {
    let (_sim, client) = start_sim();
    // Create exactly what Aurora's client sends (owner root, Python key order).
    client.create_job(&fixture("hello_world")).expect("created");
    let mut ours = fixture("hello_world");
    let task = ours.task_config.as_mut().expect("task");
    task.owner = Some(aurora_api::types::Identity {
        user: Some("www-data".into()),
    });
    let changes = plan(&client, &[desired(ours)], false);
    assert!(changes[0].is_noop(), "{:?}", changes[0]);
}

#[test]
fn prune_kills_owned_jobs_only() {
    let (_sim, client) = start_sim();
    let hello = desired(fixture("hello_world"));
    assert_eq!(
        apply(&client, std::slice::from_ref(&hello), false),
        [Outcome::Succeeded]
    );
    // A job of the same role created by someone else.
    let mut other = fixture("hello_world");
    other.key.as_mut().expect("key").name = Some("other".into());
    let task = other.task_config.as_mut().expect("task");
    task.job.as_mut().expect("job").name = Some("other".into());
    other.task_config.as_mut().expect("task").job = other.key.clone();
    client.create_job(&other).expect("created");

    // A different job in the specs, same role: hello is owned and absent -> killed.
    let mut renamed = fixture("hello_world");
    renamed.key.as_mut().expect("key").name = Some("hello2".into());
    renamed.task_config.as_mut().expect("task").job = renamed.key.clone();
    let changes = plan(&client, &[desired(renamed.clone())], true);
    let keys: Vec<(String, &[Action])> = changes
        .iter()
        .map(|c| (c.job_key.to_string(), c.actions.as_slice()))
        .collect();
    assert_eq!(
        keys,
        [
            (
                "devcluster/www-data/prod/hello".to_string(),
                &[Action::Kill][..]
            ),
            (
                "devcluster/www-data/prod/hello2".to_string(),
                &[Action::Create][..]
            ),
        ]
    );
    let results = execute(&client, &changes, &options(), &CollectSink::default());
    assert!(
        results.iter().all(|r| r.outcome == Outcome::Succeeded),
        "{results:?}"
    );
    // Without --prune nothing is killed.
    let changes = plan(&client, &[desired(renamed)], false);
    assert_eq!(changes.len(), 1);
}

#[test]
fn cron_jobs_are_scheduled_and_replaced() {
    let (_sim, client) = start_sim();
    let cron = desired(fixture("cron_hello_world"));
    let changes = plan(&client, std::slice::from_ref(&cron), false);
    assert_eq!(changes[0].actions, [Action::CronSchedule]);
    assert_eq!(
        apply(&client, std::slice::from_ref(&cron), false),
        [Outcome::Succeeded]
    );
    assert!(plan(&client, std::slice::from_ref(&cron), false)[0].is_noop());

    let mut later = fixture("cron_hello_world");
    later.cron_schedule = Some("30 4 * * *".into());
    let changes = plan(&client, &[desired(later.clone())], false);
    assert_eq!(changes[0].actions, [Action::CronSchedule]);
    assert_eq!(changes[0].fields[0].path, "cron.schedule");
    assert_eq!(
        apply(&client, &[desired(later)], false),
        [Outcome::Succeeded]
    );
}

#[test]
fn scheduler_rejection_fails_the_plan() {
    let (_sim, client) = start_sim();
    let mut bad = fixture("hello_world");
    let task = bad.task_config.as_mut().expect("task");
    task.executor_config.as_mut().expect("executor").name = Some("no-such-executor".into());
    let err = plan_cluster(
        &client,
        "devcluster",
        &[desired(bad)],
        &PlanOptions::default(),
    )
    .expect_err("rejected");
    match err {
        EngineError::Invalid { job, message } => {
            assert_eq!(job, "devcluster/www-data/prod/hello");
            assert!(message.contains("no-such-executor"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn normaliser_agrees_with_the_schedulers_populate() {
    let config = SimConfig {
        clock: ClockMode::Manual,
        allowed_container_types: ["MESOS".to_string(), "DOCKER".to_string()].into(),
        allow_docker_parameters: true,
        ..SimConfig::default()
    };
    let sim = Sim::start(config).expect("emulator starts");
    let client = Client::new(ClientConfig::new(sim.url())).expect("client");
    let tiers = aurora_apply::normalize::Tiers::from_thrift(
        &client.get_tier_configs().expect("tiers").value,
    );
    for name in [
        "hello_world",
        "cron_hello_world",
        "docker_app",
        "hello_docker_image",
    ] {
        let mut job = fixture(name);
        // Exercise the default task links: a port named http.
        if let Some(task) = job.task_config.as_mut() {
            task.resources
                .get_or_insert_with(BTreeSet::new)
                .insert(Resource::NamedPort("http".into()));
            task.task_links = None;
            task.tier = None;
        }
        let populated = client
            .populate_job_config(&job)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .value
            .task_config
            .expect("populated task");
        let ours =
            aurora_apply::normalize::task_config(job.task_config.as_ref().expect("task"), &tiers);
        let theirs = aurora_apply::normalize::task_config(&populated, &tiers);
        assert_eq!(ours, theirs, "{name}");
        assert!(aurora_apply::compare::same_task(&ours, &theirs), "{name}");
    }
}

#[test]
fn adopting_a_foreign_job_adds_the_marker_with_a_rolling_update() {
    let (_sim, client) = start_sim();
    client.create_job(&fixture("hello_world")).expect("created");
    let mut adopt = desired(fixture("hello_world"));
    adopt.adopt = true;
    let changes = plan(&client, std::slice::from_ref(&adopt), false);
    assert_eq!(changes[0].actions, [Action::Update]);
    let paths: Vec<&str> = changes[0].fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["metadata.aurora-apply.managed"]);
    let results = execute(&client, &changes, &options(), &CollectSink::default());
    assert_eq!(results[0].outcome, Outcome::Succeeded, "{results:?}");
    // Now ours: a plain plan is a no-op and --prune may remove it once it leaves the specs.
    assert!(plan(&client, &[desired(fixture("hello_world"))], false)[0].is_noop());
    let mut other = fixture("hello_world");
    other.key.as_mut().expect("key").name = Some("other".into());
    let task = other.task_config.as_mut().expect("task");
    task.job.as_mut().expect("job").name = Some("other".into());
    other.task_config.as_mut().expect("task").job = other.key.clone();
    let pruned = plan(&client, &[desired(other)], true);
    assert!(
        pruned
            .iter()
            .any(|c| c.job_key.name == "hello" && c.actions == [Action::Kill])
    );
}

fn start_sim_with(config: SimConfig) -> (SimHandle, Client) {
    let sim = Sim::start(config).expect("emulator starts");
    let client = Client::new(ClientConfig::new(sim.url())).expect("client");
    (sim, client)
}

/// How much faster than execution's virtual clock the emulator of [`start_manual`] runs: as
/// much as [`start_sim`]'s runs faster than the wall clock, so the timings of these tests
/// (a 2 s deadline is 400 s of the emulator, long enough for an update to get stuck on
/// capacity) keep their meaning.
const SIM_SPEED: u32 = 200;

/// An emulator on its manual clock, and the execution clock that drives it.
struct Manual {
    client: Client,
    /// Every pause of the engine on it advances the emulator by [`SIM_SPEED`] times as much.
    clock: Arc<ManualClock>,
}

/// Starts an emulator with `config` on [`ClockMode::Manual`]: it moves only as execution
/// (given [`Manual::options`]) waits, [`SIM_SPEED`] times as far.
fn start_manual(config: SimConfig) -> Manual {
    let sim = Arc::new(
        Sim::start(SimConfig {
            clock: ClockMode::Manual,
            ..config
        })
        .expect("emulator starts"),
    );
    let client = Client::new(ClientConfig::new(sim.url())).expect("client");
    let clock = Arc::new(ManualClock::with_hook(move |d| sim.advance(d * SIM_SPEED)));
    Manual { client, clock }
}

impl Manual {
    /// [`options`] on the virtual clock.
    fn options(&self) -> ExecuteOptions {
        ExecuteOptions {
            clock: Arc::clone(&self.clock) as _,
            ..options()
        }
    }

    /// [`apply`] on the virtual clock.
    fn apply(&self, jobs: &[DesiredJob]) -> Vec<Outcome> {
        let changes = plan(&self.client, jobs, false);
        execute(
            &self.client,
            &changes,
            &self.options(),
            &CollectSink::default(),
        )
        .into_iter()
        .map(|r| r.outcome)
        .collect()
    }
}

#[test]
fn pending_reasons_are_reported_while_an_update_waits_for_capacity() {
    // Room for two hello instances (1 cpu each), not three.
    let env = start_manual(SimConfig {
        capacity: Some(aurora_sim::Resources::parse("2,4096,4096").expect("capacity")),
        ..SimConfig::default()
    });
    let client = &env.client;
    assert_eq!(
        env.apply(&[desired(fixture("hello_world"))]),
        [Outcome::Succeeded]
    );
    let mut bigger = fixture("hello_world");
    bigger.instance_count = Some(3);
    let changes = plan(client, &[desired(bigger)], false);
    assert_eq!(
        aurora_apply::ranges::display(&changes[0].instances.add),
        "1-2"
    );
    let sink = CollectSink::default();
    let before = env.clock.elapsed();
    let results = execute(
        client,
        &changes,
        &ExecuteOptions {
            // The third instance never fits, so the deadline only bounds how long we look.
            timeout: Duration::from_secs(2),
            ..env.options()
        },
        &sink,
    );
    // Exactly the deadline, in virtual time: polls every 20 ms until it.
    assert_eq!(env.clock.elapsed() - before, Duration::from_secs(2));
    assert_eq!(results[0].outcome, Outcome::TimedOut, "{results:?}");
    let reasons: Vec<String> = sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            aurora_apply::events::Event::PendingReason {
                reason, job_key, ..
            } => Some(format!("{job_key}: {reason}")),
            _ => None,
        })
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("devcluster/www-data/prod/hello: ")
                && r.contains("Insufficient CPU")),
        "{reasons:?}"
    );
}

#[test]
fn coordinated_updates_are_pulsed_while_watched() {
    let env = start_manual(SimConfig {
        cluster_name: "devcluster".into(),
        ..SimConfig::default()
    });
    let client = &env.client;
    assert_eq!(
        env.apply(&[desired(fixture("hello_world"))]),
        [Outcome::Succeeded]
    );
    let mut coordinated = desired(aurora_thrift::testing::with_cpu(
        fixture("hello_world"),
        2.0,
    ));
    coordinated.update_settings.block_if_no_pulses_after_ms = Some(60_000);
    let changes = plan(client, std::slice::from_ref(&coordinated), false);

    // Without pulses the update waits for one until the deadline: awaiting pulse.
    let silent = ExecuteOptions {
        pulse: false,
        timeout: Duration::from_millis(400),
        ..env.options()
    };
    let results = execute(client, &changes, &silent, &CollectSink::default());
    assert_eq!(results[0].outcome, Outcome::AwaitingPulse, "{results:?}");

    // Watching it again with pulses lets it finish.
    let key = coordinated.key();
    let update = aurora_apply::ops::active_update(client, &key)
        .expect("reads")
        .expect("still active");
    client
        .abort_job_update(update.key.as_ref().expect("key"), None)
        .expect("aborted");
    let changes = plan(client, std::slice::from_ref(&coordinated), false);
    let sink = CollectSink::default();
    let results = execute(client, &changes, &env.options(), &sink);
    assert_eq!(results[0].outcome, Outcome::Succeeded, "{results:?}");
    assert!(
        sink.events()
            .iter()
            .any(|e| matches!(e, aurora_apply::events::Event::Pulsed { .. }))
    );
}

#[test]
fn a_create_is_done_only_when_its_instances_run() {
    // Room for two hello instances (1 cpu each), not three.
    let env = start_manual(SimConfig {
        capacity: Some(aurora_sim::Resources::parse("2,4096,4096").expect("capacity")),
        ..SimConfig::default()
    });
    let client = &env.client;
    let mut two = fixture("hello_world");
    two.instance_count = Some(2);
    let sink = CollectSink::default();
    let results = execute(
        client,
        &plan(client, &[desired(two)], false),
        &env.options(),
        &sink,
    );
    assert_eq!(results[0].outcome, Outcome::Succeeded, "{results:?}");
    assert_eq!(results[0].message, "2 instance(s) running");
    let starting: Vec<(usize, usize)> = sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            aurora_apply::events::Event::InstancesStarting { running, total, .. } => {
                Some((running, total))
            }
            _ => None,
        })
        .collect();
    assert_eq!(starting.last(), Some(&(2, 2)), "{starting:?}");
    assert!(
        starting.first().is_some_and(|(r, _)| *r < 2),
        "{starting:?}"
    );

    // A third job that cannot fit never runs: the create times out, with the reason shown.
    let mut other = fixture("hello_world");
    other.key.as_mut().expect("key").name = Some("other".into());
    let task = other.task_config.as_mut().expect("task");
    task.job.as_mut().expect("job").name = Some("other".into());
    let sink = CollectSink::default();
    let results = execute(
        client,
        &plan(client, &[desired(other)], false),
        &ExecuteOptions {
            timeout: Duration::from_secs(2),
            ..env.options()
        },
        &sink,
    );
    assert_eq!(results[0].outcome, Outcome::TimedOut, "{results:?}");
    assert_eq!(
        results[0].message,
        "0 of 1 instance(s) running, 1 not yet (pending reasons above)"
    );
    assert!(
        sink.events().iter().any(|e| matches!(
            e,
            aurora_apply::events::Event::PendingReason { reason, .. } if reason.contains("Insufficient CPU")
        )),
        "{:?}",
        sink.events()
    );
}

#[test]
fn a_rollback_names_the_failed_instances_and_why() {
    let (_sim, client) = start_sim();
    let hello = desired(fixture("hello_world"));
    assert_eq!(
        apply(&client, std::slice::from_ref(&hello), false),
        [Outcome::Succeeded]
    );
    let mut broken = aurora_thrift::testing::with_cpu(fixture("hello_world"), 2.0);
    broken.task_config.as_mut().expect("task").metadata = Some(BTreeSet::from([Metadata {
        key: Some(aurora_sim::FAIL_AFTER_KEY.into()),
        value: Some("500".into()),
    }]));
    let changes = plan(&client, &[desired(broken)], false);
    let results = execute(&client, &changes, &options(), &CollectSink::default());
    assert_eq!(results[0].outcome, Outcome::RolledBack);
    let message = &results[0].message;
    assert!(
        message.contains("ended ROLLED_BACK; failed: instance 0: Task failed"),
        "{message}"
    );
    assert!(!message.trim_end().ends_with(':'), "{message}");
}

#[test]
fn more_instances_of_an_unchanged_adhoc_job_are_added_not_recreated() {
    let (sim, client) = start_sim();
    let mut batch = fixture("hello_world");
    let task = batch.task_config.as_mut().expect("task");
    task.is_service = Some(false);
    // Long enough to still run when the instances are added.
    task.metadata = Some(BTreeSet::from([Metadata {
        key: Some(aurora_sim::FINISH_AFTER_KEY.into()),
        value: Some("3600000".into()),
    }]));
    batch.instance_count = Some(2);
    assert_eq!(
        apply(&client, &[desired(batch.clone())], false),
        [Outcome::Succeeded]
    );
    let task_ids = |sim: &SimHandle| -> BTreeSet<String> {
        sim.state()
            .tasks
            .values()
            .filter_map(|t| {
                t.task
                    .assigned_task
                    .as_ref()
                    .and_then(|a| a.task_id.clone())
            })
            .collect()
    };
    let before = task_ids(&sim);
    batch.instance_count = Some(4);
    let changes = plan(&client, &[desired(batch.clone())], false);
    assert_eq!(changes[0].actions, [Action::AddInstances]);
    assert!(!changes[0].destructive);
    assert_eq!(
        aurora_apply::ranges::display(&changes[0].instances.add),
        "2-3"
    );
    sim.clear_calls();
    let results = execute(&client, &changes, &options(), &CollectSink::default());
    assert_eq!(results[0].outcome, Outcome::Succeeded, "{results:?}");
    assert_eq!(results[0].message, "4 instance(s) running");
    let methods: Vec<String> = sim.calls().into_iter().filter_map(|c| c.method).collect();
    assert!(methods.iter().any(|m| m == "addInstances"), "{methods:?}");
    assert!(!methods.iter().any(|m| m == "killTasks"), "{methods:?}");
    // The running instances kept their tasks; the job now matches the spec.
    assert!(before.is_subset(&task_ids(&sim)));
    assert!(plan(&client, &[desired(batch)], false)[0].is_noop());
}

#[test]
fn an_update_that_does_not_move_sends_heartbeats_until_the_deadline() {
    // Time stands still for the emulator: the update starts and never progresses. Execution
    // waits on a clock of its own, which nothing else follows.
    let (_sim, client) = start_sim_with(SimConfig {
        clock: ClockMode::Manual,
        cluster_name: "devcluster".into(),
        ..SimConfig::default()
    });
    let clock = Arc::new(ManualClock::new());
    let no_wait = ExecuteOptions {
        wait: false,
        ..options()
    };
    let hello = fixture("hello_world");
    let created = execute(
        &client,
        &plan(&client, &[desired(hello.clone())], false),
        &no_wait,
        &CollectSink::default(),
    );
    assert_eq!(created[0].outcome, Outcome::Succeeded, "{created:?}");
    let sink = CollectSink::default();
    let results = execute(
        &client,
        &plan(
            &client,
            &[desired(aurora_thrift::testing::with_cpu(hello, 2.0))],
            false,
        ),
        &ExecuteOptions {
            heartbeat_every: Duration::from_millis(50),
            timeout: Duration::from_millis(600),
            clock: Arc::clone(&clock) as _,
            ..options()
        },
        &sink,
    );
    assert_eq!(results[0].outcome, Outcome::TimedOut, "{results:?}");
    let beats: Vec<String> = sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            aurora_apply::events::Event::Heartbeat { status, .. } => Some(status),
            _ => None,
        })
        .collect();
    assert!(beats.len() >= 3, "{beats:?}");
    assert_eq!(clock.elapsed(), Duration::from_millis(600));
    assert!(beats.iter().all(|s| s == "ROLLING_FORWARD"), "{beats:?}");
}

#[test]
fn a_job_another_run_created_meanwhile_is_a_conflict_and_stop_sends_nothing_more() {
    let (sim, client) = start_sim();
    let named = |name: &str| {
        let mut config = fixture("hello_world");
        config.key.as_mut().expect("key").name = Some(name.into());
        config.task_config.as_mut().expect("task").job = config.key.clone();
        desired(config)
    };
    let (first, second) = (named("first"), named("second"));
    let changes = plan(&client, &[first.clone(), second], false);
    // Another run creates `first` between our plan and our apply.
    client
        .create_job(&first.config())
        .expect("the other run's create");
    sim.clear_calls();
    let results = execute(
        &client,
        &changes,
        &ExecuteOptions {
            parallelism: 1,
            ..options()
        },
        &CollectSink::default(),
    );
    assert_eq!(results[0].outcome, Outcome::Conflict, "{results:?}");
    assert!(results[0].message.contains("already exists"), "{results:?}");
    // --on-failure stop (the default): no write for the job that had not started.
    assert_eq!(results[1].outcome, Outcome::Skipped, "{results:?}");
    let creates = sim
        .calls()
        .into_iter()
        .filter(|c| c.method.as_deref() == Some("createJob"))
        .count();
    assert_eq!(creates, 1, "only the conflicting create was sent");
}

/// A sink that makes the scheduler unreachable (HTTP 503 to every call) as soon as an update
/// has started: its first poll finds nobody answering.
struct UnreachableAfterStart<'a> {
    sim: &'a SimHandle,
}

impl aurora_apply::events::EventSink for UnreachableAfterStart<'_> {
    fn event(&self, event: &aurora_apply::events::Event) {
        if matches!(event, aurora_apply::events::Event::UpdateStarted { .. }) {
            self.sim.patch_faults(aurora_sim::FaultPatch {
                unavailable: Some(u32::MAX),
                ..Default::default()
            });
        }
    }
}

/// The scheduler answered `startJobUpdate`, then nothing: the result says since when nothing
/// is known ("lost contact … at HH:MM:SS", the start's answer), never "from the start" —
/// whether or not a poll got an answer in between.
#[test]
fn contact_lost_right_after_a_start_is_dated_from_the_start_reply() {
    let (sim, client) = start_sim();
    assert_eq!(
        apply(&client, &[desired(fixture("hello_world"))], false),
        [Outcome::Succeeded]
    );
    let changes = plan(
        &client,
        &[desired(aurora_thrift::testing::with_cpu(
            fixture("hello_world"),
            2.0,
        ))],
        false,
    );
    let quick = ExecuteOptions {
        timeout: Duration::from_millis(1500),
        ..options()
    };
    let results = execute(
        &client,
        &changes,
        &quick,
        &UnreachableAfterStart { sim: &sim },
    );
    let message = &results[0].message;
    assert!(
        message.contains("lost contact with the scheduler at "),
        "{message}"
    );
    assert!(!message.contains("from the start"), "{message}");
}

/// A role with more active tasks than a page reads all its further pages at once (as many as
/// `getJobs` counts, the last one short to show the end), not one round trip per page, and
/// sees every instance.
#[test]
fn further_task_pages_are_read_at_once_and_see_every_instance() {
    let (sim, client) = start_sim();
    let mut seven = fixture("hello_world");
    seven.instance_count = Some(7);
    let job = desired(seven);
    assert_eq!(
        apply(&client, std::slice::from_ref(&job), false),
        [Outcome::Succeeded]
    );
    // Each call waits 400 ms: pages read one after the other would arrive 400 ms apart.
    sim.patch_faults(aurora_sim::FaultPatch {
        latency_ms: Some(400),
        ..Default::default()
    });
    sim.clear_calls();
    let options = PlanOptions {
        observe: aurora_apply::observe::ObserveOptions {
            page_size: 2,
            parallelism: 8,
        },
        ..PlanOptions::default()
    };
    let planned =
        plan_cluster(&client, "devcluster", std::slice::from_ref(&job), &options).expect("plans");
    assert!(planned.changes[0].is_noop(), "{:?}", planned.changes[0]);
    // Tiers, the role's three reads, then the pages at offsets 2, 4 and 6 (one task).
    assert_eq!(planned.calls, 7);
    let pages: Vec<i64> = sim
        .calls()
        .iter()
        .filter(|c| c.method.as_deref() == Some("getTasksStatus"))
        .map(|c| c.time_ms)
        .skip(1)
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    // The emulator's clock runs 200× real time: 200 ms of real time is 40,000 of its ms.
    let spread = pages.iter().max().unwrap_or(&0) - pages.iter().min().unwrap_or(&0);
    assert!(spread < 40_000, "pages arrived {spread} emulator-ms apart");
}

/// A job of `instances` instances named `name` in `role`.
fn job_in(role: &str, name: &str, instances: i32) -> DesiredJob {
    let mut config = fixture("hello_world");
    config.instance_count = Some(instances);
    for key in [
        config.key.as_mut(),
        config.task_config.as_mut().and_then(|t| t.job.as_mut()),
    ]
    .into_iter()
    .flatten()
    {
        key.role = Some(role.into());
        key.name = Some(name.into());
    }
    if let Some(owner) = config.owner.as_mut() {
        owner.user = Some(role.into());
    }
    desired(config)
}

#[test]
fn a_role_of_whole_pages_reads_no_empty_page_to_see_its_end() {
    let (_sim, client) = start_sim();
    // Sixteen tasks in pages of two: `getJobs` counts sixteen (no cron template), so the page
    // at offset 14 is known to be the last, whichever page arrives last; the empty page at 16
    // is not read.
    let job = job_in("www-data", "sixteen", 16);
    assert_eq!(
        apply(&client, std::slice::from_ref(&job), false),
        [Outcome::Succeeded]
    );
    let options = PlanOptions {
        observe: aurora_apply::observe::ObserveOptions {
            page_size: 2,
            parallelism: 8,
        },
        ..PlanOptions::default()
    };
    // The seven further pages arrive in any order: plan a few times.
    for _ in 0..5 {
        let planned = plan_cluster(&client, "devcluster", std::slice::from_ref(&job), &options)
            .expect("plans");
        assert!(planned.changes[0].is_noop(), "{:?}", planned.changes[0]);
        // Tiers, the role's three reads, then the pages at offsets 2 to 14.
        assert_eq!(planned.calls, 11);
    }
}

#[test]
fn each_role_is_handed_over_once_with_every_instance_and_the_tiers_first() {
    let (_sim, client) = start_sim();
    let jobs = [
        job_in("alpha", "one", 1),
        job_in("alpha", "five", 5),
        job_in("beta", "three", 3),
        job_in("gamma", "four", 4),
    ];
    assert_eq!(apply(&client, &jobs, false), [Outcome::Succeeded; 4]);
    let roles: Vec<String> = ["alpha", "beta", "gamma", "delta"]
        .map(String::from)
        .to_vec();
    // Big roles read their further pages in their room, small ones in a wave of their own:
    // the same calls, the same roles handed over.
    let big = vec![aurora_apply::observe::BIG_ROLE_JOBS; roles.len()];
    let mut calls_of_small = Vec::new();
    for (page_size, parallelism, desired_jobs) in [
        (2, 8, &[][..]),
        (1, 2, &[][..]),
        (1000, 1, &[][..]),
        (2, 8, &big[..]),
        (1, 2, &big[..]),
        (1000, 1, &big[..]),
    ] {
        let tiers_in = std::sync::atomic::AtomicBool::new(false);
        let handed = std::sync::Mutex::new(Vec::new());
        let calls = aurora_apply::observe::read_roles(
            &client,
            "devcluster",
            &roles,
            desired_jobs,
            &aurora_apply::observe::ObserveOptions {
                page_size,
                parallelism,
            },
            &|tiers| {
                assert!(tiers.is_some());
                tiers_in.store(true, std::sync::atomic::Ordering::SeqCst);
            },
            &|role, live| {
                let jobs: Vec<(String, Vec<i32>)> = live
                    .jobs
                    .values()
                    .map(|j| {
                        (
                            j.key.name.clone().unwrap_or_default(),
                            j.instances.keys().copied().collect(),
                        )
                    })
                    .collect();
                handed.lock().expect("lock").push((role.to_string(), jobs));
            },
        )
        .expect("reads");
        assert!(tiers_in.load(std::sync::atomic::Ordering::SeqCst));
        let mut handed = handed.into_inner().expect("lock");
        handed.sort();
        let named = |name: &str, n: i32| (name.to_string(), (0..n).collect::<Vec<_>>());
        assert_eq!(
            handed,
            [
                ("alpha".into(), vec![named("five", 5), named("one", 1)]),
                ("beta".into(), vec![named("three", 3)]),
                ("delta".into(), vec![]),
                ("gamma".into(), vec![named("four", 4)]),
            ],
            "page size {page_size}, {parallelism} at once, big: {}",
            !desired_jobs.is_empty()
        );
        if desired_jobs.is_empty() {
            calls_of_small.push(calls);
        } else {
            assert_eq!(calls, calls_of_small.remove(0), "page size {page_size}");
        }
    }
}

/// More roles than big roles are read at once (one per core, plus one), each with one job of
/// `instances` instances, on an emulator that then answers each call `latency_ms` later.
fn roles_of_one_job(instances: i32, latency_ms: u64) -> (SimHandle, Client, Vec<String>) {
    let (sim, client) = start_sim();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let roles: Vec<String> = (0..cores + 3).map(|i| format!("role{i}")).collect();
    let jobs: Vec<DesiredJob> = roles.iter().map(|r| job_in(r, "one", instances)).collect();
    assert_eq!(
        apply(&client, &jobs, false),
        vec![Outcome::Succeeded; jobs.len()]
    );
    sim.patch_faults(aurora_sim::FaultPatch {
        latency_ms: Some(latency_ms),
        ..Default::default()
    });
    (sim, client, roles)
}

/// Roles that are big by the specs' count go in a few at a time (one per core, plus one):
/// the last of them asks for its jobs only after an earlier one was handed over, a latency
/// later, while small roles all ask at once. A big role reads its further pages in its room:
/// the first is handed over before every role has asked for its jobs (small roles' further
/// pages wait for a wave after every role's first reads). Every role is handed over either
/// way, with every instance.
#[test]
fn big_roles_are_read_a_few_at_a_time_and_every_one_is_handed_over() {
    let (sim, client, roles) = roles_of_one_job(3, 300);
    let asked_for_jobs = || {
        sim.calls()
            .iter()
            .filter(|c| c.method.as_deref() == Some("getJobs"))
            .map(|c| c.time_ms)
            .collect::<Vec<i64>>()
    };
    for big in [true, false] {
        sim.clear_calls();
        let desired_jobs = if big {
            vec![aurora_apply::observe::BIG_ROLE_JOBS; roles.len()]
        } else {
            Vec::new()
        };
        let handed = std::sync::Mutex::new(Vec::new());
        aurora_apply::observe::read_roles(
            &client,
            "devcluster",
            &roles,
            &desired_jobs,
            &aurora_apply::observe::ObserveOptions {
                page_size: 2,
                ..Default::default()
            },
            &|_| {},
            &|role, live| {
                let instances: Vec<usize> = live.jobs.values().map(|j| j.instances.len()).collect();
                assert_eq!(instances, [3], "{role}");
                let asked = asked_for_jobs().len();
                handed.lock().expect("lock").push((asked, role.to_string()));
            },
        )
        .expect("reads");
        let mut handed = handed.into_inner().expect("lock");
        handed.sort();
        let first_handed_over_after = handed[0].0;
        let mut names: Vec<String> = handed.into_iter().map(|(_, role)| role).collect();
        names.sort();
        let mut expected = roles.clone();
        expected.sort();
        assert_eq!(names, expected, "big: {big}");
        let asked = asked_for_jobs();
        assert_eq!(asked.len(), roles.len(), "{asked:?}");
        // 300 ms of real time is 60,000 of the emulator's ms (it runs 200× faster).
        let spread = asked.iter().max().unwrap_or(&0) - asked.iter().min().unwrap_or(&0);
        if big {
            assert!(
                spread >= 60_000,
                "big roles all asked within {spread} emulator-ms"
            );
            assert!(
                first_handed_over_after < roles.len(),
                "no big role was handed over before every role had asked for its jobs"
            );
        } else {
            assert!(
                spread < 60_000,
                "small roles asked {spread} emulator-ms apart"
            );
            assert_eq!(first_handed_over_after, roles.len());
        }
    }
}

/// Roles are sized by what is known of them: the specs' jobs and, for a whole-cluster scope,
/// `getRoleSummary`'s count, whichever is more — a big role only the scope names (to prune)
/// reads as a big one too.
#[test]
fn roles_are_sized_by_the_specs_and_by_the_clusters_own_count() {
    let (_sim, client) = start_sim();
    let live = [
        job_in("alpha", "one", 1),
        job_in("alpha", "two", 1),
        job_in("alpha", "three", 1),
        job_in("beta", "one", 1),
    ];
    assert_eq!(apply(&client, &live, false), [Outcome::Succeeded; 4]);
    let keys: Vec<_> = [job_in("alpha", "one", 1), job_in("gamma", "new", 1)]
        .iter()
        .map(DesiredJob::key)
        .collect();
    let sized = |scope: Vec<aurora_apply::planning::Scope>| {
        let options = PlanOptions {
            scope,
            ..PlanOptions::default()
        };
        aurora_apply::planning::roles_to_read(&client, "devcluster", &keys, &options)
            .expect("roles")
    };
    let named = |pairs: &[(&str, usize)]| -> Vec<(String, usize)> {
        pairs.iter().map(|(r, n)| (r.to_string(), *n)).collect()
    };
    assert_eq!(sized(Vec::new()), named(&[("alpha", 1), ("gamma", 1)]));
    let whole = aurora_apply::planning::Scope::parse("devcluster").expect("scope");
    assert_eq!(
        sized(vec![whole]),
        named(&[("alpha", 3), ("beta", 1), ("gamma", 1)])
    );
    let one = aurora_apply::planning::Scope::parse("devcluster/beta").expect("scope");
    assert_eq!(
        sized(vec![one]),
        named(&[("alpha", 1), ("beta", 0), ("gamma", 1)])
    );
}

/// `--parallelism` bounds the calls in flight however the reads are spread: a big role's
/// further pages, read by the thread that completed its first reads, take their turn with
/// every other read.
#[test]
fn calls_in_flight_stay_within_the_parallelism_when_big_roles_read_their_pages() {
    let (sim, client, roles) = roles_of_one_job(5, 100);
    for parallelism in [3, 8] {
        sim.clear_calls();
        let calls = aurora_apply::observe::read_roles(
            &client,
            "devcluster",
            &roles,
            &vec![aurora_apply::observe::BIG_ROLE_JOBS; roles.len()],
            &aurora_apply::observe::ObserveOptions {
                page_size: 1,
                parallelism,
            },
            &|_| {},
            &|role, live| {
                let instances: Vec<usize> = live.jobs.values().map(|j| j.instances.len()).collect();
                assert_eq!(instances, [5], "{role}");
            },
        )
        .expect("reads");
        // Tiers, three first reads per role, and pages 2 to 5 of each.
        assert_eq!(calls, 1 + roles.len() * (3 + 4));
        let most = sim.most_calls_in_flight();
        assert!(
            most <= parallelism,
            "{most} calls in flight at once for a parallelism of {parallelism}"
        );
    }
}

/// A big role whose read fails is never handed over; its room is given back, so the roles
/// waiting for room go on and the read ends with the error instead of waiting forever.
#[test]
fn a_big_role_whose_read_fails_gives_its_room_back() {
    let (sim, _) = start_sim();
    let mut config = ClientConfig::new(sim.url());
    config.retry.max_attempts = 1;
    let client = Client::new(config).expect("client");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let roles: Vec<String> = (0..2 * cores + 4).map(|i| format!("role{i}")).collect();
    sim.patch_faults(aurora_sim::FaultPatch {
        drop_connections: Some(100_000),
        ..Default::default()
    });
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let desired_jobs = vec![aurora_apply::observe::BIG_ROLE_JOBS; roles.len()];
        let read = aurora_apply::observe::read_roles(
            &client,
            "devcluster",
            &roles,
            &desired_jobs,
            &aurora_apply::observe::ObserveOptions::default(),
            &|_| {},
            &|_, _| {},
        );
        let _ = done.send(read.is_err());
    });
    let failed = finished
        .recv_timeout(Duration::from_secs(120))
        .expect("the read ends instead of waiting for room forever");
    assert!(failed);
}

#[test]
fn a_placement_that_panics_fails_the_plan_instead_of_leaving_roles_waiting() {
    let (_sim, client) = start_sim();
    let jobs = [job_in("alpha", "one", 1), job_in("beta", "two", 2)];
    assert_eq!(apply(&client, &jobs, false), [Outcome::Succeeded; 2]);
    let keys: Vec<_> = jobs.iter().map(DesiredJob::key).collect();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            aurora_apply::planning::plan_cluster_placing(
                &client,
                "devcluster",
                &keys,
                |_| -> Vec<DesiredJob> { panic!("placing failed") },
                &PlanOptions::default(),
            )
            .map(|_| ())
        }));
        let _ = done.send(outcome.is_err());
    });
    let panicked = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the plan ends instead of waiting forever");
    assert!(panicked);
}

/// A rerun plans while an earlier run's update has not yet replaced the instance (so it
/// plans an update), and by the time it sends `startJobUpdate` the instance runs the new
/// config while the earlier update still watches it: the scheduler answers "unchanged"
/// (its no-op check comes before its in-progress check), and the rerun follows the earlier
/// update to its end rather than calling the job done while it is still being rolled out.
#[test]
fn an_earlier_update_that_replaces_the_instance_meanwhile_is_followed() {
    let sim = Arc::new(
        Sim::start(SimConfig {
            clock: ClockMode::Manual,
            ..SimConfig::default()
        })
        .expect("emulator starts"),
    );
    let client = Client::new(ClientConfig::new(sim.url())).expect("client");
    let hook = Arc::clone(&sim);
    let clock = Arc::new(ManualClock::with_hook(move |d| hook.advance(d * SIM_SPEED)));
    let options = ExecuteOptions {
        clock: Arc::clone(&clock) as _,
        ..options()
    };
    let hello = desired(fixture("hello_world"));
    let changes = plan(&client, std::slice::from_ref(&hello), false);
    let created = execute(&client, &changes, &options, &CollectSink::default());
    assert_eq!(created[0].outcome, Outcome::Succeeded, "{created:?}");
    // The change, watched for a minute of the emulator's time once the instance runs.
    let mut settings = settings();
    settings.min_wait_in_instance_running_ms = Some(60_000);
    let changed = DesiredJob::new(
        "devcluster",
        &aurora_thrift::testing::with_cpu(fixture("hello_world"), 2.0),
        settings,
    );
    // The earlier run starts its update and is gone (Ctrl-C, kill -9).
    let earlier = plan(&client, std::slice::from_ref(&changed), false);
    let started = execute(
        &client,
        &earlier,
        &ExecuteOptions {
            wait: false,
            ..options.clone()
        },
        &CollectSink::default(),
    );
    assert_eq!(started[0].outcome, Outcome::Started, "{started:?}");
    // The rerun plans: the instance still runs the old config, so this is an update.
    let rerun = plan(&client, std::slice::from_ref(&changed), false);
    assert_eq!(rerun[0].actions, [Action::Update], "{:?}", rerun[0]);
    assert!(rerun[0].active_update.as_ref().is_some_and(|u| u.ours));
    // Meanwhile the earlier update replaces the instance; its minute of watching goes on.
    sim.advance(Duration::from_secs(20));
    let sink = CollectSink::default();
    let results = execute(&client, &rerun, &options, &sink);
    assert_eq!(results[0].outcome, Outcome::Succeeded, "{results:?}");
    let followed = sink.events().into_iter().any(|e| {
        matches!(&e, aurora_apply::events::Event::UpdateFollowed { update_id, .. }
            if Some(update_id) == rerun[0].active_update.as_ref().map(|u| &u.id))
    });
    assert!(followed, "{:?}", sink.events());
}
