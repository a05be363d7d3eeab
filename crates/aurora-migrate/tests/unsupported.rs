//! What the spec format cannot express is refused, each problem at its JSON path, and no spec
//! text comes out for the job.

use aurora_migrate::{ConvertError, SpecFormat, convert_document};
use serde_json::{Value, json};

fn job(extra: Value) -> Value {
    let mut job = json!({
        "name": "a", "role": "www-data", "cluster": "devcluster", "environment": "prod",
        "service": true,
        "task": {
            "name": "a",
            "processes": [
                {"name": "a", "cmdline": "./a"},
                {"name": "b", "cmdline": "./b"}
            ],
            "resources": {"cpu": 1.0, "ram": 134217728, "disk": 134217728, "gpu": 0}
        }
    });
    merge(&mut job, extra);
    json!({"jobs": [job]})
}

fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, e) => *b = e,
    }
}

fn errors(extra: Value) -> Vec<ConvertError> {
    convert_document(&job(extra), SpecFormat::Yaml, "s.json").expect_err("refused")
}

fn paths(errors: &[ConvertError]) -> Vec<&str> {
    errors.iter().map(|e| e.path.as_str()).collect()
}

#[test]
fn the_base_job_converts() {
    assert!(convert_document(&job(json!({})), SpecFormat::Yaml, "s.json").is_ok());
}

#[test]
fn unbound_templates_are_refused_at_their_path() {
    let e = errors(json!({"task": {"processes": [
        {"name": "a", "cmdline": "./a --port={{thermos.ports[http]}} --shard={{mesos.instance}} {{&thermos.task_id}}"},
        {"name": "b", "cmdline": "./b --env={{environment}}"}
    ]}}));
    assert_eq!(paths(&e), ["jobs[0].task.processes[1].cmdline"], "{e:#?}");
    assert!(e[0].message.contains("{{environment}}"), "{}", e[0]);
    let e = errors(json!({"contact": "{{role}}@example.com"}));
    assert_eq!(paths(&e), ["jobs[0].contact"]);
}

#[test]
fn fields_the_spec_cannot_say_are_refused() {
    let cases = [
        (
            json!({"task_links": {"http": "http://%host%:%port:http%"}}),
            "jobs[0].task_links",
        ),
        (
            json!({"executor_config": {"name": "AuroraExecutor", "data": "{}"}}),
            "jobs[0].executor_config.data",
        ),
        (json!({"lifecycle": {}}), "jobs[0].lifecycle.http"),
        (
            json!({"metadata": [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]}),
            "jobs[0].metadata[1].key",
        ),
        (
            json!({"task": {"constraints": [{"order": ["a"], "extra": 1}]}}),
            "jobs[0].task.constraints[0]",
        ),
        (
            json!({"task": {"processes": [{"name": "a", "cmdline": "x", "resources": {}}, {"name": "b", "cmdline": "y"}]}}),
            "jobs[0].task.processes[0].resources",
        ),
        (
            json!({"cron_schedule": "* * * * *"}),
            "jobs[0].cron_schedule",
        ),
        (
            json!({"cron_collision_policy": "CANCEL_NEW"}),
            "jobs[0].cron_collision_policy",
        ),
        (json!({"some_future_field": 1}), "jobs[0].some_future_field"),
        (
            json!({"tier": "preferred", "production": false}),
            "jobs[0].production",
        ),
        (
            json!({"executor_config": {"name": "custom", "data": "{}"}, "enable_hooks": true}),
            "jobs[0].enable_hooks",
        ),
    ];
    for (extra, want) in cases {
        let e = errors(extra.clone());
        assert!(paths(&e).contains(&want), "{extra}: {e:#?}");
    }
}

/// What the spec rules reject (here a role that is not an identifier) comes back from
/// verification, not as a written file.
#[test]
fn specs_the_loader_rejects_are_refused() {
    let e = errors(json!({"role": "www data"}));
    assert_eq!(paths(&e), ["jobs[0]"]);
    assert!(e[0].message.contains("not valid"), "{}", e[0]);
}

/// A custom executor keeps its name and data and needs no Thermos task.
#[test]
fn custom_executors_convert() {
    let doc = job(json!({"executor_config": {"name": "docker-compose-executor", "data": "{}"}}));
    let out = convert_document(&doc, SpecFormat::Yaml, "s.json").expect("converts");
    assert!(
        out.text.contains("name: docker-compose-executor"),
        "{}",
        out.text
    );
    assert!(!out.text.contains("processes"), "{}", out.text);
}
