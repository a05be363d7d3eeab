//! The `aurora-sim serve` flags: Aurora's scheduler flag names and defaults plus the
//! emulator's own, parsed into a [`SimConfig`]. Also usable by embedders (e.g. options of a
//! `sim://` cluster) through [`SimConfig::from_flags`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser};

use crate::config::{ClockMode, Resources, SimConfig};
use crate::faults::FaultSettings;

fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "true" | "True" | "1" | "yes" => Ok(true),
        "false" | "False" | "0" | "no" => Ok(false),
        _ => Err(format!("not a boolean: {s}")),
    }
}

/// The flags of `aurora-sim serve`.
#[derive(Debug, clap::Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Aurora's `-http_port`: listen on this port (loopback unless `--listen` names a host).
    #[arg(long = "http_port")]
    http_port: Option<u16>,
    /// Cluster name reported in ServerInfo.
    #[arg(long = "cluster_name", default_value = "devcluster")]
    cluster_name: String,
    /// Aurora's custom executor JSON file.
    #[arg(long = "custom_executor_config")]
    custom_executor_config: Option<PathBuf>,
    /// Allow job-level Mesos fetcher URIs.
    #[arg(long = "enable_mesos_fetcher", default_value = "false", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    enable_mesos_fetcher: bool,
    /// Allowed container types (comma-separated: MESOS, DOCKER).
    #[arg(long = "allowed_container_types", default_value = "MESOS")]
    allowed_container_types: String,
    /// Allow Docker parameters.
    #[arg(long = "allow_docker_parameters", default_value = "false", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    allow_docker_parameters: bool,
    /// Default Docker parameters, `name=value` (repeatable or comma-separated).
    #[arg(long = "default_docker_parameters", value_delimiter = ',')]
    default_docker_parameters: Vec<String>,
    /// Docker tasks must also name an executor.
    #[arg(long = "require_docker_use_executor", default_value = "true", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    require_docker_use_executor: bool,
    /// Allow Mesos container volumes.
    #[arg(long = "allow_container_volumes", default_value = "false", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    allow_container_volumes: bool,
    /// Allow the GPU resource.
    #[arg(long = "allow_gpu_resource", default_value = "false", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    allow_gpu_resource: bool,
    /// Regular expression job environments must match.
    #[arg(
        long = "allowed_job_environments",
        default_value = r"^(prod|devel|test|staging\d*)$"
    )]
    allowed_job_environments: String,
    /// Maximum tasks per job.
    #[arg(long = "max_tasks_per_job", default_value_t = 4000)]
    max_tasks_per_job: i32,
    /// Maximum maxPerInstanceFailures × instanceCount of an update.
    #[arg(long = "max_update_instance_failures", default_value_t = 20_000)]
    max_update_instance_failures: i32,
    /// Instances a job needs before count/percentage SLA policies are allowed.
    #[arg(long = "min_required_instances_for_sla_check", default_value_t = 20)]
    min_required_instances_for_sla_check: i32,
    /// Maximum SLA policy duration.
    #[arg(long = "max_sla_duration_secs", default_value_t = 7200)]
    max_sla_duration_secs: i64,
    /// Allow SLA policies for non-production tiers.
    #[arg(long = "sla_aware_kill_non_prod", default_value = "false", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    sla_aware_kill_non_prod: bool,
    /// Tier configuration JSON (default: Aurora's bundled tiers).
    #[arg(long = "tier_config")]
    tier_config: Option<PathBuf>,
    /// `NONE` (default) or `BASIC`.
    #[arg(long = "http_authentication_mechanism", default_value = "NONE")]
    http_authentication_mechanism: String,
    /// A BASIC user `NAME:PASSWORD` (repeatable; the `[users]` of Shiro's ini file).
    #[arg(long = "user")]
    users: Vec<String>,
    /// Role quota `ROLE=CPUS,RAM_MB,DISK_MB` (repeatable).
    #[arg(long = "quota")]
    quota: Vec<String>,
    /// Total cluster capacity `CPUS,RAM_MB,DISK_MB` (default unlimited).
    #[arg(long = "capacity")]
    capacity: Option<String>,
    /// Simulated seconds per real second.
    #[arg(long = "time-scale", default_value_t = 1.0)]
    time_scale: f64,
    /// With a time scale: run at the scale only while something is in motion, and let the
    /// wall clock catch up otherwise (simulated time never drifts ahead while idle).
    #[arg(long = "catch-up-when-idle", default_value = "false", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    catch_up_when_idle: bool,
    /// Persist state to this JSON file (atomic writes).
    #[arg(long = "state-file")]
    state_file: Option<PathBuf>,
    /// Append one JSON line per API call to this file.
    #[arg(long = "call-log")]
    call_log: Option<PathBuf>,
    /// Include each call's arguments (JSON) in the call log.
    #[arg(long = "call-log-args")]
    call_log_args: bool,
    /// Added latency per call, in ms.
    #[arg(long = "latency-ms", default_value_t = 0)]
    latency_ms: u64,
    /// Answer the next N calls with ERROR_TRANSIENT.
    #[arg(long = "transient-errors", default_value_t = 0)]
    transient_errors: u32,
    /// Answer the next N calls with HTTP 503.
    #[arg(long = "unavailable", default_value_t = 0)]
    unavailable: u32,
    /// Act as a non-leader: answer 307 to this base URL.
    #[arg(long = "redirect-to")]
    redirect_to: Option<String>,
    /// Drop the connection half-way through the next N replies.
    #[arg(long = "drop-connections", default_value_t = 0)]
    drop_connections: u32,
}

/// Accepts Aurora's `-flag=value` spelling for long flags (the first item is the program
/// name and is left alone).
pub fn normalise_args(args: impl Iterator<Item = String>) -> Vec<String> {
    args.enumerate()
        .map(|(i, a)| {
            let long_single = a.len() > 2
                && a.starts_with('-')
                && !a.starts_with("--")
                && a[1..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && (a.contains('_') || a.contains('='));
            if i > 0 && long_single {
                format!("-{a}")
            } else {
                a
            }
        })
        .collect()
}

/// Builds the configuration the flags describe (files such as the executor config are read).
pub fn config(a: ServeArgs) -> Result<SimConfig, String> {
    let mut listen = a.listen;
    if let Some(port) = a.http_port {
        listen.set_port(port);
    }
    let mut cfg = SimConfig {
        listen,
        cluster_name: a.cluster_name,
        enable_mesos_fetcher: a.enable_mesos_fetcher,
        allowed_container_types: a
            .allowed_container_types
            .split(',')
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
            .collect(),
        allow_docker_parameters: a.allow_docker_parameters,
        require_docker_use_executor: a.require_docker_use_executor,
        allow_container_volumes: a.allow_container_volumes,
        allow_gpu_resource: a.allow_gpu_resource,
        allowed_job_environments: a.allowed_job_environments,
        max_tasks_per_job: a.max_tasks_per_job,
        max_update_instance_failures: a.max_update_instance_failures,
        min_required_instances_for_sla_check: a.min_required_instances_for_sla_check,
        max_sla_duration_secs: a.max_sla_duration_secs,
        sla_aware_kill_non_prod: a.sla_aware_kill_non_prod,
        clock: ClockMode::Scaled(a.time_scale),
        catch_up_when_idle: a.catch_up_when_idle,
        state_file: a.state_file,
        call_log: a.call_log,
        log_call_args: a.call_log_args,
        faults: FaultSettings {
            latency: Duration::from_millis(a.latency_ms),
            transient_errors: a.transient_errors,
            unavailable: a.unavailable,
            redirect_to: a.redirect_to,
            drop_connections: a.drop_connections,
        },
        ..SimConfig::default()
    };
    for p in a.default_docker_parameters {
        let (n, v) = p
            .split_once('=')
            .ok_or_else(|| format!("invalid docker parameter `{p}` (expected name=value)"))?;
        cfg.default_docker_parameters
            .push((n.to_string(), v.to_string()));
    }
    if let Some(path) = a.custom_executor_config {
        cfg.load_custom_executors(&path)
            .map_err(|e| e.to_string())?;
    }
    if let Some(path) = a.tier_config {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        cfg.tiers = crate::config::parse_tier_config(&text).map_err(|e| e.to_string())?;
    }
    for q in a.quota {
        let (role, res) = q
            .split_once('=')
            .ok_or_else(|| format!("invalid quota `{q}` (expected ROLE=CPUS,RAM_MB,DISK_MB)"))?;
        cfg.quotas.insert(
            role.to_string(),
            Resources::parse(res).map_err(|e| e.to_string())?,
        );
    }
    match a.http_authentication_mechanism.as_str() {
        "NONE" => {}
        "BASIC" => {
            for u in a.users {
                let (name, pw) = u
                    .split_once(':')
                    .ok_or_else(|| format!("invalid user `{u}` (expected NAME:PASSWORD)"))?;
                cfg.basic_auth_users
                    .insert(name.to_string(), pw.to_string());
            }
            if cfg.basic_auth_users.is_empty() {
                return Err("BASIC authentication needs at least one --user".to_string());
            }
        }
        other => {
            return Err(format!(
                "unsupported -http_authentication_mechanism {other}"
            ));
        }
    }
    if let Some(c) = a.capacity {
        cfg.capacity = Some(Resources::parse(&c).map_err(|e| e.to_string())?);
    }
    Ok(cfg)
}

#[derive(Debug, Parser)]
#[command(name = "aurora-sim serve", no_binary_name = true)]
struct FlagsOnly {
    #[command(flatten)]
    args: ServeArgs,
}

impl SimConfig {
    /// A configuration from `aurora-sim serve` flags (Aurora's `-flag=value` spelling
    /// accepted), e.g. `["-enable_mesos_fetcher=true", "--time-scale=60"]`.
    pub fn from_flags<I, S>(flags: I) -> Result<SimConfig, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut argv = vec!["aurora-sim".to_string()];
        argv.extend(flags.into_iter().map(Into::into));
        let argv: Vec<String> = normalise_args(argv.into_iter())
            .into_iter()
            .skip(1)
            .collect();
        let parsed = FlagsOnly::try_parse_from(argv).map_err(|e| e.to_string())?;
        config(parsed.args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aurora_spelling_and_defaults() {
        let c = SimConfig::from_flags([
            "-enable_mesos_fetcher=true",
            "-allowed_container_types=MESOS,DOCKER",
        ])
        .expect("parses");
        assert!(c.enable_mesos_fetcher);
        assert!(c.allowed_container_types.contains("DOCKER"));
        assert!(c.require_docker_use_executor);
        assert_eq!(c.max_tasks_per_job, 4000);
        assert!(SimConfig::from_flags(["-no_such_flag=1"]).is_err());
        let c = SimConfig::from_flags(["--quota", "www-data=10,1024,1024", "--time-scale=60"])
            .expect("parses");
        assert_eq!(c.clock, ClockMode::Scaled(60.0));
        assert!(c.quotas.contains_key("www-data"));
        assert!(!c.catch_up_when_idle);
        let c = SimConfig::from_flags(["--catch-up-when-idle"]).expect("parses");
        assert!(c.catch_up_when_idle);
    }
}
