//! `convert`: Aurora's own JSON job file → a spec file that `validate` accepts; a second run
//! into the same directory refuses to overwrite (exit 3, naming the file, nothing written).

use std::path::Path;

use crate::harness::{World, expect_code, stderr, stdout};

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/aurora-client")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn convert_then_validate_and_never_overwrite() {
    let world = World::seed();
    let input = fixture("hello_world/aurora_job.json");
    let out = world.run(&["convert", &input, "--out", "converted"]);
    expect_code(&out, 0);
    let written = world.path("converted/hello.aurora-apply.yaml");
    assert!(
        stdout(&out).contains("hello.aurora-apply.yaml"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("devcluster/www-data/prod/hello"),
        "{}",
        stdout(&out)
    );
    let text = std::fs::read_to_string(&written).expect("written");
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{text}"
    );

    let out = world.run(&["validate", "converted"]);
    expect_code(&out, 0);

    // The converted spec renders what the hand-written equivalent of the fixture renders.
    let render = |path: &str| {
        let out = world.run(&["render", "-o", "json", path]);
        expect_code(&out, 0);
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).expect("json")
    };
    let hand_written = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../aurora-spec/tests/fixture-specs/hello_world.aurora-apply.yaml")
        .display()
        .to_string();
    assert_eq!(render("converted"), render(&hand_written));

    // A second run: the file exists, nothing is written, exit 3 naming it.
    std::fs::write(&written, "edited by hand\n").expect("edit");
    let out = world.run(&["convert", &input, "--out", "converted"]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("hello.aurora-apply.yaml"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&written).expect("still there"),
        "edited by hand\n"
    );
}

#[test]
fn unsupported_constructs_are_refused_with_their_json_path() {
    let world = World::seed();
    let text = std::fs::read_to_string(fixture("hello_world/aurora_job.json"))
        .expect("fixture")
        .replace("echo hello world", "echo hello {{name}}");
    world.write("templated.json", &text);
    let out = world.run(&[
        "convert",
        "templated.json",
        "--out",
        "converted",
        "--format",
        "toml",
    ]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("jobs[0].task.processes[0].cmdline"),
        "{}",
        stderr(&out)
    );
    assert!(!world.path("converted").exists(), "nothing is written");
}
