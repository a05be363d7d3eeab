//! Live jobs → spec jobs, for `aurora-apply import`: a `JobConfiguration` as the scheduler
//! serves it (`getJobs`), the settings of the job's most recent update and the cluster's
//! tiers become a spec job. No network code: the caller reads the live jobs and passes a
//! verifier that decides whether a candidate spec plans as a no-op against the live job (the
//! engine's comparison), so this crate stays free of the engine.
//!
//! Per job, in order:
//!
//! 1. **Declarative** (Thermos jobs): the payload (`executorConfig.data`) is merged with what
//!    it does not carry (instance count, cron fields, resources and every `TaskConfig`-only
//!    field) and read with [`crate::read::read_job`] into `task:`, `health_check:`,
//!    `lifecycle:`, `announce:` …; accepted when the verifier finds no difference.
//! 2. **Verbatim payload** (Thermos jobs whose payload does not re-render the same): the job
//!    keeps its payload as `executor: {name: AuroraExecutor, data_file: payloads/….json}`,
//!    with the reason the declarative form was not taken.
//! 3. **Custom executor**: `executor: {name, data}` (`data_file` when the data is large
//!    JSON), built from the `TaskConfig`.
//!
//! Left out, as a hand-written spec would: values at Aurora's defaults, the tier and
//! `production` flag when the client would backfill them the same way from the cluster's
//! tiers, the tool's own metadata (the caller names its keys), the scheduler's default task
//! links. The owner is never written (aurora-apply records the role).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use aurora_spec::units::{Duration, Size};
use aurora_spec::{LoadOptions, LoadedJob, SourceFile, load_sources};
use aurora_thrift::tiers::Tiers;
use aurora_thrift::types::{
    Container, CronCollisionPolicy, Image, JobConfiguration, JobUpdateSettings, JobUpdateStrategy,
    Mode, Resource, SlaPolicy, TaskConfig, TaskConstraint,
};

use crate::error::ConvertError;
use crate::read::{ConvertedJob, read_job};
use crate::tree::{Map, Node};
use crate::write::{SpecFormat, document};

/// The Thermos executor's name.
const AURORA_EXECUTOR: &str = "AuroraExecutor";
/// Custom executor data larger than this (bytes) goes to a file under `payloads/`.
pub const INLINE_DATA_LIMIT: usize = 4096;
/// The folder (relative to the spec files) payload files are written into.
pub const PAYLOAD_DIR: &str = "payloads";
/// Anonymous ports (`ports: N`) are named like this, numbered from 0.
const ANONYMOUS_PORT_PREFIX: &str = "org.apache.aurora.port.";
const MIB: u64 = 1024 * 1024;

/// One live job, as `import` reads it.
#[derive(Clone, Copy, Debug)]
pub struct LiveJob<'a> {
    /// The cluster (the first part of the spec key).
    pub cluster: &'a str,
    /// The configuration the scheduler serves (`getJobs`).
    pub config: &'a JobConfiguration,
    /// The settings of the job's most recent update, if it had one.
    pub update_settings: Option<&'a JobUpdateSettings>,
    /// The cluster's tiers (`getTierConfigs`).
    pub tiers: &'a Tiers,
    /// Metadata keys that are a tool's own bookkeeping, left out of the spec.
    pub dropped_metadata: &'a [&'a str],
    /// A metadata key that means `protect: true` when its value is `"true"` (also left out
    /// of `metadata`).
    pub protect_key: Option<&'a str>,
}

/// How a job was imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A declarative `task:` re-renders the live Thermos payload.
    Declarative,
    /// The Thermos payload is kept verbatim; why the declarative form was not taken.
    VerbatimPayload {
        /// The differences (or reading problems) of the declarative form.
        reason: String,
    },
    /// A custom executor (or none, for an executor-less Docker job): `executor: {name, data}`.
    CustomExecutor,
}

/// A file beside the specs that a spec refers to (`executor.data_file`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadFile {
    /// Relative to the spec directory, e.g. `payloads/www-data.prod.hello.json`.
    pub path: String,
    /// The content (written as is, plus a final newline).
    pub text: String,
}

/// One imported job: the spec to write, its payload file, how it was imported, and the spec
/// as loaded (what aurora-apply will send for it).
#[derive(Clone, Debug)]
pub struct ImportedJob {
    /// The spec job (keys in writing order; `executor.data_file` when `payload` is set).
    pub job: ConvertedJob,
    /// The role (output files are per role).
    pub role: String,
    /// The file `executor.data_file` names.
    pub payload: Option<PayloadFile>,
    /// How it was imported.
    pub outcome: Outcome,
    /// The verified spec, loaded and placed on the cluster's tiers.
    pub loaded: LoadedJob,
}

/// Why a live job cannot be imported; nothing should be written for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    /// `cluster/role/environment/name` (or what is known of it).
    pub key: String,
    /// Every reason, in words.
    pub reasons: Vec<String>,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.reasons.join("; "))
    }
}

impl std::error::Error for ImportError {}

/// A spec candidate: the spec as verified (executor data inline) and as written (data in a
/// file), which load to the same job.
struct Candidate {
    job: ConvertedJob,
    written: Map,
    payload: Option<PayloadFile>,
}

/// Imports one live job. `verify` gets the candidate spec loaded and placed on the cluster's
/// tiers, and returns the fields in which it would not plan as a no-op against the live job
/// (empty: accepted). Declarative first, then the verbatim payload, for Thermos jobs.
pub fn import_job(
    live: &LiveJob<'_>,
    verify: impl Fn(&LoadedJob) -> Vec<String>,
) -> Result<ImportedJob, ImportError> {
    let key = key_of(live);
    let key_text = key
        .as_ref()
        .map_or_else(|| format!("{}/?", live.cluster), Key::text);
    let fail = |reasons: Vec<String>| ImportError {
        key: key_text.clone(),
        reasons,
    };
    let Some(key) = key else {
        return Err(fail(vec!["the job has no complete key".into()]));
    };
    let Some(task) = live.config.task_config.as_ref() else {
        return Err(fail(vec!["the job has no task config".into()]));
    };
    let common = common_fields(live, &key, task).map_err(fail)?;
    let executor = task.executor_config.as_ref();
    let name = executor.and_then(|e| e.name.clone()).unwrap_or_default();
    let data = executor.and_then(|e| e.data.clone()).unwrap_or_default();
    let file_name = format!("{PAYLOAD_DIR}/{}.json", key.parts[1..].join("."));
    let attempt = |c: Candidate| -> Result<(Candidate, LoadedJob), Vec<String>> {
        let loaded = load(&c.job, live.tiers).map_err(|e| strings(&e))?;
        let diffs = verify(&loaded);
        if diffs.is_empty() {
            Ok((c, loaded))
        } else {
            Err(diffs)
        }
    };
    let done = |(c, loaded): (Candidate, LoadedJob), outcome| ImportedJob {
        job: ConvertedJob {
            spec: c.written,
            ..c.job
        },
        role: key.parts[1].clone(),
        payload: c.payload,
        outcome,
        loaded,
    };

    if executor.is_some() && name == AURORA_EXECUTOR {
        let declarative = declarative(live, &key, task, &common, &data).and_then(&attempt);
        let reason = match declarative {
            Ok(accepted) => return Ok(done(accepted, Outcome::Declarative)),
            Err(reasons) => reasons.join("; "),
        };
        let verbatim = with_executor(&key, &common, AURORA_EXECUTOR, &data, &file_name, true)
            .and_then(&attempt);
        return match verbatim {
            Ok(accepted) => Ok(done(accepted, Outcome::VerbatimPayload { reason })),
            Err(reasons) => Err(fail(
                std::iter::once(format!("as a declarative task: {reason}"))
                    .chain(std::iter::once(format!(
                        "with its payload verbatim: {}",
                        reasons.join("; ")
                    )))
                    .collect(),
            )),
        };
    }
    let candidate = if executor.is_none() {
        Ok(plain(&key, common.clone()))
    } else {
        with_executor(&key, &common, &name, &data, &file_name, false)
    };
    candidate
        .and_then(&attempt)
        .map(|accepted| done(accepted, Outcome::CustomExecutor))
        .map_err(fail)
}

/// A job key split in its four parts.
#[derive(Clone, Debug)]
struct Key {
    parts: [String; 4],
}

impl Key {
    fn text(&self) -> String {
        self.parts.join("/")
    }
}

fn key_of(live: &LiveJob<'_>) -> Option<Key> {
    let k = live.config.key.as_ref()?;
    Some(Key {
        parts: [
            live.cluster.to_string(),
            k.role.clone()?,
            k.environment.clone()?,
            k.name.clone()?,
        ],
    })
}

fn strings(errors: &[ConvertError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

/// Loads a spec job in memory (executor data inline) and places it on `tiers`.
pub fn load(job: &ConvertedJob, tiers: &Tiers) -> Result<LoadedJob, Vec<ConvertError>> {
    let text = document(std::slice::from_ref(job), SpecFormat::Yaml, "")
        .map_err(|e| vec![ConvertError::new("", e.to_string())])?;
    let file = SourceFile::new(
        format!("{}.aurora-apply.yaml", job.name),
        text,
        aurora_spec::Format::Yaml,
    );
    let loaded = load_sources(&[file], &LoadOptions::default()).map_err(|d| {
        d.sorted()
            .iter()
            .map(|d| {
                ConvertError::new(d.location(), format!("the imported spec is not valid: {d}"))
            })
            .collect::<Vec<_>>()
    })?;
    loaded
        .into_iter()
        .next()
        .map(|l| l.with_tiers(tiers))
        .ok_or_else(|| vec![ConvertError::new("", "the imported spec has no job")])
}

/// The order keys are written in (a hand-written spec's order).
const ORDER: &[&str] = &[
    "key",
    "kind",
    "instances",
    "tier",
    "production",
    "priority",
    "max_task_failures",
    "contact",
    "protect",
    "cron",
    "resources",
    "ports",
    "constraints",
    "metadata",
    "container",
    "fetch",
    "executor",
    "update",
    "health_check",
    "lifecycle",
    "announce",
    "enable_hooks",
    "partition_policy",
    "sla_policy",
    "task",
];

/// `mine` over `read`, in [`ORDER`].
fn assemble(read: &Map, mine: &Map) -> Map {
    let mut out = Map::new();
    for k in ORDER {
        if let Some(v) = mine.get(k).or_else(|| read.get(k)) {
            out.insert(*k, v.clone());
        }
    }
    for (k, v) in read.iter().chain(mine.iter()) {
        if !ORDER.contains(&k) && out.get(k).is_none() {
            out.insert(k, v.clone());
        }
    }
    out
}

fn without(m: &Map, key: &str) -> Map {
    let mut out = Map::new();
    for (k, v) in m.iter() {
        if k != key {
            out.insert(k, v.clone());
        }
    }
    out
}

/// Everything the spec says that comes from the `JobConfiguration`, the `TaskConfig` (other
/// than the executor) and the update settings.
fn common_fields(live: &LiveJob<'_>, key: &Key, task: &TaskConfig) -> Result<Map, Vec<String>> {
    let mut errors = Vec::new();
    let mut m = Map::new();
    m.insert("key", key.text());
    let config = live.config;
    let cron = config.cron_schedule.as_deref().filter(|s| !s.is_empty());
    let service = task.is_service.unwrap_or(false);
    let kind = match (cron, service) {
        (Some(_), _) => "cron",
        (None, true) => "service",
        (None, false) => "adhoc",
    };
    m.insert("kind", kind);
    let instances = config.instance_count.unwrap_or(1);
    if instances != 1 {
        m.insert("instances", i64::from(instances));
    }
    placement(live, task, &mut m);
    if let Some(p) = task.priority.filter(|p| *p != 0) {
        m.insert("priority", i64::from(p));
    }
    if let Some(n) = task.max_task_failures.filter(|n| *n != 1) {
        m.insert("max_task_failures", i64::from(n));
    }
    if let Some(c) = task.contact_email.as_deref().filter(|c| !c.is_empty()) {
        m.insert("contact", c);
    }
    if let Some(schedule) = cron {
        let mut c = Map::new();
        c.insert("schedule", schedule);
        match config.cron_collision_policy {
            Some(CronCollisionPolicy::CANCEL_NEW) => c.insert("collision_policy", "CANCEL_NEW"),
            Some(CronCollisionPolicy::RUN_OVERLAP) => c.insert("collision_policy", "RUN_OVERLAP"),
            _ => {}
        }
        m.insert("cron", c);
    }

    let mut res = Map::new();
    let mut ports = BTreeSet::new();
    for r in task.resources.iter().flatten() {
        match r {
            Resource::NumCpus(c) => res.insert("cpu", Node::number(c.0)),
            Resource::RamMb(mb) => res.insert("ram", size_mib(*mb)),
            Resource::DiskMb(mb) => res.insert("disk", size_mib(*mb)),
            Resource::NumGpus(g) if *g > 0 => res.insert("gpu", *g),
            Resource::NumGpus(_) => {}
            Resource::NamedPort(p) => {
                ports.insert(p.clone());
            }
            Resource::IpAddr(_) => errors.push("an IP address resource cannot be expressed".into()),
        }
    }
    m.insert("resources", res);
    if !ports.is_empty() {
        m.insert("ports", ports_node(&ports));
    }

    let mut constraints = Map::new();
    for c in task.constraints.iter().flatten() {
        let name = c.name.clone().unwrap_or_default();
        let mut node = Map::new();
        match &c.constraint {
            Some(TaskConstraint::Limit(l)) => node.insert("limit", i64::from(l.limit.unwrap_or(0))),
            Some(TaskConstraint::Value(v)) => {
                let values: Vec<Node> = v
                    .values
                    .iter()
                    .flatten()
                    .map(|s| s.as_str().into())
                    .collect();
                node.insert("values", values);
                if v.negated == Some(true) {
                    node.insert("negated", true);
                }
            }
            None => errors.push(format!("constraint `{name}` has no value or limit")),
        }
        constraints.insert(name, node);
    }
    if !constraints.is_empty() {
        m.insert("constraints", constraints);
    }

    let mut metadata = Map::new();
    let mut protect = false;
    for md in task.metadata.iter().flatten() {
        let k = md.key.clone().unwrap_or_default();
        let v = md.value.clone().unwrap_or_default();
        if live.protect_key == Some(k.as_str()) && v == "true" {
            protect = true;
            continue;
        }
        if live.dropped_metadata.contains(&k.as_str()) || live.protect_key == Some(k.as_str()) {
            continue;
        }
        if metadata.get(&k).is_some() {
            errors.push(format!(
                "metadata key `{k}` has several values; a spec holds one value per key"
            ));
            continue;
        }
        metadata.insert(k, v);
    }
    if protect {
        m.insert("protect", true);
    }
    if !metadata.is_empty() {
        m.insert("metadata", metadata);
    }
    if let Some(c) = task.container.as_ref().and_then(container) {
        m.insert("container", c);
    }
    let fetch: Vec<Node> = task
        .mesos_fetcher_uris
        .iter()
        .flatten()
        .map(|f| {
            let mut n = Map::new();
            n.insert("uri", f.value.clone().unwrap_or_default());
            if let Some(b) = f.extract {
                n.insert("extract", b);
            }
            if let Some(b) = f.cache {
                n.insert("cache", b);
            }
            if let Some(o) = &f.output_file {
                n.insert("output_file", o.as_str());
            }
            Node::Map(n)
        })
        .collect();
    if !fetch.is_empty() {
        m.insert("fetch", fetch);
    }
    if kind != "cron"
        && let Some(u) = live.update_settings.and_then(update)
    {
        m.insert("update", u);
    }
    if let Some(p) = &task.partition_policy {
        let mut n = Map::new();
        if p.reschedule == Some(false) {
            n.insert("reschedule", false);
        }
        if let Some(d) = p.delay_secs.filter(|d| *d != 0) {
            n.insert("delay", secs(d));
        }
        m.insert("partition_policy", n);
    }
    if let Some(p) = &task.sla_policy {
        let mut n = Map::new();
        let mut inner = Map::new();
        match p {
            SlaPolicy::PercentageSlaPolicy(p) => {
                inner.insert(
                    "percentage",
                    Node::number(p.percentage.map_or(0.0, |f| f.0)),
                );
                inner.insert("duration", secs(p.duration_secs.unwrap_or(0)));
                n.insert("percentage", inner);
            }
            SlaPolicy::CountSlaPolicy(c) => {
                inner.insert("count", c.count.unwrap_or(0));
                inner.insert("duration", secs(c.duration_secs.unwrap_or(0)));
                n.insert("count", inner);
            }
            SlaPolicy::CoordinatorSlaPolicy(c) => {
                inner.insert("url", c.coordinator_url.clone().unwrap_or_default());
                if let Some(k) = c.status_key.as_deref().filter(|k| *k != "drain") {
                    inner.insert("status_key", k);
                }
                n.insert("coordinator", inner);
            }
        }
        m.insert("sla_policy", n);
    }
    if errors.is_empty() {
        Ok(m)
    } else {
        Err(errors)
    }
}

/// `tier` and `production`: nothing when Aurora's client would backfill the live placement
/// from the cluster's tiers, else the tier (and `production` only when the tier does not
/// decide it).
fn placement(live: &LiveJob<'_>, task: &TaskConfig, m: &mut Map) {
    let tiers = live.tiers;
    let tier = task
        .tier
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| tiers.default_tier.clone());
    let production = tiers.scheduler_production(Some(&tier), task.production.unwrap_or(false));
    let candidates: [(Option<&str>, bool); 4] = [
        (None, false),
        (Some(tier.as_str()), false),
        (Some(tier.as_str()), true),
        (None, true),
    ];
    for (t, p) in candidates {
        let got = tiers.client_placement(t, p);
        if got.tier == tier && tiers.scheduler_production(Some(&tier), got.production) == production
        {
            if let Some(t) = t {
                m.insert("tier", t);
            }
            if p {
                m.insert("production", true);
            }
            return;
        }
    }
    // Unreachable in practice (the second candidate always names the tier); the verifier
    // reports whatever differs.
    m.insert("tier", tier.as_str());
}

/// `ports: N` for anonymous ports 0..N, else the names.
fn ports_node(ports: &BTreeSet<String>) -> Node {
    let anonymous =
        (0..ports.len()).all(|i| ports.contains(&format!("{ANONYMOUS_PORT_PREFIX}{i}")));
    if anonymous {
        Node::Int(i64::try_from(ports.len()).unwrap_or(i64::MAX))
    } else {
        Node::Seq(ports.iter().map(|p| p.as_str().into()).collect())
    }
}

fn container(c: &Container) -> Option<Node> {
    let mut out = Map::new();
    match c {
        Container::Docker(d) => {
            let mut n = Map::new();
            n.insert("image", d.image.clone().unwrap_or_default());
            let params: Vec<Node> = d
                .parameters
                .iter()
                .flatten()
                .map(|p| {
                    let mut m = Map::new();
                    m.insert("name", p.name.clone().unwrap_or_default());
                    m.insert("value", p.value.clone().unwrap_or_default());
                    Node::Map(m)
                })
                .collect();
            if !params.is_empty() {
                n.insert("parameters", params);
            }
            out.insert("docker", n);
        }
        Container::Mesos(mc) => {
            let mut n = Map::new();
            if let Some(img) = &mc.image {
                let mut i = Map::new();
                match img {
                    Image::Docker(d) => {
                        let mut x = Map::new();
                        x.insert("name", d.name.clone().unwrap_or_default());
                        x.insert("tag", d.tag.clone().unwrap_or_default());
                        i.insert("docker", x);
                    }
                    Image::Appc(a) => {
                        let mut x = Map::new();
                        x.insert("name", a.name.clone().unwrap_or_default());
                        x.insert("image_id", a.image_id.clone().unwrap_or_default());
                        i.insert("appc", x);
                    }
                }
                n.insert("image", i);
            }
            let volumes: Vec<Node> = mc
                .volumes
                .iter()
                .flatten()
                .map(|v| {
                    let mut m = Map::new();
                    m.insert(
                        "container_path",
                        v.container_path.clone().unwrap_or_default(),
                    );
                    m.insert("host_path", v.host_path.clone().unwrap_or_default());
                    m.insert("mode", if v.mode == Some(Mode::RW) { "RW" } else { "RO" });
                    Node::Map(m)
                })
                .collect();
            if !volumes.is_empty() {
                n.insert("volumes", volumes);
            }
            if n.is_empty() {
                return None;
            }
            out.insert("mesos", n);
        }
    }
    Some(out.into())
}

/// The spec's `update:` for live update settings (the inverse of Aurora's `updater_util.py`
/// as aurora-spec renders it); `None` when every setting is at its default.
fn update(s: &JobUpdateSettings) -> Option<Node> {
    let mut out = Map::new();
    let group = s.update_group_size.unwrap_or(1);
    let strategy = match &s.update_strategy {
        Some(JobUpdateStrategy::QueueStrategy(q)) => {
            let size = q.group_size.unwrap_or(1);
            (size != 1).then(|| {
                let mut n = Map::new();
                n.insert("size", i64::from(size));
                ("queue", n)
            })
        }
        Some(JobUpdateStrategy::BatchStrategy(b)) => {
            let mut n = Map::new();
            n.insert("size", i64::from(b.group_size.unwrap_or(1)));
            if b.autopause_after_batch == Some(true) {
                n.insert("autopause", true);
            }
            Some(("batch", n))
        }
        Some(JobUpdateStrategy::VarBatchStrategy(v)) => {
            let mut n = Map::new();
            let sizes: Vec<Node> = v
                .group_sizes
                .iter()
                .flatten()
                .map(|s| Node::Int(i64::from(*s)))
                .collect();
            n.insert("sizes", sizes);
            if v.autopause_after_batch == Some(true) {
                n.insert("autopause", true);
            }
            Some(("variable_batch", n))
        }
        // An older client's settings: the group size and whether batches wait.
        None => {
            let wait = s.wait_for_batch_completion.unwrap_or(false);
            (wait || group != 1).then(|| {
                let mut n = Map::new();
                n.insert("size", i64::from(group));
                (if wait { "batch" } else { "queue" }, n)
            })
        }
    };
    if let Some((name, n)) = strategy {
        let mut st = Map::new();
        st.insert(name, n);
        out.insert("strategy", st);
    }
    if let Some(ms) = s.min_wait_in_instance_running_ms.filter(|ms| *ms != 45_000) {
        out.insert("watch", millis(ms));
    }
    if let Some(n) = s.max_per_instance_failures.filter(|n| *n != 0) {
        out.insert("max_per_instance_failures", i64::from(n));
    }
    if let Some(n) = s.max_failed_instances.filter(|n| *n != 0) {
        out.insert("max_failed_instances", i64::from(n));
    }
    if s.rollback_on_failure == Some(false) {
        out.insert("rollback_on_failure", false);
    }
    // The scheduler stores an unset pulse interval as 0.
    if let Some(ms) = s.block_if_no_pulses_after_ms.filter(|ms| *ms > 0) {
        out.insert("pulse_interval", millis(ms));
    }
    if s.sla_aware == Some(true) {
        out.insert("sla_aware", true);
    }
    (!out.is_empty()).then(|| out.into())
}

/// The declarative candidate of a Thermos job: its payload merged with the `TaskConfig`.
fn declarative(
    live: &LiveJob<'_>,
    key: &Key,
    task: &TaskConfig,
    common: &Map,
    data: &str,
) -> Result<Candidate, Vec<String>> {
    let payload: Value = serde_json::from_str(data)
        .map_err(|e| vec![format!("the Thermos payload is not JSON: {e}")])?;
    let Value::Object(mut job) = payload else {
        return Err(vec!["the Thermos payload is not a JSON object".into()]);
    };
    // What the TaskConfig, the JobConfiguration and the update settings say instead (read
    // by the spec from `common`); the payload's own copy of a field the executor reads must
    // then agree, which the verifier checks.
    for k in [
        "tier",
        "production",
        "priority",
        "max_task_failures",
        "contact",
        "constraints",
        "metadata",
        "container",
        "partition_policy",
        "sla_policy",
        "executor_config",
        "instances",
        "update_config",
        "cron_schedule",
        "cron_collision_policy",
        "task_links",
    ] {
        job.remove(k);
    }
    let [cluster, role, environment, name] = key.parts.clone();
    job.insert("cluster".into(), json!(cluster));
    job.insert("role".into(), json!(role));
    job.insert("environment".into(), json!(environment));
    job.insert("name".into(), json!(name));
    job.insert("service".into(), json!(task.is_service.unwrap_or(false)));
    // Resources are the TaskConfig's (the payload's copy is not what the scheduler offers).
    if let Some(Value::Object(t)) = job.get_mut("task") {
        let mut res = serde_json::Map::new();
        for r in task.resources.iter().flatten() {
            match r {
                Resource::NumCpus(c) => {
                    res.insert("cpu".into(), json!(c.0));
                }
                Resource::RamMb(mb) => {
                    res.insert("ram".into(), json!(mb.saturating_mul(MIB as i64)));
                }
                Resource::DiskMb(mb) => {
                    res.insert("disk".into(), json!(mb.saturating_mul(MIB as i64)));
                }
                Resource::NumGpus(g) => {
                    res.insert("gpu".into(), json!(g));
                }
                _ => {}
            }
        }
        t.insert("resources".into(), Value::Object(res));
    }
    let read = read_job(&Value::Object(job), "payload").map_err(|e| strings(&e))?;
    let read_spec = without(&read.spec, "ports");
    // Ports the payload's templates imply are not written; others are.
    let mut mine = without(common, "ports");
    let mut job = ConvertedJob {
        key: key.text(),
        name: key.parts[3].clone(),
        path: String::new(),
        spec: assemble(&read_spec, &mine),
    };
    let live_ports: BTreeSet<String> = aurora_thrift::task::named_ports(task);
    if !live_ports.is_empty() {
        let first = load(&job, live.tiers).map_err(|e| strings(&e))?;
        let implied = first
            .config
            .task_config
            .as_ref()
            .map(aurora_thrift::task::named_ports)
            .unwrap_or_default();
        let extra: BTreeSet<String> = live_ports.difference(&implied).cloned().collect();
        if !extra.is_empty() {
            mine.insert(
                "ports",
                Node::Seq(extra.iter().map(|p| p.as_str().into()).collect()),
            );
            job.spec = assemble(&read_spec, &mine);
        }
    }
    let written = job.spec.clone();
    Ok(Candidate {
        job,
        written,
        payload: None,
    })
}

/// A job with an executor's data as it is: inline, or in a file when large (`verbatim`: a
/// Thermos payload, always in a file, so the spec stays readable).
fn with_executor(
    key: &Key,
    common: &Map,
    name: &str,
    data: &str,
    file: &str,
    verbatim: bool,
) -> Result<Candidate, Vec<String>> {
    let mut inline = Map::new();
    inline.insert("name", name);
    inline.insert("data", data);
    // `data_file` is read as JSON and its trailing whitespace dropped: only such data can go
    // to a file unchanged.
    let fits_file = serde_json::from_str::<Value>(data).is_ok() && data.trim_end() == data;
    let to_file = fits_file && (verbatim || data.len() > INLINE_DATA_LIMIT);
    let mut spec = common.clone();
    spec.insert("executor", inline);
    let job = ConvertedJob {
        key: key.text(),
        name: key.parts[3].clone(),
        path: String::new(),
        spec: assemble(&spec, &Map::new()),
    };
    let (written, payload) = if to_file {
        let mut ex = Map::new();
        ex.insert("name", name);
        ex.insert("data_file", file);
        let mut w = common.clone();
        w.insert("executor", ex);
        (
            assemble(&w, &Map::new()),
            Some(PayloadFile {
                path: file.to_string(),
                text: data.to_string(),
            }),
        )
    } else {
        (job.spec.clone(), None)
    };
    Ok(Candidate {
        job,
        written,
        payload,
    })
}

/// An executor-less job (Docker): the common fields alone.
fn plain(key: &Key, common: Map) -> Candidate {
    let job = ConvertedJob {
        key: key.text(),
        name: key.parts[3].clone(),
        path: String::new(),
        spec: assemble(&common, &Map::new()),
    };
    let written = job.spec.clone();
    Candidate {
        job,
        written,
        payload: None,
    }
}

fn size_mib(mb: i64) -> Node {
    Node::Str(Size(u64::try_from(mb).unwrap_or(0).saturating_mul(MIB)).to_string())
}

fn secs(s: i64) -> Node {
    Node::Str(
        Duration(std::time::Duration::from_secs(
            u64::try_from(s).unwrap_or(0),
        ))
        .to_string(),
    )
}

fn millis(ms: i32) -> Node {
    Node::Str(
        Duration(std::time::Duration::from_millis(
            u64::try_from(ms).unwrap_or(0),
        ))
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurora_thrift::types::Metadata;

    fn fixture(name: &str) -> JobConfiguration {
        aurora_thrift::testing::job_configuration(name)
    }

    fn live<'a>(config: &'a JobConfiguration, tiers: &'a Tiers) -> LiveJob<'a> {
        LiveJob {
            cluster: "devcluster",
            config,
            update_settings: None,
            tiers,
            dropped_metadata: &["tool.managed"],
            protect_key: Some("tool.protect"),
        }
    }

    fn text(job: &ImportedJob) -> String {
        document(std::slice::from_ref(&job.job), SpecFormat::Yaml, "s.json").expect("text")
    }

    #[test]
    fn a_thermos_job_becomes_a_declarative_task_without_defaults() {
        let (config, tiers) = (fixture("hello_world"), Tiers::aurora_default());
        let job = import_job(&live(&config, &tiers), |_| Vec::new()).expect("imports");
        assert_eq!(job.outcome, Outcome::Declarative);
        assert_eq!(job.payload, None);
        let t = text(&job);
        assert!(t.contains("sequential: true"), "{t}");
        for absent in [
            "executor",
            "tier",
            "production",
            "owner",
            "health_check",
            "instances",
        ] {
            assert!(!t.contains(absent), "{absent}: {t}");
        }
    }

    #[test]
    fn a_payload_that_does_not_re_render_is_kept_verbatim_with_the_reason() {
        let (config, tiers) = (fixture("hello_world"), Tiers::aurora_default());
        let data = config
            .task_config
            .as_ref()
            .and_then(|t| t.executor_config.as_ref())
            .and_then(|e| e.data.clone())
            .expect("payload");
        let job = import_job(&live(&config, &tiers), |loaded| {
            if loaded.job.spec.task.is_some() {
                vec!["task.processes[hello].cmdline: differs".into()]
            } else {
                Vec::new()
            }
        })
        .expect("imports");
        match &job.outcome {
            Outcome::VerbatimPayload { reason } => assert!(reason.contains("cmdline"), "{reason}"),
            other => panic!("{other:?}"),
        }
        let payload = job.payload.clone().expect("payload file");
        assert_eq!(payload.path, "payloads/www-data.prod.hello.json");
        assert_eq!(payload.text, data);
        let t = text(&job);
        assert!(
            t.contains("data_file: payloads/www-data.prod.hello.json"),
            "{t}"
        );
        assert!(t.contains("name: AuroraExecutor"), "{t}");
    }

    #[test]
    fn a_job_that_differs_either_way_is_refused_with_both_reasons() {
        let (config, tiers) = (fixture("hello_world"), Tiers::aurora_default());
        let err = import_job(&live(&config, &tiers), |_| {
            vec!["resources.cpu: differs".into()]
        })
        .expect_err("refused");
        assert_eq!(err.key, "devcluster/www-data/prod/hello");
        assert_eq!(err.reasons.len(), 2, "{err}");
        assert!(err.reasons[0].starts_with("as a declarative task"), "{err}");
        assert!(
            err.reasons[1].starts_with("with its payload verbatim"),
            "{err}"
        );
    }

    #[test]
    fn tool_metadata_is_dropped_and_protection_becomes_protect() {
        let (mut config, tiers) = (fixture("hello_world"), Tiers::aurora_default());
        let task = config.task_config.as_mut().expect("task");
        task.metadata = Some(
            [
                ("tool.managed", "true"),
                ("tool.protect", "true"),
                ("team", "a"),
            ]
            .into_iter()
            .map(|(k, v)| Metadata {
                key: Some(k.into()),
                value: Some(v.into()),
            })
            .collect(),
        );
        let job = import_job(&live(&config, &tiers), |_| Vec::new()).expect("imports");
        let t = text(&job);
        assert!(t.contains("protect: true"), "{t}");
        assert!(t.contains("team: a"), "{t}");
        assert!(!t.contains("tool."), "{t}");
        assert_eq!(job.loaded.job.spec.protect, Some(true));
    }
}
