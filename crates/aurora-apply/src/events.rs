//! What happens during an apply, as a stream of events sent to a caller-supplied sink.
//!
//! The CLI renders them as text lines (one per state change plus heartbeats), progress bars
//! on a TTY, or newline-delimited JSON (`apply -o json`). For NDJSON each event is one object
//! with a `type` tag (the variant name in snake_case) and the fields below; the CLI adds
//! `@timestamp`, `@level` and `@message`. The stream opens with `version` and ends with
//! `apply_summary`. Events are display only: nothing reads them back to decide anything.

use serde::Serialize;

use crate::key::ClusterJobKey;
use crate::plan::{Action, Summary};

/// How one job's apply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step succeeded; updates rolled forward.
    Succeeded,
    /// The scheduler found nothing to change.
    Unchanged,
    /// An update started and was not waited for (`--no-wait`).
    Started,
    /// The update failed and rolled back: the job runs its previous config.
    RolledBack,
    /// The update ended failed, aborted or in error, without a full rollback.
    Failed,
    /// A call failed (scheduler error, network), so the job is not as specified.
    Error,
    /// An update not started by aurora-apply is active on the job, or the job moved.
    Conflict,
    /// Still running when the deadline passed.
    TimedOut,
    /// Still waiting for a pulse when the deadline passed.
    AwaitingPulse,
    /// Not attempted: an earlier job failed and `--on-failure stop` was given.
    Skipped,
    /// Refused by a safety rail (protected job).
    Refused,
    /// The user interrupted; the update keeps running on the scheduler.
    Detached,
}

impl Outcome {
    /// Whether the job ended as specified.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Outcome::Succeeded | Outcome::Unchanged | Outcome::Started
        )
    }
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// First event: the stream's format version.
    Version {
        /// Version of the event stream format.
        ui: String,
        /// aurora-apply's version.
        tool_version: String,
    },
    /// The plan being applied.
    PlanSummary {
        /// Its counts.
        summary: Summary,
    },
    /// A step is about to be sent.
    StepStarted {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// The step.
        action: Action,
    },
    /// A rolling update was created (or an earlier attempt of ours was found).
    UpdateStarted {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// The scheduler's update id.
        update_id: String,
    },
    /// An update an earlier run started towards the same target is followed instead of a
    /// new one (that run was interrupted or killed).
    UpdateFollowed {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// The update id.
        update_id: String,
    },
    /// The update changed state.
    UpdateStatus {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// The update id.
        update_id: String,
        /// The new state (`ROLLING_FORWARD`, `ROLL_FORWARD_AWAITING_PULSE`…).
        status: String,
        /// Instances updated so far.
        updated: usize,
        /// Instances that failed so far.
        failed: usize,
        /// Instances the update touches.
        total: usize,
    },
    /// A created job's instances are starting (apply waits until they all run).
    InstancesStarting {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// Instances running.
        running: usize,
        /// Active instances not running yet (pending, assigned, starting…).
        waiting: usize,
        /// Instances the job has.
        total: usize,
    },
    /// Still running; emitted periodically while nothing changes.
    Heartbeat {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// Current state.
        status: String,
        /// Instances updated so far.
        updated: usize,
        /// Instances the update touches.
        total: usize,
        /// Seconds since the apply started.
        elapsed_seconds: u64,
    },
    /// A pulse was sent to a coordinated update.
    Pulsed {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// The update id.
        update_id: String,
    },
    /// Why a task is pending (quota, capacity).
    PendingReason {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// The pending task.
        task_id: String,
        /// The scheduler's reason.
        reason: String,
    },
    /// The scheduler stopped answering the polls; they go on until the deadline.
    SchedulerUnreachable {
        /// The first error.
        error: String,
    },
    /// The scheduler answers the polls again.
    SchedulerReachable {},
    /// A stage of a staged rollout starts: its clusters' changes are sent at once.
    StageStarted {
        /// 1-based.
        stage: usize,
        /// How many stages the rollout has.
        stages: usize,
        /// Its clusters.
        clusters: Vec<String>,
    },
    /// A stage ended healthy; the soak time passes before the next stage.
    StageSoaking {
        /// 1-based.
        stage: usize,
        /// The soak time, in milliseconds.
        soak_ms: u64,
    },
    /// A stage ended: `succeeded`, `unchanged` (nothing to do, no soak) or `halted` (a job
    /// did not end as specified; no later stage runs).
    StageComplete {
        /// 1-based.
        stage: usize,
        /// How many stages the rollout has.
        stages: usize,
        /// How it ended.
        outcome: crate::rollout::StageOutcome,
    },
    /// A job is done.
    JobComplete {
        /// `cluster/role/env/name`.
        job_key: ClusterJobKey,
        /// How it ended.
        outcome: Outcome,
        /// Details (the scheduler's messages, the failed instances).
        message: String,
        /// The update, if one ran.
        #[serde(skip_serializing_if = "Option::is_none")]
        update_id: Option<String>,
    },
}

/// Receives events as they happen. Implementations must not block for long.
pub trait EventSink: Sync {
    /// One event.
    fn event(&self, event: &Event);
}

/// A sink that drops everything.
#[derive(Debug, Default)]
pub struct NullSink;

impl EventSink for NullSink {
    fn event(&self, _: &Event) {}
}

/// A sink that keeps every event, for tests and callers that render at the end.
#[derive(Debug, Default)]
pub struct CollectSink {
    events: std::sync::Mutex<Vec<Event>>,
}

impl CollectSink {
    /// Everything received so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl EventSink for CollectSink {
    fn event(&self, event: &Event) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event.clone());
        }
    }
}
