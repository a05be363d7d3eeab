//! An advisory lock in the cluster's ZooKeeper, so that two runs of a tool do not change the
//! same role at the same time.
//!
//! Aurora itself has no such lock (its own client takes none); this one is advisory: only
//! tools that take it are held back. It is ZooKeeper's lock recipe
//! (<https://zookeeper.apache.org/doc/current/recipes.html#sc_recipes_Locks>): every contender
//! creates an EPHEMERAL_SEQUENTIAL node `lock-NNNNNNNNNN` in the lock's directory, holding
//! who it is ([`LockHolder`], JSON); the lowest sequence number holds the lock, and each
//! other contender watches the node just before its own, so a release wakes one waiter. The
//! node belongs to the holder's ZooKeeper session: a holder that dies without releasing
//! loses it when its session expires (seconds), never later.
//!
//! Where: [`Cluster::zk_lock_dir`] — beside the scheduler's serverset, never inside it. The
//! serverset directory is shared with the scheduler's Curator leader election, whose lock
//! nodes are recognised by the substring `lock-` (Curator's `StandardLockInternalsDriver`):
//! nodes of ours there would take part in the scheduler's election. So the locks of a
//! serverset `/aurora/scheduler` live under `/aurora/aurora-apply-locks/scheduler/<name>` (one
//! directory per serverset, so two clusters whose serversets share a parent do not share
//! locks), unless the cluster's `lock_zk_path` key names another directory (for ensembles
//! whose ACLs let clients write elsewhere only).
//!
//! [`LockHolder`] and [`LockError`] are always compiled (a local lock can use them too); the
//! lock itself, [`ZkLock`], needs the `zookeeper` cargo feature.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::Cluster;
use super::error::{ResolveError, ZkError};
use super::resolve::{Discovery, normalize_zk_path};

/// The directory, beside the serverset, that holds the lock directories.
pub const LOCKS_NODE: &str = "aurora-apply-locks";

/// The clusters.json key that names the lock directory instead of the default beside the
/// serverset (an absolute ZooKeeper path; the lock names go below it).
pub const LOCK_PATH_KEY: &str = "lock_zk_path";

/// Who holds or wants a lock, stored in the lock node (JSON) so that a waiter can say whom it
/// waits for. Every field is optional: data written by other tools still parses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// The user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// What it runs (`aurora-apply apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Since when (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

impl LockHolder {
    /// The JSON stored in a lock node or file.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads what [`LockHolder::to_json`] wrote; `None` for anything that is not a JSON
    /// object.
    pub fn from_json(data: &[u8]) -> Option<LockHolder> {
        let value: serde_json::Value = serde_json::from_slice(data).ok()?;
        if !value.is_object() {
            return None;
        }
        serde_json::from_value(value).ok()
    }
}

/// `alice@ci-7 (pid 4242, aurora-apply apply, since 2026-05-01T10:00:00Z)`.
impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.user, &self.host) {
            (Some(user), Some(host)) => write!(f, "{user}@{host}")?,
            (Some(user), None) => f.write_str(user)?,
            (None, Some(host)) => write!(f, "a process on {host}")?,
            (None, None) => f.write_str("another process")?,
        }
        let mut details = Vec::new();
        if let Some(pid) = self.pid {
            details.push(format!("pid {pid}"));
        }
        if let Some(command) = &self.command {
            details.push(command.clone());
        }
        if let Some(since) = &self.since {
            details.push(format!("since {since}"));
        }
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

/// Why a lock was not taken or not released.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Someone else holds the lock and did not release it in time.
    #[error(
        "{lock} is held by {}; gave up after waiting {}",
        holder_text(.holder.as_deref(), .holder_id.as_deref()),
        waited_text(*.waited)
    )]
    Held {
        /// The lock (ZooKeeper node directory, or file).
        lock: String,
        /// How long this process waited.
        waited: Duration,
        /// What the holder wrote about itself, if it could be read.
        holder: Option<Box<LockHolder>>,
        /// The holder's node name (`lock-0000000003`), when known.
        holder_id: Option<String>,
    },

    /// ZooKeeper could not be reached, did not answer in time, or refused a request (for
    /// instance an ACL that does not let this client create the lock directory).
    #[error("lock {lock}: {source}")]
    ZooKeeper {
        /// The lock directory.
        lock: String,
        /// What went wrong.
        #[source]
        source: ZkError,
    },

    /// The lock was lost while held or waited for: the ZooKeeper session ended, or the
    /// lock's node was deleted by someone else.
    #[error("lock {lock} was lost: {reason}")]
    Lost {
        /// The lock directory.
        lock: String,
        /// What happened.
        reason: String,
    },

    /// A name that cannot name a lock (a role with `/`, `.` or `..`), or a bad
    /// `lock_zk_path`.
    #[error("cannot lock {name:?}: {reason}")]
    InvalidName {
        /// The name or path as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The cluster's ZooKeeper settings are unusable.
    #[error(transparent)]
    Resolve(#[from] ResolveError),

    /// A local lock file could not be opened, locked or written.
    #[error("lock file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn holder_text(holder: Option<&LockHolder>, id: Option<&str>) -> String {
    match (holder, id) {
        (Some(h), Some(id)) => format!("{h} [{id}]"),
        (Some(h), None) => h.to_string(),
        (None, Some(id)) => format!("{id} (who holds it is not recorded)"),
        (None, None) => "another process".to_owned(),
    }
}

fn waited_text(waited: Duration) -> String {
    let secs = waited.as_secs_f64();
    if secs < 1.0 {
        format!("{} ms", waited.as_millis())
    } else {
        format!("{secs:.0} s")
    }
}

/// Checks that `name` can be one path component of a lock (a ZooKeeper node or a file name):
/// not empty, not `.` or `..`, only letters, digits, `_`, `-` and `.` (Aurora's own rule for
/// role names, `[\w\-\.]+`, in ASCII).
pub fn check_lock_name(name: &str) -> Result<(), LockError> {
    let bad = |reason| {
        Err(LockError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not names");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return bad("only letters, digits, `_`, `-` and `.` are allowed");
    }
    Ok(())
}

/// The default lock directory for a serverset: `/aurora/scheduler` →
/// `/aurora/aurora-apply-locks/scheduler`; a serverset at the root (`/scheduler`) →
/// `/aurora-apply-locks/scheduler`; the root itself → `/aurora-apply-locks/_root`.
pub fn default_lock_dir(serverset: &str) -> String {
    let trimmed = serverset.trim_end_matches('/');
    let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    let name = if name.is_empty() { "_root" } else { name };
    format!("{parent}/{LOCKS_NODE}/{name}")
}

/// Where a cluster's locks live in ZooKeeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkLockDir {
    /// The ZooKeeper connect string (`host:port,…`).
    pub servers: String,
    /// The directory whose children are the locks (one per name).
    pub dir: String,
}

impl Cluster {
    /// Where this cluster's advisory locks live: `lock_zk_path` if set, else
    /// [`default_lock_dir`] of the serverset. `None` when the cluster does not use ZooKeeper
    /// discovery (a `scheduler_uri` cluster has no coordination service). No I/O.
    pub fn zk_lock_dir(&self) -> Result<Option<ZkLockDir>, LockError> {
        let Discovery::ZooKeeper { servers, path } = self.discovery()? else {
            return Ok(None);
        };
        let dir = match self.get(LOCK_PATH_KEY) {
            None | Some(serde_json::Value::Null) => default_lock_dir(&path),
            Some(serde_json::Value::String(custom)) => {
                normalize_zk_path(custom).map_err(|reason| LockError::InvalidName {
                    name: format!("{LOCK_PATH_KEY} {custom}"),
                    reason,
                })?
            }
            Some(_) => {
                return Err(LockError::InvalidName {
                    name: LOCK_PATH_KEY.to_owned(),
                    reason: "must be a string (a ZooKeeper path)",
                });
            }
        };
        Ok(Some(ZkLockDir { servers, dir }))
    }
}

/// The sequence number of a lock contender's node (`lock-0000000007`, or Curator's
/// `_c_<uuid>-lock-0000000007`): the digits after the last `-` of a name containing `lock-`.
#[cfg_attr(not(feature = "zookeeper"), allow(dead_code))] // used by `ZkLock`
fn contender_sequence(name: &str) -> Option<u64> {
    if !name.contains("lock-") {
        return None;
    }
    name.rsplit_once('-')?.1.parse().ok()
}

/// The contenders among a lock directory's children, lowest sequence number (the holder)
/// first.
#[cfg_attr(not(feature = "zookeeper"), allow(dead_code))] // used by `ZkLock`
fn contenders(children: Vec<String>) -> Vec<String> {
    let mut numbered: Vec<(u64, String)> = children
        .into_iter()
        .filter_map(|name| contender_sequence(&name).map(|seq| (seq, name)))
        .collect();
    numbered.sort();
    numbered.into_iter().map(|(_, name)| name).collect()
}

#[cfg(feature = "zookeeper")]
pub use session::{ZkLock, ZkLockOptions};

#[cfg(feature = "zookeeper")]
mod session {
    use std::future::Future;
    use std::time::{Duration, Instant};

    use zookeeper_client as zkc;

    use super::{LockError, LockHolder, check_lock_name, contenders};
    use crate::clusters::error::ZkError;

    /// The ZooKeeper server clamps session timeouts to at least 2 ticks (4 s by default).
    const MIN_SESSION_TIMEOUT: Duration = Duration::from_secs(4);

    /// How long a [`ZkLock`] waits and how long ZooKeeper may take.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ZkLockOptions {
        /// How long to wait for another holder to release the lock (0: take it only if it
        /// is free now).
        pub wait: Duration,
        /// Bound on each exchange with ZooKeeper (connect, create, list, delete), as the
        /// leader lookup's timeout. Default 10 s.
        pub zk_timeout: Duration,
        /// The session timeout: how soon ZooKeeper drops the lock of a holder that died
        /// without releasing it. Default 10 s.
        pub session_timeout: Duration,
    }

    impl ZkLockOptions {
        /// Waits up to `wait` for the holder, with the default ZooKeeper bounds.
        pub fn waiting(wait: Duration) -> Self {
            ZkLockOptions {
                wait,
                zk_timeout: Duration::from_secs(10),
                session_timeout: Duration::from_secs(10),
            }
        }
    }

    /// A held lock. Released by [`ZkLock::release`], or on drop (best effort, bounded by
    /// the ZooKeeper timeout); if the process dies instead, ZooKeeper removes the node when
    /// the session expires.
    #[derive(Debug)]
    pub struct ZkLock {
        client: Option<zkc::Client>,
        servers: String,
        dir: String,
        node: String,
        zk_timeout: Duration,
    }

    impl ZkLock {
        /// Takes the lock `name` in `dir` (created with its ancestors when missing, open
        /// ACLs) on the ZooKeeper `servers`, writing `holder` into the lock node; waits up to
        /// `options.wait` for a holder to release it, then fails with [`LockError::Held`]
        /// naming that holder. Blocks the calling thread.
        pub fn acquire(
            servers: &str,
            dir: &str,
            name: &str,
            holder: &LockHolder,
            options: &ZkLockOptions,
        ) -> Result<ZkLock, LockError> {
            check_lock_name(name)?;
            let lock_dir = if dir == "/" {
                format!("/{name}")
            } else {
                format!("{}/{name}", dir.trim_end_matches('/'))
            };
            async_io::block_on(acquire(servers, &lock_dir, holder, options))
        }

        /// The lock node (`<dir>/<name>/lock-NNNNNNNNNN`).
        pub fn node(&self) -> &str {
            &self.node
        }

        /// The lock's directory (`<dir>/<name>`).
        pub fn lock_dir(&self) -> &str {
            &self.dir
        }

        /// Whether the session that owns the lock node is still alive. False once it expired
        /// or was closed: the node is gone and another process may hold the lock.
        pub fn is_held(&self) -> bool {
            self.client
                .as_ref()
                .is_some_and(|c| !c.state().is_terminated())
        }

        /// Deletes the lock node and closes the session.
        pub fn release(mut self) -> Result<(), LockError> {
            self.release_now()
        }

        fn release_now(&mut self) -> Result<(), LockError> {
            let Some(client) = self.client.take() else {
                return Ok(());
            };
            let result =
                async_io::block_on(bounded(client.delete(&self.node, None), self.zk_timeout));
            // Dropping the last handle closes the session, which removes the node anyway.
            drop(client);
            match result {
                Some(Ok(()) | Err(zkc::Error::NoNode)) => Ok(()),
                Some(Err(e)) => Err(zk_error(&self.servers, &self.dir, &self.node, e)),
                None => Err(LockError::ZooKeeper {
                    lock: self.dir.clone(),
                    source: ZkError::Timeout {
                        servers: self.servers.clone(),
                        path: self.node.clone(),
                        timeout: self.zk_timeout,
                    },
                }),
            }
        }
    }

    impl Drop for ZkLock {
        fn drop(&mut self) {
            if let Err(e) = self.release_now() {
                tracing::warn!("releasing {}: {e}", self.node);
            }
        }
    }

    /// `future`, or `None` once `timeout` has passed.
    async fn bounded<T>(future: impl Future<Output = T>, timeout: Duration) -> Option<T> {
        futures_lite::future::or(async { Some(future.await) }, async {
            async_io::Timer::after(timeout).await;
            None
        })
        .await
    }

    fn zk_error(servers: &str, dir: &str, node: &str, e: zkc::Error) -> LockError {
        LockError::ZooKeeper {
            lock: dir.to_owned(),
            source: ZkError::Request {
                servers: servers.to_owned(),
                path: node.to_owned(),
                message: e.to_string(),
            },
        }
    }

    async fn acquire(
        servers: &str,
        dir: &str,
        holder: &LockHolder,
        options: &ZkLockOptions,
    ) -> Result<ZkLock, LockError> {
        let timeout = options.zk_timeout;
        let timed_out = |path: &str| LockError::ZooKeeper {
            lock: dir.to_owned(),
            source: ZkError::Timeout {
                servers: servers.to_owned(),
                path: path.to_owned(),
                timeout,
            },
        };
        let request = |path: &str, e: zkc::Error| zk_error(servers, dir, path, e);
        let client = bounded(
            zkc::Client::connector()
                .with_session_timeout(options.session_timeout.max(MIN_SESSION_TIMEOUT))
                .with_fail_eagerly()
                .connect(servers),
            timeout,
        )
        .await
        .ok_or_else(|| timed_out(dir))?
        .map_err(|e| LockError::ZooKeeper {
            lock: dir.to_owned(),
            source: ZkError::Connect {
                servers: servers.to_owned(),
                message: e.to_string(),
            },
        })?;
        // From here on, any early return drops `client`, which closes the session and with
        // it removes a node already created.
        let open = zkc::Acls::anyone_all();
        bounded(
            client.mkdir(dir, &zkc::CreateMode::Persistent.with_acls(open)),
            timeout,
        )
        .await
        .ok_or_else(|| timed_out(dir))?
        .map_err(|e| request(dir, e))?;
        let data = holder.to_json();
        let prefix = format!("{dir}/lock-");
        let (_, sequence) = bounded(
            client.create(
                &prefix,
                &data,
                &zkc::CreateMode::EphemeralSequential.with_acls(open),
            ),
            timeout,
        )
        .await
        .ok_or_else(|| timed_out(&prefix))?
        .map_err(|e| request(&prefix, e))?;
        let own = format!("lock-{sequence}");
        let node = format!("{dir}/{own}");
        tracing::debug!(node, "waiting for the lock");
        match wait_for_turn(&client, servers, dir, &own, options).await {
            Ok(()) => {
                tracing::debug!(node, "lock taken");
                Ok(ZkLock {
                    client: Some(client),
                    servers: servers.to_owned(),
                    dir: dir.to_owned(),
                    node,
                    zk_timeout: timeout,
                })
            }
            Err(e) => {
                // Leave the queue at once rather than when the closed session is cleaned up,
                // so that a waiter that gave up is never seen as a contender.
                let _ = bounded(client.delete(&node, None), timeout).await;
                Err(e)
            }
        }
    }

    /// Waits until `own` (a child of `dir`) has the lowest sequence number, or fails with
    /// [`LockError::Held`] once `options.wait` has passed.
    async fn wait_for_turn(
        client: &zkc::Client,
        servers: &str,
        dir: &str,
        own: &str,
        options: &ZkLockOptions,
    ) -> Result<(), LockError> {
        let timeout = options.zk_timeout;
        let timed_out = |path: &str| LockError::ZooKeeper {
            lock: dir.to_owned(),
            source: ZkError::Timeout {
                servers: servers.to_owned(),
                path: path.to_owned(),
                timeout,
            },
        };
        let request = |path: &str, e: zkc::Error| zk_error(servers, dir, path, e);
        let deadline = Instant::now() + options.wait;
        loop {
            let children = bounded(client.list_children(dir), timeout)
                .await
                .ok_or_else(|| timed_out(dir))?
                .map_err(|e| request(dir, e))?;
            let queue = contenders(children);
            let Some(place) = queue.iter().position(|n| n == own) else {
                return Err(LockError::Lost {
                    lock: dir.to_owned(),
                    reason: format!(
                        "{dir}/{own} vanished while waiting (deleted, or the session ended)"
                    ),
                });
            };
            let Some(before) = place.checked_sub(1).and_then(|i| queue.get(i)) else {
                return Ok(());
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let first = queue.first().cloned().unwrap_or_default();
                let data = bounded(client.get_data(&format!("{dir}/{first}")), timeout).await;
                let holder = match data {
                    Some(Ok((data, _))) => LockHolder::from_json(&data).map(Box::new),
                    _ => None,
                };
                return Err(LockError::Held {
                    lock: dir.to_owned(),
                    waited: options.wait,
                    holder,
                    holder_id: Some(first),
                });
            }
            // Watch the contender just before this one: its node going away is the only
            // event that can make this one the holder.
            let before = format!("{dir}/{before}");
            let (stat, watcher) = bounded(client.check_and_watch_stat(&before), timeout)
                .await
                .ok_or_else(|| timed_out(&before))?
                .map_err(|e| request(&before, e))?;
            if stat.is_none() {
                continue;
            }
            // Woken by the watch, or by the deadline: either way, look again.
            let _ = bounded(watcher.changed(), left).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lock_dir_is_beside_the_serverset() {
        assert_eq!(
            default_lock_dir("/aurora/scheduler"),
            "/aurora/aurora-apply-locks/scheduler"
        );
        assert_eq!(
            default_lock_dir("/a/b/scheduler/"),
            "/a/b/aurora-apply-locks/scheduler"
        );
        assert_eq!(
            default_lock_dir("/scheduler"),
            "/aurora-apply-locks/scheduler"
        );
        assert_eq!(default_lock_dir("/"), "/aurora-apply-locks/_root");
    }

    #[test]
    fn lock_names() {
        for good in ["www-data", "team_a", "a.b", "x"] {
            assert!(check_lock_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "zé", "a\0"] {
            assert!(check_lock_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn contenders_sort_by_sequence_and_ignore_other_nodes() {
        let children = [
            "lock-0000000012",
            "_c_8c1d-lock-0000000003",
            "lock-0000000007",
            "member_0000000001",
            "lock-x",
            "notes",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            contenders(children),
            [
                "_c_8c1d-lock-0000000003",
                "lock-0000000007",
                "lock-0000000012"
            ]
        );
    }

    #[test]
    fn holder_round_trip_and_text() {
        let holder = LockHolder {
            user: Some("alice".into()),
            host: Some("ci-7".into()),
            pid: Some(4242),
            command: Some("aurora-apply apply".into()),
            since: Some("2026-05-01T10:00:00Z".into()),
        };
        assert_eq!(
            LockHolder::from_json(&holder.to_json()),
            Some(holder.clone())
        );
        assert_eq!(
            holder.to_string(),
            "alice@ci-7 (pid 4242, aurora-apply apply, since 2026-05-01T10:00:00Z)"
        );
        assert_eq!(LockHolder::from_json(b"10.0.0.1"), None);
        assert_eq!(LockHolder::from_json(b"{}"), Some(LockHolder::default()));
        let err = LockError::Held {
            lock: "/aurora/aurora-apply-locks/scheduler/www-data".into(),
            waited: Duration::from_secs(30),
            holder: Some(Box::new(holder)),
            holder_id: Some("lock-0000000003".into()),
        };
        assert_eq!(
            err.to_string(),
            "/aurora/aurora-apply-locks/scheduler/www-data is held by alice@ci-7 (pid 4242, aurora-apply apply, since 2026-05-01T10:00:00Z) [lock-0000000003]; gave up after waiting 30 s"
        );
    }

    #[test]
    fn lock_dir_of_a_cluster() {
        let clusters = super::super::Clusters::parse(
            r#"[{"name": "zk", "zk": "zk1,zk2", "scheduler_zk_path": "/aurora/scheduler"},
                {"name": "custom", "zk": "zk1", "scheduler_zk_path": "/aurora/scheduler",
                 "lock_zk_path": "/tools/locks/"},
                {"name": "bad", "zk": "zk1", "scheduler_zk_path": "/aurora/scheduler",
                 "lock_zk_path": "tools"},
                {"name": "direct", "scheduler_uri": "http://h:8081"}]"#,
            std::path::Path::new("clusters.json"),
        )
        .expect("parses");
        let dir = |name: &str| clusters.get(name).expect("cluster").zk_lock_dir();
        assert_eq!(
            dir("zk").expect("ok"),
            Some(ZkLockDir {
                servers: "zk1:2181,zk2:2181".into(),
                dir: "/aurora/aurora-apply-locks/scheduler".into(),
            })
        );
        assert_eq!(
            dir("custom").expect("ok").map(|d| d.dir),
            Some("/tools/locks".into())
        );
        assert!(matches!(dir("bad"), Err(LockError::InvalidName { .. })));
        assert_eq!(dir("direct").expect("ok"), None);
    }
}
