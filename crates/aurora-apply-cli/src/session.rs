//! The pipeline the engine commands share: specs → desired jobs, clusters → clients, plan per
//! cluster, safety rails, execution, and the exit code of an apply. Commands stay thin by
//! calling these in order.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aurora_apply::desired::{DesiredJob, PlacedJob};
use aurora_apply::error::EngineError;
use aurora_apply::events::{Event, EventSink, Outcome};
use aurora_apply::execute::{ExecuteOptions, JobResult, OnFailure, Provenance, execute};
use aurora_apply::plan::{JobChange, Plan};
use aurora_apply::planning::{PlanOptions, assemble, plan_cluster_placing};
use aurora_apply::rails::{Consent, Refusal};

use crate::connect::Connections;
use crate::exit::Exit;

/// Prints an error line to stderr.
pub fn error(message: impl std::fmt::Display) {
    let _ = writeln!(crate::redact::stderr(), "error: {message}");
}

/// Prints a note to stderr.
pub fn note(message: impl std::fmt::Display) {
    let _ = writeln!(crate::redact::stderr(), "{message}");
}

/// The exit code of an engine failure.
pub fn engine_exit(e: &EngineError) -> Exit {
    match e {
        EngineError::Invalid { .. } => Exit::Invalid,
        EngineError::Conflict { .. } => Exit::Conflict,
        _ => Exit::Error,
    }
}

/// The loaded specs, ready to become the engine's desired jobs on each cluster.
///
/// A job's tier and `production` flag depend on the cluster's tiers (Aurora's client fills
/// in whichever the config leaves out from `getTierConfigs`), so each job keeps what placing
/// it again needs and each cluster's jobs are placed with that cluster's answer when it is
/// planned. The specs themselves are not kept: each job is held as the engine's compact form.
pub struct Desired {
    jobs: Vec<Placeable>,
    /// The variables the specs used, as the plan records them.
    variables: Vec<aurora_apply::plan::PlanVariable>,
    /// The project file of the spec directories, when there is one (its rollout stages).
    pub project: Option<aurora_spec::project::Project>,
}

/// A desired job as loaded (placed with Aurora's bundled tiers) and how to place it again.
struct Placeable {
    job: DesiredJob,
    placing: aurora_spec::Placing,
}

impl Desired {
    /// Every job as placed with Aurora's bundled tiers (for commands that need keys only).
    pub fn jobs(&self) -> Vec<DesiredJob> {
        self.jobs.iter().map(|p| p.job.clone()).collect()
    }

    /// The jobs of `cluster`, placed with its `tiers`.
    pub fn on_cluster(
        &self,
        cluster: &str,
        tiers: &aurora_apply::normalize::Tiers,
    ) -> Vec<PlacedJob<'_>> {
        self.jobs
            .iter()
            .filter(|p| p.job.cluster == cluster)
            .map(|p| {
                let placement = p.placing.on(tiers);
                if &placement == p.placing.placed() {
                    PlacedJob::AsLoaded(&p.job)
                } else {
                    let mut config = p.job.config();
                    p.placing.place(&mut config, &placement);
                    PlacedJob::Moved(Box::new(p.job.with_config(&config)))
                }
            })
            .collect()
    }

    /// The Thrift keys of the jobs of `cluster` (which roles to read).
    fn keys_on(&self, cluster: &str) -> Vec<aurora_api::types::JobKey> {
        self.jobs
            .iter()
            .filter(|p| p.job.cluster == cluster)
            .map(|p| p.job.key())
            .collect()
    }

    /// The clusters the specs name, sorted.
    fn clusters(&self) -> Vec<String> {
        let set: std::collections::BTreeSet<&str> =
            self.jobs.iter().map(|p| p.job.cluster.as_str()).collect();
        set.into_iter().map(str::to_string).collect()
    }
}

/// What the engine needs of a loaded job: what is sent, and how updates run.
fn desired_job(loaded: aurora_spec::LoadedJob, adopt: bool) -> Placeable {
    let job = &loaded.job;
    let settings = loaded.update.and_then(|u| u.settings).unwrap_or_default();
    let mut desired = DesiredJob::new(&job.key.cluster, &loaded.config, settings);
    desired.protect = job.spec.protect.unwrap_or(false);
    desired.adopt = adopt;
    desired.source = Some(job.origin.location());
    Placeable {
        job: desired,
        placing: job.placing(),
    }
}

/// Loads specs for the engine.
pub fn desired_jobs(
    global: &crate::cli::GlobalArgs,
    paths: &[PathBuf],
    vars: &crate::cli::VarArgs,
    known_clusters: Option<Vec<String>>,
    adopt: bool,
) -> Result<Desired, Exit> {
    let project = crate::project::load_or_report(global, paths, known_clusters.as_deref())?;
    let mut checked = crate::commands::check_or_report(global, paths, vars, known_clusters)?;
    let variables = checked
        .variables
        .iter()
        .map(|v| aurora_apply::plan::PlanVariable {
            name: v.name.clone(),
            var_type: v.ty.name().to_string(),
            value: v.value.clone(),
            sensitive: v.sensitive,
            source: v.source.to_string(),
            from: v.from.clone(),
        })
        .collect();
    // Each job is converted and kept in the engine's compact form at once, its spec dropped:
    // what a big plan holds of the specs is what is sent.
    let jobs = aurora_spec::load::convert_jobs(std::mem::take(&mut checked.jobs), |l| {
        desired_job(l, adopt)
    });
    Ok(Desired {
        jobs,
        variables,
        project,
    })
}

/// Finds the clusters for these spec paths (or the explicit file).
pub fn connect(args: &crate::cli::ConnectArgs, paths: &[PathBuf]) -> Result<Connections, Exit> {
    Connections::load(&args.options(), paths).map_err(|e| {
        error(e);
        Exit::Error
    })
}

/// The client of a cluster, or the error printed and exit 1.
pub fn client_for(
    connections: &mut Connections,
    cluster: &str,
) -> Result<Arc<aurora_api::Client>, Exit> {
    connections.client(cluster).map_err(|e| {
        error(e);
        Exit::Error
    })
}

/// Specs and clusters for an engine command: the desired jobs and their connections.
pub fn prepare(
    global: &crate::cli::GlobalArgs,
    connect_args: &crate::cli::ConnectArgs,
    paths: &[PathBuf],
    vars: &crate::cli::VarArgs,
    adopt: bool,
) -> Result<(Desired, Connections), Exit> {
    let connections = connect(connect_args, paths)?;
    let desired = desired_jobs(global, paths, vars, connections.known_names(), adopt)?;
    Ok((desired, connections))
}

/// Plans every cluster of `desired`, each with its jobs placed on its own tiers. With a
/// project rollout the plan records its stages; `stage` (`--stage N`) limits the plan to the
/// clusters of that stage and marks it partial.
pub fn plan_all(
    connections: &mut Connections,
    desired: &Desired,
    files: Vec<String>,
    options: &PlanOptions,
    stage: Option<usize>,
) -> Result<Plan, Exit> {
    let mut changes = Vec::new();
    let mut placed = Vec::new();
    let mut clusters: Vec<String> = desired
        .clusters()
        .into_iter()
        .filter(|c| options.targets.may_match_cluster(c))
        .collect();
    for scope in &options.scope {
        if !clusters.contains(&scope.cluster) {
            clusters.push(scope.cluster.clone());
        }
    }
    let rollout = rollout_of(desired, &clusters, stage)?;
    if let (Some(rollout), Some(n)) = (&rollout, stage) {
        let wanted = rollout.clusters_of(n).unwrap_or_default();
        clusters.retain(|c| wanted.contains(c));
    }
    let fail = |e: EngineError| {
        error(&e);
        engine_exit(&e)
    };
    for cluster in clusters {
        let client = client_for(connections, &cluster)?;
        // The cluster's tiers are read in the same round trip as its roles, then place the
        // jobs as Aurora's client would.
        let (planned, jobs) = plan_cluster_placing(
            &client,
            &cluster,
            &desired.keys_on(&cluster),
            |tiers| desired.on_cluster(&cluster, tiers),
            options,
        )
        .map_err(fail)?;
        // Appending moves the first cluster's vectors rather than copying them.
        append(&mut changes, planned.changes);
        append(&mut placed, jobs);
    }
    let mut plan = assemble(changes, &placed, files, options, now_rfc3339());
    plan.scope.stage = stage;
    plan.rollout = rollout;
    plan.variables = desired.variables.clone();
    crate::redact::mask_plan_fields(&mut plan);
    Ok(plan)
}

/// Appends `more` to `all`, taking `more`'s buffer when `all` is empty (one cluster: no copy
/// of 10,000 changes).
fn append<T>(all: &mut Vec<T>, mut more: Vec<T>) {
    if all.is_empty() {
        *all = more;
    } else {
        all.append(&mut more);
    }
}

/// The rollout of the project over `clusters` (the implicit last stage included), and a
/// check of `--stage N` against it (exit 3: no stages, or no such stage).
fn rollout_of(
    desired: &Desired,
    clusters: &[String],
    stage: Option<usize>,
) -> Result<Option<aurora_apply::rollout::Rollout>, Exit> {
    let declared = desired
        .project
        .as_ref()
        .and_then(|p| p.rollout.as_ref().map(|r| (p.file.clone(), r)));
    let rollout = declared.map(|(file, r)| {
        aurora_apply::rollout::Rollout::new(Some(file), &r.stages, r.soak, clusters)
    });
    match (stage, &rollout) {
        (None, _) => {}
        (Some(_), None) => {
            error(
                "--stage needs rollout stages: give the directory whose project file (aurora-apply.yaml) declares `rollout.stages`",
            );
            return Err(Exit::Invalid);
        }
        (Some(n), Some(r)) if n == 0 || n > r.stages.len() => {
            error(format!(
                "--stage {n}: the rollout has {} stage(s) (1 to {})",
                r.stages.len(),
                r.stages.len()
            ));
            return Err(Exit::Invalid);
        }
        (Some(_), Some(_)) => {}
    }
    Ok(rollout)
}

/// Now, RFC 3339 in UTC.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The safety rails an apply must pass, and how to get past them.
#[derive(Debug, Clone, Default)]
pub struct Rails {
    /// `--auto-approve`.
    pub auto_approve: bool,
    /// `--allow-destroy`.
    pub allow_destroy: bool,
    /// `--allow-mass-prune`.
    pub allow_mass_prune: bool,
    /// `--allow-foreign` (or `kill JOBKEY`, which names its jobs): kill or replace jobs
    /// aurora-apply did not create.
    pub allow_foreign: bool,
}

/// Prints why the engine's rails refused the plan and returns the exit code.
fn refuse(refusal: &Refusal) -> Exit {
    match refusal {
        Refusal::ForeignUpdate { job_key, update: u } => {
            error(format!(
                "{job_key}: update {} ({}) started by {} at {} is in progress; wait for it, or abort it with `aurora-apply update abort {job_key}`",
                u.id,
                u.status,
                u.user,
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH
                        + Duration::from_millis(u64::try_from(u.created_at_ms).unwrap_or(0))
                ),
            ));
            return Exit::Conflict;
        }
        Refusal::Protected { job_key } => error(format!(
            "{job_key}: the live job is protected (protect: true); set protect: false and apply that first"
        )),
        Refusal::NotOwned {
            killed,
            updated,
            unknown,
        } => {
            // Only `apply` and `destroy` get here: `kill JOBKEY` names its jobs, the consent.
            if !killed.is_empty() {
                error(format!(
                    "refusing to kill or replace {} job(s) aurora-apply did not create (no ownership marker): {}; re-run with --allow-foreign if that is intended",
                    killed.len(),
                    aurora_apply::key::list(killed)
                ));
            }
            if !updated.is_empty() {
                error(format!(
                    "refusing to update {} job(s) aurora-apply did not create (no ownership marker): {}; re-run with --adopt to take them over (the marker is added in the same rolling update)",
                    updated.len(),
                    aurora_apply::key::list(updated)
                ));
            }
            if !unknown.is_empty() {
                error(format!(
                    "the saved plan does not say whether aurora-apply owns {} (made before plan format 1.1); plan again",
                    aurora_apply::key::list(unknown)
                ));
            }
        }
        Refusal::MassPrune { pruned, kept } => error(format!(
            "refusing to prune {pruned} job(s) while keeping {kept}: that looks like a mass deletion; re-run with --allow-mass-prune if it is intended"
        )),
        _ => error("the plan was refused by a safety rail"),
    }
    Exit::Refused
}

/// Checks the rails before anything runs. `Ok(true)` = go ahead, `Ok(false)` = the user said
/// no on the prompt (exit 0, nothing done), `Err(code)` = refused or conflict. The rails no
/// answer passes (an update not ours, protection, ownership, mass prune) are the engine's
/// [`aurora_apply::rails::check`]; confirmation is decided here.
pub fn pass_rails(plan: &Plan, rails: &Rails) -> Result<bool, Exit> {
    let consent = Consent {
        allow_foreign: rails.allow_foreign,
        allow_mass_prune: rails.allow_mass_prune,
    };
    if let Err(refusal) = aurora_apply::rails::check(plan, &consent) {
        return Err(refuse(&refusal));
    }
    let changed: Vec<&JobChange> = plan.changes.iter().filter(|c| !c.is_noop()).collect();
    let destructive = changed.iter().filter(|c| c.destructive).count();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if rails.auto_approve {
        if destructive > 0 && !rails.allow_destroy {
            error(format!(
                "{destructive} destructive change(s) (kills, fewer instances, replacements); re-run with --allow-destroy"
            ));
            return Err(Exit::Refused);
        }
        return Ok(true);
    }
    if !interactive {
        error(
            "no terminal to confirm on: re-run with --auto-approve (and --allow-destroy for destructive changes)",
        );
        return Err(Exit::Refused);
    }
    let question = if destructive > 0 {
        format!(
            "This plan destroys ({destructive} job(s) killed, replaced or shrunk). Apply it? Only 'yes' is accepted: "
        )
    } else {
        "Apply this plan? Only 'yes' is accepted: ".to_string()
    };
    Ok(ask(&question))
}

/// Asks on the terminal; true only for the answer `yes` (as Terraform: anything else, end
/// of input included, is no).
pub fn ask(question: &str) -> bool {
    let mut err = crate::redact::stderr();
    let _ = write!(err, "\n{question}");
    let _ = err.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer.trim() == "yes"
}

/// Options of an execution from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `--parallelism`.
    pub parallelism: usize,
    /// `--on-failure`.
    pub on_failure: OnFailure,
    /// `!--no-wait`.
    pub wait: bool,
    /// `--timeout`.
    pub timeout: Duration,
    /// `--poll-interval`.
    pub poll_interval: Duration,
    /// `-m`.
    pub message: Option<String>,
    /// `--replace-running-update`.
    pub replace_running_update: bool,
    /// `--lock-timeout`.
    pub lock_timeout: Duration,
}

/// What an execution did: every job's result and, for a staged rollout, the stages.
#[derive(Debug, Clone)]
pub struct Executed {
    /// Every job's result (a staged rollout's jobs in stages not run: skipped).
    pub results: Vec<JobResult>,
    /// The stages, when the plan records a rollout.
    pub rollout: Option<aurora_apply::rollout::RolloutReport>,
}

impl Executed {
    /// The exit code: the jobs' outcomes ([`apply_exit`]), or 130 when Ctrl-C ended a soak.
    pub fn exit(&self) -> Exit {
        if self.rollout.as_ref().is_some_and(|r| r.interrupted) {
            Exit::Interrupted
        } else {
            apply_exit(&self.results)
        }
    }
}

/// Executes every cluster's changes of `plan` and returns each job's result. A plan with a
/// rollout runs stage by stage ([`aurora_apply::rollout::run`]); otherwise one cluster after
/// the other.
pub fn run(
    connections: &mut Connections,
    plan: &Plan,
    options: &RunOptions,
    sink: &dyn EventSink,
) -> Result<Executed, Exit> {
    let interrupted = crate::interrupt::flag();
    let execute_options = ExecuteOptions {
        parallelism: options.parallelism,
        on_failure: options.on_failure,
        wait: options.wait,
        timeout: options.timeout,
        poll_interval: options.poll_interval,
        message: options.message.clone(),
        provenance: Provenance {
            spec_hash: plan.inputs.spec_hash.clone(),
            user: std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            git_commit: git_commit(&plan.inputs.files),
        },
        interrupted: Some(interrupted),
        replace_running_update: options.replace_running_update,
        ..ExecuteOptions::default()
    };
    sink.event(&Event::PlanSummary {
        summary: plan.summary.clone(),
    });
    if let Some(rollout) = &plan.rollout {
        return run_stages(connections, plan, rollout, &execute_options, sink);
    }
    let mut results = Vec::new();
    for (cluster, changes) in plan.by_cluster() {
        if changes.iter().all(JobChange::is_noop) {
            continue;
        }
        let client = client_for(connections, &cluster)?;
        results.extend(execute(&client, &changes, &execute_options, sink));
    }
    Ok(Executed {
        results,
        rollout: None,
    })
}

/// The staged execution: the clients of every cluster with changes are made first (an
/// unreachable cluster configuration stops the run before anything is sent), then the
/// engine walks the stages, one thread per cluster of a stage.
fn run_stages(
    connections: &mut Connections,
    plan: &Plan,
    rollout: &aurora_apply::rollout::Rollout,
    execute_options: &ExecuteOptions,
    sink: &dyn EventSink,
) -> Result<Executed, Exit> {
    let mut clients = std::collections::BTreeMap::new();
    for (cluster, changes) in plan.by_cluster() {
        if !changes.iter().all(JobChange::is_noop) {
            let client = client_for(connections, &cluster)?;
            clients.insert(cluster, client);
        }
    }
    let options = aurora_apply::rollout::RolloutOptions {
        clock: execute_options.clock.clone(),
        interrupted: execute_options.interrupted.clone(),
        only: plan.scope.stage,
    };
    let report = aurora_apply::rollout::run(
        rollout,
        &plan.changes,
        &options,
        sink,
        |cluster, changes| match clients.get(cluster) {
            Some(client) => execute(client, changes, execute_options, sink),
            None => changes
                .iter()
                .map(|c| JobResult {
                    job_key: c.job_key.clone(),
                    outcome: Outcome::Error,
                    message: format!("no client for cluster {cluster}"),
                    update_id: None,
                })
                .collect(),
        },
    );
    Ok(Executed {
        results: report.results(),
        rollout: Some(report),
    })
}

/// The commit checked out where the specs live (`git rev-parse HEAD`), if they are in a git
/// repository and git is installed; a dirty tree is marked `-dirty`.
fn git_commit(files: &[String]) -> Option<String> {
    let first = std::path::Path::new(files.first()?);
    let dir = if first.is_dir() {
        first
    } else {
        first.parent()?
    };
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = run(&["rev-parse", "HEAD"])?;
    let dirty = run(&["status", "--porcelain", "--", "."]).is_some_and(|s| !s.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

/// The exit code of an apply from its jobs' outcomes.
pub fn apply_exit(results: &[JobResult]) -> Exit {
    // Jobs skipped after a failure (--on-failure stop) follow from it: the failure decides.
    let mut failures: Vec<Outcome> = results
        .iter()
        .map(|r| r.outcome)
        .filter(|o| !o.is_success() && *o != Outcome::Skipped)
        .collect();
    if failures.is_empty() {
        if results.iter().any(|r| r.outcome == Outcome::Skipped) {
            failures.push(Outcome::Skipped);
        } else {
            return Exit::Success;
        }
    }
    if failures.contains(&Outcome::Detached) {
        return Exit::Interrupted;
    }
    // "Partial" means some jobs were changed as asked: unchanged jobs changed nothing.
    let succeeded = results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Succeeded | Outcome::Started));
    let all = |pred: fn(Outcome) -> bool| failures.iter().all(|o| pred(*o));
    if all(|o| matches!(o, Outcome::TimedOut | Outcome::AwaitingPulse)) {
        Exit::TimedOut
    } else if all(|o| o == Outcome::RolledBack) {
        Exit::RolledBack
    } else if all(|o| o == Outcome::Conflict) {
        Exit::Conflict
    } else if all(|o| o == Outcome::Refused) {
        Exit::Refused
    } else if all(|o| matches!(o, Outcome::Error | Outcome::Skipped)) && !succeeded {
        Exit::Error
    } else {
        Exit::Partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(outcome: Outcome) -> JobResult {
        JobResult {
            job_key: "c/r/e/n".parse().expect("key"),
            outcome,
            message: String::new(),
            update_id: None,
        }
    }

    #[test]
    fn outcomes_map_to_the_documented_exit_codes() {
        let code = |o: &[Outcome]| apply_exit(&o.iter().map(|o| result(*o)).collect::<Vec<_>>());
        assert_eq!(
            code(&[Outcome::Succeeded, Outcome::Unchanged]),
            Exit::Success
        );
        assert_eq!(
            code(&[Outcome::RolledBack, Outcome::Succeeded]),
            Exit::RolledBack
        );
        assert_eq!(code(&[Outcome::TimedOut]), Exit::TimedOut);
        assert_eq!(code(&[Outcome::AwaitingPulse]), Exit::TimedOut);
        assert_eq!(code(&[Outcome::Conflict]), Exit::Conflict);
        // Conflicts and the jobs skipped after them: a conflict (4), not "partial" (6).
        assert_eq!(
            code(&[Outcome::Conflict, Outcome::Skipped, Outcome::Skipped]),
            Exit::Conflict
        );
        assert_eq!(
            code(&[Outcome::RolledBack, Outcome::Skipped]),
            Exit::RolledBack
        );
        assert_eq!(code(&[Outcome::Error]), Exit::Error);
        assert_eq!(code(&[Outcome::Error, Outcome::Succeeded]), Exit::Partial);
        assert_eq!(code(&[Outcome::Error, Outcome::Unchanged]), Exit::Error);
        assert_eq!(code(&[Outcome::Failed]), Exit::Partial);
        assert_eq!(code(&[Outcome::RolledBack, Outcome::Failed]), Exit::Partial);
        assert_eq!(
            code(&[Outcome::Detached, Outcome::Failed]),
            Exit::Interrupted
        );
    }
}
