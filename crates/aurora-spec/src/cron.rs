//! Cron schedules exactly as Aurora's scheduler parses them: the shared [`aurora_cron`]
//! implementation of `CrontabEntry`, the very code the scheduler emulator runs for
//! `scheduleCronJob`, so `validate` and the emulator cannot disagree about a schedule.
//! Five fields (minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC,
//! day-of-week 0-6 or SUN-SAT, where 7 is *not* Sunday), each a comma list of `*`, `N`,
//! `A-B`, `*/S` or `A-B/S` (with 0 < S < B), no `@daily`-style macros, and not both
//! day-of-month and day-of-week restricted (`1-31` counts as unrestricted).

pub use aurora_cron::{CronError, CrontabEntry, Field};

/// Checks a schedule; the error carries Aurora's reason (`Display`) and the scheduler's answer
/// ([`CronError::scheduler_message`]).
pub fn check(schedule: &str) -> Result<(), CronError> {
    CrontabEntry::parse(schedule).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepted_like_the_scheduler() {
        for s in [
            "*/5 * * * *",
            "0 2 * * *",
            "0 0 1 * *",
            "0 9 * * MON-FRI",
            "1-50/2 * * JAN,mar *",
            "0 0 1-31 * 1",
        ] {
            assert!(check(s).is_ok(), "{s}: {:?}", check(s));
        }
    }

    #[test]
    fn rejected_like_the_scheduler() {
        for s in [
            "@daily",
            "* * * *",
            "0 0 0 * * *",
            "60 * * * *",
            "0 24 * * *",
            "0 0 * * 7",
            "0 0 15 * 4",
            "5-1 * * * *",
            "1-10/10 * * * *",
            "*/0 * * * *",
            " 0 2 * * *",
            "x * * * *",
            "5/10 * * * *",
            ", * * * *",
        ] {
            assert!(check(s).is_err(), "{s} should be rejected");
        }
    }
}
