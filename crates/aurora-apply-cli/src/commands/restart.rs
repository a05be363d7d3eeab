//! `aurora-apply restart JOBKEY [--instances 0-3,7]`: a rolling restart, as `aurora job
//! restart` does it — `restartShards` a batch at a time, each batch watched until it runs
//! again before the next (see `aurora_apply::restart` for why not a job update).
//!
//! Also home of what the job-key commands (`restart`, `kill --instances`, `update wait`,
//! `status --watch`) share: the `JOBKEY[/INSTANCES]` target, the confirmation and Ctrl-C.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use aurora_api::types::JobKey;
use aurora_apply::execute::JobResult;
use aurora_apply::ranges::display_ids;
use aurora_apply::restart::{RestartEvent, RestartOptions, rolling_restart};
use aurora_apply::waiting::WaitOptions;
use clap::Args;

use crate::cli::{ConfirmArgs, ConnectArgs, GlobalArgs, OutputFormat};
use crate::exit::Exit;
use crate::session;
use crate::view::restart_text::{json_line, summary_line, text_line};

/// Arguments of `restart`.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// The job, as `cluster/role/environment/name` (Aurora's `…/name/0-3,7` also works).
    #[arg(value_name = "JOBKEY")]
    pub job: String,
    /// Only these instances, e.g. `0-3,7` (default: every live instance).
    #[arg(long, value_name = "IDS", value_parser = parse_instances)]
    pub instances: Option<BTreeSet<i32>>,
    /// Instances restarted at once.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Seconds a restarted instance must stay RUNNING before the next batch starts.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub watch_secs: u64,
    /// Seconds a restarted instance may take to be RUNNING again before it counts as failed.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub restart_threshold: u64,
    /// Times an instance may fail before it counts as a failed instance (it is restarted
    /// again meanwhile).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_per_instance_failures: u32,
    /// Failed instances tolerated; one more stops the restart (exit 6).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_total_failures: u32,
    /// How long the whole restart may take (e.g. `30m`); exit 7 when exceeded.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Longest time between two looks at the restarted instances.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,
    /// Confirmation.
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    /// Output: `text`, or `json` for newline-delimited events on stdout.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// clap's parser of `--instances`.
pub fn parse_instances(text: &str) -> Result<BTreeSet<i32>, String> {
    aurora_apply::ranges::parse(text)
}

/// A job key, optionally with Aurora's instance suffix (`cluster/role/env/name/0-3,7`), and
/// `--instances`: the cluster, the job and the instances named (`None`: all).
pub fn target(
    text: &str,
    instances: Option<&BTreeSet<i32>>,
) -> Result<(String, JobKey, Option<BTreeSet<i32>>), String> {
    let not_a_key =
        || format!("{text}: not a job key (expected cluster/role/environment/name[/instances])");
    let (key_text, suffix) = match text.match_indices('/').nth(3) {
        Some((i, _)) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let key = key_text
        .parse::<aurora_apply::key::ClusterJobKey>()
        .map_err(|_| not_a_key())?;
    let (cluster, key) = (key.cluster.clone(), key.thrift());
    let from_suffix = match suffix {
        Some(s) => Some(aurora_apply::ranges::parse(s).map_err(|e| format!("{text}: {e}"))?),
        None => None,
    };
    let chosen = match (from_suffix, instances) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "{text}: instances given twice (in the key and with --instances); give them once"
            ));
        }
        (Some(ids), None) => Some(ids),
        (None, ids) => ids.cloned(),
    };
    Ok((cluster, key, chosen))
}

/// Asks before a disruptive step: `--auto-approve` passes, a terminal gets the question
/// (only `yes` goes ahead), anything else is refused (exit 8).
pub fn confirm(question: &str, auto_approve: bool) -> Result<(), Exit> {
    if auto_approve {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        session::error("no terminal to confirm on: re-run with --auto-approve");
        return Err(Exit::Refused);
    }
    if session::ask(&format!("{question} Only 'yes' is accepted: ")) {
        Ok(())
    } else {
        session::error("cancelled; nothing was changed.");
        Err(Exit::Error)
    }
}

/// The exit code of instances that could not be chosen: 3 not live, 4 an update runs.
pub fn select_exit(e: &aurora_apply::instances::SelectError) -> Exit {
    use aurora_apply::instances::SelectError;
    match e {
        SelectError::NotLive { .. } => Exit::Invalid,
        SelectError::UpdateInProgress { .. } => Exit::Conflict,
        SelectError::Engine(e) => session::engine_exit(e),
        _ => Exit::Error,
    }
}

/// Runs `restart`.
pub fn exec(_global: &GlobalArgs, args: &RestartArgs) -> Exit {
    let (cluster, key, instances) = match target(&args.job, args.instances.as_ref()) {
        Ok(t) => t,
        Err(e) => {
            session::error(e);
            return Exit::Invalid;
        }
    };
    let mut connections = match session::connect(&args.connect, &[]) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let code = match session::client_for(&mut connections, &cluster) {
        Ok(client) => restart(&client, &cluster, &key, instances.as_ref(), args),
        Err(code) => code,
    };
    connections.close();
    code
}

fn restart(
    client: &aurora_api::Client,
    cluster: &str,
    key: &JobKey,
    instances: Option<&BTreeSet<i32>>,
    args: &RestartArgs,
) -> Exit {
    let json = args.output == OutputFormat::Json;
    let selection = match aurora_apply::instances::select_instances(client, cluster, key, instances)
    {
        Ok(s) => s,
        Err(e) => {
            session::error(&e);
            return select_exit(&e);
        }
    };
    let n = selection.chosen.len();
    let what = format!(
        "Restart {}: instance{} [{}] ({n} of {}), {} at a time, each watched {}s.",
        selection.job_key,
        if n == 1 { "" } else { "s" },
        display_ids(&selection.chosen),
        selection.live.len(),
        args.batch_size,
        args.watch_secs
    );
    if !json {
        println!("{what}");
    }
    if let Err(code) = confirm("Restart these instances?", args.confirm.auto_approve) {
        return code;
    }
    let options = RestartOptions {
        batch_size: usize::try_from(args.batch_size).unwrap_or(1),
        watch: Duration::from_secs(args.watch_secs),
        restart_threshold: Duration::from_secs(args.restart_threshold),
        max_per_instance_failures: args.max_per_instance_failures,
        max_total_failures: args.max_total_failures,
        wait: WaitOptions {
            timeout: args.timeout,
            poll_interval: args.poll_interval,
            interrupted: Some(crate::interrupt::flag()),
            ..WaitOptions::default()
        },
    };
    let on_event = |event: &RestartEvent| {
        let line = text_line(event);
        if json {
            let failed = matches!(event, RestartEvent::InstanceFailed { .. });
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", json_line(event, &line, failed));
            let _ = out.flush();
        } else {
            session::note(line);
        }
    };
    let report = rolling_restart(client, &selection, &options, &on_event);
    let code = session::apply_exit(&[JobResult {
        job_key: report.job_key.clone(),
        outcome: report.outcome,
        message: report.message.clone(),
        update_id: None,
    }]);
    let summary = summary_line(&report);
    if json {
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("type".into(), "restart_summary".into());
            object.insert("exit_code".into(), code.as_u8().into());
        }
        println!("{}", json_line(&value, &summary, code != Exit::Success));
    } else {
        session::note(summary);
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_take_instances_in_the_key_or_as_an_option_not_both() {
        let (cluster, key, ids) =
            target("devcluster/www-data/prod/hello/0-1,3", None).expect("Aurora's instance spec");
        assert_eq!(cluster, "devcluster");
        assert_eq!(key.name.as_deref(), Some("hello"));
        assert_eq!(ids.map(|i| display_ids(&i)), Some("0-1,3".to_string()));
        let given = BTreeSet::from([2]);
        let (_, _, ids) = target("devcluster/www-data/prod/hello", Some(&given)).expect("key");
        assert_eq!(ids, Some(given.clone()));
        assert!(target("devcluster/www-data/prod/hello/1", Some(&given)).is_err());
        assert!(target("devcluster/www-data/hello", None).is_err());
        assert!(target("devcluster/www-data/prod/hello/x", None).is_err());
    }
}
