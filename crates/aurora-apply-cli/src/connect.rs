//! From cluster names to scheduler clients: clusters.json, ZooKeeper, and the embedded
//! emulator for `sim://PATH` clusters.
//!
//! Where clusters come from, later sources winning by name: Aurora's search path
//! (`$AURORA_CONFIG_ROOT/clusters.json`, then `~/.aurora/clusters.json`), then a
//! `clusters.json` in each spec directory given on the command line (so a repository of
//! specs carries its own clusters; the example `specs/clusters.json` maps `devcluster` to the
//! embedded emulator). `--clusters FILE` replaces all of that with one file.
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

use aurora_api::clusters::{Cluster, Clusters, ResolveOptions, SchedulerEndpoint, SearchPath};
use aurora_api::{Client, ClientConfig};
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
    clusters: Clusters,
    clients: BTreeMap<String, Arc<Client>>,
    #[cfg(feature = "sim")]
    sims: Vec<aurora_sim::SimHandle>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("clusters", &self.clusters.names().collect::<Vec<_>>())
            .field("open", &self.clients.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The directories whose `clusters.json` joins the search path: each directory argument, and
/// the directory of each file argument.
pub fn spec_dirs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            if p.is_dir() {
                p.clone()
            } else {
                p.parent().map(Path::to_path_buf).unwrap_or_default()
            }
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

impl Connections {
    /// Loads clusters: `explicit` alone if given, else Aurora's search path plus
    /// `clusters.json` in `dirs`.
    pub fn load(explicit: Option<&Path>, dirs: &[PathBuf]) -> Result<Self, ConnectError> {
        let clusters = match explicit {
            Some(file) => Clusters::from_file(file)?,
            None => {
                let mut clusters = Clusters::load_from(&SearchPath::from_env())?;
                for dir in dirs {
                    let file = dir.join("clusters.json");
                    if file.is_file() {
                        clusters.merge(Clusters::from_file(&file)?);
                    }
                }
                clusters
            }
        };
        Ok(Connections {
            clusters,
            clients: BTreeMap::new(),
            #[cfg(feature = "sim")]
            sims: Vec::new(),
        })
    }

    /// The client for `cluster`, opening it (and starting an emulator) on first use.
    pub fn client(&mut self, cluster: &str) -> Result<Arc<Client>, ConnectError> {
        if let Some(client) = self.clients.get(cluster) {
            return Ok(Arc::clone(client));
        }
        let entry = self.clusters.cluster(cluster)?.clone();
        let endpoint = entry.resolve(&ResolveOptions::default())?;
        let url = match &endpoint {
            SchedulerEndpoint::Http(url) => url.clone(),
            SchedulerEndpoint::Sim(path) => self.start_sim(&entry, path)?,
            other => other.to_string(),
        };
        let client = Arc::new(Client::new(ClientConfig::new(url))?);
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
