//! The shared local cluster behind `sim://PATH`, through the real binary: one detached
//! emulator that every process uses, started on demand, found again, stopped by `sim stop`
//! or by itself when idle, and replaced when its address file is stale.
//!
//! Each test works in its own temporary copy of `specs/` with a `sim://` cluster, and stops
//! its emulator in a drop guard, so no process outlives a test (not even a failing one).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readable") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name");
        // A developer's own emulator state in the checkout is not part of the example.
        if name == ".aurora-sim" {
            continue;
        }
        let target = to.join(name);
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Polls `ok` until it holds; fails the test after `timeout`.
fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn expect_code(out: &Output, want: i32) {
    assert_eq!(
        code(out),
        want,
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// A temporary copy of the example specs whose `devcluster` is `sim://STATE` (relative to
/// its clusters.json), plus the emulator that cluster gets. Dropping it stops the emulator.
struct World {
    dir: tempfile::TempDir,
    /// The `sim://` folder, absolute.
    state_dir: PathBuf,
}

impl World {
    /// The example specs at `time_scale`, stopping after `idle_exit` without calls.
    fn new(idle_exit: &str, time_scale: u32) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(&repo().join("specs"), &dir.path().join("specs"));
        let world = World {
            state_dir: dir.path().join("specs/.aurora-sim/devcluster"),
            dir,
        };
        world.write_clusters(
            &world.path("specs/clusters.json"),
            "sim://.aurora-sim/devcluster",
            "sim/executors.json",
            idle_exit,
            time_scale,
        );
        world
    }

    fn write_clusters(
        &self,
        file: &Path,
        uri: &str,
        executors: &str,
        idle_exit: &str,
        time_scale: u32,
    ) {
        let clusters = serde_json::json!([{
            "name": "devcluster",
            "scheduler_uri": uri,
            "sim_idle_exit": idle_exit,
            "sim_flags": [
                format!("-custom_executor_config={executors}"),
                "-enable_mesos_fetcher=true",
                "--quota=www-data=16,32768,65536",
                format!("--time-scale={time_scale}"),
            ],
        }]);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(file, clusters.to_string()).expect("clusters.json");
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn hello(&self) -> String {
        self.path("specs/hello.aurora.yaml")
            .to_str()
            .expect("utf-8")
            .to_string()
    }

    /// The binary, run in `cwd` with no terminal and no Aurora config of the machine.
    fn cmd_in(&self, cwd: &Path) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("aurora-apply").expect("binary built");
        cmd.current_dir(cwd)
            .env("NO_COLOR", "1")
            .env("AURORA_CONFIG_ROOT", self.path("no-such-config-root"))
            .env("HOME", self.dir.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd_in(self.dir.path())
            .args(args)
            .output()
            .expect("runs")
    }

    /// `apply` with fast polling and a bounded wait.
    fn apply(&self, args: &[&str]) -> Output {
        let mut all = vec!["apply"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--auto-approve",
            "--poll-interval",
            "20ms",
            "--timeout",
            "60s",
        ]);
        self.run(&all)
    }

    /// The hello job created, then its spec changed (cpu 2) with a watch of `watch`.
    fn hello_then_update(&self, watch: &str) {
        expect_code(&self.apply(&[&self.hello()]), 0);
        let file = self.path("specs/hello.aurora.yaml");
        let yaml = std::fs::read_to_string(&file).expect("read");
        let changed = yaml.replace("cpu: 1,", "cpu: 2,").replace(
            "    instances: 1\n",
            &format!("    instances: 1\n    update: {{ watch: {watch} }}\n"),
        );
        assert_ne!(yaml, changed, "the example changed shape");
        std::fs::write(&file, changed).expect("write");
    }

    fn address_file(&self) -> PathBuf {
        self.state_dir.join("state.daemon.json")
    }

    /// The address file, if there is one.
    fn address(&self) -> Option<Value> {
        let text = std::fs::read_to_string(self.address_file()).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn pid(&self) -> u64 {
        self.address()
            .and_then(|a| a["pid"].as_u64())
            .expect("an address file with a pid")
    }

    /// Whether an emulator holds the state (the OS drops the lock when it exits).
    fn state_held(&self) -> bool {
        let Ok(file) = std::fs::OpenOptions::new()
            .write(true)
            .open(self.state_dir.join("state.json.lock"))
        else {
            return false;
        };
        file.try_lock().is_err()
    }

    /// `sim status -o json` of this world's emulator.
    fn sim_status(&self) -> Value {
        let out = self.run(&[
            "sim",
            "status",
            "--state",
            self.state_dir.to_str().expect("utf-8"),
            "-o",
            "json",
        ]);
        expect_code(&out, 0);
        let rows: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
        rows[0].clone()
    }

    /// The emulator's log.
    fn log(&self) -> String {
        std::fs::read_to_string(self.state_dir.join("state.daemon.log")).unwrap_or_default()
    }

    /// The job's active update status and the update's final statuses, read from the state
    /// file (no command runs, so nothing but the emulator moves it).
    fn update_statuses(&self) -> Vec<String> {
        let Ok(state) = aurora_sim::State::load(&self.state_dir.join("state.json")) else {
            return Vec::new();
        };
        state
            .updates
            .iter()
            .map(|u| u.status().to_string())
            .collect()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self
            .cmd_in(self.dir.path())
            .args(["sim", "stop", "--state"])
            .arg(&self.state_dir)
            .timeout(Duration::from_secs(60))
            .output();
        // Last resort, so a broken stop leaks nothing: the pid this world's emulator recorded.
        if self.state_held()
            && let Some(pid) = self.address().and_then(|a| a["pid"].as_u64())
            && pid > 1
            && pid != u64::from(std::process::id())
        {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
    }
}

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
