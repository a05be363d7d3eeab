//! Typed errors: each names the place in the Aurora JSON it is about, so a user can find the
//! construct that stopped a job (`jobs[0].task.processes[1].cmdline`).

use std::fmt;
use std::path::PathBuf;

/// One reason a job cannot be converted (or failed verification), at a JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertError {
    /// Where in the input document, e.g. `jobs[0].task.processes[1].cmdline`.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl ConvertError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConvertError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConvertError {}

/// Why a set of input files could not be converted; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// An input could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The input file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An input is not JSON.
    #[error("{path}: not JSON: {source}")]
    Json {
        /// The input file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// Jobs of an input cannot be converted (or did not verify); every problem is listed.
    #[error("{path}: {} problem(s), first: {}", errors.len(), errors.first().map(ToString::to_string).unwrap_or_default())]
    Convert {
        /// The input file.
        path: PathBuf,
        /// Every problem, each at its JSON path.
        errors: Vec<ConvertError>,
    },
    /// An output file exists already; aurora-apply never overwrites a spec.
    #[error("{0} exists already (nothing was written)")]
    Exists(PathBuf),
    /// Two inputs would be written to the same output file.
    #[error("{first} and {second} would both be written to {output}")]
    SameOutput {
        /// The first input.
        first: PathBuf,
        /// The second input.
        second: PathBuf,
        /// The shared output file.
        output: PathBuf,
    },
    /// Writing an output failed (files written before it are kept and listed).
    #[error("writing {path}: {source}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Serializing a document failed (a bug: every tree is serializable).
    #[error("{0}")]
    Serialize(String),
}
