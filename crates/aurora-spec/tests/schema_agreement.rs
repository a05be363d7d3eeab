//! The JSON Schema and `validate` give the same verdict on a corpus of specs (issue 12).
//!
//! Every case is a whole spec file. The schema side reads YAML as an editor does (YAML 1.2
//! core: `010` is 10, `0755` is 755, only `true`/`false` are booleans) into JSON and checks
//! it with the `jsonschema` crate against the generated schema; the product side is
//! `load_sources`. A case is either `agree(valid)`, where both must say `valid`, or
//! `only_validate(reason)`: a rule the schema cannot express because it needs the cluster,
//! files other than the spec, or comparisons JSON Schema has no words for. Those are listed
//! with their reason, and the test fails if one of them starts to agree (move it over).

use aurora_spec::load::parse::parse;
use aurora_spec::{Format, LoadOptions, Rules, SourceFile, load_sources};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Both say this verdict (true = valid).
    Agree(bool),
    /// The schema accepts, only `validate` rejects; the reason a schema cannot say it.
    OnlyValidate(&'static str),
    /// `validate` accepts, the schema rejects; the reason the schema stays stricter.
    OnlySchema(&'static str),
}
use Expect::{Agree, OnlySchema, OnlyValidate};

struct Case {
    name: &'static str,
    yaml: String,
    expect: Expect,
    /// Load with a clusters file listing only `devcluster`.
    with_clusters: bool,
    format: Format,
}

const HEAD: &str = "apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/prod/x\n";
const RES: &str = "    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }\n";
const TASK: &str = "    task: { processes: [{ name: p, cmdline: echo }] }\n";

/// A service job with `extra` lines (each indented by four spaces, ending in a newline).
fn service(extra: &str) -> String {
    format!("{HEAD}    kind: service\n{RES}{TASK}{extra}")
}

/// A job with only the key plus `body`.
fn job(body: &str) -> String {
    format!("{HEAD}{body}")
}

fn cron(schedule: &str) -> String {
    format!("{HEAD}    kind: cron\n{RES}{TASK}    cron: {{ schedule: '{schedule}' }}\n")
}

fn case(name: &'static str, yaml: String, expect: Expect) -> Case {
    Case {
        name,
        yaml,
        expect,
        with_clusters: false,
        format: Format::Yaml,
    }
}

fn corpus() -> Vec<Case> {
    let mut c = vec![
        // ---- valid ----
        case("a service", service(""), Agree(true)),
        case("an adhoc job", job(&format!("    kind: adhoc\n{RES}{TASK}")), Agree(true)),
        case("a cron job with day names", cron("0 9 * * MON-FRI"), Agree(true)),
        case("cron every 5 minutes", cron("*/5 * * * *"), Agree(true)),
        case("cron with 1-31 as any day of month", cron("0 0 1-31 * 1"), Agree(true)),
        case("cron with lower-case month names", cron("1-50/2 * * JAN,mar *"), Agree(true)),
        case(
            "cron CANCEL_NEW",
            format!("{HEAD}    kind: cron\n{RES}{TASK}    cron: {{ schedule: '0 2 * * *', collision_policy: CANCEL_NEW }}\n"),
            Agree(true),
        ),
        case(
            "task, kind and resources from defaults",
            format!("apiVersion: aurora-apply/v1\ndefaults:\n    kind: service\n{RES}{TASK}jobs:\n  - key: devcluster/www-data/prod/x\n  - key: devcluster/www-data/prod/y\n"),
            Agree(true),
        ),
        case(
            "cron schedule from defaults",
            "apiVersion: aurora-apply/v1\ndefaults:\n    cron: { schedule: '0 2 * * *' }\njobs:\n  - key: devcluster/www-data/prod/x\n    kind: cron\n    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }\n    task: { processes: [{ name: p, cmdline: echo }] }\n".into(),
            Agree(true),
        ),
        case("AuroraExecutor named beside task", service("    executor: { name: AuroraExecutor }\n"), Agree(true)),
        case(
            "a custom executor with data",
            job(&format!("    kind: service\n{RES}    executor: {{ name: X, data: '{{}}' }}\n")),
            Agree(true),
        ),
        case(
            "docker without task or executor",
            job(&format!("    kind: service\n{RES}    container: {{ docker: {{ image: busybox }} }}\n")),
            Agree(true),
        ),
        case("instances: 2.0 (a whole number)", service("    instances: 2.0\n"), Agree(true)),
        case("instances: 010 (YAML 1.2: decimal 10)", service("    instances: 010\n"), Agree(true)),
        case("metadata '0755' quoted", service("    metadata: { build: '0755' }\n"), Agree(true)),
        case(
            "ram 1048576B (1MiB)",
            job(&format!("    kind: service\n    resources: {{ cpu: 0.5, ram: 1048576B, disk: 2048KiB }}\n{TASK}")),
            Agree(true),
        ),
        case(
            "finalization_wait 2000ms (whole seconds)",
            job(&format!("    kind: service\n{RES}    task: {{ processes: [{{ name: p, cmdline: echo }}], finalization_wait: 2000ms }}\n")),
            Agree(true),
        ),
        case(
            "value, negated and limit constraints",
            service("    constraints: { rack: { values: [a, b], negated: true }, host: { limit: 1 }, dedicated: { values: ['www-data/db'] } }\n"),
            Agree(true),
        ),
        case(
            "variable batch and watch 1h 30m",
            service("    instances: 3\n    update: { strategy: { variable_batch: { sizes: [1, 2, 5] } }, watch: 1h 30m, max_failed_instances: 2 }\n"),
            Agree(true),
        ),
        case(
            "queue and batch strategies",
            service("    update: { strategy: { batch: { size: 2, autopause: true } } }\n"),
            Agree(true),
        ),
        case(
            "the four key parts, environment staging12",
            format!("apiVersion: aurora-apply/v1\njobs:\n  - cluster: devcluster\n    role: www-data\n    environment: staging12\n    name: x\n    kind: service\n{RES}{TASK}"),
            Agree(true),
        ),
        case(
            "instances from defaults with max_failed_instances",
            format!("apiVersion: aurora-apply/v1\ndefaults: {{ instances: 5 }}\njobs:\n  - key: devcluster/www-data/prod/x\n    kind: service\n{RES}{TASK}    update: {{ max_failed_instances: 2 }}\n"),
            Agree(true),
        ),
        case("ports by name and a health check", service("    ports: [http, health]\n    health_check: { http: { endpoint: /health }, interval: 5s }\n"), Agree(true)),
        // ---- invalid: the issue's list ----
        case(
            "task together with executor data",
            service("    executor: { name: X, data: '{}' }\n"),
            Agree(false),
        ),
        case(
            "data together with data_file",
            job(&format!("    kind: service\n{RES}    executor: {{ name: X, data: '{{}}', data_file: x.json }}\n")),
            Agree(false),
        ),
        case("neither task nor executor", job(&format!("    kind: service\n{RES}")), Agree(false)),
        case("constraint host: {}", service("    constraints: { host: {} }\n"), Agree(false)),
        case(
            "constraint with limit and values",
            service("    constraints: { host: { limit: 1, values: [a] } }\n"),
            Agree(false),
        ),
        case("kind: cron without cron", job(&format!("    kind: cron\n{RES}{TASK}")), Agree(false)),
        case(
            "kind: cron with update",
            format!("{}    update: {{ watch: 45s }}\n", cron("0 2 * * *")),
            Agree(false),
        ),
        case("kind: service with cron", service("    cron: { schedule: '0 2 * * *' }\n"), Agree(false)),
        case(
            "kind: adhoc with cron",
            job(&format!("    kind: adhoc\n{RES}{TASK}    cron: {{ schedule: '0 2 * * *' }}\n")),
            Agree(false),
        ),
        case("cpu: 0", job(&format!("    kind: service\n    resources: {{ cpu: 0, ram: 1GiB, disk: 1GiB }}\n{TASK}")), Agree(false)),
        case("cpu: -1", job(&format!("    kind: service\n    resources: {{ cpu: -1, ram: 1GiB, disk: 1GiB }}\n{TASK}")), Agree(false)),
        case("ram: 0MiB", job(&format!("    kind: service\n    resources: {{ cpu: 1, ram: 0MiB, disk: 1GiB }}\n{TASK}")), Agree(false)),
        case("ram: 512KiB (< 1MiB)", job(&format!("    kind: service\n    resources: {{ cpu: 1, ram: 512KiB, disk: 1GiB }}\n{TASK}")), Agree(false)),
        case("disk: 0.5MiB", job(&format!("    kind: service\n    resources: {{ cpu: 1, ram: 1GiB, disk: 0.5MiB }}\n{TASK}")), Agree(false)),
        case("queue size 0", service("    update: { strategy: { queue: { size: 0 } } }\n"), Agree(false)),
        case("batch size 0", service("    update: { strategy: { batch: { size: 0 } } }\n"), Agree(false)),
        case("variable_batch size 0", service("    update: { strategy: { variable_batch: { sizes: [1, 0] } } }\n"), Agree(false)),
        case("variable_batch no sizes", service("    update: { strategy: { variable_batch: { sizes: [] } } }\n"), Agree(false)),
        case("watch: 45 parsecs", service("    update: { watch: 45 parsecs }\n"), Agree(false)),
        case(
            "finalization_wait: 1500ms",
            job(&format!("    kind: service\n{RES}    task: {{ processes: [{{ name: p, cmdline: echo }}], finalization_wait: 1500ms }}\n")),
            Agree(false),
        ),
        case(
            "min_duration: 1500ms",
            job(&format!("    kind: service\n{RES}    task: {{ processes: [{{ name: p, cmdline: echo, min_duration: 1500ms }}] }}\n")),
            Agree(false),
        ),
        case(
            "collision_policy: RUN_OVERLAP",
            format!("{HEAD}    kind: cron\n{RES}{TASK}    cron: {{ schedule: '0 2 * * *', collision_policy: RUN_OVERLAP }}\n"),
            Agree(false),
        ),
        case("cron 0 2 * * 7 (7 is not Sunday)", cron("0 2 * * 7"), Agree(false)),
        case("cron @daily", cron("@daily"), Agree(false)),
        case("cron with both day fields", cron("0 0 15 * 4"), Agree(false)),
        case("cron minute 60", cron("60 * * * *"), Agree(false)),
        case("cron with six fields", cron("0 0 0 * * *"), Agree(false)),
        case("cron step 0", cron("*/0 * * * *"), Agree(false)),
        case(
            "three-part key",
            format!("apiVersion: aurora-apply/v1\njobs:\n  - key: www-data/prod/x\n    kind: service\n{RES}{TASK}"),
            Agree(false),
        ),
        case(
            "key with environment production",
            format!("apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/production/x\n    kind: service\n{RES}{TASK}"),
            Agree(false),
        ),
        case(
            "environment: production",
            format!("apiVersion: aurora-apply/v1\njobs:\n  - cluster: devcluster\n    role: www-data\n    environment: production\n    name: x\n    kind: service\n{RES}{TASK}"),
            Agree(false),
        ),
        case("role with a space", format!("apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www data/prod/x\n    kind: service\n{RES}{TASK}"), Agree(false)),
        case("instances: 2.5", service("    instances: 2.5\n"), Agree(false)),
        case("instances: 0", service("    instances: 0\n"), Agree(false)),
        case(
            "defaults with key",
            format!("apiVersion: aurora-apply/v1\ndefaults: {{ key: devcluster/www-data/prod/x }}\njobs:\n  - key: devcluster/www-data/prod/x\n    kind: service\n{RES}{TASK}"),
            Agree(false),
        ),
        case(
            "defaults with name",
            format!("apiVersion: aurora-apply/v1\ndefaults: {{ name: x }}\njobs:\n  - key: devcluster/www-data/prod/x\n    kind: service\n{RES}{TASK}"),
            Agree(false),
        ),
        case(
            "max_failed_instances 1 with one instance",
            service("    update: { max_failed_instances: 1 }\n"),
            Agree(false),
        ),
        case("metadata build: 0755 (an integer)", service("    metadata: { build: 0755 }\n"), Agree(false)),
        // ---- invalid: null and other shapes ----
        case("tier: null", service("    tier: null\n"), Agree(false)),
        case("update: (empty = null)", service("    update:\n"), Agree(false)),
        case(
            "defaults: (empty = null)",
            format!("apiVersion: aurora-apply/v1\ndefaults:\njobs:\n  - key: devcluster/www-data/prod/x\n    kind: service\n{RES}{TASK}"),
            Agree(false),
        ),
        case("health check http and shell", service("    health_check: { http: {}, shell: { command: 'true' } }\n"), Agree(false)),
        case(
            "sequential and order",
            job(&format!("    kind: service\n{RES}    task: {{ processes: [{{ name: a, cmdline: x }}, {{ name: b, cmdline: y }}], sequential: true, order: [[a, b]] }}\n")),
            Agree(false),
        ),
        case("dedicated limit", service("    constraints: { dedicated: { limit: 1 } }\n"), Agree(false)),
        case("dedicated with two values", service("    constraints: { dedicated: { values: [a/x, b/y] } }\n"), Agree(false)),
        case("negated limit", service("    constraints: { host: { limit: 1, negated: true } }\n"), Agree(false)),
        case(
            "process name with /",
            job(&format!("    kind: service\n{RES}    task: {{ processes: [{{ name: a/b, cmdline: x }}] }}\n")),
            Agree(false),
        ),
        case(
            "empty command line",
            job(&format!("    kind: service\n{RES}    task: {{ processes: [{{ name: a, cmdline: ' ' }}] }}\n")),
            Agree(false),
        ),
        case("no processes", job(&format!("    kind: service\n{RES}    task: {{ processes: [] }}\n")), Agree(false)),
        case("no kind", job(&format!("{RES}{TASK}")), Agree(false)),
        case("no resources", job(&format!("    kind: service\n{TASK}")), Agree(false)),
        case("an unknown key", service("    cpus: 1\n"), Agree(false)),
        case("max_task_failures: -2", service("    max_task_failures: -2\n"), Agree(false)),
        case("ram without a unit", job(&format!("    kind: service\n    resources: {{ cpu: 1, ram: '128', disk: 1GiB }}\n{TASK}")), Agree(false)),
        case("watch without a unit", service("    update: { watch: '45' }\n"), Agree(false)),
        case(
            "custom executor with an empty name",
            job(&format!("    kind: service\n{RES}    executor: {{ name: '', data: '{{}}' }}\n")),
            Agree(false),
        ),
        // ---- only `validate` can tell ----
        case(
            "max_failed_instances equal to instances: 2",
            service("    instances: 2\n    update: { max_failed_instances: 2 }\n"),
            OnlyValidate("compares two numbers (max_failed_instances < instances); draft-07 has no `$data` (only the default of 1 instance is expressed)"),
        ),
        case(
            "instances above -max_tasks_per_job",
            service("    instances: 5000\n"),
            OnlyValidate("the bound is the cluster's -max_tasks_per_job"),
        ),
        case(
            "a count SLA on fewer than 20 instances",
            service("    tier: preferred\n    instances: 5\n    sla_policy: { count: { count: 1, duration: 30m } }\n"),
            OnlyValidate("the bound is the cluster's -min_required_instances_for_sla_check; count < instances compares two numbers"),
        ),
        case(
            "an SLA policy on the default (preemptible) tier",
            service("    sla_policy: { coordinator: { url: 'http://c' } }\n"),
            OnlyValidate("the tier a job lands on comes from the cluster's tier config"),
        ),
        case(
            "data_file that does not exist",
            job(&format!("    kind: service\n{RES}    executor: {{ name: X, data_file: missing.json }}\n")),
            OnlyValidate("reads another file (data_file, relative to the spec)"),
        ),
        case(
            "AuroraExecutor data that is not JSON",
            job(&format!("    kind: service\n{RES}    executor: {{ name: AuroraExecutor, data: 'not json' }}\n")),
            OnlyValidate("the content of a string must parse as JSON"),
        ),
        case(
            "dedicated to another role",
            service("    constraints: { dedicated: { values: ['other/db'] } }\n"),
            OnlyValidate("compares a constraint value with the role in the key"),
        ),
        case(
            "cron range 5-1",
            cron("5-1 * * * *"),
            OnlyValidate("a regex cannot compare two numbers of one field (A-B with A > B, step S >= B)"),
        ),
        case(
            "duplicate process names",
            job(&format!("    kind: service\n{RES}    task: {{ processes: [{{ name: a, cmdline: x }}, {{ name: a, cmdline: y }}] }}\n")),
            OnlyValidate("uniqueness of a field across list items (uniqueItems compares whole items)"),
        ),
        case(
            "task from defaults, executor data in the job",
            format!("apiVersion: aurora-apply/v1\ndefaults:\n{TASK}jobs:\n  - key: devcluster/www-data/prod/x\n    kind: service\n{RES}    executor: {{ name: X, data: '{{}}' }}\n"),
            OnlyValidate("exclusivity after merging defaults into the job (the schema checks each object as written)"),
        ),
        case(
            "a health check with a custom executor",
            job(&format!("    kind: service\n{RES}    executor: {{ name: X, data: '{{}}' }}\n    health_check: {{ interval: 5s }}\n")),
            OnlyValidate("`task` may come from defaults; checking it per job would refuse valid files"),
        ),
        // ---- targets and `x-` keys (issue 13) ----
        case(
            "two targets with their own instances and resources",
            service("    targets:\n      - { cluster: east, instances: 3, resources: { ram: 1GiB } }\n      - { environment: devel }\n"),
            Agree(true),
        ),
        case(
            "kind and resources given by every target",
            job(&format!("{TASK}    targets:\n      - {{ kind: service, resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }} }}\n      - {{ environment: devel, kind: adhoc, resources: {{ cpu: 2, ram: 1GiB, disk: 1GiB }} }}\n")),
            Agree(true),
        ),
        case(
            "every target turns a cron job with update into a service",
            job(&format!("    kind: cron\n{RES}{TASK}    update: {{ watch: 45s }}\n    targets: [{{ kind: service }}, {{ kind: adhoc, environment: devel }}]\n")),
            Agree(true),
        ),
        case(
            "a target replaces executor data with AuroraExecutor beside task",
            job(&format!("    kind: service\n{RES}{TASK}    executor: {{ name: X, data: '{{}}' }}\n    targets:\n      - {{ executor: {{ name: AuroraExecutor }} }}\n")),
            Agree(true),
        ),
        case(
            "x- keys with anchors used by two jobs",
            format!("apiVersion: aurora-apply/v1\nx-res: &res {{ cpu: 1, ram: 128MiB, disk: 128MiB }}\nx-notes: [anything, 1]\njobs:\n  - key: devcluster/www-data/prod/x\n    kind: service\n    resources: *res\n{TASK}  - key: devcluster/www-data/prod/y\n    kind: service\n    resources: *res\n{TASK}"),
            Agree(true),
        ),
        case("targets: []", service("    targets: []\n"), Agree(false)),
        case("a target that is not a mapping", service("    targets: [east]\n"), Agree(false)),
        case("an unknown key in a target", service("    targets: [{ clustr: east }]\n"), Agree(false)),
        case("a target with key", service("    targets: [{ key: east/www-data/prod/x }]\n"), Agree(false)),
        case("nested targets", service("    targets: [{ targets: [{ cluster: east }] }]\n"), Agree(false)),
        case("targets in defaults", format!("apiVersion: aurora-apply/v1\ndefaults: {{ targets: [{{ cluster: east }}] }}\njobs:\n  - key: devcluster/www-data/prod/x\n    kind: service\n{RES}{TASK}"), Agree(false)),
        case("a target with environment production", service("    targets: [{ environment: production }]\n"), Agree(false)),
        case("a target with cpu: 0", service("    targets: [{ resources: { cpu: 0 } }]\n"), Agree(false)),
        case("a target without kind, the job without kind", job(&format!("{RES}{TASK}    targets: [{{ kind: service }}, {{ environment: devel }}]\n")), Agree(false)),
        case("a target kind: cron with update", service("    targets: [{ kind: cron, cron: { schedule: '0 2 * * *' }, update: { watch: 45s } }]\n"), Agree(false)),
        case("an unknown top-level key (not x-)", format!("{}y-notes: 1\n", service("")), Agree(false)),
        case(
            "two targets with the same key",
            service("    targets: [{ cluster: east }, { cluster: east }]\n"),
            OnlyValidate("uniqueness of a key computed from the job and each target (uniqueItems compares whole items as written)"),
        ),
        case(
            "a target kind: cron, the cron schedule nowhere",
            service("    targets: [{ kind: cron }]\n"),
            OnlyValidate("a rule on the merge of a target's kind with the job's fields; a target may set either"),
        ),
        case(
            "variables of every kind used where their type fits",
            format!(
                "apiVersion: aurora-apply/v1\nvars:\n  n: {{ type: integer, default: 2 }}\n  r: {{ type: size, default: 64MiB }}\n  e: {{ type: string, default: prod }}\n  m: {{ type: map, default: {{ a: b }} }}\njobs:\n  - key: devcluster/www-data/${{var.e}}/x\n    kind: service\n    instances: ${{var.n}}\n    metadata: ${{var.m}}\n    resources: {{ cpu: 1, ram: '${{var.r}}', disk: 128MiB }}\n{TASK}"
            ),
            Agree(true),
        ),
        case(
            "a declaration with an unknown type",
            "apiVersion: aurora-apply/v1\nvars:\n  n: { type: integr }\njobs: []\n".to_string(),
            Agree(false),
        ),
        case(
            "a declaration without a type",
            "apiVersion: aurora-apply/v1\nvars:\n  n: { default: 1 }\njobs: []\n".to_string(),
            Agree(false),
        ),
        case(
            "a variable name with a dot",
            "apiVersion: aurora-apply/v1\nvars:\n  a.b: { type: string, default: x }\njobs: []\n".to_string(),
            Agree(false),
        ),
        case(
            "a literal still checked where a reference could stand",
            service("    instances: 0\n").replace("apiVersion: aurora-apply/v1\n", "apiVersion: aurora-apply/v1\nvars:\n  n: { type: integer, default: 2 }\n"),
            Agree(false),
        ),
        case(
            "a reference to an undeclared variable",
            service("    instances: ${var.n}\n"),
            OnlyValidate("which names a file declares, and their values, are not in the schema: an editor cannot substitute"),
        ),
        case(
            "a whole-value reference standing for a field of an object type",
            job(&format!("    kind: service\n    resources: ${{var.r}}\n{TASK}")).replace(
                "apiVersion: aurora-apply/v1\n",
                "apiVersion: aurora-apply/v1\nvars:\n  r: { type: map, default: { cpu: 1, ram: 128MiB, disk: 128MiB } }\n",
            ),
            OnlySchema("fields of an object definition (resources, update, task, …) stay objects in the schema: accepting a string there takes an anyOf around the table, with which Taplo reports any error inside it at the whole table; use references for the values inside"),
        ),
        case(
            "a variable whose value does not fit the field",
            service("    instances: ${var.n}\n").replace("apiVersion: aurora-apply/v1\n", "apiVersion: aurora-apply/v1\nvars:\n  n: { type: string, default: many }\n"),
            OnlyValidate("the value of a reference is known only after substitution"),
        ),
    ];
    c.push(Case {
        with_clusters: true,
        ..case(
            "a cluster not in clusters.json",
            job(&format!("    kind: service\n{RES}{TASK}")).replace("devcluster/", "devclustr/"),
            OnlyValidate("the cluster names come from clusters.json"),
        )
    });
    c.push(Case {
        format: Format::Toml,
        ..case(
            "TOML: a valid service",
            "apiVersion = \"aurora-apply/v1\"\n[[jobs]]\nkey = \"devcluster/www-data/prod/x\"\nkind = \"service\"\nresources = { cpu = 1, ram = \"128MiB\", disk = \"128MiB\" }\ntask = { processes = [{ name = \"p\", cmdline = \"echo\" }] }\n".into(),
            Agree(true),
        )
    });
    c.push(Case {
        format: Format::Toml,
        ..case(
            "TOML: watch 45 parsecs",
            "apiVersion = \"aurora-apply/v1\"\n[[jobs]]\nkey = \"devcluster/www-data/prod/x\"\nkind = \"service\"\nresources = { cpu = 1, ram = \"128MiB\", disk = \"128MiB\" }\ntask = { processes = [{ name = \"p\", cmdline = \"echo\" }] }\nupdate = { watch = \"45 parsecs\" }\n".into(),
            Agree(false),
        )
    });
    c
}

/// The file as an editor's schema validator sees it: YAML 1.2 core (or TOML) as JSON.
fn editor_json(case: &Case) -> Value {
    match case.format {
        Format::Yaml => {
            let mut options = serde_saphyr::Options::default();
            options.strict_booleans = true;
            options.legacy_octal_numbers = false;
            options.leading_zero_numbers_as_strings = false;
            serde_saphyr::from_str_with_options::<Value>(&case.yaml, options)
                .unwrap_or_else(|e| panic!("{}: YAML: {e}", case.name))
        }
        _ => {
            let file = SourceFile::new("t.toml", case.yaml.clone(), Format::Toml);
            parse(&file).expect("parse").to_json()
        }
    }
}

fn product_accepts(case: &Case) -> Result<(), String> {
    let name = if case.format == Format::Toml {
        "t.toml"
    } else {
        "t.aurora-apply.yaml"
    };
    let file = SourceFile::new(name, case.yaml.clone(), case.format);
    let options = LoadOptions {
        rules: Rules {
            known_clusters: case.with_clusters.then(|| vec!["devcluster".to_string()]),
            ..Rules::default()
        },
        ..Default::default()
    };
    load_sources(&[file], &options).map(|_| ()).map_err(|d| {
        d.iter()
            .map(|x| format!("{}: {}", x.path, x.message))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[test]
fn schema_and_validate_agree_on_the_corpus() {
    // `AGREEMENT_SCHEMA=old.json` measures another schema (e.g. an older committed one).
    let schema = match std::env::var_os("AGREEMENT_SCHEMA") {
        Some(path) => serde_json::from_str(&std::fs::read_to_string(path).expect("read schema"))
            .expect("schema JSON"),
        None => aurora_spec::schema::json_schema(),
    };
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let corpus = corpus();
    assert!(corpus.len() >= 54, "{} cases", corpus.len());
    let mut names = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    let (mut agreed, mut only) = (0, 0);
    for case in &corpus {
        assert!(names.insert(case.name), "duplicate case name {}", case.name);
        let json = editor_json(case);
        let schema_errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        let schema_ok = schema_errors.is_empty();
        let product = product_accepts(case);
        let product_ok = product.is_ok();
        match case.expect {
            Agree(valid) => {
                agreed += 1;
                if schema_ok != valid || product_ok != valid {
                    failures.push(format!(
                        "{}: expected {valid}, schema {schema_ok} {schema_errors:?}, validate {product_ok} {:?}",
                        case.name,
                        product.err()
                    ));
                }
            }
            OnlyValidate(reason) => {
                only += 1;
                if !schema_ok || product_ok {
                    failures.push(format!(
                        "{} (allow-listed: {reason}): expected schema accepts and validate rejects, schema {schema_ok} {schema_errors:?}, validate {product_ok}",
                        case.name
                    ));
                }
            }
            OnlySchema(reason) => {
                only += 1;
                if schema_ok || !product_ok {
                    failures.push(format!(
                        "{} (allow-listed: {reason}): expected validate accepts and schema rejects, schema {schema_ok}, validate {product_ok} {:?}",
                        case.name,
                        product.err()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{agreed} cases agree, {only} allow-listed (with their reasons)");
}

/// The schema's `default`s are valid values of their fields (hover shows them).
#[test]
fn defaults_in_the_schema_are_valid() {
    let schema = aurora_spec::schema::json_schema();
    let mut found = 0;
    let mut check = |props: &Value| {
        for (name, p) in props.as_object().into_iter().flatten() {
            if let Some(d) = p.get("default") {
                found += 1;
                let mut sub = p.clone();
                sub["definitions"] = schema["definitions"].clone();
                let v = jsonschema::validator_for(&sub).expect("compiles");
                assert!(v.is_valid(d), "default of {name} ({d}) is not valid");
            }
        }
    };
    for def in schema["definitions"].as_object().expect("defs").values() {
        check(&def["properties"]);
    }
    assert!(found > 30, "{found} defaults");
}

/// No `null` is offered anywhere: neither as a type nor as an alternative.
#[test]
fn no_null_anywhere() {
    let text = aurora_spec::schema::to_pretty_string();
    assert!(!text.contains("\"null\""), "the schema offers null");
}

/// Optional fields keep their own description and default next to the referenced type.
#[test]
fn hover_keeps_the_fields_own_text() {
    let schema = aurora_spec::schema::json_schema();
    let watch = &schema["definitions"]["UpdateSpec"]["properties"]["watch"];
    assert_eq!(watch["default"], "45s");
    assert!(
        watch["description"]
            .as_str()
            .is_some_and(|d| d.contains("Default 45s"))
    );
    // The field's own text first in `allOf` (editors show the first description that
    // matched), then the type — which also accepts a `${var.NAME}` reference.
    assert_eq!(watch["allOf"][0]["description"], watch["description"]);
    assert_eq!(watch["allOf"][1]["$ref"], "#/definitions/Duration");
    let duration = schema["definitions"]["Duration"]["pattern"]
        .as_str()
        .unwrap_or_default();
    assert!(
        duration.ends_with(r"|\$\{var\.[A-Za-z_][A-Za-z0-9_-]*\}"),
        "{duration}"
    );
    assert!(watch["markdownDescription"].is_string());
    for (name, def) in schema["definitions"].as_object().expect("defs") {
        assert!(def["title"].is_string(), "{name} has no title");
        // No property is a bare `$ref` beside its own text (draft-07 would ignore the text).
        for (field, p) in def["properties"].as_object().into_iter().flatten() {
            let bare_ref = p.get("$ref").is_some() && p.as_object().is_some_and(|m| m.len() > 1);
            assert!(!bare_ref, "{name}.{field}: $ref beside its description");
            if let Some(d) = p["description"].as_str() {
                assert!(
                    !d.contains('`'),
                    "{name}.{field}: backticks in the plain description"
                );
                assert!(p["markdownDescription"].is_string(), "{name}.{field}");
            }
        }
    }
}

mod patterns {
    //! The schema's patterns against the product's parsers on generated values. What a regex
    //! cannot say is filtered out here and listed: cron `A-B` with A > B and `A-B/S` with
    //! S >= B (comparisons of two numbers), and ram/disk as a fraction of a GiB/TiB below 1MiB.

    use aurora_spec::cron;
    use aurora_spec::schema::rules;
    use aurora_spec::units::{Duration, Size};
    use proptest::prelude::*;

    fn re(p: &str) -> regex::Regex {
        regex::Regex::new(p).expect("pattern")
    }

    /// A crontab component and whether a regex can judge it (no A > B, no S >= B).
    fn component() -> impl Strategy<Value = (String, bool)> {
        let n = prop::sample::select(vec![
            "0", "1", "5", "6", "7", "12", "13", "23", "24", "31", "32", "59", "60", "MON", "fri",
            "JAN", "dec", "x",
        ]);
        let value = |s: &str| -> Option<i64> {
            s.parse().ok().or(match s.to_ascii_uppercase().as_str() {
                "MON" => Some(1),
                "FRI" => Some(5),
                "JAN" => Some(1),
                "DEC" => Some(12),
                _ => None,
            })
        };
        prop_oneof![
            4 => Just(("*".to_string(), true)),
            1 => (1u32..8).prop_map(|s| (format!("*/{s}"), true)),
            1 => Just(("*/0".to_string(), true)),
            1 => n.clone().prop_map(|a| (a.to_string(), true)),
            1 => (n.clone(), n.clone()).prop_map(move |(a, b)| {
                let ok = matches!((value(a), value(b)), (Some(x), Some(y)) if x <= y);
                (
                    format!("{a}-{b}"),
                    ok || value(a).is_none() || value(b).is_none(),
                )
            }),
            1 => (n.clone(), n, 1i64..8).prop_map(move |(a, b, s)| {
                let ok = matches!((value(a), value(b)), (Some(x), Some(y)) if x <= y && s < y);
                (
                    format!("{a}-{b}/{s}"),
                    ok || value(a).is_none() || value(b).is_none(),
                )
            }),
        ]
    }

    fn field() -> impl Strategy<Value = (String, bool)> {
        prop::collection::vec(component(), 1..3).prop_map(|items| {
            let judged = items.iter().all(|(_, ok)| *ok);
            let text = items
                .into_iter()
                .map(|(s, _)| s)
                .collect::<Vec<_>>()
                .join(",");
            (text, judged)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn cron_pattern_agrees_with_crontab_entry(fields in prop::collection::vec(field(), 5)) {
            let judged = fields.iter().all(|(_, ok)| *ok);
            let schedule = fields.into_iter().map(|(s, _)| s).collect::<Vec<_>>().join(" ");
            if !judged {
                return Ok(());
            }
            // Day fields whose items only together cover every day are not judged by the regex.
            let parts: Vec<&str> = schedule.split(' ').collect();
            let full_item = |field: &str, full: &[&str]| {
                field.split(',').any(|i| ["*", "*/1"].contains(&i) || full.contains(&i))
            };
            if let Ok(e) = cron::CrontabEntry::parse(&schedule)
                && (e.has_wildcard_day_of_month() != full_item(parts[2], &["1-31"])
                    || e.has_wildcard_day_of_week() != full_item(parts[4], &["0-6"]))
            {
                return Ok(());
            }
            let pattern = re(&rules::cron_pattern());
            prop_assert_eq!(
                pattern.is_match(&schedule),
                cron::check(&schedule).is_ok(),
                "{}: {:?}", schedule, cron::check(&schedule)
            );
        }

        #[test]
        fn duration_patterns_agree_with_the_parser(
            parts in prop::collection::vec((0u64..3000, prop::sample::select(vec![
                "s", "ms", "m", "h", "d", "w", "us", "ns", "parsecs", "sec", "min", "x", "µs", "M",
            ])), 1..3)
        ) {
            let text = parts.iter().map(|(n, u)| format!("{n}{u}")).collect::<Vec<_>>().join(" ");
            let parsed = Duration::parse(&text);
            prop_assert_eq!(re(&rules::duration_pattern()).is_match(&text), parsed.is_ok(), "{}", text);
            // Whole seconds: the regex judges each part; a sum of sub-second parts that makes
            // whole seconds (500ms 500ms) is the one thing it refuses although valid.
            let each_whole = parts.iter().all(|(n, u)| match *u {
                "ms" => n % 1000 == 0,
                "us" | "µs" => n % 1_000_000 == 0,
                "ns" => n % 1_000_000_000 == 0,
                _ => true,
            });
            if each_whole || parsed.as_ref().is_ok_and(|d| d.whole_secs().is_none()) {
                prop_assert_eq!(
                    re(&rules::whole_seconds_pattern()).is_match(&text),
                    parsed.is_ok_and(|d| d.whole_secs().is_some()),
                    "{}", text
                );
            }
        }

        #[test]
        fn resource_size_pattern_agrees_with_the_parser(
            n in prop_oneof![0u64..3000, 1_000_000u64..1_100_000],
            frac in prop::option::of(0u32..100),
            unit in prop::sample::select(vec!["B", "K", "KiB", "KB", "M", "MiB", "MB", "G", "GiB", "T", "XB"]),
        ) {
            let text = match frac {
                Some(f) => format!("{n}.{f}{unit}"),
                None => format!("{n}{unit}"),
            };
            let product = Size::parse(&text).is_ok_and(|s| s.mib() >= 1);
            // A fraction of a GiB/TiB below 1MiB: the regex only requires it above zero.
            let tiny_big = ["G", "GiB", "T"].contains(&unit) && n == 0;
            prop_assume!(!tiny_big);
            prop_assert_eq!(re(&rules::resource_size_pattern()).is_match(&text), product, "{}", text);
        }
    }
}
