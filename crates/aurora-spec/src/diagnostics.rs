//! Typed diagnostics: every problem found in a run, with the file, the byte span, the path
//! inside the document (`jobs[1].resources.cpu`) and a stable code.
//!
//! Diagnostics are data first (editors and the CLI's JSON output read the fields) and miette
//! reports second ([`miette::Diagnostic`] is implemented so the CLI can draw snippets).

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

use miette::{LabeledSpan, SourceCode};

use crate::source::{SourceFile, Span};

/// What kind of problem a diagnostic reports. The string form (`Code::as_str`) is stable and
/// part of the CLI's machine output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// The file could not be read, or is not UTF-8.
    Io,
    /// YAML/TOML/JSON syntax, or a parser budget (alias bomb, nesting) was exceeded.
    Syntax,
    /// `apiVersion` missing or not a supported version.
    ApiVersion,
    /// A key the format does not know.
    UnknownField,
    /// A required key is missing.
    MissingField,
    /// A value of the wrong type, or not one of the allowed values.
    InvalidValue,
    /// A rule the Aurora scheduler enforces (the message carries the scheduler's reason).
    SchedulerRule,
    /// A rule of this format (field combinations, kinds, references).
    SpecRule,
    /// The same job key is defined twice across the inputs.
    DuplicateJob,
    /// An executor `data_file` is missing or not valid JSON.
    DataFile,
    /// A directory given on the command line holds no spec file.
    NoSpecFiles,
    /// A job's cluster is not in the clusters.json files found.
    UnknownCluster,
    /// A `vars:` declaration, a `${var.NAME}` reference or a variable's value.
    Variable,
}

impl Code {
    /// The stable string form, e.g. `aurora_spec::unknown_field`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Io => "aurora_spec::io",
            Self::Syntax => "aurora_spec::syntax",
            Self::ApiVersion => "aurora_spec::api_version",
            Self::UnknownField => "aurora_spec::unknown_field",
            Self::MissingField => "aurora_spec::missing_field",
            Self::InvalidValue => "aurora_spec::invalid_value",
            Self::SchedulerRule => "aurora_spec::scheduler_rule",
            Self::SpecRule => "aurora_spec::spec_rule",
            Self::DuplicateJob => "aurora_spec::duplicate_job",
            Self::DataFile => "aurora_spec::data_file",
            Self::NoSpecFiles => "aurora_spec::no_spec_files",
            Self::UnknownCluster => "aurora_spec::unknown_cluster",
            Self::Variable => "aurora_spec::variable",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary location (e.g. where a duplicated job was first defined).
#[derive(Clone, Debug)]
pub struct Related {
    /// What is there.
    pub label: String,
    /// The file.
    pub file: SourceFile,
    /// Where in it.
    pub span: Span,
}

/// Whether a diagnostic stops the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The input is wrong: nothing is sent (exit 3).
    #[default]
    Error,
    /// Worth fixing, but the run goes on (a declared variable nothing uses).
    Warning,
}

impl Severity {
    /// `error` or `warning`, as in the CLI's output and `validate -o json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem, located.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// The kind of problem.
    pub code: Code,
    /// Whether it stops the run.
    pub severity: Severity,
    /// One sentence saying what is wrong (for scheduler rules: the scheduler's own reason).
    pub message: String,
    /// The path inside the document, e.g. `jobs[1].resources.cpu` (empty for file-level).
    pub path: String,
    /// The file, when known.
    pub file: Option<SourceFile>,
    /// Where in the file.
    pub span: Option<Span>,
    /// Short text under the snippet's caret.
    pub label: Option<String>,
    /// A hint: "did you mean `cpu`?", the allowed values, how to fix it.
    pub help: Option<String>,
    /// Other places involved.
    pub related: Vec<Related>,
    /// The snippet miette draws, built on first use (see [`Snippet`]).
    snippet: OnceLock<Snippet>,
}

impl Diagnostic {
    /// A diagnostic with only a code and a message; locate it with the builder methods.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: clamp_text(message.into(), MAX_MESSAGE_CHARS),
            path: String::new(),
            file: None,
            span: None,
            label: None,
            help: None,
            related: Vec::new(),
            snippet: OnceLock::new(),
        }
    }

    /// Makes it a warning: reported, but the run goes on.
    pub fn as_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Whether it stops the run.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Sets the document path.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = clamp_text(path.into(), MAX_MESSAGE_CHARS);
        self
    }

    /// Sets the file and span.
    pub fn at(mut self, file: &SourceFile, span: Span) -> Self {
        self.file = Some(file.clone());
        self.span = Some(span);
        self.snippet = OnceLock::new();
        self
    }

    /// Sets the label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(clamp_text(help.into(), MAX_MESSAGE_CHARS));
        self
    }

    /// Adds a secondary location.
    pub fn with_related(mut self, label: impl Into<String>, file: &SourceFile, span: Span) -> Self {
        self.related.push(Related {
            label: label.into(),
            file: file.clone(),
            span,
        });
        self.snippet = OnceLock::new();
        self
    }

    /// `file:line:col` (1-based), or just the file name, or `<input>`.
    pub fn location(&self) -> String {
        match (&self.file, self.span) {
            (Some(file), Some(span)) => {
                let (line, col) = file.line_col(span.start);
                format!("{}:{line}:{col}", file.name)
            }
            (Some(file), None) => file.name.to_string(),
            _ => "<input>".to_string(),
        }
    }

    /// The diagnostic as JSON, for editors and CI (`validate -o json`): `code`, `message`,
    /// `path`, `file`, 1-based `line`/`column`, byte `span` {start, len}, `label`, `help`,
    /// `related` (same fields). Absent values are `null`.
    pub fn to_json(&self) -> serde_json::Value {
        let (line, column) = self.line_col().unzip();
        serde_json::json!({
            "code": self.code.as_str(),
            "severity": self.severity.as_str(),
            "message": self.message,
            "path": self.path,
            "file": self.file.as_ref().map(|f| f.name.to_string()),
            "line": line,
            "column": column,
            "span": self.span.map(|s| serde_json::json!({"start": s.start, "len": s.len})),
            "label": self.label,
            "help": self.help,
            "related": self.related.iter().map(|r| {
                let (line, column) = r.file.line_col(r.span.start);
                serde_json::json!({
                    "message": r.label,
                    "file": r.file.name.to_string(),
                    "line": line,
                    "column": column,
                    "span": {"start": r.span.start, "len": r.span.len},
                })
            }).collect::<Vec<_>>(),
        })
    }

    /// The 1-based line and column, when located.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        Some(self.file.as_ref()?.line_col(self.span?.start))
    }

    /// The snippet of the primary location and the related ones in the same file.
    fn snippet(&self) -> Option<&Snippet> {
        let file = self.file.as_ref()?;
        let span = self.span?;
        Some(self.snippet.get_or_init(|| {
            let mut labels = vec![(span, self.label.clone(), true)];
            labels.extend(
                self.related
                    .iter()
                    .filter(|r| same_file(file, &r.file))
                    .map(|r| (r.span, Some(r.label.clone()), false)),
            );
            Snippet::build(file, &labels)
        }))
    }
}

/// Whether two handles are the same file (cheap when they share the text, as clones do).
fn same_file(a: &SourceFile, b: &SourceFile) -> bool {
    a.name == b.name && (Arc::ptr_eq(&a.text, &b.text) || a.text == b.text)
}

/// Messages, paths and hints longer than this many characters are cut (with `…`): a value
/// echoed in a message must not flood the terminal.
pub const MAX_MESSAGE_CHARS: usize = 400;

/// Values quoted inside messages are shortened to this many characters.
pub const MAX_VALUE_CHARS: usize = 60;

/// `s` cut to at most `max` characters, with `…` (and the full length) when cut.
pub fn shorten(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((cut, _)) => {
            let keep = s
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(cut, |(b, _)| b);
            std::borrow::Cow::Owned(format!(
                "{}… ({} characters)",
                &s[..keep],
                s.chars().count()
            ))
        }
    }
}

fn clamp_text(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s,
        Some(_) => shorten(&s, max).into_owned(),
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for Diagnostic {}

/// How many characters of a source line a snippet shows; longer lines are clipped around
/// the label with `…` (miette cannot draw labels past column 65,535, and a megabyte of one
/// line helps nobody).
pub const SNIPPET_LINE_CHARS: usize = 200;

/// Labels spanning more lines than this are shown on their first line only.
const SNIPPET_MAX_LABEL_LINES: usize = 8;

/// Context lines kept around each label (miette asks for 1 by default).
const SNIPPET_CONTEXT: usize = 3;

/// What miette draws for a diagnostic: the lines around its labels, each clipped to
/// [`SNIPPET_LINE_CHARS`], in a small text of their own. Labels are given in the snippet's
/// offsets; line numbers and the header's column are the real ones (columns in characters,
/// as in the `file:line:col` headline). Building it costs the lines shown, not the file.
#[derive(Clone, Debug)]
struct Snippet {
    name: String,
    text: String,
    lines: Vec<SnippetLine>,
    labels: Vec<LabeledSpan>,
}

#[derive(Clone, Debug)]
struct SnippetLine {
    /// Byte range in `Snippet::text` (without the line break).
    start: usize,
    end: usize,
    /// 0-based line in the real file.
    line: usize,
    /// Lines are grouped into runs of consecutive real lines.
    run: usize,
    /// Where the copied window of the real line starts in `Snippet::text` (after a `…`),
    /// and the real 0-based column of its first character.
    window: usize,
    first_col: usize,
}

impl Snippet {
    fn build(file: &SourceFile, labels: &[(Span, Option<String>, bool)]) -> Snippet {
        let text: &str = &file.text;
        // Each label's byte range and lines (clipped to its first line when very tall).
        let mut spans: Vec<(usize, usize, usize, usize, Option<String>, bool)> = labels
            .iter()
            .map(|(span, label, primary)| {
                let start = crate::source::floor_char_boundary(text, span.start);
                let end =
                    crate::source::floor_char_boundary(text, span.start.saturating_add(span.len))
                        .max(start);
                let (l0, _) = file.line_of(start);
                let (l1, _) = file.line_of(end.saturating_sub(1).max(start));
                let (end, l1) = if l1.saturating_sub(l0) >= SNIPPET_MAX_LABEL_LINES {
                    let line_end = file.line_range(l0).map_or(start, |r| r.end);
                    (line_end.max(start), l0)
                } else {
                    (end, l1)
                };
                (start, end, l0, l1, label.clone(), *primary)
            })
            .collect();
        spans.sort_by_key(|s| s.0);
        // The lines to show: each label's lines plus context, merged into runs.
        let last_line = file.line_count().saturating_sub(1);
        let mut wanted: Vec<(usize, usize)> = Vec::new();
        for s in &spans {
            let lo = s.2.saturating_sub(SNIPPET_CONTEXT);
            let hi = (s.3 + SNIPPET_CONTEXT).min(last_line);
            match wanted.last_mut() {
                Some(last) if lo <= last.1 + 2 * SNIPPET_CONTEXT + 2 => last.1 = last.1.max(hi),
                _ => wanted.push((lo, hi)),
            }
        }
        let mut out = Snippet {
            name: file.name.to_string(),
            text: String::new(),
            lines: Vec::new(),
            labels: Vec::new(),
        };
        // (real offset, snippet offset) of every label end point.
        let mut mapped: Vec<(usize, usize)> = Vec::new();
        for (run, &(lo, hi)) in wanted.iter().enumerate() {
            for line in lo..=hi {
                let Some(range) = file.line_range(line) else {
                    continue;
                };
                let line_chars = file.chars_before(range.start);
                let total = file.chars_before(range.end) - line_chars;
                // The first label starting on this line decides the visible window.
                let focus = spans
                    .iter()
                    .map(|s| s.0)
                    .find(|&o| o >= range.start && o <= range.end)
                    .map_or(0, |o| file.chars_before(o) - line_chars);
                let (from, to) = if total <= SNIPPET_LINE_CHARS {
                    (0, total)
                } else {
                    let to = (focus.saturating_sub(SNIPPET_LINE_CHARS / 3) + SNIPPET_LINE_CHARS)
                        .min(total);
                    (to - SNIPPET_LINE_CHARS, to)
                };
                let (wb, we) = if (from, to) == (0, total) {
                    (range.start, range.end)
                } else {
                    (
                        file.offset_of_char(line_chars + from),
                        file.offset_of_char(line_chars + to),
                    )
                };
                if !out.text.is_empty() {
                    out.text.push('\n');
                }
                let start = out.text.len();
                if from > 0 {
                    out.text.push('…');
                }
                let window = out.text.len();
                out.text.push_str(text.get(wb..we).unwrap_or(""));
                let window_end = out.text.len();
                for s in &spans {
                    for point in [s.0, s.1] {
                        if point >= range.start && point <= range.end {
                            let v = window + point.clamp(wb, we) - wb;
                            mapped.push((point, v.min(window_end)));
                        }
                    }
                }
                if to < total {
                    out.text.push('…');
                }
                out.lines.push(SnippetLine {
                    start,
                    end: out.text.len(),
                    line,
                    run,
                    window,
                    first_col: from,
                });
            }
        }
        let map = |real: usize| {
            mapped
                .iter()
                .find(|(r, _)| *r == real)
                .map_or(0, |(_, v)| *v)
        };
        for (start, end, _, _, label, primary) in spans {
            let vs = map(start);
            let ve = map(end).max(vs);
            let span = (vs, ve - vs);
            out.labels.push(if primary {
                LabeledSpan::new_primary_with_span(label, span)
            } else {
                LabeledSpan::new_with_span(label, span)
            });
        }
        out
    }

    fn line_at(&self, offset: usize) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| l.start <= offset && offset <= l.end)
    }
}

struct SnippetContents<'a> {
    data: &'a [u8],
    span: miette::SourceSpan,
    name: &'a str,
    line: usize,
    column: usize,
    line_count: usize,
}

impl<'a> miette::SpanContents<'a> for SnippetContents<'a> {
    fn data(&self) -> &'a [u8] {
        self.data
    }
    fn span(&self) -> &miette::SourceSpan {
        &self.span
    }
    fn name(&self) -> Option<&str> {
        Some(self.name)
    }
    fn line(&self) -> usize {
        self.line
    }
    fn column(&self) -> usize {
        self.column
    }
    fn line_count(&self) -> usize {
        self.line_count
    }
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let out_of_bounds = || miette::MietteError::OutOfBounds;
        let first = self.line_at(span.offset()).ok_or_else(out_of_bounds)?;
        let end = span.offset().saturating_add(span.len().saturating_sub(1));
        let last = self
            .line_at(end.max(span.offset()))
            .ok_or_else(out_of_bounds)?;
        let run = self.lines[first].run;
        if self.lines[last].run != run {
            return Err(out_of_bounds());
        }
        let mut lo = first;
        while lo > 0 && first - lo < context_lines_before && self.lines[lo - 1].run == run {
            lo -= 1;
        }
        let mut hi = last;
        while hi + 1 < self.lines.len()
            && hi - last < context_lines_after
            && self.lines[hi + 1].run == run
        {
            hi += 1;
        }
        let (start, column) = if context_lines_before == 0 {
            let l = &self.lines[first];
            let at = span.offset().clamp(l.window, l.end);
            let col = l.first_col + self.text.get(l.window..at).map_or(0, |s| s.chars().count());
            (span.offset(), col)
        } else {
            (self.lines[lo].start, 0)
        };
        let stop = self.lines[hi].end.max(start);
        Ok(Box::new(SnippetContents {
            data: self.text.as_bytes().get(start..stop).unwrap_or(&[]),
            span: (start, stop - start).into(),
            name: &self.name,
            line: self.lines[if context_lines_before == 0 { first } else { lo }].line,
            column,
            line_count: hi + 1 - lo,
        }))
    }
}

/// A related location in another file, shown as its own small report.
#[derive(Debug)]
struct RelatedReport {
    label: String,
    snippet: Snippet,
}

impl fmt::Display for RelatedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

impl std::error::Error for RelatedReport {}

impl miette::Diagnostic for RelatedReport {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.snippet)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.snippet.labels.clone().into_iter()))
    }
}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.snippet().map(|s| s as &dyn SourceCode)
    }

    /// The labels, in the offsets of the snippet [`miette::Diagnostic::source_code`] returns.
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let snippet = self.snippet()?;
        Some(Box::new(snippet.labels.clone().into_iter()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        None
    }
}

impl Diagnostic {
    /// Secondary locations in other files than the primary one, as their own reports (the
    /// CLI prints them after the main report).
    pub fn foreign_related(&self) -> Vec<Box<dyn miette::Diagnostic + Send + Sync>> {
        self.related
            .iter()
            .filter(|r| !self.file.as_ref().is_some_and(|f| same_file(f, &r.file)))
            .map(|r| {
                let (line, col) = r.file.line_col(r.span.start);
                Box::new(RelatedReport {
                    label: format!("{} ({}:{line}:{col})", r.label, r.file.name),
                    snippet: Snippet::build(&r.file, &[(r.span, Some(r.label.clone()), true)]),
                }) as Box<dyn miette::Diagnostic + Send + Sync>
            })
            .collect()
    }
}

/// Every diagnostic of a run. Returned as the error of the loading functions so a caller gets
/// all problems at once, not just the first.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    /// (file, span, message) of every item, for the duplicate check in constant time.
    seen: HashSet<(Option<Arc<str>>, Option<Span>, String)>,
}

impl Diagnostics {
    /// No diagnostics yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one, unless an identical one (same file, span and message) is already there:
    /// a mistake in `defaults:` is reported once, not once per job it is merged into.
    pub fn push(&mut self, d: Diagnostic) {
        let key = (
            d.file.as_ref().map(|f| f.name.clone()),
            d.span,
            d.message.clone(),
        );
        if self.seen.insert(key) {
            self.items.push(d);
        }
    }

    /// Adds all of another collection.
    pub fn extend(&mut self, other: Diagnostics) {
        for d in other.items {
            self.push(d);
        }
    }

    /// True when nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The diagnostics, sorted by file, then position, for stable output.
    pub fn sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            let ka = (
                a.file.as_ref().map(|f| f.name.clone()),
                a.span.map(|s| s.start),
            );
            let kb = (
                b.file.as_ref().map(|f| f.name.clone()),
                b.span.map(|s| s.start),
            );
            ka.cmp(&kb)
        });
        self.items
    }

    /// The diagnostics in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Whether any of them is an error (warnings alone do not stop a run).
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Only the warnings.
    pub fn warnings(self) -> Diagnostics {
        let mut out = Diagnostics::new();
        for d in self.items.into_iter().filter(|d| !d.is_error()) {
            out.push(d);
        }
        out
    }

    /// `Ok(value)` when there is no error (warnings are dropped: callers that show them use
    /// [`crate::load::load_sources_with`]), otherwise `Err(self)` with the warnings too.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if !self.has_errors() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        let mut out = Self::default();
        out.push(d);
        out
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} problem(s) in the specs", self.items.len())
    }
}

impl std::error::Error for Diagnostics {}

impl miette::Diagnostic for Diagnostics {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        Some(Box::new(
            self.items.iter().map(|d| d as &dyn miette::Diagnostic),
        ))
    }
}

/// The closest candidate to `input` (for "did you mean"), if any is close enough.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input_l = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (levenshtein(&input_l, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(input.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form() {
        let f = SourceFile::new("a.yaml", "x: 1\ny: 2\n", crate::source::Format::Yaml);
        let d = Diagnostic::new(Code::UnknownField, "unknown key `y`")
            .with_path("y")
            .at(&f, Span::new(5, 1))
            .with_help("did you mean `x`?");
        let v = d.to_json();
        assert_eq!(v["line"], 2);
        assert_eq!(v["column"], 1);
        assert_eq!(v["code"], "aurora_spec::unknown_field");
        assert_eq!(v["help"], "did you mean `x`?");
    }

    #[test]
    fn snippets_survive_odd_spans() {
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let f = SourceFile::new("a.yaml", "x: é\ny: 2\n", crate::source::Format::Yaml);
        for span in [
            Span::new(usize::MAX, 5),
            Span::new(4, 1),
            Span::new(0, usize::MAX),
            Span::new(11, 0),
            Span::new(3, 0),
        ] {
            let d = Diagnostic::new(Code::InvalidValue, "x").at(&f, span);
            let mut out = String::new();
            assert!(handler.render_report(&mut out, &d).is_ok(), "{span:?}");
            assert!(out.contains("[a.yaml:"), "{span:?}: {out}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("cpus", ["cpu", "ram", "disk"]), Some("cpu"));
        assert_eq!(
            did_you_mean("srvice", ["service", "adhoc", "cron"]),
            Some("service")
        );
        assert_eq!(did_you_mean("zzzzzz", ["cpu", "ram"]), None);
    }
}
