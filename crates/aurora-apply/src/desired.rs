//! What the engine is asked to make true: one entry per job in the specs.
//!
//! The CLI builds these from `aurora-spec`'s output; the engine does not parse specs. The
//! config is exactly what the spec renders; the engine adds its own metadata markers
//! ([`crate::marker`]) when it plans, never here.

use std::sync::Arc;

use aurora_api::types::{JobConfiguration, JobKey, JobUpdateSettings};
use sha2::{Digest, Sha256};

use crate::key::ClusterJobKey;
use crate::plan::JobKind;

/// One job as the specs describe it.
///
/// A plan holds every desired job at once (10,000 and more in big installations), so the
/// job's configuration is kept Thrift-encoded — a third of the decoded struct's size, and
/// what the spec hash and execution need anyway — and decoded when the job is compared.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredJob {
    /// The cluster (first part of the job key), resolved through clusters.json.
    pub cluster: String,
    /// The job key.
    key: JobKey,
    /// Service, ad-hoc or cron.
    kind: JobKind,
    /// The job as the spec renders it (key, task config, instance count, cron fields),
    /// encoded with Thrift's binary protocol. Shared: placing a job on a cluster whose tiers
    /// place it as loaded copies no bytes.
    encoded: Arc<[u8]>,
    /// How rolling updates of this job run.
    pub update_settings: JobUpdateSettings,
    /// `protect: true`: the job may not be killed or replaced by this tool.
    pub protect: bool,
    /// Take over a live job created elsewhere: add the ownership marker, which changes its
    /// task config and so rolls its instances (`--adopt`). Without it a job found without
    /// the marker is left without it.
    pub adopt: bool,
    /// Where the job is declared, `file:line:col`.
    pub source: Option<String>,
}

impl DesiredJob {
    /// The job `config` on `cluster`, updated with `update_settings`; not protected, not
    /// adopting, declared nowhere (see the fields to change those).
    pub fn new(
        cluster: impl Into<String>,
        config: &JobConfiguration,
        update_settings: JobUpdateSettings,
    ) -> DesiredJob {
        DesiredJob {
            cluster: cluster.into(),
            key: config.key.clone().unwrap_or_default(),
            kind: kind_of(config),
            encoded: aurora_api::wire::encode_struct(config).into(),
            update_settings,
            protect: false,
            adopt: false,
            source: None,
        }
    }

    /// This job with another `config` (the same job placed elsewhere, say); everything else
    /// is kept.
    pub fn with_config(&self, config: &JobConfiguration) -> DesiredJob {
        DesiredJob {
            protect: self.protect,
            adopt: self.adopt,
            source: self.source.clone(),
            ..DesiredJob::new(&self.cluster, config, self.update_settings.clone())
        }
    }

    /// The job as the spec renders it (decoded: each call builds a new struct).
    pub fn config(&self) -> JobConfiguration {
        // The bytes were encoded from a `JobConfiguration` by `new` and never change, so
        // decoding them cannot fail; a failure would be a bug in the Thrift runtime.
        aurora_api::wire::decode_struct(&self.encoded)
            .unwrap_or_else(|e| unreachable!("a desired job's own encoding decodes: {e}"))
    }

    /// The job's key.
    pub fn key(&self) -> JobKey {
        self.key.clone()
    }

    /// `cluster/role/environment/name`.
    pub fn job_key(&self) -> ClusterJobKey {
        ClusterJobKey::new(&self.cluster, &self.key)
    }

    /// Service, ad-hoc or cron, from the config.
    pub fn kind(&self) -> JobKind {
        self.kind
    }

    /// A stable hash of what is desired, for plan staleness checks.
    pub fn hash_into(&self, hasher: &mut Sha256) {
        hasher.update(self.job_key().to_string().as_bytes());
        hasher.update(&self.encoded);
        hasher.update(aurora_api::wire::encode_struct(&self.update_settings));
        hasher.update([u8::from(self.protect)]);
    }
}

/// Planning takes jobs owned or borrowed (see [`PlacedJob`]).
impl AsRef<DesiredJob> for DesiredJob {
    fn as_ref(&self) -> &DesiredJob {
        self
    }
}

/// A desired job placed on a cluster: the loaded job itself when the cluster's tiers place
/// it as loaded (the usual case: nothing is copied), or a copy placed otherwise. A plan of
/// 10,000 jobs held a copy of each (2.5 MB, and 2 MB of strings) until it was assembled.
#[derive(Debug, Clone, PartialEq)]
pub enum PlacedJob<'a> {
    /// Placed as loaded.
    AsLoaded(&'a DesiredJob),
    /// Placed differently from how it was loaded.
    Moved(Box<DesiredJob>),
}

impl AsRef<DesiredJob> for PlacedJob<'_> {
    fn as_ref(&self) -> &DesiredJob {
        match self {
            PlacedJob::AsLoaded(job) => job,
            PlacedJob::Moved(job) => job,
        }
    }
}

/// The kind of a job configuration: cron iff it has a schedule, else service or ad-hoc.
pub fn kind_of(config: &JobConfiguration) -> JobKind {
    if config
        .cron_schedule
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        JobKind::Cron
    } else if config
        .task_config
        .as_ref()
        .and_then(|t| t.is_service)
        .unwrap_or(false)
    {
        JobKind::Service
    } else {
        JobKind::Adhoc
    }
}

/// `sha256:<hex>` of every desired job, in key order.
pub fn spec_hash(jobs: &[impl AsRef<DesiredJob>]) -> String {
    let mut sorted: Vec<&DesiredJob> = jobs.iter().map(AsRef::as_ref).collect();
    // Each key is built once, not once per comparison.
    sorted.sort_by_cached_key(|j| j.job_key());
    let mut hasher = Sha256::new();
    for job in sorted {
        job.hash_into(&mut hasher);
    }
    format!("sha256:{}", hex(&hasher.finalize()))
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
