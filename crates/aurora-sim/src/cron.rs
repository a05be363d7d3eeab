//! Crontab entries as Aurora's scheduler accepts them (`CrontabEntry`, reference §3 "Cron
//! specifics"): five fields, minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 (or
//! JAN-DEC), day-of-week 0-6 (or SUN-SAT; 7 is *not* Sunday); `*`, ranges, lists and `/step`;
//! no `@` macros; day-of-month and day-of-week may not both be restricted. Times are in GMT
//! (`-cron_timezone` default).

use std::collections::BTreeSet;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crontab {
    minutes: BTreeSet<u32>,
    hours: BTreeSet<u32>,
    days: BTreeSet<u32>,
    months: BTreeSet<u32>,
    weekdays: BTreeSet<u32>,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(tok: &str, lo: u32, hi: u32, names: &[&str], name_base: u32) -> Option<u32> {
    let up = tok.to_ascii_uppercase();
    if let Some(i) = names.iter().position(|n| *n == up) {
        return u32::try_from(i).ok().map(|i| i + name_base);
    }
    let v: u32 = tok.parse().ok()?;
    (lo..=hi).contains(&v).then_some(v)
}

fn field(text: &str, lo: u32, hi: u32, names: &[&str], name_base: u32) -> Option<BTreeSet<u32>> {
    let mut out = BTreeSet::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                value(a, lo, hi, names, name_base)?,
                value(b, lo, hi, names, name_base)?,
            )
        } else {
            let v = value(range, lo, hi, names, name_base)?;
            (v, if step > 1 { hi } else { v })
        };
        if a > b {
            return None;
        }
        let mut v = a;
        while v <= b {
            out.insert(v);
            match v.checked_add(step) {
                Some(next) => v = next,
                None => break,
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

impl Crontab {
    /// Parses a schedule; `None` when the scheduler would reject it.
    pub fn parse(text: &str) -> Option<Crontab> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return None;
        }
        if parts[2] != "*" && parts[4] != "*" {
            return None;
        }
        Some(Crontab {
            minutes: field(parts[0], 0, 59, &[], 0)?,
            hours: field(parts[1], 0, 23, &[], 0)?,
            days: field(parts[2], 1, 31, &[], 0)?,
            months: field(parts[3], 1, 12, &MONTHS, 1)?,
            weekdays: field(parts[4], 0, 6, &DAYS, 0)?,
        })
    }

    /// The first matching minute strictly after `after_ms` (GMT), searched up to ~4 years.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let mut minute = after_ms.div_euclid(60_000) + 1;
        let limit = minute + 4 * 366 * 24 * 60;
        while minute < limit {
            let days = minute.div_euclid(1440);
            let (y, m, d) = civil_from_days(days);
            let _ = y;
            let month_ok = self.months.contains(&m);
            let weekday = u32::try_from((days + 4).rem_euclid(7)).unwrap_or(0);
            if !month_ok || !self.days.contains(&d) || !self.weekdays.contains(&weekday) {
                minute = (days + 1) * 1440;
                continue;
            }
            let in_day = minute.rem_euclid(1440);
            let h = u32::try_from(in_day / 60).unwrap_or(0);
            let mi = u32::try_from(in_day % 60).unwrap_or(0);
            if self.hours.contains(&h) && self.minutes.contains(&mi) {
                return minute.checked_mul(60_000);
            }
            minute += 1;
        }
        None
    }
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
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
        assert!(Crontab::parse("@hourly").is_none());
        assert!(Crontab::parse("60 * * * *").is_none());
        assert!(Crontab::parse("* * * *").is_none());
        // Absurd steps and ranges never overflow.
        assert!(Crontab::parse("1-59/4294967295 * * * *").is_some());
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
