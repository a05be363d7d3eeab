//! Staged multi-cluster rollout (issue 13, part 4): the project file's stages, through the
//! binary, against three emulators on real HTTP — one per `sim://`-style cluster.

use std::path::PathBuf;
use std::process::Output;

use aurora_sim::SimHandle;
use serde_json::Value;

use crate::harness::{expect_code, stderr, stdout};

const CLUSTERS: [&str; 3] = ["canary", "east", "west"];

/// Three emulators, a clusters.json naming them, a project directory with a spec placing
/// one service in every cluster (`targets:`) and a project file.
struct Stages {
    sims: Vec<(String, SimHandle)>,
    dir: tempfile::TempDir,
}

const SPEC: &str = "\
apiVersion: aurora-apply/v1
jobs:
  - key: canary/www-data/prod/greeter
    kind: service
    instances: 1
    resources: { cpu: 0.25, ram: 64MiB, disk: 64MiB }
    task: { processes: [ { name: greeter, cmdline: CMDLINE } ] }
    METADATA
    targets:
      - cluster: canary
      - cluster: east
        instances: 2
      - cluster: west
";

impl Stages {
    fn new(project: &str) -> Stages {
        let sims: Vec<(String, SimHandle)> = CLUSTERS
            .iter()
            .map(|name| (name.to_string(), crate::harness::start_sim()))
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("project")).expect("mkdir");
        let clusters: Vec<Value> = sims
            .iter()
            .map(|(name, sim)| serde_json::json!({"name": name, "scheduler_uri": sim.url()}))
            .collect();
        let w = Stages { sims, dir };
        w.write(
            "project/clusters.json",
            &serde_json::to_string_pretty(&clusters).expect("json"),
        );
        w.write("project/aurora-apply.yaml", project);
        w.spec("sleep 600", false);
        w
    }

    /// Writes the spec with this command line, and the emulator's failure injection (every
    /// task fails soon after it runs: an update to it rolls back) when `failing`.
    fn spec(&self, cmdline: &str, failing: bool) {
        let metadata = if failing {
            format!(
                "metadata: {{ \"{}\": \"100\" }}",
                aurora_sim::FAIL_AFTER_KEY
            )
        } else {
            String::new()
        };
        self.write(
            "project/greeter.aurora-apply.yaml",
            &SPEC
                .replace("CMDLINE", &format!("\"{cmdline}\""))
                .replace("METADATA", &metadata),
        );
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.dir.path().join(rel), text).expect("write");
    }

    fn project(&self) -> String {
        self.dir
            .path()
            .join("project")
            .to_str()
            .expect("utf-8")
            .to_string()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        crate::harness::run_in(self.dir.path(), &[], args)
    }

    fn sim(&self, cluster: &str) -> &SimHandle {
        &self
            .sims
            .iter()
            .find(|(name, _)| name == cluster)
            .expect("a cluster of the world")
            .1
    }

    fn clear_calls(&self) {
        for (_, sim) in &self.sims {
            sim.clear_calls();
        }
    }

    /// Every call of the cluster's log that could change something: anything but the
    /// reads (`get…`) and `populateJobConfig`, which validates without storing.
    fn writes(&self, cluster: &str) -> Vec<String> {
        self.sim(cluster)
            .calls()
            .into_iter()
            .filter_map(|c| c.method)
            .filter(|m| !m.starts_with("get") && m != "populateJobConfig")
            .collect()
    }

    fn calls(&self, cluster: &str) -> usize {
        self.sim(cluster).calls().len()
    }
}

fn position(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in:\n{text}"))
}

const THREE_STAGES: &str = "\
apiVersion: aurora-apply/v1
rollout:
  stages: [[canary], [east], [west]]
  soak: 300ms
";

#[test]
fn a_failing_canary_halts_the_rollout_and_a_fixed_spec_resumes_it() {
    let w = Stages::new(THREE_STAGES);
    let project = w.project();

    // First rollout: every stage, in order, with a soak between them.
    let out = w.run(&["apply", &project, "--auto-approve"]);
    expect_code(&out, 0);
    let err = stderr(&out);
    let starts = [
        position(&err, "Stage 1/3 (canary): starting"),
        position(&err, "Stage 1: healthy; soaking 300ms"),
        position(&err, "Stage 2/3 (east): starting"),
        position(&err, "Stage 3/3 (west): starting"),
        position(&err, "Rollout finished:"),
    ];
    assert!(starts.windows(2).all(|p| p[0] < p[1]), "{err}");
    for cluster in CLUSTERS {
        assert_eq!(w.writes(cluster), ["createJob"], "{cluster}");
    }

    // A bad release: the canary's update fails and rolls back; nothing is sent to the
    // clusters of the later stages.
    w.spec("sleep 601", true);
    w.clear_calls();
    let out = w.run(&["apply", &project, "--auto-approve"]);
    expect_code(&out, 5);
    let err = stderr(&out);
    assert!(
        err.contains("canary/www-data/prod/greeter: ROLLED BACK"),
        "{err}"
    );
    assert!(err.contains("Rollout halted at stage 1"), "{err}");
    assert!(
        err.contains("Stage 2/3: east — not run\n    east/www-data/prod/greeter: not run"),
        "{err}"
    );
    assert!(
        err.contains("Stage 3/3: west — not run\n    west/www-data/prod/greeter: not run"),
        "{err}"
    );
    assert!(!err.contains("Stage 2/3 (east): starting"), "{err}");
    assert!(w.writes("canary").contains(&"startJobUpdate".to_string()));
    for cluster in ["east", "west"] {
        assert_eq!(
            w.writes(cluster),
            Vec::<String>::new(),
            "{cluster} was written to"
        );
        assert!(w.calls(cluster) > 0, "{cluster} was planned (read)");
    }

    // Fixed: the same apply resumes; every stage rolls forward.
    w.spec("sleep 601", false);
    w.clear_calls();
    let out = w.run(&["apply", &project, "--auto-approve"]);
    expect_code(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("Rollout finished:"), "{err}");
    for cluster in CLUSTERS {
        assert_eq!(w.writes(cluster), ["startJobUpdate"], "{cluster}");
    }
    // In sync everywhere: a re-run is a no-op plan, every stage unchanged.
    let out = w.run(&["plan", &project, "--detailed-exitcode"]);
    expect_code(&out, 0);
}

#[test]
fn the_plan_shows_the_stages_and_records_the_rollout() {
    // Two declared stages: west, in no stage, runs in the implicit last one.
    let w = Stages::new(
        "apiVersion: aurora-apply/v1\nrollout:\n  stages: [[canary], [east]]\n  soak: 10m\n",
    );
    let project = w.project();
    let out = w.run(&["plan", &project]);
    expect_code(&out, 0);
    insta::assert_snapshot!(stdout(&out), @r"
    Plan: 3 to create, 0 unchanged; instances: 4 added.

    Stage 1/3: canary — then soak 10m
    +   canary/www-data/prod/greeter                  create · 1 instance

    Stage 2/3: east — then soak 10m
    +   east/www-data/prod/greeter                    create · 2 instances

    Stage 3/3: west (implicit: clusters no stage names)
    +   west/www-data/prod/greeter                    create · 1 instance
    ");

    let out = w.run(&["plan", &project, "-o", "json"]);
    expect_code(&out, 0);
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("a plan document");
    assert_eq!(plan["format_version"], "1.3");
    let mut rollout = plan["rollout"].clone();
    let file = rollout["file"].take();
    assert!(
        file.as_str()
            .is_some_and(|f| f.ends_with("project/aurora-apply.yaml")),
        "{file}"
    );
    assert_eq!(
        rollout,
        serde_json::json!({
            "file": null,
            "stages": [
                {"clusters": ["canary"]},
                {"clusters": ["east"]},
                {"clusters": ["west"], "implicit": true}
            ],
            "soak_ms": 600_000
        })
    );
    assert!(plan["scope"].get("stage").is_none(), "{}", plan["scope"]);

    // Markdown: a stage column, jobs in stage order.
    let out = w.run(&["plan", &project, "-o", "markdown"]);
    expect_code(&out, 0);
    let md = stdout(&out);
    assert!(
        md.contains("Staged rollout: 3 stage(s), soak 10m between stages."),
        "{md}"
    );
    assert!(
        position(&md, "| 1 | `+` | `canary/www-data/prod/greeter` |")
            < position(&md, "| 3 | `+` | `west/www-data/prod/greeter` |"),
        "{md}"
    );
}

#[test]
fn stage_n_plans_and_applies_one_stage_and_a_saved_plan_keeps_its_stages() {
    let w = Stages::new(THREE_STAGES);
    let project = w.project();

    let out = w.run(&["plan", &project, "--stage", "2"]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with("Partial plan: only stage 2/3 of the rollout (east; --stage 2)."),
        "{text}"
    );
    assert!(
        text.contains("east/www-data/prod/greeter") && !text.contains("canary/"),
        "{text}"
    );
    let out = w.run(&["plan", &project, "--stage", "2", "-o", "json"]);
    expect_code(&out, 0);
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("a plan document");
    assert_eq!(plan["scope"]["stage"], 2);
    let keys: Vec<&str> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["job_key"].as_str())
        .collect();
    assert_eq!(keys, ["east/www-data/prod/greeter"]);

    w.clear_calls();
    let out = w.run(&["apply", &project, "--stage", "2", "--auto-approve"]);
    expect_code(&out, 0);
    assert_eq!(w.writes("east"), ["createJob"]);
    for cluster in ["canary", "west"] {
        assert_eq!(w.calls(cluster), 0, "{cluster} was contacted");
    }

    // No such stage, and no stages at all: usage errors, nothing sent.
    w.clear_calls();
    let out = w.run(&["plan", &project, "--stage", "4"]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("--stage 4: the rollout has 3 stage(s)"),
        "{}",
        stderr(&out)
    );
    let spec = w.path("project/greeter.aurora-apply.yaml");
    let out = w.run(&["plan", spec.to_str().expect("utf-8"), "--stage", "1"]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("--stage needs rollout stages"),
        "{}",
        stderr(&out)
    );
    // The project file beside a spec given by name is not used, and it is said.
    assert!(
        stderr(&out).contains(
            "aurora-apply.yaml is not used: a project file applies when its directory is given"
        ),
        "{}",
        stderr(&out)
    );

    // A saved plan runs with the stages it records.
    let saved = w.path("plan.json");
    let saved = saved.to_str().expect("utf-8");
    expect_code(&w.run(&["plan", &project, "--out", saved]), 0);
    let out = w.run(&["apply", saved]);
    expect_code(&out, 0);
    let err = stderr(&out);
    assert!(
        position(&err, "Stage 1/3 (canary): starting")
            < position(&err, "Stage 3/3 (west): starting"),
        "{err}"
    );
    // East was in sync: its stage is a no-op and does not soak.
    assert!(err.contains("Stage 2/3: nothing to change"), "{err}");
    assert!(!err.contains("Stage 2: healthy; soaking"), "{err}");
    let out = w.run(&["apply", saved, "--stage", "1"]);
    expect_code(&out, 3);
}

#[test]
fn project_file_errors_are_located_and_nothing_is_sent() {
    let w = Stages::new(
        "apiVersion: aurora-apply/v1\nrollout:\n  stages: [[canary], [eas, canary], []]\n",
    );
    let project = w.project();
    w.clear_calls();
    for command in [
        &["plan", &project][..],
        &["apply", &project, "--auto-approve"][..],
    ] {
        let out = w.run(command);
        expect_code(&out, 3);
        let err = stderr(&out);
        for expected in [
            "aurora-apply.yaml:3:23: error: rollout.stages[1][0]: cluster `eas` is not in clusters.json",
            "did you mean `east`?",
            "aurora-apply.yaml:3:28: error: rollout.stages[1][1]: cluster `canary` is listed in more than one place",
            "aurora-apply.yaml:3:37: error: rollout.stages[2]: stage 3 lists no cluster",
        ] {
            assert!(err.contains(expected), "{expected}\n{err}");
        }
    }
    let out = w.run(&["validate", &project]);
    expect_code(&out, 3);

    // A typo and a wrong type, each at its place.
    w.write(
        "project/aurora-apply.yaml",
        "apiVersion: aurora-apply/v1\nrollout:\n  stages: [[canary]]\n  sok: 10m\n",
    );
    let out = w.run(&["plan", &project]);
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("aurora-apply.yaml:4:3: error: rollout.sok: unknown key `sok`")
            && err.contains("did you mean `soak`?"),
        "{err}"
    );
    w.write(
        "project/aurora-apply.yaml",
        "apiVersion: aurora-apply/v1\nrollout:\n  stages: [[canary]]\n  soak: 10\n",
    );
    let out = w.run(&["plan", &project]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("aurora-apply.yaml:4:9:"),
        "{}",
        stderr(&out)
    );

    // Two project files in one directory.
    w.write("project/aurora-apply.yaml", "apiVersion: aurora-apply/v1\n");
    w.write(
        "project/aurora-apply.toml",
        "apiVersion = \"aurora-apply/v1\"\n",
    );
    let out = w.run(&["plan", &project]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("are both project files"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(w.path("project/aurora-apply.toml")).expect("rm");

    // Two directories of two different projects in one run.
    std::fs::create_dir_all(w.path("other")).expect("mkdir");
    w.write("other/aurora-apply.yaml", "apiVersion: aurora-apply/v1\n");
    let other = w.path("other");
    let out = w.run(&["plan", &project, other.to_str().expect("utf-8")]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("project files of two different projects"),
        "{}",
        stderr(&out)
    );

    for cluster in CLUSTERS {
        assert_eq!(w.calls(cluster), 0, "{cluster} was contacted");
    }
}

#[test]
fn a_nested_project_is_noted_and_not_read() {
    // The seed's specs/ holds the worked example specs/multi-cluster, a project of its own.
    let w = crate::harness::World::seed();
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");
    let out = w.run(&["plan", specs, "-o", "json"]);
    expect_code(&out, 0);
    let note = format!(
        "note: {specs}/multi-cluster has its own project file and is a separate project, not read with these specs; run it with `aurora-apply {specs}/multi-cluster`"
    );
    assert!(stderr(&out).contains(&note), "{}", stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("a plan document");
    assert!(
        plan["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .all(|c| c["job_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("devcluster/"))),
        "{plan}"
    );
    assert!(plan.get("rollout").is_none(), "specs/ has no project file");
    let out = w.run(&["validate", specs]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains(&note), "{}", stderr(&out));
}

#[test]
fn apply_json_streams_the_stages() {
    let w = Stages::new(THREE_STAGES);
    let project = w.project();
    let out = w.run(&["apply", &project, "--auto-approve", "-o", "json"]);
    expect_code(&out, 0);
    let events: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let stage_events: Vec<(String, u64)> = events
        .iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("stage_")))
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_string(),
                e["stage"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = [
        ("stage_started", 1),
        ("stage_complete", 1),
        ("stage_soaking", 1),
        ("stage_started", 2),
        ("stage_complete", 2),
        ("stage_soaking", 2),
        ("stage_started", 3),
        ("stage_complete", 3),
    ]
    .iter()
    .map(|(t, n)| (t.to_string(), *n))
    .collect();
    assert_eq!(stage_events, expected);
    let summary = events.last().expect("events");
    assert_eq!(summary["type"], "apply_summary");
    assert_eq!(
        summary["stages"][0]["clusters"],
        serde_json::json!(["canary"])
    );
    assert_eq!(summary["stages"][2]["outcome"], "succeeded");
    assert_eq!(
        summary["stages"][1]["jobs"][0]["job_key"],
        "east/www-data/prod/greeter"
    );
}

#[test]
fn ctrl_c_during_a_soak_ends_the_rollout_with_130_and_no_later_stage() {
    use std::time::{Duration, Instant};
    let w = Stages::new(
        "apiVersion: aurora-apply/v1\nrollout:\n  stages: [[canary], [east], [west]]\n  soak: 1h\n",
    );
    let bin = assert_cmd::cargo::cargo_bin("aurora-apply");
    let mut child = std::process::Command::new(bin)
        .current_dir(w.dir.path())
        .env("NO_COLOR", "1")
        .env("AURORA_CONFIG_ROOT", w.path("none"))
        .env("HOME", w.dir.path())
        .args([&w.project(), "--auto-approve", "--poll-interval", "20ms"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    // Lines arrive on a channel, so every wait below has a deadline.
    let rx = crate::harness::lines_of(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = String::new();
    while !seen.contains("soaking 1h") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
            }
            Err(e) => {
                let _ = child.kill();
                panic!("no soak within the deadline ({e}):\n{seen}");
            }
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    // The soak ends at once: the process exits well before the deadline.
    let code = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after Ctrl-C:\n{seen}");
        }
        std::thread::park_timeout(Duration::from_millis(20));
    };
    // The child has exited: the channel ends with its last line.
    let rest: String = rx.iter().collect::<Vec<_>>().join("\n");
    assert_eq!(code, Some(130), "{seen}{rest}");
    assert!(rest.contains("Rollout interrupted"), "{rest}");
    assert!(rest.contains("Stage 2/3: east — not run"), "{rest}");
    for cluster in ["east", "west"] {
        assert_eq!(w.writes(cluster), Vec::<String>::new(), "{cluster}");
    }
}

#[test]
fn the_worked_example_validates_and_plans_in_stages() {
    // specs/multi-cluster as committed: its own clusters.json (three sim:// clusters), its
    // project file and one service placed in all three by `targets:`.
    let w = crate::harness::World::seed();
    let example = w.specs().join("multi-cluster");
    let example = example.to_str().expect("utf-8");
    let out = w.run(&["validate", example]);
    expect_code(&out, 0);
    assert_eq!(stdout(&out), "3 job(s) valid\n");
    // Planning reads only: a sim:// cluster without state is not started.
    let out = w.run(&["plan", example]);
    expect_code(&out, 0);
    let text = stdout(&out);
    let order = [
        position(&text, "Stage 1/3: canary — then soak 5s"),
        position(&text, "+   canary/www-data/prod/greeter"),
        position(&text, "Stage 2/3: east — then soak 5s"),
        position(&text, "Stage 3/3: west\n"),
        position(&text, "+   west/www-data/prod/greeter"),
    ];
    assert!(order.windows(2).all(|p| p[0] < p[1]), "{text}");
}
