//! Source files and byte spans: what every diagnostic points into.

use std::path::{Path, PathBuf};
use std::sync::Arc;

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
}

impl SourceFile {
    /// An in-memory source (tests, editors, stdin).
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>, format: Format) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
            format,
            base_dir: None,
        }
    }

    /// Sets the folder `data_file` paths are resolved from.
    pub fn with_base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        (line, col)
    }

    /// The byte offset of a 1-based line and column (in characters); clamps to the text.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let mut offset = 0;
        for (i, l) in self.text.split_inclusive('\n').enumerate() {
            if i + 1 == line {
                let chars = col.saturating_sub(1);
                return offset
                    + l.char_indices()
                        .nth(chars)
                        .map_or(l.trim_end_matches('\n').len(), |(b, _)| b);
            }
            offset += l.len();
        }
        self.text.len()
    }
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
    }
}
