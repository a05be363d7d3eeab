//! `aurora-apply import CLUSTER/ROLE[/ENV[/NAME]]... --out DIR [--format yaml|toml]
//! [--split jobs]`: live jobs into spec files.
//!
//! Thin on purpose: the engine reads the live jobs (`aurora_apply::import`) and says whether a
//! spec plans as a no-op against one (`differences`, the planner's comparison); aurora-migrate
//! turns each job into a spec (declarative task, verbatim Thermos payload, custom executor)
//! and this command only connects, prints and writes. All or nothing: a job that cannot be
//! imported, or an output file that exists, leaves the output directory as it was (exit 3).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use aurora_apply::import::{
    JobSelector, LiveJobConfig, TOOL_METADATA_KEYS, differences, read_live_jobs,
};
use aurora_apply::marker::PROTECT_KEY;
use aurora_apply::planning::read_tiers;
use aurora_migrate::files::schema_ref;
use aurora_migrate::{ImportedJob, LiveJob, Outcome, SpecFormat};
use clap::{Args, ValueEnum};

use crate::cli::ConnectArgs;
use crate::commands::convert::ConvertFormat;
use crate::exit::Exit;
use crate::session;

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The jobs to import: a role's jobs (`CLUSTER/ROLE`), an environment's, or one job.
    #[arg(required = true, value_name = "CLUSTER/ROLE[/ENV[/NAME]]", value_parser = parse_selector)]
    pub selectors: Vec<JobSelector>,
    /// The directory to write the spec files into (created when missing). Existing files are
    /// never overwritten.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The spec file format.
    #[arg(long, value_enum, default_value_t = ConvertFormat::Yaml)]
    pub format: ConvertFormat,
    /// One file per role (`ROLE.aurora-apply.yaml`, the default) or per job
    /// (`ROLE.ENV.NAME.aurora-apply.yaml`).
    #[arg(long, value_enum, default_value_t = Split::Roles)]
    pub split: Split,
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// How imported jobs are spread over files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Split {
    /// One file per role.
    Roles,
    /// One file per job.
    Jobs,
}

fn parse_selector(text: &str) -> Result<JobSelector, String> {
    text.parse::<JobSelector>().map_err(|e| e.to_string())
}

/// A file to write.
struct OutFile {
    path: PathBuf,
    text: String,
}

/// Runs `import`.
pub fn exec(args: &ImportArgs) -> Exit {
    let format = match args.format {
        ConvertFormat::Yaml => SpecFormat::Yaml,
        ConvertFormat::Toml => SpecFormat::Toml,
    };
    let spec_paths: Vec<PathBuf> = if args.out.is_dir() {
        vec![args.out.clone()]
    } else {
        Vec::new()
    };
    let mut connections = match session::connect(&args.connect, &spec_paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Import only reads: a sim:// cluster without state gets none written.
    connections.set_read_only(true);
    let imported = import_all(&mut connections, &args.selectors);
    connections.close();
    let (jobs, failures) = match imported {
        Ok(x) => x,
        Err(code) => return code,
    };
    let mut err = crate::redact::stderr();
    if !failures.is_empty() {
        for f in &failures {
            let _ = writeln!(err, "error: {}: cannot be imported", f.key);
            for r in &f.reasons {
                let _ = writeln!(err, "  {r}");
            }
        }
        let _ = writeln!(
            err,
            "{} job(s) cannot be imported; nothing was written",
            failures.len()
        );
        return Exit::Invalid;
    }
    if jobs.is_empty() {
        let _ = writeln!(
            err,
            "error: no jobs found for the selectors; nothing was written"
        );
        return Exit::Invalid;
    }
    let files = match plan_files(&jobs, &args.out, format, args.split) {
        Ok(f) => f,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return Exit::Invalid;
        }
    };
    if let Some(existing) = files.iter().find(|f| f.path.symlink_metadata().is_ok()) {
        let _ = writeln!(
            err,
            "error: {} exists already (nothing was written)",
            existing.path.display()
        );
        return Exit::Invalid;
    }
    if let Err(e) = write_all(&files) {
        let _ = writeln!(err, "error: {e}");
        return if e.kind() == std::io::ErrorKind::AlreadyExists {
            Exit::Invalid
        } else {
            Exit::Error
        };
    }
    let mut out = crate::redact::stdout();
    let mut lines = Vec::new();
    for job in &jobs {
        let how = match &job.outcome {
            Outcome::Declarative => "declarative task".to_string(),
            Outcome::CustomExecutor => "custom executor".to_string(),
            Outcome::VerbatimPayload { reason } => format!(
                "Thermos payload kept verbatim in {} (a declarative task would differ: {reason})",
                job.payload
                    .as_ref()
                    .map_or_else(String::new, |p| p.path.clone())
            ),
        };
        lines.push(format!("{}: {how}", job.job.key));
    }
    for f in &files {
        lines.push(format!("wrote {}", f.path.display()));
    }
    lines.push(format!(
        "{} job(s) imported and verified; next: aurora-apply plan {1} (a no-op), then aurora-apply apply {1} --adopt to take ownership",
        jobs.len(),
        args.out.display()
    ));
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return Exit::Error;
        }
    }
    Exit::Success
}

type Imported = (Vec<ImportedJob>, Vec<aurora_migrate::ImportError>);

/// Reads, converts and verifies every selected job, cluster by cluster.
fn import_all(
    connections: &mut crate::connect::Connections,
    selectors: &[JobSelector],
) -> Result<Imported, Exit> {
    let fail = |e: aurora_apply::error::EngineError| {
        session::error(&e);
        session::engine_exit(&e)
    };
    let mut by_cluster: BTreeMap<&str, Vec<&JobSelector>> = BTreeMap::new();
    for s in selectors {
        by_cluster.entry(s.cluster.as_str()).or_default().push(s);
    }
    let mut jobs: Vec<ImportedJob> = Vec::new();
    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (cluster, selectors) in by_cluster {
        let client = session::client_for(connections, cluster)?;
        let tiers = read_tiers(&client, cluster).map_err(fail)?;
        for selector in selectors {
            let live_jobs = read_live_jobs(&client, selector).map_err(fail)?;
            for live in live_jobs {
                if !seen.insert(live.key.to_string()) {
                    continue;
                }
                match import_one(cluster, &live, &tiers) {
                    Ok(job) => jobs.push(job),
                    Err(e) => failures.push(e),
                }
            }
        }
    }
    jobs.sort_by(|a, b| a.job.key.cmp(&b.job.key));
    Ok((jobs, failures))
}

fn import_one(
    cluster: &str,
    live: &LiveJobConfig,
    tiers: &aurora_apply::normalize::Tiers,
) -> Result<ImportedJob, aurora_migrate::ImportError> {
    let input = LiveJob {
        cluster,
        config: &live.config,
        update_settings: live.update_settings.as_ref(),
        tiers,
        dropped_metadata: TOOL_METADATA_KEYS,
        protect_key: Some(PROTECT_KEY),
    };
    aurora_migrate::import_job(&input, |loaded| {
        let settings = loaded.update.as_ref().and_then(|u| u.settings.as_ref());
        let protect = loaded.job.spec.protect.unwrap_or(false);
        differences(live, &loaded.config, settings, protect, tiers)
            .into_iter()
            .map(|c| {
                let show = |v: &Option<serde_json::Value>| {
                    v.as_ref()
                        .map_or_else(|| "(none)".to_string(), ToString::to_string)
                };
                format!(
                    "{}: live {}, the spec would send {}",
                    c.path,
                    show(&c.before),
                    show(&c.after)
                )
            })
            .collect()
    })
}

/// The spec files (and payload files) for `jobs`, none written yet.
fn plan_files(
    jobs: &[ImportedJob],
    out: &Path,
    format: SpecFormat,
    split: Split,
) -> Result<Vec<OutFile>, String> {
    let schema = schema_ref(out);
    let mut groups: BTreeMap<String, Vec<&ImportedJob>> = BTreeMap::new();
    for job in jobs {
        let stem = match split {
            Split::Roles => job.role.clone(),
            Split::Jobs => job.job.key.split('/').skip(1).collect::<Vec<_>>().join("."),
        };
        groups.entry(stem).or_default().push(job);
    }
    let mut files = Vec::new();
    let mut payloads: BTreeMap<String, &str> = BTreeMap::new();
    for (stem, group) in groups {
        let clusters: std::collections::BTreeSet<&str> = group
            .iter()
            .filter_map(|j| j.job.key.split('/').next())
            .collect();
        if clusters.len() > 1 {
            return Err(format!(
                "jobs of role `{stem}` come from several clusters ({}); import each cluster into its own --out directory",
                clusters.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let converted: Vec<aurora_migrate::read::ConvertedJob> =
            group.iter().map(|j| j.job.clone()).collect();
        let text =
            aurora_migrate::document(&converted, format, &schema).map_err(|e| e.to_string())?;
        files.push(OutFile {
            path: out.join(format!("{stem}.{}", format.extension())),
            text,
        });
        for job in group {
            if let Some(p) = &job.payload {
                if let Some(other) = payloads.insert(p.path.clone(), &job.job.key) {
                    return Err(format!(
                        "{} and {} would both keep their payload in {}",
                        other, job.job.key, p.path
                    ));
                }
                files.push(OutFile {
                    path: out.join(&p.path),
                    text: format!("{}\n", p.text),
                });
            }
        }
    }
    Ok(files)
}

/// Creates every file new (never overwriting), creating folders as needed.
fn write_all(files: &[OutFile]) -> std::io::Result<()> {
    for f in files {
        if let Some(dir) = f.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&f.path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", f.path.display())))?;
        file.write_all(f.text.as_bytes())?;
    }
    Ok(())
}
