//! The plan as markdown for pull-request comments: the verdict, a table of changed jobs and a
//! collapsible field diff per job.

use std::fmt::Write as _;

use aurora_apply::plan::Plan;

use super::{consequence, headline, multiline_diff, reason, symbol, value_text, verdict};

/// Renders `plan` as GitHub-flavoured markdown.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### aurora-apply plan\n\n**{}**",
        verdict(&plan.summary, plan.changes.len())
    );
    if let Some(line) = super::variables_line(plan) {
        let _ = writeln!(out, "\n{line}");
    }
    if !plan.summary.has_changes() {
        return out;
    }
    // With a rollout, the jobs in stage order and a stage column, as apply runs them.
    let mut changed: Vec<&aurora_apply::plan::JobChange> =
        plan.changes.iter().filter(|c| !c.is_noop()).collect();
    let stage_of = |c: &aurora_apply::plan::JobChange| {
        plan.rollout
            .as_ref()
            .and_then(|r| r.stage_of(&c.job_key.cluster))
    };
    if let Some(rollout) = &plan.rollout {
        let _ = writeln!(
            out,
            "\nStaged rollout: {} stage(s), soak {} between stages.",
            rollout.stages.len(),
            humantime::format_duration(rollout.soak())
        );
        changed.sort_by_key(|c| stage_of(c).unwrap_or(usize::MAX));
        out.push_str("\n| stage | | job | change |\n| --- | --- | --- | --- |\n");
    } else {
        out.push_str("\n| | job | change |\n| --- | --- | --- |\n");
    }
    for change in changed {
        if plan.rollout.is_some() {
            let _ = write!(
                out,
                "| {} ",
                stage_of(change).map_or_else(|| "-".to_string(), |n| n.to_string())
            );
        }
        let mut what = headline(change);
        if let Some(why) = reason(change) {
            let _ = write!(what, " ({why})");
        }
        if let Some(note) = super::ownership_note(change) {
            let _ = write!(what, " ({note})");
        }
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} |",
            symbol(change),
            change.job_key,
            what
        );
    }
    for change in plan
        .changes
        .iter()
        .filter(|c| !c.is_noop() && !c.fields.is_empty())
    {
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code>: {} field{} changed</summary>\n\n```diff",
            change.job_key,
            change.fields.len(),
            if change.fields.len() == 1 { "" } else { "s" }
        );
        for field in &change.fields {
            if let Some(lines) = multiline_diff(field.before.as_ref(), field.after.as_ref()) {
                let _ = writeln!(out, "  {}:   # {}", field.path, consequence(field, change));
                for line in lines {
                    let _ = writeln!(out, "{}", line.trim_end());
                }
                continue;
            }
            if field.before.is_some() {
                let _ = writeln!(
                    out,
                    "- {}: {}",
                    field.path,
                    value_text(field.before.as_ref())
                );
            }
            if field.after.is_some() {
                let _ = writeln!(
                    out,
                    "+ {}: {}   # {}",
                    field.path,
                    value_text(field.after.as_ref()),
                    consequence(field, change)
                );
            }
        }
        out.push_str("```\n\n</details>\n");
    }
    out
}
