//! `aurora-apply validate PATH...`: offline checks; exit 0, or 3 with every diagnostic.

use std::io::Write;

use clap::Args;

use crate::cli::{GlobalArgs, SpecPaths};
use crate::exit::Exit;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// What to check.
    #[command(flatten)]
    pub paths: SpecPaths,
}

/// Runs `validate`.
pub fn exec(global: &GlobalArgs, args: &ValidateArgs) -> Exit {
    match super::load_or_report(global, &args.paths.paths) {
        Err(code) => code,
        Ok(jobs) => {
            let mut out = anstream::stdout();
            match writeln!(out, "{} job(s) valid", jobs.len()) {
                Ok(()) => Exit::Success,
                Err(_) => Exit::Error,
            }
        }
    }
}
