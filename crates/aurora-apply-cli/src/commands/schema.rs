//! `aurora-apply schema [--project]`: the JSON Schema of the spec format (the committed
//! `schema/aurora-apply.v1.json` is this output), or with `--project` that of the project
//! file `aurora-apply.yaml` (`schema/aurora-apply.project.v1.json`).

use std::io::Write;

use clap::Args;

use crate::exit::Exit;

/// Arguments of `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of the project file (aurora-apply.yaml: rollout stages) instead of the
    /// spec files'.
    #[arg(long)]
    pub project: bool,
}

/// Runs `schema`.
pub fn exec(args: &SchemaArgs) -> Exit {
    let text = if args.project {
        aurora_spec::project::schema_pretty_string()
    } else {
        aurora_spec::schema::to_pretty_string()
    };
    let mut out = crate::redact::stdout();
    match out.write_all(text.as_bytes()) {
        Ok(()) => Exit::Success,
        Err(_) => Exit::Error,
    }
}
