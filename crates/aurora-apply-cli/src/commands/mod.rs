//! One module per command, each an `Args` struct and an `exec` returning the exit code.

pub mod apply;
pub mod completions;
pub mod destroy;
pub mod plan;
pub mod render;
pub mod schema;
pub mod status;
pub mod update;
pub mod validate;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Validate(args) => validate::exec(&cli.global, &args),
        Command::Render(args) => render::exec(&cli.global, &args),
        Command::Schema(args) => schema::exec(&args),
        Command::Plan(args) => plan::exec(&cli.global, &args),
        Command::Apply(args) => apply::exec(&cli.global, &args),
        Command::Destroy(args) => destroy::exec_destroy(&cli.global, &args),
        Command::Kill(args) => destroy::exec_kill(&cli.global, &args),
        Command::Status(args) => status::exec(&cli.global, &args),
        Command::Update(args) => update::exec(&cli.global, &args),
        Command::Completions(args) => completions::exec(&args),
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
