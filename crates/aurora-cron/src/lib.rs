//! Aurora 0.22's crontab rules, once, for both users: the spec parser (`aurora-spec`, which
//! judges a schedule offline) and the scheduler emulator (`aurora-sim`, which accepts or
//! rejects `scheduleCronJob` and fires the runs). Keeping one implementation is what makes
//! `validate`'s verdict and the emulator's verdict the same by construction.
//!
//! The rules are those of `org.apache.aurora.scheduler.cron.CrontabEntry` at `rel/0.22.0`
//! (reference aurora-api.md §3 "Cron specifics"), including its quirks:
//!
//! - exactly five fields separated by Java `\s` (space, tab, `\n`, `\x0B`, `\f`, `\r`), no
//!   leading or trailing whitespace, no `@daily`-style macros;
//! - each field is a comma list (empty items are skipped) of `*`, `N`, `A-B`, `*/S` or
//!   `A-B/S` with ASCII digits; `N/S` is *not* a pattern; numbers beyond `i32` are rejected;
//! - minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-6 (7 is *not*
//!   Sunday); month and day-of-week accept the names `JAN`-`DEC` / `SUN`-`SAT` anywhere in a
//!   component, in any case (the component is upper-cased and each name replaced by its
//!   number, in calendar order);
//! - `A-B/S` needs `0 < S < B`; `*/S` only `S > 0`;
//! - day-of-month and day-of-week may not both be restricted, where "restricted" means "does
//!   not cover the whole range": `1-31` or `*/1` count as unrestricted;
//! - a field whose items are all empty (`,`) makes Aurora's parser throw
//!   `NoSuchElementException`, which its `tryParse` does not catch: the scheduler answers
//!   `ERROR` rather than `INVALID_REQUEST` ([`CronError::is_internal_error`]).
//!
//! Principal items: [`CrontabEntry::parse`] (a schedule or a [`CronError`]),
//! [`CrontabEntry::next_after`] (the next run, GMT), [`CronError::scheduler_message`] (what
//! `scheduleCronJob` answers).
//!
//! ```
//! use aurora_cron::CrontabEntry;
//!
//! let every_hour = CrontabEntry::parse("30 * * * *").expect("valid");
//! // 1970-01-01T00:00Z → 00:30
//! assert_eq!(every_hour.next_after(0), Some(30 * 60_000));
//!
//! let err = CrontabEntry::parse("0 0 * * 7").expect_err("7 is not Sunday");
//! assert_eq!(err.scheduler_message("0 0 * * 7"), "Invalid cron schedule: 0 0 * * 7");
//! assert_eq!(err.to_string(), "dayOfWeek: [0..7) does not enclose [7..8)");
//! ```

use std::fmt;

/// One of the five crontab fields, named as Aurora names them in its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// 0-59.
    Minute,
    /// 0-23.
    Hour,
    /// 1-31.
    DayOfMonth,
    /// 1-12 or `JAN`-`DEC`.
    Month,
    /// 0-6 or `SUN`-`SAT`.
    DayOfWeek,
}

impl Field {
    /// The five fields in schedule order.
    pub const ALL: [Field; 5] = [
        Field::Minute,
        Field::Hour,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
    ];

    /// The inclusive bounds of the field.
    pub fn bounds(self) -> (u32, u32) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (0, 6),
        }
    }

    /// The field's name in Aurora's messages (`dayOfMonth`, …).
    pub fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "dayOfMonth",
            Field::Month => "month",
            Field::DayOfWeek => "dayOfWeek",
        }
    }

    fn aliases(self) -> &'static [(&'static str, u32)] {
        match self {
            Field::Month => &MONTH_NAMES,
            Field::DayOfWeek => &DAY_NAMES,
            _ => &[],
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// In the order of Aurora's `ImmutableBiMap`s: the replacement order matters for overlapping
// names (`JANOV` → `1OV`).
const MONTH_NAMES: [(&str, u32); 12] = [
    ("JAN", 1),
    ("FEB", 2),
    ("MAR", 3),
    ("APR", 4),
    ("MAY", 5),
    ("JUN", 6),
    ("JUL", 7),
    ("AUG", 8),
    ("SEP", 9),
    ("OCT", 10),
    ("NOV", 11),
    ("DEC", 12),
];
const DAY_NAMES: [(&str, u32); 7] = [
    ("SUN", 0),
    ("MON", 1),
    ("TUE", 2),
    ("WED", 3),
    ("THU", 4),
    ("FRI", 5),
    ("SAT", 6),
];

/// Why Aurora's `CrontabEntry` rejects a schedule. `Display` gives Aurora's internal reason
/// (the scheduler itself only ever answers [`CronError::scheduler_message`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CronError {
    /// Not five fields separated by whitespace (with none around them).
    #[error("Invalid cron schedule {schedule}")]
    Shape {
        /// The schedule as given.
        schedule: String,
    },
    /// A component of a field is rejected (`IllegalArgumentException`).
    #[error("{field}: {reason}")]
    Component {
        /// The field.
        field: Field,
        /// The component as written.
        component: String,
        /// Aurora's reason, e.g. `[0..60) does not enclose [60..61)`.
        reason: String,
    },
    /// A field with no component at all (only commas): Aurora's parser throws
    /// `NoSuchElementException`, which escapes `tryParse`.
    #[error("{field}: the field has no components")]
    EmptyField {
        /// The field.
        field: Field,
    },
    /// Both day-of-month and day-of-week are restricted.
    #[error("Specifying both dayOfWeek and dayOfMonth is not supported.")]
    BothDays,
}

impl CronError {
    /// The detail of the scheduler's answer to `scheduleCronJob`/`replaceCronTemplate`
    /// (`SanitizedCronJob`: "Invalid cron schedule: …"). For an
    /// [internal error](Self::is_internal_error) the real scheduler answers `ERROR` with an
    /// empty message instead; this text is then what an emulator says in its place.
    pub fn scheduler_message(&self, schedule: &str) -> String {
        format!("Invalid cron schedule: {schedule}")
    }

    /// True when Aurora fails with an unchecked exception rather than rejecting the schedule
    /// (response code `ERROR`, not `INVALID_REQUEST`).
    pub fn is_internal_error(&self) -> bool {
        matches!(self, CronError::EmptyField { .. })
    }
}

/// A parsed schedule: the set of minutes, hours, days, months and weekdays it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CrontabEntry {
    // Bit i set = value i matches.
    minute: u64,
    hour: u64,
    day_of_month: u64,
    month: u64,
    day_of_week: u64,
}

/// Java's `\s` (without `UNICODE_CHARACTER_CLASS`).
fn java_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

fn full(field: Field) -> u64 {
    let (lo, hi) = field.bounds();
    (lo..=hi).fold(0, |acc, i| acc | (1u64 << i))
}

/// Guava's `Range.closed(a, b).canonical(integers())` as text: `[a..b+1)`.
fn range_text(a: i32, b: i32) -> String {
    match b.checked_add(1) {
        Some(end) => format!("[{a}..{end})"),
        None => format!("[{a}..+\u{221e})"),
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `Integer.parseInt` of a digit string; its `NumberFormatException` text when too large.
fn int(s: &str) -> Result<i32, String> {
    s.parse::<i32>()
        .map_err(|_| format!("For input string: \"{s}\""))
}

fn parse_component(field: Field, c: &str) -> Result<u64, String> {
    let (lo, hi) = field.bounds();
    let enclosure = range_text(lo as i32, hi as i32);
    let enclosed = |a: i32, b: i32| -> Result<(), String> {
        if a < lo as i32 || b > hi as i32 {
            Err(format!("{enclosure} does not enclose {}", range_text(a, b)))
        } else {
            Ok(())
        }
    };
    let span = |a: i32, b: i32, step: i64| -> u64 {
        let mut bits = 0u64;
        let mut i = i64::from(a);
        while i <= i64::from(b) {
            bits |= 1u64 << i;
            i += step;
        }
        bits
    };
    if c == "*" {
        return Ok(full(field));
    }
    if all_digits(c) {
        let n = int(c)?;
        enclosed(n, n)?;
        return Ok(span(n, n, 1));
    }
    if let Some((a, b)) = c.split_once('-')
        && all_digits(a)
        && all_digits(b)
    {
        let (a, b) = (int(a)?, int(b)?);
        if a > b {
            return Err(format!("Invalid range: [{a}..{b}]"));
        }
        enclosed(a, b)?;
        return Ok(span(a, b, 1));
    }
    if let Some(skip) = c.strip_prefix("*/")
        && all_digits(skip)
    {
        let skip = int(skip)?;
        if skip <= 0 {
            return Err(format!("skip value {skip} must be >0"));
        }
        return Ok(span(lo as i32, hi as i32, i64::from(skip)));
    }
    if let Some((range, skip)) = c.split_once('/')
        && let Some((a, b)) = range.split_once('-')
        && all_digits(a)
        && all_digits(b)
        && all_digits(skip)
    {
        let (a, b, skip) = (int(a)?, int(b)?, int(skip)?);
        if a > b {
            return Err(format!("Invalid range: [{a}..{b}]"));
        }
        enclosed(a, b)?;
        if skip <= 0 {
            return Err(format!("skip value {skip} must be >0"));
        }
        if skip >= b {
            return Err(format!("skip value {skip} must be smaller than {b}"));
        }
        return Ok(span(a, b, i64::from(skip)));
    }
    Err(format!(
        "Cron schedule component {c} does not match any known patterns."
    ))
}

/// `replaceNameAliases`: upper-case (Java's `toUpperCase(Locale.ENGLISH)`, i.e. Unicode's
/// unconditional mappings, as Rust's `to_uppercase`), then replace every name present, in
/// calendar order.
fn replace_aliases(component: &str, names: &[(&str, u32)]) -> String {
    let mut s = component.to_uppercase();
    for (name, n) in names {
        if s.contains(name) {
            s = s.replace(name, &n.to_string());
        }
    }
    s
}

impl CrontabEntry {
    /// Parses a schedule as Aurora's `CrontabEntry.parse` does; the error is the first reason
    /// Aurora would fail with.
    pub fn parse(schedule: &str) -> Result<CrontabEntry, CronError> {
        let shape = || CronError::Shape {
            schedule: schedule.to_string(),
        };
        if schedule.is_empty() || schedule.starts_with(java_space) || schedule.ends_with(java_space)
        {
            return Err(shape());
        }
        let raw: Vec<&str> = schedule
            .split(java_space)
            .filter(|s| !s.is_empty())
            .collect();
        if raw.len() != 5 {
            return Err(shape());
        }
        // Aurora parses the fields in order and checks for empty fields afterwards (in the
        // constructor), so a bad component in a later field wins over an earlier empty one.
        let mut bits = [0u64; 5];
        for (i, field) in Field::ALL.into_iter().enumerate() {
            for component in raw[i].split(',').filter(|c| !c.is_empty()) {
                let replaced = if field.aliases().is_empty() {
                    component.to_string()
                } else {
                    replace_aliases(component, field.aliases())
                };
                bits[i] |=
                    parse_component(field, &replaced).map_err(|reason| CronError::Component {
                        field,
                        component: component.to_string(),
                        reason,
                    })?;
            }
        }
        if let Some(i) = bits.iter().position(|b| *b == 0) {
            return Err(CronError::EmptyField {
                field: Field::ALL[i],
            });
        }
        let entry = CrontabEntry {
            minute: bits[0],
            hour: bits[1],
            day_of_month: bits[2],
            month: bits[3],
            day_of_week: bits[4],
        };
        if !entry.has_wildcard_day_of_month() && !entry.has_wildcard_day_of_week() {
            return Err(CronError::BothDays);
        }
        Ok(entry)
    }

    /// True when the entry covers every day of the month (`*`, `1-31`, `*/1`, …).
    pub fn has_wildcard_day_of_month(&self) -> bool {
        self.day_of_month == full(Field::DayOfMonth)
    }

    /// True when the entry covers every day of the week.
    pub fn has_wildcard_day_of_week(&self) -> bool {
        self.day_of_week == full(Field::DayOfWeek)
    }

    /// Whether the entry matches a value of a field (out-of-range values never match).
    pub fn matches(&self, field: Field, value: u32) -> bool {
        let bits = match field {
            Field::Minute => self.minute,
            Field::Hour => self.hour,
            Field::DayOfMonth => self.day_of_month,
            Field::Month => self.month,
            Field::DayOfWeek => self.day_of_week,
        };
        value < 64 && bits & (1u64 << value) != 0
    }

    /// The first matching minute strictly after `after_ms` (milliseconds since the epoch,
    /// GMT — the scheduler's default `-cron_timezone`), searched up to about four years
    /// ahead; `None` for a schedule that never fires in that time (`0 0 30 2 *`).
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let mut minute = after_ms.div_euclid(60_000).checked_add(1)?;
        let limit = minute.checked_add(4 * 366 * 24 * 60)?;
        while minute < limit {
            let days = minute.div_euclid(1440);
            let (_, month, day) = civil_from_days(days);
            let weekday = u32::try_from((days + 4).rem_euclid(7)).unwrap_or(0);
            if !self.matches(Field::Month, month)
                || !self.matches(Field::DayOfMonth, day)
                || !self.matches(Field::DayOfWeek, weekday)
            {
                minute = (days + 1) * 1440;
                continue;
            }
            let in_day = minute.rem_euclid(1440);
            let hour = u32::try_from(in_day / 60).unwrap_or(0);
            let min = u32::try_from(in_day % 60).unwrap_or(0);
            if self.matches(Field::Hour, hour) && self.matches(Field::Minute, min) {
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

    fn reason(s: &str) -> String {
        match CrontabEntry::parse(s) {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn accepted_as_aurora_accepts() {
        for s in [
            "*/5 * * * *",
            "0 2 * * *",
            "0 0 1 * *",
            "0 9 * * MON-FRI",
            "1-50/2 * * JAN,mar *",
            // 1-31 covers the month: not a restriction.
            "0 0 1-31 * 1",
            "0 0 1-15,16-31 * 1",
            "0 0 15 * */1",
            "0\t0\n*\x0b*\x0c*",
            "1,,2 * * * *",
            "0005 * * * *",
            "*/100 * * * *",
            "*/2147483647 * * * *",
            "0 0 * jan-dec sun-sat",
            "0 0 * * ſun",
        ] {
            assert_eq!(reason(s), "ok", "{s}");
        }
    }

    #[test]
    fn rejected_with_aurora_reasons() {
        for (s, why) in [
            ("@daily", "Invalid cron schedule @daily"),
            ("* * * *", "Invalid cron schedule * * * *"),
            (" 0 2 * * *", "Invalid cron schedule  0 2 * * *"),
            ("0 2 * * *\n", "Invalid cron schedule 0 2 * * *\n"),
            ("0 2 * *\u{a0}*", "Invalid cron schedule 0 2 * *\u{a0}*"),
            ("60 * * * *", "minute: [0..60) does not enclose [60..61)"),
            ("0 24 * * *", "hour: [0..24) does not enclose [24..25)"),
            ("0 0 0 * *", "dayOfMonth: [1..32) does not enclose [0..1)"),
            ("0 0 * * 7", "dayOfWeek: [0..7) does not enclose [7..8)"),
            ("0 0 * 0-12 *", "month: [1..13) does not enclose [0..13)"),
            ("5-1 * * * *", "minute: Invalid range: [5..1]"),
            (
                "1-10/10 * * * *",
                "minute: skip value 10 must be smaller than 10",
            ),
            ("1-10/0 * * * *", "minute: skip value 0 must be >0"),
            ("*/0 * * * *", "minute: skip value 0 must be >0"),
            (
                "5/10 * * * *",
                "minute: Cron schedule component 5/10 does not match any known patterns.",
            ),
            (
                "x * * * *",
                "minute: Cron schedule component x does not match any known patterns.",
            ),
            (
                "99999999999 * * * *",
                "minute: For input string: \"99999999999\"",
            ),
            (
                "*/99999999999 * * * *",
                "minute: For input string: \"99999999999\"",
            ),
            (
                "0 0 15 * 4",
                "Specifying both dayOfWeek and dayOfMonth is not supported.",
            ),
            (
                "0 0 * JUNE *",
                "month: Cron schedule component 6E does not match any known patterns.",
            ),
            (
                "0 0 * MON *",
                "month: Cron schedule component MON does not match any known patterns.",
            ),
            (", * * * *", "minute: the field has no components"),
        ] {
            assert_eq!(reason(s), why, "{s:?}");
        }
        // A bad component in a later field wins over an earlier empty field, as in Aurora.
        assert_eq!(
            reason(", 99 * * *"),
            "hour: [0..24) does not enclose [99..100)"
        );
        assert!(
            CrontabEntry::parse(",,, * * * *")
                .expect_err("empty")
                .is_internal_error()
        );
    }

    #[test]
    fn names_are_replaced_in_calendar_order() {
        // JAN is replaced before NOV, leaving `1OV`.
        assert!(CrontabEntry::parse("0 0 * JANOV *").is_err());
        // MAY then JAN: `MAYJAN` → `MAY1` → `51`, out of range.
        assert_eq!(
            reason("0 0 * MAYJAN *"),
            "month: [1..13) does not enclose [51..52)"
        );
    }

    #[test]
    fn next_run() {
        let c = CrontabEntry::parse("30 * * * *").expect("parses");
        assert_eq!(c.next_after(0), Some(30 * 60_000));
        let c = CrontabEntry::parse("0 0 * * SUN").expect("parses");
        // 1970-01-01 was a Thursday; next Sunday is Jan 4.
        assert_eq!(c.next_after(0), Some(3 * 86_400_000));
        let c = CrontabEntry::parse("0 0 30 2 *").expect("parses");
        assert_eq!(c.next_after(0), None);
        let c = CrontabEntry::parse("* * * * *").expect("parses");
        assert_eq!(c.next_after(i64::MAX - 10), None);
        assert!(c.next_after(i64::MIN).is_some());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[0-9*/,A-Za-z \t-]{0,40}") {
            if let Ok(c) = CrontabEntry::parse(&s) {
                let _ = c.next_after(0);
            }
        }
    }
}
