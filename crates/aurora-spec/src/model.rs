//! The types of spec format v1: serde (reading), schemars (the JSON Schema) and garde
//! (declarative bounds). Only shapes and simple bounds live here; meaning (defaults, the
//! scheduler's rules, conversion) is in `validate`, `thermos` and `convert`.
//!
//! Every field of [`JobSpec`] is optional at this level because a job's values are merged over
//! the file's `defaults:` first; what a complete job needs is checked after merging, with the
//! same located diagnostics.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::units::{Duration, Size};

/// The only `apiVersion` this version of aurora-apply reads.
pub const API_VERSION_V1: &str = "aurora-apply/v1";

/// A spec file: a list of Aurora jobs plus values shared by all of them.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "aurora-apply spec (format v1)", example = example_spec())]
pub struct SpecFile {
    /// The format version. Must be `aurora-apply/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: ApiVersion,
    /// Variables of this file, by name: `${var.NAME}` in any value of `defaults` or `jobs` is
    /// replaced by the variable's value (a whole value keeps its type; inside a string it is
    /// text). Values come from `--var NAME=VALUE`, `--var-file FILE`, `AURORA_APPLY_VAR_NAME`
    /// or the `default`, in that order of precedence.
    #[serde(default)]
    pub vars: Option<BTreeMap<String, VarDeclaration>>,
    /// Values merged into every job of this file (the job's own values win; mappings are
    /// merged key by key, lists and variant choices are replaced). `key` and `name` name one
    /// job and cannot be defaults.
    #[serde(default)]
    pub defaults: Option<JobSpec>,
    /// The jobs.
    pub jobs: Vec<JobSpec>,
}

/// A variable: its type, and optionally a default, a description and whether its value is a
/// secret.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = example_var())]
pub struct VarDeclaration {
    /// The type of its value: `string`, `integer`, `number`, `boolean`, `size` (`512MiB`),
    /// `duration` (`45s`), `list` or `map`.
    #[serde(rename = "type")]
    pub var_type: VarType,
    /// The value used when none is given (a literal of the type; no `${var…}`).
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// What the variable is for.
    #[serde(default)]
    pub description: Option<String>,
    /// A secret: its value is never printed (plans, errors, logs show `(sensitive)`).
    /// Default false.
    #[serde(default)]
    pub sensitive: Option<bool>,
}

fn example_var() -> serde_json::Value {
    serde_json::json!({"type": "integer", "default": 3, "description": "Instances per cluster"})
}

pub use crate::load::vars::VarType;

/// The example shown by editors for a whole file (the Thermos hello world).
fn example_spec() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": API_VERSION_V1,
        "jobs": [{
            "key": "devcluster/www-data/prod/hello",
            "kind": "service",
            "instances": 1,
            "resources": {"cpu": 1, "ram": "128MiB", "disk": "128MiB"},
            "task": {"processes": [{"name": "hello", "cmdline": "echo hello world; sleep 10"}]}
        }]
    })
}

/// The spec format version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum ApiVersion {
    /// Format v1.
    #[serde(rename = "aurora-apply/v1")]
    V1,
}

/// One Aurora job.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct JobSpec {
    /// The whole job key `cluster/role/environment/name` (or give the four parts separately).
    #[schemars(example = "devcluster/www-data/prod/hello")]
    pub key: Option<String>,
    /// The cluster (a name from clusters.json).
    pub cluster: Option<String>,
    /// The role: the user the tasks run as, and the first part of Aurora's job key.
    pub role: Option<String>,
    /// The environment, e.g. `prod`, `devel`, `test`, `staging1`.
    pub environment: Option<String>,
    /// The job name.
    pub name: Option<String>,
    /// What kind of job: `service` (restarted when it exits), `adhoc` (runs to completion)
    /// or `cron` (started on a schedule, see `cron`).
    pub kind: Option<JobKind>,
    /// Number of instances (Aurora `instances`, JobConfiguration.instanceCount). Default 1.
    #[schemars(range(min = 1))]
    pub instances: Option<u32>,
    /// The tier (`preferred`, `preemptible`, `revocable`, or one of the cluster's). When unset
    /// the scheduler picks its default tier.
    pub tier: Option<String>,
    /// Scheduling priority (TaskConfig.priority). Default 0.
    pub priority: Option<i32>,
    /// Deprecated in Aurora (the scheduler derives it from the tier). Default false.
    pub production: Option<bool>,
    /// Failures of one task before the job stops restarting it (TaskConfig.maxTaskFailures);
    /// -1 = unlimited. Default 1.
    #[garde(range(min = -1))]
    pub max_task_failures: Option<i32>,
    /// Contact e-mail (TaskConfig.contactEmail).
    pub contact: Option<String>,
    /// The owner recorded in the job (Identity.user). Default: the role, so every operator
    /// renders the same config (Aurora's client uses the local unix user).
    pub owner: Option<String>,
    /// Metadata key/value pairs (TaskConfig.metadata; Mesos labels).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Placement constraints by Mesos agent attribute name (or `host`, or `dedicated`).
    pub constraints: Option<BTreeMap<String, ConstraintSpec>>,
    /// Resources of each instance.
    pub resources: Option<Resources>,
    /// Ports to allocate: a count of anonymous ports, or a list of names (names referenced as
    /// `{{thermos.ports[name]}}` in process command lines are added automatically).
    pub ports: Option<Ports>,
    /// The container. Default: a Mesos container without an image.
    pub container: Option<ContainerSpec>,
    /// A custom executor (or the Thermos executor with a prepared payload). Leave it out and
    /// give `task` to run Thermos processes.
    pub executor: Option<ExecutorSpec>,
    /// The Thermos task: the processes to run (the default executor).
    #[garde(dive)]
    pub task: Option<TaskSpec>,
    /// Mesos fetcher URIs downloaded into the sandbox (needs `-enable_mesos_fetcher`).
    #[garde(dive)]
    pub fetch: Option<Vec<FetchUri>>,
    /// The schedule of a `cron` job.
    pub cron: Option<CronSpec>,
    /// How updates roll out (JobUpdateSettings).
    pub update: Option<UpdateSpec>,
    /// The Thermos health check.
    pub health_check: Option<HealthCheck>,
    /// The Thermos HTTP lifecycle (graceful shutdown endpoints).
    pub lifecycle: Option<Lifecycle>,
    /// Announce the job in ZooKeeper (Thermos announcer).
    pub announce: Option<Announce>,
    /// Enable Thermos executor hooks. Default false.
    pub enable_hooks: Option<bool>,
    /// What happens to a task on a partitioned agent.
    pub partition_policy: Option<PartitionPolicySpec>,
    /// The SLA policy used for SLA-aware updates and maintenance.
    pub sla_policy: Option<SlaPolicySpec>,
    /// Protect the live job: aurora-apply refuses to kill or replace it, even after this entry
    /// is deleted (written to the job as metadata `aurora-apply.protect`). Toggling it alone
    /// changes the task config and so rolls the instances. Default false.
    pub protect: Option<bool>,
    /// Places to run this job: each entry sets any of `cluster`, `role`, `environment` and
    /// `name` (replacing those parts of the key) plus overrides of any other job field, merged
    /// over the job as the job is merged over `defaults` (mappings merged key by key, lists and
    /// variant choices replaced). Each entry becomes a job of its own. Never set in a loaded
    /// job: the loader expands it.
    #[schemars(length(min = 1))]
    pub targets: Option<Vec<JobSpec>>,
}

/// The kind of job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// A long-running service: tasks are restarted whenever they exit (isService = true).
    Service,
    /// A one-off job that runs to completion (isService = false).
    Adhoc,
    /// A job started on a cron schedule (isService = false, cronSchedule set).
    Cron,
}

/// A placement constraint: either `values` (the attribute must have one of them, or none of
/// them with `negated`) or `limit` (at most N instances per attribute value).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConstraintSpec {
    /// Allowed attribute values (a value constraint).
    pub values: Option<Vec<String>>,
    /// Invert a value constraint: the attribute must not have any of the values.
    pub negated: Option<bool>,
    /// At most this many instances per distinct attribute value (a limit constraint).
    #[schemars(range(min = 1))]
    pub limit: Option<i32>,
}

/// Resources per instance.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPU cores (fractions allowed), > 0.
    #[schemars(example = 0.5)]
    pub cpu: Option<f64>,
    /// Memory, e.g. `128MiB` (sent as whole MiB, rounded down).
    pub ram: Option<Size>,
    /// Disk, e.g. `1GiB` (sent as whole MiB, rounded down).
    pub disk: Option<Size>,
    /// GPUs (needs `-allow_gpu_resource`). Default 0.
    pub gpu: Option<u32>,
}

/// Ports to allocate.
#[derive(Clone, Debug, JsonSchema)]
#[serde(untagged)]
pub enum Ports {
    /// A number of anonymous ports (named `org.apache.aurora.port.0`, `…1`, …, as gorealis does).
    Count(u32),
    /// Port names.
    Names(Vec<String>),
}

/// The container a task runs in.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ContainerSpec {
    /// The Mesos (unified) containerizer, optionally with an image.
    Mesos(MesosContainerSpec),
    /// The Docker containerizer (needs `-allowed_container_types=DOCKER,...`).
    Docker(DockerContainerSpec),
}

/// A Mesos container.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MesosContainerSpec {
    /// The image to run in.
    pub image: Option<ImageSpec>,
    /// Host paths mounted into the container (needs `-allow_container_volumes`).
    pub volumes: Option<Vec<VolumeSpec>>,
}

/// A container image for the Mesos containerizer.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ImageSpec {
    /// A Docker image.
    Docker(DockerImageSpec),
    /// An AppC image.
    Appc(AppcImageSpec),
}

/// A Docker image name and tag.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DockerImageSpec {
    /// The image name, e.g. `debian`.
    pub name: String,
    /// The tag, e.g. `bookworm-slim`.
    pub tag: String,
}

/// An AppC image.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppcImageSpec {
    /// The image name.
    pub name: String,
    /// The image id.
    pub image_id: String,
}

/// A volume mount.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    /// Path inside the container.
    pub container_path: String,
    /// Path on the agent.
    pub host_path: String,
    /// `RO` or `RW`.
    pub mode: VolumeMode,
}

/// A volume's access mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum VolumeMode {
    /// Read-only.
    #[serde(rename = "RO")]
    Ro,
    /// Read-write.
    #[serde(rename = "RW")]
    Rw,
}

/// A Docker container (Docker containerizer).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DockerContainerSpec {
    /// The image, e.g. `python:3.11-slim`.
    pub image: String,
    /// `docker run` parameters, in order (needs `-allow_docker_parameters`).
    pub parameters: Option<Vec<DockerParameterSpec>>,
}

/// One `docker run` parameter.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DockerParameterSpec {
    /// The parameter name, e.g. `env`.
    pub name: String,
    /// The value, e.g. `FOO=bar`.
    pub value: String,
}

/// A custom executor.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutorSpec {
    /// The executor name as configured in the scheduler (`AuroraExecutor` is Thermos).
    pub name: String,
    /// The executor data, sent verbatim (ExecutorConfig.data).
    pub data: Option<String>,
    /// A file whose content is the executor data (relative to the spec file; must be JSON).
    pub data_file: Option<String>,
}

/// A Thermos task.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct TaskSpec {
    /// The task name. Default: the first process's name.
    pub name: Option<String>,
    /// The processes.
    #[garde(length(min = 1), dive)]
    pub processes: Option<Vec<ProcessSpec>>,
    /// Run the processes one after the other, in list order (Aurora's `SequentialTask`).
    pub sequential: Option<bool>,
    /// Explicit ordering constraints: each list runs in order (Thermos `order(...)`).
    pub order: Option<Vec<Vec<String>>>,
    /// Process failures before the task fails. Default 1.
    pub max_failures: Option<u32>,
    /// At most this many processes at once (0 = unlimited). Default 0.
    pub max_concurrency: Option<u32>,
    /// Time finalizing processes get at shutdown. Default 30s.
    pub finalization_wait: Option<Duration>,
    /// Run the processes as this user instead of the role.
    pub user: Option<String>,
}

/// A Thermos process.
#[derive(Clone, Debug, Deserialize, JsonSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct ProcessSpec {
    /// The process name (no `/`, must not start with `.`).
    #[garde(length(min = 1), pattern(r"^[^/.][^/]*$"))]
    pub name: String,
    /// The shell command line. `{{thermos.ports[NAME]}}` requests a port named NAME.
    pub cmdline: String,
    /// Restart the process even when it succeeds. Default false.
    pub daemon: Option<bool>,
    /// The task does not wait for this process to finish. Default false.
    pub ephemeral: Option<bool>,
    /// Failures before the process is given up (0 = retry forever). Default 1.
    pub max_failures: Option<u32>,
    /// Minimum time between restarts. Default 5s.
    pub min_duration: Option<Duration>,
    /// A finalizing process, run after the regular ones end. Default false.
    #[serde(rename = "final")]
    pub final_: Option<bool>,
    /// Where the process's stdout/stderr go.
    pub logger: Option<LoggerSpec>,
}

/// Process output handling.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoggerSpec {
    /// `file`, `console`, `both` or `none`. Default `file`.
    pub destination: Option<LogDestination>,
    /// `standard` or `rotate`. Default `standard`.
    pub mode: Option<LogMode>,
    /// Rotation policy (for `mode: rotate`).
    pub rotate: Option<RotateSpec>,
}

/// Where logs go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogDestination {
    /// Files in the sandbox.
    File,
    /// The executor's console.
    Console,
    /// Both.
    Both,
    /// Discarded.
    None,
}

/// Log mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogMode {
    /// One growing file.
    Standard,
    /// Rotated files.
    Rotate,
}

/// Log rotation.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSpec {
    /// Size at which to rotate. Default 100MiB.
    pub log_size: Option<Size>,
    /// Rotated files kept. Default 5.
    pub backups: Option<u32>,
}

/// A Mesos fetcher URI.
#[derive(Clone, Debug, Deserialize, JsonSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct FetchUri {
    /// The URI to download.
    #[garde(length(min = 1))]
    pub uri: String,
    /// Extract archives. Default: the fetcher's default (unset).
    pub extract: Option<bool>,
    /// Cache the download on the agent.
    pub cache: Option<bool>,
    /// Save under this file name.
    pub output_file: Option<String>,
}

/// A cron schedule.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CronSpec {
    /// A 5-field crontab schedule (minute hour day-of-month month day-of-week; day-of-week
    /// 0-6, Sunday = 0; names like MON-FRI; not both day-of-month and day-of-week), evaluated
    /// in the scheduler's `-cron_timezone` (default GMT).
    #[schemars(example = "0 2 * * *")]
    pub schedule: Option<String>,
    /// What to do when a run is due while the previous one still runs. Default KILL_EXISTING.
    pub collision_policy: Option<CollisionPolicy>,
}

/// Cron collision policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[allow(clippy::upper_case_acronyms)]
pub enum CollisionPolicy {
    /// Kill the running instance and start the new run.
    #[serde(rename = "KILL_EXISTING")]
    KillExisting,
    /// Skip the new run.
    #[serde(rename = "CANCEL_NEW")]
    CancelNew,
    /// Removed from Aurora (AURORA-38); the scheduler rejects it.
    #[serde(rename = "RUN_OVERLAP")]
    RunOverlap,
}

/// Update settings.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpec {
    /// How instances are grouped. Default `{ queue: { size: 1 } }`.
    pub strategy: Option<StrategySpec>,
    /// How long an instance must stay running (and healthy) to count as updated. Default 45s.
    pub watch: Option<Duration>,
    /// Failures tolerated per instance. Default 0.
    pub max_per_instance_failures: Option<u32>,
    /// Failed instances tolerated before the update fails. Default 0.
    pub max_failed_instances: Option<u32>,
    /// Roll back when the update fails. Default true.
    pub rollback_on_failure: Option<bool>,
    /// Coordinated update: the update blocks unless pulsed at least this often.
    pub pulse_interval: Option<Duration>,
    /// Respect the job's `sla_policy` while updating. Default false.
    pub sla_aware: Option<bool>,
}

/// Update strategy.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategySpec {
    /// Keep up to `size` instances updating at once.
    Queue(QueueStrategySpec),
    /// Strict batches of `size`; the next starts when the previous is done.
    Batch(BatchStrategySpec),
    /// Batches of varying sizes, `[1, 2, 5]` = 1, then 2, then 5 (then 5 …).
    VariableBatch(VariableBatchStrategySpec),
}

/// Queue strategy.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueStrategySpec {
    /// Instances updating at once. Default 1.
    pub size: Option<u32>,
}

/// Batch strategy.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchStrategySpec {
    /// Batch size. Default 1.
    pub size: Option<u32>,
    /// Pause the update after each batch. Default false.
    pub autopause: Option<bool>,
}

/// Variable batch strategy.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableBatchStrategySpec {
    /// The batch sizes.
    pub sizes: Vec<u32>,
    /// Pause the update after each batch. Default false.
    pub autopause: Option<bool>,
}

/// The Thermos health check.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// HTTP check against the port named `health` (the default checker).
    pub http: Option<HttpHealthCheck>,
    /// A shell command check.
    pub shell: Option<ShellHealthCheck>,
    /// Grace period before the first check. Default 15s.
    pub initial_interval: Option<Duration>,
    /// Time between checks. Default 10s.
    pub interval: Option<Duration>,
    /// Failures tolerated in a row. Default 0.
    pub max_consecutive_failures: Option<u32>,
    /// Successes needed to count as healthy. Default 1.
    pub min_consecutive_successes: Option<u32>,
    /// Timeout of one check. Default 1s.
    pub timeout: Option<Duration>,
}

/// HTTP health check.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpHealthCheck {
    /// Path to GET. Default `/health`.
    pub endpoint: Option<String>,
    /// Expected body. Default `ok`.
    pub expected_response: Option<String>,
    /// Expected status code (0 = check the body instead). Default 0.
    pub expected_response_code: Option<u32>,
}

/// Shell health check.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShellHealthCheck {
    /// The command; exit 0 = healthy.
    pub command: String,
}

/// Thermos lifecycle.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// HTTP lifecycle endpoints (used only when the port is allocated).
    pub http: Option<HttpLifecycle>,
}

/// HTTP lifecycle.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpLifecycle {
    /// The port name. Default `health`.
    pub port: Option<String>,
    /// Default `/quitquitquit`.
    pub graceful_shutdown_endpoint: Option<String>,
    /// Default `/abortabortabort`.
    pub shutdown_endpoint: Option<String>,
    /// Default 5s.
    pub graceful_shutdown_wait: Option<Duration>,
    /// Default 5s.
    pub shutdown_wait: Option<Duration>,
}

/// Thermos announcer.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Announce {
    /// The primary port name. Default `http`.
    pub primary_port: Option<String>,
    /// Port aliases (name → port name) or static ports (name → number). Default
    /// `{aurora: <primary_port>}`.
    pub portmap: Option<BTreeMap<String, PortTarget>>,
    /// Custom serverset path.
    pub zk_path: Option<String>,
}

/// An announcer portmap value.
#[derive(Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(untagged)]
pub enum PortTarget {
    /// A static port number.
    Static(u16),
    /// Another port name.
    Name(String),
}

/// Partition policy.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartitionPolicySpec {
    /// Reschedule tasks on partitioned agents. Default true.
    pub reschedule: Option<bool>,
    /// Wait this long before rescheduling. Default 0s.
    pub delay: Option<Duration>,
}

/// SLA policy.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SlaPolicySpec {
    /// A percentage of instances must be running for `duration`.
    Percentage(PercentageSla),
    /// A count of instances must be running for `duration`.
    Count(CountSla),
    /// An external coordinator decides.
    Coordinator(CoordinatorSla),
}

/// Percentage SLA.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PercentageSla {
    /// Percent of instances that must stay up.
    pub percentage: f64,
    /// For how long they must have been up.
    pub duration: Duration,
}

/// Count SLA.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountSla {
    /// Instances that must stay up.
    pub count: u64,
    /// For how long they must have been up.
    pub duration: Duration,
}

/// Coordinator SLA.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoordinatorSla {
    /// The coordinator's URL.
    pub url: String,
    /// The key in the coordinator's answer. Default `drain`.
    pub status_key: Option<String>,
}

// `Ports` and `PortTarget` are read by hand instead of `#[serde(untagged)]`, whose error is
// "data did not match any variant"; these say what is accepted.

struct PortsVisitor;

impl<'de> serde::de::Visitor<'de> for PortsVisitor {
    type Value = Ports;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a number of ports or a list of port names")
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Ports, E> {
        u32::try_from(v)
            .map(Ports::Count)
            .map_err(|_| E::custom("too many ports"))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Ports, E> {
        u64::try_from(v)
            .map_err(|_| E::custom("the number of ports cannot be negative"))
            .and_then(|v| self.visit_u64(v))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Ports, A::Error> {
        let mut names = Vec::new();
        while let Some(n) = seq.next_element::<String>()? {
            names.push(n);
        }
        Ok(Ports::Names(names))
    }
}

impl<'de> Deserialize<'de> for Ports {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PortsVisitor)
    }
}

struct PortTargetVisitor;

impl serde::de::Visitor<'_> for PortTargetVisitor {
    type Value = PortTarget;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a port name or a static port number")
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PortTarget, E> {
        u16::try_from(v)
            .map(PortTarget::Static)
            .map_err(|_| E::custom(format!("port {v} is out of range (0-65535)")))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PortTarget, E> {
        // YAML and TOML readers report every integer as i64, positive ones included.
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format!("port {v} is out of range (0-65535)"))),
        }
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PortTarget, E> {
        Ok(PortTarget::Name(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for PortTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PortTargetVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A static announcer port reads from YAML and TOML, whose readers report integers as
    /// i64.
    #[test]
    fn static_portmap_ports_read_from_yaml_and_toml() {
        let yaml: BTreeMap<String, PortTarget> =
            serde_saphyr::from_str("zk: 2181\nweb: http\n").expect("yaml");
        let toml: BTreeMap<String, PortTarget> =
            toml::from_str("zk = 2181\nweb = \"http\"\n").expect("toml");
        for map in [yaml, toml] {
            assert_eq!(map["zk"], PortTarget::Static(2181));
            assert_eq!(map["web"], PortTarget::Name("http".into()));
        }
        assert!(serde_saphyr::from_str::<BTreeMap<String, PortTarget>>("zk: -1\n").is_err());
        assert!(serde_saphyr::from_str::<BTreeMap<String, PortTarget>>("zk: 70000\n").is_err());
    }
}
