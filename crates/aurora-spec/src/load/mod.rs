//! Loading: paths (files and directories) → source files → located trees → merged (and
//! `targets:` expanded), typed, validated jobs with their Thrift structs.
//!
//! Every problem of every file is collected; a run either yields all jobs or all diagnostics.

pub mod de;
pub mod node;
pub mod parse;
pub mod vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aurora_thrift::types::{JobConfiguration, JobUpdateRequest};

use crate::convert;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::job::{Job, JobKey, Origin};
use crate::model::{API_VERSION_V1, JobSpec};
use crate::source::{Format, SourceFile, Span};
use crate::validate::{Ctx, Rules, check_job};
use node::{Node, Value};

/// Options for loading.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The scheduler settings the rules assume.
    pub rules: Rules,
    /// Values for the files' `vars:` (`--var`, `--var-file`, `AURORA_APPLY_VAR_*`).
    pub variables: vars::VariableInputs,
}

/// Everything a run loaded: the jobs, the warnings, and the variables the specs used.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every job.
    pub jobs: Vec<LoadedJob>,
    /// Problems that do not stop the run (a declared variable nothing uses).
    pub warnings: Diagnostics,
    /// The variables referenced, by name, with their values and sources (for plans).
    pub variables: Vec<vars::UsedVariable>,
    /// The texts of sensitive values: outputs mask them (see [`vars::mask_text`]).
    pub sensitive: Vec<String>,
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
const TOP_KEYS: &[&str] = &["apiVersion", "vars", "defaults", "jobs"];

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
/// JSON payload files), sorted so runs are reproducible. A directory's project file
/// (`aurora-apply.yaml`, see [`crate::project`]) is not a spec and is not listed, and a
/// subdirectory with a project file of its own is a separate project the walk does not enter
/// ([`crate::project::nested_projects`] names them, so callers can say so). A project file
/// given by name is refused with a diagnostic saying to give its directory. Symbolic links are followed, but
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
        } else if p.exists() && crate::project::is_project_file_name(p) {
            diags.push(Diagnostic::new(
                Code::SpecRule,
                format!(
                    "{} is a project file, not a spec: give its directory instead",
                    p.display()
                ),
            ));
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
    /// The directory's canonical path, when it was not seen before.
    fn first_dir(&mut self, dir: &Path) -> Option<PathBuf> {
        let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        self.dirs.insert(canonical.clone()).then_some(canonical)
    }
    fn first_file(&mut self, file: &Path) -> bool {
        self.files
            .insert(std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf()))
    }
    /// [`Seen::first_file`] for an entry of the directory whose canonical path is `dir`,
    /// known not to be a symbolic link: its canonical path is `dir` and its name, without
    /// the system calls resolving every component again.
    fn first_plain_file_in(&mut self, dir: &Path, file: &Path) -> bool {
        match file.file_name() {
            Some(name) => self.files.insert(dir.join(name)),
            None => self.first_file(file),
        }
    }
}

fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    diags: &mut Diagnostics,
    seen: &mut Seen,
    depth: usize,
) {
    let Some(canonical) = seen.first_dir(dir) else {
        return;
    };
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
    // The entry's own type (from the directory listing, no `stat`), unless it is a symbolic
    // link: those are followed, as before.
    let mut paths: Vec<(PathBuf, Option<std::fs::FileType>)> = entries
        .filter_map(|e| e.ok())
        .map(|e| (e.path(), e.file_type().ok().filter(|t| !t.is_symlink())))
        .collect();
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, plain) in paths {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if plain.map_or_else(|| p.is_dir(), |t| t.is_dir()) {
            // A project of its own: run on its own, never merged into this one.
            if !crate::project::has_project_file(&p) {
                walk(&p, out, diags, seen, depth + 1);
            }
        } else if matches!(Format::from_path(&p), Some(Format::Yaml | Format::Toml))
            && !crate::project::is_project_file_name(&p)
            && if plain.is_some() {
                seen.first_plain_file_in(&canonical, &p)
            } else {
                seen.first_file(&p)
            }
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
    load_paths_with(paths, options).map(|l| l.jobs)
}

/// Loads every spec under `paths` with the warnings and variables of the run.
pub fn load_paths_with<P: AsRef<Path>>(
    paths: &[P],
    options: &LoadOptions,
) -> Result<Loaded, Diagnostics> {
    check_paths(paths, options).map(Checked::converted)
}

/// Checks every spec under `paths` without converting the jobs to Thrift: what `validate`
/// needs, in the time and memory of the checks alone.
pub fn check_paths<P: AsRef<Path>>(
    paths: &[P],
    options: &LoadOptions,
) -> Result<Checked, Diagnostics> {
    let (files, mut diags) = collect_paths(paths);
    let mut sources = Vec::with_capacity(files.len());
    for read in read_sources_parallel(&files) {
        match read {
            Ok(s) => sources.push(s),
            Err(d) => diags.push(d),
        }
    }
    match check_sources(&sources, options) {
        Ok(checked) if !diags.has_errors() => Ok(checked),
        Ok(checked) => {
            diags.extend(checked.warnings);
            Err(diags)
        }
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
    load_sources_with(sources, options).map(|l| l.jobs)
}

/// Loads in-memory sources with the warnings and variables of the run: `Err` holds every
/// error and warning when there is an error.
pub fn load_sources_with(
    sources: &[SourceFile],
    options: &LoadOptions,
) -> Result<Loaded, Diagnostics> {
    check_sources(sources, options).map(Checked::converted)
}

/// Everything a run checked, before the jobs are converted to what is sent.
#[derive(Debug, Default)]
pub struct Checked {
    /// Every job, valid.
    pub jobs: Vec<Job>,
    /// Problems that do not stop the run.
    pub warnings: Diagnostics,
    /// The variables referenced (for plans).
    pub variables: Vec<vars::UsedVariable>,
    /// The texts of sensitive values.
    pub sensitive: Vec<String>,
}

impl Checked {
    /// The jobs converted to their Thrift structs, on all cores.
    pub fn converted(self) -> Loaded {
        Loaded {
            jobs: convert_jobs(self.jobs, |job| job),
            warnings: self.warnings,
            variables: self.variables,
            sensitive: self.sensitive,
        }
    }
}

/// [`LoadedJob::from_job`] for every job, then `keep` to keep what the caller needs of it,
/// in order, on all available cores. Each job's spec and structs are dropped as soon as `keep`
/// returns, so a caller keeping less than the whole never holds every job twice.
///
/// The threads take the jobs one at a time from the one list, so that no job is moved into a
/// second list first: a job's spec is 1.5 KB before its strings, and copying 10,000 of them
/// into one part per thread (as this did) held 15 MB twice at the peak of a big plan.
pub fn convert_jobs<T: Send>(jobs: Vec<Job>, keep: impl Fn(LoadedJob) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8);
    let convert = |job| keep(LoadedJob::from_job(job));
    if threads <= 1 || jobs.len() < 64 {
        return jobs.into_iter().map(convert).collect();
    }
    let next = std::sync::Mutex::new(jobs.into_iter().enumerate());
    let take = || {
        next.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next()
    };
    let parts: Vec<Vec<(usize, T)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut part = Vec::new();
                    while let Some((i, job)) = take() {
                        part.push((i, convert(job)));
                    }
                    part
                })
            })
            .collect();
        handles
            .into_iter()
            // Conversion of a valid job does not panic; if it did, the bug shows as a panic
            // of the run rather than as jobs silently left out.
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut all: Vec<(usize, T)> = parts.into_iter().flatten().collect();
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, value)| value).collect()
}

/// Checks in-memory sources (duplicate job keys across them included) without converting.
pub fn check_sources(
    sources: &[SourceFile],
    options: &LoadOptions,
) -> Result<Checked, Diagnostics> {
    let mut diags = Diagnostics::new();
    let supplied = vars::Supplied::read(&options.variables, &mut diags);
    let (loads, jobs) = load_files_parallel(sources, options, &supplied);
    let mut declared: BTreeMap<String, vars::Declared> = BTreeMap::new();
    let mut variables: BTreeMap<String, vars::UsedVariable> = BTreeMap::new();
    let mut sensitive: Vec<String> = Vec::new();
    for found in loads {
        diags.extend(found.diags);
        for d in found.declared {
            match declared.get(&d.name) {
                Some(first) if first.ty != d.ty => diags.push(
                    Diagnostic::new(
                        Code::Variable,
                        format!(
                            "variable `{}` is declared twice with different types: `{}` here, `{}` before",
                            d.name,
                            d.ty.name(),
                            first.ty.name()
                        ),
                    )
                    .with_path(format!("vars.{}", d.name))
                    .at(&d.file, d.span)
                    .with_related(
                        format!("declared as `{}` here", first.ty.name()),
                        &first.file,
                        first.span,
                    )
                    .with_help("one value feeds every file that declares the name: give it one type"),
                ),
                Some(_) => {}
                None => {
                    declared.insert(d.name.clone(), d);
                }
            }
        }
        for v in found.used {
            variables.entry(v.name.clone()).or_insert(v);
        }
        sensitive.extend(found.sensitive);
    }
    let names: std::collections::BTreeSet<String> = declared.keys().cloned().collect();
    supplied.check_declared(&names, &mut diags);
    // Keys are compared as they are; only a duplicate's is written out.
    let mut seen: std::collections::HashMap<&JobKey, &Job> =
        std::collections::HashMap::with_capacity(jobs.len());
    for job in &jobs {
        match seen.get(&job.key) {
            Some(first) => diags.push(
                Diagnostic::new(
                    Code::DuplicateJob,
                    format!("job {} is defined twice", job.key),
                )
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
                seen.insert(&job.key, job);
            }
        }
    }
    let diags = if sensitive.is_empty() {
        diags
    } else {
        let mut masked = Diagnostics::new();
        for d in diags {
            masked.push(vars::mask_diagnostic(d, &sensitive));
        }
        masked
    };
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(Checked {
        jobs,
        warnings: diags.warnings(),
        variables: variables.into_values().collect(),
        sensitive,
    })
}

/// What loading one file found besides its jobs.
#[derive(Default)]
struct FileLoad {
    diags: Diagnostics,
    declared: Vec<vars::Declared>,
    used: Vec<vars::UsedVariable>,
    sensitive: Vec<String>,
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

/// [`read_source`] for every file, in order, on all available cores: reading 1,000 files one
/// after the other was a fifth of `validate`'s time on one core.
fn read_sources_parallel(files: &[PathBuf]) -> Vec<Result<SourceFile, Diagnostic>> {
    // Reading does not panic; if it did, each file says so rather than vanish.
    map_files_parallel(
        files,
        |f| read_source(f),
        |f| {
            Err(Diagnostic::new(
                Code::Io,
                format!("{}: internal error while reading", f.display()),
            ))
        },
    )
}

/// Loads files on all available cores (each file is independent until the duplicate-key
/// check): what each file found, in the input order, and all their jobs, in order.
///
/// Each core gathers the jobs of its files into one vector, and the first core's vector is
/// grown to take the others': a job is ~1.5 KB, and moving 10,000 of them into a new vector
/// on one core, every page of it new, was a tenth of `render`'s time between the parallel
/// loading and the rendering (issue 14).
fn load_files_parallel(
    sources: &[SourceFile],
    options: &LoadOptions,
    supplied: &vars::Supplied,
) -> (Vec<FileLoad>, Vec<Job>) {
    let parts = map_parts_parallel(
        sources,
        |part| {
            let mut jobs = Vec::new();
            let found: Vec<FileLoad> = part
                .iter()
                .map(|s| {
                    let (mut file_jobs, found) = load_file_in(s, options, supplied);
                    jobs.append(&mut file_jobs);
                    found
                })
                .collect();
            (found, jobs)
        },
        // A panicking worker is a bug; report it as a diagnostic rather than abort.
        |part| {
            let found = part
                .iter()
                .map(|s| FileLoad {
                    diags: Diagnostic::new(Code::Io, "internal error while loading this file")
                        .at(s, Span::default())
                        .into(),
                    ..FileLoad::default()
                })
                .collect();
            (found, Vec::new())
        },
    );
    let total: usize = parts.iter().map(|(_, jobs)| jobs.len()).sum();
    let mut loads = Vec::with_capacity(sources.len());
    let mut all: Vec<Job> = Vec::new();
    for (found, mut jobs) in parts {
        loads.extend(found);
        if all.is_empty() {
            all = jobs;
            all.reserve_exact(total - all.len());
        } else {
            all.append(&mut jobs);
        }
    }
    (loads, all)
}

/// `work` for every file, in order, on all available cores (one contiguous part of the files
/// per core); the files of a part whose worker panicked get `on_panic`.
fn map_files_parallel<T: Sync, R: Send>(
    files: &[T],
    work: impl Fn(&T) -> R + Sync,
    on_panic: impl Fn(&T) -> R,
) -> Vec<R> {
    map_parts_parallel(
        files,
        |part| part.iter().map(&work).collect::<Vec<_>>(),
        |part| part.iter().map(&on_panic).collect(),
    )
    .into_iter()
    .flatten()
    .collect()
}

/// `work` for each of contiguous parts of `files`, one part per available core, in order;
/// a part whose worker panicked gets `on_panic`.
fn map_parts_parallel<T: Sync, P: Send>(
    files: &[T],
    work: impl Fn(&[T]) -> P + Sync,
    on_panic: impl Fn(&[T]) -> P,
) -> Vec<P> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8);
    if threads <= 1 || files.len() < 8 {
        return vec![work(files)];
    }
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        handles
            .into_iter()
            .zip(files.chunks(chunk))
            .map(|(h, part)| h.join().unwrap_or_else(|_| on_panic(part)))
            .collect()
    })
}

/// One job to check: a job of `jobs:`, or one of its `targets:` merged over it.
struct Expansion<'a> {
    /// Everything merged (defaults, job, target), without `targets`.
    tree: &'a Node,
    /// The job as written (and its target), without defaults.
    job: &'a Node,
    /// `jobs[i]` or `jobs[i].targets[t]`.
    path: String,
    /// For a target: its entry and the job's path (`jobs[i]`), so that a problem is reported
    /// at the entry when the value came from it and at the job's field otherwise.
    target: Option<(&'a Node, String)>,
}

impl Expansion<'_> {
    /// The document path of `full`, a path under `self.path`, where its value was written.
    fn path_of(&self, full: &str) -> String {
        let Some((entry, base)) = &self.target else {
            return full.to_string();
        };
        let Some(rel) = full.strip_prefix(self.path.as_str()) else {
            return full.to_string();
        };
        let rel = rel.trim_start_matches('.');
        if rel.is_empty() || entry.at_path(rel).is_some() {
            full.to_string()
        } else if rel.starts_with('[') {
            format!("{base}{rel}")
        } else {
            format!("{base}.{rel}")
        }
    }
}

/// The number of values in `node` and the bytes of text (strings and keys) it holds.
fn weight(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::Str(s) => (1, s.len()),
        Value::Seq(items) => items
            .iter()
            .map(weight)
            .fold((1, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                let (n, t) = weight(v);
                (n, t + k.name.len())
            })
            .fold((1, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
        _ => (1, 0),
    }
}

/// `node` (a mapping) without its entry `key`.
fn without_key(node: &Node, key: &str) -> Node {
    match &node.value {
        Value::Map(entries) => Node::new(
            node.span,
            Value::Map(
                entries
                    .iter()
                    .filter(|(k, _)| k.name != key)
                    .cloned()
                    .collect(),
            ),
        ),
        _ => node.clone(),
    }
}

/// `job` with the parts of its `key: c/r/e/n` that `target` sets replaced by the target's.
fn with_key_parts(job: &Node, target: &Node) -> Node {
    const PARTS: [&str; 4] = ["cluster", "role", "environment", "name"];
    let Value::Map(entries) = &job.value else {
        return job.clone();
    };
    let mut out = entries.clone();
    for (k, v) in &mut out {
        if k.name != "key" {
            continue;
        }
        let Value::Str(key) = &v.value else {
            continue;
        };
        let mut split: Vec<String> = key.split('/').map(str::to_string).collect();
        if split.len() != PARTS.len() {
            continue;
        }
        for (i, part) in PARTS.iter().enumerate() {
            if let Some(Node {
                value: Value::Str(p),
                ..
            }) = target.get(part)
            {
                split[i] = p.clone();
            }
        }
        v.value = Value::Str(split.join("/"));
    }
    Node::new(job.span, Value::Map(out))
}

/// Deserializes and validates one job (or target expansion).
fn check_expansion(
    file: &SourceFile,
    options: &LoadOptions,
    one: &Expansion<'_>,
    diags: &mut Diagnostics,
) -> Option<Job> {
    let span = one
        .target
        .as_ref()
        .map_or(one.job.span, |(entry, _)| entry.span);
    let spec: JobSpec = match de::from_node(one.tree, &one.path) {
        Ok(s) => s,
        Err(e) => {
            for e in field_errors(one.tree, &one.path, e) {
                let at = e.path.unwrap_or_else(|| one.path.clone());
                let mut d = Diagnostic::new(e.code, e.message)
                    .with_path(one.path_of(&at))
                    .at(file, e.span.unwrap_or(span));
                d.help = e.help;
                diags.push(d);
            }
            return None;
        }
    };
    let mut ctx = Ctx {
        file,
        tree: one.tree,
        job: one.job,
        prefix: one.path.clone(),
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
        span,
        path: one.path.clone(),
    };
    let job = check_job(&mut ctx, spec, &options.rules, origin);
    for mut d in ctx.diags {
        d.path = one.path_of(&d.path);
        diags.push(d);
    }
    job
}

/// Loads one file: its valid jobs and the diagnostics of the others (warnings included).
pub fn load_file(file: &SourceFile, options: &LoadOptions) -> (Vec<Job>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let supplied = vars::Supplied::read(&options.variables, &mut diags);
    let (jobs, found) = load_file_in(file, options, &supplied);
    diags.extend(found.diags);
    (jobs, diags)
}

/// One file with the run's variable values: its jobs, and what the run-wide checks need.
///
/// The file is parsed with only the spans a file without problems needs (see
/// [`parse::Spans::Loader`]); a file with anything to report, error or warning, is loaded
/// again with every span, so each diagnostic is exactly what the fully located tree gives.
fn load_file_in(
    file: &SourceFile,
    options: &LoadOptions,
    supplied: &vars::Supplied,
) -> (Vec<Job>, FileLoad) {
    let (jobs, found) = load_file_spanned(file, options, supplied, parse::Spans::Loader);
    if found.diags.is_empty() {
        return (jobs, found);
    }
    load_file_spanned(file, options, supplied, parse::Spans::All)
}

/// [`load_file_in`] with the spans kept as `spans` says.
fn load_file_spanned(
    file: &SourceFile,
    options: &LoadOptions,
    supplied: &vars::Supplied,
    spans: parse::Spans,
) -> (Vec<Job>, FileLoad) {
    let mut diags = Diagnostics::new();
    let mut scope = vars::Scope::default();
    let jobs = jobs_of(file, options, supplied, spans, &mut scope, &mut diags);
    let mut diags = scope.explain(diags);
    scope.unused(file, &mut diags);
    let found = FileLoad {
        diags,
        declared: scope.declared(file),
        used: scope.used_variables(),
        sensitive: scope.sensitive_texts(),
    };
    (jobs, found)
}

/// Error diagnostics so far.
fn errors(diags: &Diagnostics) -> usize {
    diags.iter().filter(|d| d.is_error()).count()
}

/// The file's jobs; problems go to `diags`, its variables to `scope`.
fn jobs_of(
    file: &SourceFile,
    options: &LoadOptions,
    supplied: &vars::Supplied,
    spans: parse::Spans,
    scope: &mut vars::Scope,
    diags: &mut Diagnostics,
) -> Vec<Job> {
    let root = match parse::parse_with(file, spans) {
        Ok(root) => root,
        Err(d) => {
            diags.push(d);
            return Vec::new();
        }
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
        return Vec::new();
    };
    for (k, _) in entries {
        // `x-…` keys hold shared fragments (YAML anchors): ignored.
        if !TOP_KEYS.contains(&k.name.as_str()) && !k.name.starts_with("x-") {
            let help = did_you_mean(&k.name, TOP_KEYS.iter().copied()).map_or_else(
                || "expected one of `apiVersion`, `defaults`, `jobs` (or an `x-` key for shared fragments)".to_string(),
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
        return Vec::new();
    }
    let before = errors(diags);
    *scope = vars::Scope::new(file, root.get("vars"), supplied, diags);
    let root = if scope.is_empty() && !file.text.contains("${var.") {
        root
    } else {
        let root = substituted(file, &root, scope, diags);
        if errors(diags) > before {
            // Declarations or values are wrong or missing: the jobs' own checks would only
            // repeat that.
            return Vec::new();
        }
        root
    };
    let empty = Node::new(Span::default(), Value::Map(Vec::new()));
    let defaults = match root.get("defaults") {
        None => &empty,
        Some(d) if matches!(d.value, Value::Map(_)) => {
            for forbidden in ["key", "name", "targets"] {
                if let Some(k) = d.get_key(forbidden) {
                    let why = if forbidden == "targets" {
                        "each job lists its own places"
                    } else {
                        "it names one job"
                    };
                    diags.push(
                        Diagnostic::new(
                            Code::SpecRule,
                            format!("`{forbidden}` cannot be a default: {why}"),
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
            return Vec::new();
        }
    };
    let job_nodes = match root.get("jobs") {
        None => {
            diags.push(
                Diagnostic::new(Code::MissingField, "missing `jobs` (a list of jobs)")
                    .at(file, root.span),
            );
            return Vec::new();
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
            return Vec::new();
        }
    };
    let mut jobs = Vec::with_capacity(job_nodes.len());
    // Values and bytes of text copied by `targets:` so far.
    let mut expanded = (0usize, 0usize);
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
        let Some(targets) = node.get("targets") else {
            let one = Expansion {
                tree: &merged,
                job: node,
                path: path.clone(),
                target: None,
            };
            jobs.extend(check_expansion(file, options, &one, diags));
            continue;
        };
        let items = match &targets.value {
            Value::Seq(items) if !items.is_empty() => items,
            other => {
                let message = match other {
                    Value::Seq(_) => "`targets` is empty: list at least one place".to_string(),
                    other => format!("`targets` must be a list, found {}", other.kind()),
                };
                diags.push(
                    Diagnostic::new(Code::InvalidValue, message)
                        .with_path(format!("{path}.targets"))
                        .at(file, targets.span)
                        .with_help("each entry sets `cluster`, `role`, `environment` or `name` and any job field; or leave `targets` out"),
                );
                continue;
            }
        };
        let base = without_key(&merged, "targets");
        let raw = without_key(node, "targets");
        // Each target copies the job: what the copies add is bounded, as aliases are.
        let (values, text) = weight(&base);
        expanded.0 += values.saturating_mul(items.len());
        expanded.1 += text.saturating_mul(items.len());
        if expanded.0 > parse::MAX_ALIAS_VALUES || expanded.1 > parse::MAX_TEXT_BYTES {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!(
                        "targets copy the jobs of this file to more than {} values or {} MiB of text",
                        parse::MAX_ALIAS_VALUES,
                        parse::MAX_TEXT_BYTES / (1024 * 1024)
                    ),
                )
                .with_path(format!("{path}.targets"))
                .at(file, targets.span)
                .with_help("split the job, or the file"),
            );
            continue;
        }
        // Problems of the base fields are the same in every expansion: reported once.
        let mut reported: std::collections::HashSet<(String, String, Option<Span>)> =
            std::collections::HashSet::new();
        for (t, entry) in items.iter().enumerate() {
            let tpath = format!("{path}.targets[{t}]");
            if !matches!(entry.value, Value::Map(_)) {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("a target must be a mapping, found {}", entry.value.kind()),
                    )
                    .with_path(tpath)
                    .at(file, entry.span)
                    .with_help("e.g. `{ cluster: west, instances: 4 }`"),
                );
                continue;
            }
            let mut bad = false;
            for (forbidden, why) in [
                (
                    "key",
                    "give the parts it changes: `cluster`, `role`, `environment`, `name`",
                ),
                ("targets", "targets do not nest"),
            ] {
                if let Some(k) = entry.get_key(forbidden) {
                    diags.push(
                        Diagnostic::new(
                            Code::SpecRule,
                            format!("`{forbidden}` cannot be set in a target"),
                        )
                        .with_path(format!("{tpath}.{forbidden}"))
                        .at(file, k.span)
                        .with_help(why),
                    );
                    bad = true;
                }
            }
            if bad {
                continue;
            }
            let tree = entry.merged_over(&with_key_parts(&base, entry), "", &replaced_on_merge);
            let job = entry.merged_over(&with_key_parts(&raw, entry), "", &replaced_on_merge);
            let one = Expansion {
                tree: &tree,
                job: &job,
                path: tpath,
                target: Some((entry, path.clone())),
            };
            let mut found = Diagnostics::new();
            jobs.extend(check_expansion(file, options, &one, &mut found));
            for d in found {
                if reported.insert((d.path.clone(), d.message.clone(), d.span)) {
                    diags.push(d);
                }
            }
        }
    }
    jobs
}

/// The document with `${var.NAME}` replaced in `defaults` and `jobs` (the only places
/// values are read from; `vars` itself and `x-` fragments are left as written — anchors were
/// already expanded where they are used).
fn substituted(
    file: &SourceFile,
    root: &Node,
    scope: &mut vars::Scope,
    diags: &mut Diagnostics,
) -> Node {
    let Value::Map(entries) = &root.value else {
        return root.clone();
    };
    let entries = entries
        .iter()
        .map(|(k, v)| match k.name.as_str() {
            "defaults" | "jobs" => (k.clone(), scope.substitute(file, v, &k.name, diags)),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    Node::new(root.span, Value::Map(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(file: usize, jobs: usize) -> SourceFile {
        let mut text = String::from("apiVersion: aurora-apply/v1\njobs:\n");
        for j in 0..jobs {
            text.push_str(&format!(
                "  - key: devcluster/www-data/prod/f{file}-j{j}\n    kind: service\n    \
                 resources: {{ cpu: 1, ram: 1MiB, disk: 1MiB }}\n    \
                 task: {{ processes: [{{ name: a, cmdline: a }}] }}\n"
            ));
        }
        if jobs == 0 {
            text.push_str("  []\n");
        }
        SourceFile::new(format!("f{file}.yaml"), text, Format::Yaml)
    }

    /// The jobs each core gathers come back as one list in the order of the files and of
    /// the jobs in them, whatever the number of cores and files without jobs.
    #[test]
    fn jobs_of_every_core_come_back_in_file_order() {
        let counts = [3, 0, 1, 2, 0, 0, 4, 1, 1, 0, 2, 3, 1, 0, 2, 1, 5];
        let sources: Vec<SourceFile> = counts
            .iter()
            .enumerate()
            .map(|(f, n)| spec(f, *n))
            .collect();
        let want: Vec<String> = counts
            .iter()
            .enumerate()
            .flat_map(|(f, n)| (0..*n).map(move |j| format!("devcluster/www-data/prod/f{f}-j{j}")))
            .collect();
        for files in [0, 1, 2, 8, 9, sources.len()] {
            let checked = check_sources(&sources[..files], &LoadOptions::default())
                .unwrap_or_else(|d| panic!("{d:?}"));
            let got: Vec<String> = checked.jobs.iter().map(|j| j.key.to_string()).collect();
            let expected = &want[..counts[..files].iter().sum::<usize>()];
            assert_eq!(got, expected, "{files} files");
        }
    }

    /// Converted jobs come back in the order they were checked in, however the threads
    /// took them, with what `keep` kept of each.
    #[test]
    fn converted_jobs_keep_their_order() {
        let sources: Vec<SourceFile> = (0..40).map(|f| spec(f, 7)).collect();
        let checked =
            check_sources(&sources, &LoadOptions::default()).unwrap_or_else(|d| panic!("{d:?}"));
        let want: Vec<String> = checked.jobs.iter().map(|j| j.key.to_string()).collect();
        assert!(want.len() >= 128, "enough jobs for every thread");
        for _ in 0..4 {
            let jobs = check_sources(&sources, &LoadOptions::default())
                .unwrap_or_else(|d| panic!("{d:?}"))
                .jobs;
            let got = convert_jobs(jobs, |l| {
                assert!(l.config.task_config.is_some());
                l.job.key.to_string()
            });
            assert_eq!(got, want);
        }
    }

    /// Parts keep their order, and a part whose worker panicked gets its fallback.
    #[test]
    fn parts_come_back_in_order() {
        let items: Vec<usize> = (0..100).collect();
        let parts = map_parts_parallel(
            &items,
            |part| {
                // With several cores, the first part panics (one core runs all at once).
                assert!(
                    part.len() == 100 || !part.contains(&0),
                    "the first part panics"
                );
                part.to_vec()
            },
            |part| vec![usize::MAX; part.len()],
        );
        let flat: Vec<usize> = parts.into_iter().flatten().collect();
        assert_eq!(flat.len(), items.len());
        if flat[0] == usize::MAX {
            // Only the first part fell back.
            let fallback = flat.iter().take_while(|n| **n == usize::MAX).count();
            assert_eq!(&flat[fallback..], &items[fallback..]);
        }
    }
}
