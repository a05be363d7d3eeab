//! Issue "Rollouts that survive" (§1): the leading scheduler dies in the middle of a rolling
//! update and a new leader registers elsewhere, with the same state. `apply` read ZooKeeper
//! once and retried the dead address forever; it must find the new leader and finish.
//!
//! The real binary, a real ZooKeeper, and two emulators playing the two schedulers: A leads
//! (serverset member `member_0000000001`) until the update is being watched, then stops; B
//! starts from A's saved state and registers a new member, as a newly elected scheduler does.
//!
//! The ZooKeeper server: `AURORA_TEST_ZK=host:port` (`eval "$(scripts/zookeeper.sh start)"`),
//! else one started here with `scripts/zookeeper.sh` (needs `apt-get install zookeeper`). If
//! neither works the test FAILS and says how to fix it; it is never skipped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aurora_sim::{ClockMode, Sim, SimConfig, SimHandle};
use zookeeper_client as zk;

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    async_io::block_on(f)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The server started by this process when `AURORA_TEST_ZK` is absent; the wrapper stops it
/// when this process exits and its stdin closes.
static OWN_SERVER: Mutex<Option<(Child, ChildStdin)>> = Mutex::new(None);

fn zk_address() -> &'static str {
    static ADDRESS: OnceLock<String> = OnceLock::new();
    ADDRESS.get_or_init(|| match std::env::var("AURORA_TEST_ZK") {
        Ok(addr) if !addr.trim().is_empty() => addr.trim().to_owned(),
        _ => start_own_server(),
    })
}

fn start_own_server() -> String {
    let how = "ZooKeeper is required for tests/leader_move.rs (it is never skipped). Either \
               run `eval \"$(scripts/zookeeper.sh start)\"` to export AURORA_TEST_ZK, or \
               install ZooKeeper and Java (`apt-get install zookeeper`) so the test can start \
               one itself";
    let script = repo().join("scripts/zookeeper.sh");
    let state = std::env::temp_dir().join(format!(
        "aurora-apply-zk-leader-move-{}",
        std::process::id()
    ));
    let wrapper = r#"set -e
out=$("$0" start)
printf '%s\n' "$out"
read -r _ || true
"$0" stop
rm -rf "$AURORA_TEST_ZK_DIR""#;
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(wrapper)
        .arg(&script)
        .env("AURORA_TEST_ZK_DIR", &state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{how}: cannot run {}: {e}", script.display()));
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{how}: reading scripts/zookeeper.sh output: {e}"));
    let Some(addr) = line.trim().strip_prefix("export AURORA_TEST_ZK=") else {
        panic!("{how}: scripts/zookeeper.sh start failed (output: {line:?}; see stderr above)");
    };
    let addr = addr.to_owned();
    *OWN_SERVER.lock().unwrap_or_else(|p| p.into_inner()) = Some((child, stdin));
    addr
}

fn zk_connect() -> zk::Client {
    block(zk::Client::connect(zk_address()))
        .unwrap_or_else(|e| panic!("connect to ZooKeeper at {}: {e}", zk_address()))
}

/// Registers a scheduler the way Aurora does: it wins Curator's leader election (a
/// `_c_<id>-lock-` node) and then advertises itself with an EPHEMERAL_SEQUENTIAL `member_`
/// node holding the serverset JSON, both belonging to `session`.
fn register(session: &zk::Client, serverset: &str, sim: &SimHandle) -> String {
    let ephemeral = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    let latch = format!("{serverset}/_c_{}-lock-", sim.addr().port());
    block(session.create(&latch, sim.addr().ip().to_string().as_bytes(), &ephemeral))
        .expect("leader election node");
    let addr = sim.addr();
    let (host, port) = (addr.ip(), addr.port());
    let data = format!(
        r#"{{"serviceEndpoint":{{"host":"{host}","port":{port}}},"additionalEndpoints":{{"http":{{"host":"{host}","port":{port}}}}},"status":"ALIVE"}}"#
    );
    let prefix = format!("{serverset}/member_");
    let (_, seq) = block(session.create(&prefix, data.as_bytes(), &ephemeral)).expect("register");
    format!("{prefix}{seq}")
}

/// Polls `done` every 20 ms until it holds, failing with `what` (and the apply's output)
/// after `limit`.
fn wait_until(apply: &mut Apply, limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        if let Some(status) = apply.child.try_wait().expect("try_wait") {
            panic!("apply exited ({status}) before {what}\n{}", apply.output());
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}\n{}",
            apply.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The apply under test, killed if the test fails before it ends.
struct Apply {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Apply {
    fn output(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!(
            "--- apply stdout:\n{}\n--- apply stderr:\n{}",
            read(&self.stdout),
            read(&self.stderr)
        )
    }
}

impl Drop for Apply {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The seed's emulator settings (compose executor known, fetcher on, quota for www-data),
/// keeping state in `state_file`.
fn sim_config(state_file: &Path, clock: ClockMode) -> SimConfig {
    let mut config = SimConfig {
        clock,
        enable_mesos_fetcher: true,
        state_file: Some(state_file.to_path_buf()),
        ..SimConfig::default()
    };
    config
        .load_custom_executors(&repo().join("specs/sim/executors.json"))
        .expect("seed executor config loads");
    config.quotas.insert(
        "www-data".into(),
        aurora_sim::Resources::parse("16,32768,65536").expect("quota"),
    );
    config
}

fn methods(sim: &SimHandle) -> Vec<String> {
    sim.calls().into_iter().filter_map(|c| c.method).collect()
}

#[test]
fn apply_follows_the_leader_to_a_new_scheduler_mid_rollout() {
    let dir = tempfile::tempdir().expect("tmp");
    let state_file = dir.path().join("scheduler-state.json");

    // The cluster: discovered through ZooKeeper only.
    let admin = zk_connect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let base = format!(
        "/aurora-apply-test/leader-move-{}-{nanos}",
        std::process::id()
    );
    let serverset = format!("{base}/aurora/scheduler");
    block(admin.mkdir(
        &serverset,
        &zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()),
    ))
    .expect("create the serverset path");
    let (zk_host, zk_port) = zk_address().rsplit_once(':').expect("host:port");
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(&specs).expect("mkdir");
    std::fs::write(
        specs.join("clusters.json"),
        serde_json::json!([{
            "name": "devcluster",
            "zk": zk_host,
            "zk_port": zk_port.parse::<u16>().expect("port"),
            "scheduler_zk_path": serverset,
        }])
        .to_string(),
    )
    .expect("clusters.json");
    let hello = specs.join("hello.aurora-apply.yaml");
    let spec = std::fs::read_to_string(repo().join("specs/hello.aurora-apply.yaml")).expect("seed");
    std::fs::write(&hello, &spec).expect("spec");
    let hello_s = hello.to_str().expect("utf-8").to_string();

    let run = |args: &[&str], tag: &str| -> Apply {
        let stdout = dir.path().join(format!("{tag}.stdout"));
        let stderr = dir.path().join(format!("{tag}.stderr"));
        let child = Command::new(env!("CARGO_BIN_EXE_aurora-apply"))
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("AURORA_CONFIG_ROOT", dir.path().join("no-such-config-root"))
            .env("HOME", dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("the binary runs");
        Apply {
            child,
            stdout,
            stderr,
        }
    };
    let apply_args = [
        "apply",
        &hello_s,
        "--auto-approve",
        "--poll-interval",
        "50ms",
        "--timeout",
        "120s",
    ];

    // Scheduler A leads; the job is created on it.
    let a = Sim::start(sim_config(&state_file, ClockMode::Scaled(200.0))).expect("A starts");
    let a_session = zk_connect();
    let a_member = register(&a_session, &serverset, &a);
    assert!(a_member.ends_with("member_0000000001"), "{a_member}");
    let mut create = run(&apply_args, "create");
    let created = create.child.wait().expect("create apply ends");
    assert!(created.success(), "{}", create.output());

    // A slow rolling update (a 10-hour watch: it cannot end on A during the test).
    std::fs::write(
        &hello,
        spec.replace("cpu: 1,", "cpu: 2,").replace(
            "    instances: 1\n",
            "    instances: 1\n    update: { watch: 10h }\n",
        ),
    )
    .expect("edit spec");
    let mut apply = run(&apply_args, "update");
    wait_until(
        &mut apply,
        Duration::from_secs(60),
        "the update is started and being watched on A",
        || {
            let m = methods(&a);
            m.iter()
                .position(|x| x == "startJobUpdate")
                .is_some_and(|i| {
                    m[i..]
                        .iter()
                        .filter(|x| *x == "getJobUpdateDetails")
                        .count()
                        >= 2
                })
        },
    );

    // A dies: it stops answering and its ZooKeeper session ends, taking its member along.
    a.shutdown();
    drop(a_session);
    let deadline = Instant::now() + Duration::from_secs(30);
    while block(admin.check_stat(&a_member)).expect("stat").is_some() {
        assert!(Instant::now() < deadline, "{a_member} outlived its session");
        std::thread::sleep(Duration::from_millis(20));
    }

    // B is elected: same state (A's saved file), another address, a new member node. Its
    // clock only moves when the test says so.
    let b = Sim::start(sim_config(&state_file, ClockMode::Manual)).expect("B starts");
    let b_session = zk_connect();
    let b_member = register(&b_session, &serverset, &b);
    assert_ne!(b_member, a_member);
    wait_until(
        &mut apply,
        Duration::from_secs(60),
        "the apply's calls reach the new leader B",
        || methods(&b).iter().any(|m| m == "getJobUpdateDetails"),
    );

    // The watch ends on B and the apply finishes successfully.
    b.advance(Duration::from_secs(11 * 3600));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = apply.child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "apply did not finish on B\n{}",
            apply.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{}", apply.output());
    assert!(
        methods(&b).iter().all(|m| m != "startJobUpdate"),
        "the update was not started again on B: {:?}",
        methods(&b)
    );
    let status = b.state().updates.last().map(|u| u.status().to_string());
    assert_eq!(status.as_deref(), Some("ROLLED_FORWARD"));

    b.shutdown();
    drop(b_session);
    for node in [
        format!("{base}/aurora/scheduler"),
        format!("{base}/aurora"),
        base,
    ] {
        let _ = block(admin.delete(&node, None));
    }
}
