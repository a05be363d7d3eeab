//! Test helpers shared by the workspace's tests (feature `testing`, enabled only by
//! dev-dependencies): the repository's wire fixtures, made with Aurora's real IDL.

use std::path::PathBuf;

use crate::types::{JobConfiguration, Resource};

/// `fixtures/wire/` of this repository.
pub fn wire_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wire")
}

/// The bare `JobConfiguration` fixture `NAME.job_configuration.bin` (what Aurora's own client
/// sends for that job), decoded.
///
/// # Panics
/// When the fixture is missing or does not decode: the tests that call this cannot run
/// without it.
pub fn job_configuration(name: &str) -> JobConfiguration {
    let path = wire_fixtures().join(format!("{name}.job_configuration.bin"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    crate::wire::decode_struct(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The same job asking for `cpu` CPUs: the smallest change that rolls a job's instances.
///
/// # Panics
/// When the job has no task config.
pub fn with_cpu(mut config: JobConfiguration, cpu: f64) -> JobConfiguration {
    let task = config
        .task_config
        .as_mut()
        .expect("a job with a task config");
    let mut resources = task.resources.clone().unwrap_or_default();
    resources.retain(|r| !matches!(r, Resource::NumCpus(_)));
    resources.insert(Resource::NumCpus(cpu.into()));
    task.resources = Some(resources);
    config
}
