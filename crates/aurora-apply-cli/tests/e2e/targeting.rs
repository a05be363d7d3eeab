//! `--target PATTERN`: a run limited to some jobs plans, changes, prunes and reports only
//! those, and says it is partial.

use serde_json::Value;

use crate::harness::{World, expect_code, stderr, stdout};

const HELLO: &str = "devcluster/www-data/prod/hello";

fn plan_json(w: &World, args: &[&str]) -> Value {
    let mut line = vec!["plan", "-o", "json"];
    line.extend_from_slice(args);
    let out = w.run(&line);
    expect_code(&out, 0);
    serde_json::from_str(&stdout(&out)).expect("a plan document")
}

fn changed_keys(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["actions"] != serde_json::json!(["noop"]))
        .map(|c| c["job_key"].as_str().expect("key").to_string())
        .collect()
}

#[test]
fn a_targeted_plan_covers_only_matching_jobs_and_says_it_is_partial() {
    let w = World::seed_with(|config| config.log_call_args = true);
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");

    let out = w.run(&["plan", specs, "--target", HELLO]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "Partial plan: only jobs matching --target {HELLO}"
        )),
        "{text}"
    );
    assert!(
        text.contains(HELLO) && !text.contains("hello_payload"),
        "{text}"
    );
    // The vagrant role is not read at all: no job of it is targeted.
    w.sim.clear_calls();
    let plan = plan_json(&w, &[specs, "--target", HELLO]);
    assert!(
        !w.sim.calls().iter().any(|c| c
            .args
            .as_ref()
            .is_some_and(|a| a.to_string().contains("vagrant"))),
        "the vagrant role was read"
    );
    assert_eq!(plan["scope"]["targets"], serde_json::json!([HELLO]));
    assert_eq!(plan["format_version"], "1.3");
    assert_eq!(changed_keys(&plan), [HELLO]);

    // Globs and several targets: their union.
    let plan = plan_json(
        &w,
        &[
            specs,
            "--target",
            "*/*/prod/hello*",
            "--target",
            "devcluster/vagrant",
        ],
    );
    let mut keys = changed_keys(&plan);
    keys.sort();
    assert_eq!(
        keys,
        [
            "devcluster/vagrant/prod/docker-compose",
            HELLO,
            "devcluster/www-data/prod/hello_payload"
        ]
    );

    // Without targets the plan is whole and says nothing about it.
    let plan = plan_json(&w, &[specs]);
    assert!(plan["scope"].get("targets").is_none(), "{}", plan["scope"]);
    assert_eq!(changed_keys(&plan).len(), 5);
}

#[test]
fn a_targeted_apply_changes_and_prunes_only_inside_its_targets() {
    let w = World::seed();
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");
    expect_code(
        &w.run(&["apply", specs, "--auto-approve", "--target", HELLO]),
        0,
    );
    let plan = plan_json(&w, &[specs]);
    let keys = changed_keys(&plan);
    assert_eq!(keys.len(), 4, "only hello was created: {keys:?}");
    assert!(!keys.contains(&HELLO.to_string()));

    // Everything applied, then two jobs leave the specs: a targeted prune removes only the
    // one inside its target.
    expect_code(&w.run(&["apply", specs, "--auto-approve"]), 0);
    std::fs::remove_file(w.specs().join("hello.aurora-apply.yaml")).expect("rm");
    std::fs::remove_file(w.specs().join("cron.aurora-apply.yaml")).expect("rm");
    w.sim.clear_calls();
    let out = w.run(&[
        "apply",
        specs,
        "--auto-approve",
        "--prune",
        "--target",
        HELLO,
        // The only job in the partial plan is pruned: the mass-prune rail counts the jobs
        // of the plan, so it asks for consent here too (and a kill needs --allow-destroy).
        "--allow-mass-prune",
        "--allow-destroy",
    ]);
    expect_code(&out, 0);
    let plan = plan_json(&w, &[specs, "--prune"]);
    assert_eq!(
        changed_keys(&plan),
        ["devcluster/www-data/prod/nightly-report"],
        "hello was pruned, the cron job outside the target was not"
    );
}

#[test]
fn status_and_destroy_take_targets_too() {
    let w = World::seed();
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");
    expect_code(&w.run(&["apply", specs, "--auto-approve"]), 0);

    let out = w.run(&[
        "status",
        specs,
        "--target",
        "devcluster/www-data/prod/hello",
    ]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains(HELLO), "{text}");
    assert!(
        !text.contains("web") && !text.contains("docker-compose"),
        "{text}"
    );

    let out = w.run(&["destroy", specs, "--auto-approve", "--target", HELLO]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).starts_with("Partial plan: only jobs matching --target"),
        "{}",
        stdout(&out)
    );
    let plan = plan_json(&w, &[specs]);
    assert_eq!(changed_keys(&plan), [HELLO], "only hello was destroyed");
}

#[test]
fn a_malformed_target_is_a_usage_error() {
    let w = World::seed();
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");
    for command in ["plan", "apply", "status", "destroy"] {
        let out = w.run(&[command, specs, "--target", "a//b"]);
        expect_code(&out, 3);
        assert!(
            stderr(&out).contains("a//b: not a target"),
            "{}",
            stderr(&out)
        );
    }
}
