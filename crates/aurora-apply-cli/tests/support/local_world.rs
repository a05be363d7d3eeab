//! A temporary copy of the example specs whose `devcluster` is a `sim://` local cluster,
//! for the tests that drive the shared emulator through the binary (`local_sim.rs`,
//! `rollouts.rs`). Each test crate uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn copy_dir(from: &Path, to: &Path) {
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
pub fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn expect_code(out: &Output, want: i32) {
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
pub struct World {
    pub dir: tempfile::TempDir,
    /// The `sim://` folder, absolute.
    pub state_dir: PathBuf,
}

impl World {
    /// The example specs at `time_scale`, stopping after `idle_exit` without calls.
    pub fn new(idle_exit: &str, time_scale: u32) -> World {
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

    pub fn write_clusters(
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

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn hello(&self) -> String {
        self.path("specs/hello.aurora-apply.yaml")
            .to_str()
            .expect("utf-8")
            .to_string()
    }

    /// The binary, run in `cwd` with no terminal and no Aurora config of the machine.
    pub fn cmd_in(&self, cwd: &Path) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("aurora-apply").expect("binary built");
        cmd.current_dir(cwd)
            .env("NO_COLOR", "1")
            .env("AURORA_CONFIG_ROOT", self.path("no-such-config-root"))
            .env("HOME", self.dir.path());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd_in(self.dir.path())
            .args(args)
            .output()
            .expect("runs")
    }

    /// `apply` with fast polling and a bounded wait.
    pub fn apply(&self, args: &[&str]) -> Output {
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
    pub fn hello_then_update(&self, watch: &str) {
        expect_code(&self.apply(&[&self.hello()]), 0);
        let file = self.path("specs/hello.aurora-apply.yaml");
        let yaml = std::fs::read_to_string(&file).expect("read");
        let changed = yaml.replace("cpu: 1,", "cpu: 2,").replace(
            "    instances: 1\n",
            &format!("    instances: 1\n    update: {{ watch: {watch} }}\n"),
        );
        assert_ne!(yaml, changed, "the example changed shape");
        std::fs::write(&file, changed).expect("write");
    }

    pub fn address_file(&self) -> PathBuf {
        self.state_dir.join("state.daemon.json")
    }

    /// The address file, if there is one.
    pub fn address(&self) -> Option<Value> {
        let text = std::fs::read_to_string(self.address_file()).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn pid(&self) -> u64 {
        self.address()
            .and_then(|a| a["pid"].as_u64())
            .expect("an address file with a pid")
    }

    /// Whether an emulator holds the state (the OS drops the lock when it exits).
    pub fn state_held(&self) -> bool {
        let Ok(file) = std::fs::OpenOptions::new()
            .write(true)
            .open(self.state_dir.join("state.json.lock"))
        else {
            return false;
        };
        file.try_lock().is_err()
    }

    /// `sim status -o json` of this world's emulator.
    pub fn sim_status(&self) -> Value {
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
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state_dir.join("state.daemon.log")).unwrap_or_default()
    }

    /// The job's active update status and the update's final statuses, read from the state
    /// file (no command runs, so nothing but the emulator moves it).
    pub fn update_statuses(&self) -> Vec<String> {
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
