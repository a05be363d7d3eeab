//! Staged multi-cluster rollout: the plan's changes, cluster by cluster, stage by stage.
//!
//! In: the [`Rollout`] a plan records (stages of clusters from the project file, plus the
//! final implicit stage of the clusters it does not name, and the soak time), the plan's
//! changes, and a function that executes one cluster's changes (the CLI passes
//! [`crate::execute::execute`] with that cluster's client). Out: a [`RolloutReport`] saying,
//! per stage, what ran, how it ended and what did not run.
//!
//! The rules, in one place:
//! * A stage's clusters are executed at once, one thread per cluster with changes; the stage
//!   ends when every one of them has ended (the executor already waits for rolling updates
//!   and new instances, unless `--no-wait`).
//! * A stage ends healthy when every job of it ended as specified ([`Outcome::is_success`]).
//!   Anything else (rolled back, failed, error, conflict, timed out, interrupted) **halts**
//!   the rollout: no later stage is started, so nothing is sent to their clusters, and their
//!   jobs are reported [`Outcome::Skipped`].
//! * After a healthy stage that changed something, the soak time passes on the options'
//!   [`Clock`] before the next stage with changes starts. A stage with no changes is a
//!   no-op and does not soak, and there is no soak after the last stage with changes.
//! * Ctrl-C during a soak ends the wait at once; no later stage starts.
//!
//! This module sends nothing itself, which keeps the rules testable without a scheduler.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::events::{Event, EventSink, Outcome};
use crate::execute::JobResult;
use crate::plan::JobChange;

/// The rollout a plan records (plan format 1.3): drives the order of execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    /// The project file the stages came from, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The stages in order; the last may be the implicit one.
    pub stages: Vec<Stage>,
    /// The wait after a healthy stage, in milliseconds.
    pub soak_ms: u64,
}

/// One stage: clusters changed together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Its clusters, as the project file lists them (the implicit stage: sorted).
    pub clusters: Vec<String>,
    /// The final stage of the clusters no declared stage names; present when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub implicit: bool,
}

impl Rollout {
    /// The rollout of a project's `declared` stages over the clusters a run looks at: the
    /// clusters no stage names form a last, implicit stage (none when every one is named).
    pub fn new(
        file: Option<String>,
        declared: &[Vec<String>],
        soak: Duration,
        clusters: &[String],
    ) -> Rollout {
        let named: BTreeSet<&str> = declared.iter().flatten().map(String::as_str).collect();
        let mut stages: Vec<Stage> = declared
            .iter()
            .map(|clusters| Stage {
                clusters: clusters.clone(),
                implicit: false,
            })
            .collect();
        let rest: BTreeSet<&str> = clusters
            .iter()
            .map(String::as_str)
            .filter(|c| !named.contains(c))
            .collect();
        if !rest.is_empty() {
            stages.push(Stage {
                clusters: rest.into_iter().map(str::to_string).collect(),
                implicit: true,
            });
        }
        Rollout {
            file,
            stages,
            soak_ms: u64::try_from(soak.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The soak time.
    pub fn soak(&self) -> Duration {
        Duration::from_millis(self.soak_ms)
    }

    /// The 1-based number of the stage of `cluster`.
    pub fn stage_of(&self, cluster: &str) -> Option<usize> {
        self.stages
            .iter()
            .position(|s| s.clusters.iter().any(|c| c == cluster))
            .map(|i| i + 1)
    }

    /// The clusters of stage `number` (1-based), if there is one.
    pub fn clusters_of(&self, number: usize) -> Option<&[String]> {
        number
            .checked_sub(1)
            .and_then(|i| self.stages.get(i))
            .map(|s| s.clusters.as_slice())
    }

    /// The changes of each stage, in stage order, each grouped by cluster (in the stage's
    /// order). A change whose cluster no stage names (a hand-edited plan file) joins a last
    /// implicit stage, so nothing is ever left out.
    pub fn group(&self, changes: &[JobChange]) -> Vec<StageChanges> {
        let mut stages: Vec<StageChanges> = self
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| StageChanges {
                number: i + 1,
                stage: s.clone(),
                clusters: s.clusters.iter().map(|c| (c.clone(), Vec::new())).collect(),
            })
            .collect();
        for change in changes {
            let cluster = &change.job_key.cluster;
            let index = match self.stage_of(cluster) {
                Some(n) => n - 1,
                None => {
                    if stages.last().is_none_or(|s| !s.stage.implicit) {
                        stages.push(StageChanges {
                            number: stages.len() + 1,
                            stage: Stage {
                                clusters: Vec::new(),
                                implicit: true,
                            },
                            clusters: Vec::new(),
                        });
                    }
                    stages.len() - 1
                }
            };
            let stage = &mut stages[index];
            match stage.clusters.iter_mut().find(|(c, _)| c == cluster) {
                Some((_, list)) => list.push(change.clone()),
                None => {
                    stage.stage.clusters.push(cluster.clone());
                    stage.clusters.push((cluster.clone(), vec![change.clone()]));
                }
            }
        }
        stages
    }
}

/// One stage's changes.
#[derive(Debug, Clone, PartialEq)]
pub struct StageChanges {
    /// 1-based.
    pub number: usize,
    /// The stage.
    pub stage: Stage,
    /// Its clusters, each with its changes (no-ops included).
    pub clusters: Vec<(String, Vec<JobChange>)>,
}

impl StageChanges {
    /// Whether any job of the stage needs a step.
    pub fn has_changes(&self) -> bool {
        self.clusters
            .iter()
            .any(|(_, changes)| changes.iter().any(|c| !c.is_noop()))
    }
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageOutcome {
    /// Every job ended as specified.
    Succeeded,
    /// Nothing to change: skipped without a soak.
    Unchanged,
    /// A job did not end as specified: the rollout stops here.
    Halted,
    /// Not started: an earlier stage halted, or Ctrl-C.
    NotRun,
}

/// One stage's part of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct StageReport {
    /// 1-based.
    pub number: usize,
    /// The stage.
    pub stage: Stage,
    /// How it ended.
    pub outcome: StageOutcome,
    /// Every job of the stage: executed, or skipped when the stage did not run.
    pub results: Vec<JobResult>,
}

/// What a rollout did, stage by stage.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RolloutReport {
    /// Every stage, in order.
    pub stages: Vec<StageReport>,
    /// Ctrl-C ended a soak (no later stage ran).
    pub interrupted: bool,
}

impl RolloutReport {
    /// Every job's result, stage by stage (what the exit code is computed from).
    pub fn results(&self) -> Vec<JobResult> {
        self.stages
            .iter()
            .flat_map(|s| s.results.iter().cloned())
            .collect()
    }

    /// The stage that halted the rollout, if one did.
    pub fn halted_at(&self) -> Option<usize> {
        self.stages
            .iter()
            .find(|s| s.outcome == StageOutcome::Halted)
            .map(|s| s.number)
    }
}

/// How to run the stages.
#[derive(Debug, Clone)]
pub struct RolloutOptions {
    /// The clock the soak passes on (tests: a [`crate::clock::ManualClock`]).
    pub clock: Arc<dyn Clock>,
    /// Set by Ctrl-C: ends a soak and starts no further stage.
    pub interrupted: Option<Arc<AtomicBool>>,
    /// Run only this stage (1-based, `--stage N`): no soak after it.
    pub only: Option<usize>,
}

impl Default for RolloutOptions {
    fn default() -> Self {
        RolloutOptions {
            clock: crate::clock::system(),
            interrupted: None,
            only: None,
        }
    }
}

/// The longest single wait of a soak, so Ctrl-C ends it promptly.
const SOAK_SLICE: Duration = Duration::from_millis(200);

/// Runs `changes` stage by stage; `execute_cluster(cluster, changes)` executes one cluster's
/// changes and returns each job's result (it is called from one thread per cluster).
pub fn run<F>(
    rollout: &Rollout,
    changes: &[JobChange],
    options: &RolloutOptions,
    sink: &dyn EventSink,
    execute_cluster: F,
) -> RolloutReport
where
    F: Fn(&str, &[JobChange]) -> Vec<JobResult> + Sync,
{
    let stages: Vec<StageChanges> = rollout
        .group(changes)
        .into_iter()
        .filter(|s| options.only.is_none_or(|n| n == s.number))
        .collect();
    let total = rollout.stages.len().max(stages.len());
    let interrupted = || {
        options
            .interrupted
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
    };
    let mut report = RolloutReport::default();
    let mut stop: Option<String> = None;
    for (i, stage) in stages.iter().enumerate() {
        if let Some(why) = &stop {
            report.stages.push(not_run(stage, why));
            continue;
        }
        if !stage.has_changes() {
            report.stages.push(StageReport {
                number: stage.number,
                stage: stage.stage.clone(),
                outcome: StageOutcome::Unchanged,
                results: unchanged(stage),
            });
            sink.event(&Event::StageComplete {
                stage: stage.number,
                stages: total,
                outcome: StageOutcome::Unchanged,
            });
            continue;
        }
        sink.event(&Event::StageStarted {
            stage: stage.number,
            stages: total,
            clusters: stage.stage.clusters.clone(),
        });
        let results = run_stage(stage, &execute_cluster);
        let healthy = results.iter().all(|r| r.outcome.is_success());
        let outcome = if healthy {
            StageOutcome::Succeeded
        } else {
            StageOutcome::Halted
        };
        sink.event(&Event::StageComplete {
            stage: stage.number,
            stages: total,
            outcome,
        });
        report.stages.push(StageReport {
            number: stage.number,
            stage: stage.stage.clone(),
            outcome,
            results,
        });
        if !healthy {
            stop = Some(format!(
                "not run: the rollout halted at stage {}/{total}",
                stage.number
            ));
            continue;
        }
        let more = stages[i + 1..].iter().any(StageChanges::has_changes);
        if more && rollout.soak_ms > 0 {
            sink.event(&Event::StageSoaking {
                stage: stage.number,
                soak_ms: rollout.soak_ms,
            });
            if !soak(&*options.clock, rollout.soak(), &interrupted) {
                report.interrupted = true;
                stop = Some(format!(
                    "not run: interrupted while stage {}/{total} soaked",
                    stage.number
                ));
            }
        } else if more && interrupted() {
            report.interrupted = true;
            stop = Some("not run: interrupted".to_string());
        }
    }
    report
}

/// Executes every cluster of a stage at once and collects the results in the stage's
/// cluster order.
fn run_stage<F>(stage: &StageChanges, execute_cluster: &F) -> Vec<JobResult>
where
    F: Fn(&str, &[JobChange]) -> Vec<JobResult> + Sync,
{
    let busy: Vec<&(String, Vec<JobChange>)> = stage
        .clusters
        .iter()
        .filter(|(_, changes)| changes.iter().any(|c| !c.is_noop()))
        .collect();
    let per_cluster: Vec<Vec<JobResult>> = std::thread::scope(|scope| {
        let handles: Vec<_> = busy
            .iter()
            .map(|(cluster, changes)| {
                scope.spawn(move || execute_cluster(cluster.as_str(), changes.as_slice()))
            })
            .collect();
        handles
            .into_iter()
            .zip(&busy)
            .map(|(h, (_, changes))| {
                // A panicking executor must not take the others down: its jobs count as
                // errors, which halts the rollout.
                h.join().unwrap_or_else(|_| {
                    changes
                        .iter()
                        .map(|c| JobResult {
                            job_key: c.job_key.clone(),
                            outcome: Outcome::Error,
                            message: "internal error while executing".into(),
                            update_id: None,
                        })
                        .collect()
                })
            })
            .collect()
    });
    let mut results: Vec<JobResult> = per_cluster.into_iter().flatten().collect();
    // No-op jobs of clusters with nothing to do are unchanged.
    for (cluster, changes) in &stage.clusters {
        if !busy.iter().any(|(c, _)| c == cluster) {
            results.extend(changes.iter().map(unchanged_result));
        }
    }
    results
}

fn unchanged_result(change: &JobChange) -> JobResult {
    JobResult {
        job_key: change.job_key.clone(),
        outcome: Outcome::Unchanged,
        message: String::new(),
        update_id: None,
    }
}

fn unchanged(stage: &StageChanges) -> Vec<JobResult> {
    stage
        .clusters
        .iter()
        .flat_map(|(_, changes)| changes.iter().map(unchanged_result))
        .collect()
}

/// A stage that did not start: its jobs with steps are skipped, its no-ops unchanged.
fn not_run(stage: &StageChanges, why: &str) -> StageReport {
    let results = stage
        .clusters
        .iter()
        .flat_map(|(_, changes)| changes.iter())
        .map(|c| {
            if c.is_noop() {
                unchanged_result(c)
            } else {
                JobResult {
                    job_key: c.job_key.clone(),
                    outcome: Outcome::Skipped,
                    message: why.to_string(),
                    update_id: None,
                }
            }
        })
        .collect();
    StageReport {
        number: stage.number,
        stage: stage.stage.clone(),
        outcome: StageOutcome::NotRun,
        results,
    }
}

/// Waits `soak` on `clock` in short slices; false when interrupted first.
fn soak(clock: &dyn Clock, soak: Duration, interrupted: &dyn Fn() -> bool) -> bool {
    let until = clock.now() + soak;
    loop {
        if interrupted() {
            return false;
        }
        let now = clock.now();
        if now >= until {
            return true;
        }
        clock.sleep((until - now).min(SOAK_SLICE));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::clock::ManualClock;
    use crate::events::CollectSink;
    use crate::plan::{Action, JobKind};

    fn change(key: &str, action: Action) -> JobChange {
        JobChange::new(key.parse().expect("key"), JobKind::Service, vec![action])
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn three_stages(soak: Duration) -> Rollout {
        Rollout::new(
            None,
            &[names(&["canary"]), names(&["east", "west"])],
            soak,
            &names(&["canary", "east", "north", "west"]),
        )
    }

    fn changes() -> Vec<JobChange> {
        vec![
            change("west/r/prod/a", Action::Update),
            change("canary/r/prod/a", Action::Update),
            change("east/r/prod/a", Action::Update),
            change("north/r/prod/a", Action::Create),
        ]
    }

    /// An executor that records the clusters it was called for, the clock time of each
    /// call, and ends each job with the outcome `outcome_of` gives its cluster.
    struct Recorder {
        calls: Mutex<Vec<(String, Duration)>>,
        clock: Arc<ManualClock>,
        origin: std::time::Instant,
    }

    impl Recorder {
        fn new() -> Recorder {
            let clock = Arc::new(ManualClock::new());
            let origin = clock.now();
            Recorder {
                calls: Mutex::new(Vec::new()),
                clock,
                origin,
            }
        }

        fn exec<'a>(
            &'a self,
            outcome_of: impl Fn(&str) -> Outcome + Sync + 'a,
        ) -> impl Fn(&str, &[JobChange]) -> Vec<JobResult> + Sync + 'a {
            move |cluster: &str, changes: &[JobChange]| {
                let at = self.clock.now() - self.origin;
                if let Ok(mut calls) = self.calls.lock() {
                    calls.push((cluster.to_string(), at));
                }
                changes
                    .iter()
                    .map(|c| JobResult {
                        job_key: c.job_key.clone(),
                        outcome: outcome_of(cluster),
                        message: String::new(),
                        update_id: None,
                    })
                    .collect()
            }
        }

        fn calls(&self) -> Vec<(String, Duration)> {
            let mut calls = self.calls.lock().map(|c| c.clone()).unwrap_or_default();
            calls.sort();
            calls
        }

        fn options(&self) -> RolloutOptions {
            RolloutOptions {
                clock: self.clock.clone(),
                ..RolloutOptions::default()
            }
        }
    }

    #[test]
    fn unnamed_clusters_make_a_last_implicit_stage() {
        let r = three_stages(Duration::ZERO);
        assert_eq!(r.stages.len(), 3);
        assert_eq!(
            r.stages[2],
            Stage {
                clusters: names(&["north"]),
                implicit: true
            }
        );
        assert_eq!(r.stage_of("west"), Some(2));
        assert_eq!(r.clusters_of(1), Some(names(&["canary"]).as_slice()));
        assert_eq!(r.clusters_of(0), None);
        let all_named = Rollout::new(None, &[names(&["a"])], Duration::ZERO, &names(&["a"]));
        assert_eq!(all_named.stages.len(), 1);
        let groups = r.group(&changes());
        assert_eq!(
            groups
                .iter()
                .map(|g| g
                    .clusters
                    .iter()
                    .map(|(c, l)| (c.clone(), l.len()))
                    .collect())
                .collect::<Vec<Vec<_>>>(),
            vec![
                vec![("canary".to_string(), 1)],
                vec![("east".to_string(), 1), ("west".to_string(), 1)],
                vec![("north".to_string(), 1)],
            ]
        );
    }

    #[test]
    fn stages_run_in_order_with_the_soak_between_them_on_the_clock() {
        let rec = Recorder::new();
        let sink = CollectSink::default();
        let report = run(
            &three_stages(Duration::from_secs(600)),
            &changes(),
            &rec.options(),
            &sink,
            rec.exec(|_| Outcome::Succeeded),
        );
        let soak = Duration::from_secs(600);
        assert_eq!(
            rec.calls(),
            vec![
                ("canary".to_string(), Duration::ZERO),
                ("east".to_string(), soak),
                ("north".to_string(), soak * 2),
                ("west".to_string(), soak),
            ]
        );
        assert!(
            report
                .stages
                .iter()
                .all(|s| s.outcome == StageOutcome::Succeeded)
        );
        assert_eq!(report.results().len(), 4);
        // Two soaks: none after the last stage.
        let soaks = sink
            .events()
            .iter()
            .filter(|e| matches!(e, Event::StageSoaking { .. }))
            .count();
        assert_eq!(soaks, 2);
        assert_eq!(rec.clock.now() - rec.origin, soak * 2);
    }

    #[test]
    fn a_failed_stage_halts_and_later_stages_are_never_executed() {
        for bad in [Outcome::RolledBack, Outcome::Failed, Outcome::TimedOut] {
            let rec = Recorder::new();
            let report = run(
                &three_stages(Duration::from_secs(60)),
                &changes(),
                &rec.options(),
                &crate::events::NullSink,
                rec.exec(|c| {
                    if c == "canary" {
                        bad
                    } else {
                        Outcome::Succeeded
                    }
                }),
            );
            assert_eq!(rec.calls(), vec![("canary".to_string(), Duration::ZERO)]);
            assert_eq!(report.halted_at(), Some(1));
            let outcomes: Vec<StageOutcome> = report.stages.iter().map(|s| s.outcome).collect();
            assert_eq!(
                outcomes,
                [
                    StageOutcome::Halted,
                    StageOutcome::NotRun,
                    StageOutcome::NotRun
                ]
            );
            let skipped = report
                .results()
                .iter()
                .filter(|r| r.outcome == Outcome::Skipped)
                .count();
            assert_eq!(skipped, 3);
            assert!(
                report.stages[1].results[0]
                    .message
                    .contains("halted at stage 1/3"),
                "{:?}",
                report.stages[1].results
            );
            // No soak after a halted stage.
            assert_eq!(rec.clock.now(), rec.origin);
        }
    }

    #[test]
    fn a_stage_without_changes_is_a_no_op_and_does_not_soak() {
        let rec = Recorder::new();
        let mut list = changes();
        list[0].actions = vec![Action::Noop]; // west
        list[2].actions = vec![Action::Noop]; // east
        let report = run(
            &three_stages(Duration::from_secs(60)),
            &list,
            &rec.options(),
            &crate::events::NullSink,
            rec.exec(|_| Outcome::Succeeded),
        );
        // canary, (stage 2 unchanged), north: one soak only, after canary.
        assert_eq!(
            rec.calls(),
            vec![
                ("canary".to_string(), Duration::ZERO),
                ("north".to_string(), Duration::from_secs(60)),
            ]
        );
        assert_eq!(report.stages[1].outcome, StageOutcome::Unchanged);
        assert!(
            report.stages[1]
                .results
                .iter()
                .all(|r| r.outcome == Outcome::Unchanged)
        );
    }

    #[test]
    fn one_stage_runs_alone_without_a_soak() {
        let rec = Recorder::new();
        let report = run(
            &three_stages(Duration::from_secs(60)),
            &changes(),
            &RolloutOptions {
                only: Some(2),
                ..rec.options()
            },
            &crate::events::NullSink,
            rec.exec(|_| Outcome::Succeeded),
        );
        assert_eq!(
            rec.calls(),
            vec![
                ("east".to_string(), Duration::ZERO),
                ("west".to_string(), Duration::ZERO),
            ]
        );
        assert_eq!(report.stages.len(), 1);
        assert_eq!(rec.clock.now(), rec.origin);
    }

    #[test]
    fn ctrl_c_during_a_soak_starts_no_later_stage() {
        let rec = Recorder::new();
        let flag = Arc::new(AtomicBool::new(false));
        let set = flag.clone();
        let report = run(
            &three_stages(Duration::from_secs(60)),
            &changes(),
            &RolloutOptions {
                interrupted: Some(flag),
                ..rec.options()
            },
            &crate::events::NullSink,
            rec.exec(move |_| {
                set.store(true, Ordering::SeqCst);
                Outcome::Succeeded
            }),
        );
        assert_eq!(rec.calls().len(), 1);
        assert!(report.interrupted);
        assert_eq!(report.stages[1].outcome, StageOutcome::NotRun);
        assert!(rec.clock.now() - rec.origin < Duration::from_secs(60));
    }

    #[test]
    fn the_rollout_serialises_with_the_implicit_flag_only_when_true() {
        let json = serde_json::to_value(three_stages(Duration::from_secs(90))).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "stages": [
                    {"clusters": ["canary"]},
                    {"clusters": ["east", "west"]},
                    {"clusters": ["north"], "implicit": true}
                ],
                "soak_ms": 90000
            })
        );
    }
}
