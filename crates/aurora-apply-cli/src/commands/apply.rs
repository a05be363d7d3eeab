//! `aurora-apply apply [PATH... | PLANFILE]` (also the bare `aurora-apply PATH...`): plan,
//! show, pass the safety rails, execute and wait for the rollouts.

use std::path::PathBuf;

use aurora_apply::plan::Plan;
use clap::Args;

use crate::cli::{
    ConfirmArgs, ConnectArgs, EngineArgs, ExecArgs, GlobalArgs, PlanFormat, RailArgs, WaitArgs,
};
use crate::exit::Exit;
use crate::session::{self, Rails};

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Spec files or directories, or one plan file saved by `plan --out`.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Values for the specs' variables.
    #[command(flatten)]
    pub vars: crate::cli::VarArgs,
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Engine options.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Confirmation.
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    /// Safety rails.
    #[command(flatten)]
    pub rails: RailArgs,
    /// Waiting.
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Execution options.
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Output: `text`, or `json` for newline-delimited events on stdout.
    #[arg(short, long, value_enum, default_value_t = PlanFormat::Text)]
    pub output: PlanFormat,
}

/// Reads a saved plan, if `paths` is one plan file.
fn saved_plan(paths: &[PathBuf]) -> Option<Result<Plan, String>> {
    let [path] = paths else { return None };
    if !path.is_file() || path.extension().is_none_or(|e| e != "json") {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    if !text.contains("\"format_version\"") {
        return None;
    }
    Some(Plan::from_json(&text).map_err(|e| format!("{}: {e}", path.display())))
}

/// Runs `apply`.
pub fn exec(global: &GlobalArgs, args: &ApplyArgs) -> Exit {
    // With `-o json`, retries join the NDJSON stream as events.
    let connect = crate::cli::ConnectArgs {
        json_events: args.output == PlanFormat::Json,
        ..args.connect.clone()
    };
    let saved_plan = saved_plan(&args.paths);
    let saved = matches!(saved_plan, Some(Ok(_)));
    let (plan, mut connections) = match saved_plan {
        Some(Err(e)) => {
            session::error(e);
            return Exit::Invalid;
        }
        Some(Ok(_)) if args.engine.stage.is_some() => {
            session::error(
                "--stage is given when planning (`plan --stage N --out FILE`); a saved plan runs the stages it records",
            );
            return Exit::Invalid;
        }
        Some(Ok(plan)) => {
            // Clusters as when the plan was made: the spec paths it records, then the plan
            // file's own directory.
            let mut paths: Vec<PathBuf> = plan.inputs.files.iter().map(PathBuf::from).collect();
            paths.extend(args.paths.iter().cloned());
            let mut connections = match session::connect(&connect, &paths) {
                Ok(c) => c,
                Err(code) => return code,
            };
            if let Err(code) = check_fresh(&mut connections, &plan, &args.engine) {
                connections.close();
                return code;
            }
            (plan, connections)
        }
        None => {
            let (desired, mut connections) = match session::prepare(
                global,
                &connect,
                &args.paths,
                &args.vars,
                args.engine.adopt,
            ) {
                Ok(prepared) => prepared,
                Err(code) => return code,
            };
            let files = args.paths.iter().map(|p| p.display().to_string()).collect();
            match session::plan_all(
                &mut connections,
                &desired,
                files,
                &args.engine.plan_options(),
                args.engine.stage.map(usize::from),
            ) {
                Ok(plan) => (plan, connections),
                Err(code) => {
                    connections.close();
                    return code;
                }
            }
        }
    };
    let how = HowToApply {
        command: "apply",
        json: args.output == PlanFormat::Json,
        rails: Rails {
            // A saved plan was the review: applying it does not ask again.
            auto_approve: args.confirm.auto_approve || saved,
            allow_destroy: args.rails.allow_destroy,
            allow_mass_prune: args.rails.allow_mass_prune,
            allow_foreign: args.rails.foreign.allow_foreign,
        },
        run: crate::session::RunOptions {
            replace_running_update: args.rails.replace_running_update,
            ..args.exec.run_options(Some(&args.wait))
        },
    };
    let code = apply_plan(global, &how, &plan, &mut connections);
    connections.close();
    code
}

/// Refuses a saved plan whose jobs moved since it was made (exit 4, naming them).
fn check_fresh(
    connections: &mut crate::connect::Connections,
    plan: &Plan,
    engine: &EngineArgs,
) -> Result<(), Exit> {
    for (cluster, changes) in plan.by_cluster() {
        let client = session::client_for(connections, &cluster)?;
        let moved = aurora_apply::ops::stale_jobs(
            &client,
            &cluster,
            &changes,
            &engine.plan_options().observe,
        )
        .map_err(|e| {
            session::error(&e);
            session::engine_exit(&e)
        })?;
        if !moved.is_empty() {
            session::error(format!(
                "the saved plan is stale: {} changed on the scheduler since it was made; plan again",
                aurora_apply::key::list(&moved)
            ));
            return Err(Exit::Conflict);
        }
    }
    Ok(())
}

/// How a plan is applied: output, rails and execution options.
#[derive(Debug, Clone)]
pub struct HowToApply {
    /// `-o json`: newline-delimited events on stdout, no plan text.
    pub json: bool,
    /// The safety rails and what passes them.
    pub rails: Rails,
    /// Execution options.
    pub run: session::RunOptions,
    /// The command, as recorded in the locks it takes (`apply`, `destroy`, `kill`).
    pub command: &'static str,
}

/// Shows, gates and executes a plan.
pub fn apply_plan(
    global: &GlobalArgs,
    how: &HowToApply,
    plan: &Plan,
    connections: &mut crate::connect::Connections,
) -> Exit {
    let json = how.json;
    let sink = crate::sink::for_output(json);
    if !json && super::plan::show(plan, PlanFormat::Text, global).is_err() {
        return Exit::Error;
    }
    if !plan.summary.has_changes() {
        return Exit::Success;
    }
    match session::pass_rails(plan, &how.rails) {
        Err(code) => return code,
        Ok(false) => {
            // As Terraform: a declined apply is not a success a script could mistake.
            session::error("Apply cancelled; nothing was changed.");
            return Exit::Error;
        }
        Ok(true) => {}
    }
    // One run at a time per role being changed (an advisory lock in ZooKeeper, or beside a
    // sim:// state); held until the execution ends.
    let locks = match crate::apply_lock::acquire(
        connections,
        &crate::apply_lock::plan_targets(plan),
        how.run.lock_timeout,
        how.command,
    ) {
        Ok(locks) => locks,
        Err(e) => {
            session::error(&e);
            return e.exit();
        }
    };
    let executed = match session::run(connections, plan, &how.run, sink.as_ref()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let results = &executed.results;
    if !locks.all_held() {
        session::error(
            "the lock of a role was lost during the run (its ZooKeeper session ended): another run may have changed the same jobs meanwhile; plan again to see",
        );
    }
    let code = executed.exit();
    if !json {
        if let Some(report) = &executed.rollout {
            session::note(crate::view::rollout_text::render(report));
        }
        let done = results.iter().filter(|r| r.outcome.is_success()).count();
        session::note(format!(
            "\nApply finished: {done} of {} job(s) as specified (exit {}).",
            results.len(),
            code.as_u8()
        ));
        // Only when an update was left running: a create waiting for its tasks has none.
        let updates_left = results.iter().any(|r| {
            r.update_id.is_some()
                && matches!(
                    r.outcome,
                    aurora_apply::events::Outcome::TimedOut
                        | aurora_apply::events::Outcome::AwaitingPulse
                        | aurora_apply::events::Outcome::Detached
                )
        });
        if (code == Exit::Interrupted || code == Exit::TimedOut) && updates_left {
            session::note(
                "Updates keep running on the scheduler: follow them with `aurora-apply status`, or stop them with `aurora-apply update pause|abort JOBKEY`.",
            );
        }
    } else {
        let line = serde_json::json!({
            "@timestamp": session::now_rfc3339(),
            "@level": if code == Exit::Success { "info" } else { "error" },
            "@message": format!("Apply finished with exit code {}", code.as_u8()),
            "type": "apply_summary",
            "outcome": format!("{code:?}").to_lowercase(),
            "exit_code": code.as_u8(),
            "results": results.iter().map(|r| serde_json::json!({
                "job_key": r.job_key, "outcome": r.outcome, "message": r.message, "update_id": r.update_id,
            })).collect::<Vec<_>>(),
        });
        let mut line = line;
        if let (Some(report), Some(object)) = (&executed.rollout, line.as_object_mut()) {
            object.insert("stages".into(), crate::view::rollout_text::json(report));
        }
        println!("{line}");
    }
    code
}
