//! The HTTP face of the emulator: `/api` (reference §2), `/health`, `/leaderhealth`, and the
//! admin API under `/sim/`.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aurora_thrift::types::{Response, ResponseCode, ResponseDetail, ServerInfo};
use aurora_thrift::wire::{IncomingCall, encode_exception, encode_reply};

use crate::clock::{Clock, Pace};
use crate::config::SimConfig;
use crate::engine::Core;
use crate::faults::{CallRecord, FaultPatch, FaultSettings};
use crate::http::{HttpRequest, HttpResponse, read_request, write_response};
use crate::scheduler::{CallBody, Reply, dispatch};
use crate::tjson::JsonCall;

enum Auth {
    /// Authentication is off (`NONE`).
    Unsecure,
    /// No credentials sent.
    Anonymous,
    /// Valid credentials.
    User(String),
    /// Invalid credentials.
    Rejected,
}

fn authenticate(shared: &Shared, req: &HttpRequest) -> Auth {
    use base64::Engine;
    let users = &shared.cfg.basic_auth_users;
    if users.is_empty() {
        return Auth::Unsecure;
    }
    let Some(header) = req.header("Authorization") else {
        return Auth::Anonymous;
    };
    let Some(encoded) = header.strip_prefix("Basic ") else {
        return Auth::Rejected;
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((u, p)) if users.get(u).is_some_and(|pw| pw == p) => Auth::User(u.to_string()),
        _ => Auth::Rejected,
    }
}

/// Call records kept in memory (the oldest tenth is dropped when full).
const MAX_CALLS_IN_MEMORY: usize = 100_000;

/// The binary protocol's content type (reference §2.2).
pub const THRIFT_BINARY: &str = "application/vnd.apache.thrift.binary";

/// The TJSON protocol's reply content type (reference §2.2).
pub const THRIFT_JSON: &str = "application/vnd.apache.thrift.json";

/// Content types the scheduler reads as TJSON (§2.2).
const TJSON_TYPES: &[&str] = &[
    "application/x-thrift",
    "application/json",
    "application/vnd.apache.thrift.json",
    "application/vnd.apache.thrift.json; charset=utf-8",
];

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// State shared by the connection threads and the handle.
#[derive(Debug)]
pub struct Shared {
    pub(crate) cfg: Arc<SimConfig>,
    pub(crate) clock: Clock,
    pub(crate) core: Mutex<Core>,
    pub(crate) faults: Mutex<FaultSettings>,
    pub(crate) calls: Mutex<Vec<CallRecord>>,
    pub(crate) call_log: Mutex<Option<std::fs::File>>,
    saved_generation: Mutex<u64>,
    generation: AtomicU64,
    pub(crate) shutdown: AtomicBool,
    /// Set by `POST /sim/shutdown`; [`crate::SimHandle::wait`] returns when it is.
    pub(crate) stop_requested: (Mutex<bool>, std::sync::Condvar),
    /// When the emulator started (uptime).
    started: Instant,
    /// When the last `/api` call (or `POST /sim/touch`) began or ended: a shared emulator
    /// stops itself after a quiet spell.
    last_call: Mutex<Instant>,
    /// `/api` calls being answered right now.
    calls_in_flight: AtomicUsize,
    /// The most `/api` calls answered at once since the call log was last cleared: what a
    /// client's bound on calls in flight is checked against.
    pub(crate) most_calls_in_flight: AtomicUsize,
}

/// What an emulator is doing, for deciding whether it may stop itself (see
/// [`crate::SimHandle::activity`]; also `GET /sim/activity`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Activity {
    /// The emulator's process id.
    pub pid: u32,
    /// The state file, if any.
    pub state_file: Option<String>,
    /// `-cluster_name`.
    pub cluster_name: String,
    /// Simulated now (ms since the epoch).
    pub now_ms: i64,
    /// Wall-clock now (ms since the epoch), to show how far simulated time is ahead.
    pub wall_ms: i64,
    /// Time since the emulator started, in ms.
    pub uptime_ms: u64,
    /// Time since the last `/api` call (or `POST /sim/touch`) began or ended, in ms.
    pub idle_ms: u64,
    /// `/api` calls being answered right now.
    pub calls_in_flight: usize,
    /// Updates rolling forward or back with something due (they finish unattended).
    pub rolling_updates: usize,
    /// Whether any task transition or update step is due (the clock runs at its scale).
    pub in_motion: bool,
}

impl Activity {
    /// Whether an emulator that has seen no call for `idle` may stop: no call for that long,
    /// none in flight, and no update rolling by itself.
    pub fn is_idle_for(&self, idle: Duration) -> bool {
        self.calls_in_flight == 0
            && self.rolling_updates == 0
            && u128::from(self.idle_ms) >= idle.as_millis()
    }
}

impl Shared {
    pub(crate) fn new(
        cfg: Arc<SimConfig>,
        clock: Clock,
        core: Core,
        call_log: Option<std::fs::File>,
    ) -> Self {
        let faults = cfg.faults.clone();
        Shared {
            cfg,
            clock,
            core: Mutex::new(core),
            faults: Mutex::new(faults),
            calls: Mutex::new(Vec::new()),
            call_log: Mutex::new(call_log),
            saved_generation: Mutex::new(0),
            generation: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
            stop_requested: (Mutex::new(false), std::sync::Condvar::new()),
            started: Instant::now(),
            last_call: Mutex::new(Instant::now()),
            calls_in_flight: AtomicUsize::new(0),
            most_calls_in_flight: AtomicUsize::new(0),
        }
    }

    /// Records that a client is using the emulator now (idle time starts again).
    pub(crate) fn touch(&self) {
        *lock(&self.last_call) = Instant::now();
    }

    /// What the emulator is doing, with the state brought up to the clock's time.
    pub(crate) fn activity(&self) -> Activity {
        let (now_ms, rolling_updates, in_motion) =
            self.with_core(|c| (c.now(), c.rolling_updates(), c.in_motion()));
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Activity {
            pid: std::process::id(),
            state_file: self
                .cfg
                .state_file
                .as_ref()
                .map(|p| p.display().to_string()),
            cluster_name: self.cfg.cluster_name.clone(),
            now_ms,
            wall_ms: crate::clock::wall_ms(),
            uptime_ms: millis(self.started.elapsed()),
            idle_ms: millis(lock(&self.last_call).elapsed()),
            calls_in_flight: self.calls_in_flight.load(Ordering::SeqCst),
            rolling_updates,
            in_motion,
        }
    }

    /// Sets the clock's pace from what is in motion (`catch_up_when_idle` only).
    pub(crate) fn pace_clock(&self, core: &Core) {
        if self.cfg.catch_up_when_idle {
            self.clock.set_pace(if core.in_motion() {
                Pace::Scaled
            } else {
                Pace::CatchUp
            });
        }
    }

    /// Runs `f` on the core brought up to the clock's time, then persists when it changed.
    /// The state lock is released before any file I/O.
    pub(crate) fn with_core<T>(&self, f: impl FnOnce(&mut Core) -> T) -> T {
        let (out, snapshot) = {
            let mut core = lock(&self.core);
            let now = self.clock.now_ms();
            core.advance_to(now);
            let out = f(&mut core);
            core.evaluate_updates();
            self.pace_clock(&core);
            let snapshot = if core.dirty && self.cfg.state_file.is_some() {
                core.dirty = false;
                let g = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
                Some((g, core.state.to_json()))
            } else {
                core.dirty = false;
                None
            };
            (out, snapshot)
        };
        if let (Some((g, json)), Some(path)) = (snapshot, self.cfg.state_file.as_ref()) {
            // Only the writer lock is held here; newer snapshots win.
            let mut saved = lock(&self.saved_generation);
            if g > *saved {
                if let Err(e) = crate::state::write_atomic(path, &json) {
                    tracing::error!("cannot write state file: {e}");
                }
                *saved = g;
            }
        }
        out
    }

    fn record(&self, rec: CallRecord) {
        if let Some(f) = lock(&self.call_log).as_mut()
            && let Ok(line) = serde_json::to_string(&rec)
        {
            let _ = writeln!(f, "{line}");
            let _ = f.flush();
        }
        let mut calls = lock(&self.calls);
        // Bounded for long-running servers; the file keeps everything.
        if calls.len() >= MAX_CALLS_IN_MEMORY {
            calls.drain(..MAX_CALLS_IN_MEMORY / 10);
        }
        calls.push(rec);
    }

    fn server_info(&self) -> ServerInfo {
        ServerInfo {
            cluster_name: Some(self.cfg.cluster_name.clone()),
            stats_url_prefix: Some(self.cfg.stats_url_prefix.clone()),
        }
    }
}

/// Accepts connections until shutdown; one thread per connection.
pub(crate) fn serve(listener: TcpListener, shared: Arc<Shared>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if shared.shutdown.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else {
                continue;
            };
            let shared = Arc::clone(&shared);
            let _ = std::thread::Builder::new()
                .name("aurora-sim-conn".to_string())
                .spawn(move || handle_connection(&stream, &shared));
        }
    })
}

/// Wakes the accept loop so it sees the shutdown flag.
pub(crate) fn wake(addr: SocketAddr) {
    let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(500));
}

fn handle_connection(stream: &TcpStream, shared: &Shared) {
    let req = match read_request(stream) {
        Ok(r) => r,
        Err(Some(status)) => {
            write_response(stream, &HttpResponse::text(status, "bad request"));
            return;
        }
        Err(None) => return,
    };
    // Last line of defence: whatever happens, the client gets an answer and the server lives.
    let mut resp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| route(shared, &req)))
        .unwrap_or_else(|_| HttpResponse::text(500, "internal emulator error"));
    // Jetty's GzipHandler (POST included): gzip when the client accepts it (reference §2.1).
    let accepts_gzip = req
        .header("Accept-Encoding")
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    if accepts_gzip
        && !resp.body.is_empty()
        && let Some(compressed) = gzip(&resp.body)
    {
        resp.body = compressed;
        resp.headers
            .push(("Content-Encoding".to_string(), "gzip".to_string()));
    }
    write_response(stream, &resp);
    if req.method == "POST" && req.path.trim_end_matches('/') == "/sim/shutdown" {
        *lock(&shared.stop_requested.0) = true;
        shared.stop_requested.1.notify_all();
    }
}

fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).ok()?;
    enc.finish().ok()
}

fn route(shared: &Shared, req: &HttpRequest) -> HttpResponse {
    match req.path.as_str() {
        "/api" | "/api/" => api(shared, req),
        "/health" => HttpResponse::text(200, "OK"),
        // LeaderHealth (reference §2.1).
        "/leaderhealth" => {
            if lock(&shared.faults).redirect_to.is_some() {
                HttpResponse::text(503, "Another instance is the leading scheduler.")
            } else {
                HttpResponse::text(200, "This is the leading scheduler.")
            }
        }
        p if p == "/sim" || p.starts_with("/sim/") => admin(shared, req),
        _ => HttpResponse::text(404, "Not Found"),
    }
}

/// Counts a call in flight until dropped (also when the call panics).
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn new(shared: &'a Shared) -> Self {
        shared.touch();
        let now = shared.calls_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.most_calls_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.calls_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn api(shared: &Shared, req: &HttpRequest) -> HttpResponse {
    let _in_flight = InFlight::new(shared);
    api_call(shared, req)
}

fn api_call(shared: &Shared, req: &HttpRequest) -> HttpResponse {
    let call = IncomingCall::parse(&req.body).ok();
    let args = if shared.cfg.log_call_args {
        call.as_ref().and_then(|c| {
            // The generated union readers may panic on malformed input.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                aurora_thrift::rpc::call_args_json(c).and_then(Result::ok)
            }))
            .ok()
            .flatten()
        })
    } else {
        None
    };
    let mut record = CallRecord {
        time_ms: shared.clock.now_ms(),
        method: call.map(|c| c.method),
        response_code: None,
        http_status: 200,
        fault: None,
        args,
    };
    let resp = api_inner(shared, req, &mut record);
    record.http_status = resp.status;
    shared.record(record);
    resp
}

fn api_inner(shared: &Shared, req: &HttpRequest, record: &mut CallRecord) -> HttpResponse {
    let faults = lock(&shared.faults).clone();
    // LeaderRedirectFilter: a non-leader answers 307 to the leader unless bypassed (§2.1).
    if let Some(leader) = faults.redirect_to.as_ref()
        && req
            .header(aurora_thrift::types::BYPASS_LEADER_REDIRECT_HEADER_NAME)
            .is_none()
    {
        record.fault = Some("redirect".to_string());
        let location = format!("{}{}", leader.trim_end_matches('/'), req.path);
        return HttpResponse::text(307, "").with_header("Location", location);
    }
    // No leader known: 503 with an HTML page (§2.1).
    if faults.unavailable > 0 {
        {
            let mut f = lock(&shared.faults);
            f.unavailable = f.unavailable.saturating_sub(1);
        }
        record.fault = Some("unavailable".to_string());
        return HttpResponse::new(
            503,
            "text/html; charset=utf-8",
            "<html><body><h2>HTTP ERROR 503</h2><p>No leader found.</p></body></html>",
        );
    }
    if !faults.latency.is_zero() {
        std::thread::sleep(faults.latency);
    }
    // TContentAwareServlet: the protocol follows the Content-Type, matched exactly (§2.2).
    // TContentAwareServlet: the request protocol follows the Content-Type, matched exactly;
    // absent counts as `application/x-thrift` (TJSON). A message that cannot be read at all
    // surfaces as HTTP 500 (ServletException).
    let call = match req.header("Content-Type") {
        Some(THRIFT_BINARY) => match IncomingCall::parse(&req.body) {
            Ok(c) => CallBody::Binary(c),
            Err(e) => return HttpResponse::text(500, format!("Cannot read Thrift message: {e}")),
        },
        None => match JsonCall::parse(&req.body) {
            Ok(c) => CallBody::Json(c),
            Err(e) => return HttpResponse::text(500, format!("Cannot read Thrift message: {e}")),
        },
        Some(ct) if TJSON_TYPES.contains(&ct) => match JsonCall::parse(&req.body) {
            Ok(c) => CallBody::Json(c),
            Err(e) => return HttpResponse::text(500, format!("Cannot read Thrift message: {e}")),
        },
        Some(ct) => return HttpResponse::text(415, format!("Unsupported Content-Type: {ct}")),
    };
    if record.method.is_none() {
        record.method = Some(call.method().to_string());
    }
    // The reply protocol follows Accept: exactly the binary type → binary, else TJSON.
    let binary_reply = req.header("Accept") == Some(THRIFT_BINARY);
    // BASIC authentication (Shiro authcBasic + permissive, reference §2.3): bad credentials
    // are always refused; write RPCs need credentials; reads work without.
    let user = match authenticate(shared, req) {
        Auth::Unsecure => crate::engine::AUDIT_USER.to_string(),
        Auth::User(u) => u,
        // ReadOnlyScheduler methods need no authentication (reference §2.3).
        Auth::Anonymous if aurora_thrift::rpc::is_read_only(call.method()) == Some(true) => {
            crate::engine::AUDIT_USER.to_string()
        }
        Auth::Anonymous | Auth::Rejected => {
            return HttpResponse::text(401, "Unauthorized").with_header(
                "WWW-Authenticate",
                "Basic realm=\"Apache Aurora Scheduler\"",
            );
        }
    };
    let reply = if faults.transient_errors > 0 {
        {
            let mut f = lock(&shared.faults);
            f.transient_errors = f.transient_errors.saturating_sub(1);
        }
        record.fault = Some("transient".to_string());
        Reply::Response(Box::new(Response {
            response_code: Some(ResponseCode::ERROR_TRANSIENT),
            result: None,
            server_info: None,
            details: Some(vec![ResponseDetail {
                message: Some("Storage is not ready (injected by aurora-sim).".to_string()),
            }]),
        }))
    } else {
        shared.with_core(|core| dispatch(core, &call, &user))
    };
    let (method, seq) = (call.method(), call.seq());
    let body = match reply {
        Reply::Response(mut r) => {
            r.server_info = Some(shared.server_info());
            record.response_code = r.response_code.and_then(|c| c.name()).map(str::to_string);
            tracing::debug!(
                method,
                user = %user,
                code = record.response_code.as_deref().unwrap_or(""),
                "answered"
            );
            if binary_reply {
                encode_reply(method, seq, &r)
            } else {
                crate::tjson::encode_reply(method, seq, &r)
            }
        }
        Reply::Exception(kind, msg) => {
            if binary_reply {
                encode_exception(method, seq, kind, &msg)
            } else {
                crate::tjson::encode_exception(method, seq, kind, &msg)
            }
        }
    };
    let content_type = if binary_reply {
        THRIFT_BINARY
    } else {
        THRIFT_JSON
    };
    let mut resp = HttpResponse::new(200, content_type, body);
    if faults.drop_connections > 0 {
        {
            let mut f = lock(&shared.faults);
            f.drop_connections = f.drop_connections.saturating_sub(1);
        }
        record.fault = Some("drop".to_string());
        resp.truncate = true;
    }
    resp
}

fn bad(msg: impl Into<String>) -> HttpResponse {
    HttpResponse::json(400, &serde_json::json!({ "error": msg.into() }))
}

/// The admin API (emulator only; not part of Aurora):
/// `GET /sim/calls`, `DELETE /sim/calls`, `GET|POST /sim/faults`, `POST /sim/advance?ms=N`,
/// `GET /sim/time`, `GET /sim/state`, `POST /sim/cron/run?job=role/env/name`,
/// `GET /sim/activity`, `POST /sim/touch`, `POST /sim/shutdown`.
fn admin(shared: &Shared, req: &HttpRequest) -> HttpResponse {
    match (req.method.as_str(), req.path.trim_end_matches('/')) {
        ("GET", "/sim/calls") => {
            let calls = lock(&shared.calls).clone();
            HttpResponse::json(200, &serde_json::to_value(calls).unwrap_or_default())
        }
        ("DELETE", "/sim/calls") => {
            lock(&shared.calls).clear();
            HttpResponse::json(200, &serde_json::json!({}))
        }
        ("GET", "/sim/faults") => {
            let f = lock(&shared.faults).clone();
            HttpResponse::json(200, &serde_json::to_value(f).unwrap_or_default())
        }
        ("POST", "/sim/faults") => match serde_json::from_slice::<FaultPatch>(&req.body) {
            Ok(p) => {
                let mut f = lock(&shared.faults);
                f.apply(p);
                HttpResponse::json(200, &serde_json::to_value(f.clone()).unwrap_or_default())
            }
            Err(e) => bad(e.to_string()),
        },
        ("POST", "/sim/advance") => {
            let Some(ms) = req.param("ms").and_then(|v| v.parse::<i64>().ok()) else {
                return bad("missing or invalid ms");
            };
            shared.clock.advance(ms);
            let now = shared.with_core(|c| c.now());
            HttpResponse::json(200, &serde_json::json!({ "now_ms": now }))
        }
        ("GET", "/sim/time") => {
            let now = shared.with_core(|c| c.now());
            HttpResponse::json(200, &serde_json::json!({ "now_ms": now }))
        }
        ("GET", "/sim/state") => {
            let json = shared.with_core(|c| c.state.to_json());
            HttpResponse::new(200, "application/json", json)
        }
        ("GET", "/sim/activity") => HttpResponse::json(
            200,
            &serde_json::to_value(shared.activity()).unwrap_or_default(),
        ),
        // A client attaching to a shared emulator: counts as a call, so the emulator does not
        // stop itself for another idle spell.
        ("POST", "/sim/touch") => {
            shared.touch();
            HttpResponse::json(
                200,
                &serde_json::to_value(shared.activity()).unwrap_or_default(),
            )
        }
        // The stop is signalled once this reply is written (handle_connection).
        ("POST", "/sim/shutdown") => HttpResponse::json(200, &serde_json::json!({})),
        ("POST", "/sim/cron/run") => {
            let Some(job) = req.param("job").map(str::to_string) else {
                return bad("missing job");
            };
            if shared.with_core(|c| c.run_cron(&job)) {
                HttpResponse::json(200, &serde_json::json!({}))
            } else {
                HttpResponse::json(404, &serde_json::json!({ "error": "no such cron job" }))
            }
        }
        _ => HttpResponse::json(
            404,
            &serde_json::json!({ "error": "unknown admin endpoint" }),
        ),
    }
}
