//! Crontab entries as Aurora's scheduler accepts them: the shared [`aurora_cron`]
//! implementation of `CrontabEntry` (reference §3 "Cron specifics"), the same one the spec
//! parser's `validate` uses, so the two can never disagree about a schedule. Times are in GMT
//! (`-cron_timezone` default).

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crontab(aurora_cron::CrontabEntry);

impl Crontab {
    /// Parses a schedule; `None` when the scheduler would reject it (`SanitizedCronJob`:
    /// "Invalid cron schedule: …").
    pub fn parse(text: &str) -> Option<Crontab> {
        Self::check(text).ok()
    }

    /// Parses a schedule, keeping Aurora's reason when it is rejected.
    pub fn check(text: &str) -> Result<Crontab, aurora_cron::CronError> {
        aurora_cron::CrontabEntry::parse(text).map(Crontab)
    }

    /// The first matching minute strictly after `after_ms` (GMT), searched up to ~4 years.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        self.0.next_after(after_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aurora_crontabs() {
        assert!(Crontab::parse("*/5 * * * *").is_some());
        assert!(Crontab::parse("0 12 * * MON-FRI").is_some());
        assert!(Crontab::parse("0 0 1 JAN *").is_some());
        assert!(Crontab::parse("0 0 * * 7").is_none(), "7 is not Sunday");
        assert!(
            Crontab::parse("0 0 1 * 1").is_none(),
            "day-of-month and day-of-week"
        );
        // 1-31 covers every day: Aurora does not count it as a restriction.
        assert!(Crontab::parse("0 0 1-31 * 1").is_some());
        // `N/S` is not one of Aurora's patterns.
        assert!(Crontab::parse("5/10 * * * *").is_none());
        assert!(Crontab::parse("@hourly").is_none());
        assert!(Crontab::parse("60 * * * *").is_none());
        assert!(Crontab::parse("* * * *").is_none());
        // Absurd steps and ranges never overflow.
        assert!(Crontab::parse("1-59/2147483647 * * * *").is_none());
        assert!(Crontab::parse("*/2147483647 * * * *").is_some());
        assert!(Crontab::parse("*/99999999999 * * * *").is_none());
        assert_eq!(
            Crontab::parse("* * * * *").and_then(|c| c.next_after(i64::MAX - 10)),
            None
        );
    }

    #[test]
    fn next_run() {
        let c = Crontab::parse("30 * * * *").expect("parses");
        // 1970-01-01T00:00Z → 00:30
        assert_eq!(c.next_after(0), Some(30 * 60_000));
        let c = Crontab::parse("0 0 * * SUN").expect("parses");
        // 1970-01-01 was a Thursday; next Sunday is Jan 4.
        assert_eq!(c.next_after(0), Some(3 * 86_400_000));
    }
}
