//! The schema in TOML editors: Taplo (the toolkit of VS Code's Even Better TOML), run on a
//! repository `aurora-apply init` set up, with the `.taplo.toml` init writes and nothing else.
//!
//! Taplo is the pinned npm package of scripts/editor-tools, installed by `scripts/test` into
//! target/tools (outside git); without it the test fails and says to run scripts/test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_aurora-apply");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn taplo(dir: &Path, file: &str) -> Output {
    let cli = repo().join("target/tools/node_modules/@taplo/cli/dist/cli.js");
    assert!(
        cli.exists(),
        "{} is missing: run scripts/test, which installs the pinned Taplo (scripts/editor-tools) \
         with npm",
        cli.display()
    );
    Command::new("node")
        .arg(&cli)
        .args(["lint", "--colors", "never", file])
        .current_dir(dir)
        .env("RUST_LOG", "error")
        .output()
        .expect("run taplo")
}

const TYPO: &str = r#"apiVersion = "aurora-apply/v1"

[[jobs]]
key = "devcluster/www-data/prod/web"
kind = "service"
resources = { cpus = 1, ram = "128MiB", disk = "128MiB" }
task = { processes = [{ name = "web", cmdline = "serve" }] }
"#;

const BOTH_PAYLOADS: &str = r#"apiVersion = "aurora-apply/v1"

[[jobs]]
key = "devcluster/www-data/prod/web"
kind = "service"
resources = { cpu = 1, ram = "128MiB", disk = "128MiB" }
executor = { name = "MyExecutor", data = "{}" }
task = { processes = [{ name = "web", cmdline = "serve" }] }
"#;

#[test]
fn taplo_checks_toml_specs_with_the_config_init_writes() {
    // Not tempfile's `.tmpXXXX`: globs commonly skip folders whose name starts with a dot.
    let dir = tempfile::Builder::new()
        .prefix("taplo-")
        .tempdir()
        .expect("tempdir");
    let init = Command::new(BIN)
        .current_dir(dir.path())
        .args(["init", "repo"])
        .env("NO_COLOR", "1")
        .env("AURORA_CONFIG_ROOT", dir.path().join("no-aurora-config"))
        .env("HOME", dir.path())
        .output()
        .expect("run init");
    assert!(init.status.success(), "{init:?}");
    let root = dir.path().join("repo");
    assert!(root.join(".taplo.toml").exists(), "init writes .taplo.toml");
    let specs = root.join("specs");
    // The repository's TOML example without its `#:schema` line (which points at this
    // repository's schema/): the schema comes from .taplo.toml alone.
    let example = std::fs::read_to_string(repo().join("specs/web.aurora-apply.toml"))
        .expect("the TOML example");
    let example: String = example
        .lines()
        .filter(|l| !l.starts_with("#:schema"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(specs.join("web.aurora-apply.toml"), example).expect("write");
    std::fs::write(specs.join("typo.aurora-apply.toml"), TYPO).expect("write");
    std::fs::write(specs.join("custom.aurora-apply.toml"), BOTH_PAYLOADS).expect("write");

    let version = Command::new("node")
        .arg(repo().join("target/tools/node_modules/@taplo/cli/dist/cli.js"))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    eprintln!("{version}");

    // The repository's own TOML example is valid.
    let ok = taplo(&root, "specs/web.aurora-apply.toml");
    assert!(ok.status.success(), "{ok:?}");

    // An unknown key, at its line; the message names it.
    let typo = taplo(&root, "specs/typo.aurora-apply.toml");
    let err = String::from_utf8_lossy(&typo.stderr).to_string();
    eprintln!("typo.aurora-apply.toml:\n{err}");
    assert!(!typo.status.success(), "{err}");
    assert!(err.contains("'cpus' was unexpected"), "{err}");
    assert!(err.contains("typo.aurora-apply.toml:6:"), "{err}");

    // An exclusive pair: reported at the key that must go (Taplo does not read
    // `errorMessage`, so the words are its own).
    let both = taplo(&root, "specs/custom.aurora-apply.toml");
    let err = String::from_utf8_lossy(&both.stderr).to_string();
    eprintln!("custom.aurora-apply.toml:\n{err}");
    assert!(!both.status.success(), "{err}");
    assert!(err.contains("custom.aurora-apply.toml:8:"), "{err}");
    assert!(!err.contains("custom.aurora-apply.toml:7:"), "{err}");
}
