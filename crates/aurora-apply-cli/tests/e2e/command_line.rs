//! The command line as a newcomer types it: options before the command, job-key commands
//! finding the cluster the way `apply` does, keys that name nothing.

use crate::harness::{World, expect_code, stderr, stdout};

#[test]
fn options_before_the_command_belong_to_the_command() {
    let w = World::seed();
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");
    let clusters = w.specs().join("clusters.json");
    let clusters = clusters.to_str().expect("utf-8");
    for line in [
        vec!["--color", "never", "plan", specs],
        vec!["--clusters", clusters, "plan", specs],
        vec![
            "--color=never",
            "--clusters",
            clusters,
            "plan",
            "-o",
            "json",
            specs,
        ],
    ] {
        let out = w.run(&line);
        expect_code(&out, 0);
        assert!(
            stdout(&out).contains("to create") || stdout(&out).contains("\"format_version\""),
            "{line:?}: {}",
            stdout(&out)
        );
    }
    // The bare form with options first is still `apply`.
    let out = w.run(&[
        "--color",
        "never",
        specs,
        "--auto-approve",
        "--poll-interval",
        "20ms",
    ]);
    expect_code(&out, 0);
    assert!(w.methods().iter().any(|m| m == "createJob"));
}

#[test]
fn job_key_commands_find_the_cluster_like_apply_does() {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    expect_code(
        &w.run(&["apply", hello.to_str().expect("utf-8"), "--auto-approve"]),
        0,
    );
    // Run where the README is followed: ./specs/clusters.json names devcluster. No
    // --clusters, no spec path on the command line.
    let out = w.run(&["update", "pause", "devcluster/www-data/prod/hello"]);
    assert!(
        !stderr(&out).contains("unknown cluster"),
        "{}",
        stderr(&out)
    );
    let out = w.run(&["kill", "devcluster/www-data/prod/hello", "--auto-approve"]);
    expect_code(&out, 0);
    assert!(w.methods().iter().any(|m| m == "killTasks"));
}

#[test]
fn kill_of_a_key_that_names_no_job_says_so_and_kills_nothing() {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    expect_code(
        &w.run(&["apply", hello.to_str().expect("utf-8"), "--auto-approve"]),
        0,
    );
    let out = w.run(&[
        "kill",
        "devcluster/www-data/prod/hello",
        "devcluster/www-data/prod/helo",
        "--auto-approve",
    ]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains(
            "no such job on the scheduler: devcluster/www-data/prod/helo; nothing was killed"
        ),
        "{}",
        stderr(&out)
    );
    assert!(!w.methods().iter().any(|m| m == "killTasks"));
}

#[test]
fn an_unknown_cluster_names_every_place_looked_at_and_the_closest_name() {
    let w = World::seed();
    let out = w.run(&["kill", "devclustr/www-data/prod/hello", "--auto-approve"]);
    expect_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("unknown cluster \"devclustr\"; did you mean \"devcluster\"?"),
        "{err}"
    );
    assert!(
        err.contains("specs/clusters.json (./specs): devcluster"),
        "{err}"
    );
    assert!(
        err.contains("clusters.json (current directory): not found"),
        "{err}"
    );
    assert!(err.contains("(Aurora's config root): not found"), "{err}");
    assert!(
        err.contains(".aurora/clusters.json (Aurora's per-user file): not found"),
        "{err}"
    );
    // In a spec, the same typo is invalid input at its location, before anything is sent.
    w.write(
        "specs/typo.aurora-apply.yaml",
        "apiVersion: aurora-apply/v1\njobs:\n  - key: devclustr/www-data/prod/t\n    kind: adhoc\n    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }\n    task: { processes: [{ name: a, cmdline: x }] }\n",
    );
    let specs = w.specs();
    let out = w.run(&["plan", specs.to_str().expect("utf-8")]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains(
            "typo.aurora-apply.yaml:3:10: error: jobs[0].key: unknown cluster `devclustr`"
        ),
        "{}",
        stderr(&out)
    );
    assert!(w.methods().is_empty(), "{:?}", w.methods());
}

#[test]
fn retries_are_shown_as_they_happen_on_stderr_and_as_json_events() {
    let w = World::seed();
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");
    // The first two calls find no leader.
    w.sim.set_faults(aurora_sim::FaultSettings {
        unavailable: 2,
        ..aurora_sim::FaultSettings::default()
    });
    let out = w.run(&["plan", specs]);
    expect_code(&out, 0);
    let err = stderr(&out);
    let retries: Vec<&str> = err.lines().filter(|l| l.contains("retrying in")).collect();
    // Reads go out together, so the two failures may hit one call twice (attempts 2 and 3)
    // or two calls once each (attempt 2 each); either way one whole line per retry.
    assert_eq!(retries.len(), 2, "{err}");
    for line in &retries {
        let (method, rest) = line.split_once(": ").expect("method: reason");
        assert!(
            method.chars().all(|c| c.is_ascii_alphabetic()),
            "one notice per line: {err}"
        );
        assert!(
            rest.starts_with("no leading scheduler (HTTP 503), retrying in ")
                && (rest.ends_with(", attempt 2 of 10") || rest.ends_with(", attempt 3 of 10")),
            "{err}"
        );
    }

    w.sim.set_faults(aurora_sim::FaultSettings {
        unavailable: 1,
        ..aurora_sim::FaultSettings::default()
    });
    let out = w.run(&["apply", specs, "--auto-approve", "-o", "json"]);
    expect_code(&out, 0);
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is a JSON event"))
        .collect();
    let retry = events
        .iter()
        .find(|e| e["type"] == "retry")
        .expect("a retry event");
    assert_eq!(retry["reason"], "no leading scheduler (HTTP 503)");
    assert_eq!(retry["next_attempt"], 2);
    assert!(!stderr(&out).contains("retrying in"), "{}", stderr(&out));
}

#[test]
fn logs_follow_the_verbosity_and_never_carry_credentials() {
    use base64::Engine as _;
    let w = World::seed();
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");
    let secret = "s3cr3t-pa55";
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("alice:{secret}"));
    let run = |args: &[&str], rust_log: Option<&str>| {
        let mut cmd = assert_cmd::Command::cargo_bin("aurora-apply").expect("binary");
        cmd.current_dir(w.dir.path())
            .env("NO_COLOR", "1")
            .env("AURORA_CONFIG_ROOT", w.path("none"))
            .env("HOME", w.dir.path())
            .env("AURORA_USERNAME", "alice")
            .env("AURORA_PASSWORD", secret)
            .env_remove("RUST_LOG")
            .args(args);
        if let Some(filter) = rust_log {
            cmd.env("RUST_LOG", filter);
        }
        cmd.output().expect("runs")
    };
    // Default: warnings only, nothing about calls.
    let out = run(&["plan", specs], None);
    expect_code(&out, 0);
    assert!(
        !stderr(&out).contains("calling the scheduler"),
        "{}",
        stderr(&out)
    );
    // -vv: debug records of our crates on stderr; the log file gets them too.
    let log = w.path("run.log");
    let log_arg = log.to_str().expect("utf-8");
    let out = run(&["plan", specs, "-vv", "--log-file", log_arg], None);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("calling the scheduler"),
        "{}",
        stderr(&out)
    );
    let written = std::fs::read_to_string(&log).expect("log file written");
    assert!(written.contains("calling the scheduler"), "{written}");
    // -q on a run that logs nothing wrong: no records at all.
    let out = run(&["plan", specs, "-q"], None);
    expect_code(&out, 0);
    assert!(!stderr(&out).contains(" DEBUG ") && !stderr(&out).contains(" INFO "));
    // Everything, from every crate, at trace: still no credential anywhere.
    let out = run(&["plan", specs, "--log-file", log_arg], Some("trace"));
    expect_code(&out, 0);
    let written = std::fs::read_to_string(&log).expect("log file");
    for text in [stderr(&out), stdout(&out), written] {
        assert!(!text.contains(secret), "password in a log:\n{text}");
        assert!(
            !text.contains(&encoded),
            "encoded credentials in a log:\n{text}"
        );
    }
    // Not even a more specific directive lifts the cap on the HTTP and TLS crates.
    let out = run(
        &["plan", specs],
        Some("ureq=trace,ureq::run=trace,ureq_proto::util=trace,rustls=trace"),
    );
    expect_code(&out, 0);
    assert!(!stderr(&out).contains("ureq"), "{}", stderr(&out));
}

/// Plans the seed's specs into plan.json, damages the saved plan with `damage`, applies it:
/// refused with exit 3 and nothing sent. Returns apply's stderr.
fn apply_damaged_plan(damage: impl FnOnce(&mut serde_json::Value)) -> String {
    let w = World::seed();
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");
    expect_code(&w.run(&["plan", specs, "--out", "plan.json"]), 0);
    let text = std::fs::read_to_string(w.path("plan.json")).expect("plan");
    let mut plan: serde_json::Value = serde_json::from_str(&text).expect("json");
    damage(&mut plan);
    std::fs::write(w.path("plan.json"), plan.to_string()).expect("write");
    let before = w.methods().len();
    let out = w.run(&["apply", "plan.json"]);
    expect_code(&out, 3);
    assert_eq!(w.methods().len(), before, "nothing was sent");
    stderr(&out)
}

#[test]
fn a_damaged_saved_plan_is_refused_whole_before_anything_is_sent() {
    let mut last = 0;
    let err = apply_damaged_plan(|plan| {
        // The last change's configuration is damaged; the first ones are fine.
        let changes = plan["changes"].as_array_mut().expect("changes");
        last = changes.len() - 1;
        changes[last]["execution"]["job_configuration"] =
            serde_json::Value::from("bm90IHRocmlmdA==");
    });
    assert!(
        err.contains(&format!("the plan's change {last} ("))
            && err.contains("execution.job_configuration does not decode"),
        "{err}"
    );
}

#[test]
fn every_command_that_takes_a_job_key_refuses_a_malformed_one_the_same_way() {
    let w = World::seed();
    let before = w.methods().len();
    // Every command whose usage names a <JOBKEY>, found by running each command's --help,
    // so a new one is covered without editing this test.
    let mut commands: Vec<Vec<String>> = Vec::new();
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(prefix) = queue.pop() {
        let mut line: Vec<&str> = prefix.iter().map(String::as_str).collect();
        line.push("--help");
        let help = stdout(&w.run(&line));
        if help
            .lines()
            .any(|l| l.starts_with("Usage:") && l.contains("<JOBKEY>"))
        {
            commands.push(prefix.clone());
        }
        let listed = help
            .split("Commands:")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .unwrap_or("");
        for entry in listed.lines() {
            let indented = entry.starts_with("  ") && !entry.starts_with("   ");
            match entry.split_whitespace().next() {
                Some(word) if indented && word != "help" => {
                    let mut next = prefix.clone();
                    next.push(word.to_string());
                    queue.push(next);
                }
                _ => {}
            }
        }
    }
    assert!(commands.len() >= 7, "{commands:?}");
    for command in &commands {
        for bad in [
            "www-data/prod/hello",
            "devcluster//prod/hello",
            "/www-data/prod/hello",
        ] {
            let mut line: Vec<&str> = command.iter().map(String::as_str).collect();
            line.push(bad);
            let out = w.run(&line);
            expect_code(&out, 3);
            assert!(
                stderr(&out).contains(&format!(
                    "{bad}: not a job key (expected cluster/role/environment/name"
                )),
                "{line:?}: {}",
                stderr(&out)
            );
        }
    }
    assert_eq!(w.methods().len(), before, "nothing was sent");
}

#[test]
fn a_saved_plan_with_a_malformed_job_key_is_refused_before_anything_is_sent() {
    let err = apply_damaged_plan(|plan| {
        plan["changes"][0]["job_key"] = serde_json::Value::from("devcluster/www-data/hello");
    });
    assert!(
        err.contains(
            "devcluster/www-data/hello: not a job key (expected cluster/role/environment/name)"
        ),
        "{err}"
    );
}
