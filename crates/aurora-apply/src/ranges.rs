//! Instance ids as Aurora's closed `Range`s, and back.
//!
//! Aurora describes instance sets as `set<Range>` with closed intervals `[first, last]`;
//! plans show them as `[0-9]`. These helpers are the one place that converts.

use std::collections::BTreeSet;

use aurora_api::types::Range;
use serde::{Deserialize, Serialize};

/// A closed interval of instance ids, `[first, last]`, as the scheduler and plans show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InstanceRange {
    /// First instance id (inclusive).
    pub first: i32,
    /// Last instance id (inclusive).
    pub last: i32,
}

impl InstanceRange {
    /// How many instances the range covers.
    pub fn len(&self) -> usize {
        usize::try_from(i64::from(self.last) - i64::from(self.first) + 1).unwrap_or(0)
    }

    /// Whether the range covers nothing (never true for ranges built here).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for InstanceRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Groups ids into the fewest contiguous ranges, ascending.
pub fn to_ranges(ids: &BTreeSet<i32>) -> Vec<InstanceRange> {
    let mut out: Vec<InstanceRange> = Vec::new();
    for &id in ids {
        match out.last_mut() {
            Some(r) if i64::from(r.last) + 1 == i64::from(id) => r.last = id,
            _ => out.push(InstanceRange {
                first: id,
                last: id,
            }),
        }
    }
    out
}

/// Every id covered by Aurora ranges, at most [`MAX_INSTANCES`] of them (a hostile reply
/// cannot make this allocate more): [`aurora_api::ranges::expand`], shared with the emulator.
pub fn ids_of(ranges: &BTreeSet<Range>) -> BTreeSet<i32> {
    aurora_api::ranges::expand(ranges, MAX_INSTANCES)
}

/// Aurora ranges from our ranges.
pub fn to_thrift(ranges: &[InstanceRange]) -> BTreeSet<Range> {
    ranges
        .iter()
        .map(|r| Range {
            first: Some(r.first),
            last: Some(r.last),
        })
        .collect()
}

/// Our ranges from Aurora's, normalised (merged and sorted).
pub fn from_thrift(ranges: &BTreeSet<Range>) -> Vec<InstanceRange> {
    to_ranges(&ids_of(ranges))
}

/// The scheduler's default `-max_tasks_per_job` is 4000; anything far beyond is not a real
/// job and is cut off rather than allocated.
pub const MAX_INSTANCES: usize = 100_000;

/// Renders ranges as `0-2,5`.
pub fn display(ranges: &[InstanceRange]) -> String {
    ranges
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The number of instances covered.
pub fn count(ranges: &[InstanceRange]) -> usize {
    ranges.iter().map(InstanceRange::len).sum()
}

/// Parses an instance list as people type it (and as Aurora's client takes it): ids and
/// closed ranges separated by commas, `0-3,7`. Whitespace around the parts is allowed;
/// empty parts, negative ids, inverted ranges and lists over [`MAX_INSTANCES`] ids are not.
pub fn parse(text: &str) -> Result<BTreeSet<i32>, String> {
    let mut ids = BTreeSet::new();
    if text.trim().is_empty() {
        return Err("an empty instance list (expected e.g. `0-3,7`)".into());
    }
    for part in text.split(',') {
        let part = part.trim();
        let id = |s: &str| -> Result<i32, String> {
            let s = s.trim();
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "`{part}` is not an instance id or range (expected e.g. `0-3,7`)"
                ));
            }
            s.parse::<i32>()
                .map_err(|_| format!("`{s}` is too large for an instance id"))
        };
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (id(a)?, id(b)?),
            None => {
                let v = id(part)?;
                (v, v)
            }
        };
        if first > last {
            return Err(format!(
                "`{part}` is an inverted range (write `{last}-{first}`)"
            ));
        }
        if ids.len() + usize::try_from(i64::from(last) - i64::from(first) + 1).unwrap_or(usize::MAX)
            > MAX_INSTANCES
        {
            return Err(format!(
                "`{text}` names more than {MAX_INSTANCES} instances"
            ));
        }
        ids.extend(first..=last);
    }
    Ok(ids)
}

/// Renders ids as `0-2,5` (the inverse of [`parse`]).
pub fn display_ids(ids: &BTreeSet<i32>) -> String {
    display(&to_ranges(ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_contiguous_ids() {
        let ids = BTreeSet::from([0, 1, 2, 5, 7, 8]);
        let ranges = to_ranges(&ids);
        assert_eq!(display(&ranges), "0-2,5,7-8");
        assert_eq!(count(&ranges), 6);
        assert_eq!(from_thrift(&to_thrift(&ranges)), ranges);
    }

    #[test]
    fn parses_what_people_type() {
        assert_eq!(
            parse("0-3,7").map(|ids| display_ids(&ids)),
            Ok("0-3,7".to_string())
        );
        assert_eq!(
            parse(" 5 , 1-2,2 ").map(|ids| ids.into_iter().collect::<Vec<_>>()),
            Ok(vec![1, 2, 5])
        );
        for bad in ["", "1,,2", "a", "-1", "3-1", "1-", "0-99999999"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hostile_ranges_are_bounded() {
        let huge = BTreeSet::from([Range {
            first: Some(0),
            last: Some(i32::MAX),
        }]);
        assert_eq!(ids_of(&huge).len(), MAX_INSTANCES);
    }
}
