//! `cluster/role/environment/name`: how people, spec files, plans and Aurora's own client name
//! one job (the spec loader's job key and the engine's are this one type).
//!
//! Aurora's Thrift `JobKey` has no cluster (a scheduler serves one cluster), but everything
//! this tool reads or writes spans clusters, so the engine carries [`ClusterJobKey`] and turns
//! it into the Thrift key only at the client. It is parsed in exactly one place
//! ([`ClusterJobKey::from_str`]), whether it comes from the command line or a saved plan, so a
//! key that is not four non-empty parts is refused the same way everywhere.

use std::fmt;
use std::str::FromStr;

use crate::types::JobKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One job in one cluster: `cluster/role/environment/name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterJobKey {
    /// The cluster's name in clusters.json.
    pub cluster: String,
    /// Aurora role (the job's owner on the agents).
    pub role: String,
    /// Environment (`prod`, `devel`, `test`, `staging<N>`).
    pub environment: String,
    /// Job name.
    pub name: String,
}

/// Text that is not `cluster/role/environment/name` with four non-empty parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text}: not a job key (expected cluster/role/environment/name)")]
pub struct JobKeyError {
    /// What was given (shortened when long, so a message stays readable).
    pub text: String,
}

impl ClusterJobKey {
    /// The key of `job` in `cluster`; unset parts of the Thrift key become empty strings (a
    /// live job always has all three, and a desired one is validated before it gets here).
    pub fn new(cluster: &str, job: &JobKey) -> Self {
        ClusterJobKey {
            cluster: cluster.to_string(),
            role: job.role.clone().unwrap_or_default(),
            environment: job.environment.clone().unwrap_or_default(),
            name: job.name.clone().unwrap_or_default(),
        }
    }

    /// The Thrift key the scheduler knows this job by (no cluster).
    pub fn thrift(&self) -> JobKey {
        JobKey {
            role: Some(self.role.clone()),
            environment: Some(self.environment.clone()),
            name: Some(self.name.clone()),
        }
    }

    /// `cluster/role`: the unit the scheduler lists jobs and the apply lock is taken by.
    pub fn cluster_role(&self) -> String {
        format!("{}/{}", self.cluster, self.role)
    }
}

/// Honours width and alignment (`{:<45}`), as a string would: views pad keys into columns.
impl fmt::Display for ClusterJobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (c, r, e, n) = (&self.cluster, &self.role, &self.environment, &self.name);
        if f.width().is_none() && f.precision().is_none() {
            write!(f, "{c}/{r}/{e}/{n}")
        } else {
            f.pad(&format!("{c}/{r}/{e}/{n}"))
        }
    }
}

impl FromStr for ClusterJobKey {
    type Err = JobKeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refuse = || JobKeyError {
            text: shorten(text),
        };
        let mut parts = text.split('/');
        let mut next = || {
            parts
                .next()
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .ok_or_else(refuse)
        };
        let key = ClusterJobKey {
            cluster: next()?,
            role: next()?,
            environment: next()?,
            name: next()?,
        };
        if parts.next().is_some() {
            return Err(refuse());
        }
        Ok(key)
    }
}

/// `keys` as text, separated by `, ` (for messages that list jobs).
pub fn list(keys: &[ClusterJobKey]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// At most 80 characters of `text`, so a hostile key does not fill the screen.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A key equals its text (`key == "c/r/e/n"`), as plans and outputs spell it.
impl PartialEq<&str> for ClusterJobKey {
    fn eq(&self, text: &&str) -> bool {
        text.parse::<ClusterJobKey>().is_ok_and(|key| key == *self)
    }
}

impl Serialize for ClusterJobKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClusterJobKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_same_text() {
        let key: ClusterJobKey = "devcluster/www-data/prod/hello".parse().expect("valid");
        assert_eq!(key.cluster, "devcluster");
        assert_eq!(key.thrift().name.as_deref(), Some("hello"));
        assert_eq!(key.to_string(), "devcluster/www-data/prod/hello");
        assert_eq!(key.cluster_role(), "devcluster/www-data");
        assert_eq!(format!("{key:<32}|"), "devcluster/www-data/prod/hello  |");
        assert_eq!(format!("{key:>31}"), " devcluster/www-data/prod/hello");
        assert_eq!(ClusterJobKey::new("devcluster", &key.thrift()), key);
    }

    #[test]
    fn anything_but_four_non_empty_parts_is_refused() {
        for bad in [
            "",
            "www-data/prod/hello",
            "a//b/c",
            "a/b/c/",
            "/a/b/c",
            "a/b/c/d/e",
            "a/b/c/d/",
        ] {
            let err = bad.parse::<ClusterJobKey>().expect_err(bad);
            assert!(err.to_string().contains("cluster/role/environment/name"));
        }
        let long = "x".repeat(10_000);
        let err = long.parse::<ClusterJobKey>().expect_err("long");
        assert!(err.to_string().chars().count() < 200, "{err}");
    }

    #[test]
    fn serde_is_the_text_and_refuses_bad_keys() {
        let key: ClusterJobKey = "c/r/e/n".parse().expect("valid");
        let json = serde_json::to_string(&key).expect("serializes");
        assert_eq!(json, "\"c/r/e/n\"");
        assert_eq!(
            serde_json::from_str::<ClusterJobKey>(&json).expect("reads"),
            key
        );
        let err = serde_json::from_str::<ClusterJobKey>("\"c/r/e\"").expect_err("three parts");
        assert!(err.to_string().starts_with("c/r/e: not a job key"), "{err}");
    }
}
