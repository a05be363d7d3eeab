//! Helpers: an emulator on an ephemeral port with a manual clock, the real `aurora-api`
//! client pointed at it, and builders for the configs the tests send.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aurora_api::client::{Client, ClientConfig, StartJobUpdateOutcome};
use aurora_api::error::{ApiError, SchedulerError};
use aurora_api::retry::RetryPolicy;
use aurora_sim::{Sim, SimConfig, SimHandle};
use aurora_thrift::types::{
    Container, ExecutorConfig, Identity, JobConfiguration, JobKey, JobUpdateKey, JobUpdateQuery,
    JobUpdateRequest, JobUpdateSettings, JobUpdateStatus, JobUpdateStrategy, MesosContainer,
    Metadata, QueueJobUpdateStrategy, Resource, ScheduleStatus, ScheduledTask, TaskConfig,
    TaskQuery,
};

/// An emulator plus a client talking to it over HTTP.
pub struct Env {
    pub sim: SimHandle,
    pub client: Client,
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        deadline: Duration::from_secs(20),
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        multiplier: 2.0,
        jitter: 0.0,
    }
}

pub fn client_for(url: &str) -> Client {
    let mut cfg = ClientConfig::new(url);
    cfg.ambient_credentials = false;
    cfg.retry = fast_retry();
    Client::new(cfg).expect("client")
}

pub fn env_with(cfg: SimConfig) -> Env {
    let sim = Sim::start(cfg).expect("emulator starts");
    let client = client_for(&sim.url());
    Env { sim, client }
}

pub fn env() -> Env {
    env_with(SimConfig::for_tests())
}

impl Env {
    pub fn advance_secs(&self, s: u64) {
        self.sim.advance(Duration::from_secs(s));
    }

    pub fn tasks(&self, key: &JobKey) -> Vec<ScheduledTask> {
        let q = TaskQuery {
            job_keys: Some([key.clone()].into_iter().collect()),
            ..TaskQuery::default()
        };
        self.client
            .get_tasks_status(&q)
            .expect("getTasksStatus")
            .value
            .tasks
            .unwrap_or_default()
    }

    /// Active instance → status.
    pub fn active(&self, key: &JobKey) -> BTreeMap<i32, ScheduleStatus> {
        self.tasks(key)
            .into_iter()
            .filter(|t| {
                aurora_thrift::types::ConstACTIVESTATES::const_value()
                    .contains(&t.status.unwrap_or(ScheduleStatus::INIT))
            })
            .map(|t| {
                (
                    t.assigned_task.and_then(|a| a.instance_id).unwrap_or(-1),
                    t.status.unwrap_or(ScheduleStatus::INIT),
                )
            })
            .collect()
    }

    /// Exactly `n` active tasks, all in `status` — never true of an empty job by accident
    /// (`all` over nothing is true).
    pub fn all_active(&self, key: &JobKey, n: usize, status: ScheduleStatus) -> bool {
        let a = self.active(key);
        a.len() == n && a.values().all(|s| *s == status)
    }

    pub fn update_status(&self, key: &JobUpdateKey) -> JobUpdateStatus {
        let q = JobUpdateQuery {
            key: Some(key.clone()),
            ..JobUpdateQuery::default()
        };
        self.client
            .get_job_update_summaries(&q)
            .expect("summaries")
            .value
            .update_summaries
            .unwrap_or_default()
            .first()
            .and_then(|s| s.state.as_ref())
            .and_then(|s| s.status)
            .expect("status")
    }

    /// Steps simulated time (1 s at a time) until `done` or `max_secs` pass.
    pub fn step_until(&self, max_secs: u64, mut done: impl FnMut(&Env) -> bool) -> bool {
        for _ in 0..max_secs {
            if done(self) {
                return true;
            }
            self.advance_secs(1);
        }
        done(self)
    }

    pub fn start_update(&self, req: &JobUpdateRequest) -> JobUpdateKey {
        match self
            .client
            .start_job_update(req, Some("test"))
            .expect("startJobUpdate")
            .value
        {
            StartJobUpdateOutcome::Started(r) => r.key.expect("key"),
            StartJobUpdateOutcome::NoChange => panic!("unexpected no-op update"),
        }
    }
}

pub fn key(name: &str) -> JobKey {
    JobKey {
        role: Some("www-data".to_string()),
        environment: Some("prod".to_string()),
        name: Some(name.to_string()),
    }
}

/// A Thermos hello-world service task as Aurora's client sends it (no tier; the emulator
/// fills in the default tier).
pub fn task(k: &JobKey) -> TaskConfig {
    let resources: BTreeSet<Resource> = [
        Resource::NumCpus(1.0.into()),
        Resource::RamMb(128),
        Resource::DiskMb(128),
    ]
    .into_iter()
    .collect();
    TaskConfig {
        is_service: Some(true),
        priority: Some(0),
        max_task_failures: Some(1),
        owner: Some(Identity {
            user: Some("root".to_string()),
        }),
        production: Some(false),
        constraints: Some(BTreeSet::new()),
        task_links: Some(BTreeMap::new()),
        contact_email: None,
        executor_config: Some(ExecutorConfig {
            name: Some("AuroraExecutor".to_string()),
            data: Some(r#"{"task": {"name": "hello"}}"#.to_string()),
        }),
        metadata: Some(BTreeSet::new()),
        job: Some(k.clone()),
        container: Some(Container::Mesos(MesosContainer::default())),
        tier: None,
        resources: Some(resources),
        mesos_fetcher_uris: None,
        partition_policy: None,
        sla_policy: None,
    }
}

pub fn with_metadata(mut t: TaskConfig, k: &str, v: &str) -> TaskConfig {
    t.metadata
        .get_or_insert_with(BTreeSet::new)
        .insert(Metadata {
            key: Some(k.to_string()),
            value: Some(v.to_string()),
        });
    t
}

pub fn job(k: &JobKey, instances: i32) -> JobConfiguration {
    JobConfiguration {
        cron_schedule: None,
        cron_collision_policy: Some(aurora_thrift::types::CronCollisionPolicy::KILL_EXISTING),
        task_config: Some(task(k)),
        owner: Some(Identity {
            user: Some("root".to_string()),
        }),
        instance_count: Some(instances),
        key: Some(k.clone()),
    }
}

pub fn job_with(k: &JobKey, instances: i32, t: TaskConfig) -> JobConfiguration {
    JobConfiguration {
        task_config: Some(t),
        ..job(k, instances)
    }
}

pub fn settings(group: i32, min_wait_ms: i32) -> JobUpdateSettings {
    JobUpdateSettings {
        update_group_size: Some(group),
        max_per_instance_failures: Some(0),
        max_failed_instances: Some(0),
        min_wait_in_instance_running_ms: Some(min_wait_ms),
        rollback_on_failure: Some(true),
        update_only_these_instances: None,
        wait_for_batch_completion: Some(false),
        block_if_no_pulses_after_ms: None,
        sla_aware: Some(false),
        update_strategy: Some(JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy {
            group_size: Some(group),
        })),
    }
}

pub fn request(t: TaskConfig, count: i32, s: JobUpdateSettings) -> JobUpdateRequest {
    JobUpdateRequest {
        task_config: Some(t),
        instance_count: Some(count),
        settings: Some(s),
        metadata: Some(
            [Metadata {
                key: Some("org.apache.aurora.client.update_id".to_string()),
                value: Some("11111111-2222-3333-4444-555555555555".to_string()),
            }]
            .into_iter()
            .collect(),
        ),
    }
}

/// The scheduler error inside an `ApiError`, or a panic naming what came instead.
pub fn sched_err(e: ApiError) -> SchedulerError {
    match e {
        ApiError::Scheduler(s) => *s,
        other => panic!("expected a scheduler error, got {other:?}"),
    }
}

/// Asserts a non-OK answer with this code and first message.
#[track_caller]
pub fn assert_rejected<T: std::fmt::Debug>(
    r: Result<T, ApiError>,
    code: aurora_thrift::types::ResponseCode,
    message: &str,
) -> SchedulerError {
    let e = sched_err(r.expect_err("expected a rejection"));
    assert_eq!(e.code, code, "messages: {:?}", e.messages);
    assert_eq!(e.messages.first().map(String::as_str), Some(message));
    e
}

/// Creates a job and lets it reach RUNNING.
pub fn running_job(env: &Env, k: &JobKey, instances: i32) {
    env.client
        .create_job(&job(k, instances))
        .expect("createJob");
    assert!(env.step_until(30, |e| {
        let a = e.active(k);
        a.len() == usize::try_from(instances).unwrap_or(0)
            && a.values().all(|s| *s == ScheduleStatus::RUNNING)
    }));
}
