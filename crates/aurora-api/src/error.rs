//! What can go wrong talking to the scheduler, as types the engine can act on without
//! matching message strings.
//!
//! The split follows what a caller does next: a [`Scheduler`](ApiError::Scheduler) answer
//! is the scheduler's verdict (show its messages; `JOB_UPDATING_ERROR` means "abort the
//! update first"), [`Auth`](ApiError::Auth) needs other credentials, and
//! [`OutcomeUnknown`](ApiError::OutcomeUnknown) means a write may or may not have happened
//! and live state must be read before anything else is tried. Messages never contain
//! credentials: URLs are shown without user info or query, and bodies are never included
//! except as a short excerpt of a non-Thrift error page.

use std::fmt;

use crate::types::{ResponseCode, ServerInfo, StartJobUpdateResult};
use crate::wire::WireError;

/// A failed call. Every variant names the RPC (`method`) it belongs to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The scheduler answered with a non-OK response code (after retrying `ERROR_TRANSIENT`
    /// as the policy allows). Boxed because it carries the whole envelope.
    #[error(transparent)]
    Scheduler(Box<SchedulerError>),
    /// HTTP 401 or 403: missing or rejected credentials. Never retried.
    #[error(
        "{method} rejected with HTTP {status} by {url}: {}",
        if *sent_credentials { "the credentials were not accepted" } else {
            "the scheduler requires credentials (explicit, AURORA_USERNAME/AURORA_PASSWORD, or ~/.netrc)"
        }
    )]
    Auth {
        /// The RPC.
        method: &'static str,
        /// The URL that answered (without user info or query).
        url: String,
        /// 401 or 403.
        status: u16,
        /// The `WWW-Authenticate` challenge, if any (e.g. `Basic realm="Apache Aurora Scheduler"`).
        challenge: Option<String>,
        /// Whether an `Authorization` header was sent.
        sent_credentials: bool,
    },
    /// The HTTP exchange failed (connect, TLS, timeout, broken connection) and the policy
    /// did not (or could no longer) retry it.
    #[error("{method} to {url} failed: {source}")]
    Transport {
        /// The RPC.
        method: &'static str,
        /// The URL tried last (without user info or query).
        url: String,
        /// What failed.
        #[source]
        source: TransportError,
    },
    /// An HTTP status the API never uses for a Thrift answer (e.g. 404, 415, 500, 502).
    #[error(
        "{method}: unexpected HTTP {status} from {url}{}",
        excerpt_suffix(excerpt)
    )]
    HttpStatus {
        /// The RPC.
        method: &'static str,
        /// The URL that answered (without user info or query).
        url: String,
        /// The status code.
        status: u16,
        /// The first bytes of the body, lossily decoded (error pages are HTML or text).
        excerpt: String,
    },
    /// The reply body is larger than [`ClientConfig::max_response_bytes`](crate::client::ClientConfig::max_response_bytes).
    /// Not retried: the same query would get the same answer; narrow the query (e.g.
    /// `TaskQuery.limit`) or raise the limit.
    #[error("{method}: the reply from {url} exceeds the {limit}-byte response limit")]
    ResponseTooLarge {
        /// The RPC.
        method: &'static str,
        /// The URL that answered (without user info or query).
        url: String,
        /// The limit in force.
        limit: u64,
    },
    /// The reply is not a valid Thrift REPLY to this call: undecodable bytes, another
    /// method or sequence id, or a Thrift `EXCEPTION` message (unknown method, undecodable
    /// arguments). Not retried.
    #[error("{method}: bad reply: {source}")]
    Protocol {
        /// The RPC.
        method: &'static str,
        /// The decoding failure.
        #[source]
        source: WireError,
    },
    /// The scheduler answered OK without the `Result` variant this method returns.
    #[error("{method}: OK reply without the expected {expected} (got {})", actual.as_deref().unwrap_or("no result"))]
    UnexpectedResult {
        /// The RPC.
        method: &'static str,
        /// The `Result` field the method should set.
        expected: &'static str,
        /// The variant that came instead, if any.
        actual: Option<String>,
    },
    /// A non-idempotent call (e.g. `createJob`, `addInstances`) may have reached the
    /// scheduler but its reply was lost. It is never re-sent blindly: read live state to
    /// learn whether it took effect.
    #[error("{method}: outcome unknown, the request may have been applied: {cause}")]
    OutcomeUnknown {
        /// The RPC.
        method: &'static str,
        /// What interrupted the exchange.
        #[source]
        cause: Box<ApiError>,
    },
    /// The retries ended, and the attempts failed in more than one way (dropped connections
    /// and 503s, say): every cause is told, in order, not only the last one.
    #[error("{last} (after {attempts} attempts: {causes})")]
    Retried {
        /// How many attempts were made.
        attempts: u32,
        /// The failures as they happened, counted: "2× connection failed, 3× HTTP 503".
        causes: String,
        /// The last attempt's error.
        #[source]
        last: Box<ApiError>,
    },
    /// HTTP 503 until the retry policy gave up: no scheduler is leading (an election is in
    /// progress or the cluster is down).
    #[error("{method}: no leading scheduler at {url} after {attempts} attempt(s) (HTTP 503)")]
    NoLeader {
        /// The RPC.
        method: &'static str,
        /// The URL that answered 503 last (without user info or query).
        url: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// More 307 hops than [`ClientConfig::max_redirects`](crate::client::ClientConfig::max_redirects):
    /// schedulers disagreeing on the leader.
    #[error("{method}: more than {max} leader redirects, last to {last}")]
    TooManyRedirects {
        /// The RPC.
        method: &'static str,
        /// The limit in force.
        max: u32,
        /// The last `Location` (without user info or query).
        last: String,
    },
    /// A 307 without a usable `Location`, or one that would downgrade https to http (which
    /// would send credentials in clear text).
    #[error("{method}: refusing leader redirect to {location:?}: {reason}")]
    BadRedirect {
        /// The RPC.
        method: &'static str,
        /// The `Location` header (without user info or query), empty when absent.
        location: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The client configuration cannot be used (bad URL, unreadable CA file, credentials
    /// that cannot be resolved).
    #[error("invalid client configuration: {0}")]
    Config(String),
}

fn excerpt_suffix(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(": {excerpt}")
    }
}

impl ApiError {
    /// The RPC the error belongs to (`None` for configuration errors).
    pub fn method(&self) -> Option<&'static str> {
        match self {
            ApiError::Retried { last, .. } => last.method(),
            ApiError::Scheduler(e) => Some(e.method),
            ApiError::Auth { method, .. }
            | ApiError::Transport { method, .. }
            | ApiError::HttpStatus { method, .. }
            | ApiError::ResponseTooLarge { method, .. }
            | ApiError::Protocol { method, .. }
            | ApiError::UnexpectedResult { method, .. }
            | ApiError::OutcomeUnknown { method, .. }
            | ApiError::NoLeader { method, .. }
            | ApiError::TooManyRedirects { method, .. }
            | ApiError::BadRedirect { method, .. } => Some(method),
            ApiError::Config(_) => None,
        }
    }

    /// The scheduler's answer, when the error is one.
    pub fn scheduler(&self) -> Option<&SchedulerError> {
        match self {
            ApiError::Scheduler(e) => Some(e),
            ApiError::Retried { last, .. } => last.scheduler(),
            _ => None,
        }
    }

    /// The scheduler's response code, when the error is a scheduler answer.
    pub fn response_code(&self) -> Option<ResponseCode> {
        self.scheduler().map(|e| e.code)
    }

    /// Whether credentials are the problem: HTTP 401/403 or `AUTH_FAILED`.
    pub fn is_auth(&self) -> bool {
        if let ApiError::Retried { last, .. } = self {
            return last.is_auth();
        }
        matches!(self, ApiError::Auth { .. })
            || self.response_code() == Some(ResponseCode::AUTH_FAILED)
    }

    /// Whether trying the same call again later could succeed without changing anything:
    /// no leader, `ERROR_TRANSIENT`, a transport failure that is not a TLS/config problem.
    /// The client already retried these as far as its policy allows; this is for callers
    /// with a longer horizon (e.g. the engine's own deadline). [`OutcomeUnknown`](ApiError::OutcomeUnknown)
    /// is deliberately `false`: state must be read first.
    pub fn retryable(&self) -> bool {
        match self {
            ApiError::Retried { last, .. } => last.retryable(),
            ApiError::Scheduler(e) => e.code == ResponseCode::ERROR_TRANSIENT,
            ApiError::NoLeader { .. } => true,
            ApiError::Transport { source, .. } => matches!(
                source.kind,
                TransportErrorKind::Connect | TransportErrorKind::Timeout | TransportErrorKind::Io
            ),
            ApiError::HttpStatus { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }
}

/// A non-OK `Response`: the response code, every detail message, the server info and the
/// result if the scheduler set one (`startJobUpdate`'s `INVALID_REQUEST` for an update in
/// progress carries the in-progress update there, see [`in_progress_update`](Self::in_progress_update)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SchedulerError {
    /// The RPC.
    pub method: &'static str,
    /// The response code (never `OK`).
    pub code: ResponseCode,
    /// Every `details[].message`, in order.
    pub messages: Vec<String>,
    /// The answering scheduler's cluster name and stats URL prefix.
    pub server_info: Option<ServerInfo>,
    /// The response's `result`, if any.
    pub result: Option<crate::types::Result>,
}

impl SchedulerError {
    /// Builds the error from a non-OK response.
    pub fn from_response(method: &'static str, response: crate::types::Response) -> Self {
        SchedulerError {
            method,
            code: response.response_code.unwrap_or(ResponseCode::ERROR),
            messages: detail_messages(response.details.as_deref()),
            server_info: response.server_info,
            result: response.result,
        }
    }

    /// For `startJobUpdate` rejected because an update is already active on the job: that
    /// update's key and summary (whose metadata tells whether it is our own earlier attempt).
    pub fn in_progress_update(&self) -> Option<&StartJobUpdateResult> {
        match &self.result {
            Some(crate::types::Result::StartJobUpdateResult(r)) => Some(r),
            _ => None,
        }
    }

    /// The messages joined with ", ", as Aurora's own client shows them.
    pub fn joined_messages(&self) -> String {
        self.messages.join(", ")
    }
}

impl fmt::Display for SchedulerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: scheduler answered {}", self.method, self.code)?;
        if let Some(cluster) = self
            .server_info
            .as_ref()
            .and_then(|s| s.cluster_name.as_deref())
        {
            write!(f, " (cluster {cluster})")?;
        }
        if !self.messages.is_empty() {
            write!(f, ": {}", self.joined_messages())?;
        }
        Ok(())
    }
}

impl std::error::Error for SchedulerError {}

/// The messages of a response's `details`, skipping entries without one.
pub(crate) fn detail_messages(details: Option<&[crate::types::ResponseDetail]>) -> Vec<String> {
    details
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.message.clone())
        .collect()
}

/// How far a failed HTTP exchange got. This decides whether a non-idempotent call may be
/// re-sent: only when the request certainly never reached the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection was made (name resolution, refused, connect timeout): the request was
    /// never sent, so re-sending is safe for every method.
    Connect,
    /// TLS failed (untrusted certificate, handshake): a configuration problem, never retried.
    Tls,
    /// The request or its reply timed out after the request may have been sent.
    Timeout,
    /// The connection broke after the request may have been sent (reset, EOF, malformed
    /// HTTP, decompression failure).
    Io,
    /// The request could not be built (invalid URL or header); never retried.
    Request,
    /// The reply body is larger than the configured limit; never retried (the same query
    /// gets the same answer).
    TooLarge,
}

/// A failed HTTP exchange.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct TransportError {
    /// How far it got.
    pub kind: TransportErrorKind,
    /// The underlying error's message (never contains headers or bodies).
    pub message: String,
}

impl TransportError {
    /// A transport error of `kind`.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
        }
    }

    /// Whether the scheduler may have received the request.
    pub fn maybe_sent(&self) -> bool {
        matches!(
            self.kind,
            TransportErrorKind::Timeout | TransportErrorKind::Io
        )
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "cannot connect",
            TransportErrorKind::Tls => "TLS failure",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Io => "connection failed",
            TransportErrorKind::Request => "invalid request",
            TransportErrorKind::TooLarge => "reply too large",
        })
    }
}

/// `url` without user info and without its query or fragment, for messages: either may
/// carry credentials (`https://user:pass@host/api?token=t` → `https://host/api?…`).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (path, hidden) = match tail.find(['?', '#']) {
        Some(i) if tail[i..].starts_with('?') => (&tail[..i], "?…"),
        Some(i) => (&tail[..i], "#…"),
        None => (tail, ""),
    };
    match scheme {
        Some(s) => format!("{s}://{host}{path}{hidden}"),
        None => format!("{host}{path}{hidden}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Response, ResponseDetail};

    #[test]
    fn redact_url_strips_user_info_and_query() {
        assert_eq!(redact_url("https://u:p@h:1/api"), "https://h:1/api");
        assert_eq!(redact_url("http://h/api?x=@"), "http://h/api?…");
        assert_eq!(
            redact_url("https://u:p@h:1/api?token=t#f"),
            "https://h:1/api?…"
        );
        assert_eq!(redact_url("http://h/api#f?x"), "http://h/api#…");
        assert_eq!(redact_url("u:p@h"), "h");
        assert_eq!(redact_url(""), "");
    }

    #[test]
    fn scheduler_error_keeps_everything() {
        let response = Response {
            response_code: Some(ResponseCode::INVALID_REQUEST),
            details: Some(vec![
                ResponseDetail::new("first".to_string()),
                ResponseDetail::default(),
                ResponseDetail::new("second".to_string()),
            ]),
            result: Some(crate::types::Result::StartJobUpdateResult(
                StartJobUpdateResult::default(),
            )),
            server_info: Some(ServerInfo::new("devcluster".to_string(), None)),
        };
        let e = SchedulerError::from_response("startJobUpdate", response);
        assert_eq!(e.messages, ["first", "second"]);
        assert!(e.in_progress_update().is_some());
        assert_eq!(
            e.to_string(),
            "startJobUpdate: scheduler answered INVALID_REQUEST (cluster devcluster): first, second"
        );
        let api = ApiError::Scheduler(Box::new(e));
        assert_eq!(api.response_code(), Some(ResponseCode::INVALID_REQUEST));
        assert!(!api.retryable());
        assert_eq!(api.method(), Some("startJobUpdate"));
    }
}
