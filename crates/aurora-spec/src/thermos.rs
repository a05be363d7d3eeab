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

use serde_json::{Value, json};

use crate::job::Job;
use crate::json_text::{Layout, Obj, write_json_string};
use crate::model::{
    ContainerSpec, ImageSpec, JobKind, LogDestination, LogMode, PortTarget, Ports, SlaPolicySpec,
    TaskSpec, VolumeMode,
};
use crate::units::{Duration, Size};
use crate::validate::AURORA_EXECUTOR;

/// The prefix of anonymous port names (`ports: N`), as gorealis names them.
pub const ANONYMOUS_PORT_PREFIX: &str = "org.apache.aurora.port.";

/// The canonical payload string: sorted keys, compact separators. Written as text, keys in
/// order by hand (checked in debug builds), rather than built as a `serde_json::Value` and
/// then written: the value tree was most of the cost of converting a job (issue 14).
pub fn payload(job: &Job) -> String {
    let mut out = String::with_capacity(1024);
    write_payload(job, &mut out);
    out
}

fn write_payload(job: &Job, out: &mut String) {
    let s = &job.spec;
    let mut top = Obj::open(out, Layout::Compact);
    if let Some(a) = &s.announce {
        let primary = a.primary_port.as_deref().unwrap_or("http");
        let mut am = top.obj("announce");
        let mut portmap = am.obj("portmap");
        match &a.portmap {
            Some(m) => {
                for (k, v) in m {
                    match v {
                        PortTarget::Static(n) => portmap.str(k, &n.to_string()),
                        PortTarget::Name(n) => portmap.str(k, n),
                    }
                }
            }
            None => portmap.str("aurora", primary),
        }
        portmap.end();
        am.str("primary_port", primary);
        if let Some(zk) = &a.zk_path {
            am.str("zk_path", zk);
        }
        am.end();
    }
    top.str("cluster", &job.key.cluster);
    if let Some(cs) = &s.constraints {
        let mut m = top.obj("constraints");
        for (name, c) in cs {
            let v = match (c.limit, &c.values) {
                (Some(limit), _) => format!("limit:{limit}"),
                (None, values) => {
                    let vals: BTreeSet<&String> = values.iter().flatten().collect();
                    let mut joined = String::new();
                    if c.negated == Some(true) {
                        joined.push('!');
                    }
                    for (i, v) in vals.into_iter().enumerate() {
                        if i > 0 {
                            joined.push(',');
                        }
                        joined.push_str(v);
                    }
                    joined
                }
            };
            m.str(name, &v);
        }
        m.end();
    }
    if let Some(c) = &s.contact {
        top.str("contact", c);
    }
    if let Some(c) = &s.container {
        container(c, top.obj("container"));
    }
    top.str(
        "cron_collision_policy",
        crate::convert::collision_policy_name(job),
    );
    if job.kind == JobKind::Cron
        && let Some(schedule) = s.cron.as_ref().and_then(|c| c.schedule.as_deref())
    {
        top.str("cron_schedule", schedule);
    }
    top.bool("enable_hooks", s.enable_hooks.unwrap_or(false));
    top.str("environment", &job.key.environment);
    let mut ec = top.obj("executor_config");
    ec.str("data", "");
    ec.str("name", AURORA_EXECUTOR);
    ec.end();
    health_check(job, top.obj("health_check_config"));
    lifecycle(job, top.obj("lifecycle"));
    top.int("max_task_failures", s.max_task_failures.unwrap_or(1));
    let mut metadata = top.arr("metadata");
    for (k, v) in s.metadata.iter().flatten() {
        let mut m = metadata.obj();
        m.str("key", k);
        m.str("value", v);
        m.end();
    }
    metadata.end();
    top.str("name", &job.key.name);
    if let Some(p) = &s.partition_policy {
        let mut pm = top.obj("partition_policy");
        pm.int("delay_secs", secs(p.delay, 0));
        pm.bool("reschedule", p.reschedule.unwrap_or(true));
        pm.end();
    }
    top.int("priority", s.priority.unwrap_or(0));
    top.bool("production", job.placement.production);
    top.str("role", &job.key.role);
    top.bool("service", job.kind == JobKind::Service);
    if let Some(p) = &s.sla_policy {
        let mut sm = top.obj("sla_policy");
        match p {
            SlaPolicySpec::Percentage(p) => {
                sm.int("duration_secs", secs(Some(p.duration), 0));
                sm.f64("percentage", p.percentage);
            }
            SlaPolicySpec::Count(c) => {
                sm.int("count", c.count);
                sm.int("duration_secs", secs(Some(c.duration), 0));
            }
            SlaPolicySpec::Coordinator(c) => {
                sm.str("coordinator_url", &c.url);
                sm.str("status_key", c.status_key.as_deref().unwrap_or("drain"));
            }
        }
        sm.end();
    }
    task(job, top.obj("task"));
    top.str("tier", &job.placement.tier);
    top.end();
}

/// The payload's `task`.
fn task(job: &Job, mut t: Obj<'_>) {
    let s = &job.spec;
    let no_task = TaskSpec::default();
    let spec = s.task.as_ref().unwrap_or(&no_task);
    let processes = spec.processes.as_deref().unwrap_or_default();
    let mut constraints = t.arr("constraints");
    if spec.sequential == Some(true) {
        let mut c = constraints.obj();
        let mut order = c.arr("order");
        for p in processes {
            order.str(&p.name);
        }
        order.end();
        c.end();
    } else {
        for chain in spec.order.iter().flatten() {
            let mut c = constraints.obj();
            let mut order = c.arr("order");
            for name in chain {
                order.str(name);
            }
            order.end();
            c.end();
        }
    }
    constraints.end();
    t.int("finalization_wait", secs(spec.finalization_wait, 30));
    t.int("max_concurrency", spec.max_concurrency.unwrap_or(0));
    t.int("max_failures", spec.max_failures.unwrap_or(1));
    let name = spec
        .name
        .as_deref()
        .or_else(|| processes.first().map(|p| p.name.as_str()))
        .unwrap_or_default();
    t.str("name", name);
    let mut procs = t.arr("processes");
    for p in processes {
        let mut m = procs.obj();
        m.str("cmdline", &p.cmdline);
        m.bool("daemon", p.daemon.unwrap_or(false));
        m.bool("ephemeral", p.ephemeral.unwrap_or(false));
        m.bool("final", p.final_.unwrap_or(false));
        if let Some(l) = &p.logger {
            let mut lm = m.obj("logger");
            lm.str(
                "destination",
                match l.destination.unwrap_or(LogDestination::File) {
                    LogDestination::File => "file",
                    LogDestination::Console => "console",
                    LogDestination::Both => "both",
                    LogDestination::None => "none",
                },
            );
            lm.str(
                "mode",
                match l.mode.unwrap_or(LogMode::Standard) {
                    LogMode::Standard => "standard",
                    LogMode::Rotate => "rotate",
                },
            );
            if let Some(r) = &l.rotate {
                let mut rm = lm.obj("rotate");
                rm.int("backups", r.backups.unwrap_or(5));
                rm.int("log_size", r.log_size.map_or(100 * 1024 * 1024, |s| s.0));
                rm.end();
            }
            lm.end();
        }
        m.int("max_failures", p.max_failures.unwrap_or(1));
        m.int("min_duration", secs(p.min_duration, 5));
        m.str("name", &p.name);
        m.end();
    }
    procs.end();
    let res = s.resources.as_ref();
    let mut r = t.obj("resources");
    r.f64("cpu", res.and_then(|r| r.cpu).unwrap_or(0.0));
    r.int("disk", res.and_then(|r| r.disk).unwrap_or(Size(0)).0);
    r.int("gpu", res.and_then(|r| r.gpu).unwrap_or(0));
    r.int("ram", res.and_then(|r| r.ram).unwrap_or(Size(0)).0);
    r.end();
    if let Some(u) = &spec.user {
        t.str("user", u);
    }
    t.end();
}

fn container(c: &ContainerSpec, mut out: Obj<'_>) {
    match c {
        ContainerSpec::Docker(d) => {
            out.str("image", &d.image);
            let mut params = out.arr("parameters");
            for p in d.parameters.iter().flatten() {
                let mut m = params.obj();
                m.str("name", &p.name);
                m.str("value", &p.value);
                m.end();
            }
            params.end();
        }
        ContainerSpec::Mesos(m) => {
            match &m.image {
                Some(ImageSpec::Docker(d)) => {
                    let mut i = out.obj("image");
                    i.str("name", &d.name);
                    i.str("tag", &d.tag);
                    i.end();
                }
                Some(ImageSpec::Appc(a)) => {
                    let mut i = out.obj("image");
                    i.str("image_id", &a.image_id);
                    i.str("name", &a.name);
                    i.end();
                }
                None => {}
            }
            let mut volumes = out.arr("volumes");
            for v in m.volumes.iter().flatten() {
                let mut vm = volumes.obj();
                vm.str("container_path", &v.container_path);
                vm.str("host_path", &v.host_path);
                vm.str(
                    "mode",
                    match v.mode {
                        VolumeMode::Ro => "RO",
                        VolumeMode::Rw => "RW",
                    },
                );
                vm.end();
            }
            volumes.end();
        }
    }
    out.end();
}

fn secs(d: Option<Duration>, default: u64) -> u64 {
    d.map_or(default, |d| d.0.as_secs())
}

fn secs_f(d: Option<Duration>, default: f64) -> f64 {
    d.map_or(default, Duration::secs_f64)
}

fn health_check(job: &Job, mut out: Obj<'_>) {
    let hc = job.spec.health_check.as_ref();
    let mut checker = out.obj("health_checker");
    match hc.and_then(|h| h.shell.as_ref()) {
        Some(shell) => {
            let mut sh = checker.obj("shell");
            sh.str("shell_command", &shell.command);
            sh.end();
        }
        None => {
            let http = hc.and_then(|h| h.http.as_ref());
            let mut h = checker.obj("http");
            h.str(
                "endpoint",
                http.and_then(|h| h.endpoint.as_deref())
                    .unwrap_or("/health"),
            );
            h.str(
                "expected_response",
                http.and_then(|h| h.expected_response.as_deref())
                    .unwrap_or("ok"),
            );
            h.int(
                "expected_response_code",
                http.and_then(|h| h.expected_response_code).unwrap_or(0),
            );
            h.end();
        }
    }
    checker.end();
    out.f64(
        "initial_interval_secs",
        secs_f(hc.and_then(|h| h.initial_interval), 15.0),
    );
    out.f64("interval_secs", secs_f(hc.and_then(|h| h.interval), 10.0));
    out.int(
        "max_consecutive_failures",
        hc.and_then(|h| h.max_consecutive_failures).unwrap_or(0),
    );
    out.int(
        "min_consecutive_successes",
        hc.and_then(|h| h.min_consecutive_successes).unwrap_or(1),
    );
    out.f64("timeout_secs", secs_f(hc.and_then(|h| h.timeout), 1.0));
    out.end();
}

fn lifecycle(job: &Job, mut out: Obj<'_>) {
    let h = job.spec.lifecycle.as_ref().and_then(|l| l.http.as_ref());
    let mut http = out.obj("http");
    http.str(
        "graceful_shutdown_endpoint",
        h.and_then(|h| h.graceful_shutdown_endpoint.as_deref())
            .unwrap_or("/quitquitquit"),
    );
    http.int(
        "graceful_shutdown_wait_secs",
        secs(h.and_then(|h| h.graceful_shutdown_wait), 5),
    );
    http.str(
        "port",
        h.and_then(|h| h.port.as_deref()).unwrap_or("health"),
    );
    http.str(
        "shutdown_endpoint",
        h.and_then(|h| h.shutdown_endpoint.as_deref())
            .unwrap_or("/abortabortabort"),
    );
    http.int(
        "shutdown_wait_secs",
        secs(h.and_then(|h| h.shutdown_wait), 5),
    );
    http.end();
    out.end();
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

    /// The exact bytes of the payload of every field, so a change of how it is written shows.
    #[test]
    fn payloads_of_every_field_are_pinned() {
        let all: Vec<String> = crate::testing::all_fields_jobs()
            .iter()
            .map(|job| format!("{}\n{}", job.key, payload(job)))
            .collect();
        insta::assert_snapshot!(all.join("\n\n"));
    }

    /// The payload is written by hand in canonical form: parsing and writing it canonically
    /// again changes nothing (keys sorted at every level, no whitespace).
    #[test]
    fn payloads_are_canonical() {
        for job in crate::testing::all_fields_jobs() {
            let text = payload(&job);
            let parsed: Value = serde_json::from_str(&text).expect("payload is JSON");
            assert_eq!(canonical_json(&parsed), text, "{}", job.key);
        }
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
