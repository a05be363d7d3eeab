//! One HTTP POST of a Thrift message to the scheduler, and nothing more.
//!
//! The scheduler's `/api` servlet reads TBinaryProtocol only when the request's
//! `Content-Type` is exactly `application/vnd.apache.thrift.binary`, and answers in binary
//! only when `Accept` is exactly that too (anything else gets TJSON, or HTTP 415 for an
//! unknown content type), so both headers are always sent. Everything that needs judgement
//! (following 307 to the leader, 503, retries, decoding) lives in the
//! [client](crate::client); a [`Transport`] only reports what happened, so tests and the
//! emulator can plug in their own.
//!
//! [`HttpTransport`] is the production implementation over ureq 3: redirects are never
//! followed by ureq (it would not replay a POST body on 307 and drops `Authorization`), HTTP
//! error statuses are returned as data, gzip is accepted and decoded, the body is capped at a
//! configurable size far above ureq's 10 MB default (large `getTasksStatus` replies), and
//! Basic credentials are sent pre-emptively on every request (the scheduler challenges
//! writes with 401 rather than negotiating).

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::auth::Credentials;
use crate::error::{ApiError, TransportError, TransportErrorKind};

/// The MIME type selecting TBinaryProtocol for both the request and the reply.
pub const THRIFT_BINARY: &str = "application/vnd.apache.thrift.binary";

/// How many bytes of a non-200 body are kept for error messages.
const EXCERPT_BYTES: u64 = 512;

/// What came back from one POST.
#[derive(Debug)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header (307 leader redirects).
    pub location: Option<String>,
    /// The `WWW-Authenticate` header (401 challenges).
    pub www_authenticate: Option<String>,
    /// The body, decompressed; for statuses other than 200 at most a short excerpt.
    pub body: ReplyBody,
}

/// A reply's body, read already or left on the connection for its decoder.
///
/// A big 200 body is left unread so that it is read as it is decoded, on one of the
/// decoding threads: the reply's bytes are never held whole, and replies waiting for a
/// decoding thread wait in the connection, not in memory. (A 1,000-task page is ~2.7 MB
/// decompressed; a 10,000-job cluster's pages all arrive at once.)
pub enum ReplyBody {
    /// Bytes already read: an error page's excerpt, or everything from a transport that
    /// reads eagerly.
    Read(Vec<u8>),
    /// A body still on the connection.
    Unread(UnreadBody),
}

impl ReplyBody {
    /// The bytes read so far (none of an unread body): what an error message may quote.
    pub fn excerpt(&self) -> &[u8] {
        match self {
            ReplyBody::Read(bytes) => bytes,
            ReplyBody::Unread(_) => &[],
        }
    }
}

impl fmt::Debug for ReplyBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyBody::Read(bytes) => write!(f, "Read({} bytes)", bytes.len()),
            ReplyBody::Unread(body) => body.fmt(f),
        }
    }
}

impl fmt::Debug for UnreadBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unread({:?} bytes on the wire)", self.wire_length)
    }
}

/// A 200 body still on the connection, with what a failure to read it means.
pub struct UnreadBody {
    reader: Box<dyn Read + Send>,
    wire_length: Option<u64>,
    failure: fn(std::io::Error) -> TransportError,
}

impl UnreadBody {
    /// A body read from `reader` (decompressed, capped), `wire_length` bytes long on the
    /// wire when announced; `failure` turns a read error into the transport's error (a
    /// timeout, a body over the limit…).
    pub fn new(
        reader: Box<dyn Read + Send>,
        wire_length: Option<u64>,
        failure: fn(std::io::Error) -> TransportError,
    ) -> Self {
        UnreadBody {
            reader,
            wire_length,
            failure,
        }
    }

    /// The body's length on the wire (compressed, when it is), if announced.
    pub fn wire_length(&self) -> Option<u64> {
        self.wire_length
    }

    /// Hands the body to `decode` as a buffered reader. A read that fails is the
    /// transport's error, whatever `decode` makes of the short input; otherwise `decode`'s
    /// own result.
    pub fn decode<T, E>(
        self,
        decode: impl FnOnce(&mut dyn std::io::BufRead) -> Result<T, E>,
    ) -> Result<Result<T, E>, TransportError> {
        let mut watched = std::io::BufReader::with_capacity(
            DECODE_BUFFER_BYTES,
            Watched {
                inner: self.reader,
                failure: None,
            },
        );
        let decoded = decode(&mut watched);
        if decoded.is_err() {
            // Bytes that are not a reply may still be a body over the limit, which is the
            // transport's error whatever the bytes are: read on to find out (and to its end,
            // so the connection can be used again).
            let _ = std::io::copy(&mut watched, &mut std::io::sink());
        }
        match watched.into_inner().failure {
            Some(e) => Err((self.failure)(e)),
            None => Ok(decoded),
        }
    }
}

/// The buffer a body is decoded through.
const DECODE_BUFFER_BYTES: usize = 32 * 1024;

/// A reader that keeps its first failure, which a decoder reports only as short input.
struct Watched {
    inner: Box<dyn Read + Send>,
    failure: Option<std::io::Error>,
}

impl Read for Watched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Err(e) if e.kind() != std::io::ErrorKind::Interrupted => {
                let again = std::io::Error::new(e.kind(), e.to_string());
                self.failure.get_or_insert(e);
                Err(again)
            }
            other => other,
        }
    }
}

/// Sends one Thrift message and returns the raw HTTP answer.
///
/// Implementations must not follow redirects nor retry: the client decides both, because
/// only it knows whether the call is idempotent.
pub trait Transport: Send + Sync + fmt::Debug {
    /// POSTs `body` to `url`, giving up after `timeout`. A body larger than the
    /// transport's limit is a [`TransportErrorKind::TooLarge`] error.
    fn post(
        &self,
        url: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<HttpResponse, TransportError>;
}

/// Settings of [`HttpTransport`].
#[derive(Clone)]
pub struct HttpSettings {
    /// Time to establish a connection (DNS, TCP, TLS).
    pub connect_timeout: Duration,
    /// Largest accepted reply body after decompression.
    pub max_response_bytes: u64,
    /// Sent as `Authorization: Basic …` on every request when set.
    pub credentials: Option<Credentials>,
    /// Trusted root certificates (PEM) replacing the bundled Mozilla roots, for schedulers
    /// behind a private CA.
    pub ca_pem: Option<Vec<u8>>,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSettings")
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("credentials", &self.credentials)
            .field("ca_pem", &self.ca_pem.as_ref().map(|p| p.len()))
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// Idle connections kept open per scheduler (and in all): as many as the calls a plan sends
/// at once (the engine's default `--parallelism` is 64), so the confirmations after the
/// reads reuse the reads' connections. ureq's default of 3 closed all but 3 of the first
/// wave's connections, and the next wave connected again.
pub const IDLE_CONNECTIONS: usize = 64;

/// Each connection's input and output buffer. ureq's default, 128 KiB each way, is allocated
/// and zeroed for every new connection (a sixth of a 1,000-job plan's CPU time went to
/// clearing those pages); Thrift calls' headers are small and bodies stream through the
/// buffers in chunks, so 16 KiB each way costs no extra round trip.
const BUFFER_BYTES: usize = 16 * 1024;

/// Thrift-over-HTTP with ureq: one agent (connection pool) shared by all calls; cheap to
/// clone.
#[derive(Clone)]
pub struct HttpTransport {
    agent: ureq::Agent,
    authorization: Option<String>,
    max_response_bytes: u64,
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// Builds the agent. Fails on an unusable CA bundle or User-Agent.
    pub fn new(settings: &HttpSettings) -> Result<Self, ApiError> {
        // ureq panics on a User-Agent that is not a valid header value (a line break, say):
        // refuse it here, without echoing it.
        if ureq::http::HeaderValue::from_str(&settings.user_agent).is_err() {
            return Err(ApiError::Config(
                "the User-Agent is not a valid HTTP header value".to_string(),
            ));
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(pem) = &settings.ca_pem {
            tls = tls.root_certs(parse_ca_bundle(pem)?);
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(settings.connect_timeout))
            .user_agent(settings.user_agent.as_str())
            .tls_config(tls.build())
            .max_idle_connections(IDLE_CONNECTIONS)
            .max_idle_connections_per_host(IDLE_CONNECTIONS)
            .input_buffer_size(BUFFER_BYTES)
            .output_buffer_size(BUFFER_BYTES)
            .max_response_header_size(BUFFER_BYTES)
            .build();
        Ok(HttpTransport {
            agent: config.into(),
            authorization: settings.credentials.as_ref().map(Credentials::basic_header),
            max_response_bytes: settings.max_response_bytes,
        })
    }
}

/// Reads a PEM bundle into root certificates; at least one certificate is required, so a
/// wrong file (e.g. a key) is caught at start-up rather than as a TLS failure later.
pub fn parse_ca_bundle(pem: &[u8]) -> Result<ureq::tls::RootCerts, ApiError> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(ApiError::Config(format!("CA bundle is not valid PEM: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(ApiError::Config(
            "CA bundle contains no certificate".to_string(),
        ));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

/// Reads a CA file for [`HttpSettings::ca_pem`].
pub fn read_ca_file(path: &Path) -> Result<Vec<u8>, ApiError> {
    std::fs::read(path)
        .map_err(|e| ApiError::Config(format!("cannot read CA file {}: {e}", path.display())))
}

impl Transport for HttpTransport {
    fn post(
        &self,
        url: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<HttpResponse, TransportError> {
        let mut request = self
            .agent
            .post(url)
            .header("Content-Type", THRIFT_BINARY)
            .header("Accept", THRIFT_BINARY);
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth.as_str());
        }
        let mut response = request
            .config()
            .timeout_global(Some(timeout))
            .build()
            .send(body)
            .map_err(classify)?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header("location");
        let www_authenticate = header("www-authenticate");
        let body = if status == 200 {
            // A body announced over the limit (its length as read: not compressed) is
            // refused before it is read.
            if let Some(announced) = response.body().content_length()
                && announced > self.max_response_bytes
            {
                return Err(body_read_failure(std::io::Error::other(
                    ureq::Error::BodyExceedsLimit(self.max_response_bytes),
                )));
            }
            let wire_length = header("content-length").and_then(|v| v.trim().parse().ok());
            let reader = response
                .into_body()
                .into_with_config()
                .limit(self.max_response_bytes)
                .reader();
            ReplyBody::Unread(UnreadBody::new(
                Box::new(reader),
                wire_length,
                body_read_failure,
            ))
        } else {
            // An error page is only shown as an excerpt; a broken one is no worse than none.
            let mut excerpt = Vec::new();
            let _ = response
                .body_mut()
                .as_reader()
                .take(EXCERPT_BYTES)
                .read_to_end(&mut excerpt);
            ReplyBody::Read(excerpt)
        };
        Ok(HttpResponse {
            status,
            location,
            www_authenticate,
            body,
        })
    }
}

/// What a failed read of a 200 body means: over the limit, or how ureq failed.
fn body_read_failure(e: std::io::Error) -> TransportError {
    match ureq::Error::from(e) {
        ureq::Error::BodyExceedsLimit(limit) => TransportError::new(
            TransportErrorKind::TooLarge,
            format!("reply body exceeds {limit} bytes"),
        ),
        other => classify(other),
    }
}

/// Sorts ureq's errors by how far the exchange got (see [`TransportErrorKind`]).
fn classify(error: ureq::Error) -> TransportError {
    use std::io::ErrorKind as Io;
    use ureq::Error as E;
    let kind = match &error {
        E::HostNotFound | E::ConnectionFailed => TransportErrorKind::Connect,
        E::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => TransportErrorKind::Connect,
        E::Timeout(_) => TransportErrorKind::Timeout,
        E::Io(io) => match io.kind() {
            Io::ConnectionRefused
            | Io::AddrNotAvailable
            | Io::NotFound
            | Io::HostUnreachable
            | Io::NetworkUnreachable => TransportErrorKind::Connect,
            Io::TimedOut | Io::WouldBlock => TransportErrorKind::Timeout,
            _ if is_handshake_rejection(io) => TransportErrorKind::Tls,
            _ => TransportErrorKind::Io,
        },
        E::Tls(_) | E::Pem(_) | E::Rustls(_) | E::TlsRequired => TransportErrorKind::Tls,
        E::BodyExceedsLimit(_) => TransportErrorKind::TooLarge,
        E::BadUri(_) | E::Http(_) | E::RequireHttpsOnly(_) | E::InvalidProxyUrl => {
            TransportErrorKind::Request
        }
        _ => TransportErrorKind::Io,
    };
    TransportError::new(kind, error.to_string())
}

/// Whether an I/O error is rustls refusing the server during the handshake (ureq reports
/// those as `Error::Io`): the request was never sent, and retrying cannot help. Other
/// rustls errors may happen mid-exchange and stay "maybe sent".
fn is_handshake_rejection(io: &std::io::Error) -> bool {
    use rustls::Error as R;
    let Some(inner) = io.get_ref() else {
        return false;
    };
    matches!(
        inner.downcast_ref::<R>(),
        Some(
            R::InvalidCertificate(_)
                | R::NoCertificatesPresented
                | R::UnsupportedNameType
                | R::PeerIncompatible(_)
                | R::InvalidCertRevocationList(_)
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// All of a body, read from the connection if it is still there.
    fn bytes(body: ReplyBody) -> Vec<u8> {
        match body {
            ReplyBody::Read(bytes) => bytes,
            ReplyBody::Unread(body) => body
                .decode(|input| {
                    let mut all = Vec::new();
                    input.read_to_end(&mut all).map(|_| all)
                })
                .expect("read")
                .expect("read"),
        }
    }

    #[test]
    fn ca_bundle_must_hold_a_certificate() {
        assert!(matches!(parse_ca_bundle(b""), Err(ApiError::Config(_))));
        assert!(matches!(
            parse_ca_bundle(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"),
            Err(ApiError::Config(_))
        ));
    }

    #[test]
    fn debug_never_shows_the_authorization_header() {
        let t = HttpTransport::new(&HttpSettings {
            connect_timeout: Duration::from_secs(1),
            max_response_bytes: 1,
            credentials: Some(Credentials::new("u", "hunter2")),
            ca_pem: None,
            user_agent: "t".to_string(),
        })
        .expect("builds");
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("Basic"),
            "{shown}"
        );
    }

    fn plain_transport() -> HttpTransport {
        HttpTransport::new(&HttpSettings {
            connect_timeout: Duration::from_secs(2),
            max_response_bytes: 16 * 1024 * 1024,
            credentials: None,
            ca_pem: None,
            user_agent: "t".to_string(),
        })
        .expect("builds")
    }

    /// A keep-alive HTTP server answering every POST with `reply`, once `together` requests
    /// are in (so a wave of that many calls needs that many connections). Returns its URL and
    /// the number of connections it accepted.
    fn server(reply: Vec<u8>, together: usize) -> (String, Arc<AtomicUsize>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let url = format!("http://{}/api", listener.local_addr().expect("addr"));
        let accepted = Arc::new(AtomicUsize::new(0));
        let waiting = Arc::new((std::sync::Mutex::new(0usize), std::sync::Condvar::new()));
        let counter = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let (reply, waiting) = (reply.clone(), Arc::clone(&waiting));
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut out = stream;
                    loop {
                        let mut length = 0;
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if let Some(v) =
                                line.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap_or(0);
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        let (count, arrived) = &*waiting;
                        let mut n = count.lock().expect("count");
                        *n += 1;
                        arrived.notify_all();
                        let wave = (*n).div_ceil(together) * together;
                        while *n < wave {
                            n = arrived.wait(n).expect("wait");
                        }
                        drop(n);
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {THRIFT_BINARY}\r\nContent-Length: {}\r\n\r\n",
                            reply.len()
                        );
                        if out
                            .write_all(head.as_bytes())
                            .and_then(|()| out.write_all(&reply))
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    /// Two waves of 32 concurrent calls (what planning sends: every read, then the
    /// confirmations) use 32 connections, not 32 plus the ones ureq's default pool closed.
    #[test]
    fn a_second_wave_of_calls_reuses_the_first_waves_connections() {
        const WAVE: usize = 32;
        let (url, accepted) = server(b"ok".to_vec(), WAVE);
        let transport = plain_transport();
        for _ in 0..2 {
            std::thread::scope(|scope| {
                for _ in 0..WAVE {
                    scope.spawn(|| {
                        let reply = transport
                            .post(&url, b"call", Duration::from_secs(10))
                            .expect("answered");
                        assert_eq!(bytes(reply.body), b"ok");
                    });
                }
            });
        }
        assert_eq!(accepted.load(Ordering::SeqCst), WAVE);
    }

    /// Bodies far larger than the connection buffers go through whole, both ways.
    #[test]
    fn bodies_larger_than_the_buffers_go_through() {
        let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
        let (url, _) = server(big.clone(), 1);
        let reply = plain_transport()
            .post(&url, &big[..200 * 1024], Duration::from_secs(10))
            .expect("answered");
        assert_eq!(bytes(reply.body), big);
    }

    #[test]
    fn refused_connection_is_not_sent() {
        // Bind and drop to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let t = HttpTransport::new(&HttpSettings {
            connect_timeout: Duration::from_secs(2),
            max_response_bytes: 1024,
            credentials: None,
            ca_pem: None,
            user_agent: "t".to_string(),
        })
        .expect("builds");
        let err = t
            .post(
                &format!("http://127.0.0.1:{port}/api"),
                b"x",
                Duration::from_secs(2),
            )
            .expect_err("nobody listens");
        assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
        assert!(!err.maybe_sent());
    }
}
