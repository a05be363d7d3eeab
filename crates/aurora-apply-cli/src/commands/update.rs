//! `aurora-apply update list|info|wait|pause|resume|abort|rollback`: look at a job's rolling
//! updates, follow one to its end, and control the active one.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use aurora_api::Client;
use aurora_api::types::{ConstACTIVEJOBUPDATESTATES, JobKey, JobUpdateStatus};
use aurora_apply::key::ClusterJobKey;
use aurora_apply::updates::{UpdateFilter, UpdateInfo, find_update, list_updates, wait_for_update};
use aurora_apply::waiting::WaitOptions;
use clap::{Args, Subcommand};

use crate::cli::{ConnectArgs, GlobalArgs, OutputFormat};
use crate::exit::Exit;
use crate::session;
use crate::view::updates_text;

/// Arguments of `update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: UpdateCommand,
}

/// The `update` subcommands.
#[derive(Debug, Subcommand)]
pub enum UpdateCommand {
    /// Recent updates of a job, a role or a cluster, newest first.
    #[command(after_help = "Examples:
  aurora-apply update list devcluster/www-data/prod/hello
  aurora-apply update list devcluster/www-data --status active
  aurora-apply update list devcluster --user alice --limit 5 -o json")]
    List(ListArgs),
    /// One update in detail: state, progress, its events and its instances' events.
    #[command(after_help = "Examples:
  aurora-apply update info devcluster/www-data/prod/hello          the active update, else the newest
  aurora-apply update info devcluster/www-data/prod/hello 5f1c7c1e-2a8e-4b7e-9b5e-0c1d2e3f4a5b
  aurora-apply update info devcluster/www-data/prod/hello -o json")]
    Info(InfoArgs),
    /// Follow a job's update to its end; exit 0 rolled forward, 5 rolled back, 6 failed or
    /// aborted, 7 timed out.
    #[command(after_help = "Examples:
  aurora-apply update wait devcluster/www-data/prod/hello
  aurora-apply update wait devcluster/www-data/prod/hello --timeout 30m
  aurora-apply apply specs/ --no-wait && aurora-apply update wait devcluster/www-data/prod/hello -o json")]
    Wait(WaitArgs),
    /// Pause the job's active update (resume it later).
    #[command(after_help = "Examples:
  aurora-apply update pause devcluster/www-data/prod/hello
  aurora-apply update pause devcluster/www-data/prod/hello -m 'watching the canary'")]
    Pause(ControlArgs),
    /// Resume the job's paused update.
    #[command(after_help = "Examples:
  aurora-apply update resume devcluster/www-data/prod/hello
  aurora-apply update resume devcluster/www-data/prod/hello -m 'canary looks good'")]
    Resume(ControlArgs),
    /// Stop the job's active update, leaving instances as they are.
    #[command(after_help = "Examples:
  aurora-apply update abort devcluster/www-data/prod/hello
  aurora-apply update abort devcluster/www-data/prod/hello -m 'bad release'")]
    Abort(ControlArgs),
    /// Roll the job's active update back to the previous config.
    #[command(after_help = "Examples:
  aurora-apply update rollback devcluster/www-data/prod/hello
  aurora-apply update rollback devcluster/www-data/prod/hello -m 'errors up'")]
    Rollback(ControlArgs),
}

/// Arguments of `update pause|resume|abort|rollback`.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The job, as `cluster/role/environment/name`.
    #[arg(value_name = "JOBKEY")]
    pub job: String,
    /// Audit message recorded with the action.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Which updates `--status` keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFilter(pub BTreeSet<JobUpdateStatus>);

fn parse_status(text: &str) -> Result<StatusFilter, String> {
    use JobUpdateStatus as S;
    let set = |s: &[JobUpdateStatus]| s.iter().copied().collect::<BTreeSet<_>>();
    let statuses = match text.to_ascii_lowercase().as_str() {
        "all" => BTreeSet::new(),
        "active" => ConstACTIVEJOBUPDATESTATES::const_value(),
        "paused" => set(&[S::ROLL_FORWARD_PAUSED, S::ROLL_BACK_PAUSED]),
        "blocked" => set(&[S::ROLL_FORWARD_AWAITING_PULSE, S::ROLL_BACK_AWAITING_PULSE]),
        "succeeded" => set(&[S::ROLLED_FORWARD]),
        "failed" => set(&[S::ROLLED_BACK, S::ABORTED, S::ERROR, S::FAILED]),
        "inactive" => set(&[
            S::ROLLED_FORWARD,
            S::ROLLED_BACK,
            S::ABORTED,
            S::ERROR,
            S::FAILED,
        ]),
        _ => match JobUpdateStatus::from_name(&text.to_ascii_uppercase()) {
            Some(s) => BTreeSet::from([s]),
            None => {
                return Err(format!(
                    "`{text}`: expected active, paused, blocked, succeeded, failed, inactive, all or a state such as ROLLED_BACK"
                ));
            }
        },
    };
    Ok(StatusFilter(statuses))
}

/// Arguments of `update list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// `cluster`, `cluster/role`, `cluster/role/environment` or a job key.
    #[arg(value_name = "CLUSTER[/ROLE[/ENV[/NAME]]]")]
    pub target: String,
    /// Only updates in these states: active, paused, blocked, succeeded, failed, inactive,
    /// all, or a state name such as ROLLED_BACK; repeatable.
    #[arg(long, value_name = "STATUS", value_parser = parse_status)]
    pub status: Vec<StatusFilter>,
    /// Only updates started by this user.
    #[arg(long)]
    pub user: Option<String>,
    /// At most this many updates.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Arguments of `update info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The job, as `cluster/role/environment/name`.
    #[arg(value_name = "JOBKEY")]
    pub job: String,
    /// The update (default: the active one, else the newest).
    #[arg(value_name = "UPDATE_ID")]
    pub id: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Arguments of `update wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The job, as `cluster/role/environment/name`.
    #[arg(value_name = "JOBKEY")]
    pub job: String,
    /// The update (default: the active one, else the newest, whose end is reported at once).
    #[arg(value_name = "UPDATE_ID")]
    pub id: Option<String>,
    /// How long to wait (e.g. `30m`); exit 7 when exceeded.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Time between two polls of the scheduler.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,
    /// Output: `text` (lines on stderr), or `json` for newline-delimited events on stdout.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Runs `update`.
pub fn exec(_global: &GlobalArgs, args: &UpdateArgs) -> Exit {
    match &args.command {
        UpdateCommand::List(a) => list(a),
        UpdateCommand::Info(a) => with_job(&a.job, &a.connect, |client, cluster, key| {
            info(client, cluster, key, a)
        }),
        UpdateCommand::Wait(a) => with_job(&a.job, &a.connect, |client, cluster, key| {
            wait(client, cluster, key, a)
        }),
        UpdateCommand::Pause(a) => control(a, Action::Pause),
        UpdateCommand::Resume(a) => control(a, Action::Resume),
        UpdateCommand::Abort(a) => control(a, Action::Abort),
        UpdateCommand::Rollback(a) => control(a, Action::Rollback),
    }
}

/// Parses the job key, connects, runs `f` with the cluster's client, disconnects.
fn with_job(
    job: &str,
    connect: &ConnectArgs,
    f: impl FnOnce(&Client, &str, &JobKey) -> Exit,
) -> Exit {
    let key = match job.parse::<ClusterJobKey>() {
        Ok(key) => key,
        Err(e) => {
            session::error(e);
            return Exit::Invalid;
        }
    };
    let cluster = key.cluster.clone();
    let key = key.thrift();
    let mut connections = match session::connect(connect, &[]) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let code = match session::client_for(&mut connections, &cluster) {
        Ok(client) => f(&client, &cluster, &key),
        Err(code) => code,
    };
    connections.close();
    code
}

fn print_json(value: &impl serde::Serialize) -> Exit {
    match serde_json::to_string(value) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{text}").is_err() {
                return Exit::Error;
            }
            Exit::Success
        }
        Err(e) => {
            session::error(e);
            Exit::Error
        }
    }
}

fn print_text(text: &str) -> Exit {
    let mut out = crate::redact::stdout();
    if out.write_all(text.as_bytes()).is_err() {
        return Exit::Error;
    }
    Exit::Success
}

fn list(args: &ListArgs) -> Exit {
    let parts: Vec<&str> = args.target.split('/').collect();
    if parts.is_empty() || parts.len() > 4 || parts.iter().any(|p| p.is_empty()) {
        session::error(format!(
            "{}: expected cluster, cluster/role, cluster/role/environment or cluster/role/environment/name",
            args.target
        ));
        return Exit::Invalid;
    }
    let cluster = parts[0].to_string();
    let part = |i: usize| parts.get(i).map(|s| (*s).to_string());
    let filter = UpdateFilter {
        role: if parts.len() == 4 { None } else { part(1) },
        environment: if parts.len() == 3 { part(2) } else { None },
        job: (parts.len() == 4).then(|| JobKey {
            role: part(1),
            environment: part(2),
            name: part(3),
        }),
        statuses: args
            .status
            .iter()
            .flat_map(|s| s.0.iter().copied())
            .collect(),
        user: args.user.clone(),
        limit: args.limit.max(1),
    };
    let mut connections = match session::connect(&args.connect, &[]) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let code = match session::client_for(&mut connections, &cluster) {
        Err(code) => code,
        Ok(client) => match list_updates(&client, &cluster, &filter) {
            Err(e) => {
                session::error(format!("reading the updates of {}: {e}", args.target));
                Exit::Error
            }
            Ok(updates) => match args.output {
                OutputFormat::Json => print_json(&updates),
                OutputFormat::Text => print_text(&updates_text::list(&updates, &args.target)),
            },
        },
    };
    connections.close();
    code
}

/// The update asked for, or the error printed and its exit code.
fn find(
    client: &Client,
    cluster: &str,
    key: &JobKey,
    id: Option<&str>,
) -> Result<UpdateInfo, Exit> {
    let job_key = aurora_apply::key::ClusterJobKey::new(cluster, key);
    match find_update(client, cluster, key, id) {
        Ok(Some(update)) => Ok(update),
        Ok(None) => {
            session::error(match id {
                Some(id) => format!("{job_key}: no update {id}"),
                None => format!("{job_key}: no update on the scheduler"),
            });
            Err(Exit::Invalid)
        }
        Err(e) => {
            session::error(format!("reading the updates of {job_key}: {e}"));
            Err(Exit::Error)
        }
    }
}

fn info(client: &Client, cluster: &str, key: &JobKey, args: &InfoArgs) -> Exit {
    let update = match find(client, cluster, key, args.id.as_deref()) {
        Ok(u) => u,
        Err(code) => return code,
    };
    match args.output {
        OutputFormat::Json => print_json(&update),
        OutputFormat::Text => print_text(&updates_text::info(&update)),
    }
}

fn wait(client: &Client, cluster: &str, key: &JobKey, args: &WaitArgs) -> Exit {
    let update = match find(client, cluster, key, args.id.as_deref()) {
        Ok(u) => u,
        Err(code) => return code,
    };
    let json = args.output == OutputFormat::Json;
    let sink = crate::sink::for_output(json);
    if !update.active && !json {
        session::note(format!(
            "{}: update {} already ended {} at {}",
            update.job_key,
            update.id,
            update.status,
            crate::view::time::timestamp(update.last_modified_at_ms)
        ));
    }
    let options = WaitOptions {
        timeout: args.timeout,
        poll_interval: args.poll_interval,
        interrupted: Some(crate::interrupt::flag()),
        ..WaitOptions::default()
    };
    let result = wait_for_update(
        client,
        cluster,
        key,
        &update.id,
        &options,
        Duration::from_secs(30),
        sink.as_ref(),
    );
    let code = session::apply_exit(std::slice::from_ref(&result));
    if json {
        let line = serde_json::json!({
            "@timestamp": session::now_rfc3339(),
            "@level": if code == Exit::Success { "info" } else { "error" },
            "@message": format!("Wait finished with exit code {}", code.as_u8()),
            "type": "wait_summary",
            "update_id": update.id,
            "job_key": result.job_key,
            "outcome": result.outcome,
            "exit_code": code.as_u8(),
        });
        println!("{line}");
    } else if code == Exit::Interrupted || code == Exit::TimedOut {
        session::note(format!(
            "The update keeps running on the scheduler: `aurora-apply update wait {}` follows it again, `aurora-apply update pause|abort {}` stops it.",
            result.job_key, result.job_key
        ));
    }
    code
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Pause,
    Resume,
    Abort,
    Rollback,
}

fn control(args: &ControlArgs, action: Action) -> Exit {
    with_job(&args.job, &args.connect, |client, _cluster, key| {
        match aurora_apply::ops::active_update(client, key) {
            Err(e) => {
                session::error(e);
                Exit::Error
            }
            Ok(None) => {
                session::error(format!("{}: no active update", args.job));
                Exit::Invalid
            }
            Ok(Some(summary)) => {
                let update_key = summary.key.unwrap_or_default();
                let message = args.message.as_deref();
                let result = match action {
                    Action::Pause => client.pause_job_update(&update_key, message),
                    Action::Resume => client.resume_job_update(&update_key, message),
                    Action::Abort => client.abort_job_update(&update_key, message),
                    Action::Rollback => client.rollback_job_update(&update_key, message),
                };
                match result {
                    Ok(_) => {
                        session::note(format!(
                            "{}: update {} {}",
                            args.job,
                            update_key.id.as_deref().unwrap_or(""),
                            match action {
                                Action::Pause => "paused",
                                Action::Resume => "resumed",
                                Action::Abort => "aborted",
                                Action::Rollback => "rolling back",
                            }
                        ));
                        Exit::Success
                    }
                    Err(e) => {
                        session::error(e);
                        Exit::Error
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filters_take_aurora_groups_and_state_names() {
        assert_eq!(
            parse_status("active").map(|f| f.0),
            Ok(ConstACTIVEJOBUPDATESTATES::const_value())
        );
        assert_eq!(
            parse_status("rolled_back").map(|f| f.0),
            Ok(BTreeSet::from([JobUpdateStatus::ROLLED_BACK]))
        );
        assert_eq!(parse_status("all").map(|f| f.0.len()), Ok(0));
        assert!(parse_status("done").is_err());
    }
}
