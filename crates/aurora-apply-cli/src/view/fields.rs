//! A job change's field diffs as lines, the way the plan shows them: `~ path  before → after
//! # consequence`, multi-line strings as a line diff. `status` shows drift with these lines,
//! so a drifted field reads the same in `plan` and `status`.

use aurora_apply::plan::JobChange;

use super::{consequence, multiline_diff, value_text};

/// The lines of every changed field of `change`, each indented by `indent` spaces.
pub fn field_lines(change: &JobChange, indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    let mut out = Vec::new();
    for field in &change.fields {
        if let Some(lines) = multiline_diff(field.before.as_ref(), field.after.as_ref()) {
            out.push(format!(
                "{pad}~ {}   # {}",
                field.path,
                consequence(field, change)
            ));
            for line in lines {
                out.push(format!("{pad}    {}", line.trim_end()));
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
        out.push(format!(
            "{pad}{mark} {:<28} {before} → {after}   # {}",
            field.path,
            consequence(field, change)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use aurora_apply::compare::{Effect, FieldChange};
    use aurora_apply::plan::{
        Action, InstanceImpact, JobChange, JobKind, Plan, PlanInputs, PlanScope, Summary,
    };
    use aurora_apply::ranges::InstanceRange;
    use serde_json::Value;

    /// Until `plan_text` calls [`super::field_lines`] itself, the two must print the same.
    #[test]
    fn field_lines_are_the_plans_field_lines() {
        let change = JobChange {
            instances: InstanceImpact {
                update: vec![InstanceRange { first: 0, last: 1 }],
                ..InstanceImpact::default()
            },
            fields: vec![
                FieldChange {
                    path: "resources.cpu".into(),
                    before: Some(Value::from(1.0)),
                    after: Some(Value::from(2.0)),
                    effect: Effect::Restart,
                },
                FieldChange {
                    path: "task.processes[hello].cmdline".into(),
                    before: Some(Value::from("echo a\nsleep 1\n")),
                    after: Some(Value::from("echo b\nsleep 1\n")),
                    effect: Effect::Restart,
                },
                FieldChange {
                    path: "metadata.team".into(),
                    before: None,
                    after: Some(Value::from("web")),
                    effect: Effect::Restart,
                },
            ],
            instance_count: (Some(2), Some(2)),
            ownership: aurora_apply::plan::Ownership::Owned,
            ..JobChange::new(
                "devcluster/www-data/prod/hello".parse().expect("key"),
                JobKind::Service,
                vec![Action::Update],
            )
        };
        let changes = vec![change.clone()];
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
        let text = crate::view::plan_text::render(&plan, false);
        let from_plan: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("      ") && !l.trim_start().starts_with('!'))
            .collect();
        assert_eq!(super::field_lines(&change, 6), from_plan);
    }
}
