//! Fixture equivalence: for each job in fixtures/aurora-client/ (what Aurora 0.22's own client
//! sends), the spec in tests/fixture-specs/ renders the same JobConfiguration and JobUpdateRequest,
//! compared semantically: executor data as parsed JSON, `owner` aside (Aurora's client uses
//! the local unix user, aurora-apply the role), and the update request's `metadata` aside
//! (the client's random update id; provenance is the engine's).

use std::path::{Path, PathBuf};

use aurora_spec::{LoadOptions, load_paths};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check(fixture: &str, spec: &str) {
    let dir = root().join("fixtures/aurora-client").join(fixture);
    let jobs = load_paths(
        &[Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixture-specs")
            .join(spec)],
        &LoadOptions::default(),
    )
    .unwrap_or_else(|d| {
        panic!(
            "{spec}: {:?}",
            d.sorted()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        )
    });
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];

    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("job_configuration.json")).expect("fixture"),
    )
    .expect("json");
    let got = aurora_spec::render::job_configuration_json(&job.config);
    assert_eq!(
        aurora_spec::render::comparable(got.clone()),
        aurora_spec::render::comparable(want),
        "{fixture}: JobConfiguration differs"
    );
    assert_eq!(
        got["owner"]["user"], "www-data",
        "owner defaults to the role"
    );

    let update_file = dir.join("job_update_request.json");
    if update_file.exists() {
        let mut want: Value =
            serde_json::from_str(&std::fs::read_to_string(update_file).expect("fixture"))
                .expect("json");
        let mut got = aurora_spec::render::job_update_request_json(
            job.update
                .as_ref()
                .expect("services have an update request"),
        );
        for v in [&mut want, &mut got] {
            if let Value::Object(m) = v {
                m.remove("metadata");
            }
        }
        assert_eq!(
            aurora_spec::render::comparable(got),
            aurora_spec::render::comparable(want),
            "{fixture}: JobUpdateRequest differs"
        );
    } else {
        assert!(job.update.is_none());
    }
}

#[test]
fn hello_world() {
    check("hello_world", "hello_world.aurora-apply.yaml");
}

#[test]
fn hello_docker_image() {
    check("hello_docker_image", "hello_docker_image.aurora-apply.yaml");
}

#[test]
fn cron_hello_world() {
    check("cron_hello_world", "cron_hello_world.aurora-apply.toml");
}

#[test]
fn docker_app() {
    check("docker_app", "docker_app.aurora-apply.yaml");
}

#[test]
fn every_example_spec_loads() {
    let jobs = load_paths(&[root().join("specs")], &LoadOptions::default()).unwrap_or_else(|d| {
        panic!(
            "{:?}",
            d.sorted()
                .iter()
                .map(|d| format!("{}: {d}", d.location()))
                .collect::<Vec<_>>()
        )
    });
    let mut keys: Vec<String> = jobs.iter().map(|j| j.job.key.to_string()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "devcluster/vagrant/prod/docker-compose",
            "devcluster/www-data/prod/hello",
            "devcluster/www-data/prod/hello_payload",
            "devcluster/www-data/prod/nightly-report",
            "devcluster/www-data/prod/web",
        ]
    );
}

#[test]
fn rendering_is_deterministic() {
    let load = || load_paths(&[root().join("specs")], &LoadOptions::default()).expect("valid");
    let a: Vec<Vec<u8>> = load()
        .iter()
        .map(|j| aurora_thrift::wire::encode_struct(&j.config))
        .collect();
    let b: Vec<Vec<u8>> = load()
        .iter()
        .map(|j| aurora_thrift::wire::encode_struct(&j.config))
        .collect();
    assert_eq!(a, b);
}

#[test]
fn rendered_structs_survive_the_wire() {
    let jobs = load_paths(&[root().join("specs")], &LoadOptions::default()).expect("valid");
    for j in &jobs {
        let bytes = aurora_thrift::wire::encode_struct(&j.config);
        let back: aurora_thrift::types::JobConfiguration =
            aurora_thrift::wire::decode_struct(&bytes).expect("decodes");
        assert_eq!(back, j.config, "{}", j.job.key);
        if let Some(u) = &j.update {
            let bytes = aurora_thrift::wire::encode_struct(u);
            let back: aurora_thrift::types::JobUpdateRequest =
                aurora_thrift::wire::decode_struct(&bytes).expect("decodes");
            assert_eq!(&back, u, "{}", j.job.key);
        }
    }
}

#[test]
fn seed_jobs_render_as_the_seed_describes() {
    let jobs = load_paths(&[root().join("specs")], &LoadOptions::default()).expect("valid");
    let by_key = |k: &str| {
        jobs.iter()
            .find(|j| j.job.key == k)
            .unwrap_or_else(|| panic!("{k}"))
    };
    let compose = aurora_spec::render::job_configuration_json(
        &by_key("devcluster/vagrant/prod/docker-compose").config,
    );
    assert_eq!(
        compose["taskConfig"]["executorConfig"]["name"],
        "docker-compose-executor"
    );
    assert_eq!(compose["taskConfig"]["executorConfig"]["data"], "{}");
    assert_eq!(compose["taskConfig"]["isService"], false);
    assert_eq!(
        compose["taskConfig"]["metadata"],
        serde_json::json!([{"key": "fileName", "value": "sample-app/docker-compose.yml"}])
    );
    assert_eq!(
        compose["taskConfig"]["mesosFetcherUris"],
        serde_json::json!([{"cache": true, "extract": true, "value": "https://github.com/mesos/docker-compose-executor/releases/download/0.1.0/sample-app.tar.gz"}])
    );
    assert_eq!(
        compose["taskConfig"]["resources"],
        serde_json::json!([{"diskMb": 100}, {"namedPort": "org.apache.aurora.port.0"}, {"numCpus": 1.0}, {"ramMb": 64}])
    );

    let payload = by_key("devcluster/www-data/prod/hello_payload");
    let data = payload
        .config
        .task_config
        .as_ref()
        .and_then(|t| t.executor_config.as_ref())
        .and_then(|e| e.data.clone())
        .expect("data");
    let file = std::fs::read_to_string(root().join("specs/payloads/thermos_payload.json"))
        .expect("payload");
    assert_eq!(data, file.trim_end());

    let web =
        aurora_spec::render::job_configuration_json(&by_key("devcluster/www-data/prod/web").config);
    assert_eq!(
        web["taskConfig"]["constraints"],
        serde_json::json!([
            {"constraint": {"limit": {"limit": 1}}, "name": "host"},
            {"constraint": {"value": {"negated": false, "values": ["r1", "r2"]}}, "name": "rack"}
        ])
    );
    let web_update = by_key("devcluster/www-data/prod/web")
        .update
        .as_ref()
        .expect("update");
    let settings = aurora_spec::render::job_update_request_json(web_update)["settings"].clone();
    assert_eq!(
        settings["updateStrategy"],
        serde_json::json!({"batchStrategy": {"autopauseAfterBatch": false, "groupSize": 2}})
    );
    assert_eq!(
        (
            settings["updateGroupSize"].clone(),
            settings["waitForBatchCompletion"].clone()
        ),
        (serde_json::json!(2), serde_json::json!(true))
    );
    assert_eq!(settings["maxFailedInstances"], 1);

    let cron = by_key("devcluster/www-data/prod/nightly-report");
    assert_eq!(cron.config.cron_schedule.as_deref(), Some("0 2 * * *"));
    assert!(cron.update.is_none());
}

/// Aurora's client fills in whichever of `tier` and `production` a config leaves out, from
/// the cluster's tiers, and sends the result in both the TaskConfig and the Thermos payload
/// (client/cli/context.py `_get_config_with_production_and_tier`).
#[test]
fn tier_and_production_are_backfilled_as_aurora_client_does() {
    use aurora_spec::{Format, SourceFile, load_sources};
    use aurora_thrift::tiers::Tiers;

    let placed = |extra: &str, tiers: Option<&Tiers>| {
        let text = format!(
            "apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/prod/a\n    kind: service\n{extra}    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    task: {{ processes: [{{ name: a, cmdline: x }}] }}\n"
        );
        let jobs = load_sources(
            &[SourceFile::new("a.yaml", text.as_str(), Format::Yaml)],
            &LoadOptions::default(),
        )
        .expect("valid");
        let mut job = jobs.into_iter().next().expect("one job");
        if let Some(tiers) = tiers {
            job = job.with_tiers(tiers);
        }
        let task = job.config.task_config.clone().expect("task");
        let payload: Value = serde_json::from_str(
            task.executor_config
                .as_ref()
                .and_then(|e| e.data.as_deref())
                .expect("payload"),
        )
        .expect("json");
        assert_eq!(payload["tier"], task.tier.clone().expect("tier").as_str());
        assert_eq!(payload["production"], task.production.expect("production"));
        (
            task.tier.expect("tier"),
            task.production.expect("production"),
        )
    };
    assert_eq!(placed("", None), ("preemptible".into(), false));
    assert_eq!(
        placed("    production: true\n", None),
        ("preferred".into(), true)
    );
    assert_eq!(
        placed("    tier: preferred\n", None),
        ("preferred".into(), true)
    );
    assert_eq!(
        placed("    tier: revocable\n    production: true\n", None),
        ("revocable".into(), false)
    );

    // A cluster with tiers of its own: its answer decides, not the bundled file.
    let custom = custom_tiers();
    assert_eq!(placed("", Some(&custom)), ("batch".into(), false));
    assert_eq!(
        placed("    production: true\n", Some(&custom)),
        ("critical".into(), true)
    );
    assert_eq!(
        placed("    tier: spot\n    production: true\n", Some(&custom)),
        ("spot".into(), false)
    );
}

/// A cluster's own tiers, unlike Aurora's bundled ones: default `batch` (preemptible),
/// `critical` (not), `spot` (revocable).
fn custom_tiers() -> aurora_thrift::tiers::Tiers {
    use aurora_thrift::tiers::{TierSettings, Tiers};
    Tiers {
        default_tier: "batch".into(),
        tiers: [
            ("batch", true, false),
            ("critical", false, false),
            ("spot", true, true),
        ]
        .into_iter()
        .map(|(name, preemptible, revocable)| {
            (
                name.to_string(),
                TierSettings {
                    preemptible,
                    revocable,
                },
            )
        })
        .collect(),
    }
}

/// A job kept only as its Thrift structs is placed on another cluster's tiers exactly as
/// converting its spec for those tiers would: every example and fixture spec, and specs that
/// set a tier, `production`, or their own Thermos payload, on the bundled and on custom tiers.
#[test]
fn placing_a_converted_job_equals_converting_it_placed() {
    use aurora_spec::{Format, LoadedJob, SourceFile, load_sources};
    let load = |dir: PathBuf| load_paths(&[dir], &LoadOptions::default()).expect("valid");
    let mut jobs = load(root().join("specs"));
    jobs.extend(load(root().join("crates/aurora-spec/tests/fixture-specs")));
    for extra in [
        "    tier: preferred\n",
        "    production: true\n",
        "    tier: spot\n    production: true\n",
        "    tier: critical\n",
    ] {
        let text = format!(
            "apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/prod/a\n    kind: service\n{extra}    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    task: {{ processes: [{{ name: a, cmdline: x }}] }}\n"
        );
        jobs.extend(
            load_sources(
                &[SourceFile::new("a.yaml", text.as_str(), Format::Yaml)],
                &LoadOptions::default(),
            )
            .expect("valid"),
        );
    }
    let bundled = aurora_thrift::tiers::Tiers::aurora_default();
    let mut moved = 0;
    for loaded in &jobs {
        for tiers in [&bundled, &custom_tiers()] {
            let placing = loaded.job.placing();
            let placement = placing.on(tiers);
            moved += usize::from(&placement != placing.placed());
            let mut config = loaded.config.clone();
            placing.place(&mut config, &placement);
            let converted = LoadedJob::from_job(loaded.job.with_tiers(tiers)).config;
            assert_eq!(config, converted, "{} on {tiers:?}", loaded.job.key);
        }
    }
    assert!(moved >= 4, "the custom tiers move jobs: {moved}");
}

/// The JobUpdateSettings Aurora's client builds (client/api/updater_util.py
/// `to_thrift_update_settings`, rel/0.22.0), for every strategy a spec can name. With no
/// explicit strategy the client derives Queue or Batch from `batch_size` and
/// `wait_for_batch_completion` (the same settings the spec's `queue`/`batch` send: the
/// client itself fails on an explicit Queue or Batch strategy, reading a `groupSize` its
/// pystachio structs do not have); with a variable-batch strategy it keeps `batch_size` 1
/// and `wait_for_batch_completion` false.
#[test]
fn update_settings_are_what_aurora_client_sends_for_every_strategy() {
    use aurora_spec::{Format, SourceFile, load_sources};
    let settings = |update: &str| {
        let text = format!(
            "apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/prod/a\n    kind: service\n    instances: 6\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    task: {{ processes: [{{ name: a, cmdline: x }}] }}\n    update: {update}\n"
        );
        let jobs = load_sources(
            &[SourceFile::new("a.yaml", text.as_str(), Format::Yaml)],
            &LoadOptions::default(),
        )
        .expect("valid");
        let update = jobs[0].update.as_ref().expect("a service has an update");
        aurora_spec::render::job_update_request_json(update)["settings"].clone()
    };
    let client = |group: i32, wait: bool, strategy: Value| {
        serde_json::json!({
            "updateGroupSize": group,
            "maxPerInstanceFailures": 0,
            "maxFailedInstances": 0,
            "minWaitInInstanceRunningMs": 45000,
            "rollbackOnFailure": true,
            "waitForBatchCompletion": wait,
            "updateStrategy": strategy,
            "slaAware": false,
        })
    };
    // UpdateConfig(batch_size = 3)
    assert_eq!(
        settings("{ strategy: { queue: { size: 3 } } }"),
        client(
            3,
            false,
            serde_json::json!({"queueStrategy": {"groupSize": 3}})
        )
    );
    // UpdateConfig(batch_size = 2, wait_for_batch_completion = True)
    assert_eq!(
        settings("{ strategy: { batch: { size: 2 } } }"),
        client(
            2,
            true,
            serde_json::json!({"batchStrategy": {"groupSize": 2, "autopauseAfterBatch": false}})
        )
    );
    // UpdateConfig(update_strategy = VariableBatchUpdateStrategy(batch_sizes = [1, 2, 3]))
    assert_eq!(
        settings("{ strategy: { variable_batch: { sizes: [1, 2, 3] } } }"),
        client(
            1,
            false,
            serde_json::json!({"varBatchStrategy": {"groupSizes": [1, 2, 3], "autopauseAfterBatch": false}})
        )
    );
}
