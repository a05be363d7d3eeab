//! The `aurora-apply` binary: exit codes and output of validate, render and schema.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A path of the repository's example specs.
fn example(rel: &str) -> PathBuf {
    root().join("specs").join(rel)
}

fn cmd() -> Command {
    let mut c = Command::cargo_bin("aurora-apply").expect("binary");
    // No clusters.json of this machine's (or the repository's specs/) takes part.
    // The working directory is an empty folder of its own (no ./specs/clusters.json).
    let isolated = std::env::temp_dir().join("aurora-apply-cli-tests-nowhere");
    std::fs::create_dir_all(&isolated).expect("mkdir");
    c.current_dir(&isolated)
        .env("NO_COLOR", "1")
        .env("HOME", &isolated)
        .env("AURORA_CONFIG_ROOT", &isolated);
    c
}

#[test]
fn validate_the_example_specs() {
    cmd()
        .arg("validate")
        .arg(example(""))
        .assert()
        .success()
        .stdout(predicate::str::contains("job(s) valid"));
}

#[test]
fn validate_reports_every_problem_with_exit_3() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = dir.path().join("a.aurora-apply.yaml");
    std::fs::write(
        &a,
        "apiVersion: aurora-apply/v1\njobs:\n  - key: c/r/prod/x\n    kind: srvice\n",
    )
    .expect("write");
    let b = dir.path().join("b.aurora-apply.toml");
    std::fs::write(&b, "apiVersion = \"aurora-apply/v1\"\n[[jobs]]\nkey = \"c/r/prod/y\"\nkind = \"adhoc\"\nresources = { cpu = 0, ram = \"1GiB\", disk = \"1GiB\" }\ntask = { processes = [{ name = \"p\", cmdline = \"x\" }] }\n").expect("write");
    cmd()
        .arg("validate")
        .arg(&a)
        .arg(&b)
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "a.aurora-apply.yaml:4:11: error: jobs[0].kind: unknown value `srvice`",
        ))
        .stderr(predicate::str::contains(
            "b.aurora-apply.toml:5:21: error: jobs[0].resources.cpu: num_cpus must be greater than 0.0",
        ))
        .stderr(predicate::str::contains("2 problem(s) found"));
}

#[test]
fn validate_json_gives_diagnostics_as_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = dir.path().join("a.aurora-apply.yaml");
    std::fs::write(
        &a,
        "apiVersion: aurora-apply/v1\njobs:\n  - key: c/r/prod/x\n    kind: srvice\n",
    )
    .expect("write");
    let out = cmd()
        .args(["validate", "-o", "json"])
        .arg(&a)
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["valid"], false);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "aurora_spec::invalid_value");
    assert_eq!(d["path"], "jobs[0].kind");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(4), Some(11))
    );
    assert!(d["help"].as_str().is_some_and(|h| h.contains("service")));

    let ok = cmd()
        .args(["validate", "-o", "json"])
        .arg(example(""))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&ok).expect("json");
    assert_eq!(v["valid"], true);
    assert!(v["jobs"].as_array().is_some_and(|j| j.len() >= 5));
}

#[test]
fn render_json_is_an_array_of_job_configurations() {
    let out = cmd()
        .args(["render", "-o", "json"])
        .arg(example("hello.aurora-apply.yaml"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let jobs = v.as_array().expect("array");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["key"]["name"], "hello");
    assert!(jobs[0]["taskConfig"]["executorConfig"]["data"].is_string());
}

#[test]
fn render_update_gives_the_update_requests_of_services() {
    let out = cmd()
        .args(["render", "-o", "json", "--update"])
        .arg(example("web.aurora-apply.toml"))
        .arg(example("cron.aurora-apply.yaml"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let all = v.as_array().expect("array");
    assert_eq!(all.len(), 1, "the cron job has no update request");
    assert_eq!(all[0]["instanceCount"], 4);
    assert_eq!(
        all[0]["settings"]["updateStrategy"]["batchStrategy"]["groupSize"],
        2
    );
}

#[test]
fn render_text_expands_executor_data() {
    cmd()
        .arg("render")
        .arg(example("hello.aurora-apply.yaml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("# devcluster/www-data/prod/hello"))
        .stdout(predicate::str::contains("\"health_check_config\""));
}

#[test]
fn schema_prints_the_committed_schema() {
    let out = cmd()
        .arg("schema")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let committed =
        std::fs::read(root().join("schema/aurora-apply.v1.json")).expect("committed schema");
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&committed)
    );
}

#[test]
fn missing_path_is_invalid_input() {
    cmd()
        .args(["validate", "does/not/exist.yaml"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no such file"));
}

#[test]
fn validate_stderr_is_pinned() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = dir.path().join("web.aurora-apply.yaml");
    std::fs::write(
        &a,
        "apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/prod/web\n    kind: service\n    resources: { cpu: 1, ram: 1GiB, disk: 1GiB, cpus: 2 }\n    task: { processes: [{ name: web, cmdline: ./server }] }\n  - key: devcluster/www-data/production/api\n    kind: cron\n    cron: { schedule: '0 0 * * 7' }\n    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }\n    task: { processes: [{ name: api, cmdline: ./api }] }\n",
    )
    .expect("write");
    let out = cmd()
        .arg("validate")
        .arg(&a)
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    let text = String::from_utf8_lossy(&out).replace(&dir.path().display().to_string(), "[TMP]");
    insta::assert_snapshot!(text);
}

/// The command names, read from the top-level help (so a new command is covered).
fn command_names() -> Vec<String> {
    let out = cmd()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out).into_owned();
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A command's line is indented by two; wrapped descriptions by more.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|n| n != "help")
        .collect()
}

fn help_of(command: &str) -> String {
    let out = cmd()
        .args([command, "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn every_help_has_examples_and_the_top_level_names_the_bare_form() {
    let names = command_names();
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        let help = help_of(name);
        let examples = help
            .lines()
            .skip_while(|l| *l != "Examples:")
            .skip(1)
            .filter(|l| l.trim_start().starts_with("aurora-apply "))
            .count();
        assert!(
            examples >= 2,
            "`{name} --help` has {examples} example(s):\n{help}"
        );
    }
    let top =
        String::from_utf8_lossy(&cmd().arg("--help").output().expect("runs").stdout).into_owned();
    assert!(
        top.contains("`aurora-apply PATH...` (a spec file or directory instead of a command) means `aurora-apply apply"),
        "{top}"
    );
}

#[test]
fn each_command_lists_only_the_options_it_uses() {
    let options = |name: &str| -> Vec<String> {
        help_of(name)
            .split_whitespace()
            .filter(|w| w.starts_with("--"))
            .map(|w| w.trim_end_matches([',', '.', ')']).to_string())
            .collect()
    };
    for (command, absent) in [
        (
            "kill",
            &[
                "--prune",
                "--adopt",
                "--allow-mass-prune",
                "--allow-destroy",
                "--allow-foreign",
                "--no-wait",
            ][..],
        ),
        (
            "status",
            &[
                "--prune",
                "--adopt",
                "--allow-mass-prune",
                "--auto-approve",
                "--jobs",
            ],
        ),
        (
            "update",
            &[
                "--prune",
                "--adopt",
                "--parallelism",
                "--auto-approve",
                "--allow-foreign",
            ],
        ),
        (
            "destroy",
            &["--prune", "--adopt", "--allow-mass-prune", "--scope"],
        ),
        ("render", &["--clusters", "--ca-file", "--prune"]),
        ("schema", &["--clusters", "--ca-file"]),
        ("completions", &["--clusters", "--ca-file"]),
        ("man", &["--clusters", "--ca-file"]),
        ("validate", &["--ca-file", "--prune"]),
    ] {
        let listed = options(command);
        for option in absent {
            assert!(
                !listed.iter().any(|o| o == option),
                "`{command} --help` offers {option}"
            );
        }
    }
    let apply = options("apply");
    for option in [
        "--prune",
        "--adopt",
        "--allow-mass-prune",
        "--allow-foreign",
        "--clusters",
        "--ca-file",
        "--timeout",
    ] {
        assert!(apply.iter().any(|o| o == option), "apply lacks {option}");
    }
    assert!(
        options("destroy").iter().any(|o| o == "--allow-foreign"),
        "destroy lacks --allow-foreign"
    );
    assert!(
        !options("plan").iter().any(|o| o == "--allow-foreign"),
        "plan refuses nothing, so it takes no --allow-foreign"
    );
}

#[test]
fn a_mistyped_command_gets_did_you_mean_and_the_usage_exit_code() {
    for (typo, meant) in [("aplly", "apply"), ("plna", "plan"), ("stauts", "status")] {
        cmd()
            .args([typo, "x"])
            .assert()
            .code(3)
            .stderr(predicate::str::contains(format!(
                "unrecognized subcommand '{typo}'"
            )))
            .stderr(predicate::str::contains("similar subcommand"))
            .stderr(predicate::str::contains(format!("'{meant}'")));
    }
    // Also after options, which are skipped with their values.
    cmd()
        .args(["--color", "never", "plna"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "similar subcommand exists: 'plan'",
        ));
    // Neither a command nor a path: clap says so, no spec loading is attempted.
    cmd()
        .args(["killall", "x"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "unrecognized subcommand 'killall'",
        ));
    // Meant as a path, but missing.
    cmd()
        .arg("specs/nope.aurora-apply.yaml")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "specs/nope.aurora-apply.yaml: no such file or directory (and not a command",
        ));
}

#[test]
fn a_folder_without_spec_files_is_invalid_input_for_every_command() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("clusters.json"), "[]").expect("write");
    for command in ["validate", "render", "plan", "apply", "status", "destroy"] {
        cmd()
            .arg(command)
            .arg(dir.path())
            .assert()
            .code(3)
            .stderr(predicate::str::contains(format!(
                "no spec files in {}",
                dir.path().display()
            )));
    }
    // The bare form too.
    cmd()
        .arg(dir.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no spec files in"));
}

#[test]
fn validate_checks_cluster_names_against_the_clusters_file_it_finds() {
    let dir = tempfile::tempdir().expect("tmp");
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).expect("mkdir");
    let spec = "apiVersion: aurora-apply/v1\njobs:\n  - key: devclustr/www-data/prod/x\n    kind: adhoc\n    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }\n    task: { processes: [{ name: a, cmdline: x }] }\n";
    std::fs::write(specs.join("x.aurora-apply.yaml"), spec).expect("write");
    // No clusters.json anywhere: nothing can be said offline.
    cmd().arg("validate").arg(&specs).assert().success();
    std::fs::write(
        specs.join("clusters.json"),
        r#"[{"name": "devcluster", "scheduler_uri": "http://127.0.0.1:1"}]"#,
    )
    .expect("write");
    cmd()
        .arg("validate")
        .arg(&specs)
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "x.aurora-apply.yaml:3:10: error: jobs[0].key: unknown cluster `devclustr`",
        ))
        .stderr(predicate::str::contains("did you mean `devcluster`?"));
    // The same from the folder above with a relative path (./specs/clusters.json).
    cmd()
        .current_dir(dir.path())
        .args(["validate", "specs/x.aurora-apply.yaml", "-o", "json"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("aurora_spec::unknown_cluster"));
    // An explicit file that lacks the name: also reported.
    let other = dir.path().join("other.json");
    std::fs::write(
        &other,
        r#"[{"name": "west", "scheduler_uri": "http://h:1"}]"#,
    )
    .expect("write");
    cmd()
        .arg("validate")
        .arg(&specs)
        .arg("--clusters")
        .arg(&other)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("known clusters: west"));
}
