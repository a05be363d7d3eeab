//! `aurora-apply completions SHELL`: shell completion script on stdout.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::exit::Exit;

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Runs `completions`.
pub fn exec(args: &CompletionsArgs) -> Exit {
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "aurora-apply",
        &mut std::io::stdout(),
    );
    Exit::Success
}
