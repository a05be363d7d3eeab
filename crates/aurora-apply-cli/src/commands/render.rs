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

/// Jobs converted and rendered at a time: what is held besides the checked specs.
const RENDER_CHUNK: usize = 1024;

/// Runs `render`. Jobs are converted and rendered a chunk at a time, on all cores, and
/// printed in order, so memory does not grow with the rendered text.
pub fn exec(global: &GlobalArgs, args: &RenderArgs) -> Exit {
    let jobs = match super::check_or_report(global, &args.paths.paths, &args.paths.vars, None) {
        Ok(checked) => checked.jobs,
        Err(code) => return code,
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let json = args.output == OutputFormat::Json;
    let render_one = |job: aurora_spec::Job| -> Option<String> {
        let j = LoadedJob::from_job(job);
        let mut v = if args.update {
            aurora_spec::render::job_update_request_json(j.update.as_ref()?)
        } else {
            aurora_spec::render::job_configuration_json(&j.config)
        };
        if json {
            return serde_json::to_string_pretty(&v).ok();
        }
        expand_executor_data(&mut v);
        let text = serde_json::to_string_pretty(&v).ok()?;
        Some(format!(
            "# {} ({}, {})\n{text}\n",
            j.job.key,
            j.job.origin.location(),
            kind(&j)
        ))
    };
    let mut jobs = jobs.into_iter().peekable();
    let rendered = std::iter::from_fn(|| {
        jobs.peek()?;
        let chunk: Vec<aurora_spec::Job> = jobs.by_ref().take(RENDER_CHUNK).collect();
        Some(aurora_apply::pool::parallel_map_owned(
            chunk, threads, render_one,
        ))
    })
    .flatten()
    .flatten();
    let mut out = std::io::BufWriter::new(crate::redact::plain_stdout());
    let result = if json {
        write_json_array(&mut out, rendered)
    } else {
        writeln!(out, "{TIERS_NOTE}\n").and_then(|()| {
            rendered
                .into_iter()
                .try_for_each(|text| writeln!(out, "{text}"))
        })
    };
    match result.and_then(|()| out.flush()) {
        Ok(()) => Exit::Success,
        Err(_) => Exit::Error,
    }
}

/// Writes pretty JSON values as one pretty JSON array, element by element: the same text
/// as `serde_json::to_string_pretty` of the whole array, without holding it.
fn write_json_array(
    out: &mut impl Write,
    values: impl Iterator<Item = String>,
) -> std::io::Result<()> {
    let mut first = true;
    for text in values {
        out.write_all(if first { b"[\n" } else { b",\n" })?;
        first = false;
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            write!(out, "  {line}")?;
        }
    }
    if first {
        writeln!(out, "[]")
    } else {
        writeln!(out, "\n]")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streamed_array_is_the_pretty_array() {
        let values = [
            serde_json::json!({"a": [1, {"b": "x\ny"}], "c": {}}),
            serde_json::json!([]),
            serde_json::json!("s"),
        ];
        for n in 0..=values.len() {
            let mut out = Vec::new();
            let texts = values[..n]
                .iter()
                .map(|v| serde_json::to_string_pretty(v).expect("json"));
            write_json_array(&mut out, texts).expect("write");
            let want = serde_json::to_string_pretty(&values[..n]).expect("json") + "\n";
            assert_eq!(String::from_utf8(out).expect("utf-8"), want, "{n} values");
        }
    }
}
