//! The scheduler's validate-and-populate (`ConfigurationManager.validateAndPopulate`,
//! reference aurora-api.md §3), rule by rule and in order. Every failure is the message the
//! scheduler puts in an `INVALID_REQUEST` response.

use std::collections::BTreeMap;

use aurora_thrift::types::{
    Container, DockerParameter, JobConfiguration, JobKey, MesosContainer, Resource, SlaPolicy,
    TaskConfig, TaskConstraint,
};

use crate::config::SimConfig;

/// `^[\w\-\.]+$` with Java's ASCII `\w`, at most 255 characters (`UserProvidedStrings`,
/// reference §1.4 JobKey).
pub fn good_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// `role/env/name` (`JobKeys.canonicalString`).
pub fn key_string(k: &JobKey) -> String {
    format!(
        "{}/{}/{}",
        k.role.as_deref().unwrap_or("null"),
        k.environment.as_deref().unwrap_or("null"),
        k.name.as_deref().unwrap_or("null")
    )
}

/// `JobKeys.isValid`: all three parts good identifiers.
pub fn valid_key(k: Option<&JobKey>) -> bool {
    k.is_some_and(|k| {
        [&k.role, &k.environment, &k.name]
            .iter()
            .all(|p| p.as_deref().is_some_and(good_identifier))
    })
}

/// Thrift's `toString` of a JobKey, as the scheduler's messages print it
/// (`JobKey(role:www-data, environment:prod, name:hello)`; `null` when absent).
pub fn key_thrift_string(k: Option<&JobKey>) -> String {
    match k {
        None => "null".to_string(),
        Some(k) => format!(
            "JobKey(role:{}, environment:{}, name:{})",
            k.role.as_deref().unwrap_or("null"),
            k.environment.as_deref().unwrap_or("null"),
            k.name.as_deref().unwrap_or("null")
        ),
    }
}

/// The immutable wrapper's `toString` of a job key (`IJobKey{role=www-data,
/// environment=prod, name=hello}`: Guava's `MoreObjects.toStringHelper`, fields in IDL order,
/// `null` when absent), as ConfigurationManager prints `job.getKey()` / `config.getJob()`.
pub fn key_wrapper_string(k: Option<&JobKey>) -> String {
    match k {
        None => "null".to_string(),
        Some(k) => format!(
            "IJobKey{{role={}, environment={}, name={}}}",
            k.role.as_deref().unwrap_or("null"),
            k.environment.as_deref().unwrap_or("null"),
            k.name.as_deref().unwrap_or("null")
        ),
    }
}

/// Validates and populates a whole `JobConfiguration` (reference §3, JobConfiguration level
/// 1-7). Returns the populated copy.
pub fn validate_job(cfg: &SimConfig, job: &JobConfiguration) -> Result<JobConfiguration, String> {
    // §3 job 1.
    let Some(task) = job.task_config.as_ref() else {
        return Err("Job configuration must have taskConfig set.".to_string());
    };
    // §3 job 2.
    let count = job.instance_count.unwrap_or(0);
    if count <= 0 {
        return Err("Instance count must be positive.".to_string());
    }
    // §3 job 3.
    if !valid_key(job.key.as_ref()) {
        return Err(format!(
            "Job key {} is invalid.",
            key_wrapper_string(job.key.as_ref())
        ));
    }
    // §3 job 4.
    check_environment(cfg, job.key.as_ref())?;
    // §3 job 5.
    if let Some(user) = job.owner.as_ref().and_then(|o| o.user.as_deref())
        && !good_identifier(user)
    {
        return Err(format!("Job user contains illegal characters: {user}"));
    }
    // §3 job 6.
    let populated = validate_task(cfg, task, count)?;
    // §3 job 7.
    let has_cron = job
        .cron_schedule
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty());
    if populated.is_service == Some(true) && has_cron {
        // The scheduler appends the whole JobConfiguration's toString; the emulator prints
        // its head (key, schedule, instance count).
        return Err(format!(
            "A service task may not be run on a cron schedule: JobConfiguration(key:{}, cronSchedule:{}, instanceCount:{}, …)",
            key_thrift_string(job.key.as_ref()),
            job.cron_schedule.as_deref().unwrap_or(""),
            count
        ));
    }
    let mut out = job.clone();
    out.task_config = Some(populated);
    crate::shape::job_configuration(&mut out);
    Ok(out)
}

fn check_environment(cfg: &SimConfig, key: Option<&JobKey>) -> Result<(), String> {
    let env = key.and_then(|k| k.environment.as_deref()).unwrap_or("");
    // `-allowed_job_environments` (reference §3 job 4).
    let ok = match regex::Regex::new(&cfg.allowed_job_environments) {
        Ok(re) => re.is_match(env),
        Err(_) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Job environment {env} doesn't match: {}",
            cfg.allowed_job_environments
        ))
    }
}

/// Validates and populates a `TaskConfig` (reference §3, TaskConfig level 1-11).
pub fn validate_task(
    cfg: &SimConfig,
    task: &TaskConfig,
    instance_count: i32,
) -> Result<TaskConfig, String> {
    let mut t = task.clone();

    // §3 task 1-2: tier (TierManager) and production overwritten from it.
    let tier_name = match t.tier.as_deref() {
        Some(name) => {
            if !good_identifier(name) {
                return Err(format!("Tier contains illegal characters: {name}"));
            }
            name.to_string()
        }
        None => cfg.tiers.default_tier.clone(),
    };
    let Some(tier) = cfg.tiers.tiers.get(&tier_name) else {
        return Err(format!("Invalid tier '{tier_name}' in TaskConfig."));
    };
    let production = tier.production();
    t.tier = Some(tier_name.clone());
    t.production = Some(production);

    // §3 task 3.
    if !valid_key(t.job.as_ref()) {
        return Err(format!(
            "Job key {} is invalid.",
            key_wrapper_string(t.job.as_ref())
        ));
    }
    let role = t
        .job
        .as_ref()
        .and_then(|k| k.role.clone())
        .unwrap_or_default();

    // The IDL default `container = {"mesos": {}}` applies when absent on the wire (§1.4).
    if t.container.is_none() {
        t.container = Some(Container::Mesos(MesosContainer::default()));
    }
    let is_docker = matches!(t.container, Some(Container::Docker(_)));

    // §3 task 4: executor.
    match t.executor_config.as_ref() {
        None => {
            if !is_docker {
                return Err("Configuration may not be null.".to_string());
            }
        }
        Some(ex) => match ex.name.as_deref() {
            None => return Err("Executor name may not be left unset.".to_string()),
            Some(name) => {
                let known = name == aurora_thrift::types::AURORA_EXECUTOR_NAME
                    || cfg.custom_executors.iter().any(|e| e.name == name);
                if !known {
                    return Err(format!(
                        "Configuration for executor '{name}' doesn't exist."
                    ));
                }
            }
        },
    }

    // §3 task 5: dedicated constraints.
    for c in t.constraints.iter().flatten() {
        if c.name.as_deref() != Some("dedicated") {
            continue;
        }
        let Some(TaskConstraint::Value(v)) = c.constraint.as_ref() else {
            return Err("A dedicated constraint must be of value type.".to_string());
        };
        let values = v.values.clone().unwrap_or_default();
        if values.len() != 1 {
            return Err("A dedicated constraint must have exactly one value".to_string());
        }
        let value = values.iter().next().cloned().unwrap_or_default();
        let owner = value.split('/').next().unwrap_or("");
        if owner != "*" && owner != role {
            return Err(format!(
                "Only {owner} may use hosts dedicated for that role."
            ));
        }
    }

    // §3 task 6: Docker container.
    if let Some(Container::Docker(d)) = t.container.as_mut() {
        if d.image.as_deref().is_none_or(str::is_empty) {
            return Err("A container must specify an image.".to_string());
        }
        let params = d.parameters.clone().unwrap_or_default();
        if params.is_empty() {
            if !cfg.default_docker_parameters.is_empty() {
                d.parameters = Some(
                    cfg.default_docker_parameters
                        .iter()
                        .map(|(n, v)| DockerParameter {
                            name: Some(n.clone()),
                            value: Some(v.clone()),
                        })
                        .collect(),
                );
            }
        } else if !cfg.allow_docker_parameters {
            return Err("This scheduler is configured to disallow Docker parameters.".to_string());
        }
        if cfg.require_docker_use_executor && t.executor_config.is_none() {
            return Err(
                "This scheduler is configured to require an executor for Docker-based tasks."
                    .to_string(),
            );
        }
    }

    // §3 task 7: allowed container types.
    let kind = if is_docker { "DOCKER" } else { "MESOS" };
    if !cfg.allowed_container_types.contains(kind) {
        return Err(format!(
            "This scheduler is not configured to allow the container type {kind}"
        ));
    }

    // §3 task 8: resources.
    let resources = t.resources.clone().unwrap_or_default();
    // Keyed by Aurora's resource names (ResourceType.getAuroraName), sorted as Java sorts them.
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let (mut cpus, mut ram, mut disk, mut gpus) = (0.0f64, 0i64, 0i64, 0i64);
    for r in &resources {
        let kind = match r {
            Resource::NumCpus(v) => {
                cpus = v.0;
                "CPU"
            }
            Resource::RamMb(v) => {
                ram = *v;
                "RAM"
            }
            Resource::DiskMb(v) => {
                disk = *v;
                "disk"
            }
            Resource::NumGpus(v) => {
                gpus = *v;
                "GPU"
            }
            Resource::IpAddr(_) => "IP",
            Resource::NamedPort(_) => continue,
        };
        *counts.entry(kind).or_default() += 1;
    }
    let repeated: Vec<&str> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| *k)
        .collect();
    if !repeated.is_empty() {
        return Err(format!(
            "Multiple resource values are not supported for {}",
            repeated.join(", ")
        ));
    }
    // source: ConfigurationManager.GreaterThan (rel/0.22.0): it throws when
    // `min >= value.doubleValue()`, with min 0.0 printed by Java as "0.0". A NaN or an
    // infinite cpu count compares false there, so the scheduler accepts both.
    let greater_than_zero = |value: f64, label: &str| {
        if 0.0 >= value {
            Err(format!("{label} must be greater than 0.0"))
        } else {
            Ok(())
        }
    };
    greater_than_zero(cpus, "num_cpus")?;
    greater_than_zero(ram as f64, "ram_mb")?;
    greater_than_zero(disk as f64, "disk_mb")?;
    if gpus > 0 && !cfg.allow_gpu_resource {
        return Err("GPU resource support is disabled in this cluster.".to_string());
    }

    // §3 task 9: fetcher URIs and volumes.
    if t.mesos_fetcher_uris.as_ref().is_some_and(|u| !u.is_empty()) && !cfg.enable_mesos_fetcher {
        return Err("Mesos Fetcher for individual jobs is disabled in this cluster.".to_string());
    }
    if let Some(Container::Mesos(m)) = t.container.as_ref()
        && m.volumes.as_ref().is_some_and(|v| !v.is_empty())
        && !cfg.allow_container_volumes
    {
        return Err("This scheduler is configured to disallow container volumes.".to_string());
    }

    // §3 task 10: SLA policy (ConfigurationManager.validateSlaPolicy).
    if let Some(sla) = t.sla_policy.as_ref() {
        if !production && !cfg.sla_aware_kill_non_prod {
            return Err(format!("Tier '{tier_name}' does not support SlaPolicy."));
        }
        let coordinator = matches!(sla, SlaPolicy::CoordinatorSlaPolicy(_));
        if !coordinator && instance_count < cfg.min_required_instances_for_sla_check {
            return Err(format!(
                "Job with fewer than {} instances cannot have Percentage/Count SlaPolicy.",
                cfg.min_required_instances_for_sla_check
            ));
        }
        match sla {
            SlaPolicy::CountSlaPolicy(c) => {
                if let Some(count) = c.count
                    && i64::from(instance_count) - count < 1
                {
                    return Err(format!(
                        "Current CountSlaPolicy: count={count} will not allow any instances to be killed. Must be less than instanceCount={instance_count}."
                    ));
                }
                if let Some(d) = c.duration_secs
                    && d > cfg.max_sla_duration_secs
                {
                    return Err(format!(
                        "CountSlaPolicy: durationSecs={d} must be less than cluster-wide maximum of {} secs.",
                        cfg.max_sla_duration_secs
                    ));
                }
            }
            SlaPolicy::PercentageSlaPolicy(p) => {
                if let Some(pct) = p.percentage.map(|p| p.0) {
                    let n = f64::from(instance_count);
                    if n - n * (pct / 100.0) < 1.0 {
                        let max = if instance_count > 0 {
                            (n - 1.0) / n * 100.0
                        } else {
                            0.0
                        };
                        return Err(format!(
                            "Current PercentageSlaPolicy: percentage={pct:.6} will not allow any instances to be killed. Must be less than {max:.6}."
                        ));
                    }
                }
                if let Some(d) = p.duration_secs
                    && d > cfg.max_sla_duration_secs
                {
                    return Err(format!(
                        "PercentageSlaPolicy: durationSecs={d} must be less than cluster-wide maximum of {} secs.",
                        cfg.max_sla_duration_secs
                    ));
                }
            }
            SlaPolicy::CoordinatorSlaPolicy(_) => {}
        }
    }

    // §3 task 11: task links for ports `http` / `health` when none are given.
    if t.task_links.as_ref().is_none_or(BTreeMap::is_empty) {
        t.task_links = Some(aurora_thrift::task::default_task_links(&t));
    }
    // Stored the way `ITaskConfig.build` leaves it, so configs compare as the scheduler's
    // wrappers do (unset and empty collections are equal; see `shape`).
    crate::shape::task_config(&mut t);
    Ok(t)
}

/// Quota-relevant resources of one task: (cpus, ram MB, disk MB).
pub fn task_resources(t: &TaskConfig) -> (f64, i64, i64) {
    let mut out = (0.0, 0, 0);
    for r in t.resources.iter().flatten() {
        match r {
            Resource::NumCpus(v) => out.0 = v.0,
            Resource::RamMb(v) => out.1 = *v,
            Resource::DiskMb(v) => out.2 = *v,
            _ => {}
        }
    }
    out
}

/// Port names a task asks for, sorted.
pub use aurora_thrift::task::named_ports as port_names;
