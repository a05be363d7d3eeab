//! The Thermos executor payload (`ExecutorConfig.data`), built from the declarative task the
//! way Aurora's client does (`config/thrift.py`: the JSON of the whole interpolated job minus
//! `update_config` and `instances`, defaults filled in), and the port names the job must
//! request.
//!
//! The scheduler compares `executorConfig.data` as a string when diffing updates, so the
//! payload is canonical: keys sorted, no whitespace, numbers as serde_json writes them
//! (floats always with a fraction: `1.0`, as Python does). The same spec always renders the
//! same bytes.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::job::Job;
use crate::model::{
    ContainerSpec, ImageSpec, JobKind, LogDestination, LogMode, PortTarget, Ports, SlaPolicySpec,
    TaskSpec, VolumeMode,
};
use crate::units::{Duration, Size};
use crate::validate::AURORA_EXECUTOR;

/// The prefix of anonymous port names (`ports: N`), as gorealis names them.
pub const ANONYMOUS_PORT_PREFIX: &str = "org.apache.aurora.port.";

/// The payload's JSON value (keys unordered; see [`payload`] for the canonical string).
pub fn payload_value(job: &Job) -> Value {
    let s = &job.spec;
    let no_task = TaskSpec::default();
    let task = s.task.as_ref().unwrap_or(&no_task);
    let processes = task.processes.as_deref().unwrap_or_default();
    let res = s.resources.as_ref();
    let cpu = res.as_ref().and_then(|r| r.cpu).unwrap_or(0.0);
    let ram = res.as_ref().and_then(|r| r.ram).unwrap_or(Size(0)).0;
    let disk = res.as_ref().and_then(|r| r.disk).unwrap_or(Size(0)).0;
    let gpu = res.as_ref().and_then(|r| r.gpu).unwrap_or(0);

    let procs: Vec<Value> = processes
        .iter()
        .map(|p| {
            let mut m = Map::new();
            m.insert("name".into(), json!(p.name));
            m.insert("cmdline".into(), json!(p.cmdline));
            m.insert("max_failures".into(), json!(p.max_failures.unwrap_or(1)));
            m.insert("daemon".into(), json!(p.daemon.unwrap_or(false)));
            m.insert("ephemeral".into(), json!(p.ephemeral.unwrap_or(false)));
            m.insert("min_duration".into(), json!(secs(p.min_duration, 5)));
            m.insert("final".into(), json!(p.final_.unwrap_or(false)));
            if let Some(l) = &p.logger {
                let mut lm = Map::new();
                lm.insert(
                    "destination".into(),
                    json!(match l.destination.unwrap_or(LogDestination::File) {
                        LogDestination::File => "file",
                        LogDestination::Console => "console",
                        LogDestination::Both => "both",
                        LogDestination::None => "none",
                    }),
                );
                lm.insert(
                    "mode".into(),
                    json!(match l.mode.unwrap_or(LogMode::Standard) {
                        LogMode::Standard => "standard",
                        LogMode::Rotate => "rotate",
                    }),
                );
                if let Some(r) = &l.rotate {
                    lm.insert(
                        "rotate".into(),
                        json!({
                            "log_size": r.log_size.map_or(100 * 1024 * 1024, |s| s.0),
                            "backups": r.backups.unwrap_or(5),
                        }),
                    );
                }
                m.insert("logger".into(), Value::Object(lm));
            }
            Value::Object(m)
        })
        .collect();

    let constraints: Vec<Value> = if task.sequential == Some(true) {
        vec![json!({"order": processes.iter().map(|p| p.name.clone()).collect::<Vec<_>>()})]
    } else {
        task.order
            .iter()
            .flatten()
            .map(|chain| json!({ "order": chain }))
            .collect()
    };

    let mut t = Map::new();
    t.insert(
        "name".into(),
        json!(
            task.name
                .clone()
                .or_else(|| processes.first().map(|p| p.name.clone()))
                .unwrap_or_default()
        ),
    );
    t.insert("processes".into(), Value::Array(procs));
    t.insert("constraints".into(), Value::Array(constraints));
    t.insert(
        "resources".into(),
        json!({"cpu": cpu, "ram": ram, "disk": disk, "gpu": gpu}),
    );
    t.insert("max_failures".into(), json!(task.max_failures.unwrap_or(1)));
    t.insert(
        "max_concurrency".into(),
        json!(task.max_concurrency.unwrap_or(0)),
    );
    t.insert(
        "finalization_wait".into(),
        json!(secs(task.finalization_wait, 30)),
    );
    if let Some(u) = &task.user {
        t.insert("user".into(), json!(u));
    }

    let mut top = Map::new();
    top.insert("name".into(), json!(job.key.name));
    top.insert("role".into(), json!(job.key.role));
    top.insert("cluster".into(), json!(job.key.cluster));
    top.insert("environment".into(), json!(job.key.environment));
    top.insert("task".into(), Value::Object(t));
    top.insert("tier".into(), json!(job.placement.tier));
    if job.kind == JobKind::Cron
        && let Some(schedule) = s.cron.as_ref().and_then(|c| c.schedule.clone())
    {
        top.insert("cron_schedule".into(), json!(schedule));
    }
    top.insert(
        "cron_collision_policy".into(),
        json!(crate::convert::collision_policy_name(job)),
    );
    top.insert(
        "metadata".into(),
        Value::Array(
            s.metadata
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect(),
        ),
    );
    top.insert("service".into(), json!(job.kind == JobKind::Service));
    top.insert(
        "max_task_failures".into(),
        json!(s.max_task_failures.unwrap_or(1)),
    );
    top.insert("production".into(), json!(job.placement.production));
    top.insert("priority".into(), json!(s.priority.unwrap_or(0)));
    top.insert("health_check_config".into(), health_check(job));
    top.insert("lifecycle".into(), lifecycle(job));
    top.insert(
        "executor_config".into(),
        json!({"data": "", "name": AURORA_EXECUTOR}),
    );
    top.insert(
        "enable_hooks".into(),
        json!(s.enable_hooks.unwrap_or(false)),
    );
    if let Some(c) = &s.contact {
        top.insert("contact".into(), json!(c));
    }
    if let Some(a) = &s.announce {
        let primary = a.primary_port.clone().unwrap_or_else(|| "http".into());
        let portmap: Map<String, Value> = match &a.portmap {
            Some(m) => m
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        PortTarget::Static(n) => n.to_string(),
                        PortTarget::Name(n) => n.clone(),
                    };
                    (k.clone(), json!(v))
                })
                .collect(),
            None => [("aurora".to_string(), json!(primary))]
                .into_iter()
                .collect(),
        };
        let mut am = Map::new();
        am.insert("primary_port".into(), json!(primary));
        am.insert("portmap".into(), Value::Object(portmap));
        if let Some(zk) = &a.zk_path {
            am.insert("zk_path".into(), json!(zk));
        }
        top.insert("announce".into(), Value::Object(am));
    }
    if let Some(cs) = &s.constraints {
        let m: Map<String, Value> = cs
            .iter()
            .map(|(name, c)| {
                let v = match (c.limit, &c.values) {
                    (Some(limit), _) => format!("limit:{limit}"),
                    (None, values) => {
                        let vals: BTreeSet<&String> = values.iter().flatten().collect();
                        let joined = vals.into_iter().cloned().collect::<Vec<_>>().join(",");
                        if c.negated == Some(true) {
                            format!("!{joined}")
                        } else {
                            joined
                        }
                    }
                };
                (name.clone(), json!(v))
            })
            .collect();
        top.insert("constraints".into(), Value::Object(m));
    }
    if let Some(p) = &s.partition_policy {
        top.insert(
            "partition_policy".into(),
            json!({"reschedule": p.reschedule.unwrap_or(true), "delay_secs": secs(p.delay, 0)}),
        );
    }
    if let Some(p) = &s.sla_policy {
        let v = match p {
            SlaPolicySpec::Percentage(p) => {
                json!({"percentage": p.percentage, "duration_secs": secs(Some(p.duration), 0)})
            }
            SlaPolicySpec::Count(c) => {
                json!({"count": c.count, "duration_secs": secs(Some(c.duration), 0)})
            }
            SlaPolicySpec::Coordinator(c) => json!({
                "coordinator_url": c.url,
                "status_key": c.status_key.clone().unwrap_or_else(|| "drain".into()),
            }),
        };
        top.insert("sla_policy".into(), v);
    }
    if let Some(c) = &s.container {
        top.insert("container".into(), container(c));
    }
    Value::Object(top)
}

fn container(c: &ContainerSpec) -> Value {
    match c {
        ContainerSpec::Docker(d) => json!({
            "image": d.image,
            "parameters": d.parameters.iter().flatten()
                .map(|p| json!({"name": p.name, "value": p.value}))
                .collect::<Vec<_>>(),
        }),
        ContainerSpec::Mesos(m) => {
            let mut out = Map::new();
            match &m.image {
                Some(ImageSpec::Docker(d)) => {
                    out.insert("image".into(), json!({"name": d.name, "tag": d.tag}));
                }
                Some(ImageSpec::Appc(a)) => {
                    out.insert(
                        "image".into(),
                        json!({"name": a.name, "image_id": a.image_id}),
                    );
                }
                None => {}
            }
            out.insert(
                "volumes".into(),
                Value::Array(
                    m.volumes
                        .iter()
                        .flatten()
                        .map(|v| {
                            json!({
                                "container_path": v.container_path,
                                "host_path": v.host_path,
                                "mode": match v.mode { VolumeMode::Ro => "RO", VolumeMode::Rw => "RW" },
                            })
                        })
                        .collect(),
                ),
            );
            Value::Object(out)
        }
    }
}

fn secs(d: Option<Duration>, default: u64) -> u64 {
    d.map_or(default, |d| d.0.as_secs())
}

fn secs_f(d: Option<Duration>, default: f64) -> f64 {
    d.map_or(default, Duration::secs_f64)
}

fn health_check(job: &Job) -> Value {
    let hc = job.spec.health_check.clone();
    let checker = match hc.as_ref().and_then(|h| h.shell.clone()) {
        Some(shell) => json!({"shell": {"shell_command": shell.command}}),
        None => {
            let http = hc.as_ref().and_then(|h| h.http.clone());
            json!({"http": {
                "endpoint": http.as_ref().and_then(|h| h.endpoint.clone()).unwrap_or_else(|| "/health".into()),
                "expected_response": http.as_ref().and_then(|h| h.expected_response.clone()).unwrap_or_else(|| "ok".into()),
                "expected_response_code": http.as_ref().and_then(|h| h.expected_response_code).unwrap_or(0),
            }})
        }
    };
    let hc = hc.as_ref();
    json!({
        "health_checker": checker,
        "initial_interval_secs": secs_f(hc.and_then(|h| h.initial_interval), 15.0),
        "interval_secs": secs_f(hc.and_then(|h| h.interval), 10.0),
        "max_consecutive_failures": hc.and_then(|h| h.max_consecutive_failures).unwrap_or(0),
        "min_consecutive_successes": hc.and_then(|h| h.min_consecutive_successes).unwrap_or(1),
        "timeout_secs": secs_f(hc.and_then(|h| h.timeout), 1.0),
    })
}

fn lifecycle(job: &Job) -> Value {
    let http = job.spec.lifecycle.as_ref().and_then(|l| l.http.clone());
    let h = http.as_ref();
    json!({"http": {
        "port": h.and_then(|h| h.port.clone()).unwrap_or_else(|| "health".into()),
        "graceful_shutdown_endpoint": h.and_then(|h| h.graceful_shutdown_endpoint.clone()).unwrap_or_else(|| "/quitquitquit".into()),
        "shutdown_endpoint": h.and_then(|h| h.shutdown_endpoint.clone()).unwrap_or_else(|| "/abortabortabort".into()),
        "graceful_shutdown_wait_secs": secs(h.and_then(|h| h.graceful_shutdown_wait), 5),
        "shutdown_wait_secs": secs(h.and_then(|h| h.shutdown_wait), 5),
    }})
}

/// The canonical payload string: sorted keys, compact separators.
pub fn payload(job: &Job) -> String {
    canonical_json(&payload_value(job))
}

/// Sets the `tier` and `production` of a payload [`payload`] wrote to `placement`, as writing
/// it for the job placed there would (the payload is canonical: re-writing it is exact).
pub fn place_payload(data: &mut String, placement: &aurora_thrift::tiers::Placement) {
    let Ok(Value::Object(mut top)) = serde_json::from_str::<Value>(data) else {
        return;
    };
    top.insert("tier".into(), json!(placement.tier));
    top.insert("production".into(), json!(placement.production));
    *data = canonical_json(&Value::Object(top));
}

/// Serializes a JSON value with object keys sorted at every level and no whitespace,
/// independent of serde_json's `preserve_order` feature.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            // serde_json's map is ordered by key unless a crate in the build turns on
            // `preserve_order`: sort only then.
            if m.keys().is_sorted() {
                write_entries(m.iter(), out);
            } else {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                write_entries(entries.into_iter(), out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_json_string(s, out),
        // Numbers, booleans and null as serde_json writes them, without a String each.
        other => {
            use std::fmt::Write as _;
            let _ = write!(out, "{other}");
        }
    }
}

fn write_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut String) {
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(k, out);
        out.push(':');
        write_canonical(v, out);
    }
}

/// A JSON string literal, escaped exactly as serde_json escapes it.
fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    // Runs of characters that need no escape are copied whole.
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        run = i + 1;
        if escaped.is_empty() {
            use std::fmt::Write as _;
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escaped);
        }
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// The port names the job requests (`Resource.namedPort`), as Aurora's client computes them:
/// every `{{thermos.ports[NAME]}}` in the process command lines, resolved through the
/// announcer's portmap (names that end at a number are static and not requested), plus the
/// portmap's non-numeric targets, plus the spec's explicit `ports`.
pub fn required_ports(job: &Job) -> BTreeSet<String> {
    let s = &job.spec;
    let mut out = BTreeSet::new();
    let announce = s.announce.as_ref();
    let primary = announce
        .and_then(|a| a.primary_port.clone())
        .unwrap_or_else(|| "http".into());
    let portmap: Vec<(String, PortTarget)> = match announce {
        None => Vec::new(),
        Some(a) => match &a.portmap {
            Some(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            None => vec![("aurora".into(), PortTarget::Name(primary.clone()))],
        },
    };
    let resolve = |name: &str| -> Option<String> {
        let mut cur = name.to_string();
        for _ in 0..=portmap.len() {
            match portmap.iter().find(|(k, _)| *k == cur) {
                Some((_, PortTarget::Static(_))) => return None,
                Some((_, PortTarget::Name(n))) if *n != cur => cur = n.clone(),
                _ => return Some(cur),
            }
        }
        Some(cur)
    };
    if let Some(task) = &s.task {
        for p in task.processes.iter().flatten() {
            for name in port_refs(&p.cmdline) {
                if let Some(r) = resolve(&name) {
                    out.insert(r);
                }
            }
        }
    }
    for (_, target) in &portmap {
        if let PortTarget::Name(n) = target
            && let Some(r) = resolve(n)
        {
            out.insert(r);
        }
    }
    match &s.ports {
        Some(Ports::Names(names)) => out.extend(names.iter().cloned()),
        Some(Ports::Count(n)) => {
            out.extend((0..*n).map(|i| format!("{ANONYMOUS_PORT_PREFIX}{i}")));
        }
        None => {}
    }
    out
}

/// Names referenced as `{{thermos.ports[NAME]}}` (whitespace inside the braces allowed).
pub fn port_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("}}") else { break };
        let inner = rest[..end].trim();
        if let Some(name) = inner
            .strip_prefix("thermos.ports[")
            .and_then(|r| r.strip_suffix(']'))
        {
            out.push(name.trim().to_string());
        }
        rest = &rest[end + 2..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs() {
        assert_eq!(
            port_refs(
                "./s --port={{thermos.ports[http]}} --a={{ thermos.ports[admin] }} {{mesos.instance}}"
            ),
            vec!["http".to_string(), "admin".to_string()]
        );
        assert!(port_refs("{{thermos.ports[x]").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn strings_escape_like_serde_json(s in "\\PC*|[\\x00-\\x1f\"\\\\]{0,8}") {
            let mut out = String::new();
            write_json_string(&s, &mut out);
            proptest::prop_assert_eq!(out, Value::String(s.clone()).to_string());
        }
    }

    /// The exact bytes of the payload of every field, so a change of how it is written shows.
    #[test]
    fn payloads_of_every_field_are_pinned() {
        let all: Vec<String> = crate::testing::all_fields_jobs()
            .iter()
            .map(|job| format!("{}\n{}", job.key, payload(job)))
            .collect();
        insta::assert_snapshot!(all.join("\n\n"));
    }

    #[test]
    fn canonical_sorts_keys() {
        let v = json!({"b": 1, "a": {"d": 1.0, "c": [true, null, "x\"y"]}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":[true,null,"x\"y"],"d":1.0},"b":1}"#
        );
    }
}
