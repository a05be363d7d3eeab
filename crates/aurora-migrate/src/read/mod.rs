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

mod container;
mod job;
mod thermos;
mod update;

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
}

/// Seconds as a spec duration string (`45s`, `1m 30s`, `500ms`).
fn duration(secs: f64) -> Node {
    Node::Str(Duration(std::time::Duration::from_secs_f64(secs)).to_string())
}
