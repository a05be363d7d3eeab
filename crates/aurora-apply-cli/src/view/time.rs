//! Times for people: durations as `4m12s`, instants as RFC 3339 in UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, in ms since the epoch (the local clock; scheduler timestamps are compared with it).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A duration in ms as its two largest units: `0s`, `45s`, `4m12s`, `2h05m`, `3d04h`.
/// Negative durations (a scheduler clock ahead of ours) read as `0s`.
pub fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// An instant in ms since the epoch as RFC 3339 (UTC, seconds); `-` when unknown (0 or less).
pub fn timestamp(ms: i64) -> String {
    match u64::try_from(ms) {
        Ok(ms) if ms > 0 => {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
        }
        _ => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(age(-5), "0s");
        assert_eq!(age(45_999), "45s");
        assert_eq!(age(252_000), "4m12s");
        assert_eq!(age(7_500_000), "2h05m");
        assert_eq!(age(273_600_000), "3d04h");
        assert_eq!(timestamp(0), "-");
        assert_eq!(timestamp(1_000), "1970-01-01T00:00:01Z");
    }
}
