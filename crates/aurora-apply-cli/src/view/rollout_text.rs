//! The end of a staged apply, per stage: what ran and how it ended, what failed, and what
//! did not run (text on stderr, and the `stages` of `apply -o json`'s `apply_summary`).

use std::fmt::Write as _;

use aurora_apply::events::Outcome;
use aurora_apply::rollout::{RolloutReport, StageOutcome, StageReport};

fn title(stage: &StageReport, total: usize) -> String {
    let implicit = if stage.stage.implicit {
        " (implicit: clusters no stage names)"
    } else {
        ""
    };
    format!(
        "Stage {}/{total}: {}{implicit}",
        stage.number,
        stage.stage.clusters.join(", ")
    )
}

fn outcome_text(outcome: StageOutcome) -> &'static str {
    match outcome {
        StageOutcome::Succeeded => "done",
        StageOutcome::Unchanged => "nothing to change",
        StageOutcome::Halted => "HALTED",
        StageOutcome::NotRun => "not run",
    }
}

/// The stages of a rollout as text: a headline (finished, or halted at stage N), then each
/// stage with its outcome and the jobs it changed, failed or did not run.
pub fn render(report: &RolloutReport) -> String {
    let total = report.stages.iter().map(|s| s.number).max().unwrap_or(0);
    let mut out = String::new();
    let _ = match (report.halted_at(), report.interrupted) {
        (Some(n), _) => writeln!(
            out,
            "\nRollout halted at stage {n}: later stages were not run (nothing was sent to their clusters). Fix the cause and apply again: stages already in sync are no-ops."
        ),
        (None, true) => writeln!(
            out,
            "\nRollout interrupted: later stages were not run; apply again to go on."
        ),
        (None, false) => writeln!(out, "\nRollout finished:"),
    };
    for stage in &report.stages {
        let _ = writeln!(
            out,
            "  {} — {}",
            title(stage, total),
            outcome_text(stage.outcome)
        );
        for r in stage
            .results
            .iter()
            .filter(|r| r.outcome != Outcome::Unchanged)
        {
            let word = super::events::outcome_word(r.outcome);
            let what = if r.outcome == Outcome::Skipped {
                "not run"
            } else {
                word
            };
            let _ = writeln!(out, "    {}: {what}", r.job_key);
        }
    }
    out.trim_end().to_string()
}

/// The stages for `apply -o json`: per stage its number, clusters, whether implicit, outcome
/// and each job's outcome.
pub fn json(report: &RolloutReport) -> serde_json::Value {
    serde_json::Value::Array(
        report
            .stages
            .iter()
            .map(|s| {
                serde_json::json!({
                    "stage": s.number,
                    "clusters": s.stage.clusters,
                    "implicit": s.stage.implicit,
                    "outcome": s.outcome,
                    "jobs": s.results.iter().map(|r| serde_json::json!({
                        "job_key": r.job_key, "outcome": r.outcome,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use aurora_apply::execute::JobResult;
    use aurora_apply::rollout::Stage;

    use super::*;

    fn result(key: &str, outcome: Outcome) -> JobResult {
        JobResult {
            job_key: key.parse().expect("key"),
            outcome,
            message: String::new(),
            update_id: None,
        }
    }

    fn stage(number: usize, cluster: &str, outcome: StageOutcome, r: Outcome) -> StageReport {
        StageReport {
            number,
            stage: Stage {
                clusters: vec![cluster.to_string()],
                implicit: number == 3,
            },
            outcome,
            results: vec![result(&format!("{cluster}/www-data/prod/web"), r)],
        }
    }

    #[test]
    fn a_halted_rollout_lists_what_ran_failed_and_did_not_run() {
        let report = RolloutReport {
            stages: vec![
                stage(1, "canary", StageOutcome::Halted, Outcome::RolledBack),
                stage(2, "east", StageOutcome::NotRun, Outcome::Skipped),
                stage(3, "west", StageOutcome::NotRun, Outcome::Skipped),
            ],
            interrupted: false,
        };
        insta::assert_snapshot!(render(&report), @r"
        Rollout halted at stage 1: later stages were not run (nothing was sent to their clusters). Fix the cause and apply again: stages already in sync are no-ops.
          Stage 1/3: canary — HALTED
            canary/www-data/prod/web: ROLLED BACK
          Stage 2/3: east — not run
            east/www-data/prod/web: not run
          Stage 3/3: west (implicit: clusters no stage names) — not run
            west/www-data/prod/web: not run
        ");
        assert_eq!(json(&report)[0]["outcome"], "halted");
    }
}
