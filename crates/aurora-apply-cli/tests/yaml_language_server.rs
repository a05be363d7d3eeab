//! The schema in the editor most users have: yaml-language-server, the engine of VS Code's YAML
//! extension (`redhat.vscode-yaml`), driven over stdio as that extension drives it, with the
//! `yaml.schemas` setting docs/editors.md gives (cut out of the docs, not copied). Spec files
//! named `*.aurora-apply.yaml` without a modeline find the schema through that setting alone.
//!
//! The server is the pinned npm package of scripts/editor-tools, installed by `scripts/test`
//! into target/tools (outside git); without it the test fails and says to run scripts/test.

#[path = "support/lsp_client.rs"]
mod lsp_client;

use std::path::{Path, PathBuf};
use std::process::Command;

use lsp_client::Client;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_aurora-apply");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The JSON settings block of docs/editors.md that sets `yaml.schemas`, as VS Code's nested
/// configuration (`{"yaml": {"schemas": …}}`).
fn docs_yaml_settings() -> Value {
    let text = std::fs::read_to_string(repo().join("docs/editors.md")).expect("docs/editors.md");
    let block = text
        .split("```json\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("\"yaml.schemas\""))
        .expect("docs/editors.md has a ```json block with \"yaml.schemas\"");
    let flat: Value = serde_json::from_str(block).expect("the block is JSON");
    let mut nested = json!({});
    for (key, value) in flat.as_object().expect("an object") {
        let (section, rest) = key.split_once('.').expect("a dotted VS Code setting");
        nested[section][rest] = value.clone();
    }
    nested
}

/// A job field's own (plain) description in the committed schema.
fn job_field_description(field: &str) -> String {
    let text = std::fs::read_to_string(repo().join("schema/aurora-apply.v1.json")).expect("schema");
    let schema: Value = serde_json::from_str(&text).expect("schema JSON");
    let d = &schema["definitions"]["JobSpec"]["properties"][field];
    d["markdownDescription"]
        .as_str()
        .or(d["description"].as_str())
        .unwrap_or_else(|| panic!("JobSpec.{field} has a description"))
        .to_string()
}

fn server_script() -> PathBuf {
    let script =
        repo().join("target/tools/node_modules/yaml-language-server/bin/yaml-language-server");
    assert!(
        script.exists(),
        "{} is missing: run scripts/test, which installs the pinned yaml-language-server \
         (scripts/editor-tools) with npm",
        script.display()
    );
    script
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// (line, character) of the first `needle` in `text`, plus `delta` characters (ASCII text).
fn pos(text: &str, needle: &str, delta: usize) -> Value {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} in the text"))
        + delta;
    let line = text[..offset].matches('\n').count();
    let col = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": col})
}

fn labels(completion: &Value) -> Vec<String> {
    let items = completion
        .get("items")
        .or(Some(completion))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .map(|i| i["label"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `validate`'s messages for `file`.
fn validate_messages(dir: &Path, file: &Path) -> Vec<String> {
    lsp_client::validate_diagnostics(BIN, dir, file)
        .iter()
        .map(|d| d["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

const TYPO: &str = "apiVersion: aurora-apply/v1
jobs:
  - key: devcluster/www-data/prod/hello
    kind: service
    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }
    update: { watch: 30s }
    task:
      processes:
        - name: hello
          cmdline: serve
          retries: 2
";

const CRON: &str = "apiVersion: aurora-apply/v1
jobs:
  - key: devcluster/www-data/prod/nightly
    kind: cron
    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }
    task:
      processes:
        - { name: run, cmdline: run }
";

const BOTH_PAYLOADS: &str = "apiVersion: aurora-apply/v1
jobs:
  - key: devcluster/www-data/prod/custom
    kind: service
    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }
    executor: { name: MyExecutor, data: '{}' }
    task:
      processes:
        - { name: run, cmdline: run }
";

const EDITING: &str = "apiVersion: aurora-apply/v1

jobs:
  - key: devcluster/www-data/prod/hello
    kind: service
    \n";

#[test]
fn vs_codes_yaml_server_reads_the_schema_from_the_documented_setting() {
    let script = server_script();
    // Not tempfile's `.tmpXXXX`: yaml-language-server's globs (picomatch) match no path with
    // a folder whose name starts with a dot, so `**/*.aurora-apply.yaml` would find nothing
    // there (docs/editors.md says so).
    let dir = tempfile::Builder::new()
        .prefix("yaml-ls-")
        .tempdir()
        .expect("tempdir");
    let root = dir.path();
    // What `aurora-apply init` lays out: the schema under specs/.schema, specs beside it.
    std::fs::create_dir_all(root.join("specs/.schema")).expect("mkdir");
    std::fs::copy(
        repo().join("schema/aurora-apply.v1.json"),
        root.join("specs/.schema/aurora-apply.v1.json"),
    )
    .expect("copy the schema");

    let mut settings = docs_yaml_settings();
    // The extension's defaults for what the test relies on; the public catalog is not
    // reachable here (and must not be needed: the setting names the schema).
    settings["yaml"]["validate"] = json!(true);
    settings["yaml"]["hover"] = json!(true);
    settings["yaml"]["completion"] = json!(true);
    settings["yaml"]["schemaStore"] = json!({"enable": false});

    let mut command = Command::new("node");
    command.arg(&script).arg("--stdio").current_dir(root);
    let mut server = Client::start(command);
    server.settings = settings.clone();
    let init = server.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": uri(root),
            "workspaceFolders": [{"uri": uri(root), "name": "w"}],
            "capabilities": {
                "workspace": {"configuration": true, "didChangeConfiguration": {"dynamicRegistration": true}},
                "textDocument": {
                    "completion": {"completionItem": {"snippetSupport": true, "documentationFormat": ["markdown", "plaintext"]}},
                    "hover": {"contentFormat": ["markdown", "plaintext"]}
                }
            }
        }),
    );
    let version = init["serverInfo"]["version"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    eprintln!("yaml-language-server {version}");
    server.notify("initialized", json!({}));
    server.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": settings}),
    );

    let open = |server: &mut Client, name: &str, text: &str| -> (PathBuf, String) {
        let path = root.join("specs").join(name);
        std::fs::write(&path, text).expect("write spec");
        let uri = uri(&path);
        server.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
        );
        (path, uri)
    };
    let show = |name: &str, diags: &[Value]| {
        for d in diags {
            eprintln!(
                "{name} diagnostic {}:{} {}",
                d["range"]["start"]["line"].as_i64().unwrap_or(-1) + 1,
                d["range"]["start"]["character"].as_i64().unwrap_or(-1) + 1,
                d["message"].as_str().unwrap_or_default().replace('\n', " ")
            );
        }
    };

    // An unknown key, at its line (5, 0-based 4; `cpu` is right there, so `retries` is used
    // for the unknown key: a process has no such field).
    let (_, typo_uri) = open(&mut server, "typo.aurora-apply.yaml", TYPO);
    let diags = server.diagnostics_where(&typo_uri, |p| {
        p["diagnostics"].as_array().is_some_and(|d| !d.is_empty())
    });
    show("typo.aurora-apply.yaml", &diags);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["message"], "Property retries is not allowed.");
    assert_eq!(diags[0]["range"]["start"], pos(TYPO, "retries", 0));

    // `kind: cron` without `cron:`.
    let (_, cron_uri) = open(&mut server, "nightly.aurora-apply.yaml", CRON);
    let diags = server.diagnostics_where(&cron_uri, |p| {
        p["diagnostics"].as_array().is_some_and(|d| !d.is_empty())
    });
    show("nightly.aurora-apply.yaml", &diags);
    assert!(
        diags
            .iter()
            .any(|d| d["message"] == "Missing property \"cron\"."),
        "{diags:#?}"
    );

    // An exclusive pair: the editor says what `validate` says, at the key that must go.
    let (both_path, both_uri) = open(&mut server, "custom.aurora-apply.yaml", BOTH_PAYLOADS);
    let diags = server.diagnostics_where(&both_uri, |p| {
        p["diagnostics"].as_array().is_some_and(|d| !d.is_empty())
    });
    show("custom.aurora-apply.yaml", &diags);
    let from_validate = validate_messages(root, &both_path);
    let wanted =
        "`task` builds the Thermos payload; it cannot be combined with executor `data`/`data_file`";
    assert!(
        from_validate.iter().any(|m| m == wanted),
        "{from_validate:?}"
    );
    let exclusive = diags
        .iter()
        .find(|d| d["message"] == wanted)
        .unwrap_or_else(|| panic!("validate's words in the editor: {diags:#?}"));
    assert_eq!(exclusive["range"]["start"], pos(BOTH_PAYLOADS, "task:", 0));
    assert!(
        !diags
            .iter()
            .any(|d| d["message"] == "Matches a schema that is not allowed."),
        "{diags:#?}"
    );

    // Completion: top-level keys on the blank line, a job's keys under `kind:`.
    let (_, edit_uri) = open(&mut server, "edit.aurora-apply.yaml", EDITING);
    let top = labels(&server.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": edit_uri}, "position": {"line": 1, "character": 0}}),
    ));
    eprintln!("completion (top level) {}", top.join("|"));
    // `apiVersion` and `jobs` are there already; yaml-language-server leaves them out.
    assert!(top.iter().any(|l| l == "defaults"), "{top:?}");
    assert!(!top.iter().any(|l| l == "kind"), "{top:?}");
    let job = labels(&server.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": edit_uri}, "position": {"line": 5, "character": 4}}),
    ));
    eprintln!("completion (job) {}", job.join("|"));
    for k in ["resources", "task", "update", "cron", "instances"] {
        assert!(job.iter().any(|l| l == k), "{k} in {job:?}");
    }
    assert!(!job.iter().any(|l| l == "apiVersion"), "{job:?}");

    // Hover on a field whose type is a reference: its own text and default.
    let hover = server.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": typo_uri}, "position": pos(TYPO, "watch", 1)}),
    );
    let contents = hover["contents"]["value"]
        .as_str()
        .or(hover["contents"].as_str())
        .unwrap_or_default()
        .to_string();
    eprintln!("hover watch: {}", contents.replace('\n', " / "));
    assert!(
        contents.contains("How long an instance must stay running"),
        "{contents}"
    );
    assert!(contents.contains("Default 45s"), "{contents}");
    // And on a field whose type is an object with its own title and text.
    let hover = server.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": typo_uri}, "position": pos(TYPO, "update", 1)}),
    );
    let contents = hover["contents"]["value"].as_str().unwrap_or_default();
    eprintln!("hover update: {}", contents.replace('\n', " / "));
    let own = job_field_description("update");
    assert!(contents.contains(&own), "{own:?} in {contents}");

    // The server asked for the settings as VS Code's extension lets it.
    assert!(
        server
            .server_requests
            .iter()
            .any(|m| m == "workspace/configuration"),
        "{:?}",
        server.server_requests
    );
    assert_eq!(server.request("shutdown", Value::Null), Value::Null);
    server.notify("exit", Value::Null);
    assert_eq!(server.exit_code(), Some(0));
}
