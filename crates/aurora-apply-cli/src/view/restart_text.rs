//! A rolling restart for people (one line per step) and for machines (NDJSON in the same
//! envelope as apply's events: `@timestamp`, `@level`, `@message`, then the event's fields).

use aurora_apply::ranges::display;
use aurora_apply::restart::{RestartEvent, RestartReport};

use aurora_apply::events::Outcome;

/// One line of text for a restart event.
pub fn text_line(event: &RestartEvent) -> String {
    match event {
        RestartEvent::BatchRestarting {
            job_key,
            batch,
            instances,
        } => format!(
            "{job_key}: batch {batch}: restarting [{}]",
            display(instances)
        ),
        RestartEvent::InstanceRunning {
            job_key,
            instance,
            task_id,
            ..
        } => format!("{job_key}: instance {instance} RUNNING again as {task_id}; watching it"),
        RestartEvent::InstanceRestarted {
            job_key, instance, ..
        } => format!("{job_key}: instance {instance} restarted"),
        RestartEvent::InstanceFailed {
            job_key,
            instance,
            reason,
        } => format!("{job_key}: instance {instance} FAILED: {reason}"),
    }
}

/// A word for how a restart ended (a restart lives in this process: when it stops, nothing
/// carries on, unlike an update).
fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded | Outcome::Unchanged | Outcome::Started => "done",
        Outcome::Failed | Outcome::RolledBack => "FAILED",
        Outcome::TimedOut | Outcome::AwaitingPulse => "TIMED OUT",
        Outcome::Detached | Outcome::Skipped => "INTERRUPTED",
        Outcome::Conflict => "CONFLICT",
        Outcome::Refused => "REFUSED",
        Outcome::Error => "ERROR",
    }
}

/// The last line of a restart: how it ended, and what is left to do.
pub fn summary_line(report: &RestartReport) -> String {
    let mut line = format!("{}: {}", report.job_key, outcome_word(report.outcome));
    if !report.message.is_empty() {
        line.push_str(": ");
        line.push_str(&report.message);
    }
    if !report.remaining.is_empty() {
        line.push_str(&format!(
            "; not restarted: [{}] (`aurora-apply restart {} --instances {}` finishes it)",
            display(&report.remaining),
            report.job_key,
            display(&report.remaining)
        ));
    }
    line
}

/// One NDJSON line: the envelope, then `value`'s fields.
pub fn json_line(value: &impl serde::Serialize, message: &str, error: bool) -> String {
    super::events::envelope(
        value,
        &crate::session::now_rfc3339(),
        if error { "error" } else { "info" },
        message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurora_apply::ranges::InstanceRange;

    #[test]
    fn the_summary_says_how_to_finish_an_unfinished_restart() {
        let report = RestartReport {
            job_key: "devcluster/www-data/prod/web".parse().expect("key"),
            outcome: Outcome::Detached,
            message: "interrupted before the next batch".into(),
            restarted: vec![InstanceRange { first: 0, last: 1 }],
            failed: Vec::new(),
            remaining: vec![InstanceRange { first: 2, last: 3 }],
            tasks: Default::default(),
        };
        assert_eq!(
            summary_line(&report),
            "devcluster/www-data/prod/web: INTERRUPTED: interrupted before the next batch; not restarted: [2-3] (`aurora-apply restart devcluster/www-data/prod/web --instances 2-3` finishes it)"
        );
    }
}
