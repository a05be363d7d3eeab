//! Apply events for people (one line per state change) and for machines (NDJSON).

use aurora_apply::events::{Event, Outcome};
use aurora_apply::plan::Action;
use aurora_apply::rollout::StageOutcome;
use serde_json::{Map, Value};

/// One line of text for an event, or `None` for events not shown as text.
pub fn text_line(event: &Event) -> Option<String> {
    Some(match event {
        Event::Version { .. } | Event::PlanSummary { .. } => return None,
        Event::StepStarted { job_key, action } => format!(
            "{job_key}: {}",
            match action {
                Action::Create => "creating the job",
                Action::Update => "starting a rolling update",
                Action::CronSchedule => "scheduling the cron job",
                Action::CronDeschedule => "descheduling the cron job",
                Action::Kill => "killing its instances",
                Action::AddInstances => "adding instances",
                // The update_followed event says which update.
                Action::Follow => return None,
                Action::Noop => return None,
            }
        ),
        Event::UpdateFollowed { job_key, update_id } => format!(
            "{job_key}: following update {update_id}, started by an earlier aurora-apply run towards this same config"
        ),
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
        Event::SchedulerUnreachable { error } => {
            format!("lost contact with the scheduler ({error}); still asking until the deadline")
        }
        Event::SchedulerReachable {} => "the scheduler answers again".to_string(),
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
        Event::StageStarted {
            stage,
            stages,
            clusters,
        } => format!("Stage {stage}/{stages} ({}): starting", clusters.join(", ")),
        Event::StageSoaking { stage, soak_ms } => format!(
            "Stage {stage}: healthy; soaking {} before the next stage",
            humantime::format_duration(std::time::Duration::from_millis(*soak_ms))
        ),
        Event::StageComplete {
            stage,
            stages,
            outcome,
        } => format!(
            "Stage {stage}/{stages}: {}",
            match outcome {
                StageOutcome::Succeeded => "every job ended as specified",
                StageOutcome::Unchanged => "nothing to change",
                StageOutcome::Halted =>
                    "HALTED: a job did not end as specified; later stages are not run",
                StageOutcome::NotRun => "not run",
            }
        ),
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
    let level = match event {
        Event::JobComplete { outcome, .. } if !outcome.is_success() => "error",
        Event::StageComplete {
            outcome: StageOutcome::Halted,
            ..
        } => "error",
        Event::PendingReason { .. } | Event::SchedulerUnreachable { .. } => "warn",
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
    envelope(event, timestamp, level, &message)
}

/// One NDJSON line of any stream of ours: `@timestamp`, `@level`, `@message`, then the
/// fields of `value` (an object).
pub fn envelope(
    value: &impl serde::Serialize,
    timestamp: &str,
    level: &str,
    message: &str,
) -> String {
    let mut object = match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut out = Map::new();
    out.insert("@timestamp".into(), Value::from(timestamp));
    out.insert("@level".into(), Value::from(level));
    out.insert("@message".into(), Value::from(message));
    out.append(&mut object);
    Value::Object(out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event whose text fields are empty: no line may end in an empty value
    /// ("pending: ", "failed instances: ").
    #[test]
    fn no_line_ends_with_an_empty_value() {
        let key: aurora_apply::key::ClusterJobKey = "c/r/prod/j".parse().expect("key");
        let events = [
            Event::StepStarted {
                job_key: key.clone(),
                action: Action::Create,
            },
            Event::UpdateStarted {
                job_key: key.clone(),
                update_id: String::new(),
            },
            Event::UpdateStatus {
                job_key: key.clone(),
                update_id: String::new(),
                status: "ROLLING_FORWARD".into(),
                updated: 0,
                failed: 0,
                total: 0,
            },
            Event::InstancesStarting {
                job_key: key.clone(),
                running: 0,
                waiting: 0,
                total: 0,
            },
            Event::Heartbeat {
                job_key: key.clone(),
                status: "ROLLING_FORWARD".into(),
                updated: 0,
                total: 0,
                elapsed_seconds: 0,
            },
            Event::PendingReason {
                job_key: key.clone(),
                task_id: "t".into(),
                reason: "  ".into(),
            },
            Event::JobComplete {
                job_key: key.clone(),
                outcome: Outcome::RolledBack,
                message: String::new(),
                update_id: None,
            },
        ];
        for event in &events {
            if let Some(line) = text_line(event) {
                let trimmed = line.trim_end();
                assert!(
                    !trimmed.ends_with(':') && !line.contains(":  ") && !line.contains(": ,"),
                    "{line:?} from {event:?}"
                );
            }
        }
    }
}
