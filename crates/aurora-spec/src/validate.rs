//! The rules a merged job must pass: what the Aurora scheduler would reject (with the
//! scheduler's own reason in the message), the client-side rules of Aurora's CLI, and the
//! consistency rules of this format (kind vs. fields, executor vs. task).
//!
//! Input: a merged [`JobSpec`] and its located tree. Output: a [`Job`] or diagnostics. This
//! stage reads `data_file`s (relative to the spec) and nothing else from the outside world.

use aurora_thrift::tiers::{Placement, Tiers};
use std::collections::{BTreeMap, BTreeSet};

use crate::cron;
use crate::diagnostics::{Code, Diagnostic};
use crate::job::{Job, JobKey, Origin};
use crate::load::node::Node;
use crate::model::{CollisionPolicy, JobKind, JobSpec, Ports, SlaPolicySpec, StrategySpec};
use crate::source::{SourceFile, Span};
use crate::units::Duration;

/// The Thermos executor's name (`AURORA_EXECUTOR_NAME`).
pub const AURORA_EXECUTOR: &str = "AuroraExecutor";

/// Scheduler settings the rules depend on. The defaults are the scheduler's defaults.
#[derive(Clone, Debug)]
pub struct Rules {
    /// `-allowed_job_environments`; `None` = the default `^(prod|devel|test|staging\d*)$`.
    pub environment_pattern: Option<regex::Regex>,
    /// `-min_required_instances_for_sla_check` (default 20).
    pub min_instances_for_sla: u32,
    /// `-max_sla_duration_secs` (default 2 h).
    pub max_sla_duration_secs: u64,
    /// `-max_update_instance_failures` (default 4000 × 5).
    pub max_update_instance_failures: u64,
    /// `-max_tasks_per_job` (default 4000).
    pub max_tasks_per_job: u32,
    /// The cluster names of the clusters.json files found, when any was found: a job in
    /// another cluster could never be applied, so `validate` says so offline. `None` (no
    /// clusters file) checks nothing.
    pub known_clusters: Option<Vec<String>>,
    /// The cluster's tiers (`-tier_config`; by default Aurora's bundled `tiers.json`): a job
    /// without `tier` is placed as Aurora's client places it ([`Tiers::client_placement`]),
    /// and the SLA rule judges the tier it lands on. A tier not listed is not judged (a
    /// cluster may define its own).
    pub tiers: Tiers,
    /// `-sla_aware_kill_non_prod` (default false): SLA policies on non-production tiers.
    pub sla_aware_kill_non_prod: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            environment_pattern: None,
            min_instances_for_sla: 20,
            max_sla_duration_secs: 7200,
            max_update_instance_failures: 20_000,
            max_tasks_per_job: 4000,
            known_clusters: None,
            tiers: Tiers::aurora_default(),
            sla_aware_kill_non_prod: false,
        }
    }
}

/// The scheduler's default environment rule, `^(prod|devel|test|staging\d*)$`.
pub fn default_environment_ok(env: &str) -> bool {
    matches!(env, "prod" | "devel" | "test")
        || env
            .strip_prefix("staging")
            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
}

/// `^[\w\-\.]+$` (Java `\w` = ASCII) and at most 255 characters (`UserProvidedStrings`).
pub fn good_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Collects located diagnostics for one job.
pub(crate) struct Ctx<'a> {
    pub file: &'a SourceFile,
    /// The job merged over the file's defaults (what was deserialized).
    pub tree: &'a Node,
    /// The job as written, before merging: a default never conflicts with the job's own `key`.
    pub job: &'a Node,
    pub prefix: String,
    pub diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn span_of(&self, rel: &str) -> Span {
        let mut rel = rel.to_string();
        loop {
            if let Some(n) = self.tree.at_path(&rel) {
                return n.span;
            }
            match rel.rfind(['.', '[']) {
                Some(i) => rel.truncate(i),
                None => return self.tree.span,
            }
        }
    }

    fn full(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}.{rel}", self.prefix)
        }
    }

    pub fn report(&mut self, code: Code, rel: &str, message: impl Into<String>) -> &mut Diagnostic {
        let d = Diagnostic::new(code, message)
            .with_path(self.full(rel))
            .at(self.file, self.span_of(rel));
        self.diags.push(d);
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn sched(&mut self, rel: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.report(Code::SchedulerRule, rel, message)
    }

    fn spec(&mut self, rel: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.report(Code::SpecRule, rel, message)
    }
}

/// Checks a merged job; returns the resolved job or adds diagnostics to `ctx`.
pub(crate) fn check_job(
    ctx: &mut Ctx<'_>,
    spec: JobSpec,
    rules: &Rules,
    origin: Origin,
) -> Option<Job> {
    let key = check_key(ctx, &spec, rules);
    let kind = match spec.kind {
        Some(k) => Some(k),
        None => {
            ctx.report(Code::MissingField, "", "missing required key `kind`")
                .help = Some("add `kind: service`, `kind: adhoc` or `kind: cron`".into());
            None
        }
    };
    let instances = spec.instances.unwrap_or(1);
    if instances == 0 {
        ctx.sched("instances", "Instance count must be positive.");
    } else if instances > rules.max_tasks_per_job {
        ctx.sched(
            "instances",
            format!(
                "Instance count must be between 1 and {} inclusive.",
                rules.max_tasks_per_job
            ),
        )
        .help = Some(format!(
            "{instances} is more than the scheduler's -max_tasks_per_job allows"
        ));
    }
    if let Some(owner) = &spec.owner
        && !good_identifier(owner)
    {
        ctx.sched(
            "owner",
            format!("Job user contains illegal characters: {owner}"),
        );
    }
    if let Some(tier) = &spec.tier
        && !good_identifier(tier)
    {
        ctx.sched("tier", format!("Tier contains illegal characters: {tier}"));
    }
    check_resources(ctx, &spec);
    check_constraints(ctx, &spec, key.as_ref().map(|k| k.role.as_str()));
    let executor_data = check_executor(ctx, &spec);
    check_task(ctx, &spec);
    if let Some(kind) = kind {
        check_kind(ctx, &spec, kind);
    }
    check_update(ctx, &spec, instances, rules);
    check_sla(ctx, &spec, instances, rules);
    check_thermos_fields(ctx, &spec);
    check_fetch(ctx, &spec);
    if let Some(Ports::Names(names)) = &spec.ports {
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() {
                ctx.spec(&format!("ports[{i}]"), "port names must not be empty");
            } else if names[..i].contains(n) {
                // `TaskConfig.resources` is a set: a repeated name would silently collapse.
                ctx.spec(&format!("ports[{i}]"), format!("duplicate port name `{n}`"));
            }
        }
    }
    if ctx.diags.is_empty() {
        Some(Job {
            key: key?,
            kind: kind?,
            placement: placement(&spec, rules),
            spec,
            executor_data: executor_data.flatten(),
            origin,
        })
    } else {
        None
    }
}

fn check_key(ctx: &mut Ctx<'_>, spec: &JobSpec, rules: &Rules) -> Option<JobKey> {
    let mut parts: [Option<String>; 4] = [
        spec.cluster.clone(),
        spec.role.clone(),
        spec.environment.clone(),
        spec.name.clone(),
    ];
    const NAMES: [&str; 4] = ["cluster", "role", "environment", "name"];
    if let Some(key) = &spec.key {
        let split: Vec<&str> = key.split('/').collect();
        if split.len() != 4 {
            ctx.spec(
                "key",
                format!("job key `{key}` must have four parts: cluster/role/environment/name"),
            );
            return None;
        }
        for (i, p) in split.iter().enumerate() {
            match &parts[i] {
                Some(given) if given != p && ctx.job.get(NAMES[i]).is_some() => {
                    let msg = format!(
                        "`key` says {} `{p}` but `{}` is `{given}`",
                        NAMES[i], NAMES[i]
                    );
                    ctx.spec(NAMES[i], msg);
                }
                _ => parts[i] = Some((*p).to_string()),
            }
        }
    }
    let mut ok = true;
    for (i, part) in parts.iter().enumerate() {
        let at = if spec.key.is_some() && ctx.tree.get(NAMES[i]).is_none() {
            "key"
        } else {
            NAMES[i]
        };
        match part {
            None => {
                ctx.report(Code::MissingField, "", format!("missing the job's {}", NAMES[i]))
                    .help = Some("give `key: cluster/role/environment/name` or the four keys `cluster`, `role`, `environment`, `name`".into());
                ok = false;
            }
            Some(p) if !good_identifier(p) => {
                let shown = parts
                    .iter()
                    .skip(1)
                    .map(|p| p.as_deref().unwrap_or("?"))
                    .collect::<Vec<_>>()
                    .join("/");
                ctx.sched(at, format!("Job key {shown} is invalid.")).help = Some(format!(
                    "the {} `{p}` must match ^[\\w\\-\\.]+$ (ASCII letters, digits, `_`, `-`, `.`) and be at most 255 characters",
                    NAMES[i]
                ));
                ok = false;
            }
            Some(_) => {}
        }
    }
    if let (Some(cluster), Some(known)) = (&parts[0], &rules.known_clusters)
        && good_identifier(cluster)
        && !known.iter().any(|k| k == cluster)
    {
        let at = if spec.key.is_some() && ctx.tree.get("cluster").is_none() {
            "key"
        } else {
            "cluster"
        };
        let known_list = if known.is_empty() {
            "(none)".to_string()
        } else {
            known.join(", ")
        };
        ctx.report(
            Code::UnknownCluster,
            at,
            format!("unknown cluster `{cluster}`"),
        )
        .help = Some(
            match crate::diagnostics::did_you_mean(cluster, known.iter().map(String::as_str)) {
                Some(close) => format!("did you mean `{close}`? known clusters: {known_list}"),
                None => format!("known clusters: {known_list}"),
            },
        );
        ok = false;
    }
    if let Some(env) = &parts[2]
        && good_identifier(env)
    {
        let allowed = match &rules.environment_pattern {
            Some(re) => re.is_match(env),
            None => default_environment_ok(env),
        };
        if !allowed {
            let pattern = rules
                .environment_pattern
                .as_ref()
                .map_or(r"^(prod|devel|test|staging\d*)$".to_string(), |r| {
                    r.as_str().to_string()
                });
            let at = if spec.key.is_some() && ctx.tree.get("environment").is_none() {
                "key"
            } else {
                "environment"
            };
            ctx.sched(
                at,
                format!("Job environment {env} doesn't match: {pattern}"),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let [Some(cluster), Some(role), Some(environment), Some(name)] = parts else {
        return None;
    };
    Some(JobKey {
        cluster,
        role,
        environment,
        name,
    })
}

fn check_resources(ctx: &mut Ctx<'_>, spec: &JobSpec) {
    let Some(r) = &spec.resources else {
        ctx.report(Code::MissingField, "", "missing required key `resources`")
            .help = Some("e.g. `resources: { cpu: 1, ram: 128MiB, disk: 128MiB }`".into());
        return;
    };
    match r.cpu {
        None => {
            ctx.report(
                Code::MissingField,
                "resources",
                "missing required key `cpu`",
            );
        }
        // NaN and infinities never get here: the loader refuses non-finite numbers (our
        // format rule; Aurora's `min >= value` check would let them through, but no agent
        // can offer them, so the task would stay PENDING forever).
        Some(cpu) if cpu <= 0.0 => {
            ctx.sched("resources.cpu", "num_cpus must be greater than 0.0");
        }
        _ => {}
    }
    for (field, value, sched) in [("ram", r.ram, "ram_mb"), ("disk", r.disk, "disk_mb")] {
        match value {
            None => {
                ctx.report(
                    Code::MissingField,
                    "resources",
                    format!("missing required key `{field}`"),
                );
            }
            Some(size) if size.mib() == 0 => {
                ctx.sched(
                    &format!("resources.{field}"),
                    format!("{sched} must be greater than 0.0"),
                )
                .help = Some(format!("{size} is less than 1MiB; Aurora counts whole MiB"));
            }
            Some(size) if size.mib() > i64::MAX as u64 => {
                ctx.spec(&format!("resources.{field}"), "too large");
            }
            _ => {}
        }
    }
}

fn check_constraints(ctx: &mut Ctx<'_>, spec: &JobSpec, role: Option<&str>) {
    let Some(constraints) = &spec.constraints else {
        return;
    };
    for (name, c) in constraints {
        let at = format!("constraints.{name}");
        match (&c.values, c.limit) {
            (Some(_), Some(_)) | (None, None) => {
                ctx.spec(&at, "a constraint needs exactly one of `values` or `limit`");
                continue;
            }
            (None, Some(limit)) => {
                if c.negated.is_some() {
                    ctx.spec(&at, "`negated` only applies to `values`");
                }
                if limit <= 0 {
                    ctx.spec(&format!("{at}.limit"), "limit must be at least 1");
                }
                if name == "dedicated" {
                    ctx.sched(&at, "A dedicated constraint must be of value type.");
                }
            }
            (Some(values), None) => {
                if values.is_empty() {
                    ctx.spec(
                        &format!("{at}.values"),
                        "a value constraint needs at least one value",
                    );
                }
                if name == "dedicated" {
                    if values.len() != 1 {
                        ctx.sched(
                            &format!("{at}.values"),
                            "A dedicated constraint must have exactly one value",
                        );
                    } else if let Some(role) = role {
                        let owner = values[0].split('/').next().unwrap_or("");
                        if owner != "*" && owner != role {
                            ctx.sched(
                                &format!("{at}.values[0]"),
                                format!("Only {owner} may use hosts dedicated for that role."),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Returns `Some(data)` for a custom executor (data may be None for executor-less Docker).
fn check_executor(ctx: &mut Ctx<'_>, spec: &JobSpec) -> Option<Option<String>> {
    let docker = matches!(spec.container, Some(crate::model::ContainerSpec::Docker(_)));
    match (&spec.executor, &spec.task) {
        (None, None) if docker => Some(None),
        (None, None) => {
            ctx.sched("", "Configuration may not be null.").help =
                Some("give `task:` (Thermos processes) or `executor:` (a custom executor)".into());
            None
        }
        (None, Some(_)) => Some(None),
        (Some(ex), task) => {
            if ex.name.is_empty() {
                ctx.sched("executor.name", "Executor name may not be left unset.");
            }
            let data = match (&ex.data, &ex.data_file) {
                (Some(_), Some(_)) => {
                    ctx.spec("executor", "give `data` or `data_file`, not both");
                    return None;
                }
                (Some(d), None) => {
                    // Thermos parses its payload as JSON; a data_file is checked the same way.
                    if ex.name == AURORA_EXECUTOR
                        && let Err(e) = serde_json::from_str::<serde_json::Value>(d)
                    {
                        ctx.report(
                            Code::InvalidValue,
                            "executor.data",
                            format!("AuroraExecutor `data` is not valid JSON: {e}"),
                        );
                    }
                    Some(d.clone())
                }
                (None, Some(file)) => read_data_file(ctx, file),
                (None, None) if ex.name == AURORA_EXECUTOR && task.is_some() => return Some(None),
                (None, None) => {
                    ctx.spec("executor", "a custom executor needs `data` or `data_file`");
                    return None;
                }
            };
            if task.is_some() {
                ctx.spec("task", "`task` builds the Thermos payload; it cannot be combined with executor `data`/`data_file`");
            }
            data.map(Some)
        }
    }
}

fn read_data_file(ctx: &mut Ctx<'_>, file: &str) -> Option<String> {
    let Some(base) = ctx.file.base_dir.clone() else {
        ctx.report(
            Code::DataFile,
            "executor.data_file",
            "`data_file` needs a spec read from a file",
        );
        return None;
    };
    let path = base.join(file);
    match crate::load::read_regular_file(&path, crate::load::MAX_PAYLOAD_BYTES) {
        Err(e) => {
            ctx.report(
                Code::DataFile,
                "executor.data_file",
                format!("cannot read `{}`: {e}", path.display()),
            );
            None
        }
        Ok(bytes) => match String::from_utf8(bytes) {
            Err(_) => {
                ctx.report(
                    Code::DataFile,
                    "executor.data_file",
                    format!("`{}` is not UTF-8", path.display()),
                );
                None
            }
            Ok(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Err(e) => {
                    ctx.report(
                        Code::DataFile,
                        "executor.data_file",
                        format!("`{}` is not valid JSON: {e}", path.display()),
                    );
                    None
                }
                Ok(_) => Some(text.trim_end().to_string()),
            },
        },
    }
}

fn check_task(ctx: &mut Ctx<'_>, spec: &JobSpec) {
    let Some(task) = &spec.task else { return };
    let Some(processes) = &task.processes else {
        ctx.report(
            Code::MissingField,
            "task",
            "missing required key `processes`",
        );
        return;
    };
    let mut seen = BTreeSet::new();
    for (i, p) in processes.iter().enumerate() {
        if !seen.insert(p.name.as_str()) {
            ctx.spec(
                &format!("task.processes[{i}].name"),
                format!("duplicate process name `{}`", p.name),
            );
        }
        if p.cmdline.trim().is_empty() {
            // Neither the scheduler nor Aurora's client checks this; Thermos would run an
            // empty shell command, which does nothing and exits 0.
            ctx.spec(
                &format!("task.processes[{i}].cmdline"),
                format!("process `{}` has an empty command line", p.name),
            );
        }
        if let Some(d) = p.min_duration {
            whole_secs(ctx, &format!("task.processes[{i}].min_duration"), d);
        }
        if p.cmdline.contains('\0') {
            ctx.report(
                Code::InvalidValue,
                &format!("task.processes[{i}].cmdline"),
                "the command line contains a NUL character (`\\0`), which no command line can hold",
            );
        }
    }
    if let Some(d) = task.finalization_wait {
        whole_secs(ctx, "task.finalization_wait", d);
    }
    if task.sequential == Some(true) && task.order.is_some() {
        ctx.spec(
            "task.order",
            "`sequential: true` already orders the processes; remove `order`",
        );
    }
    if let Some(order) = &task.order {
        let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (i, chain) in order.iter().enumerate() {
            for (j, name) in chain.iter().enumerate() {
                if !seen.contains(name.as_str()) {
                    ctx.spec(
                        &format!("task.order[{i}][{j}]"),
                        format!("no process named `{name}`"),
                    );
                }
            }
            for w in chain.windows(2) {
                edges
                    .entry(w[0].as_str())
                    .or_default()
                    .insert(w[1].as_str());
            }
        }
        if has_cycle(&edges) {
            ctx.spec("task.order", "the order constraints form a cycle");
        }
    }
}

fn has_cycle(edges: &BTreeMap<&str, BTreeSet<&str>>) -> bool {
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
    ) -> bool {
        match state.get(n) {
            Some(1) => return true,
            Some(2) => return false,
            _ => {}
        }
        state.insert(n, 1);
        if let Some(next) = edges.get(n) {
            for m in next {
                if visit(m, edges, state) {
                    return true;
                }
            }
        }
        state.insert(n, 2);
        false
    }
    let mut state = BTreeMap::new();
    edges.keys().any(|n| visit(n, edges, &mut state))
}

fn whole_secs(ctx: &mut Ctx<'_>, at: &str, d: Duration) {
    if d.whole_secs().is_none() {
        ctx.spec(
            at,
            format!("`{d}` must be a whole number of seconds (Thermos counts seconds)"),
        );
    }
}

fn check_kind(ctx: &mut Ctx<'_>, spec: &JobSpec, kind: JobKind) {
    match (kind, &spec.cron) {
        (JobKind::Cron, None) => {
            ctx.report(
                Code::MissingField,
                "",
                "a cron job needs `cron: { schedule: ... }`",
            );
        }
        (JobKind::Service, Some(c)) => {
            let s = c.schedule.clone().unwrap_or_default();
            ctx.sched(
                "cron",
                format!("A service task may not be run on a cron schedule: {s}"),
            );
        }
        (JobKind::Adhoc, Some(_)) => {
            ctx.spec("cron", "`cron` is only for `kind: cron`");
        }
        (JobKind::Cron, Some(c)) => {
            match &c.schedule {
                None => {
                    ctx.report(
                        Code::MissingField,
                        "cron",
                        "missing required key `schedule`",
                    );
                }
                Some(s) => {
                    // The shared CrontabEntry rules (aurora-cron), the emulator's too: the
                    // scheduler's answer as the message, Aurora's own reason in the help.
                    if let Err(e) = cron::check(s) {
                        ctx.sched("cron.schedule", e.scheduler_message(s)).help = Some(format!(
                            "{e} — five fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12, JAN-DEC) day-of-week (0-6, SUN-SAT; 7 is not Sunday); `*`, `N`, `A-B`, `*/S`, `A-B/S` (S < B), lists; not both day fields"
                        ));
                    }
                }
            }
            if c.collision_policy == Some(CollisionPolicy::RunOverlap) {
                ctx.sched(
                    "cron.collision_policy",
                    "The RUN_OVERLAP collision policy has been removed (AURORA-38).",
                );
            }
        }
        _ => {}
    }
    if kind == JobKind::Cron && spec.update.is_some() {
        ctx.spec(
            "update",
            "cron jobs are not rolled out with updates; remove `update`",
        );
    }
}

fn check_update(ctx: &mut Ctx<'_>, spec: &JobSpec, instances: u32, rules: &Rules) {
    let Some(u) = &spec.update else { return };
    match &u.strategy {
        Some(StrategySpec::Queue(q)) if q.size == Some(0) => {
            ctx.sched(
                "update.strategy.queue.size",
                "Update group size must be positive.",
            );
        }
        Some(StrategySpec::Batch(b)) if b.size == Some(0) => {
            ctx.sched(
                "update.strategy.batch.size",
                "Update group size must be positive.",
            );
        }
        Some(StrategySpec::VariableBatch(v)) => {
            if v.sizes.is_empty() {
                ctx.sched(
                    "update.strategy.variable_batch.sizes",
                    "Update group size must be positive.",
                );
            }
            for (i, s) in v.sizes.iter().enumerate() {
                if *s == 0 {
                    ctx.sched(
                        &format!("update.strategy.variable_batch.sizes[{i}]"),
                        "Update group size must be positive.",
                    );
                }
            }
        }
        _ => {}
    }
    let per = u64::from(u.max_per_instance_failures.unwrap_or(0));
    if per * u64::from(instances) > rules.max_update_instance_failures {
        ctx.sched(
            "update.max_per_instance_failures",
            format!(
                "max_per_instance_failures * instances must be at most {} (here {per} * {instances})",
                rules.max_update_instance_failures
            ),
        );
    }
    if let Some(total) = u.max_failed_instances
        && instances > 0
        && total >= instances
    {
        ctx.sched(
            "update.max_failed_instances",
            format!(
                "max_failed_instances ({total}) must be lesser than the job size ({instances})"
            ),
        );
    }
    if u.sla_aware == Some(true) && spec.sla_policy.is_none() {
        ctx.spec(
            "update.sla_aware",
            "`sla_aware: true` needs an `sla_policy` on the job",
        );
    }
    for (field, d) in [("watch", u.watch), ("pulse_interval", u.pulse_interval)] {
        if let Some(d) = d
            && d.millis() > i32::MAX as u128
        {
            ctx.spec(
                &format!("update.{field}"),
                format!("`{d}` is too long (at most 24 days)"),
            );
        }
    }
    if u.pulse_interval.is_some_and(|d| d.millis() == 0) {
        ctx.spec("update.pulse_interval", "must be positive");
    }
}

/// The tier and `production` flag Aurora's client sends for `spec` on a cluster with
/// `rules.tiers`: the one of the two the spec leaves out is backfilled.
pub fn placement(spec: &JobSpec, rules: &Rules) -> Placement {
    rules
        .tiers
        .client_placement(spec.tier.as_deref(), spec.production.unwrap_or(false))
}

/// `ConfigurationManager.validateSlaPolicy` (rel/0.22.0), with its messages. It runs on what
/// the scheduler receives, so a job without `tier` is judged by the tier the client gives it.
fn check_sla(ctx: &mut Ctx<'_>, spec: &JobSpec, instances: u32, rules: &Rules) {
    let Some(sla) = &spec.sla_policy else { return };
    let placed = placement(spec, rules);
    let tier = placed.tier.as_str();
    let production = rules.tiers.tiers.get(tier).map(|s| s.production());
    if production == Some(false) && !rules.sla_aware_kill_non_prod {
        ctx.sched(
            "sla_policy",
            format!("Tier '{tier}' does not support SlaPolicy."),
        )
        .help = Some(if spec.tier.is_some() {
            "SLA policies need a production tier, e.g. `tier: preferred`".to_string()
        } else {
            format!(
                "without `tier` the job is placed on `{tier}`; SLA policies need a production tier, e.g. `tier: preferred` or `production: true`"
            )
        });
    }
    let (at, duration, kind) = match sla {
        SlaPolicySpec::Coordinator(_) => return,
        SlaPolicySpec::Count(c) => {
            if c.count >= u64::from(instances) {
                ctx.sched(
                    "sla_policy.count.count",
                    format!(
                        "Current CountSlaPolicy: count={} will not allow any instances to be killed. Must be less than instanceCount={instances}.",
                        c.count
                    ),
                );
            }
            ("sla_policy.count", c.duration, "CountSlaPolicy")
        }
        SlaPolicySpec::Percentage(p) => {
            // The scheduler's arithmetic, in doubles: n - n * (percentage / 100) < 1.
            let n = f64::from(instances);
            if n - n * (p.percentage / 100.0) < 1.0 {
                ctx.sched(
                    "sla_policy.percentage.percentage",
                    format!(
                        "Current PercentageSlaPolicy: percentage={:.6} will not allow any instances to be killed. Must be less than {:.6}.",
                        p.percentage,
                        (n - 1.0) / n * 100.0
                    ),
                );
            } else if p.percentage.is_nan() || p.percentage < 0.0 {
                // The scheduler lets a negative (or NaN) percentage through; it means nothing.
                ctx.spec(
                    "sla_policy.percentage.percentage",
                    "the percentage must be between 0 and 100",
                );
            }
            ("sla_policy.percentage", p.duration, "PercentageSlaPolicy")
        }
    };
    if instances < rules.min_instances_for_sla {
        ctx.sched(
            at,
            format!(
                "Job with fewer than {} instances cannot have Percentage/Count SlaPolicy.",
                rules.min_instances_for_sla
            ),
        );
    }
    match duration.whole_secs() {
        Some(s) if s > rules.max_sla_duration_secs => {
            ctx.sched(
                &format!("{at}.duration"),
                format!(
                    "{kind}: durationSecs={s} must be less than cluster-wide maximum of {} secs.",
                    rules.max_sla_duration_secs
                ),
            );
        }
        None => whole_secs(ctx, &format!("{at}.duration"), duration),
        _ => {}
    }
}

/// Mesos fetcher URIs. The scheduler does not look inside them (the agent's fetcher fails
/// the task later), so these are this format's rules: a `scheme://` URI needs a host, except
/// `file://`.
fn check_fetch(ctx: &mut Ctx<'_>, spec: &JobSpec) {
    for (i, f) in spec.fetch.iter().flatten().enumerate() {
        let Some((scheme, rest)) = f.uri.split_once("://") else {
            continue;
        };
        if scheme.eq_ignore_ascii_case("file") {
            continue;
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = match host_port.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host_port.split(':').next().unwrap_or(""),
        };
        if host.is_empty() {
            ctx.spec(
                &format!("fetch[{i}].uri"),
                format!("fetch URI `{}` has no host", f.uri),
            );
        }
    }
}

/// Fields that only go into a payload aurora-apply builds must not be given with a custom
/// executor payload, where they would silently do nothing.
fn check_thermos_fields(ctx: &mut Ctx<'_>, spec: &JobSpec) {
    if spec.task.is_none() {
        for (field, given) in [
            ("health_check", spec.health_check.is_some()),
            ("lifecycle", spec.lifecycle.is_some()),
            ("announce", spec.announce.is_some()),
            ("enable_hooks", spec.enable_hooks.is_some()),
        ] {
            if given {
                ctx.spec(field, format!("`{field}` is part of the Thermos payload built from `task`; this job has no `task`"));
            }
        }
    }
    if let Some(hc) = &spec.health_check
        && hc.http.is_some()
        && hc.shell.is_some()
    {
        ctx.spec("health_check", "give `http` or `shell`, not both");
    }
    if let Some(lc) = spec.lifecycle.as_ref().and_then(|l| l.http.as_ref()) {
        for (f, d) in [
            ("graceful_shutdown_wait", lc.graceful_shutdown_wait),
            ("shutdown_wait", lc.shutdown_wait),
        ] {
            if let Some(d) = d {
                whole_secs(ctx, &format!("lifecycle.http.{f}"), d);
            }
        }
    }
    if let Some(d) = spec.partition_policy.as_ref().and_then(|p| p.delay) {
        whole_secs(ctx, "partition_policy.delay", d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<crate::LoadedJob>, crate::Diagnostics> {
        let f = crate::SourceFile::new("t.yaml", text, crate::Format::Yaml);
        crate::load_sources(&[f], &crate::LoadOptions::default())
    }

    const JOB: &str = "    kind: adhoc\n    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }\n    task: { processes: [{ name: a, cmdline: x }] }\n";

    #[test]
    fn key_wins_over_defaults_but_conflicts_within_a_job() {
        let ok = format!(
            "apiVersion: aurora-apply/v1\ndefaults: {{ cluster: a, role: r, environment: prod }}\njobs:\n  - key: b/s/test/x\n{JOB}"
        );
        let jobs = load(&ok).expect("valid");
        assert_eq!(jobs[0].job.key.to_string(), "b/s/test/x");
        let bad =
            format!("apiVersion: aurora-apply/v1\njobs:\n  - key: b/s/test/x\n    role: t\n{JOB}");
        let err = load(&bad).expect_err("conflict").sorted();
        assert_eq!(err[0].message, "`key` says role `s` but `role` is `t`");
        assert_eq!(err[0].path, "jobs[0].role");
    }

    #[test]
    fn clusters_are_checked_against_the_clusters_file_with_a_suggestion() {
        let text = |key: &str| format!("apiVersion: aurora-apply/v1\njobs:\n  - key: {key}\n{JOB}");
        let options = |known: Option<&[&str]>| crate::LoadOptions {
            rules: Rules {
                known_clusters: known.map(|k| k.iter().map(|s| (*s).to_string()).collect()),
                ..Rules::default()
            },
            ..Default::default()
        };
        let load_with = |key: &str, known: Option<&[&str]>| {
            let f = crate::SourceFile::new("t.yaml", text(key), crate::Format::Yaml);
            crate::load_sources(&[f], &options(known))
        };
        // No clusters file: nothing to check against.
        assert!(load_with("devclustr/r/prod/x", None).is_ok());
        assert!(load_with("devcluster/r/prod/x", Some(&["devcluster", "west"])).is_ok());
        let e = load_with("devclustr/r/prod/x", Some(&["devcluster", "west"]))
            .expect_err("typo")
            .sorted();
        assert_eq!(e[0].code, Code::UnknownCluster);
        assert_eq!(e[0].message, "unknown cluster `devclustr`");
        assert_eq!(e[0].location(), "t.yaml:3:10");
        assert_eq!(
            e[0].help.as_deref(),
            Some("did you mean `devcluster`? known clusters: devcluster, west")
        );
        let far = load_with("zzz/r/prod/x", Some(&[]))
            .expect_err("none")
            .sorted();
        assert_eq!(far[0].help.as_deref(), Some("known clusters: (none)"));
    }

    #[test]
    fn dedicated_constraints() {
        let spec = |v: &str| {
            format!(
                "apiVersion: aurora-apply/v1\njobs:\n  - key: c/www-data/prod/x\n    constraints: {{ dedicated: {v} }}\n{JOB}"
            )
        };
        assert!(load(&spec("{ values: ['www-data/db'] }")).is_ok());
        assert!(load(&spec("{ values: ['*/db'] }")).is_ok());
        let e = load(&spec("{ values: ['other/db'] }"))
            .expect_err("foreign")
            .sorted();
        assert_eq!(
            e[0].message,
            "Only other may use hosts dedicated for that role."
        );
        assert!(load(&spec("{ values: [a/x, b/y] }")).is_err());
        assert!(load(&spec("{ limit: 1 }")).is_err());
    }

    #[test]
    fn sla_rules() {
        let spec = |n: u32, sla: &str| {
            format!(
                "apiVersion: aurora-apply/v1\njobs:\n  - key: c/r/prod/x\n    tier: preferred\n    instances: {n}\n    sla_policy: {sla}\n    update: {{ sla_aware: true }}\n{JOB}"
            )
        };
        assert!(load(&spec(20, "{ count: { count: 19, duration: 30m } }")).is_ok());
        assert!(load(&spec(19, "{ count: { count: 10, duration: 30m } }")).is_err());
        assert!(load(&spec(20, "{ count: { count: 20, duration: 30m } }")).is_err());
        assert!(
            load(&spec(
                20,
                "{ percentage: { percentage: 95, duration: 3h } }"
            ))
            .is_err()
        );
        assert!(
            load(&spec(
                20,
                "{ percentage: { percentage: 99, duration: 1h } }"
            ))
            .is_err()
        );
        assert!(load(&spec(2, "{ coordinator: { url: 'http://c' } }")).is_ok());
        assert!(load(&spec(20, "{ percentage: { percentage: 0, duration: 1h } }")).is_ok());
        assert!(
            load(&spec(
                20,
                "{ percentage: { percentage: -5, duration: 1h } }"
            ))
            .is_err()
        );
    }

    #[test]
    fn sla_policies_need_a_production_tier() {
        let spec = |tier: &str| {
            format!(
                "apiVersion: aurora-apply/v1\njobs:\n  - key: c/r/prod/x\n{tier}    sla_policy: {{ coordinator: {{ url: 'http://c' }} }}\n{JOB}"
            )
        };
        assert!(load(&spec("    tier: preferred\n")).is_ok());
        for (tier, name) in [
            ("", "preemptible"),
            ("    tier: preemptible\n", "preemptible"),
            ("    tier: revocable\n", "revocable"),
        ] {
            let e = load(&spec(tier)).expect_err("not production").sorted();
            assert_eq!(
                e[0].message,
                format!("Tier '{name}' does not support SlaPolicy.")
            );
            assert_eq!(e[0].path, "jobs[0].sla_policy");
        }
        // A tier of the cluster's own is not judged offline.
        assert!(load(&spec("    tier: gold\n")).is_ok());
    }

    #[test]
    fn empty_commands_duplicate_ports_and_hostless_fetch_uris() {
        let head = "apiVersion: aurora-apply/v1\njobs:\n  - key: c/r/prod/x\n    kind: adhoc\n    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }\n";
        let task = "    task: { processes: [{ name: a, cmdline: x }] }\n";
        let e = load(&format!(
            "{head}    task: {{ processes: [{{ name: a, cmdline: ' ' }}] }}\n"
        ))
        .expect_err("empty")
        .sorted();
        assert_eq!(e[0].message, "process `a` has an empty command line");
        assert_eq!(e[0].path, "jobs[0].task.processes[0].cmdline");
        let e = load(&format!("{head}{task}    ports: [http, admin, http]\n"))
            .expect_err("duplicate")
            .sorted();
        assert_eq!(e[0].message, "duplicate port name `http`");
        assert_eq!(e[0].path, "jobs[0].ports[2]");
        for bad in ["http://", "http:///x", "https://user@:80/x", "hdfs://?a"] {
            let e = load(&format!("{head}{task}    fetch: [{{ uri: '{bad}' }}]\n"))
                .expect_err(bad)
                .sorted();
            assert_eq!(e[0].message, format!("fetch URI `{bad}` has no host"));
            assert_eq!(e[0].path, "jobs[0].fetch[0].uri");
        }
        for good in [
            "http://h/x.tgz",
            "file:///opt/x",
            "/opt/x.tgz",
            "http://[::1]:80/x",
        ] {
            assert!(
                load(&format!("{head}{task}    fetch: [{{ uri: '{good}' }}]\n")).is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn executor_and_task_combinations() {
        let head = "apiVersion: aurora-apply/v1\njobs:\n  - key: c/r/prod/x\n    kind: adhoc\n    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }\n";
        let task = "    task: { processes: [{ name: a, cmdline: x }] }\n";
        assert!(load(head).is_err(), "neither task nor executor");
        assert!(
            load(&format!(
                "{head}    executor: {{ name: X, data: '{{}}' }}\n{task}"
            ))
            .is_err()
        );
        assert!(
            load(&format!(
                "{head}    executor: {{ name: AuroraExecutor }}\n{task}"
            ))
            .is_ok()
        );
        assert!(load(&format!("{head}    executor: {{ name: X, data: '{{}}' }}\n    health_check: {{ interval: 5s }}\n")).is_err());
        assert!(
            load(&format!(
                "{head}    container: {{ docker: {{ image: busybox }} }}\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn task_ordering_rules() {
        let spec = |t: &str| {
            format!(
                "apiVersion: aurora-apply/v1\njobs:\n  - key: c/r/prod/x\n    kind: adhoc\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    task: {t}\n"
            )
        };
        let procs = "processes: [{ name: a, cmdline: x }, { name: b, cmdline: y }]";
        assert!(load(&spec(&format!("{{ {procs}, order: [[a, b]] }}"))).is_ok());
        assert!(load(&spec(&format!("{{ {procs}, order: [[a, b], [b, a]] }}"))).is_err());
        assert!(load(&spec(&format!("{{ {procs}, order: [[a, c]] }}"))).is_err());
        assert!(
            load(&spec(&format!(
                "{{ {procs}, order: [[a, b]], sequential: true }}"
            )))
            .is_err()
        );
        assert!(
            load(&spec(
                "{ processes: [{ name: a, cmdline: x }, { name: a, cmdline: y }] }"
            ))
            .is_err()
        );
        assert!(load(&spec("{ processes: [{ name: a/b, cmdline: x }] }")).is_err());
        assert!(load(&spec("{ processes: [] }")).is_err());
    }

    #[test]
    fn environments() {
        for ok in ["prod", "devel", "test", "staging", "staging12"] {
            assert!(default_environment_ok(ok));
        }
        for bad in ["production", "stagingx", "dev", ""] {
            assert!(!default_environment_ok(bad));
        }
    }

    #[test]
    fn identifiers() {
        assert!(good_identifier("www-data"));
        assert!(good_identifier("a.b_c-1"));
        assert!(!good_identifier("a b"));
        assert!(!good_identifier("a@b"));
        assert!(!good_identifier("é"));
        assert!(!good_identifier(&"x".repeat(256)));
    }
}
