//! The plan as terminal text: verdict first, one line per changed job with its symbol and
//! consequence, then its changed fields.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use aurora_apply::plan::Plan;

use super::{consequence, headline, multiline_diff, reason, symbol, value_text, verdict};

fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

/// Renders `plan`; `color` adds ANSI colours (decoration only: symbols carry the meaning).
pub fn render(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", verdict(&plan.summary, plan.changes.len()));
    if !plan.summary.has_changes() {
        return out;
    }
    out.push('\n');
    for change in plan.changes.iter().filter(|c| !c.is_noop()) {
        let sym = symbol(change);
        let style = match sym {
            "+" => AnsiColor::Green.on_default(),
            "-" | "-/+" => AnsiColor::Red.on_default(),
            _ => AnsiColor::Yellow.on_default(),
        };
        let kind = match change.job_kind {
            aurora_apply::plan::JobKind::Cron => " (cron)",
            aurora_apply::plan::JobKind::Adhoc => " (adhoc)",
            aurora_apply::plan::JobKind::Service => "",
        };
        let mut line = format!(
            "{:<4}{:<45} {}",
            paint(sym, style, color),
            format!("{}{kind}", change.job_key),
            headline(change)
        );
        if let Some(why) = reason(change) {
            let _ = write!(line, "   # {why}");
        }
        if change.protected && change.destructive {
            line.push_str("   # PROTECTED: will be refused");
        }
        let _ = writeln!(out, "{}", line.trim_end());
        for field in &change.fields {
            if let Some(lines) = multiline_diff(field.before.as_ref(), field.after.as_ref()) {
                let _ = writeln!(
                    out,
                    "      ~ {}   # {}",
                    field.path,
                    consequence(field, change)
                );
                for line in lines {
                    let _ = writeln!(out, "          {}", line.trim_end());
                }
                continue;
            }
            let before = value_text(field.before.as_ref());
            let after = value_text(field.after.as_ref());
            let mark = match (&field.before, &field.after) {
                (None, Some(_)) => "+",
                (Some(_), None) => "-",
                _ => "~",
            };
            let _ = writeln!(
                out,
                "      {mark} {:<28} {before} → {after}   # {}",
                field.path,
                consequence(field, change)
            );
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
    let destructive: Vec<_> = plan.changes.iter().filter(|c| c.destructive).collect();
    if !destructive.is_empty() {
        let removed: usize = destructive
            .iter()
            .map(|c| aurora_apply::ranges::count(&c.instances.remove))
            .sum();
        let _ = writeln!(
            out,
            "\n{} Destructive: {} job{} affected, {removed} instance{} killed. Apply needs --allow-destroy (or interactive confirmation).",
            paint("!", AnsiColor::Red.on_default(), color),
            destructive.len(),
            if destructive.len() == 1 { "" } else { "s" },
            if removed == 1 { "" } else { "s" },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use aurora_apply::compare::{Effect, FieldChange};
    use aurora_apply::plan::{
        Action, ActionReason, Execution, InstanceImpact, JobChange, JobKind, Plan, PlanInputs,
        PlanScope, Summary,
    };
    use aurora_apply::ranges::InstanceRange;
    use serde_json::Value;

    fn change(key: &str, actions: Vec<Action>) -> JobChange {
        JobChange {
            job_key: key.into(),
            job_kind: JobKind::Service,
            actions,
            action_reason: None,
            destructive: false,
            live_fingerprint: String::new(),
            active_update: None,
            instances: InstanceImpact::default(),
            fields: Vec::new(),
            instance_count: (Some(1), Some(1)),
            source: None,
            protected: false,
            execution: Execution::default(),
        }
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

        ! Destructive: 1 job affected, 2 instances killed. Apply needs --allow-destroy (or interactive confirmation).
        ");
    }
}
