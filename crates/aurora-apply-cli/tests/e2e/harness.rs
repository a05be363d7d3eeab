//! Each test gets a temporary copy of `specs/`, an emulator on an ephemeral port (scaled
//! clock), a clusters.json pointing at it, and a command for the binary.

use std::path::PathBuf;
use std::process::Output;

use aurora_sim::{ClockMode, Sim, SimConfig, SimHandle};

/// The output helpers and file helpers every test binary of this crate shares.
pub use crate::local_world::{code, copy_dir, expect_code, repo, stderr, stdout};

pub struct World {
    pub sim: SimHandle,
    pub dir: tempfile::TempDir,
}

impl World {
    /// The seed's world: compose executor known, fetching on, quota for www-data.
    pub fn seed() -> World {
        World::seed_with_clock(ClockMode::Scaled(200.0))
    }

    /// The seed's world with the emulator's clock chosen (`Manual`: time moves only when
    /// the test calls `sim.advance`).
    pub fn seed_with_clock(clock: ClockMode) -> World {
        World::seed_with(|config| config.clock = clock)
    }

    /// The seed's world with the emulator's settings changed by `configure` (its scheduler
    /// flags: tiers, container types, …).
    pub fn seed_with(configure: impl FnOnce(&mut SimConfig)) -> World {
        let mut config = SimConfig {
            clock: ClockMode::Scaled(200.0),
            enable_mesos_fetcher: true,
            ..SimConfig::default()
        };
        config
            .load_custom_executors(&repo().join("specs/sim/executors.json"))
            .expect("seed executor config loads");
        config.quotas.insert(
            "www-data".into(),
            aurora_sim::Resources::parse("16,32768,65536").expect("quota"),
        );
        configure(&mut config);
        let sim = Sim::start(config).expect("emulator starts");
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(&repo().join("specs"), &dir.path().join("specs"));
        // The copied clusters.json maps devcluster to sim://; point it at this emulator.
        std::fs::write(
            dir.path().join("specs/clusters.json"),
            format!(
                r#"[{{"name": "devcluster", "scheduler_uri": "{}"}}]"#,
                sim.url()
            ),
        )
        .expect("clusters.json");
        World { sim, dir }
    }

    pub fn specs(&self) -> PathBuf {
        self.dir.path().join("specs")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs the binary in the world's directory, with no terminal and fast polling.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(&[], args)
    }

    /// [`World::run`] with environment variables set.
    pub fn run_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        run_in(self.dir.path(), env, args)
    }

    /// Writes a file under the world's directory.
    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).expect("write");
    }

    /// API methods the emulator received, in order.
    pub fn methods(&self) -> Vec<String> {
        self.sim
            .calls()
            .into_iter()
            .filter_map(|c| c.method)
            .collect()
    }
}

/// Runs the binary in `dir` as a test does: no terminal, no colour, no Aurora configuration
/// of the machine, `HOME` in `dir`, and fast polling for `apply`.
pub fn run_in(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("aurora-apply").expect("binary built");
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("AURORA_CONFIG_ROOT", dir.join("no-such-config-root"))
        .env("HOME", dir)
        .envs(env.iter().copied())
        .args(args);
    if args.first() == Some(&"apply") {
        cmd.args(["--poll-interval", "20ms", "--timeout", "60s"]);
    }
    cmd.output().expect("runs")
}

/// An emulator with a scaled clock and quota for `www-data`: one cluster of a
/// multi-cluster world.
pub fn start_sim() -> SimHandle {
    let mut config = SimConfig {
        clock: ClockMode::Scaled(200.0),
        ..SimConfig::default()
    };
    config.quotas.insert(
        "www-data".into(),
        aurora_sim::Resources::parse("16,32768,65536").expect("quota"),
    );
    Sim::start(config).expect("emulator starts")
}

/// The lines of `reader` (a child's stdout or stderr) as they come, on a channel, so a test
/// can wait for one with a deadline.
pub fn lines_of(reader: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead as _;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
