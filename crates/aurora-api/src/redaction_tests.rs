//! No error shows a credential: every error is produced by driving the client (or the
//! transport, or credential resolution) with secret-bearing input through the code path
//! that makes it, against loopback servers that misbehave in each way, and its Display,
//! Debug and whole `source()` chain are searched for the secrets.
//!
//! The secrets travel as Basic credentials (every request carries them), as user info and a
//! query token in endpoint URLs, and as user info and a query token in the `Location` of
//! redirects: each scenario's server first redirects the client to `/api?token=…`, so the
//! URL every later error names carries the token.
//!
//! The variants are covered by construction: [`variant_names!`] matches every variant of
//! [`ApiError`], [`TransportErrorKind`] and [`AuthError`] without a wildcard arm (this is a
//! unit test so that `#[non_exhaustive]` does not force one), so a new variant does not
//! compile until it is named, and once named the test fails until a scenario produces it.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::auth::{self, AuthError, Credentials};
use crate::client::{Client, ClientConfig};
use crate::error::{ApiError, TransportError, TransportErrorKind};
use crate::retry::RetryPolicy;
use crate::transport::{HttpSettings, HttpTransport, Transport};
use crate::types::{self, Response, ResponseCode, ResponseDetail};
use crate::wire::{IncomingCall, encode_reply};

const USER: &str = "alice";
const PASSWORD: &str = "s3cr3t-PASS-4f9c";
const TOKEN: &str = "tok-SECRET-81ab";

const LEAF_PEM: &str = include_str!("../../../fixtures/tls/leaf.pem");
const LEAF_KEY_PEM: &str = include_str!("../../../fixtures/tls/leaf.key");

/// Names every variant of an enum; no wildcard arm, so a new variant fails to compile here.
macro_rules! variant_names {
    ($all:ident, $name_of:ident, $enum:ident { $($variant:ident),* $(,)? }) => {
        const $all: &[&str] = &[$(stringify!($variant)),*];

        fn $name_of(value: &$enum) -> &'static str {
            match value {
                $($enum::$variant { .. } => stringify!($variant),)*
            }
        }
    };
}

variant_names!(
    API_ERRORS,
    api_error_name,
    ApiError {
        Scheduler,
        Auth,
        Transport,
        HttpStatus,
        ResponseTooLarge,
        Protocol,
        UnexpectedResult,
        OutcomeUnknown,
        Retried,
        NoLeader,
        TooManyRedirects,
        BadRedirect,
        Config,
    }
);

variant_names!(
    TRANSPORT_KINDS,
    transport_kind_name,
    TransportErrorKind {
        Connect,
        Tls,
        Timeout,
        Io,
        Request,
        TooLarge,
    }
);

variant_names!(
    AUTH_ERRORS,
    auth_error_name,
    AuthError {
        IncompleteEnvironment,
        NetrcUnreadable,
    }
);

/// The strings no error may contain: the password, its Basic encoding, the query token.
fn secrets() -> Vec<String> {
    let basic = Credentials::new(USER, PASSWORD).basic_header();
    vec![
        PASSWORD.to_string(),
        basic.trim_start_matches("Basic ").to_string(),
        TOKEN.to_string(),
    ]
}

/// Display and Debug of `error` and of everything down its `source()` chain.
fn rendered(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = format!("{error}\n{error:?}");
    let mut source = error.source();
    while let Some(s) = source {
        out.push_str(&format!("\n{s}\n{s:?}"));
        source = s.source();
    }
    out
}

/// What the scenarios produced, by variant, every error checked on the way in.
#[derive(Default)]
struct Seen {
    api: BTreeSet<&'static str>,
    kinds: BTreeSet<&'static str>,
    auth: BTreeSet<&'static str>,
}

impl Seen {
    fn check(scenario: &str, error: &(dyn std::error::Error + 'static)) {
        let text = rendered(error);
        for secret in secrets() {
            assert!(
                !text.contains(&secret),
                "{scenario}: the error shows {secret:?}:\n{text}"
            );
        }
    }

    /// Checks `error` and records its variant and those nested in it; asserts it is
    /// `expected` so that a scenario that stops producing its variant is noticed here.
    fn api(&mut self, scenario: &str, expected: &str, error: &ApiError) {
        Self::check(scenario, error);
        assert_eq!(api_error_name(error), expected, "{scenario}: {error:?}");
        self.nested(error);
    }

    fn nested(&mut self, error: &ApiError) {
        self.api.insert(api_error_name(error));
        match error {
            ApiError::Transport { source, .. } => {
                self.kinds.insert(transport_kind_name(&source.kind));
            }
            ApiError::OutcomeUnknown { cause, .. } => self.nested(cause),
            ApiError::Retried { last, .. } => self.nested(last),
            _ => {}
        }
    }

    fn transport(&mut self, scenario: &str, expected: TransportErrorKind, error: &TransportError) {
        Self::check(scenario, error);
        assert_eq!(error.kind, expected, "{scenario}: {error:?}");
        self.kinds.insert(transport_kind_name(&error.kind));
    }

    fn auth(&mut self, scenario: &str, error: &AuthError) {
        Self::check(scenario, error);
        self.auth.insert(auth_error_name(error));
    }
}

/// What a server does with a request that reached `/api?token=…`.
enum Answer {
    /// Close the connection without a word.
    Close,
    /// Keep the connection open until the client gives up.
    Hang,
    /// Send these bytes, then close.
    Bytes(Vec<u8>),
}

type Behaviour = dyn Fn(usize, &[u8]) -> Answer + Send + Sync;

/// A loopback HTTP server. A request whose target has no `token=` is redirected to
/// `/api?token=TOKEN`; the others get `behaviour(n, body)`, `n` counting them from 0.
/// Requests without the expected `Authorization` header get HTTP 400.
fn serve(behaviour: impl Fn(usize, &[u8]) -> Answer + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let behaviour: Arc<Behaviour> = Arc::new(behaviour);
    let count = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (behaviour, count) = (Arc::clone(&behaviour), Arc::clone(&count));
            std::thread::spawn(move || answer(stream, &*behaviour, &count));
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn answer(mut stream: TcpStream, behaviour: &Behaviour, count: &AtomicUsize) {
    let Some((target, authorization, body)) = read_request(&stream) else {
        return;
    };
    let answer = if authorization.as_deref()
        != Some(Credentials::new(USER, PASSWORD).basic_header().as_str())
    {
        http(400, &[], b"no credentials")
    } else if !target.contains("token=") {
        http(307, &[("Location", &format!("/api?token={TOKEN}"))], b"")
    } else {
        behaviour(count.fetch_add(1, Ordering::SeqCst), &body)
    };
    match answer {
        Answer::Close => {}
        Answer::Hang => {
            let mut buf = [0u8; 64];
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        }
        Answer::Bytes(bytes) => {
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
        }
    }
}

/// The request target, the `Authorization` header and the body.
fn read_request(stream: &TcpStream) -> Option<(String, Option<String>, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1)?.to_string();
    let (mut len, mut authorization) = (0, None);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => len = value.trim().parse().ok()?,
            "authorization" => authorization = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some((target, authorization, body))
}

fn http(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut out = format!(
        "HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Answer::Bytes(bytes)
}

/// A 200 Thrift REPLY to the call in `body`.
fn thrift(body: &[u8], code: ResponseCode, details: &[&str]) -> Answer {
    let call = IncomingCall::parse(body).expect("a Thrift CALL");
    let response = Response {
        response_code: Some(code),
        result: None,
        server_info: None,
        details: Some(
            details
                .iter()
                .map(|d| ResponseDetail::new(d.to_string()))
                .collect(),
        ),
    };
    http(200, &[], &encode_reply(&call.method, call.seq, &response))
}

/// A loopback port nobody listens on (bound, then released).
fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A https server with the test leaf certificate, which no bundled root trusts.
fn serve_tls() -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_slice(LEAF_PEM.as_bytes()).expect("leaf cert")];
    let key = PrivateKeyDer::from_pem_slice(LEAF_KEY_PEM.as_bytes()).expect("leaf key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let Ok(conn) = rustls::ServerConnection::new(Arc::clone(&config)) else {
                continue;
            };
            std::thread::spawn(move || {
                // The handshake fails when the client refuses the certificate.
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut buf = [0u8; 64];
                let _ = tls.read(&mut buf);
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

fn config(endpoint: &str) -> ClientConfig {
    let mut config = ClientConfig::new(endpoint);
    config.credentials = Some(Credentials::new(USER, PASSWORD));
    config.ambient_credentials = false;
    config.retry = RetryPolicy::no_retries();
    config.connect_timeout = Duration::from_secs(5);
    config.request_timeout = Duration::from_secs(5);
    config
}

fn client(endpoint: &str) -> Client {
    Client::new(config(endpoint)).expect("client")
}

fn job_config() -> types::JobConfiguration {
    types::JobConfiguration::default()
}

#[test]
fn no_error_shows_a_credential() {
    let mut seen = Seen::default();

    // Endpoints carrying the password and the token are refused without echoing them.
    for endpoint in [
        format!("http://{USER}:{PASSWORD}@127.0.0.1:1/api"),
        format!("http://127.0.0.1:1/api?token={TOKEN}"),
        format!("ftp://{USER}:{PASSWORD}@127.0.0.1:1/api?token={TOKEN}"),
        format!("http://{USER}:{PASSWORD}@/api?token={TOKEN}"),
        format!("http://:1/api?token={TOKEN}"),
        format!("http://{USER}:{PASSWORD}@127.0.0.1:1/a pi?token={TOKEN}"),
    ] {
        let error = Client::new(config(&endpoint)).expect_err("refused");
        seen.api("endpoint", "Config", &error);
    }

    // Bad CA files: unreadable, not PEM.
    let mut cfg = config("https://127.0.0.1:1");
    cfg.ca_file = Some("/nonexistent/aurora-ca.pem".into());
    seen.api(
        "missing CA",
        "Config",
        &Client::new(cfg).expect_err("no file"),
    );
    let garbage = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(garbage.path(), format!("{PASSWORD}\n")).expect("write");
    let mut cfg = config("https://127.0.0.1:1");
    cfg.ca_file = Some(garbage.path().to_path_buf());
    seen.api(
        "garbage CA",
        "Config",
        &Client::new(cfg).expect_err("no certificate"),
    );

    // A port nobody listens on.
    let url = format!("http://127.0.0.1:{}", dead_port());
    let error = client(&url).get_jobs(None).expect_err("refused");
    seen.api("refused", "Transport", &error);

    // A leader redirect carrying the token, to a port nobody listens on.
    let dead = dead_port();
    let url = serve(move |_, _| {
        let location = format!("http://127.0.0.1:{dead}/api?token={TOKEN}");
        http(307, &[("Location", &location)], b"")
    });
    let error = client(&url).get_jobs(None).expect_err("refused");
    seen.api("redirect to nowhere", "Transport", &error);

    // TLS: a certificate no bundled root signed; then a CA file that does not sign it.
    let url = serve_tls();
    let error = client(&url).get_jobs(None).expect_err("untrusted");
    seen.api("untrusted certificate", "Transport", &error);
    let wrong_ca = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(wrong_ca.path(), LEAF_PEM).expect("write");
    let mut cfg = config(&url);
    cfg.ca_file = Some(wrong_ca.path().to_path_buf());
    let error = Client::new(cfg)
        .expect("client")
        .get_jobs(None)
        .expect_err("untrusted");
    seen.api("wrong CA", "Transport", &error);

    // A server that closes the connection: a read fails, a create's outcome is unknown.
    let url = serve(|_, _| Answer::Close);
    seen.api(
        "closed",
        "Transport",
        &client(&url).get_jobs(None).expect_err("closed"),
    );
    seen.api(
        "closed create",
        "OutcomeUnknown",
        &client(&url).create_job(&job_config()).expect_err("closed"),
    );

    // A server that never answers.
    let url = serve(|_, _| Answer::Hang);
    let mut cfg = config(&url);
    cfg.request_timeout = Duration::from_millis(300);
    let error = Client::new(cfg)
        .expect("client")
        .get_jobs(None)
        .expect_err("timeout");
    seen.api("timeout", "Transport", &error);

    // A User-Agent that is not a header value (ureq would panic on it).
    let mut cfg = config("http://127.0.0.1:1");
    cfg.user_agent = format!("aurora\r\nX-Token: {TOKEN}");
    seen.api(
        "bad User-Agent",
        "Config",
        &Client::new(cfg).expect_err("bad header"),
    );

    // HTTP answers the API never gives, and the ones it does.
    let url = serve(|_, _| http(500, &[], b"<html>Internal Server Error</html>"));
    seen.api(
        "500",
        "HttpStatus",
        &client(&url).get_jobs(None).expect_err("500"),
    );
    let url = serve(|_, _| {
        http(
            401,
            &[(
                "WWW-Authenticate",
                "Basic realm=\"Apache Aurora Scheduler\"",
            )],
            b"",
        )
    });
    seen.api(
        "401",
        "Auth",
        &client(&url)
            .kill_tasks(&Default::default(), None, None)
            .expect_err("401"),
    );
    let url = serve(|_, _| http(503, &[], b"no leader"));
    seen.api(
        "503",
        "NoLeader",
        &client(&url).get_jobs(None).expect_err("503"),
    );
    let url = serve(|_, _| http(200, &[], b"<html>not thrift</html>"));
    seen.api(
        "garbage",
        "Protocol",
        &client(&url).get_jobs(None).expect_err("garbage"),
    );
    let url = serve(|_, _| http(200, &[], &[0u8; 4096]));
    let mut cfg = config(&url);
    cfg.max_response_bytes = 64;
    let error = Client::new(cfg)
        .expect("client")
        .get_jobs(None)
        .expect_err("too large");
    seen.api("too large", "ResponseTooLarge", &error);

    // Thrift answers.
    let url = serve(|_, body| {
        thrift(
            body,
            ResponseCode::AUTH_FAILED,
            &["Subject alice is not permitted to createJob"],
        )
    });
    seen.api(
        "AUTH_FAILED",
        "Scheduler",
        &client(&url).create_job(&job_config()).expect_err("denied"),
    );
    let url = serve(|_, body| thrift(body, ResponseCode::OK, &[]));
    seen.api(
        "no result",
        "UnexpectedResult",
        &client(&url).get_jobs(None).expect_err("no result"),
    );

    // Redirects: carrying user info, and without end.
    let url = serve(|_, _| {
        let location = format!("http://{USER}:{PASSWORD}@127.0.0.1:1/api?token={TOKEN}");
        http(307, &[("Location", &location)], b"")
    });
    seen.api(
        "redirect with user info",
        "BadRedirect",
        &client(&url).get_jobs(None).expect_err("refused"),
    );
    let url = serve(|n, _| {
        let location = format!("/api?token={TOKEN}&hop={n}");
        http(307, &[("Location", &location)], b"")
    });
    let mut cfg = config(&url);
    cfg.max_redirects = 2;
    let error = Client::new(cfg)
        .expect("client")
        .get_jobs(None)
        .expect_err("loop");
    seen.api("redirect loop", "TooManyRedirects", &error);

    // Retries that fail in two ways.
    let url = serve(|n, _| {
        if n == 0 {
            http(503, &[], b"")
        } else {
            Answer::Close
        }
    });
    let mut cfg = config(&url);
    cfg.retry = RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        ..RetryPolicy::default()
    };
    let error = Client::new(cfg)
        .expect("client")
        .get_jobs(None)
        .expect_err("retried");
    seen.api("retried", "Retried", &error);

    // The transport alone, given secret-bearing URLs.
    let transport = HttpTransport::new(&HttpSettings {
        connect_timeout: Duration::from_secs(5),
        max_response_bytes: 64,
        credentials: Some(Credentials::new(USER, PASSWORD)),
        ca_pem: None,
        user_agent: "t".to_string(),
    })
    .expect("transport");
    let timeout = Duration::from_secs(5);
    let error = transport
        .post(
            &format!(
                "http://{USER}:{PASSWORD}@127.0.0.1:{}/api?token={TOKEN}",
                dead_port()
            ),
            b"",
            timeout,
        )
        .expect_err("refused");
    seen.transport("transport refused", TransportErrorKind::Connect, &error);
    let error = transport
        .post(
            &format!("http://{USER}:{PASSWORD}@127.0.0.1:1/a pi?token={TOKEN}"),
            b"",
            timeout,
        )
        .expect_err("bad URL");
    seen.transport("transport bad URL", TransportErrorKind::Request, &error);
    let big = serve(|_, _| http(200, &[], &[0u8; 4096]));
    let error = transport
        .post(&format!("{big}/api?token={TOKEN}"), b"", timeout)
        .expect_err("too large");
    seen.transport("transport too large", TransportErrorKind::TooLarge, &error);

    // Credential resolution: half an environment (with the password), an unreadable netrc.
    let dir = tempfile::tempdir().expect("temp dir");
    let netrc = dir.path().to_string_lossy().into_owned();
    let environments: [&[(&str, &str)]; 3] = [
        &[(auth::ENV_PASSWORD, PASSWORD)],
        &[(auth::ENV_USERNAME, USER)],
        &[(auth::ENV_NETRC, netrc.as_str())],
    ];
    for env in environments {
        let error = auth::resolve_with(None, "127.0.0.1", |name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .expect_err("unusable");
        seen.auth("credentials", &error);
    }

    let missing = |all: &[&'static str], seen: &BTreeSet<&'static str>| -> Vec<&'static str> {
        all.iter().copied().filter(|v| !seen.contains(v)).collect()
    };
    assert_eq!(
        missing(API_ERRORS, &seen.api),
        Vec::<&str>::new(),
        "ApiError"
    );
    assert_eq!(
        missing(TRANSPORT_KINDS, &seen.kinds),
        Vec::<&str>::new(),
        "TransportErrorKind"
    );
    assert_eq!(
        missing(AUTH_ERRORS, &seen.auth),
        Vec::<&str>::new(),
        "AuthError"
    );
}
