//! The `aurora-apply` command. Thin: parses arguments, runs one command, maps the outcome to
//! an exit code (see `exit.rs`). The work is in the libraries.

mod cli;
mod commands;
mod exit;
mod report;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let code = commands::run(cli);
    std::process::ExitCode::from(code.as_u8())
}
