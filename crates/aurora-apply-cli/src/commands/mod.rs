//! One module per command, each an `Args` struct and an `exec` returning the exit code.

pub mod render;
pub mod schema;
pub mod validate;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Validate(args) => validate::exec(&cli.global, &args),
        Command::Render(args) => render::exec(&cli.global, &args),
        Command::Schema(args) => schema::exec(&args),
    }
}

/// Loads specs, printing diagnostics to stderr on failure.
pub fn load_or_report(
    global: &crate::cli::GlobalArgs,
    paths: &[std::path::PathBuf],
) -> Result<Vec<aurora_spec::LoadedJob>, Exit> {
    match aurora_spec::load_paths(paths, &aurora_spec::LoadOptions::default()) {
        Ok(jobs) => Ok(jobs),
        Err(diags) => {
            let color = crate::report::use_color(global.color);
            let mut err = anstream::stderr();
            if crate::report::write_diagnostics(&mut err, diags, color).is_err() {
                return Err(Exit::Error);
            }
            Err(Exit::Invalid)
        }
    }
}
