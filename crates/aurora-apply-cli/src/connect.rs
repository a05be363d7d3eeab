//! From cluster names to scheduler clients: clusters.json, ZooKeeper, and the embedded
//! emulator for `sim://PATH` clusters.
//!
//! Which clusters.json files are read is `discover.rs`'s rule, the same for every command.
//!
//! TLS: a private CA for HTTPS schedulers comes from `--ca-file FILE`, else the environment
//! variable `AURORA_CA_FILE`, else the cluster entry's `ca_file` (relative to the clusters.json
//! that names it); without one, the Mozilla roots built into the binary are used.
//!
//! A `sim://PATH` cluster runs `aurora-sim` in this process with its state in PATH (a
//! `.json` file, or a directory holding `state.json`), so state survives between runs. The
//! cluster entry's optional `sim_flags` list holds `aurora-sim serve` flags with Aurora's
//! spelling (`-enable_mesos_fetcher=true`, `-custom_executor_config=FILE` relative to the
//! clusters.json, `--quota=ROLE=CPUS,RAM_MB,DISK_MB`, `--time-scale=20`…); the listen address
//! and the state file come from the URI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aurora_api::clusters::{Cluster, ResolveOptions, SchedulerEndpoint};
use aurora_api::{Client, ClientConfig};

use crate::discover::Discovered;
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
    /// The embedded emulator could not start.
    #[error("cluster {cluster}: cannot start the embedded emulator at {path}: {message}")]
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
    #[cfg(feature = "sim")]
    sims: Vec<aurora_sim::SimHandle>,
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
        let endpoint = entry.resolve(&ResolveOptions::default())?;
        let ca_file = self.ca_file.clone().or_else(|| cluster_ca_file(&entry));
        let url = match &endpoint {
            SchedulerEndpoint::Http(url) => url.clone(),
            SchedulerEndpoint::Sim(path) => self.start_sim(&entry, path)?,
            other => other.to_string(),
        };
        let mut config = ClientConfig::new(url);
        config.ca_file = ca_file;
        config.on_retry = Some(crate::retry_notice::observer(self.json_events));
        let client = Arc::new(Client::new(config)?);
        self.clients
            .insert(cluster.to_string(), Arc::clone(&client));
        Ok(client)
    }

    #[cfg(not(feature = "sim"))]
    fn start_sim(&mut self, entry: &Cluster, path: &Path) -> Result<String, ConnectError> {
        Err(ConnectError::Sim {
            cluster: entry.name().to_string(),
            path: path.display().to_string(),
            message: "this aurora-apply was built without the `sim` feature".into(),
        })
    }

    #[cfg(feature = "sim")]
    fn start_sim(&mut self, entry: &Cluster, path: &Path) -> Result<String, ConnectError> {
        let fail = |message: String| ConnectError::Sim {
            cluster: entry.name().to_string(),
            path: path.display().to_string(),
            message,
        };
        let state_file = if path.extension().is_some_and(|e| e == "json") {
            path.to_path_buf()
        } else {
            path.join("state.json")
        };
        if let Some(parent) = state_file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
        }
        // The emulator's own flag parser reads the entry's `sim_flags`; file flags are
        // relative to the clusters.json that names them.
        let base = entry
            .source()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut flags = vec![format!("--cluster_name={}", entry.name())];
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
            flags.push(resolve_file_flag(flag, &base));
        }
        let mut config = aurora_sim::SimConfig::from_flags(flags).map_err(fail)?;
        config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        config.state_file = Some(state_file);
        let sim = aurora_sim::Sim::start(config).map_err(|e| fail(e.to_string()))?;
        let url = sim.url();
        self.sims.push(sim);
        Ok(url)
    }

    /// Stops embedded emulators, writing their state.
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

/// Makes the path of a file-valued emulator flag relative to `base`.
#[cfg(feature = "sim")]
fn resolve_file_flag(flag: &str, base: &Path) -> String {
    for name in ["custom_executor_config", "tier_config"] {
        for prefix in [format!("-{name}="), format!("--{name}=")] {
            if let Some(value) = flag.strip_prefix(&prefix) {
                return format!("{prefix}{}", base.join(value).display());
            }
        }
    }
    flag.to_string()
}
