//! `aurora-apply convert FILE.json... --out DIR [--format yaml|toml]`: Aurora's own JSON job
//! files (`aurora job inspect --write-json`, `aurora job create --read-json` input, or a
//! Thermos executor payload) into spec files, one per input file.
//!
//! Thin on purpose: the conversion, its verification (every job is loaded back and its render
//! compared with the JSON) and the never-overwrite rule are aurora-migrate's, shared with
//! `import`. All or nothing: when any job of any file cannot be converted, or an output file
//! exists, nothing is written (exit 3) and every problem is printed with its JSON path.

use std::io::Write;
use std::path::PathBuf;

use aurora_migrate::{FilesError, SpecFormat};
use clap::{Args, ValueEnum};

use crate::exit::Exit;

/// Arguments of `convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Aurora JSON job files: `{"jobs": [Job, …]}` or one Job object.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The directory to write the spec files into (created when missing). Existing files are
    /// never overwritten.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The spec file format.
    #[arg(long, value_enum, default_value_t = ConvertFormat::Yaml)]
    pub format: ConvertFormat,
}

/// The spec format `convert` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConvertFormat {
    /// `NAME.aurora-apply.yaml`.
    Yaml,
    /// `NAME.aurora-apply.toml`.
    Toml,
}

/// Runs `convert`.
pub fn exec(args: &ConvertArgs) -> Exit {
    let format = match args.format {
        ConvertFormat::Yaml => SpecFormat::Yaml,
        ConvertFormat::Toml => SpecFormat::Toml,
    };
    let mut err = crate::redact::stderr();
    let outputs = match aurora_migrate::plan_outputs(&args.files, &args.out, format) {
        Ok(outputs) => outputs,
        Err(errors) => {
            let mut problems = 0;
            for e in &errors {
                let lines: Vec<String> = match e {
                    FilesError::Convert { path, errors } => errors
                        .iter()
                        .map(|c| format!("error: {}: {c}", path.display()))
                        .collect(),
                    other => vec![format!("error: {other}")],
                };
                problems += lines.len();
                for line in lines {
                    let _ = writeln!(err, "{line}");
                }
            }
            let _ = writeln!(err, "{problems} problem(s) found; nothing was written");
            return Exit::Invalid;
        }
    };
    if let Err(e) = aurora_migrate::write_outputs(&outputs) {
        let _ = writeln!(err, "error: {e}");
        return match e {
            FilesError::Exists(_) => Exit::Invalid,
            _ => Exit::Error,
        };
    }
    let mut out = crate::redact::stdout();
    let mut jobs = 0;
    for o in &outputs {
        jobs += o.jobs.len();
        if writeln!(
            out,
            "wrote {} ({}) from {}",
            o.path.display(),
            o.jobs.join(", "),
            o.input.display()
        )
        .is_err()
        {
            return Exit::Error;
        }
    }
    match writeln!(
        out,
        "{jobs} job(s) converted and verified; next: aurora-apply validate {0} && aurora-apply plan {0}",
        args.out.display()
    ) {
        Ok(()) => Exit::Success,
        Err(_) => Exit::Error,
    }
}
