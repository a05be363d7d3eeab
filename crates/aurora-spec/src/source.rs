//! Source files and byte spans: what every diagnostic points into.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A byte range in a source file. Kept as plain offsets (not miette's type) so the model and
/// the loaders do not depend on how diagnostics are rendered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Length in bytes (0 = a position, shown as a caret).
    pub len: usize,
}

impl Span {
    /// A span from `start` of `len` bytes.
    pub const fn new(start: usize, len: usize) -> Self {
        Self { start, len }
    }
}

/// The syntax of a spec file, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `*.yaml`, `*.yml` (serde-saphyr).
    Yaml,
    /// `*.toml` (toml, with spans).
    Toml,
    /// `*.json`, read by the YAML parser (JSON is a subset of YAML 1.2), so it has spans too.
    Json,
}

impl Format {
    /// The format for a path's extension, or `None` when it is not a spec file.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Self::Yaml),
            "toml" => Some(Self::Toml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// One loaded spec file: its name as shown to people, its text and where relative paths
/// (`data_file`) are resolved from. Cheap to clone; diagnostics keep a handle to show snippets.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics (the path as given on the command line).
    pub name: Arc<str>,
    /// The full text.
    pub text: Arc<str>,
    /// The syntax.
    pub format: Format,
    /// The folder relative paths in this file are resolved from (`None` for in-memory input:
    /// then `data_file` is refused).
    pub base_dir: Option<PathBuf>,
    /// Line starts and character counts, built on first use and shared by clones, so that
    /// locating any number of diagnostics costs one pass over the text, not one per problem.
    index: Arc<OnceLock<Index>>,
}

impl SourceFile {
    /// An in-memory source (tests, editors, stdin).
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>, format: Format) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
            format,
            base_dir: None,
            index: Arc::default(),
        }
    }

    /// Sets the folder `data_file` paths are resolved from.
    pub fn with_base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::new(&self.text))
    }

    fn line_starts(&self) -> &[usize] {
        &self.index().line_starts
    }

    /// How many characters come before byte `offset` (rounded down to a character start).
    pub fn chars_before(&self, offset: usize) -> usize {
        let offset = floor_char_boundary(&self.text, offset);
        let marks = &self.index().marks;
        let k = marks
            .partition_point(|&(b, _)| b <= offset)
            .saturating_sub(1);
        let (b, c) = marks.get(k).copied().unwrap_or((0, 0));
        c + self.text.get(b..offset).map_or(0, |s| s.chars().count())
    }

    /// The byte offset of the `n`th character (0-based; the text length past the end).
    pub fn offset_of_char(&self, n: usize) -> usize {
        let marks = &self.index().marks;
        let k = marks.partition_point(|&(_, c)| c <= n).saturating_sub(1);
        let (b, c) = marks.get(k).copied().unwrap_or((0, 0));
        let rest = self.text.get(b..).unwrap_or("");
        b + rest
            .char_indices()
            .nth(n.saturating_sub(c))
            .map_or(rest.len(), |(i, _)| i)
    }

    /// The 0-based line index of a byte offset and the byte offset where that line starts.
    pub fn line_of(&self, offset: usize) -> (usize, usize) {
        let starts = self.line_starts();
        let offset = offset.min(self.text.len());
        let line = starts.partition_point(|&s| s <= offset).saturating_sub(1);
        (line, starts.get(line).copied().unwrap_or(0))
    }

    /// The byte range of a 0-based line, without its line break (`None` past the end).
    pub fn line_range(&self, line: usize) -> Option<std::ops::Range<usize>> {
        let starts = self.line_starts();
        let start = *starts.get(line)?;
        let end = starts
            .get(line + 1)
            .map_or(self.text.len(), |&next| next - 1);
        let end = if self.text.as_bytes().get(end.wrapping_sub(1)) == Some(&b'\r') && end > start {
            end - 1
        } else {
            end
        };
        Some(start..end)
    }

    /// How many lines the text has (a final line break does not start a new line).
    pub fn line_count(&self) -> usize {
        self.line_starts().len()
    }

    /// 1-based line and column (in characters) of a byte offset. Lines are indexed once per
    /// file, so this costs a binary search plus the characters before the offset on its line.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let (line, start) = self.line_of(offset);
        let col = self.chars_before(offset) - self.chars_before(start) + 1;
        (line + 1, col)
    }

    /// The byte offset of a 1-based line and column (in characters); clamps to the text.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let Some(range) = line.checked_sub(1).and_then(|l| self.line_range(l)) else {
            return self.text.len();
        };
        let text = self.text.get(range.clone()).unwrap_or("");
        range.start
            + text
                .char_indices()
                .nth(col.saturating_sub(1))
                .map_or(text.len(), |(b, _)| b)
    }
}

/// Where lines start, and the character count at every [`MARK_BYTES`]-th byte (so columns
/// on a line of megabytes cost a few kilobytes of counting).
#[derive(Debug, Default)]
struct Index {
    line_starts: Vec<usize>,
    marks: Vec<(usize, usize)>,
}

const MARK_BYTES: usize = 4096;

impl Index {
    fn new(text: &str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|(_, b)| *b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        let mut marks = vec![(0, 0)];
        let (mut b, mut c) = (0, 0);
        while b + MARK_BYTES < text.len() {
            let next = floor_char_boundary(text, b + MARK_BYTES).max(b + 1);
            let next = ceil_char_boundary(text, next);
            c += text.get(b..next).map_or(0, |s| s.chars().count());
            b = next;
            marks.push((b, c));
        }
        Self { line_starts, marks }
    }
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i.min(s.len())
}

/// The largest char boundary at or before `i`.
pub(crate) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_round_trip() {
        let f = SourceFile::new("x", "ab\ncdé\nf", Format::Yaml);
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(4), (2, 2));
        assert_eq!(f.offset_of(2, 2), 4);
        assert_eq!(f.line_col(8), (3, 1));
        assert_eq!(f.offset_of(9, 9), f.text.len());
        assert_eq!(f.line_col(6), (2, 3), "inside a character: its start");
        assert_eq!(f.line_col(7), (2, 4));
        assert_eq!(f.line_range(1), Some(3..7));
        assert_eq!(f.line_range(3), None);
        let long = format!("{}\n{}x", "é".repeat(10_000), "a".repeat(70_000));
        let f = SourceFile::new("x", long.as_str(), Format::Yaml);
        let x = long.len() - 1;
        assert_eq!(f.line_col(x), (2, 70_001));
        assert_eq!(f.chars_before(x), 80_001);
        assert_eq!(f.offset_of_char(80_001), x);
        assert_eq!(f.offset_of(2, 70_001), x);
    }
}
