//! `aurora-apply lsp` driven over stdio as an editor drives it: framed JSON-RPC messages
//! (Content-Length headers) on the real binary's stdin/stdout. The diagnostics are compared
//! with what `aurora-apply validate -o json` says about the same file, field by field, so the
//! server cannot drift from the command line. Two more tests run real editors headless:
//! Neovim's built-in LSP client (Debian's `neovim`) and Emacs with eglot (Debian's
//! `emacs-nox`, `elpa-eglot`, `elpa-yaml-mode`), configured as docs/editors.md says;
//! `scripts/test` installs them.

#[path = "support/lsp_client.rs"]
mod lsp_client;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use lsp_client::Client;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_aurora-apply");

/// Two errors: a misspelt key (`cpus`) and a cluster no clusters.json names (`east`).
const BROKEN: &str = r#"apiVersion: aurora-apply/v1
jobs:
  - key: west/www-data/prod/hello
    kind: service
    resources: { cpus: 1, ram: 128MiB, disk: 128MiB }
    ports: [http]
    task:
      processes:
        - { name: setup, cmdline: "true" }
        - { name: hello, cmdline: "serve --port={{thermos.ports[http]}} --admin={{thermos.ports[admin]}}" }
      order: [[setup, hello]]
  - key: east/www-data/prod/batch
    kind: adhoc
    resources: { cpu: 0.5, ram: 64MiB, disk: 64MiB }
    task:
      processes:
        - { name: run, cmdline: "echo run" }
"#;

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("clusters.json"),
        r#"[{"name": "west", "scheduler_uri": "http://west.example:8081"}]"#,
    )
    .expect("clusters.json");
    dir
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// `validate -o json FILE`'s diagnostics, run where the server runs.
fn validate(dir: &Path, file: &Path) -> Vec<Value> {
    lsp_client::validate_diagnostics(BIN, dir, file)
}

/// `aurora-apply lsp` started in `dir`, as an editor starts it.
fn start_server(dir: &Path) -> Client {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .arg("lsp")
        .env("AURORA_CONFIG_ROOT", dir.join("no-aurora-config"))
        .env("HOME", dir);
    Client::start(command)
}

/// 0-based (line, UTF-16 column) of a byte offset.
fn lsp_pos(text: &str, offset: usize) -> (i64, i64) {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line as i64, before[start..].encode_utf16().count() as i64)
}

/// The LSP diagnostics equal validate's: count, order, code, message (+ help), range.
fn assert_same(lsp: &[Value], validate: &[Value], text: &str) {
    assert_eq!(
        lsp.len(),
        validate.len(),
        "lsp: {lsp:#?}\nvalidate: {validate:#?}"
    );
    for (l, v) in lsp.iter().zip(validate) {
        assert_eq!(l["code"], v["code"]);
        assert_eq!(l["source"], "aurora-apply");
        let mut message = v["message"].as_str().expect("message").to_string();
        if let Some(help) = v["help"].as_str() {
            message.push_str(&format!("\n\nhelp: {help}"));
        }
        assert_eq!(l["message"], message.as_str());
        let start = v["span"]["start"].as_u64().expect("span") as usize;
        let len = v["span"]["len"].as_u64().expect("span") as usize;
        let (line, col) = lsp_pos(text, start);
        assert_eq!(l["range"]["start"], json!({"line": line, "character": col}));
        // validate's 1-based line and column are the same place.
        assert_eq!(v["line"], json!(line + 1));
        assert_eq!(v["column"], json!(col + 1));
        let (eline, ecol) = lsp_pos(text, start + len);
        assert_eq!(l["range"]["end"], json!({"line": eline, "character": ecol}));
    }
}

fn pos_of(text: &str, needle: &str, delta: usize) -> Value {
    let at = text.find(needle).expect(needle) + delta;
    let (line, character) = lsp_pos(text, at);
    json!({"line": line, "character": character})
}

fn labels(completion: &Value) -> Vec<String> {
    let items = completion
        .as_array()
        .or_else(|| completion["items"].as_array())
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|i| i["label"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn an_editor_session_over_stdio() {
    let dir = workspace();
    let spec = dir.path().join("hello.aurora-apply.yaml");
    std::fs::write(&spec, BROKEN).expect("write spec");
    let uri = uri(&spec);
    let expected = validate(dir.path(), &spec);
    assert_eq!(expected.len(), 2, "the spec has two errors: {expected:#?}");

    let mut server = start_server(dir.path());
    let init = server.request(
        "initialize",
        json!({"processId": null, "rootUri": crate::uri(dir.path()),
               "capabilities": {"textDocument": {"completion": {"completionItem": {"snippetSupport": true}}}}}),
    );
    let caps = &init["capabilities"];
    assert_eq!(caps["textDocumentSync"], 1, "full sync: {caps}");
    for cap in [
        "hoverProvider",
        "completionProvider",
        "codeActionProvider",
        "documentSymbolProvider",
        "definitionProvider",
    ] {
        assert!(!caps[cap].is_null(), "{cap} in {caps}");
    }
    server.notify("initialized", json!({}));

    // didOpen: validate's two diagnostics.
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": BROKEN}}),
    );
    let diags = server.diagnostics(&uri, 1);
    assert_same(&diags, &expected, BROKEN);
    for d in &diags {
        eprintln!(
            "publishDiagnostics v1: {}:{} {} {}",
            d["range"]["start"]["line"], d["range"]["start"]["character"], d["code"], d["message"]
        );
    }

    // didChange fixing one (rapid changes: only the last text is checked).
    let fixed = BROKEN.replace("cpus:", "cpu:");
    server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "garbage: ["}]}),
    );
    server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": fixed}]}),
    );
    let diags = server.diagnostics(&uri, 3);
    std::fs::write(&spec, &fixed).expect("write fixed spec");
    let expected = validate(dir.path(), &spec);
    assert_eq!(expected.len(), 1, "{expected:#?}");
    assert_same(&diags, &expected, &fixed);
    assert_eq!(diags[0]["code"], "aurora_spec::unknown_cluster");

    // Document symbols: one per job, named by its key, the kind as detail.
    let symbols = server.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    let names: Vec<(Value, Value)> = symbols
        .as_array()
        .expect("symbols")
        .iter()
        .map(|s| (s["name"].clone(), s["detail"].clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            (json!("west/www-data/prod/hello"), json!("service")),
            (json!("east/www-data/prod/batch"), json!("adhoc")),
        ]
    );

    // Hover on `cpu`: the schema's description and the Aurora field.
    let hover = server.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": pos_of(&fixed, "cpu:", 1)}),
    );
    let text = hover["contents"]["value"].as_str().expect("markdown hover");
    eprintln!("hover on cpu:\n{text}");
    assert!(text.contains("CPU cores"), "{text}");
    assert!(text.contains("Resource.numCpus"), "{text}");

    // Completion inside a job: its keys; `kind:` values; clusters in `key:`; processes in
    // `order`.
    let with_blank = fixed.replace("    kind: service\n", "    kind: service\n    \n");
    server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": with_blank}]}),
    );
    let blank = pos_of(&with_blank, "service\n    \n", 12);
    let keys = labels(&server.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": blank}),
    ));
    eprintln!("completion in a job: {keys:?}");
    for k in ["instances", "update", "health_check"] {
        assert!(keys.contains(&k.to_string()), "{k} in {keys:?}");
    }
    // Keys the job already has are not offered again.
    for k in ["key", "kind", "resources", "task"] {
        assert!(
            !keys.contains(&k.to_string()),
            "{k} offered again: {keys:?}"
        );
    }
    let kinds = labels(&server.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": pos_of(&with_blank, "kind: service", 6)}),
    ));
    assert_eq!(
        kinds,
        ["service", "adhoc", "cron"].map(String::from).to_vec()
    );
    let clusters = labels(&server.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": pos_of(&with_blank, "key: west", 5)}),
    ));
    assert_eq!(clusters, vec!["west/".to_string()]);
    let order = labels(&server.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": pos_of(&with_blank, "order: [[setup", 9)}),
    ));
    assert_eq!(order, vec!["setup".to_string(), "hello".to_string()]);
    let ports = labels(&server.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": pos_of(&with_blank, "ports[http]", 6)}),
    ));
    assert_eq!(ports, vec!["http".to_string(), "admin".to_string()]);
    // Variants come as snippets (this client said it expands them): the choice and its mapping.
    let completion = server.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": blank}),
    );
    let docker = completion
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["label"] == "container: docker")
        .expect("a `container: docker` item");
    assert_eq!(docker["insertTextFormat"], 2);
    assert_eq!(docker["insertText"], "container:\n  docker:\n    $0");

    // A misspelt key again: its quick fix replaces it with validate's suggestion.
    server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 5}, "contentChanges": [{"text": BROKEN}]}),
    );
    let diags = server.diagnostics(&uri, 5);
    let unknown: Vec<Value> = diags
        .iter()
        .filter(|d| d["code"] == "aurora_spec::unknown_field")
        .cloned()
        .collect();
    assert_eq!(unknown.len(), 1, "{diags:#?}");
    let actions = server.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": unknown[0]["range"],
            "context": {"diagnostics": unknown},
        }),
    );
    let action = &actions[0];
    assert_eq!(action["kind"], "quickfix");
    assert_eq!(action["title"], "Replace with `cpu`");
    let edit = &action["edit"]["changes"][uri.as_str()][0];
    assert_eq!(edit["newText"], "cpu");
    assert_eq!(edit["range"], unknown[0]["range"]);
    assert_eq!(edit["range"]["start"], pos_of(BROKEN, "cpus", 0));

    // didClose clears the file's diagnostics.
    server.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    let cleared = server.wait_for("cleared diagnostics", |m| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
    });
    assert_eq!(cleared["params"]["diagnostics"], json!([]));

    assert_eq!(server.request("shutdown", Value::Null), Value::Null);
    server.notify("exit", Value::Null);
    assert_eq!(server.exit_code(), Some(0));
}

#[test]
fn toml_and_json_documents_and_data_file_definition() {
    let dir = workspace();
    std::fs::write(dir.path().join("payload.json"), "{}").expect("payload");
    let toml = dir.path().join("jobs.aurora-apply.toml");
    let text = r#"apiVersion = "aurora-apply/v1"

[[jobs]]
key = "west/www-data/prod/custom"
kind = "adhoc"
resources = { cpu = 1, ram = "64MiB", disk = "64MiB", gpus = 1 }
executor = { name = "AuroraExecutor", data_file = "payload.json" }

[[jobs]]
key = "wst/www-data/prod/other"
kind = "adhoc"
resources = { cpu = 1, ram = "64MiB", disk = "64MiB" }
executor = { name = "AuroraExecutor", data_file = "payload.json" }
"#;
    std::fs::write(&toml, text).expect("write");
    let expected = validate(dir.path(), &toml);
    assert!(!expected.is_empty());
    let json_file: PathBuf = dir.path().join("broken.json");
    let json_text = "{\"apiVersion\": \"aurora-apply/v1\", \"jobs\": [ {\"key\": 1} ]}\n";
    std::fs::write(&json_file, json_text).expect("write");
    let json_expected = validate(dir.path(), &json_file);

    let mut server = start_server(dir.path());
    server.request("initialize", json!({"processId": null, "capabilities": {}}));
    server.notify("initialized", json!({}));
    let uri = uri(&toml);
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "toml", "version": 1, "text": text}}),
    );
    let diags = server.diagnostics(&uri, 1);
    assert_same(&diags, &expected, text);
    let json_uri = crate::uri(&json_file);
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": json_uri, "languageId": "json", "version": 7, "text": json_text}}),
    );
    assert_same(&server.diagnostics(&json_uri, 7), &json_expected, json_text);

    // JSON being typed (it does not parse): completion follows the brackets.
    let typing = "{\"apiVersion\": \"aurora-apply/v1\", \"jobs\": [ {\"kind\": ";
    server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": json_uri, "version": 8}, "contentChanges": [{"text": typing}]}),
    );
    let kinds = labels(&server.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": json_uri}, "position": pos_of(typing, "\"kind\": ", 8)}),
    ));
    assert_eq!(
        kinds,
        ["service", "adhoc", "cron"].map(String::from).to_vec()
    );
    let files = labels(&server.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": pos_of(text, "payload.json", 1)}),
    ));
    assert!(files.contains(&"payload.json".to_string()), "{files:?}");
    // An unknown cluster at the key: the fix replaces the cluster part only.
    let cluster: Vec<Value> = diags
        .iter()
        .filter(|d| d["code"] == "aurora_spec::unknown_cluster")
        .cloned()
        .collect();
    assert_eq!(cluster.len(), 1, "{diags:#?}");
    let actions = server.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": cluster[0]["range"], "context": {"diagnostics": cluster}}),
    );
    let edit = &actions[0]["edit"]["changes"][uri.as_str()][0];
    assert_eq!(edit["newText"], "west");
    assert_eq!(edit["range"]["start"], pos_of(text, "wst/", 0));
    assert_eq!(edit["range"]["end"], pos_of(text, "wst/", 3));
    let def = server.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": pos_of(text, "payload.json", 3)}),
    );
    assert_eq!(def["uri"], crate::uri(&dir.path().join("payload.json")));
    assert_eq!(server.request("shutdown", Value::Null), Value::Null);
    server.notify("exit", Value::Null);
    assert_eq!(server.exit_code(), Some(0));
}

/// A real editor: Neovim's built-in LSP client, headless, runs tests/nvim_lsp.lua against the
/// binary. Needs Debian's `neovim` (`scripts/test` installs it); without it the test fails.
#[test]
fn neovim_shows_the_diagnostics_and_a_completion_list() {
    let dir = workspace();
    let spec = dir.path().join("hello.aurora-apply.yaml");
    std::fs::write(&spec, BROKEN).expect("write spec");
    let expected = validate(dir.path(), &spec);
    let out = dir.path().join("nvim.out");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nvim_lsp.lua");
    // Completion at the start of the second key of the first job: the job's keys.
    let (line, col) = lsp_pos(BROKEN, BROKEN.find("    kind: service").expect("kind") + 4);
    let child = Command::new("nvim")
        .current_dir(dir.path())
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c"])
        .arg(format!("luafile {}", script.display()))
        .env("AURORA_APPLY", BIN)
        .env("SPEC", &spec)
        .env("OUT", &out)
        .env("LINE", line.to_string())
        .env("COL", col.to_string())
        .env("AURORA_CONFIG_ROOT", dir.path().join("no-aurora-config"))
        .env("HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            panic!("nvim could not be run ({e}): install Debian's neovim (scripts/test does)")
        }
    };
    let (tx, rx) = channel();
    let mut stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        let _ = tx.send((child.wait(), err));
    });
    let (status, err) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("nvim finishes");
    let status = status.expect("wait for nvim");
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    eprintln!("neovim:\n{text}");
    assert!(status.success(), "nvim: {status}\n{err}\n{text}");
    assert!(text.ends_with("done\n"), "{text}\n{err}");
    assert!(!text.contains("error:"), "{text}");
    let diags: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("diagnostic "))
        .collect();
    assert_eq!(diags.len(), expected.len(), "{text}");
    for (got, v) in diags.iter().zip(&expected) {
        let mut message = v["message"].as_str().expect("message").to_string();
        if let Some(help) = v["help"].as_str() {
            message.push_str(&format!("  help: {help}"));
        }
        let want = format!(
            "diagnostic {}:{} {} {message}",
            v["line"],
            v["column"],
            v["code"].as_str().expect("code")
        );
        assert_eq!(*got, want);
    }
    let completion = text
        .lines()
        .find_map(|l| l.strip_prefix("completion "))
        .expect("a completion list");
    let labels: Vec<&str> = completion.split('|').collect();
    // The line typed on is `kind:` (offered); the job's other keys are not offered again.
    for k in ["instances", "kind", "update"] {
        assert!(labels.contains(&k), "{k} in {labels:?}");
    }
    for k in ["resources", "task"] {
        assert!(!labels.contains(&k), "{k} offered again: {labels:?}");
    }
}

/// Waits for an editor run headless, at most `secs`; its stderr and exit status.
fn wait_for_editor(mut child: Child, secs: u64, what: &str) -> (std::process::ExitStatus, String) {
    let (tx, rx) = channel();
    let mut stderr = child.stderr.take().expect("stderr");
    let pid = child.id();
    std::thread::spawn(move || {
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        let _ = tx.send((child.wait(), err));
    });
    let (status, err) = rx
        .recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{what} (pid {pid}) did not finish within {secs} s"));
    (status.expect("wait for the editor"), err)
}

/// The first fenced block of `lang` under the `## heading` of docs/editors.md.
fn docs_block(heading: &str, lang: &str) -> String {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/editors.md");
    let text = std::fs::read_to_string(&docs).expect("docs/editors.md");
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("docs/editors.md has no `## {heading}`"));
    let fence = format!("```{lang}\n");
    let start = section
        .find(&fence)
        .unwrap_or_else(|| panic!("no ```{lang} block under `## {heading}`"))
        + fence.len();
    let len = section[start..].find("```").expect("closing fence");
    section[start..start + len].to_string()
}

/// Runs tests/emacs_lsp.el in `emacs --batch` on `spec` in `dir`, with the Emacs block of
/// docs/editors.md as the configuration and `aurora-apply` on PATH; what it wrote.
fn run_emacs(dir: &Path, spec: &Path, line: i64, col: i64) -> String {
    let config = dir.join("editors-md.el");
    std::fs::write(&config, docs_block("Emacs", "elisp")).expect("write config");
    let out = dir.join("emacs.out");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emacs_lsp.el");
    let bin_dir = Path::new(BIN).parent().expect("the binary's folder");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let child = Command::new("emacs")
        .current_dir(dir)
        .arg("--batch")
        .arg("-l")
        .arg(&script)
        .env("PATH", path)
        .env("CONFIG", &config)
        .env("SPEC", spec)
        .env("OUT", &out)
        .env("LINE", line.to_string())
        .env("COL", col.to_string())
        .env("AURORA_CONFIG_ROOT", dir.join("no-aurora-config"))
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "emacs could not be run ({e}): install Debian's emacs-nox, elpa-eglot and \
                 elpa-yaml-mode (run scripts/test, which does)"
            )
        });
    let (status, err) = wait_for_editor(child, 60, "emacs");
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    eprintln!("emacs:\n{text}");
    assert!(status.success(), "emacs: {status}\n{err}\n{text}");
    assert!(text.ends_with("done\n"), "{text}\n{err}");
    assert!(!text.contains("error:"), "{text}");
    text
}

/// Each `diagnostic` line of an Emacs run is validate's diagnostic as flymake shows eglot's:
/// `SOURCE [CODE]: MESSAGE`, at validate's line and column.
fn assert_emacs_diagnostics(text: &str, expected: &[Value]) {
    let diags: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("diagnostic "))
        .collect();
    assert_eq!(diags.len(), expected.len(), "{text}");
    for (got, v) in diags.iter().zip(expected) {
        let mut message = v["message"].as_str().expect("message").to_string();
        if let Some(help) = v["help"].as_str() {
            message.push_str(&format!("  help: {help}"));
        }
        let want = format!(
            "diagnostic {}:{} eglot-error aurora-apply [{}]: {message}",
            v["line"],
            v["column"],
            v["code"].as_str().expect("code")
        );
        assert_eq!(*got, want);
    }
}

fn emacs_completion(text: &str) -> Vec<&str> {
    text.lines()
        .find_map(|l| l.strip_prefix("completion "))
        .expect("a completion list")
        .split('|')
        .collect()
}

/// A real editor: Emacs with eglot, in batch mode, configured with the Emacs block of
/// docs/editors.md as written, finds `aurora-apply` on PATH, shows the diagnostics through
/// flymake and offers the completion list (tests/emacs_lsp.el). Needs Debian's `emacs-nox`,
/// `elpa-eglot` and `elpa-yaml-mode` (`scripts/test` installs them); without them it fails.
#[test]
fn emacs_eglot_shows_the_diagnostics_and_a_completion_list() {
    let dir = workspace();
    let spec = dir.path().join("hello.aurora-apply.yaml");
    std::fs::write(&spec, BROKEN).expect("write spec");
    let expected = validate(dir.path(), &spec);
    let (line, col) = lsp_pos(BROKEN, BROKEN.find("    kind: service").expect("kind") + 4);
    let text = run_emacs(dir.path(), &spec, line, col);
    // The docs' set-up picked the spec's mode (elpa-yaml-mode's).
    assert!(text.starts_with("mode yaml-mode eglot "), "{text}");
    assert_emacs_diagnostics(&text, &expected);
    let labels = emacs_completion(&text);
    // The candidates are what eglot inserts: `key: ` for keys, plain text for variants
    // (eglot without yasnippet expands no snippets, so none is sent).
    for k in [
        "instances: ",
        "kind: ",
        "update: ",
        r"container:\n  docker:\n    ",
    ] {
        assert!(labels.contains(&k), "{k:?} in {labels:?}");
    }
    for k in ["resources: ", "task: "] {
        assert!(!labels.contains(&k), "{k} offered again: {labels:?}");
    }
    assert!(
        !labels.iter().any(|l| l.contains("$0")),
        "a snippet sent to a client without snippets: {labels:?}"
    );
}

/// TOML specs in Emacs 28: the built-in `conf-toml-mode` (Debian 12 has no TOML mode package)
/// is in the docs' list, so the same set-up serves them.
#[test]
fn emacs_eglot_serves_toml_specs_in_conf_toml_mode() {
    let dir = workspace();
    let text = "apiVersion = \"aurora-apply/v1\"\n\n[[jobs]]\nkey = \"west/www-data/prod/web\"\n\nkind = \"service\"\nresources = { cpus = 1, ram = \"128MiB\", disk = \"128MiB\" }\ntask = { processes = [{ name = \"web\", cmdline = \"serve\" }] }\n";
    let spec = dir.path().join("web.aurora-apply.toml");
    std::fs::write(&spec, text).expect("write spec");
    let expected = validate(dir.path(), &spec);
    assert_eq!(expected.len(), 1, "{expected:#?}");
    // On the blank line inside the job: a job's keys, TOML-style.
    let out = run_emacs(dir.path(), &spec, 4, 0);
    assert!(out.starts_with("mode conf-toml-mode eglot "), "{out}");
    assert_emacs_diagnostics(&out, &expected);
    let labels = emacs_completion(&out);
    for k in ["instances = ", "update = "] {
        assert!(labels.contains(&k), "{k:?} in {labels:?}");
    }
}
