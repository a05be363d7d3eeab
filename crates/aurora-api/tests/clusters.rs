//! `clusters.json` as Aurora reads it: both layouts, the search path and its override order,
//! skipped and rejected entries, errors with file and line:column, and resolution without
//! ZooKeeper (direct URIs, `sim://`, configuration errors caught before any network call).

use std::fs;
use std::path::{Path, PathBuf};

use aurora_api::clusters::{
    AuthMechanism, Cluster, Clusters, ConfigError, Discovery, ResolveError, ResolveOptions,
    SchedulerEndpoint, SearchPath,
};
use serde_json::json;

fn parse(text: &str) -> Result<Clusters, ConfigError> {
    Clusters::parse(text, Path::new("/cfg/clusters.json"))
}

fn cluster(text: &str, name: &str) -> Cluster {
    parse(text)
        .expect("valid clusters.json")
        .get(name)
        .expect("cluster defined")
        .clone()
}

/// A temp dir laid out like `/etc/aurora` + `$HOME`, so the search path never touches the real
/// machine's files.
struct Roots {
    _dir: tempfile::TempDir,
    config_root: PathBuf,
    home: PathBuf,
}

impl Roots {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_root = dir.path().join("etc-aurora");
        let home = dir.path().join("home");
        fs::create_dir_all(&config_root).expect("mkdir");
        fs::create_dir_all(home.join(".aurora")).expect("mkdir");
        Roots {
            _dir: dir,
            config_root,
            home,
        }
    }

    fn system(&self, text: &str) -> PathBuf {
        let p = self.config_root.join("clusters.json");
        fs::write(&p, text).expect("write");
        p
    }

    fn user(&self, text: &str) -> PathBuf {
        let p = self.home.join(".aurora/clusters.json");
        fs::write(&p, text).expect("write");
        p
    }

    fn search(&self) -> SearchPath {
        SearchPath::new(&self.config_root, Some(self.home.clone()))
    }
}

const DEVCLUSTER: &str = r#"[{
  "name": "devcluster",
  "zk": "192.168.33.7",
  "scheduler_zk_path": "/aurora/scheduler",
  "auth_mechanism": "UNAUTHENTICATED",
  "slave_run_directory": "latest",
  "slave_root": "/var/lib/mesos"
}]"#;

#[test]
fn list_form_with_typed_accessors_and_defaults() {
    let c = cluster(DEVCLUSTER, "devcluster");
    assert_eq!(c.name(), "devcluster");
    assert_eq!(c.zk(), Some("192.168.33.7"));
    assert_eq!(c.zk_port(), 2181, "default zk_port");
    assert_eq!(c.scheduler_zk_path(), Some("/aurora/scheduler"));
    assert_eq!(c.scheduler_uri(), None);
    assert_eq!(c.proxy_url(), None);
    assert_eq!(c.auth_mechanism(), AuthMechanism::Unauthenticated);
    assert_eq!(c.slave_root(), Some("/var/lib/mesos"));
    assert_eq!(c.slave_run_directory(), Some("latest"));
    assert_eq!(c.docker_registry(), None);
    assert_eq!(c.source(), Some(Path::new("/cfg/clusters.json")));
}

#[test]
fn object_form_ignores_keys() {
    let all = parse(
        r#"{
          "ignored-key": {"name": "east", "scheduler_uri": "http://east:8081", "zk_port": 2182},
          "west": {"name": "west-real", "scheduler_uri": "https://west", "auth_mechanism": "KERBEROS",
                   "proxy_url": "https://aurora.example", "docker_registry": "registry.example:5000"}
        }"#,
    )
    .expect("valid");
    assert_eq!(all.names().collect::<Vec<_>>(), ["east", "west-real"]);
    assert!(all.get("west").is_none(), "object keys are not names");
    let east = all.get("east").expect("east");
    assert_eq!(east.zk_port(), 2182);
    let west = all.get("west-real").expect("west");
    assert_eq!(west.auth_mechanism(), AuthMechanism::Kerberos);
    assert_eq!(west.proxy_url(), Some("https://aurora.example"));
    assert_eq!(west.docker_registry(), Some("registry.example:5000"));
}

#[test]
fn unknown_auth_mechanism_is_unauthenticated() {
    let c = cluster(r#"[{"name": "a", "auth_mechanism": "BASIC"}]"#, "a");
    assert_eq!(c.auth_mechanism(), AuthMechanism::Unauthenticated);
    assert_eq!(
        c.get("auth_mechanism"),
        Some(&json!("BASIC")),
        "raw value kept"
    );
}

#[test]
fn unknown_keys_are_kept() {
    let c = cluster(
        r#"[{"name": "a", "scheduler_uri": "http://a", "stats_url": "http://stats/{{job}}",
             "nested": {"x": [1, 2]}, "flag": true}]"#,
        "a",
    );
    assert_eq!(c.get("stats_url"), Some(&json!("http://stats/{{job}}")));
    assert_eq!(c.get("nested"), Some(&json!({"x": [1, 2]})));
    assert_eq!(c.get("flag"), Some(&json!(true)));
    assert_eq!(c.fields().len(), 5);
}

#[test]
fn entries_without_name_are_skipped() {
    let all = parse(r#"[{"zk": "h", "scheduler_zk_path": "/a"}, {"name": "b", "zk": "h"}, {}]"#)
        .expect("valid");
    assert_eq!(all.names().collect::<Vec<_>>(), ["b"]);
}

#[test]
fn later_entries_in_one_file_replace_earlier_ones() {
    let all = parse(
        r#"[{"name": "a", "scheduler_uri": "http://first", "extra": 1},
            {"name": "a", "scheduler_uri": "http://second"}]"#,
    )
    .expect("valid");
    let a = all.get("a").expect("a");
    assert_eq!(a.scheduler_uri(), Some("http://second"));
    assert_eq!(a.get("extra"), None, "whole cluster replaced, no merge");
}

#[test]
fn search_path_user_file_overrides_system_file_by_name() {
    let roots = Roots::new();
    let system = roots.system(
        r#"[{"name": "shared", "scheduler_uri": "http://system", "proxy_url": "http://proxy"},
            {"name": "system-only", "scheduler_uri": "http://s"}]"#,
    );
    let user = roots.user(
        r#"{"x": {"name": "shared", "scheduler_uri": "http://user"},
            "y": {"name": "user-only", "scheduler_uri": "sim:///tmp/u.json"}}"#,
    );
    let all = Clusters::load_from(&roots.search()).expect("loads");
    assert_eq!(
        all.names().collect::<Vec<_>>(),
        ["shared", "system-only", "user-only"]
    );
    let shared = all.get("shared").expect("shared");
    assert_eq!(shared.scheduler_uri(), Some("http://user"));
    assert_eq!(
        shared.proxy_url(),
        None,
        "the user's cluster replaces, not merges"
    );
    assert_eq!(shared.source(), Some(user.as_path()));
    assert_eq!(
        all.get("system-only").and_then(Cluster::source),
        Some(system.as_path())
    );
    assert_eq!(all.files(), [system, user]);
}

#[test]
fn search_path_files_and_missing_files() {
    let roots = Roots::new();
    let search = roots.search();
    assert_eq!(
        search.files(),
        [
            roots.config_root.join("clusters.json"),
            roots.home.join(".aurora/clusters.json")
        ]
    );
    // Neither file exists: an empty set, no error (Aurora checks os.path.exists).
    let none = Clusters::load_from(&search).expect("no files is fine");
    assert!(none.is_empty());
    assert!(none.files().is_empty());

    // Only the user file.
    roots.user(r#"[{"name": "u", "scheduler_uri": "http://u"}]"#);
    let only_user = Clusters::load_from(&search).expect("loads");
    assert_eq!(only_user.names().collect::<Vec<_>>(), ["u"]);

    // No home directory: only the system file is considered.
    let no_home = SearchPath::new(&roots.config_root, None);
    assert_eq!(no_home.files().len(), 1);
    assert!(Clusters::load_from(&no_home).expect("loads").is_empty());
}

#[test]
fn unreadable_file_in_search_path_is_an_error() {
    let roots = Roots::new();
    // A directory where the file should be cannot be read.
    fs::create_dir(roots.config_root.join("clusters.json")).expect("mkdir");
    let err = Clusters::load_from(&roots.search()).expect_err("a directory is not a file");
    assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
}

#[test]
fn from_file_replaces_the_search_path() {
    let roots = Roots::new();
    roots.system(r#"[{"name": "system", "scheduler_uri": "http://s"}]"#);
    let explicit = roots.config_root.join("other.json");
    fs::write(
        &explicit,
        r#"[{"name": "explicit", "scheduler_uri": "http://e"}]"#,
    )
    .expect("w");
    let all = Clusters::from_file(&explicit).expect("loads");
    assert_eq!(all.names().collect::<Vec<_>>(), ["explicit"]);
    assert_eq!(all.files(), [explicit]);

    let missing = roots.config_root.join("missing.json");
    let err = Clusters::from_file(&missing).expect_err("named file must exist");
    match err {
        ConfigError::Read { path, source } => {
            assert_eq!(path, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn bad_json_reports_file_line_and_column() {
    let roots = Roots::new();
    let path = roots.system("[\n  {\"name\": \"a\",\n   \"zk\": }\n]\n");
    let err = Clusters::load_from(&roots.search()).expect_err("bad JSON");
    match &err {
        ConfigError::Json {
            path: p,
            line,
            column,
            ..
        } => {
            assert_eq!(p, &path);
            assert_eq!((*line, *column), (3, 10));
        }
        other => panic!("unexpected {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:3:10: invalid JSON: ", path.display())),
        "{text}"
    );
}

#[test]
fn layout_and_entry_shape_errors() {
    let err = parse(r#""just a string""#).expect_err("not a list or object");
    assert!(
        matches!(
            err,
            ConfigError::Layout {
                found: "a string",
                ..
            }
        ),
        "{err:?}"
    );
    let err = parse(r#"[{"name": "a"}, 3]"#).expect_err("entry not an object");
    match err {
        ConfigError::NotAnObject { entry, found, .. } => {
            assert_eq!(entry, "[1]");
            assert_eq!(found, "a number");
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = parse(r#"{"k": ["a"]}"#).expect_err("value not an object");
    assert!(matches!(err, ConfigError::NotAnObject { .. }), "{err:?}");
}

#[test]
fn known_keys_are_type_checked_with_context() {
    let err = parse(r#"[{"name": "a", "zk_port": "abc"}]"#).expect_err("bad port");
    let text = err.to_string();
    assert!(
        text.contains("/cfg/clusters.json")
            && text.contains("cluster a")
            && text.contains("zk_port"),
        "{text}"
    );
    for bad in [
        r#"[{"name": "a", "zk_port": 0}]"#,
        r#"[{"name": "a", "zk_port": 65536}]"#,
        r#"[{"name": "a", "zk": ["h1", "h2"]}]"#,
        r#"[{"name": "a", "scheduler_uri": true}]"#,
        r#"[{"name": null}]"#,
        r#"[{"name": {"x": 1}}]"#,
    ] {
        let err = parse(bad).expect_err(bad);
        assert!(
            matches!(err, ConfigError::InvalidField { .. }),
            "{bad}: {err:?}"
        );
    }
    // pystachio-style coercions are accepted.
    let c = cluster(r#"[{"name": "a", "zk_port": "2200"}]"#, "a");
    assert_eq!(c.zk_port(), 2200);
}

#[test]
fn unknown_cluster_lists_the_known_ones() {
    let all = parse(r#"[{"name": "b"}, {"name": "a"}]"#).expect("valid");
    let err = all.cluster("c").expect_err("unknown");
    assert_eq!(
        err.to_string(),
        r#"unknown cluster "c"; known clusters: a, b"#
    );
}

#[test]
fn direct_scheduler_uri_is_used_as_is() {
    let c = cluster(
        r#"[{"name": "d", "scheduler_uri": "http://localhost:8081/"}]"#,
        "d",
    );
    let endpoint = c.resolve(&ResolveOptions::default()).expect("direct");
    assert_eq!(
        endpoint,
        SchedulerEndpoint::Http("http://localhost:8081/".into())
    );
    assert_eq!(endpoint.http_url(), Some("http://localhost:8081/"));
}

#[test]
fn sim_scheme_selects_the_emulator() {
    let c = cluster(
        r#"[{"name": "local", "scheduler_uri": "sim:///tmp/aurora-sim/state.json"}]"#,
        "local",
    );
    assert_eq!(
        c.resolve(&ResolveOptions::default()).expect("sim"),
        SchedulerEndpoint::Sim(PathBuf::from("/tmp/aurora-sim/state.json"))
    );
    let relative = Cluster::with_scheduler_uri("x", "sim://state.json");
    assert_eq!(
        relative.discovery().expect("sim"),
        Discovery::Direct(SchedulerEndpoint::Sim(PathBuf::from("state.json")))
    );
}

#[test]
fn zk_wins_over_scheduler_uri() {
    let c = cluster(
        r#"[{"name": "z", "zk": "zk1, zk2", "zk_port": 2182, "scheduler_zk_path": "/aurora/scheduler/",
             "scheduler_uri": "http://ignored"}]"#,
        "z",
    );
    assert_eq!(
        c.discovery().expect("zk"),
        Discovery::ZooKeeper {
            servers: "zk1:2182,zk2:2182".into(),
            path: "/aurora/scheduler".into()
        }
    );
}

#[test]
fn empty_zk_falls_back_to_scheduler_uri() {
    let c = cluster(
        r#"[{"name": "z", "zk": "", "scheduler_uri": "http://h"}]"#,
        "z",
    );
    assert_eq!(
        c.discovery().expect("direct"),
        Discovery::Direct(SchedulerEndpoint::Http("http://h".into()))
    );
}

#[test]
fn zk_without_scheduler_zk_path_is_an_error() {
    let c = cluster(r#"[{"name": "z", "zk": "zk1"}]"#, "z");
    let err = c
        .resolve(&ResolveOptions::default())
        .expect_err("no serverset path");
    assert!(
        matches!(&err, ResolveError::MissingSchedulerZkPath { cluster } if cluster == "z"),
        "{err:?}"
    );
    assert!(err.to_string().contains("scheduler_zk_path"));
}

#[test]
fn resolution_configuration_errors() {
    let no_address = cluster(r#"[{"name": "n"}]"#, "n");
    assert!(matches!(
        no_address.discovery(),
        Err(ResolveError::NoSchedulerAddress { .. })
    ));
    let bad_scheme = Cluster::with_scheduler_uri("b", "localhost:8081");
    assert!(matches!(
        bad_scheme.discovery(),
        Err(ResolveError::UnsupportedScheme { .. })
    ));
    let port_in_zk = cluster(
        r#"[{"name": "p", "zk": "zk1:2181", "scheduler_zk_path": "/a"}]"#,
        "p",
    );
    assert!(matches!(
        port_in_zk.discovery(),
        Err(ResolveError::InvalidZkHost { .. })
    ));
    let relative_path = cluster(
        r#"[{"name": "r", "zk": "zk1", "scheduler_zk_path": "aurora"}]"#,
        "r",
    );
    assert!(matches!(
        relative_path.discovery(),
        Err(ResolveError::InvalidZkPath { .. })
    ));
}

#[test]
fn arbitrary_documents_never_panic() {
    for text in [
        "",
        "null",
        "0",
        "[]",
        "{}",
        "[null]",
        "[[]]",
        "{\"a\":null}",
        "[{\"name\":\"\"}]",
        "[{\"name\":\"x\",\"zk\":\",\"}]",
        "\u{feff}[]",
        "[{\"name\":1e400}]",
    ] {
        if let Ok(all) = parse(text) {
            for c in all.iter() {
                let _ = c.discovery();
            }
        }
    }
}

#[cfg(not(feature = "zookeeper"))]
#[test]
fn zk_clusters_need_the_zookeeper_feature() {
    let c = cluster(
        r#"[{"name": "z", "zk": "zk1", "scheduler_zk_path": "/aurora/scheduler"}]"#,
        "z",
    );
    let err = c
        .resolve(&ResolveOptions::default())
        .expect_err("no ZooKeeper support in this build");
    assert!(
        matches!(err, ResolveError::ZooKeeperDisabled { .. }),
        "{err:?}"
    );
}
