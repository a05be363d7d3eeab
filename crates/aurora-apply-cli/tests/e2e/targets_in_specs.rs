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
