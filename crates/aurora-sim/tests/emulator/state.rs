//! The JSON state file: state survives restarts (an embedded `sim://PATH` emulator between
//! CLI runs), writes are atomic, and a broken file is an error, not a crash.

use aurora_api::types::{JobKey, JobUpdateQuery, JobUpdateStatus};
use aurora_sim::{Sim, SimConfig, SimError};

use crate::common::*;

fn cfg(path: &std::path::Path) -> SimConfig {
    SimConfig {
        state_file: Some(path.to_path_buf()),
        ..SimConfig::for_tests()
    }
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let k = key("kept");
    let cron_key = JobKey {
        name: Some("nightly".to_string()),
        ..key("x")
    };
    let update_key;
    {
        let env = env_with(cfg(&path));
        running_job(&env, &k, 2);
        let mut c = job(&cron_key, 1);
        c.task_config.as_mut().expect("task").is_service = Some(false);
        c.task_config.as_mut().expect("task").job = Some(cron_key.clone());
        c.cron_schedule = Some("0 3 1 JAN *".to_string());
        env.client.schedule_cron_job(&c).expect("cron");
        update_key = env.start_update(&request(
            with_metadata(task(&k), "version", "2"),
            2,
            settings(1, 1_000),
        ));
        env.sim.shutdown();
    }
    // The file is plain JSON with the Thrift structs as base64.
    let text = std::fs::read_to_string(&path).expect("state file");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["version"], 1);
    assert!(v["tasks"].as_object().is_some_and(|t| t.len() >= 2));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left behind");

    let env = env_with(cfg(&path));
    assert_eq!(env.active(&k).len(), 2);
    let jobs = env
        .client
        .get_jobs(None)
        .expect("getJobs")
        .value
        .configs
        .unwrap_or_default();
    assert_eq!(jobs.len(), 2);
    assert!(
        jobs.iter()
            .any(|j| j.cron_schedule.as_deref() == Some("0 3 1 JAN *"))
    );
    // The update continues where it stopped.
    assert!(env.step_until(120, |e| e.update_status(&update_key)
        == JobUpdateStatus::ROLLED_FORWARD));
    let summaries = env
        .client
        .get_job_update_summaries(&JobUpdateQuery::default())
        .expect("summaries")
        .value
        .update_summaries
        .unwrap_or_default();
    assert_eq!(summaries.len(), 1);
}

#[test]
fn every_change_is_written_before_the_reply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let env = env_with(cfg(&path));
    env.client
        .create_job(&job(&key("a"), 1))
        .expect("createJob");
    // Read the file while the emulator still runs (as another CLI process would).
    let state: aurora_sim::State =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("file")).expect("state");
    assert_eq!(state.tasks.len(), 1);
}

#[test]
fn a_broken_state_file_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    std::fs::write(&path, "{ not json").expect("write");
    match Sim::start(cfg(&path)) {
        Err(SimError::State(_)) => {}
        other => panic!("expected a state error, got {other:?}"),
    }
    std::fs::write(
        &path,
        r#"{"version": 99, "tasks": {}, "crons": {}, "updates": [], "seq": 0, "now_ms": 0}"#,
    )
    .expect("write");
    assert!(matches!(Sim::start(cfg(&path)), Err(SimError::State(_))));
}

#[test]
fn one_emulator_per_state_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let first = Sim::start(cfg(&path)).expect("first");
    match Sim::start(cfg(&path)) {
        Err(SimError::StateInUse { .. }) => {}
        other => panic!("expected StateInUse, got {other:?}"),
    }
    first.shutdown();
    Sim::start(cfg(&path)).expect("free again").shutdown();
}
