//! The plan as terminal text: verdict first, one line per changed job with its symbol and
//! consequence, then its changed fields.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use aurora_apply::plan::Plan;

use super::{headline, reason, symbol, verdict};

fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

/// The job's key as the plan shows it, with its kind unless a service.
fn keyed(change: &aurora_apply::plan::JobChange) -> String {
    let kind = match change.job_kind {
        aurora_apply::plan::JobKind::Cron => " (cron)",
        aurora_apply::plan::JobKind::Adhoc => " (adhoc)",
        aurora_apply::plan::JobKind::Service => "",
    };
    format!("{}{kind}", change.job_key)
}

/// Renders `plan`; `color` adds ANSI colours (decoration only: symbols carry the meaning).
pub fn render(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    if let (Some(n), Some(rollout)) = (plan.scope.stage, &plan.rollout) {
        let _ = writeln!(
            out,
            "Partial plan: only stage {n}/{} of the rollout ({}; --stage {n}).",
            rollout.stages.len(),
            rollout.clusters_of(n).unwrap_or_default().join(", ")
        );
    }
    if !plan.scope.targets.is_empty() {
        let _ = writeln!(
            out,
            "Partial plan: only jobs matching --target {} (nothing else was looked at or can be pruned).",
            plan.scope.targets.join(", ")
        );
    }
    let _ = writeln!(out, "{}", verdict(&plan.summary, plan.changes.len()));
    if let Some(line) = super::variables_line(plan) {
        let _ = writeln!(out, "{line}");
    }
    if !plan.summary.has_changes() {
        return out;
    }
    out.push('\n');
    // The key column fits the longest key with its kind: nothing overflows into the next.
    let key_width = plan
        .changes
        .iter()
        .filter(|c| !c.is_noop())
        .map(|c| keyed(c).chars().count())
        .max()
        .unwrap_or(0)
        .max(45);
    match &plan.rollout {
        Some(rollout) => write_stages(&mut out, plan, rollout, key_width, color),
        None => {
            for change in plan.changes.iter().filter(|c| !c.is_noop()) {
                write_change(&mut out, change, key_width, color);
            }
        }
    }
    let destructive: Vec<_> = plan.changes.iter().filter(|c| c.destructive).collect();
    if !destructive.is_empty() {
        let removed: usize = destructive
            .iter()
            .map(|c| aurora_apply::ranges::count(&c.instances.remove))
            .sum();
        let _ = writeln!(
            out,
            "\n{} Destructive: {} job{} affected, {removed} instance{} killed.",
            paint("!", AnsiColor::Red.on_default(), color),
            destructive.len(),
            if destructive.len() == 1 { "" } else { "s" },
            if removed == 1 { "" } else { "s" },
        );
    }
    out
}

/// One changed job: its line, its fields and its active update.
fn write_change(
    out: &mut String,
    change: &aurora_apply::plan::JobChange,
    key_width: usize,
    color: bool,
) {
    let sym = symbol(change);
    let style = match sym {
        "+" => AnsiColor::Green.on_default(),
        "-" | "-/+" => AnsiColor::Red.on_default(),
        _ => AnsiColor::Yellow.on_default(),
    };
    // Padding is by visible width: the colour codes around the symbol take no column.
    let mut line = format!(
        "{}{}{:<key_width$} {}",
        paint(sym, style, color),
        " ".repeat(4usize.saturating_sub(sym.chars().count())),
        keyed(change),
        headline(change)
    );
    if let Some(why) = reason(change) {
        let _ = write!(line, "   # {why}");
    }
    if change.protected && change.destructive {
        line.push_str("   # PROTECTED: will be refused");
    }
    if let Some(note) = super::ownership_note(change) {
        let _ = write!(line, "   # {note}");
    }
    let _ = writeln!(out, "{}", line.trim_end());
    for line in super::fields::field_lines(change, 6) {
        let _ = writeln!(out, "{line}");
    }
    if let Some(update) = &change.active_update {
        let _ = writeln!(
            out,
            "      ! update {} is {} (started by {}){}",
            update.id,
            update.status,
            update.user,
            if update.ours {
                ""
            } else {
                ": not ours, apply will refuse (exit 4)"
            }
        );
    }
}

/// The changed jobs grouped by rollout stage, each stage headed by its number, clusters and
/// the soak that follows it — as apply runs it: only before a later stage with changes (a
/// `--stage N` plan shows that stage only).
fn write_stages(
    out: &mut String,
    plan: &Plan,
    rollout: &aurora_apply::rollout::Rollout,
    key_width: usize,
    color: bool,
) {
    let groups = rollout.group(&plan.changes);
    let total = groups.len();
    let soak = humantime::format_duration(rollout.soak()).to_string();
    for (i, group) in groups
        .iter()
        .filter(|g| plan.scope.stage.is_none_or(|n| n == g.number))
        .enumerate()
    {
        if i > 0 {
            out.push('\n');
        }
        let mut head = format!(
            "Stage {}/{total}: {}",
            group.number,
            group.stage.clusters.join(", ")
        );
        if group.stage.implicit {
            head.push_str(" (implicit: clusters no stage names)");
        }
        if !group.has_changes() {
            head.push_str(" — no changes");
        } else if rollout.soak_ms > 0
            && groups
                .iter()
                .any(|later| later.number > group.number && later.has_changes())
        {
            let _ = write!(head, " — then soak {soak}");
        }
        let _ = writeln!(out, "{}", paint(&head, Style::new().bold(), color));
        for change in group
            .clusters
            .iter()
            .flat_map(|(_, changes)| changes)
            .filter(|c| !c.is_noop())
        {
            write_change(out, change, key_width, color);
        }
    }
}

#[cfg(test)]
mod tests {
    use aurora_apply::compare::{Effect, FieldChange};
    use aurora_apply::plan::{
        Action, ActionReason, JobChange, JobKind, Ownership, Plan, PlanInputs, PlanScope, Summary,
    };
    use aurora_apply::ranges::InstanceRange;
    use serde_json::Value;

    fn change(key: &str, actions: Vec<Action>) -> JobChange {
        JobChange {
            instance_count: (Some(1), Some(1)),
            ownership: Ownership::Owned,
            ..JobChange::new(key.parse().expect("key"), JobKind::Service, actions)
        }
    }

    fn plan_of(changes: Vec<JobChange>) -> Plan {
        Plan {
            format_version: "1.0".into(),
            tool_version: "test".into(),
            created_at: String::new(),
            inputs: PlanInputs::default(),
            scope: PlanScope::default(),
            summary: Summary::of(&changes),
            changes,
            variables: Vec::new(),
            rollout: None,
        }
    }

    /// Removes ANSI escape sequences (CSI … letter).
    fn strip_ansi(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn colour_changes_no_column_and_long_keys_with_kinds_keep_the_columns() {
        let mut adhoc = change(
            "devcluster/www-data-batch/staging1/nightly-reindex",
            vec![Action::Create],
        );
        adhoc.job_kind = JobKind::Adhoc;
        adhoc.instance_count = (None, Some(1));
        let mut cron = change(
            "devcluster/www-data/prod/backup",
            vec![Action::CronSchedule],
        );
        cron.job_kind = JobKind::Cron;
        let mut kill = change("devcluster/www-data/prod/old", vec![Action::Kill]);
        kill.destructive = true;
        let plan = plan_of(vec![adhoc, cron, kill]);
        let plain = super::render(&plan, false);
        let coloured = super::render(&plan, true);
        assert_ne!(plain, coloured, "colour was asked for");
        assert_eq!(strip_ansi(&coloured), plain);
        // Every job line's headline starts in the same column, after its key and kind.
        let headline_col = |key: &str| {
            let line = plain.lines().find(|l| l.contains(key)).unwrap_or("");
            let after = line.find(key).map_or(0, |i| i + key.len());
            after + line[after..].find(|c: char| c != ' ').unwrap_or(0)
        };
        let cols = [
            headline_col("nightly-reindex (adhoc)"),
            headline_col("backup (cron)"),
            headline_col("prod/old"),
        ];
        assert!(
            cols.iter().all(|c| *c == cols[0] && *c > 0),
            "{cols:?}\n{plain}"
        );
    }

    #[test]
    fn verdict_first_then_symbols_fields_and_consequences() {
        let mut update = change("devcluster/www-data/prod/hello", vec![Action::Update]);
        update.instances.update = vec![InstanceRange { first: 0, last: 0 }];
        update.fields = vec![
            FieldChange {
                path: "resources.cpu".into(),
                before: Some(Value::from(1.0)),
                after: Some(Value::from(2.0)),
                effect: Effect::Restart,
            },
            FieldChange {
                path: "task.processes[hello].cmdline".into(),
                before: Some(Value::from("while true; do\n  echo hello world\ndone\n")),
                after: Some(Value::from("while true; do\n  echo hello there\ndone\n")),
                effect: Effect::Restart,
            },
        ];
        let mut create = change("devcluster/www-data/prod/web", vec![Action::Create]);
        create.instance_count = (None, Some(4));
        create.instances.add = vec![InstanceRange { first: 0, last: 3 }];
        let mut kill = change("devcluster/www-data/prod/old", vec![Action::Kill]);
        kill.destructive = true;
        kill.action_reason = Some(ActionReason::NotInSpecPruned);
        kill.instance_count = (Some(2), None);
        kill.instances.remove = vec![InstanceRange { first: 0, last: 1 }];
        let noop = change("devcluster/www-data/prod/same", vec![Action::Noop]);
        let changes = vec![create, update, kill, noop];
        let plan = Plan {
            format_version: "1.0".into(),
            tool_version: "test".into(),
            created_at: String::new(),
            inputs: PlanInputs::default(),
            scope: PlanScope::default(),
            summary: Summary::of(&changes),
            changes,
            variables: Vec::new(),
            rollout: None,
        };
        insta::assert_snapshot!(super::render(&plan, false), @r"
        Plan: 1 to create, 1 to update, 1 to kill, 1 unchanged; instances: 4 added, 1 restarted, 2 killed.

        +   devcluster/www-data/prod/web                  create · 4 instances
        ~   devcluster/www-data/prod/hello                rolling update · restart [0]
              ~ resources.cpu                1.0 → 2.0   # restarts [0]
              ~ task.processes[hello].cmdline   # restarts [0]
                    while true; do
                  -   echo hello world
                  +   echo hello there
                    done
        -   devcluster/www-data/prod/old                  kill 2 instances   # owned by aurora-apply, not in the specs (--prune)

        ! Destructive: 1 job affected, 2 instances killed.
        ");
    }
}
