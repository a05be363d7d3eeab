//! A job after loading: its merged spec, its resolved key and kind, and where it came from.

use aurora_thrift::tiers::{Placement, Tiers};
use aurora_thrift::types::JobConfiguration;

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

/// What placing a converted job again needs — the tier and `production` its spec gives and
/// whether aurora-apply wrote its Thermos payload — so that a job kept only as its Thrift
/// structs can land on a cluster whose tiers differ from the ones it was loaded with
/// ([`Placing::place`] gives what converting [`Job::with_tiers`] would).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placing {
    tier: Option<String>,
    production: bool,
    generated_payload: bool,
    placed: Placement,
}

impl Placing {
    /// Where the job lands on a cluster with `tiers`.
    pub fn on(&self, tiers: &Tiers) -> Placement {
        tiers.client_placement(self.tier.as_deref(), self.production)
    }

    /// The placement the job was converted with.
    pub fn placed(&self) -> &Placement {
        &self.placed
    }

    /// Places the converted `config` of this job at `placement`: the TaskConfig's `tier` and
    /// `production`, and the same two keys of the Thermos payload when aurora-apply wrote it
    /// (custom executor data is sent as given, so it keeps its own).
    pub fn place(&self, config: &mut JobConfiguration, placement: &Placement) {
        let Some(task) = config.task_config.as_mut() else {
            return;
        };
        task.tier = Some(placement.tier.clone());
        task.production = Some(placement.production);
        let data = task.executor_config.as_mut().and_then(|e| e.data.as_mut());
        if let Some(data) = data.filter(|_| self.generated_payload) {
            crate::thermos::place_payload(data, placement);
        }
    }
}

impl Job {
    /// What placing this job again, once converted, needs.
    pub fn placing(&self) -> Placing {
        Placing {
            tier: self.spec.tier.clone(),
            production: self.spec.production.unwrap_or(false),
            generated_payload: self.executor_data.is_none() && self.spec.task.is_some(),
            placed: self.placement.clone(),
        }
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
