//! Planning at scale against the emulator over HTTP.
//!
//! * `plan_1000_jobs_10_roles_50_changed`: 1,000 live jobs in 10 roles, 50 of them changed in
//!   the specs, every call delayed 20 ms by the emulator. Target: at most 3 calls per role,
//!   plus 1, plus 1 per changed job; wall time within 2× of ⌈calls / parallelism⌉ × 20 ms
//!   plus local compute.
//! * Before the timings, one run over 10,000 jobs prints the peak resident memory of the
//!   planning process (Linux VmHWM). Target: under 100 MiB. The emulator runs in a child
//!   process (this binary re-executed with `AURORA_BENCH_SIM`), so only the planner is
//!   measured. `BENCH_PAR` and `BENCH_PAGE` override the observe parallelism and page size of
//!   that run (glibc's per-thread arenas make the figure depend on the parallelism).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aurora_api::types::{JobConfiguration, JobUpdateSettings, Resource};
use aurora_api::{Client, ClientConfig};
use aurora_apply::desired::DesiredJob;
use aurora_apply::planning::{PlanOptions, plan_cluster};
use aurora_sim::{ClockMode, FaultSettings, Sim, SimConfig, SimHandle};
use criterion::Criterion;

fn fixture() -> JobConfiguration {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/wire/hello_world.job_configuration.bin"
    );
    aurora_api::wire::decode_struct(&std::fs::read(path).expect("fixture")).expect("decodes")
}

fn job(role: usize, n: usize) -> JobConfiguration {
    let mut config = fixture();
    let key = config.key.as_mut().expect("key");
    key.role = Some(format!("role{role}"));
    key.name = Some(format!("job{n}"));
    let key = config.key.clone();
    let task = config.task_config.as_mut().expect("task");
    task.job = key;
    config
}

fn changed(mut config: JobConfiguration) -> JobConfiguration {
    let task = config.task_config.as_mut().expect("task");
    let mut resources = task.resources.clone().unwrap_or_default();
    resources.retain(|r| !matches!(r, Resource::NumCpus(_)));
    resources.insert(Resource::NumCpus(2.0.into()));
    task.resources = Some(resources);
    config
}

fn desired(jobs: usize, roles: usize, changed_count: usize) -> Vec<DesiredJob> {
    (0..jobs)
        .map(|n| {
            let config = job(n % roles, n);
            let config = if n < changed_count {
                changed(config)
            } else {
                config
            };
            DesiredJob::new("devcluster", &config, JobUpdateSettings::default())
        })
        .collect()
}

/// An emulator holding `jobs` jobs spread over `roles` roles.
fn emulator(jobs: usize, roles: usize) -> SimHandle {
    let sim = Sim::start(SimConfig {
        clock: ClockMode::Manual,
        ..SimConfig::default()
    })
    .expect("emulator");
    let client = Client::new(ClientConfig::new(sim.url())).expect("client");
    for n in 0..jobs {
        client.create_job(&job(n % roles, n)).expect("created");
    }
    sim
}

/// Child mode: serve an emulator with `jobs,roles` until stdin closes.
fn child(spec: &str) {
    let mut parts = spec.split(',').map(|p| p.parse::<usize>().unwrap_or(1));
    let (jobs, roles) = (parts.next().unwrap_or(1), parts.next().unwrap_or(1));
    let sim = emulator(jobs, roles);
    println!("{}", sim.url());
    let mut sink = String::new();
    let _ = std::io::stdin().read_line(&mut sink);
    sim.shutdown();
}

/// Starts an emulator in a child process; returns it and its URL.
fn emulator_process(jobs: usize, roles: usize) -> (std::process::Child, String) {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env("AURORA_BENCH_SIM", format!("{jobs},{roles}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("child starts");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut url)
        .expect("child prints its URL");
    (child, url.trim().to_string())
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn memory_10k() {
    let (mut child, url) = emulator_process(10_000, 10);
    let client = Client::new(ClientConfig::new(url)).expect("client");
    let desired = desired(10_000, 10, 0);
    let before = peak_rss_kib().unwrap_or(0);
    let started = Instant::now();
    let mut options = PlanOptions::default();
    if let Some(n) = std::env::var("BENCH_PAGE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options.observe.page_size = n;
    }
    if let Some(n) = std::env::var("BENCH_PAR").ok().and_then(|v| v.parse().ok()) {
        options.observe.parallelism = n;
    }
    let plan = plan_cluster(&client, "devcluster", &desired, &options).expect("plans");
    let after = peak_rss_kib().unwrap_or(0);
    println!(
        "10,000 jobs: planned in {:?} with {} calls, {} no-ops; planner peak RSS {} MiB ({} MiB before planning)",
        started.elapsed(),
        plan.calls,
        plan.changes.iter().filter(|c| c.is_noop()).count(),
        after / 1024,
        before / 1024
    );
    drop(child.stdin.take());
    let _ = child.wait();
}

/// The timed benchmark.
fn bench(c: &mut Criterion) {
    let sim = emulator(1_000, 10);
    let client = Client::new(ClientConfig::new(sim.url())).expect("client");
    let desired = desired(1_000, 10, 50);
    let options = PlanOptions::default();
    let started = Instant::now();
    plan_cluster(&client, "devcluster", &desired, &options).expect("plans");
    println!(
        "1,000 jobs without latency: {:?} (local compute and emulator)",
        started.elapsed()
    );
    sim.set_faults(FaultSettings {
        latency: Duration::from_millis(20),
        ..FaultSettings::default()
    });
    let plan = plan_cluster(&client, "devcluster", &desired, &options).expect("plans");
    let changes = plan.changes.iter().filter(|c| !c.is_noop()).count();
    let bound = 3 * 10 + 1 + changes;
    let parallelism = options.observe.parallelism;
    println!(
        "1,000 jobs / 10 roles / {changes} changed: {} calls (bound {bound}); ideal ⌈calls/{parallelism}⌉ × 20 ms = {} ms",
        plan.calls,
        plan.calls.div_ceil(parallelism) * 20
    );
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.bench_function("plan_1000_jobs_10_roles_50_changed", |b| {
        b.iter(|| plan_cluster(&client, "devcluster", &desired, &options).expect("plans"))
    });
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}

fn main() {
    if let Ok(spec) = std::env::var("AURORA_BENCH_SIM") {
        child(&spec);
        return;
    }
    memory_10k();
    group::benches();
    Criterion::default().configure_from_args().final_summary();
}
