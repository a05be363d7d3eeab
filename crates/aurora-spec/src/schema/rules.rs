//! The rules of `validate` that a single file's JSON Schema can express, added to the
//! generated schema. Values a job may inherit from the file's `defaults:` are respected: a
//! rule that needs a key is checked on the jobs only when `defaults` does not give it.
//!
//! What stays with `validate` alone (needs the cluster, the files around the spec, or
//! comparisons JSON Schema has no words for) is listed in `tests/schema_agreement.rs`.

use serde_json::{Map, Value, json};

/// An identifier of a job key, owner or tier: `^[\w\-\.]+$` (ASCII), at most 255 characters.
pub const IDENTIFIER_PATTERN: &str = r"^[A-Za-z0-9_.-]{1,255}$";
/// The scheduler's default `-allowed_job_environments`.
pub const ENVIRONMENT_PATTERN: &str = r"^(prod|devel|test|staging[0-9]*)$";
/// `cluster/role/environment/name`.
pub const KEY_PATTERN: &str = r"^[A-Za-z0-9_.-]{1,255}/[A-Za-z0-9_.-]{1,255}/(prod|devel|test|staging[0-9]*)/[A-Za-z0-9_.-]{1,255}$";

/// humantime's units.
const UNITS: &str = "nanos|nsec|ns|usec|us|µs|millis|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|wks|wk|w|months|month|M|years|year|yrs|yr|y";
const WHOLE_UNITS: &str = "seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|wks|wk|w|months|month|M|years|year|yrs|yr|y";

/// A duration: one or more `<integer><unit>` parts with humantime's units.
pub fn duration_pattern() -> String {
    format!(r"^\s*[0-9]+\s*({UNITS})(\s*[0-9]+\s*({UNITS}))*\s*$")
}

/// A duration of whole seconds (Thermos counts seconds): sub-second parts only in whole
/// seconds (`2000ms`).
pub fn whole_seconds_pattern() -> String {
    let part = format!(
        r"([0-9]+\s*({WHOLE_UNITS})|(0+|[0-9]*000)\s*(millis|msec|ms)|(0+|[0-9]*000000)\s*(usec|us|µs)|(0+|[0-9]*000000000)\s*(nanos|nsec|ns))"
    );
    format!(r"^\s*{part}(\s*{part})*\s*$")
}

/// A resource size of at least 1MiB (Aurora counts whole MiB, rounded down). Fractions of a
/// GiB or TiB are only required to be above zero (a regex cannot compare them with 1MiB).
pub fn resource_size_pattern() -> String {
    let frac = r"(\.[0-9]+)?";
    let mib = format!(r"0*[1-9][0-9]*{frac}\s*(MiB|MB|M)");
    let big = format!(r"(0*[1-9][0-9]*{frac}|0+\.[0-9]*[1-9][0-9]*)\s*(GiB|GB|G|TiB|TB|T)");
    let kib = format!(
        r"0*([1-9][0-9]{{4,}}|[2-9][0-9]{{3}}|1[1-9][0-9]{{2}}|10[3-9][0-9]|102[4-9]){frac}\s*(KiB|KB|K)"
    );
    let b = format!(
        r"0*([1-9][0-9]{{7,}}|[2-9][0-9]{{6}}|1[1-9][0-9]{{5}}|10[5-9][0-9]{{4}}|1049[0-9]{{3}}|1048[6-9][0-9]{{2}}|10485[89][0-9]|104857[6-9]){frac}\s*B"
    );
    format!(r"^\s*\+?({mib}|{big}|{kib}|{b})\s*$")
}

/// Case-insensitive name (JSON Schema regexes have no flags).
fn ci(name: &str) -> String {
    name.chars()
        .map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase()))
        .collect()
}

/// One crontab item: `*`, `N`, `A-B`, `*/S`, `A-B/S` with N, A, B in range and S > 0.
fn cron_item(value: &str) -> String {
    format!(r"(\*|\*/0*[1-9][0-9]*|({value})(-({value})(/0*[1-9][0-9]*)?)?)")
}

/// One crontab field: a comma list of items.
fn cron_field(value: &str) -> String {
    let item = cron_item(value);
    format!("{item}(,{item})*")
}

/// A field that covers every value because one of its items does (`*`, `*/1`, the full
/// range); a list whose items only cover everything together is not recognised.
fn cron_any_field(value: &str, full: &str) -> String {
    let item = cron_item(value);
    format!(r"({item},)*(\*|\*/0*1|{full})(,{item})*")
}

/// Aurora's `CrontabEntry` as far as a regex can say it: five fields in range (day-of-week
/// 0-6, 7 is not Sunday), names for months and days, no `@daily`, and not both day fields
/// restricted. Not expressed: `A-B` with A > B, a step S that is not below B, and day
/// fields whose items only together cover every day.
pub fn cron_pattern() -> String {
    let months = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let names = |n: &[&str]| n.iter().map(|s| ci(s)).collect::<Vec<_>>().join("|");
    let dom_value = "0*[1-9]|0*[12][0-9]|0*3[01]";
    let dow_value = format!("0*[0-6]|{}", names(&days));
    let minute = cron_field("0*[0-9]|0*[1-5][0-9]");
    let hour = cron_field("0*[0-9]|0*1[0-9]|0*2[0-3]");
    let dom = cron_field(dom_value);
    let month = cron_field(&format!("0*[1-9]|0*1[0-2]|{}", names(&months)));
    let dow = cron_field(&dow_value);
    let any_dom = cron_any_field(dom_value, "0*1-31");
    let any_dow = cron_any_field(
        &dow_value,
        &format!("0*0-0*6|({})-({})", ci("SUN"), ci("SAT")),
    );
    format!(r"^{minute} +{hour} +({any_dom} +{month} +{dow}|{dom} +{month} +{any_dow})$")
}

fn def<'a>(root: &'a mut Value, name: &str) -> &'a mut Map<String, Value> {
    root["definitions"][name]
        .as_object_mut()
        .unwrap_or_else(|| panic!("definition {name}"))
}

fn prop<'a>(root: &'a mut Value, name: &str, field: &str) -> &'a mut Map<String, Value> {
    def(root, name)["properties"][field]
        .as_object_mut()
        .unwrap_or_else(|| panic!("{name}.{field}"))
}

fn pattern(m: &mut Map<String, Value>, pattern: &str, message: &str) {
    m.insert("pattern".into(), Value::String(pattern.into()));
    m.insert("patternErrorMessage".into(), Value::String(message.into()));
}

/// Points a property at another definition (keeping the property's own description).
fn refer(m: &mut Map<String, Value>, target: &str) {
    m.remove("$ref");
    m.insert(
        "allOf".into(),
        json!([{ "$ref": format!("#/definitions/{target}") }]),
    );
}

fn push_all_of(m: &mut Map<String, Value>, rule: Value) {
    match m.get_mut("allOf") {
        Some(Value::Array(a)) => a.push(rule),
        _ => {
            m.insert("allOf".into(), json!([rule]));
        }
    }
}

/// A key the job needs after merging: given in `defaults`, or by every job. Written as
/// `if` (defaults do not give it) `then` (each job must), so that editors report the problem
/// at the job, not as a failed `anyOf` over the whole file.
/// A job with `targets` may instead have it in every target.
fn in_defaults_or_every_job(job_rule: Value, defaults_rule: Value) -> Value {
    let job_or_targets = json!({"anyOf": [
        job_rule,
        {"required": ["targets"], "properties": {"targets": {"items": job_rule}}}
    ]});
    json!({
        "if": {"anyOf": [
            {"not": {"required": ["defaults"]}},
            {"properties": {"defaults": {"not": defaults_rule}}}
        ]},
        "then": {"properties": {"jobs": {"items": job_or_targets}}}
    })
}

/// `rule` on a job whose `targets` (if any) do not set `field`: a target that sets it may
/// make the merged job valid.
fn unless_a_target_sets(field: &str, rule: Value) -> Value {
    json!({
        "if": {"anyOf": [
            {"not": {"required": ["targets"]}},
            {"properties": {"targets": {"items": {"not": {"required": [field]}}}}}
        ]},
        "then": rule
    })
}

/// The rules pass (after `null` branches are removed).
pub fn apply(root: &mut Value) {
    scalars(root);
    shapes(root);
    defaults_and_jobs(root);
}

/// Patterns and bounds of single values.
fn scalars(root: &mut Value) {
    let d = def(root, "Duration");
    pattern(
        d,
        &duration_pattern(),
        "a duration with a unit: 45s, 10m, 1h 30m, 250ms (units ns, us, ms, s, m, h, d, w, M, y)",
    );
    for (name, field) in [
        ("TaskSpec", "finalization_wait"),
        ("ProcessSpec", "min_duration"),
        ("HttpLifecycle", "graceful_shutdown_wait"),
        ("HttpLifecycle", "shutdown_wait"),
        ("PartitionPolicySpec", "delay"),
        ("PercentageSla", "duration"),
        ("CountSla", "duration"),
    ] {
        let p = prop(root, name, field);
        refer(p, "WholeSeconds");
    }
    let mut whole = json!({
        "type": "string",
        "description": "A duration of whole seconds (Thermos counts seconds), e.g. 30s, 5m, 2000ms.",
        "examples": ["30s", "5m"]
    });
    if let Some(m) = whole.as_object_mut() {
        pattern(
            m,
            &whole_seconds_pattern(),
            "a whole number of seconds with a unit, e.g. 30s or 5m (Thermos counts seconds)",
        );
    }
    root["definitions"]["WholeSeconds"] = whole;

    let mut size = json!({
        "type": "string",
        "description": "A resource size of at least 1MiB (Aurora counts whole MiB, rounded down), e.g. 128MiB, 2GiB.",
        "examples": ["128MiB", "2GiB"]
    });
    if let Some(m) = size.as_object_mut() {
        pattern(
            m,
            &resource_size_pattern(),
            "a size of at least 1MiB with a unit: B, KiB, MiB, GiB, TiB (e.g. 128MiB)",
        );
    }
    root["definitions"]["ResourceSize"] = size;
    for field in ["ram", "disk"] {
        refer(prop(root, "Resources", field), "ResourceSize");
    }
    prop(root, "Resources", "cpu").insert("exclusiveMinimum".into(), json!(0));

    pattern(
        prop(root, "CronSpec", "schedule"),
        &cron_pattern(),
        "five crontab fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12, JAN-DEC) day-of-week (0-6, SUN-SAT; 7 is not Sunday); not both day fields; no @daily",
    );
    // RUN_OVERLAP was removed from Aurora (AURORA-38): the scheduler rejects it.
    let cp = def(root, "CollisionPolicy");
    if let Some(Value::Array(alts)) = cp.get_mut("oneOf") {
        alts.retain(|a| a["const"] != "RUN_OVERLAP");
    }
    if let Some(Value::Array(values)) = cp.get_mut("enum") {
        values.retain(|v| v != "RUN_OVERLAP");
    }

    for (name, field) in [("QueueStrategySpec", "size"), ("BatchStrategySpec", "size")] {
        prop(root, name, field).insert("minimum".into(), json!(1));
    }
    let sizes = prop(root, "VariableBatchStrategySpec", "sizes");
    sizes.insert("minItems".into(), json!(1));
    sizes["items"]["minimum"] = json!(1);

    for field in ["cluster", "role", "name", "owner", "tier"] {
        pattern(
            prop(root, "JobSpec", field),
            IDENTIFIER_PATTERN,
            "ASCII letters, digits, _, - and . only, at most 255 characters",
        );
    }
    pattern(
        prop(root, "JobSpec", "environment"),
        ENVIRONMENT_PATTERN,
        "prod, devel, test or stagingN (the scheduler's default -allowed_job_environments)",
    );
    pattern(
        prop(root, "JobSpec", "key"),
        KEY_PATTERN,
        "four parts cluster/role/environment/name; environment prod, devel, test or stagingN",
    );
    prop(root, "JobSpec", "max_task_failures").insert("minimum".into(), json!(-1));
    pattern(
        prop(root, "ProcessSpec", "name"),
        r"^[^/.][^/]*$",
        "a process name has no / and does not start with .",
    );
    pattern(
        prop(root, "ProcessSpec", "cmdline"),
        r"\S",
        "the command line is empty",
    );
    prop(root, "TaskSpec", "processes").insert("minItems".into(), json!(1));
    prop(root, "ConstraintSpec", "values").insert("minItems".into(), json!(1));
    prop(root, "ExecutorSpec", "name").insert("minLength".into(), json!(1));
}

/// `field` may not be given when `condition` holds, with `validate`'s words for it.
///
/// Written as `if`/`then` with `field: false` rather than `not`: yaml-language-server (1.25)
/// reports a failed `not` as "Matches a schema that is not allowed." over the whole object and
/// ignores any custom message there, while a property refused by `false` is reported at the
/// key with the `errorMessage` of the schema that refuses it (`baseValidator.js`). The verdict
/// is the same as `not: {required: [..condition, field]}`.
fn forbid(condition: Value, field: &str, message: &str) -> Value {
    json!({
        "if": condition,
        "then": {"properties": {field: false}, "errorMessage": message}
    })
}

/// Which keys go together within one object.
fn shapes(root: &mut Value) {
    let c = def(root, "ConstraintSpec");
    c.insert(
        "oneOf".into(),
        json!([{"required": ["values"]}, {"required": ["limit"]}]),
    );
    push_all_of(
        c,
        forbid(
            json!({"required": ["limit"]}),
            "negated",
            "`negated` only applies to `values`",
        ),
    );
    // A dedicated constraint is a value constraint with exactly one value.
    let constraints = prop(root, "JobSpec", "constraints");
    constraints.insert(
        "properties".into(),
        json!({"dedicated": {"required": ["values"], "properties": {"values": {"maxItems": 1}}}}),
    );
    push_all_of(
        def(root, "ExecutorSpec"),
        forbid(
            json!({"required": ["data"]}),
            "data_file",
            "give `data` or `data_file`, not both",
        ),
    );
    push_all_of(
        def(root, "HealthCheck"),
        forbid(
            json!({"required": ["http"]}),
            "shell",
            "give `http` or `shell`, not both",
        ),
    );
    push_all_of(
        def(root, "TaskSpec"),
        forbid(
            json!({"required": ["sequential"], "properties": {"sequential": {"const": true}}}),
            "order",
            "`sequential: true` already orders the processes; remove `order`",
        ),
    );
}

/// `Defaults` (a job's keys minus `key` and `name`), and the rules on a whole job.
fn defaults_and_jobs(root: &mut Value) {
    let mut defaults = Value::Object(def(root, "JobSpec").clone());
    if let Some(Value::Object(props)) = defaults.get_mut("properties") {
        props.remove("key");
        props.remove("name");
        props.remove("targets");
    }
    defaults["title"] = json!("Defaults");
    defaults["description"] = json!(
        "Values merged into every job of this file (the job's own values win; mappings are merged key by key, lists and variant choices are replaced). `key` and `name` name one job and cannot be defaults, nor can `targets`."
    );
    root["definitions"]["Defaults"] = defaults;
    if let Some(Value::Object(p)) = root["properties"].get_mut("defaults") {
        refer(p, "Defaults");
    }

    let job = def(root, "JobSpec");
    let kind_is = |k: Value| json!({"required": ["kind"], "properties": {"kind": k}});
    push_all_of(
        job,
        unless_a_target_sets(
            "kind",
            forbid(
                kind_is(json!({"const": "cron"})),
                "update",
                "cron jobs are not rolled out with updates; remove `update`",
            ),
        ),
    );
    push_all_of(
        job,
        unless_a_target_sets(
            "kind",
            forbid(
                kind_is(json!({"const": "adhoc"})),
                "cron",
                "`cron` is only for `kind: cron`",
            ),
        ),
    );
    // The scheduler's own words; `validate` adds the schedule after a colon.
    push_all_of(
        job,
        unless_a_target_sets(
            "kind",
            forbid(
                kind_is(json!({"const": "service"})),
                "cron",
                "A service task may not be run on a cron schedule",
            ),
        ),
    );
    // `task` builds the Thermos payload; executor `data`/`data_file` is another payload.
    push_all_of(
        job,
        unless_a_target_sets(
            "executor",
            forbid(
                json!({"required": ["executor"], "properties": {"executor": {"anyOf": [{"required": ["data"]}, {"required": ["data_file"]}]}}}),
                "task",
                "`task` builds the Thermos payload; it cannot be combined with executor `data`/`data_file`",
            ),
        ),
    );
    // A target: a job's fields without `key` and `targets`.
    let mut target = Value::Object(job.clone());
    if let Some(Value::Object(props)) = target.get_mut("properties") {
        props.remove("key");
        props.remove("targets");
    }
    target["title"] = json!("Target");
    target["description"] = json!(
        "One place to run the job: any of cluster, role, environment and name (replacing those parts of the job's key) and overrides of any other job field, merged over the job (mappings merged key by key, lists and variant choices replaced)."
    );
    root["definitions"]["Target"] = target;
    if let Some(Value::Object(items)) =
        root["definitions"]["JobSpec"]["properties"]["targets"].get_mut("items")
    {
        items.insert("$ref".into(), json!("#/definitions/Target"));
    }
    // `x-` top-level keys hold shared fragments (YAML anchors) and are ignored.
    if let Value::Object(m) = &mut *root {
        m.insert("patternProperties".into(), json!({"^x-": {}}));
    }

    let docker =
        json!({"required": ["container"], "properties": {"container": {"required": ["docker"]}}});
    let payload = json!({"anyOf": [{"required": ["task"]}, {"required": ["executor"]}, docker]});
    let cron_needs_schedule =
        json!({"if": kind_is(json!({"const": "cron"})), "then": {"required": ["cron"]}});
    let single = json!({"anyOf": [
        {"not": {"required": ["instances"]}},
        {"properties": {"instances": {"const": 1}}}
    ]});
    let one_instance_no_failures = json!({
        "if": single,
        "then": {"properties": {"update": {"properties": {"max_failed_instances": {"maximum": 0}}}}}
    });
    let rules = vec![
        in_defaults_or_every_job(json!({"required": ["kind"]}), json!({"required": ["kind"]})),
        in_defaults_or_every_job(
            json!({"required": ["resources"]}),
            json!({"required": ["resources"]}),
        ),
        in_defaults_or_every_job(payload.clone(), payload),
        in_defaults_or_every_job(cron_needs_schedule, json!({"required": ["cron"]})),
        in_defaults_or_every_job(one_instance_no_failures, json!({"required": ["instances"]})),
    ];
    if let Value::Object(m) = root {
        m.insert("allOf".into(), Value::Array(rules));
    }
}
