//! `--target PATTERN`: limiting a run to some jobs, as Terraform's `-target` does.
//!
//! A pattern is a glob over `cluster/role/environment/name`, part by part: `*` stands for any
//! run of characters and `?` for one, within a part (a `/` is never matched); a pattern with
//! fewer parts names a whole subtree (`devcluster/www-data` is every job of that role). A run
//! with targets plans, applies, destroys and reports only the jobs some target matches, and
//! prunes only among them, so nothing outside the targets is ever touched; its plan records
//! the targets and says it is partial.

use std::fmt;
use std::str::FromStr;

use crate::key::ClusterJobKey;

/// One `--target` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPattern {
    text: String,
    parts: Vec<String>,
}

/// A pattern that is not one to four non-empty `/`-separated parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0}: not a target (expected cluster[/role[/environment[/name]]], each part may use * and ?)"
)]
pub struct TargetError(pub String);

impl FromStr for TargetPattern {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<String> = text.split('/').map(str::to_string).collect();
        if parts.len() > 4 || parts.iter().any(String::is_empty) {
            return Err(TargetError(text.chars().take(80).collect()));
        }
        Ok(TargetPattern {
            text: text.to_string(),
            parts,
        })
    }
}

impl fmt::Display for TargetPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TargetPattern {
    /// Whether the pattern names `key` (its missing trailing parts match anything).
    pub fn matches(&self, key: &ClusterJobKey) -> bool {
        let values = [&key.cluster, &key.role, &key.environment, &key.name];
        self.parts
            .iter()
            .zip(values)
            .all(|(pattern, value)| glob(pattern.as_bytes(), value.as_bytes()))
    }

    /// Whether some job of `cluster` could match (so the cluster need be looked at at all).
    pub fn may_match_cluster(&self, cluster: &str) -> bool {
        glob(self.parts[0].as_bytes(), cluster.as_bytes())
    }

    /// Whether some job of `role` in `cluster` could match (so the role need be read).
    pub fn may_match_role(&self, cluster: &str, role: &str) -> bool {
        self.may_match_cluster(cluster)
            && self
                .parts
                .get(1)
                .is_none_or(|p| glob(p.as_bytes(), role.as_bytes()))
    }
}

/// The targets of a run; none means every job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets(pub Vec<TargetPattern>);

impl Targets {
    /// Whether the run is limited at all.
    pub fn is_partial(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `key` is in the run: no targets, or one of them matches.
    pub fn matches(&self, key: &ClusterJobKey) -> bool {
        self.0.is_empty() || self.0.iter().any(|t| t.matches(key))
    }

    /// Whether any job of `cluster` can be in the run.
    pub fn may_match_cluster(&self, cluster: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|t| t.may_match_cluster(cluster))
    }

    /// Whether any job of `role` in `cluster` can be in the run.
    pub fn may_match_role(&self, cluster: &str, role: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|t| t.may_match_role(cluster, role))
    }

    /// The patterns as given, for the plan document and messages.
    pub fn texts(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

/// `*` any run of bytes, `?` one character, anything else itself. Linear backtracking on the
/// last `*` only, so no pattern can take more than `pattern × text` steps.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(b'?') => {
                p += 1;
                t += utf8_len(text[t]);
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    let next = st + utf8_len(text[st]);
                    star = Some((sp, next));
                    p = sp + 1;
                    t = next;
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// The length of the UTF-8 character starting with `first` (so `?` is one character).
fn utf8_len(first: u8) -> usize {
    match first {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> ClusterJobKey {
        text.parse().expect("key")
    }

    #[test]
    fn parts_are_globs_and_missing_parts_match_everything() {
        let hello = key("devcluster/www-data/prod/hello");
        for (pattern, expected) in [
            ("devcluster", true),
            ("devcluster/www-data", true),
            ("devcluster/www-data/prod/hello", true),
            ("*/*/prod/*", true),
            ("dev*/www-?ata/*/h*o", true),
            ("devcluster/www-data/devel", false),
            ("west", false),
            ("devcluster/*/*/web*", false),
            ("*", true),
            ("devcluster/www", false),
        ] {
            let t: TargetPattern = pattern.parse().expect(pattern);
            assert_eq!(t.matches(&hello), expected, "{pattern}");
        }
        let t: TargetPattern = "*/*/prod".parse().expect("pattern");
        assert!(t.may_match_cluster("anything"));
        let t: TargetPattern = "east/*".parse().expect("pattern");
        assert!(!t.may_match_cluster("west"));
        let t: TargetPattern = "east/www-*/prod".parse().expect("pattern");
        assert!(t.may_match_role("east", "www-data"));
        assert!(!t.may_match_role("east", "vagrant"));
        assert!(!t.may_match_role("west", "www-data"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in ["", "a//b", "a/b/c/d/e", "/a"] {
            let err = bad.parse::<TargetPattern>().expect_err(bad);
            assert!(err.to_string().contains("not a target"), "{err}");
        }
    }

    #[test]
    fn no_targets_is_everything_and_several_are_a_union() {
        let all = Targets::default();
        assert!(!all.is_partial() && all.matches(&key("a/b/c/d")));
        let some = Targets(vec![
            "a/b".parse().expect("t"),
            "x/*/*/web".parse().expect("t"),
        ]);
        assert!(some.matches(&key("a/b/c/d")));
        assert!(some.matches(&key("x/y/z/web")));
        assert!(!some.matches(&key("x/y/z/db")));
        assert_eq!(some.texts(), ["a/b", "x/*/*/web"]);
    }

    #[test]
    fn globs_are_bounded_and_count_characters() {
        let long = "a".repeat(10_000);
        assert!(!glob("*a*a*a*a*a*b".as_bytes(), long.as_bytes()));
        assert!(glob("h?llo".as_bytes(), "héllo".as_bytes()));
        assert!(glob("**".as_bytes(), b""));
    }
}
