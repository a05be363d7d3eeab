//! `aurora-apply status PATH...`: for each described job, whether the scheduler matches the
//! spec, what differs, any active update and why tasks are pending.

use std::collections::BTreeSet;
use std::io::Write;

use aurora_api::types::TaskQuery;
use clap::Args;
use serde_json::json;

use crate::cli::{ConnectArgs, GlobalArgs, OutputFormat, ReadArgs, SpecPaths};
use crate::exit::Exit;
use crate::session;

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The specs.
    #[command(flatten)]
    pub paths: SpecPaths,
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Reading.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Exit 2 when a job has drifted from its spec.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// Runs `status`.
pub fn exec(global: &GlobalArgs, args: &StatusArgs) -> Exit {
    let (desired, mut connections) =
        match session::prepare(global, &args.connect, &args.paths.paths, false) {
            Ok(prepared) => prepared,
            Err(code) => return code,
        };
    let options = aurora_apply::planning::PlanOptions {
        observe: args.read.observe(),
        ..aurora_apply::planning::PlanOptions::default()
    };
    let plan = match session::plan_all(&mut connections, &desired, Vec::new(), &options) {
        Ok(p) => p,
        Err(code) => {
            connections.close();
            return code;
        }
    };
    let mut rows = Vec::new();
    for change in &plan.changes {
        let state = if change.is_noop() {
            "in sync"
        } else if change.instance_count.0.is_none() {
            "not created"
        } else {
            "drifted"
        };
        let mut pending = Vec::new();
        if let Some((cluster, key)) = aurora_apply::ops::parse_job_key(&change.job_key)
            && let Ok(client) = connections.client(&cluster)
        {
            // getPendingReason rejects queries with statuses: it adds PENDING itself.
            let query = TaskQuery {
                job_keys: Some(BTreeSet::from([key])),
                ..TaskQuery::default()
            };
            if let Ok(reply) = client.get_pending_reason(&query) {
                for r in reply.value.reasons.unwrap_or_default() {
                    pending.push(r.reason.unwrap_or_default());
                }
            }
        }
        rows.push(json!({
            "job_key": change.job_key,
            "state": state,
            "instances": change.instance_count.0,
            "fields": change.fields,
            "active_update": change.active_update,
            "pending_reasons": pending,
        }));
    }
    connections.close();
    let drifted = plan.changes.iter().any(|c| !c.is_noop());
    let mut out = anstream::stdout();
    let written = match args.output {
        OutputFormat::Json => writeln!(out, "{}", serde_json::Value::Array(rows)),
        OutputFormat::Text => rows.iter().try_for_each(|row| {
            writeln!(
                out,
                "{:<45} {}",
                row["job_key"].as_str().unwrap_or(""),
                row["state"].as_str().unwrap_or("")
            )?;
            for field in row["fields"].as_array().into_iter().flatten() {
                writeln!(out, "    ~ {}", field["path"].as_str().unwrap_or(""))?;
            }
            if let Some(update) = row["active_update"].as_object() {
                writeln!(
                    out,
                    "    update {} {} by {}",
                    update["id"].as_str().unwrap_or(""),
                    update["status"].as_str().unwrap_or(""),
                    update["user"].as_str().unwrap_or("")
                )?;
            }
            for reason in row["pending_reasons"].as_array().into_iter().flatten() {
                writeln!(out, "    pending: {}", reason.as_str().unwrap_or(""))?;
            }
            Ok(())
        }),
    };
    if written.is_err() {
        return Exit::Error;
    }
    if args.detailed_exitcode && drifted {
        Exit::Changes
    } else {
        Exit::Success
    }
}
