//! From a [`Cluster`] to the scheduler endpoint the client talks to.
//!
//! In: one cluster. Out: a [`SchedulerEndpoint`]. The order is Aurora's
//! (`SchedulerClient.get` in `apache/aurora/client/api/scheduler_client.py`): `zk` set →
//! ZooKeeper discovery (`scheduler_zk_path` required); else `scheduler_uri` → direct; else an
//! error. [`Cluster::discovery`] makes that decision without any I/O so callers can show it;
//! [`Cluster::resolve`] also performs the ZooKeeper lookup.

use std::fmt;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::config::Cluster;
use super::error::ResolveError;
use crate::endpoint::EndpointResolver;

/// The URI scheme that selects the embedded scheduler emulator instead of a real scheduler.
pub const SIM_SCHEME: &str = "sim://";

/// Where the scheduler API is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchedulerEndpoint {
    /// A real (or emulated-over-HTTP) scheduler: the base URL as `http(s)://host:port[/path]`,
    /// without `/api`. The HTTP client appends `api` the way Aurora's client does
    /// (`urljoin(base, "api")`).
    Http(String),
    /// `sim://PATH`: the embedded emulator, persisting its state at `PATH` (the text after
    /// `sim://`, used verbatim: `sim:///tmp/s.json` is `/tmp/s.json`, `sim://state.json` is
    /// relative). An empty path is passed through as is; what it means is the emulator's
    /// decision.
    Sim(PathBuf),
}

impl SchedulerEndpoint {
    /// Interprets a `scheduler_uri` value: `sim://…` → [`SchedulerEndpoint::Sim`],
    /// `http://…`/`https://…` → [`SchedulerEndpoint::Http`] (unchanged), anything else
    /// `None`. Scheme matching ignores case, as URLs do.
    pub fn from_uri(uri: &str) -> Option<SchedulerEndpoint> {
        if let Some(rest) = strip_prefix_ignore_case(uri, SIM_SCHEME) {
            return Some(SchedulerEndpoint::Sim(PathBuf::from(rest)));
        }
        if strip_prefix_ignore_case(uri, "http://").is_some_and(|h| !h.is_empty())
            || strip_prefix_ignore_case(uri, "https://").is_some_and(|h| !h.is_empty())
        {
            return Some(SchedulerEndpoint::Http(uri.to_owned()));
        }
        None
    }

    /// The Thrift endpoint URL, `urljoin(base, "api")` exactly as Aurora's client computes it:
    /// `http://h:8081` and `http://h:8081/` → `http://h:8081/api`, `http://h/aurora/` →
    /// `http://h/aurora/api`, but `http://h/aurora` → `http://h/api` (the last segment is
    /// replaced). Query and fragment are dropped. `None` for the emulator.
    pub fn api_url(&self) -> Option<String> {
        let SchedulerEndpoint::Http(base) = self else {
            return None;
        };
        let base = base.split(['?', '#']).next().unwrap_or(base);
        let authority_start = base.find("://").map_or(0, |i| i + 3);
        Some(match base[authority_start..].find('/') {
            None => format!("{base}/api"),
            Some(path_start) => {
                let path_start = authority_start + path_start;
                let last_slash = base[path_start..]
                    .rfind('/')
                    .map_or(path_start, |i| path_start + i);
                format!("{}/api", &base[..last_slash])
            }
        })
    }

    /// The base URL of an HTTP endpoint; `None` for the emulator.
    pub fn http_url(&self) -> Option<&str> {
        match self {
            SchedulerEndpoint::Http(url) => Some(url),
            SchedulerEndpoint::Sim(_) => None,
        }
    }
}

impl fmt::Display for SchedulerEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchedulerEndpoint::Http(url) => f.write_str(url),
            SchedulerEndpoint::Sim(path) => write!(f, "{SIM_SCHEME}{}", path.display()),
        }
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// How a cluster's scheduler will be found, decided from the file alone (no I/O).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Discovery {
    /// Read the leader from ZooKeeper.
    ZooKeeper {
        /// Connect string: every `zk` host with `zk_port` appended, comma-separated.
        servers: String,
        /// The serverset path (`scheduler_zk_path`, without a trailing `/`).
        path: String,
    },
    /// Use this endpoint directly (`scheduler_uri`).
    Direct(SchedulerEndpoint),
}

/// Settings of [`Cluster::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolveOptions {
    /// Upper bound for the whole ZooKeeper lookup (connect, list, read). Aurora's client uses
    /// 10 s (`SERVERSET_TIMEOUT`).
    pub timeout: Duration,
}

impl ResolveOptions {
    /// Aurora's 10 s ZooKeeper timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Options with the given ZooKeeper timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        ResolveOptions { timeout }
    }
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            timeout: ResolveOptions::DEFAULT_TIMEOUT,
        }
    }
}

impl Cluster {
    /// Decides how the scheduler is found, validating the keys involved, without any I/O.
    ///
    /// An empty `zk` or `scheduler_uri` counts as absent (Aurora tests them for truthiness).
    pub fn discovery(&self) -> Result<Discovery, ResolveError> {
        let cluster = || self.name().to_owned();
        if let Some(zk) = self.zk().filter(|z| !z.is_empty()) {
            let path = self
                .scheduler_zk_path()
                .ok_or_else(|| ResolveError::MissingSchedulerZkPath { cluster: cluster() })?;
            let path = normalize_zk_path(path).map_err(|reason| ResolveError::InvalidZkPath {
                cluster: cluster(),
                path: path.to_owned(),
                reason,
            })?;
            let servers = connect_string(zk, self.zk_port()).map_err(|(host, reason)| {
                ResolveError::InvalidZkHost {
                    cluster: cluster(),
                    host,
                    reason,
                }
            })?;
            return Ok(Discovery::ZooKeeper { servers, path });
        }
        if let Some(uri) = self.scheduler_uri().filter(|u| !u.is_empty()) {
            return SchedulerEndpoint::from_uri(uri)
                .map(Discovery::Direct)
                .ok_or_else(|| ResolveError::UnsupportedScheme {
                    cluster: cluster(),
                    uri: uri.to_owned(),
                });
        }
        Err(ResolveError::NoSchedulerAddress { cluster: cluster() })
    }

    /// Finds the scheduler: [`Cluster::discovery`], then, for ZooKeeper, a blocking lookup of
    /// the current leader bounded by `options.timeout`.
    ///
    /// Blocks the calling thread; do not call it from inside an async runtime's worker.
    pub fn resolve(&self, options: &ResolveOptions) -> Result<SchedulerEndpoint, ResolveError> {
        match self.discovery()? {
            Discovery::Direct(endpoint) => Ok(endpoint),
            Discovery::ZooKeeper { servers, path } => self.resolve_zk(&servers, &path, options),
        }
    }

    fn resolve_zk(
        &self,
        servers: &str,
        path: &str,
        options: &ResolveOptions,
    ) -> Result<SchedulerEndpoint, ResolveError> {
        lookup_leader(self.name(), servers, path, options.timeout)
    }

    /// What a client asks for the scheduler's address again after a transport failure or an
    /// HTTP 503 ([`ClientConfig::resolver`](crate::ClientConfig::resolver)): a
    /// [`LeaderResolver`] for ZooKeeper discovery, `None` for a `scheduler_uri`, which never
    /// changes. No I/O; the same key checks as [`Cluster::discovery`].
    pub fn endpoint_resolver(
        &self,
        options: &ResolveOptions,
    ) -> Result<Option<Arc<dyn EndpointResolver>>, ResolveError> {
        Ok(match self.discovery()? {
            Discovery::Direct(_) => None,
            Discovery::ZooKeeper { servers, path } => Some(Arc::new(LeaderResolver {
                cluster: self.name().to_owned(),
                servers,
                path,
                timeout: options.timeout,
            })),
        })
    }
}

/// Reads the cluster's leader from its ZooKeeper serverset each time it is asked, as
/// Aurora's client does after a transport error: a new session per lookup, closed at once
/// (a lookup only follows a failure, so a session kept open with a watch on the serverset
/// would idle nearly all the time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderResolver {
    cluster: String,
    servers: String,
    path: String,
    timeout: Duration,
}

impl LeaderResolver {
    /// The ZooKeeper connect string (`host:port,…`).
    pub fn servers(&self) -> &str {
        &self.servers
    }

    /// The serverset path.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl EndpointResolver for LeaderResolver {
    /// The leader's base URL, within the smaller of `timeout` and the lookup's own timeout.
    fn resolve(&self, timeout: Duration) -> Result<String, ResolveError> {
        let endpoint = lookup_leader(
            &self.cluster,
            &self.servers,
            &self.path,
            self.timeout.min(timeout),
        )?;
        Ok(endpoint.to_string())
    }
}

#[cfg(feature = "zookeeper")]
fn lookup_leader(
    cluster: &str,
    servers: &str,
    path: &str,
    timeout: Duration,
) -> Result<SchedulerEndpoint, ResolveError> {
    super::zk::find_leader(servers, path, timeout)
        .map(|leader| leader.endpoint)
        .map_err(|source| ResolveError::ZooKeeper {
            cluster: cluster.to_owned(),
            source,
        })
}

#[cfg(not(feature = "zookeeper"))]
fn lookup_leader(
    cluster: &str,
    _servers: &str,
    _path: &str,
    _timeout: Duration,
) -> Result<SchedulerEndpoint, ResolveError> {
    Err(ResolveError::ZooKeeperDisabled {
        cluster: cluster.to_owned(),
    })
}

/// `a,b` + 2181 → `a:2181,b:2181`, as Aurora builds kazoo's connect string. Hosts are trimmed
/// (kazoo does too); a bare IPv6 address is bracketed. A host that already carries a port or a
/// chroot is rejected rather than producing `host:1234:2181`.
pub(crate) fn connect_string(zk: &str, port: u16) -> Result<String, (String, &'static str)> {
    let mut out = Vec::new();
    for raw in zk.split(',') {
        let host = raw.trim();
        if host.is_empty() {
            return Err((raw.to_owned(), "empty host name"));
        }
        if host.contains('/') {
            return Err((raw.to_owned(), "a chroot is not supported in `zk`"));
        }
        if host.contains(char::is_whitespace) || host.contains('@') {
            return Err((raw.to_owned(), "not a host name"));
        }
        let bracketed = host.starts_with('[') && host.ends_with(']');
        if bracketed {
            out.push(format!("{host}:{port}"));
        } else if host.parse::<Ipv6Addr>().is_ok() {
            out.push(format!("[{host}]:{port}"));
        } else if host.contains(':') || host.contains('[') || host.contains(']') {
            return Err((
                raw.to_owned(),
                "hosts in `zk` take no port; set `zk_port` instead",
            ));
        } else {
            out.push(format!("{host}:{port}"));
        }
    }
    Ok(out.join(","))
}

/// Checks a serverset path and drops a trailing `/` (`/aurora/scheduler/` →
/// `/aurora/scheduler`).
pub(crate) fn normalize_zk_path(path: &str) -> Result<String, &'static str> {
    if !path.starts_with('/') {
        return Err("must start with /");
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    if trimmed.contains("//") {
        return Err("empty path component");
    }
    if trimmed.contains('\0') {
        return Err("contains a NUL character");
    }
    if trimmed
        .split('/')
        .any(|component| component == "." || component == "..")
    {
        return Err("`.` and `..` are not allowed");
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_string_appends_port_to_every_host() {
        assert_eq!(connect_string("a", 2181).as_deref(), Ok("a:2181"));
        assert_eq!(
            connect_string("a, b ,c", 2182).as_deref(),
            Ok("a:2182,b:2182,c:2182")
        );
        assert_eq!(connect_string("::1", 1).as_deref(), Ok("[::1]:1"));
        assert_eq!(connect_string("[::1]", 1).as_deref(), Ok("[::1]:1"));
        assert!(connect_string("a:2181", 2181).is_err());
        assert!(connect_string("a,,b", 2181).is_err());
        assert!(connect_string("a/chroot", 2181).is_err());
        assert!(connect_string("", 2181).is_err());
    }

    #[test]
    fn zk_path_normalisation() {
        assert_eq!(
            normalize_zk_path("/aurora/scheduler/").as_deref(),
            Ok("/aurora/scheduler")
        );
        assert_eq!(normalize_zk_path("/").as_deref(), Ok("/"));
        assert!(normalize_zk_path("aurora").is_err());
        assert!(normalize_zk_path("/a//b").is_err());
        assert!(normalize_zk_path("/a/../b").is_err());
    }

    #[test]
    fn uri_schemes() {
        assert_eq!(
            SchedulerEndpoint::from_uri("http://h:8081"),
            Some(SchedulerEndpoint::Http("http://h:8081".into()))
        );
        assert_eq!(
            SchedulerEndpoint::from_uri("HTTPS://h/x/"),
            Some(SchedulerEndpoint::Http("HTTPS://h/x/".into()))
        );
        assert_eq!(
            SchedulerEndpoint::from_uri("sim:///tmp/a.json"),
            Some(SchedulerEndpoint::Sim("/tmp/a.json".into()))
        );
        assert_eq!(
            SchedulerEndpoint::from_uri("sim://"),
            Some(SchedulerEndpoint::Sim(PathBuf::new()))
        );
        assert_eq!(SchedulerEndpoint::from_uri("localhost:8081"), None);
        assert_eq!(SchedulerEndpoint::from_uri("http://"), None);
        assert_eq!(SchedulerEndpoint::from_uri("ftp://h"), None);
        assert_eq!(SchedulerEndpoint::from_uri("é"), None);
    }

    #[test]
    fn api_url_follows_urljoin() {
        let api = |base: &str| SchedulerEndpoint::Http(base.into()).api_url();
        assert_eq!(api("http://h:8081").as_deref(), Some("http://h:8081/api"));
        assert_eq!(api("http://h:8081/").as_deref(), Some("http://h:8081/api"));
        assert_eq!(
            api("https://h/aurora/").as_deref(),
            Some("https://h/aurora/api")
        );
        assert_eq!(api("https://h/aurora").as_deref(), Some("https://h/api"));
        assert_eq!(
            api("http://h:1/a/b?x=1#f").as_deref(),
            Some("http://h:1/a/api")
        );
        assert_eq!(api("http://h?x").as_deref(), Some("http://h/api"));
        assert_eq!(SchedulerEndpoint::Sim("x".into()).api_url(), None);
    }

    #[test]
    fn display_round_trips() {
        for uri in ["http://h:1", "sim:///x/y", "sim://rel"] {
            let e = SchedulerEndpoint::from_uri(uri).expect("valid");
            assert_eq!(e.to_string(), uri);
        }
    }
}
