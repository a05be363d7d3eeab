//! The emulator's configuration: the scheduler flags that change behaviour (real names and
//! defaults, reference aurora-api.md §3) plus the emulator's own knobs (clock, timings,
//! faults, files).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::Value;

use crate::faults::FaultSettings;

/// The tier configuration (Aurora `TierManager`, `-tier_config`): the same type and rules the
/// client and the engine use, so the emulator cannot disagree with them about tiers.
pub use aurora_thrift::tiers::{TierSettings as Tier, Tiers as TierConfig};

/// Parses Aurora's tier config JSON (`-tier_config`, TierManager):
/// `{"default": "preemptible", "tiers": {"preferred": {"revocable": false, "preemptible": false}, …}}`.
/// The default tier must be one of the tiers.
pub fn parse_tier_config(text: &str) -> Result<TierConfig, ConfigError> {
    let bad = |m: &str| ConfigError::TierConfig(m.to_string());
    let v: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let default_tier = v
        .get("default")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing \"default\""))?
        .to_string();
    let mut tiers = BTreeMap::new();
    let obj = v
        .get("tiers")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("missing \"tiers\""))?;
    for (name, t) in obj {
        let flag = |k: &str| t.get(k).and_then(Value::as_bool).unwrap_or(false);
        tiers.insert(
            name.clone(),
            Tier {
                preemptible: flag("preemptible"),
                revocable: flag("revocable"),
            },
        );
    }
    if !tiers.contains_key(&default_tier) {
        return Err(bad("default tier is not among the tiers"));
    }
    Ok(TierConfig {
        default_tier,
        tiers,
    })
}

/// One entry of `-custom_executor_config` (Aurora `ExecutorSettingsLoader`,
/// aurora-clients.md §3.2).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomExecutor {
    /// `executor.name`; tasks select it through `ExecutorConfig.name`.
    pub name: String,
    /// `task_prefix` (mandatory: the scheduler null-checks it).
    pub task_prefix: String,
    /// The whole entry as given.
    pub raw: Value,
}

/// Parses a `-custom_executor_config` document: a JSON array of
/// `{executor: ExecutorInfo, task_prefix, volume_mounts?}` (aurora-clients.md §3.2). The
/// `executor` object and `task_prefix` are required; names must be unique and may not redefine
/// `AuroraExecutor` (Guava ImmutableMap construction in `ExecutorModule`).
pub fn parse_custom_executors(text: &str) -> Result<Vec<CustomExecutor>, ConfigError> {
    let bad = |m: String| ConfigError::Executors(m);
    let v: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let list = v
        .as_array()
        .ok_or_else(|| bad("the document must be a JSON array".to_string()))?;
    let mut seen: BTreeSet<String> = BTreeSet::new();
    seen.insert(aurora_thrift::types::AURORA_EXECUTOR_NAME.to_string());
    let mut out = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let executor = entry
            .get("executor")
            .and_then(Value::as_object)
            .ok_or_else(|| bad(format!("entry {i}: missing \"executor\" object")))?;
        let task_prefix = entry
            .get("task_prefix")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("entry {i}: missing \"task_prefix\"")))?
            .to_string();
        let name = executor
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(uris) = executor
            .get("command")
            .and_then(|c| c.get("uris"))
            .and_then(Value::as_array)
            && uris.iter().any(|u| u.get("value").is_none())
        {
            return Err(bad(format!("entry {i}: a command URI has no \"value\"")));
        }
        if !seen.insert(name.clone()) {
            return Err(bad(format!("duplicate executor name '{name}'")));
        }
        out.push(CustomExecutor {
            name,
            task_prefix,
            raw: entry.clone(),
        });
    }
    Ok(out)
}

/// Resources of a quota or of the simulated cluster's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Resources {
    /// CPUs.
    pub cpus: f64,
    /// RAM in MB.
    pub ram_mb: i64,
    /// Disk in MB.
    pub disk_mb: i64,
}

impl Resources {
    /// Parses `CPUS,RAM_MB,DISK_MB`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = || ConfigError::Resources(text.to_string());
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if parts.len() != 3 {
            return Err(bad());
        }
        Ok(Resources {
            cpus: parts[0].parse().map_err(|_| bad())?,
            ram_mb: parts[1].parse().map_err(|_| bad())?,
            disk_mb: parts[2].parse().map_err(|_| bad())?,
        })
    }
}

/// How long each simulated task transition takes, in simulated milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// PENDING → ASSIGNED (when resources allow).
    pub assign_ms: i64,
    /// ASSIGNED → STARTING.
    pub starting_ms: i64,
    /// STARTING → RUNNING.
    pub running_ms: i64,
    /// KILLING / RESTARTING → KILLED.
    pub kill_ms: i64,
    /// RUNNING → FINISHED for ad-hoc (non-service, non-cron-driven) tasks.
    pub adhoc_run_ms: i64,
    /// `-flapping_task_threshold` (5 min): a rescheduled task whose ancestor ran shorter is
    /// THROTTLED first.
    pub flapping_task_threshold_ms: i64,
    /// `-initial_flapping_task_delay` (30 s): the first penalty, doubled per further flap.
    pub initial_flapping_task_delay_ms: i64,
    /// `-max_flapping_task_delay` (5 min): the largest penalty.
    pub max_flapping_task_delay_ms: i64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            assign_ms: 1_000,
            starting_ms: 1_000,
            running_ms: 1_000,
            kill_ms: 1_000,
            adhoc_run_ms: 10_000,
            flapping_task_threshold_ms: 300_000,
            initial_flapping_task_delay_ms: 30_000,
            max_flapping_task_delay_ms: 300_000,
        }
    }
}

/// How simulated time relates to wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockMode {
    /// Simulated time = wall-clock time × scale (1.0 for the CLI, e.g. 100.0 for fast tests).
    Scaled(f64),
    /// Time only moves when [`crate::SimHandle::advance`] is called (unit tests).
    Manual,
}

/// Everything an emulator needs; the `aurora-sim serve` flags map onto these fields.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// `-cluster_name` (ServerInfo.clusterName).
    pub cluster_name: String,
    /// ServerInfo.statsUrlPrefix.
    pub stats_url_prefix: String,
    /// `-custom_executor_config`, parsed.
    pub custom_executors: Vec<CustomExecutor>,
    /// `-enable_mesos_fetcher` (default false).
    pub enable_mesos_fetcher: bool,
    /// `-allowed_container_types` (default MESOS).
    pub allowed_container_types: BTreeSet<String>,
    /// `-allow_docker_parameters` (default false).
    pub allow_docker_parameters: bool,
    /// `-default_docker_parameters` (default none), name → value in order.
    pub default_docker_parameters: Vec<(String, String)>,
    /// `-require_docker_use_executor` (default true).
    pub require_docker_use_executor: bool,
    /// `-allow_container_volumes` (default false).
    pub allow_container_volumes: bool,
    /// `-allow_gpu_resource` (default false).
    pub allow_gpu_resource: bool,
    /// `-allowed_job_environments` (default `^(prod|devel|test|staging\d*)$`).
    pub allowed_job_environments: String,
    /// `-max_tasks_per_job` (default 4000).
    pub max_tasks_per_job: i32,
    /// `-max_update_instance_failures` (default 20000 = 4000 × 5).
    pub max_update_instance_failures: i32,
    /// `-min_required_instances_for_sla_check` (default 20).
    pub min_required_instances_for_sla_check: i32,
    /// `-max_sla_duration_secs` (default 7200).
    pub max_sla_duration_secs: i64,
    /// `-sla_aware_kill_non_prod` (default false).
    pub sla_aware_kill_non_prod: bool,
    /// `-tier_config` (default: the bundled tiers).
    pub tiers: TierConfig,
    /// Role quotas (the real scheduler sets them with the admin RPC `setQuota`).
    pub quotas: BTreeMap<String, Resources>,
    /// Total capacity of the simulated cluster; `None` = unlimited.
    pub capacity: Option<Resources>,
    /// Clock mode.
    pub clock: ClockMode,
    /// With a scaled clock: run at the scale only while something is in motion (a task
    /// transition or an update step is due) and otherwise let the wall clock catch up, so a
    /// long-lived emulator (the CLI's shared `sim://` cluster) does not drift ahead of the
    /// wall clock while it waits (`--catch-up-when-idle`; default off).
    pub catch_up_when_idle: bool,
    /// Task transition delays.
    pub timings: Timings,
    /// JSON state file; `None` = memory only.
    pub state_file: Option<PathBuf>,
    /// JSON-lines call log file.
    pub call_log: Option<PathBuf>,
    /// Faults active from the start.
    pub faults: FaultSettings,
    /// Record each call's arguments (JSON view) in the call log.
    pub log_call_args: bool,
    /// `-http_authentication_mechanism=BASIC` users (name → password, Shiro `[users]`);
    /// empty = `NONE` (every caller is `UNSECURE`).
    pub basic_auth_users: BTreeMap<String, String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            cluster_name: "devcluster".to_string(),
            stats_url_prefix: String::new(),
            custom_executors: Vec::new(),
            enable_mesos_fetcher: false,
            allowed_container_types: ["MESOS".to_string()].into_iter().collect(),
            allow_docker_parameters: false,
            default_docker_parameters: Vec::new(),
            require_docker_use_executor: true,
            allow_container_volumes: false,
            allow_gpu_resource: false,
            allowed_job_environments: r"^(prod|devel|test|staging\d*)$".to_string(),
            max_tasks_per_job: 4000,
            max_update_instance_failures: 20_000,
            min_required_instances_for_sla_check: 20,
            max_sla_duration_secs: 7200,
            sla_aware_kill_non_prod: false,
            tiers: TierConfig::aurora_default(),
            quotas: BTreeMap::new(),
            capacity: None,
            clock: ClockMode::Scaled(1.0),
            catch_up_when_idle: false,
            timings: Timings::default(),
            state_file: None,
            call_log: None,
            faults: FaultSettings::default(),
            basic_auth_users: BTreeMap::new(),
            log_call_args: false,
        }
    }
}

impl SimConfig {
    /// A configuration for tests: ephemeral loopback port, manual clock.
    pub fn for_tests() -> Self {
        SimConfig {
            clock: ClockMode::Manual,
            ..SimConfig::default()
        }
    }

    /// A configuration for an embedded emulator keeping its state in `state_file` (a CLI's
    /// `sim://PATH` cluster): ephemeral loopback port, real-time clock.
    pub fn embedded(state_file: impl Into<PathBuf>) -> Self {
        SimConfig {
            state_file: Some(state_file.into()),
            ..SimConfig::default()
        }
    }

    /// Loads `-custom_executor_config` from a file.
    pub fn load_custom_executors(&mut self, path: &std::path::Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Executors(format!("{}: {e}", path.display())))?;
        self.custom_executors = parse_custom_executors(&text)?;
        Ok(())
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `-custom_executor_config` is unreadable ("Failed to read executor settings").
    #[error("Failed to read executor settings: {0}")]
    Executors(String),
    /// `-tier_config` is unreadable.
    #[error("invalid tier config: {0}")]
    TierConfig(String),
    /// A resource triple is malformed.
    #[error("invalid resources `{0}` (expected CPUS,RAM_MB,DISK_MB)")]
    Resources(String),
    /// `-allowed_job_environments` is not a valid regular expression.
    #[error("invalid -allowed_job_environments pattern: {0}")]
    Pattern(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"[{"executor": {"command": {"value": "java -jar docker-compose-executor_0.1.0.jar", "shell": "true",
  "uris": [{"cache": false, "executable": true, "extract": false,
  "value": "https://github.com/mesos/docker-compose-executor/releases/download/0.1.0/docker-compose-executor_0.1.0.jar"}]},
  "name": "docker-compose-executor", "resources": []}, "task_prefix": "compose-"}]"#;

    #[test]
    fn seed_executor_config_loads() {
        let ex = parse_custom_executors(SEED).expect("loads");
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].name, "docker-compose-executor");
        assert_eq!(ex[0].task_prefix, "compose-");
    }

    #[test]
    fn executor_config_requires_task_prefix_and_unique_names() {
        assert!(parse_custom_executors(r#"[{"executor": {}}]"#).is_err());
        assert!(parse_custom_executors(r#"{}"#).is_err());
        assert!(
            parse_custom_executors(
                r#"[{"executor": {"name": "AuroraExecutor"}, "task_prefix": "x"}]"#
            )
            .is_err()
        );
    }

    #[test]
    fn tier_config_parses() {
        let t = parse_tier_config(
            r#"{"default": "a", "tiers": {"a": {"preemptible": true, "revocable": false}}}"#,
        )
        .expect("parses");
        assert_eq!(t.default_tier, "a");
        assert!(parse_tier_config(r#"{"default": "b", "tiers": {}}"#).is_err());
    }
}
