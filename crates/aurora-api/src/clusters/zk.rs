//! Leader discovery through ZooKeeper: the scheduler's serverset.
//!
//! The leading Aurora scheduler advertises itself as an EPHEMERAL_SEQUENTIAL node
//! `<scheduler_zk_path>/member_NNNNNNNNNN` holding a ServiceInstance JSON document (Gson):
//! `{"serviceEndpoint":{"host":"h","port":8081},"additionalEndpoints":{"http":{"host":"h","port":8081}},"status":"ALIVE"}`.
//! The same directory holds Curator's leader-election lock nodes (`_c_<uuid>-lock-NNNNNNNNNN`),
//! which are ignored. Normally exactly one member exists; when a leadership change briefly
//! leaves two, the lowest sequence number is the older registration and is taken, as Aurora's
//! client takes the first.
//!
//! The parsing half ([`ServiceInstance`], [`leader_member`]) is plain data and always compiled;
//! the network half ([`find_leader`]) needs the `zookeeper` cargo feature.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use serde::Deserialize;

use super::resolve::SchedulerEndpoint;

/// The prefix the scheduler gives its serverset node; every other child is ignored.
pub const MEMBER_PREFIX: &str = "member_";

/// One `host:port` of a ServiceInstance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HostPort {
    /// Host name or address as the scheduler advertises it (`-hostname` or its own name).
    pub host: String,
    /// The scheduler's HTTP(S) port.
    pub port: u16,
}

impl HostPort {
    /// `scheme://host:port`, bracketing an IPv6 address.
    fn url(&self, scheme: &str) -> String {
        if self.host.parse::<Ipv6Addr>().is_ok() {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The JSON document of a `member_` node (Twitter/Finagle serverset format, as Aurora writes
/// it). Unknown fields (such as `shard`) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInstance {
    /// The primary endpoint (Aurora: the HTTP port).
    #[serde(default)]
    pub service_endpoint: Option<HostPort>,
    /// Named endpoints; Aurora registers `http` (its `-serverset_endpoint_name`), TLS set-ups
    /// `https`.
    #[serde(default)]
    pub additional_endpoints: BTreeMap<String, HostPort>,
    /// `ALIVE` for a running scheduler. Reported, not checked: Aurora's client ignores it too.
    #[serde(default)]
    pub status: Option<String>,
}

impl ServiceInstance {
    /// Parses a member node's bytes (a JSON object; serde would otherwise also accept a list).
    pub fn from_json(data: &[u8]) -> Result<Self, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_slice(data)?;
        if !value.is_object() {
            return Err(serde::de::Error::custom("expected a JSON object"));
        }
        serde_json::from_value(value)
    }

    /// The scheduler's base URL: `additionalEndpoints.https` → `https://host:port`, else
    /// `additionalEndpoints.http` → `http://host:port` (Aurora's client), else `serviceEndpoint`
    /// → `http://host:port` (a fallback Aurora lacks, for serversets registered without named
    /// endpoints).
    pub fn scheduler_url(&self) -> Option<String> {
        if let Some(e) = self.additional_endpoints.get("https") {
            return Some(e.url("https"));
        }
        if let Some(e) = self.additional_endpoints.get("http") {
            return Some(e.url("http"));
        }
        self.service_endpoint.as_ref().map(|e| e.url("http"))
    }
}

/// The sequence number of a `member_` child, if it is one.
fn member_sequence(name: &str) -> Option<Option<u64>> {
    let suffix = name.strip_prefix(MEMBER_PREFIX)?;
    Some(suffix.parse::<u64>().ok())
}

/// Picks the leader among a serverset's children: only `member_*` names count, the lowest
/// sequence number wins (names whose suffix is not a number sort after all numbered ones).
/// `None` when there is no member.
pub fn leader_member<'a, I>(children: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    children
        .into_iter()
        .filter_map(|name| member_sequence(name).map(|seq| (seq.is_none(), seq, name)))
        .min()
        .map(|(_, _, name)| name)
}

/// The leader found in ZooKeeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    /// The member node's full path (`/aurora/scheduler/member_0000000003`).
    pub member_path: String,
    /// Its parsed document.
    pub instance: ServiceInstance,
    /// The endpoint to talk to (always [`SchedulerEndpoint::Http`]).
    pub endpoint: SchedulerEndpoint,
}

#[cfg(feature = "zookeeper")]
pub use client::find_leader;

#[cfg(feature = "zookeeper")]
mod client {
    use std::time::Duration;

    use zookeeper_client as zkc;

    use super::{Leader, ServiceInstance, leader_member};
    use crate::clusters::error::ZkError;
    use crate::clusters::resolve::SchedulerEndpoint;

    /// The ZooKeeper server clamps session timeouts to at least 2 ticks (4 s by default); asking
    /// for less only produces a confusing negotiation. The caller's timeout still bounds the
    /// whole lookup.
    const MIN_SESSION_TIMEOUT: Duration = Duration::from_secs(4);

    /// How often the leader may vanish between listing and reading before giving up (a leader
    /// change in progress; each retry re-lists).
    const MAX_ATTEMPTS: usize = 5;

    /// Reads the current leader from the serverset at `path` on `servers`
    /// (`host:port,host:port`), all within `timeout`.
    ///
    /// Blocking: runs the async ZooKeeper client to completion on the calling thread (the
    /// client's session task runs on the `async-global-executor` pool). The session is closed
    /// before returning.
    pub fn find_leader(servers: &str, path: &str, timeout: Duration) -> Result<Leader, ZkError> {
        let lookup = lookup(servers, path, timeout);
        let deadline = async {
            async_io::Timer::after(timeout).await;
            Err(ZkError::Timeout {
                servers: servers.to_owned(),
                path: path.to_owned(),
                timeout,
            })
        };
        async_io::block_on(futures_lite::future::or(lookup, deadline))
    }

    async fn lookup(servers: &str, path: &str, timeout: Duration) -> Result<Leader, ZkError> {
        tracing::debug!(
            servers,
            path,
            "looking up the leading scheduler in ZooKeeper"
        );
        let client = zkc::Client::connector()
            .with_session_timeout(timeout.max(MIN_SESSION_TIMEOUT))
            .with_fail_eagerly()
            .connect(servers)
            .await
            .map_err(|e| match e {
                zkc::Error::Timeout => ZkError::Timeout {
                    servers: servers.to_owned(),
                    path: path.to_owned(),
                    timeout,
                },
                other => ZkError::Connect {
                    servers: servers.to_owned(),
                    message: other.to_string(),
                },
            })?;
        let request_error = |node: &str, e: zkc::Error| ZkError::Request {
            servers: servers.to_owned(),
            path: node.to_owned(),
            message: e.to_string(),
        };
        for _ in 0..MAX_ATTEMPTS {
            let children = match client.list_children(path).await {
                Ok(children) => children,
                Err(zkc::Error::NoNode) => {
                    return Err(ZkError::PathNotFound {
                        servers: servers.to_owned(),
                        path: path.to_owned(),
                    });
                }
                Err(e) => return Err(request_error(path, e)),
            };
            let Some(member) = leader_member(children.iter().map(String::as_str)) else {
                return Err(ZkError::NoLeader {
                    servers: servers.to_owned(),
                    path: path.to_owned(),
                });
            };
            let member_path = if path == "/" {
                format!("/{member}")
            } else {
                format!("{path}/{member}")
            };
            let data = match client.get_data(&member_path).await {
                Ok((data, _stat)) => data,
                // The leader went away between list and read: look again.
                Err(zkc::Error::NoNode) => continue,
                Err(e) => return Err(request_error(&member_path, e)),
            };
            let instance =
                ServiceInstance::from_json(&data).map_err(|source| ZkError::BadMemberData {
                    path: member_path.clone(),
                    source,
                })?;
            let Some(url) = instance.scheduler_url() else {
                return Err(ZkError::NoEndpoint { path: member_path });
            };
            tracing::debug!(member = %member_path, url, "found the leading scheduler");
            return Ok(Leader {
                member_path,
                instance,
                endpoint: SchedulerEndpoint::Http(url),
            });
        }
        Err(ZkError::NoLeader {
            servers: servers.to_owned(),
            path: path.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_lowest_member_and_ignores_lock_nodes() {
        let children = [
            "_c_2b1a-lock-0000000000",
            "member_0000000012",
            "member_0000000003",
            "member_abc",
            "leader",
        ];
        assert_eq!(leader_member(children), Some("member_0000000003"));
        assert_eq!(
            leader_member(["member_0000000010", "member_0000000009"]),
            Some("member_0000000009")
        );
        // 64-bit sequence numbers print with 19 digits.
        assert_eq!(
            leader_member(["member_2147483648000000000", "member_0000000001"]),
            Some("member_0000000001")
        );
        assert_eq!(leader_member(["member_x"]), Some("member_x"));
        assert_eq!(leader_member(["_c_x-lock-0000000001", "other"]), None);
        assert_eq!(leader_member(Vec::<&str>::new()), None);
    }

    #[test]
    fn url_preference() {
        let parse = |s: &str| ServiceInstance::from_json(s.as_bytes()).expect("valid");
        let aurora = parse(
            r#"{"serviceEndpoint":{"host":"aurora.local","port":8081},"additionalEndpoints":{"http":{"host":"aurora.local","port":8081}},"status":"ALIVE"}"#,
        );
        assert_eq!(
            aurora.scheduler_url().as_deref(),
            Some("http://aurora.local:8081")
        );
        assert_eq!(aurora.status.as_deref(), Some("ALIVE"));

        let tls = parse(
            r#"{"serviceEndpoint":{"host":"a","port":1},"additionalEndpoints":{"http":{"host":"a","port":2},"https":{"host":"b","port":3}}}"#,
        );
        assert_eq!(tls.scheduler_url().as_deref(), Some("https://b:3"));

        let bare = parse(r#"{"serviceEndpoint":{"host":"::1","port":8081},"shard":0}"#);
        assert_eq!(bare.scheduler_url().as_deref(), Some("http://[::1]:8081"));

        let none = parse(r#"{"additionalEndpoints":{"admin":{"host":"a","port":1}}}"#);
        assert_eq!(none.scheduler_url(), None);
    }

    #[test]
    fn bad_member_documents_are_errors_not_panics() {
        for bad in [
            "",
            "not json",
            "[]",
            r#"{"serviceEndpoint":{"host":"a","port":70000}}"#,
            r#"{"serviceEndpoint":{"host":1,"port":1}}"#,
        ] {
            assert!(ServiceInstance::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
