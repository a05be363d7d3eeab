//! Jobs beyond the four client fixtures (tests/inputs/*.json, written as
//! `aurora job inspect --write-json` writes them, or with defaults left out): each converts,
//! verifies, and renders the Thrift fields its JSON means; the Thermos payload it renders
//! converts back to the same spec.

use std::path::Path;

use aurora_migrate::tree::Node;
use aurora_migrate::{SpecFormat, convert_document, read_job, verify_job};
use aurora_spec::{Format, LoadOptions, LoadedJob, SourceFile, load_sources};
use serde_json::{Value, json};

fn input(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/inputs")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("json")
}

/// Converts in both formats (the texts must load to the same configs) and returns the YAML
/// text and the loaded job.
fn convert(name: &str) -> (String, LoadedJob) {
    let doc = input(name);
    let yaml = convert_document(&doc, SpecFormat::Yaml, "aurora-apply.v1.json")
        .unwrap_or_else(|e| panic!("{name}: {e:#?}"));
    let toml = convert_document(&doc, SpecFormat::Toml, "aurora-apply.v1.json")
        .unwrap_or_else(|e| panic!("{name}: {e:#?}"));
    let load = |text: &str, format| {
        load_sources(
            &[SourceFile::new("x", text, format)],
            &LoadOptions::default(),
        )
        .unwrap_or_else(|d| panic!("{name}: {d}\n{text}"))
        .remove(0)
    };
    let a = load(&yaml.text, Format::Yaml);
    let b = load(&toml.text, Format::Toml);
    assert_eq!(
        a.config, b.config,
        "{name}: YAML and TOML differ\n{}",
        toml.text
    );
    assert_eq!(a.update, b.update);
    (yaml.text, a)
}

fn config(job: &LoadedJob) -> Value {
    aurora_spec::render::job_configuration_json(&job.config)
}

fn settings(job: &LoadedJob) -> Value {
    aurora_spec::render::job_update_request_json(job.update.as_ref().expect("update"))["settings"]
        .clone()
}

fn payload(job: &LoadedJob) -> Value {
    let data = config(job)["taskConfig"]["executorConfig"]["data"]
        .as_str()
        .expect("data")
        .to_string();
    serde_json::from_str(&data).expect("payload is JSON")
}

/// The payload a converted job renders is itself a Job: converting it gives the same spec,
/// minus what the payload does not carry (instances, update settings).
fn payload_round_trips(doc: &Value, job: &LoadedJob) {
    let jobs = aurora_migrate::jobs_of(doc).expect("jobs");
    let (path, original) = &jobs[0];
    let mut from_source = read_job(original, path).expect("converts").spec;
    let from_payload = read_job(&payload(job), "").expect("payload converts").spec;
    let mut expected = aurora_migrate::tree::Map::new();
    for (k, v) in from_source.iter() {
        if k != "instances" && k != "update" {
            expected.insert(k, v.clone());
        }
    }
    from_source = expected;
    assert_eq!(from_payload, from_source);
}

#[test]
fn service_with_health_check_announce_constraints_metadata() {
    let (yaml, job) = convert("web_service.json");
    insta::assert_snapshot!("web_service_yaml", yaml);
    let c = config(&job);
    let t = &c["taskConfig"];
    assert_eq!(c["instanceCount"], 4);
    assert_eq!(
        (t["tier"].clone(), t["production"].clone()),
        (json!("preferred"), json!(true))
    );
    assert_eq!(t["isService"], true);
    assert_eq!(t["maxTaskFailures"], -1);
    assert_eq!(t["priority"], 10);
    assert_eq!(t["contactEmail"], "web-team@example.com");
    assert_eq!(
        t["constraints"],
        json!([
            {"constraint": {"limit": {"limit": 1}}, "name": "host"},
            {"constraint": {"value": {"negated": false, "values": ["r1", "r2"]}}, "name": "rack"},
            {"constraint": {"value": {"negated": true, "values": ["us-east-1c"]}}, "name": "zone"},
        ])
    );
    assert_eq!(
        t["metadata"],
        json!([{"key": "app", "value": "frontend"}, {"key": "team", "value": "web"}])
    );
    // {{thermos.ports[http]}} and {{thermos.ports[admin]}} in cmdlines, the portmap's
    // aliases resolve to http; zk is a static port.
    assert_eq!(
        t["resources"],
        json!([{"diskMb": 1024}, {"namedPort": "admin"}, {"namedPort": "http"}, {"numCpus": 0.5}, {"ramMb": 256}])
    );
    assert_eq!(
        t["partitionPolicy"],
        json!({"reschedule": false, "delaySecs": 60})
    );
    assert_eq!(
        t["slaPolicy"],
        json!({"coordinatorSlaPolicy": {"coordinatorUrl": "http://coordinator.example.com/sla", "statusKey": "drain"}})
    );
    let s = settings(&job);
    assert_eq!(s["updateGroupSize"], 2);
    assert_eq!(
        s["updateStrategy"],
        json!({"queueStrategy": {"groupSize": 2}})
    );
    assert_eq!(s["minWaitInInstanceRunningMs"], 30000);
    assert_eq!(s["rollbackOnFailure"], false);
    assert_eq!(s["slaAware"], true);
    let p = payload(&job);
    assert_eq!(p["health_check_config"]["timeout_secs"], 1.5);
    assert_eq!(
        p["task"]["constraints"],
        json!([{"order": ["setup", "server"]}])
    );
    assert_eq!(
        p["announce"]["portmap"],
        json!({"aurora": "http", "health": "http", "zk": "2181"})
    );
    payload_round_trips(&input("web_service.json"), &job);
}

#[test]
fn cron_job_with_cancel_new() {
    let (yaml, job) = convert("cron_cancel_new.json");
    insta::assert_snapshot!("cron_cancel_new_yaml", yaml);
    let c = config(&job);
    assert_eq!(c["cronSchedule"], "0 2 * * *");
    assert_eq!(c["cronCollisionPolicy"], "CANCEL_NEW");
    assert!(job.update.is_none(), "cron jobs have no update request");
    assert_eq!(
        c["taskConfig"]["container"],
        json!({"mesos": {
            "image": {"docker": {"name": "debian", "tag": "bookworm-slim"}},
            "volumes": [{"containerPath": "/data", "hostPath": "/srv/reports", "mode": "RW"}],
        }})
    );
    let p = payload(&job);
    assert_eq!(p["cron_collision_policy"], "CANCEL_NEW");
    assert_eq!(p["task"]["user"], "reports");
    assert_eq!(p["task"]["name"], "report");
    payload_round_trips(&input("cron_cancel_new.json"), &job);
}

#[test]
fn docker_container_job() {
    let (yaml, job) = convert("docker_worker.json");
    insta::assert_snapshot!("docker_worker_yaml", yaml);
    let c = config(&job);
    let t = &c["taskConfig"];
    assert_eq!(t["isService"], false);
    assert_eq!(
        t["container"],
        json!({"docker": {"image": "python:3.12-slim", "parameters": [
            {"name": "env", "value": "QUEUE=jobs"}, {"name": "memory-swap", "value": "-1"}]}})
    );
    assert!(
        t["resources"]
            .as_array()
            .expect("set")
            .contains(&json!({"numGpus": 1}))
    );
    let s = settings(&job);
    assert_eq!(
        s["updateStrategy"],
        json!({"varBatchStrategy": {"groupSizes": [1, 2, 3], "autopauseAfterBatch": true}})
    );
    assert_eq!(s["blockIfNoPulsesAfterMs"], 300_000);
    assert_eq!(s["minWaitInInstanceRunningMs"], 60000);
    let p = payload(&job);
    assert_eq!(
        p["health_check_config"]["health_checker"],
        json!({"shell": {"shell_command": "test -f /tmp/healthy"}})
    );
    assert_eq!(p["task"]["processes"][1]["ephemeral"], true);
    assert_eq!(
        (
            p["task"]["max_failures"].clone(),
            p["task"]["max_concurrency"].clone()
        ),
        (json!(2), json!(1))
    );
}

/// A hand-written job file that leaves Aurora's defaults out converts to the shortest spec.
#[test]
fn defaults_left_out_of_the_json_stay_out_of_the_spec() {
    let (yaml, job) = convert("minimal.json");
    insta::assert_snapshot!("minimal_yaml", yaml);
    assert_eq!(config(&job)["taskConfig"]["tier"], "preemptible");
}

/// Verification is a real check: a spec that renders something else than its JSON is
/// reported at the path of the difference.
#[test]
fn verification_reports_differences_at_their_path() {
    let doc = input("web_service.json");
    let jobs = aurora_migrate::jobs_of(&doc).expect("jobs");
    let (path, value) = &jobs[0];
    let mut job = read_job(value, path).expect("converts");
    assert!(verify_job(value, path, &job, SpecFormat::Yaml).is_ok());

    job.spec.insert("instances", 5_i64);
    job.spec.insert("priority", 3_i64);
    let errors = verify_job(value, path, &job, SpecFormat::Yaml).expect_err("differs");
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"jobs[0].instances"), "{errors:#?}");
    assert!(paths.contains(&"jobs[0].priority"), "{errors:#?}");

    let mut job = read_job(value, path).expect("converts");
    let Some(Node::Map(task)) = job.spec.get("task").cloned() else {
        panic!("task")
    };
    let mut task = task;
    task.insert("max_failures", 7_i64);
    job.spec.insert("task", task);
    let errors = verify_job(value, path, &job, SpecFormat::Toml).expect_err("differs");
    assert_eq!(errors[0].path, "jobs[0].task.max_failures", "{errors:#?}");
}
