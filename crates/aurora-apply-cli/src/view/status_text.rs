//! `status` for people: per job its verdict line (in sync, or drifted with what an apply
//! would do), the drifted fields as the plan shows them (before → after), the update running
//! on it with its progress, and a table of its instances: state, for how long, whether the
//! instance runs the spec's config, where, and why it is pending.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use aurora_apply::ranges::{display, to_ranges};
use aurora_apply::status::{InstanceStatus, JobStatus, SyncState, UpdateStatus};

use super::fields::field_lines;
use super::headline;
use super::time::{age, timestamp};

/// Jobs with more instances than this get one table row per group of instances alike (state
/// and config), not one per instance.
pub const MAX_ROWS: usize = 20;

fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

/// Renders every job's status; `now_ms` is what "for how long" is measured against.
pub fn render(statuses: &[JobStatus], now_ms: i64, color: bool) -> String {
    let mut out = String::new();
    for (i, status) in statuses.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        job(&mut out, status, now_ms, color);
    }
    out
}

fn job(out: &mut String, status: &JobStatus, now_ms: i64, color: bool) {
    let style = match status.state {
        SyncState::InSync => AnsiColor::Green.on_default(),
        SyncState::Drifted | SyncState::Updating => AnsiColor::Yellow.on_default(),
        SyncState::NotCreated => AnsiColor::Red.on_default(),
    };
    let mut verdict = paint(status.state.as_str(), style, color);
    if matches!(status.state, SyncState::Drifted | SyncState::Updating) {
        let _ = write!(verdict, " · {}", headline(&status.change));
    }
    let _ = writeln!(out, "{:<45} {verdict}", status.job_key);
    for line in field_lines(&status.change, 6) {
        let _ = writeln!(out, "{line}");
    }
    if let Some(update) = &status.active_update {
        let _ = writeln!(out, "    {}", update_line(update));
    }
    if status.tasks.len() > MAX_ROWS {
        grouped_table(out, status, now_ms);
    } else {
        table(out, &status.tasks, now_ms);
    }
}

/// `update ID STATE: 1/2 instances updated, 1 failed · started by alice at …`, leaving out
/// what the scheduler did not say.
pub fn update_line(update: &UpdateStatus) -> String {
    let u = &update.update;
    let mut line = format!("update {} {}", u.id, u.status);
    if let Some(p) = &update.progress {
        let _ = write!(line, ": {}/{} instances updated", p.updated, p.total);
        if p.failed > 0 {
            let _ = write!(
                line,
                ", {} failed ([{}])",
                p.failed,
                display(&p.failed_instances)
            );
        }
    }
    let mut started = Vec::new();
    if !u.user.trim().is_empty() {
        started.push(format!("by {}", u.user));
    }
    if u.created_at_ms > 0 {
        started.push(format!("at {}", timestamp(u.created_at_ms)));
    }
    if !started.is_empty() {
        let _ = write!(line, " · started {}", started.join(" "));
    }
    if !u.ours {
        line.push_str(" (not started by aurora-apply)");
    }
    line
}

fn matches_word(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

fn table(out: &mut String, tasks: &[InstanceStatus], now_ms: i64) {
    if tasks.is_empty() {
        return;
    }
    let mut rows = vec![vec![
        "instance".to_string(),
        "state".into(),
        "for".into(),
        "matches spec".into(),
        "host".into(),
        String::new(),
    ]];
    for t in tasks {
        let l = &t.live;
        rows.push(vec![
            l.instance.to_string(),
            l.status.clone(),
            l.since_ms.map_or_else(|| "-".into(), |s| age(now_ms - s)),
            matches_word(t.config_matches_spec).into(),
            l.host.clone().unwrap_or_else(|| "-".into()),
            l.pending_reason
                .as_ref()
                .map(|r| format!("pending: {r}"))
                .unwrap_or_default(),
        ]);
    }
    out.push_str(&super::rows_text(&rows, 4));
}

/// One row per (state, matches spec), with the instances' ranges and their time in state
/// from the shortest to the longest; then the distinct pending reasons.
fn grouped_table(out: &mut String, status: &JobStatus, now_ms: i64) {
    let mut groups: Vec<(String, Option<bool>, Vec<&InstanceStatus>)> = Vec::new();
    for t in &status.tasks {
        match groups
            .iter_mut()
            .find(|(s, m, _)| *s == t.live.status && *m == t.config_matches_spec)
        {
            Some((_, _, members)) => members.push(t),
            None => groups.push((t.live.status.clone(), t.config_matches_spec, vec![t])),
        }
    }
    let mut rows = vec![vec![
        "instances".to_string(),
        "count".into(),
        "state".into(),
        "for".into(),
        "matches spec".into(),
    ]];
    for (state, matches, members) in &groups {
        let ids = members.iter().map(|t| t.live.instance).collect();
        let ages: Vec<i64> = members
            .iter()
            .filter_map(|t| t.live.since_ms)
            .map(|s| now_ms - s)
            .collect();
        let span = match (ages.iter().min(), ages.iter().max()) {
            (Some(a), Some(b)) if age(*a) != age(*b) => format!("{}–{}", age(*a), age(*b)),
            (Some(a), _) => age(*a),
            _ => "-".into(),
        };
        rows.push(vec![
            display(&to_ranges(&ids)),
            members.len().to_string(),
            state.clone(),
            span,
            matches_word(*matches).into(),
        ]);
    }
    out.push_str(&super::rows_text(&rows, 4));
    for reason in &status.pending_reasons {
        let ids = status
            .tasks
            .iter()
            .filter(|t| t.live.pending_reason.as_ref() == Some(reason))
            .map(|t| t.live.instance)
            .collect();
        let _ = writeln!(out, "    pending [{}]: {reason}", display(&to_ranges(&ids)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurora_apply::compare::{Effect, FieldChange};
    use aurora_apply::instances::LiveInstance;
    use aurora_apply::plan::{Action, ActiveUpdate, InstanceImpact, JobChange, JobKind};
    use aurora_apply::ranges::InstanceRange;
    use aurora_apply::updates::Progress;
    use serde_json::Value;

    fn instance(id: i32, status: &str, since: i64, matches: bool) -> InstanceStatus {
        InstanceStatus {
            live: LiveInstance {
                instance: id,
                task_id: format!("t{id}"),
                status: status.into(),
                since_ms: Some(since),
                host: (status == "RUNNING").then(|| format!("agent-{id}")),
                pending_reason: (status == "PENDING").then(|| "Insufficient CPU".to_string()),
                protected: false,
            },
            config_matches_spec: Some(matches),
        }
    }

    #[test]
    fn drift_shows_values_instances_and_the_update() {
        let change = JobChange {
            instances: InstanceImpact {
                update: vec![InstanceRange { first: 0, last: 0 }],
                unchanged: vec![InstanceRange { first: 1, last: 1 }],
                ..InstanceImpact::default()
            },
            fields: vec![FieldChange {
                path: "resources.cpu".into(),
                before: Some(Value::from(1.0)),
                after: Some(Value::from(2.0)),
                effect: Effect::Restart,
            }],
            instance_count: (Some(2), Some(2)),
            ownership: aurora_apply::plan::Ownership::Owned,
            ..JobChange::new(
                "devcluster/www-data/prod/hello".parse().expect("key"),
                JobKind::Service,
                vec![Action::Update],
            )
        };
        let status = JobStatus {
            job_key: change.job_key.clone(),
            state: SyncState::Drifted,
            instances: Some(2),
            fields: change.fields.clone(),
            active_update: Some(UpdateStatus {
                update: ActiveUpdate {
                    id: "u-1".into(),
                    status: "ROLLING_FORWARD".into(),
                    user: String::new(),
                    created_at_ms: 0,
                    ours: true,
                },
                progress: Some(Progress {
                    updated: 1,
                    failed: 0,
                    total: 2,
                    failed_instances: Vec::new(),
                }),
            }),
            pending_reasons: vec!["Insufficient CPU".into()],
            tasks: vec![
                instance(0, "RUNNING", 1_000, false),
                instance(1, "PENDING", 58_000, true),
            ],
            change,
        };
        insta::assert_snapshot!(render(&[status], 70_000, false), @r"
        devcluster/www-data/prod/hello                drifted · rolling update · restart [0]
              ~ resources.cpu                1.0 → 2.0   # restarts [0]
            update u-1 ROLLING_FORWARD: 1/2 instances updated
            instance  state    for    matches spec  host
            0         RUNNING  1m09s  no            agent-0
            1         PENDING  12s    yes           -        pending: Insufficient CPU
        ");
    }

    #[test]
    fn big_jobs_group_their_instances() {
        let change = JobChange {
            instance_count: (Some(30), Some(30)),
            ownership: aurora_apply::plan::Ownership::Owned,
            ..JobChange::new(
                "devcluster/www-data/prod/big".parse().expect("key"),
                JobKind::Service,
                vec![Action::Noop],
            )
        };
        let mut tasks: Vec<InstanceStatus> =
            (0..25).map(|i| instance(i, "RUNNING", 0, true)).collect();
        tasks.extend((25..30).map(|i| instance(i, "PENDING", 60_000, true)));
        let status = JobStatus {
            job_key: change.job_key.clone(),
            state: SyncState::InSync,
            instances: Some(30),
            fields: Vec::new(),
            active_update: None,
            pending_reasons: vec!["Insufficient CPU".into()],
            tasks,
            change,
        };
        insta::assert_snapshot!(render(&[status], 120_000, false), @r"
        devcluster/www-data/prod/big                  in sync
            instances  count  state    for    matches spec
            0-24       25     RUNNING  2m00s  yes
            25-29      5      PENDING  1m00s  yes
            pending [25-29]: Insufficient CPU
        ");
    }
}
