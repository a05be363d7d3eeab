//! A rollout as a terminal shows it: the binary runs on a real pseudo-terminal (see
//! `crate::pty`), its output goes through a vt100 screen parser, and the screen is read at
//! several moments while the test moves the emulator's clock by hand.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aurora_sim::ClockMode;

use crate::harness::{World, expect_code, stderr};
use crate::pty::Pty;

const ROWS: u16 = 30;
const COLS: u16 = 120;

/// The binary on a pseudo-terminal of ROWS × COLS, its screen kept up to date.
struct Terminal {
    pty: Pty,
}

impl Terminal {
    fn start(w: &World, args: &[&str]) -> Terminal {
        Terminal {
            pty: Pty::binary(w, args, ROWS, COLS),
        }
    }

    /// The screen, one line per row (a full row is not joined to the next).
    fn contents(&self) -> String {
        self.pty.screen(|screen| {
            screen
                .rows(0, COLS)
                .map(|r| r.trim_end().to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    /// The screen line that shows the job's progress bar, if one is drawn.
    fn bar(&self, job: &str) -> Option<String> {
        self.contents()
            .lines()
            // A bar line starts with its spinner; plan lines start with + ~ -.
            .find(|l| l.contains(job) && l.starts_with(|c: char| !c.is_ascii()))
            .map(|l| l.trim_end().to_string())
    }

    /// Polls the screen until `ready` holds, calling `step` between looks (to move the
    /// emulator's clock); panics with the screen at the deadline.
    fn wait_for(
        &mut self,
        what: &str,
        ready: impl Fn(&Terminal) -> bool,
        mut step: impl FnMut(),
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if ready(self) {
                return self.contents();
            }
            step();
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("timed out waiting for {what}; screen:\n{}", self.contents());
    }

    fn exit_code(&mut self) -> Option<i32> {
        self.pty.exit_code()
    }
}

/// Runs a command without a terminal while moving the manual clock, until it exits.
fn run_driving_clock(w: &World, args: &[&str]) -> std::process::Output {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("aurora-apply"))
        .current_dir(w.dir.path())
        .env("NO_COLOR", "1")
        .env("AURORA_CONFIG_ROOT", w.path("none"))
        .env("HOME", w.dir.path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("status").is_none() {
        assert!(Instant::now() < deadline, "{args:?} did not end");
        w.sim.advance(Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

const JOB: &str = "devcluster/www-data/prod/hello";

#[test]
fn a_rolling_update_on_a_terminal_at_three_moments() {
    let w = World::seed_with_clock(ClockMode::Manual);
    let spec = w.path("specs/hello.aurora-apply.yaml");
    let text = std::fs::read_to_string(&spec).expect("spec");
    let two = text.replace("instances: 1", "instances: 2");
    std::fs::write(&spec, &two).expect("write");
    let spec_arg = spec.to_str().expect("utf-8").to_string();
    let out = run_driving_clock(
        &w,
        &[
            "apply",
            &spec_arg,
            "--auto-approve",
            "--poll-interval",
            "20ms",
        ],
    );
    expect_code(&out, 0);

    std::fs::write(&spec, two.replace("cpu: 1", "cpu: 2")).expect("write");
    let mut term = Terminal::start(
        &w,
        &[
            "apply",
            &spec_arg,
            "--auto-approve",
            "--poll-interval",
            "20ms",
        ],
    );

    // 1. The update has started, no instance is done yet: the bar says so, and while the
    //    scheduler shows no progress the spinner and the clock still move.
    let first = term.wait_for(
        "the bar at 0/2",
        |t| {
            t.bar(JOB)
                .is_some_and(|b| b.contains("0/2 updated · ROLLING_FORWARD"))
        },
        || {},
    );
    let frozen = term.bar(JOB).expect("bar");
    term.wait_for(
        "the bar to redraw with no progress",
        |t| {
            t.bar(JOB)
                .is_some_and(|b| b != frozen && b.contains("0/2 updated"))
        },
        || {},
    );
    assert!(first.contains("Plan: 1 to update, 0 unchanged"), "{first}");

    // 2. One instance done.
    let sim = &w.sim;
    let second = term.wait_for(
        "the bar at 1/2",
        |t| {
            t.bar(JOB)
                .is_some_and(|b| b.contains("1/2 updated · ROLLING_FORWARD"))
        },
        || sim.advance(Duration::from_millis(500)),
    );
    let bar = term.bar(JOB).expect("bar");
    assert!(
        bar.contains("[============"),
        "half the bar is filled: {bar}"
    );

    // 3. Rolled forward: the bar is gone, the outcome line and the verdict are there.
    let last = term.wait_for(
        "the end of the apply",
        |t| t.contents().contains("Apply finished"),
        || sim.advance(Duration::from_millis(500)),
    );
    assert!(term.bar(JOB).is_none(), "{last}");
    assert!(last.contains(&format!("{JOB}: done: update ")), "{last}");
    assert!(last.contains("rolled forward"), "{last}");
    assert!(
        last.contains("Apply finished: 1 of 1 job(s) as specified (exit 0)."),
        "{last}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while term.exit_code().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(term.exit_code(), Some(0), "{last}");
    // For the closing note: the screen at the three moments.
    println!("--- moment 1 ---\n{first}\n--- moment 2 ---\n{second}\n--- moment 3 ---\n{last}");
}

#[test]
fn without_a_terminal_each_state_change_is_one_line() {
    let w = World::seed();
    let spec = w.path("specs/hello.aurora-apply.yaml");
    let spec_arg = spec.to_str().expect("utf-8").to_string();
    let out = w.run(&["apply", &spec_arg, "--auto-approve"]);
    expect_code(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{JOB}: 1/1 instances running, 0 not yet")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{JOB}: done: 1 instance(s) running")),
        "{err}"
    );
    std::fs::write(
        &spec,
        std::fs::read_to_string(&spec)
            .expect("spec")
            .replace("cpu: 1", "cpu: 2"),
    )
    .expect("write");
    let out = w.run(&["apply", &spec_arg, "--auto-approve"]);
    expect_code(&out, 0);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with(JOB)).collect();
    assert!(
        lines.contains(&format!("{JOB}: ROLLING_FORWARD, 0/1 instances updated").as_str())
            && lines.contains(&format!("{JOB}: ROLLED_FORWARD, 1/1 instances updated").as_str()),
        "{err}"
    );
    // One line per change: no line repeats.
    let mut seen = std::collections::BTreeSet::new();
    for line in &lines {
        assert!(seen.insert(*line), "repeated: {line}\n{err}");
    }
    // No escape codes and no bar without a terminal.
    assert!(!err.contains('\u{1b}') && !err.contains(" · "), "{err}");
}
