//! Carries out a plan's changes and follows rolling updates to their end.
//!
//! In: the changes of one cluster (as planned, or read back from a plan file) and a client.
//! Out: one [`JobResult`] per change, and [`Event`]s as things happen. Jobs run with bounded
//! parallelism: a job holds a slot from its first step until its update ends. One loop drives
//! every job: it sends steps, then polls once per interval for all of them together (one
//! `getJobUpdateDetails` per role for the updates being watched, one `getPendingReason` for
//! their pending tasks), pulses coordinated updates, and stops at the caller's deadline.
//!
//! Rules this stage keeps: `createJob` is never re-sent blindly (an unknown outcome is
//! resolved by reading the job's tasks first); "Job is unchanged by proposed update." is
//! success; an in-progress update carrying our own update id is our earlier attempt and is
//! followed; any other in-progress update is a conflict; protected jobs are never killed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use aurora_api::client::StartJobUpdateOutcome;
use aurora_api::types::{
    ConstACTIVEJOBUPDATESTATES, ConstAWAITNGPULSEJOBUPDATESTATES, InstanceKey, JobConfiguration,
    JobKey, JobUpdateDetails, JobUpdateKey, JobUpdateQuery, JobUpdateRequest, JobUpdateSettings,
    JobUpdateStatus, Metadata, ResponseCode, TaskQuery,
};
use aurora_api::{ApiError, CallLimits, Client};
use base64::Engine as _;

use crate::clock::Clock;
use crate::events::{Event, EventSink, Outcome};
use crate::key::ClusterJobKey;
use crate::marker::{
    CONFIG_HASH_KEY, GIT_COMMIT_KEY, SPEC_HASH_KEY, TOOL_KEY, UPDATE_ID_KEY, USER_KEY, has_entry,
    has_update_id, is_our_update,
};
use crate::plan::{Action, JobChange};
use crate::starting::{TaskCounts, active_counts, describe_failures, failure_reasons};

/// What to do with the remaining jobs when one fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Start no further jobs; running updates finish.
    #[default]
    Stop,
    /// Carry on with the other jobs.
    Continue,
}

/// Who and what applies, recorded on every update (restarts nothing).
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Hash of the specs applied.
    pub spec_hash: String,
    /// The local user.
    pub user: String,
    /// The git commit of the specs, if any.
    pub git_commit: Option<String>,
}

/// How to execute.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Jobs in flight at once.
    pub parallelism: usize,
    /// Reaction to a failed job.
    pub on_failure: OnFailure,
    /// Follow updates to their end (`false` = `--no-wait`).
    pub wait: bool,
    /// Overall deadline, from the start of execution.
    pub timeout: Duration,
    /// Time between two polls.
    pub poll_interval: Duration,
    /// Time between two heartbeats of an update that does not change state.
    pub heartbeat_every: Duration,
    /// Audit message sent with updates and kills.
    pub message: Option<String>,
    /// Recorded in every update's metadata.
    pub provenance: Provenance,
    /// Send pulses to coordinated updates while watching them.
    pub pulse: bool,
    /// Set by the caller (Ctrl-C) to stop watching; updates keep running.
    pub interrupted: Option<Arc<AtomicBool>>,
    /// An update an earlier aurora-apply run started towards another target is aborted and
    /// replaced (`--replace-running-update`); otherwise it is a conflict. One towards the
    /// same target is always followed.
    pub replace_running_update: bool,
    /// What measures the deadline, the polls, heartbeats and pulses, and sleeps between
    /// polls: the system clock, or in tests a [`crate::clock::ManualClock`] that moves the
    /// emulator's clock with it, so a test's deadline takes no real time.
    pub clock: Arc<dyn Clock>,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        ExecuteOptions {
            parallelism: 4,
            on_failure: OnFailure::Stop,
            wait: true,
            timeout: Duration::from_secs(3600),
            poll_interval: Duration::from_secs(5),
            heartbeat_every: Duration::from_secs(30),
            message: None,
            provenance: Provenance::default(),
            pulse: true,
            interrupted: None,
            replace_running_update: false,
            clock: crate::clock::system(),
        }
    }
}

/// How one job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResult {
    /// `cluster/role/env/name`.
    pub job_key: ClusterJobKey,
    /// The outcome.
    pub outcome: Outcome,
    /// Details for people.
    pub message: String,
    /// The update that ran, if any.
    pub update_id: Option<String>,
}

#[derive(Debug)]
struct Watch {
    key: JobUpdateKey,
    role: String,
    status: JobUpdateStatus,
    updated: usize,
    failed: usize,
    total: usize,
    pulse_every: Option<Duration>,
    last_pulse: Option<Instant>,
    last_report: Instant,
    failed_instances: BTreeSet<i32>,
}

/// A created job whose instances are not all running yet.
#[derive(Debug)]
struct Starting {
    step: usize,
    total: usize,
    counts: TaskCounts,
    last_report: Instant,
}

#[derive(Debug)]
enum State {
    Pending,
    Step(usize),
    WaitKill { step: usize },
    WaitRunning(Box<Starting>),
    Watching(Box<Watch>),
    Done(JobResult),
}

struct Job<'a> {
    change: &'a JobChange,
    key: JobKey,
    steps: Vec<Action>,
    config: Option<JobConfiguration>,
    settings: Option<JobUpdateSettings>,
    state: State,
}

fn decode<T: thrift::protocol::TSerializable>(b64: Option<&String>) -> Option<T> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64?.as_bytes())
        .ok()?;
    aurora_api::wire::decode_struct(&bytes).ok()
}

fn new_update_id() -> String {
    let v = fastrand::u128(..);
    let hex = format!("{v:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn api_message(e: &ApiError) -> String {
    match e {
        ApiError::OutcomeUnknown { .. } => format!(
            "{e}; the change may have been made: re-run apply to reconcile (it reads the job first)"
        ),
        _ => match e.scheduler() {
            Some(s) => format!("{}: {}", s.code, s.joined_messages()),
            None => e.to_string(),
        },
    }
}

/// A write the scheduler refused because someone else got there first (another run created
/// the job, or updates it) is a conflict, not an error of ours.
fn outcome_of_api(e: &ApiError) -> Outcome {
    let created_elsewhere = e.response_code() == Some(ResponseCode::INVALID_REQUEST)
        && e.scheduler()
            .is_some_and(|s| s.joined_messages().contains("already exists"));
    if e.response_code() == Some(ResponseCode::JOB_UPDATING_ERROR) || created_elsewhere {
        Outcome::Conflict
    } else {
        Outcome::Error
    }
}

/// Executes `changes` (all of one cluster) and reports every job's outcome, in input order.
pub fn execute(
    client: &Client,
    changes: &[JobChange],
    options: &ExecuteOptions,
    sink: &dyn EventSink,
) -> Vec<JobResult> {
    let mut jobs: Vec<Job<'_>> = changes
        .iter()
        .map(|change| {
            let steps: Vec<Action> = change
                .actions
                .iter()
                .copied()
                .filter(|a| *a != Action::Noop)
                .collect();
            let state = if steps.is_empty() {
                State::Done(JobResult {
                    job_key: change.job_key.clone(),
                    outcome: Outcome::Unchanged,
                    message: String::new(),
                    update_id: None,
                })
            } else if change.protected && steps.iter().any(|a| a.is_destructive()) {
                State::Done(JobResult {
                    job_key: change.job_key.clone(),
                    outcome: Outcome::Refused,
                    message: "the live job is protected (protect: true); set protect: false and apply first".into(),
                    update_id: None,
                })
            } else {
                State::Pending
            };
            Job {
                change,
                key: change.job_key.thrift(),
                steps,
                config: decode(change.execution.job_configuration.as_ref()),
                settings: decode(change.execution.update_settings.as_ref()),
                state,
            }
        })
        .collect();

    let clock = &*options.clock;
    let start = clock.now();
    let deadline = start + options.timeout;
    // Every call of this execution, retries included, keeps its deadline and its Ctrl-C. The
    // client measures its deadline in real time: with a virtual clock the loop keeps it.
    let _limits = LimitsGuard::set(
        client,
        CallLimits {
            deadline: clock.real_deadline(options.timeout),
            cancel: options.interrupted.clone(),
        },
    );
    let mut stopped = false;
    let mut contact = Contact::default();
    let mut seen_reasons: BTreeSet<(String, String)> = BTreeSet::new();
    loop {
        let interrupted = options
            .interrupted
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst));
        // Start the pending jobs, their steps sent `parallelism` jobs at a time. A job holds
        // a slot only while its steps are being sent: following its rollout takes none, so
        // thousands of updates roll at once while one batched poll per role watches them.
        let unsent: Vec<bool> = jobs
            .iter()
            .map(|j| matches!(j.state, State::Pending | State::Step(_)))
            .collect();
        if !interrupted && clock.now() < deadline {
            // A job whose wait ended between two steps (killed, then created) goes on.
            let mut continuing: Vec<&mut Job<'_>> = jobs
                .iter_mut()
                .filter(|j| matches!(j.state, State::Step(_)))
                .collect();
            for chunk in continuing.chunks_mut(options.parallelism.max(1)) {
                std::thread::scope(|scope| {
                    for job in chunk.iter_mut() {
                        scope.spawn(move || send_steps(client, job, options, sink));
                    }
                });
            }
        }
        if !stopped && !interrupted && clock.now() < deadline {
            let mut pending: Vec<&mut Job<'_>> = jobs
                .iter_mut()
                .filter(|j| matches!(j.state, State::Pending))
                .collect();
            for chunk in pending.chunks_mut(options.parallelism.max(1)) {
                let cancelled = options
                    .interrupted
                    .as_ref()
                    .is_some_and(|f| f.load(Ordering::SeqCst));
                if stopped || cancelled || clock.now() >= deadline {
                    break;
                }
                std::thread::scope(|scope| {
                    for job in chunk.iter_mut() {
                        scope.spawn(move || {
                            job.state = State::Step(0);
                            send_steps(client, job, options, sink);
                        });
                    }
                });
                // `--on-failure stop`: no further write once one has failed.
                stopped =
                    options.on_failure == OnFailure::Stop && chunk.iter().any(|j| failed(&j.state));
            }
        }
        // A job whose steps went through (now watched or waited for) heard from the
        // scheduler: that dates what is known if the polls find nobody answering.
        if jobs.iter().zip(&unsent).any(|(j, unsent)| {
            *unsent && matches!(j.state, State::Watching(_) | State::WaitRunning(_))
        }) {
            contact.answered(clock.wall());
        }
        // What was not started is skipped.
        for job in jobs.iter_mut() {
            if matches!(job.state, State::Pending) && (stopped || interrupted) {
                job.state = State::Done(JobResult {
                    job_key: job.change.job_key.clone(),
                    outcome: Outcome::Skipped,
                    message: if interrupted {
                        "interrupted before it started".into()
                    } else {
                        "not started: an earlier job failed (--on-failure stop)".into()
                    },
                    update_id: None,
                });
                sink.event(&complete_event(job));
            }
        }
        // Poll what is waiting; tell when the scheduler stops (or starts again) answering.
        let mut errors = Vec::new();
        poll(
            client,
            &mut jobs,
            options,
            sink,
            start,
            &mut seen_reasons,
            &mut errors,
        );
        // Calls cut short by our own deadline say nothing about the scheduler.
        if clock.now() < deadline {
            contact.after_poll(&errors, sink, clock.wall());
        }
        if options.on_failure == OnFailure::Stop && jobs.iter().any(|j| failed(&j.state)) {
            stopped = true;
        }
        let now = clock.now();
        let waiting = jobs.iter().any(|j| !matches!(j.state, State::Done(_)));
        if !waiting {
            break;
        }
        let startable = jobs.iter().any(|j| matches!(j.state, State::Step(_)))
            || (!stopped && jobs.iter().any(|j| matches!(j.state, State::Pending)));
        if startable && !interrupted && now < deadline {
            // Jobs not started yet (a chunk was cut short): start them now.
            continue;
        }
        if interrupted || now >= deadline {
            for job in jobs.iter_mut() {
                let outcome = match &job.state {
                    State::Done(_) => continue,
                    State::Pending => Outcome::Skipped,
                    _ if interrupted => Outcome::Detached,
                    State::Watching(w)
                        if ConstAWAITNGPULSEJOBUPDATESTATES::const_value().contains(&w.status) =>
                    {
                        Outcome::AwaitingPulse
                    }
                    _ => Outcome::TimedOut,
                };
                let update_id = match &job.state {
                    State::Watching(w) => w.key.id.clone(),
                    _ => None,
                };
                let message = match (&job.state, outcome) {
                    (State::Watching(w), _) if contact.lost.is_some() => format!(
                        "lost contact with the scheduler {}; update {} was {} then ({}/{} instances updated) and what it does now is unknown: look with `aurora-apply update info {}`",
                        contact.since(),
                        w.key.id.as_deref().unwrap_or(""),
                        w.status,
                        w.updated,
                        w.total,
                        job.change.job_key
                    ),
                    (State::WaitRunning(s), _) if contact.lost.is_some() => format!(
                        "lost contact with the scheduler {}; {} of {} instance(s) were running then",
                        contact.since(),
                        s.counts.running,
                        s.total
                    ),
                    (State::WaitRunning(s), _) => format!(
                        "{} of {} instance(s) running, {} not yet (pending reasons above)",
                        s.counts.running, s.total, s.counts.waiting
                    ),
                    (State::Watching(w), _) => format!(
                        "update {} is still {} on the scheduler ({}/{} instances updated); pause or abort it with `aurora-apply update pause|abort {}`",
                        w.key.id.as_deref().unwrap_or(""),
                        w.status,
                        w.updated,
                        w.total,
                        job.change.job_key
                    ),
                    (_, Outcome::Skipped) => "not started".into(),
                    _ if contact.lost.is_some() => {
                        format!("lost contact with the scheduler {}", contact.since())
                    }
                    _ => "still in progress".into(),
                };
                job.state = State::Done(JobResult {
                    job_key: job.change.job_key.clone(),
                    outcome,
                    message,
                    update_id,
                });
                sink.event(&complete_event(job));
            }
            break;
        }
        // Until the next poll, or at once on Ctrl-C.
        let until = now
            + options
                .poll_interval
                .min(deadline.saturating_duration_since(now));
        while clock.now() < until
            && !options
                .interrupted
                .as_ref()
                .is_some_and(|f| f.load(Ordering::SeqCst))
        {
            clock.sleep(
                until
                    .saturating_duration_since(clock.now())
                    .min(Duration::from_millis(50)),
            );
        }
    }
    jobs.into_iter()
        .map(|j| match j.state {
            State::Done(r) => r,
            _ => JobResult {
                job_key: j.change.job_key.clone(),
                outcome: Outcome::Error,
                message: "internal: job left unfinished".into(),
                update_id: None,
            },
        })
        .collect()
}

/// Sends a job's steps, from the one its state names, until it waits (for its update, its
/// tasks) or ends.
fn send_steps(client: &Client, job: &mut Job<'_>, options: &ExecuteOptions, sink: &dyn EventSink) {
    while let State::Step(i) = job.state {
        job.state = run_step(client, job, i, options, sink);
        if let State::Done(result) = &job.state {
            sink.event(&complete_event_of(result));
        }
    }
}

/// Whether a job ended without its change made (skips are a consequence, not a failure).
fn failed(state: &State) -> bool {
    matches!(state, State::Done(r) if !r.outcome.is_success() && r.outcome != Outcome::Skipped)
}

/// Restores the client's previous limits when the execution ends.
struct LimitsGuard<'a> {
    client: &'a Client,
    previous: Option<CallLimits>,
}

impl<'a> LimitsGuard<'a> {
    fn set(client: &'a Client, limits: CallLimits) -> Self {
        let previous = Some(client.set_limits(limits));
        LimitsGuard { client, previous }
    }
}

impl Drop for LimitsGuard<'_> {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            self.client.set_limits(previous);
        }
    }
}

/// Whether the scheduler answered the last polls: the last time it did, and the error since
/// it stopped (so the final message says what is known, and since when nothing is).
#[derive(Debug, Default)]
struct Contact {
    last_ok: Option<SystemTime>,
    lost: Option<String>,
}

impl Contact {
    /// Records one poll's errors; `now` is the execution clock's date.
    fn after_poll(&mut self, errors: &[String], sink: &dyn EventSink, now: SystemTime) {
        match errors.first() {
            Some(error) if self.lost.is_none() => {
                self.lost = Some(error.clone());
                sink.event(&Event::SchedulerUnreachable {
                    error: error.clone(),
                });
            }
            Some(_) => {}
            None => {
                if self.lost.take().is_some() {
                    sink.event(&Event::SchedulerReachable {});
                }
                self.last_ok = Some(now);
            }
        }
    }

    /// Records an answer outside the polls (a step sent), `now` the execution clock's date.
    fn answered(&mut self, now: SystemTime) {
        if self.lost.is_none() {
            self.last_ok = Some(now);
        }
    }

    /// "at 12:03:10 UTC" (the last answer), or "from the start".
    fn since(&self) -> String {
        match self.last_ok {
            Some(t) => {
                let secs = t
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
                    % 86_400;
                format!(
                    "at {:02}:{:02}:{:02} UTC",
                    secs / 3600,
                    secs / 60 % 60,
                    secs % 60
                )
            }
            None => "from the start".to_string(),
        }
    }
}

fn complete_event(job: &Job<'_>) -> Event {
    match &job.state {
        State::Done(r) => complete_event_of(r),
        _ => Event::JobComplete {
            job_key: job.change.job_key.clone(),
            outcome: Outcome::Error,
            message: String::new(),
            update_id: None,
        },
    }
}

fn complete_event_of(r: &JobResult) -> Event {
    Event::JobComplete {
        job_key: r.job_key.clone(),
        outcome: r.outcome,
        message: r.message.clone(),
        update_id: r.update_id.clone(),
    }
}

fn done(job: &Job<'_>, outcome: Outcome, message: impl Into<String>) -> State {
    State::Done(JobResult {
        job_key: job.change.job_key.clone(),
        outcome,
        message: message.into(),
        update_id: None,
    })
}

fn next_step(job: &Job<'_>, i: usize) -> State {
    if i + 1 < job.steps.len() {
        State::Step(i + 1)
    } else {
        done(job, Outcome::Succeeded, "")
    }
}

fn run_step(
    client: &Client,
    job: &Job<'_>,
    i: usize,
    options: &ExecuteOptions,
    sink: &dyn EventSink,
) -> State {
    let Some(&action) = job.steps.get(i) else {
        return done(job, Outcome::Succeeded, "");
    };
    sink.event(&Event::StepStarted {
        job_key: job.change.job_key.clone(),
        action,
    });
    tracing::info!(job = %job.change.job_key, ?action, "step");
    let message = options.message.as_deref();
    match action {
        Action::Noop => next_step(job, i),
        Action::Kill => {
            let text = message.map_or_else(
                || "killed by aurora-apply".to_string(),
                |m| format!("killed by aurora-apply: {m}"),
            );
            match client.kill_tasks(&job.key, None, Some(&text)) {
                Ok(_) => State::WaitKill { step: i },
                Err(e) => done(job, outcome_of_api(&e), api_message(&e)),
            }
        }
        Action::CronDeschedule => match client.deschedule_cron_job(&job.key) {
            Ok(_) => next_step(job, i),
            Err(e) => done(job, outcome_of_api(&e), api_message(&e)),
        },
        Action::CronSchedule => {
            let Some(config) = &job.config else {
                return done(job, Outcome::Error, "the plan has no job configuration");
            };
            match client.schedule_cron_job(config) {
                Ok(_) => next_step(job, i),
                Err(e) => done(job, outcome_of_api(&e), api_message(&e)),
            }
        }
        Action::Create => {
            let Some(config) = &job.config else {
                return done(job, Outcome::Error, "the plan has no job configuration");
            };
            match create(client, &job.key, config) {
                // As `aurora job create --wait-until=RUNNING`: done when every instance runs
                // (or already finished), not when the scheduler has queued the tasks.
                Ok(()) if options.wait => State::WaitRunning(Box::new(Starting {
                    step: i,
                    total: config
                        .instance_count
                        .and_then(|n| usize::try_from(n).ok())
                        .unwrap_or(0),
                    counts: TaskCounts::default(),
                    last_report: options.clock.now(),
                })),
                Ok(()) => next_step(job, i),
                Err(e) => done(job, outcome_of_api(&e), api_message(&e)),
            }
        }
        Action::Update => start_update(client, job, i, options, sink),
        Action::Follow => follow_update(client, job, options, sink),
        Action::AddInstances => {
            let Some(from) = job.change.instances.unchanged.first().map(|r| r.first) else {
                return done(job, Outcome::Error, "the plan names no instance to copy");
            };
            let count = i32::try_from(crate::ranges::count(&job.change.instances.add)).unwrap_or(0);
            let want = job.change.instance_count.1.unwrap_or(0);
            let key = InstanceKey {
                job_key: Some(job.key.clone()),
                instance_id: Some(from),
            };
            match add_instances(client, &key, count, want) {
                Ok(()) if options.wait => State::WaitRunning(Box::new(Starting {
                    step: i,
                    total: usize::try_from(want).unwrap_or(0),
                    counts: TaskCounts::default(),
                    last_report: options.clock.now(),
                })),
                Ok(()) => next_step(job, i),
                Err(e) => done(job, outcome_of_api(&e), api_message(&e)),
            }
        }
    }
}

/// `addInstances`, resolving a lost reply like [`create`]: if the job already has `want`
/// active instances the call went through; otherwise it certainly did not (the scheduler
/// adds all or nothing) and is sent once more.
fn add_instances(
    client: &Client,
    key: &InstanceKey,
    count: i32,
    want: i32,
) -> Result<(), ApiError> {
    match client.add_instances(key, count) {
        Ok(_) => Ok(()),
        Err(lost @ ApiError::OutcomeUnknown { .. }) => {
            let job = key.job_key.clone().unwrap_or_default();
            match active_task_count(client, &job) {
                Ok(n) if n >= usize::try_from(want).unwrap_or(0) => Ok(()),
                Ok(_) => client.add_instances(key, count).map(|_| ()),
                Err(_) => Err(lost),
            }
        }
        Err(e) => Err(e),
    }
}

/// `createJob`, resolving a lost reply by reading the job's tasks: if they exist the create
/// went through; if not, it certainly did not, and it is sent once more.
fn create(client: &Client, key: &JobKey, config: &JobConfiguration) -> Result<(), ApiError> {
    match client.create_job(config) {
        Ok(_) => Ok(()),
        // When even the check cannot be read, the create's own outcome is what to report.
        Err(lost @ ApiError::OutcomeUnknown { .. }) => match active_task_count(client, key) {
            Ok(n) if n > 0 => Ok(()),
            Ok(_) => client.create_job(config).map(|_| ()),
            Err(_) => Err(lost),
        },
        Err(e) => Err(e),
    }
}

fn active_task_count(client: &Client, key: &JobKey) -> Result<usize, ApiError> {
    Ok(crate::instances::active_tasks(client, &BTreeSet::from([key.clone()]), None)?.len())
}

fn start_update(
    client: &Client,
    job: &Job<'_>,
    i: usize,
    options: &ExecuteOptions,
    sink: &dyn EventSink,
) -> State {
    let Some(config) = &job.config else {
        return done(job, Outcome::Error, "the plan has no job configuration");
    };
    let settings = job.settings.clone().unwrap_or_default();
    let update_id = new_update_id();
    let meta = |k: &str, v: &str| Metadata {
        key: Some(k.to_string()),
        value: Some(v.to_string()),
    };
    let mut metadata = BTreeSet::from([
        meta(UPDATE_ID_KEY, &update_id),
        meta(
            TOOL_KEY,
            concat!("aurora-apply/", env!("CARGO_PKG_VERSION")),
        ),
        meta(SPEC_HASH_KEY, &options.provenance.spec_hash),
        meta(USER_KEY, &options.provenance.user),
    ]);
    if let Some(commit) = &options.provenance.git_commit {
        metadata.insert(meta(GIT_COMMIT_KEY, commit));
    }
    let config_hash = target_hash(config, &settings);
    metadata.insert(meta(CONFIG_HASH_KEY, &config_hash));
    let request = JobUpdateRequest {
        task_config: config.task_config.clone(),
        instance_count: config.instance_count,
        settings: Some(settings.clone()),
        metadata: Some(metadata),
    };
    let mut replaced = false;
    let key = loop {
        let error = match client.start_job_update(&request, options.message.as_deref()) {
            Ok(reply) => match reply.value {
                StartJobUpdateOutcome::NoChange => {
                    // Aurora answers "unchanged" before it looks for an update in progress
                    // (SchedulerThriftInterface.startJobUpdate, rel/0.22.0): the instances may
                    // run this config because an earlier run's update towards it replaced them
                    // since the plan, and still watches them. Follow that one to its end.
                    if let Some(running) = running_update_towards(client, &job.key, &config_hash) {
                        sink.event(&Event::UpdateFollowed {
                            job_key: job.change.job_key.clone(),
                            update_id: running.id.clone().unwrap_or_default(),
                        });
                        break running;
                    }
                    return State::Done(JobResult {
                        job_key: job.change.job_key.clone(),
                        outcome: Outcome::Unchanged,
                        message: reply.details.join(", "),
                        update_id: None,
                    });
                }
                StartJobUpdateOutcome::Started(result) => break result.key.unwrap_or_default(),
            },
            Err(e) => e,
        };
        let running = error
            .scheduler()
            .and_then(|s| s.in_progress_update())
            .and_then(|r| Some((r.key.clone()?, r.update_summary.as_ref()?.metadata.clone())));
        let Some((running_key, running_meta)) = running else {
            return done(job, outcome_of_api(&error), api_message(&error));
        };
        let running_id = running_key.id.clone().unwrap_or_default();
        // Our own earlier attempt (a retried call), or an earlier run's update towards this
        // very target (Ctrl-C, kill -9, a lost terminal): follow it instead of another.
        if has_update_id(running_meta.as_ref(), &update_id)
            || has_entry(running_meta.as_ref(), CONFIG_HASH_KEY, &config_hash)
        {
            if !has_update_id(running_meta.as_ref(), &update_id) {
                sink.event(&Event::UpdateFollowed {
                    job_key: job.change.job_key.clone(),
                    update_id: running_id.clone(),
                });
            }
            break running_key;
        }
        let ours = is_our_update(running_meta.as_ref());
        if ours && options.replace_running_update && !replaced {
            replaced = true;
            if let Err(e) = replace_running(client, &running_key, options) {
                return done(job, outcome_of_api(&e), api_message(&e));
            }
            continue;
        }
        let message = if ours {
            format!(
                "update {running_id}, started by an earlier aurora-apply run towards another config, is in progress; wait for it (`aurora-apply update wait {}`), or re-run with --replace-running-update to abort it and start this one",
                job.change.job_key
            )
        } else {
            format!(
                "update {running_id}, not started by aurora-apply, is in progress ({})",
                api_message(&error)
            )
        };
        return done(job, Outcome::Conflict, message);
    };
    let id = key.id.clone().unwrap_or_default();
    sink.event(&Event::UpdateStarted {
        job_key: job.change.job_key.clone(),
        update_id: id.clone(),
    });
    let _ = i;
    watch_update(client, job, key, &settings, options, sink)
}

/// The update in progress on `job` that aurora-apply started towards the config with
/// `config_hash`, if any (a failed read is none: the caller reports what it knows).
fn running_update_towards(
    client: &Client,
    job: &JobKey,
    config_hash: &str,
) -> Option<JobUpdateKey> {
    let query = JobUpdateQuery {
        job_key: Some(job.clone()),
        update_statuses: Some(ConstACTIVEJOBUPDATESTATES::const_value()),
        ..JobUpdateQuery::default()
    };
    let summaries = client.get_job_update_summaries(&query).ok()?.value;
    summaries
        .update_summaries
        .into_iter()
        .flatten()
        .find(|s| has_entry(s.metadata.as_ref(), CONFIG_HASH_KEY, config_hash))
        .and_then(|s| s.key)
}

/// Follows an update to its end from now on (or returns at once with `--no-wait`), pulsing
/// it first when it is coordinated.
fn watch_update(
    client: &Client,
    job: &Job<'_>,
    key: JobUpdateKey,
    settings: &JobUpdateSettings,
    options: &ExecuteOptions,
    sink: &dyn EventSink,
) -> State {
    let id = key.id.clone().unwrap_or_default();
    let pulse_ms = settings.block_if_no_pulses_after_ms.filter(|ms| *ms > 0);
    if !options.wait {
        return State::Done(JobResult {
            job_key: job.change.job_key.clone(),
            outcome: Outcome::Started,
            message: format!("update {id} in progress; not waiting (--no-wait)"),
            update_id: Some(id),
        });
    }
    let mut watch = Watch {
        key,
        role: job.key.role.clone().unwrap_or_default(),
        status: if pulse_ms.is_some() {
            JobUpdateStatus::ROLL_FORWARD_AWAITING_PULSE
        } else {
            JobUpdateStatus::ROLLING_FORWARD
        },
        updated: 0,
        failed: 0,
        total: 0,
        pulse_every: pulse_ms
            .and_then(|ms| u64::try_from(ms).ok())
            .map(|ms| Duration::from_millis(ms / 2)),
        last_pulse: None,
        last_report: options.clock.now(),
        failed_instances: BTreeSet::new(),
    };
    if options.pulse && watch.pulse_every.is_some() {
        pulse(
            client,
            &job.change.job_key,
            &mut watch,
            &*options.clock,
            sink,
        );
    }
    State::Watching(Box::new(watch))
}

/// The hash recorded as [`CONFIG_HASH_KEY`]: the update's target as sent.
fn target_hash(config: &JobConfiguration, settings: &JobUpdateSettings) -> String {
    use sha2::Digest as _;
    let target = JobUpdateRequest {
        task_config: config.task_config.clone(),
        instance_count: config.instance_count,
        settings: Some(settings.clone()),
        metadata: None,
    };
    let digest = sha2::Sha256::digest(aurora_api::wire::encode_struct(&target));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Aborts an earlier run's update and waits (at most the execution's timeout) until it
/// ended.
fn replace_running(
    client: &Client,
    key: &JobUpdateKey,
    options: &ExecuteOptions,
) -> Result<(), ApiError> {
    client.abort_job_update(key, Some("replaced by a newer aurora-apply run"))?;
    let give_up = options.clock.now() + options.timeout;
    while options.clock.now() < give_up {
        let details = client.get_job_update_details(&JobUpdateQuery {
            key: Some(key.clone()),
            ..JobUpdateQuery::default()
        })?;
        let ended = details
            .value
            .details_list
            .and_then(|l| l.into_iter().next())
            .and_then(|d| crate::updates::status_of(&d))
            .is_none_or(|s| terminal_outcome(s).is_some());
        if ended {
            return Ok(());
        }
        options
            .clock
            .sleep(options.poll_interval.max(Duration::from_millis(20)));
    }
    // Still not ended: starting ours will be refused and reported as the conflict it is.
    Ok(())
}

/// Watches the update an earlier run left behind (`Action::Follow`), pulsing it when it is
/// coordinated.
fn follow_update(
    client: &Client,
    job: &Job<'_>,
    options: &ExecuteOptions,
    sink: &dyn EventSink,
) -> State {
    let Some(update) = job.change.active_update.as_ref() else {
        return done(job, Outcome::Unchanged, "");
    };
    let key = JobUpdateKey {
        job: Some(job.key.clone()),
        id: Some(update.id.clone()),
    };
    sink.event(&Event::UpdateFollowed {
        job_key: job.change.job_key.clone(),
        update_id: update.id.clone(),
    });
    let settings = job.settings.clone().unwrap_or_default();
    watch_update(client, job, key, &settings, options, sink)
}

fn pulse(
    client: &Client,
    job_key: &ClusterJobKey,
    watch: &mut Watch,
    clock: &dyn Clock,
    sink: &dyn EventSink,
) {
    if client.pulse_job_update(&watch.key).is_ok() {
        watch.last_pulse = Some(clock.now());
        sink.event(&Event::Pulsed {
            job_key: job_key.clone(),
            update_id: watch.key.id.clone().unwrap_or_default(),
        });
    }
}

fn poll(
    client: &Client,
    jobs: &mut [Job<'_>],
    options: &ExecuteOptions,
    sink: &dyn EventSink,
    start: Instant,
    seen_reasons: &mut BTreeSet<(String, String)>,
    errors: &mut Vec<String>,
) {
    // Kills: wait until the job has no active task. A failed read is no answer: the next
    // poll asks again, until the deadline.
    for job in jobs.iter_mut() {
        if let State::WaitKill { step } = job.state {
            match active_task_count(client, &job.key) {
                Ok(0) => job.state = next_step(job, step),
                Ok(_) => {}
                Err(e) => errors.push(api_message(&e)),
            }
            if let State::Done(r) = &job.state {
                sink.event(&complete_event_of(r));
            }
        }
    }
    poll_starting(client, jobs, options, sink, start, errors);
    // Updates: one details query per role.
    let roles: BTreeSet<String> = jobs
        .iter()
        .filter_map(|j| match &j.state {
            State::Watching(w) => Some(w.role.clone()),
            _ => None,
        })
        .collect();
    let mut details: BTreeMap<String, JobUpdateDetails> = BTreeMap::new();
    let mut unanswered: BTreeSet<String> = BTreeSet::new();
    for role in roles {
        let watched = jobs
            .iter()
            .filter(|j| matches!(&j.state, State::Watching(w) if w.role == role))
            .count();
        let query = JobUpdateQuery {
            role: Some(role.clone()),
            limit: Some(i32::try_from(watched * 4 + 16).unwrap_or(64)),
            ..JobUpdateQuery::default()
        };
        let reply = match client.get_job_update_details(&query) {
            Ok(reply) => reply,
            Err(e) => {
                errors.push(api_message(&e));
                unanswered.insert(role);
                continue;
            }
        };
        {
            for d in reply.value.details_list.unwrap_or_default() {
                let id = d
                    .update
                    .as_ref()
                    .and_then(|u| u.summary.as_ref())
                    .and_then(|s| s.key.as_ref())
                    .and_then(|k| k.id.clone());
                if let Some(id) = id {
                    details.entry(id).or_insert(d);
                }
            }
        }
    }
    let mut pending_keys = BTreeSet::new();
    for job in jobs.iter_mut() {
        let State::Watching(watch) = &mut job.state else {
            continue;
        };
        let id = watch.key.id.clone().unwrap_or_default();
        if unanswered.contains(&watch.role) {
            continue;
        }
        let detail = match details.get(&id) {
            Some(d) => Some(d.clone()),
            // Not among the role's newest: ask for it by key.
            None => match client.get_job_update_details(&JobUpdateQuery {
                key: Some(watch.key.clone()),
                ..JobUpdateQuery::default()
            }) {
                Ok(r) => r.value.details_list.and_then(|l| l.into_iter().next()),
                Err(e) => {
                    errors.push(api_message(&e));
                    None
                }
            },
        };
        let Some(detail) = detail else { continue };
        let status = crate::updates::status_of(&detail).unwrap_or(watch.status);
        let counted = crate::updates::progress(&detail);
        let (updated, failed, total) = (counted.updated, counted.failed, counted.total);
        let failed_ids: BTreeSet<i32> = counted
            .failed_instances
            .iter()
            .flat_map(|r| r.first..=r.last)
            .collect();
        // The first answer always counts as a change: until then nothing knows the total.
        let changed = status != watch.status
            || updated != watch.updated
            || failed != watch.failed
            || total != watch.total;
        watch.status = status;
        watch.updated = updated;
        watch.failed = failed;
        watch.total = total;
        watch.failed_instances = failed_ids;
        let now = options.clock.now();
        if changed {
            watch.last_report = now;
            sink.event(&Event::UpdateStatus {
                job_key: job.change.job_key.clone(),
                update_id: id.clone(),
                status: status.to_string(),
                updated,
                failed,
                total,
            });
        } else if now.saturating_duration_since(watch.last_report) >= options.heartbeat_every {
            watch.last_report = now;
            sink.event(&Event::Heartbeat {
                job_key: job.change.job_key.clone(),
                status: status.to_string(),
                updated,
                total,
                elapsed_seconds: now.saturating_duration_since(start).as_secs(),
            });
        }
        if let Some(outcome) = terminal_outcome(status) {
            let message = match outcome {
                Outcome::Succeeded => format!("update {id} rolled forward"),
                _ if watch.failed_instances.is_empty() => format!("update {id} ended {status}"),
                _ => {
                    // Why they failed: the failed tasks' last status messages.
                    let reasons = failure_reasons(client, &job.key, &watch.failed_instances)
                        .unwrap_or_default();
                    format!(
                        "update {id} ended {status}; failed: {}",
                        describe_failures(&watch.failed_instances, &reasons)
                    )
                }
            };
            job.state = State::Done(JobResult {
                job_key: job.change.job_key.clone(),
                outcome,
                message,
                update_id: Some(id),
            });
            if let State::Done(r) = &job.state {
                sink.event(&complete_event_of(r));
            }
            continue;
        }
        let pulse_due = watch.pulse_every.is_some_and(|every| {
            watch
                .last_pulse
                .is_none_or(|t| now.saturating_duration_since(t) >= every)
                || ConstAWAITNGPULSEJOBUPDATESTATES::const_value().contains(&status)
        });
        if options.pulse && pulse_due {
            pulse(client, &job.change.job_key, watch, &*options.clock, sink);
        }
        if matches!(
            status,
            JobUpdateStatus::ROLLING_FORWARD | JobUpdateStatus::ROLLING_BACK
        ) {
            pending_keys.insert(job.key.clone());
        }
    }
    for job in jobs.iter() {
        if matches!(job.state, State::WaitRunning(_)) {
            pending_keys.insert(job.key.clone());
        }
    }
    if !pending_keys.is_empty() {
        // getPendingReason rejects queries with statuses: it adds PENDING itself.
        let query = TaskQuery {
            job_keys: Some(pending_keys),
            ..TaskQuery::default()
        };
        let reasons = match client.get_pending_reason(&query) {
            Ok(reply) => reply.value.reasons.unwrap_or_default(),
            Err(e) => {
                errors.push(api_message(&e));
                BTreeSet::new()
            }
        };
        {
            for reason in reasons {
                let task_id = reason.task_id.unwrap_or_default();
                let text = reason.reason.unwrap_or_default();
                // No reason given is nothing to show ("pending: " would end in nothing).
                if text.trim().is_empty() {
                    continue;
                }
                if seen_reasons.insert((task_id.clone(), text.clone())) {
                    let job_key = jobs
                        .iter()
                        .find(|j| task_of_job(&task_id, &j.key))
                        .map(|j| j.change.job_key.clone())
                        .unwrap_or_default();
                    sink.event(&Event::PendingReason {
                        job_key,
                        task_id,
                        reason: text,
                    });
                }
            }
        }
    }
}

/// Created jobs waiting for their instances to run: one task query for all of them.
fn poll_starting(
    client: &Client,
    jobs: &mut [Job<'_>],
    options: &ExecuteOptions,
    sink: &dyn EventSink,
    start: Instant,
    errors: &mut Vec<String>,
) {
    let keys: BTreeSet<JobKey> = jobs
        .iter()
        .filter(|j| matches!(j.state, State::WaitRunning(_)))
        .map(|j| j.key.clone())
        .collect();
    if keys.is_empty() {
        return;
    }
    let counts = match active_counts(client, &keys) {
        Ok(c) => c,
        // Unknown this round; the next poll asks again (the deadline still holds).
        Err(e) => {
            errors.push(api_message(&e));
            return;
        }
    };
    for job in jobs.iter_mut() {
        let State::WaitRunning(starting) = &mut job.state else {
            continue;
        };
        let now = counts.get(&job.key).copied().unwrap_or_default();
        let at = options.clock.now();
        let changed = now != starting.counts;
        starting.counts = now;
        if changed {
            starting.last_report = at;
            sink.event(&Event::InstancesStarting {
                job_key: job.change.job_key.clone(),
                running: now.running,
                waiting: now.waiting,
                total: starting.total,
            });
        } else if at.saturating_duration_since(starting.last_report) >= options.heartbeat_every {
            starting.last_report = at;
            sink.event(&Event::Heartbeat {
                job_key: job.change.job_key.clone(),
                status: "STARTING".into(),
                updated: now.running,
                total: starting.total,
                elapsed_seconds: at.saturating_duration_since(start).as_secs(),
            });
        }
        if now.waiting == 0 {
            let step = starting.step;
            let finished = starting.total.saturating_sub(now.running);
            let message = if finished == 0 {
                format!("{} instance(s) running", now.running)
            } else {
                format!(
                    "{} instance(s) running, {finished} already finished",
                    now.running
                )
            };
            job.state = match next_step(job, step) {
                State::Done(mut r) => {
                    r.message = message;
                    State::Done(r)
                }
                other => other,
            };
            if let State::Done(r) = &job.state {
                sink.event(&complete_event_of(r));
            }
        }
    }
}

/// Whether a task id belongs to a job. Aurora's task ids read
/// `<millis>-<role>-<env>-<name>-<instance>-<uuid>`: the job's `<role>-<env>-<name>-` must be
/// followed by an instance number, so `hello` does not claim the tasks of `hello-x`.
fn task_of_job(task_id: &str, key: &JobKey) -> bool {
    let prefix = format!(
        "{}-{}-{}-",
        key.role.as_deref().unwrap_or(""),
        key.environment.as_deref().unwrap_or(""),
        key.name.as_deref().unwrap_or("")
    );
    task_id.match_indices(&prefix).any(|(i, _)| {
        let at_start = i == 0 || task_id[..i].ends_with('-');
        let rest = &task_id[i + prefix.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        at_start && digits > 0 && rest[digits..].starts_with('-')
    })
}

/// The outcome of a terminal update state; `None` while the update is active.
pub fn terminal_outcome(status: JobUpdateStatus) -> Option<Outcome> {
    match status {
        JobUpdateStatus::ROLLED_FORWARD => Some(Outcome::Succeeded),
        JobUpdateStatus::ROLLED_BACK => Some(Outcome::RolledBack),
        JobUpdateStatus::ABORTED | JobUpdateStatus::ERROR | JobUpdateStatus::FAILED => {
            Some(Outcome::Failed)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_ids_look_like_uuids() {
        let id = new_update_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_ne!(id, new_update_id());
    }

    #[test]
    fn task_ids_are_matched_to_their_job() {
        let key = |name: &str| JobKey {
            role: Some("www-data".into()),
            environment: Some("prod".into()),
            name: Some(name.into()),
        };
        let real = "1700000000000-www-data-prod-hello-x-3-6a4f1c2e-0000-4000-8000-000000000001";
        assert!(task_of_job(real, &key("hello-x")));
        assert!(!task_of_job(real, &key("hello")));
        assert!(task_of_job(
            "www-data-prod-hello-0-00000001-0000",
            &key("hello")
        ));
    }

    #[test]
    fn terminal_states_map_to_outcomes() {
        assert_eq!(
            terminal_outcome(JobUpdateStatus::ROLLED_BACK),
            Some(Outcome::RolledBack)
        );
        assert_eq!(terminal_outcome(JobUpdateStatus::ROLL_FORWARD_PAUSED), None);
    }
}
