//! The exact bytes Aurora's own client sends (`fixtures/wire/`, produced with Aurora 0.22's
//! client conversion code) against the emulator, with replies compared to the recorded ones.
//! Raw HTTP on purpose: these are wire-level checks.

use aurora_sim::SimConfig;
use aurora_thrift::types::{Response, ResponseCode, Result as ApiResult};
use aurora_thrift::wire::{IncomingCall, decode_reply};

use crate::common::*;

const BINARY: &str = "application/vnd.apache.thrift.binary";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../fixtures/wire/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Posts a fixture CALL and decodes the REPLY.
fn send(env: &Env, request: &str) -> Response {
    let body = fixture(request);
    let call = IncomingCall::parse(&body).expect("fixture is a CALL");
    let (method, seq) = (call.method.clone(), call.seq);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .post(&format!("{}/api", env.sim.url()))
        .header("Content-Type", BINARY)
        .header("Accept", BINARY)
        .send(&body[..])
        .expect("http");
    assert_eq!(resp.status().as_u16(), 200);
    let bytes = resp.body_mut().read_to_vec().expect("body");
    decode_reply(&method, seq, &bytes).expect("REPLY")
}

/// The `Response` inside a recorded REPLY fixture.
fn recorded(reply: &str) -> Response {
    // Recorded replies are named `<method>.reply.<case>.bin` and carry sequence id 0.
    let bytes = fixture(reply);
    let method = reply.split('.').next().unwrap_or_default();
    decode_reply(method, 0, &bytes).expect("recorded reply")
}

#[test]
fn aurora_clients_create_job_and_replies_match_the_recordings() {
    let env = env();
    assert_eq!(
        send(&env, "hello_world.createJob.request.bin"),
        recorded("createJob.reply.ok.bin")
    );
    assert_eq!(
        send(&env, "hello_world.createJob.request.bin"),
        recorded("createJob.reply.invalid_request_job_exists.bin")
    );
    env.advance_secs(10);
    // The same config as an update is a no-op (population makes them equal).
    assert_eq!(
        send(&env, "hello_world.startJobUpdate.request.bin"),
        recorded("startJobUpdate.reply.ok_noop.bin")
    );
    let diff = send(&env, "hello_world.getJobUpdateDiff.request.bin");
    match diff.result {
        Some(ApiResult::GetJobUpdateDiffResult(d)) => {
            assert!(d.add.unwrap_or_default().is_empty());
            assert!(d.update.unwrap_or_default().is_empty());
            assert_eq!(d.unchanged.unwrap_or_default().len(), 1);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn tier_configs_match_the_recording() {
    let env = env();
    assert_eq!(
        send(&env, "getTierConfigs.request.bin"),
        recorded("getTierConfigs.reply.ok.bin")
    );
}

#[test]
fn kill_during_an_update_matches_the_recording() {
    let env = env();
    send(&env, "hello_world.createJob.request.bin");
    env.advance_secs(10);
    // Change the config through the typed client to start a real update.
    let configs = env
        .client
        .get_jobs(Some("www-data"))
        .expect("getJobs")
        .value
        .configs
        .unwrap_or_default();
    let mut t = configs
        .into_iter()
        .next()
        .and_then(|j| j.task_config)
        .expect("config");
    t.priority = Some(1);
    env.start_update(&request(t, 1, settings(1, 60_000)));
    assert_eq!(
        send(&env, "killTasks.request.all.bin"),
        recorded("killTasks.reply.job_updating_error.bin")
    );
}

#[test]
fn docker_jobs_follow_the_container_flags() {
    let env = env();
    let r = send(&env, "docker_app.createJob.request.bin");
    assert_eq!(r.response_code, Some(ResponseCode::INVALID_REQUEST));
    let env = env_with(SimConfig {
        allowed_container_types: ["MESOS".to_string(), "DOCKER".to_string()]
            .into_iter()
            .collect(),
        allow_docker_parameters: true,
        ..SimConfig::for_tests()
    });
    let r = send(&env, "docker_app.createJob.request.bin");
    assert_eq!(r.response_code, Some(ResponseCode::OK), "{r:?}");
    let r = send(&env, "hello_docker_image.createJob.request.bin");
    assert_eq!(r.response_code, Some(ResponseCode::OK), "{r:?}");
}

#[test]
fn aurora_clients_update_start_and_retry_match_the_recordings() {
    let env = env();
    let mut hello: aurora_thrift::types::JobConfiguration =
        aurora_thrift::wire::decode_struct(&fixture("hello_world.job_configuration.bin"))
            .expect("JobConfiguration");
    // Two instances live, so the client's one-instance update is not a no-op.
    hello.instance_count = Some(2);
    env.client.create_job(&hello).expect("createJob");
    env.advance_secs(10);

    let started = send(&env, "hello_world.startJobUpdate.request.bin");
    let expected = recorded("startJobUpdate.reply.ok.bin");
    assert_eq!(started.response_code, expected.response_code);
    assert_eq!(started.details, expected.details);
    let summary = |r: &Response| match &r.result {
        Some(ApiResult::StartJobUpdateResult(s)) => s.update_summary.clone().expect("summary"),
        other => panic!("unexpected {other:?}"),
    };
    let (ours, theirs) = (summary(&started), summary(&expected));
    assert_eq!(ours.user, theirs.user);
    assert_eq!(ours.metadata, theirs.metadata);
    assert_eq!(ours.state, None, "built from the request, no state");

    // The client retrying the same request: INVALID_REQUEST carrying the update in progress,
    // whose metadata has the same update_id.
    let retry = send(&env, "hello_world.startJobUpdate.request.bin");
    let expected = recorded("startJobUpdate.reply.invalid_request_update_in_progress.bin");
    assert_eq!(retry.response_code, expected.response_code);
    assert_eq!(retry.details, expected.details);
    let (ours, theirs) = (summary(&retry), summary(&expected));
    assert_eq!(ours.metadata, theirs.metadata);
    assert_eq!(
        ours.state.and_then(|s| s.status),
        theirs.state.and_then(|s| s.status)
    );
}
