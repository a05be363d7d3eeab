//! Advisory locks taken before a command changes a cluster (`apply`, `destroy`, `kill`), so
//! that two runs do not change the same role at the same time.
//!
//! One lock per `(cluster, role)` that the command will change, taken in sorted order (two
//! runs needing overlapping sets cannot deadlock) and held until the returned [`ApplyLocks`]
//! is dropped. Where the lock lives depends on the cluster:
//!
//! - ZooKeeper discovery (`zk`): a ZooKeeper lock beside the scheduler's serverset
//!   (`aurora_api::clusters::ZkLock`; `/aurora/aurora-apply-locks/scheduler/<role>` for the
//!   serverset `/aurora/scheduler`, or below the cluster's `lock_zk_path`). A process that
//!   dies loses it when its ZooKeeper session expires.
//! - `sim://PATH`: a file lock beside the emulator's state (`<stem>.apply-<role>.lock` next
//!   to `state.json`), released by the operating system if the process dies.
//! - a direct `scheduler_uri`: no coordination service, no lock.
//!
//! The locks are advisory: Aurora's own client and other tools do not take them. Each lock
//! records who holds it (user, host, pid, command, since), and a run that gives up after
//! `--lock-timeout` says who that is.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aurora_api::clusters::{
    LockError, LockHolder, ZkError, ZkLock, ZkLockOptions, check_lock_name,
};

use crate::connect::{ConnectError, Connections};
use crate::exit::Exit;

/// A lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum ApplyLockError {
    /// The cluster is unknown or its entry unusable.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The lock of one role of a cluster.
    #[error("cluster {cluster}, role {role}: {source}{}", hint(.source))]
    Lock {
        /// The cluster.
        cluster: String,
        /// The role.
        role: String,
        /// Why.
        #[source]
        source: Box<LockError>,
    },
}

fn hint(source: &LockError) -> &'static str {
    match source {
        LockError::Held { .. } => {
            "\nAnother run is changing this role; try again once it has finished, or wait longer with --lock-timeout."
        }
        LockError::ZooKeeper {
            source: ZkError::Request { .. },
            ..
        } => {
            "\nIf ZooKeeper's ACLs do not let this client create the lock there, set `lock_zk_path` in the cluster's clusters.json entry to a directory it may write."
        }
        _ => "",
    }
}

impl ApplyLockError {
    /// The exit code: 4 (conflict) when another run holds a lock, 1 otherwise.
    pub fn exit(&self) -> Exit {
        match self {
            ApplyLockError::Lock { source, .. } if matches!(**source, LockError::Held { .. }) => {
                Exit::Conflict
            }
            _ => Exit::Error,
        }
    }
}

/// The locks a command holds; dropping it releases them (in the reverse order).
#[derive(Debug, Default)]
pub struct ApplyLocks {
    held: Vec<Held>,
}

#[derive(Debug)]
enum Held {
    ZooKeeper(ZkLock),
    // Held for its file lock, which the OS releases when the file closes.
    Local(#[allow(dead_code)] LocalLock),
}

impl ApplyLocks {
    /// How many locks are held (0 when no cluster has a place for one).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether every lock is still held: false when a ZooKeeper session ended (the node is
    /// gone, another run may hold the lock now).
    pub fn all_held(&self) -> bool {
        self.held.iter().all(|h| match h {
            Held::ZooKeeper(lock) => lock.is_held(),
            Held::Local(_) => true,
        })
    }
}

impl Drop for ApplyLocks {
    fn drop(&mut self) {
        while let Some(lock) = self.held.pop() {
            drop(lock);
        }
    }
}

/// The `(cluster, role)` pairs a plan changes (no-op jobs left out).
pub fn plan_targets(plan: &aurora_apply::plan::Plan) -> BTreeSet<(String, String)> {
    plan.changes
        .iter()
        .filter(|c| !c.is_noop())
        .map(|c| (c.job_key.cluster.clone(), c.job_key.role.clone()))
        .collect()
}

/// Takes the lock of every `(cluster, role)` in `targets`, waiting up to `timeout` in all
/// for other holders; `command` (`"apply"`) is recorded in the locks.
pub fn acquire(
    connections: &Connections,
    targets: &BTreeSet<(String, String)>,
    timeout: Duration,
    command: &str,
) -> Result<ApplyLocks, ApplyLockError> {
    let holder = LockHolder {
        user: ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty())),
        host: host_name(),
        pid: Some(std::process::id()),
        command: Some(format!("aurora-apply {command}")),
        since: Some(crate::session::now_rfc3339()),
    };
    let deadline = Instant::now() + timeout;
    let mut locks = ApplyLocks::default();
    for (cluster, role) in targets {
        let fail = |source: LockError| ApplyLockError::Lock {
            cluster: cluster.clone(),
            role: role.clone(),
            source: Box::new(source),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let entry = connections.entry(cluster)?;
        if let Some(place) = entry.zk_lock_dir().map_err(fail)? {
            let lock = ZkLock::acquire(
                &place.servers,
                &place.dir,
                role,
                &holder,
                &ZkLockOptions::waiting(left),
            )
            .map_err(fail)?;
            tracing::debug!(cluster, role, node = lock.node(), "lock taken");
            locks.held.push(Held::ZooKeeper(lock));
        } else if let Some(state) = connections.sim_state_file(cluster)? {
            let path = local_lock_path(&state, role).map_err(fail)?;
            let lock = LocalLock::acquire(&path, &holder, left).map_err(fail)?;
            tracing::debug!(cluster, role, file = %path.display(), "lock taken");
            locks.held.push(Held::Local(lock));
        }
    }
    Ok(locks)
}

/// `<dir>/<stem>.apply-<role>.lock` beside the state file `<dir>/<stem>.json`.
fn local_lock_path(state: &Path, role: &str) -> Result<PathBuf, LockError> {
    check_lock_name(role)?;
    let stem = state
        .file_stem()
        .map_or_else(|| "state".into(), |s| s.to_string_lossy());
    let dir = state.parent().unwrap_or(Path::new(""));
    Ok(dir.join(format!("{stem}.apply-{role}.lock")))
}

/// This machine's name (Linux: the kernel's; else `HOSTNAME`).
fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// An exclusive lock on a local file (`flock` on Unix), holding the holder's JSON while
/// held. The operating system releases it when the process ends, however it ends.
#[derive(Debug)]
struct LocalLock {
    file: File,
    path: PathBuf,
}

/// How often a waiter tries a held local lock again (a file lock has no wake-up).
const LOCAL_RETRY: Duration = Duration::from_millis(50);

impl LocalLock {
    fn acquire(path: &Path, holder: &LockHolder, wait: Duration) -> Result<LocalLock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        let deadline = Instant::now() + wait;
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if !told && !left.is_zero() {
                        told = true;
                        crate::session::note(format!(
                            "waiting up to {} for the lock {} (another run holds it)",
                            humantime::format_duration(Duration::from_secs(left.as_secs())),
                            path.display()
                        ));
                    }
                    if left.is_zero() {
                        let mut data = Vec::new();
                        let holder = file
                            .read_to_end(&mut data)
                            .ok()
                            .and_then(|_| LockHolder::from_json(&data))
                            .map(Box::new);
                        return Err(LockError::Held {
                            lock: path.display().to_string(),
                            waited: wait,
                            holder,
                            holder_id: None,
                        });
                    }
                    std::thread::sleep(left.min(LOCAL_RETRY));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(&holder.to_json()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(LocalLock {
            file,
            path: path.to_path_buf(),
        })
    }
}

impl Drop for LocalLock {
    fn drop(&mut self) {
        // Still holding the lock: nobody reads a half-cleared holder.
        if let Err(e) = self.file.set_len(0) {
            tracing::warn!("clearing {}: {e}", self.path.display());
        }
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(user: &str) -> LockHolder {
        LockHolder {
            user: Some(user.into()),
            host: Some("laptop".into()),
            pid: Some(7),
            command: Some("aurora-apply apply".into()),
            since: Some("2026-05-01T10:00:00Z".into()),
        }
    }

    #[test]
    fn local_lock_files_sit_beside_the_state() {
        assert_eq!(
            local_lock_path(Path::new("/s/.aurora-sim/dev/state.json"), "www-data").expect("valid"),
            Path::new("/s/.aurora-sim/dev/state.apply-www-data.lock")
        );
        assert!(local_lock_path(Path::new("/s/state.json"), "../x").is_err());
    }

    #[test]
    fn a_second_local_holder_waits_then_names_the_first() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("new/state.apply-www-data.lock");
        let first = LocalLock::acquire(&path, &holder("alice"), Duration::ZERO).expect("free");
        let wait = Duration::from_millis(200);
        let started = Instant::now();
        let err = LocalLock::acquire(&path, &holder("bob"), wait).expect_err("alice holds it");
        assert!(started.elapsed() >= wait);
        match &err {
            LockError::Held { holder: who, .. } => {
                assert_eq!(who.as_deref(), Some(&holder("alice")));
            }
            other => panic!("expected Held, got {other:?}"),
        }
        assert!(
            err.to_string().contains("held by alice@laptop (pid 7"),
            "{err}"
        );
        drop(first);
        let second = LocalLock::acquire(&path, &holder("bob"), Duration::ZERO)
            .expect("free once alice is done");
        let written = std::fs::read(&path).expect("read");
        assert_eq!(LockHolder::from_json(&written), Some(holder("bob")));
        drop(second);
        assert_eq!(
            std::fs::read(&path).expect("read"),
            b"",
            "cleared on release"
        );
    }

    #[test]
    fn a_local_waiter_gets_the_lock_when_it_is_released() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("state.apply-www-data.lock");
        let first = LocalLock::acquire(&path, &holder("alice"), Duration::ZERO).expect("free");
        let waiting = path.clone();
        let waiter = std::thread::spawn(move || {
            LocalLock::acquire(&waiting, &holder("bob"), Duration::from_secs(60))
        });
        drop(first);
        let second = waiter.join().expect("thread").expect("bob gets it");
        drop(second);
    }

    #[test]
    fn sim_clusters_lock_beside_their_state_and_direct_clusters_take_no_lock() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("clusters.json");
        std::fs::write(
            &file,
            r#"[{"name": "local", "scheduler_uri": "sim://state/local"},
                {"name": "direct", "scheduler_uri": "http://127.0.0.1:1"}]"#,
        )
        .expect("write");
        let options = crate::connect::ConnectOptions {
            clusters: Some(file),
            ..Default::default()
        };
        let connections = Connections::load(&options, &[]).expect("loads");
        let targets: BTreeSet<(String, String)> = [
            ("direct".to_string(), "www-data".to_string()),
            ("local".to_string(), "www-data".to_string()),
        ]
        .into();
        let locks = acquire(&connections, &targets, Duration::ZERO, "apply").expect("free");
        assert_eq!(
            locks.len(),
            1,
            "only the sim:// cluster has a place for a lock"
        );
        let lock_file = dir.path().join("state/local/state.apply-www-data.lock");
        let holder = LockHolder::from_json(&std::fs::read(&lock_file).expect("lock file"))
            .expect("holder JSON");
        assert_eq!(holder.pid, Some(std::process::id()));
        assert_eq!(holder.command.as_deref(), Some("aurora-apply apply"));

        let err = acquire(&connections, &targets, Duration::ZERO, "destroy")
            .expect_err("held by the first");
        assert_eq!(err.exit(), Exit::Conflict);
        let text = err.to_string();
        assert!(
            text.starts_with("cluster local, role www-data: ")
                && text.contains("aurora-apply apply")
                && text.contains("--lock-timeout"),
            "{text}"
        );
        drop(locks);
        assert!(acquire(&connections, &targets, Duration::ZERO, "apply").is_ok());
    }
}
