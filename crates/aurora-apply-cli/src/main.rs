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

use clap::Parser as _;

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
    let cli = match cli::Cli::try_parse_from(with_default_command(std::env::args_os().collect())) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are successes; every other usage error is invalid input
            // (exit 3). Clap's own code, 2, would read as "changes present".
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() {
                exit::Exit::Invalid.as_u8()
            } else {
                0
            });
        }
    };
    let code = commands::run(cli);
    std::process::ExitCode::from(code.as_u8())
}
