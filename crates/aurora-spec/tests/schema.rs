//! The JSON Schema: committed file is fresh, accepts every example spec, and agrees with the
//! parser on invalid files and on generated samples (both directions).
//!
//! Regenerate the committed file with
//! `UPDATE_SCHEMA=1 cargo test -p aurora-spec --test schema` (or
//! `cargo run -p aurora-apply-cli -- schema > schema/aurora-apply.v1.json`).

use std::path::{Path, PathBuf};

use aurora_spec::load::parse::parse;
use aurora_spec::{Format, LoadOptions, SourceFile, load_sources, read_source};
use proptest::prelude::*;
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&aurora_spec::schema::json_schema()).expect("schema compiles")
}

fn spec_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            spec_files(&p, out);
        } else if matches!(Format::from_path(&p), Some(Format::Yaml | Format::Toml))
            && !aurora_spec::project::is_project_file_name(&p)
        {
            out.push(p);
        }
    }
}

#[test]
fn committed_schema_is_fresh() {
    let path = root().join("schema/aurora-apply.v1.json");
    let fresh = aurora_spec::schema::to_pretty_string();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "schema/aurora-apply.v1.json is stale: run `UPDATE_SCHEMA=1 cargo test -p aurora-spec --test schema`"
    );
}

#[test]
fn committed_project_schema_is_fresh() {
    let path = root().join("schema/aurora-apply.project.v1.json");
    let fresh = aurora_spec::project::schema_pretty_string();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "schema/aurora-apply.project.v1.json is stale: run `UPDATE_SCHEMA=1 cargo test -p aurora-spec --test schema`"
    );
}

#[test]
fn every_example_project_file_validates_against_the_project_schema() {
    let v = jsonschema::validator_for(&aurora_spec::project::json_schema()).expect("compiles");
    let dirs = aurora_spec::project::nested_projects(&[root().join("specs")]);
    assert!(!dirs.is_empty(), "specs/multi-cluster is a project");
    for dir in dirs {
        let path = aurora_spec::project::find_in_dir(&dir)
            .expect("one project file")
            .expect("a project file");
        let doc = parse(&read_source(&path).expect("read"))
            .expect("parse")
            .to_json();
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

#[test]
fn every_example_spec_validates_against_the_schema() {
    let v = validator();
    let mut files = Vec::new();
    spec_files(&root().join("specs"), &mut files);
    spec_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture-specs"),
        &mut files,
    );
    assert!(files.len() >= 5);
    for f in files {
        let src = read_source(&f).expect("read");
        let doc = parse(&src).expect("parse").to_json();
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", f.display());
    }
}

#[test]
fn schema_examples_are_valid_specs() {
    let schema = aurora_spec::schema::json_schema();
    let examples = schema["examples"].as_array().expect("root examples");
    assert!(!examples.is_empty());
    for e in examples {
        assert!(validator().is_valid(e), "{e}");
        assert!(parser_accepts(e), "{e}");
    }
}

#[test]
fn every_field_is_in_the_spec_reference() {
    let doc = std::fs::read_to_string(root().join("docs/spec-reference.md"))
        .expect("docs/spec-reference.md");
    let schema = aurora_spec::schema::json_schema();
    let mut missing = Vec::new();
    let mut check = |props: &Value| {
        for name in props.as_object().into_iter().flat_map(|m| m.keys()) {
            let word = regex::Regex::new(&format!(
                r"(^|[^A-Za-z0-9_]){}([^A-Za-z0-9_]|$)",
                regex::escape(name)
            ))
            .expect("regex");
            if !word.is_match(&doc) {
                missing.push(name.clone());
            }
        }
    };
    check(&schema["properties"]);
    for def in schema["definitions"]
        .as_object()
        .expect("definitions")
        .values()
    {
        check(&def["properties"]);
        for alt in def["oneOf"].as_array().into_iter().flatten() {
            check(&alt["properties"]);
        }
    }
    assert!(
        missing.is_empty(),
        "fields missing from docs/spec-reference.md: {missing:?}"
    );
}

fn parser_accepts(doc: &Value) -> bool {
    let text = serde_json::to_string(doc).expect("json");
    load_sources(
        &[SourceFile::new("t.json", text, Format::Json)],
        &LoadOptions::default(),
    )
    .is_ok()
}

fn base_job() -> Value {
    json!({
        "key": "devcluster/www-data/prod/x",
        "kind": "service",
        "resources": {"cpu": 1, "ram": "128MiB", "disk": "1GiB"},
        "task": {"processes": [{"name": "p", "cmdline": "echo"}]}
    })
}

fn doc(job: Value) -> Value {
    json!({"apiVersion": "aurora-apply/v1", "jobs": [job]})
}

#[test]
fn invalid_files_are_rejected_by_both() {
    let v = validator();
    let mut cases = vec![
        json!({"jobs": []}),
        json!({"apiVersion": "aurora-apply/v2", "jobs": []}),
        json!({"apiVersion": "aurora-apply/v1", "jobs": [], "extra": 1}),
        json!({"apiVersion": "aurora-apply/v1", "jobs": {}}),
    ];
    for (path, value) in [
        ("kind", json!("srvice")),
        ("instances", json!("two")),
        ("instances", json!(-1)),
        ("cpus", json!(1)),
        ("resources", json!({"cpu": 1, "ram": "128", "disk": "1GiB"})),
        (
            "resources",
            json!({"cpu": 1, "ram": "128MiB", "disk": "1GiB", "cpus": 2}),
        ),
        ("task", json!({"processes": [{"name": "p"}]})),
        ("container", json!({"mesos": {}, "docker": {"image": "x"}})),
        ("update", json!({"watch": 45})),
        (
            "cron",
            json!({"schedule": "* * * * *", "collision_policy": "kill_existing"}),
        ),
        ("constraints", json!({"host": {"limit": 1, "max": 2}})),
        ("metadata", json!({"a": 1})),
    ] {
        let mut job = base_job();
        job[path] = value;
        cases.push(doc(job));
    }
    for case in cases {
        assert!(!v.is_valid(&case), "schema accepted {case}");
        assert!(!parser_accepts(&case), "parser accepted {case}");
    }
}

fn arb_job() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["service", "adhoc"]),
        1u32..50,
        prop::sample::select(vec!["0.5", "1", "2"]),
        prop::sample::select(vec!["64MiB", "1GiB", "512MB", "2G"]),
        prop::option::of(prop::sample::select(vec!["preferred", "preemptible"])),
        prop::option::of(prop::sample::select(vec![
            "queue",
            "batch",
            "variable_batch",
        ])),
        prop::option::of(prop::sample::select(vec!["10s", "1m", "45s"])),
        prop::option::of(prop::collection::vec("[a-z]{1,6}", 1..3)),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(kind, instances, cpu, ram, tier, strategy, watch, ports, hc)| {
                let mut job = base_job();
                job["kind"] = json!(kind);
                job["instances"] = json!(instances);
                job["resources"] =
                    json!({"cpu": cpu.parse::<f64>().expect("f64"), "ram": ram, "disk": ram});
                if let Some(t) = tier {
                    job["tier"] = json!(t);
                }
                let mut update = serde_json::Map::new();
                match strategy {
                    Some("queue") => {
                        update.insert("strategy".into(), json!({"queue": {"size": 1}}));
                    }
                    Some("batch") => {
                        update.insert(
                            "strategy".into(),
                            json!({"batch": {"size": 1, "autopause": false}}),
                        );
                    }
                    Some(_) => {
                        update.insert(
                            "strategy".into(),
                            json!({"variable_batch": {"sizes": [1, 2]}}),
                        );
                    }
                    None => {}
                }
                if let Some(w) = watch {
                    update.insert("watch".into(), json!(w));
                }
                if !update.is_empty() {
                    job["update"] = Value::Object(update);
                }
                if let Some(p) = ports {
                    let mut p = p;
                    p.sort();
                    p.dedup();
                    job["ports"] = json!(p);
                }
                if let Some(shell) = hc {
                    job["health_check"] = if shell {
                        json!({"shell": {"command": "true"}, "interval": "5s"})
                    } else {
                        json!({"http": {"endpoint": "/health"}})
                    };
                }
                job
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn schema_and_parser_agree_on_valid_samples(job in arb_job()) {
        let d = doc(job);
        prop_assert!(validator().is_valid(&d), "schema rejected {}", d);
        prop_assert!(parser_accepts(&d), "parser rejected {}", d);
    }

    #[test]
    fn schema_and_parser_agree_on_unknown_keys(job in arb_job(), key in "[a-z]{3,8}_x") {
        let mut d = doc(job);
        d["jobs"][0][key.as_str()] = json!(1);
        prop_assert!(!validator().is_valid(&d));
        prop_assert!(!parser_accepts(&d));
    }
}
