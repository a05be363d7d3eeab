//! Passwords never show up in what the crate renders: the configuration and client `Debug`s,
//! and the errors of real exchanges with a server that rejects or redirects.
//!
//! Every error variant, produced from secret-bearing input through the code path that makes
//! it, is checked by the unit test in `src/redaction_tests.rs` (in the crate, so that its
//! matches need no wildcard arm despite `#[non_exhaustive]`).

use std::time::Duration;

use aurora_api::auth::Credentials;
use aurora_api::client::{Client, ClientConfig};
use aurora_api::error::ApiError;
use aurora_api::retry::RetryPolicy;
use aurora_api::transport::{HttpSettings, HttpTransport};

const PASSWORD: &str = "pa55-Very-Secret-w0rd";

fn rendered(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = format!("{e}\n{e:?}");
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!("\n{s}\n{s:?}"));
        source = s.source();
    }
    out
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(PASSWORD),
        "{what} shows the password: {text}"
    );
    // Nor its Basic encoding.
    let basic = Credentials::new("aurora", PASSWORD).basic_header();
    let encoded = basic.trim_start_matches("Basic ");
    assert!(
        !text.contains(encoded),
        "{what} shows the Basic header: {text}"
    );
}

#[test]
fn configuration_and_client_debug_redact_credentials() {
    let mut cfg = ClientConfig::new("http://scheduler:8081");
    cfg.credentials = Some(Credentials::new("aurora", PASSWORD));
    cfg.ambient_credentials = false;
    assert_clean("ClientConfig", &format!("{cfg:?}"));
    let client = Client::new(cfg).expect("client");
    assert_clean("Client", &format!("{client:?}"));
    let settings = HttpSettings {
        connect_timeout: Duration::from_secs(1),
        max_response_bytes: 1,
        credentials: Some(Credentials::new("aurora", PASSWORD)),
        ca_pem: None,
        user_agent: "t".to_string(),
    };
    assert_clean("HttpSettings", &format!("{settings:?}"));
    let transport = HttpTransport::new(&settings).expect("transport");
    assert_clean("HttpTransport", &format!("{transport:?}"));
}

#[test]
fn endpoint_with_user_info_is_refused_without_echoing_it() {
    let cfg = ClientConfig::new(format!("http://aurora:{PASSWORD}@scheduler:8081"));
    let err = Client::new(cfg).expect_err("user info in the URL");
    assert!(matches!(err, ApiError::Config(_)), "{err:?}");
    assert_clean("Config error", &rendered(&err));
}

/// A tiny_http server answering every request with `status` and `headers`.
fn serve(status: u16, headers: &[(&str, String)]) -> (String, std::thread::JoinHandle<usize>) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", server.server_addr());
    let headers: Vec<tiny_http::Header> = headers
        .iter()
        .map(|(k, v)| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("header"))
        .collect();
    let handle = std::thread::spawn(move || {
        // Serve until the client is done: one request here (nothing is retried).
        let mut served = 0;
        if let Ok(request) = server.recv() {
            let mut response = tiny_http::Response::from_string("no").with_status_code(status);
            for h in &headers {
                response.add_header(h.clone());
            }
            let _ = request.respond(response);
            served += 1;
        }
        served
    });
    (url, handle)
}

fn client_with_password(url: &str) -> Client {
    let mut cfg = ClientConfig::new(url);
    cfg.credentials = Some(Credentials::new("aurora", PASSWORD));
    cfg.ambient_credentials = false;
    cfg.retry = RetryPolicy::no_retries();
    Client::new(cfg).expect("client")
}

#[test]
fn rejected_credentials_do_not_leak_into_the_error() {
    let (url, server) = serve(
        401,
        &[(
            "WWW-Authenticate",
            "Basic realm=\"Apache Aurora Scheduler\"".to_string(),
        )],
    );
    let err = client_with_password(&url)
        .kill_tasks(&Default::default(), None, None)
        .expect_err("401");
    assert!(matches!(err, ApiError::Auth { status: 401, .. }), "{err:?}");
    assert_clean("401 error", &rendered(&err));
    assert_eq!(server.join().expect("server"), 1);
}

#[test]
fn redirect_carrying_user_info_is_refused_and_redacted() {
    let (url, server) = serve(
        307,
        &[(
            "Location",
            format!("http://aurora:{PASSWORD}@127.0.0.1:1/api"),
        )],
    );
    let err = client_with_password(&url)
        .get_jobs(None)
        .expect_err("bad redirect");
    assert!(matches!(err, ApiError::BadRedirect { .. }), "{err:?}");
    assert_clean("redirect error", &rendered(&err));
    assert_eq!(server.join().expect("server"), 1);
}
