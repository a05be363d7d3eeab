//! https: a scheduler behind a private CA is reachable with `ClientConfig::ca_file`, and
//! without it the connection fails as a TLS error that is never retried (there is no
//! "insecure" default to fall back to).
//!
//! The certificates (fixtures/tls/) are test-only: a CA and a leaf for `127.0.0.1`/`localhost`,
//! both valid for 100 years, made with openssl (EC P-256; the leaf's key in PKCS#8).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aurora_api::client::{Client, ClientConfig};
use aurora_api::error::{ApiError, TransportErrorKind};
use aurora_api::retry::RetryPolicy;
use aurora_api::types::{GetJobsResult, Response, ResponseCode, Result as ApiResult};
use aurora_api::wire::{IncomingCall, encode_reply};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const CA_PEM: &str = include_str!("../../../fixtures/tls/ca.pem");

const LEAF_PEM: &str = include_str!("../../../fixtures/tls/leaf.pem");

const LEAF_KEY_PEM: &str = include_str!("../../../fixtures/tls/leaf.key");

/// An https server answering every getJobs with OK; counts accepted connections and
/// requests that made it through the handshake.
struct TlsServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl TlsServer {
    fn start() -> TlsServer {
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
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (conns, reqs) = (Arc::clone(&connections), Arc::clone(&requests));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                conns.fetch_add(1, Ordering::SeqCst);
                let config = Arc::clone(&config);
                let reqs = Arc::clone(&reqs);
                std::thread::spawn(move || serve(stream, config, &reqs));
            }
        });
        TlsServer {
            addr,
            connections,
            requests,
        }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    /// Polls (with a deadline) until `n` connections were accepted.
    fn wait_for_connections(&self, n: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = self.connections.load(Ordering::SeqCst);
            if seen >= n || Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn serve(stream: TcpStream, config: Arc<rustls::ServerConfig>, requests: &Mutex<Vec<String>>) {
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let Some(body) = read_body(&mut tls) else {
        return; // handshake refused by the client, or a broken request
    };
    let Ok(call) = IncomingCall::parse(&body) else {
        return;
    };
    requests.lock().expect("lock").push(call.method.clone());
    let reply = encode_reply(
        &call.method,
        call.seq,
        &Response {
            response_code: Some(ResponseCode::OK),
            result: Some(ApiResult::GetJobsResult(GetJobsResult::default())),
            server_info: None,
            details: Some(vec![]),
        },
    );
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.apache.thrift.binary\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.len()
    );
    let _ = tls.write_all(head.as_bytes());
    let _ = tls.write_all(&reply);
    let _ = tls.flush();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn read_body(stream: &mut impl Read) -> Option<Vec<u8>> {
    let mut reader = BufReader::new(stream);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        if line.is_empty() {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

fn config(url: &str) -> ClientConfig {
    let mut c = ClientConfig::new(url);
    c.ambient_credentials = false;
    c.retry = RetryPolicy {
        max_attempts: 5,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    c
}

#[test]
fn https_with_a_private_ca_file_works() {
    let server = TlsServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, CA_PEM).expect("write CA");
    let mut cfg = config(&server.url());
    cfg.ca_file = Some(ca);
    let client = Client::new(cfg).expect("client");
    client.get_jobs(None).expect("OK over https");
    assert_eq!(server.wait_for_connections(1), 1);
    assert_eq!(*server.requests.lock().expect("lock"), ["getJobs"]);
}

#[test]
fn https_to_an_untrusted_certificate_is_a_tls_error_and_not_retried() {
    let server = TlsServer::start();
    let client = Client::new(config(&server.url())).expect("client");
    let err = client.get_jobs(None).expect_err("untrusted");
    match &err {
        ApiError::Transport { source, .. } => {
            assert_eq!(source.kind, TransportErrorKind::Tls, "{source}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.retryable());
    assert_eq!(server.wait_for_connections(1), 1, "one handshake, no retry");
    assert!(server.requests.lock().expect("lock").is_empty());
}

#[test]
fn a_ca_file_without_a_certificate_or_missing_is_a_config_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key_only = dir.path().join("key.pem");
    std::fs::write(&key_only, LEAF_KEY_PEM).expect("write");
    for path in [key_only, dir.path().join("missing.pem")] {
        let mut cfg = config("https://127.0.0.1:1");
        cfg.ca_file = Some(path.clone());
        let err = Client::new(cfg).expect_err("bad CA file");
        assert!(matches!(err, ApiError::Config(_)), "{path:?}: {err:?}");
    }
}

#[test]
fn untrusted_certificate_on_create_job_is_not_an_unknown_outcome() {
    // The handshake failed, so the request never left: a plain TLS error, not OutcomeUnknown.
    let server = TlsServer::start();
    let client = Client::new(config(&server.url())).expect("client");
    let err = client
        .create_job(&Default::default())
        .expect_err("untrusted");
    assert!(
        matches!(&err, ApiError::Transport { source, .. } if source.kind == TransportErrorKind::Tls),
        "{err:?}"
    );
    assert_eq!(server.wait_for_connections(1), 1);
}
