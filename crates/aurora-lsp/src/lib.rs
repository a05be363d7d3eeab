//! aurora-lsp: the language server behind `aurora-apply lsp`, for YAML, TOML and JSON spec
//! files, over stdio with rust-analyzer's synchronous `lsp-server`.
//!
//! * Diagnostics are exactly `aurora-apply validate`'s: the loader runs on the editor's text
//!   (format from the extension, `data_file` resolved from the file's folder), every
//!   [`aurora_spec::Diagnostic`] becomes an LSP diagnostic with the same message, code and
//!   location (UTF-16 columns), the help appended, related locations attached. Checks run
//!   on open and change, debounced: rapid changes are coalesced and only the latest text is
//!   checked once no message has arrived for [`DEBOUNCE`].
//! * Document symbols (one per job, named by its key), hover (the schema's description,
//!   default and example, and the Aurora field from the spec reference), completion (keys,
//!   enum values, cluster names, process names in `order`), "did you mean" quick fixes and
//!   go-to-definition on `data_file`.

mod cursor;
mod schema;
mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use aurora_spec::load::node::{Node, Value};
use aurora_spec::{Format, SourceFile};
use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types as lsp;
use serde_json::json;

pub use schema::Seg;

/// How long the text must stay unchanged before it is checked.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// The `source` of every diagnostic.
pub const SOURCE: &str = "aurora-apply";

/// Finds the cluster names a document is checked against (the CLI's clusters.json discovery
/// for the document's path): `Ok(None)` when no clusters file was found, `Err` with a
/// sentence when one could not be read.
pub type ClusterLookup = dyn Fn(&Path) -> Result<Option<Vec<String>>, String>;

/// How the server runs.
pub struct Options {
    /// The clusters a document's jobs may name.
    pub known_clusters: Box<ClusterLookup>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options").finish_non_exhaustive()
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            known_clusters: Box::new(|_| Ok(None)),
        }
    }
}

/// A server error (the connection broke, or the client broke the protocol).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Serves on stdin/stdout until the client says `exit`.
pub fn serve_stdio(options: Options) -> Result<(), Error> {
    let (connection, io_threads) = Connection::stdio();
    serve(&connection, options)?;
    drop(connection);
    io_threads.join()?;
    Ok(())
}

/// What `initialize` answers: only what is implemented.
pub fn capabilities() -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(
            lsp::TextDocumentSyncKind::FULL,
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some([":", "[", ",", "{"].iter().map(|s| s.to_string()).collect()),
            ..lsp::CompletionOptions::default()
        }),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(vec![lsp::CodeActionKind::QUICKFIX]),
                ..lsp::CodeActionOptions::default()
            },
        )),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        ..lsp::ServerCapabilities::default()
    }
}

/// Serves one connection: initialize, then requests and notifications until shutdown/exit.
pub fn serve(connection: &Connection, options: Options) -> Result<(), Error> {
    let caps = serde_json::to_value(capabilities())?;
    let (id, params) = connection.initialize_start()?;
    // Snippets only for clients that say they expand them (eglot without yasnippet,
    // Neovim 0.7 do not: they would insert `$0` literally).
    let snippets = params
        .pointer("/capabilities/textDocument/completion/completionItem/snippetSupport")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    connection.initialize_finish(
        id,
        json!({
            "capabilities": caps,
            "serverInfo": {"name": "aurora-apply", "version": env!("CARGO_PKG_VERSION")},
        }),
    )?;
    let mut server = Server {
        connection,
        options,
        docs: HashMap::new(),
        dirty: Vec::new(),
        schema: schema::Schema::new(),
        snippets,
    };
    loop {
        let msg = if server.dirty.is_empty() {
            match connection.receiver.recv() {
                Ok(m) => m,
                Err(_) => return Ok(()),
            }
        } else {
            match connection.receiver.recv_timeout(DEBOUNCE) {
                Ok(m) => m,
                Err(e) if e.is_timeout() => {
                    server.check_dirty()?;
                    continue;
                }
                Err(_) => return Ok(()),
            }
        };
        match msg {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    return Ok(());
                }
                server.request(req)?;
            }
            Message::Notification(n) => {
                if n.method == "exit" {
                    return Ok(());
                }
                // A malformed notification is logged (editors show the server's stderr)
                // and skipped: it must not end the session.
                if let Err(e) = server.notification(n) {
                    eprintln!("aurora-apply lsp: {e}");
                }
            }
            Message::Response(_) => {}
        }
    }
}

struct Doc {
    uri: lsp::Uri,
    version: i32,
    text: String,
    /// The tree of the latest text that parsed (completion uses it while the text is broken).
    last_tree: Option<Node>,
}

struct Server<'a> {
    connection: &'a Connection,
    options: Options,
    docs: HashMap<String, Doc>,
    dirty: Vec<String>,
    schema: schema::Schema,
    /// The client expands snippets (`$0`); otherwise completions insert plain text.
    snippets: bool,
}

fn format_of(uri: &str) -> Format {
    let lower = uri.to_ascii_lowercase();
    if lower.ends_with(".toml") {
        Format::Toml
    } else if lower.ends_with(".json") {
        Format::Json
    } else {
        Format::Yaml
    }
}

impl Doc {
    fn path(&self) -> Option<PathBuf> {
        text::uri_to_path(self.uri.as_str())
    }

    /// The source as `validate PATH` reads it: the path as name, the format from the
    /// extension, relative paths resolved from the file's folder.
    fn source(&self) -> SourceFile {
        let path = self.path();
        let name = path.as_ref().map_or_else(
            || self.uri.as_str().to_string(),
            |p| p.display().to_string(),
        );
        let file = SourceFile::new(name, self.text.as_str(), format_of(self.uri.as_str()));
        match path.as_ref().and_then(|p| p.parent()) {
            Some(dir) => file.with_base_dir(dir),
            None => file,
        }
    }

    fn tree(&self) -> Option<Node> {
        aurora_spec::load::parse::parse(&self.source()).ok()
    }
}

impl Server<'_> {
    fn send(&self, msg: impl Into<Message>) -> Result<(), Error> {
        self.connection.sender.send(msg.into())?;
        Ok(())
    }

    fn notification(&mut self, n: Notification) -> Result<(), Error> {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let p: lsp::DidOpenTextDocumentParams = serde_json::from_value(n.params)?;
                let key = p.text_document.uri.as_str().to_string();
                self.docs.insert(
                    key.clone(),
                    Doc {
                        uri: p.text_document.uri,
                        version: p.text_document.version,
                        text: p.text_document.text,
                        last_tree: None,
                    },
                );
                self.mark(key);
            }
            "textDocument/didChange" => {
                let p: lsp::DidChangeTextDocumentParams = serde_json::from_value(n.params)?;
                let key = p.text_document.uri.as_str().to_string();
                if let Some(doc) = self.docs.get_mut(&key) {
                    // Full sync: the last change holds the whole text.
                    if let Some(change) = p.content_changes.into_iter().last() {
                        doc.text = change.text;
                    }
                    doc.version = p.text_document.version;
                    self.mark(key);
                }
            }
            "textDocument/didClose" => {
                let p: lsp::DidCloseTextDocumentParams = serde_json::from_value(n.params)?;
                let key = p.text_document.uri.as_str().to_string();
                self.docs.remove(&key);
                self.dirty.retain(|d| *d != key);
                self.publish(p.text_document.uri, Vec::new(), None)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn mark(&mut self, key: String) {
        if !self.dirty.contains(&key) {
            self.dirty.push(key);
        }
    }

    fn check_dirty(&mut self) -> Result<(), Error> {
        for key in std::mem::take(&mut self.dirty) {
            let Some(doc) = self.docs.get_mut(&key) else {
                continue;
            };
            if let Some(tree) = doc.tree() {
                doc.last_tree = Some(tree);
            }
            let diags = diagnostics(doc, &self.options);
            let (uri, version) = (doc.uri.clone(), doc.version);
            self.publish(uri, diags, Some(version))?;
        }
        Ok(())
    }

    fn publish(
        &self,
        uri: lsp::Uri,
        diagnostics: Vec<lsp::Diagnostic>,
        version: Option<i32>,
    ) -> Result<(), Error> {
        let params = lsp::PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        self.send(Notification::new(
            "textDocument/publishDiagnostics".into(),
            params,
        ))
    }

    fn request(&mut self, req: Request) -> Result<(), Error> {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            "textDocument/documentSymbol" => self
                .with_doc(req, |s, d, _: lsp::DocumentSymbolParams| {
                    Ok(serde_json::to_value(s.symbols(d))?)
                }),
            "textDocument/hover" => self.with_doc(req, |s, d, p: lsp::HoverParams| {
                let pos = p.text_document_position_params.position;
                Ok(serde_json::to_value(s.hover(d, pos))?)
            }),
            "textDocument/completion" => self.with_doc(req, |s, d, p: lsp::CompletionParams| {
                let pos = p.text_document_position.position;
                Ok(serde_json::to_value(s.completion(d, pos))?)
            }),
            "textDocument/codeAction" => self.with_doc(req, |_, d, p: lsp::CodeActionParams| {
                Ok(serde_json::to_value(code_actions(d, &p))?)
            }),
            "textDocument/definition" => {
                self.with_doc(req, |_, d, p: lsp::GotoDefinitionParams| {
                    let pos = p.text_document_position_params.position;
                    Ok(serde_json::to_value(definition(d, pos))?)
                })
            }
            _ => {
                return self.send(Response::new_err(
                    id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("{} is not implemented", req.method),
                ));
            }
        };
        match result {
            Ok(v) => self.send(Response::new_ok(id, v)),
            Err(e) => self.send(Response::new_err(
                id,
                lsp_server::ErrorCode::InvalidParams as i32,
                e.to_string(),
            )),
        }
    }

    /// Runs `f` on the document a request names (params deserialized as `P`).
    fn with_doc<P: serde::de::DeserializeOwned + HasUri>(
        &mut self,
        req: Request,
        f: impl FnOnce(&Self, &Doc, P) -> Result<serde_json::Value, Error>,
    ) -> Result<serde_json::Value, Error> {
        let p: P = serde_json::from_value(req.params)?;
        let key = p.uri().as_str().to_string();
        match self.docs.get(&key) {
            Some(doc) => f(self, doc, p),
            None => Ok(serde_json::Value::Null),
        }
    }

    fn symbols(&self, doc: &Doc) -> Vec<lsp::DocumentSymbol> {
        symbols_of(doc)
    }
}

/// A symbol per job, with a child per entry of its `targets:` named by the key that entry
/// expands to (the job's key with the entry's `cluster`/`role`/`environment`/`name`).
fn symbols_of(doc: &Doc) -> Vec<lsp::DocumentSymbol> {
    let Some(tree) = doc.tree().or_else(|| doc.last_tree.clone()) else {
        return Vec::new();
    };
    let Some(Node {
        value: Value::Seq(jobs),
        ..
    }) = tree.get("jobs")
    else {
        return Vec::new();
    };
    jobs.iter()
        .enumerate()
        .map(|(i, job)| {
            let key = job.get("key");
            let name = match key.map(|k| &k.value) {
                Some(Value::Str(s)) => s.clone(),
                _ => {
                    let parts: Vec<String> = ["cluster", "role", "environment", "name"]
                        .iter()
                        .filter_map(|p| match job.get(p).map(|n| &n.value) {
                            Some(Value::Str(s)) => Some(s.clone()),
                            _ => None,
                        })
                        .collect();
                    if parts.len() == 4 {
                        parts.join("/")
                    } else {
                        format!("jobs[{i}]")
                    }
                }
            };
            let detail = match job.get("kind").map(|k| &k.value) {
                Some(Value::Str(s)) => Some(s.clone()),
                _ => None,
            };
            let (start, end) = cursor::extent(job);
            let range = text::range(&doc.text, start, end - start);
            let selection = key.map_or(range, |k| text::range(&doc.text, k.span.start, k.span.len));
            let children = target_symbols(doc, job, &name, detail.as_deref());
            job_symbol(name, detail, range, selection, children)
        })
        .collect()
}

/// The children of a job's symbol: one per `targets:` entry, named by the key it expands to.
fn target_symbols(
    doc: &Doc,
    job: &Node,
    base: &str,
    kind: Option<&str>,
) -> Option<Vec<lsp::DocumentSymbol>> {
    let Some(Node {
        value: Value::Seq(entries),
        ..
    }) = job.get("targets")
    else {
        return None;
    };
    let base: Vec<&str> = base.split('/').collect();
    let symbols = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let part = |field: &str, index: usize| match entry.get(field).map(|n| &n.value) {
                Some(Value::Str(s)) => s.clone(),
                _ => base
                    .get(index)
                    .map_or_else(String::new, |s| (*s).to_string()),
            };
            let name = if base.len() == 4 {
                ["cluster", "role", "environment", "name"]
                    .iter()
                    .enumerate()
                    .map(|(i, f)| part(f, i))
                    .collect::<Vec<_>>()
                    .join("/")
            } else {
                format!("targets[{i}]")
            };
            let detail = match entry.get("kind").map(|k| &k.value) {
                Some(Value::Str(s)) => Some(s.clone()),
                _ => kind.map(str::to_string),
            };
            let (start, end) = cursor::extent(entry);
            let range = text::range(&doc.text, start, end - start);
            job_symbol(name, detail, range, range, None)
        })
        .collect();
    Some(symbols)
}

impl Server<'_> {
    fn hover(&self, doc: &Doc, pos: lsp::Position) -> Option<lsp::Hover> {
        let offset = text::offset(&doc.text, pos);
        // From the tree; for YAML that does not parse yet, from the indentation.
        let (path, name, start, end) = match doc.tree() {
            Some(tree) => {
                let (path, key, _) = cursor::entry_at(&tree, offset)?;
                (
                    path,
                    key.name.clone(),
                    key.span.start,
                    key.span.start + key.span.len,
                )
            }
            None if format_of(doc.uri.as_str()) == Format::Yaml => {
                let (path, start, end) = cursor::yaml_key_at(&doc.text, offset)?;
                let name = doc.text[start..end].to_string();
                (path, name, start, end)
            }
            None => return None,
        };
        let field = self.schema.field(&path);
        if field.description.is_none() && field.values.is_empty() {
            return None;
        }
        let mut md = format!("**`{name}`**");
        if let Some(d) = &field.description {
            md.push_str("\n\n");
            md.push_str(d);
        }
        if !field.values.is_empty() {
            md.push_str("\n\nOne of: ");
            md.push_str(
                &field
                    .values
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        if let Some(d) = &field.default {
            md.push_str(&format!("\n\nDefault: `{d}`"));
        }
        if let Some(e) = &field.example {
            md.push_str(&format!("\n\nExample: `{name}: {e}`"));
        }
        if let Some(a) = self.schema.aurora_name(&path) {
            md.push_str(&format!("\n\nAurora: {a}"));
        }
        Some(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: md,
            }),
            range: Some(text::range(&doc.text, start, end - start)),
        })
    }

    fn completion(&self, doc: &Doc, pos: lsp::Position) -> lsp::CompletionResponse {
        let offset = text::offset(&doc.text, pos);
        let typing = match format_of(doc.uri.as_str()) {
            Format::Yaml => cursor::yaml_typing(&doc.text, offset),
            Format::Toml => cursor::toml_typing(&doc.text, offset),
            Format::Json => cursor::json_typing(&doc.text, offset),
        };
        let mut items = Vec::new();
        let line_start = doc.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_prefix = &doc.text[line_start..offset];
        // `{{thermos.ports[` in a command line: the job's port names.
        if let Some(at) = line_prefix.rfind("thermos.ports[")
            && line_prefix[at + "thermos.ports[".len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            for name in port_names(doc, offset) {
                items.push(value_item(name, "port"));
            }
            return lsp::CompletionResponse::Array(items);
        }
        let yaml = format_of(doc.uri.as_str()) == Format::Yaml;
        match typing {
            Some(cursor::Typing::Key(path)) => {
                // Keys already written in the block are not offered again (YAML; TOML and
                // JSON keep every key).
                let present = if yaml {
                    cursor::yaml_sibling_keys(&doc.text, offset)
                } else {
                    std::collections::BTreeSet::new()
                };
                for (key, description) in self.schema.keys(&path) {
                    if present.contains(&key) {
                        continue;
                    }
                    let mut key_path = path.clone();
                    key_path.push(Seg::Key(key.clone()));
                    // Variants (`container: docker`): the choice and its mapping, as a snippet
                    // (the cursor ends inside the mapping) or as plain text.
                    if yaml {
                        for (variant, about) in self.schema.variants(&key_path) {
                            let (end, format) = if self.snippets {
                                ("$0", lsp::InsertTextFormat::SNIPPET)
                            } else {
                                ("", lsp::InsertTextFormat::PLAIN_TEXT)
                            };
                            items.push(lsp::CompletionItem {
                                label: format!("{key}: {variant}"),
                                kind: Some(lsp::CompletionItemKind::SNIPPET),
                                documentation: about.map(lsp::Documentation::String),
                                insert_text: Some(format!("{key}:\n  {variant}:\n    {end}")),
                                insert_text_format: Some(format),
                                filter_text: Some(key.clone()),
                                ..lsp::CompletionItem::default()
                            });
                        }
                    }
                    items.push(lsp::CompletionItem {
                        label: key.clone(),
                        kind: Some(lsp::CompletionItemKind::PROPERTY),
                        documentation: description.map(lsp::Documentation::String),
                        insert_text: match format_of(doc.uri.as_str()) {
                            Format::Yaml => Some(format!("{key}: ")),
                            Format::Toml => Some(format!("{key} = ")),
                            Format::Json => None,
                        },
                        ..lsp::CompletionItem::default()
                    });
                }
            }
            Some(cursor::Typing::Value(path)) => {
                let keys = schema::keys_of(&path);
                let last = keys.last().copied().unwrap_or("");
                // A job's own keys: in `jobs`, `defaults` or a job's `targets`.
                let in_job = matches!(keys.first(), Some(&"jobs" | &"defaults")) && keys.len() == 2
                    || matches!(keys.as_slice(), ["jobs", "targets", _]);
                if in_job && (last == "cluster" || last == "key") {
                    let clusters = doc
                        .path()
                        .and_then(|p| (self.options.known_clusters)(&p).ok().flatten())
                        .unwrap_or_default();
                    for c in clusters {
                        let label = if last == "key" { format!("{c}/") } else { c };
                        items.push(value_item(label, "cluster"));
                    }
                } else if last == "data_file" {
                    let typed = line_prefix
                        .rsplit([':', '=', '"', '\'', ' '])
                        .next()
                        .unwrap_or("");
                    for (label, dir) in data_files(doc, typed) {
                        items.push(value_item(label, if dir { "folder" } else { "file" }));
                    }
                } else if last == "order" {
                    for name in process_names(doc, offset) {
                        items.push(value_item(name, "process"));
                    }
                } else {
                    for v in self.schema.field(&path).values {
                        items.push(value_item(v, "value"));
                    }
                }
            }
            None => {}
        }
        lsp::CompletionResponse::Array(items)
    }
}

fn value_item(label: String, detail: &str) -> lsp::CompletionItem {
    lsp::CompletionItem {
        label,
        kind: Some(lsp::CompletionItemKind::VALUE),
        detail: Some(detail.to_string()),
        ..lsp::CompletionItem::default()
    }
}

/// The jobs around `offset` in the latest tree that parsed (every job when it is in none).
fn jobs_at(doc: &Doc, offset: usize) -> Vec<Node> {
    let Some(tree) = doc.tree().or_else(|| doc.last_tree.clone()) else {
        return Vec::new();
    };
    let Some(Value::Seq(jobs)) = tree.get("jobs").map(|j| &j.value) else {
        return Vec::new();
    };
    let here: Vec<Node> = jobs
        .iter()
        .filter(|j| {
            let (start, end) = cursor::extent(j);
            start <= offset && offset <= end
        })
        .cloned()
        .collect();
    if here.is_empty() { jobs.clone() } else { here }
}

/// The port names of the job around `offset`: its `ports` list and the names its command
/// lines already use.
fn port_names(doc: &Doc, offset: usize) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |n: &str| {
        if !n.is_empty() && !names.iter().any(|o| o == n) {
            names.push(n.to_string());
        }
    };
    for job in jobs_at(doc, offset) {
        if let Some(Value::Seq(ports)) = job.get("ports").map(|p| &p.value) {
            for p in ports {
                if let Value::Str(n) = &p.value {
                    add(n);
                }
            }
        }
        let (start, end) = cursor::extent(&job);
        let text = doc.text.get(start..end).unwrap_or("");
        for part in text.split("thermos.ports[").skip(1) {
            if let Some((name, _)) = part.split_once(']') {
                add(name);
            }
        }
    }
    names
}

/// `data_file` candidates: the JSON files and folders under the spec's folder, following what
/// is typed (`payloads/` lists that folder). Labels are the paths relative to the spec.
fn data_files(doc: &Doc, typed: &str) -> Vec<(String, bool)> {
    let Some(base) = doc.path().and_then(|p| p.parent().map(Path::to_path_buf)) else {
        return Vec::new();
    };
    let (dir_part, _) = typed.rsplit_once('/').unwrap_or(("", typed));
    let prefix = if dir_part.is_empty() {
        String::new()
    } else {
        format!("{dir_part}/")
    };
    let Ok(entries) = std::fs::read_dir(base.join(dir_part)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, bool)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if name.starts_with('.') {
                return None;
            }
            let dir = e.path().is_dir();
            (dir || name.ends_with(".json")).then(|| {
                let slash = if dir { "/" } else { "" };
                (format!("{prefix}{name}{slash}"), dir)
            })
        })
        .collect();
    out.sort();
    out
}

/// The process names of the job around `offset` (from the latest tree that parsed; every
/// job's when the cursor is in none).
fn process_names(doc: &Doc, offset: usize) -> Vec<String> {
    let jobs = jobs_at(doc, offset);
    let mut names = Vec::new();
    for job in &jobs {
        if let Some(Value::Seq(ps)) = job
            .get("task")
            .and_then(|t| t.get("processes"))
            .map(|p| &p.value)
        {
            for p in ps {
                if let Some(Value::Str(n)) = p.get("name").map(|n| &n.value)
                    && !names.contains(n)
                {
                    names.push(n.clone());
                }
            }
        }
    }
    names
}

/// The document's diagnostics: `validate`'s for this file.
fn diagnostics(doc: &Doc, options: &Options) -> Vec<lsp::Diagnostic> {
    let source = doc.source();
    let mut out = Vec::new();
    let known = match doc.path() {
        Some(p) => match (options.known_clusters)(&p) {
            Ok(k) => k,
            Err(e) => {
                out.push(lsp::Diagnostic {
                    range: lsp::Range::default(),
                    severity: Some(lsp::DiagnosticSeverity::ERROR),
                    source: Some(SOURCE.into()),
                    message: e,
                    ..lsp::Diagnostic::default()
                });
                None
            }
        },
        None => None,
    };
    let opts = aurora_spec::LoadOptions {
        rules: aurora_spec::Rules {
            known_clusters: known,
            ..aurora_spec::Rules::default()
        },
        ..Default::default()
    };
    // A project file (aurora-apply.yaml) is not a spec: it gets the project file's checks.
    // A spec's warnings (a variable nothing uses) are shown too, as warnings.
    let project = doc
        .path()
        .is_some_and(|p| aurora_spec::project::is_project_file_name(&p));
    let diags = if project {
        match aurora_spec::project::load(&source, opts.rules.known_clusters.as_deref()) {
            Ok(_) => return out,
            Err(diags) => diags,
        }
    } else {
        match aurora_spec::load_sources_with(std::slice::from_ref(&source), &opts) {
            Ok(loaded) => loaded.warnings,
            Err(diags) => diags,
        }
    };
    for d in diags.sorted() {
        out.push(to_lsp(doc, &source, &d));
    }
    out
}

/// One diagnostic: same message (help appended after a blank line), code and location.
pub fn convert_diagnostic(
    uri: &lsp::Uri,
    text: &str,
    d: &aurora_spec::Diagnostic,
) -> lsp::Diagnostic {
    let here = |f: &SourceFile| f.text.as_ref() == text;
    let range = match (&d.file, d.span) {
        (Some(f), Some(s)) if here(f) => text::range(text, s.start, s.len),
        _ => lsp::Range::default(),
    };
    let mut message = d.message.clone();
    if let Some(h) = &d.help {
        message.push_str("\n\nhelp: ");
        message.push_str(h);
    }
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|r| {
            let (uri, range) = if here(&r.file) {
                (uri.clone(), text::range(text, r.span.start, r.span.len))
            } else {
                let uri =
                    lsp::Uri::from_str(&text::path_to_uri(Path::new(r.file.name.as_ref()))).ok()?;
                (uri, text::range(&r.file.text, r.span.start, r.span.len))
            };
            Some(lsp::DiagnosticRelatedInformation {
                location: lsp::Location { uri, range },
                message: r.label.clone(),
            })
        })
        .collect();
    lsp::Diagnostic {
        range,
        severity: Some(if d.is_error() {
            lsp::DiagnosticSeverity::ERROR
        } else {
            lsp::DiagnosticSeverity::WARNING
        }),
        code: Some(lsp::NumberOrString::String(d.code.as_str().to_string())),
        source: Some(SOURCE.into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        data: Some(json!({"path": d.path, "label": d.label, "help": d.help})),
        ..lsp::Diagnostic::default()
    }
}

fn to_lsp(doc: &Doc, source: &SourceFile, d: &aurora_spec::Diagnostic) -> lsp::Diagnostic {
    convert_diagnostic(&doc.uri, &source.text, d)
}

/// "did you mean `x`?" quick fixes for the diagnostics the client sends back.
// `WorkspaceEdit::changes` is keyed by `Uri`, whose lazily parsed parts clippy takes for
// interior mutability; its hash and equality are those of the text, which never changes.
#[allow(clippy::mutable_key_type)]
fn code_actions(doc: &Doc, p: &lsp::CodeActionParams) -> Vec<lsp::CodeActionOrCommand> {
    let mut out = Vec::new();
    for d in &p.context.diagnostics {
        if d.source.as_deref() != Some(SOURCE) {
            continue;
        }
        let help = d
            .data
            .as_ref()
            .and_then(|v| v.get("help"))
            .and_then(|h| h.as_str())
            .unwrap_or(&d.message);
        let Some(suggestion) = help
            .split("did you mean `")
            .nth(1)
            .and_then(|s| s.split('`').next())
        else {
            continue;
        };
        let start = text::offset(&doc.text, d.range.start);
        let end = text::offset(&doc.text, d.range.end).max(start);
        let old = &doc.text[start..end];
        // The wrong word is the message's first quoted one (`unknown cluster `wst``); only it
        // is replaced (an unknown cluster is located at the whole `key`). Otherwise the
        // whole range is, quotes kept.
        let wrong = d.message.split('`').nth(1).filter(|w| !w.is_empty());
        let (range, new_text) = match wrong.and_then(|w| old.find(w).map(|i| (i, w.len()))) {
            Some((i, n)) => (text::range(&doc.text, start + i, n), suggestion.to_string()),
            None => match old.chars().next() {
                Some(q @ ('"' | '\'')) => (d.range, format!("{q}{suggestion}{q}")),
                _ => (d.range, suggestion.to_string()),
            },
        };
        let mut changes = HashMap::new();
        changes.insert(doc.uri.clone(), vec![lsp::TextEdit { range, new_text }]);
        out.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
            title: format!("Replace with `{suggestion}`"),
            kind: Some(lsp::CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![d.clone()]),
            edit: Some(lsp::WorkspaceEdit {
                changes: Some(changes),
                ..lsp::WorkspaceEdit::default()
            }),
            is_preferred: Some(true),
            ..lsp::CodeAction::default()
        }));
    }
    out
}

/// `data_file: payload.json` → the file, resolved from the spec's folder.
fn definition(doc: &Doc, pos: lsp::Position) -> Option<lsp::GotoDefinitionResponse> {
    let offset = text::offset(&doc.text, pos);
    let tree = doc.tree()?;
    let (path, _, value) = cursor::entry_at(&tree, offset)?;
    if path.last() != Some(&Seg::Key("data_file".into())) {
        return None;
    }
    let Value::Str(rel) = &value.value else {
        return None;
    };
    let dir = doc.path()?.parent()?.to_path_buf();
    let target = dir.join(rel);
    let uri = lsp::Uri::from_str(&text::path_to_uri(&target)).ok()?;
    Some(lsp::GotoDefinitionResponse::Scalar(lsp::Location {
        uri,
        range: lsp::Range::default(),
    }))
}

/// Request params that name a document.
trait HasUri {
    fn uri(&self) -> &lsp::Uri;
}

impl HasUri for lsp::DocumentSymbolParams {
    fn uri(&self) -> &lsp::Uri {
        &self.text_document.uri
    }
}
impl HasUri for lsp::HoverParams {
    fn uri(&self) -> &lsp::Uri {
        &self.text_document_position_params.text_document.uri
    }
}
impl HasUri for lsp::CompletionParams {
    fn uri(&self) -> &lsp::Uri {
        &self.text_document_position.text_document.uri
    }
}
impl HasUri for lsp::CodeActionParams {
    fn uri(&self) -> &lsp::Uri {
        &self.text_document.uri
    }
}
impl HasUri for lsp::GotoDefinitionParams {
    fn uri(&self) -> &lsp::Uri {
        &self.text_document_position_params.text_document.uri
    }
}

/// An outline entry for a job or one of its targets (`deprecated` is a field the type
/// still requires).
fn job_symbol(
    name: String,
    detail: Option<String>,
    range: lsp::Range,
    selection_range: lsp::Range,
    children: Option<Vec<lsp::DocumentSymbol>>,
) -> lsp::DocumentSymbol {
    #[allow(deprecated)]
    lsp::DocumentSymbol {
        name,
        detail,
        kind: lsp::SymbolKind::OBJECT,
        tags: None,
        deprecated: None,
        range,
        selection_range,
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_server::RequestId;

    fn note(method: &str, params: serde_json::Value) -> Message {
        Notification::new(method.into(), params).into()
    }

    /// `initialize` (as request 1) and `initialized`, as an editor opens a session.
    fn handshake(send: &impl Fn(Message)) {
        send(
            Request::new(
                RequestId::from(1),
                "initialize".into(),
                json!({"capabilities": {}}),
            )
            .into(),
        );
        send(note("initialized", json!({})));
    }

    fn text_change(uri: &str, version: i32, text: &str) -> Message {
        note(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        )
    }

    /// A project file gets the project file's checks, not a spec's.
    #[test]
    fn a_project_file_is_checked_as_one() {
        let doc = |text: &str| Doc {
            uri: "file:///nonexistent/p/aurora-apply.yaml"
                .parse()
                .expect("uri"),
            version: 1,
            text: text.to_string(),
            last_tree: None,
        };
        let valid = doc("apiVersion: aurora-apply/v1\nrollout: { stages: [[a]], soak: 1m }\n");
        assert!(diagnostics(&valid, &Options::default()).is_empty());
        let typo = doc("apiVersion: aurora-apply/v1\nrolout: {}\n");
        let found = diagnostics(&typo, &Options::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("did you mean `rollout`?"),
            "{found:?}"
        );
    }

    /// Changes queued faster than they are checked: only the latest text is checked.
    #[test]
    fn rapid_changes_are_coalesced() {
        let (server, client) = Connection::memory();
        let uri = "file:///nonexistent/aurora-lsp-test/a.yaml";
        let send = |m: Message| client.sender.send(m).expect("send");
        handshake(&send);
        send(note(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": "jobs: ["}}),
        ));
        send(text_change(uri, 2, "apiVersion: nope\n"));
        send(text_change(
            uri,
            3,
            "apiVersion: aurora-apply/v1\njobs: []\n",
        ));
        let handle = std::thread::spawn(move || serve(&server, Options::default()));
        let recv = || {
            client
                .receiver
                .recv_timeout(Duration::from_secs(30))
                .expect("a message")
        };
        assert!(matches!(recv(), Message::Response(r) if r.id == RequestId::from(1)));
        let Message::Notification(n) = recv() else {
            panic!("publishDiagnostics expected");
        };
        assert_eq!(n.method, "textDocument/publishDiagnostics");
        let p: lsp::PublishDiagnosticsParams = serde_json::from_value(n.params).expect("params");
        assert_eq!(p.version, Some(3), "only the latest version is checked");
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        send(
            Request::new(
                RequestId::from(2),
                "shutdown".into(),
                serde_json::Value::Null,
            )
            .into(),
        );
        assert!(matches!(recv(), Message::Response(r) if r.id == RequestId::from(2)));
        send(note("exit", serde_json::Value::Null));
        handle.join().expect("server thread").expect("clean exit");
    }

    /// No position crashes the server: hover, completion and definition at every line and
    /// column of documents with multi-byte characters, broken syntax and positions past the
    /// end, in all three formats; every request is answered and the session ends cleanly.
    #[test]
    fn every_position_of_any_document_is_answered() {
        let docs = [
            (
                "a.yaml",
                "apiVersion: aurora-apply/v1\njobs:\n  - key: dévcluster/wẘw/prod/h\n    kind: service\n    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }\n    task: { processes: [{ name: ä, cmdline: \"echo ✓ {{thermos.ports[\" }] }\n    executor: { name: X, data_file: ./é\n    cron: [\n",
            ),
            (
                "b.toml",
                "apiVersion = \"aurora-apply/v1\"\n[[jobs]]\nkey = \"c/r/é/n\"\nresources = { cpu = 1, ram = \"1GiB\" \n[jobs.task]\norder = [\"ü\", \n",
            ),
            (
                "c.json",
                "{\"apiVersion\": \"aurora-apply/v1\", \"jobs\": [{\"key\": \"ä/b/c/d\", \"task\": {\"processes\": [{\"name\": \"✓\", ",
            ),
        ];
        let (server, client) = Connection::memory();
        let send = |m: Message| client.sender.send(m).expect("send");
        let handle = std::thread::spawn(move || serve(&server, Options::default()));
        let mut next_id = 1;
        let mut request = |method: &str, params: serde_json::Value| {
            next_id += 1;
            send(Request::new(RequestId::from(next_id), method.into(), params).into());
            next_id
        };
        let mut expected = vec![request("initialize", json!({"capabilities": {}}))];
        send(note("initialized", json!({})));
        for (name, text) in docs {
            let uri = format!("file:///nonexistent/aurora-lsp-test/{name}");
            send(note(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
            ));
            let lines = text.lines().count() + 2;
            for line in 0..lines {
                for character in [0, 1, 2, 5, 9, 13, 17, 22, 30, 41, 55, 80, 200] {
                    let at = json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}});
                    for method in [
                        "textDocument/hover",
                        "textDocument/completion",
                        "textDocument/definition",
                    ] {
                        expected.push(request(method, at.clone()));
                    }
                }
            }
            expected.push(request(
                "textDocument/documentSymbol",
                json!({"textDocument": {"uri": uri}}),
            ));
        }
        let shutdown = request("shutdown", serde_json::Value::Null);
        expected.push(shutdown);
        let mut answered = std::collections::BTreeSet::new();
        while !answered.contains(&shutdown) {
            match client.receiver.recv_timeout(Duration::from_secs(60)) {
                Ok(Message::Response(r)) => {
                    assert!(r.error.is_none(), "{r:?}");
                    let id: i32 = r.id.to_string().parse().expect("numeric id");
                    answered.insert(id);
                }
                Ok(_) => {}
                Err(e) => panic!("the server stopped answering: {e}"),
            }
        }
        assert_eq!(answered.len(), expected.len(), "every request answered");
        send(note("exit", serde_json::Value::Null));
        handle.join().expect("server thread").expect("clean exit");
    }

    /// A job with `targets:` shows a child symbol per entry, named by the key it expands to.
    #[test]
    fn targets_are_children_of_their_job_in_the_outline() {
        let (server, client) = Connection::memory();
        let uri = "file:///nonexistent/aurora-lsp-test/t.yaml";
        let send = |m: Message| client.sender.send(m).expect("send");
        let handle = std::thread::spawn(move || serve(&server, Options::default()));
        handshake(&send);
        let text = "apiVersion: aurora-apply/v1\njobs:\n  - key: west/www-data/prod/web\n    kind: service\n    targets:\n      - { cluster: east }\n      - { environment: devel, name: web2 }\n";
        send(note(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
        ));
        send(
            Request::new(
                RequestId::from(2),
                "textDocument/documentSymbol".into(),
                json!({"textDocument": {"uri": uri}}),
            )
            .into(),
        );
        let symbols = loop {
            match client.receiver.recv_timeout(Duration::from_secs(30)) {
                Ok(Message::Response(r)) if r.id == RequestId::from(2) => {
                    break r.result.expect("symbols");
                }
                Ok(_) => {}
                Err(e) => panic!("no answer: {e}"),
            }
        };
        let children: Vec<&str> = symbols[0]["children"]
            .as_array()
            .expect("children")
            .iter()
            .map(|c| c["name"].as_str().expect("name"))
            .collect();
        assert_eq!(symbols[0]["name"], "west/www-data/prod/web");
        assert_eq!(
            children,
            ["east/www-data/prod/web", "west/www-data/devel/web2"]
        );
        send(
            Request::new(
                RequestId::from(3),
                "shutdown".into(),
                serde_json::Value::Null,
            )
            .into(),
        );
        loop {
            match client.receiver.recv_timeout(Duration::from_secs(30)) {
                Ok(Message::Response(r)) if r.id == RequestId::from(3) => break,
                Ok(_) => {}
                Err(e) => panic!("no answer: {e}"),
            }
        }
        send(note("exit", serde_json::Value::Null));
        handle.join().expect("server thread").expect("clean exit");
    }
}
