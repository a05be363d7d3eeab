//! Cron schedules exactly as Aurora's scheduler parses them (`CrontabEntry`): five fields
//! (minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 0-6 or
//! SUN-SAT, where 7 is *not* Sunday), each a comma list of `*`, `N`, `A-B`, `*/S` or `A-B/S`
//! (with S < B), no `@daily`-style macros, and not both day-of-month and day-of-week
//! restricted.

/// Why a schedule is rejected, in the scheduler's words where it has them.
pub fn check(schedule: &str) -> Result<(), String> {
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    let exact = schedule.trim() == schedule && !schedule.is_empty();
    if fields.len() != 5 || !exact {
        return Err(format!(
            "Invalid cron schedule {schedule} (five fields: minute hour day-of-month month day-of-week)"
        ));
    }
    let bounds = [
        ("minute", 0, 59, None),
        ("hour", 0, 23, None),
        ("dayOfMonth", 1, 31, None),
        ("month", 1, 12, Some(MONTHS)),
        ("dayOfWeek", 0, 6, Some(DAYS)),
    ];
    let mut full = [false; 5];
    for (i, (field, (name, lo, hi, names))) in fields.iter().zip(bounds).enumerate() {
        let mut covered = vec![false; hi + 1];
        let mut any = false;
        for raw in field.split(',').filter(|c| !c.is_empty()) {
            let comp = match names {
                Some(names) => replace_names(raw, names),
                None => raw.to_string(),
            };
            parse_component(&comp, lo, hi, &mut covered)
                .map_err(|e| format!("Invalid cron schedule {schedule}: field {name}: {e}"))?;
            any = true;
        }
        if !any {
            return Err(format!(
                "Invalid cron schedule {schedule}: field {name} is empty"
            ));
        }
        full[i] = covered[lo..=hi].iter().all(|c| *c);
    }
    if !full[2] && !full[4] {
        return Err("Specifying both dayOfWeek and dayOfMonth is not supported.".to_string());
    }
    Ok(())
}

const MONTHS: &[(&str, usize)] = &[
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

const DAYS: &[(&str, usize)] = &[
    ("SUN", 0),
    ("MON", 1),
    ("TUE", 2),
    ("WED", 3),
    ("THU", 4),
    ("FRI", 5),
    ("SAT", 6),
];

fn replace_names(raw: &str, names: &[(&str, usize)]) -> String {
    let mut s = raw.to_ascii_uppercase();
    for (name, n) in names {
        s = s.replace(name, &n.to_string());
    }
    s
}

fn number(s: &str) -> Result<usize, String> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("`{s}` is not a number"));
    }
    s.parse::<i32>()
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("`{s}` is too large"))
}

fn parse_component(c: &str, lo: usize, hi: usize, covered: &mut [bool]) -> Result<(), String> {
    let check = |a: usize, b: usize| {
        if a < lo || b > hi || a > b {
            Err(format!("[{lo}..{hi}] does not enclose [{a}..{b}]"))
        } else {
            Ok(())
        }
    };
    if c == "*" {
        covered[lo..=hi].iter_mut().for_each(|x| *x = true);
        return Ok(());
    }
    let (range, skip) = match c.split_once('/') {
        Some((r, s)) => (r, Some(number(s)?)),
        None => (c, None),
    };
    let (a, b) = if range == "*" {
        if skip.is_none() {
            return Err(format!("component {c} does not match any known patterns"));
        }
        (lo, hi)
    } else if let Some((a, b)) = range.split_once('-') {
        (number(a)?, number(b)?)
    } else if skip.is_none() {
        let n = number(range)
            .map_err(|_| format!("component {c} does not match any known patterns"))?;
        (n, n)
    } else {
        return Err(format!("component {c} does not match any known patterns"));
    };
    if range != "*" {
        check(a, b)?;
    }
    let step = match skip {
        Some(0) => return Err(format!("skip value in {c} must be >0")),
        Some(s) if range != "*" && s >= b => {
            return Err(format!("skip value {s} must be smaller than {b}"));
        }
        Some(s) => s,
        None => 1,
    };
    let mut i = a;
    while i <= b {
        covered[i] = true;
        i += step;
    }
    Ok(())
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
        ] {
            assert!(check(s).is_err(), "{s} should be rejected");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[0-9*/,A-Z -]{0,30}") {
            let _ = check(&s);
        }
    }
}
