//! aurora-spec: the spec format of aurora-apply, from files to the Thrift structs Aurora's
//! scheduler receives. The structs are `aurora-thrift`'s bindings; the parser never needs the
//! client (`aurora-api`), so it compiles no HTTP, TLS or ZooKeeper code.
//!
//! Stages (each its own module): [`load`] reads YAML, TOML or JSON into a located tree,
//! merges `defaults:` and expands each job's `targets:` into jobs; [`model`] holds the
//! serde/schemars/garde types of format v1; [`validate`] applies the scheduler's rules with
//! the scheduler's reasons; [`thermos`] builds the canonical Thermos payload; [`convert`]
//! produces `JobConfiguration` and `JobUpdateRequest`; [`project`] reads a directory's project
//! file (`aurora-apply.yaml`: staged rollout), which is never a spec. Problems
//! come back as [`Diagnostics`]: every one of the run, each with file, span and path.
//!
//! For the engine and the CLI, the surface is small:
//!
//! * [`load_paths`] (files and directories) or [`load_sources`] (in-memory text) → every
//!   [`LoadedJob`] of the run, or [`Diagnostics`] with every problem (each a [`Diagnostic`]:
//!   code, message, document path, file, span; `Diagnostic::to_json` for machines).
//! * [`LoadedJob`]: `job` ([`Job`]: [`JobKey`] with the cluster, kind, merged spec,
//!   [`Origin`] = file:line:col of the definition), `config` (the desired `JobConfiguration`)
//!   and `update` (the desired `JobUpdateRequest`, `None` for cron jobs).
//! * [`convert::add_metadata`] for markers the engine adds (conversion itself adds nothing the
//!   spec does not say); [`render`] for the fixture-shaped JSON view; [`schema`] for the JSON
//!   Schema; [`Rules`] (in [`LoadOptions`]) for scheduler settings such as
//!   `-allowed_job_environments`.
//!
//! ```
//! use aurora_spec::{Format, LoadOptions, SourceFile, load_sources};
//!
//! let text = r#"
//! apiVersion: aurora-apply/v1
//! jobs:
//!   - key: devcluster/www-data/prod/hello
//!     kind: service
//!     resources: { cpu: 1, ram: 128MiB, disk: 128MiB }
//!     task:
//!       processes:
//!         - { name: hello, cmdline: "echo hello; sleep 10" }
//! "#;
//! let file = SourceFile::new("hello.aurora-apply.yaml", text, Format::Yaml);
//! let jobs = load_sources(&[file], &LoadOptions::default()).expect("valid");
//! let config = &jobs[0].config;
//! assert_eq!(config.instance_count, Some(1));
//! assert_eq!(jobs[0].job.key.to_string(), "devcluster/www-data/prod/hello");
//! ```

// A `Diagnostic` is the error value (file handle, span, path, texts); it is built once per
// problem, so its size does not matter and boxing would only add noise.
#![allow(clippy::result_large_err)]

pub mod convert;
pub mod cron;
pub mod diagnostics;
pub mod job;
mod json_text;
pub mod load;
pub mod model;
pub mod project;
pub mod render;
pub mod schema;
pub mod source;
#[cfg(test)]
mod testing;
pub mod thermos;
pub mod units;
pub mod validate;

pub use diagnostics::{Code, Diagnostic, Diagnostics};
pub use job::{Job, JobKey, Origin, Placing};
pub use load::{
    Checked, LoadOptions, Loaded, LoadedJob, check_paths, check_sources, collect_paths, load_file,
    load_paths, load_paths_with, load_sources, load_sources_with, read_source,
};
pub use source::{Format, SourceFile, Span};
pub use validate::Rules;
