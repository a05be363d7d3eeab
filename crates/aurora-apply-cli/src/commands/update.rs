//! `aurora-apply update pause|resume|abort|rollback JOBKEY`: control a job's active update.

use clap::{Args, ValueEnum};

use crate::cli::{ConnectArgs, GlobalArgs};
use crate::exit::Exit;
use crate::session;

/// What to do with the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpdateAction {
    /// Pause it (resume later).
    Pause,
    /// Resume a paused update.
    Resume,
    /// Stop it, leaving instances as they are.
    Abort,
    /// Roll it back to the previous config.
    Rollback,
}

/// Arguments of `update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The action.
    #[arg(value_enum)]
    pub action: UpdateAction,
    /// The job, as `cluster/role/environment/name`.
    pub job: String,
    /// Audit message recorded with the action.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Runs `update`.
pub fn exec(_global: &GlobalArgs, args: &UpdateArgs) -> Exit {
    let Some((cluster, key)) = aurora_apply::ops::parse_job_key(&args.job) else {
        session::error(format!(
            "{}: not a job key (expected cluster/role/environment/name)",
            args.job
        ));
        return Exit::Invalid;
    };
    let mut connections = match session::connect(&args.connect, &[]) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let code = match connections.client(&cluster) {
        Err(e) => {
            session::error(e);
            Exit::Error
        }
        Ok(client) => match aurora_apply::ops::active_update(&client, &key) {
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
                let result = match args.action {
                    UpdateAction::Pause => client.pause_job_update(&update_key, message),
                    UpdateAction::Resume => client.resume_job_update(&update_key, message),
                    UpdateAction::Abort => client.abort_job_update(&update_key, message),
                    UpdateAction::Rollback => client.rollback_job_update(&update_key, message),
                };
                match result {
                    Ok(_) => {
                        session::note(format!(
                            "{}: update {} {}",
                            args.job,
                            update_key.id.as_deref().unwrap_or(""),
                            match args.action {
                                UpdateAction::Pause => "paused",
                                UpdateAction::Resume => "resumed",
                                UpdateAction::Abort => "aborted",
                                UpdateAction::Rollback => "rolling back",
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
        },
    };
    connections.close();
    code
}
