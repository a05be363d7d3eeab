//! `aurora-apply render PATH... [-o json]`: what would be sent for each job.
//!
//! `-o json` is a JSON array of JobConfigurations in exactly the shape of Aurora's client
//! fixtures (Thrift field names, enums by name, sets as sorted lists, executor data as the
//! exact string sent). The text form shows the same with the executor data expanded.

use std::io::Write;

use clap::Args;
use serde_json::Value;

use crate::cli::{GlobalArgs, OutputFormat, SpecPaths};
use crate::exit::Exit;

/// Arguments of `render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// What to render.
    #[command(flatten)]
    pub paths: SpecPaths,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Runs `render`.
pub fn exec(global: &GlobalArgs, args: &RenderArgs) -> Exit {
    let jobs = match super::load_or_report(global, &args.paths.paths) {
        Ok(jobs) => jobs,
        Err(code) => return code,
    };
    let mut out = anstream::stdout();
    let result = match args.output {
        OutputFormat::Json => {
            let all: Vec<Value> = jobs
                .iter()
                .map(|j| aurora_spec::render::job_configuration_json(&j.config))
                .collect();
            serde_json::to_string_pretty(&all)
                .map_err(std::io::Error::other)
                .and_then(|s| writeln!(out, "{s}"))
        }
        OutputFormat::Text => jobs.iter().try_for_each(|j| {
            let mut v = aurora_spec::render::job_configuration_json(&j.config);
            expand_executor_data(&mut v);
            let text = serde_json::to_string_pretty(&v).map_err(std::io::Error::other)?;
            writeln!(
                out,
                "# {} ({}, {})\n{text}\n",
                j.job.key,
                j.job.origin.location(),
                kind(j)
            )
        }),
    };
    match result {
        Ok(()) => Exit::Success,
        Err(_) => Exit::Error,
    }
}

fn kind(j: &aurora_spec::LoadedJob) -> &'static str {
    match j.job.kind {
        aurora_spec::model::JobKind::Service => "service",
        aurora_spec::model::JobKind::Adhoc => "adhoc",
        aurora_spec::model::JobKind::Cron => "cron",
    }
}

/// Replaces `taskConfig.executorConfig.data` by its parsed JSON, for reading.
fn expand_executor_data(v: &mut Value) {
    if let Some(data) = v.pointer_mut("/taskConfig/executorConfig/data")
        && let Some(parsed) = data
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
    {
        *data = parsed;
    }
}
