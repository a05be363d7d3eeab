//! `targets:` in a spec (issue 13, part 2): one job written once, expanded into a job per
//! target, each planned, created and then in sync under its own key.

use serde_json::Value;

use crate::harness::{World, expect_code, stdout};

const SPEC: &str = "\
apiVersion: aurora-apply/v1
x-resources: &small { cpu: 0.25, ram: 64MiB, disk: 64MiB }
jobs:
  - key: devcluster/www-data/prod/multi
    kind: service
    instances: 2
    resources: *small
    task: { processes: [ { name: a, cmdline: sleep 600 } ] }
    targets:
      - {}
      - environment: devel
        instances: 1
        resources: { ram: 32MiB }
";

#[test]
fn one_job_with_two_targets_plans_two_creates_and_applies_them() {
    let w = World::seed();
    w.write("specs/multi.aurora-apply.yaml", SPEC);
    let spec = w.specs().join("multi.aurora-apply.yaml");
    let spec = spec.to_str().expect("utf-8");

    let out = w.run(&["plan", spec]);
    expect_code(&out, 0);
    let text = stdout(&out);
    for key in [
        "devcluster/www-data/prod/multi",
        "devcluster/www-data/devel/multi",
    ] {
        assert!(text.contains(key), "{key} not in the plan:\n{text}");
    }

    let out = w.run(&["plan", spec, "-o", "json"]);
    expect_code(&out, 0);
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("a plan document");
    let mut creates: Vec<String> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["actions"] == serde_json::json!(["create"]))
        .map(|c| c["job_key"].as_str().expect("key").to_string())
        .collect();
    creates.sort();
    assert_eq!(
        creates,
        [
            "devcluster/www-data/devel/multi",
            "devcluster/www-data/prod/multi"
        ],
        "{plan}"
    );

    expect_code(&w.run(&["apply", spec, "--auto-approve"]), 0);
    expect_code(&w.run(&["plan", spec, "--detailed-exitcode"]), 0);
}

/// The jobs (`role/env/name` → instances) with active tasks in an emulator.
fn active_jobs(sim: &aurora_sim::SimHandle) -> std::collections::BTreeMap<String, usize> {
    let mut jobs = std::collections::BTreeMap::new();
    for t in sim.state().tasks.values() {
        let active = t.task.status.is_some_and(|s| {
            !matches!(
                s,
                aurora_api::types::ScheduleStatus::FINISHED
                    | aurora_api::types::ScheduleStatus::FAILED
                    | aurora_api::types::ScheduleStatus::KILLED
                    | aurora_api::types::ScheduleStatus::LOST
            )
        });
        let key = t
            .task
            .assigned_task
            .as_ref()
            .and_then(|a| a.task.as_ref())
            .and_then(|c| c.job.as_ref());
        if let (true, Some(k)) = (active, key) {
            let name = format!(
                "{}/{}/{}",
                k.role.clone().unwrap_or_default(),
                k.environment.clone().unwrap_or_default(),
                k.name.clone().unwrap_or_default()
            );
            *jobs.entry(name).or_insert(0) += 1;
        }
    }
    jobs
}

#[test]
fn one_job_expanded_to_three_targets_in_two_clusters_lands_in_each() {
    let (east, west) = (crate::harness::start_sim(), crate::harness::start_sim());
    let dir = tempfile::tempdir().expect("tempdir");
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(&specs).expect("mkdir");
    std::fs::write(
        specs.join("clusters.json"),
        serde_json::json!([
            {"name": "east", "scheduler_uri": east.url()},
            {"name": "west", "scheduler_uri": west.url()},
        ])
        .to_string(),
    )
    .expect("clusters.json");
    std::fs::write(
        specs.join("web.aurora-apply.yaml"),
        "\
apiVersion: aurora-apply/v1
jobs:
  - key: east/www-data/prod/web
    kind: service
    instances: 2
    resources: { cpu: 0.25, ram: 64MiB, disk: 64MiB }
    task: { processes: [ { name: web, cmdline: sleep 600 } ] }
    targets:
      - {}                               # east/www-data/prod/web, 2 instances
      - { environment: devel, instances: 1 }   # east/www-data/devel/web
      - { cluster: west, instances: 3 }  # west/www-data/prod/web
",
    )
    .expect("spec");
    let run = |args: &[&str]| crate::harness::run_in(dir.path(), &[], args);
    let specs = specs.to_str().expect("utf-8");
    let out = run(&["plan", specs]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).starts_with("Plan: 3 to create, 0 unchanged; instances: 6 added."),
        "{}",
        stdout(&out)
    );
    expect_code(&run(&["apply", specs, "--auto-approve"]), 0);
    let want = |pairs: &[(&str, usize)]| {
        pairs
            .iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(
        active_jobs(&east),
        want(&[("www-data/devel/web", 1), ("www-data/prod/web", 2)])
    );
    assert_eq!(active_jobs(&west), want(&[("www-data/prod/web", 3)]));
    expect_code(&run(&["plan", specs, "--detailed-exitcode"]), 0);
}
