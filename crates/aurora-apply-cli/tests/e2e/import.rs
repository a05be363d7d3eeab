//! `import`: live jobs into spec files, with the promise that `plan` on what it wrote is a
//! no-op, for jobs made by Aurora's own client (its request bytes), by aurora-apply (the
//! seed), and by a plain Thrift client with random configurations; then `apply --adopt`.

use std::path::Path;

use crate::adoption::post_recorded;
use crate::harness::{World, code, expect_code, stderr, stdout};

/// `import SELECTOR… --out DIR` in the world; returns the output.
fn import(w: &World, selectors: &[&str], out: &str) -> std::process::Output {
    let mut args = vec!["import"];
    args.extend_from_slice(selectors);
    args.extend_from_slice(&["--out", out]);
    w.run(&args)
}

/// `plan DIR --detailed-exitcode` must exit 0 (no changes).
fn expect_noop_plan(w: &World, dir: &str) {
    let out = w.run(&["plan", dir, "--detailed-exitcode"]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("No changes."), "{}", stdout(&out));
}

fn read(w: &World, rel: &str) -> String {
    std::fs::read_to_string(w.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Each job of Aurora's fixtures, created with the exact bytes Aurora's client sends, imports
/// to specs that plan as no-ops; hello_world reads like the hand-written fixture spec.
#[test]
fn jobs_created_by_aurora_client_import_to_no_op_specs() {
    for (request, key) in [
        (
            "hello_world.createJob.request.bin",
            "devcluster/www-data/prod/hello",
        ),
        (
            "hello_docker_image.createJob.request.bin",
            "devcluster/www-data/devel/hello_docker_image",
        ),
        (
            "cron_hello_world.scheduleCronJob.request.bin",
            "devcluster/www-data/test/cron_hello_world",
        ),
    ] {
        let w = World::seed();
        let status = post_recorded(&w, request);
        assert!(status.contains(" 200 "), "{request}: {status}");
        let out = import(&w, &[key], "imported");
        expect_code(&out, 0);
        assert!(
            stdout(&out).contains(&format!("{key}: declarative task")),
            "{request}: {}",
            stdout(&out)
        );
        let text = read(&w, "imported/www-data.aurora-apply.yaml");
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{text}"
        );
        assert!(!text.contains("executor"), "{request}: {text}");
        assert!(!text.contains("owner"), "{request}: {text}");
        expect_noop_plan(&w, "imported");
        if request.starts_with("hello_world") {
            // As tests/fixture-specs/hello_world.aurora-apply.yaml says it: nothing at its default.
            let body: String = text.lines().skip(1).collect::<Vec<_>>().join("\n");
            assert!(
                body.starts_with("apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/prod/hello\n    kind: service\n    resources:\n      cpu: 1\n      ram: 128MiB\n      disk: 128MiB\n    task:\n      sequential: true\n      processes:\n        - name: hello\n          cmdline: "),
                "{text}"
            );
            assert_eq!(
                body.matches(':').count(),
                13,
                "nothing else is said: {text}"
            );
        }
        if request.starts_with("cron") {
            assert!(text.contains("kind: cron"), "{text}");
            assert!(text.contains("schedule:"), "{text}");
        }
    }
}

/// The Docker fixture, on a scheduler that allows Docker containers and parameters.
#[test]
fn a_docker_job_created_by_aurora_client_imports_to_a_no_op_spec() {
    let w = World::seed_with(|config| {
        config.allowed_container_types = ["MESOS", "DOCKER"].map(String::from).into();
        config.allow_docker_parameters = true;
    });
    let status = post_recorded(&w, "docker_app.createJob.request.bin");
    assert!(status.contains(" 200 "), "{status}");
    let out = import(&w, &["devcluster/www-data"], "imported");
    expect_code(&out, 0);
    let text = read(&w, "imported/www-data.aurora-apply.yaml");
    assert!(text.contains("docker:"), "{text}");
    assert!(text.contains("image: python:3.11-slim"), "{text}");
    expect_noop_plan(&w, "imported");
}

/// Every job the seed scenario creates (a custom executor, a cron job, a verbatim Thermos
/// payload, …) imports to specs that plan as no-ops, one file per role.
#[test]
fn the_seed_scenarios_jobs_import_to_no_op_specs() {
    // The ad-hoc compose job keeps running (getJobs lists active tasks only).
    let w = World::seed_with(|config| config.timings.adhoc_run_ms = 1_000_000_000);
    expect_code(&w.run(&["specs/", "--auto-approve"]), 0);
    let out = import(
        &w,
        &["devcluster/www-data", "devcluster/vagrant"],
        "imported",
    );
    expect_code(&out, 0);
    let report = stdout(&out);
    for key in [
        "devcluster/www-data/prod/hello",
        "devcluster/www-data/prod/web",
        "devcluster/www-data/prod/nightly-report",
        "devcluster/www-data/prod/hello_payload",
        "devcluster/vagrant/prod/docker-compose",
    ] {
        assert!(report.contains(key), "{key}: {report}");
    }
    assert!(
        report.contains("devcluster/vagrant/prod/docker-compose: custom executor"),
        "{report}"
    );
    assert!(
        report.contains("devcluster/www-data/prod/web: declarative task"),
        "{report}"
    );
    let www = read(&w, "imported/www-data.aurora-apply.yaml");
    let vagrant = read(&w, "imported/vagrant.aurora-apply.yaml");
    assert!(
        vagrant.contains("name: docker-compose-executor"),
        "{vagrant}"
    );
    assert!(www.contains("kind: cron"), "{www}");
    // As specs/compose.aurora-apply.yaml says it: anonymous ports as a count, fetch URIs, metadata.
    for line in [
        "ports: 1\n",
        "fileName: sample-app/docker-compose.yml",
        "extract: true",
        "data: \"{}\"",
    ] {
        assert!(vagrant.contains(line), "{line}: {vagrant}");
    }
    // Jobs sorted by key in the role's file.
    let at = |k: &str| www.find(k).unwrap_or_else(|| panic!("{k}: {www}"));
    assert!(
        at("prod/hello\n") < at("prod/hello_payload") && at("prod/nightly-report") < at("prod/web")
    );
    // Aurora-apply's own marker is not part of a spec.
    assert!(!www.contains("aurora-apply.managed"), "{www}");
    expect_noop_plan(&w, "imported");
}

/// After import, `apply --adopt` adds the ownership marker (a rolling restart the plan names);
/// then the imported specs plan as no-ops again.
#[test]
fn adopting_imported_jobs_takes_ownership_then_plans_as_a_no_op() {
    let w = World::seed();
    let status = post_recorded(&w, "hello_world.createJob.request.bin");
    assert!(status.contains(" 200 "), "{status}");
    expect_code(&import(&w, &["devcluster/www-data"], "imported"), 0);
    expect_noop_plan(&w, "imported");
    let out = w.run(&["plan", "imported", "--adopt", "-o", "json"]);
    expect_code(&out, 0);
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("plan json");
    let change = &plan["changes"][0];
    assert_eq!(change["adopt"], true, "{plan}");
    assert_eq!(change["ownership"], "unowned", "{plan}");
    let text = w.run(&["plan", "imported", "--adopt"]);
    for words in [
        "--adopt adds the marker",
        "metadata.aurora-apply.managed",
        "restart",
    ] {
        assert!(stdout(&text).contains(words), "{words}: {}", stdout(&text));
    }
    let out = w.run(&["apply", "imported", "--adopt", "--auto-approve"]);
    expect_code(&out, 0);
    expect_noop_plan(&w, "imported");
    let out = w.run(&["plan", "imported", "-o", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("plan json");
    assert_eq!(plan["changes"][0]["ownership"], "owned", "{plan}");
}

/// Refusals: an existing output file (exit 3, nothing written), a selector that is not
/// cluster/role[…] (exit 3).
#[test]
fn import_never_overwrites_and_refuses_bad_selectors() {
    let w = World::seed();
    let status = post_recorded(&w, "hello_world.createJob.request.bin");
    assert!(status.contains(" 200 "), "{status}");
    std::fs::create_dir_all(w.path("imported")).expect("mkdir");
    w.write("imported/www-data.aurora-apply.yaml", "# mine\n");
    let out = import(&w, &["devcluster/www-data"], "imported");
    expect_code(&out, 3);
    assert!(
        stderr(&out).contains("www-data.aurora-apply.yaml"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("nothing was written"),
        "{}",
        stderr(&out)
    );
    assert_eq!(read(&w, "imported/www-data.aurora-apply.yaml"), "# mine\n");
    assert_eq!(
        std::fs::read_dir(w.path("imported")).expect("dir").count(),
        1
    );

    for bad in ["devcluster", "devcluster//prod", "a/b/c/d/e"] {
        let out = import(&w, &[bad], "elsewhere");
        assert_eq!(code(&out), 3, "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cluster/role[/environment[/name]]"),
            "{bad}: {}",
            stderr(&out)
        );
        assert!(!Path::new(&w.path("elsewhere")).exists());
    }
}

/// `--split jobs` writes one file per job.
#[test]
fn split_jobs_writes_one_file_per_job() {
    let w = World::seed();
    expect_code(
        &w.run(&[
            "specs/hello.aurora-apply.yaml",
            "specs/cron.aurora-apply.yaml",
            "--auto-approve",
        ]),
        0,
    );
    let out = w.run(&[
        "import",
        "devcluster/www-data/prod",
        "--out",
        "one",
        "--split",
        "jobs",
        "--format",
        "toml",
    ]);
    expect_code(&out, 0);
    assert!(
        w.path("one/www-data.prod.hello.aurora-apply.toml")
            .is_file(),
        "{}",
        stdout(&out)
    );
    assert!(
        w.path("one/www-data.prod.nightly-report.aurora-apply.toml")
            .is_file()
    );
    expect_noop_plan(&w, "one");
}

mod random_jobs {
    //! The promise as a property: jobs created in the emulator by a plain Thrift client, with
    //! random configurations, import to specs that plan as no-ops.

    use std::cell::Cell;

    use aurora_api::types::{
        Identity, JobConfiguration, JobUpdateQuery, JobUpdateRequest, JobUpdateStatus, Resource,
    };
    use aurora_api::{Client, ClientConfig};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

    use crate::harness::{World, code, stderr, stdout};

    /// One random job: the spec text its config is rendered from, and what the plain client
    /// does besides.
    #[derive(Clone, Debug)]
    struct Case {
        kind: &'static str,
        environment: &'static str,
        instances: u32,
        cpu: f64,
        ram: u32,
        disk: u32,
        tier: Option<&'static str>,
        processes: Vec<(String, bool)>,
        sequential: bool,
        ports: Vec<&'static str>,
        limit: Option<i32>,
        rack: Option<(Vec<&'static str>, bool)>,
        metadata: Vec<(&'static str, String)>,
        custom_data: Option<usize>,
        odd_payload: bool,
        no_tier_sent: bool,
        cron: (&'static str, bool),
        update: Option<(u8, u32, u32, bool)>,
        health: bool,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            (
                prop::sample::select(vec!["service", "adhoc", "cron"]),
                prop::sample::select(vec!["prod", "devel", "test", "staging2"]),
                1u32..4,
                prop::sample::select(vec![0.1, 0.25, 0.5, 1.0, 1.5]),
                16u32..512,
                16u32..1024,
                prop::option::of(prop::sample::select(vec!["preemptible", "preferred"])),
            ),
            (
                prop::collection::vec(("[a-z]{1,8}", any::<bool>()), 1..4),
                any::<bool>(),
                prop::sample::subsequence(vec!["http", "admin", "health"], 0..3),
                prop::option::of(1i32..3),
                prop::option::of((
                    prop::sample::subsequence(vec!["r1", "r2", "r3"], 1..3),
                    any::<bool>(),
                )),
                prop::collection::vec(
                    (
                        prop::sample::select(vec!["team", "tier-x", "owner.email"]),
                        "[a-z0-9 ]{0,12}",
                    ),
                    0..3,
                ),
            ),
            (
                prop::option::weighted(0.25, prop::sample::select(vec![2usize, 5000])),
                prop::bool::weighted(0.2),
                any::<bool>(),
                (
                    prop::sample::select(vec!["*/5 * * * *", "0 3 * * MON-FRI"]),
                    any::<bool>(),
                ),
                prop::option::of((0u8..3, 1u32..4, 0u32..3, any::<bool>())),
                any::<bool>(),
            ),
        )
            .prop_map(
                |(
                    (kind, environment, instances, cpu, ram, disk, tier),
                    (processes, sequential, ports, limit, rack, metadata),
                    (custom_data, odd_payload, no_tier_sent, cron, update, health),
                )| {
                    let mut seen = std::collections::BTreeSet::new();
                    let processes: Vec<(String, bool)> = processes
                        .into_iter()
                        .filter(|(n, _)| seen.insert(n.clone()))
                        .collect();
                    let mut md_seen = std::collections::BTreeSet::new();
                    let metadata = metadata
                        .into_iter()
                        .filter(|(k, _)| md_seen.insert(*k))
                        .collect();
                    Case {
                        kind,
                        environment,
                        instances,
                        cpu,
                        ram,
                        disk,
                        tier,
                        processes,
                        sequential,
                        ports,
                        limit,
                        rack,
                        metadata,
                        custom_data,
                        odd_payload,
                        no_tier_sent,
                        cron,
                        update,
                        health,
                    }
                },
            )
    }

    /// The spec the case's config is rendered from (aurora-spec renders the payload).
    fn spec_text(c: &Case, name: &str) -> String {
        let mut s = format!(
            "apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/{}/{name}\n    kind: {}\n    instances: {}\n    resources: {{ cpu: {}, ram: {}MiB, disk: {}MiB }}\n",
            c.environment, c.kind, c.instances, c.cpu, c.ram, c.disk
        );
        if let Some(t) = c.tier {
            s += &format!("    tier: {t}\n");
        }
        if c.kind == "cron" {
            s += &format!(
                "    cron: {{ schedule: \"{}\", collision_policy: {} }}\n",
                c.cron.0,
                if c.cron.1 {
                    "CANCEL_NEW"
                } else {
                    "KILL_EXISTING"
                }
            );
        }
        if c.limit.is_some() || c.rack.is_some() {
            s += "    constraints:\n";
            if let Some(l) = c.limit {
                s += &format!("      host: {{ limit: {l} }}\n");
            }
            if let Some((values, negated)) = &c.rack {
                s += &format!(
                    "      rack: {{ values: [{}], negated: {negated} }}\n",
                    values.join(", ")
                );
            }
        }
        if !c.metadata.is_empty() {
            s += "    metadata:\n";
            for (k, v) in &c.metadata {
                s += &format!("      {k}: \"{v}\"\n");
            }
        }
        if !c.ports.is_empty() {
            s += &format!("    ports: [{}]\n", c.ports.join(", "));
        }
        match c.custom_data {
            Some(n) => {
                let data = format!("{{\"blob\": \"{}\"}}", "x".repeat(n));
                s +=
                    &format!("    executor: {{ name: docker-compose-executor, data: '{data}' }}\n");
            }
            None => {
                if c.health && c.kind == "service" && c.ports.contains(&"health") {
                    s += "    health_check: { interval: 20s, timeout: 2s }\n";
                }
                s += "    task:\n";
                if c.sequential {
                    s += "      sequential: true\n";
                }
                s += "      processes:\n";
                for (n, daemon) in &c.processes {
                    s += &format!(
                        "        - {{ name: {n}, cmdline: \"echo {n} {{{{thermos.ports[http]}}}}; sleep 600\", daemon: {daemon} }}\n"
                    );
                }
            }
        }
        if let Some((strategy, size, failures, rollback)) = c.update.filter(|_| c.kind != "cron") {
            let strategy = match strategy {
                0 => format!("{{ queue: {{ size: {size} }} }}"),
                1 => format!("{{ batch: {{ size: {size} }} }}"),
                _ => format!("{{ variable_batch: {{ sizes: [1, {size}] }} }}"),
            };
            // The scheduler wants fewer tolerated failures than instances.
            let failures = failures.min(c.instances - 1);
            s += &format!(
                "    update: {{ strategy: {strategy}, watch: 1s, max_failed_instances: {failures}, rollback_on_failure: {rollback} }}\n"
            );
        }
        s
    }

    fn render(text: &str) -> (JobConfiguration, Option<JobUpdateRequest>) {
        let file =
            aurora_spec::SourceFile::new("case.aurora-apply.yaml", text, aurora_spec::Format::Yaml);
        let loaded = aurora_spec::load_sources(&[file], &aurora_spec::LoadOptions::default())
            .unwrap_or_else(|d| {
                panic!(
                    "the generated spec is valid: {:?}\n{text}",
                    d.sorted()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                )
            });
        let job = loaded.into_iter().next().expect("one job");
        (job.config, job.update)
    }

    /// Creates the case's job with the plain client: the rendered config as another client
    /// would send it (its own owner, maybe no tier, maybe a payload with a key the spec format
    /// does not have), then, for services with update settings, an update to a changed task
    /// with them, followed to its end.
    fn create(client: &Client, c: &Case, name: &str) -> Result<(), TestCaseError> {
        let (mut config, update) = render(&spec_text(c, name));
        let owner = Some(Identity {
            user: Some("root".into()),
        });
        config.owner = owner.clone();
        let task = config.task_config.as_mut().expect("task");
        task.owner = owner;
        if c.no_tier_sent {
            task.tier = None;
            task.production = None;
        }
        if c.odd_payload
            && let Some(ex) = task.executor_config.as_mut()
            && ex.name.as_deref() == Some("AuroraExecutor")
        {
            let mut payload: serde_json::Value =
                serde_json::from_str(ex.data.as_deref().unwrap_or("{}")).expect("payload");
            payload["aurora_client_extra"] = serde_json::json!({"written_by": "plain client"});
            ex.data = Some(payload.to_string());
        }
        let sent = if c.kind == "cron" {
            client.schedule_cron_job(&config).map(|_| ())
        } else {
            client.create_job(&config).map(|_| ())
        };
        sent.map_err(|e| TestCaseError::fail(format!("create: {e}")))?;
        let Some(mut request) = update.filter(|_| c.kind == "service" && c.update.is_some()) else {
            return Ok(());
        };
        // The same task with more CPU, sent by the plain client as an update.
        let mut changed = config.task_config.clone().expect("task");
        let resources = changed.resources.take().unwrap_or_default();
        changed.resources = Some(
            resources
                .into_iter()
                .map(|r| match r {
                    Resource::NumCpus(c) => Resource::NumCpus((c.0 + 0.5).into()),
                    other => other,
                })
                .collect(),
        );
        request.task_config = Some(changed);
        client
            .start_job_update(&request, Some("plain client"))
            .map_err(|e| TestCaseError::fail(format!("startJobUpdate: {e}")))?;
        let query = JobUpdateQuery {
            job_key: config.key.clone(),
            ..JobUpdateQuery::default()
        };
        // Followed through the scheduler's own state (the emulator's clock runs 200x).
        for _ in 0..2000 {
            let summaries = client
                .get_job_update_summaries(&query)
                .map_err(|e| TestCaseError::fail(format!("{e}")))?
                .value
                .update_summaries
                .unwrap_or_default();
            let status = summaries
                .iter()
                .filter_map(|s| s.state.as_ref()?.status)
                .next();
            match status {
                Some(JobUpdateStatus::ROLLED_FORWARD) => return Ok(()),
                Some(s) if s != JobUpdateStatus::ROLLING_FORWARD => {
                    return Err(TestCaseError::fail(format!("update ended {s:?}")));
                }
                _ => std::thread::yield_now(),
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Err(TestCaseError::fail("the update did not finish"))
    }

    #[test]
    fn randomly_configured_jobs_import_to_no_op_specs() {
        let w = World::seed_with(|config| config.timings.adhoc_run_ms = 1_000_000_000);
        let client = Client::new(ClientConfig::new(w.sim.url())).expect("client");
        let n = Cell::new(0u32);
        // Which outcomes the cases reached: each must be seen (the RNG is seeded, so the
        // cases are the same on every run).
        let seen: std::cell::RefCell<std::collections::BTreeSet<&str>> = Default::default();
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases: 32,
                max_shrink_iters: 16,
                failure_persistence: None,
                ..Config::default()
            },
            TestRng::deterministic_rng(RngAlgorithm::ChaCha),
        );
        runner
            .run(&case(), |c| {
                n.set(n.get() + 1);
                let name = format!("job{}", n.get());
                create(&client, &c, &name)?;
                let key = format!("devcluster/www-data/{}/{name}", c.environment);
                let out_dir = format!("imported/{name}");
                let out = w.run(&["import", &key, "--out", &out_dir]);
                prop_assert_eq!(
                    code(&out),
                    0,
                    "import {}\n{}\n{}\n{}",
                    key,
                    spec_text(&c, &name),
                    stdout(&out),
                    stderr(&out)
                );
                let report = stdout(&out);
                if c.odd_payload && c.custom_data.is_none() {
                    prop_assert!(report.contains("verbatim"), "{}", report);
                }
                for outcome in ["declarative task", "verbatim", "custom executor"] {
                    if report.contains(outcome) {
                        seen.borrow_mut().insert(outcome);
                    }
                }
                let plan = w.run(&["plan", &out_dir, "--detailed-exitcode"]);
                let file = std::fs::read_to_string(
                    w.path(&format!("{out_dir}/www-data.aurora-apply.yaml")),
                )
                .unwrap_or_default();
                prop_assert_eq!(
                    code(&plan),
                    0,
                    "plan after import of {}\nspec sent:\n{}\nimported:\n{}\n{}\n{}",
                    key,
                    spec_text(&c, &name),
                    file,
                    stdout(&plan),
                    stderr(&plan)
                );
                if c.kind == "service" && c.update.is_some() {
                    // The settings of the update the plain client started carry over.
                    prop_assert!(file.contains("watch: 1s"), "{}", file);
                    seen.borrow_mut().insert("update settings");
                }
                if c.kind == "cron" {
                    seen.borrow_mut().insert("cron");
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            seen.into_inner().into_iter().collect::<Vec<_>>(),
            [
                "cron",
                "custom executor",
                "declarative task",
                "update settings",
                "verbatim"
            ]
        );
    }
}
