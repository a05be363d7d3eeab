//! Proving a conversion: the converted spec is loaded back with `aurora_spec::load_sources`
//! (so every rule of the format and of the scheduler applies) and what it renders is compared
//! with what the source JSON means to Aurora's client:
//!
//! * the Thermos payload (`executorConfig.data`), parsed, equals the source Job minus
//!   `instances` and `update_config` (Aurora's client sends exactly that), where a field the
//!   source leaves out may only render as its pystachio default; a custom executor's name and
//!   data are compared as they are;
//! * `instanceCount`, `isService`, `cronSchedule`, `cronCollisionPolicy`, `tier`,
//!   `production` and the resources of the `TaskConfig`;
//! * the update settings, as Aurora's client builds them from `update_config`
//!   (`updater_util.py`), for services and ad-hoc jobs.
//!
//! The owner is not compared: Aurora's client records the local unix user, aurora-apply the
//! role. Every difference is an error at the JSON path of the source field.

use serde_json::{Value, json};

use aurora_spec::{LoadOptions, LoadedJob, SourceFile, load_sources};

use crate::error::ConvertError;
use crate::read::ConvertedJob;
use crate::write::{SpecFormat, document};

const MIB: f64 = 1024.0 * 1024.0;

/// Loads `converted` back (written as `format`) and compares its render with `source`, the
/// pystachio Job it was read from (at `path` in its document). Returns the loaded job, whose
/// `config` and `update` are what aurora-apply would send.
pub fn verify_job(
    source: &Value,
    path: &str,
    converted: &ConvertedJob,
    format: SpecFormat,
) -> Result<LoadedJob, Vec<ConvertError>> {
    let text = document(
        std::slice::from_ref(converted),
        format,
        "aurora-apply.v1.json",
    )
    .map_err(|e| vec![ConvertError::new(path, e.to_string())])?;
    let name = format!("{}.{}", converted.name, format.extension());
    let file = SourceFile::new(name, text, format.source_format());
    let loaded = load_sources(&[file], &LoadOptions::default()).map_err(|d| {
        d.sorted()
            .iter()
            .map(|d| {
                ConvertError::new(
                    path,
                    format!("the converted spec is not valid: {d} (at {})", d.location()),
                )
            })
            .collect::<Vec<_>>()
    })?;
    let Some(job) = loaded.into_iter().next() else {
        return Err(vec![ConvertError::new(
            path,
            "the converted spec has no job",
        )]);
    };
    let mut errors = Vec::new();
    compare_job(source, path, &job, &mut errors);
    if errors.is_empty() {
        Ok(job)
    } else {
        Err(errors)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn differ(errors: &mut Vec<ConvertError>, path: &str, want: &Value, got: &Value) {
    errors.push(ConvertError::new(
        path,
        format!("the converted spec renders {got}, the job file says {want}"),
    ));
}

fn compare_job(source: &Value, path: &str, job: &LoadedJob, errors: &mut Vec<ConvertError>) {
    let config = aurora_spec::render::job_configuration_json(&job.config);
    let task = &config["taskConfig"];
    let src = |k: &str| source.get(k).filter(|v| !v.is_null());

    let check = |errors: &mut Vec<ConvertError>, key: &str, want: Value, got: &Value| {
        if !same(&want, got) {
            differ(errors, &join(path, key), &want, got);
        }
    };
    check(
        errors,
        "instances",
        src("instances").cloned().unwrap_or(json!(1)),
        &config["instanceCount"],
    );
    check(
        errors,
        "service",
        src("service").cloned().unwrap_or(json!(false)),
        &task["isService"],
    );
    check(
        errors,
        "cron_schedule",
        src("cron_schedule").cloned().unwrap_or(Value::Null),
        &config["cronSchedule"],
    );
    check(
        errors,
        "cron_collision_policy",
        src("cron_collision_policy")
            .cloned()
            .unwrap_or(json!("KILL_EXISTING")),
        &config["cronCollisionPolicy"],
    );
    if let Some(t) = src("tier") {
        check(errors, "tier", t.clone(), &task["tier"]);
    }
    check(
        errors,
        "production",
        src("production").cloned().unwrap_or(json!(false)),
        &task["production"],
    );

    // Resources, as the client converts them (ram and disk in whole MiB).
    let res = &source["task"]["resources"];
    let rendered: Vec<&Value> = task["resources"].as_array().into_iter().flatten().collect();
    let find = |k: &str| {
        rendered
            .iter()
            .find_map(|r| r.get(k))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let rp = join(path, "task.resources");
    check(
        errors,
        "task.resources.cpu",
        res["cpu"].clone(),
        &find("numCpus"),
    );
    for (key, field) in [("ram", "ramMb"), ("disk", "diskMb")] {
        let want = res[key]
            .as_f64()
            .map_or(Value::Null, |b| json!((b / MIB).floor()));
        if !same(&want, &find(field)) {
            differ(errors, &join(&rp, key), &res[key], &find(field));
        }
    }
    let gpu = res["gpu"]
        .as_i64()
        .filter(|g| *g > 0)
        .map_or(Value::Null, |g| json!(g));
    check(errors, "task.resources.gpu", gpu, &find("numGpus"));

    // The executor.
    let exec = &task["executorConfig"];
    let src_exec = src("executor_config");
    let name = src_exec
        .and_then(|e| e.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("AuroraExecutor");
    if name == "AuroraExecutor" {
        let data = exec["data"].as_str().unwrap_or_default();
        match serde_json::from_str::<Value>(data) {
            Ok(payload) => {
                let mut want = source.clone();
                if let Value::Object(m) = &mut want {
                    m.remove("instances");
                    m.remove("update_config");
                }
                compare_payload(&normalise(want), &normalise(payload), path, "", errors);
            }
            Err(_) => errors.push(ConvertError::new(
                path,
                "the converted spec does not render a Thermos payload",
            )),
        }
    } else {
        check(errors, "executor_config.name", json!(name), &exec["name"]);
        let data = src_exec
            .and_then(|e| e.get("data"))
            .cloned()
            .unwrap_or(json!(""));
        check(errors, "executor_config.data", data, &exec["data"]);
    }

    // Update settings (services and ad-hoc jobs).
    if let (Some(u), Some(update)) = (src("update_config"), &job.update) {
        let got = aurora_spec::render::job_update_request_json(update)["settings"].clone();
        let up = join(path, "update_config");
        for (field, want) in expected_settings(u) {
            let g = got.get(field).cloned().unwrap_or(Value::Null);
            if !same(&want, &g) {
                differ(errors, &format!("{up} ({field})"), &want, &g);
            }
        }
    }
}

/// The `JobUpdateSettings` fields Aurora's client derives from `update_config`
/// (client/api/updater_util.py, rel/0.22.0).
fn expected_settings(u: &Value) -> Vec<(&'static str, Value)> {
    let int = |k: &str, d: i64| u.get(k).and_then(Value::as_i64).unwrap_or(d);
    let boolean = |k: &str, d: bool| u.get(k).and_then(Value::as_bool).unwrap_or(d);
    let batch = int("batch_size", 1);
    let wait = boolean("wait_for_batch_completion", false);
    let strategy = u.get("update_strategy").filter(|s| !s.is_null());
    let (group, wait, strategy) = match strategy {
        None if wait => (
            batch,
            true,
            json!({"batchStrategy": {"groupSize": batch, "autopauseAfterBatch": false}}),
        ),
        None => (batch, false, json!({"queueStrategy": {"groupSize": batch}})),
        Some(s) if s.get("batch_sizes").is_some() => (
            batch,
            wait,
            json!({"varBatchStrategy": {
                "groupSizes": s["batch_sizes"],
                "autopauseAfterBatch": s.get("autopause_after_batch").and_then(Value::as_bool).unwrap_or(false),
            }}),
        ),
        Some(s) if s.get("autopause_after_batch").is_some() => {
            let size = s.get("batch_size").and_then(Value::as_i64).unwrap_or(1);
            (
                size,
                true,
                json!({"batchStrategy": {"groupSize": size, "autopauseAfterBatch": s["autopause_after_batch"]}}),
            )
        }
        Some(s) => {
            let size = s.get("batch_size").and_then(Value::as_i64).unwrap_or(1);
            (size, false, json!({"queueStrategy": {"groupSize": size}}))
        }
    };
    let mut out = vec![
        ("updateGroupSize", json!(group)),
        ("waitForBatchCompletion", json!(wait)),
        ("updateStrategy", strategy),
        (
            "minWaitInInstanceRunningMs",
            json!(int("watch_secs", 45) * 1000),
        ),
        (
            "maxPerInstanceFailures",
            json!(int("max_per_shard_failures", 0)),
        ),
        ("maxFailedInstances", json!(int("max_total_failures", 0))),
        (
            "rollbackOnFailure",
            json!(boolean("rollback_on_failure", true)),
        ),
        ("slaAware", json!(boolean("sla_aware", false))),
    ];
    out.push((
        "blockIfNoPulsesAfterMs",
        u.get("pulse_interval_secs")
            .and_then(Value::as_f64)
            .map_or(Value::Null, |s| json!(s * 1000.0)),
    ));
    out
}

/// Numbers compare by value (`1` = `1.0`); everything else structurally.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Puts both sides in one shape where Aurora's forms differ but mean the same: constraint
/// values as a sorted set, metadata as a sorted set, the legacy `Container` struct
/// (`{"docker": Docker}`) as the Docker choice.
fn normalise(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        if let Some(Value::Object(cs)) = m.get_mut("constraints") {
            for c in cs.values_mut() {
                if let Value::String(s) = c
                    && !s.starts_with("limit:")
                {
                    let (neg, list) = s
                        .strip_prefix('!')
                        .map_or((false, s.as_str()), |r| (true, r));
                    let mut vals: Vec<&str> = list.split(',').map(str::trim).collect();
                    vals.sort_unstable();
                    vals.dedup();
                    *c = json!(format!("{}{}", if neg { "!" } else { "" }, vals.join(",")));
                }
            }
        }
        // pystachio's Task.name defaults to `{{processes[0].name}}`.
        if let Some(Value::Object(task)) = m.get_mut("task")
            && !task.contains_key("name")
            && let Some(first) = task
                .get("processes")
                .and_then(|p| p.get(0))
                .and_then(|p| p.get("name"))
                .cloned()
        {
            task.insert("name".into(), first);
        }
        if let Some(Value::Array(md)) = m.get_mut("metadata") {
            md.sort_by_cached_key(ToString::to_string);
        }
        if let Some(Value::Object(c)) = m.get_mut("container")
            && let Some(d) = c.remove("docker")
        {
            *c = d.as_object().cloned().unwrap_or_default();
            c.entry("parameters").or_insert(json!([]));
        }
    }
    v
}

/// What pystachio writes for a field a Job file may leave out (Aurora 0.22's schema), by field
/// name; `None` for fields whose rendered value is accepted whatever it is (the tier, which
/// the client backfills, and the announcer's default portmap).
fn default_of(key: &str) -> Option<Option<Value>> {
    let v = match key {
        "tier" | "portmap" => return Some(None),
        "cron_collision_policy" => json!("KILL_EXISTING"),
        "metadata" | "constraints" | "volumes" | "parameters" => json!([]),
        "service" | "production" | "enable_hooks" | "daemon" | "ephemeral" | "final" => {
            json!(false)
        }
        "max_task_failures" | "max_failures" | "min_consecutive_successes" => json!(1),
        "priority"
        | "max_concurrency"
        | "gpu"
        | "max_consecutive_failures"
        | "expected_response_code"
        | "delay_secs" => json!(0),
        "executor_config" => json!({"data": "", "name": "AuroraExecutor"}),
        "health_check_config" => json!({
            "health_checker": {"http": {"endpoint": "/health", "expected_response": "ok", "expected_response_code": 0}},
            "initial_interval_secs": 15.0, "interval_secs": 10.0, "max_consecutive_failures": 0,
            "min_consecutive_successes": 1, "timeout_secs": 1.0,
        }),
        "health_checker" => {
            json!({"http": {"endpoint": "/health", "expected_response": "ok", "expected_response_code": 0}})
        }
        "lifecycle" => json!({"http": {
            "graceful_shutdown_endpoint": "/quitquitquit", "graceful_shutdown_wait_secs": 5,
            "port": "health", "shutdown_endpoint": "/abortabortabort", "shutdown_wait_secs": 5,
        }}),
        "initial_interval_secs" => json!(15.0),
        "interval_secs" => json!(10.0),
        "timeout_secs" => json!(1.0),
        "endpoint" => json!("/health"),
        "expected_response" => json!("ok"),
        "port" => json!("health"),
        "graceful_shutdown_endpoint" => json!("/quitquitquit"),
        "shutdown_endpoint" => json!("/abortabortabort"),
        "graceful_shutdown_wait_secs" | "shutdown_wait_secs" | "min_duration" => json!(5),
        "finalization_wait" => json!(30),
        "primary_port" => json!("http"),
        "reschedule" => json!(true),
        "status_key" => json!("drain"),
        "destination" => json!("file"),
        "mode" => json!("standard"),
        "log_size" => json!(100 * 1024 * 1024),
        "backups" => json!(5),
        _ => return None,
    };
    Some(Some(v))
}

fn compare_payload(
    want: &Value,
    got: &Value,
    base: &str,
    rel: &str,
    errors: &mut Vec<ConvertError>,
) {
    let here = if rel.is_empty() {
        base.to_string()
    } else {
        join(base, rel)
    };
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let r = if rel.is_empty() {
                    k.clone()
                } else {
                    format!("{rel}.{k}")
                };
                match g.get(k) {
                    Some(gv) => compare_payload(wv, gv, base, &r, errors),
                    None => {
                        let empty = wv.is_null()
                            || wv.as_object().is_some_and(serde_json::Map::is_empty)
                            || wv.as_array().is_some_and(Vec::is_empty);
                        if !empty {
                            errors.push(ConvertError::new(
                                join(base, &r),
                                "the converted spec leaves this out of the Thermos payload",
                            ));
                        }
                    }
                }
            }
            for (k, gv) in g {
                if w.contains_key(k) {
                    continue;
                }
                let r = if rel.is_empty() {
                    k.clone()
                } else {
                    format!("{rel}.{k}")
                };
                match default_of(k) {
                    Some(None) => {}
                    Some(Some(d)) if same(&d, gv) => {}
                    _ => errors.push(ConvertError::new(
                        join(base, &r),
                        format!("the converted spec adds {gv} to the Thermos payload, which the job file leaves out"),
                    )),
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                compare_payload(wv, gv, base, &format!("{rel}[{i}]"), errors);
            }
        }
        _ => {
            if !same(want, got) {
                differ(errors, &here, want, got);
            }
        }
    }
}

/// Compares what `job` renders with a `JobConfiguration` in the JSON view
/// (`aurora_spec::render::job_configuration_json`'s shape: Aurora's client fixtures, or a
/// live job read back from the scheduler by `import`), field for field: the executor data as
/// parsed JSON, the owner aside (Aurora's client records the local unix user, aurora-apply
/// the role). Every difference is an error at its path in the configuration
/// (`taskConfig.executorConfig.data.task.processes[0].cmdline`).
pub fn compare_configuration(job: &LoadedJob, expected: &Value) -> Vec<ConvertError> {
    let got = aurora_spec::render::job_configuration_json(&job.config);
    let mut errors = Vec::new();
    diff(
        &aurora_spec::render::comparable(expected.clone()),
        &aurora_spec::render::comparable(got),
        "",
        &mut errors,
    );
    errors
}

fn diff(want: &Value, got: &Value, path: &str, errors: &mut Vec<ConvertError>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let p = join(path, k);
                match g.get(k) {
                    Some(gv) => diff(wv, gv, &p, errors),
                    None => errors.push(ConvertError::new(
                        p,
                        format!("the converted spec leaves this out; expected {wv}"),
                    )),
                }
            }
            for (k, gv) in g {
                if !w.contains_key(k) {
                    errors.push(ConvertError::new(
                        join(path, k),
                        format!("the converted spec adds {gv}"),
                    ));
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                diff(wv, gv, &format!("{path}[{i}]"), errors);
            }
        }
        _ => {
            if !same(want, got) {
                differ(errors, path, want, got);
            }
        }
    }
}
