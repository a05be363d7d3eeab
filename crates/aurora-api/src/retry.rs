//! When a failed call is sent again, and how long to wait first.
//!
//! The rule is idempotency ([`Rpc::IDEMPOTENT`](crate::wire::Rpc::IDEMPOTENT)): a call is
//! re-sent after a failure only if the scheduler certainly did not act on it, or if acting
//! twice is the same as acting once. The [`decide`] table below is the whole policy; it is
//! spelled out as the retry matrix in `docs/client.md`.
//!
//! | failure ([`Failure`]) | idempotent call | non-idempotent call |
//! | --- | --- | --- |
//! | `NoLeader` (HTTP 503) | retry | retry (the request was not processed) |
//! | `Transient` (`ERROR_TRANSIENT`) | retry | retry (the transaction was rolled back) |
//! | `NotSent` (connect failed, refused, DNS) | retry | retry |
//! | `MaybeSent` (timeout, broken connection, HTTP 5xx ≠ 503) | retry | **give up: outcome unknown** |
//! | `Fatal` (auth, TLS, 4xx, decode errors, too large, non-OK answers) | give up | give up |
//!
//! Retries stop at [`RetryPolicy::max_attempts`] or when the next wait would end past
//! [`RetryPolicy::deadline`], whichever comes first.

use std::time::Duration;

/// Bounds and pacing of retries for one call. Waits grow exponentially from
/// `initial_backoff` by `multiplier` up to `max_backoff`, and each wait is shortened by a
/// random fraction of up to `jitter` so clients that failed together do not retry together.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per call including the first; 1 disables retries. Leader redirects (307)
    /// within one attempt do not count.
    pub max_attempts: u32,
    /// Overall time budget of one call, from its first attempt: no retry starts after it,
    /// and a wait that would end past it is not begun.
    pub deadline: Duration,
    /// Wait before the first retry.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// Growth of the wait per retry (≥ 1).
    pub multiplier: f64,
    /// Fraction (0..=1) of each wait that may be randomly cut off.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 10 attempts within 2 minutes, waits 0.5 s, 1 s, 2 s … capped at 10 s, jitter 0.5:
    /// enough to ride out a leader election (typically seconds to tens of seconds).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            deadline: Duration::from_secs(120),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: 0.5,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries (one attempt per call).
    pub fn no_retries() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (1 = the first retry) without jitter:
    /// `initial_backoff * multiplier^(retry-1)`, capped at `max_backoff`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let exp = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let factor = if self.multiplier.is_finite() && self.multiplier >= 1.0 {
            self.multiplier.powi(exp)
        } else {
            1.0
        };
        let secs = self.initial_backoff.as_secs_f64() * factor;
        let max = self.max_backoff.as_secs_f64();
        let secs = if secs.is_finite() { secs.min(max) } else { max };
        Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(self.max_backoff)
    }

    /// The wait before retry number `retry` with jitter applied.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        ceiling.mul_f64(1.0 - jitter * fastrand::f64())
    }
}

/// A failed attempt, classified by what the retry matrix needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 503: no leader; the scheduler did not process the request.
    NoLeader,
    /// `ERROR_TRANSIENT`: storage not ready; the scheduler's transaction did not commit.
    Transient,
    /// The request certainly never reached the scheduler (no connection).
    NotSent,
    /// The request may have been processed but the reply was lost.
    MaybeSent,
    /// Retrying cannot help (auth, TLS, protocol errors, a definitive answer).
    Fatal,
}

/// A retry about to happen, for callers that show it (a silent minute of backoff reads as a
/// hang): which call, which attempt failed, why, and how long until the next one.
#[derive(Debug, Clone)]
pub struct RetryNotice {
    /// The RPC.
    pub method: &'static str,
    /// The attempt that just failed (1 = the first).
    pub attempt: u32,
    /// Attempts allowed in all.
    pub max_attempts: u32,
    /// The wait before the next attempt.
    pub wait: std::time::Duration,
    /// What kind of failure it was.
    pub failure: Failure,
    /// The failed attempt's error, as [`crate::ApiError`] shows it (credentials redacted).
    pub error: String,
}

impl RetryNotice {
    /// The failure in a few words, e.g. "no leading scheduler (HTTP 503)".
    pub fn reason(&self) -> &'static str {
        match self.failure {
            Failure::NoLeader => "no leading scheduler (HTTP 503)",
            Failure::Transient => "the scheduler's storage is not ready (ERROR_TRANSIENT)",
            Failure::NotSent => "cannot reach the scheduler",
            Failure::MaybeSent => "no reply from the scheduler",
            Failure::Fatal => "failed",
        }
    }
}

/// Called before each retry's wait; see [`RetryNotice`].
pub type RetryObserver = std::sync::Arc<dyn Fn(&RetryNotice) + Send + Sync>;

/// What to do after a failed attempt (before looking at attempt counts and the deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send the call again after a backoff.
    Retry,
    /// Return the error as it is.
    GiveUp,
    /// Return [`ApiError::OutcomeUnknown`](crate::error::ApiError::OutcomeUnknown): a
    /// non-idempotent call may have been applied.
    OutcomeUnknown,
}

/// The retry matrix: whether a call of the given idempotency is re-sent after `failure`.
pub fn decide(failure: Failure, idempotent: bool) -> Decision {
    match failure {
        Failure::NoLeader | Failure::Transient | Failure::NotSent => Decision::Retry,
        Failure::MaybeSent if idempotent => Decision::Retry,
        Failure::MaybeSent => Decision::OutcomeUnknown,
        Failure::Fatal => Decision::GiveUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix() {
        use Decision::*;
        use Failure::*;
        let rows = [
            (NoLeader, Retry, Retry),
            (Transient, Retry, Retry),
            (NotSent, Retry, Retry),
            (MaybeSent, Retry, OutcomeUnknown),
            (Fatal, GiveUp, GiveUp),
        ];
        for (failure, idem, non_idem) in rows {
            assert_eq!(decide(failure, true), idem, "{failure:?} idempotent");
            assert_eq!(
                decide(failure, false),
                non_idem,
                "{failure:?} non-idempotent"
            );
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(500));
        assert_eq!(p.backoff_ceiling(2), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(3), Duration::from_secs(2));
        assert_eq!(p.backoff_ceiling(10), Duration::from_secs(10));
        assert_eq!(p.backoff_ceiling(u32::MAX), Duration::from_secs(10));
        for retry in 1..20 {
            let b = p.backoff(retry);
            assert!(b <= p.backoff_ceiling(retry));
            assert!(b >= p.backoff_ceiling(retry).mul_f64(0.5));
        }
    }

    #[test]
    fn silly_settings_do_not_panic() {
        let p = RetryPolicy {
            multiplier: f64::NAN,
            jitter: 7.0,
            initial_backoff: Duration::MAX,
            ..RetryPolicy::default()
        };
        assert!(p.backoff(3) <= p.max_backoff);
        let p = RetryPolicy {
            multiplier: f64::INFINITY,
            jitter: f64::NAN,
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff(5), p.backoff_ceiling(5));
    }
}
