//! The `aurora-apply` command. Thin: parses arguments, runs one command, maps the outcome to
//! an exit code (see `exit.rs`). The work is in the libraries.

mod cli;
mod commands;
mod connect;
mod exit;
mod report;
mod session;
mod sink;
mod view;

use clap::Parser;

/// `aurora-apply PATH...` means `aurora-apply apply PATH...`: insert `apply` when the first
/// argument that is not an option is not a command name.
fn with_default_command(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let first = args
        .iter()
        .skip(1)
        .position(|a| !a.to_string_lossy().starts_with('-'));
    let flags_only = first.is_none() && args.len() > 1;
    let help_or_version = args
        .iter()
        .skip(1)
        .any(|a| matches!(a.to_str(), Some("-h" | "--help" | "-V" | "--version")));
    match first {
        Some(i) if !cli::COMMANDS.contains(&args[i + 1].to_string_lossy().as_ref()) => {
            let mut out = args.clone();
            out.insert(1, "apply".into());
            out
        }
        _ if flags_only && !help_or_version => {
            let mut out = args.clone();
            out.insert(1, "apply".into());
            out
        }
        _ => args,
    }
}

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse_from(with_default_command(std::env::args_os().collect()));
    let code = commands::run(cli);
    std::process::ExitCode::from(code.as_u8())
}
