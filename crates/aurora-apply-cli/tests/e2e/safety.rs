//! Safety rails, stale plans and bad input.

use std::time::Duration;

use crate::harness::{World, expect_code, stderr, stdout};
use crate::pty::Pty;

#[test]
fn no_terminal_without_auto_approve_is_refused_with_exit_8() {
    let w = World::seed();
    let specs = w.specs();
    let out = w.run(&["apply", specs.to_str().expect("utf-8")]);
    expect_code(&out, 8);
    assert!(stderr(&out).contains("--auto-approve"), "{}", stderr(&out));
    // The plan was shown, nothing was created.
    assert!(stdout(&out).starts_with("Plan: 5 to create"));
    assert!(
        !w.methods()
            .iter()
            .any(|m| m == "createJob" || m == "scheduleCronJob")
    );
}

#[test]
fn invalid_spec_exits_3_and_sends_nothing() {
    let w = World::seed();
    w.write(
        "specs/bad.aurora-apply.yaml",
        "apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/prod/bad\n    kind: service\n    resources: { cpu: 0, ram: 1MiB, disk: 1MiB }\n    task: { processes: [ { name: p, cmdline: x } ] }\n",
    );
    let out = w.run(&[
        "apply",
        w.specs().to_str().expect("utf-8"),
        "--auto-approve",
    ]);
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("bad.aurora-apply.yaml:5:"),
        "{}",
        stderr(&out)
    );
    assert!(w.methods().is_empty(), "{:?}", w.methods());
}

#[test]
fn stale_saved_plan_is_refused_with_exit_4() {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    let hello = hello.to_str().expect("utf-8");
    let plan_file = w.path("plan.json");
    let plan_file = plan_file.to_str().expect("utf-8");
    expect_code(&w.run(&["plan", hello, "--out", plan_file]), 0);
    // Someone else creates the job in between.
    expect_code(&w.run(&["apply", hello, "--auto-approve"]), 0);
    let out = w.run(&["apply", plan_file, "--auto-approve"]);
    expect_code(&out, 4);
    assert!(
        stderr(&out).contains("devcluster/www-data/prod/hello"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn saved_plan_executes_as_planned() {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    let plan_file = w.path("plan.json");
    let plan_file = plan_file.to_str().expect("utf-8");
    expect_code(
        &w.run(&["plan", hello.to_str().expect("utf-8"), "--out", plan_file]),
        0,
    );
    let out = w.run(&["apply", plan_file, "--auto-approve"]);
    expect_code(&out, 0);
    assert_eq!(w.methods().iter().filter(|m| *m == "createJob").count(), 1);
}

#[test]
fn protected_job_is_never_killed() {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    let yaml = std::fs::read_to_string(&hello).expect("read");
    std::fs::write(
        &hello,
        yaml.replace(
            "    instances: 1\n",
            "    instances: 1\n    protect: true\n",
        ),
    )
    .expect("write");
    let hello = hello.to_str().expect("utf-8");
    expect_code(&w.run(&["apply", hello, "--auto-approve"]), 0);
    let out = w.run(&["destroy", hello, "--auto-approve"]);
    expect_code(&out, 8);
    assert!(stderr(&out).contains("protected"), "{}", stderr(&out));
    assert!(!w.methods().iter().any(|m| m == "killTasks"));
}

#[test]
fn foreign_active_update_is_a_conflict_with_exit_4() {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    let hello_s = hello.to_str().expect("utf-8").to_string();
    expect_code(&w.run(&["apply", &hello_s, "--auto-approve"]), 0);
    // Someone starts a slow update outside aurora-apply (a pulse-blocked one never ends).
    let client =
        aurora_api::Client::new(aurora_api::ClientConfig::new(w.sim.url())).expect("client");
    let config = aurora_spec::load_paths(&[&hello], &aurora_spec::LoadOptions::default())
        .expect("loads")
        .remove(0);
    let mut request = config.update.expect("service has an update request");
    if let Some(settings) = request.settings.as_mut() {
        settings.block_if_no_pulses_after_ms = Some(3_600_000);
    }
    if let Some(task) = request.task_config.as_mut() {
        task.priority = Some(5);
    }
    client
        .start_job_update(&request, None)
        .expect("update starts");
    let yaml = std::fs::read_to_string(&hello).expect("read");
    std::fs::write(&hello, yaml.replace("cpu: 1,", "cpu: 2,")).expect("write");
    let out = w.run(&["apply", &hello_s, "--auto-approve"]);
    expect_code(&out, 4);
    assert!(stderr(&out).contains("in progress"), "{}", stderr(&out));
}

#[test]
fn a_role_whose_last_job_left_the_specs_is_pruned_only_in_scope() {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    let yaml = std::fs::read_to_string(&hello).expect("read");
    w.write(
        "specs/ops.aurora-apply.yaml",
        &yaml.replace(
            "devcluster/www-data/prod/hello",
            "devcluster/ops/prod/probe",
        ),
    );
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");
    expect_code(&w.run(&["apply", specs, "--auto-approve"]), 0);
    std::fs::remove_file(w.path("specs/ops.aurora-apply.yaml")).expect("rm");
    // The ops role is no longer in the specs: --prune alone does not look there.
    let out = w.run(&["plan", specs, "--prune", "--detailed-exitcode"]);
    expect_code(&out, 0);
    let out = w.run(&[
        "plan",
        specs,
        "--prune",
        "--scope",
        "devcluster",
        "--detailed-exitcode",
    ]);
    expect_code(&out, 2);
    assert!(
        stdout(&out).contains("-   devcluster/ops/prod/probe"),
        "{}",
        stdout(&out)
    );
    let out = w.run(&[
        "apply",
        specs,
        "--prune",
        "--scope",
        "devcluster/ops",
        "--auto-approve",
        "--allow-destroy",
    ]);
    expect_code(&out, 0);
    expect_code(
        &w.run(&[
            "plan",
            specs,
            "--prune",
            "--scope",
            "devcluster",
            "--detailed-exitcode",
        ]),
        0,
    );
}

#[test]
/// Clap's usage errors would exit 2, which means "changes present" here.
fn bad_usage_is_invalid_input_not_changes() {
    let w = World::seed();
    let out = w.run(&[
        "plan",
        w.specs().to_str().expect("utf-8"),
        "--scope",
        "a/b/c",
    ]);
    assert_eq!(crate::harness::code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("expected CLUSTER or CLUSTER/ROLE"),
        "{}",
        stderr(&out)
    );
}

/// Runs the binary on a pseudo-terminal (see `crate::pty`), typing `answer` at the prompt;
/// returns the exit code and everything the terminal showed.
fn on_a_terminal(w: &World, args: &[&str], answer: &str) -> (i32, String) {
    let args = [args, &["--poll-interval", "20ms"]].concat();
    let mut pty = Pty::binary(w, &args, 40, 120);
    pty.type_text(&format!("{answer}\n"));
    let code = pty.wait(Duration::from_secs(60));
    (code, pty.transcript())
}

#[test]
fn on_a_terminal_apply_asks_and_only_yes_applies() {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    let args = hello.to_str().expect("utf-8").to_string();

    let (code, screen) = on_a_terminal(&w, &[&args], "no");
    // Declining is not a success a script could mistake (Terraform exits 1 too).
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains("Apply this plan? Only 'yes' is accepted"),
        "{screen}"
    );
    assert!(
        screen.contains("Apply cancelled; nothing was changed."),
        "{screen}"
    );
    assert!(!w.methods().iter().any(|m| m == "createJob"));

    let (code, screen) = on_a_terminal(&w, &[&args], "yes");
    assert_eq!(code, 0, "{screen}");
    assert_eq!(
        w.methods().iter().filter(|m| *m == "createJob").count(),
        1,
        "{screen}"
    );
}

#[test]
fn a_saved_plan_is_applied_on_a_terminal_without_asking_again() {
    let w = World::seed();
    let hello = w.specs().join("hello.aurora-apply.yaml");
    let out = w.run(&["plan", hello.to_str().expect("utf-8"), "--out", "plan.json"]);
    expect_code(&out, 0);
    // Nothing is typed: a question would read end-of-file and cancel (exit 1).
    let (code, screen) = on_a_terminal(&w, &["apply", "plan.json"], "");
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("Apply this plan?"), "{screen}");
    assert_eq!(
        w.methods().iter().filter(|m| *m == "createJob").count(),
        1,
        "{screen}"
    );
}
