//! A job after loading: its merged spec, its resolved key and kind, and where it came from.

use aurora_thrift::tiers::{Placement, Tiers};

use crate::model::{JobKind, JobSpec};
use crate::source::{SourceFile, Span};

/// `cluster/role/environment/name`: the one job-key type the engine and the commands use too.
pub use aurora_thrift::key::ClusterJobKey as JobKey;

/// Where a job is defined: for the engine's messages ("defined at specs/web.aurora-apply.yaml:12:5").
#[derive(Clone, Debug)]
pub struct Origin {
    /// The file.
    pub file: SourceFile,
    /// The job's entry in the `jobs:` list, or its entry in the job's `targets:`.
    pub span: Span,
    /// The document path, e.g. `jobs[2]`, or `jobs[2].targets[1]` for a target.
    pub path: String,
}

impl Job {
    /// This job on a cluster with `tiers`: placed again (see [`crate::validate::placement`]).
    pub fn with_tiers(&self, tiers: &Tiers) -> Job {
        Job {
            placement: self.placement_on(tiers),
            ..self.clone()
        }
    }

    /// Where this job lands on a cluster with `tiers` (its tier and `production`, as Aurora's
    /// client fills in what the spec leaves out), without copying the job.
    pub fn placement_on(&self, tiers: &Tiers) -> Placement {
        tiers.client_placement(
            self.spec.tier.as_deref(),
            self.spec.production.unwrap_or(false),
        )
    }
}

impl Origin {
    /// `file:line:col`.
    pub fn location(&self) -> String {
        let (line, col) = self.file.line_col(self.span.start);
        format!("{}:{line}:{col}", self.file.name)
    }
}

/// A valid job: the merged spec plus everything resolved from it. Built only by the loader,
/// after every rule passed, so conversion cannot fail.
#[derive(Clone, Debug)]
pub struct Job {
    /// The key.
    pub key: JobKey,
    /// The kind.
    pub kind: JobKind,
    /// The spec with `defaults:` merged in.
    pub spec: JobSpec,
    /// The tier and `production` flag sent: the spec's, with the one it leaves out
    /// backfilled from the cluster's tiers as Aurora's client does.
    pub placement: Placement,
    /// Custom executor data (inline `data` or the content of `data_file`); `None` when
    /// aurora-apply builds the Thermos payload from `task`, or for an executor-less Docker job.
    pub executor_data: Option<String>,
    /// Where it is defined.
    pub origin: Origin,
}
