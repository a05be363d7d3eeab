//! The `aurora-apply` binary: exit codes and output of validate, render and schema.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cmd() -> Command {
    let mut c = Command::cargo_bin("aurora-apply").expect("binary");
    c.current_dir(root()).env("NO_COLOR", "1");
    c
}

#[test]
fn validate_the_example_specs() {
    cmd()
        .args(["validate", "specs"])
        .assert()
        .success()
        .stdout(predicate::str::contains("job(s) valid"));
}

#[test]
fn validate_reports_every_problem_with_exit_3() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = dir.path().join("a.aurora.yaml");
    std::fs::write(
        &a,
        "apiVersion: aurora-apply/v1\njobs:\n  - key: c/r/prod/x\n    kind: srvice\n",
    )
    .expect("write");
    let b = dir.path().join("b.aurora.toml");
    std::fs::write(&b, "apiVersion = \"aurora-apply/v1\"\n[[jobs]]\nkey = \"c/r/prod/y\"\nkind = \"adhoc\"\nresources = { cpu = 0, ram = \"1GiB\", disk = \"1GiB\" }\ntask = { processes = [{ name = \"p\", cmdline = \"x\" }] }\n").expect("write");
    cmd()
        .arg("validate")
        .arg(&a)
        .arg(&b)
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "a.aurora.yaml:4:11: error: jobs[0].kind: unknown value `srvice`",
        ))
        .stderr(predicate::str::contains(
            "b.aurora.toml:5:21: error: jobs[0].resources.cpu: num_cpus must be greater than 0.0",
        ))
        .stderr(predicate::str::contains("2 problem(s) found"));
}

#[test]
fn validate_json_gives_diagnostics_as_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = dir.path().join("a.aurora.yaml");
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
        .args(["validate", "-o", "json", "specs"])
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
        .args(["render", "-o", "json", "specs/hello.aurora.yaml"])
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
        .args([
            "render",
            "-o",
            "json",
            "--update",
            "specs/web.aurora.toml",
            "specs/cron.aurora.yaml",
        ])
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
        .args(["render", "specs/hello.aurora.yaml"])
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
    let a = dir.path().join("web.aurora.yaml");
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
