//! Views of the engine's documents: the plan as text, markdown or JSON, and apply events
//! as text lines or NDJSON. Renderers only format; every fact comes from the `Plan` or the
//! `Event`, so `-o json` is the contract and the other forms are its views.

pub mod events;
pub mod fields;
pub mod plan_markdown;
pub mod plan_text;
pub mod restart_text;
pub mod rollout_text;
pub mod status_text;
pub mod time;
pub mod updates_text;

use std::fmt::Write as _;

use aurora_apply::compare::FieldChange;
use aurora_apply::plan::{Action, JobChange, Summary};
use aurora_apply::ranges::display;
use serde_json::Value;

/// The plan's verdict line, first in every human form.
pub fn verdict(summary: &Summary, jobs: usize) -> String {
    if !summary.has_changes() {
        return format!(
            "No changes. {jobs} job{} match{} the live scheduler.",
            if jobs == 1 { "" } else { "s" },
            if jobs == 1 { "es" } else { "" }
        );
    }
    let mut parts = Vec::new();
    for (n, what) in [
        (summary.create, "to create"),
        (summary.update, "to update"),
        (summary.replace, "to replace"),
        (summary.kill, "to kill"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.push(format!("{} unchanged", summary.noop));
    // Instance counts are plan-wide, so they get their own clause.
    let mut instances = Vec::new();
    for (n, what) in [
        (summary.instances_added, "added"),
        (summary.instances_restarted, "restarted"),
        (summary.instances_removed, "killed"),
    ] {
        if n > 0 {
            instances.push(format!("{n} {what}"));
        }
    }
    if !instances.is_empty() {
        return format!(
            "Plan: {}; instances: {}.",
            parts.join(", "),
            instances.join(", ")
        );
    }
    format!("Plan: {}.", parts.join(", "))
}

/// The symbol of a change: `+` create, `~` update, `-` kill, `-/+` replace.
pub fn symbol(change: &JobChange) -> &'static str {
    let creates = change.actions.iter().any(|a| {
        matches!(a, Action::Create)
            || (*a == Action::CronSchedule && change.instance_count.0.is_none())
    });
    let kills = change.actions.iter().any(|a| a.is_destructive());
    match (creates, kills) {
        _ if change.is_noop() => " ",
        (true, true) => "-/+",
        (true, false) => "+",
        (false, true) => "-",
        (false, false) => "~",
    }
}

/// What happens to a job, in a few words (`rolling update · restart [0-9] · add [10-11]`).
pub fn headline(change: &JobChange) -> String {
    let i = &change.instances;
    let mut parts = Vec::new();
    let after = change.instance_count.1.unwrap_or(0);
    let before = change.instance_count.0.unwrap_or(0);
    let what = match symbol(change) {
        "+" if change.actions.contains(&Action::CronSchedule) => "cron job scheduled".to_string(),
        "+" => format!(
            "create · {after} instance{}",
            if after == 1 { "" } else { "s" }
        ),
        "-/+" => "replace".to_string(),
        "-" if change.actions.contains(&Action::CronDeschedule) && before == 0 => {
            "cron job descheduled".to_string()
        }
        "-" => format!(
            "kill {before} instance{}",
            if before == 1 { "" } else { "s" }
        ),
        "~" if change.actions.contains(&Action::Follow) => format!(
            "follow update {} ({}, started by an earlier aurora-apply run) · nothing new is sent",
            change.active_update.as_ref().map_or("", |u| u.id.as_str()),
            change
                .active_update
                .as_ref()
                .map_or("", |u| u.status.as_str()),
        ),
        "~" if change.actions.contains(&Action::AddInstances) => {
            "instances added · nothing running restarts".to_string()
        }
        "~" if change.actions.contains(&Action::CronSchedule) => {
            "cron template replaced · no restart · takes effect next run".to_string()
        }
        "~" => "rolling update".to_string(),
        _ => "no changes".to_string(),
    };
    parts.push(what);
    if symbol(change) == "~" && !change.actions.contains(&Action::CronSchedule) {
        if !i.update.is_empty() {
            parts.push(format!("restart [{}]", display(&i.update)));
        }
        if !i.add.is_empty() {
            parts.push(format!("add [{}]", display(&i.add)));
        }
        if !i.remove.is_empty() {
            parts.push(format!("remove [{}]", display(&i.remove)));
        }
    }
    parts.join(" · ")
}

/// Why, for a comment after the headline.
pub fn reason(change: &JobChange) -> Option<&'static str> {
    use aurora_apply::plan::ActionReason as R;
    Some(match change.action_reason? {
        R::NotInSpecPruned => "owned by aurora-apply, not in the specs (--prune)",
        R::KindChanged => "replacement: the job kind changed",
        R::AdhocNotUpdatable => "replacement: ad-hoc jobs cannot be updated in place",
        R::FewerInstances => "fewer instances: the surplus is killed",
        R::NotOwned => "not created by aurora-apply",
    })
}

/// What the plan says about the ownership of a changed job, for a comment after the
/// headline: jobs aurora-apply did not create are marked, with what changing them needs. A
/// kill or replacement needs `--allow-foreign` (`apply`, `destroy`) or the job's key on the
/// command line (`kill`); the refusal names the option, so the mark only states the fact.
pub fn ownership_note(change: &JobChange) -> Option<&'static str> {
    use aurora_apply::plan::Ownership;
    use aurora_apply::rails::{OwnershipNeed, ownership_need};
    if change.is_noop() {
        return None;
    }
    if change.adopt {
        return Some("not created by aurora-apply: --adopt adds the marker");
    }
    match ownership_need(change) {
        Some(OwnershipNeed::Adopt) => {
            Some("not created by aurora-apply: updating it needs --adopt")
        }
        Some(OwnershipNeed::Replan) => {
            Some("ownership not recorded (a plan from before format 1.1): plan again")
        }
        _ if change.ownership == Ownership::Unowned => Some("not created by aurora-apply"),
        _ => None,
    }
}

/// A field value for people: strings bare when short and single-line, JSON otherwise.
pub fn value_text(value: Option<&Value>) -> String {
    match value {
        None => "(none)".into(),
        Some(Value::String(s)) if !s.contains('\n') => format!("{s:?}"),
        Some(Value::String(s)) => format!("{:?}", s.trim_end()),
        Some(v) => v.to_string(),
    }
}

/// A line diff of two multi-line strings (`-`/`+`/` ` prefixed lines), or `None` when the
/// values are not both strings or neither spans lines.
pub fn multiline_diff(before: Option<&Value>, after: Option<&Value>) -> Option<Vec<String>> {
    let (Some(Value::String(a)), Some(Value::String(b))) = (before, after) else {
        return None;
    };
    if !a.contains('\n') && !b.contains('\n') {
        return None;
    }
    let diff = similar::TextDiff::from_lines(a.as_str(), b.as_str());
    Some(
        diff.iter_all_changes()
            .map(|change| {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                format!("{sign} {}", change.value().trim_end_matches('\n'))
            })
            .collect(),
    )
}

/// The consequence comment of a field change.
pub fn consequence(field: &FieldChange, change: &JobChange) -> String {
    use aurora_apply::compare::Effect as E;
    match field.effect {
        E::Restart if !change.instances.update.is_empty() => {
            format!("restarts [{}]", display(&change.instances.update))
        }
        E::Restart => "restarts".into(),
        E::AddInstances => format!("adds [{}]", display(&change.instances.add)),
        E::RemoveInstances => format!("kills [{}]", display(&change.instances.remove)),
        E::CronNextRun => "cron: takes effect next run".into(),
        E::Replace => "replacement".into(),
        E::None => "no restart".into(),
    }
}

/// Left-aligned columns, two spaces apart, no trailing blanks.
pub fn rows_text(rows: &[Vec<String>], indent: usize) -> String {
    let mut out = String::new();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = " ".repeat(indent);
        for (c, cell) in row.iter().enumerate() {
            let _ = write!(line, "{cell:<width$}  ", width = widths[c]);
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// `Variables: replicas = 8 (--var), token = (sensitive) (environment)`: the values a plan
/// was made with, when its specs use variables.
pub fn variables_line(plan: &aurora_apply::plan::Plan) -> Option<String> {
    if plan.variables.is_empty() {
        return None;
    }
    let shown: Vec<String> = plan
        .variables
        .iter()
        .map(|v| {
            let value = match (&v.value, v.sensitive) {
                (_, true) | (None, _) => aurora_spec::load::vars::MASK.to_string(),
                (Some(value), false) => value.to_string(),
            };
            let from = match v.source.as_str() {
                "command_line" => "--var".to_string(),
                "environment" => format!("{}{}", aurora_spec::load::vars::ENV_PREFIX, v.name),
                "default" => "default".to_string(),
                _ => v.from.clone(),
            };
            format!("{} = {value} ({from})", v.name)
        })
        .collect();
    Some(format!("Variables: {}", shown.join(", ")))
}
