//! The `aurora-sim serve` binary: Aurora's flag names (single-dash spelling too), port 0
//! printing the bound address, the seed's executor config, clean shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::*;
use crate::validation::COMPOSE_EXECUTOR;

#[test]
fn serve_with_aurora_flags_prints_address_and_shuts_down_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let executors = dir.path().join("executors.json");
    std::fs::write(&executors, COMPOSE_EXECUTOR).expect("write");
    let state = dir.path().join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_aurora-sim"))
        .arg("serve")
        .arg("--listen=127.0.0.1:0")
        .arg(format!("-custom_executor_config={}", executors.display()))
        .arg("-enable_mesos_fetcher=true")
        .arg("-cluster_name=simcluster")
        .arg(format!("--state-file={}", state.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("line");
    let url = line
        .trim()
        .strip_prefix("aurora-sim listening on ")
        .expect("address line")
        .to_string();
    assert!(!url.ends_with(":0"), "the bound port is printed: {url}");

    let client = client_for(&url);
    let k = key("compose");
    let mut t = task(&k);
    t.executor_config = Some(aurora_thrift::types::ExecutorConfig {
        name: Some("docker-compose-executor".to_string()),
        data: Some("{}".to_string()),
    });
    let r = client.create_job(&job_with(&k, 1, t)).expect("accepted");
    assert_eq!(
        r.server_info.and_then(|s| s.cluster_name).as_deref(),
        Some("simcluster")
    );

    let resp = ureq::post(&format!("{url}/sim/shutdown")).send(&b""[..]);
    assert!(resp.is_ok());
    let status = child.wait().expect("exit");
    assert!(status.success());
    assert!(state.exists(), "state written");
}

#[test]
fn a_bad_executor_config_fails_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let executors = dir.path().join("executors.json");
    std::fs::write(&executors, r#"[{"executor": {"name": "x"}}]"#).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_aurora-sim"))
        .arg("serve")
        .arg("--listen=127.0.0.1:0")
        .arg(format!("-custom_executor_config={}", executors.display()))
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Failed to read executor settings"));
}
