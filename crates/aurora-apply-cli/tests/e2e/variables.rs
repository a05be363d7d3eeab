//! Typed variables through the binary (issue 13, part 1): values of each type from each
//! source, in their precedence, reach the scheduler; plans record them; a sensitive value is
//! never printed or logged; bad input is located and nothing is sent.

use serde_json::Value;

use crate::harness::{World, expect_code, stderr, stdout};

const SPEC: &str = r#"apiVersion: aurora-apply/v1
vars:
  env: { type: string, default: devel, description: The environment }
  replicas: { type: integer, default: 1 }
  cpu: { type: number, default: 0.25 }
  ram: { type: size, default: 32MiB }
  watch: { type: duration, default: 5s }
  rollback: { type: boolean, default: true }
  racks: { type: list, default: [r1, r2] }
  labels: { type: map, default: { team: web } }
  tag: { type: string }
  token: { type: string, sensitive: true }
jobs:
  - key: devcluster/www-data/${var.env}/vars
    kind: service
    instances: ${var.replicas}
    resources: { cpu: '${var.cpu}', ram: '${var.ram}', disk: 64MiB }
    metadata: ${var.labels}
    constraints: { rack: { values: '${var.racks}' } }
    update: { watch: '${var.watch}', rollback_on_failure: '${var.rollback}' }
    task:
      processes:
        - name: app
          cmdline: "serve --tag=${var.tag} --token=${var.token}; sleep 600"
"#;

const SECRET: &str = "hunter2-very-secret";

fn spec(w: &World) -> String {
    w.write("specs/vars.aurora-apply.yaml", SPEC);
    w.write(
        "prod.vars.yaml",
        "tag: from-file\nreplicas: 2\nenv: prod\nwatch: 6s\n",
    );
    w.specs()
        .join("vars.aurora-apply.yaml")
        .to_str()
        .expect("utf-8")
        .to_string()
}

/// Environment: replicas, tag, ram, token; the var file beats it for replicas, tag and env;
/// `--var` beats both for replicas.
const ENV: &[(&str, &str)] = &[
    ("AURORA_APPLY_VAR_replicas", "5"),
    ("AURORA_APPLY_VAR_tag", "from-env"),
    ("AURORA_APPLY_VAR_ram", "48MiB"),
    ("AURORA_APPLY_VAR_token", SECRET),
];

fn with_sources<'a>(spec: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![spec, "--var-file", "prod.vars.yaml", "--var", "replicas=3"];
    args.extend_from_slice(more);
    args
}

fn no_secret(what: &str, text: &str) {
    assert!(
        !text.contains(SECRET) && !text.contains("hunter2"),
        "the sensitive value is shown in {what}:\n{text}"
    );
}

#[test]
fn values_from_every_source_reach_the_scheduler_in_precedence_order() {
    let w = World::seed();
    let spec = spec(&w);
    let mut args = vec!["plan"];
    args.extend(with_sources(&spec, &["-o", "json"]));
    let out = w.run_with_env(ENV, &args);
    expect_code(&out, 0);
    no_secret("plan -o json", &stdout(&out));
    no_secret("stderr", &stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("plan json");
    assert_eq!(plan["format_version"], "1.3");
    let change = &plan["changes"][0];
    assert_eq!(change["job_key"], "devcluster/www-data/prod/vars");
    assert_eq!(change["instance_count"], serde_json::json!([null, 3]));
    let vars: Vec<(String, Value, String)> = plan["variables"]
        .as_array()
        .expect("variables")
        .iter()
        .map(|v| {
            (
                v["name"].as_str().expect("name").to_string(),
                v.get("value").cloned().unwrap_or(Value::Null),
                v["source"].as_str().expect("source").to_string(),
            )
        })
        .collect();
    let want = |n: &str, v: Value, s: &str| (n.to_string(), v, s.to_string());
    assert_eq!(
        vars,
        [
            want("cpu", serde_json::json!(0.25), "default"),
            want("env", serde_json::json!("prod"), "var_file"),
            want("labels", serde_json::json!({"team": "web"}), "default"),
            want("racks", serde_json::json!(["r1", "r2"]), "default"),
            want("ram", serde_json::json!("48MiB"), "environment"),
            want("replicas", serde_json::json!(3), "command_line"),
            want("rollback", serde_json::json!(true), "default"),
            want("tag", serde_json::json!("from-file"), "var_file"),
            want("token", Value::Null, "environment"),
            want("watch", serde_json::json!("6s"), "var_file"),
        ]
    );
    let token = plan["variables"]
        .as_array()
        .and_then(|a| a.iter().find(|v| v["name"] == "token"))
        .expect("token");
    assert_eq!(token["sensitive"], true);
    assert!(
        change["execution"].get("job_configuration").is_none(),
        "printed JSON of a plan with secrets carries no Thrift bytes: {change}"
    );

    // Text: the values, the secret masked.
    let mut args = vec!["plan"];
    args.extend(with_sources(&spec, &[]));
    let out = w.run_with_env(ENV, &args);
    expect_code(&out, 0);
    let text = stdout(&out);
    no_secret("plan", &text);
    assert!(
        text.contains("replicas = 3 (--var)")
            && text.contains("token = (sensitive) (AURORA_APPLY_VAR_token)")
            && text.contains("tag = \"from-file\" (prod.vars.yaml:1:6)"),
        "{text}"
    );

    // Saved, applied, logged at debug: the secret is in the plan file only (owner-only).
    let log = w.path("run.log");
    let log_s = log.to_str().expect("utf-8").to_string();
    let mut args = vec!["plan"];
    args.extend(with_sources(
        &spec,
        &["--out", "plan.json", "-vv", "--log-file", &log_s],
    ));
    let out = w.run_with_env(ENV, &args);
    expect_code(&out, 0);
    no_secret("plan -vv stderr", &stderr(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(w.path("plan.json"))
            .expect("plan file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "a plan holding secrets is owner-only");
    }
    let out = w.run(&["apply", "plan.json", "-vv", "--log-file", &log_s]);
    expect_code(&out, 0);
    no_secret("apply stdout", &stdout(&out));
    no_secret("apply stderr", &stderr(&out));
    no_secret("the log file", &std::fs::read_to_string(&log).expect("log"));

    // In sync with the same values; the command line moves it.
    let mut args = vec!["plan"];
    args.extend(with_sources(&spec, &["--detailed-exitcode"]));
    expect_code(&w.run_with_env(ENV, &args), 0);
    let mut args = vec!["plan"];
    args.extend(with_sources(
        &spec,
        &["--detailed-exitcode", "--var", "replicas=4"],
    ));
    let out = w.run_with_env(ENV, &args);
    expect_code(&out, 2);
    assert!(stdout(&out).contains("3 → 4"), "{}", stdout(&out));

    // A new token changes the command line: the field is shown masked, old and new.
    let env: Vec<(&str, &str)> = ENV
        .iter()
        .map(|(k, v)| {
            if *k == "AURORA_APPLY_VAR_token" {
                (*k, "hunter2-rotated")
            } else {
                (*k, *v)
            }
        })
        .collect();
    let mut args = vec!["plan"];
    args.extend(with_sources(&spec, &[]));
    let out = w.run_with_env(&env, &args);
    expect_code(&out, 0);
    let text = stdout(&out);
    no_secret("a plan that changes the secret", &text);
    assert!(text.contains("(sensitive)"), "{text}");
}

#[test]
fn variable_mistakes_are_located_and_nothing_is_sent() {
    let w = World::seed();
    let spec = spec(&w);
    w.sim.clear_calls();
    // No value for `tag` and `token`: each reference located, with every way to give one.
    let out = w.run(&["plan", &spec]);
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("variable `tag` has no value")
            && err.contains("vars.aurora-apply.yaml:24:33")
            && err.contains("AURORA_APPLY_VAR_tag"),
        "{err}"
    );
    // An undeclared --var, a value of the wrong type from a file.
    w.write("bad.vars.yaml", "replicas: many\n");
    let out = w.run_with_env(
        ENV,
        &[
            "apply",
            &spec,
            "--var",
            "replica=3",
            "--var-file",
            "bad.vars.yaml",
            "--auto-approve",
        ],
    );
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("--var `replica`: no spec file declares a variable `replica`")
            && err.contains("did you mean `replicas`?")
            && err.contains("bad.vars.yaml:1:11")
            && err.contains("expected an integer, found a string"),
        "{err}"
    );
    no_secret("errors", &err);
    assert!(
        w.methods().is_empty(),
        "nothing is sent for bad input: {:?}",
        w.methods()
    );
    // validate says the same offline, and warns about what is not used.
    w.write(
        "specs/vars.aurora-apply.yaml",
        &SPEC.replace(
            "  tag: { type: string }\n",
            "  tag: { type: string }\n  spare: { type: string, default: x }\n",
        ),
    );
    let out = w.run_with_env(ENV, &["validate", &spec, "--var", "tag=t"]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("variable `spare` is declared but not used"),
        "{}",
        stderr(&out)
    );
}
