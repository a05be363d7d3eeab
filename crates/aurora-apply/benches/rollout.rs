//! Rolling updates at scale: does an apply of many updates take about as long as the
//! scheduler takes to roll one? (A job holds a slot only while its `startJobUpdate` is sent;
//! the rollouts then run together and one batched poll per role watches them.)
//!
//! At the CLI's defaults (`--jobs 4`, `--poll-interval 5s`), against the emulator in this
//! process at 20× time (so Aurora's default 45 s watch is ~2.3 s): first one job's update
//! alone (the emulator's own rollout time, as apply sees it at these defaults), then
//! `ROLLOUT_JOBS` (default 2,000) jobs in 10 roles updated in one execution. Target: the many
//! within 2× of the one. One measured run each (a rollout is seconds long); run with
//! `cargo bench -p aurora-apply --bench rollout`.

use std::time::{Duration, Instant};

use aurora_api::types::{JobConfiguration, JobUpdateSettings, Resource};
use aurora_api::{Client, ClientConfig};
use aurora_apply::desired::DesiredJob;
use aurora_apply::events::{NullSink, Outcome};
use aurora_apply::execute::{ExecuteOptions, execute};
use aurora_apply::planning::{PlanOptions, plan_cluster};
use aurora_sim::{ClockMode, Sim, SimConfig};

fn fixture() -> JobConfiguration {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/wire/hello_world.job_configuration.bin"
    );
    aurora_api::wire::decode_struct(&std::fs::read(path).expect("fixture")).expect("decodes")
}

fn job(n: usize, cpu: f64) -> DesiredJob {
    let mut config = fixture();
    let key = config.key.as_mut().expect("key");
    key.role = Some(format!("role{}", n % 10));
    key.name = Some(format!("job{n}"));
    let key = config.key.clone();
    let task = config.task_config.as_mut().expect("task");
    task.job = key;
    let mut resources = task.resources.clone().unwrap_or_default();
    resources.retain(|r| !matches!(r, Resource::NumCpus(_)));
    resources.insert(Resource::NumCpus(cpu.into()));
    task.resources = Some(resources);
    DesiredJob::new(
        "devcluster",
        &config,
        // Aurora's client defaults: one instance at a time, watched 45 s.
        JobUpdateSettings {
            update_group_size: Some(1),
            max_per_instance_failures: Some(0),
            max_failed_instances: Some(0),
            min_wait_in_instance_running_ms: Some(45_000),
            rollback_on_failure: Some(true),
            wait_for_batch_completion: Some(false),
            ..JobUpdateSettings::default()
        },
    )
}

/// When the last update was started (the sending phase's end).
#[derive(Debug, Default)]
struct SendTimes {
    last_start: std::sync::Mutex<Option<Instant>>,
}

impl aurora_apply::events::EventSink for SendTimes {
    fn event(&self, event: &aurora_apply::events::Event) {
        if matches!(event, aurora_apply::events::Event::UpdateStarted { .. })
            && let Ok(mut last) = self.last_start.lock()
        {
            *last = Some(Instant::now());
        }
    }
}

/// Creates `n` jobs, then times the execution that updates them all.
fn rollout(n: usize) -> Duration {
    let sim = Sim::start(SimConfig {
        clock: ClockMode::Scaled(20.0),
        cluster_name: "devcluster".into(),
        capacity: None,
        ..SimConfig::default()
    })
    .expect("emulator");
    let client = Client::new(ClientConfig::new(sim.url())).expect("client");
    let defaults = ExecuteOptions::default();
    let create: Vec<DesiredJob> = (0..n).map(|i| job(i, 1.0)).collect();
    let plan =
        plan_cluster(&client, "devcluster", &create, &PlanOptions::default()).expect("plans");
    let created = execute(
        &client,
        &plan.changes,
        &ExecuteOptions {
            wait: false,
            ..ExecuteOptions::default()
        },
        &NullSink,
    );
    assert!(created.iter().all(|r| r.outcome.is_success()));
    let update: Vec<DesiredJob> = (0..n).map(|i| job(i, 2.0)).collect();
    let plan =
        plan_cluster(&client, "devcluster", &update, &PlanOptions::default()).expect("plans");
    let started = Instant::now();
    let sink = SendTimes::default();
    let results = execute(&client, &plan.changes, &defaults, &sink);
    let took = started.elapsed();
    if let Ok(last) = sink.last_start.lock()
        && let Some(at) = *last
    {
        println!(
            "  {n} job(s): every update started after {:.1} s",
            at.duration_since(started).as_secs_f64()
        );
    }
    let done = results
        .iter()
        .filter(|r| r.outcome == Outcome::Succeeded)
        .count();
    assert_eq!(done, n, "every update rolls forward");
    sim.shutdown();
    took
}

fn main() {
    // `cargo test --benches` runs this binary with --bench absent: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let many: usize = std::env::var("ROLLOUT_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let one = rollout(1);
    let all = rollout(many);
    println!(
        "rollout: 1 job {:.1} s; {many} jobs in 10 roles {:.1} s; ratio {:.2} (target ≤ 2)",
        one.as_secs_f64(),
        all.as_secs_f64(),
        all.as_secs_f64() / one.as_secs_f64()
    );
}
