//! The client against small HTTP servers that answer with real encoded replies, including
//! servers that misbehave: leader redirects, no leader, transient errors, auth challenges,
//! slow or dropped connections, oversized, mis-sequenced, exception and gzip replies.
//!
//! Every test asserts how many requests each server received: retries are the point.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aurora_api::EndpointResolver;
use aurora_api::auth::Credentials;
use aurora_api::client::{Client, ClientConfig, StartJobUpdateOutcome};
use aurora_api::clusters::{ResolveError, ZkError};
use aurora_api::error::{ApiError, TransportErrorKind};
use aurora_api::retry::RetryPolicy;
use aurora_api::types::{
    GetJobsResult, JobConfiguration, JobKey, JobUpdateKey, JobUpdateRequest, JobUpdateSummary,
    ResponseCode, Result as ApiResult, StartJobUpdateResult,
};
use aurora_api::wire::{IncomingCall, encode_exception};
use support::{Action, Server, gzip, reply, reply_with_seq};

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        deadline: Duration::from_secs(20),
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        multiplier: 2.0,
        jitter: 0.5,
    }
}

fn config(url: &str) -> ClientConfig {
    let mut c = ClientConfig::new(url);
    // Never pick up the developer's own AURORA_* variables or ~/.netrc in tests.
    c.ambient_credentials = false;
    c.retry = fast_retries();
    c.request_timeout = Duration::from_secs(10);
    c
}

fn client(url: &str) -> Client {
    Client::new(config(url)).expect("client builds")
}

fn jobs_ok() -> Action {
    Action::ok_result(Some(ApiResult::GetJobsResult(GetJobsResult::new(
        BTreeSet::new(),
    ))))
}

fn job_key() -> JobKey {
    JobKey::new(
        "www-data".to_string(),
        "prod".to_string(),
        "hello".to_string(),
    )
}

fn job_config() -> JobConfiguration {
    JobConfiguration {
        key: Some(job_key()),
        instance_count: Some(1),
        ..JobConfiguration::default()
    }
}

#[test]
fn sends_binary_thrift_post_to_api_with_both_content_headers() {
    let server = Server::start(|_, _| jobs_ok());
    let reply = client(&server.base_url())
        .get_jobs(Some("www-data"))
        .expect("OK");
    assert_eq!(reply.value.configs, Some(BTreeSet::new()));
    let requests = server.wait_for_requests(1);
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/api");
    assert_eq!(
        req.header("content-type"),
        Some("application/vnd.apache.thrift.binary")
    );
    assert_eq!(
        req.header("accept"),
        Some("application/vnd.apache.thrift.binary")
    );
    assert_eq!(req.header("authorization"), None);
    let call = IncomingCall::parse(&req.body).expect("a CALL");
    assert_eq!(call.method, "getJobs");
}

#[test]
fn sequence_ids_increase_per_call() {
    let server = Server::start(|_, _| jobs_ok());
    let c = client(&server.base_url());
    c.get_jobs(None).expect("OK");
    c.get_jobs(None).expect("OK");
    let requests = server.wait_for_requests(2);
    let seqs: Vec<i32> = requests
        .iter()
        .map(|r| IncomingCall::parse(&r.body).expect("CALL").seq)
        .collect();
    assert_eq!(seqs[1], seqs[0].wrapping_add(1), "{seqs:?}");
}

#[test]
fn redirect_chain_is_followed_with_the_same_body_and_the_leader_remembered() {
    let leader = Server::start(|_, _| jobs_ok());
    let leader_url = format!("{}/api", leader.base_url());
    let middle = Server::start(move |_, _| Action::redirect(&leader_url));
    let middle_url = format!("{}/api", middle.base_url());
    let follower = Server::start(move |_, _| Action::redirect(&middle_url));

    let mut cfg = config(&follower.base_url());
    cfg.credentials = Some(Credentials::new("aurora", "secret"));
    let c = Client::new(cfg).expect("client");
    c.get_jobs(Some("www-data")).expect("first call OK");
    assert_eq!(
        c.leader().as_deref(),
        Some(format!("{}/api", leader.base_url()).as_str())
    );
    c.get_jobs(Some("www-data")).expect("second call OK");

    assert_eq!(follower.wait_for_requests(1).len(), 1);
    assert_eq!(middle.wait_for_requests(1).len(), 1);
    let at_leader = leader.wait_for_requests(2);
    assert_eq!(
        at_leader.len(),
        2,
        "second call goes straight to the leader"
    );
    // The redirected POST is the very same message (same sequence id) with its headers,
    // credentials included (ureq itself would drop them).
    assert_eq!(follower.requests()[0].body, at_leader[0].body);
    assert_eq!(
        at_leader[0].header("authorization"),
        Some("Basic YXVyb3JhOnNlY3JldA==")
    );
    assert_eq!(
        at_leader[0].header("content-type"),
        Some("application/vnd.apache.thrift.binary")
    );
}

#[test]
fn redirect_loops_stop_at_the_hop_limit() {
    let server = Server::start(|_, _| Action::redirect("/api"));
    let mut cfg = config(&server.base_url());
    cfg.max_redirects = 2;
    let err = Client::new(cfg)
        .expect("client")
        .get_jobs(None)
        .expect_err("loop");
    assert!(
        matches!(err, ApiError::TooManyRedirects { max: 2, .. }),
        "{err:?}"
    );
    assert_eq!(server.wait_for_requests(3).len(), 3, "first try + 2 hops");
}

#[test]
fn relative_redirect_location_is_resolved_against_the_current_server() {
    // (https -> http downgrades are refused before any request; see the client's unit tests.)
    let server = Server::start(|i, _| {
        if i == 0 {
            Action::redirect("/api")
        } else {
            jobs_ok()
        }
    });
    client(&server.base_url()).get_jobs(None).expect("OK");
    assert_eq!(server.wait_for_requests(2).len(), 2);
}

#[test]
fn no_leader_503_is_retried_until_a_leader_answers() {
    let server = Server::start(|i, _| {
        if i < 2 {
            Action::status(503, "<html>No leader</html>")
        } else {
            jobs_ok()
        }
    });
    client(&server.base_url()).get_jobs(None).expect("OK");
    let requests = server.wait_for_requests(3);
    assert_eq!(requests.len(), 3);
    assert!(
        requests.iter().all(|r| r.body == requests[0].body),
        "retries re-send the same message"
    );
}

#[test]
fn every_retry_is_told_to_the_observer_before_its_wait() {
    let server = Server::start(|i, _| match i {
        0 => Action::status(503, ""),
        1 => Action::Drop,
        _ => jobs_ok(),
    });
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut config = config(&server.base_url());
    let sink = std::sync::Arc::clone(&seen);
    config.on_retry = Some(std::sync::Arc::new(
        move |n: &aurora_api::retry::RetryNotice| {
            sink.lock()
                .expect("lock")
                .push((n.method, n.attempt, n.max_attempts, n.reason()));
        },
    ));
    Client::new(config)
        .expect("client")
        .get_jobs(None)
        .expect("OK on the third attempt");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(
        seen,
        [
            ("getJobs", 1, 5, "no leading scheduler (HTTP 503)"),
            ("getJobs", 2, 5, "no reply from the scheduler"),
        ]
    );
}

/// A client whose retries would go on for a minute with long waits.
fn patient_client(url: &str) -> Client {
    let mut config = config(url);
    config.retry = RetryPolicy {
        max_attempts: 10,
        deadline: Duration::from_secs(60),
        initial_backoff: Duration::from_secs(5),
        max_backoff: Duration::from_secs(5),
        multiplier: 1.0,
        jitter: 0.0,
    };
    Client::new(config).expect("client")
}

#[test]
fn the_callers_deadline_stops_retries_and_waits() {
    let server = Server::start(|_, _| Action::status(503, ""));
    let client = patient_client(&server.base_url());
    client.set_limits(aurora_api::CallLimits {
        deadline: Some(std::time::Instant::now() + Duration::from_millis(300)),
        cancel: None,
    });
    let started = std::time::Instant::now();
    assert!(client.get_jobs(None).is_err());
    // One attempt, then a 5 s wait would pass the deadline: no wait is begun.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn cancelling_ends_a_backoff_wait_at_once() {
    let server = Server::start(|_, _| Action::status(503, ""));
    let client = patient_client(&server.base_url());
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    client.set_limits(aurora_api::CallLimits {
        deadline: None,
        cancel: Some(std::sync::Arc::clone(&cancel)),
    });
    let flag = std::sync::Arc::clone(&cancel);
    let started = std::time::Instant::now();
    let setter = std::thread::spawn(move || {
        // The first attempt fails at once; the client is then in its 5 s wait.
        std::thread::sleep(Duration::from_millis(200));
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    assert!(client.get_jobs(None).is_err());
    setter.join().expect("setter");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        server.wait_for_requests(1).len(),
        1,
        "no retry after the cancel"
    );
}

#[test]
fn mixed_failures_are_all_told_in_the_order_they_came() {
    let server = Server::start(|i, _| match i {
        0 | 1 => Action::Drop,
        _ => Action::status(503, ""),
    });
    let error = client(&server.base_url())
        .get_jobs(None)
        .expect_err("never answered");
    let text = error.to_string();
    assert!(
        text.starts_with("getJobs: no leading scheduler at "),
        "the last cause leads: {text}"
    );
    assert!(
        text.contains("(after 5 attempts: 2× ")
            && text.contains(", then 3× no leading scheduler (HTTP 503))"),
        "{text}"
    );
    // Callers still classify it by its last cause.
    assert!(error.retryable());
    assert_eq!(error.method(), Some("getJobs"));
}

#[test]
fn no_leader_503_is_retried_for_create_job_too() {
    let server = Server::start(|i, _| {
        if i == 0 {
            Action::status(503, "")
        } else {
            Action::ok_result(None)
        }
    });
    client(&server.base_url())
        .create_job(&job_config())
        .expect("OK");
    assert_eq!(server.wait_for_requests(2).len(), 2);
}

#[test]
fn persistent_503_is_no_leader_after_max_attempts() {
    let server = Server::start(|_, _| Action::status(503, ""));
    let mut cfg = config(&server.base_url());
    cfg.retry.max_attempts = 3;
    let err = Client::new(cfg)
        .expect("client")
        .get_jobs(None)
        .expect_err("no leader");
    assert!(
        matches!(err, ApiError::NoLeader { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.retryable());
    assert_eq!(server.wait_for_requests(3).len(), 3);
}

#[test]
fn persistent_503_stops_at_the_deadline() {
    let server = Server::start(|_, _| Action::status(503, ""));
    let mut cfg = config(&server.base_url());
    cfg.retry = RetryPolicy {
        max_attempts: 1000,
        deadline: Duration::from_millis(1000),
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(100),
        multiplier: 1.0,
        jitter: 0.0,
    };
    let started = Instant::now();
    let err = Client::new(cfg)
        .expect("client")
        .get_jobs(None)
        .expect_err("no leader");
    let ApiError::NoLeader { attempts, .. } = err else {
        panic!("{err:?}")
    };
    assert!(started.elapsed() < Duration::from_secs(5));
    // ~10 attempts of 100 ms within 1 s; fewer on a loaded machine, never unbounded.
    assert!((2..=11).contains(&attempts), "{attempts} attempts");
    assert_eq!(
        server.wait_for_requests(attempts as usize).len(),
        attempts as usize
    );
}

#[test]
fn error_transient_is_retried_then_ok() {
    let server = Server::start(|i, _| {
        if i == 0 {
            Action::code(ResponseCode::ERROR_TRANSIENT, "Storage is not ready")
        } else {
            jobs_ok()
        }
    });
    let reply = client(&server.base_url()).get_jobs(None).expect("OK");
    assert!(reply.details.is_empty());
    assert_eq!(server.wait_for_requests(2).len(), 2);
}

#[test]
fn persistent_error_transient_surfaces_as_scheduler_error() {
    let server = Server::start(|_, _| Action::code(ResponseCode::ERROR_TRANSIENT, "not ready"));
    let mut cfg = config(&server.base_url());
    cfg.retry.max_attempts = 2;
    let err = Client::new(cfg)
        .expect("client")
        .get_jobs(None)
        .expect_err("transient");
    assert_eq!(err.response_code(), Some(ResponseCode::ERROR_TRANSIENT));
    assert!(err.retryable());
    assert_eq!(server.wait_for_requests(2).len(), 2);
}

#[test]
fn http_401_is_an_auth_error_and_never_retried() {
    let server = Server::start(|_, _| {
        Action::status(401, "").with_header(
            "WWW-Authenticate",
            "Basic realm=\"Apache Aurora Scheduler\"",
        )
    });
    let mut cfg = config(&server.base_url());
    cfg.credentials = Some(Credentials::new("aurora", "wrong-password"));
    let err = Client::new(cfg)
        .expect("client")
        .create_job(&job_config())
        .expect_err("401");
    match &err {
        ApiError::Auth {
            status,
            challenge,
            sent_credentials,
            method,
            ..
        } => {
            assert_eq!(*status, 401);
            assert_eq!(
                challenge.as_deref(),
                Some("Basic realm=\"Apache Aurora Scheduler\"")
            );
            assert!(*sent_credentials);
            assert_eq!(*method, "createJob");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_auth() && !err.retryable());
    assert!(!format!("{err} {err:?}").contains("wrong-password"));
    let requests = server.wait_for_requests(1);
    assert_eq!(requests.len(), 1);
    // Sent pre-emptively, on the first request.
    assert!(requests[0].header("authorization").is_some());
}

#[test]
fn http_403_is_an_auth_error_too() {
    let server = Server::start(|_, _| Action::status(403, "Forbidden"));
    let err = client(&server.base_url()).get_jobs(None).expect_err("403");
    assert!(
        matches!(
            err,
            ApiError::Auth {
                status: 403,
                sent_credentials: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.wait_for_requests(1).len(), 1);
}

#[test]
fn slow_server_times_out_and_reads_are_retried() {
    let server = Server::start(|_, _| Action::Delay(Duration::from_secs(3), Box::new(jobs_ok())));
    let mut cfg = config(&server.base_url());
    cfg.request_timeout = Duration::from_millis(300);
    cfg.retry.max_attempts = 2;
    let started = Instant::now();
    let err = Client::new(cfg)
        .expect("client")
        .get_jobs(None)
        .expect_err("timeout");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    match &err {
        ApiError::Transport { source, .. } => {
            assert_eq!(source.kind, TransportErrorKind::Timeout, "{source}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.wait_for_requests(2).len(), 2);
}

#[test]
fn slow_server_makes_create_job_outcome_unknown() {
    let server = Server::start(|_, _| {
        Action::Delay(Duration::from_secs(3), Box::new(Action::ok_result(None)))
    });
    let mut cfg = config(&server.base_url());
    cfg.request_timeout = Duration::from_millis(300);
    let err = Client::new(cfg)
        .expect("client")
        .create_job(&job_config())
        .expect_err("timeout");
    assert!(
        matches!(
            err,
            ApiError::OutcomeUnknown {
                method: "createJob",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.wait_for_requests(1).len(), 1);
}

#[test]
fn dropped_connection_on_create_job_is_outcome_unknown_after_exactly_one_request() {
    let server = Server::start(|_, _| Action::Drop);
    let err = client(&server.base_url())
        .create_job(&job_config())
        .expect_err("dropped");
    match &err {
        ApiError::OutcomeUnknown { method, cause } => {
            assert_eq!(*method, "createJob");
            assert!(matches!(**cause, ApiError::Transport { .. }), "{cause:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.retryable());
    assert_eq!(server.wait_for_requests(1).len(), 1);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn dropped_connection_on_add_instances_is_outcome_unknown() {
    let server = Server::start(|_, _| Action::Drop);
    let key = aurora_api::types::InstanceKey::new(job_key(), 0);
    let err = client(&server.base_url())
        .add_instances(&key, 2)
        .expect_err("dropped");
    assert!(
        matches!(
            err,
            ApiError::OutcomeUnknown {
                method: "addInstances",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.wait_for_requests(1).len(), 1);
}

#[test]
fn dropped_connection_on_a_read_is_retried() {
    let server = Server::start(|i, _| if i == 0 { Action::Drop } else { jobs_ok() });
    client(&server.base_url()).get_jobs(None).expect("OK");
    assert_eq!(server.wait_for_requests(2).len(), 2);
}

#[test]
fn dropped_connection_on_idempotent_writes_is_retried() {
    let server = Server::start(|i, _| {
        if i % 2 == 0 {
            Action::Drop
        } else {
            Action::ok_with_details(None, &["No tasks to kill."])
        }
    });
    let c = client(&server.base_url());
    let reply = c.kill_tasks(&job_key(), None, Some("bye")).expect("OK");
    assert_eq!(reply.details, ["No tasks to kill."]);
    c.schedule_cron_job(&job_config()).expect("OK");
    assert_eq!(server.wait_for_requests(4).len(), 4);
}

#[test]
fn http_500_is_retried_for_reads_and_outcome_unknown_for_create_job() {
    let server = Server::start(|i, _| {
        if i == 0 {
            Action::status(500, "boom")
        } else {
            jobs_ok()
        }
    });
    client(&server.base_url()).get_jobs(None).expect("OK");
    assert_eq!(server.wait_for_requests(2).len(), 2);

    let server = Server::start(|_, _| Action::status(500, "boom"));
    let err = client(&server.base_url())
        .create_job(&job_config())
        .expect_err("500");
    assert!(matches!(err, ApiError::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(server.wait_for_requests(1).len(), 1);
}

#[test]
fn unsupported_media_type_is_not_retried() {
    let server = Server::start(|_, _| Action::status(415, "Unsupported Content-Type: x"));
    let err = client(&server.base_url()).get_jobs(None).expect_err("415");
    match &err {
        ApiError::HttpStatus {
            status, excerpt, ..
        } => {
            assert_eq!(*status, 415);
            assert!(excerpt.contains("Unsupported"), "{excerpt}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.wait_for_requests(1).len(), 1);
}

/// Over the limit is refused whether the length is announced (plain) or only found while
/// reading (gzip: the decompressed length is not known before), and whether the bytes are a
/// reply or not (a decoder that gives up early still reads on to the limit).
#[test]
fn reply_over_the_size_limit_is_refused() {
    let big = "x".repeat(64 * 1024);
    for gzipped in [false, true] {
        for garbage in [false, true] {
            let big = big.clone();
            let server = Server::start(move |_, req| {
                let body = if garbage {
                    big.clone().into_bytes()
                } else {
                    let call = IncomingCall::parse(&req.body).expect("CALL");
                    reply(&call, ResponseCode::OK, None, &[&big])
                };
                if gzipped {
                    Action::bytes(gzip(&body)).with_header("Content-Encoding", "gzip")
                } else {
                    Action::bytes(body)
                }
            });
            let mut cfg = config(&server.base_url());
            cfg.max_response_bytes = 16 * 1024;
            let err = Client::new(cfg)
                .expect("client")
                .get_jobs(None)
                .expect_err("too large");
            assert!(
                matches!(err, ApiError::ResponseTooLarge { limit: 16384, .. }),
                "gzip {gzipped}, garbage {garbage}: {err:?}"
            );
            assert_eq!(server.wait_for_requests(1).len(), 1);
        }
    }
}

#[test]
fn replies_above_ureqs_default_10_mb_are_accepted() {
    let big = "y".repeat(11 * 1024 * 1024);
    let server = Server::start(move |_, _| {
        Action::ok_with_details(
            Some(ApiResult::GetJobsResult(
                GetJobsResult::new(BTreeSet::new()),
            )),
            &[&big],
        )
    });
    let reply = client(&server.base_url()).get_jobs(None).expect("OK");
    assert_eq!(reply.details[0].len(), 11 * 1024 * 1024);
    assert_eq!(server.wait_for_requests(1).len(), 1);
}

#[test]
fn wrong_sequence_id_is_a_protocol_error() {
    let server = Server::start(|_, req| {
        let call = IncomingCall::parse(&req.body).expect("CALL");
        Action::bytes(reply_with_seq(
            &call.method,
            call.seq.wrapping_add(7),
            ResponseCode::OK,
            Some(ApiResult::GetJobsResult(GetJobsResult::default())),
            &[],
        ))
    });
    let err = client(&server.base_url())
        .get_jobs(None)
        .expect_err("wrong seq");
    match &err {
        ApiError::Protocol { source, .. } => assert!(
            matches!(source, aurora_api::wire::WireError::WrongSequence { .. }),
            "{source:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.wait_for_requests(1).len(), 1);
}

#[test]
fn thrift_exception_reply_is_a_protocol_error() {
    let server = Server::start(|_, req| {
        let call = IncomingCall::parse(&req.body).expect("CALL");
        Action::bytes(encode_exception(
            &call.method,
            call.seq,
            thrift::ApplicationErrorKind::UnknownMethod,
            "Invalid method name: 'getJobs'",
        ))
    });
    let err = client(&server.base_url())
        .get_jobs(None)
        .expect_err("exception");
    match &err {
        ApiError::Protocol { source, .. } => match source {
            aurora_api::wire::WireError::Exception { message, .. } => {
                assert!(message.contains("Invalid method name"))
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(server.wait_for_requests(1).len(), 1);
}

#[test]
fn garbage_200_body_is_a_protocol_error() {
    let server = Server::start(|_, _| Action::bytes(b"<html>not thrift</html>".to_vec()));
    let err = client(&server.base_url())
        .get_jobs(None)
        .expect_err("garbage");
    assert!(matches!(err, ApiError::Protocol { .. }), "{err:?}");
    assert_eq!(server.wait_for_requests(1).len(), 1);
}

#[test]
fn gzip_encoded_reply_is_decoded() {
    let server = Server::start(|_, req| {
        let call = IncomingCall::parse(&req.body).expect("CALL");
        let body = reply(
            &call,
            ResponseCode::OK,
            Some(ApiResult::GetJobsResult(
                GetJobsResult::new(BTreeSet::new()),
            )),
            &["compressed"],
        );
        Action::bytes(gzip(&body)).with_header("Content-Encoding", "gzip")
    });
    let reply = client(&server.base_url()).get_jobs(None).expect("OK");
    assert_eq!(reply.details, ["compressed"]);
    let requests = server.wait_for_requests(1);
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0]
            .header("accept-encoding")
            .is_some_and(|v| v.contains("gzip")),
        "{:?}",
        requests[0].headers
    );
}

#[test]
fn scheduler_error_keeps_code_messages_server_info_and_in_progress_update() {
    let in_progress = StartJobUpdateResult::new(
        JobUpdateKey::new(job_key(), "update-1".to_string()),
        JobUpdateSummary::default(),
    );
    let result = ApiResult::StartJobUpdateResult(in_progress.clone());
    let server = Server::start(move |_, req| {
        let call = IncomingCall::parse(&req.body).expect("CALL");
        Action::bytes(reply(
            &call,
            ResponseCode::INVALID_REQUEST,
            Some(result.clone()),
            &[
                "An active update already exists for this job,",
                "please abort it",
            ],
        ))
    });
    let err = client(&server.base_url())
        .start_job_update(&JobUpdateRequest::default(), Some("msg"))
        .expect_err("in progress");
    let sched = err.scheduler().expect("a scheduler answer");
    assert_eq!(sched.code, ResponseCode::INVALID_REQUEST);
    assert_eq!(sched.messages.len(), 2);
    assert_eq!(sched.in_progress_update(), Some(&in_progress));
    assert_eq!(
        sched
            .server_info
            .as_ref()
            .and_then(|s| s.cluster_name.as_deref()),
        Some("devcluster")
    );
    let shown = err.to_string();
    assert!(
        shown.contains("INVALID_REQUEST") && shown.contains("please abort it"),
        "{shown}"
    );
    assert_eq!(
        server.wait_for_requests(1).len(),
        1,
        "INVALID_REQUEST is final"
    );
}

#[test]
fn start_job_update_ok_without_result_is_no_change() {
    let server = Server::start(|_, _| {
        Action::ok_with_details(None, &["Job is unchanged by proposed update."])
    });
    let reply = client(&server.base_url())
        .start_job_update(&JobUpdateRequest::default(), None)
        .expect("OK");
    assert_eq!(reply.value, StartJobUpdateOutcome::NoChange);
    assert_eq!(reply.details, ["Job is unchanged by proposed update."]);
    assert_eq!(server.wait_for_requests(1).len(), 1);
}

#[test]
fn start_job_update_started_returns_the_key() {
    let started = StartJobUpdateResult::new(JobUpdateKey::new(job_key(), "u-2".to_string()), None);
    let result = ApiResult::StartJobUpdateResult(started.clone());
    let server = Server::start(move |_, _| Action::ok_result(Some(result.clone())));
    let reply = client(&server.base_url())
        .start_job_update(&JobUpdateRequest::default(), None)
        .expect("OK");
    assert_eq!(reply.value, StartJobUpdateOutcome::Started(started));
}

#[test]
fn ok_without_the_expected_result_is_unexpected_result() {
    let server = Server::start(|_, _| Action::ok_result(None));
    let err = client(&server.base_url())
        .get_jobs(None)
        .expect_err("no result");
    assert!(
        matches!(
            err,
            ApiError::UnexpectedResult {
                expected: "getJobsResult",
                actual: None,
                ..
            }
        ),
        "{err:?}"
    );
    let server = Server::start(|_, _| {
        Action::ok_result(Some(ApiResult::GetQuotaResult(Default::default())))
    });
    let err = client(&server.base_url())
        .get_jobs(None)
        .expect_err("wrong result");
    match err {
        ApiError::UnexpectedResult { actual, .. } => {
            assert_eq!(actual.as_deref(), Some("getQuotaResult"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn job_updating_error_is_final_for_writes() {
    let server = Server::start(|_, _| {
        Action::code(ResponseCode::JOB_UPDATING_ERROR, "Job is being updated")
    });
    let err = client(&server.base_url())
        .kill_tasks(&job_key(), Some(&BTreeSet::from([0, 1])), None)
        .expect_err("updating");
    assert_eq!(err.response_code(), Some(ResponseCode::JOB_UPDATING_ERROR));
    assert_eq!(server.wait_for_requests(1).len(), 1);
}

#[test]
fn every_typed_method_sends_its_own_method_name() {
    use aurora_api::types::*;
    let server = Server::start(|_, req| {
        let call = IncomingCall::parse(&req.body).expect("CALL");
        let result = match call.method.as_str() {
            "getRoleSummary" => Some(Result::RoleSummaryResult(Default::default())),
            "getJobSummary" => Some(Result::JobSummaryResult(Default::default())),
            "getTasksStatus" | "getTasksWithoutConfigs" => {
                Some(Result::ScheduleStatusResult(Default::default()))
            }
            "getPendingReason" => Some(Result::GetPendingReasonResult(Default::default())),
            "getConfigSummary" => Some(Result::ConfigSummaryResult(Default::default())),
            "getJobs" => Some(Result::GetJobsResult(Default::default())),
            "getQuota" => Some(Result::GetQuotaResult(Default::default())),
            "populateJobConfig" => Some(Result::PopulateJobResult(Default::default())),
            "getJobUpdateSummaries" => {
                Some(Result::GetJobUpdateSummariesResult(Default::default()))
            }
            "getJobUpdateDetails" => Some(Result::GetJobUpdateDetailsResult(Default::default())),
            "getJobUpdateDiff" => Some(Result::GetJobUpdateDiffResult(Default::default())),
            "getTierConfigs" => Some(Result::GetTierConfigResult(Default::default())),
            "pulseJobUpdate" => Some(Result::PulseJobUpdateResult(Default::default())),
            _ => None,
        };
        Action::bytes(reply(&call, ResponseCode::OK, result, &[]))
    });
    let c = client(&server.base_url());
    let q = TaskQuery::default();
    let uq = JobUpdateQuery::default();
    let key = job_key();
    let ukey = JobUpdateKey::default();
    let jc = job_config();
    let ids = BTreeSet::from([0]);
    c.get_role_summary().expect("getRoleSummary");
    c.get_job_summary(None).expect("getJobSummary");
    c.get_tasks_status(&q).expect("getTasksStatus");
    c.get_tasks_without_configs(&q)
        .expect("getTasksWithoutConfigs");
    c.get_pending_reason(&q).expect("getPendingReason");
    c.get_config_summary(&key).expect("getConfigSummary");
    c.get_jobs(None).expect("getJobs");
    c.get_quota("www-data").expect("getQuota");
    c.populate_job_config(&jc).expect("populateJobConfig");
    c.get_job_update_summaries(&uq)
        .expect("getJobUpdateSummaries");
    c.get_job_update_details(&uq).expect("getJobUpdateDetails");
    c.get_job_update_diff(&JobUpdateRequest::default())
        .expect("getJobUpdateDiff");
    c.get_tier_configs().expect("getTierConfigs");
    c.create_job(&jc).expect("createJob");
    c.schedule_cron_job(&jc).expect("scheduleCronJob");
    c.deschedule_cron_job(&key).expect("descheduleCronJob");
    c.start_cron_job(&key).expect("startCronJob");
    c.restart_shards(&key, &ids).expect("restartShards");
    c.kill_tasks(&key, Some(&ids), None).expect("killTasks");
    c.add_instances(&InstanceKey::new(key.clone(), 0), 1)
        .expect("addInstances");
    c.replace_cron_template(&jc).expect("replaceCronTemplate");
    c.start_job_update(&JobUpdateRequest::default(), None)
        .expect("startJobUpdate");
    c.pause_job_update(&ukey, None).expect("pauseJobUpdate");
    c.resume_job_update(&ukey, None).expect("resumeJobUpdate");
    c.abort_job_update(&ukey, None).expect("abortJobUpdate");
    c.rollback_job_update(&ukey, Some("why"))
        .expect("rollbackJobUpdate");
    c.pulse_job_update(&ukey).expect("pulseJobUpdate");

    let methods: Vec<String> = server
        .wait_for_requests(27)
        .iter()
        .map(|r| IncomingCall::parse(&r.body).expect("CALL").method)
        .collect();
    assert_eq!(methods, aurora_api::rpc::ALL_METHODS);
}

/// An [`EndpointResolver`] playing ZooKeeper: answers from a script (the last answer
/// repeats) and counts how often it was asked.
#[derive(Debug)]
struct ScriptedLeaders {
    answers: std::sync::Mutex<Vec<Option<String>>>,
    asked: std::sync::atomic::AtomicUsize,
}

impl ScriptedLeaders {
    /// `Some(url)`: the leader; `None`: "no leading scheduler registered".
    fn new(answers: &[Option<&str>]) -> std::sync::Arc<Self> {
        std::sync::Arc::new(ScriptedLeaders {
            answers: std::sync::Mutex::new(
                answers
                    .iter()
                    .rev()
                    .map(|a| a.map(str::to_string))
                    .collect(),
            ),
            asked: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    fn asked(&self) -> usize {
        self.asked.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl EndpointResolver for ScriptedLeaders {
    fn resolve(&self, _timeout: Duration) -> Result<String, ResolveError> {
        self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut answers = self.answers.lock().expect("lock");
        let answer = if answers.len() > 1 {
            answers.pop().flatten()
        } else {
            answers.last().cloned().flatten()
        };
        answer.ok_or_else(|| ResolveError::ZooKeeper {
            cluster: "devcluster".into(),
            source: ZkError::NoLeader {
                servers: "zk:2181".into(),
                path: "/aurora/scheduler".into(),
            },
        })
    }
}

fn client_with_resolver(url: &str, leaders: &std::sync::Arc<ScriptedLeaders>) -> Client {
    let mut cfg = config(url);
    cfg.resolver = Some(std::sync::Arc::clone(leaders) as std::sync::Arc<dyn EndpointResolver>);
    Client::new(cfg).expect("client")
}

/// A base URL where nothing listens: connections are refused (a scheduler that died).
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

#[test]
fn a_dead_scheduler_is_replaced_by_the_leader_the_resolver_finds() {
    let new_leader = Server::start(|_, _| jobs_ok());
    let leaders = ScriptedLeaders::new(&[Some(&new_leader.base_url())]);
    let c = client_with_resolver(&dead_url(), &leaders);
    c.get_jobs(None).expect("reaches the new leader");
    assert_eq!(
        leaders.asked(),
        1,
        "asked once, after the refused connection"
    );
    assert_eq!(new_leader.wait_for_requests(1).len(), 1);
    assert_eq!(c.api_url(), format!("{}/api", new_leader.base_url()));
    // Later calls go straight there, without asking again.
    c.get_jobs(None).expect("OK");
    assert_eq!(leaders.asked(), 1);
    assert_eq!(new_leader.wait_for_requests(2).len(), 2);
}

#[test]
fn no_leader_503_asks_the_resolver_before_the_retry() {
    let old = Server::start(|_, _| Action::status(503, "no leader"));
    let new_leader = Server::start(|_, _| Action::ok_result(None));
    let leaders = ScriptedLeaders::new(&[Some(&new_leader.base_url())]);
    // Not idempotent: a 503 was not processed, so it is retried, at the new leader.
    client_with_resolver(&old.base_url(), &leaders)
        .create_job(&job_config())
        .expect("created at the new leader");
    assert_eq!(old.wait_for_requests(1).len(), 1);
    assert_eq!(new_leader.wait_for_requests(1).len(), 1);
    assert_eq!(leaders.asked(), 1);
}

#[test]
fn while_no_leader_is_registered_the_last_endpoint_is_tried_again() {
    // The leader's node is gone and the new one not yet registered: the client keeps its
    // endpoint and asks again after the next failure.
    let new_leader = Server::start(|_, _| jobs_ok());
    let leaders = ScriptedLeaders::new(&[None, None, Some(&new_leader.base_url())]);
    let c = client_with_resolver(&dead_url(), &leaders);
    c.get_jobs(None).expect("reaches the new leader in the end");
    assert_eq!(leaders.asked(), 3);
    assert_eq!(new_leader.wait_for_requests(1).len(), 1);
}

#[test]
fn a_resolver_failure_keeps_a_scheduler_that_still_answers() {
    // ZooKeeper is down, the scheduler had one hiccup: the call still succeeds.
    let server = Server::start(|i, _| if i == 0 { Action::Drop } else { jobs_ok() });
    let leaders = ScriptedLeaders::new(&[None]);
    let c = client_with_resolver(&server.base_url(), &leaders);
    c.get_jobs(None).expect("OK on the retry");
    assert_eq!(server.wait_for_requests(2).len(), 2);
    assert_eq!(leaders.asked(), 1);
    assert_eq!(c.api_url(), format!("{}/api", server.base_url()));
}

#[test]
fn answers_from_a_live_scheduler_do_not_ask_the_resolver() {
    let server = Server::start(|i, _| match i {
        0 => Action::code(ResponseCode::ERROR_TRANSIENT, "storage is not ready"),
        1 => jobs_ok(),
        _ => Action::code(ResponseCode::INVALID_REQUEST, "no"),
    });
    let leaders = ScriptedLeaders::new(&[Some("http://elsewhere.invalid:1")]);
    let c = client_with_resolver(&server.base_url(), &leaders);
    c.get_jobs(None).expect("OK after ERROR_TRANSIENT");
    assert!(c.get_jobs(None).is_err(), "INVALID_REQUEST");
    assert_eq!(leaders.asked(), 0);
}

#[test]
fn after_an_unknown_outcome_the_next_call_finds_the_new_leader() {
    let old = Server::start(|_, _| Action::Drop);
    let new_leader = Server::start(|_, _| jobs_ok());
    let leaders = ScriptedLeaders::new(&[Some(&new_leader.base_url())]);
    let c = client_with_resolver(&old.base_url(), &leaders);
    let err = c.create_job(&job_config()).expect_err("connection dropped");
    assert!(matches!(err, ApiError::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(leaders.asked(), 0, "not retried, so not resolved yet");
    // The caller reads state before deciding anything: that read goes to the new leader.
    c.get_jobs(None).expect("read at the new leader");
    assert_eq!(leaders.asked(), 1);
    assert_eq!(old.wait_for_requests(1).len(), 1);
    assert_eq!(new_leader.wait_for_requests(1).len(), 1);
}

/// A transport that refuses every connection and records where it was asked to go.
#[derive(Debug, Default)]
struct Refusing {
    urls: std::sync::Mutex<Vec<String>>,
}

impl aurora_api::transport::Transport for Refusing {
    fn post(
        &self,
        url: &str,
        _body: &[u8],
        _timeout: Duration,
    ) -> Result<aurora_api::transport::HttpResponse, aurora_api::error::TransportError> {
        self.urls.lock().expect("lock").push(url.to_string());
        Err(aurora_api::error::TransportError::new(
            TransportErrorKind::Connect,
            "connection refused",
        ))
    }
}

#[test]
fn the_resolver_cannot_downgrade_https_or_inject_user_info() {
    for (found, second) in [
        ("http://b:2", "https://a:1/api"),
        ("https://user:pw@b:2", "https://a:1/api"),
        ("https://b:2", "https://b:2/api"),
    ] {
        let transport = std::sync::Arc::new(Refusing::default());
        let leaders = ScriptedLeaders::new(&[Some(found)]);
        let mut cfg = config("https://a:1");
        cfg.retry.max_attempts = 2;
        cfg.resolver = Some(leaders as std::sync::Arc<dyn EndpointResolver>);
        let c =
            Client::with_transport(cfg, std::sync::Arc::clone(&transport) as _).expect("client");
        assert!(c.get_jobs(None).is_err());
        let urls = transport.urls.lock().expect("lock").clone();
        assert_eq!(urls, ["https://a:1/api", second], "resolver said {found}");
    }
}

/// A tiny HTTP/1.1 server on a raw `TcpListener`: one request per connection, recorded
/// before the handler's [`Action`] runs, so tests can count requests exactly and make the
/// server misbehave (drop the connection, answer late).
mod support {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use aurora_api::types::{
        Response, ResponseCode, ResponseDetail, Result as ApiResult, ServerInfo,
    };
    use aurora_api::wire::{IncomingCall, encode_reply};

    /// One received request.
    #[derive(Debug, Clone)]
    pub struct Request {
        pub method: String,
        pub path: String,
        /// Lower-cased names.
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Request {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// What the server does with a request.
    #[allow(clippy::large_enum_variant)] // test data, built once per request
    pub enum Action {
        /// A raw HTTP answer.
        Reply {
            status: u16,
            headers: Vec<(String, String)>,
            body: Vec<u8>,
        },
        /// A 200 Thrift REPLY to the request's method and sequence id.
        Thrift {
            code: ResponseCode,
            result: Option<ApiResult>,
            details: Vec<String>,
        },
        /// Close the connection without answering.
        Drop,
        /// Wait, then act.
        Delay(Duration, Box<Action>),
    }

    impl Action {
        pub fn status(status: u16, text: &str) -> Action {
            Action::Reply {
                status,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: text.as_bytes().to_vec(),
            }
        }

        pub fn redirect(location: &str) -> Action {
            Action::status(307, "").with_header("Location", location)
        }

        pub fn bytes(body: Vec<u8>) -> Action {
            Action::Reply {
                status: 200,
                headers: vec![(
                    "Content-Type".into(),
                    "application/vnd.apache.thrift.binary".into(),
                )],
                body,
            }
        }

        pub fn ok_result(result: Option<ApiResult>) -> Action {
            Action::ok_with_details(result, &[])
        }

        pub fn ok_with_details(result: Option<ApiResult>, details: &[&str]) -> Action {
            Action::Thrift {
                code: ResponseCode::OK,
                result,
                details: details.iter().map(|d| d.to_string()).collect(),
            }
        }

        pub fn code(code: ResponseCode, message: &str) -> Action {
            Action::Thrift {
                code,
                result: None,
                details: vec![message.to_string()],
            }
        }

        pub fn with_header(mut self, name: &str, value: &str) -> Action {
            if let Action::Reply { headers, .. } = &mut self {
                headers.push((name.to_string(), value.to_string()));
            }
            self
        }
    }

    fn response(code: ResponseCode, result: Option<ApiResult>, details: &[&str]) -> Response {
        Response {
            response_code: Some(code),
            result,
            server_info: Some(ServerInfo::new("devcluster".to_string(), String::new())),
            details: Some(
                details
                    .iter()
                    .map(|d| ResponseDetail::new(d.to_string()))
                    .collect(),
            ),
        }
    }

    /// The REPLY the scheduler would send to `call`.
    pub fn reply(
        call: &IncomingCall<'_>,
        code: ResponseCode,
        result: Option<ApiResult>,
        details: &[&str],
    ) -> Vec<u8> {
        reply_with_seq(&call.method, call.seq, code, result, details)
    }

    /// A REPLY with an explicit sequence id.
    pub fn reply_with_seq(
        method: &str,
        seq: i32,
        code: ResponseCode,
        result: Option<ApiResult>,
        details: &[&str],
    ) -> Vec<u8> {
        encode_reply(method, seq, &response(code, result, details))
    }

    type Handler = dyn Fn(usize, &Request) -> Action + Send + Sync;

    pub struct Server {
        addr: SocketAddr,
        requests: Arc<Mutex<Vec<Request>>>,
    }

    impl Server {
        /// Starts listening on a free port; `handler` gets the request's index (0 for the
        /// first request this server received) and the request.
        pub fn start(
            handler: impl Fn(usize, &Request) -> Action + Send + Sync + 'static,
        ) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("addr");
            let requests = Arc::new(Mutex::new(Vec::new()));
            let handler: Arc<Handler> = Arc::new(handler);
            let recorded = Arc::clone(&requests);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let handler = Arc::clone(&handler);
                    let recorded = Arc::clone(&recorded);
                    std::thread::spawn(move || serve(stream, &*handler, &recorded));
                }
            });
            Server { addr, requests }
        }

        pub fn base_url(&self) -> String {
            format!("http://{}", self.addr)
        }

        pub fn requests(&self) -> Vec<Request> {
            self.requests.lock().expect("lock").clone()
        }

        /// Polls (with a deadline) until at least `n` requests arrived, then returns all.
        pub fn wait_for_requests(&self, n: usize) -> Vec<Request> {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let requests = self.requests();
                if requests.len() >= n || Instant::now() > deadline {
                    return requests;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    fn serve(stream: TcpStream, handler: &Handler, recorded: &Mutex<Vec<Request>>) {
        let Some(request) = read_request(&stream) else {
            return;
        };
        let index = {
            let mut all = recorded.lock().expect("lock");
            all.push(request.clone());
            all.len() - 1
        };
        let action = handler(index, &request);
        act(stream, &request, action);
    }

    fn act(mut stream: TcpStream, request: &Request, action: Action) {
        match action {
            Action::Drop => drop(stream),
            Action::Delay(d, then) => {
                std::thread::sleep(d);
                act(stream, request, *then);
            }
            Action::Thrift {
                code,
                result,
                details,
            } => {
                let call = IncomingCall::parse(&request.body).expect("a Thrift CALL");
                let details: Vec<&str> = details.iter().map(String::as_str).collect();
                act(
                    stream,
                    request,
                    Action::bytes(reply(&call, code, result, &details)),
                );
            }
            Action::Reply {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                // The client may have given up already (timeouts): ignore write errors.
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                let _ = stream.flush();
            }
        }
    }

    fn read_request(stream: &TcpStream) -> Option<Request> {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let mut parts = line.split_whitespace();
        let method = parts.next()?.to_string();
        let path = parts.next()?.to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).ok()?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (k, v) = line.split_once(':')?;
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).ok()?;
        Some(Request {
            method,
            path,
            headers,
            body,
        })
    }

    /// A gzip member holding `data` in stored (uncompressed) deflate blocks: a valid
    /// `Content-Encoding: gzip` body without a compression library.
    pub fn gzip(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        if data.is_empty() {
            out.extend([1, 0, 0, 0xff, 0xff]);
        }
        let mut chunks = data.chunks(65_535).peekable();
        while let Some(chunk) = chunks.next() {
            out.push(u8::from(chunks.peek().is_none()));
            let len = u16::try_from(chunk.len()).expect("chunk fits");
            out.extend(len.to_le_bytes());
            out.extend((!len).to_le_bytes());
            out.extend(chunk);
        }
        out.extend(crc32(data).to_le_bytes());
        out.extend(u32::try_from(data.len()).expect("small").to_le_bytes());
        out
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffff_u32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
