//! `aurora-apply destroy PATH...` and `aurora-apply kill JOBKEY...`: kill and deschedule
//! named jobs, with the same rails as any destructive apply (confirmation, protection).

use std::collections::BTreeSet;
use std::path::PathBuf;

use aurora_api::types::JobKey;
use clap::Args;

use crate::cli::{ConfirmArgs, ConnectArgs, ExecArgs, ForeignArg, GlobalArgs, ReadArgs, SpecPaths};
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
    /// A spec may name a job someone else created: killing it needs consent.
    #[command(flatten)]
    pub foreign: ForeignArg,
    /// Only the targeted jobs of the specs are destroyed.
    #[command(flatten)]
    pub target: crate::cli::TargetArgs,
    /// What every killing command takes.
    #[command(flatten)]
    pub kill: KillOptions,
}

/// Arguments of `kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Jobs to kill, as `cluster/role/environment/name` (one job with Aurora's
    /// `…/name/0-3,7` kills only those instances).
    #[arg(required = true, value_name = "JOBKEY")]
    pub job_keys: Vec<String>,
    /// Kill only these instances of the (one) job, e.g. `0-3,7`; the others keep running.
    #[arg(long, value_name = "IDS", value_parser = crate::commands::restart::parse_instances)]
    pub instances: Option<BTreeSet<i32>>,
    /// What every killing command takes.
    #[command(flatten)]
    pub kill: KillOptions,
    /// With `--instances` (or `JOBKEY/IDS`): how long to wait for those instances to end
    /// (e.g. `10m`); exit 7 when exceeded. A whole job's kill does not wait.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// With `--instances`: time between two polls of the scheduler while waiting.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub poll_interval: std::time::Duration,
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
    let desired = match session::desired_jobs(
        global,
        &args.paths.paths,
        &args.paths.vars,
        connections.known_names(),
        false,
    ) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let targets = args.target.targets();
    let keys: Vec<(String, JobKey)> = desired
        .jobs()
        .iter()
        .filter(|d| targets.matches(&d.job_key()))
        .map(|d| (d.cluster.clone(), d.key()))
        .collect();
    let code = destroy(
        global,
        &args.paths.paths,
        keys,
        &args.kill,
        &mut connections,
        Named::BySpec {
            allow_foreign: args.foreign.allow_foreign,
            targets,
        },
    );
    connections.close();
    code
}

/// Runs `kill`.
pub fn exec_kill(global: &GlobalArgs, args: &KillArgs) -> Exit {
    let some_instances = args.instances.is_some()
        || args
            .job_keys
            .iter()
            .any(|k| k.match_indices('/').count() > 3);
    if some_instances {
        return kill_some(args);
    }
    let mut keys = Vec::new();
    for text in &args.job_keys {
        match text.parse::<aurora_apply::key::ClusterJobKey>() {
            Ok(key) => keys.push((key.cluster.clone(), key.thrift())),
            Err(e) => {
                session::error(e);
                return Exit::Invalid;
            }
        }
    }
    let mut connections = match session::connect(&args.kill.connect, &[]) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let code = destroy(
        global,
        &[],
        keys,
        &args.kill,
        &mut connections,
        Named::ByKey,
    );
    connections.close();
    code
}

/// How the jobs to kill were named.
#[derive(Debug, Clone)]
enum Named {
    /// `kill JOBKEY...`: each key was typed, so a key that names no live job is an error
    /// (exit 3, nothing killed: a typo must not pass as "nothing to do"), and naming a job
    /// is the consent to kill it, whoever created it.
    ByKey,
    /// `destroy PATH...`: the specs name the jobs; jobs already gone are a no-op, and a spec
    /// whose key is a job aurora-apply did not create kills it only with `--allow-foreign`.
    BySpec {
        /// `--allow-foreign`.
        allow_foreign: bool,
        /// `--target`: the plan says it is partial.
        targets: aurora_apply::target::Targets,
    },
}

/// Plans the kills of `keys` and applies them.
fn destroy(
    global: &GlobalArgs,
    paths: &[PathBuf],
    keys: Vec<(String, JobKey)>,
    options: &KillOptions,
    connections: &mut Connections,
    named: Named,
) -> Exit {
    let must_exist = matches!(named, Named::ByKey);
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
        let missing: Vec<_> = keys
            .iter()
            .map(|(c, k)| aurora_apply::key::ClusterJobKey::new(c, k))
            .filter(|key| {
                !changes
                    .iter()
                    .any(|c: &aurora_apply::plan::JobChange| &c.job_key == key && !c.is_noop())
            })
            .collect();
        if !missing.is_empty() {
            session::error(format!(
                "no such job on the scheduler: {}; nothing was killed",
                aurora_apply::key::list(&missing)
            ));
            return Exit::Invalid;
        }
    }
    let plan = aurora_apply::planning::assemble(
        changes,
        &[] as &[aurora_apply::desired::DesiredJob],
        paths.iter().map(|p| p.display().to_string()).collect(),
        &aurora_apply::planning::PlanOptions {
            targets: match &named {
                Named::BySpec { targets, .. } => targets.clone(),
                Named::ByKey => aurora_apply::target::Targets::default(),
            },
            ..aurora_apply::planning::PlanOptions::default()
        },
        session::now_rfc3339(),
    );
    let how = HowToApply {
        command: if must_exist { "kill" } else { "destroy" },
        json: false,
        rails: Rails {
            auto_approve: options.confirm.auto_approve,
            // Destroying is what was asked for: the destructive rail is passed by confirming.
            allow_destroy: true,
            allow_mass_prune: true,
            allow_foreign: match named {
                Named::ByKey => true,
                Named::BySpec { allow_foreign, .. } => allow_foreign,
            },
        },
        run: options.exec.run_options(None),
    };
    apply_plan(global, &how, &plan, connections)
}

/// `kill JOBKEY --instances IDS` (or `kill JOBKEY/IDS`): kills only those instances of one
/// job, after checking that each is live (a typo is exit 3 with nothing killed) and that the
/// job is not protected; the other instances keep running.
fn kill_some(args: &KillArgs) -> Exit {
    let [text] = args.job_keys.as_slice() else {
        session::error(
            "killing some instances takes one job: give one JOBKEY with --instances (or JOBKEY/IDS)",
        );
        return Exit::Invalid;
    };
    let (cluster, key, instances) =
        match crate::commands::restart::target(text, args.instances.as_ref()) {
            Ok(t) => t,
            Err(e) => {
                session::error(e);
                return Exit::Invalid;
            }
        };
    let mut connections = match session::connect(&args.kill.connect, &[]) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let code = match session::client_for(&mut connections, &cluster) {
        Ok(client) => kill_selected(&client, &cluster, &key, instances.as_ref(), args),
        Err(code) => code,
    };
    connections.close();
    code
}

fn kill_selected(
    client: &aurora_api::Client,
    cluster: &str,
    key: &JobKey,
    instances: Option<&BTreeSet<i32>>,
    args: &KillArgs,
) -> Exit {
    let options = &args.kill;
    use aurora_apply::ranges::display_ids;
    let selection = match aurora_apply::instances::select_instances(client, cluster, key, instances)
    {
        Ok(s) => s,
        Err(e) => {
            session::error(&e);
            return crate::commands::restart::select_exit(&e);
        }
    };
    let others = selection.others();
    let n = selection.chosen.len();
    let mut line = format!(
        "-   {:<45} kill instance{} [{}] ({n} of {})",
        selection.job_key,
        if n == 1 { "" } else { "s" },
        display_ids(&selection.chosen),
        selection.live.len()
    );
    if !others.is_empty() {
        line.push_str(&format!("; [{}] keep running", display_ids(&others)));
    }
    println!("{line}");
    if selection.protected() {
        session::error(format!(
            "{}: the live job is protected (protect: true); set protect: false and apply that first",
            selection.job_key
        ));
        return Exit::Refused;
    }
    if let Err(code) =
        crate::commands::restart::confirm("Kill these instances?", options.confirm.auto_approve)
    {
        return code;
    }
    session::note(format!(
        "{}: killing [{}]",
        selection.job_key,
        display_ids(&selection.chosen)
    ));
    let wait = aurora_apply::waiting::WaitOptions {
        timeout: args.timeout,
        poll_interval: args.poll_interval,
        interrupted: Some(crate::interrupt::flag()),
        ..aurora_apply::waiting::WaitOptions::default()
    };
    let result = aurora_apply::instances::kill_instances(
        client,
        &selection,
        options.exec.message.as_deref(),
        &wait,
    );
    let code = session::apply_exit(std::slice::from_ref(&result));
    let word = crate::view::events::outcome_word(result.outcome);
    if result.message.is_empty() {
        session::note(format!("{}: {word}", result.job_key));
    } else {
        session::note(format!("{}: {word}: {}", result.job_key, result.message));
    }
    code
}
