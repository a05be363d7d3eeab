//! Retries made visible: a call the client retries (no leader yet, connection refused) is
//! shown as it happens instead of as a silent minute. Text on stderr, or an NDJSON `retry`
//! event on stdout when the command streams events (`apply -o json`).

use std::io::Write;
use std::sync::Arc;

use aurora_api::retry::{RetryNotice, RetryObserver};

/// The observer a command's clients report retries to.
pub fn observer(json_events: bool) -> RetryObserver {
    Arc::new(move |notice: &RetryNotice| {
        if json_events {
            let line = json_line(notice, &crate::session::now_rfc3339());
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        } else {
            let _ = writeln!(crate::redact::stderr(), "{}", text(notice));
        }
    })
}

/// "getJobs: no leading scheduler (HTTP 503), retrying in 4 s, attempt 3 of 10".
pub fn text(notice: &RetryNotice) -> String {
    format!(
        "{}: {}, retrying in {}, attempt {} of {}",
        notice.method,
        notice.reason(),
        seconds(notice.wait),
        notice.attempt + 1,
        notice.max_attempts
    )
}

fn seconds(wait: std::time::Duration) -> String {
    let s = wait.as_secs_f64();
    if s < 1.0 {
        format!("{} ms", wait.as_millis())
    } else {
        format!("{s:.0} s")
    }
}

/// The NDJSON event for a retry, shaped like the apply events (`@timestamp`, `@level`,
/// `@message`, `type`).
pub fn json_line(notice: &RetryNotice, timestamp: &str) -> String {
    let fields = serde_json::json!({
        "type": "retry",
        "method": notice.method,
        "reason": notice.reason(),
        "error": notice.error,
        "next_attempt": notice.attempt + 1,
        "max_attempts": notice.max_attempts,
        "wait_ms": u64::try_from(notice.wait.as_millis()).unwrap_or(u64::MAX),
    });
    crate::view::events::envelope(&fields, timestamp, "warn", &text(notice))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurora_api::retry::Failure;
    use std::time::Duration;

    fn notice(wait: Duration) -> RetryNotice {
        RetryNotice {
            method: "getJobs",
            attempt: 2,
            max_attempts: 10,
            wait,
            failure: Failure::NoLeader,
            error: "getJobs: no leading scheduler".into(),
        }
    }

    #[test]
    fn a_retry_reads_as_what_failed_when_the_next_try_comes_and_how_many_are_left() {
        assert_eq!(
            text(&notice(Duration::from_millis(4200))),
            "getJobs: no leading scheduler (HTTP 503), retrying in 4 s, attempt 3 of 10"
        );
        assert_eq!(
            text(&notice(Duration::from_millis(250))),
            "getJobs: no leading scheduler (HTTP 503), retrying in 250 ms, attempt 3 of 10"
        );
        let v: serde_json::Value =
            serde_json::from_str(&json_line(&notice(Duration::from_secs(1)), "t")).expect("json");
        assert_eq!(v["type"], "retry");
        assert_eq!(v["next_attempt"], 3);
        assert_eq!(v["wait_ms"], 1000);
    }
}
