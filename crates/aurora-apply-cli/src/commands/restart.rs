//! `aurora-apply restart KEY [--instances 0-3,7]`: a rolling restart (being built).

use clap::Args;

use crate::cli::GlobalArgs;
use crate::exit::Exit;

/// Arguments of `restart`.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// The job, as `cluster/role/environment/name`.
    #[arg(value_name = "JOBKEY")]
    pub job: String,
}

/// Runs `restart`.
pub fn exec(_global: &GlobalArgs, _args: &RestartArgs) -> Exit {
    crate::session::error("not built yet");
    Exit::Error
}
