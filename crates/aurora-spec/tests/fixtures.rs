//! Fixture equivalence: for each job in fixtures/aurora-client/ (what Aurora 0.22's own client
//! sends), the spec in tests/fixture-specs/ renders the same JobConfiguration and JobUpdateRequest,
//! compared semantically: executor data as parsed JSON, `owner` aside (Aurora's client uses
//! the local unix user, aurora-apply the role), and the update request's `metadata` aside
//! (the client's random update id; provenance is the engine's).

use std::path::{Path, PathBuf};

use aurora_spec::{LoadOptions, load_paths};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn normalise(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove("owner");
        if let Some(Value::Object(tc)) = m.get_mut("taskConfig") {
            tc.remove("owner");
            if let Some(Value::Object(ec)) = tc.get_mut("executorConfig")
                && let Some(Value::String(data)) = ec.get("data").cloned()
            {
                let parsed: Value = serde_json::from_str(&data).expect("executor data is JSON");
                ec.insert("data".into(), parsed);
            }
        }
    }
    v
}

fn check(fixture: &str, spec: &str) {
    let dir = root().join("fixtures/aurora-client").join(fixture);
    let jobs = load_paths(
        &[Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixture-specs")
            .join(spec)],
        &LoadOptions::default(),
    )
    .unwrap_or_else(|d| {
        panic!(
            "{spec}: {:?}",
            d.sorted()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        )
    });
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];

    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("job_configuration.json")).expect("fixture"),
    )
    .expect("json");
    let got = aurora_spec::render::job_configuration_json(&job.config);
    assert_eq!(
        normalise(got.clone()),
        normalise(want),
        "{fixture}: JobConfiguration differs"
    );
    assert_eq!(
        got["owner"]["user"], "www-data",
        "owner defaults to the role"
    );

    let update_file = dir.join("job_update_request.json");
    if update_file.exists() {
        let mut want: Value =
            serde_json::from_str(&std::fs::read_to_string(update_file).expect("fixture"))
                .expect("json");
        let mut got = aurora_spec::render::job_update_request_json(
            job.update
                .as_ref()
                .expect("services have an update request"),
        );
        for v in [&mut want, &mut got] {
            if let Value::Object(m) = v {
                m.remove("metadata");
            }
        }
        assert_eq!(
            normalise(got),
            normalise(want),
            "{fixture}: JobUpdateRequest differs"
        );
    } else {
        assert!(job.update.is_none());
    }
}

#[test]
fn hello_world() {
    check("hello_world", "hello_world.aurora.yaml");
}

#[test]
fn hello_docker_image() {
    check("hello_docker_image", "hello_docker_image.aurora.yaml");
}

#[test]
fn cron_hello_world() {
    check("cron_hello_world", "cron_hello_world.aurora.toml");
}

#[test]
fn docker_app() {
    check("docker_app", "docker_app.aurora.yaml");
}

#[test]
fn every_example_spec_loads() {
    let jobs = load_paths(&[root().join("specs")], &LoadOptions::default()).unwrap_or_else(|d| {
        panic!(
            "{:?}",
            d.sorted()
                .iter()
                .map(|d| format!("{}: {d}", d.location()))
                .collect::<Vec<_>>()
        )
    });
    let mut keys: Vec<String> = jobs.iter().map(|j| j.job.key.to_string()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "devcluster/vagrant/prod/docker-compose",
            "devcluster/www-data/prod/hello",
            "devcluster/www-data/prod/hello_payload",
            "devcluster/www-data/prod/nightly-report",
            "devcluster/www-data/prod/web",
        ]
    );
}

#[test]
fn rendering_is_deterministic() {
    let load = || load_paths(&[root().join("specs")], &LoadOptions::default()).expect("valid");
    let a: Vec<Vec<u8>> = load()
        .iter()
        .map(|j| aurora_api::wire::encode_struct(&j.config))
        .collect();
    let b: Vec<Vec<u8>> = load()
        .iter()
        .map(|j| aurora_api::wire::encode_struct(&j.config))
        .collect();
    assert_eq!(a, b);
}
