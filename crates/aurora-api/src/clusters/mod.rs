//! Clusters: which scheduler a cluster name means.
//!
//! Aurora names a cluster in every job key (`cluster/role/env/job`) and finds its scheduler
//! through `clusters.json`. This module reads that file exactly as Aurora 0.22's client does and
//! turns a cluster into a [`SchedulerEndpoint`]:
//!
//! - [`Clusters`] — every cluster of the search path ([`SearchPath`]:
//!   `$AURORA_CONFIG_ROOT/clusters.json`, default `/etc/aurora/clusters.json`, then
//!   `~/.aurora/clusters.json`; later files win by name) or of one explicit file
//!   ([`Clusters::from_file`]).
//! - [`Cluster`] — one entry: an open key/value map with typed accessors for the keys Aurora
//!   knows (`zk`, `zk_port`, `scheduler_zk_path`, `scheduler_uri`, `proxy_url`,
//!   `auth_mechanism`, …).
//! - [`Cluster::discovery`] decides, without I/O, how the scheduler is found ([`Discovery`]);
//!   [`Cluster::resolve`] finds it: the leader's address from ZooKeeper when `zk` is set (cargo
//!   feature `zookeeper`, on by default), else `scheduler_uri` as is. `sim://PATH` in
//!   `scheduler_uri` selects the embedded emulator ([`SchedulerEndpoint::Sim`]).
//! - [`Cluster::endpoint_resolver`] gives a client the means to read the leader again after
//!   a transport failure or a 503 ([`LeaderResolver`], for ZooKeeper clusters).
//! - [`Cluster::zk_lock_dir`] and `ZkLock` (feature `zookeeper`): an advisory lock beside the
//!   serverset, so two runs do not change the same role at once.
//!
//! Nothing here prints, exits or reads the environment except [`SearchPath::from_env`] (and
//! [`Clusters::load`], which uses it); the format is documented in `docs/clusters.md`.
//!
//! ```
//! use std::path::Path;
//! use aurora_api::clusters::{Clusters, ResolveOptions, SchedulerEndpoint};
//!
//! let clusters = Clusters::parse(
//!     r#"[{"name": "devcluster", "scheduler_uri": "http://localhost:8081"}]"#,
//!     Path::new("clusters.json"),
//! )?;
//! let endpoint = clusters.cluster("devcluster")?.resolve(&ResolveOptions::default())?;
//! assert_eq!(endpoint, SchedulerEndpoint::Http("http://localhost:8081".into()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod error;
mod resolve;
mod zk;
mod zk_lock;

pub use config::{
    AuthMechanism, CLUSTERS_FILE_NAME, Cluster, Clusters, DEFAULT_CONFIG_ROOT, DEFAULT_ZK_PORT,
    SearchPath,
};
pub use error::{ConfigError, ResolveError, ZkError};
pub use resolve::{Discovery, LeaderResolver, ResolveOptions, SIM_SCHEME, SchedulerEndpoint};
#[cfg(feature = "zookeeper")]
pub use zk::find_leader;
pub use zk::{HostPort, Leader, MEMBER_PREFIX, ServiceInstance, leader_member};
pub use zk_lock::{
    LOCK_PATH_KEY, LOCKS_NODE, LockError, LockHolder, ZkLockDir, check_lock_name, default_lock_dir,
};
#[cfg(feature = "zookeeper")]
pub use zk_lock::{ZkLock, ZkLockOptions};
