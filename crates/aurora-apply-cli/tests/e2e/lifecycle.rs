//! Cron lifecycle, timeouts, idempotence of apply, and the JSON plan's shape.

use serde_json::Value;

use crate::harness::{World, expect_code, stderr, stdout};

const WRITES: &[&str] = &[
    "createJob",
    "scheduleCronJob",
    "descheduleCronJob",
    "killTasks",
    "startJobUpdate",
    "replaceCronTemplate",
    "addInstances",
    "restartShards",
];

#[test]
fn second_apply_of_unchanged_specs_sends_no_write() {
    let w = World::seed();
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");
    expect_code(&w.run(&["apply", specs, "--auto-approve"]), 0);
    w.sim.clear_calls();
    let out = w.run(&["apply", specs, "--auto-approve"]);
    expect_code(&out, 0);
    assert!(stdout(&out).starts_with("No changes."), "{}", stdout(&out));
    let methods = w.methods();
    assert!(
        !methods.iter().any(|m| WRITES.contains(&m.as_str())),
        "{methods:?}"
    );
    // Observing costs 1 + 3 per role (two roles), plus one look at the ad-hoc job's finished
    // tasks once it has run to completion (it may still be running).
    assert!((7..=8).contains(&methods.len()), "{methods:?}");
}

#[test]
fn cron_lifecycle_schedule_replace_deschedule() {
    let w = World::seed();
    let cron = w.specs().join("cron.aurora-apply.yaml");
    let cron_s = cron.to_str().expect("utf-8").to_string();
    let out = w.run(&["apply", &cron_s, "--auto-approve"]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("cron job scheduled"),
        "{}",
        stdout(&out)
    );
    expect_code(&w.run(&["plan", &cron_s, "--detailed-exitcode"]), 0);

    let yaml = std::fs::read_to_string(&cron).expect("read");
    std::fs::write(&cron, yaml.replace("0 2 * * *", "30 3 * * *")).expect("write");
    let out = w.run(&["plan", &cron_s, "--detailed-exitcode"]);
    expect_code(&out, 2);
    assert!(
        stdout(&out).contains("cron template replaced"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("cron.schedule"), "{}", stdout(&out));
    expect_code(&w.run(&["apply", &cron_s, "--auto-approve"]), 0);
    assert_eq!(
        w.sim
            .state()
            .crons
            .values()
            .next()
            .and_then(|c| c.config.cron_schedule.clone()),
        Some("30 3 * * *".to_string())
    );

    let clusters = w.specs().join("clusters.json");
    let out = w.run(&[
        "kill",
        "devcluster/www-data/prod/nightly-report",
        "--auto-approve",
        "--clusters",
        clusters.to_str().expect("utf-8"),
    ]);
    expect_code(&out, 0);
    assert!(w.sim.state().crons.is_empty());
}

/// The hello job applied, then its spec changed (cpu 2) with a watch of 10 simulated hours
/// (3 minutes real at 200×): an update that will not end during a test.
fn hello_with_a_slow_update() -> (World, String) {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    let hello_s = hello.to_str().expect("utf-8").to_string();
    expect_code(&w.run(&["apply", &hello_s, "--auto-approve"]), 0);
    let yaml = std::fs::read_to_string(&hello).expect("read");
    let slow = yaml.replace("cpu: 1,", "cpu: 2,").replace(
        "    instances: 1\n",
        "    instances: 1\n    update: { watch: 10h }\n",
    );
    std::fs::write(&hello, slow).expect("write");
    (w, hello_s)
}

#[test]
fn rollout_past_the_timeout_exits_7() {
    let (w, hello_s) = hello_with_a_slow_update();
    let mut cmd = assert_cmd::Command::cargo_bin("aurora-apply").expect("binary");
    let out = cmd
        .current_dir(w.dir.path())
        .env("AURORA_CONFIG_ROOT", w.path("none"))
        .env("HOME", w.dir.path())
        .args([
            &hello_s,
            "--auto-approve",
            "--poll-interval",
            "20ms",
            "--timeout",
            "300ms",
        ])
        .output()
        .expect("runs");
    expect_code(&out, 7);
    assert!(stderr(&out).contains("TIMED OUT"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("update pause|abort"),
        "{}",
        stderr(&out)
    );
}

/// Replaces values that change from run to run.
fn stable(mut plan: Value) -> Value {
    plan["created_at"] = Value::from("[time]");
    plan["inputs"]["files"] = Value::from(vec!["[specs]"]);
    plan["inputs"]["spec_hash"] = Value::from("[hash]");
    for change in plan["changes"].as_array_mut().into_iter().flatten() {
        change["live_fingerprint"] = Value::from("[fingerprint]");
        change["source"] = Value::from(
            change["source"]
                .as_str()
                .and_then(|s| s.rsplit('/').next())
                .unwrap_or("")
                .to_string(),
        );
        change["execution"] = Value::from("[thrift]");
    }
    plan
}

#[test]
fn plan_json_document_shape() {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    let hello_s = hello.to_str().expect("utf-8").to_string();
    expect_code(&w.run(&["apply", &hello_s, "--auto-approve"]), 0);
    let yaml = std::fs::read_to_string(&hello).expect("read");
    std::fs::write(&hello, yaml.replace("instances: 1", "instances: 3")).expect("write");
    let out = w.run(&["plan", &hello_s, "-o", "json"]);
    expect_code(&out, 0);
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    insta::assert_json_snapshot!(stable(plan));
}

#[test]
fn ctrl_c_detaches_with_exit_130_and_the_update_keeps_running() {
    use std::io::{BufRead, BufReader};
    let (w, hello_s) = hello_with_a_slow_update();
    let bin = assert_cmd::cargo::cargo_bin("aurora-apply");
    let mut child = std::process::Command::new(bin)
        .current_dir(w.dir.path())
        .env("AURORA_CONFIG_ROOT", w.path("none"))
        .env("HOME", w.dir.path())
        .args([&hello_s, "--auto-approve", "--poll-interval", "20ms"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    // Read until the update has started (the child blocks on nothing else).
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("reads") == 0 {
            panic!("apply ended before the update started:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains("update") && line.contains("started") {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("reads");
    let code = child.wait().expect("exits").code();
    assert_eq!(code, Some(130), "{seen}{rest}");
    assert!(rest.contains("detached"), "{rest}");
    // The update is still active on the scheduler.
    let client =
        aurora_api::Client::new(aurora_api::ClientConfig::new(w.sim.url())).expect("client");
    let key = aurora_api::types::JobKey {
        role: Some("www-data".into()),
        environment: Some("prod".into()),
        name: Some("hello".into()),
    };
    let active = aurora_apply::ops::active_update(&client, &key).expect("reads");
    assert!(active.is_some(), "the update should keep running");
}
