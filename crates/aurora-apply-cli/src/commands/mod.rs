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

/// Loads and checks specs, printing diagnostics to stderr on failure and warnings in any
/// case. `known_clusters` (from the clusters.json files found) makes a job in an unknown
/// cluster an error at its key. Sensitive variable values are registered for masking before
/// anything is printed. The jobs are not converted to what is sent: `validate` never needs
/// that, and the engine commands convert each job into its compact form
/// ([`crate::session::desired_jobs`]).
pub fn check_or_report(
    global: &crate::cli::GlobalArgs,
    paths: &[std::path::PathBuf],
    vars: &crate::cli::VarArgs,
    known_clusters: Option<Vec<String>>,
) -> Result<aurora_spec::Checked, Exit> {
    let color = crate::report::use_color(global.color);
    let report = |diags: aurora_spec::Diagnostics| {
        let mut err = crate::redact::stderr();
        crate::report::write_diagnostics(&mut err, diags, color)
    };
    let checked = load_options(known_clusters, vars)
        .and_then(|options| aurora_spec::check_paths(paths, &options));
    match checked {
        Ok(mut checked) => {
            crate::redact::add_secrets(&checked.sensitive);
            let warnings = std::mem::take(&mut checked.warnings);
            if !warnings.is_empty() && report(warnings).is_err() {
                return Err(Exit::Error);
            }
            Ok(checked)
        }
        Err(diags) => {
            if report(diags).is_err() {
                return Err(Exit::Error);
            }
            Err(Exit::Invalid)
        }
    }
}

/// Load options that check cluster names against `known_clusters`, when given, with the
/// variable values of `vars` and of the environment (`AURORA_APPLY_VAR_*`); an unreadable
/// `--var-file` is a diagnostic.
pub fn load_options(
    known_clusters: Option<Vec<String>>,
    vars: &crate::cli::VarArgs,
) -> Result<aurora_spec::LoadOptions, aurora_spec::Diagnostics> {
    let mut problems = aurora_spec::Diagnostics::new();
    let mut files = Vec::new();
    for path in &vars.var_files {
        match aurora_spec::read_source(path) {
            Ok(f) => files.push(f),
            Err(d) => problems.push(d),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let environment = std::env::vars_os()
        .filter_map(|(k, v)| {
            let name = k
                .to_str()?
                .strip_prefix(aurora_spec::load::vars::ENV_PREFIX)?;
            Some((name.to_string(), v.to_str()?.to_string()))
        })
        .collect();
    Ok(aurora_spec::LoadOptions {
        rules: aurora_spec::Rules {
            known_clusters,
            ..aurora_spec::Rules::default()
        },
        variables: aurora_spec::load::vars::VariableInputs {
            command_line: vars.vars.clone(),
            files,
            environment,
        },
    })
}
