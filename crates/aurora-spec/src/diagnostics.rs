//! Typed diagnostics: every problem found in a run, with the file, the byte span, the path
//! inside the document (`jobs[1].resources.cpu`) and a stable code.
//!
//! Diagnostics are data first (editors and the CLI's JSON output read the fields) and miette
//! reports second ([`miette::Diagnostic`] is implemented so the CLI can draw snippets).

use std::fmt;

use miette::{LabeledSpan, NamedSource, SourceCode};

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

/// One problem, located.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// The kind of problem.
    pub code: Code,
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
}

impl Diagnostic {
    /// A diagnostic with only a code and a message; locate it with the builder methods.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            path: String::new(),
            file: None,
            span: None,
            label: None,
            help: None,
            related: Vec::new(),
        }
    }

    /// Sets the document path.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Sets the file and span.
    pub fn at(mut self, file: &SourceFile, span: Span) -> Self {
        self.file = Some(file.clone());
        self.span = Some(span);
        self
    }

    /// Sets the label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary location.
    pub fn with_related(mut self, label: impl Into<String>, file: &SourceFile, span: Span) -> Self {
        self.related.push(Related {
            label: label.into(),
            file: file.clone(),
            span,
        });
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

    fn named_source(&self) -> Option<&SourceFile> {
        self.file.as_ref()
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

impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// A related location in another file, shown as its own small report.
#[derive(Debug)]
struct RelatedReport {
    label: String,
    source: NamedSource<std::sync::Arc<str>>,
    span: Span,
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
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(
                Some(self.label.clone()),
                (self.span.start, self.span.len),
            ),
        )))
    }
}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.named_source().map(|f| f as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            self.label.clone(),
            (span.start, span.len),
        )];
        let same_file = |r: &Related| {
            self.file
                .as_ref()
                .is_some_and(|f| f.name == r.file.name && f.text == r.file.text)
        };
        for r in self.related.iter().filter(|r| same_file(r)) {
            labels.push(LabeledSpan::new_with_span(
                Some(r.label.clone()),
                (r.span.start, r.span.len),
            ));
        }
        Some(Box::new(labels.into_iter()))
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
            .filter(|r| {
                !self
                    .file
                    .as_ref()
                    .is_some_and(|f| f.name == r.file.name && f.text == r.file.text)
            })
            .map(|r| {
                let (line, col) = r.file.line_col(r.span.start);
                Box::new(RelatedReport {
                    label: format!("{} ({}:{line}:{col})", r.label, r.file.name),
                    source: NamedSource::new(r.file.name.as_ref(), r.file.text.clone()),
                    span: r.span,
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
}

impl Diagnostics {
    /// No diagnostics yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one, unless an identical one (same file, span and message) is already there:
    /// a mistake in `defaults:` is reported once, not once per job it is merged into.
    pub fn push(&mut self, d: Diagnostic) {
        let dup = self.items.iter().any(|e| {
            e.message == d.message
                && e.span == d.span
                && e.file.as_ref().map(|f| &f.name) == d.file.as_ref().map(|f| &f.name)
        });
        if !dup {
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

    /// `Ok(value)` when empty, otherwise `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Self { items: vec![d] }
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
    fn suggestions() {
        assert_eq!(did_you_mean("cpus", ["cpu", "ram", "disk"]), Some("cpu"));
        assert_eq!(
            did_you_mean("srvice", ["service", "adhoc", "cron"]),
            Some("service")
        );
        assert_eq!(did_you_mean("zzzzzz", ["cpu", "ram"]), None);
    }
}
