//! `aurora-apply destroy PATH...` and `aurora-apply kill JOBKEY...`: kill and deschedule
//! named jobs, with the same rails as any destructive apply (confirmation, protection).

use std::path::PathBuf;

use aurora_api::types::JobKey;
use clap::Args;

use crate::cli::{ConfirmArgs, ConnectArgs, ExecArgs, GlobalArgs, ReadArgs, SpecPaths};
use crate::commands::apply::{HowToApply, apply_plan};
use crate::connect::Connections;
use crate::exit::Exit;
use crate::session::{self, Rails};

/// Arguments of `destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The specs whose jobs are destroyed.
    #[command(flatten)]
    pub paths: SpecPaths,
    /// What every killing command takes.
    #[command(flatten)]
    pub kill: KillOptions,
}

/// Arguments of `kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Jobs to kill, as `cluster/role/environment/name`.
    #[arg(required = true, value_name = "JOBKEY")]
    pub job_keys: Vec<String>,
    /// What every killing command takes.
    #[command(flatten)]
    pub kill: KillOptions,
}

/// The options `destroy` and `kill` share.
#[derive(Debug, Args)]
pub struct KillOptions {
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Reading.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Confirmation.
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    /// Execution.
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// Runs `destroy`.
pub fn exec_destroy(global: &GlobalArgs, args: &DestroyArgs) -> Exit {
    let mut connections = match session::connect(&args.kill.connect, &args.paths.paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let desired =
        match session::desired_jobs(global, &args.paths.paths, connections.known_names(), false) {
            Ok(d) => d,
            Err(code) => return code,
        };
    let keys: Vec<(String, JobKey)> = desired
        .iter()
        .map(|d| (d.cluster.clone(), d.key()))
        .collect();
    let code = destroy(
        global,
        &args.paths.paths,
        keys,
        &args.kill,
        &mut connections,
        false,
    );
    connections.close();
    code
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
    let mut connections = match session::connect(&args.kill.connect, &[]) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let code = destroy(global, &[], keys, &args.kill, &mut connections, true);
    connections.close();
    code
}

/// Plans the kills of `keys` and applies them. `must_exist`: a key that names no live job
/// is an error (exit 3, nothing killed) — `kill` was given keys, so a typo must not pass
/// as "nothing to do"; `destroy` of specs whose jobs are gone is a no-op.
fn destroy(
    global: &GlobalArgs,
    paths: &[PathBuf],
    keys: Vec<(String, JobKey)>,
    options: &KillOptions,
    connections: &mut Connections,
    must_exist: bool,
) -> Exit {
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
        let client = match session::client_for(connections, cluster) {
            Ok(c) => c,
            Err(code) => return code,
        };
        match aurora_apply::ops::destroy_cluster(
            &client,
            cluster,
            &cluster_keys,
            &options.read.observe(),
        ) {
            Ok(c) => changes.extend(c),
            Err(e) => {
                session::error(&e);
                return session::engine_exit(&e);
            }
        }
    }
    if must_exist {
        let missing: Vec<String> = keys
            .iter()
            .map(|(c, k)| aurora_apply::desired::job_key_string(c, k))
            .filter(|key| {
                !changes
                    .iter()
                    .any(|c: &aurora_apply::plan::JobChange| &c.job_key == key && !c.is_noop())
            })
            .collect();
        if !missing.is_empty() {
            session::error(format!(
                "no such job on the scheduler: {}; nothing was killed",
                missing.join(", ")
            ));
            return Exit::Invalid;
        }
    }
    let plan = aurora_apply::planning::assemble(
        changes,
        &[],
        paths.iter().map(|p| p.display().to_string()).collect(),
        &aurora_apply::planning::PlanOptions::default(),
        session::now_rfc3339(),
    );
    let how = HowToApply {
        json: false,
        rails: Rails {
            auto_approve: options.confirm.auto_approve,
            // Destroying is what was asked for: the destructive rail is passed by confirming.
            allow_destroy: true,
            allow_mass_prune: true,
        },
        run: options.exec.run_options(None),
    };
    apply_plan(global, &how, &plan, connections)
}
