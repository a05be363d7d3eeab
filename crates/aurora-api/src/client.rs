//! The typed scheduler client: one method per RPC, the `Response` envelope turned into a
//! value or an [`ApiError`], leader redirects followed, and failures retried as far as the
//! call's idempotency allows. The typed methods themselves are generated from a table in
//! `methods.rs`; this module is the machinery they share.
//!
//! ```no_run
//! use aurora_api::client::{Client, ClientConfig};
//!
//! let client = Client::new(ClientConfig::new("http://aurora.example.com:8081"))?;
//! let jobs = client.get_jobs(Some("www-data"))?;
//! for job in jobs.value.configs.unwrap_or_default() {
//!     println!("{:?}", job.key);
//! }
//! # Ok::<(), aurora_api::error::ApiError>(())
//! ```
//!
//! # One call, step by step
//!
//! 1. The arguments are encoded once as a Thrift CALL with the next sequence id; every
//!    attempt and every redirect hop sends exactly these bytes.
//! 2. The body is POSTed to the remembered leader, or to the configured endpoint.
//! 3. HTTP 307: the same body is POSTed to `Location` (at most
//!    [`ClientConfig::max_redirects`] hops per attempt); the leader that finally answers is
//!    remembered for later calls. A remembered leader that stops answering is forgotten, so
//!    the next attempt goes back to the endpoint.
//! 4. After a transport failure or an HTTP 503, a client with a
//!    [resolver](ClientConfig::resolver) (ZooKeeper discovery) asks it for the endpoint again
//!    before its next attempt: the leader may have moved (see [`crate::endpoint`]).
//! 5. HTTP 200: the REPLY is decoded (method name and sequence id are checked). `OK`
//!    becomes the typed value, `ERROR_TRANSIENT` is retried, any other code is
//!    [`ApiError::Scheduler`].
//! 6. Failures are retried following [`retry::decide`](crate::retry::decide) within the
//!    [`RetryPolicy`]; see `docs/client.md` for the matrix.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::auth::{self, CredentialSource, Credentials};
use crate::decoding::ReplyError;
use crate::endpoint::EndpointResolver;
use crate::error::{ApiError, SchedulerError, TransportError, TransportErrorKind, redact_url};
use crate::retry::{Decision, Failure, RetryNotice, RetryObserver, RetryPolicy, decide};
use crate::transport::{HttpResponse, HttpSettings, HttpTransport, Transport, read_ca_file};
use crate::types::{self, ResponseCode, ServerInfo};
use crate::wire::{self, Rpc};

/// Default cap on a reply body: 256 MiB. `getTasksStatus` for a big role easily exceeds
/// ureq's 10 MB default.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// Everything a [`Client`] needs. Build with [`ClientConfig::new`] and adjust fields.
#[derive(Clone)]
pub struct ClientConfig {
    /// The scheduler's base URL (`http(s)://host:port`, optionally with a path prefix).
    /// `/api` is appended unless the URL already ends with it, as Aurora's client does. Any
    /// scheduler of the cluster will do: followers redirect to the leader. With a
    /// [`resolver`](Self::resolver) this is only where the client starts.
    pub endpoint: String,
    /// Asked for the scheduler's address again before the attempt that follows a transport
    /// failure or an HTTP 503 (the leader may have moved); `None` keeps `endpoint` for good.
    /// Credentials and TLS settings stay those of `endpoint`: every scheduler of a cluster
    /// gets the same ones. See [`crate::endpoint`].
    pub resolver: Option<Arc<dyn EndpointResolver>>,
    /// Time to establish a connection (DNS, TCP, TLS). Default 10 s.
    pub connect_timeout: Duration,
    /// Time for one HTTP exchange, including reading the reply. Default 60 s. Later
    /// attempts are also capped by what is left of [`RetryPolicy::deadline`].
    pub request_timeout: Duration,
    /// Largest accepted reply body after decompression. Default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`].
    pub max_response_bytes: u64,
    /// Leader redirects (HTTP 307) followed per attempt. Default 5.
    pub max_redirects: u32,
    /// Explicit credentials; win over the environment and netrc.
    pub credentials: Option<Credentials>,
    /// Whether to look for credentials in `AURORA_USERNAME`/`AURORA_PASSWORD` and then
    /// netrc when none are given explicitly (see [`crate::auth`]). Default `true`.
    pub ambient_credentials: bool,
    /// A PEM file of root certificates to trust instead of the bundled Mozilla roots, for
    /// schedulers behind a private CA. There is no option to skip verification.
    pub ca_file: Option<PathBuf>,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Retry bounds and pacing.
    pub retry: RetryPolicy,
    /// Told about every retry before its wait (to show it); `None` retries silently.
    pub on_retry: Option<RetryObserver>,
}

impl ClientConfig {
    /// Defaults for `endpoint`.
    pub fn new(endpoint: impl Into<String>) -> Self {
        ClientConfig {
            endpoint: endpoint.into(),
            resolver: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_redirects: 5,
            credentials: None,
            ambient_credentials: true,
            ca_file: None,
            user_agent: concat!("aurora-apply/", env!("CARGO_PKG_VERSION")).to_string(),
            retry: RetryPolicy::default(),
            on_retry: None,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("endpoint", &redact_url(&self.endpoint))
            .field("resolver", &self.resolver)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_redirects", &self.max_redirects)
            .field("credentials", &self.credentials)
            .field("ambient_credentials", &self.ambient_credentials)
            .field("ca_file", &self.ca_file)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("on_retry", &self.on_retry.is_some())
            .finish()
    }
}

/// Bounds a caller puts on every call for a while (an apply's `--timeout`, its Ctrl-C): no
/// attempt outlasts the deadline, no retry starts after it or once `cancel` is set, and a
/// backoff wait ends early when `cancel` is set. The retry policy still applies within them.
#[derive(Debug, Clone, Default)]
pub struct CallLimits {
    /// No attempt runs past this instant.
    pub deadline: Option<Instant>,
    /// Set to stop retrying (the user pressed Ctrl-C).
    pub cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl CallLimits {
    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    }

    /// Time left before the deadline (`None`: no deadline).
    fn left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }
}

/// A successful answer: the method's value plus the rest of the envelope.
///
/// OK answers may carry informative details ("No tasks to kill.", "Job is unchanged by
/// proposed update."), and `server_info` names the cluster that answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<T> {
    /// The method's payload (`()` for methods whose OK carries no result).
    pub value: T,
    /// Every `details[].message` of the response, in order.
    pub details: Vec<String>,
    /// The answering scheduler's cluster name and stats URL prefix.
    pub server_info: Option<ServerInfo>,
}

impl<T> Reply<T> {
    /// The payload alone.
    pub fn into_value(self) -> T {
        self.value
    }

    /// The same envelope around another value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reply<U> {
        Reply {
            value: f(self.value),
            details: self.details,
            server_info: self.server_info,
        }
    }
}

/// Where calls go: the endpoint (configured, or last resolved), the leader learnt from a
/// redirect, and whether a failure asked for the endpoint to be resolved again.
#[derive(Debug)]
struct Endpoint {
    /// The endpoint plus `/api`.
    api_url: String,
    /// The server that answered 200 after a redirect; tried first.
    leader: Option<String>,
    /// A transport failure or a 503 happened since the endpoint was last resolved.
    stale: bool,
}

/// What `startJobUpdate` did.
// Not boxed: one value per started update, and callers match on it directly.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StartJobUpdateOutcome {
    /// An update was created: its key and initial summary.
    Started(types::StartJobUpdateResult),
    /// The job already matches the request; no update was created (the scheduler says "Job
    /// is unchanged by proposed update." in the reply's details).
    NoChange,
}

/// A scheduler client. `Send + Sync`: share one between threads; calls run concurrently
/// over the transport's connection pool.
pub struct Client {
    endpoint: Mutex<Endpoint>,
    resolver: Option<Arc<dyn EndpointResolver>>,
    /// Held while the resolver runs, so that threads failing together ask it once.
    resolving: Mutex<()>,
    seq: AtomicI32,
    transport: Arc<dyn Transport>,
    request_timeout: Duration,
    max_redirects: u32,
    max_response_bytes: u64,
    retry: RetryPolicy,
    on_retry: Option<RetryObserver>,
    limits: Mutex<CallLimits>,
    sends_credentials: bool,
    credential_source: Option<CredentialSource>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_url", &self.api_url())
            .field("leader", &self.leader())
            .field("resolver", &self.resolver)
            .field("transport", &self.transport)
            .field("credential_source", &self.credential_source)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client over HTTP. Resolves credentials (explicit, then environment, then netrc for
    /// the endpoint's host, see [`crate::auth`]) and loads the CA file.
    pub fn new(config: ClientConfig) -> Result<Self, ApiError> {
        let api_url = api_url(&config.endpoint)?;
        let resolved = if config.ambient_credentials {
            let host = host_of(&api_url).unwrap_or_default();
            auth::resolve(config.credentials.clone(), &host)
                .map_err(|e| ApiError::Config(e.to_string()))?
        } else {
            config
                .credentials
                .clone()
                .map(|c| (c, CredentialSource::Explicit))
        };
        let ca_pem = match &config.ca_file {
            Some(path) => Some(read_ca_file(path)?),
            None => None,
        };
        let (credentials, source) = match resolved {
            Some((c, s)) => (Some(c), Some(s)),
            None => (None, None),
        };
        let transport = HttpTransport::new(&HttpSettings {
            connect_timeout: config.connect_timeout,
            max_response_bytes: config.max_response_bytes,
            credentials,
            ca_pem,
            user_agent: config.user_agent.clone(),
        })?;
        let mut client = Self::with_transport(config, Arc::new(transport))?;
        client.sends_credentials = source.is_some();
        client.credential_source = source;
        Ok(client)
    }

    /// A client over any [`Transport`] (an in-process emulator, a test double). The
    /// transport is responsible for credentials; `config.credentials`, `ca_file` and the
    /// timeouts other than `request_timeout` are not used.
    pub fn with_transport(
        config: ClientConfig,
        transport: Arc<dyn Transport>,
    ) -> Result<Self, ApiError> {
        Ok(Client {
            endpoint: Mutex::new(Endpoint {
                api_url: api_url(&config.endpoint)?,
                leader: None,
                stale: false,
            }),
            resolver: config.resolver,
            resolving: Mutex::new(()),
            seq: AtomicI32::new(1),
            transport,
            request_timeout: config.request_timeout,
            max_redirects: config.max_redirects,
            max_response_bytes: config.max_response_bytes,
            retry: config.retry,
            on_retry: config.on_retry,
            limits: Mutex::new(CallLimits::default()),
            sends_credentials: false,
            credential_source: None,
        })
    }

    /// The URL calls are POSTed to first: the configured endpoint plus `/api`, or what the
    /// [resolver](ClientConfig::resolver) last found (without user info or query).
    pub fn api_url(&self) -> String {
        self.endpoint
            .lock()
            .map(|e| redact_url(&e.api_url))
            .unwrap_or_default()
    }

    /// The leader learnt from a redirect, if any (without user info or query).
    pub fn leader(&self) -> Option<String> {
        self.endpoint
            .lock()
            .map(|e| e.leader.as_deref().map(redact_url))
            .unwrap_or(None)
    }

    /// Where the credentials came from, `None` when calls are anonymous.
    pub fn credential_source(&self) -> Option<&CredentialSource> {
        self.credential_source.as_ref()
    }

    /// Puts `limits` on every call from now on (until set again); returns the previous ones.
    pub fn set_limits(&self, limits: CallLimits) -> CallLimits {
        match self.limits.lock() {
            Ok(mut l) => std::mem::replace(&mut *l, limits),
            Err(_) => CallLimits::default(),
        }
    }

    fn limits(&self) -> CallLimits {
        self.limits.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Sends any RPC with its raw argument struct and returns the whole OK `Response`
    /// (`WARNING` counts as OK), for callers that need more than the typed methods give.
    /// Non-OK answers are [`ApiError::Scheduler`].
    pub fn call<R: Rpc>(&self, args: &R::Call) -> Result<types::Response, ApiError> {
        let method = R::METHOD;
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let body = wire::encode_call(method, seq, args);
        let started = Instant::now();
        let limits = self.limits();
        let mut attempt: u32 = 0;
        // Each failed attempt's cause, for an error that tells them all when they differ.
        let mut causes: Vec<String> = Vec::new();
        loop {
            attempt += 1;
            let mut timeout = if attempt == 1 {
                self.request_timeout
            } else {
                let left = self.retry.deadline.saturating_sub(started.elapsed());
                self.request_timeout.min(left).max(Duration::from_millis(1))
            };
            if let Some(left) = limits.left() {
                timeout = timeout.min(left).max(Duration::from_millis(1));
            }
            // After a failure (in this call or an earlier one), the endpoint is resolved
            // again first; that takes its time out of this attempt's.
            let resolving = Instant::now();
            if self.refresh(timeout) {
                timeout = timeout
                    .saturating_sub(resolving.elapsed())
                    .max(Duration::from_millis(1));
            }
            let (failure, error) = match self.attempt(method, seq, &body, timeout) {
                Ok(response) => match check_code(method, response) {
                    Ok(response) => return Ok(response),
                    Err(e) => e,
                },
                Err(e) => e,
            };
            if matches!(
                failure,
                Failure::NoLeader | Failure::NotSent | Failure::MaybeSent
            ) {
                // The scheduler we talked to may not lead any more: forget a leader learnt
                // from a redirect, and ask the resolver again before the next attempt (this
                // call's retry, or the caller's next call after an error).
                self.invalidate();
            }
            causes.push(cause_of(&error));
            match decide(failure, R::IDEMPOTENT) {
                Decision::GiveUp => return Err(told(error, attempt, &causes)),
                Decision::OutcomeUnknown => {
                    return Err(ApiError::OutcomeUnknown {
                        method,
                        cause: Box::new(error),
                    });
                }
                Decision::Retry => {}
            }
            let wait = self.retry.backoff(attempt);
            if attempt >= self.retry.max_attempts
                || started.elapsed().saturating_add(wait) >= self.retry.deadline
                || limits.cancelled()
                || limits.left().is_some_and(|left| left <= wait)
            {
                return Err(told(with_attempts(error, attempt), attempt, &causes));
            }
            tracing::debug!(
                method,
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "retrying scheduler call"
            );
            if let Some(observer) = &self.on_retry {
                observer(&RetryNotice {
                    method,
                    attempt,
                    max_attempts: self.retry.max_attempts,
                    wait,
                    failure,
                    error: error.to_string(),
                });
            }
            // In slices, so that a cancel ends the wait.
            let until = Instant::now() + wait;
            while Instant::now() < until && !limits.cancelled() {
                std::thread::sleep(
                    until
                        .saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(50)),
                );
            }
            if limits.cancelled() {
                return Err(told(with_attempts(error, attempt), attempt, &causes));
            }
        }
    }

    /// Where the next attempt goes: the leader learnt from a redirect, else the endpoint.
    fn current_url(&self) -> String {
        self.endpoint
            .lock()
            .map(|e| e.leader.clone().unwrap_or_else(|| e.api_url.clone()))
            .unwrap_or_default()
    }

    fn remember_leader(&self, url: &str) {
        if let Ok(mut e) = self.endpoint.lock() {
            e.leader = (url != e.api_url).then(|| url.to_string());
        }
    }

    /// After a transport failure or a 503: forget the redirect-learnt leader, and mark the
    /// endpoint for re-resolution when there is a resolver.
    fn invalidate(&self) {
        if let Ok(mut e) = self.endpoint.lock() {
            e.leader = None;
            e.stale = self.resolver.is_some();
        }
    }

    /// Asks the resolver for the endpoint if a failure made it stale. One thread asks; the
    /// others wait for its answer. A failed or unusable answer keeps the current endpoint
    /// (ZooKeeper being unreachable for a moment must not cut off a scheduler that still
    /// answers); the resolver is asked again after the next failure. True if it was asked.
    fn refresh(&self, timeout: Duration) -> bool {
        let Some(resolver) = &self.resolver else {
            return false;
        };
        let is_stale = || self.endpoint.lock().is_ok_and(|e| e.stale);
        if !is_stale() {
            return false;
        }
        let _one_at_a_time = self.resolving.lock();
        let current = match self.endpoint.lock() {
            Ok(e) if e.stale => e.api_url.clone(),
            // Another thread resolved it while this one waited.
            _ => return true,
        };
        let found = resolver
            .resolve(timeout)
            .map_err(|e| e.to_string())
            .and_then(|base| api_url(&base).map_err(|e| e.to_string()))
            .and_then(|next| {
                let https = |url: &str| {
                    url.get(..6)
                        .is_some_and(|s| s.eq_ignore_ascii_case("https:"))
                };
                if https(&current) && !https(&next) {
                    Err(format!(
                        "{} would downgrade https to http",
                        redact_url(&next)
                    ))
                } else {
                    Ok(next)
                }
            });
        let Ok(mut e) = self.endpoint.lock() else {
            return true;
        };
        e.stale = false;
        match found {
            Ok(next) if next != e.api_url => {
                tracing::info!(
                    from = %redact_url(&e.api_url),
                    to = %redact_url(&next),
                    "the leading scheduler moved"
                );
                e.api_url = next;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(
                "cannot find the leading scheduler again ({error}); trying {} again",
                redact_url(&e.api_url)
            ),
        }
        true
    }

    /// One attempt: POST, following 307s, up to a decoded `Response`.
    fn attempt(
        &self,
        method: &'static str,
        seq: i32,
        body: &[u8],
        timeout: Duration,
    ) -> Result<types::Response, (Failure, ApiError)> {
        let first = self.current_url();
        let mut url = first.clone();
        let mut hops: u32 = 0;
        loop {
            tracing::debug!(method, seq, url = %redact_url(&url), "calling the scheduler");
            let reply = self
                .transport
                .post(&url, body, timeout)
                .map_err(|e| self.transport_failure(method, &url, e))?;
            match reply.status {
                200 => {
                    if url != first || hops > 0 {
                        self.remember_leader(&url);
                    }
                    return crate::decoding::decode_reply(method, seq, reply.body).map_err(|e| {
                        match e {
                            ReplyError::Transport(e) => self.transport_failure(method, &url, e),
                            ReplyError::Wire(source) => {
                                (Failure::Fatal, ApiError::Protocol { method, source })
                            }
                        }
                    });
                }
                307 | 308 => {
                    hops += 1;
                    let next = redirect_target(method, &url, reply.location.as_deref())
                        .map_err(|e| (Failure::Fatal, e))?;
                    if hops > self.max_redirects {
                        return Err((
                            Failure::Fatal,
                            ApiError::TooManyRedirects {
                                method,
                                max: self.max_redirects,
                                last: redact_url(&next),
                            },
                        ));
                    }
                    tracing::debug!(method, to = %redact_url(&next), "following leader redirect");
                    url = next;
                }
                503 => {
                    return Err((
                        Failure::NoLeader,
                        ApiError::NoLeader {
                            method,
                            url: redact_url(&url),
                            attempts: 1,
                        },
                    ));
                }
                401 | 403 => {
                    return Err((
                        Failure::Fatal,
                        ApiError::Auth {
                            method,
                            url: redact_url(&url),
                            status: reply.status,
                            challenge: reply.www_authenticate,
                            sent_credentials: self.sends_credentials,
                        },
                    ));
                }
                status => {
                    let failure = if status >= 500 {
                        Failure::MaybeSent
                    } else {
                        Failure::Fatal
                    };
                    return Err((failure, http_status_error(method, &url, &reply)));
                }
            }
        }
    }

    fn transport_failure(
        &self,
        method: &'static str,
        url: &str,
        source: TransportError,
    ) -> (Failure, ApiError) {
        let url = redact_url(url);
        match source.kind {
            TransportErrorKind::TooLarge => (
                Failure::Fatal,
                ApiError::ResponseTooLarge {
                    method,
                    url,
                    limit: self.max_response_bytes,
                },
            ),
            TransportErrorKind::Connect => (
                Failure::NotSent,
                ApiError::Transport {
                    method,
                    url,
                    source,
                },
            ),
            TransportErrorKind::Timeout | TransportErrorKind::Io => (
                Failure::MaybeSent,
                ApiError::Transport {
                    method,
                    url,
                    source,
                },
            ),
            _ => (
                Failure::Fatal,
                ApiError::Transport {
                    method,
                    url,
                    source,
                },
            ),
        }
    }

    /// A typed call whose OK answer must carry a result; `pick` takes the expected variant.
    pub(crate) fn typed<R: Rpc, T>(
        &self,
        args: &R::Call,
        expected: &'static str,
        pick: impl FnOnce(types::Result) -> Result<T, &'static str>,
    ) -> Result<Reply<T>, ApiError> {
        let response = self.call::<R>(args)?;
        let (result, reply) = split(response);
        match result.map(pick) {
            Some(Ok(value)) => Ok(reply.map(|()| value)),
            Some(Err(other)) => Err(ApiError::UnexpectedResult {
                method: R::METHOD,
                expected,
                actual: Some(other.to_string()),
            }),
            None => Err(ApiError::UnexpectedResult {
                method: R::METHOD,
                expected,
                actual: None,
            }),
        }
    }

    /// A call whose OK answer carries no result; any result that comes anyway is ignored.
    pub(crate) fn ack<R: Rpc>(&self, args: &R::Call) -> Result<Reply<()>, ApiError> {
        let response = self.call::<R>(args)?;
        Ok(split(response).1)
    }
}

/// OK (and the never-produced WARNING) pass; `ERROR_TRANSIENT` is retryable; anything else
/// is the scheduler's verdict.
fn check_code(
    method: &'static str,
    response: types::Response,
) -> Result<types::Response, (Failure, ApiError)> {
    let code = response.response_code.unwrap_or(ResponseCode::ERROR);
    if code == ResponseCode::OK || code == ResponseCode::WARNING {
        return Ok(response);
    }
    let failure = if code == ResponseCode::ERROR_TRANSIENT {
        Failure::Transient
    } else {
        Failure::Fatal
    };
    let error = SchedulerError::from_response(method, response);
    Err((failure, ApiError::Scheduler(Box::new(error))))
}

pub(crate) fn split(response: types::Response) -> (Option<types::Result>, Reply<()>) {
    let details = crate::error::detail_messages(response.details.as_deref());
    (
        response.result,
        Reply {
            value: (),
            details,
            server_info: response.server_info,
        },
    )
}

/// A few words for a failed attempt's cause (the kinds the retry matrix tells apart).
fn cause_of(error: &ApiError) -> String {
    match error {
        ApiError::NoLeader { .. } => "no leading scheduler (HTTP 503)".into(),
        ApiError::HttpStatus { status, .. } => format!("HTTP {status}"),
        ApiError::Transport { source, .. } => source.kind.to_string(),
        ApiError::Scheduler(e) => e.code.to_string(),
        ApiError::OutcomeUnknown { cause, .. } => cause_of(cause),
        other => other.to_string(),
    }
}

/// The error to return after `attempts` attempts: as it is when every attempt failed the
/// same way, else wrapped with all the causes in the order they came, counted.
fn told(error: ApiError, attempts: u32, causes: &[String]) -> ApiError {
    let distinct = causes
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if distinct < 2 || matches!(error, ApiError::OutcomeUnknown { .. }) {
        return error;
    }
    let mut runs: Vec<(usize, &String)> = Vec::new();
    for cause in causes {
        match runs.last_mut() {
            Some((n, last)) if *last == cause => *n += 1,
            _ => runs.push((1, cause)),
        }
    }
    let causes = runs
        .iter()
        .map(|(n, c)| {
            if *n == 1 {
                (*c).clone()
            } else {
                format!("{n}× {c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", then ");
    ApiError::Retried {
        attempts,
        causes,
        last: Box::new(error),
    }
}

fn with_attempts(error: ApiError, attempts: u32) -> ApiError {
    match error {
        ApiError::NoLeader { method, url, .. } => ApiError::NoLeader {
            method,
            url,
            attempts,
        },
        other => other,
    }
}

fn http_status_error(method: &'static str, url: &str, reply: &HttpResponse) -> ApiError {
    let text = String::from_utf8_lossy(reply.body.excerpt());
    let excerpt: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect();
    ApiError::HttpStatus {
        method,
        url: redact_url(url),
        status: reply.status,
        excerpt,
    }
}

/// `endpoint` + `/api` (unless already there), validated: http or https, a host, no user
/// info (credentials belong in [`ClientConfig::credentials`], not in URLs that get logged).
fn api_url(endpoint: &str) -> Result<String, ApiError> {
    let uri: ureq::http::Uri = endpoint.parse().map_err(|_| {
        ApiError::Config(format!(
            "scheduler URL {:?} is not a valid URL",
            redact_url(endpoint)
        ))
    })?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(ApiError::Config(format!(
                "scheduler URL {:?} must start with http:// or https://",
                redact_url(endpoint)
            )));
        }
    }
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    if authority.contains('@') {
        return Err(ApiError::Config(format!(
            "scheduler URL {:?} contains user info; pass credentials separately",
            redact_url(endpoint)
        )));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(ApiError::Config(format!(
            "scheduler URL {:?} has no host",
            redact_url(endpoint)
        )));
    }
    if uri.query().is_some() {
        return Err(ApiError::Config(format!(
            "scheduler URL {:?} must not have a query",
            redact_url(endpoint)
        )));
    }
    let trimmed = endpoint.trim_end_matches('/');
    if trimmed.ends_with("/api") {
        Ok(trimmed.to_string())
    } else {
        Ok(format!("{trimmed}/api"))
    }
}

fn host_of(url: &str) -> Option<String> {
    let uri: ureq::http::Uri = url.parse().ok()?;
    uri.host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
}

/// The URL a 307 points to: absolute `http(s)://…`, or an absolute path on the current
/// origin. https → http downgrades are refused (credentials would travel in clear text).
fn redirect_target(
    method: &'static str,
    current: &str,
    location: Option<&str>,
) -> Result<String, ApiError> {
    let bad = |location: &str, reason| ApiError::BadRedirect {
        method,
        location: redact_url(location),
        reason,
    };
    let location = location.map(str::trim).unwrap_or_default();
    if location.is_empty() {
        return Err(bad(location, "no Location header"));
    }
    let target = if location.starts_with('/') && !location.starts_with("//") {
        let uri: ureq::http::Uri = current
            .parse()
            .map_err(|_| bad(location, "current URL is invalid"))?;
        let scheme = uri.scheme_str().unwrap_or("http");
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        format!("{scheme}://{authority}{location}")
    } else {
        location.to_string()
    };
    let uri: ureq::http::Uri = target
        .parse()
        .map_err(|_| bad(location, "not a valid URL"))?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if current.starts_with("https:") => {
            return Err(bad(location, "it would downgrade https to http"));
        }
        Some("http") => {}
        _ => return Err(bad(location, "not an http(s) URL")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad(location, "no host"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        // ureq would turn user info into an Authorization header: never take credentials
        // from a redirect.
        return Err(bad(location, "it contains user info"));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_url_appends_api_once() {
        assert_eq!(api_url("http://h:8081").expect("ok"), "http://h:8081/api");
        assert_eq!(api_url("http://h:8081/").expect("ok"), "http://h:8081/api");
        assert_eq!(api_url("https://h/api").expect("ok"), "https://h/api");
        assert_eq!(
            api_url("https://h/aurora/").expect("ok"),
            "https://h/aurora/api"
        );
    }

    #[test]
    fn api_url_rejects_bad_endpoints_without_echoing_passwords() {
        for bad in ["h:8081", "ftp://h", "http://", "not a url", "http://h/?q=1"] {
            assert!(matches!(api_url(bad), Err(ApiError::Config(_))), "{bad}");
        }
        let err = api_url("http://u:hunter2@h:8081").expect_err("user info");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn redirect_targets() {
        let m = "getJobs";
        assert_eq!(
            redirect_target(m, "http://a:1/api", Some("http://b:2/api")).expect("ok"),
            "http://b:2/api"
        );
        assert_eq!(
            redirect_target(m, "https://a:1/api", Some("/api")).expect("ok"),
            "https://a:1/api"
        );
        assert_eq!(
            redirect_target(m, "http://a/api", Some("https://b/api")).expect("ok"),
            "https://b/api"
        );
        for (current, loc) in [
            ("https://a/api", Some("http://b/api")),
            ("http://a/api", None),
            ("http://a/api", Some("")),
            ("http://a/api", Some("ftp://b/api")),
            ("http://a/api", Some("b/api")),
            ("http://a/api", Some("http://u:p@b/api")),
        ] {
            assert!(
                matches!(
                    redirect_target(m, current, loc),
                    Err(ApiError::BadRedirect { .. })
                ),
                "{current} {loc:?}"
            );
        }
    }

    #[test]
    fn host_of_strips_brackets() {
        assert_eq!(host_of("http://[::1]:8081/api").as_deref(), Some("::1"));
        assert_eq!(host_of("http://h:8081/api").as_deref(), Some("h"));
    }

    #[test]
    fn client_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Client>();
    }
}
