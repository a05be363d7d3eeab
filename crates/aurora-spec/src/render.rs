//! The JSON view of what is sent, in the shape of Aurora's client fixtures
//! (`fixtures/aurora-client/*/job_configuration.json`): Thrift field names, enums by name,
//! and every Thrift `set` as a list sorted by each element's JSON text (the wire has no set
//! order; `aurora_thrift::json::to_json` orders sets by the Rust value instead, so the set fields
//! are re-sorted here).
//!
//! Two ways to it: [`job_configuration_json`] and [`job_update_request_json`] give the
//! `serde_json::Value` (to compare, query or edit), and [`write_job_configuration`] and
//! [`write_job_update_request`] write the same value's pretty text straight from the structs
//! (what `render` prints, at a fraction of the cost; tests hold the two to the same bytes).

use std::collections::BTreeSet;

use aurora_thrift::types::{
    AppcImage, BatchJobUpdateStrategy, Constraint, Container, CoordinatorSlaPolicy, CountSlaPolicy,
    DockerContainer, DockerImage, DockerParameter, ExecutorConfig, Identity, Image,
    JobConfiguration, JobKey, JobUpdateRequest, JobUpdateSettings, JobUpdateStrategy,
    LimitConstraint, MesosContainer, MesosFetcherURI, Metadata, PartitionPolicy,
    PercentageSlaPolicy, QueueJobUpdateStrategy, Range, Resource, SlaPolicy, TaskConfig,
    TaskConstraint, ValueConstraint, VariableBatchJobUpdateStrategy, Volume,
};
use serde_json::Value;

use crate::json_text::{Arr, Layout, Obj};

/// Set-typed fields of the structs a job renders to (TaskConfig, ValueConstraint,
/// JobUpdateSettings, JobUpdateRequest).
const SET_FIELDS: &[&str] = &[
    "constraints",
    "metadata",
    "resources",
    "mesosFetcherUris",
    "values",
    "updateOnlyTheseInstances",
];

/// The fixture-shaped JSON of a JobConfiguration.
pub fn job_configuration_json(config: &JobConfiguration) -> Value {
    let mut v = aurora_thrift::json::to_json(config);
    sort_sets(&mut v);
    v
}

/// The fixture-shaped JSON of a JobUpdateRequest.
pub fn job_update_request_json(request: &JobUpdateRequest) -> Value {
    let mut v = aurora_thrift::json::to_json(request);
    sort_sets(&mut v);
    v
}

/// A rendered `JobConfiguration` or `JobUpdateRequest` as it is compared with what Aurora's
/// client sends: `owner` left aside on the job and its task (Aurora's client sends the local
/// unix user, aurora-apply the role) and the executor data parsed when it is JSON (the
/// client's key order is Python's and not canonical).
pub fn comparable(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove("owner");
        if let Some(Value::Object(tc)) = m.get_mut("taskConfig") {
            tc.remove("owner");
            if let Some(Value::Object(ec)) = tc.get_mut("executorConfig")
                && let Some(Value::String(data)) = ec.get("data").cloned()
                && let Ok(parsed) = serde_json::from_str::<Value>(&data)
            {
                ec.insert("data".into(), parsed);
            }
        }
    }
    v
}

fn sort_sets(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                sort_sets(child);
                if SET_FIELDS.contains(&k.as_str())
                    && let Value::Array(items) = child
                {
                    items.sort_by_cached_key(crate::thermos::canonical_json);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_sets),
        _ => {}
    }
}

/// How [`write_job_configuration`] and [`write_job_update_request`] lay out their text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pretty {
    /// How many levels (two spaces each) every line after the first is indented by, as for
    /// an element of a pretty array (1): the elements are then written where they stand,
    /// without re-indenting a copy.
    pub level: usize,
    /// `taskConfig.executorConfig.data` as the JSON it holds, pretty too, when it is JSON
    /// (for reading), instead of as the string sent.
    pub expand_executor_data: bool,
}

/// Appends `serde_json::to_string_pretty(&job_configuration_json(config))` to `out` (laid out
/// as `pretty` says), written straight from the struct: building the `Value`, sorting its sets
/// by their JSON text and printing it was most of `render -o json`'s time (issue 14).
pub fn write_job_configuration(config: &JobConfiguration, pretty: Pretty, out: &mut String) {
    let JobConfiguration {
        cron_schedule,
        cron_collision_policy,
        task_config,
        owner,
        instance_count,
        key,
    } = config;
    let mut o = Obj::open(out, Layout::Pretty(pretty.level));
    if let Some(p) = cron_collision_policy {
        enum_value(&mut o, "cronCollisionPolicy", p.name(), p.0);
    }
    if let Some(s) = cron_schedule {
        o.str("cronSchedule", s);
    }
    if let Some(n) = instance_count {
        o.int("instanceCount", *n);
    }
    if let Some(k) = key {
        job_key(k, o.obj("key"));
    }
    if let Some(i) = owner {
        identity(i, o.obj("owner"));
    }
    if let Some(t) = task_config {
        task(t, pretty.expand_executor_data, o.obj("taskConfig"));
    }
    o.end();
}

/// Appends `serde_json::to_string_pretty(&job_update_request_json(request))` to `out` (laid
/// out as `pretty` says), written straight from the struct, as [`write_job_configuration`].
pub fn write_job_update_request(request: &JobUpdateRequest, pretty: Pretty, out: &mut String) {
    let JobUpdateRequest {
        task_config,
        instance_count,
        settings,
        metadata,
    } = request;
    let mut o = Obj::open(out, Layout::Pretty(pretty.level));
    if let Some(n) = instance_count {
        o.int("instanceCount", *n);
    }
    if let Some(m) = metadata {
        set(o.arr("metadata"), m, metadata_entry);
    }
    if let Some(s) = settings {
        update_settings(s, o.obj("settings"));
    }
    if let Some(t) = task_config {
        task(t, pretty.expand_executor_data, o.obj("taskConfig"));
    }
    o.end();
}

// One writer per struct, fields destructured without `..` so that a field added to the
// bindings does not compile until it is written here too, and written in the order of their
// JSON names (serde_json's map order; debug builds check it).

/// An enum field: its IDL name, or the number when the IDL does not know it.
fn enum_value(o: &mut Obj<'_>, key: &str, name: Option<&str>, value: i32) {
    match name {
        Some(name) => o.str(key, name),
        None => o.int(key, value),
    }
}

fn job_key(k: &JobKey, mut o: Obj<'_>) {
    let JobKey {
        role,
        environment,
        name,
    } = k;
    if let Some(s) = environment {
        o.str("environment", s);
    }
    if let Some(s) = name {
        o.str("name", s);
    }
    if let Some(s) = role {
        o.str("role", s);
    }
    o.end();
}

fn identity(i: &Identity, mut o: Obj<'_>) {
    let Identity { user } = i;
    if let Some(s) = user {
        o.str("user", s);
    }
    o.end();
}

fn task(t: &TaskConfig, expand_data: bool, mut o: Obj<'_>) {
    let TaskConfig {
        is_service,
        priority,
        max_task_failures,
        owner,
        production,
        constraints,
        task_links,
        contact_email,
        executor_config,
        metadata,
        job,
        container,
        tier,
        resources,
        mesos_fetcher_uris,
        partition_policy,
        sla_policy,
    } = t;
    if let Some(c) = constraints {
        set(o.arr("constraints"), c, constraint);
    }
    if let Some(s) = contact_email {
        o.str("contactEmail", s);
    }
    if let Some(c) = container {
        container_json(c, o.obj("container"));
    }
    if let Some(e) = executor_config {
        let ExecutorConfig { name, data } = e;
        let mut eo = o.obj("executorConfig");
        if let Some(data) = data {
            match expand_data
                .then(|| serde_json::from_str::<serde_json::Value>(data).ok())
                .flatten()
            {
                Some(parsed) => {
                    let (out, layout) = eo.key("data");
                    crate::json_text::write_value(&parsed, out, layout);
                }
                None => eo.str("data", data),
            }
        }
        if let Some(s) = name {
            eo.str("name", s);
        }
        eo.end();
    }
    if let Some(b) = is_service {
        o.bool("isService", *b);
    }
    if let Some(k) = job {
        job_key(k, o.obj("job"));
    }
    if let Some(n) = max_task_failures {
        o.int("maxTaskFailures", *n);
    }
    if let Some(uris) = mesos_fetcher_uris {
        set(o.arr("mesosFetcherUris"), uris, fetcher_uri);
    }
    if let Some(m) = metadata {
        set(o.arr("metadata"), m, metadata_entry);
    }
    if let Some(i) = owner {
        identity(i, o.obj("owner"));
    }
    if let Some(p) = partition_policy {
        let PartitionPolicy {
            reschedule,
            delay_secs,
        } = p;
        let mut po = o.obj("partitionPolicy");
        if let Some(n) = delay_secs {
            po.int("delaySecs", *n);
        }
        if let Some(b) = reschedule {
            po.bool("reschedule", *b);
        }
        po.end();
    }
    if let Some(n) = priority {
        o.int("priority", *n);
    }
    if let Some(b) = production {
        o.bool("production", *b);
    }
    if let Some(r) = resources {
        set(o.arr("resources"), r, resource);
    }
    if let Some(p) = sla_policy {
        sla(p, o.obj("slaPolicy"));
    }
    if let Some(links) = task_links {
        let mut lo = o.obj("taskLinks");
        for (k, v) in links {
            lo.str(k, v);
        }
        lo.end();
    }
    if let Some(s) = tier {
        o.str("tier", s);
    }
    o.end();
}

fn constraint(c: &Constraint, out: &mut String, layout: Layout) {
    let Constraint { name, constraint } = c;
    let mut o = Obj::open(out, layout);
    if let Some(tc) = constraint {
        let mut co = o.obj("constraint");
        match tc {
            TaskConstraint::Limit(l) => {
                let LimitConstraint { limit } = l;
                let mut lo = co.obj("limit");
                if let Some(n) = limit {
                    lo.int("limit", *n);
                }
                lo.end();
            }
            TaskConstraint::Value(v) => {
                let ValueConstraint { negated, values } = v;
                let mut vo = co.obj("value");
                if let Some(b) = negated {
                    vo.bool("negated", *b);
                }
                if let Some(values) = values {
                    set(vo.arr("values"), values, |s, out, _| {
                        crate::json_text::write_json_string(s, out);
                    });
                }
                vo.end();
            }
        }
        co.end();
    }
    if let Some(s) = name {
        o.str("name", s);
    }
    o.end();
}

fn metadata_entry(m: &Metadata, out: &mut String, layout: Layout) {
    let Metadata { key, value } = m;
    let mut o = Obj::open(out, layout);
    if let Some(s) = key {
        o.str("key", s);
    }
    if let Some(s) = value {
        o.str("value", s);
    }
    o.end();
}

fn container_json(c: &Container, mut o: Obj<'_>) {
    match c {
        Container::Docker(d) => {
            let DockerContainer { image, parameters } = d;
            let mut d = o.obj("docker");
            if let Some(s) = image {
                d.str("image", s);
            }
            if let Some(params) = parameters {
                let mut arr = d.arr("parameters");
                for p in params {
                    let DockerParameter { name, value } = p;
                    let mut po = arr.obj();
                    if let Some(s) = name {
                        po.str("name", s);
                    }
                    if let Some(s) = value {
                        po.str("value", s);
                    }
                    po.end();
                }
                arr.end();
            }
            d.end();
        }
        Container::Mesos(m) => {
            let MesosContainer { image, volumes } = m;
            let mut mo = o.obj("mesos");
            if let Some(i) = image {
                let mut io = mo.obj("image");
                match i {
                    Image::Appc(a) => {
                        let AppcImage { name, image_id } = a;
                        let mut ao = io.obj("appc");
                        if let Some(s) = image_id {
                            ao.str("imageId", s);
                        }
                        if let Some(s) = name {
                            ao.str("name", s);
                        }
                        ao.end();
                    }
                    Image::Docker(d) => {
                        let DockerImage { name, tag } = d;
                        let mut d = io.obj("docker");
                        if let Some(s) = name {
                            d.str("name", s);
                        }
                        if let Some(s) = tag {
                            d.str("tag", s);
                        }
                        d.end();
                    }
                }
                io.end();
            }
            if let Some(vols) = volumes {
                let mut arr = mo.arr("volumes");
                for v in vols {
                    let Volume {
                        container_path,
                        host_path,
                        mode,
                    } = v;
                    let mut vo = arr.obj();
                    if let Some(s) = container_path {
                        vo.str("containerPath", s);
                    }
                    if let Some(s) = host_path {
                        vo.str("hostPath", s);
                    }
                    if let Some(m) = mode {
                        enum_value(&mut vo, "mode", m.name(), m.0);
                    }
                    vo.end();
                }
                arr.end();
            }
            mo.end();
        }
    }
    o.end();
}

fn resource(r: &Resource, out: &mut String, layout: Layout) {
    let mut o = Obj::open(out, layout);
    match r {
        Resource::NumCpus(n) => o.f64("numCpus", n.0),
        Resource::RamMb(n) => o.int("ramMb", *n),
        Resource::DiskMb(n) => o.int("diskMb", *n),
        Resource::NamedPort(s) => o.str("namedPort", s),
        Resource::NumGpus(n) => o.int("numGpus", *n),
        Resource::IpAddr(n) => o.int("ipAddr", *n),
    }
    o.end();
}

fn fetcher_uri(u: &MesosFetcherURI, out: &mut String, layout: Layout) {
    let MesosFetcherURI {
        value,
        extract,
        cache,
        output_file,
    } = u;
    let mut o = Obj::open(out, layout);
    if let Some(b) = cache {
        o.bool("cache", *b);
    }
    if let Some(b) = extract {
        o.bool("extract", *b);
    }
    if let Some(s) = output_file {
        o.str("outputFile", s);
    }
    if let Some(s) = value {
        o.str("value", s);
    }
    o.end();
}

fn sla(p: &SlaPolicy, mut o: Obj<'_>) {
    match p {
        SlaPolicy::CoordinatorSlaPolicy(c) => {
            let CoordinatorSlaPolicy {
                coordinator_url,
                status_key,
            } = c;
            let mut co = o.obj("coordinatorSlaPolicy");
            if let Some(s) = coordinator_url {
                co.str("coordinatorUrl", s);
            }
            if let Some(s) = status_key {
                co.str("statusKey", s);
            }
            co.end();
        }
        SlaPolicy::CountSlaPolicy(c) => {
            let CountSlaPolicy {
                count,
                duration_secs,
            } = c;
            let mut co = o.obj("countSlaPolicy");
            if let Some(n) = count {
                co.int("count", *n);
            }
            if let Some(n) = duration_secs {
                co.int("durationSecs", *n);
            }
            co.end();
        }
        SlaPolicy::PercentageSlaPolicy(p) => {
            let PercentageSlaPolicy {
                percentage,
                duration_secs,
            } = p;
            let mut po = o.obj("percentageSlaPolicy");
            if let Some(n) = duration_secs {
                po.int("durationSecs", *n);
            }
            if let Some(f) = percentage {
                po.f64("percentage", f.0);
            }
            po.end();
        }
    }
    o.end();
}

fn update_settings(s: &JobUpdateSettings, mut o: Obj<'_>) {
    let JobUpdateSettings {
        update_group_size,
        max_per_instance_failures,
        max_failed_instances,
        min_wait_in_instance_running_ms,
        rollback_on_failure,
        update_only_these_instances,
        wait_for_batch_completion,
        block_if_no_pulses_after_ms,
        sla_aware,
        update_strategy,
    } = s;
    if let Some(n) = block_if_no_pulses_after_ms {
        o.int("blockIfNoPulsesAfterMs", *n);
    }
    if let Some(n) = max_failed_instances {
        o.int("maxFailedInstances", *n);
    }
    if let Some(n) = max_per_instance_failures {
        o.int("maxPerInstanceFailures", *n);
    }
    if let Some(n) = min_wait_in_instance_running_ms {
        o.int("minWaitInInstanceRunningMs", *n);
    }
    if let Some(b) = rollback_on_failure {
        o.bool("rollbackOnFailure", *b);
    }
    if let Some(b) = sla_aware {
        o.bool("slaAware", *b);
    }
    if let Some(n) = update_group_size {
        o.int("updateGroupSize", *n);
    }
    if let Some(ranges) = update_only_these_instances {
        set(o.arr("updateOnlyTheseInstances"), ranges, range);
    }
    if let Some(s) = update_strategy {
        strategy(s, o.obj("updateStrategy"));
    }
    if let Some(b) = wait_for_batch_completion {
        o.bool("waitForBatchCompletion", *b);
    }
    o.end();
}

fn range(r: &Range, out: &mut String, layout: Layout) {
    let Range { first, last } = r;
    let mut o = Obj::open(out, layout);
    if let Some(n) = first {
        o.int("first", *n);
    }
    if let Some(n) = last {
        o.int("last", *n);
    }
    o.end();
}

fn strategy(s: &JobUpdateStrategy, mut o: Obj<'_>) {
    match s {
        JobUpdateStrategy::BatchStrategy(b) => {
            let BatchJobUpdateStrategy {
                group_size,
                autopause_after_batch,
            } = b;
            let mut bo = o.obj("batchStrategy");
            if let Some(b) = autopause_after_batch {
                bo.bool("autopauseAfterBatch", *b);
            }
            if let Some(n) = group_size {
                bo.int("groupSize", *n);
            }
            bo.end();
        }
        JobUpdateStrategy::QueueStrategy(q) => {
            let QueueJobUpdateStrategy { group_size } = q;
            let mut qo = o.obj("queueStrategy");
            if let Some(n) = group_size {
                qo.int("groupSize", *n);
            }
            qo.end();
        }
        JobUpdateStrategy::VarBatchStrategy(v) => {
            let VariableBatchJobUpdateStrategy {
                group_sizes,
                autopause_after_batch,
            } = v;
            let mut vo = o.obj("varBatchStrategy");
            if let Some(b) = autopause_after_batch {
                vo.bool("autopauseAfterBatch", *b);
            }
            if let Some(sizes) = group_sizes {
                let mut arr = vo.arr("groupSizes");
                for n in sizes {
                    arr.int(*n);
                }
                arr.end();
            }
            vo.end();
        }
    }
    o.end();
}

/// A Thrift set as the fixtures list it: its items ordered by their compact JSON text (what
/// [`job_configuration_json`]'s `sort_sets` does), each written by `write`.
fn set<T>(mut arr: Arr<'_>, items: &BTreeSet<T>, write: impl Fn(&T, &mut String, Layout)) {
    let mut compact = String::new();
    let mut order: Vec<(std::ops::Range<usize>, &T)> = Vec::with_capacity(items.len());
    for item in items {
        let start = compact.len();
        write(item, &mut compact, Layout::Compact);
        order.push((start..compact.len(), item));
    }
    // Stable, as `sort_by_cached_key` is: items with the same text keep the set's order.
    order.sort_by(|a, b| compact[a.0.clone()].cmp(&compact[b.0.clone()]));
    for (text, item) in order {
        let (out, layout) = arr.item();
        match layout {
            Layout::Compact => out.push_str(&compact[text]),
            Layout::Pretty(_) => write(item, out, layout),
        }
    }
    arr.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact text `render -o json` prints of every field, so a change of how it is
    /// written shows.
    #[test]
    fn rendered_every_field_is_pinned() {
        let mut all = Vec::new();
        for job in crate::testing::all_fields_jobs() {
            let config = crate::convert::job_configuration(&job);
            let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("json");
            all.push(format!(
                "{}\n{}",
                job.key,
                pretty(&job_configuration_json(&config))
            ));
            if let Some(update) = crate::convert::job_update_request_from(&job, &config) {
                all.push(format!(
                    "{} update\n{}",
                    job.key,
                    pretty(&job_update_request_json(&update))
                ));
            }
        }
        insta::assert_snapshot!(all.join("\n\n"));
    }

    /// What the writers must print: serde_json's pretty text of the fixture-shaped value,
    /// indented `level` levels, with the executor data parsed when asked.
    fn oracle(mut v: Value, pretty: Pretty) -> String {
        if pretty.expand_executor_data
            && let Some(data) = v.pointer_mut("/taskConfig/executorConfig/data")
            && let Some(parsed) = data.as_str().and_then(|s| serde_json::from_str(s).ok())
        {
            *data = parsed;
        }
        let text = serde_json::to_string_pretty(&v).expect("json");
        text.replace('\n', &format!("\n{}", "  ".repeat(pretty.level)))
    }

    fn layouts() -> Vec<Pretty> {
        let mut out = Vec::new();
        for level in 0..3 {
            for expand_executor_data in [false, true] {
                out.push(Pretty {
                    level,
                    expand_executor_data,
                });
            }
        }
        out
    }

    fn assert_written_like_the_value(config: &JobConfiguration, update: Option<&JobUpdateRequest>) {
        for pretty in layouts() {
            let mut got = String::new();
            write_job_configuration(config, pretty, &mut got);
            assert_eq!(
                got,
                oracle(job_configuration_json(config), pretty),
                "{pretty:?}"
            );
            if let Some(update) = update {
                let mut got = String::new();
                write_job_update_request(update, pretty, &mut got);
                assert_eq!(
                    got,
                    oracle(job_update_request_json(update), pretty),
                    "{pretty:?}"
                );
            }
        }
    }

    #[test]
    fn specs_are_written_like_the_value() {
        for job in crate::testing::all_fields_jobs() {
            let config = crate::convert::job_configuration(&job);
            let update = crate::convert::job_update_request_from(&job, &config);
            assert_written_like_the_value(&config, update.as_ref());
        }
    }

    /// Every field of every struct set, every union variant used, enum values the IDL does
    /// not know, floats JSON cannot hold, and sets whose JSON order is not their value order.
    #[test]
    fn every_field_is_written_like_the_value() {
        use aurora_thrift::types::*;
        use thrift::OrderedFloat;
        let key = JobKey {
            role: Some("r".into()),
            environment: Some("prod".into()),
            name: Some("n".into()),
        };
        let who = Identity {
            user: Some("u".into()),
        };
        let metadata: BTreeSet<Metadata> = [("a", "1"), ("a b", "2"), ("b\"", "3")]
            .into_iter()
            .map(|(k, v)| Metadata {
                key: Some(k.into()),
                value: Some(v.into()),
            })
            .collect();
        let containers = [
            Container::Mesos(MesosContainer {
                image: Some(Image::Docker(DockerImage {
                    name: Some("d".into()),
                    tag: Some("t".into()),
                })),
                volumes: Some(vec![
                    Volume {
                        container_path: Some("/c".into()),
                        host_path: Some("/h".into()),
                        mode: Some(Mode::RW),
                    },
                    Volume {
                        container_path: None,
                        host_path: None,
                        mode: Some(Mode(99)),
                    },
                ]),
            }),
            Container::Mesos(MesosContainer {
                image: Some(Image::Appc(AppcImage {
                    name: Some("a".into()),
                    image_id: Some("sha".into()),
                })),
                volumes: Some(Vec::new()),
            }),
            Container::Mesos(MesosContainer::default()),
            Container::Docker(DockerContainer {
                image: Some("img".into()),
                parameters: Some(vec![DockerParameter {
                    name: Some("n".into()),
                    value: Some("v".into()),
                }]),
            }),
        ];
        let slas = [
            SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
                percentage: Some(OrderedFloat(66.6)),
                duration_secs: Some(60),
            }),
            SlaPolicy::CountSlaPolicy(CountSlaPolicy {
                count: Some(2),
                duration_secs: Some(60),
            }),
            SlaPolicy::CoordinatorSlaPolicy(CoordinatorSlaPolicy {
                coordinator_url: Some("http://c".into()),
                status_key: Some("drain".into()),
            }),
        ];
        let strategies = [
            JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy {
                group_size: Some(2),
            }),
            JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
                group_size: Some(3),
                autopause_after_batch: Some(true),
            }),
            JobUpdateStrategy::VarBatchStrategy(VariableBatchJobUpdateStrategy {
                group_sizes: Some(vec![1, 10, 2]),
                autopause_after_batch: Some(false),
            }),
        ];
        for i in 0..4 {
            let task = TaskConfig {
                is_service: Some(true),
                priority: Some(-1),
                max_task_failures: Some(3),
                owner: Some(who.clone()),
                production: Some(false),
                constraints: Some(
                    [
                        Constraint {
                            name: Some("host".into()),
                            constraint: Some(TaskConstraint::Limit(LimitConstraint {
                                limit: Some(1),
                            })),
                        },
                        Constraint {
                            name: Some("rack".into()),
                            constraint: Some(TaskConstraint::Value(ValueConstraint {
                                negated: Some(true),
                                values: Some(["r2", "r10", "r\"1", ""].map(String::from).into()),
                            })),
                        },
                        Constraint {
                            name: None,
                            constraint: None,
                        },
                    ]
                    .into(),
                ),
                task_links: Some(
                    [("b", "y"), ("a", "x")]
                        .map(|(k, v)| (k.into(), v.into()))
                        .into(),
                ),
                contact_email: Some("c@example.com".into()),
                executor_config: Some(ExecutorConfig {
                    name: Some("AuroraExecutor".into()),
                    data: Some(
                        [
                            r#"{"b":[1,2.5,{"c":null}],"a":"x\ny"}"#,
                            "not json",
                            "{}",
                            "",
                        ][i]
                            .into(),
                    ),
                }),
                metadata: Some(metadata.clone()),
                job: Some(key.clone()),
                container: Some(containers[i].clone()),
                tier: Some("preferred".into()),
                resources: Some(
                    [
                        Resource::NumCpus(OrderedFloat([0.25, 1.0, f64::NAN, 1e21][i])),
                        Resource::RamMb(128),
                        Resource::DiskMb(1024),
                        Resource::NamedPort("http".into()),
                        Resource::NamedPort("admin".into()),
                        Resource::NumGpus(1),
                        Resource::IpAddr(7),
                    ]
                    .into(),
                ),
                mesos_fetcher_uris: Some(
                    [
                        MesosFetcherURI {
                            value: Some("http://x/a".into()),
                            extract: Some(true),
                            cache: Some(false),
                            output_file: Some("o".into()),
                        },
                        MesosFetcherURI::default(),
                    ]
                    .into(),
                ),
                partition_policy: Some(PartitionPolicy {
                    reschedule: Some(true),
                    delay_secs: Some(30),
                }),
                sla_policy: slas.get(i).cloned(),
            };
            let config = JobConfiguration {
                cron_schedule: Some("*/5 * * * *".into()),
                cron_collision_policy: Some(
                    [CronCollisionPolicy::CANCEL_NEW, CronCollisionPolicy(42)][i % 2],
                ),
                task_config: Some(task.clone()),
                owner: Some(who.clone()),
                instance_count: Some(20),
                key: Some(key.clone()),
            };
            let update = JobUpdateRequest {
                task_config: Some(task),
                instance_count: Some(20),
                settings: Some(JobUpdateSettings {
                    update_group_size: Some(1),
                    max_per_instance_failures: Some(2),
                    max_failed_instances: Some(3),
                    min_wait_in_instance_running_ms: Some(45_000),
                    rollback_on_failure: Some(true),
                    update_only_these_instances: Some(
                        [(0, 3), (10, 12), (2, 2)]
                            .map(|(first, last)| Range {
                                first: Some(first),
                                last: Some(last),
                            })
                            .into(),
                    ),
                    wait_for_batch_completion: Some(false),
                    block_if_no_pulses_after_ms: Some(60_000),
                    sla_aware: Some(true),
                    update_strategy: strategies.get(i).cloned(),
                }),
                metadata: Some(metadata.clone()),
            };
            assert_written_like_the_value(&config, Some(&update));
        }
        assert_written_like_the_value(
            &JobConfiguration::default(),
            Some(&JobUpdateRequest::default()),
        );
        let empty_sets = JobUpdateRequest {
            task_config: Some(TaskConfig {
                constraints: Some(BTreeSet::new()),
                task_links: Some(Default::default()),
                ..Default::default()
            }),
            metadata: Some(BTreeSet::new()),
            ..Default::default()
        };
        assert_written_like_the_value(&JobConfiguration::default(), Some(&empty_sets));
    }
}
