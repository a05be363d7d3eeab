//! Input files → output files, all or nothing: every input is read, every job converted and
//! verified, and every output name checked before the first byte is written, so a failure
//! (an unsupported construct, an existing file) leaves the output directory as it was.
//! An existing file is never overwritten: a spec may have been edited by hand since.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{ConvertError, FilesError};
use crate::read::{ConvertedJob, jobs_of, read_job};
use crate::verify::verify_job;
use crate::write::{SpecFormat, document};

/// The file name of the spec schema that the editor directive points at.
pub const SCHEMA_FILE: &str = "aurora-apply.v1.json";

/// The converted jobs of one Aurora JSON document and their spec text.
#[derive(Clone, Debug)]
pub struct ConvertedDocument {
    /// The jobs, in input order.
    pub jobs: Vec<ConvertedJob>,
    /// The spec file text holding them.
    pub text: String,
}

/// Converts every job of `doc` (either JSON form) and verifies each by rendering it. Every
/// problem of every job is returned, each at its JSON path.
pub fn convert_document(
    doc: &Value,
    format: SpecFormat,
    schema: &str,
) -> Result<ConvertedDocument, Vec<ConvertError>> {
    let entries = jobs_of(doc).map_err(|e| vec![e])?;
    if entries.is_empty() {
        return Err(vec![ConvertError::new("jobs", "the job file has no jobs")]);
    }
    let mut errors = Vec::new();
    let mut jobs = Vec::new();
    for (path, value) in entries {
        match read_job(value, &path) {
            Ok(job) => match verify_job(value, &path, &job, format) {
                Ok(_) => jobs.push(job),
                Err(e) => errors.extend(e),
            },
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let text =
        document(&jobs, format, schema).map_err(|e| vec![ConvertError::new("", e.to_string())])?;
    Ok(ConvertedDocument { jobs, text })
}

/// One spec file to write.
#[derive(Clone, Debug)]
pub struct Output {
    /// The Aurora JSON file it comes from.
    pub input: PathBuf,
    /// Where it goes.
    pub path: PathBuf,
    /// The job keys it holds.
    pub jobs: Vec<String>,
    /// Its text.
    pub text: String,
}

/// Converts `inputs` into one spec file each under `out_dir` (named after the job when the
/// input holds one job, else after the input file), without writing anything. Every problem
/// of every input is returned: conversion errors, outputs that exist already, and two inputs
/// meeting in one output.
pub fn plan_outputs(
    inputs: &[PathBuf],
    out_dir: &Path,
    format: SpecFormat,
) -> Result<Vec<Output>, Vec<FilesError>> {
    let schema = schema_ref(out_dir);
    let mut errors = Vec::new();
    let mut outputs: Vec<Output> = Vec::new();
    let mut taken: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for input in inputs {
        let text = match std::fs::read_to_string(input) {
            Ok(t) => t,
            Err(source) => {
                errors.push(FilesError::Read {
                    path: input.clone(),
                    source,
                });
                continue;
            }
        };
        let doc: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(source) => {
                errors.push(FilesError::Json {
                    path: input.clone(),
                    source,
                });
                continue;
            }
        };
        let converted = match convert_document(&doc, format, &schema) {
            Ok(c) => c,
            Err(errs) => {
                errors.push(FilesError::Convert {
                    path: input.clone(),
                    errors: errs,
                });
                continue;
            }
        };
        let stem = match converted.jobs.as_slice() {
            [one] => one.name.clone(),
            _ => input_stem(input),
        };
        let path = out_dir.join(format!("{stem}.{}", format.extension()));
        if let Some(first) = taken.get(&path) {
            errors.push(FilesError::SameOutput {
                first: first.clone(),
                second: input.clone(),
                output: path.clone(),
            });
            continue;
        }
        taken.insert(path.clone(), input.clone());
        if path.symlink_metadata().is_ok() {
            errors.push(FilesError::Exists(path.clone()));
            continue;
        }
        outputs.push(Output {
            input: input.clone(),
            path,
            jobs: converted.jobs.iter().map(|j| j.key.clone()).collect(),
            text: converted.text,
        });
    }
    if errors.is_empty() {
        Ok(outputs)
    } else {
        Err(errors)
    }
}

/// Writes planned outputs, creating `out_dir` if needed; each file is created new (an
/// output that appeared since planning is an error, not overwritten).
pub fn write_outputs(outputs: &[Output]) -> Result<(), FilesError> {
    use std::io::Write;
    for out in outputs {
        if let Some(dir) = out.path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| FilesError::Write {
                path: out.path.clone(),
                source,
            })?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&out.path)
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    FilesError::Exists(out.path.clone())
                } else {
                    FilesError::Write {
                        path: out.path.clone(),
                        source,
                    }
                }
            })?;
        file.write_all(out.text.as_bytes())
            .map_err(|source| FilesError::Write {
                path: out.path.clone(),
                source,
            })?;
    }
    Ok(())
}

/// `hello.json` → `hello`, `web.aurora.json` → `web`.
fn input_stem(input: &Path) -> String {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "jobs".into());
    let name = name.strip_suffix(".json").unwrap_or(&name);
    name.strip_suffix(".aurora").unwrap_or(name).to_string()
}

/// The schema reference for files in `out_dir`: a relative path to the nearest
/// `schema/aurora-apply.v1.json` or `.schema/aurora-apply.v1.json` in it or above it (a
/// spec repository, or one `aurora-apply init` set up), else the schema
/// file next to the specs (`aurora-apply schema > DIR/aurora-apply.v1.json` creates it).
pub fn schema_ref(out_dir: &Path) -> String {
    let abs = if out_dir.is_absolute() {
        out_dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(out_dir))
            .unwrap_or_else(|_| out_dir.to_path_buf())
    };
    let mut ups = 0;
    let mut dir = Some(abs.as_path());
    while let Some(d) = dir {
        // `schema/` as in this repository, `.schema/` as `aurora-apply init` lays it out.
        for folder in ["schema", ".schema"] {
            if d.join(folder).join(SCHEMA_FILE).is_file() {
                return format!("{}{folder}/{SCHEMA_FILE}", "../".repeat(ups));
            }
        }
        ups += 1;
        dir = d.parent();
    }
    SCHEMA_FILE.to_string()
}
