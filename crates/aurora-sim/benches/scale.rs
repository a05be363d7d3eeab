//! The emulator at scale: is each read, write and clock tick proportional to what it touches
//! rather than to everything the emulator holds?
//!
//! One emulator in this process (manual clock) holds issue 14's cluster: 10,000 service jobs
//! of 3 instances (30,000 RUNNING tasks) in 10 roles `role0`…`role9`, 200 finished job
//! updates of `role0`, and a role `tiny` with a single job. Each call goes over loopback HTTP
//! through the production client, so the figures include a round trip (~0.1 ms).
//!
//! Pairs to compare: a read of `tiny` (1 job) against a read of `role0` (1,000 jobs) — the
//! first should cost about a round trip whatever the store holds, the second should grow with
//! the role, not the cluster; a clock tick with nothing due; a createJob + killTasks in the
//! big store. `SCALE_JOBS` overrides the number of jobs (default 10,000). Run with
//! `cargo bench -p aurora-sim --bench scale`.

use std::time::{Duration, Instant};

use aurora_api::types::{
    ConstACTIVEJOBUPDATESTATES, ConstACTIVESTATES, JobConfiguration, JobKey, JobUpdateQuery,
    JobUpdateRequest, JobUpdateSettings, TaskQuery,
};
use aurora_api::{Client, ClientConfig};
use aurora_sim::{ClockMode, Sim, SimConfig, SimHandle};
use criterion::Criterion;

fn fixture() -> JobConfiguration {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/wire/hello_world.job_configuration.bin"
    );
    aurora_api::wire::decode_struct(&std::fs::read(path).expect("fixture")).expect("decodes")
}

fn job(role: &str, name: &str, instances: i32) -> JobConfiguration {
    let mut config = fixture();
    let key = config.key.as_mut().expect("key");
    key.role = Some(role.to_string());
    key.name = Some(name.to_string());
    let key = config.key.clone();
    config.instance_count = Some(instances);
    let task = config.task_config.as_mut().expect("task");
    task.job = key;
    config
}

/// The cluster described above.
fn emulator(jobs: usize) -> (SimHandle, Client) {
    let sim = Sim::start(SimConfig {
        clock: ClockMode::Manual,
        ..SimConfig::default()
    })
    .expect("emulator");
    let client = Client::new(ClientConfig::new(sim.url())).expect("client");
    let started = Instant::now();
    for n in 0..jobs {
        client
            .create_job(&job(&format!("role{}", n % 10), &format!("job{n}"), 3))
            .expect("created");
    }
    client.create_job(&job("tiny", "only", 3)).expect("created");
    println!(
        "created {jobs} jobs of 3 instances in {:?}",
        started.elapsed()
    );
    sim.advance(Duration::from_secs(120));
    for n in (0..jobs.min(2_000)).step_by(10) {
        let config = aurora_thrift::testing::with_cpu(job("role0", &format!("job{n}"), 3), 2.0);
        let request = JobUpdateRequest {
            task_config: config.task_config,
            instance_count: Some(3),
            settings: Some(JobUpdateSettings {
                update_group_size: Some(3),
                ..JobUpdateSettings::default()
            }),
            metadata: None,
        };
        client
            .start_job_update(&request, None)
            .expect("update starts");
    }
    sim.advance(Duration::from_secs(600));
    (sim, client)
}

fn bench(c: &mut Criterion) {
    let jobs = std::env::var("SCALE_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let (sim, client) = emulator(jobs);
    let active = |role: &str| TaskQuery {
        role: Some(role.to_string()),
        statuses: Some(ConstACTIVESTATES::const_value()),
        offset: Some(0),
        limit: Some(1000),
        ..TaskQuery::default()
    };
    let one_job = TaskQuery {
        job_keys: Some(
            [JobKey {
                role: Some("role3".into()),
                environment: Some("prod".into()),
                name: Some("job3".into()),
            }]
            .into(),
        ),
        ..TaskQuery::default()
    };
    let active_updates = |role: &str| JobUpdateQuery {
        role: Some(role.to_string()),
        update_statuses: Some(ConstACTIVEJOBUPDATESTATES::const_value()),
        ..JobUpdateQuery::default()
    };
    let mut group = c.benchmark_group(format!("sim_{jobs}_jobs"));
    group.sample_size(10);
    group.bench_function("getJobSummary_tiny", |b| {
        b.iter(|| client.get_job_summary(Some("tiny")).expect("reply"))
    });
    group.bench_function("getJobSummary_role0", |b| {
        b.iter(|| client.get_job_summary(Some("role0")).expect("reply"))
    });
    group.bench_function("getJobs_tiny", |b| {
        b.iter(|| client.get_jobs(Some("tiny")).expect("reply"))
    });
    group.bench_function("getJobs_role0", |b| {
        b.iter(|| client.get_jobs(Some("role0")).expect("reply"))
    });
    group.bench_function("getTasksStatus_tiny_active", |b| {
        b.iter(|| client.get_tasks_status(&active("tiny")).expect("reply"))
    });
    group.bench_function("getTasksStatus_role0_active_page", |b| {
        b.iter(|| client.get_tasks_status(&active("role0")).expect("reply"))
    });
    group.bench_function("getTasksStatus_one_job_key", |b| {
        b.iter(|| client.get_tasks_status(&one_job).expect("reply"))
    });
    group.bench_function("getJobUpdateSummaries_tiny_active", |b| {
        b.iter(|| {
            client
                .get_job_update_summaries(&active_updates("tiny"))
                .expect("reply")
        })
    });
    group.bench_function("getRoleSummary", |b| {
        b.iter(|| client.get_role_summary().expect("reply"))
    });
    group.bench_function("clock_tick_nothing_due", |b| b.iter(|| sim.now_ms()));
    let extra = job("tiny", "extra", 3);
    let extra_key = extra.key.clone().expect("key");
    group.bench_function("createJob_then_killTasks", |b| {
        b.iter(|| {
            client.create_job(&extra).expect("created");
            client.kill_tasks(&extra_key, None, None).expect("killed");
        })
    });
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}

fn main() {
    group::benches();
    Criterion::default().configure_from_args().final_summary();
}
