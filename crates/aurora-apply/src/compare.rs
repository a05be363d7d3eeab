//! Whether two (normalised) configs differ in a way that matters, and how, in spec terms.
//!
//! Compared after [`crate::normalize`]. Two deliberate departures from the scheduler's
//! full-Thrift equality, so re-applying an unchanged spec never restarts anything:
//! * `owner` is ignored: Aurora's client writes the local unix user there, so the same config
//!   applied by two people would otherwise roll every instance.
//! * `executorConfig.data` is compared as JSON when both sides parse, not as a string: key
//!   order and whitespace differ between writers (Python's client, ours). For Thermos
//!   payloads the keys that only mirror `TaskConfig` fields (tier, production, priority, …)
//!   are left out; the executor reads its behaviour from `task`, `health_check_config`,
//!   `lifecycle`, `announce` and the like, and the mirrored fields are compared through the
//!   `TaskConfig` itself.
//!
//! Differences come out as [`FieldChange`]s keyed by the spec's field names
//! (`resources.ram`, `task.processes[hello].cmdline`), which is what plans show.

use std::collections::BTreeMap;

use aurora_api::json::to_json;
use aurora_api::types::{Resource, TaskConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The name of the Thermos executor in `ExecutorConfig.name`.
pub const THERMOS_EXECUTOR: &str = "AuroraExecutor";

/// Thermos payload keys that repeat `TaskConfig` or job-level fields.
const MIRRORED_PAYLOAD_KEYS: &[&str] = &[
    "cluster",
    "container",
    "cron_collision_policy",
    "cron_schedule",
    "executor_config",
    "max_task_failures",
    "metadata",
    "name",
    "priority",
    "production",
    "service",
    "tier",
];

/// What a changed field does to the running job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Instances restart with the new config (rolling update).
    Restart,
    /// Instances are added.
    AddInstances,
    /// Instances are killed.
    RemoveInstances,
    /// A cron template change: takes effect at the next run.
    CronNextRun,
    /// The job is killed and created again.
    Replace,
    /// Nothing running changes.
    None,
}

/// One field that differs, with its value on each side (absent = `None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field in spec terms, e.g. `resources.cpu`.
    pub path: String,
    /// The live value.
    pub before: Option<Value>,
    /// The desired value.
    pub after: Option<Value>,
    /// What the change does when applied.
    pub effect: Effect,
}

/// Whether two normalised task configs are the same for every purpose that matters.
pub fn same_task(a: &TaskConfig, b: &TaskConfig) -> bool {
    // Configs equal field for field have equal views: most jobs of a big plan did not
    // change, and this skips reading both of their payloads.
    equal_but_owner_and_job(a, b) || task_view(a) == task_view(b)
}

/// Whether every field [`task_view`] reads is equal (all but `owner` and `job`). Written
/// out field by field so that a field added to `TaskConfig` fails to compile here.
fn equal_but_owner_and_job(a: &TaskConfig, b: &TaskConfig) -> bool {
    let TaskConfig {
        is_service,
        priority,
        max_task_failures,
        owner: _,
        production,
        constraints,
        task_links,
        contact_email,
        executor_config,
        metadata,
        job: _,
        container,
        tier,
        resources,
        mesos_fetcher_uris,
        partition_policy,
        sla_policy,
    } = a;
    *is_service == b.is_service
        && *priority == b.priority
        && *max_task_failures == b.max_task_failures
        && *production == b.production
        && *tier == b.tier
        && *contact_email == b.contact_email
        && *resources == b.resources
        && *constraints == b.constraints
        && *task_links == b.task_links
        && *metadata == b.metadata
        && *container == b.container
        && *mesos_fetcher_uris == b.mesos_fetcher_uris
        && *partition_policy == b.partition_policy
        && *sla_policy == b.sla_policy
        && *executor_config == b.executor_config
}

/// Field-by-field differences between a live and a desired task config, all with `effect`.
pub fn task_changes(before: &TaskConfig, after: &TaskConfig, effect: Effect) -> Vec<FieldChange> {
    diff_views(&task_view(before), &task_view(after), effect)
}

/// Differences between two flat views.
pub fn diff_views(
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
    effect: Effect,
) -> Vec<FieldChange> {
    let mut paths: Vec<&String> = before.keys().chain(after.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter(|p| before.get(*p) != after.get(*p))
        .map(|p| FieldChange {
            path: p.clone(),
            before: before.get(p).cloned(),
            after: after.get(p).cloned(),
            effect,
        })
        .collect()
}

/// A task config as a flat map from spec-term paths to values. `owner` and `job` are left
/// out; Thermos payloads are flattened.
pub fn task_view(task: &TaskConfig) -> BTreeMap<String, Value> {
    let mut view = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        view.insert(k.to_string(), v);
    };
    if let Some(v) = task.is_service {
        put("service", Value::Bool(v));
    }
    if let Some(v) = &task.tier {
        put("tier", Value::from(v.as_str()));
    }
    if let Some(v) = task.priority {
        put("priority", Value::from(v));
    }
    if let Some(v) = task.max_task_failures {
        put("max_task_failures", Value::from(v));
    }
    if let Some(v) = task.production {
        put("production", Value::Bool(v));
    }
    if let Some(v) = &task.contact_email {
        put("contact", Value::from(v.as_str()));
    }
    let mut ports = Vec::new();
    for r in task.resources.iter().flatten() {
        match r {
            Resource::NumCpus(c) => put("resources.cpu", Value::from(c.0)),
            Resource::RamMb(m) => put("resources.ram", Value::from(format!("{m}MiB"))),
            Resource::DiskMb(m) => put("resources.disk", Value::from(format!("{m}MiB"))),
            Resource::NumGpus(g) => put("resources.gpu", Value::from(*g)),
            Resource::IpAddr(i) => put("resources.ip", Value::from(*i)),
            Resource::NamedPort(p) => ports.push(Value::from(p.as_str())),
        }
    }
    if !ports.is_empty() {
        put("ports", Value::Array(ports));
    }
    for c in task.constraints.iter().flatten() {
        let name = c.name.clone().unwrap_or_default();
        let value = c.constraint.as_ref().map_or(Value::Null, to_json);
        put(&format!("constraints.{name}"), value);
    }
    let mut metadata: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for m in task.metadata.iter().flatten() {
        metadata
            .entry(m.key.clone().unwrap_or_default())
            .or_default()
            .push(Value::from(m.value.clone().unwrap_or_default()));
    }
    for (k, mut values) in metadata {
        let value = if values.len() == 1 {
            values.remove(0)
        } else {
            Value::Array(values)
        };
        put(&format!("metadata.{k}"), value);
    }
    if let Some(c) = &task.container {
        put("container", to_json(c));
    }
    if let Some(uris) = &task.mesos_fetcher_uris {
        put("fetch", Value::Array(uris.iter().map(to_json).collect()));
    }
    if let Some(p) = &task.partition_policy {
        put("partition_policy", to_json(p));
    }
    if let Some(p) = &task.sla_policy {
        put("sla_policy", to_json(p));
    }
    if let Some(links) = task.task_links.as_ref().filter(|l| !l.is_empty()) {
        put(
            "task_links",
            serde_json::to_value(links).unwrap_or(Value::Null),
        );
    }
    if let Some(exec) = &task.executor_config {
        let name = exec.name.clone().unwrap_or_default();
        put("executor.name", Value::from(name.as_str()));
        let data = exec.data.clone().unwrap_or_default();
        match serde_json::from_str::<Value>(&data) {
            Ok(Value::Object(mut payload)) if name == THERMOS_EXECUTOR => {
                for k in MIRRORED_PAYLOAD_KEYS {
                    payload.remove(*k);
                }
                if let Some(Value::Object(task)) = payload.get_mut("task") {
                    // Resources are compared through TaskConfig.resources.
                    task.remove("resources");
                }
                flatten("", &Value::Object(payload), &mut view);
            }
            Ok(json) => {
                view.insert("executor.data".into(), json);
            }
            Err(_) => {
                view.insert("executor.data".into(), Value::from(data));
            }
        }
    }
    view
}

/// Flattens a JSON document into `a.b[name].c` paths; array elements that are objects with a
/// `name` are addressed by it, so reordering processes reads as what it is.
fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, v, out);
            }
        }
        Value::Array(items)
            if !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.get("name").is_some_and(Value::is_string)) =>
        {
            for item in items {
                let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                flatten(&format!("{prefix}[{name}]"), item, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurora_api::types::{ExecutorConfig, Identity};
    use std::collections::BTreeSet;

    fn with_payload(data: &str) -> TaskConfig {
        TaskConfig {
            owner: Some(Identity {
                user: Some("root".into()),
            }),
            resources: Some(BTreeSet::from([Resource::NumCpus(1.0.into())])),
            executor_config: Some(ExecutorConfig {
                name: Some(THERMOS_EXECUTOR.into()),
                data: Some(data.into()),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn owner_and_json_formatting_do_not_matter() {
        let a = with_payload(
            r#"{"task": {"name": "x", "processes": [{"name": "p", "cmdline": "c"}]}, "tier": "preemptible"}"#,
        );
        let mut b = with_payload(
            r#"{"tier":"preferred","task":{"processes":[{"cmdline":"c","name":"p"}],"name":"x"}}"#,
        );
        b.owner = Some(Identity {
            user: Some("www-data".into()),
        });
        assert!(same_task(&a, &b));
    }

    /// Equal configs are the same whoever owns them and whatever key they carry, and one
    /// field apart they differ whether or not the payloads are written alike (the shortcut
    /// for equal configs agrees with the views).
    #[test]
    fn equal_configs_are_the_same_and_one_field_apart_they_differ() {
        let a = with_payload(r#"{"task":{"name":"x"}}"#);
        let mut b = a.clone();
        b.owner = Some(Identity {
            user: Some("someone".into()),
        });
        b.job = Some(aurora_api::types::JobKey::default());
        assert!(same_task(&a, &b));
        for change in [
            |t: &mut TaskConfig| t.priority = Some(5),
            |t: &mut TaskConfig| t.contact_email = Some("x@example.com".into()),
            |t: &mut TaskConfig| t.resources = Some(BTreeSet::new()),
            |t: &mut TaskConfig| t.max_task_failures = Some(3),
        ] {
            let mut c = b.clone();
            change(&mut c);
            assert!(!same_task(&a, &c));
            let mut reordered = with_payload(r#"{ "task": { "name": "x" } }"#);
            change(&mut reordered);
            assert!(!same_task(&a, &reordered));
        }
    }

    #[test]
    fn process_changes_are_named_by_process() {
        let a = with_payload(r#"{"task": {"processes": [{"name": "web", "cmdline": "./a"}]}}"#);
        let b = with_payload(r#"{"task": {"processes": [{"name": "web", "cmdline": "./b"}]}}"#);
        let changes = task_changes(&a, &b, Effect::Restart);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "task.processes[web].cmdline");
        assert_eq!(changes[0].before, Some(Value::from("./a")));
    }

    #[test]
    fn resources_read_in_spec_units() {
        let a = with_payload("{}");
        let mut b = a.clone();
        b.resources = Some(BTreeSet::from([
            Resource::NumCpus(2.0.into()),
            Resource::RamMb(256),
        ]));
        let changes = task_changes(&a, &b, Effect::Restart);
        let paths: Vec<_> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["resources.cpu", "resources.ram"]);
        assert_eq!(changes[1].after, Some(Value::from("256MiB")));
    }

    #[test]
    fn non_thermos_data_is_compared_as_json() {
        let mut a = with_payload(r#"{"a": 1, "b": 2}"#);
        let mut b = with_payload(r#"{"b":2,"a":1}"#);
        for t in [&mut a, &mut b] {
            if let Some(e) = &mut t.executor_config {
                e.name = Some("docker-compose-executor".into());
            }
        }
        assert!(same_task(&a, &b));
    }
}
