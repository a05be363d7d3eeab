//! `aurora-apply validate PATH... [-o json]`: offline checks; exit 0, or 3 with every
//! diagnostic (on stderr as text, or on stdout as one JSON document with `-o json`).

use std::io::Write;

use clap::Args;

use crate::cli::{ClustersFileArg, GlobalArgs, OutputFormat, SpecPaths};
use crate::exit::Exit;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// What to check.
    #[command(flatten)]
    pub paths: SpecPaths,
    /// Output format. `json` prints `{"valid", "jobs", "diagnostics"}` on stdout (each
    /// diagnostic with code, message, path, file, line, column, span, label, help, related).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Cluster names.
    #[command(flatten)]
    pub clusters: ClustersFileArg,
}

/// Runs `validate`.
pub fn exec(global: &GlobalArgs, args: &ValidateArgs) -> Exit {
    // Offline: the clusters.json files are read for their names, nothing is contacted.
    let known = match crate::discover::Discovered::find(
        args.clusters.clusters.as_deref(),
        &args.paths.paths,
    ) {
        Ok(found) => found.known_names(),
        Err(e) => {
            crate::session::error(e);
            return Exit::Invalid;
        }
    };
    if args.output == OutputFormat::Json {
        return exec_json(args, known);
    }
    // The project file is checked too (its rollout's clusters against clusters.json).
    let project = crate::project::load_or_report(global, &args.paths.paths, known.as_deref());
    let loaded = super::check_or_report(global, &args.paths.paths, &args.paths.vars, known);
    let loaded = match (project, loaded) {
        (Err(code), _) | (Ok(_), Err(code)) => Err(code),
        (Ok(_), Ok(loaded)) => Ok(loaded),
    };
    match loaded {
        Err(code) => code,
        Ok(loaded) => {
            let mut out = crate::redact::stdout();
            match writeln!(out, "{} job(s) valid", loaded.jobs.len()) {
                Ok(()) => Exit::Success,
                Err(_) => Exit::Error,
            }
        }
    }
}

fn exec_json(args: &ValidateArgs, known_clusters: Option<Vec<String>>) -> Exit {
    let project = aurora_spec::project::for_paths(&args.paths.paths, known_clusters.as_deref());
    let loaded = super::load_options(known_clusters, &args.paths.vars)
        .and_then(|options| aurora_spec::check_paths(&args.paths.paths, &options));
    if let Ok(loaded) = &loaded {
        crate::redact::add_secrets(&loaded.sensitive);
    }
    let loaded = match (project, loaded) {
        (Ok(_), loaded) => loaded,
        (Err(mut diags), Err(more)) => {
            diags.extend(more);
            Err(diags)
        }
        (Err(diags), Ok(_)) => Err(diags),
    };
    let (doc, code) = match loaded {
        Ok(loaded) => (
            serde_json::json!({
                "valid": true,
                "jobs": loaded.jobs.iter().map(|j| serde_json::json!({
                    "key": j.key.to_string(),
                    "file": j.origin.file.name.to_string(),
                    "location": j.origin.location(),
                })).collect::<Vec<_>>(),
                "diagnostics": loaded.warnings.sorted().iter().map(aurora_spec::Diagnostic::to_json).collect::<Vec<_>>(),
            }),
            Exit::Success,
        ),
        Err(diags) => (
            serde_json::json!({
                "valid": false,
                "jobs": [],
                "diagnostics": diags.sorted().iter().map(aurora_spec::Diagnostic::to_json).collect::<Vec<_>>(),
            }),
            Exit::Invalid,
        ),
    };
    let mut out = crate::redact::stdout();
    match serde_json::to_string_pretty(&doc)
        .map_err(std::io::Error::other)
        .and_then(|s| writeln!(out, "{s}"))
    {
        Ok(()) => code,
        Err(_) => Exit::Error,
    }
}
