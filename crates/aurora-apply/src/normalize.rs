//! The scheduler's populate rules, applied locally, so desired and live configs are compared
//! the way the scheduler would compare them and never raw.
//!
//! In: a `TaskConfig` / `JobConfiguration` as a spec renders it or as the scheduler stores it.
//! Out: the same value in canonical form. This stage mirrors what the scheduler fills in or
//! rewrites (reference §3: tier backfill, `production` from the tier, default task links, the
//! Mesos container default) and folds differences that cannot matter (absent vs empty
//! collections, absent vs zero primitives, which is how the scheduler's Java reads them). It
//! never decides what is *meaningful*: owner and executor JSON formatting are handled by
//! [`crate::compare`]. Its output is checked against the emulator's `populateJobConfig` in
//! the engine's tests.

use std::collections::BTreeMap;

use aurora_api::types::{
    Container, CronCollisionPolicy, JobConfiguration, MesosContainer, TaskConfig,
};

pub use aurora_api::tiers::{TierSettings, Tiers};

/// Canonical form of a job: [`task_config`] on its task, absent primitives as the
/// scheduler reads them, the collision policy defaulted.
pub fn job_configuration(job: &JobConfiguration, tiers: &Tiers) -> JobConfiguration {
    let mut job = job.clone();
    job.task_config = job.task_config.as_ref().map(|t| task_config(t, tiers));
    job.instance_count = Some(job.instance_count.unwrap_or(0));
    job.cron_collision_policy = Some(
        job.cron_collision_policy
            .unwrap_or(CronCollisionPolicy::KILL_EXISTING),
    );
    job.cron_schedule = job.cron_schedule.filter(|s| !s.is_empty());
    job
}

/// Canonical form of a task config, after the scheduler's populate rules.
pub fn task_config(task: &TaskConfig, tiers: &Tiers) -> TaskConfig {
    let mut t = task.clone();
    // Absent primitives are read as zero/false by the scheduler.
    t.is_service = Some(t.is_service.unwrap_or(false));
    t.priority = Some(t.priority.unwrap_or(0));
    t.max_task_failures = Some(t.max_task_failures.unwrap_or(0));

    // Tier backfill and production from the tier (ConfigurationManager, reference §3 1-2).
    let tier = t
        .tier
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| tiers.default_tier.clone());
    t.production = Some(tiers.scheduler_production(Some(&tier), t.production.unwrap_or(false)));
    t.tier = Some(tier);

    // An absent container is a Mesos container (the IDL default).
    if t.container.is_none() {
        t.container = Some(Container::Mesos(MesosContainer::default()));
    }
    if let Some(Container::Mesos(m)) = &mut t.container {
        m.volumes = m.volumes.take().filter(|v| !v.is_empty());
    }
    if let Some(Container::Docker(d)) = &mut t.container {
        d.parameters = d.parameters.take().filter(|v| !v.is_empty());
    }

    // Default task links for the `http` and `health` ports when none are given (§3 11).
    if t.task_links.as_ref().is_none_or(BTreeMap::is_empty) {
        t.task_links = Some(aurora_api::task::default_task_links(&t));
    }

    // Absent and empty collections mean the same to the scheduler.
    t.constraints = Some(t.constraints.take().unwrap_or_default());
    t.metadata = Some(t.metadata.take().unwrap_or_default());
    t.resources = Some(t.resources.take().unwrap_or_default());
    t.mesos_fetcher_uris = t.mesos_fetcher_uris.take().filter(|u| !u.is_empty());
    t.contact_email = t.contact_email.take().filter(|e| !e.is_empty());
    t
}

/// The named ports a task asks for.
pub use aurora_api::task::named_ports;

#[cfg(test)]
mod tests {
    use super::*;
    use aurora_api::types::{ExecutorConfig, JobKey, Resource};
    use std::collections::BTreeSet;

    fn bare() -> TaskConfig {
        TaskConfig {
            job: Some(JobKey {
                role: Some("www-data".into()),
                environment: Some("prod".into()),
                name: Some("hello".into()),
            }),
            is_service: Some(true),
            resources: Some(BTreeSet::from([
                Resource::NumCpus(1.0.into()),
                Resource::NamedPort("http".into()),
                Resource::NamedPort("admin".into()),
            ])),
            executor_config: Some(ExecutorConfig {
                name: Some("AuroraExecutor".into()),
                data: Some("{}".into()),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn backfills_tier_production_container_and_links() {
        let t = task_config(&bare(), &Tiers::aurora_default());
        assert_eq!(t.tier.as_deref(), Some("preemptible"));
        assert_eq!(t.production, Some(false));
        assert_eq!(
            t.container,
            Some(Container::Mesos(MesosContainer::default()))
        );
        assert_eq!(
            t.task_links,
            Some(BTreeMap::from([(
                "http".to_string(),
                "http://%host%:%port:http%".to_string()
            )]))
        );
        assert_eq!(t.constraints, Some(BTreeSet::new()));
    }

    #[test]
    fn production_follows_the_tier_and_is_idempotent() {
        let mut task = bare();
        task.tier = Some("preferred".into());
        task.production = Some(false);
        let once = task_config(&task, &Tiers::aurora_default());
        assert_eq!(once.production, Some(true));
        assert_eq!(task_config(&once, &Tiers::aurora_default()), once);
    }

    #[test]
    fn explicit_task_links_are_kept() {
        let mut task = bare();
        task.task_links = Some(BTreeMap::from([("x".into(), "y".into())]));
        let t = task_config(&task, &Tiers::aurora_default());
        assert_eq!(t.task_links, task.task_links);
    }
}
