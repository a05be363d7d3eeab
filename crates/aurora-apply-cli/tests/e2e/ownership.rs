//! Ownership on every destructive path: a job aurora-apply did not create (no ownership
//! marker) is killed or replaced only with `--allow-foreign` (or by `kill JOBKEY`, which
//! names it), and updated only with `--adopt`; otherwise exit 8 and nothing is sent.

use serde_json::Value;

use crate::harness::{World, expect_code, stderr, stdout};

const HELLO: &str = "devcluster/www-data/prod/hello";

/// Creates `www-data/prod/hello` the way Aurora's own client would (its recorded
/// `JobConfiguration`, sent by a plain Thrift client), so it carries no ownership marker.
fn create_foreign_hello(w: &World) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/wire/hello_world.job_configuration.bin"
    );
    let config: aurora_api::types::JobConfiguration =
        aurora_api::wire::decode_struct(&std::fs::read(path).expect("fixture")).expect("decodes");
    let client =
        aurora_api::Client::new(aurora_api::ClientConfig::new(w.sim.url())).expect("client");
    client
        .create_job(&config)
        .expect("the foreign job is created");
}

fn hello_spec(w: &World) -> String {
    w.specs()
        .join("hello.aurora-apply.yaml")
        .to_str()
        .expect("utf-8")
        .to_string()
}

fn edit_hello(w: &World, from: &str, to: &str) {
    let path = w.specs().join("hello.aurora-apply.yaml");
    let yaml = std::fs::read_to_string(&path).expect("read");
    assert!(yaml.contains(from), "{from:?} not in {yaml}");
    std::fs::write(&path, yaml.replace(from, to)).expect("write");
}

/// How many times the emulator received `method`.
fn sent(w: &World, method: &str) -> usize {
    w.methods().iter().filter(|m| *m == method).count()
}

/// `ownership` of each job of a `plan -o json`, by key.
fn ownership(w: &World, paths: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["plan", "-o", "json"];
    args.extend(paths);
    let out = w.run(&args);
    expect_code(&out, 0);
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["job_key"].as_str().unwrap_or("").to_string(),
                c["ownership"].as_str().unwrap_or("(missing)").to_string(),
            )
        })
        .collect()
}

#[test]
fn the_plan_marks_each_job_owned_unowned_or_absent() {
    let w = World::seed();
    create_foreign_hello(&w);
    let web = w.specs().join("web.aurora-apply.toml");
    let web = web.to_str().expect("utf-8");
    expect_code(&w.run(&["apply", web, "--auto-approve"]), 0);
    let payload = w.specs().join("thermos-payload.aurora-apply.yaml");
    let hello = hello_spec(&w);
    let got = ownership(&w, &[&hello, web, payload.to_str().expect("utf-8")]);
    assert_eq!(
        got,
        [
            (HELLO.to_string(), "unowned".to_string()),
            (
                "devcluster/www-data/prod/hello_payload".into(),
                "absent".into()
            ),
            ("devcluster/www-data/prod/web".into(), "owned".into()),
        ]
    );
    // The text plan shows the foreign job, and what changing it needs.
    edit_hello(&w, "cpu: 1,", "cpu: 2,");
    let out = w.run(&["plan", &hello]);
    expect_code(&out, 0);
    let line = stdout(&out)
        .lines()
        .find(|l| l.contains(HELLO))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.starts_with("~ ")
            && line.ends_with("# not created by aurora-apply: updating it needs --adopt"),
        "{}",
        stdout(&out)
    );
    let out = w.run(&["plan", &hello, "--adopt", "-o", "markdown"]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("(not created by aurora-apply: --adopt adds the marker)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn destroy_of_a_spec_naming_a_foreign_job_needs_allow_foreign() {
    let w = World::seed();
    create_foreign_hello(&w);
    let hello = hello_spec(&w);
    let out = w.run(&["destroy", &hello, "--auto-approve"]);
    expect_code(&out, 8);
    let err = stderr(&out);
    assert!(
        err.contains("aurora-apply did not create") && err.contains(HELLO),
        "{err}"
    );
    assert!(err.contains("--allow-foreign"), "{err}");
    assert!(
        stdout(&out).contains("# not created by aurora-apply"),
        "{}",
        stdout(&out)
    );
    assert_eq!(sent(&w, "killTasks"), 0, "{:?}", w.methods());

    let out = w.run(&["destroy", &hello, "--auto-approve", "--allow-foreign"]);
    expect_code(&out, 0);
    assert_eq!(sent(&w, "killTasks"), 1, "{:?}", w.methods());
}

#[test]
fn kill_of_a_foreign_job_by_its_key_is_consent_enough() {
    let w = World::seed();
    create_foreign_hello(&w);
    let out = w.run(&["kill", HELLO, "--auto-approve"]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("# not created by aurora-apply"),
        "{}",
        stdout(&out)
    );
    assert_eq!(sent(&w, "killTasks"), 1, "{:?}", w.methods());
}

#[test]
fn a_spec_whose_key_collides_with_a_foreign_job_rolls_it_only_with_adopt() {
    let w = World::seed();
    create_foreign_hello(&w);
    let hello = hello_spec(&w);
    edit_hello(&w, "cpu: 1,", "cpu: 2,");
    // Even with every destructive consent, an update of someone else's job needs --adopt.
    let out = w.run(&[
        "apply",
        &hello,
        "--auto-approve",
        "--allow-destroy",
        "--allow-foreign",
    ]);
    expect_code(&out, 8);
    let err = stderr(&out);
    assert!(
        err.contains("refusing to update 1 job(s) aurora-apply did not create")
            && err.contains(HELLO),
        "{err}"
    );
    assert!(err.contains("--adopt"), "{err}");
    assert_eq!(sent(&w, "startJobUpdate"), 0, "{:?}", w.methods());

    let out = w.run(&["apply", &hello, "--auto-approve", "--adopt"]);
    expect_code(&out, 0);
    assert_eq!(sent(&w, "startJobUpdate"), 1, "{:?}", w.methods());
    assert!(
        stdout(&out).contains("metadata.aurora-apply.managed"),
        "{}",
        stdout(&out)
    );
    // Adopted: now ours, and a plain plan has nothing to do.
    assert_eq!(
        ownership(&w, &[&hello]),
        [(HELLO.to_string(), "owned".to_string())]
    );
    expect_code(&w.run(&["plan", &hello, "--detailed-exitcode"]), 0);
}

#[test]
fn a_kind_change_of_a_foreign_job_needs_allow_foreign_on_top_of_allow_destroy() {
    let w = World::seed();
    create_foreign_hello(&w);
    let hello = hello_spec(&w);
    edit_hello(&w, "kind: service", "kind: adhoc");
    let out = w.run(&["apply", &hello, "--auto-approve", "--allow-destroy"]);
    expect_code(&out, 8);
    let err = stderr(&out);
    assert!(
        err.contains("refusing to kill or replace 1 job(s) aurora-apply did not create")
            && err.contains(HELLO)
            && err.contains("--allow-foreign"),
        "{err}"
    );
    let text = stdout(&out);
    assert!(
        text.contains("-/+ ") && text.contains("# not created by aurora-apply"),
        "{text}"
    );
    assert_eq!(sent(&w, "killTasks"), 0, "{:?}", w.methods());
    assert_eq!(sent(&w, "createJob"), 1, "only the foreign job's own");

    let out = w.run(&[
        "apply",
        &hello,
        "--auto-approve",
        "--allow-destroy",
        "--allow-foreign",
    ]);
    expect_code(&out, 0);
    assert_eq!(sent(&w, "killTasks"), 1, "{:?}", w.methods());
    assert_eq!(sent(&w, "createJob"), 2, "{:?}", w.methods());
}

#[test]
fn a_saved_plan_from_before_ownership_was_recorded_is_planned_again() {
    let w = World::seed();
    create_foreign_hello(&w);
    let hello = hello_spec(&w);
    edit_hello(&w, "cpu: 1,", "cpu: 2,");
    let plan_file = w.path("plan.json");
    let plan_file = plan_file.to_str().expect("utf-8");
    expect_code(&w.run(&["plan", &hello, "--adopt", "--out", plan_file]), 0);
    // As format 1.0 wrote it: no ownership, no adopt.
    let mut plan: Value =
        serde_json::from_str(&std::fs::read_to_string(plan_file).expect("read")).expect("JSON");
    plan["format_version"] = Value::from("1.0");
    for change in plan["changes"].as_array_mut().expect("changes") {
        let change = change.as_object_mut().expect("object");
        change.remove("ownership");
        change.remove("adopt");
    }
    std::fs::write(plan_file, plan.to_string()).expect("write");
    let out = w.run(&["apply", plan_file]);
    expect_code(&out, 8);
    assert!(
        stderr(&out).contains("plan again") && stderr(&out).contains(HELLO),
        "{}",
        stderr(&out)
    );
    assert_eq!(sent(&w, "startJobUpdate"), 0, "{:?}", w.methods());
}
