//! Bad input of every kind gives located, readable diagnostics, never a panic or a hang.
//! The rendered diagnostics are pinned with insta snapshots (tests/snapshots/).

use aurora_spec::{Diagnostics, Format, LoadOptions, SourceFile, load_paths, load_sources};
use miette::{GraphicalReportHandler, GraphicalTheme};

fn render(diags: Diagnostics) -> String {
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(90);
    let mut out = String::new();
    for d in diags.sorted() {
        out.push_str(&format!("{}: {d}\n", d.location()));
        let _ = handler.render_report(&mut out, &d);
        out.push('\n');
    }
    out
}

fn errors(name: &str, text: &str) -> String {
    let format = Format::from_path(std::path::Path::new(name)).unwrap_or(Format::Yaml);
    let src = SourceFile::new(name, text, format);
    match load_sources(&[src], &LoadOptions::default()) {
        Ok(jobs) => panic!("{name}: expected errors, got {} job(s)", jobs.len()),
        Err(d) => render(d),
    }
}

const HEAD: &str = "apiVersion: aurora-apply/v1\njobs:\n";

#[test]
fn malformed_yaml() {
    insta::assert_snapshot!(errors(
        "bad.yaml",
        "apiVersion: aurora-apply/v1\njobs:\n  - key: [a, b\n    kind: service\n"
    ));
}

#[test]
fn malformed_toml() {
    insta::assert_snapshot!(errors(
        "bad.toml",
        "apiVersion = \"aurora-apply/v1\"\n[[jobs]]\nkey = devcluster\n"
    ));
}

#[test]
fn malformed_json() {
    insta::assert_snapshot!(errors(
        "bad.json",
        "{\"apiVersion\": \"aurora-apply/v1\", \"jobs\": [}\n"
    ));
}

#[test]
fn wrong_types_and_unknown_keys() {
    insta::assert_snapshot!(errors(
        "types.yaml",
        &format!(
            "{HEAD}  - key: devcluster/www-data/prod/a\n    kind: service\n    instances: two\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    task: {{ processes: [{{ name: a, cmdline: x }}] }}\n  - key: devcluster/www-data/prod/b\n    kind: service\n    resourcs: {{ cpu: 1 }}\n  - key: devcluster/www-data/prod/c\n    kind: deamon\n"
        )
    ));
}

#[test]
fn unsupported_api_version() {
    insta::assert_snapshot!(errors("v2.yaml", "apiVersion: aurora-apply/v2\njobs: []\n"));
}

#[test]
fn scheduler_rules() {
    insta::assert_snapshot!(errors(
        "rules.yaml",
        &format!(
            "{HEAD}  - key: devcluster/www data/production/a
    kind: service
    instances: 0
    resources: {{ cpu: 0, ram: 512KiB, disk: 1GiB }}
    constraints:
      dedicated: {{ values: [other/db] }}
    task: {{ processes: [{{ name: a, cmdline: x }}] }}
  - key: devcluster/www-data/prod/b
    kind: service
    instances: 2
    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}
    update: {{ strategy: {{ batch: {{ size: 0 }} }}, max_failed_instances: 2, max_per_instance_failures: 20000, sla_aware: true }}
    cron: {{ schedule: '* * * * *' }}
    task: {{ processes: [{{ name: a, cmdline: x }}] }}
"
        )
    ));
}

#[test]
fn bad_cron() {
    insta::assert_snapshot!(errors(
        "cron.yaml",
        &format!(
            "{HEAD}  - key: devcluster/www-data/prod/a
    kind: cron
    cron: {{ schedule: '0 0 15 * 4', collision_policy: RUN_OVERLAP }}
    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}
    task: {{ processes: [{{ name: a, cmdline: x }}] }}
  - key: devcluster/www-data/prod/b
    kind: cron
    cron: {{ schedule: '0 0 * * 7' }}
    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}
    task: {{ processes: [{{ name: a, cmdline: x }}] }}
"
        )
    ));
}

#[test]
fn missing_and_invalid_payload_files() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("bad.json"), "{not json").expect("write");
    let spec = dir.path().join("p.aurora-apply.yaml");
    std::fs::write(
        &spec,
        format!(
            "{HEAD}  - key: devcluster/www-data/prod/a
    kind: adhoc
    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}
    executor: {{ name: AuroraExecutor, data_file: missing.json }}
  - key: devcluster/www-data/prod/b
    kind: adhoc
    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}
    executor: {{ name: AuroraExecutor, data_file: bad.json }}
"
        ),
    )
    .expect("write");
    let err = load_paths(&[&spec], &LoadOptions::default()).expect_err("invalid");
    let text = render(err).replace(&dir.path().display().to_string(), "[TMP]");
    assert!(text.contains("cannot read `[TMP]/missing.json`"), "{text}");
    assert!(
        text.contains("`[TMP]/bad.json` is not valid JSON"),
        "{text}"
    );
}

#[test]
fn non_utf8_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = dir.path().join("x.aurora-apply.yaml");
    std::fs::write(&spec, b"apiVersion: aurora-apply/v1\njobs: [\xff\xfe]\n").expect("write");
    let err = load_paths(&[&spec], &LoadOptions::default()).expect_err("invalid");
    let d = err.sorted();
    assert_eq!(d[0].message, "the file is not valid UTF-8");
    assert_eq!(d[0].line_col(), Some((2, 8)));
}

#[test]
fn alias_bomb_and_deep_nesting() {
    let mut bomb =
        String::from("apiVersion: aurora-apply/v1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..14 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    bomb.push_str("jobs: *a13\n");
    // Bounded by the alias budget (values counted as they are expanded), not by a clock:
    // speed lives in the benchmarks.
    let out = errors("bomb.yaml", &bomb);
    assert!(out.contains("bomb.yaml:"), "{out}");
    assert!(
        out.contains("aliases expand the document by more than 1000000 values (an alias bomb?)"),
        "{out}"
    );

    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    for name in ["deep.yaml", "deep.json"] {
        assert!(errors(name, &format!("{{\"jobs\": {deep}}}")).contains(name));
    }
    assert!(errors("deep.toml", &format!("jobs = {deep}\n")).contains("nesting deeper"));
}

#[test]
fn duplicate_jobs_across_files_report_both_places() {
    let job = "apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/prod/a\n    kind: adhoc\n    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }\n    task: { processes: [{ name: a, cmdline: x }] }\n";
    let a = SourceFile::new("one.yaml", job, Format::Yaml);
    let b = SourceFile::new("two.yaml", format!("\n\n{job}"), Format::Yaml);
    let err = load_sources(&[a, b], &LoadOptions::default()).expect_err("duplicate");
    let d = err.sorted();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].location(), "two.yaml:5:5");
    assert_eq!(d[0].related[0].file.name.as_ref(), "one.yaml");
    insta::assert_snapshot!(render(Diagnostics::from(d[0].clone())));
}

#[test]
fn defaults_errors_are_reported_once() {
    let text = "apiVersion: aurora-apply/v1\ndefaults:\n  cluster: devcluster\n  role: www-data\n  environment: prod\n  resources: { cpu: 1, ram: 1GiB, disk: 1GiB }\n  tier: [x]\njobs:\n  - { name: a, kind: adhoc, task: { processes: [{ name: a, cmdline: x }] } }\n  - { name: b, kind: adhoc, task: { processes: [{ name: a, cmdline: x }] } }\n";
    let out = errors("defaults.yaml", text);
    assert_eq!(out.matches("defaults.yaml:7:9: ").count(), 1, "{out}");
}

#[test]
fn every_wrong_key_of_a_job_is_reported() {
    let text = format!(
        "{HEAD}  - key: devcluster/www-data/prod/a\n    kind: servic\n    instances: -2\n    resources: {{ cpu: 1, ram: 1GiB, dsk: 1GiB }}\n    task: {{ processes: [{{ name: a }}] }}\n"
    );
    let out = errors("many.yaml", &text);
    for needle in [
        "many.yaml:4:11: jobs[0].kind: unknown value `servic`",
        "many.yaml:5:16: jobs[0].instances: invalid value integer `-2`: expected a whole number ≥ 0",
        "many.yaml:6:37: jobs[0].resources.dsk: unknown key `dsk`",
        "jobs[0].task.processes[0]: missing required key `cmdline`",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

/// A wrong directory (empty, or holding no spec file) is an error, never "0 jobs".
#[test]
fn a_directory_without_spec_files_is_an_error() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("clusters.json"), "[]").expect("write");
    std::fs::create_dir(dir.path().join("empty")).expect("mkdir");
    for path in [dir.path().to_path_buf(), dir.path().join("empty")] {
        let diags = load_paths(&[&path], &LoadOptions::default()).expect_err("no specs");
        let all = diags.sorted();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].code.as_str(), "aurora_spec::no_spec_files");
        assert!(
            all[0]
                .to_string()
                .contains(&format!("no spec files in {}", path.display())),
            "{}",
            all[0]
        );
    }
}
