//! Instance ids as the API's `set<Range>` and back.
//!
//! Aurora describes a set of instances as closed intervals `Range {first, last}` (an update's
//! `initialState`/`desiredState`, `updateOnlyTheseInstances`, a config group's instances).
//! [`compress`](crate::ranges::compress) writes ids as the fewest such ranges;
//! [`expand`](crate::ranges::expand) reads ranges back as ids, with a bound on how many,
//! because a range comes from the other side of the wire and `0..=i32::MAX` must not exhaust
//! memory.

use std::collections::BTreeSet;

use crate::types::Range;

/// Compresses instance ids into the fewest closed ranges: each run of consecutive ids is one
/// `Range {first, last}` (duplicates and order do not matter).
pub fn compress(ids: impl IntoIterator<Item = i32>) -> BTreeSet<Range> {
    let ids: BTreeSet<i32> = ids.into_iter().collect();
    let mut out = BTreeSet::new();
    let mut run: Option<(i32, i32)> = None;
    for id in ids {
        run = match run {
            Some((first, last)) if last.checked_add(1) == Some(id) => Some((first, id)),
            Some((first, last)) => {
                out.insert(range(first, last));
                Some((id, id))
            }
            None => Some((id, id)),
        };
    }
    if let Some((first, last)) = run {
        out.insert(range(first, last));
    }
    out
}

/// Every id the ranges cover, at most `limit` of them (the first ones met, range by range),
/// so a hostile range such as `0..=i32::MAX` costs no more than `limit` ids.
///
/// An inverted range (`first > last`) covers nothing. An unset `first` or `last` reads as 0,
/// as the scheduler's Java bindings read an unset `i32`.
pub fn expand<'a>(ranges: impl IntoIterator<Item = &'a Range>, limit: usize) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for r in ranges {
        let (first, last) = (r.first.unwrap_or(0), r.last.unwrap_or(0));
        for id in first..=last {
            if out.len() >= limit {
                return out;
            }
            out.insert(id);
        }
    }
    out
}

fn range(first: i32, last: i32) -> Range {
    Range {
        first: Some(first),
        last: Some(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(ranges: &BTreeSet<Range>) -> Vec<(i32, i32)> {
        ranges
            .iter()
            .map(|r| (r.first.unwrap_or(-1), r.last.unwrap_or(-1)))
            .collect()
    }

    #[test]
    fn compresses_runs_into_the_fewest_ranges() {
        assert_eq!(
            pairs(&compress([8, 0, 1, 2, 5, 7, 1])),
            [(0, 2), (5, 5), (7, 8)]
        );
        assert!(compress([]).is_empty());
        // No overflow at the edges of i32.
        assert_eq!(
            pairs(&compress([i32::MAX - 1, i32::MAX, i32::MIN])),
            [(i32::MIN, i32::MIN), (i32::MAX - 1, i32::MAX)]
        );
    }

    #[test]
    fn expand_inverts_compress() {
        let ids: BTreeSet<i32> = [0, 1, 2, 5, 7, 8].into();
        assert_eq!(expand(&compress(ids.clone()), usize::MAX), ids);
    }

    #[test]
    fn hostile_ranges_are_bounded() {
        let huge = [range(0, i32::MAX)];
        assert_eq!(expand(&huge, 10), (0..10).collect());
        let many = [range(0, 5), range(3, i32::MAX), range(-100, -90)];
        assert_eq!(expand(&many, 8).len(), 8);
        assert!(expand(&[range(5, 1)], 10).is_empty());
        assert!(expand(&[range(0, 3)], 0).is_empty());
    }

    #[test]
    fn unset_bounds_read_as_zero() {
        let open = Range {
            first: None,
            last: Some(2),
        };
        assert_eq!(expand([&open], 10), [0, 1, 2].into());
        assert_eq!(expand([&Range::default()], 10), [0].into());
    }
}
