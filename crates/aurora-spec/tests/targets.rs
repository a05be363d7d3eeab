//! `targets:` (one job, many places) and `x-` top-level keys (issue 13, part 2).

use aurora_spec::model::{ContainerSpec, JobSpec};
use aurora_spec::{Diagnostic, Format, LoadOptions, LoadedJob, SourceFile, load_sources};

fn load(name: &str, text: &str) -> Result<Vec<LoadedJob>, Vec<Diagnostic>> {
    let format = Format::from_path(std::path::Path::new(name)).unwrap_or(Format::Yaml);
    let src = SourceFile::new(name, text, format);
    load_sources(&[src], &LoadOptions::default()).map_err(|d| d.sorted())
}

fn jobs(name: &str, text: &str) -> Vec<LoadedJob> {
    load(name, text).unwrap_or_else(|d| {
        panic!(
            "{name}: {}",
            d.iter()
                .map(|d| format!("{} {}: {}", d.location(), d.path, d.message))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn errors(name: &str, text: &str) -> Vec<Diagnostic> {
    match load(name, text) {
        Ok(j) => panic!("{name}: expected errors, got {} job(s)", j.len()),
        Err(d) => d,
    }
}

fn spec<'a>(jobs: &'a [LoadedJob], key: &str) -> &'a JobSpec {
    &jobs
        .iter()
        .find(|j| j.job.key == key)
        .unwrap_or_else(|| panic!("no job {key}"))
        .job
        .spec
}

const TWO_CLUSTERS: &str = "\
apiVersion: aurora-apply/v1
defaults:
  metadata: { team: web, tier: gold }
jobs:
  - key: west/www-data/prod/web
    kind: service
    instances: 2
    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }
    metadata: { build: '42' }
    constraints: { rack: { limit: 1 } }
    fetch: [{ uri: 'http://a/x.tgz' }, { uri: 'http://a/y.tgz' }]
    task: { processes: [{ name: web, cmdline: ./web }] }
    targets:
      - {}
      - cluster: east
        instances: 6
        resources: { ram: 2GiB }
        metadata: { build: '43' }
        constraints: { rack: { values: [r1] } }
        fetch: [{ uri: 'http://b/z.tgz' }]
        container: { docker: { image: busybox } }
";

#[test]
fn a_job_expands_into_one_job_per_target() {
    let jobs = jobs("web.aurora-apply.yaml", TWO_CLUSTERS);
    let keys: Vec<String> = jobs.iter().map(|j| j.job.key.to_string()).collect();
    assert_eq!(keys, ["west/www-data/prod/web", "east/www-data/prod/web"]);
    let west = spec(&jobs, "west/www-data/prod/web");
    let east = spec(&jobs, "east/www-data/prod/web");
    assert!(west.targets.is_none() && east.targets.is_none());
    assert_eq!((west.instances, east.instances), (Some(2), Some(6)));
    let (wr, er) = (
        west.resources.as_ref().expect("set"),
        east.resources.as_ref().expect("set"),
    );
    assert_eq!(wr.ram.expect("set").mib(), 1024);
    // Maps merged: ram from the target, cpu and disk from the job.
    assert_eq!(er.ram.expect("set").mib(), 2048);
    assert_eq!((er.cpu, er.disk.expect("set").mib()), (Some(1.0), 1024));
    // Maps merged at every level: defaults, then the job, then the target.
    let meta = east.metadata.as_ref().expect("set");
    assert_eq!(meta["build"], "43");
    assert_eq!(meta["team"], "web");
    assert_eq!(west.metadata.as_ref().expect("set")["build"], "42");
    // Lists replaced.
    let uris: Vec<&str> = east
        .fetch
        .as_ref()
        .expect("set")
        .iter()
        .map(|f| f.uri.as_str())
        .collect();
    assert_eq!(uris, ["http://b/z.tgz"]);
    assert_eq!(west.fetch.as_ref().expect("set").len(), 2);
    // Variant choices replaced (a constraint's kind, the container).
    let rack = &east.constraints.as_ref().expect("set")["rack"];
    assert!(rack.limit.is_none() && rack.values.is_some());
    assert!(matches!(east.container, Some(ContainerSpec::Docker(_))));
    assert!(west.container.is_none());
    // What is sent follows: six instances in the east.
    let east_job = jobs
        .iter()
        .find(|j| j.job.key.cluster == "east")
        .expect("set");
    assert_eq!(east_job.config.instance_count, Some(6));
    // Each expansion's origin is its target entry.
    assert_eq!(east_job.job.origin.path, "jobs[0].targets[1]");
    assert_eq!(east_job.job.origin.location(), "web.aurora-apply.yaml:15:9");
}

#[test]
fn target_parts_replace_the_parts_of_the_key() {
    let text = "\
apiVersion: aurora-apply/v1
jobs:
  - key: west/www-data/prod/web
    kind: service
    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }
    task: { processes: [{ name: web, cmdline: ./web }] }
    targets:
      - { environment: devel }
      - { role: other, name: web2 }
  - cluster: west
    role: www-data
    environment: prod
    name: api
    kind: service
    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }
    task: { processes: [{ name: api, cmdline: ./api }] }
    targets:
      - { environment: test }
      - { cluster: east }
";
    let keys: Vec<String> = jobs("k.yaml", text)
        .iter()
        .map(|j| j.job.key.to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "west/www-data/devel/web",
            "west/other/prod/web2",
            "west/www-data/test/api",
            "east/www-data/prod/api",
        ]
    );
}

#[test]
fn problems_point_at_the_target_entry_or_the_base_field() {
    let text = "\
apiVersion: aurora-apply/v1
jobs:
  - key: west/www-data/prod/web
    kind: service
    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }
    task: { processes: [{ name: web, cmdline: ./web }] }
    update: { watch: 45 parsecs }
    targets:
      - { cluster: east }
      - cluster: north
        instances: 0
        resourcs: { cpu: 2 }
      - { environment: production }
";
    let d = errors("t.yaml", text);
    let found: Vec<(String, String, String)> = d
        .iter()
        .map(|d| (d.location(), d.path.clone(), d.message.clone()))
        .collect();
    let has = |loc: &str, path: &str, msg: &str| {
        assert!(
            found
                .iter()
                .any(|(l, p, m)| l == loc && p == path && m.contains(msg)),
            "no {loc} {path} {msg} in {found:#?}"
        );
    };
    // The base field's problem: once, at the job's field, although three expansions share it.
    has("t.yaml:7:22", "jobs[0].update.watch", "");
    assert_eq!(
        found
            .iter()
            .filter(|(_, p, _)| p == "jobs[0].update.watch")
            .count(),
        1,
        "{found:#?}"
    );
    // The entry's problems, at the entry.
    has(
        "t.yaml:12:9",
        "jobs[0].targets[1].resourcs",
        "unknown key `resourcs`",
    );
}

#[test]
fn rules_on_the_merged_job_point_at_the_entry_value() {
    let text = "\
apiVersion: aurora-apply/v1
jobs:
  - key: west/www-data/prod/web
    kind: service
    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }
    task: { processes: [{ name: web, cmdline: ./web }] }
    targets:
      - { cluster: east }
      - { cluster: north, instances: 0 }
      - { environment: production }
";
    let d = errors("t.yaml", text);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(d[0].path, "jobs[0].targets[1].instances");
    assert_eq!(d[0].location(), "t.yaml:9:38");
    assert_eq!(d[1].path, "jobs[0].targets[2].environment");
    assert_eq!(d[1].location(), "t.yaml:10:24");
    assert!(
        d[1].message
            .contains("Job environment production doesn't match")
    );
}

#[test]
fn a_key_missing_everywhere_is_reported_at_the_entry() {
    let text = "\
apiVersion: aurora-apply/v1
jobs:
  - key: west/www-data/prod/web
    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }
    task: { processes: [{ name: web, cmdline: ./web }] }
    targets:
      - { kind: service }
      - { environment: devel }
";
    let d = errors("t.yaml", text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].path, "jobs[0].targets[1]");
    assert!(d[0].message.contains("`kind`"), "{}", d[0].message);
    assert_eq!(d[0].location(), "t.yaml:8:9");
}

#[test]
fn two_targets_with_one_key_are_defined_twice_naming_both() {
    let text = "\
apiVersion: aurora-apply/v1
jobs:
  - key: west/www-data/prod/web
    kind: service
    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }
    task: { processes: [{ name: web, cmdline: ./web }] }
    targets:
      - { cluster: east }
      - { cluster: east, instances: 2 }
  - key: north/www-data/prod/web
    kind: service
    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }
    task: { processes: [{ name: web, cmdline: ./web }] }
";
    let text = text.replacen(
        "      - { cluster: east, instances: 2 }\n",
        "      - { cluster: east, instances: 2 }\n      - { cluster: north }\n",
        1,
    );
    let d = errors("t.yaml", &text);
    assert_eq!(d.len(), 2, "{d:#?}");
    let east = d
        .iter()
        .find(|d| d.message == "job east/www-data/prod/web is defined twice")
        .expect("east");
    assert_eq!(east.path, "jobs[0].targets[1]");
    assert_eq!(east.location(), "t.yaml:9:9");
    assert_eq!(east.related.len(), 1);
    assert!(
        east.related[0].label.contains("t.yaml:8:9"),
        "{}",
        east.related[0].label
    );
    let north = d
        .iter()
        .find(|d| d.message == "job north/www-data/prod/web is defined twice")
        .expect("north");
    assert_eq!(north.path, "jobs[1]");
    assert!(north.related[0].label.contains("t.yaml:10:9"), "{north:?}");
}

#[test]
fn malformed_targets_are_errors() {
    let job = "apiVersion: aurora-apply/v1\njobs:\n  - key: west/www-data/prod/web\n    kind: service\n    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }\n    task: { processes: [{ name: web, cmdline: ./web }] }\n";
    for (targets, path, message) in [
        ("targets: []", "jobs[0].targets", "`targets` is empty"),
        (
            "targets: east",
            "jobs[0].targets",
            "`targets` must be a list",
        ),
        (
            "targets: [east]",
            "jobs[0].targets[0]",
            "a target must be a mapping",
        ),
        (
            "targets: [{ key: a/b/prod/c }]",
            "jobs[0].targets[0].key",
            "`key` cannot be set in a target",
        ),
        (
            "targets: [{ targets: [{}] }]",
            "jobs[0].targets[0].targets",
            "`targets` cannot be set in a target",
        ),
        (
            "targets: [{ clustr: east }]",
            "jobs[0].targets[0].clustr",
            "unknown key `clustr`",
        ),
    ] {
        let d = errors("t.yaml", &format!("{job}    {targets}\n"));
        assert_eq!(d.len(), 1, "{targets}: {d:#?}");
        assert_eq!(d[0].path, path, "{targets}");
        assert!(
            d[0].message.contains(message),
            "{targets}: {}",
            d[0].message
        );
        assert!(
            d[0].location().starts_with("t.yaml:7:"),
            "{targets}: {}",
            d[0].location()
        );
    }
    let d = errors(
        "t.yaml",
        &format!(
            "apiVersion: aurora-apply/v1\ndefaults: {{ targets: [{{}}] }}\n{}",
            &job[28..]
        ),
    );
    assert!(
        d[0].message.contains("`targets` cannot be a default"),
        "{d:#?}"
    );
}

#[test]
fn x_keys_hold_anchors_that_jobs_use() {
    let text = "\
apiVersion: aurora-apply/v1
x-resources: &small { cpu: 0.5, ram: 256MiB, disk: 512MiB }
x-task: &task
  processes: [{ name: p, cmdline: echo }]
x-anything: [1, { a: b }]
jobs:
  - key: west/www-data/prod/a
    kind: service
    resources: *small
    task: *task
  - key: west/www-data/prod/b
    kind: adhoc
    resources: *small
    task: *task
";
    let jobs = jobs("x.yaml", text);
    assert_eq!(jobs.len(), 2);
    for j in &jobs {
        assert_eq!(
            j.job
                .spec
                .resources
                .as_ref()
                .expect("set")
                .ram
                .expect("set")
                .mib(),
            256
        );
    }
    // A problem in an aliased value is reported at each alias that brought it.
    let d = errors(
        "x.yaml",
        &text
            .replace("cpu: 0.5", "cpu: 0")
            .replace("x-anything", "x-other"),
    );
    let at: Vec<(String, String)> = d.iter().map(|d| (d.location(), d.path.clone())).collect();
    assert_eq!(
        at,
        [
            (
                "x.yaml:9:16".to_string(),
                "jobs[0].resources.cpu".to_string()
            ),
            (
                "x.yaml:13:16".to_string(),
                "jobs[1].resources.cpu".to_string()
            ),
        ]
    );
    // Keys that only look alike are still unknown.
    let d = errors("x.yaml", &text.replace("x-anything", "y-anything"));
    assert_eq!(d[0].message, "unknown key `y-anything`");
}

#[test]
fn x_keys_are_ignored_in_toml_and_json() {
    let toml = "\
apiVersion = \"aurora-apply/v1\"
x-notes = { owner = \"web team\", list = [1, 2] }

[[jobs]]
key = \"west/www-data/prod/web\"
kind = \"service\"
resources = { cpu = 1, ram = \"1GiB\", disk = \"1GiB\" }
task = { processes = [{ name = \"web\", cmdline = \"./web\" }] }
targets = [{ cluster = \"east\", instances = 3 }, {}]
";
    let keys: Vec<String> = jobs("t.toml", toml)
        .iter()
        .map(|j| j.job.key.to_string())
        .collect();
    assert_eq!(keys, ["east/www-data/prod/web", "west/www-data/prod/web"]);
    let json = r#"{
  "apiVersion": "aurora-apply/v1",
  "x-notes": {"anything": [null, true]},
  "jobs": [{
    "key": "west/www-data/prod/web",
    "kind": "service",
    "resources": {"cpu": 1, "ram": "1GiB", "disk": "1GiB"},
    "task": {"processes": [{"name": "web", "cmdline": "./web"}]},
    "targets": [{"environment": "devel"}]
  }]
}
"#;
    let keys: Vec<String> = jobs("t.json", json)
        .iter()
        .map(|j| j.job.key.to_string())
        .collect();
    assert_eq!(keys, ["west/www-data/devel/web"]);
}

#[test]
fn what_targets_copy_is_bounded() {
    // A 1 MiB text copied by 100 targets: 100 MiB, refused before any copy is made.
    let text = format!(
        "apiVersion: aurora-apply/v1\njobs:\n  - key: west/www-data/prod/web\n    kind: service\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    executor: {{ name: X, data: '{}' }}\n    targets: [{}]\n",
        "y".repeat(1 << 20),
        (0..100)
            .map(|i| format!("{{ name: w{i} }}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let d = errors("big.yaml", &text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].path, "jobs[0].targets");
    assert!(d[0].message.contains("MiB of text"), "{}", d[0].message);
    // Fewer copies are fine.
    let cut = text.find("targets: [").expect("targets");
    let kept = format!("{}targets: [{{ name: a }}, {{ name: b }}]\n", &text[..cut]);
    assert_eq!(jobs("big.yaml", &kept).len(), 2);
}
