//! Typed variables (issue 13, part 1): `vars:` declarations, values from every source in
//! their precedence, `${var.NAME}` substitution, and every problem located.

use aurora_spec::load::vars::{UsedVariable, VariableInputs};
use aurora_spec::model::JobSpec;
use aurora_spec::{
    Diagnostic, Format, LoadOptions, LoadedJob, SourceFile, load_sources, load_sources_with,
};

fn file(name: &str, text: &str) -> SourceFile {
    let format = Format::from_path(std::path::Path::new(name)).unwrap_or(Format::Yaml);
    SourceFile::new(name, text, format)
}

fn options(inputs: VariableInputs) -> LoadOptions {
    LoadOptions {
        variables: inputs,
        ..LoadOptions::default()
    }
}

fn cli(args: &[&str]) -> VariableInputs {
    VariableInputs {
        command_line: args.iter().map(|s| s.to_string()).collect(),
        ..VariableInputs::default()
    }
}

fn describe(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|d| {
            format!(
                "{} {} {}: {} [{}]",
                d.severity.as_str(),
                d.location(),
                d.path,
                d.message,
                d.help.clone().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn jobs(files: &[SourceFile], inputs: VariableInputs) -> Vec<LoadedJob> {
    load_sources(files, &options(inputs)).unwrap_or_else(|d| panic!("{}", describe(&d.sorted())))
}

fn errors(files: &[SourceFile], inputs: VariableInputs) -> Vec<Diagnostic> {
    match load_sources(files, &options(inputs)) {
        Ok(j) => panic!("expected errors, got {} job(s)", j.len()),
        Err(d) => d.sorted().into_iter().filter(|d| d.is_error()).collect(),
    }
}

fn spec(jobs: &[LoadedJob]) -> &JobSpec {
    &jobs[0].job.spec
}

/// The fields these tests set, as JSON.
fn view(s: &JobSpec) -> serde_json::Value {
    serde_json::json!({
        "metadata": s.metadata,
        "production": s.production,
        "constraints": format!("{:?}", s.constraints),
        "watch": s.update.as_ref().and_then(|u| u.watch).and_then(|w| w.whole_secs()),
        "cmdline": s.task.as_ref().and_then(|t| t.processes.as_ref()).map(|p| p[0].cmdline.clone()),
    })
}

/// One variable of every type, each used where its type fits.
const EVERY_TYPE: &str = r#"apiVersion: aurora-apply/v1
vars:
  cluster: { type: string, default: devcluster, description: Where it runs }
  replicas: { type: integer, default: 2 }
  cpu: { type: number, default: 0.5 }
  production: { type: boolean, default: false }
  ram: { type: size, default: 256MiB }
  watch: { type: duration, default: 30s }
  hosts: { type: list, default: [a, b] }
  labels: { type: map, default: { team: web } }
jobs:
  - key: ${var.cluster}/www-data/prod/web
    kind: service
    instances: ${var.replicas}
    production: ${var.production}
    resources: { cpu: '${var.cpu}', ram: '${var.ram}', disk: 1GiB }
    metadata: ${var.labels}
    constraints: { host: { values: '${var.hosts}' } }
    update: { watch: '${var.watch}' }
    task:
      processes:
        - name: web
          cmdline: "echo ${var.cluster} $${var.cluster} ${HOME} {{thermos.ports[http]}} x${var.replicas}"
"#;

#[test]
fn defaults_give_every_type_its_value() {
    let jobs = jobs(
        &[file("web.aurora-apply.yaml", EVERY_TYPE)],
        VariableInputs::default(),
    );
    let job = &jobs[0];
    assert_eq!(job.job.key.to_string(), "devcluster/www-data/prod/web");
    let s = spec(&jobs);
    assert_eq!(job.config.instance_count, Some(2));
    assert_eq!(s.production, Some(false));
    let res = s.resources.as_ref().expect("resources");
    assert_eq!(res.cpu, Some(0.5));
    assert_eq!(
        res.ram.map(|r| r.mib()),
        Some(256),
        "size variable reaches the field"
    );
    let json = view(s);
    assert_eq!(json["metadata"], serde_json::json!({"team": "web"}));
    let constraints = json["constraints"].as_str().unwrap_or_default();
    assert!(constraints.contains(r#"["a", "b"]"#), "{constraints}");
    assert_eq!(json["watch"], serde_json::json!(30));
    let cmd = &json["cmdline"];
    assert_eq!(
        cmd,
        &serde_json::json!("echo devcluster ${var.cluster} ${HOME} {{thermos.ports[http]}} x2"),
        "inside a string a value is text; `$${{…}}`, shell and Thermos templates pass through"
    );
}

#[test]
fn every_source_sets_every_type_and_the_command_line_wins() {
    let var_file = file(
        "prod.vars.yaml",
        "replicas: 5\ncpu: 2\nproduction: true\nram: 1GiB\nwatch: 1m\nhosts: [x]\nlabels: { team: ops }\ncluster: west\n",
    );
    let inputs = VariableInputs {
        environment: vec![
            ("replicas".into(), "9".into()),
            ("cluster".into(), "east".into()),
            ("watch".into(), "2m".into()),
        ],
        files: vec![var_file],
        command_line: vec![
            "cluster=north".into(),
            "replicas=7".into(),
            "replicas=8".into(),
        ],
    };
    let loaded = load_sources_with(
        &[file("web.aurora-apply.yaml", EVERY_TYPE)],
        &options(inputs),
    )
    .unwrap_or_else(|d| panic!("{}", describe(&d.sorted())));
    let job = &loaded.jobs[0];
    assert_eq!(
        job.job.key.to_string(),
        "north/www-data/prod/web",
        "--var beats file and env"
    );
    assert_eq!(job.config.instance_count, Some(8), "the last --var wins");
    let json = view(&job.job.spec);
    assert_eq!(
        json["watch"],
        serde_json::json!(60),
        "a var file beats the environment"
    );
    assert_eq!(json["metadata"], serde_json::json!({"team": "ops"}));
    assert_eq!(json["production"], serde_json::json!(true));
    let by_name = |n: &str| -> &UsedVariable {
        loaded
            .variables
            .iter()
            .find(|v| v.name == n)
            .expect("recorded")
    };
    assert_eq!(by_name("cluster").source, "command_line");
    assert_eq!(by_name("watch").source, "var_file");
    assert_eq!(by_name("watch").from, "prod.vars.yaml:5:8");
    assert_eq!(by_name("replicas").value, Some(serde_json::json!(8)));
    // Environment values are typed too, and beat the defaults.
    let env_only = VariableInputs {
        environment: vec![
            ("replicas".into(), "9".into()),
            ("hosts".into(), "[p, q]".into()),
        ],
        ..VariableInputs::default()
    };
    let loaded = load_sources_with(
        &[file("web.aurora-apply.yaml", EVERY_TYPE)],
        &options(env_only),
    )
    .unwrap_or_else(|d| panic!("{}", describe(&d.sorted())));
    assert_eq!(loaded.jobs[0].config.instance_count, Some(9));
    let v = loaded
        .variables
        .iter()
        .find(|v| v.name == "replicas")
        .expect("recorded");
    assert_eq!(v.source, "environment");
}

#[test]
fn toml_and_json_specs_use_variables_too() {
    let toml = r#"apiVersion = "aurora-apply/v1"
[vars.replicas]
type = "integer"
[[jobs]]
key = "devcluster/www-data/prod/web"
kind = "service"
instances = "${var.replicas}"
resources = { cpu = 1, ram = "128MiB", disk = "128MiB" }
task = { processes = [{ name = "web", cmdline = "./web" }] }
"#;
    let jobs = jobs(&[file("web.aurora-apply.toml", toml)], cli(&["replicas=3"]));
    assert_eq!(jobs[0].config.instance_count, Some(3));
}

#[test]
fn an_undeclared_reference_is_located_with_did_you_mean() {
    let text = "apiVersion: aurora-apply/v1\nvars:\n  replicas: { type: integer, default: 1 }\njobs:\n  - key: devcluster/www-data/prod/web\n    kind: service\n    instances: ${var.replica}\n    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }\n    task: { processes: [{ name: web, cmdline: ./web }] }\n";
    let e = errors(
        &[file("a.aurora-apply.yaml", text)],
        VariableInputs::default(),
    );
    assert_eq!(e.len(), 1, "{}", describe(&e));
    assert_eq!(e[0].message, "undeclared variable `replica`");
    assert_eq!(e[0].location(), "a.aurora-apply.yaml:7:16");
    assert_eq!(e[0].help.as_deref(), Some("did you mean `replicas`?"));
    assert_eq!(e[0].code.as_str(), "aurora_spec::variable");
}

#[test]
fn a_reference_inside_a_string_is_located_at_the_reference() {
    let text = "apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/prod/web\n    kind: service\n    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }\n    task: { processes: [{ name: web, cmdline: \"run --tag=${var.tag}\" }] }\n";
    let e = errors(
        &[file("a.aurora-apply.yaml", text)],
        VariableInputs::default(),
    );
    assert_eq!(e[0].message, "undeclared variable `tag`");
    assert_eq!(e[0].location(), "a.aurora-apply.yaml:6:58");
    assert_eq!(e[0].span.map(|s| s.len), Some("${var.tag}".len()));
}

#[test]
fn a_variable_without_a_value_names_every_way_to_give_one() {
    let text = "apiVersion: aurora-apply/v1\nvars:\n  tag: { type: string }\njobs:\n  - key: devcluster/www-data/prod/web\n    kind: service\n    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }\n    task: { processes: [{ name: web, cmdline: \"run ${var.tag}\" }] }\n";
    let e = errors(
        &[file("a.aurora-apply.yaml", text)],
        VariableInputs::default(),
    );
    assert_eq!(e.len(), 1, "{}", describe(&e));
    assert_eq!(e[0].message, "variable `tag` has no value");
    assert_eq!(e[0].location(), "a.aurora-apply.yaml:8:52");
    let help = e[0].help.as_deref().unwrap_or_default();
    for way in [
        "--var tag=",
        "--var-file",
        "AURORA_APPLY_VAR_tag",
        "default",
    ] {
        assert!(help.contains(way), "{help}");
    }
    assert_eq!(e[0].related[0].label, "declared here without a default");
    // With a value it loads.
    let jobs = jobs(&[file("a.aurora-apply.yaml", text)], cli(&["tag=v1"]));
    assert_eq!(view(&jobs[0].job.spec)["cmdline"], "run v1");
}

#[test]
fn wrong_types_are_located_at_the_value_and_at_the_reference() {
    let spec_text = "apiVersion: aurora-apply/v1\nvars:\n  replicas: { type: integer }\n  name: { type: string, default: web }\njobs:\n  - key: devcluster/www-data/prod/web\n    kind: service\n    instances: ${var.replicas}\n    resources: { cpu: 1, ram: '${var.name}', disk: 128MiB }\n    task: { processes: [{ name: web, cmdline: ./web }] }\n";
    let spec = file("a.aurora-apply.yaml", spec_text);
    // The value of a var file does not fit the declaration: at the value, with the declaration.
    let vars = file("v.yaml", "replicas: three\n");
    let e = errors(
        std::slice::from_ref(&spec),
        VariableInputs {
            files: vec![vars],
            ..VariableInputs::default()
        },
    );
    assert_eq!(e[0].location(), "v.yaml:1:11", "{}", describe(&e));
    assert_eq!(
        e[0].message,
        "the value of `replicas`: expected an integer, found a string"
    );
    assert_eq!(
        e[0].related[0].label,
        "`replicas` is declared as `integer` here"
    );
    // From the command line: at the declaration, naming the source.
    let e = errors(std::slice::from_ref(&spec), cli(&["replicas=three"]));
    assert_eq!(e[0].location(), "a.aurora-apply.yaml:3:3");
    assert!(
        e[0].message
            .contains("--var replicas=… on the command line"),
        "{}",
        e[0].message
    );
    // A value of the declared type that does not fit the field: at the reference, with where
    // the value came from.
    let e = errors(std::slice::from_ref(&spec), cli(&["replicas=2"]));
    assert_eq!(e.len(), 1, "{}", describe(&e));
    assert_eq!(e[0].location(), "a.aurora-apply.yaml:9:31");
    assert!(e[0].message.contains("web"), "{}", e[0].message);
    assert_eq!(
        e[0].related[0].label,
        "the value of `name` comes from the default at a.aurora-apply.yaml:4:34"
    );
}

#[test]
fn declarations_are_checked() {
    let text = "apiVersion: aurora-apply/v1\nvars:\n  a: { type: integr }\n  b: { type: integer, default: x }\n  c: { tpye: string }\n  d: 3\n  e: { type: string, default: '${var.a}' }\njobs:\n  - key: devcluster/www-data/prod/web\n    kind: service\n    instances: ${var.a}\n    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }\n    task: { processes: [{ name: web, cmdline: ./web }] }\n";
    let e = errors(
        &[file("a.aurora-apply.yaml", text)],
        VariableInputs::default(),
    );
    let got: Vec<(String, String)> = e
        .iter()
        .map(|d| (d.location(), d.message.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "a.aurora-apply.yaml:3:14".to_string(),
                "unknown type `integr`".to_string()
            ),
            (
                "a.aurora-apply.yaml:4:32".into(),
                "default of `b`: expected an integer, found a string".into()
            ),
            (
                "a.aurora-apply.yaml:5:3".into(),
                "variable `c` has no `type`".into()
            ),
            (
                "a.aurora-apply.yaml:5:8".into(),
                "unknown key `tpye`".into()
            ),
            (
                "a.aurora-apply.yaml:6:6".into(),
                "a variable declaration must be a mapping, found an integer".into()
            ),
            (
                "a.aurora-apply.yaml:7:31".into(),
                "a default cannot refer to a variable".into()
            ),
        ],
        "a broken declaration is not reported again at its references:\n{}",
        describe(&e)
    );
    assert_eq!(e[0].help.as_deref(), Some("did you mean `integer`?"));
}

#[test]
fn a_name_declared_with_two_types_across_files_is_an_error_naming_both() {
    let one = file(
        "one.aurora-apply.yaml",
        "apiVersion: aurora-apply/v1\nvars:\n  n: { type: integer, default: 1 }\njobs: []\n",
    );
    let two = file(
        "two.aurora-apply.yaml",
        "apiVersion: aurora-apply/v1\nvars:\n  n: { type: string, default: x }\njobs: []\n",
    );
    let e = errors(&[one, two], VariableInputs::default());
    assert_eq!(e.len(), 1, "{}", describe(&e));
    assert_eq!(e[0].location(), "two.aurora-apply.yaml:3:3");
    assert!(e[0].message.contains("declared twice with different types"));
    assert_eq!(e[0].related[0].file.name.as_ref(), "one.aurora-apply.yaml");
}

#[test]
fn unused_declarations_and_unknown_var_file_entries_are_warnings() {
    let text = "apiVersion: aurora-apply/v1\nvars:\n  spare: { type: string, default: x }\njobs:\n  - key: devcluster/www-data/prod/web\n    kind: service\n    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }\n    task: { processes: [{ name: web, cmdline: ./web }] }\n";
    let inputs = VariableInputs {
        files: vec![file("v.yaml", "sparee: 1\n")],
        ..VariableInputs::default()
    };
    let loaded = load_sources_with(&[file("a.aurora-apply.yaml", text)], &options(inputs))
        .unwrap_or_else(|d| panic!("{}", describe(&d.sorted())));
    assert_eq!(loaded.jobs.len(), 1, "warnings do not stop the run");
    let w = loaded.warnings.sorted();
    let got: Vec<(String, String, Option<String>)> = w
        .iter()
        .map(|d| (d.location(), d.message.clone(), d.help.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "a.aurora-apply.yaml:3:3".to_string(),
                "variable `spare` is declared but not used".to_string(),
                Some("remove it, or use it as `${var.spare}`".to_string())
            ),
            (
                "v.yaml:1:1".into(),
                "no spec file declares a variable `sparee`".into(),
                Some("did you mean `spare`?".into())
            ),
        ]
    );
    assert!(w.iter().all(|d| !d.is_error()));
    // `--var` for a name nobody declares is an error.
    let e = errors(&[file("a.aurora-apply.yaml", text)], cli(&["spar=1"]));
    assert_eq!(
        e[0].message,
        "--var `spar`: no spec file declares a variable `spar`"
    );
    assert_eq!(e[0].help.as_deref(), Some("did you mean `spare`?"));
    let e = errors(&[file("a.aurora-apply.yaml", text)], cli(&["spare"]));
    assert_eq!(e[0].message, "--var `spare` has no value");
}

#[test]
fn sensitive_values_are_never_shown_in_messages_or_records() {
    let text = "apiVersion: aurora-apply/v1\nvars:\n  token: { type: string, sensitive: true }\n  port: { type: integer, sensitive: true }\njobs:\n  - key: devcluster/www-data/prod/web\n    kind: service\n    instances: ${var.token}\n    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }\n    task: { processes: [{ name: web, cmdline: \"run --token=${var.token}\" }] }\n";
    let e = errors(
        &[file("a.aurora-apply.yaml", text)],
        cli(&["token=hunter2secret", "port=x7"]),
    );
    let all = describe(&e);
    assert!(!all.contains("hunter2secret"), "{all}");
    assert!(!all.contains("x7"), "{all}");
    assert!(all.contains("(sensitive)"), "{all}");
    let fixed = text.replace("instances: ${var.token}", "instances: 1");
    let fixed = fixed.replace("  port: { type: integer, sensitive: true }\n", "");
    let loaded = load_sources_with(
        &[file("a.aurora-apply.yaml", &fixed)],
        &options(cli(&["token=hunter2secret"])),
    )
    .unwrap_or_else(|d| panic!("{}", describe(&d.sorted())));
    let token = &loaded.variables[0];
    assert!(token.sensitive);
    assert_eq!(token.value, None, "a sensitive value is not recorded");
    assert_eq!(loaded.sensitive, ["hunter2secret"]);
}

#[test]
fn variables_reach_defaults_and_targets() {
    let text = "apiVersion: aurora-apply/v1\nvars:\n  big: { type: integer, default: 6 }\n  team: { type: string, default: web }\ndefaults:\n  metadata: { team: '${var.team}' }\njobs:\n  - key: west/www-data/prod/web\n    kind: service\n    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }\n    task: { processes: [{ name: web, cmdline: ./web }] }\n    targets:\n      - {}\n      - { cluster: east, instances: '${var.big}' }\n";
    let jobs = jobs(&[file("a.aurora-apply.yaml", text)], cli(&["team=ops"]));
    assert_eq!(jobs.len(), 2);
    let east = jobs
        .iter()
        .find(|j| j.job.key.cluster == "east")
        .expect("east");
    assert_eq!(east.config.instance_count, Some(6));
    assert_eq!(view(&east.job.spec)["metadata"]["team"], "ops");
}
