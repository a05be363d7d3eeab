//! Reading one pystachio `Job` (Aurora's JSON job file entry, or the Thermos executor payload,
//! which is the same structure minus `instances` and `update_config`) into a spec job.
//!
//! This inverts aurora-spec's rendering (`aurora_spec::thermos` for the payload,
//! `aurora_spec::convert` for the Thrift structs): every field the spec can say is read, a
//! value equal to the spec's default is left out (so the result reads like a hand-written
//! spec), and every field the spec cannot say is an error at its JSON path. Nothing is
//! guessed: the caller verifies the result by rendering it (see [`crate::verify`]).

use serde_json::{Map as JsonMap, Value};

use aurora_spec::units::{Duration, Size};
use aurora_thrift::tiers::Tiers;

use crate::error::ConvertError;
use crate::tree::{Map, Node};

/// The Thermos executor's name (Aurora's `AURORA_EXECUTOR_NAME`).
const AURORA_EXECUTOR: &str = "AuroraExecutor";

/// A job read from Aurora's JSON: the spec mapping for `jobs:` and its key.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvertedJob {
    /// `cluster/role/environment/name`.
    pub key: String,
    /// The job's name (the last part of the key), for naming output files.
    pub name: String,
    /// Where the job is in its input document (`jobs[0]`, or empty for a single Job object).
    pub path: String,
    /// The spec job, keys in the order a person would write them.
    pub spec: Map,
}

/// The jobs of an Aurora JSON document: `{"jobs": [Job, …]}` (`aurora job create
/// --read-json`) or one Job object (`aurora job inspect --write-json`, or a Thermos payload).
/// Each entry is the job's path prefix (`jobs[N]` or empty) and its JSON value.
pub fn jobs_of(document: &Value) -> Result<Vec<(String, &Value)>, ConvertError> {
    match document {
        Value::Object(m) if m.contains_key("jobs") => match &m["jobs"] {
            Value::Array(items) => {
                if let Some(extra) = m.keys().find(|k| *k != "jobs") {
                    return Err(ConvertError::new(
                        extra.as_str(),
                        "unexpected key beside `jobs` in a job file",
                    ));
                }
                Ok(items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("jobs[{i}]"), v))
                    .collect())
            }
            _ => Err(ConvertError::new("jobs", "expected a list of jobs")),
        },
        Value::Object(_) => Ok(vec![(String::new(), document)]),
        _ => Err(ConvertError::new(
            "",
            "expected a job object or {\"jobs\": [ … ]}",
        )),
    }
}

/// Reads one pystachio Job (either form) at `path` into a spec job. Every problem is
/// returned, each at its JSON path; then nothing should be written for the job.
pub fn read_job(job: &Value, path: &str) -> Result<ConvertedJob, Vec<ConvertError>> {
    let mut r = Reader { errors: Vec::new() };
    check_templates(job, path, &mut r.errors);
    let out = match job {
        Value::Object(m) => r.job(m, path),
        _ => {
            r.err(path, "expected a job object");
            None
        }
    };
    match out {
        Some(job) if r.errors.is_empty() => Ok(job),
        _ => Err(r.errors),
    }
}

/// Mustache templates other than the executor's runtime namespaces (`{{thermos.…}}`,
/// `{{mesos.…}}`, also as `{{&…}}`) were meant to be bound by Aurora's client; a spec is
/// plain data, so an unbound one cannot be carried over.
fn check_templates(v: &Value, path: &str, errors: &mut Vec<ConvertError>) {
    match v {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(start) = rest.find("{{") {
                rest = &rest[start + 2..];
                let Some(end) = rest.find("}}") else { break };
                let inner = rest[..end].trim();
                let name = inner.strip_prefix('&').unwrap_or(inner).trim();
                if !(name.starts_with("thermos.") || name.starts_with("mesos.")) {
                    errors.push(ConvertError::new(
                        path,
                        format!(
                            "unbound template `{{{{{inner}}}}}`: only the executor's {{{{thermos.…}}}} and {{{{mesos.…}}}} are bound at run time; bind it first (aurora job inspect --write-json binds the config's own variables)"
                        ),
                    ));
                }
                rest = &rest[end + 2..];
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_templates(item, &format!("{path}[{i}]"), errors);
            }
        }
        Value::Object(m) => {
            for (k, item) in m {
                check_templates(item, &join(path, k), errors);
            }
        }
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Keys of pystachio's `Job` (Aurora 0.22 `MesosJob`) that this reader understands.
const JOB_KEYS: &[&str] = &[
    "name",
    "role",
    "cluster",
    "environment",
    "instances",
    "task",
    "announce",
    "tier",
    "cron_schedule",
    "cron_collision_policy",
    "update_config",
    "constraints",
    "service",
    "max_task_failures",
    "production",
    "priority",
    "health_check_config",
    "container",
    "lifecycle",
    "enable_hooks",
    "partition_policy",
    "metadata",
    "executor_config",
    "sla_policy",
    "contact",
    "task_links",
];

struct Reader {
    errors: Vec<ConvertError>,
}

/// A value that is absent or JSON `null` (pystachio leaves unset fields out).
fn get<'a>(m: &'a JsonMap<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

impl Reader {
    fn err(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(ConvertError::new(path, message));
    }

    fn unknown(&mut self, m: &JsonMap<String, Value>, known: &[&str], path: &str) {
        for k in m.keys() {
            if !known.contains(&k.as_str()) {
                self.err(
                    &join(path, k),
                    format!("`{k}` is not supported by the spec format"),
                );
            }
        }
    }

    fn string(&mut self, m: &JsonMap<String, Value>, key: &str, path: &str) -> Option<String> {
        match get(m, key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.err(&join(path, key), "expected a string");
                None
            }
        }
    }

    fn required_string(
        &mut self,
        m: &JsonMap<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<String> {
        let v = self.string(m, key, path);
        if v.is_none() && get(m, key).is_none() {
            self.err(&join(path, key), "required");
        }
        v
    }

    fn bool(&mut self, m: &JsonMap<String, Value>, key: &str, path: &str) -> Option<bool> {
        match get(m, key)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.err(&join(path, key), "expected true or false");
                None
            }
        }
    }

    fn int(&mut self, m: &JsonMap<String, Value>, key: &str, path: &str) -> Option<i64> {
        let v = get(m, key)?;
        match v.as_i64() {
            Some(n) => Some(n),
            None => match v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                #[allow(clippy::cast_possible_truncation)]
                Some(f) => Some(f as i64),
                None => {
                    self.err(&join(path, key), "expected an integer");
                    None
                }
            },
        }
    }

    fn uint(&mut self, m: &JsonMap<String, Value>, key: &str, path: &str) -> Option<i64> {
        let n = self.int(m, key, path)?;
        if n < 0 || n > i64::from(u32::MAX) {
            self.err(&join(path, key), format!("{n} is out of range"));
            return None;
        }
        Some(n)
    }

    fn number(&mut self, m: &JsonMap<String, Value>, key: &str, path: &str) -> Option<f64> {
        match get(m, key)?.as_f64() {
            Some(f) => Some(f),
            None => {
                self.err(&join(path, key), "expected a number");
                None
            }
        }
    }

    fn object<'a>(
        &mut self,
        m: &'a JsonMap<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a JsonMap<String, Value>> {
        match get(m, key)? {
            Value::Object(o) => Some(o),
            _ => {
                self.err(&join(path, key), "expected an object");
                None
            }
        }
    }

    fn array<'a>(
        &mut self,
        m: &'a JsonMap<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Vec<Value>> {
        match get(m, key)? {
            Value::Array(a) => Some(a),
            _ => {
                self.err(&join(path, key), "expected a list");
                None
            }
        }
    }

    /// Seconds (integer or float) as a spec duration (`45s`, `1m 30s`, `500ms`).
    fn duration(&mut self, m: &JsonMap<String, Value>, key: &str, path: &str) -> Option<f64> {
        let s = self.number(m, key, path)?;
        if !(s >= 0.0 && s.is_finite()) {
            self.err(&join(path, key), format!("{s} is not a duration"));
            return None;
        }
        Some(s)
    }

    /// Bytes as a spec size (`128MiB`).
    fn size(&mut self, m: &JsonMap<String, Value>, key: &str, path: &str) -> Option<Node> {
        let n = self.int(m, key, path)?;
        match u64::try_from(n) {
            Ok(b) => Some(Node::Str(Size(b).to_string())),
            Err(_) => {
                self.err(&join(path, key), "a size cannot be negative");
                None
            }
        }
    }

    fn job(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<ConvertedJob> {
        self.unknown(m, JOB_KEYS, path);
        let cluster = self.required_string(m, "cluster", path);
        let role = self.required_string(m, "role", path);
        let environment = self.required_string(m, "environment", path);
        let name = self.required_string(m, "name", path);
        let mut spec = Map::new();
        let (cluster, role, environment, name) = (cluster?, role?, environment?, name?);
        let key = format!("{cluster}/{role}/{environment}/{name}");
        if [&cluster, &role, &environment, &name]
            .iter()
            .any(|p| p.contains('/'))
        {
            self.err(path, format!("job key parts cannot contain `/`: {key}"));
        }
        spec.insert("key", key.as_str());

        let service = self.bool(m, "service", path).unwrap_or(false);
        let cron_schedule = self.string(m, "cron_schedule", path);
        let kind = match (service, &cron_schedule) {
            (true, Some(_)) => {
                self.err(
                    &join(path, "cron_schedule"),
                    "A service task may not be run on a cron schedule",
                );
                "service"
            }
            (true, None) => "service",
            (false, Some(_)) => "cron",
            (false, None) => "adhoc",
        };
        spec.insert("kind", kind);

        if let Some(n) = self.int(m, "instances", path) {
            if n < 1 || n > i64::from(u32::MAX) {
                self.err(&join(path, "instances"), format!("{n} is out of range"));
            } else if n != 1 {
                spec.insert("instances", n);
            }
        }

        self.placement(m, path, &mut spec);
        if let Some(p) = self.int(m, "priority", path).filter(|p| *p != 0) {
            spec.insert("priority", p);
        }
        if let Some(n) = self.int(m, "max_task_failures", path).filter(|n| *n != 1) {
            spec.insert("max_task_failures", n);
        }
        if let Some(c) = self.string(m, "contact", path) {
            spec.insert("contact", c);
        }

        let policy = self.string(m, "cron_collision_policy", path);
        if let Some(p) = &policy
            && !["KILL_EXISTING", "CANCEL_NEW", "RUN_OVERLAP"].contains(&p.as_str())
        {
            self.err(
                &join(path, "cron_collision_policy"),
                format!("unknown collision policy `{p}`"),
            );
        }
        let policy = policy.filter(|p| p != "KILL_EXISTING");
        match &cron_schedule {
            Some(schedule) if kind == "cron" => {
                let mut cron = Map::new();
                cron.insert("schedule", schedule.as_str());
                if let Some(p) = policy {
                    cron.insert("collision_policy", p);
                }
                spec.insert("cron", cron);
            }
            _ => {
                if policy.is_some() {
                    self.err(
                        &join(path, "cron_collision_policy"),
                        "a collision policy other than KILL_EXISTING on a job without cron_schedule cannot be expressed",
                    );
                }
            }
        }

        let task = self.object(m, "task", path);
        let task_path = join(path, "task");
        if task.is_none() && get(m, "task").is_none() {
            self.err(&task_path, "required");
        }
        if let Some(res) = task.and_then(|t| self.object(t, "resources", &task_path)) {
            let res_path = join(&task_path, "resources");
            if let Some(r) = self.resources(res, &res_path) {
                spec.insert("resources", r);
            }
        } else if task.is_some() {
            self.err(&join(&task_path, "resources"), "required");
        }

        if let Some(c) = self.object(m, "constraints", path) {
            let c = self.constraints(c, &join(path, "constraints"));
            if !c.is_empty() {
                spec.insert("constraints", c);
            }
        }
        if let Some(md) = self.array(m, "metadata", path) {
            let md = self.metadata(md, &join(path, "metadata"));
            if !md.is_empty() {
                spec.insert("metadata", md);
            }
        }
        if let Some(c) = get(m, "container")
            && let Some(c) = self.container(c, &join(path, "container"))
        {
            spec.insert("container", c);
        }
        if let Some(links) = get(m, "task_links")
            && links.as_object().is_none_or(|o| !o.is_empty())
        {
            self.err(
                &join(path, "task_links"),
                "task links cannot be expressed (Aurora's client does not send them either; the scheduler makes links for ports `http` and `health`)",
            );
        }

        let custom = self.executor(m, path);
        if let Some(ex) = &custom {
            spec.insert("executor", ex.clone());
        }
        if kind != "cron"
            && let Some(u) = self.object(m, "update_config", path)
            && let Some(u) = self.update(u, &join(path, "update_config"))
        {
            spec.insert("update", u);
        }

        let mut thermos_only = Vec::new();
        if let Some(h) = self.object(m, "health_check_config", path)
            && let Some(h) = self.health_check(h, &join(path, "health_check_config"))
        {
            thermos_only.push("health_check_config");
            spec.insert("health_check", h);
        }
        if let Some(l) = self.object(m, "lifecycle", path)
            && let Some(l) = self.lifecycle(l, &join(path, "lifecycle"))
        {
            thermos_only.push("lifecycle");
            spec.insert("lifecycle", l);
        }
        if let Some(a) = self.object(m, "announce", path) {
            let a = self.announce(a, &join(path, "announce"));
            thermos_only.push("announce");
            spec.insert("announce", a);
        }
        if self.bool(m, "enable_hooks", path) == Some(true) {
            thermos_only.push("enable_hooks");
            spec.insert("enable_hooks", true);
        }
        if let Some(p) = self.object(m, "partition_policy", path) {
            let p = self.partition_policy(p, &join(path, "partition_policy"));
            spec.insert("partition_policy", p);
        }
        if let Some(p) = get(m, "sla_policy")
            && let Some(p) = self.sla_policy(p, &join(path, "sla_policy"))
        {
            spec.insert("sla_policy", p);
        }

        if custom.is_some() {
            for key in thermos_only {
                self.err(
                    &join(path, key),
                    "only the Thermos executor uses this, and the job names a custom executor",
                );
            }
        } else if let Some(t) = task
            && let Some(t) = self.task(t, &task_path)
        {
            spec.insert("task", t);
        }

        Some(ConvertedJob {
            key,
            name,
            path: path.to_string(),
            spec,
        })
    }

    /// `tier` and `production`, leaving out what Aurora's client backfills from the bundled
    /// tiers (the same placement aurora-spec applies when a spec leaves them out).
    fn placement(&mut self, m: &JsonMap<String, Value>, path: &str, spec: &mut Map) {
        let tier = self.string(m, "tier", path);
        let production = self.bool(m, "production", path).unwrap_or(false);
        let tiers = Tiers::aurora_default();
        let Some(tier) = tier else {
            if production {
                spec.insert("production", true);
            }
            return;
        };
        let want = (tier.as_str(), production);
        // Nothing when the client would backfill both; else the tier (Aurora deprecates
        // `production` in favour of tiers); `production: true` alone only as a last resort.
        let candidates: [(Option<&str>, bool); 3] = [
            (None, false),
            (Some(tier.as_str()), production),
            (None, true),
        ];
        for (t, p) in candidates {
            let got = tiers.client_placement(t, p);
            if (got.tier.as_str(), got.production) == want {
                if let Some(t) = t {
                    spec.insert("tier", t);
                    // With a tier, `production` follows from it on the bundled tiers.
                    let implied = tiers.client_placement(Some(t), false).production;
                    if implied != production {
                        spec.insert("production", production);
                    }
                } else if p {
                    spec.insert("production", true);
                }
                return;
            }
        }
        self.err(
            &join(path, "production"),
            format!(
                "tier `{tier}` with production {production} cannot be expressed: Aurora's client derives production from the tier"
            ),
        );
    }

    fn resources(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(m, &["cpu", "ram", "disk", "gpu"], path);
        let mut out = Map::new();
        match self.number(m, "cpu", path) {
            Some(cpu) => out.insert("cpu", number(cpu)),
            None if get(m, "cpu").is_none() => self.err(&join(path, "cpu"), "required"),
            None => {}
        }
        for key in ["ram", "disk"] {
            match self.size(m, key, path) {
                Some(s) => out.insert(key, s),
                None if get(m, key).is_none() => self.err(&join(path, key), "required"),
                None => {}
            }
        }
        if let Some(g) = self.uint(m, "gpu", path).filter(|g| *g > 0) {
            out.insert("gpu", g);
        }
        Some(out.into())
    }

    fn constraints(&mut self, m: &JsonMap<String, Value>, path: &str) -> Map {
        let mut out = Map::new();
        for (name, v) in m {
            let p = join(path, name);
            let Some(s) = v.as_str() else {
                self.err(
                    &p,
                    "expected a constraint string (`a,b`, `!a,b` or `limit:N`)",
                );
                continue;
            };
            let mut c = Map::new();
            if let Some(limit) = s.strip_prefix("limit:") {
                match limit.trim().parse::<i64>() {
                    Ok(n) if n >= 1 => c.insert("limit", n),
                    _ => {
                        self.err(&p, format!("`{s}` is not a limit of at least 1"));
                        continue;
                    }
                }
            } else {
                let (negated, list) = match s.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, s),
                };
                // A set in Aurora (and sorted in the payload aurora-spec renders): sorted here.
                let mut values: Vec<&str> = list.split(',').map(str::trim).collect();
                values.sort_unstable();
                values.dedup();
                let values: Vec<Node> = values.into_iter().map(Node::from).collect();
                c.insert("values", values);
                if negated {
                    c.insert("negated", true);
                }
            }
            out.insert(name.as_str(), c);
        }
        out
    }

    fn metadata(&mut self, items: &[Value], path: &str) -> Map {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(o) = item.as_object() else {
                self.err(&p, "expected {\"key\": …, \"value\": …}");
                continue;
            };
            self.unknown(o, &["key", "value"], &p);
            let (Some(k), Some(v)) = (
                self.required_string(o, "key", &p),
                self.required_string(o, "value", &p),
            ) else {
                continue;
            };
            if pairs.iter().any(|(seen, _)| *seen == k) {
                self.err(
                    &join(&p, "key"),
                    format!("metadata key `{k}` appears twice; a spec holds one value per key"),
                );
                continue;
            }
            pairs.push((k, v));
        }
        // A set in Aurora: written sorted by key, as the spec's map renders it.
        pairs.sort();
        let mut out = Map::new();
        for (k, v) in pairs {
            out.insert(k, v);
        }
        out
    }

    fn container(&mut self, v: &Value, path: &str) -> Option<Node> {
        let Some(m) = v.as_object() else {
            self.err(path, "expected an object");
            return None;
        };
        // The `Container` struct (`{"docker": Docker}`), or the choice written untagged:
        // Docker (`image` a string) or Mesos (`image` an object or none, `volumes`).
        if m.contains_key("docker") {
            self.unknown(m, &["docker"], path);
            let p = join(path, "docker");
            return match self.object(m, "docker", path) {
                Some(d) => self.docker(d, &p),
                None => None,
            };
        }
        if matches!(get(m, "image"), Some(Value::String(_))) || m.contains_key("parameters") {
            return self.docker(m, path);
        }
        self.unknown(m, &["image", "volumes"], path);
        let mut mesos = Map::new();
        if let Some(img) = self.object(m, "image", path) {
            let p = join(path, "image");
            let mut image = Map::new();
            if img.contains_key("image_id") {
                self.unknown(img, &["name", "image_id"], &p);
                let mut a = Map::new();
                if let (Some(n), Some(id)) = (
                    self.required_string(img, "name", &p),
                    self.required_string(img, "image_id", &p),
                ) {
                    a.insert("name", n);
                    a.insert("image_id", id);
                }
                image.insert("appc", a);
            } else {
                self.unknown(img, &["name", "tag"], &p);
                let mut d = Map::new();
                if let (Some(n), Some(t)) = (
                    self.required_string(img, "name", &p),
                    self.required_string(img, "tag", &p),
                ) {
                    d.insert("name", n);
                    d.insert("tag", t);
                }
                image.insert("docker", d);
            }
            mesos.insert("image", image);
        }
        if let Some(vols) = self.array(m, "volumes", path)
            && !vols.is_empty()
        {
            let p = join(path, "volumes");
            let mut out = Vec::new();
            for (i, vol) in vols.iter().enumerate() {
                let vp = format!("{p}[{i}]");
                let Some(o) = vol.as_object() else {
                    self.err(&vp, "expected an object");
                    continue;
                };
                self.unknown(o, &["container_path", "host_path", "mode"], &vp);
                let mut m = Map::new();
                if let Some(c) = self.required_string(o, "container_path", &vp) {
                    m.insert("container_path", c);
                }
                if let Some(h) = self.required_string(o, "host_path", &vp) {
                    m.insert("host_path", h);
                }
                match self.required_string(o, "mode", &vp) {
                    Some(mode) if mode == "RO" || mode == "RW" => m.insert("mode", mode),
                    Some(mode) => self.err(&join(&vp, "mode"), format!("`{mode}` is not RO or RW")),
                    None => {}
                }
                out.push(Node::Map(m));
            }
            mesos.insert("volumes", out);
        }
        if mesos.is_empty() {
            return None;
        }
        let mut out = Map::new();
        out.insert("mesos", mesos);
        Some(out.into())
    }

    fn docker(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(m, &["image", "parameters"], path);
        let mut d = Map::new();
        d.insert("image", self.required_string(m, "image", path)?);
        if let Some(params) = self.array(m, "parameters", path)
            && !params.is_empty()
        {
            let p = join(path, "parameters");
            let mut out = Vec::new();
            for (i, param) in params.iter().enumerate() {
                let pp = format!("{p}[{i}]");
                let Some(o) = param.as_object() else {
                    self.err(&pp, "expected {\"name\": …, \"value\": …}");
                    continue;
                };
                self.unknown(o, &["name", "value"], &pp);
                let mut m = Map::new();
                if let (Some(n), Some(v)) = (
                    self.required_string(o, "name", &pp),
                    self.required_string(o, "value", &pp),
                ) {
                    m.insert("name", n);
                    m.insert("value", v);
                }
                out.push(Node::Map(m));
            }
            d.insert("parameters", out);
        }
        let mut out = Map::new();
        out.insert("docker", d);
        Some(out.into())
    }

    /// A custom executor (`executor: {name, data}`); `None` for the Thermos executor.
    fn executor(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        let ec = self.object(m, "executor_config", path)?;
        let p = join(path, "executor_config");
        self.unknown(ec, &["name", "data"], &p);
        let name = self
            .string(ec, "name", &p)
            .unwrap_or_else(|| AURORA_EXECUTOR.to_string());
        let data = self.string(ec, "data", &p).unwrap_or_default();
        if name == AURORA_EXECUTOR {
            if !data.is_empty() {
                self.err(
                    &join(&p, "data"),
                    "Thermos executor data given in the job cannot be expressed: Aurora's client builds it from the task (use a spec with `executor.data_file` for a prepared payload)",
                );
            }
            return None;
        }
        let mut ex = Map::new();
        ex.insert("name", name);
        ex.insert("data", data);
        Some(ex.into())
    }

    fn update(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(
            m,
            &[
                "batch_size",
                "watch_secs",
                "max_per_shard_failures",
                "max_total_failures",
                "rollback_on_failure",
                "wait_for_batch_completion",
                "pulse_interval_secs",
                "sla_aware",
                "update_strategy",
            ],
            path,
        );
        let mut out = Map::new();
        let batch_size = self.uint(m, "batch_size", path).unwrap_or(1);
        let wait = self
            .bool(m, "wait_for_batch_completion", path)
            .unwrap_or(false);
        let strategy = match get(m, "update_strategy") {
            Some(s) => self.strategy(s, &join(path, "update_strategy")),
            None => {
                let mut inner = Map::new();
                if batch_size != 1 {
                    inner.insert("size", batch_size);
                }
                let mut s = Map::new();
                if wait {
                    s.insert("batch", inner);
                } else if batch_size != 1 {
                    s.insert("queue", inner);
                } else {
                    return self.update_rest(m, path, out);
                }
                Some(s.into())
            }
        };
        if let Some(s) = strategy {
            out.insert("strategy", s);
        }
        self.update_rest(m, path, out)
    }

    fn update_rest(
        &mut self,
        m: &JsonMap<String, Value>,
        path: &str,
        mut out: Map,
    ) -> Option<Node> {
        if let Some(w) = self.duration(m, "watch_secs", path).filter(|w| *w != 45.0) {
            out.insert("watch", duration(w));
        }
        if let Some(n) = self
            .uint(m, "max_per_shard_failures", path)
            .filter(|n| *n != 0)
        {
            out.insert("max_per_instance_failures", n);
        }
        if let Some(n) = self.uint(m, "max_total_failures", path).filter(|n| *n != 0) {
            out.insert("max_failed_instances", n);
        }
        if self.bool(m, "rollback_on_failure", path) == Some(false) {
            out.insert("rollback_on_failure", false);
        }
        if let Some(p) = self.duration(m, "pulse_interval_secs", path) {
            out.insert("pulse_interval", duration(p));
        }
        if self.bool(m, "sla_aware", path) == Some(true) {
            out.insert("sla_aware", true);
        }
        (!out.is_empty()).then(|| out.into())
    }

    fn strategy(&mut self, v: &Value, path: &str) -> Option<Node> {
        let Some(m) = v.as_object() else {
            self.err(path, "expected an update strategy object");
            return None;
        };
        let mut s = Map::new();
        let mut inner = Map::new();
        if m.contains_key("batch_sizes") {
            self.unknown(m, &["batch_sizes", "autopause_after_batch"], path);
            let sizes = self
                .array(m, "batch_sizes", path)
                .cloned()
                .unwrap_or_default();
            let mut list = Vec::new();
            for (i, size) in sizes.iter().enumerate() {
                match size.as_i64().filter(|n| *n >= 0) {
                    Some(n) => list.push(Node::Int(n)),
                    None => self.err(&format!("{path}.batch_sizes[{i}]"), "expected a size"),
                }
            }
            inner.insert("sizes", list);
            if self.bool(m, "autopause_after_batch", path) == Some(true) {
                inner.insert("autopause", true);
            }
            s.insert("variable_batch", inner);
        } else if m.contains_key("autopause_after_batch") {
            self.unknown(m, &["batch_size", "autopause_after_batch"], path);
            if let Some(n) = self.uint(m, "batch_size", path).filter(|n| *n != 1) {
                inner.insert("size", n);
            }
            if self.bool(m, "autopause_after_batch", path) == Some(true) {
                inner.insert("autopause", true);
            }
            s.insert("batch", inner);
        } else {
            self.unknown(m, &["batch_size"], path);
            if let Some(n) = self.uint(m, "batch_size", path).filter(|n| *n != 1) {
                inner.insert("size", n);
            }
            s.insert("queue", inner);
        }
        Some(s.into())
    }

    fn health_check(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(
            m,
            &[
                "health_checker",
                "initial_interval_secs",
                "interval_secs",
                "max_consecutive_failures",
                "min_consecutive_successes",
                "timeout_secs",
            ],
            path,
        );
        let mut out = Map::new();
        if let Some(hc) = self.object(m, "health_checker", path) {
            let p = join(path, "health_checker");
            self.unknown(hc, &["http", "shell"], &p);
            if let Some(shell) = self.object(hc, "shell", &p) {
                let sp = join(&p, "shell");
                self.unknown(shell, &["shell_command"], &sp);
                if hc.contains_key("http") {
                    self.err(&join(&p, "http"), "give either an http or a shell checker");
                }
                if let Some(c) = self.required_string(shell, "shell_command", &sp) {
                    let mut s = Map::new();
                    s.insert("command", c);
                    out.insert("shell", s);
                }
            } else if let Some(http) = self.object(hc, "http", &p) {
                let hp = join(&p, "http");
                self.unknown(
                    http,
                    &["endpoint", "expected_response", "expected_response_code"],
                    &hp,
                );
                let mut h = Map::new();
                if let Some(e) = self
                    .string(http, "endpoint", &hp)
                    .filter(|e| e != "/health")
                {
                    h.insert("endpoint", e);
                }
                if let Some(e) = self
                    .string(http, "expected_response", &hp)
                    .filter(|e| e != "ok")
                {
                    h.insert("expected_response", e);
                }
                if let Some(c) = self
                    .uint(http, "expected_response_code", &hp)
                    .filter(|c| *c != 0)
                {
                    h.insert("expected_response_code", c);
                }
                if !h.is_empty() {
                    out.insert("http", h);
                }
            }
        }
        for (key, spec_key, default) in [
            ("initial_interval_secs", "initial_interval", 15.0),
            ("interval_secs", "interval", 10.0),
        ] {
            if let Some(d) = self.duration(m, key, path).filter(|d| *d != default) {
                out.insert(spec_key, duration(d));
            }
        }
        if let Some(n) = self
            .uint(m, "max_consecutive_failures", path)
            .filter(|n| *n != 0)
        {
            out.insert("max_consecutive_failures", n);
        }
        if let Some(n) = self
            .uint(m, "min_consecutive_successes", path)
            .filter(|n| *n != 1)
        {
            out.insert("min_consecutive_successes", n);
        }
        if let Some(d) = self.duration(m, "timeout_secs", path).filter(|d| *d != 1.0) {
            out.insert("timeout", duration(d));
        }
        (!out.is_empty()).then(|| out.into())
    }

    fn lifecycle(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(m, &["http"], path);
        let Some(http) = self.object(m, "http", path) else {
            self.err(
                &join(path, "http"),
                "a lifecycle without `http` cannot be expressed (the spec always sends the HTTP lifecycle, as Aurora's client does by default)",
            );
            return None;
        };
        let p = join(path, "http");
        self.unknown(
            http,
            &[
                "port",
                "graceful_shutdown_endpoint",
                "shutdown_endpoint",
                "graceful_shutdown_wait_secs",
                "shutdown_wait_secs",
            ],
            &p,
        );
        let mut h = Map::new();
        for (key, default) in [
            ("port", "health"),
            ("graceful_shutdown_endpoint", "/quitquitquit"),
            ("shutdown_endpoint", "/abortabortabort"),
        ] {
            if let Some(v) = self.string(http, key, &p).filter(|v| v != default) {
                h.insert(key, v);
            }
        }
        for (key, spec_key) in [
            ("graceful_shutdown_wait_secs", "graceful_shutdown_wait"),
            ("shutdown_wait_secs", "shutdown_wait"),
        ] {
            if let Some(d) = self.uint(http, key, &p).filter(|d| *d != 5) {
                #[allow(clippy::cast_precision_loss)]
                h.insert(spec_key, duration(d as f64));
            }
        }
        if h.is_empty() {
            return None;
        }
        let mut out = Map::new();
        out.insert("http", h);
        Some(out.into())
    }

    fn announce(&mut self, m: &JsonMap<String, Value>, path: &str) -> Node {
        self.unknown(m, &["primary_port", "portmap", "zk_path"], path);
        let mut out = Map::new();
        let primary = self
            .string(m, "primary_port", path)
            .unwrap_or_else(|| "http".into());
        if primary != "http" {
            out.insert("primary_port", primary.as_str());
        }
        if let Some(pm) = self.object(m, "portmap", path) {
            let p = join(path, "portmap");
            let default =
                pm.len() == 1 && pm.get("aurora").and_then(Value::as_str) == Some(&primary);
            if !default {
                let mut map = Map::new();
                for (k, v) in pm {
                    match v {
                        Value::String(s) => match s.parse::<u16>() {
                            Ok(n) if n.to_string() == *s => map.insert(k.as_str(), i64::from(n)),
                            _ => map.insert(k.as_str(), s.as_str()),
                        },
                        Value::Number(n) => match n.as_u64().and_then(|n| u16::try_from(n).ok()) {
                            Some(n) => map.insert(k.as_str(), i64::from(n)),
                            None => self.err(&join(&p, k), "port out of range"),
                        },
                        _ => self.err(&join(&p, k), "expected a port name or number"),
                    }
                }
                out.insert("portmap", map);
            }
        }
        if let Some(zk) = self.string(m, "zk_path", path) {
            out.insert("zk_path", zk);
        }
        out.into()
    }

    fn partition_policy(&mut self, m: &JsonMap<String, Value>, path: &str) -> Node {
        self.unknown(m, &["reschedule", "delay_secs"], path);
        let mut out = Map::new();
        if self.bool(m, "reschedule", path) == Some(false) {
            out.insert("reschedule", false);
        }
        if let Some(d) = self.uint(m, "delay_secs", path).filter(|d| *d != 0) {
            #[allow(clippy::cast_precision_loss)]
            out.insert("delay", duration(d as f64));
        }
        out.into()
    }

    fn sla_policy(&mut self, v: &Value, path: &str) -> Option<Node> {
        let Some(m) = v.as_object() else {
            self.err(path, "expected an SLA policy object");
            return None;
        };
        let mut out = Map::new();
        let mut inner = Map::new();
        if m.contains_key("coordinator_url") {
            self.unknown(m, &["coordinator_url", "status_key"], path);
            inner.insert("url", self.required_string(m, "coordinator_url", path)?);
            if let Some(k) = self.string(m, "status_key", path).filter(|k| k != "drain") {
                inner.insert("status_key", k);
            }
            out.insert("coordinator", inner);
        } else if m.contains_key("percentage") {
            self.unknown(m, &["percentage", "duration_secs"], path);
            inner.insert("percentage", number(self.number(m, "percentage", path)?));
            #[allow(clippy::cast_precision_loss)]
            inner.insert(
                "duration",
                duration(self.uint(m, "duration_secs", path).unwrap_or(0) as f64),
            );
            out.insert("percentage", inner);
        } else if m.contains_key("count") {
            self.unknown(m, &["count", "duration_secs"], path);
            inner.insert("count", self.uint(m, "count", path)?);
            #[allow(clippy::cast_precision_loss)]
            inner.insert(
                "duration",
                duration(self.uint(m, "duration_secs", path).unwrap_or(0) as f64),
            );
            out.insert("count", inner);
        } else {
            self.err(path, "not a percentage, count or coordinator SLA policy");
            return None;
        }
        Some(out.into())
    }

    fn task(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(
            m,
            &[
                "name",
                "processes",
                "constraints",
                "resources",
                "max_failures",
                "max_concurrency",
                "finalization_wait",
                "user",
            ],
            path,
        );
        let mut out = Map::new();
        let procs_path = join(path, "processes");
        let Some(procs) = self.array(m, "processes", path) else {
            self.err(&procs_path, "required");
            return None;
        };
        if procs.is_empty() {
            self.err(&procs_path, "a task needs at least one process");
        }
        let mut names = Vec::new();
        let mut processes = Vec::new();
        for (i, p) in procs.iter().enumerate() {
            let pp = format!("{procs_path}[{i}]");
            match p.as_object() {
                Some(o) => {
                    if let Some((name, node)) = self.process(o, &pp) {
                        names.push(name);
                        processes.push(node);
                    }
                }
                None => self.err(&pp, "expected a process object"),
            }
        }
        if let Some(name) = self.string(m, "name", path)
            && names.first() != Some(&name)
        {
            out.insert("name", name);
        }
        let mut order = Vec::new();
        if let Some(cs) = self.array(m, "constraints", path) {
            let cp = join(path, "constraints");
            for (i, c) in cs.iter().enumerate() {
                let p = format!("{cp}[{i}]");
                let chain = c
                    .as_object()
                    .filter(|o| o.len() == 1)
                    .and_then(|o| o.get("order"))
                    .and_then(Value::as_array)
                    .and_then(|a| {
                        a.iter()
                            .map(|n| n.as_str().map(str::to_string))
                            .collect::<Option<Vec<_>>>()
                    });
                match chain {
                    Some(chain) => order.push(chain),
                    None => self.err(
                        &p,
                        "only `{\"order\": [process names]}` constraints can be expressed",
                    ),
                }
            }
        }
        if order.len() == 1 && order[0] == names {
            out.insert("sequential", true);
        } else if !order.is_empty() {
            out.insert(
                "order",
                order
                    .into_iter()
                    .map(|c| Node::Seq(c.into_iter().map(Node::Str).collect()))
                    .collect::<Vec<_>>(),
            );
        }
        if let Some(n) = self.uint(m, "max_failures", path).filter(|n| *n != 1) {
            out.insert("max_failures", n);
        }
        if let Some(n) = self.uint(m, "max_concurrency", path).filter(|n| *n != 0) {
            out.insert("max_concurrency", n);
        }
        if let Some(d) = self.uint(m, "finalization_wait", path).filter(|d| *d != 30) {
            #[allow(clippy::cast_precision_loss)]
            out.insert("finalization_wait", duration(d as f64));
        }
        if let Some(u) = self.string(m, "user", path) {
            out.insert("user", u);
        }
        out.insert("processes", processes);
        Some(out.into())
    }

    fn process(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<(String, Node)> {
        self.unknown(
            m,
            &[
                "name",
                "cmdline",
                "max_failures",
                "daemon",
                "ephemeral",
                "min_duration",
                "final",
                "logger",
            ],
            path,
        );
        let name = self.required_string(m, "name", path);
        let cmdline = self.required_string(m, "cmdline", path);
        let (name, cmdline) = (name?, cmdline?);
        let mut out = Map::new();
        out.insert("name", name.as_str());
        out.insert("cmdline", cmdline);
        if let Some(n) = self.uint(m, "max_failures", path).filter(|n| *n != 1) {
            out.insert("max_failures", n);
        }
        for key in ["daemon", "ephemeral"] {
            if self.bool(m, key, path) == Some(true) {
                out.insert(key, true);
            }
        }
        if let Some(d) = self.uint(m, "min_duration", path).filter(|d| *d != 5) {
            #[allow(clippy::cast_precision_loss)]
            out.insert("min_duration", duration(d as f64));
        }
        if self.bool(m, "final", path) == Some(true) {
            out.insert("final", true);
        }
        if let Some(l) = self.object(m, "logger", path) {
            let lp = join(path, "logger");
            out.insert("logger", self.logger(l, &lp));
        }
        Some((name, out.into()))
    }

    fn logger(&mut self, m: &JsonMap<String, Value>, path: &str) -> Node {
        self.unknown(m, &["destination", "mode", "rotate"], path);
        let mut out = Map::new();
        if let Some(d) = self.string(m, "destination", path) {
            if ["file", "console", "both", "none"].contains(&d.as_str()) {
                if d != "file" {
                    out.insert("destination", d);
                }
            } else {
                self.err(
                    &join(path, "destination"),
                    format!("unknown destination `{d}`"),
                );
            }
        }
        if let Some(mode) = self.string(m, "mode", path) {
            if mode == "rotate" {
                out.insert("mode", mode);
            } else if mode != "standard" {
                self.err(&join(path, "mode"), format!("unknown mode `{mode}`"));
            }
        }
        if let Some(r) = self.object(m, "rotate", path) {
            let rp = join(path, "rotate");
            self.unknown(r, &["log_size", "backups"], &rp);
            let mut rot = Map::new();
            if let Some(n) = self
                .int(r, "log_size", &rp)
                .filter(|n| *n != 100 * 1024 * 1024)
            {
                match u64::try_from(n) {
                    Ok(b) => rot.insert("log_size", Size(b).to_string()),
                    Err(_) => self.err(&join(&rp, "log_size"), "a size cannot be negative"),
                }
            }
            if let Some(n) = self.uint(r, "backups", &rp).filter(|n| *n != 5) {
                rot.insert("backups", n);
            }
            out.insert("rotate", rot);
        }
        out.into()
    }
}

/// A number as people write it: `1` rather than `1.0`.
fn number(f: f64) -> Node {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        #[allow(clippy::cast_possible_truncation)]
        Node::Int(f as i64)
    } else {
        Node::Float(f)
    }
}

/// Seconds as a spec duration string (`45s`, `1m 30s`, `500ms`).
fn duration(secs: f64) -> Node {
    Node::Str(Duration(std::time::Duration::from_secs_f64(secs)).to_string())
}
