//! Validate-and-populate (reference aurora-api.md §3) through createJob, populateJobConfig,
//! getJobUpdateDiff and startJobUpdate.

use std::collections::BTreeSet;

use aurora_sim::{SimConfig, parse_custom_executors};
use aurora_thrift::types::{
    Constraint, Container, CountSlaPolicy, DockerContainer, DockerParameter, ExecutorConfig,
    Identity, JobKey, MesosContainer, MesosFetcherURI, Metadata, Mode, Resource, ResponseCode,
    SlaPolicy, TaskConfig, TaskConstraint, ValueConstraint, Volume,
};

use crate::common::*;

/// The seed's custom executor config (issue 3), as given.
pub const COMPOSE_EXECUTOR: &str = r#"[{"executor": {"command": {"value": "java -jar docker-compose-executor_0.1.0.jar", "shell": "true",
  "uris": [{"cache": false, "executable": true, "extract": false,
  "value": "https://github.com/mesos/docker-compose-executor/releases/download/0.1.0/docker-compose-executor_0.1.0.jar"}]},
  "name": "docker-compose-executor", "resources": []}, "task_prefix": "compose-"}]"#;

fn compose_task(k: &JobKey) -> TaskConfig {
    let mut t = task(k);
    t.executor_config = Some(ExecutorConfig {
        name: Some("docker-compose-executor".to_string()),
        data: Some("{}".to_string()),
    });
    t.metadata = Some(
        [Metadata {
            key: Some("fileName".to_string()),
            value: Some("sample-app/docker-compose.yml".to_string()),
        }]
        .into_iter()
        .collect(),
    );
    t.resources
        .get_or_insert_with(BTreeSet::new)
        .insert(Resource::NamedPort("port0".to_string()));
    t.mesos_fetcher_uris = Some(
        [MesosFetcherURI {
            value: Some("https://example.org/sample-app.tar.gz".to_string()),
            extract: Some(true),
            cache: Some(true),
            output_file: None,
        }]
        .into_iter()
        .collect(),
    );
    t
}

fn compose_config(fetcher: bool) -> SimConfig {
    SimConfig {
        custom_executors: parse_custom_executors(COMPOSE_EXECUTOR).expect("seed config loads"),
        enable_mesos_fetcher: fetcher,
        ..SimConfig::for_tests()
    }
}

#[test]
fn compose_executor_job_accepted_when_fetching_is_enabled() {
    let env = env_with(compose_config(true));
    let k = key("compose");
    env.client
        .create_job(&job_with(&k, 1, compose_task(&k)))
        .expect("accepted");
    assert_eq!(env.active(&k).len(), 1);
}

#[test]
fn compose_executor_job_rejected_when_fetching_is_disabled() {
    let env = env_with(compose_config(false));
    let k = key("compose");
    assert_rejected(
        env.client.create_job(&job_with(&k, 1, compose_task(&k))),
        ResponseCode::INVALID_REQUEST,
        "Mesos Fetcher for individual jobs is disabled in this cluster.",
    );
}

#[test]
fn unknown_executor_rejected() {
    let env = env_with(compose_config(true));
    let k = key("nope");
    let mut t = task(&k);
    t.executor_config = Some(ExecutorConfig {
        name: Some("no-such-executor".to_string()),
        data: Some("{}".to_string()),
    });
    assert_rejected(
        env.client.create_job(&job_with(&k, 1, t)),
        ResponseCode::INVALID_REQUEST,
        "Configuration for executor 'no-such-executor' doesn't exist.",
    );
}

#[test]
fn populate_fills_tier_production_links_and_container() {
    let env = env();
    let k = key("pop");
    let mut t = task(&k);
    t.container = None;
    t.production = Some(true);
    t.task_links = None;
    t.resources
        .get_or_insert_with(BTreeSet::new)
        .insert(Resource::NamedPort("http".to_string()));
    let populated = env
        .client
        .populate_job_config(&job_with(&k, 1, t))
        .expect("populate")
        .value
        .task_config
        .expect("task config");
    assert_eq!(populated.tier.as_deref(), Some("preemptible"));
    assert_eq!(populated.production, Some(false));
    // Through ITaskConfig.newBuilder: the unset volume list comes back empty.
    assert_eq!(
        populated.container,
        Some(Container::Mesos(MesosContainer {
            image: None,
            volumes: Some(Vec::new()),
        }))
    );
    let links = populated.task_links.expect("links");
    assert_eq!(
        links.get("http").map(String::as_str),
        Some("http://%host%:%port:http%")
    );
    // The preferred tier is production.
    let mut t = task(&k);
    t.tier = Some("preferred".to_string());
    let populated = env
        .client
        .populate_job_config(&job_with(&k, 1, t))
        .expect("populate")
        .value
        .task_config
        .expect("task config");
    assert_eq!(populated.production, Some(true));
}

#[test]
fn populate_reports_invalid_configuration() {
    let env = env();
    let k = key("pop");
    let mut t = task(&k);
    t.tier = Some("gold".to_string());
    assert_rejected(
        env.client.populate_job_config(&job_with(&k, 1, t)),
        ResponseCode::INVALID_REQUEST,
        "Invalid configuration: Invalid tier 'gold' in TaskConfig.",
    );
}

/// Every rule of §3 with the scheduler's message, in the order the scheduler checks them.
#[test]
fn validation_rules_and_messages() {
    let env = env();
    let k = key("v");
    type Mutate = Box<dyn Fn(&mut aurora_thrift::types::JobConfiguration)>;
    let cases: Vec<(Mutate, &str)> = vec![
        (
            Box::new(|j| j.task_config = None),
            "Job configuration must have taskConfig set.",
        ),
        (
            Box::new(|j| j.instance_count = Some(0)),
            "Instance count must be positive.",
        ),
        (
            Box::new(|j| {
                if let Some(k) = j.key.as_mut() {
                    k.name = Some("bad name".to_string());
                }
            }),
            "Job key IJobKey{role=www-data, environment=prod, name=bad name} is invalid.",
        ),
        (
            Box::new(|j| {
                if let Some(k) = j.key.as_mut() {
                    k.environment = Some("qa".to_string());
                }
            }),
            r"Job environment qa doesn't match: ^(prod|devel|test|staging\d*)$",
        ),
        (
            Box::new(|j| {
                j.owner = Some(Identity {
                    user: Some("me@corp".to_string()),
                })
            }),
            "Job user contains illegal characters: me@corp",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.tier = Some("gold".to_string());
                }
            }),
            "Invalid tier 'gold' in TaskConfig.",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.executor_config = None;
                }
            }),
            "Configuration may not be null.",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.executor_config = Some(ExecutorConfig {
                        name: None,
                        data: None,
                    });
                }
            }),
            "Executor name may not be left unset.",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.constraints = Some(
                        [Constraint {
                            name: Some("dedicated".to_string()),
                            constraint: Some(TaskConstraint::Value(ValueConstraint {
                                negated: Some(false),
                                values: Some(["other/web".to_string()].into_iter().collect()),
                            })),
                        }]
                        .into_iter()
                        .collect(),
                    );
                }
            }),
            "Only other may use hosts dedicated for that role.",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.container = Some(Container::Docker(DockerContainer {
                        image: Some("python:3".to_string()),
                        parameters: Some(vec![DockerParameter {
                            name: Some("env".to_string()),
                            value: Some("A=1".to_string()),
                        }]),
                    }));
                }
            }),
            "This scheduler is configured to disallow Docker parameters.",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.container = Some(Container::Docker(DockerContainer {
                        image: Some("python:3".to_string()),
                        parameters: None,
                    }));
                }
            }),
            "This scheduler is not configured to allow the container type DOCKER",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.resources
                        .get_or_insert_with(BTreeSet::new)
                        .insert(Resource::RamMb(256));
                }
            }),
            "Multiple resource values are not supported for RAM",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.resources = Some(
                        [Resource::RamMb(1), Resource::DiskMb(1)]
                            .into_iter()
                            .collect(),
                    );
                }
            }),
            "num_cpus must be greater than 0.0",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.resources = Some(
                        [Resource::NumCpus(1.0.into()), Resource::DiskMb(1)]
                            .into_iter()
                            .collect(),
                    );
                }
            }),
            "ram_mb must be greater than 0.0",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.resources = Some(
                        [Resource::NumCpus(1.0.into()), Resource::RamMb(1)]
                            .into_iter()
                            .collect(),
                    );
                }
            }),
            "disk_mb must be greater than 0.0",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.resources
                        .get_or_insert_with(BTreeSet::new)
                        .insert(Resource::NumGpus(1));
                }
            }),
            "GPU resource support is disabled in this cluster.",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.container = Some(Container::Mesos(MesosContainer {
                        image: None,
                        volumes: Some(vec![Volume {
                            container_path: Some("/data".to_string()),
                            host_path: Some("/srv".to_string()),
                            mode: Some(Mode::RO),
                        }]),
                    }));
                }
            }),
            "This scheduler is configured to disallow container volumes.",
        ),
        (
            Box::new(|j| {
                if let Some(t) = j.task_config.as_mut() {
                    t.sla_policy = Some(SlaPolicy::CountSlaPolicy(CountSlaPolicy {
                        count: Some(1),
                        duration_secs: Some(60),
                    }));
                }
            }),
            "Tier 'preemptible' does not support SlaPolicy.",
        ),
        (
            Box::new(|j| j.cron_schedule = Some("* * * * *".to_string())),
            "A service task may not be run on a cron schedule: JobConfiguration(key:JobKey(role:www-data, environment:prod, name:v), cronSchedule:* * * * *, instanceCount:1, …)",
        ),
    ];
    for (mutate, message) in cases {
        let mut j = job(&k, 1);
        mutate(&mut j);
        assert_rejected(
            env.client.create_job(&j),
            ResponseCode::INVALID_REQUEST,
            message,
        );
    }
    assert!(env.active(&k).is_empty(), "nothing was created");
}

#[test]
fn docker_parameters_defaults_and_sla_checks_follow_the_flags() {
    let cfg = SimConfig {
        allowed_container_types: ["MESOS".to_string(), "DOCKER".to_string()]
            .into_iter()
            .collect(),
        default_docker_parameters: vec![("net".to_string(), "host".to_string())],
        ..SimConfig::for_tests()
    };
    let env = env_with(cfg);
    let k = key("docker");
    let mut t = task(&k);
    t.container = Some(Container::Docker(DockerContainer {
        image: Some("python:3".to_string()),
        parameters: Some(vec![]),
    }));
    let populated = env
        .client
        .populate_job_config(&job_with(&k, 1, t.clone()))
        .expect("populate")
        .value
        .task_config
        .expect("task");
    match populated.container {
        Some(Container::Docker(d)) => assert_eq!(
            d.parameters,
            Some(vec![DockerParameter {
                name: Some("net".to_string()),
                value: Some("host".to_string()),
            }])
        ),
        other => panic!("unexpected container {other:?}"),
    }
    // require_docker_use_executor (default true).
    t.executor_config = None;
    assert_rejected(
        env.client.create_job(&job_with(&k, 1, t)),
        ResponseCode::INVALID_REQUEST,
        "This scheduler is configured to require an executor for Docker-based tasks.",
    );
    // Count SLA policy on a production tier needs 20 instances.
    let mut t = task(&k);
    t.tier = Some("preferred".to_string());
    t.sla_policy = Some(SlaPolicy::CountSlaPolicy(CountSlaPolicy {
        count: Some(1),
        duration_secs: Some(60),
    }));
    assert_rejected(
        env.client.populate_job_config(&job_with(&k, 2, t)),
        ResponseCode::INVALID_REQUEST,
        "Invalid configuration: Job with fewer than 20 instances cannot have Percentage/Count SlaPolicy.",
    );
}

#[test]
fn update_paths_validate_too() {
    let env = env();
    let k = key("upd");
    let mut t = task(&k);
    t.tier = Some("gold".to_string());
    assert_rejected(
        env.client
            .get_job_update_diff(&request(t.clone(), 1, settings(1, 0))),
        ResponseCode::INVALID_REQUEST,
        "Invalid tier 'gold' in TaskConfig.",
    );
    assert_rejected(
        env.client
            .start_job_update(&request(t, 1, settings(1, 0)), None),
        ResponseCode::INVALID_REQUEST,
        "Invalid tier 'gold' in TaskConfig.",
    );
}

#[test]
fn sla_policy_and_resource_rules_with_the_schedulers_messages() {
    use aurora_thrift::types::{CoordinatorSlaPolicy, PercentageSlaPolicy};
    let env = env();
    let k = key("sla");
    let prod = |sla: SlaPolicy| {
        let mut t = task(&k);
        t.tier = Some("preferred".to_string());
        t.sla_policy = Some(sla);
        t
    };
    let count = |c: i64, d: i64| {
        SlaPolicy::CountSlaPolicy(CountSlaPolicy {
            count: Some(c),
            duration_secs: Some(d),
        })
    };
    let cases: Vec<(TaskConfig, i32, &str)> = vec![
        (
            prod(count(25, 60)),
            25,
            "Current CountSlaPolicy: count=25 will not allow any instances to be killed. Must be less than instanceCount=25.",
        ),
        (
            prod(count(1, 10_000)),
            25,
            "CountSlaPolicy: durationSecs=10000 must be less than cluster-wide maximum of 7200 secs.",
        ),
        (
            prod(SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
                percentage: Some(100.0.into()),
                duration_secs: Some(60),
            })),
            20,
            "Current PercentageSlaPolicy: percentage=100.000000 will not allow any instances to be killed. Must be less than 95.000000.",
        ),
        (
            {
                let mut t = task(&k);
                t.resources
                    .get_or_insert_with(BTreeSet::new)
                    .extend([Resource::NumCpus(2.0.into()), Resource::RamMb(64)]);
                t
            },
            1,
            "Multiple resource values are not supported for CPU, RAM",
        ),
    ];
    for (t, n, message) in cases {
        assert_rejected(
            env.client.populate_job_config(&job_with(&k, n, t)),
            ResponseCode::INVALID_REQUEST,
            &format!("Invalid configuration: {message}"),
        );
    }
    // Coordinator policies are exempt from the instance and duration checks.
    let coordinator = prod(SlaPolicy::CoordinatorSlaPolicy(CoordinatorSlaPolicy {
        coordinator_url: Some("http://coordinator".to_string()),
        status_key: Some("drain".to_string()),
    }));
    env.client
        .populate_job_config(&job_with(&k, 1, coordinator))
        .expect("coordinator policy accepted");
}

/// Aurora's resource check is `min >= value` with min 0.0 (ConfigurationManager.GreaterThan,
/// rel/0.22.0), so a NaN or infinite cpu count passes it, and zero or negative ones do not.
#[test]
fn cpu_counts_are_checked_as_javas_greater_than_checks_them() {
    let env = env();
    let with_cpu = |name: &str, cpus: f64| {
        let k = key(name);
        let mut t = task(&k);
        let mut resources: BTreeSet<Resource> = t
            .resources
            .take()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| !matches!(r, Resource::NumCpus(_)))
            .collect();
        resources.insert(Resource::NumCpus(cpus.into()));
        t.resources = Some(resources);
        job_with(&k, 1, t)
    };
    for (name, cpus) in [("inf", f64::INFINITY), ("nan", f64::NAN)] {
        env.client
            .create_job(&with_cpu(name, cpus))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, cpus) in [
        ("zero", 0.0),
        ("negative", -1.0),
        ("minus-inf", f64::NEG_INFINITY),
    ] {
        assert_rejected(
            env.client.create_job(&with_cpu(name, cpus)),
            ResponseCode::INVALID_REQUEST,
            "num_cpus must be greater than 0.0",
        );
    }
}
