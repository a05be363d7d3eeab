//! The seed scenario: the Thermos hello world, the docker-compose-executor job and the
//! payload-file job (plus the web service and the cron job of specs/).

use crate::harness::{World, expect_code, stderr, stdout};

#[test]
fn apply_noop_update_prune_destroy() {
    let w = World::seed();
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8 path");

    // apply creates every job.
    let out = w.run(&["apply", specs, "--auto-approve"]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with("Plan: 5 to create, 0 unchanged; instances: 7 added."),
        "{text}"
    );
    for job in ["hello", "hello_payload", "web", "nightly-report"] {
        assert!(
            text.contains(&format!("devcluster/www-data/prod/{job}")),
            "{text}"
        );
    }
    assert!(
        text.contains("devcluster/vagrant/prod/docker-compose"),
        "{text}"
    );

    // A second plan: no changes, exit 0 even with --detailed-exitcode.
    let out = w.run(&["plan", specs, "--detailed-exitcode"]);
    expect_code(&out, 0);
    assert_eq!(
        stdout(&out),
        "No changes. 5 jobs match the live scheduler.\n"
    );

    // cpu 1 -> 2 on hello: a rolling update that rolls forward.
    let hello = w.path("specs/hello.aurora-apply.yaml");
    let yaml = std::fs::read_to_string(&hello).expect("read");
    w.write(
        "specs/hello.aurora-apply.yaml",
        &yaml.replace("cpu: 1,", "cpu: 2,"),
    );
    let out = w.run(&["plan", specs, "--detailed-exitcode"]);
    expect_code(&out, 2);
    let text = stdout(&out);
    assert!(
        text.contains("~   devcluster/www-data/prod/hello"),
        "{text}"
    );
    assert!(text.contains("rolling update · restart [0]"), "{text}");
    assert!(text.contains("resources.cpu"), "{text}");
    let out = w.run(&["apply", specs, "--auto-approve"]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains("rolled forward"), "{}", stderr(&out));
    expect_code(&w.run(&["plan", specs, "--detailed-exitcode"]), 0);

    // Remove the payload job from the specs: only --prune kills it.
    std::fs::remove_file(w.path("specs/thermos-payload.aurora-apply.yaml")).expect("rm");
    let out = w.run(&["plan", specs, "--detailed-exitcode"]);
    expect_code(&out, 0);
    let out = w.run(&["apply", specs, "--prune", "--auto-approve"]);
    expect_code(&out, 8); // destructive without --allow-destroy
    let out = w.run(&[
        "apply",
        specs,
        "--prune",
        "--auto-approve",
        "--allow-destroy",
    ]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("-   devcluster/www-data/prod/hello_payload"),
        "{}",
        stdout(&out)
    );
    let out = w.run(&["plan", specs, "--prune", "--detailed-exitcode"]);
    expect_code(&out, 0);

    // destroy: every job the specs describe is gone.
    let out = w.run(&["destroy", specs, "--auto-approve"]);
    expect_code(&out, 0);
    let out = w.run(&["plan", specs, "-o", "json"]);
    expect_code(&out, 0);
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("plan JSON");
    let actions: Vec<(String, String)> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let key = c["job_key"].as_str().unwrap_or("");
            let name = key.rsplit('/').next().unwrap_or("").to_string();
            (name, c["actions"][0].as_str().unwrap_or("").to_string())
        })
        .collect();
    // Services and the cron job are gone; the ad-hoc job had already run to completion with
    // this config, so it is not run again.
    let expected: Vec<(String, String)> = [
        ("docker-compose", "noop"),
        ("hello", "create"),
        ("nightly-report", "cron_schedule"),
        ("web", "create"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(actions, expected);
}

#[test]
fn failing_rollout_rolls_back_with_exit_5() {
    let w = World::seed();
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8 path");
    expect_code(&w.run(&["apply", specs, "--auto-approve"]), 0);
    let hello = w.path("specs/hello.aurora-apply.yaml");
    let yaml = std::fs::read_to_string(&hello).expect("read");
    let broken = yaml.replace(
        "    instances: 1\n",
        &format!(
            "    instances: 1\n    metadata: {{ \"{}\": \"100\" }}\n",
            aurora_sim::FAIL_AFTER_KEY
        ),
    );
    w.write("specs/hello.aurora-apply.yaml", &broken);
    let out = w.run(&["apply", specs, "--auto-approve"]);
    expect_code(&out, 5);
    assert!(stderr(&out).contains("ROLLED BACK"), "{}", stderr(&out));
}

#[test]
fn apply_json_streams_versioned_events() {
    let w = World::seed();
    let specs = w.specs();
    let out = w.run(&[
        "apply",
        specs
            .join("hello.aurora-apply.yaml")
            .to_str()
            .expect("utf-8"),
        "--auto-approve",
        "-o",
        "json",
    ]);
    expect_code(&out, 0);
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines[0]["type"], "version");
    assert_eq!(lines[1]["type"], "plan_summary");
    let last = lines.last().expect("events");
    assert_eq!(last["type"], "apply_summary");
    assert_eq!(last["exit_code"], 0);
    assert!(
        lines
            .iter()
            .all(|l| l["@timestamp"].is_string() && l["@message"].is_string())
    );
}

#[test]
fn markdown_plan_for_pull_requests() {
    let w = World::seed();
    let specs = w.specs();
    let out = w.run(&[
        "plan",
        specs
            .join("hello.aurora-apply.yaml")
            .to_str()
            .expect("utf-8"),
        "-o",
        "markdown",
    ]);
    expect_code(&out, 0);
    insta::assert_snapshot!(stdout(&out), @r"
    ### aurora-apply plan

    **Plan: 1 to create, 0 unchanged; instances: 1 added.**

    | | job | change |
    | --- | --- | --- |
    | `+` | `devcluster/www-data/prod/hello` | create · 1 instance |
    ");
}
