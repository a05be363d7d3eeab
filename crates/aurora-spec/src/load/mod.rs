//! Loading: paths (files and directories) → source files → located trees → merged, typed,
//! validated jobs with their Thrift structs.
//!
//! Every problem of every file is collected; a run either yields all jobs or all diagnostics.

pub mod de;
pub mod node;
pub mod parse;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aurora_thrift::types::{JobConfiguration, JobUpdateRequest};

use crate::convert;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::job::{Job, Origin};
use crate::model::{API_VERSION_V1, JobSpec};
use crate::source::{Format, SourceFile, Span};
use crate::validate::{Ctx, Rules, check_job};
use node::{Node, Value};

/// Options for loading.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The scheduler settings the rules assume.
    pub rules: Rules,
}

/// A loaded job with what aurora-apply sends for it.
#[derive(Clone, Debug)]
pub struct LoadedJob {
    /// The job (key, kind, merged spec, origin).
    pub job: Job,
    /// The desired JobConfiguration (createJob / scheduleCronJob).
    pub config: JobConfiguration,
    /// The desired JobUpdateRequest (services and ad-hoc jobs; `None` for cron).
    pub update: Option<JobUpdateRequest>,
}

impl LoadedJob {
    /// Converts a valid job: what aurora-apply sends for it.
    pub fn from_job(job: Job) -> LoadedJob {
        let config = convert::job_configuration(&job);
        let update = convert::job_update_request_from(&job, &config);
        LoadedJob {
            job,
            config,
            update,
        }
    }

    /// This job as sent to a cluster with `tiers` (the loader placed it with
    /// [`LoadOptions`]' tiers, Aurora's bundled ones unless told otherwise): converted again
    /// only when the placement differs.
    pub fn with_tiers(self, tiers: &aurora_thrift::tiers::Tiers) -> LoadedJob {
        let job = self.job.with_tiers(tiers);
        if job.placement == self.job.placement {
            self
        } else {
            LoadedJob::from_job(job)
        }
    }
}

/// Top-level keys of a spec file.
const TOP_KEYS: &[&str] = &["apiVersion", "defaults", "jobs"];

/// Job keys whose mappings replace the default's instead of merging into it (choices between
/// variants, and constraints, whose kinds exclude each other).
fn replaced_on_merge(path: &str) -> bool {
    matches!(
        path,
        "container" | "executor" | "sla_policy" | "update.strategy" | "container.mesos.image"
    ) || path.starts_with("constraints.")
}

/// The largest spec file read (64 MiB: a 100,000-job file takes about a quarter of it). Larger
/// files, and anything that is not a regular file (FIFOs, devices, sockets), are refused with
/// a diagnostic before any byte is read, so no input can block the loader or exhaust memory.
pub const MAX_SPEC_BYTES: u64 = 64 * 1024 * 1024;

/// The largest executor `data_file` read (4 MiB; the payload is copied into every task).
pub const MAX_PAYLOAD_BYTES: u64 = 4 * 1024 * 1024;

/// The deepest directory nesting searched below a directory given on the command line.
const MAX_DIR_DEPTH: usize = 32;

/// The spec files named by `paths`: files as given (YAML, TOML or JSON), directories searched
/// recursively for `*.yaml`, `*.yml` and `*.toml` (not `*.json`: folders of specs often hold
/// JSON payload files), sorted so runs are reproducible. Symbolic links are followed, but
/// each real directory is searched once and each real file is listed once, so link loops
/// (`self -> .`) and a file reached by two paths cause neither endless walks nor false
/// "defined twice" errors.
pub fn collect_paths<P: AsRef<Path>>(paths: &[P]) -> (Vec<PathBuf>, Diagnostics) {
    let mut out = Vec::new();
    let mut diags = Diagnostics::new();
    let mut seen = Seen::default();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            let (files_before, problems_before) = (out.len(), diags.len());
            walk(p, &mut out, &mut diags, &mut seen, 0);
            // A wrong directory in CI must not pass as "nothing to do".
            if out.len() == files_before && diags.len() == problems_before {
                diags.push(Diagnostic::new(
                    Code::NoSpecFiles,
                    format!(
                        "no spec files in {} (looked for *.yaml, *.yml and *.toml, hidden entries skipped)",
                        p.display()
                    ),
                ));
            }
        } else if p.exists() {
            if seen.first_file(p) {
                out.push(p.to_path_buf());
            }
        } else {
            diags.push(Diagnostic::new(
                Code::Io,
                format!("{}: no such file or directory", p.display()),
            ));
        }
    }
    (out, diags)
}

/// Real directories and files already visited, by canonical path.
#[derive(Default)]
struct Seen {
    dirs: std::collections::HashSet<PathBuf>,
    files: std::collections::HashSet<PathBuf>,
}

impl Seen {
    fn first_dir(&mut self, dir: &Path) -> bool {
        self.dirs
            .insert(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()))
    }
    fn first_file(&mut self, file: &Path) -> bool {
        self.files
            .insert(std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf()))
    }
}

fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    diags: &mut Diagnostics,
    seen: &mut Seen,
    depth: usize,
) {
    if !seen.first_dir(dir) {
        return;
    }
    if depth > MAX_DIR_DEPTH {
        diags.push(Diagnostic::new(
            Code::Io,
            format!(
                "{}: directories nested deeper than {MAX_DIR_DEPTH} levels are not searched",
                dir.display()
            ),
        ));
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::new(Code::Io, format!("{}: {e}", dir.display())));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, out, diags, seen, depth + 1);
        } else if matches!(Format::from_path(&p), Some(Format::Yaml | Format::Toml))
            && seen.first_file(&p)
        {
            out.push(p);
        }
    }
}

/// Reads a regular file of at most `max` bytes. Anything else (a FIFO, which would block, a
/// device such as `/dev/zero`, which never ends, a socket, a larger file) is refused with a
/// sentence saying why; nothing is opened before the type is known.
pub fn read_regular_file(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    check_regular(&meta, max)?;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    // The path may have been replaced between the check and the open: check the handle.
    check_regular(&file.metadata().map_err(|e| e.to_string())?, max)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(bytes)
}

fn check_regular(meta: &std::fs::Metadata, max: u64) -> Result<(), String> {
    let ft = meta.file_type();
    if !ft.is_file() {
        let what = file_kind(&ft);
        return Err(format!(
            "not a regular file ({what}); only regular files are read"
        ));
    }
    if meta.len() > max {
        return Err(too_large(max));
    }
    Ok(())
}

fn too_large(max: u64) -> String {
    format!("larger than the limit of {} MiB", max / (1024 * 1024))
}

#[cfg(unix)]
fn file_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn file_kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Reads one spec file (a regular file of at most [`MAX_SPEC_BYTES`], UTF-8; the format comes
/// from the extension, YAML by default).
pub fn read_source(path: &Path) -> Result<SourceFile, Diagnostic> {
    let name = path.display().to_string();
    let bytes = read_regular_file(path, MAX_SPEC_BYTES)
        .map_err(|e| Diagnostic::new(Code::Io, format!("{name}: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        let valid = String::from_utf8_lossy(&e.as_bytes()[..off]).into_owned();
        let file = SourceFile::new(name.as_str(), valid, Format::Yaml);
        Diagnostic::new(Code::Io, "the file is not valid UTF-8")
            .at(&file, Span::new(off, 0))
            .with_label("invalid byte here")
    })?;
    let format = Format::from_path(path).unwrap_or(Format::Yaml);
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(SourceFile::new(name, text, format).with_base_dir(dir))
}

/// Loads every spec under `paths`: all jobs, or every diagnostic found.
pub fn load_paths<P: AsRef<Path>>(
    paths: &[P],
    options: &LoadOptions,
) -> Result<Vec<LoadedJob>, Diagnostics> {
    let (files, mut diags) = collect_paths(paths);
    let mut sources = Vec::new();
    for f in files {
        match read_source(&f) {
            Ok(s) => sources.push(s),
            Err(d) => diags.push(d),
        }
    }
    match load_sources(&sources, options) {
        Ok(jobs) => diags.into_result(jobs),
        Err(more) => {
            diags.extend(more);
            Err(diags)
        }
    }
}

/// Loads in-memory sources (all of them together: duplicate job keys are checked across them).
pub fn load_sources(
    sources: &[SourceFile],
    options: &LoadOptions,
) -> Result<Vec<LoadedJob>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut jobs: Vec<LoadedJob> = Vec::new();
    for (found, d) in load_files_parallel(sources, options) {
        diags.extend(d);
        jobs.extend(found);
    }
    let mut seen: BTreeMap<String, &Job> = BTreeMap::new();
    for job in jobs.iter().map(|j| &j.job) {
        let key = job.key.to_string();
        match seen.get(&key) {
            Some(first) => diags.push(
                Diagnostic::new(Code::DuplicateJob, format!("job {key} is defined twice"))
                    .with_path(job.origin.path.clone())
                    .at(&job.origin.file, job.origin.span)
                    .with_label("defined again here")
                    .with_related(
                        format!("first defined here, {}", first.origin.location()),
                        &first.origin.file,
                        first.origin.span,
                    )
                    .with_help("each job key may appear once across all the files of a run"),
            ),
            None => {
                seen.insert(key, job);
            }
        }
    }
    diags.into_result(jobs)
}

/// One file's jobs, converted (conversion runs in the file's worker, so it is parallel too).
fn load_and_convert(file: &SourceFile, options: &LoadOptions) -> (Vec<LoadedJob>, Diagnostics) {
    let (jobs, diags) = load_file(file, options);
    let loaded = jobs.into_iter().map(LoadedJob::from_job).collect();
    (loaded, diags)
}

/// serde stops at a job's first error; to report every wrong key of the job at once, each
/// top-level key is deserialized on its own (all job keys are optional and independent).
fn field_errors(merged: &Node, path: &str, first: de::DeError) -> Vec<de::DeError> {
    let Value::Map(entries) = &merged.value else {
        return vec![first];
    };
    let mut out: Vec<de::DeError> = entries
        .iter()
        .filter_map(|entry| {
            let single = Node::new(merged.span, Value::Map(vec![entry.clone()]));
            de::from_node::<JobSpec>(&single, path).err()
        })
        .collect();
    if out.is_empty() {
        out.push(first);
    }
    out
}

/// Loads files on all available cores (each file is independent until the duplicate-key
/// check), keeping the input order in the result.
fn load_files_parallel(
    sources: &[SourceFile],
    options: &LoadOptions,
) -> Vec<(Vec<LoadedJob>, Diagnostics)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8);
    if threads <= 1 || sources.len() < 8 {
        return sources
            .iter()
            .map(|s| load_and_convert(s, options))
            .collect();
    }
    let chunk = sources.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = sources
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|s| load_and_convert(s, options))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(sources.chunks(chunk))
            .flat_map(|(h, part)| {
                // A panicking worker is a bug; report it as a diagnostic rather than abort.
                h.join().unwrap_or_else(|_| {
                    part.iter()
                        .map(|s| {
                            let d =
                                Diagnostic::new(Code::Io, "internal error while loading this file")
                                    .at(s, Span::default());
                            (Vec::new(), Diagnostics::from(d))
                        })
                        .collect()
                })
            })
            .collect()
    })
}

/// Loads one file: its valid jobs and the diagnostics of the others.
pub fn load_file(file: &SourceFile, options: &LoadOptions) -> (Vec<Job>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let root = match parse::parse(file) {
        Ok(root) => root,
        Err(d) => return (Vec::new(), d.into()),
    };
    let Value::Map(entries) = &root.value else {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!(
                    "expected a mapping with `apiVersion` and `jobs`, found {}",
                    root.value.kind()
                ),
            )
            .at(file, root.span),
        );
        return (Vec::new(), diags);
    };
    for (k, _) in entries {
        if !TOP_KEYS.contains(&k.name.as_str()) {
            let help = did_you_mean(&k.name, TOP_KEYS.iter().copied()).map_or_else(
                || "expected one of `apiVersion`, `defaults`, `jobs`".to_string(),
                |s| format!("did you mean `{s}`?"),
            );
            diags.push(
                Diagnostic::new(Code::UnknownField, format!("unknown key `{}`", k.name))
                    .with_path(k.name.clone())
                    .at(file, k.span)
                    .with_help(help),
            );
        }
    }
    match root.get("apiVersion") {
        None => diags.push(
            Diagnostic::new(Code::ApiVersion, "missing `apiVersion`")
                .at(file, Span::new(0, 0))
                .with_help(format!(
                    "add `apiVersion: {API_VERSION_V1}` (supported: {API_VERSION_V1})"
                )),
        ),
        Some(n) => match &n.value {
            Value::Str(v) if v == API_VERSION_V1 => {}
            other => diags.push(
                Diagnostic::new(
                    Code::ApiVersion,
                    match other {
                        Value::Str(v) => format!("unsupported apiVersion `{v}`"),
                        other => format!("apiVersion must be a string, found {}", other.kind()),
                    },
                )
                .with_path("apiVersion")
                .at(file, n.span)
                .with_help(format!("supported versions: {API_VERSION_V1}")),
            ),
        },
    }
    if !diags.is_empty() {
        return (Vec::new(), diags);
    }
    let empty = Node::new(Span::default(), Value::Map(Vec::new()));
    let defaults = match root.get("defaults") {
        None => &empty,
        Some(d) if matches!(d.value, Value::Map(_)) => {
            for forbidden in ["key", "name"] {
                if let Some(k) = d.get_key(forbidden) {
                    diags.push(
                        Diagnostic::new(
                            Code::SpecRule,
                            format!("`{forbidden}` cannot be a default: it names one job"),
                        )
                        .with_path(format!("defaults.{forbidden}"))
                        .at(file, k.span),
                    );
                }
            }
            d
        }
        Some(d) => {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`defaults` must be a mapping, found {}", d.value.kind()),
                )
                .with_path("defaults")
                .at(file, d.span),
            );
            return (Vec::new(), diags);
        }
    };
    let job_nodes = match root.get("jobs") {
        None => {
            diags.push(
                Diagnostic::new(Code::MissingField, "missing `jobs` (a list of jobs)")
                    .at(file, root.span),
            );
            return (Vec::new(), diags);
        }
        Some(Node {
            value: Value::Seq(items),
            ..
        }) => items,
        Some(n) => {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`jobs` must be a list, found {}", n.value.kind()),
                )
                .with_path("jobs")
                .at(file, n.span),
            );
            return (Vec::new(), diags);
        }
    };
    let mut jobs = Vec::new();
    for (i, node) in job_nodes.iter().enumerate() {
        let path = format!("jobs[{i}]");
        if !matches!(node.value, Value::Map(_)) {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("a job must be a mapping, found {}", node.value.kind()),
                )
                .with_path(path)
                .at(file, node.span),
            );
            continue;
        }
        let merged = node.merged_over(defaults, "", &replaced_on_merge);
        let spec: JobSpec = match de::from_node(&merged, &path) {
            Ok(s) => s,
            Err(e) => {
                for e in field_errors(&merged, &path, e) {
                    let mut d = Diagnostic::new(e.code, e.message)
                        .with_path(e.path.unwrap_or_else(|| path.clone()))
                        .at(file, e.span.unwrap_or(node.span));
                    d.help = e.help;
                    diags.push(d);
                }
                continue;
            }
        };
        let mut ctx = Ctx {
            file,
            tree: &merged,
            job: node,
            prefix: path.clone(),
            diags: Vec::new(),
        };
        if let Err(report) = garde::Validate::validate(&spec) {
            for (p, e) in report.iter() {
                let rel = p.to_string();
                ctx.report(Code::InvalidValue, &rel, e.message().to_string());
            }
        }
        let origin = Origin {
            file: file.clone(),
            span: node.span,
            path,
        };
        let job = check_job(&mut ctx, spec, &options.rules, origin);
        for d in ctx.diags {
            diags.push(d);
        }
        jobs.extend(job);
    }
    (jobs, diags)
}
