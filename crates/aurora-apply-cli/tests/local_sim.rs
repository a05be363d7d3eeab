//! The shared local cluster behind `sim://PATH`, through the real binary: one detached
//! emulator that every process uses, started on demand, found again, stopped by `sim stop`
//! or by itself when idle, and replaced when its address file is stale.
//!
//! Each test works in its own temporary copy of `specs/` with a `sim://` cluster, and stops
//! its emulator in a drop guard, so no process outlives a test (not even a failing one).

#[path = "support/local_world.rs"]
mod local_world;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use local_world::{World, expect_code, stderr, stdout, wait_for};

#[test]
fn a_second_process_reads_and_pauses_while_apply_waits() {
    let w = World::new("10m", 20);
    // 10 simulated hours of watching: this update does not end during the test.
    w.hello_then_update("10h");
    let first_pid = w.pid();
    let mut apply = std::process::Command::new(assert_cmd::cargo::cargo_bin("aurora-apply"))
        .current_dir(w.dir.path())
        .env("NO_COLOR", "1")
        .env("AURORA_CONFIG_ROOT", w.path("no-such-config-root"))
        .env("HOME", w.dir.path())
        .args([&w.hello(), "--auto-approve", "--poll-interval", "20ms"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("apply starts");
    let mut apply_err = BufReader::new(apply.stderr.take().expect("stderr"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if apply_err.read_line(&mut line).expect("reads") == 0 {
            let _ = apply.kill();
            panic!("apply ended before its update started:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains("update") && line.contains("started") {
            break;
        }
    }
    // The second terminal: status and update control work while apply waits.
    let status = w.run(&["status", &w.hello()]);
    expect_code(&status, 0);
    let pause = w.run(&[
        "update",
        "pause",
        "devcluster/www-data/prod/hello",
        "--clusters",
        "specs/clusters.json",
    ]);
    expect_code(&pause, 0);
    assert!(stderr(&pause).contains("paused"), "{}", stderr(&pause));
    // (`status` may show the job as not created now: a pause can catch its only instance
    // between the old task and the new one.)
    expect_code(&w.run(&["status", &w.hello()]), 0);
    assert_eq!(w.update_statuses(), ["ROLL_FORWARD_PAUSED"]);
    let abort = w.run(&[
        "update",
        "abort",
        "devcluster/www-data/prod/hello",
        "--clusters",
        "specs/clusters.json",
    ]);
    expect_code(&abort, 0);
    // The waiting apply sees the abort (exit 6: the job did not reach its spec).
    let deadline = Instant::now() + Duration::from_secs(60);
    let apply_code = loop {
        if let Some(status) = apply.try_wait().expect("waits") {
            break status.code();
        }
        if Instant::now() >= deadline {
            let _ = apply.kill();
            panic!("apply did not end after the abort:\n{seen}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut apply_err, &mut rest).expect("reads");
    assert_eq!(apply_code, Some(6), "{seen}{rest}");
    assert!(rest.contains("ABORTED"), "{rest}");
    // One emulator served all of it.
    assert_eq!(w.pid(), first_pid);
    assert_eq!(w.log().matches("serving").count(), 1, "{}", w.log());
}

#[test]
fn a_no_wait_update_finishes_while_no_command_runs_then_the_emulator_idles_out() {
    // Idle after 1 s, but a rolling update (10 simulated minutes of watching, about 3 s at
    // 200×) keeps it up.
    let w = World::new("1s", 200);
    w.hello_then_update("10m");
    let out = w.run(&[
        "apply",
        &w.hello(),
        "--auto-approve",
        "--no-wait",
        "--poll-interval",
        "20ms",
    ]);
    expect_code(&out, 0);
    let pid = w.pid();
    // No command runs from here: only the emulator moves the state file.
    wait_for("the update to finish", Duration::from_secs(60), || {
        w.update_statuses().last().map(String::as_str) == Some("ROLLED_FORWARD")
    });
    assert!(w.log().contains("serving"), "{}", w.log());
    // Then, with nothing rolling and no calls, it stops itself and lets go of the state.
    wait_for("the emulator to idle out", Duration::from_secs(60), || {
        w.address().is_none() && !w.state_held()
    });
    assert!(
        w.log().contains("stopped after the idle time"),
        "{}",
        w.log()
    );
    assert_eq!(w.sim_status()["status"], "not running");
    // The next command starts a fresh one from the saved state: in sync, no update.
    let status = w.run(&["status", &w.hello()]);
    expect_code(&status, 0);
    assert!(stdout(&status).contains("in sync"), "{}", stdout(&status));
    assert!(!stdout(&status).contains("ROLLING"), "{}", stdout(&status));
    assert_ne!(w.pid(), pid);
}

#[test]
fn sim_stop_writes_the_state_and_the_next_command_starts_a_fresh_emulator() {
    let w = World::new("10m", 20);
    expect_code(&w.apply(&[&w.hello()]), 0);
    let running = w.sim_status();
    assert_eq!(running["status"], "running", "{running}");
    let pid = running["pid"].as_u64().expect("pid");
    assert_eq!(pid, w.pid());
    for field in ["url", "started_at", "simulated_now", "state_file", "log"] {
        assert!(running[field].is_string(), "{field}: {running}");
    }
    assert!(running["uptime_ms"].is_u64(), "{running}");
    let text = w.run(&["sim", "status", "specs"]);
    expect_code(&text, 0);
    for part in [
        "devcluster: running",
        "address",
        "state file",
        "uptime",
        "simulated",
    ] {
        assert!(stdout(&text).contains(part), "{part}: {}", stdout(&text));
    }

    let stop = w.run(&["sim", "stop", "specs"]);
    expect_code(&stop, 0);
    assert!(stderr(&stop).contains("stopped"), "{}", stderr(&stop));
    // Stopped means gone: no address file, the state file released and written.
    assert!(w.address().is_none());
    assert!(!w.state_held());
    assert!(w.state_dir.join("state.json").is_file());
    assert!(w.log().contains("stopped on request"), "{}", w.log());
    assert_eq!(w.sim_status()["status"], "not running");
    let again = w.run(&["sim", "stop", "specs"]);
    expect_code(&again, 0);
    assert!(stderr(&again).contains("not running"), "{}", stderr(&again));

    let status = w.run(&["status", &w.hello()]);
    expect_code(&status, 0);
    assert!(stdout(&status).contains("in sync"), "{}", stdout(&status));
    assert_ne!(w.pid(), pid, "a fresh emulator");
}

#[test]
fn a_stale_address_file_is_replaced() {
    let w = World::new("10m", 20);
    expect_code(&w.apply(&[&w.hello()]), 0);
    let pid = w.pid();
    // The emulator dies without cleaning up (kill -9): its address file stays behind.
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    wait_for(
        "the killed emulator to let go",
        Duration::from_secs(30),
        || !w.state_held(),
    );
    assert!(w.address().is_some(), "the stale file is still there");
    assert_eq!(w.sim_status()["status"], "stale");
    // The next command notices and starts a new emulator from the saved state.
    let status = w.run(&["status", &w.hello()]);
    expect_code(&status, 0);
    assert!(stdout(&status).contains("in sync"), "{}", stdout(&status));
    let new_pid = w.pid();
    assert_ne!(new_pid, pid);
    assert_eq!(w.sim_status()["status"], "running");
    // A garbled address file of a gone emulator is stale too.
    expect_code(&w.run(&["sim", "stop", "specs"]), 0);
    std::fs::write(w.address_file(), "{ not an address").expect("write");
    let status = w.run(&["status", &w.hello()]);
    expect_code(&status, 0);
    assert!(stdout(&status).contains("in sync"), "{}", stdout(&status));
    assert_ne!(w.pid(), new_pid);
}

#[test]
fn commands_starting_at_once_share_one_emulator() {
    let w = World::new("10m", 20);
    expect_code(&w.apply(&[&w.hello()]), 0);
    expect_code(&w.run(&["sim", "stop", "specs"]), 0);
    let before = w.log().matches("serving").count();
    let hello = w.hello();
    let children: Vec<std::process::Child> = (0..4)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("aurora-apply"))
                .current_dir(w.dir.path())
                .env("NO_COLOR", "1")
                .env("AURORA_CONFIG_ROOT", w.path("no-such-config-root"))
                .env("HOME", w.dir.path())
                .args(["status", &hello])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starts")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("ends");
        expect_code(&out, 0);
        assert!(stdout(&out).contains("in sync"), "{}", stdout(&out));
    }
    assert_eq!(
        w.log().matches("serving").count(),
        before + 1,
        "one emulator started:\n{}",
        w.log()
    );
}

#[test]
fn a_relative_sim_path_is_relative_to_its_clusters_file() {
    let w = World::new("10m", 20);
    // conf/clusters.json names sim://../state/dev; commands run from elsewhere.
    let conf = w.path("conf/clusters.json");
    w.write_clusters(
        &conf,
        "sim://../state/dev",
        "../specs/sim/executors.json",
        "10m",
        20,
    );
    let elsewhere = w.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    let state_dir = w.path("state/dev");
    let stopper = World {
        dir: tempfile::tempdir().expect("tempdir"),
        state_dir: state_dir.clone(),
    };
    let out = w
        .cmd_in(&elsewhere)
        .args([
            "apply",
            &w.hello(),
            "--clusters",
            conf.to_str().expect("utf-8"),
            "--auto-approve",
            "--poll-interval",
            "20ms",
        ])
        .output()
        .expect("runs");
    expect_code(&out, 0);
    assert!(state_dir.join("state.json").is_file(), "state beside conf/");
    assert_eq!(
        std::fs::read_dir(&elsewhere).expect("dir").count(),
        0,
        "nothing in the working directory"
    );
    assert!(!w.state_dir.exists(), "nothing beside the specs");
    // From yet another directory, naming the clusters file relatively: the same cluster.
    let other = w.path("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    let out = w
        .cmd_in(&other)
        .args(["status", &w.hello(), "--clusters", "../conf/clusters.json"])
        .output()
        .expect("runs");
    expect_code(&out, 0);
    assert!(stdout(&out).contains("in sync"), "{}", stdout(&out));
    drop(stopper);
    assert!(!state_dir.join("state.daemon.json").exists());
}

#[test]
fn plan_creates_no_state() {
    let w = World::new("10m", 20);
    let out = w.run(&["plan", "specs"]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("to create"), "{}", stdout(&out));
    assert!(
        !w.path("specs/.aurora-sim").exists(),
        "plan created {}",
        w.path("specs/.aurora-sim").display()
    );
    let out = w.run(&["status", &w.hello()]);
    expect_code(&out, 0);
    assert!(
        !w.path("specs/.aurora-sim").exists(),
        "status created state"
    );
    assert_eq!(w.sim_status()["status"], "not running");
}

#[test]
fn an_emulator_started_with_other_flags_is_used_with_a_warning() {
    let w = World::new("10m", 20);
    expect_code(&w.apply(&[&w.hello()]), 0);
    let pid = w.pid();
    w.write_clusters(
        &w.path("specs/clusters.json"),
        "sim://.aurora-sim/devcluster",
        "sim/executors.json",
        "10m",
        30,
    );
    let out = w.run(&["status", &w.hello()]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("in sync"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("warning") && stderr(&out).contains("--time-scale=30"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.pid(), pid, "the running emulator was kept");
}

#[test]
fn a_live_but_silent_emulator_is_an_error_not_replaced() {
    let w = World::new("10m", 20);
    expect_code(&w.apply(&[&w.hello()]), 0);
    expect_code(&w.run(&["sim", "stop", "specs"]), 0);
    // Something holds the state (as a hung emulator would) while its address does not answer.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let address = serde_json::json!({
        "version": 1,
        // No such process (and never one a cleanup could kill).
        "pid": u32::MAX,
        "url": format!("http://127.0.0.1:{closed_port}"),
        "state_file": w.state_dir.join("state.json"),
        "started_at_ms": 0,
        "idle_exit_ms": 600_000,
        "flags": [],
        "tool_version": "0",
    });
    std::fs::write(w.address_file(), address.to_string()).expect("write");
    let holder = std::fs::OpenOptions::new()
        .write(true)
        .open(w.state_dir.join("state.json.lock"))
        .expect("lock file");
    holder.try_lock().expect("held by the test");
    let out = w.run(&["status", &w.hello()]);
    expect_code(&out, 1);
    assert!(stderr(&out).contains("does not answer"), "{}", stderr(&out));
    assert_eq!(w.sim_status()["status"], "unresponsive");
    assert!(
        w.address_file().exists(),
        "left for whoever holds the state"
    );
    // Once it lets go, the next command replaces it.
    drop(holder);
    let out = w.run(&["status", &w.hello()]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("in sync"), "{}", stdout(&out));
}

/// Stops the emulators of a project directory when dropped (even when the test fails).
struct StopSims<'a>(&'a World, std::path::PathBuf);

impl Drop for StopSims<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .cmd_in(self.0.dir.path())
            .args(["sim", "stop"])
            .arg(&self.1)
            .timeout(Duration::from_secs(60))
            .output();
    }
}

/// The worked example `specs/multi-cluster` (issue 13, part 4) as a user runs it: three
/// `sim://` clusters started on demand, its project file's three stages with their soak.
#[test]
fn the_worked_multi_cluster_example_rolls_out_stage_by_stage() {
    let w = World::new("1m", 200);
    let example = w.path("specs/multi-cluster");
    // The committed clusters.json, faster and with a short idle exit for the test.
    let clusters: Vec<serde_json::Value> = ["canary", "east", "west"]
        .iter()
        .map(|name| {
            serde_json::json!({
                "name": name,
                "scheduler_uri": format!("sim://.aurora-sim/{name}"),
                "sim_idle_exit": "1m",
                "sim_flags": ["--quota=www-data=4,8192,16384", "--time-scale=200"],
            })
        })
        .collect();
    std::fs::write(
        example.join("clusters.json"),
        serde_json::Value::from(clusters).to_string(),
    )
    .expect("clusters.json");
    let _stop = StopSims(&w, example.clone());
    let example = example.to_str().expect("utf-8");

    let out = w.apply(&[example]);
    expect_code(&out, 0);
    let err = stderr(&out);
    let at = |needle: &str| {
        err.find(needle)
            .unwrap_or_else(|| panic!("`{needle}` not in:\n{err}"))
    };
    assert!(at("Stage 1/3 (canary): starting") < at("Stage 1: healthy; soaking 5s"));
    assert!(at("Stage 1: healthy; soaking 5s") < at("Stage 2/3 (east): starting"));
    assert!(at("Stage 2/3 (east): starting") < at("Stage 3/3 (west): starting"));
    assert!(err.contains("Apply finished: 3 of 3 job(s) as specified (exit 0)."));
    // In sync: the next plan has nothing to do.
    expect_code(&w.run(&["plan", example, "--detailed-exitcode"]), 0);
    // The repository's first command still works beside it, and names the nested project.
    let specs = w.path("specs");
    let out = w.run(&["validate", specs.to_str().expect("utf-8")]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("multi-cluster has its own project file"),
        "{}",
        stderr(&out)
    );
}
