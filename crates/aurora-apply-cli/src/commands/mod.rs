//! One module per command, each an `Args` struct and an `exec` returning the exit code.

pub mod apply;
pub mod completions;
pub mod convert;
pub mod destroy;
pub mod import;
pub mod init;
pub mod lsp;
pub mod man;
pub mod plan;
pub mod render;
pub mod restart;
pub mod schema;
pub mod sim;
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
        Command::Convert(args) => convert::exec(&args),
        Command::Init(args) => init::exec(&args),
        Command::Import(args) => import::exec(&args),
        Command::Schema(args) => schema::exec(&args),
        Command::Lsp(args) => lsp::exec(&args),
        Command::Plan(args) => plan::exec(&cli.global, &args),
        Command::Apply(args) => apply::exec(&cli.global, &args),
        Command::Destroy(args) => destroy::exec_destroy(&cli.global, &args),
        Command::Kill(args) => destroy::exec_kill(&cli.global, &args),
        Command::Status(args) => status::exec(&cli.global, &args),
        Command::Update(args) => update::exec(&cli.global, &args),
        Command::Restart(args) => restart::exec(&cli.global, &args),
        Command::Completions(args) => completions::exec(&args),
        Command::Man(args) => man::exec(&args),
        Command::Sim(args) => sim::exec(&args),
    }
}

/// Loads specs, printing diagnostics to stderr on failure. `known_clusters` (from the
/// clusters.json files found) makes a job in an unknown cluster an error at its key.
pub fn load_or_report(
    global: &crate::cli::GlobalArgs,
    paths: &[std::path::PathBuf],
    known_clusters: Option<Vec<String>>,
) -> Result<Vec<aurora_spec::LoadedJob>, Exit> {
    match aurora_spec::load_paths(paths, &load_options(known_clusters)) {
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

/// Load options that check cluster names against `known_clusters`, when given.
pub fn load_options(known_clusters: Option<Vec<String>>) -> aurora_spec::LoadOptions {
    aurora_spec::LoadOptions {
        rules: aurora_spec::Rules {
            known_clusters,
            ..aurora_spec::Rules::default()
        },
    }
}
