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

use std::fmt::Write as _;
use std::io::Write;

use clap::Args;

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

/// Jobs converted and rendered at a time, per worker: what is held besides the checked specs
/// is a few of these chunks' text.
const RENDER_CHUNK: usize = 256;

/// Runs `render`. Jobs are converted and rendered a chunk at a time on all cores while the
/// chunks before are printed, in order, so memory does not grow with the rendered text and
/// printing does not wait for the rendering or the rendering for the printing.
pub fn exec(global: &GlobalArgs, args: &RenderArgs) -> Exit {
    let jobs = match super::check_or_report(global, &args.paths.paths, &args.paths.vars, None) {
        Ok(checked) => checked.jobs,
        Err(code) => return code,
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let json = args.output == OutputFormat::Json;
    let chunks: Vec<&[aurora_spec::Job]> = jobs.chunks(RENDER_CHUNK).collect();
    let render_chunk = |chunk: &&[aurora_spec::Job]| -> String {
        let mut out = String::new();
        for job in *chunk {
            if json {
                push_json_element(&mut out, job, args.update);
            } else {
                push_text(&mut out, job, args.update);
            }
        }
        out
    };
    let mut out = std::io::BufWriter::new(crate::redact::plain_stdout());
    let mut first = true;
    let result = if json {
        aurora_apply::pool::parallel_for_each_ordered(
            &chunks,
            threads,
            2 * threads,
            render_chunk,
            |text| write_json_elements(&mut out, &text, &mut first),
        )
        .and_then(|()| writeln!(out, "{}", if first { "[]" } else { "\n]" }))
    } else {
        writeln!(out, "{TIERS_NOTE}\n").and_then(|()| {
            aurora_apply::pool::parallel_for_each_ordered(
                &chunks,
                threads,
                2 * threads,
                render_chunk,
                |text| out.write_all(text.as_bytes()),
            )
        })
    };
    let outcome = match result.and_then(|()| out.flush()) {
        Ok(()) => Exit::Success,
        Err(_) => Exit::Error,
    };
    drop(chunks);
    // The process ends after this command: freeing every job's spec, one allocation at a
    // time, on one core, only delayed its end (~5% of rendering 10,000 jobs, issue 14).
    std::mem::forget(jobs);
    outcome
}

/// Appends what is rendered for `job` to `out`, as `pretty` lays it out: its
/// JobConfiguration, or with `update` its JobUpdateRequest (nothing for cron jobs, which have
/// none; `false` is returned). Only what is shown is converted, and it is written straight
/// into `out`, with no `serde_json::Value` or re-indented copy in between.
fn push_rendered(
    out: &mut String,
    job: &aurora_spec::Job,
    update: bool,
    pretty: aurora_spec::render::Pretty,
) -> bool {
    let config = aurora_spec::convert::job_configuration(job);
    if update {
        let Some(request) = aurora_spec::convert::job_update_request_from(job, &config) else {
            return false;
        };
        aurora_spec::render::write_job_update_request(&request, pretty, out);
    } else {
        aurora_spec::render::write_job_configuration(&config, pretty, out);
    }
    true
}

/// Appends `job` as an element of the pretty JSON array: `,\n` then its pretty JSON with
/// every line indented by two spaces (the first element's `,` is replaced by `[` when
/// printed, see [`write_json_elements`]).
fn push_json_element(out: &mut String, job: &aurora_spec::Job, update: bool) {
    let start = out.len();
    out.push_str(",\n  ");
    let pretty = aurora_spec::render::Pretty {
        level: 1,
        expand_executor_data: false,
    };
    if !push_rendered(out, job, update, pretty) {
        out.truncate(start);
    }
}

/// Appends `,\n` and `pretty` (one value's pretty JSON) with every line indented by two
/// spaces, as it stands inside a pretty array: the element [`push_json_element`] writes.
#[cfg(test)]
fn push_element(out: &mut String, pretty: &str) {
    out.push_str(",\n  ");
    // Pretty JSON has no raw newline inside a string: every `\n` starts a line.
    out.push_str(&pretty.replace('\n', "\n  "));
}

/// Prints elements made by [`push_json_element`]: the same text as
/// `serde_json::to_string_pretty` of the whole array, without holding it.
fn write_json_elements(out: &mut impl Write, text: &str, first: &mut bool) -> std::io::Result<()> {
    let Some(rest) = text.strip_prefix(",\n") else {
        return Ok(());
    };
    if *first {
        *first = false;
        out.write_all(b"[\n")?;
        out.write_all(rest.as_bytes())
    } else {
        out.write_all(text.as_bytes())
    }
}

/// Appends the text form of `job`: a comment line with its key, where it is defined and its
/// kind, its JSON with the executor data expanded for reading, and a blank line.
fn push_text(out: &mut String, job: &aurora_spec::Job, update: bool) {
    let start = out.len();
    let _ = writeln!(
        out,
        "# {} ({}, {})",
        job.key,
        job.origin.location(),
        kind(job)
    );
    let pretty = aurora_spec::render::Pretty {
        level: 0,
        expand_executor_data: true,
    };
    if push_rendered(out, job, update, pretty) {
        out.push_str("\n\n");
    } else {
        out.truncate(start);
    }
}

/// The first line of the text form: where tiers come from.
const TIERS_NOTE: &str =
    "# tiers: Aurora's bundled tiers.json (render is offline; plan and apply use the cluster's)";

fn kind(job: &aurora_spec::Job) -> &'static str {
    match job.kind {
        aurora_spec::model::JobKind::Service => "service",
        aurora_spec::model::JobKind::Adhoc => "adhoc",
        aurora_spec::model::JobKind::Cron => "cron",
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
            // Elements in chunks of every size, as the workers make them.
            for per_chunk in 1..=3 {
                let mut out = Vec::new();
                let mut first = true;
                for chunk in values[..n].chunks(per_chunk) {
                    let mut text = String::new();
                    for v in chunk {
                        push_element(&mut text, &serde_json::to_string_pretty(v).expect("json"));
                    }
                    write_json_elements(&mut out, &text, &mut first).expect("write");
                }
                writeln!(out, "{}", if first { "[]" } else { "\n]" }).expect("write");
                let want = serde_json::to_string_pretty(&values[..n]).expect("json") + "\n";
                assert_eq!(String::from_utf8(out).expect("utf-8"), want, "{n} values");
            }
        }
    }

    /// What `render` printed before it wrote the structs straight as text: each job's
    /// fixture-shaped `Value`, pretty, re-indented into the array; in the text form with the
    /// executor data parsed.
    #[test]
    fn jobs_render_as_their_values_pretty_text() {
        let text =
            include_str!("../../../aurora-spec/tests/render-specs/all_fields.aurora-apply.yaml");
        let file = aurora_spec::SourceFile::new(
            "all_fields.aurora-apply.yaml",
            text,
            aurora_spec::Format::Yaml,
        );
        let jobs = aurora_spec::load_sources(&[file], &aurora_spec::LoadOptions::default())
            .expect("valid");
        for loaded in &jobs {
            for update in [false, true] {
                let value = if update {
                    loaded
                        .update
                        .as_ref()
                        .map(aurora_spec::render::job_update_request_json)
                } else {
                    Some(aurora_spec::render::job_configuration_json(&loaded.config))
                };
                let mut want = String::new();
                let mut want_text = String::new();
                if let Some(mut v) = value {
                    push_element(&mut want, &serde_json::to_string_pretty(&v).expect("json"));
                    if let Some(data) = v.pointer_mut("/taskConfig/executorConfig/data")
                        && let Some(parsed) =
                            data.as_str().and_then(|s| serde_json::from_str(s).ok())
                    {
                        *data = parsed;
                    }
                    want_text = format!(
                        "# {} ({}, {})\n{}\n\n",
                        loaded.job.key,
                        loaded.job.origin.location(),
                        kind(&loaded.job),
                        serde_json::to_string_pretty(&v).expect("json")
                    );
                }
                let mut got = String::new();
                push_json_element(&mut got, &loaded.job, update);
                assert_eq!(got, want, "{} update: {update}", loaded.job.key);
                let mut got = String::new();
                push_text(&mut got, &loaded.job, update);
                assert_eq!(got, want_text, "{} update: {update}", loaded.job.key);
            }
        }
    }
}
