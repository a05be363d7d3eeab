//! Rolling updates for people: `update list` as a table, `update info` as a page (state,
//! progress, provenance, then its events and its instances' events in time order).

use std::fmt::Write as _;

use aurora_apply::ranges::display;
use aurora_apply::updates::UpdateInfo;

use super::time::timestamp;

fn or_dash(s: &str) -> String {
    if s.trim().is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

/// `update list`: one row per update, newest first; a note when there is none.
pub fn list(updates: &[UpdateInfo], what: &str) -> String {
    if updates.is_empty() {
        return format!("No updates of {what}.\n");
    }
    let mut rows = vec![vec![
        "id".to_string(),
        "job".into(),
        "state".into(),
        "user".into(),
        "started".into(),
        "instances".into(),
        "updated".into(),
    ]];
    for u in updates {
        let mut progress = format!("{}/{}", u.progress.updated, u.progress.total);
        if u.progress.failed > 0 {
            let _ = write!(progress, ", {} failed", u.progress.failed);
        }
        rows.push(vec![
            u.id.clone(),
            u.job_key.to_string(),
            u.status.clone(),
            or_dash(&u.user),
            timestamp(u.created_at_ms),
            or_dash(&display(&u.instances)),
            progress,
        ]);
    }
    super::rows_text(&rows, 0)
}

/// `update info`: one update in detail.
pub fn info(u: &UpdateInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "update {}  {}", u.id, u.job_key);
    let mut head: Vec<Vec<String>> = Vec::new();
    head.push(vec![
        "state".into(),
        format!("{}{}", u.status, if u.active { " (active)" } else { "" }),
    ]);
    let mut started = timestamp(u.created_at_ms);
    if !u.user.trim().is_empty() {
        let _ = write!(started, " by {}", u.user);
    }
    if !u.ours {
        started.push_str(" (not by aurora-apply)");
    }
    head.push(vec!["started".into(), started]);
    head.push(vec!["changed".into(), timestamp(u.last_modified_at_ms)]);
    let mut progress = format!("{}/{} updated", u.progress.updated, u.progress.total);
    if u.progress.failed > 0 {
        let _ = write!(
            progress,
            ", {} failed ([{}])",
            u.progress.failed,
            display(&u.progress.failed_instances)
        );
    }
    let instances = if u.instances.is_empty() {
        progress
    } else {
        format!("[{}]: {progress}", display(&u.instances))
    };
    head.push(vec!["instances".into(), instances]);
    if !u.metadata.is_empty() {
        let pairs: Vec<String> = u.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
        head.push(vec!["metadata".into(), pairs.join(", ")]);
    }
    out.push_str(&super::rows_text(&head, 2));
    if !u.events.is_empty() {
        let _ = writeln!(out, "\nevents:");
        let rows: Vec<Vec<String>> = u
            .events
            .iter()
            .map(|e| {
                let mut who = String::new();
                if let Some(user) = &e.user {
                    let _ = write!(who, "by {user}");
                }
                if let Some(message) = &e.message {
                    if !who.is_empty() {
                        who.push_str(": ");
                    }
                    who.push_str(message);
                }
                vec![timestamp(e.timestamp_ms), e.status.clone(), who]
            })
            .collect();
        out.push_str(&super::rows_text(&rows, 2));
    }
    if !u.instance_events.is_empty() {
        let _ = writeln!(out, "\ninstance events:");
        let rows: Vec<Vec<String>> = u
            .instance_events
            .iter()
            .map(|e| {
                vec![
                    timestamp(e.timestamp_ms),
                    e.instance.to_string(),
                    e.action.clone(),
                    e.message.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&super::rows_text(&rows, 2));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurora_apply::ranges::InstanceRange;
    use aurora_apply::updates::{InstanceEventInfo, Progress, UpdateEventInfo};

    fn update() -> UpdateInfo {
        UpdateInfo {
            id: "u-1".into(),
            job_key: "devcluster/www-data/prod/hello".parse().expect("key"),
            status: "ROLLED_FORWARD".into(),
            active: false,
            user: String::new(),
            created_at_ms: 1_000,
            last_modified_at_ms: 61_000,
            ours: true,
            instances: vec![InstanceRange { first: 0, last: 1 }],
            progress: Progress {
                updated: 2,
                failed: 0,
                total: 2,
                failed_instances: Vec::new(),
            },
            events: vec![
                UpdateEventInfo {
                    status: "ROLLING_FORWARD".into(),
                    timestamp_ms: 1_000,
                    user: None,
                    message: None,
                },
                UpdateEventInfo {
                    status: "ROLLED_FORWARD".into(),
                    timestamp_ms: 61_000,
                    user: None,
                    message: None,
                },
            ],
            instance_events: vec![InstanceEventInfo {
                instance: 0,
                action: "INSTANCE_UPDATED".into(),
                timestamp_ms: 31_000,
                message: None,
            }],
            metadata: Default::default(),
        }
    }

    #[test]
    fn nothing_unknown_leaves_an_empty_value_behind() {
        insta::assert_snapshot!(info(&update()), @r"
        update u-1  devcluster/www-data/prod/hello
          state      ROLLED_FORWARD
          started    1970-01-01T00:00:01Z
          changed    1970-01-01T00:01:01Z
          instances  [0-1]: 2/2 updated

        events:
          1970-01-01T00:00:01Z  ROLLING_FORWARD
          1970-01-01T00:01:01Z  ROLLED_FORWARD

        instance events:
          1970-01-01T00:00:31Z  0  INSTANCE_UPDATED
        ");
        insta::assert_snapshot!(list(&[update()], "devcluster/www-data/prod/hello"), @r"
        id   job                             state           user  started               instances  updated
        u-1  devcluster/www-data/prod/hello  ROLLED_FORWARD  -     1970-01-01T00:00:01Z  0-1        2/2
        ");
    }
}
