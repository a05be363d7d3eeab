//! HTTP behaviour (reference §2): content types, Thrift exceptions, leader redirects, 503,
//! transient errors, dropped connections, latency, the call log and the admin API. Raw HTTP
//! (ureq) is used only where the behaviour sits below the `aurora-api` client.

use std::time::{Duration, Instant};

use aurora_api::error::ApiError;
use aurora_sim::{CallRecord, FaultPatch, FaultSettings, SimConfig};
use aurora_thrift::types::{GetTierConfigsCall, ResponseCode};
use aurora_thrift::wire::{WireError, decode_reply, encode_call};

use crate::common::*;

const BINARY: &str = "application/vnd.apache.thrift.binary";

fn raw_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// POSTs `body` with a content type (None = no header); returns status and body.
fn post(url: &str, content_type: Option<&str>, body: &[u8]) -> (u16, Vec<u8>) {
    let agent = raw_agent();
    let mut req = agent.post(url).header("Accept", BINARY);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    let mut resp = req.send(body).expect("http");
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_vec().unwrap_or_default();
    (status, body)
}

fn get(url: &str) -> (u16, String) {
    let mut resp = raw_agent().get(url).call().expect("http");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

/// POSTs with explicit Content-Type and Accept headers; returns status, reply type, body.
fn post_with(
    url: &str,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let agent = raw_agent();
    let mut req = agent.post(url);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    let mut resp = req.send(body).expect("http");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("Content-Type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        status,
        ct,
        resp.body_mut().read_to_vec().unwrap_or_default(),
    )
}

#[test]
fn content_types_are_answered_as_the_scheduler_does() {
    const JSON: &str = "application/vnd.apache.thrift.json";
    let env = env();
    let api = format!("{}/api", env.sim.url());
    let binary_call = encode_call("getTierConfigs", 7, &GetTierConfigsCall::default());
    // Binary in, binary out.
    let (status, ct, body) = post_with(&api, Some(BINARY), Some(BINARY), &binary_call);
    assert_eq!((status, ct.as_str()), (200, BINARY));
    let r = decode_reply("getTierConfigs", 7, &body).expect("reply");
    assert_eq!(r.response_code, Some(ResponseCode::OK));
    // Binary in, any other Accept: TJSON out.
    let (status, ct, body) = post_with(&api, Some(BINARY), None, &binary_call);
    assert_eq!((status, ct.as_str()), (200, JSON));
    assert!(
        String::from_utf8_lossy(&body)
            .starts_with(r#"[1,"getTierConfigs",2,7,{"0":{"rec":{"1":{"i32":1}"#)
    );
    // TJSON in, for every content type the scheduler reads as TJSON (absent included).
    let json_call =
        aurora_sim::tjson::encode_call("getTierConfigs", 3, &GetTierConfigsCall::default());
    for ct in [
        None,
        Some("application/x-thrift"),
        Some("application/json"),
        Some("application/vnd.apache.thrift.json"),
        Some("application/vnd.apache.thrift.json; charset=utf-8"),
    ] {
        let (status, reply_ct, body) = post_with(&api, ct, Some(BINARY), &json_call);
        assert_eq!((status, reply_ct.as_str()), (200, BINARY), "{ct:?}");
        let r = decode_reply("getTierConfigs", 3, &body).expect("reply");
        assert_eq!(r.response_code, Some(ResponseCode::OK));
    }
    // Anything else: 415.
    for ct in ["application/json; charset=utf-8", "text/plain"] {
        let (status, _, body) = post_with(&api, Some(ct), None, &json_call);
        assert_eq!(status, 415, "{ct}");
        assert_eq!(
            String::from_utf8_lossy(&body),
            format!("Unsupported Content-Type: {ct}")
        );
    }
    // A TJSON document that is not a message: HTTP 500.
    let (status, _, _) = post_with(&api, Some("application/json"), None, b"{\"no\": 1}");
    assert_eq!(status, 500);
}

#[test]
fn a_tjson_client_can_create_and_kill_jobs() {
    let env = env();
    let api = format!("{}/api", env.sim.url());
    let k = key("tjson");
    let create = aurora_sim::tjson::encode_call(
        "createJob",
        1,
        &aurora_thrift::types::CreateJobCall {
            description: Some(job(&k, 2)),
        },
    );
    let (status, ct, body) = post_with(&api, Some("application/x-thrift"), None, &create);
    assert_eq!(
        (status, ct.as_str()),
        (200, "application/vnd.apache.thrift.json")
    );
    assert_eq!(
        String::from_utf8_lossy(&body),
        r#"[1,"createJob",2,1,{"0":{"rec":{"1":{"i32":1},"5":{"rec":{"1":{"str":"devcluster"},"3":{"str":""}}},"6":{"lst":["rec",0]}}}}]"#
    );
    assert_eq!(env.active(&k).len(), 2);
    let (_, _, body) = post_with(&api, Some("application/x-thrift"), None, &create);
    assert!(String::from_utf8_lossy(&body).contains("Job www-data/prod/tjson already exists"));
    // Unknown methods get a TJSON exception (message type 3).
    let bogus = aurora_sim::tjson::encode_call("bogus", 5, &GetTierConfigsCall::default());
    let (_, _, body) = post_with(&api, None, None, &bogus);
    assert!(String::from_utf8_lossy(&body).starts_with(r#"[1,"bogus",3,5,"#));
}

#[test]
fn unknown_methods_and_bad_arguments_get_thrift_exceptions() {
    let env = env();
    let api = format!("{}/api", env.sim.url());
    let call = encode_call("noSuchMethod", 1, &GetTierConfigsCall::default());
    let (status, body) = post(&api, Some(BINARY), &call);
    assert_eq!(status, 200);
    match decode_reply("noSuchMethod", 1, &body) {
        Err(WireError::Exception { message, .. }) => {
            assert_eq!(message, "Invalid method name: 'noSuchMethod'");
        }
        other => panic!("expected an exception, got {other:?}"),
    }
    // Arguments that do not decode: a createJob whose struct is cut short.
    let mut call = encode_call(
        "createJob",
        2,
        &aurora_thrift::types::CreateJobCall {
            description: Some(job(&key("x"), 1)),
        },
    );
    call.truncate(call.len() - 20);
    let (status, body) = post(&api, Some(BINARY), &call);
    assert_eq!(status, 200);
    assert!(matches!(
        decode_reply("createJob", 2, &body),
        Err(WireError::Exception { .. })
    ));
    // A body that is not a Thrift message at all: HTTP 500.
    let (status, _) = post(&api, Some(BINARY), b"definitely not thrift");
    assert_eq!(status, 500);
    // The emulator is still serving.
    env.client.get_tier_configs().expect("still up");
}

#[test]
fn garbage_never_crashes_the_emulator() {
    let env = env();
    let api = format!("{}/api", env.sim.url());
    let valid = encode_call(
        "createJob",
        3,
        &aurora_thrift::types::CreateJobCall {
            description: Some(job(&key("g"), 1)),
        },
    );
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..300 {
        let mut body = valid.clone();
        for _ in 0..(1 + round % 8) {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let i = usize::try_from(seed >> 33).unwrap_or(0) % body.len();
            body[i] = u8::try_from((seed >> 13) & 0xff).unwrap_or(0);
        }
        let (status, _) = post(&api, Some(BINARY), &body);
        assert!(status == 200 || status == 500, "status {status}");
    }
    env.client.get_tier_configs().expect("still up");
}

#[test]
fn transient_errors_and_503_are_retried_by_the_client() {
    let env = env();
    env.sim.patch_faults(FaultPatch {
        transient_errors: Some(2),
        ..FaultPatch::default()
    });
    env.client.get_tier_configs().expect("eventually OK");
    let codes: Vec<Option<String>> = env
        .sim
        .calls()
        .into_iter()
        .map(|c| c.response_code)
        .collect();
    assert_eq!(
        codes,
        vec![
            Some("ERROR_TRANSIENT".to_string()),
            Some("ERROR_TRANSIENT".to_string()),
            Some("OK".to_string())
        ]
    );
    env.sim.clear_calls();
    env.sim.patch_faults(FaultPatch {
        unavailable: Some(2),
        ..FaultPatch::default()
    });
    env.client.get_jobs(None).expect("eventually OK");
    let statuses: Vec<u16> = env.sim.calls().into_iter().map(|c| c.http_status).collect();
    assert_eq!(statuses, vec![503, 503, 200]);
}

#[test]
fn non_leader_redirects_to_the_leader() {
    let leader = env();
    let follower = env_with(SimConfig {
        faults: FaultSettings {
            redirect_to: Some(leader.sim.url()),
            ..FaultSettings::default()
        },
        ..SimConfig::for_tests()
    });
    let k = key("via-follower");
    follower
        .client
        .create_job(&job(&k, 1))
        .expect("created through the follower");
    assert_eq!(leader.active(&k).len(), 1);
    let f_calls = follower.sim.calls();
    assert_eq!(f_calls.len(), 1);
    assert_eq!(f_calls[0].http_status, 307);
    assert_eq!(f_calls[0].method.as_deref(), Some("createJob"));
    assert_eq!(
        leader
            .sim
            .calls()
            .last()
            .and_then(|c| c.response_code.clone()),
        Some("OK".to_string())
    );
    let (status, body) = get(&format!("{}/leaderhealth", follower.sim.url()));
    assert_eq!(
        (status, body.as_str()),
        (503, "Another instance is the leading scheduler.")
    );
    let (status, body) = get(&format!("{}/leaderhealth", leader.sim.url()));
    assert_eq!(
        (status, body.as_str()),
        (200, "This is the leading scheduler.")
    );
}

#[test]
fn dropped_reply_to_a_write_is_outcome_unknown_but_happened() {
    let env = env();
    env.sim.patch_faults(FaultPatch {
        drop_connections: Some(1),
        ..FaultPatch::default()
    });
    let k = key("lost-reply");
    let e = env.client.create_job(&job(&k, 1)).expect_err("reply lost");
    assert!(matches!(e, ApiError::OutcomeUnknown { .. }), "{e:?}");
    assert_eq!(env.active(&k).len(), 1, "the write happened");
    // A read whose reply is lost is simply retried.
    env.sim.patch_faults(FaultPatch {
        drop_connections: Some(1),
        ..FaultPatch::default()
    });
    env.client.get_jobs(None).expect("retried");
}

#[test]
fn added_latency() {
    let env = env();
    env.sim.set_faults(FaultSettings {
        latency: Duration::from_millis(150),
        ..FaultSettings::default()
    });
    let started = Instant::now();
    env.client.get_tier_configs().expect("OK");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[test]
fn call_log_file_and_admin_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("calls.jsonl");
    let env = env_with(SimConfig {
        call_log: Some(log.clone()),
        ..SimConfig::for_tests()
    });
    let k = key("logged");
    env.client.create_job(&job(&k, 1)).expect("createJob");
    let _ = env.client.create_job(&job(&k, 1));
    let text = std::fs::read_to_string(&log).expect("log file");
    let lines: Vec<CallRecord> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].method.as_deref(), Some("createJob"));
    assert_eq!(lines[0].response_code.as_deref(), Some("OK"));
    assert_eq!(lines[1].response_code.as_deref(), Some("INVALID_REQUEST"));
    assert!(lines[0].time_ms > 0);

    let base = env.sim.url();
    let (status, body) = get(&format!("{base}/sim/calls"));
    assert_eq!(status, 200);
    let calls: Vec<CallRecord> = serde_json::from_str(&body).expect("JSON");
    assert_eq!(calls, lines);

    // Faults through the admin API.
    let agent = raw_agent();
    let mut r = agent
        .post(&format!("{base}/sim/faults"))
        .header("Content-Type", "application/json")
        .send(r#"{"transient_errors": 1}"#)
        .expect("admin");
    assert_eq!(r.status().as_u16(), 200);
    let _ = r.body_mut().read_to_string();
    assert_eq!(env.sim.faults().transient_errors, 1);
    let mut r = agent
        .post(&format!("{base}/sim/faults"))
        .header("Content-Type", "application/json")
        .send(r#"{"no_such_fault": 1}"#)
        .expect("admin");
    assert_eq!(r.status().as_u16(), 400);
    let _ = r.body_mut().read_to_string();

    // Time through the admin API.
    let before = env.sim.now_ms();
    let mut r = agent
        .post(&format!("{base}/sim/advance?ms=5000"))
        .send(&b""[..])
        .expect("advance");
    let v: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default()).expect("JSON");
    assert_eq!(v["now_ms"].as_i64(), Some(before + 5000));
    assert_eq!(
        env.active(&k).get(&0),
        Some(&aurora_thrift::types::ScheduleStatus::RUNNING)
    );
    let (status, _) = get(&format!("{base}/sim/state"));
    assert_eq!(status, 200);
    let (status, body) = get(&format!("{base}/health"));
    assert_eq!((status, body.as_str()), (200, "OK"));
}

#[test]
fn many_concurrent_clients() {
    let env = env();
    let url = env.sim.url();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let client = client_for(&url);
                let k = key(&format!("c{i}"));
                client.create_job(&job(&k, 2)).expect("createJob");
                for _ in 0..10 {
                    client.get_jobs(Some("www-data")).expect("getJobs");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let jobs = env
        .client
        .get_jobs(None)
        .expect("getJobs")
        .value
        .configs
        .unwrap_or_default();
    assert_eq!(jobs.len(), 8);
}

#[test]
fn gzip_when_the_client_accepts_it() {
    use std::io::Read;
    let env = env();
    let api = format!("{}/api", env.sim.url());
    let call = encode_call("getTierConfigs", 9, &GetTierConfigsCall::default());
    // ureq would decode gzip itself; read the raw bytes over TCP instead.
    let addr = env.sim.addr();
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    let head = format!(
        "POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: {BINARY}\r\nAccept: {BINARY}\r\nAccept-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        call.len()
    );
    std::io::Write::write_all(&mut s, head.as_bytes()).expect("write");
    std::io::Write::write_all(&mut s, &call).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let headers = String::from_utf8_lossy(&raw[..split]).to_string();
    assert!(headers.contains("Content-Encoding: gzip"), "{headers}");
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(&raw[split + 4..])
        .read_to_end(&mut body)
        .expect("gunzip");
    let r = decode_reply("getTierConfigs", 9, &body).expect("reply");
    assert_eq!(r.response_code, Some(ResponseCode::OK));
    // And the client (which accepts gzip) is fine with it.
    env.client.get_tier_configs().expect("OK");
    let _ = api;
}

#[test]
fn admin_shutdown_releases_wait() {
    let env = env();
    let url = format!("{}/sim/shutdown", env.sim.url());
    let t = std::thread::spawn(move || {
        let r = raw_agent().post(&url).send(&b""[..]).expect("shutdown");
        r.status().as_u16()
    });
    env.sim.wait();
    assert_eq!(t.join().expect("thread"), 200);
    env.sim.shutdown();
}

#[test]
fn basic_authentication_for_write_rpcs() {
    let mut cfg = SimConfig::for_tests();
    cfg.basic_auth_users
        .insert("aurora".to_string(), "secret".to_string());
    let env = env_with(cfg);
    let k = key("authn");
    // Reads work without credentials; writes get 401 with the scheduler's challenge.
    env.client.get_jobs(None).expect("read without credentials");
    match env.client.create_job(&job(&k, 1)) {
        Err(ApiError::Auth {
            status, challenge, ..
        }) => {
            assert_eq!(status, 401);
            assert_eq!(
                challenge.as_deref(),
                Some("Basic realm=\"Apache Aurora Scheduler\"")
            );
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    // With credentials the write runs and the audit user is the authenticated one.
    let mut ccfg = aurora_api::ClientConfig::new(env.sim.url());
    ccfg.ambient_credentials = false;
    ccfg.retry = fast_retry();
    ccfg.credentials = Some(aurora_api::auth::Credentials::new("aurora", "secret"));
    let authed = aurora_api::Client::new(ccfg).expect("client");
    authed.create_job(&job(&k, 1)).expect("createJob");
    env.advance_secs(5);
    authed.kill_tasks(&k, None, None).expect("kill");
    let last = env.tasks(&k)[0]
        .task_events
        .clone()
        .unwrap_or_default()
        .pop()
        .and_then(|e| e.message);
    assert_eq!(last.as_deref(), Some("Killed by aurora"));
    // Wrong credentials are refused even for reads.
    let mut bad = aurora_api::ClientConfig::new(env.sim.url());
    bad.ambient_credentials = false;
    bad.credentials = Some(aurora_api::auth::Credentials::new("aurora", "wrong"));
    let bad = aurora_api::Client::new(bad).expect("client");
    assert!(matches!(bad.get_jobs(None), Err(ApiError::Auth { .. })));
}

#[test]
fn extreme_values_do_not_crash_the_emulator() {
    let env = env();
    let k = key("extreme");
    let t = with_metadata(task(&k), aurora_sim::FAIL_AFTER_KEY, "9223372036854775807");
    env.client
        .create_job(&job_with(&k, 1, t))
        .expect("createJob");
    env.advance_secs(10);
    let mut c = job(&key("cronx"), 1);
    c.task_config.as_mut().expect("task").is_service = Some(false);
    c.task_config.as_mut().expect("task").job = Some(key("cronx"));
    c.cron_schedule = Some("*/2147483647 * * * *".to_string());
    env.client.schedule_cron_job(&c).expect("cron");
    // Jump simulated time to the end of the representable range.
    let mut r = raw_agent()
        .post(&format!(
            "{}/sim/advance?ms=9223372036854775807",
            env.sim.url()
        ))
        .send(&b""[..])
        .expect("advance");
    assert_eq!(r.status().as_u16(), 200);
    let _ = r.body_mut().read_to_string();
    env.client.get_jobs(None).expect("still answering");
}

#[test]
fn call_log_can_record_arguments() {
    let env = env_with(SimConfig {
        log_call_args: true,
        ..SimConfig::for_tests()
    });
    let k = key("args");
    env.client
        .kill_tasks(&k, Some(&[3].into_iter().collect()), Some("why"))
        .expect("kill");
    let calls = env.sim.calls();
    let args = calls[0].args.clone().expect("arguments logged");
    assert_eq!(args["job"]["name"], "args");
    assert_eq!(args["instances"], serde_json::json!([3]));
    assert_eq!(args["message"], "why");
}

#[test]
fn expect_100_continue_is_honoured() {
    use std::io::{Read, Write};
    let env = env();
    let call = encode_call("getTierConfigs", 4, &GetTierConfigsCall::default());
    let mut s = std::net::TcpStream::connect(env.sim.addr()).expect("connect");
    let head = format!(
        "POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: {BINARY}\r\nAccept: {BINARY}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        call.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).expect("100 Continue");
    assert_eq!(&interim[..], b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(&call).expect("body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("reply");
    assert!(raw.starts_with(b"HTTP/1.1 200 OK"));
}
