//! Typed errors of cluster configuration and scheduler discovery.
//!
//! Loading (`ConfigError`) and resolving (`ResolveError`, `ZkError`) fail for different reasons
//! and at different times — a file is read once, a leader is looked up on every connect — so
//! they are separate enums. Every variant carries what a user needs to fix the problem: the file
//! path (and line:column for JSON syntax), the cluster name, the ZooKeeper servers and path.

use std::path::PathBuf;
use std::time::Duration;

/// Why `clusters.json` could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file exists (or was named explicitly) but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The file is not valid JSON.
    #[error("{}:{line}:{column}: invalid JSON: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser said, without its own position suffix.
        message: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },

    /// The document is JSON but neither a list nor an object of clusters (Aurora's
    /// "Unknown layout").
    #[error(
        "{}: expected a list of clusters or an object whose values are clusters, found {found}",
        path.display()
    )]
    Layout {
        /// The file.
        path: PathBuf,
        /// The JSON type found at the top level.
        found: &'static str,
    },

    /// An entry of the list (or a value of the object) is not a JSON object (Aurora: "Clusters
    /// must be maps of key/value pairs").
    #[error("{}: cluster entry {entry} must be an object of key/value pairs, found {found}", path.display())]
    NotAnObject {
        /// The file.
        path: PathBuf,
        /// `[3]` for a list index, `"key"` for an object key.
        entry: String,
        /// The JSON type found.
        found: &'static str,
    },

    /// A key this crate interprets has a value of the wrong type.
    #[error("{}: cluster {cluster}: `{key}` must be {expected}, found {found}", path.display())]
    InvalidField {
        /// The file.
        path: PathBuf,
        /// The cluster's name (or its entry position when the name itself is wrong).
        cluster: String,
        /// The offending key.
        key: &'static str,
        /// What the key must hold.
        expected: &'static str,
        /// What it holds (JSON type, or the value for an out-of-range port).
        found: String,
    },

    /// A cluster name was asked for that no loaded file defines.
    #[error("unknown cluster {name:?}; known clusters: {}", if known.is_empty() { "(none)".to_owned() } else { known.join(", ") })]
    UnknownCluster {
        /// The name asked for.
        name: String,
        /// Every loaded cluster name, sorted.
        known: Vec<String>,
    },
}

/// Why a cluster could not be resolved to a scheduler endpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// `zk` is set but `scheduler_zk_path` is not (Aurora: "Cluster has no defined scheduler
    /// path, must specify scheduler_zk_path in your cluster config!").
    #[error(
        "cluster {cluster}: `zk` is set but `scheduler_zk_path` is missing; set it to the scheduler's -serverset_path (e.g. /aurora/scheduler)"
    )]
    MissingSchedulerZkPath {
        /// The cluster.
        cluster: String,
    },

    /// Neither `zk` nor `scheduler_uri` is set.
    #[error(
        "cluster {cluster}: no scheduler address; set `zk` and `scheduler_zk_path`, or `scheduler_uri`"
    )]
    NoSchedulerAddress {
        /// The cluster.
        cluster: String,
    },

    /// `scheduler_uri` is neither `http(s)://…` nor `sim://…`.
    #[error("cluster {cluster}: scheduler_uri {uri:?} must start with http://, https:// or sim://")]
    UnsupportedScheme {
        /// The cluster.
        cluster: String,
        /// The URI as written.
        uri: String,
    },

    /// A host in `zk` is empty or not a bare host name (ports belong in `zk_port`).
    #[error("cluster {cluster}: invalid ZooKeeper host {host:?} in `zk`: {reason}")]
    InvalidZkHost {
        /// The cluster.
        cluster: String,
        /// The host as written.
        host: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// `scheduler_zk_path` is not an absolute ZooKeeper path.
    #[error("cluster {cluster}: invalid scheduler_zk_path {path:?}: {reason}")]
    InvalidZkPath {
        /// The cluster.
        cluster: String,
        /// The path as written.
        path: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The cluster needs ZooKeeper but this build has the `zookeeper` feature turned off.
    #[error(
        "cluster {cluster} uses ZooKeeper discovery (`zk`), but this build has no ZooKeeper support (cargo feature `zookeeper`)"
    )]
    ZooKeeperDisabled {
        /// The cluster.
        cluster: String,
    },

    /// ZooKeeper discovery failed.
    #[error("cluster {cluster}: {source}")]
    ZooKeeper {
        /// The cluster.
        cluster: String,
        /// What went wrong.
        #[source]
        source: ZkError,
    },
}

/// Why the leading scheduler could not be read from ZooKeeper.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZkError {
    /// No session could be established with any of the servers.
    #[error("cannot connect to ZooKeeper at {servers}: {message}")]
    Connect {
        /// The connect string used (`host:port,host:port`).
        servers: String,
        /// The client's error.
        message: String,
    },

    /// The whole lookup took longer than the configured timeout.
    #[error("ZooKeeper at {servers} did not answer for {path} within {}s", timeout.as_secs_f64())]
    Timeout {
        /// The connect string used.
        servers: String,
        /// The serverset path.
        path: String,
        /// The timeout that expired.
        timeout: Duration,
    },

    /// The serverset node itself does not exist (usually a wrong `scheduler_zk_path`).
    #[error(
        "no leading scheduler registered at {servers}{path}: the node does not exist (check scheduler_zk_path)"
    )]
    PathNotFound {
        /// The connect string used.
        servers: String,
        /// The serverset path.
        path: String,
    },

    /// The serverset node exists but has no `member_` child: no scheduler is leading.
    #[error("no leading scheduler registered at {servers}{path} (no member_ node)")]
    NoLeader {
        /// The connect string used.
        servers: String,
        /// The serverset path.
        path: String,
    },

    /// A ZooKeeper request failed (authorisation, session loss, …).
    #[error("ZooKeeper request for {path} at {servers} failed: {message}")]
    Request {
        /// The connect string used.
        servers: String,
        /// The node asked for.
        path: String,
        /// The client's error.
        message: String,
    },

    /// The leader's node does not hold a ServiceInstance JSON document.
    #[error("{path}: not a scheduler ServiceInstance JSON document: {source}")]
    BadMemberData {
        /// The member node's full path.
        path: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },

    /// The leader's ServiceInstance has no usable endpoint (no `https`/`http` additional
    /// endpoint and no `serviceEndpoint`).
    #[error("{path}: the scheduler's ServiceInstance has no https, http or service endpoint")]
    NoEndpoint {
        /// The member node's full path.
        path: String,
    },
}
