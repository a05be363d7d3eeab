//! aurora-migrate: from Aurora's own job files to aurora-apply specs.
//!
//! Aurora's client reads and writes jobs as JSON (`aurora job create --read-json` takes
//! `{"jobs": [Job, …]}`, `aurora job inspect --write-json` prints one Job), and the Thermos
//! executor payload is nearly the same structure. Teams moving to aurora-apply have those
//! files (or can print them), so this crate turns them into spec files, and proves each
//! conversion by rendering it: a job whose spec would send something else than the JSON
//! means is refused, never written.
//!
//! Stages, each its own module: [`read`] (a pystachio Job → a spec job, defaults left out,
//! unsupported constructs reported at their JSON path), [`write`](mod@write) (YAML/TOML text),
//! [`verify`] (re-load with `aurora_spec::load_sources` and compare the render with the
//! JSON), [`files`] (input files → output files, never overwriting), [`live`] (a live job's
//! `JobConfiguration` and update settings → a spec job, verified by a comparison the caller
//! passes in). `convert` (the CLI) and `import` (reading live jobs) share them.
//!
//! ```
//! let json: serde_json::Value = serde_json::json!({
//!     "name": "hello", "role": "www-data", "cluster": "devcluster", "environment": "prod",
//!     "service": true,
//!     "task": {"name": "hello", "processes": [{"name": "hello", "cmdline": "echo hi; sleep 10"}],
//!              "resources": {"cpu": 1.0, "ram": 134217728, "disk": 134217728, "gpu": 0}}
//! });
//! let jobs = aurora_migrate::convert_document(&json, aurora_migrate::SpecFormat::Yaml, "aurora-apply.v1.json")
//!     .expect("converts and verifies");
//! assert!(jobs.text.contains("key: devcluster/www-data/prod/hello"));
//! ```

pub mod error;
pub mod files;
pub mod live;
pub mod read;
pub mod tree;
pub mod verify;
pub mod write;

pub use error::{ConvertError, FilesError};
pub use files::{ConvertedDocument, Output, convert_document, plan_outputs, write_outputs};
pub use live::{ImportError, ImportedJob, LiveJob, Outcome, PayloadFile, import_job};
pub use read::{ConvertedJob, jobs_of, read_job};
pub use verify::{compare_configuration, verify_job};
pub use write::{SpecFormat, document};
