//! Day-two operations on running jobs: status with values and instances (also `--watch`),
//! rolling restarts, `update list|info|wait`, and killing some instances of a job.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aurora_api::types::{ConstACTIVESTATES, JobKey, TaskQuery};
use serde_json::Value;

use crate::harness::{World, expect_code, stderr, stdout};

const HELLO: &str = "devcluster/www-data/prod/hello";

/// The seed world with the hello job at two instances, applied and running.
fn two_hellos() -> (World, String) {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    let yaml = std::fs::read_to_string(&hello).expect("read");
    std::fs::write(
        &hello,
        yaml.replace("    instances: 1\n", "    instances: 2\n"),
    )
    .expect("write");
    let hello = hello.to_str().expect("utf-8").to_string();
    expect_code(&w.run(&["apply", &hello, "--auto-approve"]), 0);
    (w, hello)
}

/// Edits the hello spec in place.
fn edit_hello(w: &World, edit: impl Fn(&str) -> String) {
    let path = w.specs().join("hello.aurora-apply.yaml");
    let yaml = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, edit(&yaml)).expect("write");
}

/// Active tasks of a job of www-data/prod, by instance: (task id, state).
fn live_tasks(w: &World, name: &str) -> BTreeMap<i32, (String, String)> {
    let client =
        aurora_api::Client::new(aurora_api::ClientConfig::new(w.sim.url())).expect("client");
    let query = TaskQuery {
        job_keys: Some(BTreeSet::from([JobKey {
            role: Some("www-data".into()),
            environment: Some("prod".into()),
            name: Some(name.into()),
        }])),
        statuses: Some(ConstACTIVESTATES::const_value()),
        ..TaskQuery::default()
    };
    client
        .get_tasks_status(&query)
        .expect("tasks")
        .value
        .tasks
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| {
            let a = t.assigned_task?;
            Some((a.instance_id?, (a.task_id?, t.status?.to_string())))
        })
        .collect()
}

fn count(methods: &[String], name: &str) -> usize {
    methods.iter().filter(|m| *m == name).count()
}

/// No line of `text` ends with a label whose value is missing (`pending:`, `by`); section
/// headings (`events:`) are not labels.
fn assert_no_empty_values(text: &str) {
    for line in text.lines() {
        let line = line.trim_end();
        if ["events:", "instance events:"].contains(&line) {
            continue;
        }
        assert!(
            !line.ends_with(':') && !line.ends_with(" by") && !line.ends_with(" at"),
            "a line ends without its value: {line:?}\n{text}"
        );
    }
}

#[test]
fn status_shows_drift_as_values_and_every_instance() {
    let (w, hello) = two_hellos();

    let out = w.run(&["status", &hello]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains(&format!("{HELLO:<45} in sync")), "{text}");
    assert!(text.contains("instance  state"), "{text}");
    for id in ["0", "1"] {
        let row = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for instance {id}:\n{text}"));
        assert!(row.contains("RUNNING") && row.contains("yes"), "{row}");
    }

    // The spec moves on (cpu 1 -> 2); the scheduler does not.
    edit_hello(&w, |y| y.replace("cpu: 1,", "cpu: 2,"));
    let out = w.run(&["status", &hello, "--detailed-exitcode"]);
    expect_code(&out, 2);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{HELLO:<45} drifted · rolling update · restart [0-1]"
        )),
        "{text}"
    );
    let cpu = text
        .lines()
        .find(|l| l.contains("resources.cpu"))
        .unwrap_or_else(|| panic!("no cpu line:\n{text}"));
    assert!(cpu.contains("1.0 → 2.0"), "{cpu}");
    assert!(cpu.contains("# restarts [0-1]"), "{cpu}");
    for id in ["0", "1"] {
        let row = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for instance {id}:\n{text}"));
        assert!(row.contains("RUNNING") && row.contains(" no"), "{row}");
    }
    assert_no_empty_values(&text);

    // The same as JSON, with the new data.
    let out = w.run(&["status", &hello, "-o", "json"]);
    expect_code(&out, 0);
    let jobs: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let job = &jobs[0];
    assert_eq!(job["job_key"], HELLO);
    assert_eq!(job["state"], "drifted");
    assert_eq!(job["instances"], 2);
    assert_eq!(job["fields"][0]["path"], "resources.cpu");
    assert_eq!(job["fields"][0]["before"], 1.0);
    assert_eq!(job["fields"][0]["after"], 2.0);
    let tasks = job["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 2);
    for (i, task) in tasks.iter().enumerate() {
        assert_eq!(task["instance"], i);
        assert_eq!(task["status"], "RUNNING");
        assert_eq!(task["config_matches_spec"], false);
        assert!(task["task_id"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(task["since_ms"].as_i64().is_some_and(|t| t > 0));
    }
    assert_eq!(job["pending_reasons"], Value::Array(Vec::new()));
}

#[test]
fn status_shows_the_running_update_and_its_progress() {
    let (w, hello) = two_hellos();
    // A change whose update will not end during the test (10 simulated hours per batch).
    edit_hello(&w, |y| {
        y.replace("cpu: 1,", "cpu: 2,").replace(
            "    instances: 2\n",
            "    instances: 2\n    update: { watch: 10h }\n",
        )
    });
    expect_code(&w.run(&["apply", &hello, "--auto-approve", "--no-wait"]), 0);
    let out = w.run(&["status", &hello, "-o", "json"]);
    expect_code(&out, 0);
    let jobs: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let update = &jobs[0]["active_update"];
    assert_eq!(update["status"], "ROLLING_FORWARD");
    assert_eq!(update["total"], 2);
    assert!(
        update["updated"].as_u64().is_some_and(|n| n < 2),
        "{update}"
    );
    let id = update["id"].as_str().expect("id").to_string();

    let out = w.run(&["status", &hello]);
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("update "))
        .unwrap_or_else(|| panic!("no update line:\n{text}"));
    assert!(
        line.contains(&format!("update {id} ROLLING_FORWARD: "))
            && line.contains("/2 instances updated"),
        "{line}"
    );
    assert_no_empty_values(&text);

    // The scheduler refuses restarts and kills during an update: a conflict (4), named,
    // with nothing sent.
    w.sim.clear_calls();
    for args in [
        vec!["restart", HELLO, "--auto-approve"],
        vec!["kill", HELLO, "--instances", "1", "--auto-approve"],
    ] {
        let out = w.run(&args);
        expect_code(&out, 4);
        assert!(
            stderr(&out).contains(&format!("update {id} is ROLLING_FORWARD")),
            "{}",
            stderr(&out)
        );
    }
    let methods = w.methods();
    assert_eq!(
        count(&methods, "restartShards") + count(&methods, "killTasks"),
        0
    );
}

#[test]
fn update_list_info_and_wait_follow_an_update_to_its_end() {
    let (w, hello) = two_hellos();
    edit_hello(&w, |y| y.replace("cpu: 1,", "cpu: 2,"));
    expect_code(&w.run(&["apply", &hello, "--auto-approve", "--no-wait"]), 0);

    // wait: follows the active update to ROLLED_FORWARD, exit 0.
    let out = w.run(&[
        "update",
        "wait",
        HELLO,
        "--poll-interval",
        "20ms",
        "--timeout",
        "60s",
    ]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("ROLLED_FORWARD, 2/2 instances updated"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("rolled forward"), "{}", stderr(&out));

    // list: the update, newest first, for the job and for its role.
    let out = w.run(&["update", "list", HELLO, "-o", "json"]);
    expect_code(&out, 0);
    let list: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let newest = &list[0];
    let id = newest["id"].as_str().expect("id").to_string();
    assert_eq!(newest["status"], "ROLLED_FORWARD");
    assert_eq!(newest["job_key"], HELLO);
    assert_eq!(newest["progress"]["updated"], 2);
    assert_eq!(newest["instances"][0]["first"], 0);
    assert_eq!(newest["instances"][0]["last"], 1);
    let out = w.run(&["update", "list", "devcluster/www-data"]);
    expect_code(&out, 0);
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} not listed:\n{text}"));
    for column in [HELLO, "ROLLED_FORWARD", "0-1", "2/2"] {
        assert!(row.contains(column), "{column} in {row}");
    }
    let out = w.run(&["update", "list", "devcluster", "--status", "active"]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).starts_with("No updates of devcluster."),
        "{}",
        stdout(&out)
    );

    // info: no update active, so the newest; events and the instances' events.
    let out = w.run(&["update", "info", HELLO]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("update {id}  {HELLO}\n")),
        "{text}"
    );
    assert!(text.contains("ROLLED_FORWARD"), "{text}");
    assert!(text.contains("instance events:"), "{text}");
    assert!(text.contains("INSTANCE_UPDATED"), "{text}");
    assert_no_empty_values(&text);
    let out = w.run(&["update", "info", HELLO, &id, "-o", "json"]);
    expect_code(&out, 0);
    let info: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(info["id"], id.as_str());
    assert_eq!(info["ours"], true);
    let updated: BTreeSet<i64> = info["instance_events"]
        .as_array()
        .expect("instance events")
        .iter()
        .filter(|e| e["action"] == "INSTANCE_UPDATED")
        .filter_map(|e| e["instance"].as_i64())
        .collect();
    assert_eq!(updated, BTreeSet::from([0, 1]));

    // wait on an update that already ended reports its end at once.
    let out = w.run(&["update", "wait", HELLO, &id]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("already ended ROLLED_FORWARD"),
        "{}",
        stderr(&out)
    );

    // An unknown id is invalid input.
    let out = w.run(&["update", "info", HELLO, "no-such-update"]);
    expect_code(&out, 3);
}

#[test]
fn update_wait_exit_codes_follow_the_updates_end() {
    let (w, hello) = two_hellos();
    // A release that fails: rolled back, exit 5.
    edit_hello(&w, |y| {
        y.replace(
            "    instances: 2\n",
            &format!(
                "    instances: 2\n    metadata: {{ \"{}\": \"100\" }}\n",
                aurora_sim::FAIL_AFTER_KEY
            ),
        )
    });
    expect_code(&w.run(&["apply", &hello, "--auto-approve", "--no-wait"]), 0);
    let out = w.run(&[
        "update",
        "wait",
        HELLO,
        "--poll-interval",
        "20ms",
        "--timeout",
        "60s",
    ]);
    expect_code(&out, 5);
    assert!(stderr(&out).contains("ROLLED BACK"), "{}", stderr(&out));

    // A slow one: timed out (7) while it runs, then aborted (6).
    edit_hello(&w, |y| {
        y.replace("cpu: 1,", "cpu: 2,")
            .replace(
                &format!(
                    "    metadata: {{ \"{}\": \"100\" }}\n",
                    aurora_sim::FAIL_AFTER_KEY
                ),
                "",
            )
            .replace(
                "    instances: 2\n",
                "    instances: 2\n    update: { watch: 10h }\n",
            )
    });
    expect_code(&w.run(&["apply", &hello, "--auto-approve", "--no-wait"]), 0);
    let out = w.run(&[
        "update",
        "wait",
        HELLO,
        "--poll-interval",
        "20ms",
        "--timeout",
        "300ms",
        "-o",
        "json",
    ]);
    expect_code(&out, 7);
    let last: Value =
        serde_json::from_str(stdout(&out).lines().last().expect("lines")).expect("JSON");
    assert_eq!(last["type"], "wait_summary");
    assert_eq!(last["exit_code"], 7);
    expect_code(&w.run(&["update", "abort", HELLO]), 0);
    let out = w.run(&[
        "update",
        "wait",
        HELLO,
        "--poll-interval",
        "20ms",
        "--timeout",
        "60s",
    ]);
    expect_code(&out, 6);
}

#[test]
fn restart_replaces_each_instance_batch_by_batch() {
    let (w, _) = two_hellos();
    let before = live_tasks(&w, "hello");
    assert_eq!(before.len(), 2);

    // Without a terminal and without --auto-approve nothing is restarted.
    w.sim.clear_calls();
    let out = w.run(&["restart", HELLO]);
    expect_code(&out, 8);
    assert_eq!(count(&w.methods(), "restartShards"), 0);
    // An instance the job does not have: invalid, nothing restarted.
    let out = w.run(&["restart", HELLO, "--instances", "1,7", "--auto-approve"]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("no live instance 7 (live: 0-1)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&w.methods(), "restartShards"), 0);

    // Every instance, one at a time.
    let out = w.run(&[
        "restart",
        HELLO,
        "--auto-approve",
        "--watch-secs",
        "0",
        "--poll-interval",
        "20ms",
    ]);
    expect_code(&out, 0);
    let err = stderr(&out);
    assert!(
        stdout(&out).contains("instances [0-1] (2 of 2), 1 at a time"),
        "{}",
        stdout(&out)
    );
    for line in [
        "batch 1: restarting [0]",
        "instance 0 restarted",
        "batch 2: restarting [1]",
        "instance 1 restarted",
        "done: restarted [0-1]",
    ] {
        assert!(err.contains(line), "{line} in:\n{err}");
    }
    assert!(
        err.find("instance 0 restarted") < err.find("batch 2"),
        "{err}"
    );
    assert_eq!(count(&w.methods(), "restartShards"), 2);
    let after = live_tasks(&w, "hello");
    for id in [0, 1] {
        assert_ne!(before[&id].0, after[&id].0, "instance {id} has a new task");
        assert_eq!(after[&id].1, "RUNNING");
    }

    // Only instance 1, watched for a second, as NDJSON.
    w.sim.clear_calls();
    let out = w.run(&[
        "restart",
        &format!("{HELLO}/1"),
        "--auto-approve",
        "--watch-secs",
        "1",
        "--poll-interval",
        "20ms",
        "-o",
        "json",
    ]);
    expect_code(&out, 0);
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let types: Vec<&str> = lines.iter().filter_map(|l| l["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "batch_restarting",
            "instance_running",
            "instance_restarted",
            "restart_summary"
        ]
    );
    let summary = lines.last().expect("summary");
    assert_eq!(summary["exit_code"], 0);
    assert_eq!(summary["outcome"], "succeeded");
    let again = live_tasks(&w, "hello");
    assert_eq!(summary["tasks"]["1"][0], after[&1].0.as_str());
    assert_eq!(summary["tasks"]["1"][1], again[&1].0.as_str());
    assert_eq!(again[&0].0, after[&0].0, "instance 0 was left alone");
    assert_ne!(again[&1].0, after[&1].0);
    assert_eq!(count(&w.methods(), "restartShards"), 1);
}

#[test]
fn kill_some_instances_leaves_the_others_running() {
    let (w, _) = two_hellos();
    let before = live_tasks(&w, "hello");
    w.sim.clear_calls();

    // Unknown instances, several jobs, no confirmation: nothing is killed.
    let out = w.run(&["kill", HELLO, "--instances", "5", "--auto-approve"]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("no live instance 5 (live: 0-1); nothing was changed"),
        "{}",
        stderr(&out)
    );
    let out = w.run(&["kill", &format!("{HELLO}/0-2"), "--auto-approve"]);
    expect_code(&out, 3);
    let out = w.run(&[
        "kill",
        HELLO,
        "devcluster/www-data/prod/web",
        "--instances",
        "0",
        "--auto-approve",
    ]);
    expect_code(&out, 3);
    let out = w.run(&["kill", HELLO, "--instances", "0"]);
    expect_code(&out, 8);
    assert_eq!(count(&w.methods(), "killTasks"), 0, "{:?}", w.methods());

    let out = w.run(&[
        "kill",
        HELLO,
        "--instances",
        "0",
        "--auto-approve",
        "-m",
        "shrink",
    ]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("kill instance [0] (1 of 2); [1] keep running"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("done: killed [0]"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&w.methods(), "killTasks"), 1);
    let after = live_tasks(&w, "hello");
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[&1], before[&1], "instance 1 keeps running as it was");
}

#[test]
fn status_watch_on_a_pipe_prints_a_block_per_look() {
    let (w, hello) = two_hellos();
    let bin = assert_cmd::cargo::cargo_bin("aurora-apply");
    let mut child = std::process::Command::new(bin)
        .current_dir(w.dir.path())
        .env("NO_COLOR", "1")
        .env("AURORA_CONFIG_ROOT", w.path("none"))
        .env("HOME", w.dir.path())
        .args(["status", &hello, "--watch", "--interval", "100ms"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let rx = crate::harness::lines_of(child.stdout.take().expect("stdout"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let headers = |seen: &[String]| {
        seen.iter()
            .filter(|l| l.starts_with("Every 100ms: aurora-apply status · "))
            .count()
    };
    // Two whole blocks: a third header closes the second.
    while headers(&seen) < 3 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(headers(&seen) >= 3, "{}", seen.join("\n"));
    let jobs = seen
        .iter()
        .filter(|l| l.starts_with(&format!("{HELLO:<45} in sync")))
        .count();
    assert!(jobs >= 2, "{}", seen.join("\n"));
    // No terminal: no escape sequences to redraw with.
    assert!(
        !seen.iter().any(|l| l.contains('\u{1b}')),
        "{}",
        seen.join("\n")
    );
}

/// Killing some instances waits for them to end, up to `--timeout`: exit 7 (timed out) when
/// they are still KILLING by then, as `update wait` and `apply` report a deadline.
#[test]
fn kill_some_instances_honours_its_timeout() {
    // Kills take an hour of simulated time (18 s of real time at the seed's 200× clock).
    let w = World::seed_with(|config| config.timings.kill_ms = 3_600_000);
    let hello = w.specs().join("hello.aurora-apply.yaml");
    expect_code(
        &w.run(&["apply", hello.to_str().expect("utf-8"), "--auto-approve"]),
        0,
    );
    let out = w.run(&[
        "kill",
        HELLO,
        "--instances",
        "0",
        "--auto-approve",
        "--timeout",
        "300ms",
        "--poll-interval",
        "20ms",
    ]);
    expect_code(&out, 7);
    assert_eq!(count(&w.methods(), "killTasks"), 1);
}
