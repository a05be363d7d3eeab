//! The JSON state file: state survives restarts (an embedded `sim://PATH` emulator between
//! CLI runs), writes are atomic, and a broken file is an error, not a crash.

use std::time::Duration;

use aurora_sim::{Sim, SimConfig, SimError};
use aurora_thrift::types::{JobKey, JobUpdateQuery, JobUpdateStatus, ScheduleStatus};

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

/// A shared emulator's clock (`catch_up_when_idle`): at its scale while something is in
/// motion, standing still while the wall clock catches up otherwise, and never stepping back
/// across a restart.
#[test]
fn idle_clock_catches_up_with_the_wall_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let config = || SimConfig {
        state_file: Some(path.clone()),
        clock: aurora_sim::ClockMode::Scaled(1000.0),
        catch_up_when_idle: true,
        ..SimConfig::default()
    };
    let env = env_with(config());
    let wall = || {
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_millis(),
        )
        .expect("fits")
    };
    // Nothing in motion: at 1000× a few calls would put the clock seconds ahead; caught up
    // it follows the wall clock.
    for _ in 0..20 {
        env.client.get_jobs(None).expect("getJobs");
    }
    let lead = env.sim.now_ms() - wall();
    assert!(lead < 1_000, "idle clock ran ahead by {lead} ms");
    // A job in motion runs at the scale: three 1 s transitions take milliseconds.
    let k = key("paced");
    env.client.create_job(&job(&k, 1)).expect("createJob");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !env.all_active(&k, 1, ScheduleStatus::RUNNING) {
        assert!(std::time::Instant::now() < deadline, "tasks never ran");
    }
    assert_eq!(env.active(&k).len(), 1);
    let activity = env.sim.activity();
    assert!(!activity.in_motion);
    // Now ahead by what the scale explains (about 3 s), and standing still.
    let a = env.sim.now_ms();
    let b = env.sim.now_ms();
    assert_eq!(a, b, "an idle clock ahead of the wall clock stands still");
    let lead = a - wall();
    // (Up to a minute more if this machine is slow to answer.)
    assert!((1_000..60_000).contains(&lead), "lead {lead} ms");
    env.sim.shutdown();
    let saved: aurora_sim::State =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("file")).expect("state");
    // Restarted: never before the saved time, and no further ahead than it was.
    let env = env_with(config());
    let now = env.sim.now_ms();
    assert!(now >= saved.now_ms, "{now} < saved {}", saved.now_ms);
    assert!(now - wall() <= lead, "lead grew across the restart");
    assert_eq!(env.sim.now_ms(), now, "still catching up");
}

/// What a shared emulator's idle rule reads: time since the last call, calls in flight, and
/// updates that roll by themselves (a paused one does not); also over HTTP.
#[test]
fn activity_counts_calls_and_updates_that_roll_by_themselves() {
    let env = env();
    let k = key("busy");
    running_job(&env, &k, 2);
    let activity = env.sim.activity();
    assert_eq!(activity.rolling_updates, 0);
    assert_eq!(activity.calls_in_flight, 0);
    assert!(activity.idle_ms < 60_000);
    assert!(!activity.is_idle_for(Duration::from_secs(60)));
    assert!(activity.is_idle_for(Duration::ZERO));
    let update = env.start_update(&request(
        with_metadata(task(&k), "version", "2"),
        2,
        settings(1, 1_000),
    ));
    let activity = env.sim.activity();
    assert_eq!(activity.rolling_updates, 1);
    assert!(activity.in_motion);
    assert!(
        !activity.is_idle_for(Duration::ZERO),
        "a rolling update keeps it busy"
    );
    env.client.pause_job_update(&update, None).expect("pause");
    assert_eq!(env.sim.activity().rolling_updates, 0);
    env.client.resume_job_update(&update, None).expect("resume");
    assert!(env.step_until(60, |e| e.update_status(&update)
        == JobUpdateStatus::ROLLED_FORWARD));
    assert_eq!(env.sim.activity().rolling_updates, 0);

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .get(format!("{}/sim/activity", env.sim.url()))
        .call()
        .expect("http");
    assert_eq!(resp.status().as_u16(), 200);
    let v: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string().expect("body")).expect("JSON");
    assert_eq!(v["pid"], std::process::id());
    assert_eq!(v["rolling_updates"], 0);
    assert_eq!(v["cluster_name"], "devcluster");
    for field in [
        "now_ms",
        "wall_ms",
        "uptime_ms",
        "idle_ms",
        "calls_in_flight",
    ] {
        assert!(v[field].is_u64() || v[field].is_i64(), "{field}: {v}");
    }
    let mut resp = agent
        .post(format!("{}/sim/touch", env.sim.url()))
        .send(&[][..])
        .expect("http");
    assert_eq!(resp.status().as_u16(), 200);
    let v: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string().expect("body")).expect("JSON");
    assert!(v["idle_ms"].as_u64().is_some_and(|ms| ms < 5_000), "{v}");
    // wait_timeout returns false without a stop request, true after one.
    assert!(!env.sim.wait_timeout(Duration::from_millis(1)));
    let resp = agent
        .post(format!("{}/sim/shutdown", env.sim.url()))
        .send(&[][..])
        .expect("http");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(env.sim.wait_timeout(Duration::from_secs(10)));
}
