//! Each of Aurora's client fixtures (`fixtures/aurora-client/*/aurora_job.json`) converts,
//! and the converted spec renders exactly what Aurora's client sent for it
//! (`job_configuration.json`, and `job_update_request.json`'s settings): field for field,
//! the Thermos payload compared as parsed JSON, the owner aside (Aurora's client records the
//! local unix user, aurora-apply the role).

use std::path::{Path, PathBuf};

use aurora_migrate::{SpecFormat, convert_document};
use aurora_spec::{Format, LoadOptions, SourceFile, load_sources};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/aurora-client")
        .join(name)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("json")
}

/// Converts the fixture's `aurora_job.json` to `format`, loads the text back and compares the
/// render with what Aurora's client sent. Returns the spec text.
fn check(name: &str, format: SpecFormat) -> String {
    let dir = fixture(name);
    let doc = read_json(&dir.join("aurora_job.json"));
    let converted = convert_document(&doc, format, "aurora-apply.v1.json")
        .unwrap_or_else(|e| panic!("{name}: {e:#?}"));
    let file = SourceFile::new(
        format!("{name}.{}", format.extension()),
        converted.text.as_str(),
        match format {
            SpecFormat::Yaml => Format::Yaml,
            SpecFormat::Toml => Format::Toml,
        },
    );
    let jobs = load_sources(&[file], &LoadOptions::default())
        .unwrap_or_else(|d| panic!("{name}: {d}\n{}", converted.text));
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];

    let want = read_json(&dir.join("job_configuration.json"));
    let differences = aurora_migrate::compare_configuration(job, &want);
    assert!(differences.is_empty(), "{name}: {differences:#?}");
    let got = aurora_spec::render::job_configuration_json(&job.config);
    assert_eq!(
        aurora_spec::render::comparable(got),
        aurora_spec::render::comparable(want),
        "{name} ({format:?}): JobConfiguration differs\n{}",
        converted.text
    );

    let update = dir.join("job_update_request.json");
    if update.exists() {
        let want = read_json(&update);
        let got = aurora_spec::render::job_update_request_json(
            job.update
                .as_ref()
                .expect("services have an update request"),
        );
        assert_eq!(
            got["settings"], want["settings"],
            "{name}: update settings differ"
        );
        assert_eq!(got["instanceCount"], want["instanceCount"]);
        assert_eq!(
            aurora_spec::render::comparable(serde_json::json!({"taskConfig": got["taskConfig"]})),
            aurora_spec::render::comparable(serde_json::json!({"taskConfig": want["taskConfig"]})),
            "{name}: update task config differs"
        );
    } else {
        assert!(job.update.is_none(), "{name}: a cron job has no update");
    }
    converted.text
}

#[test]
fn hello_world() {
    let yaml = check("hello_world", SpecFormat::Yaml);
    insta::assert_snapshot!("hello_world_yaml", yaml);
    check("hello_world", SpecFormat::Toml);
}

#[test]
fn hello_docker_image() {
    let yaml = check("hello_docker_image", SpecFormat::Yaml);
    insta::assert_snapshot!("hello_docker_image_yaml", yaml);
    check("hello_docker_image", SpecFormat::Toml);
}

#[test]
fn cron_hello_world() {
    check("cron_hello_world", SpecFormat::Yaml);
    let toml = check("cron_hello_world", SpecFormat::Toml);
    insta::assert_snapshot!("cron_hello_world_toml", toml);
}

#[test]
fn docker_app() {
    let yaml = check("docker_app", SpecFormat::Yaml);
    insta::assert_snapshot!("docker_app_yaml", yaml);
    check("docker_app", SpecFormat::Toml);
}

/// The Thermos payload (`executor_data.json`) is the same Job structure: it converts too,
/// to the same spec except what the payload does not carry (instances, update settings).
/// `compare_configuration` (what `import` checks a live job with) finds a difference and
/// names its path.
#[test]
fn compare_configuration_names_the_differing_field() {
    let dir = fixture("docker_app");
    let doc = read_json(&dir.join("aurora_job.json"));
    let converted =
        convert_document(&doc, SpecFormat::Yaml, "aurora-apply.v1.json").expect("converts");
    let jobs = load_sources(
        &[SourceFile::new(
            "d.yaml",
            converted.text.as_str(),
            Format::Yaml,
        )],
        &LoadOptions::default(),
    )
    .expect("loads");
    let mut want = read_json(&dir.join("job_configuration.json"));
    want["instanceCount"] = serde_json::json!(3);
    let data = want["taskConfig"]["executorConfig"]["data"]
        .as_str()
        .expect("data")
        .replace("sleep 600", "sleep 60");
    want["taskConfig"]["executorConfig"]["data"] = Value::String(data);
    let paths: Vec<String> = aurora_migrate::compare_configuration(&jobs[0], &want)
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(
        paths,
        [
            "instanceCount",
            "taskConfig.executorConfig.data.task.processes[0].cmdline"
        ]
    );
}

#[test]
fn executor_payloads_convert() {
    for name in ["hello_world", "hello_docker_image", "cron_hello_world"] {
        let doc = read_json(&fixture(name).join("executor_data.json"));
        let from_payload = convert_document(&doc, SpecFormat::Yaml, "aurora-apply.v1.json")
            .unwrap_or_else(|e| panic!("{name}: {e:#?}"));
        let from_job = convert_document(
            &read_json(&fixture(name).join("aurora_job.json")),
            SpecFormat::Yaml,
            "aurora-apply.v1.json",
        )
        .expect("converts");
        assert_eq!(from_payload.text, from_job.text, "{name}");
    }
}
