//! `validate` against the scheduler emulator, as properties: random inputs go to both
//! `aurora_spec::load_sources` (the offline rules) and `aurora_sim` over real HTTP through the
//! production client (`populateJobConfig` for services and ad-hoc jobs, `scheduleCronJob` for
//! cron jobs), and any disagreement about accept/reject fails the test.
//!
//! The emulator stands in for Aurora 0.22's scheduler: where the two disagree, one of them
//! is wrong, and the fix goes to whichever side departs from Aurora's source.
//!
//! Rejections by this format's own rules (`aurora_spec::spec_rule`: an empty command line, a
//! duplicate port name, a fetch URI without host, …) say nothing about the scheduler and are
//! not compared; every `aurora_spec::scheduler_rule` rejection must be a scheduler rejection,
//! and every accepted spec must be accepted, both as the test builds it by hand and as
//! `convert` builds it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};

use aurora_api::{ApiError, Client, ClientConfig};
use aurora_sim::{Resources, Sim, SimConfig, SimHandle};
use aurora_spec::{Code, Format, LoadOptions, SourceFile};
use aurora_thrift::types::{
    Constraint, Container, CoordinatorSlaPolicy, CountSlaPolicy, CronCollisionPolicy,
    DockerContainer, ExecutorConfig, Identity, JobConfiguration, JobKey, LimitConstraint,
    MesosContainer, MesosFetcherURI, PercentageSlaPolicy, Resource, SlaPolicy, TaskConfig,
    TaskConstraint, ValueConstraint,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const ROLE: &str = "www-data";

fn start_sim() -> (SimHandle, Client) {
    let mut config = SimConfig::for_tests();
    // Cluster settings `validate` cannot know offline are set the permissive way: the
    // fetcher and Docker containers are enabled, and the role has quota for production tiers.
    config.enable_mesos_fetcher = true;
    config.allowed_container_types = ["MESOS".to_string(), "DOCKER".to_string()].into();
    config.quotas = BTreeMap::from([(
        ROLE.to_string(),
        Resources {
            cpus: 1e9,
            ram_mb: i64::MAX / 4,
            disk_mb: i64::MAX / 4,
        },
    )]);
    let sim = Sim::start(config).expect("emulator starts");
    let client = Client::new(ClientConfig::new(sim.url())).expect("client");
    (sim, client)
}

/// What the scheduler side said: `Ok` or the first detail of the rejection.
fn verdict(reply: Result<aurora_api::Reply<impl Sized>, ApiError>) -> Result<(), String> {
    match reply {
        Ok(_) => Ok(()),
        Err(ApiError::Scheduler(e)) => Err(format!("{:?}: {}", e.code, e.messages.join(", "))),
        Err(other) => panic!("transport trouble, not a verdict: {other}"),
    }
}

/// scheduleCronJob for cron jobs, createJob for the others (populateJobConfig would skip
/// the instance-count limit). Each case uses a fresh job name, so "already exists" never
/// answers.
fn send(client: &Client, config: &JobConfiguration) -> Result<(), String> {
    if config.cron_schedule.is_some() {
        verdict(client.schedule_cron_job(config))
    } else {
        verdict(client.create_job(config))
    }
}

/// The second look at an accepted case (`convert`'s config, same key): validation only.
fn recheck(client: &Client, config: &JobConfiguration) -> Result<(), String> {
    if config.cron_schedule.is_some() {
        verdict(client.schedule_cron_job(config))
    } else {
        verdict(client.populate_job_config(config))
    }
}

/// `validate`'s verdict: `Ok`, `Err(Some(scheduler-rule messages))`, or `Err(None)` when only
/// this format's own rules object.
fn validate(text: &str) -> (Result<(), Option<Vec<String>>>, Option<JobConfiguration>) {
    let file = SourceFile::new("t.json", text, Format::Json);
    match aurora_spec::load_sources(&[file], &LoadOptions::default()) {
        Ok(jobs) => (Ok(()), jobs.into_iter().next().map(|j| j.config)),
        Err(diags) => {
            let sched: Vec<String> = diags
                .iter()
                .filter(|d| d.code != Code::SpecRule)
                .map(|d| format!("{} ({}, {:?})", d.message, d.path, d.code))
                .collect();
            if sched.is_empty() {
                (Err(None), None)
            } else {
                (Err(Some(sched)), None)
            }
        }
    }
}

/// Compares the two verdicts on one case.
fn compare(
    client: &Client,
    text: &str,
    by_hand: &JobConfiguration,
    tally: &RefCell<[u32; 3]>,
) -> Result<(), TestCaseError> {
    let mut tally = tally.borrow_mut();
    let (spec, converted) = validate(text);
    let sim = send(client, by_hand);
    match (&spec, &sim) {
        (Ok(()), Ok(())) => {
            tally[0] += 1;
            if let Some(c) = converted {
                let again = recheck(client, &c);
                prop_assert!(
                    again.is_ok(),
                    "validate accepts and the emulator accepts the hand-built config, but rejects convert's: {again:?}\n{text}"
                );
            }
        }
        (Err(Some(ours)), Err(why)) => {
            tally[1] += 1;
            // The scheduler stops at its first rule; validate reports every rule, each
            // scheduler rule in the scheduler's words. So the scheduler's message is one of
            // ours, word for word, unless something other than a scheduler rule (a missing
            // or malformed field) also objected.
            let only_rules = ours.iter().all(|m| m.ends_with(", SchedulerRule)"));
            let theirs = why.split_once(": ").map_or(why.as_str(), |(_, m)| m);
            prop_assert!(
                !only_rules || ours.iter().any(|m| m.starts_with(&format!("{theirs} ("))),
                "the emulator says {theirs:?}; validate says {ours:?}\n{text}"
            );
        }
        (Err(None), _) => tally[2] += 1,
        (Ok(()), Err(why)) => {
            return Err(TestCaseError::fail(format!(
                "validate accepts what the emulator rejects ({why})\n{text}"
            )));
        }
        (Err(Some(why)), Ok(())) => {
            return Err(TestCaseError::fail(format!(
                "validate rejects what the emulator accepts ({why:?})\n{text}"
            )));
        }
    }
    Ok(())
}

static SEQ: AtomicU32 = AtomicU32::new(0);

fn fresh_name() -> String {
    format!("j{}", SEQ.fetch_add(1, Ordering::Relaxed))
}

// ------------------------------------------------------------------------------------- cron

/// Schedules near the grammar's edges: mostly valid components (so both verdicts occur
/// often), plus out-of-range numbers, `N/S`, names in any case, empty list items, junk, odd
/// whitespace and wrong field counts.
fn schedule() -> impl Strategy<Value = String> {
    fn component(lo: u32, hi: u32) -> BoxedStrategy<String> {
        prop_oneof![
            8 => Just("*".to_string()),
            4 => (lo..=hi).prop_map(|n| n.to_string()),
            3 => (lo..=hi, lo..=hi).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
            2 => (1..=hi + 2).prop_map(|s| format!("*/{s}")),
            2 => (lo..=hi, lo..=hi, 0..=hi).prop_map(|(a, b, s)| format!("{}-{}/{s}", a.min(b), a.max(b))),
            1 => (0u32..70, 0u32..70).prop_map(|(a, b)| format!("{a}-{b}")),
            1 => (0u32..70).prop_map(|n| n.to_string()),
            1 => (0u32..10, 1u32..10).prop_map(|(a, s)| format!("{a}/{s}")),
            1 => prop::sample::select(vec![
                "JAN", "mar", "Dec", "JAN-MAR", "jan-dec", "MON", "sun", "MON-FRI", "sat-sun",
                "FRI-MON", "\u{17f}un", "JUNE", "L", "?", "@daily", "", "*/0", "99999999999",
            ])
            .prop_map(str::to_string),
        ]
        .boxed()
    }
    let field =
        |lo: u32, hi: u32| prop::collection::vec(component(lo, hi), 1..3).prop_map(|c| c.join(","));
    let fields = (
        field(0, 59),
        field(0, 23),
        prop_oneof![3 => Just("*".to_string()), 1 => field(1, 31)],
        field(1, 12),
        prop_oneof![3 => Just("*".to_string()), 1 => field(0, 6)],
    )
        .prop_map(|(a, b, c, d, e)| vec![a, b, c, d, e]);
    let count = prop_oneof![20 => Just(5usize), 1 => Just(4), 1 => Just(6)];
    let sep = prop_oneof![8 => Just(" "), 1 => Just("  "), 1 => Just("\t")];
    (
        fields,
        count,
        prop::collection::vec(sep, 6),
        prop_oneof![30 => Just(""), 1 => Just(" ")],
    )
        .prop_map(|(mut fields, count, seps, edge)| {
            fields.resize(count, "*".to_string());
            let mut s = edge.to_string();
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    s.push_str(seps[i]);
                }
                s.push_str(f);
            }
            s
        })
}

fn cron_case(schedule: &str, name: &str) -> (String, JobConfiguration) {
    let text = serde_json::json!({
        "apiVersion": "aurora-apply/v1",
        "jobs": [{
            "key": format!("devcluster/{ROLE}/prod/{name}"),
            "kind": "cron",
            "cron": { "schedule": schedule },
            "resources": { "cpu": 1, "ram": "64MiB", "disk": "64MiB" },
            "task": { "processes": [{ "name": "a", "cmdline": "true" }] },
        }]
    })
    .to_string();
    let case = Case {
        kind: Kind::Cron(schedule.to_string(), CronCollisionPolicy::KILL_EXISTING),
        ..Case::plain(name)
    };
    (text, case.thrift())
}

#[test]
fn cron_schedules_get_the_same_verdict_from_validate_and_the_emulator() {
    let (_sim, client) = start_sim();
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let tally = RefCell::new([0u32; 3]);
    let result = runner.run(&schedule(), |s| {
        // The library verdict and the seam (validate → scheduleCronJob) must agree.
        let name = fresh_name();
        let (text, by_hand) = cron_case(&s, &name);
        let lib = aurora_spec::cron::check(&s).is_ok();
        let sim_ok = send(&client, &by_hand).is_ok();
        prop_assert_eq!(lib, sim_ok, "schedule {:?}", s);
        compare(&client, &text, &by_hand, &tally)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The generator must reach both sides of the rule.
    let tally = tally.into_inner();
    eprintln!("accepted by both / rejected by both / format rules only: {tally:?}");
    assert!(
        tally[0] > 20 && tally[1] > 20,
        "accepted/rejected/format-only: {tally:?}"
    );
}

#[test]
fn schedules_the_old_grammars_disagreed_on() {
    let (_sim, client) = start_sim();
    for (s, ok) in [
        ("0 0 1-31 * 1", true),
        ("5/10 * * * *", false),
        ("0 0 15 * 4", false),
        ("0 0 * * 7", false),
        (", * * * *", false),
        ("*/2147483647 * * * *", true),
    ] {
        let (text, by_hand) = cron_case(s, &fresh_name());
        assert_eq!(send(&client, &by_hand).is_ok(), ok, "emulator on {s:?}");
        assert_eq!(validate(&text).0.is_ok(), ok, "validate on {s:?}");
    }
}

// ------------------------------------------------------------------------------ whole specs

#[derive(Clone, Debug)]
enum Kind {
    Service,
    Adhoc,
    Cron(String, CronCollisionPolicy),
}

#[derive(Clone, Debug)]
enum Sla {
    Count(u64, u64),
    Percentage(f64, u64),
    Coordinator,
}

#[derive(Clone, Debug)]
struct Case {
    name: String,
    environment: &'static str,
    kind: Kind,
    instances: u32,
    tier: Option<&'static str>,
    cpu: f64,
    ram_mb: u64,
    disk_mb: u64,
    ports: Vec<&'static str>,
    fetch: Vec<&'static str>,
    cmdline: &'static str,
    sla: Option<Sla>,
    owner: Option<&'static str>,
    /// (name, values) or (name, limit).
    constraint: Option<(&'static str, Result<Vec<&'static str>, i32>)>,
    docker: bool,
}

impl Case {
    fn plain(name: &str) -> Case {
        Case {
            name: name.to_string(),
            environment: "prod",
            kind: Kind::Adhoc,
            instances: 1,
            tier: None,
            cpu: 1.0,
            ram_mb: 64,
            disk_mb: 64,
            ports: Vec::new(),
            fetch: Vec::new(),
            cmdline: "true",
            sla: None,
            owner: None,
            constraint: None,
            docker: false,
        }
    }

    fn key(&self) -> JobKey {
        JobKey {
            role: Some(ROLE.to_string()),
            environment: Some(self.environment.to_string()),
            name: Some(self.name.clone()),
        }
    }

    fn json(&self) -> String {
        let mut job = serde_json::json!({
            "key": format!("devcluster/{ROLE}/{}/{}", self.environment, self.name),
            "instances": self.instances,
            "resources": {
                "cpu": self.cpu,
                "ram": format!("{}MiB", self.ram_mb),
                "disk": format!("{}MiB", self.disk_mb),
            },
            "task": { "processes": [{ "name": "a", "cmdline": self.cmdline }] },
        });
        let obj = job.as_object_mut().expect("object");
        let kind = match &self.kind {
            Kind::Service => "service",
            Kind::Adhoc => "adhoc",
            Kind::Cron(s, p) => {
                let policy = match *p {
                    CronCollisionPolicy::CANCEL_NEW => "CANCEL_NEW",
                    CronCollisionPolicy::RUN_OVERLAP => "RUN_OVERLAP",
                    _ => "KILL_EXISTING",
                };
                obj.insert(
                    "cron".into(),
                    serde_json::json!({ "schedule": s, "collision_policy": policy }),
                );
                "cron"
            }
        };
        obj.insert("kind".into(), kind.into());
        if let Some(t) = self.tier {
            obj.insert("tier".into(), t.into());
        }
        if let Some(o) = self.owner {
            obj.insert("owner".into(), o.into());
        }
        if let Some((name, c)) = &self.constraint {
            let v = match c {
                Ok(values) => serde_json::json!({ "values": values }),
                Err(limit) => serde_json::json!({ "limit": limit }),
            };
            obj.insert("constraints".into(), serde_json::json!({ *name: v }));
        }
        if self.docker {
            obj.insert(
                "container".into(),
                serde_json::json!({ "docker": { "image": "busybox" } }),
            );
        }
        if !self.ports.is_empty() {
            obj.insert("ports".into(), self.ports.clone().into());
        }
        if !self.fetch.is_empty() {
            let uris: Vec<_> = self
                .fetch
                .iter()
                .map(|u| serde_json::json!({ "uri": u }))
                .collect();
            obj.insert("fetch".into(), uris.into());
        }
        if let Some(sla) = &self.sla {
            let v = match sla {
                Sla::Count(c, d) => {
                    serde_json::json!({ "count": { "count": c, "duration": format!("{d}s") } })
                }
                Sla::Percentage(p, d) => serde_json::json!({
                    "percentage": { "percentage": p, "duration": format!("{d}s") }
                }),
                Sla::Coordinator => {
                    serde_json::json!({ "coordinator": { "url": "http://coordinator" } })
                }
            };
            obj.insert("sla_policy".into(), v);
        }
        serde_json::json!({ "apiVersion": "aurora-apply/v1", "jobs": [job] }).to_string()
    }

    /// The JobConfiguration a client would send for this case, built without `convert` so
    /// that cases `validate` rejects reach the emulator too. The executor payload is opaque to
    /// the scheduler.
    fn thrift(&self) -> JobConfiguration {
        let mut resources = BTreeSet::from([
            Resource::NumCpus(self.cpu.into()),
            Resource::RamMb(i64::try_from(self.ram_mb).unwrap_or(i64::MAX)),
            Resource::DiskMb(i64::try_from(self.disk_mb).unwrap_or(i64::MAX)),
        ]);
        resources.extend(
            self.ports
                .iter()
                .map(|p| Resource::NamedPort(p.to_string())),
        );
        let fetch: BTreeSet<MesosFetcherURI> = self
            .fetch
            .iter()
            .map(|u| MesosFetcherURI {
                value: Some(u.to_string()),
                ..MesosFetcherURI::default()
            })
            .collect();
        let sla_policy = self.sla.as_ref().map(|s| match s {
            Sla::Count(c, d) => SlaPolicy::CountSlaPolicy(CountSlaPolicy {
                count: Some(i64::try_from(*c).unwrap_or(i64::MAX)),
                duration_secs: Some(i64::try_from(*d).unwrap_or(i64::MAX)),
            }),
            Sla::Percentage(p, d) => SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
                percentage: Some((*p).into()),
                duration_secs: Some(i64::try_from(*d).unwrap_or(i64::MAX)),
            }),
            Sla::Coordinator => SlaPolicy::CoordinatorSlaPolicy(CoordinatorSlaPolicy {
                coordinator_url: Some("http://coordinator".into()),
                status_key: Some("drain".into()),
            }),
        });
        let owner = Identity {
            user: Some(self.owner.unwrap_or(ROLE).to_string()),
        };
        let constraints: BTreeSet<Constraint> = self
            .constraint
            .iter()
            .map(|(name, c)| Constraint {
                name: Some(name.to_string()),
                constraint: Some(match c {
                    Ok(values) => TaskConstraint::Value(ValueConstraint {
                        negated: Some(false),
                        values: Some(values.iter().map(|v| v.to_string()).collect()),
                    }),
                    Err(limit) => TaskConstraint::Limit(LimitConstraint {
                        limit: Some(*limit),
                    }),
                }),
            })
            .collect();
        let container = if self.docker {
            Container::Docker(DockerContainer {
                image: Some("busybox".into()),
                parameters: None,
            })
        } else {
            Container::Mesos(MesosContainer::default())
        };
        let (cron_schedule, policy) = match &self.kind {
            Kind::Cron(s, p) => (Some(s.clone()), *p),
            _ => (None, CronCollisionPolicy::KILL_EXISTING),
        };
        JobConfiguration {
            cron_schedule,
            cron_collision_policy: Some(policy),
            task_config: Some(TaskConfig {
                is_service: Some(matches!(self.kind, Kind::Service)),
                priority: Some(0),
                max_task_failures: Some(1),
                owner: Some(owner.clone()),
                production: Some(false),
                constraints: Some(constraints),
                task_links: Some(BTreeMap::new()),
                executor_config: Some(ExecutorConfig {
                    name: Some("AuroraExecutor".into()),
                    data: Some("{}".into()),
                }),
                metadata: Some(BTreeSet::new()),
                job: Some(self.key()),
                container: Some(container),
                tier: self.tier.map(str::to_string),
                resources: Some(resources),
                mesos_fetcher_uris: (!fetch.is_empty()).then_some(fetch),
                sla_policy,
                ..TaskConfig::default()
            }),
            owner: Some(owner),
            instance_count: Some(i32::try_from(self.instances).unwrap_or(i32::MAX)),
            key: Some(self.key()),
        }
    }
}

fn case() -> impl Strategy<Value = Case> {
    // Each choice is weighted towards what the scheduler accepts, so that both verdicts occur.
    let kind = prop_oneof![
        3 => Just(Kind::Service),
        2 => Just(Kind::Adhoc),
        2 => (
            prop_oneof![
                4 => Just("*/5 * * * *"),
                2 => Just("0 0 1-31 * 1"),
                1 => Just("5/10 * * * *"),
                1 => Just("0 0 * * 7"),
            ],
            prop_oneof![
                4 => Just(CronCollisionPolicy::KILL_EXISTING),
                2 => Just(CronCollisionPolicy::CANCEL_NEW),
                1 => Just(CronCollisionPolicy::RUN_OVERLAP),
            ],
        )
            .prop_map(|(s, p)| Kind::Cron(s.to_string(), p)),
    ];
    let duration = prop_oneof![4 => Just(60u64), 2 => Just(7200), 1 => Just(7201)];
    let sla = prop_oneof![
        3 => Just(None),
        2 => (0u64..30, duration.clone()).prop_map(|(c, d)| Some(Sla::Count(c, d))),
        2 => (
            prop::sample::select(vec![0.0, 50.0, 94.9, 95.0, 99.0, 100.0, 150.0, -5.0]),
            duration,
        )
            .prop_map(|(p, d)| Some(Sla::Percentage(p, d))),
        1 => Just(Some(Sla::Coordinator)),
    ];
    let size = prop_oneof![8 => Just(64u64), 1 => Just(0)];
    (
        (
            prop_oneof![6 => Just("prod"), 2 => Just("devel"), 1 => Just("staging2"), 1 => Just("production")],
            kind,
            prop_oneof![1 => Just(0u32), 10 => 1u32..30, 1 => Just(4001u32)],
            prop_oneof![
                2 => Just(None),
                3 => Just(Some("preferred")),
                1 => Just(Some("preemptible")),
                1 => Just(Some("revocable")),
                1 => Just(Some("a b")),
            ],
            prop_oneof![8 => Just(1.0), 1 => Just(0.25), 1 => Just(0.0)],
        ),
        (
            size.clone(),
            size,
            prop::collection::vec(prop::sample::select(vec!["http", "health", "admin"]), 0..3),
            prop::collection::vec(
                prop::sample::select(vec!["http://h/x.tgz", "http://", "file:///x", "/opt/x"]),
                0..2,
            ),
            prop_oneof![8 => Just("true"), 1 => Just(""), 1 => Just(" ")],
            sla,
        ),
        (
            prop_oneof![
                6 => Just(None),
                2 => Just(Some(ROLE)),
                1 => Just(Some("a@b")),
                1 => Just(Some("")),
            ],
            prop_oneof![
                6 => Just(None),
                2 => Just(Some(("dedicated", Ok(vec!["www-data/db"])))),
                1 => Just(Some(("dedicated", Ok(vec!["*/db"])))),
                1 => Just(Some(("dedicated", Ok(vec!["other/db"])))),
                1 => Just(Some(("dedicated", Ok(vec!["www-data/a", "www-data/b"])))),
                1 => Just(Some(("dedicated", Err(1)))),
                1 => Just(Some(("host", Err(1)))),
                1 => Just(Some(("rack", Ok(vec!["a", "b"])))),
            ],
            prop_oneof![6 => Just(false), 1 => Just(true)],
        ),
    )
        .prop_map(
            |(
                (environment, kind, instances, tier, cpu),
                (ram_mb, disk_mb, ports, fetch, cmdline, sla),
                (owner, constraint, docker),
            )| {
                Case {
                    name: String::new(),
                    environment,
                    kind,
                    instances,
                    tier,
                    cpu,
                    ram_mb,
                    disk_mb,
                    ports,
                    fetch,
                    cmdline,
                    sla,
                    owner,
                    constraint,
                    docker,
                }
            },
        )
}

#[test]
fn random_specs_get_the_same_verdict_from_validate_and_the_emulator() {
    let (_sim, client) = start_sim();
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let tally = RefCell::new([0u32; 3]);
    let result = runner.run(&case(), |mut c| {
        c.name = fresh_name();
        compare(&client, &c.json(), &c.thrift(), &tally)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let tally = tally.into_inner();
    eprintln!("accepted by both / rejected by both / format rules only: {tally:?}");
    assert!(
        tally[0] > 10 && tally[1] > 10,
        "accepted/rejected/format-only: {tally:?}"
    );
}

#[test]
fn sla_on_the_default_tier_is_rejected_by_both() {
    let (_sim, client) = start_sim();
    let c = Case {
        instances: 25,
        sla: Some(Sla::Count(1, 60)),
        ..Case::plain(&fresh_name())
    };
    let (spec, _) = validate(&c.json());
    let Err(Some(messages)) = spec else {
        panic!("validate accepts: {spec:?}");
    };
    assert_eq!(
        messages,
        ["Tier 'preemptible' does not support SlaPolicy. (jobs[0].sla_policy, SchedulerRule)"]
    );
    let answer = send(&client, &c.thrift()).expect_err("emulator rejects");
    assert!(
        answer.ends_with(": Tier 'preemptible' does not support SlaPolicy."),
        "{answer}"
    );
    let preferred = Case {
        tier: Some("preferred"),
        name: fresh_name(),
        ..c
    };
    assert_eq!(validate(&preferred.json()).0, Ok(()));
    assert_eq!(send(&client, &preferred.thrift()), Ok(()));
}
