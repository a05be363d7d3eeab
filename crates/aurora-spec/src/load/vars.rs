//! Typed variables: a file's `vars:` declarations, their values and `${var.NAME}`
//! substitution in the located tree, before `defaults:` are merged and `targets:` expanded.
//!
//! Values come from, lowest precedence first: the declaration's `default`, the environment
//! (`AURORA_APPLY_VAR_NAME`), `--var-file` files in the order given, then `--var NAME=VALUE`
//! in the order given — Terraform's order, so a value typed on the command line always wins.
//! A reference that is a whole value (`instances: ${var.replicas}`) becomes the value with
//! its type; inside a string (`image: "web:${var.tag}"`) it becomes text. `$${var.x}` writes
//! `${var.x}` literally; other `${…}` (shell) and Thermos' `{{…}}` pass through untouched.
//!
//! Every problem is a located diagnostic: an undeclared reference (with "did you mean"), a
//! declared variable without a value, a value of the wrong type (at the value, naming where
//! it came from), a list or map inside a string; a declared variable nothing uses is a
//! warning. Values of `sensitive: true` variables are masked in every message.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostics::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::source::{Format, SourceFile, Span};
use crate::units;

use super::node::{Key, Node, Value};
use super::parse;

/// The prefix of environment variables that set variables (`AURORA_APPLY_VAR_replicas=3`).
pub const ENV_PREFIX: &str = "AURORA_APPLY_VAR_";

/// What a masked sensitive value is shown as.
pub const MASK: &str = "(sensitive)";

/// The type of a variable (also the schema's `vars.*.type`; [`VarType::ALL`] holds the
/// same names as the serde ones, which a test checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VarType {
    /// Any string.
    String,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A size such as `512MiB` (the syntax of `resources.ram`).
    Size,
    /// A duration such as `45s` (the syntax of `update.watch`).
    Duration,
    /// A list of values.
    List,
    /// A mapping.
    Map,
}

impl VarType {
    /// Every type, by its name in `vars:`.
    pub const ALL: [(&'static str, VarType); 8] = [
        ("string", VarType::String),
        ("integer", VarType::Integer),
        ("number", VarType::Number),
        ("boolean", VarType::Boolean),
        ("size", VarType::Size),
        ("duration", VarType::Duration),
        ("list", VarType::List),
        ("map", VarType::Map),
    ];

    /// The type named `name`.
    pub fn from_name(name: &str) -> Option<VarType> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// Its name in `vars:`.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("string", |(n, _)| n)
    }

    /// Whether `value` is of this type; `Err` says what is wrong.
    fn check(self, value: &Value) -> Result<(), String> {
        let ok = match (self, value) {
            (VarType::String, Value::Str(_))
            | (VarType::Integer, Value::Int(_))
            | (VarType::Number, Value::Int(_) | Value::Float(_))
            | (VarType::Boolean, Value::Bool(_))
            | (VarType::List, Value::Seq(_))
            | (VarType::Map, Value::Map(_)) => true,
            (VarType::Integer, Value::Float(f)) => f.fract() == 0.0,
            (VarType::Size, Value::Str(s)) => return units::Size::parse(s).map(drop),
            (VarType::Duration, Value::Str(s)) => return units::Duration::parse(s).map(drop),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "expected {}, found {}",
                self.described(),
                value.kind()
            ))
        }
    }

    /// "an integer", "a size (such as `512MiB`)", … for messages.
    fn described(self) -> &'static str {
        match self {
            VarType::String => "a string",
            VarType::Integer => "an integer",
            VarType::Number => "a number",
            VarType::Boolean => "a boolean",
            VarType::Size => "a size (such as `512MiB`)",
            VarType::Duration => "a duration (such as `45s`)",
            VarType::List => "a list",
            VarType::Map => "a mapping",
        }
    }

    /// The value of command-line or environment text: strings, sizes and durations as
    /// written, numbers and booleans parsed, lists and maps read as YAML flow (`[a, b]`,
    /// `{a: 1}`; JSON works too).
    fn parse_text(self, text: &str) -> Result<Value, String> {
        match self {
            VarType::String => Ok(Value::Str(text.to_string())),
            VarType::Size | VarType::Duration => {
                let value = Value::Str(text.to_string());
                self.check(&value).map(|()| value)
            }
            VarType::Integer => text
                .trim()
                .parse::<i128>()
                .map(Value::Int)
                .map_err(|_| format!("expected an integer, found `{}`", short(text))),
            VarType::Number => {
                let t = text.trim();
                t.parse::<i128>()
                    .map(Value::Int)
                    .or_else(|_| {
                        t.parse::<f64>()
                            .ok()
                            .filter(|f| f.is_finite())
                            .map(Value::Float)
                            .ok_or(())
                    })
                    .map_err(|()| format!("expected a number, found `{}`", short(text)))
            }
            VarType::Boolean => match text.trim() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(format!(
                    "expected `true` or `false`, found `{}`",
                    short(text)
                )),
            },
            VarType::List | VarType::Map => {
                let file = SourceFile::new("value", text.to_string(), Format::Yaml);
                let node = parse::parse(&file).map_err(|d| {
                    format!(
                        "expected {} in YAML or JSON flow syntax (`[a, b]`, `{{a: 1}}`): {}",
                        self.described(),
                        d.message
                    )
                })?;
                self.check(&node.value)?;
                Ok(respanned(node, Span::default()).value)
            }
        }
    }
}

fn short(text: &str) -> std::borrow::Cow<'_, str> {
    crate::diagnostics::shorten(text, crate::diagnostics::MAX_VALUE_CHARS)
}

/// The values given for a run, before any file's declarations are known.
#[derive(Clone, Debug, Default)]
pub struct VariableInputs {
    /// `--var NAME=VALUE`, in the order given (later ones win).
    pub command_line: Vec<String>,
    /// `--var-file` files (YAML, TOML or JSON mappings of names to values), in the order
    /// given (later ones win; `--var` wins over all of them).
    pub files: Vec<SourceFile>,
    /// `AURORA_APPLY_VAR_NAME` variables of the environment, as (NAME, value); the CLI reads
    /// the environment, the library does not.
    pub environment: Vec<(String, String)>,
}

impl VariableInputs {
    /// Whether no value was given at all.
    pub fn is_empty(&self) -> bool {
        self.command_line.is_empty() && self.files.is_empty() && self.environment.is_empty()
    }
}

/// Where a variable's value came from.
#[derive(Clone, Debug)]
pub enum ValueSource {
    /// `--var NAME=VALUE`.
    CommandLine,
    /// `AURORA_APPLY_VAR_NAME`.
    Environment,
    /// A `--var-file`, at this value.
    File(SourceFile, Span),
    /// The declaration's `default`, at this value.
    Default(SourceFile, Span),
}

impl ValueSource {
    /// How the source is named in messages and plans.
    pub fn describe(&self, name: &str) -> String {
        match self {
            ValueSource::CommandLine => format!("--var {name}=… on the command line"),
            ValueSource::Environment => format!("the environment variable {ENV_PREFIX}{name}"),
            ValueSource::File(file, span) => {
                let (line, col) = file.line_col(span.start);
                format!("{}:{line}:{col}", file.name)
            }
            ValueSource::Default(file, span) => {
                let (line, col) = file.line_col(span.start);
                format!("the default at {}:{line}:{col}", file.name)
            }
        }
    }

    /// The short kind for plans: `command_line`, `environment`, `var_file`, `default`.
    pub fn kind(&self) -> &'static str {
        match self {
            ValueSource::CommandLine => "command_line",
            ValueSource::Environment => "environment",
            ValueSource::File(..) => "var_file",
            ValueSource::Default(..) => "default",
        }
    }

    fn location(&self) -> Option<(&SourceFile, Span)> {
        match self {
            ValueSource::File(f, s) | ValueSource::Default(f, s) => Some((f, *s)),
            _ => None,
        }
    }
}

/// A value given for a run, not yet typed.
#[derive(Clone, Debug)]
enum Given {
    /// Text from the command line or the environment: typed by the declaration.
    Text(String),
    /// A value of a `--var-file`.
    Node(Node),
}

/// The values given for a run, resolved by precedence, with the problems of the inputs
/// themselves (malformed `--var`, unreadable var files).
#[derive(Clone, Debug, Default)]
pub struct Supplied {
    values: BTreeMap<String, (Given, ValueSource)>,
    /// Names given on the command line (an undeclared one is an error, as in Terraform).
    command_line: BTreeSet<String>,
    /// Names given in var files, with where (an undeclared one is a warning).
    in_files: BTreeMap<String, (SourceFile, Span)>,
}

/// Whether `name` can be a variable's name (`[A-Za-z_][A-Za-z0-9_-]*`).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Supplied {
    /// Reads the inputs in precedence order; problems of the inputs go to `diags`.
    pub fn read(inputs: &VariableInputs, diags: &mut Diagnostics) -> Supplied {
        let mut out = Supplied::default();
        for (name, value) in &inputs.environment {
            if valid_name(name) {
                out.values.insert(
                    name.clone(),
                    (Given::Text(value.clone()), ValueSource::Environment),
                );
            }
        }
        for file in &inputs.files {
            out.read_file(file, diags);
        }
        for arg in &inputs.command_line {
            let Some((name, value)) = arg.split_once('=') else {
                diags.push(
                    Diagnostic::new(
                        Code::Variable,
                        format!("--var `{}` has no value", short(arg)),
                    )
                    .with_help("write `--var NAME=VALUE`"),
                );
                continue;
            };
            let name = name.trim();
            if !valid_name(name) {
                diags.push(
                    Diagnostic::new(
                        Code::Variable,
                        format!(
                            "--var `{}`: `{}` is not a variable name",
                            short(arg),
                            short(name)
                        ),
                    )
                    .with_help(
                        "names start with a letter or `_` and hold letters, digits, `_` and `-`",
                    ),
                );
                continue;
            }
            out.command_line.insert(name.to_string());
            out.values.insert(
                name.to_string(),
                (Given::Text(value.to_string()), ValueSource::CommandLine),
            );
        }
        out
    }

    fn read_file(&mut self, file: &SourceFile, diags: &mut Diagnostics) {
        let root = match parse::parse(file) {
            Ok(root) => root,
            Err(d) => {
                diags.push(d);
                return;
            }
        };
        let Value::Map(entries) = root.value else {
            diags.push(
                Diagnostic::new(
                    Code::Variable,
                    format!(
                        "a var file must be a mapping of variable names to values, found {}",
                        root.value.kind()
                    ),
                )
                .at(file, root.span),
            );
            return;
        };
        for (key, value) in entries {
            if !valid_name(&key.name) {
                diags.push(
                    Diagnostic::new(
                        Code::Variable,
                        format!("`{}` is not a variable name", short(&key.name)),
                    )
                    .with_path(key.name.clone())
                    .at(file, key.span)
                    .with_help(
                        "names start with a letter or `_` and hold letters, digits, `_` and `-`",
                    ),
                );
                continue;
            }
            let source = ValueSource::File(file.clone(), value.span);
            self.in_files
                .insert(key.name.clone(), (file.clone(), key.span));
            self.values
                .insert(key.name.clone(), (Given::Node(value), source));
        }
    }

    /// Reports values given for names no file declares: `--var` is an error, a var file
    /// entry a warning (var files are often shared), the environment is not checked.
    pub fn check_declared(&self, declared: &BTreeSet<String>, diags: &mut Diagnostics) {
        let help = |name: &str| {
            did_you_mean(name, declared.iter().map(String::as_str)).map_or_else(
                || "declare it in the `vars:` of the spec files that use it".to_string(),
                |s| format!("did you mean `{s}`?"),
            )
        };
        for name in &self.command_line {
            if !declared.contains(name) {
                diags.push(
                    Diagnostic::new(
                        Code::Variable,
                        format!("--var `{name}`: no spec file declares a variable `{name}`"),
                    )
                    .with_help(help(name)),
                );
            }
        }
        for (name, (file, span)) in &self.in_files {
            if !declared.contains(name) && !self.command_line.contains(name) {
                diags.push(
                    Diagnostic::new(
                        Code::Variable,
                        format!("no spec file declares a variable `{name}`"),
                    )
                    .as_warning()
                    .with_path(name.clone())
                    .at(file, *span)
                    .with_help(help(name)),
                );
            }
        }
    }
}

/// One `vars:` entry of a file.
#[derive(Clone, Debug)]
pub struct Declaration {
    /// The variable's name.
    pub name: String,
    /// Its type.
    pub ty: VarType,
    /// Its description, if any.
    pub description: Option<String>,
    /// Whether its value is a secret (masked in every output).
    pub sensitive: bool,
    /// The key of the entry.
    pub key: Key,
    default: Option<Node>,
}

/// A variable as a file sees it: the declaration and its value, if it has one.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The declaration.
    pub declaration: Declaration,
    /// The value (spans inside it are the value's own, in its source).
    pub value: Option<Node>,
    /// Where the value came from.
    pub source: Option<ValueSource>,
    /// A value was given but refused (already reported): references stay silent.
    rejected: bool,
}

impl Resolved {
    /// The value as text inside a string (`None` for lists and mappings).
    fn text(&self) -> Option<String> {
        match &self.value.as_ref()?.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }
}

/// A variable a run used, as plans record it.
#[derive(Clone, Debug, PartialEq)]
pub struct UsedVariable {
    /// The name.
    pub name: String,
    /// The declared type.
    pub ty: VarType,
    /// The value (`None` when sensitive: it is never shown).
    pub value: Option<serde_json::Value>,
    /// Whether it is a secret.
    pub sensitive: bool,
    /// `command_line`, `environment`, `var_file` or `default`.
    pub source: &'static str,
    /// Where exactly: `--var …`, `vars.yaml:3:10`, `the default at web.aurora-apply.yaml:4:14`.
    pub from: String,
}

/// A declaration as the cross-file checks need it.
#[derive(Clone, Debug)]
pub struct Declared {
    /// The name.
    pub name: String,
    /// The type.
    pub ty: VarType,
    /// The file.
    pub file: SourceFile,
    /// Its key.
    pub span: Span,
}

/// The keys of a declaration.
const DECLARATION_KEYS: &[&str] = &["type", "default", "description", "sensitive"];

/// A file's variables, ready to substitute.
#[derive(Debug, Default)]
pub struct Scope {
    vars: BTreeMap<String, Resolved>,
    /// Names whose declaration is wrong (already reported): references to them say nothing.
    broken: BTreeSet<String>,
    used: BTreeSet<String>,
    /// Spans of whole-value references and the variable each holds, to add "the value came
    /// from" to the problems found there later.
    pub whole_values: Vec<(Span, String)>,
}

impl Scope {
    /// Reads `vars:` (if any) and resolves each declaration's value.
    pub fn new(
        file: &SourceFile,
        vars: Option<&Node>,
        supplied: &Supplied,
        diags: &mut Diagnostics,
    ) -> Scope {
        let mut scope = Scope::default();
        let Some(vars) = vars else { return scope };
        let Value::Map(entries) = &vars.value else {
            diags.push(
                Diagnostic::new(
                    Code::Variable,
                    format!(
                        "`vars` must be a mapping of names to declarations, found {}",
                        vars.value.kind()
                    ),
                )
                .with_path("vars")
                .at(file, vars.span)
                .with_help("e.g. `vars: { replicas: { type: integer, default: 3 } }`"),
            );
            return scope;
        };
        for (key, decl) in entries {
            match declaration(file, key, decl, diags) {
                Some(d) => {
                    let resolved = resolve(file, d, supplied, diags);
                    scope.vars.insert(key.name.clone(), resolved);
                }
                None => {
                    scope.broken.insert(key.name.clone());
                }
            }
        }
        scope
    }

    /// The declarations, by name.
    pub fn declarations(&self) -> impl Iterator<Item = &Resolved> {
        self.vars.values()
    }

    /// Whether the file declares nothing.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty() && self.broken.is_empty()
    }

    /// The values of the sensitive variables, as text (what messages must never show).
    pub fn sensitive_texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in self.vars.values().filter(|r| r.declaration.sensitive) {
            if let Some(v) = &r.value {
                sensitive_texts_of(v, &mut out);
            }
        }
        out
    }

    /// The declarations, for the checks across files.
    pub fn declared(&self, file: &SourceFile) -> Vec<Declared> {
        self.vars
            .values()
            .map(|r| Declared {
                name: r.declaration.name.clone(),
                ty: r.declaration.ty,
                file: file.clone(),
                span: r.declaration.key.span,
            })
            .collect()
    }

    /// The variables referenced, with their values (sensitive ones without).
    pub fn used_variables(&self) -> Vec<UsedVariable> {
        self.vars
            .values()
            .filter(|r| self.used.contains(&r.declaration.name))
            .filter_map(|r| {
                let source = r.source.as_ref()?;
                Some(UsedVariable {
                    name: r.declaration.name.clone(),
                    ty: r.declaration.ty,
                    value: (!r.declaration.sensitive)
                        .then(|| r.value.as_ref().map(Node::to_json))
                        .flatten(),
                    sensitive: r.declaration.sensitive,
                    source: source.kind(),
                    from: source.describe(&r.declaration.name),
                })
            })
            .collect()
    }

    /// Whether `name` was referenced.
    pub fn is_used(&self, name: &str) -> bool {
        self.used.contains(name)
    }

    /// `node` with every `${var.NAME}` replaced; `path` is its document path.
    pub fn substitute(
        &mut self,
        file: &SourceFile,
        node: &Node,
        path: &str,
        diags: &mut Diagnostics,
    ) -> Node {
        match &node.value {
            Value::Str(s) if s.contains("${var.") => {
                self.substitute_str(file, node, s, path, diags)
            }
            Value::Seq(items) => Node::new(
                node.span,
                Value::Seq(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, n)| self.substitute(file, n, &format!("{path}[{i}]"), diags))
                        .collect(),
                ),
            ),
            Value::Map(entries) => Node::new(
                node.span,
                Value::Map(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            let p = if path.is_empty() {
                                k.name.clone()
                            } else {
                                format!("{path}.{}", k.name)
                            };
                            (k.clone(), self.substitute(file, v, &p, diags))
                        })
                        .collect(),
                ),
            ),
            _ => node.clone(),
        }
    }

    fn substitute_str(
        &mut self,
        file: &SourceFile,
        node: &Node,
        text: &str,
        path: &str,
        diags: &mut Diagnostics,
    ) -> Node {
        let refs = references(text);
        // A whole value: the variable's value, with its type.
        if let [one] = refs.as_slice()
            && one.start == 0
            && one.end == text.len()
            && !one.escaped
        {
            let at = reference_span(file, node.span, &text[one.start..one.end]);
            return match self.lookup(file, &one.name, at, path, diags) {
                Some(value) => {
                    self.whole_values.push((node.span, one.name.clone()));
                    respanned(value, node.span)
                }
                None => node.clone(),
            };
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for r in &refs {
            out.push_str(&text[last..r.start]);
            last = r.end;
            let written = &text[r.start..r.end];
            if r.escaped {
                out.push_str(&written[1..]);
                continue;
            }
            let at = reference_span(file, node.span, written);
            if self.lookup(file, &r.name, at, path, diags).is_none() {
                out.push_str(written);
                continue;
            }
            match self.vars.get(&r.name).and_then(Resolved::text) {
                Some(t) => out.push_str(&t),
                None => {
                    diags.push(
                        Diagnostic::new(
                            Code::Variable,
                            format!(
                                "`{}` is {}: it cannot be put inside a string",
                                r.name,
                                self.vars[&r.name].declaration.ty.described()
                            ),
                        )
                        .with_path(path)
                        .at(file, at)
                        .with_help("use it as the whole value (`field: ${var.NAME}`)"),
                    );
                    out.push_str(written);
                }
            }
        }
        out.push_str(&text[last..]);
        Node::new(node.span, Value::Str(out))
    }

    /// The value of `name` referenced at `at`, or the problem reported.
    fn lookup(
        &mut self,
        file: &SourceFile,
        name: &str,
        at: Span,
        path: &str,
        diags: &mut Diagnostics,
    ) -> Option<Node> {
        let Some(resolved) = self.vars.get(name) else {
            if self.broken.contains(name) {
                return None;
            }
            let help = did_you_mean(name, self.vars.keys().map(String::as_str)).map_or_else(
                || "declare it under `vars:` at the top of this file, e.g. `vars: { NAME: { type: string } }`".replace("NAME", name),
                |s| format!("did you mean `{s}`?"),
            );
            diags.push(
                Diagnostic::new(Code::Variable, format!("undeclared variable `{name}`"))
                    .with_path(path)
                    .at(file, at)
                    .with_help(help),
            );
            return None;
        };
        self.used.insert(name.to_string());
        match &resolved.value {
            Some(v) => Some(v.clone()),
            None if resolved.rejected => None,
            None => {
                diags.push(
                    Diagnostic::new(Code::Variable, format!("variable `{name}` has no value"))
                        .with_path(path)
                        .at(file, at)
                        .with_related("declared here without a default", file, resolved.declaration.key.span)
                        .with_help(format!(
                            "give it a value with `--var {name}=…`, a `--var-file`, or {ENV_PREFIX}{name}; or a `default`"
                        )),
                );
                None
            }
        }
    }

    /// Adds where the value came from to problems found at whole-value references.
    pub fn explain(&self, diags: Diagnostics) -> Diagnostics {
        if self.whole_values.is_empty() {
            return diags;
        }
        let mut out = Diagnostics::new();
        for mut d in diags {
            let held = d
                .span
                .and_then(|s| self.whole_values.iter().find(|(w, _)| *w == s));
            if let Some((_, name)) = held
                && let Some(r) = self.vars.get(name)
                && let Some(source) = &r.source
            {
                let from = format!("the value of `{name}` comes from {}", source.describe(name));
                d = match source.location() {
                    Some((f, s)) => d.with_related(from, f, s),
                    None => {
                        let help = d
                            .help
                            .take()
                            .map_or(from.clone(), |h| format!("{h}; {from}"));
                        d.with_help(help)
                    }
                };
            }
            out.push(d);
        }
        out
    }

    /// Warnings for declarations nothing references.
    pub fn unused(&self, file: &SourceFile, diags: &mut Diagnostics) {
        for (name, r) in &self.vars {
            if !self.used.contains(name) {
                diags.push(
                    Diagnostic::new(
                        Code::Variable,
                        format!("variable `{name}` is declared but not used"),
                    )
                    .as_warning()
                    .with_path(format!("vars.{name}"))
                    .at(file, r.declaration.key.span)
                    .with_help(format!("remove it, or use it as `${{var.{name}}}`")),
                );
            }
        }
    }
}

fn sensitive_texts_of(node: &Node, out: &mut Vec<String>) {
    match &node.value {
        Value::Str(s) if !s.is_empty() => out.push(s.clone()),
        Value::Int(i) => out.push(i.to_string()),
        Value::Float(f) => out.push(f.to_string()),
        Value::Seq(items) => items.iter().for_each(|n| sensitive_texts_of(n, out)),
        Value::Map(entries) => entries.iter().for_each(|(_, n)| sensitive_texts_of(n, out)),
        _ => {}
    }
}

/// Reads one declaration: `{ type, default, description, sensitive }`.
fn declaration(
    file: &SourceFile,
    key: &Key,
    decl: &Node,
    diags: &mut Diagnostics,
) -> Option<Declaration> {
    let path = format!("vars.{}", key.name);
    if !valid_name(&key.name) {
        diags.push(
            Diagnostic::new(
                Code::Variable,
                format!("`{}` is not a variable name", short(&key.name)),
            )
            .with_path(path)
            .at(file, key.span)
            .with_help("names start with a letter or `_` and hold letters, digits, `_` and `-`"),
        );
        return None;
    }
    let types = || {
        VarType::ALL
            .iter()
            .map(|(n, _)| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Value::Map(entries) = &decl.value else {
        diags.push(
            Diagnostic::new(
                Code::Variable,
                format!(
                    "a variable declaration must be a mapping, found {}",
                    decl.value.kind()
                ),
            )
            .with_path(path)
            .at(file, decl.span)
            .with_help(format!(
                "e.g. `{}: {{ type: string }}`; types: {}",
                key.name,
                types()
            )),
        );
        return None;
    };
    let mut ok = true;
    for (k, _) in entries {
        if !DECLARATION_KEYS.contains(&k.name.as_str()) {
            let help = did_you_mean(&k.name, DECLARATION_KEYS.iter().copied()).map_or_else(
                || "expected `type`, `default`, `description` or `sensitive`".to_string(),
                |s| format!("did you mean `{s}`?"),
            );
            diags.push(
                Diagnostic::new(
                    Code::UnknownField,
                    format!("unknown key `{}`", short(&k.name)),
                )
                .with_path(format!("{path}.{}", k.name))
                .at(file, k.span)
                .with_help(help),
            );
            ok = false;
        }
    }
    let ty = match decl.get("type").map(|n| (n, &n.value)) {
        Some((_, Value::Str(t))) if VarType::from_name(t).is_some() => VarType::from_name(t),
        Some((n, v)) => {
            let shown = match v {
                Value::Str(t) => format!("unknown type `{}`", short(t)),
                other => format!("`type` must be a string, found {}", other.kind()),
            };
            let help = match v {
                Value::Str(t) => did_you_mean(t, VarType::ALL.iter().map(|(n, _)| *n)).map_or_else(
                    || format!("types: {}", types()),
                    |s| format!("did you mean `{s}`?"),
                ),
                _ => format!("types: {}", types()),
            };
            diags.push(
                Diagnostic::new(Code::Variable, shown)
                    .with_path(format!("{path}.type"))
                    .at(file, n.span)
                    .with_help(help),
            );
            None
        }
        None => {
            diags.push(
                Diagnostic::new(
                    Code::MissingField,
                    format!("variable `{}` has no `type`", key.name),
                )
                .with_path(path.clone())
                .at(file, key.span)
                .with_help(format!("types: {}", types())),
            );
            None
        }
    };
    let description = match decl.get("description") {
        None => None,
        Some(Node {
            value: Value::Str(s),
            ..
        }) => Some(s.clone()),
        Some(n) => {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`description` must be a string, found {}", n.value.kind()),
                )
                .with_path(format!("{path}.description"))
                .at(file, n.span),
            );
            ok = false;
            None
        }
    };
    let sensitive = match decl.get("sensitive") {
        None => false,
        Some(Node {
            value: Value::Bool(b),
            ..
        }) => *b,
        Some(n) => {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`sensitive` must be a boolean, found {}", n.value.kind()),
                )
                .with_path(format!("{path}.sensitive"))
                .at(file, n.span),
            );
            ok = false;
            false
        }
    };
    let default = decl.get("default").cloned();
    if let (Some(ty), Some(d)) = (ty, &default) {
        if let Value::Str(s) = &d.value
            && !references(s).is_empty()
        {
            diags.push(
                Diagnostic::new(Code::Variable, "a default cannot refer to a variable")
                    .with_path(format!("{path}.default"))
                    .at(file, d.span),
            );
            ok = false;
        } else if let Err(e) = ty.check(&d.value) {
            diags.push(
                Diagnostic::new(Code::Variable, format!("default of `{}`: {e}", key.name))
                    .with_path(format!("{path}.default"))
                    .at(file, d.span)
                    .with_related(format!("declared as `{}` here", ty.name()), file, key.span),
            );
            ok = false;
        }
    }
    let ty = ty?;
    ok.then(|| Declaration {
        name: key.name.clone(),
        ty,
        description,
        sensitive,
        key: key.clone(),
        default,
    })
}

/// The declaration with its value from the highest-precedence source, type-checked.
fn resolve(
    file: &SourceFile,
    declaration: Declaration,
    supplied: &Supplied,
    diags: &mut Diagnostics,
) -> Resolved {
    let name = declaration.name.clone();
    let mask = |m: String, given: &str| {
        if declaration.sensitive && !given.is_empty() {
            m.replace(given, MASK)
        } else {
            m
        }
    };
    let (value, source) = match supplied.values.get(&name) {
        Some((Given::Text(text), source)) => match declaration.ty.parse_text(text) {
            Ok(v) => (Some(Node::new(Span::default(), v)), Some(source.clone())),
            Err(e) => {
                diags.push(
                    Diagnostic::new(
                        Code::Variable,
                        mask(
                            format!("the value of `{name}` from {}: {e}", source.describe(&name)),
                            text,
                        ),
                    )
                    .with_path(format!("vars.{name}"))
                    .at(file, declaration.key.span)
                    .with_label(format!("declared as `{}` here", declaration.ty.name())),
                );
                (None, None)
            }
        },
        Some((Given::Node(node), source)) => match declaration.ty.check(&node.value) {
            Ok(()) => (Some(node.clone()), Some(source.clone())),
            Err(e) => {
                let given = match &node.value {
                    Value::Str(s) => s.clone(),
                    _ => String::new(),
                };
                let d = Diagnostic::new(
                    Code::Variable,
                    mask(format!("the value of `{name}`: {e}"), &given),
                )
                .with_path(name.clone());
                let declared = format!("`{name}` is declared as `{}` here", declaration.ty.name());
                diags.push(match source.location() {
                    Some((vf, vs)) => {
                        d.at(vf, vs)
                            .with_related(declared, file, declaration.key.span)
                    }
                    None => d.at(file, declaration.key.span).with_label(declared),
                });
                (None, None)
            }
        },
        None => match &declaration.default {
            Some(d) => (
                Some(d.clone()),
                Some(ValueSource::Default(file.clone(), d.span)),
            ),
            None => (None, None),
        },
    };
    let rejected = value.is_none() && supplied.values.contains_key(&name);
    Resolved {
        declaration,
        value,
        source,
        rejected,
    }
}

/// A `${var.NAME}` found in a string.
#[derive(Debug, PartialEq)]
struct Reference {
    /// Byte range of `${var.NAME}` (with the leading `$` of `$${…}`).
    start: usize,
    end: usize,
    name: String,
    /// `$${var.NAME}`: written literally, without the first `$`.
    escaped: bool,
}

/// The references in `text`, in order.
fn references(text: &str) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("${var.") {
        let at = from + found;
        let name_start = at + "${var.".len();
        let Some(close) = text[name_start..].find('}') else {
            break;
        };
        let name = &text[name_start..name_start + close];
        let end = name_start + close + 1;
        let escaped = at > 0 && text.as_bytes()[at - 1] == b'$';
        if valid_name(name) {
            out.push(Reference {
                start: if escaped { at - 1 } else { at },
                end,
                name: name.to_string(),
                escaped,
            });
        }
        from = end;
    }
    out
}

/// The span of `written` inside the scalar at `span`, when the source shows it as written
/// (plain and simply quoted scalars); otherwise the whole scalar.
fn reference_span(file: &SourceFile, span: Span, written: &str) -> Span {
    file.text
        .get(span.start..span.start.saturating_add(span.len))
        .and_then(|raw| raw.find(written))
        .map_or(span, |i| Span::new(span.start + i, written.len()))
}

/// `node` with every span set to `span`: a value from another file (a var file, the command
/// line) must point at the reference in this one.
fn respanned(node: Node, span: Span) -> Node {
    let value = match node.value {
        Value::Seq(items) => Value::Seq(items.into_iter().map(|n| respanned(n, span)).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Key { name: k.name, span }, respanned(v, span)))
                .collect(),
        ),
        other => other,
    };
    Node::new(span, value)
}

/// Masks every sensitive text in a diagnostic's words.
pub fn mask_diagnostic(mut d: Diagnostic, secrets: &[String]) -> Diagnostic {
    if secrets.is_empty() {
        return d;
    }
    d.message = mask_text(&d.message, secrets);
    d.help = d.help.map(|h| mask_text(&h, secrets));
    d.label = d.label.map(|l| mask_text(&l, secrets));
    for r in &mut d.related {
        r.label = mask_text(&r.label, secrets);
    }
    d
}

/// `text` with every occurrence of a secret replaced by [`MASK`] (longest secrets first, so
/// a secret that contains another is masked whole).
pub fn mask_text(text: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in sorted {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_with_escapes_and_other_dollars_left_alone() {
        let refs = references("a ${var.x} $${var.y} ${HOME} {{thermos.ports[http]}} ${var.z}");
        let names: Vec<(&str, bool)> = refs.iter().map(|r| (r.name.as_str(), r.escaped)).collect();
        assert_eq!(names, [("x", false), ("y", true), ("z", false)]);
        assert!(references("${var.}").is_empty());
        assert!(references("${var.unclosed").is_empty());
    }

    #[test]
    fn text_values_are_typed_by_the_declaration() {
        assert_eq!(VarType::Integer.parse_text("3"), Ok(Value::Int(3)));
        assert!(VarType::Integer.parse_text("3.5").is_err());
        assert_eq!(VarType::Number.parse_text("3.5"), Ok(Value::Float(3.5)));
        assert_eq!(VarType::Boolean.parse_text("true"), Ok(Value::Bool(true)));
        assert!(VarType::Boolean.parse_text("yes").is_err());
        assert!(VarType::Size.parse_text("512MiB").is_ok());
        assert!(VarType::Size.parse_text("512").is_err());
        assert!(VarType::Duration.parse_text("45s").is_ok());
        assert!(matches!(VarType::List.parse_text("[a, b]"), Ok(Value::Seq(v)) if v.len() == 2));
        assert!(matches!(VarType::Map.parse_text("{\"a\": 1}"), Ok(Value::Map(v)) if v.len() == 1));
        assert!(VarType::List.parse_text("{a: 1}").is_err());
        assert_eq!(
            VarType::String.parse_text("${var.x}"),
            Ok(Value::Str("${var.x}".into()))
        );
    }

    #[test]
    fn type_names_are_the_serde_names() {
        for (name, ty) in VarType::ALL {
            let parsed: VarType = serde_json::from_value(serde_json::json!(name)).expect("known");
            assert_eq!(parsed, ty);
            assert_eq!(ty.name(), name);
        }
    }

    #[test]
    fn masking_replaces_longest_secrets_first() {
        let secrets = vec!["abc".to_string(), "abcdef".to_string()];
        assert_eq!(
            mask_text("x abcdef y abc", &secrets),
            "x (sensitive) y (sensitive)"
        );
    }
}
