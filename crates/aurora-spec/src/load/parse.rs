//! Text → [`Node`] tree for each input format, with byte spans.
//!
//! YAML and JSON go through serde-saphyr (with its budgets against alias bombs, deep nesting
//! and oversized input, and its rejection of duplicate keys); TOML through `toml`'s spanned
//! document parser. A syntax error becomes one located [`Diagnostic`].

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::node::{Key, Node, Value};
use crate::diagnostics::{Code, Diagnostic, MAX_MESSAGE_CHARS, MAX_VALUE_CHARS, shorten};
use crate::source::{Format, SourceFile, Span};

/// The deepest nesting accepted in any format (the spec itself needs fewer than 12 levels);
/// bounds recursion so hostile input cannot overflow the stack.
pub const MAX_DEPTH: usize = 64;

/// How many values aliases (`*name`, YAML and JSON files) may add to a document in all:
/// the limit against "billion laughs" alias bombs. Documents without aliases have no limit on
/// their number of values other than the file size ([`crate::load::MAX_SPEC_BYTES`]).
pub const MAX_ALIAS_VALUES: usize = 1_000_000;

/// How many bytes of text the values of a document may hold in all, aliases included (the file
/// size limit plus 16 MiB that aliases may add).
pub const MAX_TEXT_BYTES: usize = 80 * 1024 * 1024;

/// Parses a source file into a located tree (in-memory sources are held to the same size
/// limit as files).
pub fn parse(file: &SourceFile) -> Result<Node, Diagnostic> {
    parse_with(file, Spans::All)
}

/// [`parse`], with the spans of YAML and JSON values kept as `spans` says (TOML's parser
/// always reports them).
pub fn parse_with(file: &SourceFile, spans: Spans) -> Result<Node, Diagnostic> {
    if file.text.len() as u64 > crate::load::MAX_SPEC_BYTES {
        return Err(Diagnostic::new(
            Code::Io,
            format!(
                "the spec is larger than the limit of {} MiB",
                crate::load::MAX_SPEC_BYTES / (1024 * 1024)
            ),
        )
        .at(file, Span::default()));
    }
    match file.format {
        Format::Yaml | Format::Json => match spans {
            Spans::All => parse_yaml::<Full>(file),
            Spans::Loader => parse_yaml::<Document>(file),
        },
        Format::Toml => parse_toml(file),
    }
}

fn saphyr_span(loc: &serde_saphyr::Location) -> Span {
    let span = loc.span();
    match (span.byte_offset(), span.byte_len()) {
        (Some(off), Some(len)) => Span::new(
            usize::try_from(off).unwrap_or(usize::MAX),
            usize::try_from(len).unwrap_or(0),
        ),
        _ => Span::default(),
    }
}

/// Which values of a YAML document get their spans. serde-saphyr reports a location only
/// through its `Spanned` wrapper, which costs about a sixth of the parse: the loader parses
/// with [`Spans::Loader`] first and again with [`Spans::All`] only for a file that has
/// something to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spans {
    /// Every value and key (what diagnostics, the language server and tests see).
    All,
    /// Only what a file without problems needs: the document, its `vars` (the places of
    /// declarations and defaults are shown in plans and cross-file checks), and each entry
    /// of `jobs` and of a job's `targets` (where a job is defined). Other spans are
    /// [`Span::default`].
    Loader,
}

/// How the spans of a subtree are kept: each shape is a type, so the visitor knows, before a
/// value is read, which wrapper it reads it with.
trait Shape {
    fn seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<Vec<Node>, A::Error>;
    fn map<'de, A: MapAccess<'de>>(map: A) -> Result<Vec<(Key, Node)>, A::Error>;
}

/// A node read with shape `S`.
struct Shaped<S>(Node, std::marker::PhantomData<S>);

impl<'de, S: Shape> Deserialize<'de> for Shaped<S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = d.deserialize_any(Build::<S>(std::marker::PhantomData))?;
        Ok(Shaped(
            Node::new(Span::default(), value),
            std::marker::PhantomData,
        ))
    }
}

/// A node read with shape `S`, with its span.
fn spanned<S>(item: serde_saphyr::Spanned<Shaped<S>>) -> Node {
    let mut node = item.value.0;
    node.span = saphyr_span(&item.referenced);
    node
}

fn spanned_key(key: serde_saphyr::Spanned<String>) -> Key {
    Key {
        span: saphyr_span(&key.referenced),
        name: key.value,
    }
}

fn bare_key(name: String) -> Key {
    Key {
        name,
        span: Span::default(),
    }
}

/// Every value and key spanned.
struct Full;

impl Shape for Full {
    fn seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<Vec<Node>, A::Error> {
        spanned_items::<Full, A>(seq)
    }
    fn map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Vec<(Key, Node)>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<serde_saphyr::Spanned<String>>()? {
            let value = map.next_value::<serde_saphyr::Spanned<Shaped<Full>>>()?;
            entries.push((spanned_key(key), spanned(value)));
        }
        Ok(entries)
    }
}

/// No spans.
struct Bare;

impl Shape for Bare {
    fn seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<Node>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Shaped<Bare>>()? {
            items.push(item.0);
        }
        Ok(items)
    }
    fn map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Vec<(Key, Node)>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Shaped<Bare>>()?;
            entries.push((bare_key(key), value.0));
        }
        Ok(entries)
    }
}

/// The document of [`Spans::Loader`]: top-level keys and values spanned, `vars` in full,
/// `jobs` as [`Jobs`].
struct Document;

impl Shape for Document {
    fn seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<Vec<Node>, A::Error> {
        Bare::seq(seq)
    }
    fn map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Vec<(Key, Node)>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<serde_saphyr::Spanned<String>>()? {
            let value = match key.value.as_str() {
                "vars" => spanned(map.next_value::<serde_saphyr::Spanned<Shaped<Full>>>()?),
                "jobs" => spanned(map.next_value::<serde_saphyr::Spanned<Shaped<Jobs>>>()?),
                _ => spanned(map.next_value::<serde_saphyr::Spanned<Shaped<Bare>>>()?),
            };
            entries.push((spanned_key(key), value));
        }
        Ok(entries)
    }
}

/// Every entry of a list with its span, each read as shape `S`.
fn spanned_items<'de, S: Shape, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<Node>, A::Error> {
    let mut items = Vec::new();
    while let Some(item) = seq.next_element::<serde_saphyr::Spanned<Shaped<S>>>()? {
        items.push(spanned(item));
    }
    Ok(items)
}

/// `jobs:`: each entry spanned, read as [`JobEntry`].
struct Jobs;

impl Shape for Jobs {
    fn seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<Vec<Node>, A::Error> {
        spanned_items::<JobEntry, A>(seq)
    }
    fn map<'de, A: MapAccess<'de>>(map: A) -> Result<Vec<(Key, Node)>, A::Error> {
        Bare::map(map)
    }
}

/// A job: its `targets` read as [`Targets`], the rest bare.
struct JobEntry;

impl Shape for JobEntry {
    fn seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<Vec<Node>, A::Error> {
        Bare::seq(seq)
    }
    fn map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Vec<(Key, Node)>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = if key == "targets" {
                map.next_value::<Shaped<Targets>>()?.0
            } else {
                map.next_value::<Shaped<Bare>>()?.0
            };
            entries.push((bare_key(key), value));
        }
        Ok(entries)
    }
}

/// A job's `targets:`: each entry spanned, its content bare.
struct Targets;

impl Shape for Targets {
    fn seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<Vec<Node>, A::Error> {
        spanned_items::<Bare, A>(seq)
    }
    fn map<'de, A: MapAccess<'de>>(map: A) -> Result<Vec<(Key, Node)>, A::Error> {
        Bare::map(map)
    }
}

/// Builds a node's value; lists and mappings are read as shape `S` says.
struct Build<S>(std::marker::PhantomData<S>);

impl<'de, S: Shape> Visitor<'de> for Build<S> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Ok(Shaped::<S>::deserialize(d)?.0.value)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        S::seq(seq).map(Value::Seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        S::map(map).map(Value::Map)
    }
}

/// YAML 1.2 core schema, as editors and the JSON Schema see the file: only `true`/`false`
/// are booleans (`y`, `on`, `no` stay strings: a `cmdline: y` must not become `true`),
/// `1_000` stays a string, and a plain `0755` or `010` is the decimal integer 755 or 10 (as
/// yaml-language-server reads it; YAML 1.1's octal is not used, `0o755` is octal): so
/// `instances: 010` is 10 in both, and `metadata: {build: 0755}` is an integer that both
/// refuse where a string is expected (quote it).
fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    options.strict_booleans = true;
    options.leading_zero_numbers_as_strings = false;
    options.legacy_octal_numbers = false;
    options.underscored_numbers_as_strings = true;
    // `!include run.sh` must not silently become the text `run.sh`.
    options.reject_unsupported_tags = true;
    // `.nan`, `.inf` and numbers too large for a float reach the typed layer, which names
    // the field (`resources.cpu: expected a finite number`), as TOML's `nan` does.
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
    options.alias_limits.max_total_replayed_events = MAX_ALIAS_VALUES;
    if let Some(budget) = options.budget.as_mut() {
        budget.max_depth = MAX_DEPTH;
        // Values written out are bounded by the file size; only what aliases add is limited
        // by count (above). serde-saphyr counts both in `max_nodes`/`max_events`, whose
        // defaults (250,000 / 1,000,000) refused valid files of ~11,000 one-line jobs.
        budget.max_nodes = usize::MAX;
        budget.max_events = usize::MAX;
        budget.max_total_scalar_bytes = MAX_TEXT_BYTES;
        budget.max_recorded_anchor_events = MAX_ALIAS_VALUES;
        budget.alias_anchor_min_aliases = usize::MAX;
        budget.max_documents = 1;
    }
    options
}

fn parse_yaml<S: Shape>(file: &SourceFile) -> Result<Node, Diagnostic> {
    match serde_saphyr::from_str_with_options::<serde_saphyr::Spanned<Shaped<S>>>(
        &file.text,
        yaml_options(),
    ) {
        Ok(root) => Ok(spanned(root)),
        Err(err) => Err(yaml_error(file, &err)),
    }
}

fn yaml_error(file: &SourceFile, err: &serde_saphyr::Error) -> Diagnostic {
    // Alias and snippet wrappers carry the underlying error.
    let mut inner = err;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = inner
    {
        inner = error;
    }
    let message = match inner {
        serde_saphyr::Error::Budget { breach, .. } => budget_message(breach),
        serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayCounterOverflow { .. }
        | serde_saphyr::Error::AliasExpansionLimitExceeded { .. } => alias_message(),
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => match key {
            Some(k) => format!("key `{}` given twice", shorten(k, MAX_VALUE_CHARS)),
            None => "a key is given twice in this mapping".to_string(),
        },
        serde_saphyr::Error::MultipleDocuments { .. } => {
            "more than one document (`---`) in one file; give each its own file".to_string()
        }
        serde_saphyr::Error::UnsupportedTag { tag, .. } => format!(
            "unsupported tag `{}` (tags such as `!include` are not part of this format)",
            shorten(tag, MAX_VALUE_CHARS)
        ),
        other => library_message(&other.to_string()),
    };
    let what = if file.format == Format::Json {
        "JSON"
    } else {
        "YAML"
    };
    let mut d = Diagnostic::new(Code::Syntax, format!("invalid {what}: {message}"));
    if let Some(loc) = err.location() {
        let mut span = saphyr_span(&loc);
        if span == Span::default() && loc.line() > 0 {
            span = Span::new(
                file.offset_of(
                    usize::try_from(loc.line()).unwrap_or(1),
                    usize::try_from(loc.column()).unwrap_or(1),
                ),
                0,
            );
        }
        d = d.at(file, span).with_label("here");
    } else {
        d = d.at(file, Span::default());
    }
    d
}

/// The first line of a parser message without the location serde-saphyr adds ("line L column
/// C: …" before, " at line L, column C" after: the diagnostic shows the location itself) and
/// without advice meant for programmers using the library.
fn library_message(raw: &str) -> String {
    let mut m = raw.lines().next().unwrap_or("").trim();
    if let Some((_, rest)) = m.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        m = rest;
    }
    if let Some(i) = m.rfind(" at line ")
        && m[i + 9..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | ' ') || c.is_ascii_lowercase())
    {
        m = &m[..i];
    }
    for advice in ["; use ", ", set ", "; set "] {
        if let Some(i) = m.find(advice) {
            m = &m[..i];
        }
    }
    shorten(m.trim(), MAX_MESSAGE_CHARS / 2).into_owned()
}

fn alias_message() -> String {
    format!("aliases expand the document by more than {MAX_ALIAS_VALUES} values (an alias bomb?)")
}

/// Says which limit protecting the parser was hit, in words (serde-saphyr's `Debug` form is
/// `Nodes { nodes: 250001 }`).
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Depth { .. } => format!("nesting deeper than {MAX_DEPTH} levels"),
        B::Aliases { .. } | B::RecordedAnchorEvents { .. } | B::AliasAnchorRatio { .. } => {
            alias_message()
        }
        B::ScalarBytes { .. } | B::RecordedAnchorBytes { .. } => format!(
            "the values hold more than {} MiB of text (aliases of long texts: an alias bomb?)",
            MAX_TEXT_BYTES / (1024 * 1024)
        ),
        B::Anchors { .. } => "too many anchors (`&name`)".into(),
        B::Documents { .. } => {
            "more than one document (`---`) in one file; give each its own file".into()
        }
        other => format!("a parser limit was exceeded ({other:?})"),
    }
}

fn parse_toml(file: &SourceFile) -> Result<Node, Diagnostic> {
    if let Some(offset) = too_deep_toml(&file.text) {
        return Err(Diagnostic::new(
            Code::Syntax,
            format!("invalid TOML: nesting deeper than {MAX_DEPTH} levels"),
        )
        .at(file, Span::new(offset, 1))
        .with_label("too deep"));
    }
    match toml::de::DeTable::parse(&file.text) {
        Ok(table) => {
            let span = table.span();
            let mut datetime = None;
            let node = toml_table(
                table.into_inner(),
                Span::new(span.start, span.end - span.start),
                &mut datetime,
            );
            match datetime {
                // No field of the format is a date: a datetime is a string missing its quotes.
                Some(at) => Err(Diagnostic::new(
                    Code::InvalidValue,
                    "a TOML datetime is not a value of this format",
                )
                .at(file, at)
                .with_label("datetime")
                .with_help("write the value in quotes to make it a string")),
                None => Ok(node),
            }
        }
        Err(err) => {
            let span = err.span().map_or(Span::default(), |r| {
                Span::new(r.start, r.end.saturating_sub(r.start))
            });
            let message = err.message().lines().next().unwrap_or("").trim();
            let message = if message == "duplicate key" {
                let key = file
                    .text
                    .get(span.start..span.start.saturating_add(span.len))
                    .unwrap_or("")
                    .trim()
                    .trim_matches(|c| c == '"' || c == '\'');
                format!("key `{}` given twice", shorten(key, MAX_VALUE_CHARS))
            } else {
                let message = shorten(message, MAX_MESSAGE_CHARS / 2);
                match toml_key_of_line(file, span.start) {
                    Some(key) => {
                        format!("in `{}`: {message}", shorten(key, MAX_VALUE_CHARS))
                    }
                    None => message.into_owned(),
                }
            };
            Err(
                Diagnostic::new(Code::Syntax, format!("invalid TOML: {message}"))
                    .at(file, span)
                    .with_label("here"),
            )
        }
    }
}

/// The key assigned on the line holding `offset` (`key = …`, `a.b = …`, `[table]`), to name
/// it in syntax errors, whose text from the TOML parser does not.
fn toml_key_of_line(file: &SourceFile, offset: usize) -> Option<&str> {
    let (line, _) = file.line_of(offset);
    let range = file.line_range(line)?;
    let text = file.text.get(range)?.trim();
    if let Some(table) = text.strip_prefix('[') {
        let name = table.trim_start_matches('[');
        let end = name.find(']')?;
        return Some(name[..end].trim()).filter(|k| !k.is_empty());
    }
    let (key, _) = text.split_once('=')?;
    let key = key.trim();
    let plain = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | ' '));
    (plain && !key.is_empty()).then_some(key)
}

/// The offset of the first bracket/brace that nests deeper than [`MAX_DEPTH`] (outside
/// strings and comments), so the TOML parser is never handed input that would recurse
/// without bound.
fn too_deep_toml(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_str: Option<char> = None;
    let mut in_comment = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_comment {
            in_comment = c != '\n';
            continue;
        }
        if let Some(q) = in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                in_str = None;
            }
            continue;
        }
        match c {
            '#' => in_comment = true,
            '"' | '\'' => in_str = Some(c),
            '[' | '{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn toml_span(r: std::ops::Range<usize>) -> Span {
    Span::new(r.start, r.end.saturating_sub(r.start))
}

fn toml_table(table: toml::de::DeTable<'_>, span: Span, datetime: &mut Option<Span>) -> Node {
    let entries = table
        .into_iter()
        .map(|(k, v)| {
            let key = Key {
                name: k.get_ref().to_string(),
                span: toml_span(k.span()),
            };
            (key, toml_value(v, datetime))
        })
        .collect();
    Node::new(span, Value::Map(entries))
}

fn toml_value(v: toml::Spanned<toml::de::DeValue<'_>>, datetime: &mut Option<Span>) -> Node {
    let span = toml_span(v.span());
    let value = match v.into_inner() {
        toml::de::DeValue::String(s) => Value::Str(s.into_owned()),
        toml::de::DeValue::Integer(i) => {
            let digits: String = i.as_str().chars().filter(|c| *c != '_').collect();
            match i128::from_str_radix(&digits, i.radix()) {
                Ok(n) => Value::Int(n),
                // Beyond i128: as YAML does, a number too large, not a string.
                Err(_) => Value::Float(f64::INFINITY),
            }
        }
        toml::de::DeValue::Float(f) => {
            let text: String = f.as_str().chars().filter(|c| *c != '_').collect();
            let parsed = match text.as_str() {
                "inf" | "+inf" => Some(f64::INFINITY),
                "-inf" => Some(f64::NEG_INFINITY),
                "nan" | "+nan" | "-nan" => Some(f64::NAN),
                t => t.parse().ok(),
            };
            Value::Float(parsed.unwrap_or(f64::NAN))
        }
        toml::de::DeValue::Boolean(b) => Value::Bool(b),
        toml::de::DeValue::Datetime(_) => {
            datetime.get_or_insert(span);
            Value::Null
        }
        toml::de::DeValue::Array(items) => Value::Seq(
            items
                .into_iter()
                .map(|item| toml_value(item, datetime))
                .collect(),
        ),
        toml::de::DeValue::Table(t) => return toml_table(t, span, datetime),
    };
    Node::new(span, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<Node, Diagnostic> {
        parse(&SourceFile::new("t.yaml", text, Format::Yaml))
    }

    #[test]
    fn yaml_spans_point_at_values() {
        let text = "a:\n  b: 12\n  c: [x, 'y']\n";
        let node = yaml(text).expect("parses");
        let b = node.at_path("a.b").expect("a.b");
        assert_eq!(b.value, Value::Int(12));
        assert_eq!(&text[b.span.start..b.span.start + b.span.len], "12");
        let y = node.at_path("a.c[1]").expect("a.c[1]");
        assert_eq!(y.value, Value::Str("y".into()));
        let key = node
            .at_path("a")
            .and_then(|a| a.get_key("c"))
            .expect("key c");
        assert_eq!(&text[key.span.start..key.span.start + key.span.len], "c");
    }

    fn seq_spans(node: &Node, key: &str) -> Vec<Span> {
        match node.get(key).map(|n| &n.value) {
            Some(Value::Seq(items)) => items.iter().map(|n| n.span).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn loader_spans_are_the_full_ones_where_kept_and_absent_elsewhere() {
        let text = "apiVersion: aurora-apply/v1\nx-base: &b {cpu: 1, ram: 1GiB}\nvars:\n  v: {type: string, default: x}\njobs:\n  - key: c/r/e/a\n    resources: *b\n    targets:\n      - {cluster: w}\n      - cluster: e\n  - &j {key: c/r/e/b, <<: *b}\n  - *j\n  - [1, {a: 2}]\n";
        for format in [Format::Yaml, Format::Json] {
            let text = if format == Format::Json {
                r#"{"apiVersion": "aurora-apply/v1", "vars": {"v": {"type": "string"}}, "jobs": [{"key": "c/r/e/a", "targets": [{"cluster": "w"}]}, {"key": "c/r/e/b"}]}"#
            } else {
                text
            };
            let f = SourceFile::new("t", text, format);
            let full = parse(&f).expect("parses");
            let fast = parse_with(&f, Spans::Loader).expect("parses");
            // The same values...
            assert_eq!(fast.to_json(), full.to_json());
            // ...with the spans a valid file needs: the document, `vars` in full, each job
            // and each target entry...
            assert_eq!(fast.span, full.span);
            assert_eq!(fast.get("vars"), full.get("vars"));
            assert_eq!(seq_spans(&fast, "jobs"), seq_spans(&full, "jobs"));
            let targets = |n: &Node| n.at_path("jobs[0]").map(|j| seq_spans(j, "targets"));
            assert_eq!(targets(&fast), targets(&full));
            assert!(targets(&full).is_some_and(|t| !t.is_empty()));
            // ...and no others.
            let key = |n: &Node| n.at_path("jobs[0].key").map(|k| k.span);
            assert_ne!(key(&full), Some(Span::default()));
            assert_eq!(key(&fast), Some(Span::default()));
        }
    }

    #[test]
    fn loader_spans_read_every_example_spec_as_the_full_parse_does() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs");
        let (paths, _) = crate::load::collect_paths(&[dir]);
        assert!(!paths.is_empty());
        for path in paths {
            let f = crate::load::read_source(&path).expect("readable");
            let full = parse(&f).map(|n| n.to_json()).map_err(|d| d.to_string());
            let fast = parse_with(&f, Spans::Loader)
                .map(|n| n.to_json())
                .map_err(|d| d.to_string());
            assert_eq!(fast, full, "{}", path.display());
        }
    }

    #[test]
    fn loader_spans_refuse_what_the_full_parse_refuses() {
        let deep = format!("jobs: {}{}", "[".repeat(100), "]".repeat(100));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        bomb.push_str("jobs: *a11\n");
        // 64 levels of the unoptimised deserializer need more than a test thread's 2 MiB
        // of stack (the full parse as much as this one; release builds need far less).
        let refusals = move || {
            for text in [
                deep.as_str(),
                bomb.as_str(),
                "jobs:\n  - a: 1\n    a: 2\n",
                "jobs: [1, 2\n",
                "jobs: !include x\n",
                "a: 1\n---\nb: 2\n",
            ] {
                let f = SourceFile::new("t.yaml", text, Format::Yaml);
                let full = parse(&f).expect_err("refused");
                let fast = parse_with(&f, Spans::Loader).expect_err("refused");
                assert_eq!(fast.message, full.message, "{text}");
                assert_eq!(fast.span, full.span, "{text}");
            }
        };
        std::thread::Builder::new()
            .stack_size(16 << 20)
            .spawn(refusals)
            .expect("thread")
            .join()
            .expect("no panic");
    }

    #[test]
    fn yaml_1_2_scalars() {
        let node = yaml("a: y\nb: on\nc: 0755\nd: 1_000\ne: True\nf: 0x10\ng: ~\nh: 1.10\n")
            .expect("parses");
        let v = |k: &str| node.at_path(k).map(|n| n.value.clone());
        assert_eq!(v("a"), Some(Value::Str("y".into())));
        assert_eq!(v("b"), Some(Value::Str("on".into())));
        // The number 755 (serde-saphyr reports a leading-zero decimal as a float; either way
        // it is a number, as in editors, and `instances: 010` is 10).
        assert_eq!(v("c"), Some(Value::Float(755.0)));
        assert_eq!(v("d"), Some(Value::Str("1_000".into())));
        assert_eq!(v("e"), Some(Value::Bool(true)));
        assert_eq!(v("f"), Some(Value::Int(16)));
        assert_eq!(v("g"), Some(Value::Null));
        assert_eq!(v("h"), Some(Value::Float(1.1)));
    }

    #[test]
    fn yaml_syntax_error_is_located() {
        let err = yaml("a: [1, 2\nb: 3\n").expect_err("bad");
        assert_eq!(err.code, Code::Syntax);
        assert!(err.span.is_some());
    }

    #[test]
    fn yaml_duplicate_keys_rejected() {
        assert!(yaml("a: 1\na: 2\n").is_err());
    }

    #[test]
    fn json_goes_through_yaml() {
        let f = SourceFile::new(
            "t.json",
            r#"{"a": {"b": [1, 2.5, "x", true, null]}}"#,
            Format::Json,
        );
        let node = parse(&f).expect("parses");
        assert_eq!(
            node.at_path("a.b[1]").map(|n| &n.value),
            Some(&Value::Float(2.5))
        );
    }

    #[test]
    fn toml_spans_and_types() {
        let text = "x = 0x10\n[t]\ny = \"s\"\nz = 1_000.5\n[[arr]]\nq = true\n";
        let f = SourceFile::new("t.toml", text, Format::Toml);
        let node = parse(&f).expect("parses");
        assert_eq!(node.at_path("x").map(|n| &n.value), Some(&Value::Int(16)));
        let y = node.at_path("t.y").expect("t.y");
        assert_eq!(&text[y.span.start..y.span.start + y.span.len], "\"s\"");
        assert_eq!(
            node.at_path("t.z").map(|n| &n.value),
            Some(&Value::Float(1000.5))
        );
        assert_eq!(
            node.at_path("arr[0].q").map(|n| &n.value),
            Some(&Value::Bool(true))
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(yaml(&deep).is_err());
        let f = SourceFile::new("t.toml", format!("a = {deep}"), Format::Toml);
        assert!(parse(&f).is_err());
        let f = SourceFile::new("t.json", deep, Format::Json);
        assert!(parse(&f).is_err());
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(yaml(&text).is_err());
    }
}
