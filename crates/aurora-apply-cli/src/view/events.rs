//! Apply events for people (one line per state change) and for machines (NDJSON).

use aurora_apply::events::{Event, Outcome};
use serde_json::{Map, Value};

/// One line of text for an event, or `None` for events not shown as text.
pub fn text_line(event: &Event) -> Option<String> {
    Some(match event {
        Event::Version { .. } | Event::PlanSummary { .. } => return None,
        Event::StepStarted { job_key, action } => {
            format!(
                "{job_key}: {}",
                serde_json::to_value(action)
                    .ok()?
                    .as_str()?
                    .replace('_', " ")
            )
        }
        Event::UpdateStarted { job_key, update_id } => {
            format!("{job_key}: update {update_id} started")
        }
        Event::UpdateStatus {
            job_key,
            status,
            updated,
            failed,
            total,
            ..
        } => {
            let mut line = format!("{job_key}: {status}, {updated}/{total} instances updated");
            if *failed > 0 {
                line.push_str(&format!(", {failed} failed"));
            }
            line
        }
        Event::InstancesStarting {
            job_key,
            running,
            waiting,
            total,
        } => format!("{job_key}: {running}/{total} instances running, {waiting} not yet"),
        Event::Heartbeat {
            job_key,
            status,
            updated,
            total,
            elapsed_seconds,
        } => format!(
            "{job_key}: still {status}, {updated}/{total} updated, {elapsed_seconds}s elapsed"
        ),
        Event::Pulsed { .. } => return None,
        Event::PendingReason {
            job_key,
            task_id,
            reason,
        } if reason.trim().is_empty() => return None,
        Event::PendingReason {
            job_key,
            task_id,
            reason,
        } => format!("{job_key}: task {task_id} pending: {reason}"),
        Event::JobComplete {
            job_key,
            outcome,
            message,
            ..
        } => {
            let word = outcome_word(*outcome);
            if message.is_empty() {
                format!("{job_key}: {word}")
            } else {
                format!("{job_key}: {word}: {message}")
            }
        }
    })
}

/// A word for an outcome.
pub fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "done",
        Outcome::Unchanged => "unchanged",
        Outcome::Started => "update started",
        Outcome::RolledBack => "ROLLED BACK",
        Outcome::Failed => "FAILED",
        Outcome::Error => "ERROR",
        Outcome::Conflict => "CONFLICT",
        Outcome::TimedOut => "TIMED OUT (still running)",
        Outcome::AwaitingPulse => "AWAITING PULSE (timed out)",
        Outcome::Skipped => "skipped",
        Outcome::Refused => "REFUSED",
        Outcome::Detached => "detached (still running)",
    }
}

/// The NDJSON object for an event: its fields plus `@timestamp`, `@level`, `@message`.
pub fn json_line(event: &Event, timestamp: &str) -> String {
    let mut object = match serde_json::to_value(event) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let level = match event {
        Event::JobComplete { outcome, .. } if !outcome.is_success() => "error",
        Event::PendingReason { .. } => "warn",
        _ => "info",
    };
    let message = match event {
        Event::Version { tool_version, .. } => format!("aurora-apply {tool_version}"),
        Event::PlanSummary { summary } => super::verdict(
            summary,
            summary.create + summary.update + summary.kill + summary.replace + summary.noop,
        ),
        other => text_line(other).unwrap_or_default(),
    };
    let mut out = Map::new();
    out.insert("@timestamp".into(), Value::from(timestamp));
    out.insert("@level".into(), Value::from(level));
    out.insert("@message".into(), Value::from(message));
    out.append(&mut object);
    Value::Object(out).to_string()
}
