//! Positions and URIs: byte offsets ↔ LSP positions (UTF-16 columns, as the protocol
//! requires by default), and `file://` URIs ↔ paths.

use std::path::{Path, PathBuf};

use lsp_types::{Position, Range};

/// The LSP position of byte `offset` in `text` (clamped to the text, rounded down to a
/// character boundary).
pub fn position(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count();
    let character = before[line_start..].encode_utf16().count();
    Position::new(to_u32(line), to_u32(character))
}

/// The LSP range of the bytes `start..start + len`.
pub fn range(text: &str, start: usize, len: usize) -> Range {
    Range::new(
        position(text, start),
        position(text, start.saturating_add(len)),
    )
}

/// The byte offset of an LSP position (clamped to its line and to the text).
pub fn offset(text: &str, pos: Position) -> usize {
    let mut line_start = 0;
    for _ in 0..pos.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let mut units = 0u32;
    for (i, c) in text[line_start..line_end].char_indices() {
        if units >= pos.character {
            return line_start + i;
        }
        units += to_u32(c.len_utf16());
    }
    line_end
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The path of a `file://` URI (percent-decoded); `None` for other schemes.
pub fn uri_to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    // `file://host/path`: only the local host (empty or `localhost`) is a local file.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = rest
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok().map(PathBuf::from)
}

/// The `file://` URI of an absolute path (bytes outside the unreserved set percent-encoded).
pub fn path_to_uri(path: &Path) -> String {
    let mut s = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns() {
        let text = "a: é😀x\nb: 1\n";
        // `x` is after `a: ` (3), `é` (1 unit) and the emoji (2 units).
        let x = text.find('x').expect("x");
        assert_eq!(position(text, x), Position::new(0, 6));
        assert_eq!(offset(text, Position::new(0, 6)), x);
        assert_eq!(
            position(text, text.find('b').expect("b")),
            Position::new(1, 0)
        );
        assert_eq!(offset(text, Position::new(1, 99)), text.len() - 1);
    }

    #[test]
    fn uris() {
        let p = Path::new("/tmp/a dir/spec.yaml");
        let uri = path_to_uri(p);
        assert_eq!(uri, "file:///tmp/a%20dir/spec.yaml");
        assert_eq!(uri_to_path(&uri).as_deref(), Some(p));
        assert_eq!(uri_to_path("untitled:1"), None);
    }
}
