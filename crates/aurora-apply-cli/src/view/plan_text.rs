//! The plan as terminal text: verdict first, one line per changed job with its symbol and
//! consequence, then its changed fields.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use aurora_apply::plan::Plan;

use super::{consequence, headline, reason, symbol, value_text, verdict};

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
