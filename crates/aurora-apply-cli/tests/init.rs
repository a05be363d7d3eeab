//! `aurora-apply init`, through the real binary: the files it scaffolds, that the result
//! validates and applies on the local `sim://` cluster right away, that it never overwrites,
//! and the clusters.json entries of `--cluster NAME=URL`.

#[path = "support/local_world.rs"]
mod local_world;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use local_world::{expect_code, repo, stderr, stdout};
use serde_json::Value;

/// Every file `init` writes with the default cluster, relative to DIR.
const FILES: [&str; 7] = [
    "specs/clusters.json",
    "specs/hello.aurora-apply.yaml",
    "specs/.schema/aurora-apply.v1.json",
    "specs/README.md",
    "specs/.gitignore",
    ".vscode/settings.json",
    ".taplo.toml",
];

/// A temporary working directory; commands run in it, with no Aurora config of the machine.
/// Dropping it stops the emulator of `repo/specs` (if a test started one).
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Work {
        Work {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("aurora-apply").expect("binary built");
        cmd.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("AURORA_CONFIG_ROOT", self.path("no-such-config-root"))
            .env("HOME", self.dir.path())
            .timeout(Duration::from_secs(300));
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("runs")
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Every file below `rel` and its content.
    fn tree(&self, rel: &str) -> BTreeMap<String, String> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let rel = path.strip_prefix(root).expect("inside");
                    out.insert(
                        rel.display().to_string(),
                        std::fs::read_to_string(&path).unwrap_or_default(),
                    );
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.dir.path(), &self.path(rel), &mut out);
        out
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let state = self.path("repo/specs/.aurora-sim/devcluster");
        if state.exists() {
            let _ = self
                .cmd()
                .args(["sim", "stop", "--state"])
                .arg(&state)
                .timeout(Duration::from_secs(60))
                .output();
        }
    }
}

#[test]
fn init_scaffolds_a_repository_that_validates_and_applies_on_the_local_cluster() {
    let w = Work::new();
    let out = w.run(&["init", "repo"]);
    expect_code(&out, 0);
    insta::assert_snapshot!("init_stdout", stdout(&out));
    for file in FILES {
        assert!(w.path("repo").join(file).is_file(), "{file}");
    }
    insta::assert_snapshot!("init_clusters_json", w.read("repo/specs/clusters.json"));
    insta::assert_snapshot!(
        "init_example_spec",
        w.read("repo/specs/hello.aurora-apply.yaml")
    );

    // The schema is `aurora-apply schema`'s (the committed one), and everything that names
    // it reaches it: the spec's modeline (relative to the spec), VS Code's YAML extension
    // and Taplo (relative to the folder).
    let schema = w.read("repo/specs/.schema/aurora-apply.v1.json");
    let printed = w.run(&["schema"]);
    expect_code(&printed, 0);
    assert_eq!(schema, stdout(&printed));
    assert_eq!(
        schema,
        std::fs::read_to_string(repo().join("schema/aurora-apply.v1.json")).expect("schema")
    );
    let spec = w.read("repo/specs/hello.aurora-apply.yaml");
    let modeline = spec.lines().next().expect("a first line");
    let target = modeline
        .strip_prefix("# yaml-language-server: $schema=")
        .unwrap_or_else(|| panic!("not a modeline: {modeline}"));
    assert_eq!(
        std::fs::read_to_string(w.path("repo/specs").join(target)).expect("modeline target"),
        schema
    );
    let settings: Value =
        serde_json::from_str(&w.read("repo/.vscode/settings.json")).expect("settings are JSON");
    let schemas = settings["yaml.schemas"].as_object().expect("yaml.schemas");
    assert_eq!(schemas.len(), 1, "{settings}");
    let (file, globs) = schemas.iter().next().expect("one schema");
    assert_eq!(
        std::fs::read_to_string(w.path("repo").join(file)).expect("yaml.schemas file"),
        schema
    );
    assert!(
        globs
            .as_array()
            .expect("globs")
            .iter()
            .any(|g| g == "**/*.aurora-apply.yaml"),
        "{settings}"
    );
    let taplo: toml::Table = w.read("repo/.taplo.toml").parse().expect("TOML");
    let rule = &taplo["rule"].as_array().expect("[[rule]]")[0];
    assert_eq!(rule["include"][0].as_str(), Some("**/*.aurora-apply.toml"));
    let path = rule["schema"]["path"].as_str().expect("rule.schema.path");
    assert_eq!(
        std::fs::read_to_string(w.path("repo").join(path)).expect("taplo schema"),
        schema
    );
    let readme = w.read("repo/specs/README.md");
    for step in [
        "validate specs/",
        "plan specs/",
        "status specs/",
        "docs/guide.md",
    ] {
        assert!(readme.contains(step), "{step}:\n{readme}");
    }
    assert_eq!(
        w.read("repo/specs/.gitignore").lines().last(),
        Some("/.aurora-sim/")
    );

    // It validates, and the printed next command applies it on the local cluster (with
    // --auto-approve: no terminal here); a second run finds nothing to do.
    let validate = w.run(&["validate", "repo/specs"]);
    expect_code(&validate, 0);
    assert!(
        stdout(&validate).contains("1 job(s) valid"),
        "{}",
        stdout(&validate)
    );
    let next = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("Next: aurora-apply "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .expect("a next command");
    assert_eq!(next, "repo/specs/");
    let apply = w.run(&[&next, "--auto-approve"]);
    expect_code(&apply, 0);
    assert!(
        stdout(&apply).contains("devcluster/www-data/prod/hello")
            || stderr(&apply).contains("devcluster/www-data/prod/hello"),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&apply),
        stderr(&apply)
    );
    expect_code(&w.run(&["repo/specs", "--auto-approve"]), 0);
    expect_code(&w.run(&["plan", "repo/specs", "--detailed-exitcode"]), 0);
    // The emulator keeps its state beside the new clusters.json.
    assert!(
        w.path("repo/specs/.aurora-sim/devcluster/state.json")
            .is_file()
    );
}

#[test]
fn init_never_overwrites_and_checks_every_file_first() {
    let w = Work::new();
    // In the current directory by default.
    expect_code(&w.run(&["init"]), 0);
    let before = w.tree("");
    assert_eq!(before.len(), FILES.len(), "{:?}", before.keys());
    let again = w.run(&["init"]);
    expect_code(&again, 3);
    for file in FILES {
        assert!(stderr(&again).contains(file), "{file}:\n{}", stderr(&again));
    }
    assert_eq!(w.tree(""), before, "a refused init changed files");

    // One file in the way is enough, and nothing else is written.
    std::fs::create_dir_all(w.path("other")).expect("mkdir");
    std::fs::write(w.path("other/.taplo.toml"), "# mine\n").expect("write");
    let refused = w.run(&["init", "other"]);
    expect_code(&refused, 3);
    assert!(
        stderr(&refused).contains("other/.taplo.toml"),
        "{}",
        stderr(&refused)
    );
    assert!(
        !stderr(&refused).contains("clusters.json"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(w.read("other/.taplo.toml"), "# mine\n");
    assert_eq!(w.tree("other").len(), 1, "{:?}", w.tree("other").keys());
}

#[test]
fn init_with_clusters_writes_their_entries_and_the_example_uses_the_first() {
    let w = Work::new();
    let dir = w.path("repo");
    let out = w
        .cmd()
        .arg("init")
        .arg(&dir)
        .args([
            "--cluster",
            "a=http://x:8081/api",
            "--cluster",
            "b=zk://h:2181/aurora/scheduler",
        ])
        .output()
        .expect("runs");
    expect_code(&out, 0);
    let tmp = w.dir.path().display().to_string();
    insta::assert_snapshot!("init_clusters_stdout", stdout(&out).replace(&tmp, "[TMP]"));
    insta::assert_snapshot!(
        "init_clusters_clusters_json",
        w.read("repo/specs/clusters.json")
    );
    let clusters: Value = serde_json::from_str(&w.read("repo/specs/clusters.json")).expect("JSON");
    assert_eq!(clusters[0]["scheduler_uri"], "http://x:8081/api");
    assert_eq!(clusters[1]["zk"], "h");
    assert_eq!(clusters[1]["zk_port"], 2181);
    assert_eq!(clusters[1]["scheduler_zk_path"], "/aurora/scheduler");
    let spec = w.read("repo/specs/hello.aurora-apply.yaml");
    assert!(spec.contains("key: a/www-data/prod/hello "), "{spec}");
    // No sim:// cluster: no emulator state to keep out of git.
    assert!(!w.path("repo/specs/.gitignore").exists());
    let validate = w.run(&["validate", dir.join("specs").to_str().expect("utf-8")]);
    expect_code(&validate, 0);
}

#[test]
fn init_refuses_bad_clusters_and_writes_nothing() {
    let w = Work::new();
    for args in [
        &["--cluster", "a=ftp://x"][..],
        &["--cluster", "a/b=http://x:8081"],
        &["--cluster", "a=zk://h1:2181,h2:2182/aurora/scheduler"],
        &["--cluster", "a=zk://h:2181"],
        &[
            "--cluster",
            "a=http://x:8081",
            "--cluster",
            "a=http://y:8081",
        ],
    ] {
        let mut all = vec!["init", "repo"];
        all.extend_from_slice(args);
        let out = w.run(&all);
        expect_code(&out, 3);
        assert!(!w.path("repo").exists(), "{args:?} wrote files");
    }
}
