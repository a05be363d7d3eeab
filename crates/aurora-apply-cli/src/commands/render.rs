//! `aurora-apply render PATH... [-o json] [--update]`: what would be sent for each job.
//!
//! `-o json` is a JSON array of JobConfigurations (createJob / scheduleCronJob) in exactly
//! the shape of Aurora's client fixtures (Thrift field names, enums by name, sets as sorted
//! lists, executor data as the exact string sent). With `--update`, the JobUpdateRequests
//! (getJobUpdateDiff / startJobUpdate) of the services and ad-hoc jobs instead; cron jobs have
//! none. The text form shows the same with the executor data expanded for reading.
//!
//! `render` is offline, so a job that leaves out `tier` or `production` is placed with Aurora's
//! bundled tiers (as Aurora's client would on a cluster with the bundled `tiers.json`); `plan`
//! and `apply` place it with the cluster's own `getTierConfigs` answer. The text form says so
//! in its header; the JSON form keeps the fixtures' shape and is documented instead.

use std::io::Write;

use aurora_spec::LoadedJob;
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
    /// Render the JobUpdateRequests (update settings included) instead of the
    /// JobConfigurations; cron jobs are left out (they are never updated, only replaced).
    #[arg(long)]
    pub update: bool,
}

/// Runs `render`.
pub fn exec(global: &GlobalArgs, args: &RenderArgs) -> Exit {
    let jobs = match super::load_or_report(global, &args.paths.paths, &args.paths.vars, None) {
        Ok(loaded) => loaded.jobs,
        Err(code) => return code,
    };
    let rendered: Vec<(&LoadedJob, Value)> = jobs
        .iter()
        .filter_map(|j| {
            if args.update {
                j.update
                    .as_ref()
                    .map(|u| (j, aurora_spec::render::job_update_request_json(u)))
            } else {
                Some((j, aurora_spec::render::job_configuration_json(&j.config)))
            }
        })
        .collect();
    let mut out = crate::redact::stdout();
    let result = match args.output {
        OutputFormat::Json => {
            let all: Vec<&Value> = rendered.iter().map(|(_, v)| v).collect();
            serde_json::to_string_pretty(&all)
                .map_err(std::io::Error::other)
                .and_then(|s| writeln!(out, "{s}"))
        }
        OutputFormat::Text => writeln!(out, "{TIERS_NOTE}\n").and_then(|()| {
            rendered.into_iter().try_for_each(|(j, mut v)| {
                expand_executor_data(&mut v);
                let text = serde_json::to_string_pretty(&v).map_err(std::io::Error::other)?;
                writeln!(
                    out,
                    "# {} ({}, {})\n{text}\n",
                    j.job.key,
                    j.job.origin.location(),
                    kind(j)
                )
            })
        }),
    };
    match result {
        Ok(()) => Exit::Success,
        Err(_) => Exit::Error,
    }
}

/// The first line of the text form: where tiers come from.
const TIERS_NOTE: &str =
    "# tiers: Aurora's bundled tiers.json (render is offline; plan and apply use the cluster's)";

fn kind(j: &LoadedJob) -> &'static str {
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
