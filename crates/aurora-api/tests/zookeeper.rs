//! Leader discovery against a real ZooKeeper server.
//!
//! Each test plays the scheduler: it registers EPHEMERAL_SEQUENTIAL `member_` nodes holding the
//! exact JSON Aurora writes (next to a Curator lock node `_c_…-lock-…` that must be ignored),
//! under a random base path so tests run in parallel, then resolves a `clusters.json` entry.
//!
//! The server: `AURORA_TEST_ZK=host:port` (set by `.ci/run` through
//! `eval "$(scripts/zookeeper.sh start)"`). When the variable is absent the tests start their
//! own server with `scripts/zookeeper.sh` in a private state directory, stopped when the test
//! process exits. If neither works the tests FAIL (never skip) and say how to fix it.
#![cfg(feature = "zookeeper")]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aurora_api::clusters::{
    Cluster, Clusters, LockError, LockHolder, ResolveError, ResolveOptions, SchedulerEndpoint,
    ZkError, ZkLock, ZkLockOptions, find_leader,
};
use zookeeper_client as zk;

fn block<T>(f: impl Future<Output = T>) -> T {
    async_io::block_on(f)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The server started by this process when `AURORA_TEST_ZK` is absent. Holding the wrapper's
/// stdin keeps the server alive; when the test process exits the pipe closes and the wrapper
/// stops the server.
static OWN_SERVER: Mutex<Option<(Child, ChildStdin)>> = Mutex::new(None);

/// `host:port` of the ZooKeeper server for these tests.
fn zk_address() -> &'static str {
    static ADDRESS: OnceLock<String> = OnceLock::new();
    ADDRESS.get_or_init(|| match std::env::var("AURORA_TEST_ZK") {
        Ok(addr) if !addr.trim().is_empty() => addr.trim().to_owned(),
        _ => start_own_server(),
    })
}

fn start_own_server() -> String {
    let how = "ZooKeeper is required for tests/zookeeper.rs (they are never skipped). Either \
               run `eval \"$(scripts/zookeeper.sh start)\"` to export AURORA_TEST_ZK, or \
               install ZooKeeper and Java (`apt-get install zookeeper`) so the tests can start \
               one themselves";
    let script = repo_root().join("scripts/zookeeper.sh");
    let state = std::env::temp_dir().join(format!("aurora-apply-zk-test-{}", std::process::id()));
    // The wrapper prints the script's `export AURORA_TEST_ZK=…` line, then waits for its stdin
    // to close (this process exiting) and stops the server.
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

/// The test server's host and port, for a clusters.json entry (`zk` takes hosts only).
fn zk_host_port() -> (String, u16) {
    let addr = zk_address();
    let (host, port) = addr
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("AURORA_TEST_ZK={addr:?} is not host:port"));
    let port = port
        .parse()
        .unwrap_or_else(|_| panic!("AURORA_TEST_ZK={addr:?} has no numeric port"));
    (host.trim_matches(['[', ']']).to_owned(), port)
}

/// The exact document Aurora's scheduler writes (Gson, field order as in the reference).
fn aurora_member_json(host: &str, port: u16) -> String {
    format!(
        r#"{{"serviceEndpoint":{{"host":"{host}","port":{port}}},"additionalEndpoints":{{"http":{{"host":"{host}","port":{port}}}}},"status":"ALIVE"}}"#
    )
}

/// One test's serverset: a unique persistent path plus a session that registers members.
struct ServerSet {
    client: zk::Client,
    path: String,
    _dir: tempfile::TempDir,
    clusters_file: PathBuf,
}

impl ServerSet {
    fn new() -> Self {
        let client = connect();
        let path = format!(
            "/aurora-apply-test/{}-{:016x}/aurora/scheduler",
            std::process::id(),
            fastrand::u64(..)
        );
        block(client.mkdir(
            &path,
            &zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()),
        ))
        .expect("create the serverset path");
        let dir = tempfile::tempdir().expect("temp dir");
        let (host, port) = zk_host_port();
        let clusters_file = dir.path().join("clusters.json");
        let doc = serde_json::json!([{
            "name": "devcluster",
            "zk": host,
            "zk_port": port,
            "scheduler_zk_path": path,
            "auth_mechanism": "UNAUTHENTICATED",
            "slave_run_directory": "latest",
            "slave_root": "/var/lib/mesos"
        }]);
        std::fs::write(&clusters_file, doc.to_string()).expect("write clusters.json");
        ServerSet {
            client,
            path,
            _dir: dir,
            clusters_file,
        }
    }

    /// Registers `data` as the scheduler does: EPHEMERAL_SEQUENTIAL `member_` node.
    fn register(&self, data: &str) -> String {
        register_with(&self.client, &self.path, data)
    }

    /// A Curator leader-latch/lock node, which lives in the same directory.
    fn curator_lock_node(&self) -> String {
        let prefix = format!("{}/_c_{}-lock-", self.path, uuid::Uuid::new_v4());
        let (_, seq) = block(self.client.create(
            &prefix,
            b"10.0.0.1",
            &zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all()),
        ))
        .expect("create lock node");
        format!("{prefix}{seq}")
    }

    fn delete(&self, node: &str) {
        block(self.client.delete(node, None)).expect("delete node");
    }

    fn cluster(&self) -> Cluster {
        Clusters::from_file(&self.clusters_file)
            .expect("load clusters.json")
            .cluster("devcluster")
            .expect("devcluster")
            .clone()
    }

    fn resolve(&self) -> Result<SchedulerEndpoint, ResolveError> {
        self.cluster()
            .resolve(&ResolveOptions::with_timeout(Duration::from_secs(10)))
    }

    fn leader_url(&self) -> String {
        match self.resolve() {
            Ok(SchedulerEndpoint::Http(url)) => url,
            other => panic!("expected an HTTP leader, got {other:?}"),
        }
    }
}

impl Drop for ServerSet {
    fn drop(&mut self) {
        // Best effort: remove what this test created (ephemeral nodes vanish with the session).
        let children = block(self.client.list_children(&self.path)).unwrap_or_default();
        for child in children {
            let _ = block(self.client.delete(&format!("{}/{child}", self.path), None));
        }
        let mut node = self.path.clone();
        while node.matches('/').count() > 1 {
            let _ = block(self.client.delete(&node, None));
            node.truncate(node.rfind('/').unwrap_or(0));
        }
    }
}

fn connect() -> zk::Client {
    block(zk::Client::connect(zk_address()))
        .unwrap_or_else(|e| panic!("connect to ZooKeeper at {}: {e}", zk_address()))
}

fn register_with(client: &zk::Client, path: &str, data: &str) -> String {
    let prefix = format!("{path}/member_");
    let (_, seq) = block(client.create(
        &prefix,
        data.as_bytes(),
        &zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all()),
    ))
    .expect("register member");
    format!("{prefix}{seq}")
}

/// Waits (event-driven, through a ZooKeeper watch) until `node` is deleted, failing after
/// `limit`.
fn wait_until_deleted(client: &zk::Client, node: &str, limit: Duration) {
    let (stat, watcher) = block(client.check_and_watch_stat(node)).expect("watch node");
    if stat.is_none() {
        return;
    }
    let event = block(futures_lite::future::or(
        async { Some(watcher.changed().await) },
        async {
            async_io::Timer::after(limit).await;
            None
        },
    ))
    .unwrap_or_else(|| panic!("{node} still exists after {limit:?}"));
    assert_eq!(event.event_type, zk::EventType::NodeDeleted, "{event:?}");
}

#[test]
fn resolves_the_leader_and_follows_leader_changes() {
    let set = ServerSet::new();
    // Curator's lock node is created first, so it has the lowest sequence number of all.
    let lock = set.curator_lock_node();
    assert!(lock.ends_with("0000000000"), "{lock}");
    let first = set.register(&aurora_member_json("scheduler-a.example", 8081));
    assert!(first.ends_with("member_0000000001"), "{first}");

    assert_eq!(set.leader_url(), "http://scheduler-a.example:8081");

    // A second registration (leadership changing hands) does not displace the older one…
    let second = set.register(&aurora_member_json("scheduler-b.example", 8082));
    assert_eq!(set.leader_url(), "http://scheduler-a.example:8081");

    // …until the old leader's node goes away.
    set.delete(&first);
    assert_eq!(set.leader_url(), "http://scheduler-b.example:8082");

    // A leader whose session ends (scheduler died): its ephemeral node vanishes and the next
    // one takes over.
    let other_session = connect();
    let third = register_with(
        &other_session,
        &set.path,
        &aurora_member_json("scheduler-c.example", 8083),
    );
    set.delete(&second);
    assert_eq!(set.leader_url(), "http://scheduler-c.example:8083");
    drop(other_session);
    wait_until_deleted(&set.client, &third, Duration::from_secs(30));
    match set.resolve().expect_err("no member left") {
        ResolveError::ZooKeeper {
            cluster,
            source: ZkError::NoLeader { path, .. },
        } => {
            assert_eq!(cluster, "devcluster");
            assert_eq!(path, set.path);
        }
        other => panic!("expected NoLeader after {third} vanished, got {other:?}"),
    }
}

#[test]
fn prefers_https_then_http_then_service_endpoint() {
    let set = ServerSet::new();
    let both = set.register(
        r#"{"serviceEndpoint":{"host":"s","port":1},"additionalEndpoints":{"http":{"host":"h","port":8081},"https":{"host":"tls.example","port":8443}},"status":"ALIVE"}"#,
    );
    assert_eq!(set.leader_url(), "https://tls.example:8443");
    set.delete(&both);

    let http = set.register(&aurora_member_json("plain.example", 8081));
    assert_eq!(set.leader_url(), "http://plain.example:8081");
    set.delete(&http);

    set.register(r#"{"serviceEndpoint":{"host":"service.example","port":9000},"status":"ALIVE"}"#);
    assert_eq!(set.leader_url(), "http://service.example:9000");
}

#[test]
fn no_member_is_an_error() {
    let set = ServerSet::new();
    set.curator_lock_node();
    let err = set.resolve().expect_err("only a lock node");
    let text = err.to_string();
    assert!(
        matches!(
            &err,
            ResolveError::ZooKeeper {
                source: ZkError::NoLeader { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        text.contains("no leading scheduler registered at") && text.contains(&set.path),
        "{text}"
    );

    // A serverset path that does not exist at all (a typo in scheduler_zk_path).
    let missing = format!("{}/nope", set.path);
    let err =
        find_leader(zk_address(), &missing, Duration::from_secs(10)).expect_err("missing path");
    assert!(matches!(err, ZkError::PathNotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("no leading scheduler registered at")
    );
}

#[test]
fn unusable_member_documents_are_errors() {
    let set = ServerSet::new();
    let garbage = set.register("not json at all");
    match set.resolve() {
        Err(ResolveError::ZooKeeper {
            source: ZkError::BadMemberData { path, .. },
            ..
        }) => assert_eq!(path, garbage),
        other => panic!("expected BadMemberData, got {other:?}"),
    }
    set.delete(&garbage);

    set.register(r#"{"additionalEndpoints":{"admin":{"host":"a","port":1}},"status":"ALIVE"}"#);
    assert!(
        matches!(
            set.resolve(),
            Err(ResolveError::ZooKeeper {
                source: ZkError::NoEndpoint { .. },
                ..
            })
        ),
        "a member without https/http/service endpoint"
    );
}

#[test]
fn find_leader_reports_the_member_and_document() {
    let set = ServerSet::new();
    let member = set.register(&aurora_member_json("aurora.local", 8081));
    let leader = find_leader(zk_address(), &set.path, Duration::from_secs(10)).expect("leader");
    assert_eq!(leader.member_path, member);
    assert_eq!(leader.instance.status.as_deref(), Some("ALIVE"));
    assert_eq!(
        leader.endpoint,
        SchedulerEndpoint::Http("http://aurora.local:8081".into())
    );
}

/// A port nobody listens on: connection refused on every host fails at once, not after the
/// timeout.
#[test]
fn unreachable_zookeeper_fails_fast() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let cluster = Clusters::parse(
        &format!(
            r#"[{{"name":"down","zk":"127.0.0.1","zk_port":{port},"scheduler_zk_path":"/aurora/scheduler"}}]"#
        ),
        Path::new("clusters.json"),
    )
    .expect("valid")
    .cluster("down")
    .expect("down")
    .clone();
    let started = Instant::now();
    let err = cluster
        .resolve(&ResolveOptions::with_timeout(Duration::from_secs(20)))
        .expect_err("nothing listens");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    match err {
        ResolveError::ZooKeeper {
            source: ZkError::Connect { servers, .. },
            ..
        } => assert_eq!(servers, format!("127.0.0.1:{port}")),
        other => panic!("expected a connect error, got {other:?}"),
    }
}

/// A server that accepts TCP connections but never answers: the lookup gives up at the
/// configured timeout.
#[test]
fn silent_server_hits_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let timeout = Duration::from_secs(1);
    let started = Instant::now();
    let err =
        find_leader(&addr.to_string(), "/aurora/scheduler", timeout).expect_err("nobody answers");
    let elapsed = started.elapsed();
    assert!(matches!(err, ZkError::Timeout { .. }), "{err:?}");
    assert!(
        elapsed >= timeout && elapsed < timeout * 8,
        "took {elapsed:?} for a {timeout:?} timeout"
    );
    drop(listener);
}

/// Deletes `path` and everything below it (best effort: test clean-up).
fn delete_tree(client: &zk::Client, path: &str) {
    for child in block(client.list_children(path)).unwrap_or_default() {
        delete_tree(client, &format!("{path}/{child}"));
    }
    let _ = block(client.delete(path, None));
}

/// Polls ZooKeeper (with a deadline) until `dir` has `n` children.
fn wait_for_children(client: &zk::Client, dir: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let children = block(client.list_children(dir)).unwrap_or_default();
        if children.len() == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{dir} has {children:?}, expected {n} children"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A scheduler answering every `getJobs` with an empty OK reply, on a free port; counts
/// the calls.
struct FakeScheduler {
    url: String,
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeScheduler {
    fn start() -> FakeScheduler {
        use aurora_api::types::{GetJobsResult, Response, ResponseCode, Result as ApiResult};
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
        let port = server.server_addr().to_ip().expect("ip").port();
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = std::sync::Arc::clone(&calls);
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let mut body = Vec::new();
                if std::io::Read::read_to_end(request.as_reader(), &mut body).is_err() {
                    continue;
                }
                let Ok(call) = aurora_api::wire::IncomingCall::parse(&body) else {
                    continue;
                };
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let response = Response {
                    response_code: Some(ResponseCode::OK),
                    result: Some(ApiResult::GetJobsResult(GetJobsResult::default())),
                    server_info: None,
                    details: Some(Vec::new()),
                };
                let reply = aurora_api::wire::encode_reply(&call.method, call.seq, &response);
                let _ = request.respond(tiny_http::Response::from_data(reply));
            }
        });
        FakeScheduler {
            url: format!("http://127.0.0.1:{port}"),
            calls,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The issue "Rollouts that survive": the leading scheduler dies and another registers a new
/// member; a client that read ZooKeeper once must find the new one.
#[test]
fn a_client_follows_the_leader_to_its_new_registration() {
    let set = ServerSet::new();
    // The old leader: registered, but nothing listens there any more.
    let dead_port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let old = set.register(&aurora_member_json("127.0.0.1", dead_port));
    let cluster = set.cluster();
    let options = ResolveOptions::with_timeout(Duration::from_secs(10));
    let first = cluster.resolve(&options).expect("resolves");
    let mut config = aurora_api::ClientConfig::new(first.http_url().expect("http"));
    config.ambient_credentials = false;
    config.retry.initial_backoff = Duration::from_millis(10);
    config.resolver = cluster.endpoint_resolver(&options).expect("zk");
    let client = aurora_api::Client::new(config).expect("client");

    // The leader moves: the old member goes away, a new scheduler registers.
    let new_leader = FakeScheduler::start();
    let port: u16 = new_leader
        .url
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("port");
    set.delete(&old);
    set.register(&aurora_member_json("127.0.0.1", port));

    client
        .get_jobs(None)
        .expect("the call reaches the new leader");
    assert_eq!(new_leader.calls(), 1);
    assert_eq!(client.api_url(), format!("{}/api", new_leader.url));
}

#[test]
fn the_endpoint_resolver_reads_the_serverset_each_time() {
    let set = ServerSet::new();
    let a = set.register(&aurora_member_json("scheduler-a.example", 8081));
    let resolver = set
        .cluster()
        .endpoint_resolver(&ResolveOptions::default())
        .expect("valid")
        .expect("a ZooKeeper cluster has a resolver");
    let resolve = || resolver.resolve(Duration::from_secs(10));
    assert_eq!(
        resolve().expect("leader"),
        "http://scheduler-a.example:8081"
    );
    set.delete(&a);
    assert!(matches!(
        resolve(),
        Err(ResolveError::ZooKeeper {
            source: ZkError::NoLeader { .. },
            ..
        })
    ));
    set.register(&aurora_member_json("scheduler-b.example", 8082));
    assert_eq!(
        resolve().expect("leader"),
        "http://scheduler-b.example:8082"
    );
}

fn holder(user: &str) -> LockHolder {
    LockHolder {
        user: Some(user.into()),
        host: Some("ci-7".into()),
        pid: Some(4242),
        command: Some("aurora-apply apply".into()),
        since: Some("2026-05-01T10:00:00Z".into()),
    }
}

/// The cluster's lock directory (beside the serverset), removed when the test ends.
struct LockDir {
    client: zk::Client,
    servers: String,
    dir: String,
}

impl LockDir {
    fn of(set: &ServerSet) -> LockDir {
        let place = set
            .cluster()
            .zk_lock_dir()
            .expect("valid")
            .expect("a ZooKeeper cluster has a lock directory");
        let parent = set.path.rsplit_once('/').expect("parent").0;
        assert_eq!(place.dir, format!("{parent}/aurora-apply-locks/scheduler"));
        LockDir {
            client: connect(),
            servers: place.servers,
            dir: place.dir,
        }
    }

    fn acquire(&self, name: &str, who: &str, wait: Duration) -> Result<ZkLock, LockError> {
        ZkLock::acquire(
            &self.servers,
            &self.dir,
            name,
            &holder(who),
            &ZkLockOptions::waiting(wait),
        )
    }

    fn children(&self, name: &str) -> Vec<String> {
        block(self.client.list_children(&format!("{}/{name}", self.dir))).expect("list")
    }
}

impl Drop for LockDir {
    fn drop(&mut self) {
        let locks = self.dir.rsplit_once('/').map_or("", |(p, _)| p).to_owned();
        delete_tree(&self.client, &locks);
    }
}

#[test]
fn a_second_holder_waits_then_times_out_naming_the_first() {
    let set = ServerSet::new();
    let locks = LockDir::of(&set);
    let first = locks
        .acquire("www-data", "alice", Duration::ZERO)
        .expect("free lock");
    assert!(first.is_held());
    assert_eq!(first.lock_dir(), format!("{}/www-data", locks.dir));
    let node_data = block(locks.client.get_data(first.node())).expect("node").0;
    assert_eq!(LockHolder::from_json(&node_data), Some(holder("alice")));

    let wait = Duration::from_millis(700);
    let started = Instant::now();
    let err = locks
        .acquire("www-data", "bob", wait)
        .expect_err("held by alice");
    let waited = started.elapsed();
    assert!(
        waited >= wait && waited < wait + Duration::from_secs(10),
        "{waited:?}"
    );
    let first_name = first.node().rsplit_once('/').expect("name").1.to_owned();
    match &err {
        LockError::Held {
            lock,
            holder: who,
            holder_id,
            ..
        } => {
            assert_eq!(lock, first.lock_dir());
            assert_eq!(who.as_deref(), Some(&holder("alice")));
            assert_eq!(holder_id.as_deref(), Some(first_name.as_str()));
        }
        other => panic!("expected Held, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(
            "is held by alice@ci-7 (pid 4242, aurora-apply apply, since 2026-05-01T10:00:00Z)"
        ) && text.contains("gave up after waiting"),
        "{text}"
    );
    // Bob's node went away with his session: only alice's is left.
    assert_eq!(locks.children("www-data"), [first_name]);

    // Another name is another lock.
    let other = locks
        .acquire("other-role", "bob", Duration::ZERO)
        .expect("independent lock");
    other.release().expect("release");
    first.release().expect("release");
    assert!(locks.children("www-data").is_empty());
}

#[test]
fn a_waiter_takes_the_lock_when_the_holder_releases_it() {
    let set = ServerSet::new();
    let locks = LockDir::of(&set);
    let first = locks
        .acquire("www-data", "alice", Duration::ZERO)
        .expect("free lock");
    let servers = locks.servers.clone();
    let dir = locks.dir.clone();
    let waiter = std::thread::spawn(move || {
        let started = Instant::now();
        let lock = ZkLock::acquire(
            &servers,
            &dir,
            "www-data",
            &holder("bob"),
            &ZkLockOptions::waiting(Duration::from_secs(60)),
        );
        (lock, started.elapsed())
    });
    // Bob is queued (his node exists) before alice lets go.
    wait_for_children(&locks.client, &format!("{}/www-data", locks.dir), 2);
    drop(first); // release on drop
    let (second, waited) = waiter.join().expect("waiter thread");
    let second = second.expect("bob gets the lock once alice is done");
    assert!(
        waited < Duration::from_secs(30),
        "woken by the watch: {waited:?}"
    );
    let data = block(locks.client.get_data(second.node())).expect("node").0;
    assert_eq!(LockHolder::from_json(&data), Some(holder("bob")));
    assert_eq!(
        locks.children("www-data"),
        [second.node().rsplit_once('/').expect("name").1.to_owned()]
    );
    drop(second);
    assert!(
        locks.children("www-data").is_empty(),
        "dropping releases at once"
    );
}

#[test]
fn bad_lock_names_are_refused_before_any_network_call() {
    let err = ZkLock::acquire(
        "127.0.0.1:1",
        "/aurora/aurora-apply-locks/scheduler",
        "../x",
        &LockHolder::default(),
        &ZkLockOptions::waiting(Duration::ZERO),
    )
    .expect_err("not a name");
    assert!(matches!(err, LockError::InvalidName { .. }), "{err:?}");
}
