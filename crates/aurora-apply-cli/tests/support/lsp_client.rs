//! A language-server client for tests, as an editor is one: framed JSON-RPC (Content-Length
//! headers) over a child process's stdin/stdout, every wait bounded by a deadline. Requests
//! from the server (`workspace/configuration`, `client/registerCapability`, …) are answered
//! as VS Code answers them: settings from `settings` by section, `null` otherwise.
//! Used by `lsp.rs` (aurora-apply lsp) and `yaml_language_server.rs`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const DEADLINE: Duration = Duration::from_secs(30);

pub struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
    /// What `workspace/configuration` answers, looked up by each item's `section`.
    pub settings: Value,
    /// Requests the server sent, by method, in order.
    pub server_requests: Vec<String>,
}

impl Client {
    /// Starts `command` with piped stdin/stdout (stderr goes to the test's).
    pub fn start(mut command: Command) -> Client {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        len = n.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("Content-Length header")];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let msg: Value = serde_json::from_slice(&body).expect("a JSON-RPC message");
                if std::env::var_os("LSP_TRACE").is_some() {
                    eprintln!("<- {msg}");
                }
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            messages,
            next_id: 1,
            settings: Value::Null,
            server_requests: Vec::new(),
        }
    }

    pub fn send(&mut self, msg: Value) {
        let body = serde_json::to_string(&msg).expect("json");
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Answers a request from the server.
    fn answer(&mut self, req: &Value) {
        let method = req["method"].as_str().unwrap_or_default().to_string();
        let result = if method == "workspace/configuration" {
            let items = req["params"]["items"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            Value::Array(
                items
                    .iter()
                    .map(|item| {
                        let section = item["section"].as_str().unwrap_or_default();
                        section
                            .split('.')
                            .filter(|s| !s.is_empty())
                            .fold(&self.settings, |v, k| &v[k])
                            .clone()
                    })
                    .collect(),
            )
        } else {
            Value::Null
        };
        self.server_requests.push(method);
        let id = req["id"].clone();
        self.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
    }

    /// The first message `want` accepts; requests from the server are answered, other
    /// messages skipped; fails at the deadline.
    pub fn wait_for(&mut self, what: &str, mut want: impl FnMut(&Value) -> bool) -> Value {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(m) if want(&m) => return m,
                Ok(m) if m.get("method").is_some() && m.get("id").is_some() => self.answer(&m),
                Ok(_) => {}
                Err(e) => panic!("no {what} within {DEADLINE:?}: {e}"),
            }
        }
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let resp = self.wait_for(method, |m| {
            m["id"] == json!(id) && m.get("method").is_none()
        });
        assert!(resp.get("error").is_none(), "{method}: {resp}");
        resp["result"].clone()
    }

    /// The next diagnostics published for `uri` that `want` accepts.
    pub fn diagnostics_where(
        &mut self,
        uri: &str,
        mut want: impl FnMut(&Value) -> bool,
    ) -> Vec<Value> {
        let m = self.wait_for("publishDiagnostics", |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && want(&m["params"])
        });
        m["params"]["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The diagnostics published for `uri` at `version`.
    pub fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        self.diagnostics_where(uri, |p| p["version"] == version)
    }

    /// Waits for the process to end (after `exit`); its exit code.
    pub fn exit_code(mut self) -> Option<i32> {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(self.child.wait());
        });
        let status = rx
            .recv_timeout(DEADLINE)
            .expect("the server exits")
            .expect("wait");
        status.code()
    }
}

/// The diagnostics `aurora-apply validate -o json` gives for `file`, run in `dir` with no
/// Aurora configuration: what every editor's diagnostics are compared with.
pub fn validate_diagnostics(
    bin: &str,
    dir: &std::path::Path,
    file: &std::path::Path,
) -> Vec<Value> {
    let out = Command::new(bin)
        .current_dir(dir)
        .args(["validate", "-o", "json"])
        .arg(file)
        .env("AURORA_CONFIG_ROOT", dir.join("no-aurora-config"))
        .env("HOME", dir)
        .output()
        .expect("run validate");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("validate's JSON");
    doc["diagnostics"].as_array().cloned().unwrap_or_default()
}
