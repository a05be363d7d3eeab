//! Moving in from Aurora's own client: the same payloads, so a job handed between the two
//! restarts nothing.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

use crate::harness::{World, expect_code, repo, stdout};

/// Posts a recorded Thrift request body (made by Aurora's own client, fixtures/wire) to the
/// emulator's `/api`, as the client's HTTP transport would; returns the HTTP status line.
pub(crate) fn post_recorded(w: &World, body_file: &str) -> String {
    let body = std::fs::read(repo().join("fixtures/wire").join(body_file)).expect("fixture");
    let address = w.sim.url().trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&address).expect("connects");
    let head = format!(
        "POST /api HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/vnd.apache.thrift.binary\r\nAccept: application/vnd.apache.thrift.binary\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("sends");
    stream.write_all(&body).expect("sends");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).expect("reads");
    String::from_utf8_lossy(&reply)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// A spec equivalent to the fixture job, copied into the world's specs.
fn fixture_spec(w: &World, name: &str) -> String {
    let from = repo()
        .join("crates/aurora-spec/tests/fixture-specs")
        .join(name);
    let to = w.specs().join(name);
    std::fs::copy(from, &to).expect("copy");
    to.to_str().expect("utf-8").to_string()
}

/// A job created with the exact bytes Aurora's client sends plans as a no-op from the
/// equivalent spec: tier, production and the Thermos payload all agree.
#[test]
fn jobs_created_by_aurora_client_plan_as_no_ops() {
    let w = World::seed();
    for (request, spec) in [
        (
            "hello_world.createJob.request.bin",
            "hello_world.aurora-apply.yaml",
        ),
        (
            "hello_docker_image.createJob.request.bin",
            "hello_docker_image.aurora-apply.yaml",
        ),
        (
            "cron_hello_world.scheduleCronJob.request.bin",
            "cron_hello_world.aurora-apply.toml",
        ),
    ] {
        let status = post_recorded(&w, request);
        assert!(status.contains(" 200 "), "{request}: {status}");
        let spec = fixture_spec(&w, spec);
        let out = w.run(&["plan", &spec, "--detailed-exitcode"]);
        expect_code(&out, 0);
        assert!(
            stdout(&out).contains("No changes."),
            "{spec}: {}",
            stdout(&out)
        );
    }
}

/// The same with Aurora's Docker fixture, on a scheduler that allows Docker containers and
/// parameters (the flags docker_app needs; fixtures/aurora-client/README.md).
#[test]
fn a_docker_job_created_by_aurora_client_plans_as_a_no_op() {
    let w = World::seed_with(|config| {
        config.allowed_container_types = ["MESOS", "DOCKER"].map(String::from).into();
        config.allow_docker_parameters = true;
    });
    let status = post_recorded(&w, "docker_app.createJob.request.bin");
    assert!(status.contains(" 200 "), "{status}");
    let spec = fixture_spec(&w, "docker_app.aurora-apply.yaml");
    let out = w.run(&["plan", &spec, "--detailed-exitcode"]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("No changes."), "{}", stdout(&out));
}

/// `production: true` without a tier is placed on the production tier, as Aurora's client
/// places it; the scheduler would otherwise give it its default (preemptible) tier.
#[test]
fn production_without_a_tier_lands_on_the_clusters_production_tier() {
    let w = World::seed();
    w.write(
        "specs/prod.aurora-apply.yaml",
        "apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/prod/critical\n    kind: service\n    production: true\n    resources: { cpu: 0.5, ram: 64MiB, disk: 64MiB }\n    task: { processes: [ { name: a, cmdline: sleep 600 } ] }\n",
    );
    let spec = w.specs().join("prod.aurora-apply.yaml");
    let spec = spec.to_str().expect("utf-8");
    let out = w.run(&["render", spec]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).starts_with("# tiers: Aurora's bundled tiers.json (render is offline"),
        "{}",
        stdout(&out)
    );
    let out = w.run(&["render", spec, "-o", "json"]);
    expect_code(&out, 0);
    let rendered: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let task = &rendered[0]["taskConfig"];
    assert_eq!(task["tier"], "preferred", "{rendered}");
    assert_eq!(task["production"], true);

    expect_code(&w.run(&["apply", spec, "--auto-approve"]), 0);
    expect_code(&w.run(&["plan", spec, "--detailed-exitcode"]), 0);
}

/// A cluster with tiers of its own decides the placement: its `getTierConfigs` answer is
/// read before planning.
#[test]
fn the_clusters_own_tiers_decide_the_placement() {
    let w = World::seed_with(|config| {
        config.tiers = aurora_sim::parse_tier_config(
            r#"{"default": "batch", "tiers": {
                "batch": {"preemptible": true, "revocable": false},
                "critical": {"preemptible": false, "revocable": false}}}"#,
        )
        .expect("tiers");
    });
    w.write(
        "specs/prod.aurora-apply.yaml",
        "apiVersion: aurora-apply/v1\njobs:\n  - key: devcluster/www-data/prod/critical\n    kind: service\n    production: true\n    resources: { cpu: 0.5, ram: 64MiB, disk: 64MiB }\n    task: { processes: [ { name: a, cmdline: sleep 600 } ] }\n",
    );
    let spec = w.specs().join("prod.aurora-apply.yaml");
    let spec = spec.to_str().expect("utf-8");
    let out = w.run(&["plan", spec, "-o", "json"]);
    expect_code(&out, 0);
    expect_code(&w.run(&["apply", spec, "--auto-approve"]), 0);
    let tiers: Vec<(Option<String>, Option<bool>)> = w
        .sim
        .state()
        .tasks
        .values()
        .filter_map(|t| {
            let config = t.task.assigned_task.as_ref()?.task.as_ref()?;
            Some((config.tier.clone(), config.production))
        })
        .collect();
    assert_eq!(tiers, [(Some("critical".to_string()), Some(true))]);
    expect_code(&w.run(&["plan", spec, "--detailed-exitcode"]), 0);
}

/// The other way round: a job aurora-apply created, then updated by Aurora's client from the
/// equivalent `.aurora` file. Aurora's update request (its own bytes) differs from the live
/// config in exactly what ownership needs and nothing else: the `aurora-apply.managed`
/// metadata, and `owner.user` (Aurora's client sends the local unix user, which differs
/// between any two people updating a job, with either client).
#[test]
fn an_update_by_aurora_client_differs_only_by_ownership() {
    use aurora_api::types::{GetJobUpdateDiffCall, TaskConfig};
    use aurora_api::wire::IncomingCall;
    use aurora_apply::normalize::{Tiers, task_config};

    let w = World::seed();
    let spec = fixture_spec(&w, "hello_world.aurora-apply.yaml");
    expect_code(&w.run(&["apply", &spec, "--auto-approve"]), 0);
    let live: TaskConfig = w
        .sim
        .state()
        .tasks
        .values()
        .find_map(|t| t.task.assigned_task.as_ref()?.task.clone())
        .expect("a live task");

    let bytes =
        std::fs::read(repo().join("fixtures/wire/hello_world.getJobUpdateDiff.request.bin"))
            .expect("fixture");
    let call = IncomingCall::parse(&bytes).expect("a call");
    let theirs: TaskConfig = call
        .args::<GetJobUpdateDiffCall>()
        .expect("decodes")
        .request
        .and_then(|r| r.task_config)
        .expect("a task config");

    let tiers = Tiers::aurora_default();
    let mut ours = task_config(&live, &tiers);
    let theirs = task_config(&theirs, &tiers);
    assert!(
        aurora_apply::marker::is_managed(&ours),
        "created with the marker"
    );
    let metadata = ours.metadata.take().unwrap_or_default();
    let rest: std::collections::BTreeSet<_> = metadata
        .into_iter()
        .filter(|m| m.key.as_deref() != Some(aurora_apply::marker::MANAGED_KEY))
        .collect();
    ours.metadata = Some(rest);
    let user = |t: &TaskConfig| t.owner.as_ref().and_then(|o| o.user.clone());
    assert_eq!(
        (user(&ours), user(&theirs)),
        (Some("www-data".to_string()), Some("root".to_string())),
        "the role on our side; whoever ran Aurora's client on theirs"
    );
    ours.owner = theirs.owner.clone();
    assert_eq!(
        aurora_apply::compare::task_changes(&theirs, &ours, aurora_apply::compare::Effect::Restart),
        Vec::new(),
        "anything but ownership differs"
    );
}
