//! `aurora-apply destroy PATH...` and `aurora-apply kill JOBKEY...`: kill and deschedule
//! named jobs, with the same rails as any destructive apply (confirmation, protection).

use std::path::PathBuf;

use aurora_api::types::JobKey;
use clap::Args;

use crate::cli::{EngineArgs, GlobalArgs, PlanFormat, RunArgs, SpecPaths};
use crate::commands::apply::{ApplyArgs, apply_plan};
use crate::exit::Exit;
use crate::session;

/// Arguments of `destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The specs whose jobs are destroyed.
    #[command(flatten)]
    pub paths: SpecPaths,
    /// Engine options.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Execution options.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Arguments of `kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Jobs to kill, as `cluster/role/environment/name`.
    #[arg(required = true, value_name = "JOBKEY")]
    pub job_keys: Vec<String>,
    /// Engine options.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Execution options.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Runs `destroy`.
pub fn exec_destroy(global: &GlobalArgs, args: &DestroyArgs) -> Exit {
    let desired = match session::desired_jobs(global, &args.paths.paths, false) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let keys: Vec<(String, JobKey)> = desired
        .iter()
        .map(|d| (d.cluster.clone(), d.key()))
        .collect();
    destroy(global, &args.paths.paths, keys, &args.engine, &args.run)
}

/// Runs `kill`.
pub fn exec_kill(global: &GlobalArgs, args: &KillArgs) -> Exit {
    let mut keys = Vec::new();
    for text in &args.job_keys {
        match aurora_apply::ops::parse_job_key(text) {
            Some(key) => keys.push(key),
            None => {
                session::error(format!(
                    "{text}: not a job key (expected cluster/role/environment/name)"
                ));
                return Exit::Invalid;
            }
        }
    }
    destroy(global, &[], keys, &args.engine, &args.run)
}

fn destroy(
    global: &GlobalArgs,
    paths: &[PathBuf],
    keys: Vec<(String, JobKey)>,
    engine: &EngineArgs,
    run: &RunArgs,
) -> Exit {
    let mut connections = match session::connect(global, paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut clusters: Vec<String> = keys.iter().map(|(c, _)| c.clone()).collect();
    clusters.sort();
    clusters.dedup();
    let mut changes = Vec::new();
    for cluster in &clusters {
        let cluster_keys: Vec<JobKey> = keys
            .iter()
            .filter(|(c, _)| c == cluster)
            .map(|(_, k)| k.clone())
            .collect();
        let client = match connections.client(cluster) {
            Ok(c) => c,
            Err(e) => {
                session::error(e);
                connections.close();
                return Exit::Error;
            }
        };
        match aurora_apply::ops::destroy_cluster(
            &client,
            cluster,
            &cluster_keys,
            &engine.plan_options().observe,
        ) {
            Ok(c) => changes.extend(c),
            Err(e) => {
                session::error(&e);
                connections.close();
                return session::engine_exit(&e);
            }
        }
    }
    let options = engine.plan_options();
    let plan = aurora_apply::planning::assemble(
        changes,
        &[],
        paths.iter().map(|p| p.display().to_string()).collect(),
        &options,
        session::now_rfc3339(),
    );
    // Destroying is what was asked for: the destructive rail is passed by confirming.
    let mut run = run.clone();
    run.allow_destroy = true;
    let apply = ApplyArgs {
        paths: paths.to_vec(),
        engine: engine.clone(),
        run,
        output: PlanFormat::Text,
    };
    let code = apply_plan(global, &apply, &plan, &mut connections);
    connections.close();
    code
}
