//! A valid [`Job`] → the Thrift structs the scheduler receives: `JobConfiguration` (createJob,
//! scheduleCronJob) and `JobUpdateRequest` (getJobUpdateDiff, startJobUpdate).
//!
//! Follows Aurora's client (`config/thrift.py`, `updater_util.py`) field by field, with three
//! deliberate differences: the owner is the role (overridable with `owner:`), not the local
//! unix user, so every operator renders the same config; the container is always explicit;
//! and `updateStrategy` is always set. Conversion never fails: the loader only builds a `Job`
//! once every rule passed. It adds nothing the spec does not say (the engine adds its own
//! metadata, see [`add_metadata`]).

use std::collections::{BTreeMap, BTreeSet};

use aurora_thrift::types::{
    AppcImage, BatchJobUpdateStrategy, Constraint, Container, CoordinatorSlaPolicy, CountSlaPolicy,
    CronCollisionPolicy, DockerContainer, DockerImage, DockerParameter, ExecutorConfig, Identity,
    Image, JobConfiguration, JobUpdateRequest, JobUpdateSettings, JobUpdateStrategy,
    LimitConstraint, MesosContainer, MesosFetcherURI, Metadata, Mode, PartitionPolicy,
    PercentageSlaPolicy, QueueJobUpdateStrategy, Resource, SlaPolicy, TaskConfig, TaskConstraint,
    ValueConstraint, VariableBatchJobUpdateStrategy, Volume,
};
use thrift::OrderedFloat;

use crate::job::Job;
use crate::model::{
    CollisionPolicy, ContainerSpec, ImageSpec, JobKind, SlaPolicySpec, StrategySpec, VolumeMode,
};
use crate::thermos;
use crate::units::Duration;
use crate::validate::AURORA_EXECUTOR;

/// The owner recorded in `JobConfiguration.owner` and `TaskConfig.owner`: `owner:` or the role.
pub fn owner(job: &Job) -> Identity {
    Identity {
        user: Some(
            job.spec
                .owner
                .clone()
                .unwrap_or_else(|| job.key.role.clone()),
        ),
    }
}

/// The collision policy name (default KILL_EXISTING, as Aurora's client always sends one).
pub fn collision_policy_name(job: &Job) -> &'static str {
    match job.spec.cron.as_ref().and_then(|c| c.collision_policy) {
        Some(CollisionPolicy::CancelNew) => "CANCEL_NEW",
        Some(CollisionPolicy::RunOverlap) => "RUN_OVERLAP",
        Some(CollisionPolicy::KillExisting) | None => "KILL_EXISTING",
    }
}

fn collision_policy(job: &Job) -> CronCollisionPolicy {
    match job.spec.cron.as_ref().and_then(|c| c.collision_policy) {
        Some(CollisionPolicy::CancelNew) => CronCollisionPolicy::CANCEL_NEW,
        Some(CollisionPolicy::RunOverlap) => CronCollisionPolicy::RUN_OVERLAP,
        Some(CollisionPolicy::KillExisting) | None => CronCollisionPolicy::KILL_EXISTING,
    }
}

fn secs_i64(d: Duration) -> i64 {
    i64::try_from(d.0.as_secs()).unwrap_or(i64::MAX)
}

fn ms_i32(d: Duration) -> i32 {
    i32::try_from(d.millis()).unwrap_or(i32::MAX)
}

fn clamp_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The executor config: the canonical Thermos payload built from `task`, or the custom
/// executor's name and data verbatim; `None` for an executor-less Docker job.
pub fn executor_config(job: &Job) -> Option<ExecutorConfig> {
    match (&job.spec.executor, &job.spec.task) {
        (Some(ex), _) if job.executor_data.is_some() => Some(ExecutorConfig {
            name: Some(ex.name.clone()),
            data: job.executor_data.clone(),
        }),
        (_, Some(_)) => Some(ExecutorConfig {
            name: Some(AURORA_EXECUTOR.to_string()),
            data: Some(thermos::payload(job)),
        }),
        _ => None,
    }
}

fn resources(job: &Job) -> BTreeSet<Resource> {
    let mut out = BTreeSet::new();
    if let Some(r) = &job.spec.resources {
        if let Some(cpu) = r.cpu {
            out.insert(Resource::NumCpus(OrderedFloat(cpu)));
        }
        if let Some(ram) = r.ram {
            out.insert(Resource::RamMb(
                i64::try_from(ram.mib()).unwrap_or(i64::MAX),
            ));
        }
        if let Some(disk) = r.disk {
            out.insert(Resource::DiskMb(
                i64::try_from(disk.mib()).unwrap_or(i64::MAX),
            ));
        }
        if let Some(gpu) = r.gpu.filter(|g| *g > 0) {
            out.insert(Resource::NumGpus(i64::from(gpu)));
        }
    }
    for port in thermos::required_ports(job) {
        out.insert(Resource::NamedPort(port));
    }
    out
}

fn constraints(job: &Job) -> BTreeSet<Constraint> {
    job.spec
        .constraints
        .iter()
        .flatten()
        .map(|(name, c)| Constraint {
            name: Some(name.clone()),
            constraint: Some(match c.limit {
                Some(limit) => TaskConstraint::Limit(LimitConstraint { limit: Some(limit) }),
                None => TaskConstraint::Value(ValueConstraint {
                    negated: Some(c.negated.unwrap_or(false)),
                    values: Some(c.values.iter().flatten().cloned().collect()),
                }),
            }),
        })
        .collect()
}

fn container(job: &Job) -> Container {
    match &job.spec.container {
        None => Container::Mesos(MesosContainer::default()),
        Some(ContainerSpec::Docker(d)) => Container::Docker(DockerContainer {
            image: Some(d.image.clone()),
            parameters: Some(
                d.parameters
                    .iter()
                    .flatten()
                    .map(|p| DockerParameter {
                        name: Some(p.name.clone()),
                        value: Some(p.value.clone()),
                    })
                    .collect(),
            ),
        }),
        Some(ContainerSpec::Mesos(m)) => Container::Mesos(MesosContainer {
            image: m.image.as_ref().map(|i| match i {
                ImageSpec::Docker(d) => Image::Docker(DockerImage {
                    name: Some(d.name.clone()),
                    tag: Some(d.tag.clone()),
                }),
                ImageSpec::Appc(a) => Image::Appc(AppcImage {
                    name: Some(a.name.clone()),
                    image_id: Some(a.image_id.clone()),
                }),
            }),
            volumes: Some(
                m.volumes
                    .iter()
                    .flatten()
                    .map(|v| Volume {
                        container_path: Some(v.container_path.clone()),
                        host_path: Some(v.host_path.clone()),
                        mode: Some(match v.mode {
                            VolumeMode::Ro => Mode::RO,
                            VolumeMode::Rw => Mode::RW,
                        }),
                    })
                    .collect(),
            ),
        }),
    }
}

fn sla_policy(job: &Job) -> Option<SlaPolicy> {
    Some(match job.spec.sla_policy.as_ref()? {
        SlaPolicySpec::Percentage(p) => SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
            percentage: Some(OrderedFloat(p.percentage)),
            duration_secs: Some(secs_i64(p.duration)),
        }),
        SlaPolicySpec::Count(c) => SlaPolicy::CountSlaPolicy(CountSlaPolicy {
            count: Some(i64::try_from(c.count).unwrap_or(i64::MAX)),
            duration_secs: Some(secs_i64(c.duration)),
        }),
        SlaPolicySpec::Coordinator(c) => SlaPolicy::CoordinatorSlaPolicy(CoordinatorSlaPolicy {
            coordinator_url: Some(c.url.clone()),
            status_key: Some(c.status_key.clone().unwrap_or_else(|| "drain".into())),
        }),
    })
}

/// The TaskConfig shared by every instance.
pub fn task_config(job: &Job) -> TaskConfig {
    let s = &job.spec;
    let fetch: BTreeSet<MesosFetcherURI> = s
        .fetch
        .iter()
        .flatten()
        .map(|f| MesosFetcherURI {
            value: Some(f.uri.clone()),
            extract: f.extract,
            cache: f.cache,
            output_file: f.output_file.clone(),
        })
        .collect();
    TaskConfig {
        is_service: Some(job.kind == JobKind::Service),
        priority: Some(s.priority.unwrap_or(0)),
        max_task_failures: Some(s.max_task_failures.unwrap_or(1)),
        owner: Some(owner(job)),
        production: Some(job.placement.production),
        constraints: Some(constraints(job)),
        task_links: Some(BTreeMap::new()),
        contact_email: s.contact.clone(),
        executor_config: executor_config(job),
        metadata: Some(
            s.metadata
                .iter()
                .flatten()
                .map(|(k, v)| Metadata {
                    key: Some(k.clone()),
                    value: Some(v.clone()),
                })
                .collect(),
        ),
        job: Some(job.key.thrift()),
        container: Some(container(job)),
        tier: Some(job.placement.tier.clone()),
        resources: Some(resources(job)),
        mesos_fetcher_uris: (!fetch.is_empty()).then_some(fetch),
        partition_policy: s.partition_policy.as_ref().map(|p| PartitionPolicy {
            reschedule: Some(p.reschedule.unwrap_or(true)),
            delay_secs: Some(p.delay.map_or(0, secs_i64)),
        }),
        sla_policy: sla_policy(job),
    }
}

/// The JobConfiguration for createJob / scheduleCronJob.
pub fn job_configuration(job: &Job) -> JobConfiguration {
    let cron_schedule = match job.kind {
        JobKind::Cron => job.spec.cron.as_ref().and_then(|c| c.schedule.clone()),
        _ => None,
    };
    JobConfiguration {
        cron_schedule,
        cron_collision_policy: Some(collision_policy(job)),
        task_config: Some(task_config(job)),
        owner: Some(owner(job)),
        instance_count: Some(clamp_i32(job.spec.instances.unwrap_or(1))),
        key: Some(job.key.thrift()),
    }
}

/// The update settings. Defaults equal Aurora's `UpdateConfig()`: queue of 1, watch 45 s,
/// 0/0 failures, rollback on. `updateGroupSize` and `waitForBatchCompletion` are set
/// consistently with the strategy (older schedulers read only those).
pub fn update_settings(job: &Job) -> JobUpdateSettings {
    let u = job.spec.update.clone();
    let u = u.as_ref();
    let (group, wait, strategy) = match u.and_then(|u| u.strategy.clone()) {
        None => (
            1,
            false,
            JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy {
                group_size: Some(1),
            }),
        ),
        Some(StrategySpec::Queue(q)) => {
            let size = clamp_i32(q.size.unwrap_or(1));
            (
                size,
                false,
                JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy {
                    group_size: Some(size),
                }),
            )
        }
        Some(StrategySpec::Batch(b)) => {
            let size = clamp_i32(b.size.unwrap_or(1));
            (
                size,
                true,
                JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
                    group_size: Some(size),
                    autopause_after_batch: Some(b.autopause.unwrap_or(false)),
                }),
            )
        }
        // Aurora's client (updater_util.py, rel/0.22.0) leaves `batch_size` at 1 and
        // `wait_for_batch_completion` at false for a variable-batch strategy: its branch meant
        // to copy the first size tests for the batch strategy again and is never taken.
        Some(StrategySpec::VariableBatch(v)) => {
            let sizes: Vec<i32> = v.sizes.iter().copied().map(clamp_i32).collect();
            (
                1,
                false,
                JobUpdateStrategy::VarBatchStrategy(VariableBatchJobUpdateStrategy {
                    group_sizes: Some(sizes),
                    autopause_after_batch: Some(v.autopause.unwrap_or(false)),
                }),
            )
        }
    };
    JobUpdateSettings {
        update_group_size: Some(group),
        max_per_instance_failures: Some(clamp_i32(
            u.and_then(|u| u.max_per_instance_failures).unwrap_or(0),
        )),
        max_failed_instances: Some(clamp_i32(
            u.and_then(|u| u.max_failed_instances).unwrap_or(0),
        )),
        min_wait_in_instance_running_ms: Some(u.and_then(|u| u.watch).map_or(45_000, ms_i32)),
        rollback_on_failure: Some(u.and_then(|u| u.rollback_on_failure).unwrap_or(true)),
        update_only_these_instances: None,
        wait_for_batch_completion: Some(wait),
        block_if_no_pulses_after_ms: u.and_then(|u| u.pulse_interval).map(ms_i32),
        sla_aware: Some(u.and_then(|u| u.sla_aware).unwrap_or(false)),
        update_strategy: Some(strategy),
    }
}

/// The JobUpdateRequest for getJobUpdateDiff / startJobUpdate; `None` for cron jobs, which
/// the scheduler does not update (they are replaced with scheduleCronJob). `metadata` is
/// empty: update provenance is the engine's to add.
pub fn job_update_request(job: &Job) -> Option<JobUpdateRequest> {
    (job.kind != JobKind::Cron).then(|| JobUpdateRequest {
        task_config: Some(task_config(job)),
        instance_count: Some(clamp_i32(job.spec.instances.unwrap_or(1))),
        settings: Some(update_settings(job)),
        metadata: Some(BTreeSet::new()),
    })
}

/// Like [`job_update_request`], reusing the TaskConfig of an already converted
/// JobConfiguration (the Thermos payload is built once).
pub fn job_update_request_from(job: &Job, config: &JobConfiguration) -> Option<JobUpdateRequest> {
    (job.kind != JobKind::Cron).then(|| JobUpdateRequest {
        task_config: config.task_config.clone(),
        instance_count: config.instance_count,
        settings: Some(update_settings(job)),
        metadata: Some(BTreeSet::new()),
    })
}

/// Adds a metadata entry to a task config (e.g. the engine's ownership marker). Kept apart
/// from conversion so a rendered spec is exactly what the spec says.
pub fn add_metadata(task: &mut TaskConfig, key: &str, value: &str) {
    task.metadata
        .get_or_insert_with(BTreeSet::new)
        .insert(Metadata {
            key: Some(key.to_string()),
            value: Some(value.to_string()),
        });
}
