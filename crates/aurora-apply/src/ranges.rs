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

/// Every id covered by Aurora ranges. Inverted ranges cover nothing; a hostile reply cannot
/// make this allocate more than `limit` ids.
pub fn ids_of(ranges: &BTreeSet<Range>, limit: usize) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for r in ranges {
        let (Some(first), Some(last)) = (r.first, r.last) else {
            continue;
        };
        for id in first..=last {
            if out.len() >= limit {
                return out;
            }
            out.insert(id);
        }
    }
    out
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
    to_ranges(&ids_of(ranges, MAX_INSTANCES))
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
    fn hostile_ranges_are_bounded() {
        let huge = BTreeSet::from([Range {
            first: Some(0),
            last: Some(i32::MAX),
        }]);
        assert_eq!(ids_of(&huge, 10).len(), 10);
        let inverted = BTreeSet::from([Range {
            first: Some(5),
            last: Some(1),
        }]);
        assert!(ids_of(&inverted, 10).is_empty());
    }
}
