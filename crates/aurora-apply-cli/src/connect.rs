//! From cluster names to scheduler clients: clusters.json, ZooKeeper, and the embedded
//! emulator for `sim://PATH` clusters.
//!
//! A ZooKeeper cluster's leader is read when its client is opened, and read again by the
//! client itself after a transport failure or an HTTP 503 (`aurora_api::EndpointResolver`),
//! so a leader that moves during a long apply is followed.
//!
//! Which clusters.json files are read is `discover.rs`'s rule, the same for every command.
//!
//! TLS: a private CA for HTTPS schedulers comes from `--ca-file FILE`, else the environment
//! variable `AURORA_CA_FILE`, else the cluster entry's `ca_file` (relative to the clusters.json
//! that names it); without one, the Mozilla roots built into the binary are used.
//!
//! A `sim://PATH` cluster is a local cluster every aurora-apply process shares: the first
//! command that needs it starts a detached emulator keeping its state in PATH (a `.json`
//! file, or a directory holding `state.json`), later commands find it through the address
//! file beside the state and talk to it over HTTP, and it stops itself when idle
//! (`local_sim.rs`; `aurora-apply sim status|stop`). A relative PATH is relative to the
//! clusters.json that names it, wherever the command runs. The cluster entry's optional
//! `sim_flags` list holds `aurora-sim serve` flags with Aurora's spelling
//! (`-enable_mesos_fetcher=true`, `-custom_executor_config=FILE` relative to the
//! clusters.json, `--quota=ROLE=CPUS,RAM_MB,DISK_MB`, `--time-scale=20`…); the listen address
//! and the state file come from the URI. `sim_idle_exit` (`"10m"`, the default, or seconds)
//! is how long the emulator waits without calls before it stops. A read-only connection
//! ([`Connections::set_read_only`]) to a cluster without state creates nothing: an emulator
//! in this process with an empty, unsaved state answers for it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aurora_api::clusters::{Cluster, ResolveOptions, SchedulerEndpoint};
use aurora_api::{Client, ClientConfig};

use crate::discover::Discovered;
#[cfg(feature = "sim")]
use crate::local_sim::{LocalSim, SimFiles};
#[cfg(feature = "sim")]
use serde_json::Value;

/// A cluster could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// clusters.json could not be read.
    #[error(transparent)]
    Config(#[from] aurora_api::clusters::ConfigError),
    /// The cluster's scheduler could not be found.
    #[error(transparent)]
    Resolve(#[from] aurora_api::clusters::ResolveError),
    /// The client could not be built.
    #[error(transparent)]
    Client(#[from] aurora_api::ApiError),
    /// No clusters.json defines the cluster.
    #[error(transparent)]
    Unknown(#[from] crate::discover::UnknownCluster),
    /// The local emulator could not be found, started or configured.
    #[error("cluster {cluster}: local emulator {path}: {message}")]
    Sim {
        /// The cluster.
        cluster: String,
        /// Its state path.
        path: String,
        /// Why.
        message: String,
    },
}

/// Every cluster known, and the clients opened so far.
pub struct Connections {
    clusters: Discovered,
    ca_file: Option<PathBuf>,
    json_events: bool,
    clients: BTreeMap<String, Arc<Client>>,
    /// Emulators in this process (read-only views of clusters without state).
    #[cfg(feature = "sim")]
    sims: Vec<aurora_sim::SimHandle>,
    /// Whether the command only reads (see [`Connections::set_read_only`]).
    #[cfg(feature = "sim")]
    read_only: bool,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field(
                "clusters",
                &self.clusters.clusters.names().collect::<Vec<_>>(),
            )
            .field("open", &self.clients.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Connections {
    /// Finds the clusters for these spec paths (`discover.rs`'s rule); nothing is opened
    /// until a cluster is asked for.
    pub fn load(options: &ConnectOptions, spec_paths: &[PathBuf]) -> Result<Self, ConnectError> {
        let clusters = Discovered::find(options.clusters.as_deref(), spec_paths)?;
        // `--ca-file` (clap also reads AURORA_CA_FILE into it).
        let ca_file = options.ca_file.clone();
        Ok(Connections {
            clusters,
            ca_file,
            json_events: options.json_events,
            clients: BTreeMap::new(),
            #[cfg(feature = "sim")]
            sims: Vec::new(),
            #[cfg(feature = "sim")]
            read_only: false,
        })
    }

    /// The cluster names to check specs against (`None`: no clusters.json found).
    pub fn known_names(&self) -> Option<Vec<String>> {
        self.clusters.known_names()
    }

    /// The client for `cluster`, opening it (and starting an emulator) on first use.
    pub fn client(&mut self, cluster: &str) -> Result<Arc<Client>, ConnectError> {
        if let Some(client) = self.clients.get(cluster) {
            return Ok(Arc::clone(client));
        }
        let entry = self.clusters.cluster(cluster)?.clone();
        let resolve = ResolveOptions::default();
        let endpoint = entry.resolve(&resolve)?;
        let ca_file = self.ca_file.clone().or_else(|| cluster_ca_file(&entry));
        let url = match &endpoint {
            SchedulerEndpoint::Http(url) => url.clone(),
            SchedulerEndpoint::Sim(path) => self.start_sim(&entry, path)?,
            other => other.to_string(),
        };
        let mut config = ClientConfig::new(url);
        // ZooKeeper clusters: after a transport failure or a 503 the client reads the
        // serverset again before retrying (the leader may have moved), as Aurora's client does.
        config.resolver = entry.endpoint_resolver(&resolve)?;
        config.ca_file = ca_file;
        config.on_retry = Some(crate::retry_notice::observer(self.json_events));
        let client = Arc::new(Client::new(config)?);
        self.clients
            .insert(cluster.to_string(), Arc::clone(&client));
        Ok(client)
    }

    /// The clusters.json entry of `cluster` (what is decided from the file alone, such as
    /// where its advisory lock lives: `apply_lock.rs`).
    pub fn entry(&self, cluster: &str) -> Result<&Cluster, ConnectError> {
        Ok(self.clusters.cluster(cluster)?)
    }

    /// The state file of a `sim://` cluster's local emulator (absolute); `None` for a
    /// cluster with a real scheduler. Nothing is started or created.
    pub fn sim_state_file(&self, cluster: &str) -> Result<Option<PathBuf>, ConnectError> {
        let entry = self.entry(cluster)?;
        if entry.zk().is_some_and(|z| !z.is_empty()) {
            return Ok(None);
        }
        match entry.scheduler_uri().and_then(SchedulerEndpoint::from_uri) {
            #[cfg(feature = "sim")]
            Some(SchedulerEndpoint::Sim(path)) => {
                Ok(Some(local_sim_for(entry, &path)?.files.state))
            }
            _ => Ok(None),
        }
    }

    #[cfg(not(feature = "sim"))]
    fn start_sim(&mut self, entry: &Cluster, path: &Path) -> Result<String, ConnectError> {
        Err(ConnectError::Sim {
            cluster: entry.name().to_string(),
            path: path.display().to_string(),
            message: "this aurora-apply was built without the `sim` feature".into(),
        })
    }

    /// Marks the command as one that only reads (plan, status…): a `sim://` cluster without
    /// state is then answered by an emulator in this process with an empty, unsaved state, so
    /// reading creates no state folder or file (a running shared emulator is still used).
    /// Call before the first [`Connections::client`].
    pub fn set_read_only(&mut self, read_only: bool) {
        #[cfg(feature = "sim")]
        {
            self.read_only = read_only;
        }
        #[cfg(not(feature = "sim"))]
        let _ = read_only;
    }

    #[cfg(feature = "sim")]
    fn start_sim(&mut self, entry: &Cluster, path: &Path) -> Result<String, ConnectError> {
        let local = local_sim_for(entry, path)?;
        let fail = |message: String| ConnectError::Sim {
            cluster: entry.name().to_string(),
            path: local.files.state.display().to_string(),
            message,
        };
        // Bad flags are reported by this command, not in a detached emulator's log.
        let mut config = aurora_sim::SimConfig::from_flags(local.flags.clone().unwrap_or_default())
            .map_err(fail)?;
        let running = if self.read_only && !local.files.state.exists() {
            match local.find_running().map_err(|e| fail(e.to_string()))? {
                Some(running) => running,
                None => {
                    // Nothing to read, and reading must create nothing: an emulator in this
                    // process with an empty, unsaved state answers by the same rules.
                    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                    config.state_file = None;
                    config.call_log = None;
                    let sim = aurora_sim::Sim::start(config).map_err(|e| fail(e.to_string()))?;
                    let url = sim.url();
                    self.sims.push(sim);
                    return Ok(url);
                }
            }
        } else {
            local.attach_or_start().map_err(|e| fail(e.to_string()))?
        };
        for warning in &running.warnings {
            crate::session::note(format!("warning: cluster {}: {warning}", entry.name()));
        }
        Ok(running.address.url)
    }

    /// Every `sim://` cluster known, with its local emulator (`aurora-apply sim status|stop`).
    #[cfg(feature = "sim")]
    pub fn local_sims(&self) -> Vec<(String, Result<LocalSim, ConnectError>)> {
        self.clusters
            .clusters
            .iter()
            .filter(|c| c.zk().is_none())
            .filter_map(
                |c| match c.scheduler_uri().and_then(SchedulerEndpoint::from_uri) {
                    Some(SchedulerEndpoint::Sim(path)) => {
                        Some((c.name().to_string(), local_sim_for(c, &path)))
                    }
                    _ => None,
                },
            )
            .collect()
    }

    /// Stops the emulators running in this process (shared local emulators keep running).
    pub fn close(self) {
        #[cfg(feature = "sim")]
        for sim in self.sims {
            sim.shutdown();
        }
    }
}

/// How a command finds clusters and trusts their schedulers (its connection options).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--clusters FILE`.
    pub clusters: Option<PathBuf>,
    /// `--ca-file FILE`.
    pub ca_file: Option<PathBuf>,
    /// Retries are reported as NDJSON events on stdout (the command streams events).
    pub json_events: bool,
}

/// The cluster entry's `ca_file`, relative to the clusters.json that names it.
fn cluster_ca_file(entry: &Cluster) -> Option<PathBuf> {
    let file = entry.get("ca_file")?.as_str()?;
    let base = entry
        .source()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    Some(base.join(file))
}

/// The local emulator of a `sim://PATH` cluster: PATH and file-valued flags relative to the
/// clusters.json that names them (absolute, so any working directory — and the emulator's
/// own — agrees), the flags to start it with, its idle time.
#[cfg(feature = "sim")]
fn local_sim_for(entry: &Cluster, path: &Path) -> Result<LocalSim, ConnectError> {
    let fail = |message: String| ConnectError::Sim {
        cluster: entry.name().to_string(),
        path: path.display().to_string(),
        message,
    };
    let base = entry
        .source()
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty());
    let base = match base {
        Some(dir) => std::path::absolute(dir),
        None => std::env::current_dir(),
    }
    .map_err(|e| fail(e.to_string()))?;
    let files = SimFiles::for_sim_path(&lexical(&base.join(path)));
    let mut raw = Vec::new();
    for flag in entry
        .get("sim_flags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(flag) = flag.as_str() else {
            return Err(fail(format!(
                "sim_flags entries must be strings, found {flag}"
            )));
        };
        raw.push(flag.to_string());
    }
    let mut flags = vec![format!("--cluster_name={}", entry.name())];
    flags.extend(resolve_file_flags(&raw, &base));
    let idle_exit = match entry.get("sim_idle_exit") {
        None => crate::local_sim::DEFAULT_IDLE_EXIT,
        Some(Value::String(text)) => humantime::parse_duration(text)
            .map_err(|e| fail(format!("sim_idle_exit {text:?}: {e}")))?,
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(|secs| std::time::Duration::try_from_secs_f64(secs).ok())
            .ok_or_else(|| fail(format!("sim_idle_exit {n}: not a number of seconds")))?,
        Some(other) => {
            return Err(fail(format!(
                "sim_idle_exit must be a duration such as \"10m\", found {other}"
            )));
        }
    };
    Ok(LocalSim::new(files, Some(flags), idle_exit))
}

/// `path` with `.` and `..` taken out by their names (symbolic links are not followed), so one
/// state folder reached two ways has one set of files.
#[cfg(feature = "sim")]
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(part);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// File-valued emulator flags made absolute against `base` (the clusters.json's folder),
/// in both spellings: `-name=FILE` / `--name=FILE` and `-name FILE` / `--name FILE`.
#[cfg(feature = "sim")]
fn resolve_file_flags(flags: &[String], base: &Path) -> Vec<String> {
    const FILE_FLAGS: [&str; 3] = ["custom_executor_config", "tier_config", "call-log"];
    let is_file_flag = |flag: &str| {
        FILE_FLAGS
            .iter()
            .any(|name| flag == format!("-{name}") || flag == format!("--{name}"))
    };
    let mut out = Vec::with_capacity(flags.len());
    let mut value_next = false;
    for flag in flags {
        if value_next {
            out.push(base.join(flag).display().to_string());
            value_next = false;
            continue;
        }
        value_next = is_file_flag(flag);
        out.push(resolve_file_flag(flag, base));
    }
    out
}

/// Makes the path of a file-valued emulator flag (`-name=FILE`) relative to `base`.
#[cfg(feature = "sim")]
fn resolve_file_flag(flag: &str, base: &Path) -> String {
    for name in ["custom_executor_config", "tier_config", "call-log"] {
        for prefix in [format!("-{name}="), format!("--{name}=")] {
            if let Some(value) = flag.strip_prefix(&prefix) {
                return format!("{prefix}{}", base.join(value).display());
            }
        }
    }
    flag.to_string()
}

#[cfg(all(test, feature = "sim"))]
mod sim_tests {
    use super::*;

    #[test]
    fn file_flags_are_relative_to_the_clusters_file_in_both_spellings() {
        let base = Path::new("/repo/specs");
        let flags: Vec<String> = [
            "-custom_executor_config=sim/executors.json",
            "--tier_config",
            "tiers.json",
            "--call-log=/abs/calls.jsonl",
            "--time-scale=20",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            resolve_file_flags(&flags, base),
            [
                "-custom_executor_config=/repo/specs/sim/executors.json",
                "--tier_config",
                "/repo/specs/tiers.json",
                "--call-log=/abs/calls.jsonl",
                "--time-scale=20",
            ]
        );
    }

    #[test]
    fn sim_paths_are_relative_to_the_clusters_file_not_the_working_directory() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("conf/clusters.json");
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(
            &file,
            r#"[{"name": "local", "scheduler_uri": "sim://../state/local", "sim_idle_exit": "2s",
                "sim_flags": ["--time-scale=20"]},
               {"name": "bad", "scheduler_uri": "sim://x", "sim_idle_exit": true}]"#,
        )
        .expect("write");
        let clusters = aurora_api::clusters::Clusters::from_file(&file).expect("parses");
        let local = clusters.get("local").expect("local");
        let sim = local_sim_for(local, Path::new("../state/local")).expect("resolves");
        assert_eq!(sim.files.state, dir.path().join("state/local/state.json"));
        assert_eq!(sim.idle_exit, std::time::Duration::from_secs(2));
        assert_eq!(
            sim.flags.as_deref(),
            Some(
                &[
                    "--cluster_name=local".to_string(),
                    "--time-scale=20".to_string()
                ][..]
            )
        );
        let bad = clusters.get("bad").expect("bad");
        assert!(local_sim_for(bad, Path::new("x")).is_err());
    }

    #[test]
    fn a_read_only_connection_to_a_cluster_without_state_creates_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("clusters.json");
        std::fs::write(
            &file,
            r#"[{"name": "local", "scheduler_uri": "sim://state/local"}]"#,
        )
        .expect("write");
        let options = ConnectOptions {
            clusters: Some(file),
            ..ConnectOptions::default()
        };
        let mut connections = Connections::load(&options, &[]).expect("loads");
        connections.set_read_only(true);
        let client = connections.client("local").expect("connects");
        let jobs = client.get_jobs(None).expect("getJobs").value.configs;
        assert!(jobs.unwrap_or_default().is_empty());
        connections.close();
        assert!(!dir.path().join("state").exists(), "nothing created");
    }
}
