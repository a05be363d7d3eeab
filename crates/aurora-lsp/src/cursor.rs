//! Where the cursor is, as a document path: from the parsed tree when the text parses (every
//! format), and from indentation for YAML being typed (which often does not parse).

use aurora_spec::load::node::{Key, Node, Value};

use crate::schema::Seg;

/// The entry under the cursor: its path (ending with its key), the key and the value. Every
/// entry is searched (container spans differ between formats: a TOML table's covers only its
/// header); the deepest entry whose key or value holds the cursor wins.
pub fn entry_at(root: &Node, offset: usize) -> Option<(Vec<Seg>, &Key, &Node)> {
    let mut path = Vec::new();
    let (k, v) = search(root, offset, &mut path)?;
    Some((path, k, v))
}

fn search<'a>(node: &'a Node, offset: usize, path: &mut Vec<Seg>) -> Option<(&'a Key, &'a Node)> {
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                path.push(Seg::Key(k.name.clone()));
                if contains(k.span, offset) {
                    return Some((k, v));
                }
                if let Some(found) = search(v, offset, path) {
                    return Some(found);
                }
                let (start, end) = extent(v);
                if start <= offset && offset <= end {
                    return Some((k, v));
                }
                path.pop();
            }
            None
        }
        Value::Seq(items) => {
            for item in items {
                path.push(Seg::Item);
                if let Some(found) = search(item, offset, path) {
                    return Some(found);
                }
                path.pop();
            }
            None
        }
        _ => None,
    }
}

/// The bytes a node and everything under it cover.
pub fn extent(node: &Node) -> (usize, usize) {
    let mut start = node.span.start;
    let mut end = node.span.start + node.span.len;
    let mut grow = |(s, e): (usize, usize)| {
        start = start.min(s);
        end = end.max(e);
    };
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                grow((k.span.start, k.span.start + k.span.len));
                grow(extent(v));
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| grow(extent(i))),
        _ => {}
    }
    (start, end)
}

fn contains(span: aurora_spec::Span, offset: usize) -> bool {
    span.start <= offset && offset <= span.start + span.len
}

/// What is being typed at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Typing {
    /// A key of the mapping at this path.
    Key(Vec<Seg>),
    /// The value of the key at this path (ending with the key).
    Value(Vec<Seg>),
}

/// YAML: what is typed at `offset`, from the indentation of the lines above (works on text
/// that does not parse yet).
pub fn yaml_typing(text: &str, offset: usize) -> Option<Typing> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..offset];
    // The current line: indentation, list dashes, then `key` or `key: value-so-far`.
    let mut rest = prefix;
    let mut indent = rest.len() - rest.trim_start_matches(' ').len();
    rest = &rest[indent..];
    let mut items = 0usize;
    while let Some(r) = rest.strip_prefix("- ") {
        let spaces = r.len() - r.trim_start_matches(' ').len();
        indent += 2 + spaces;
        rest = &r[spaces..];
        items += 1;
    }
    let mut path = parent_path(text, line_start, indent, items > 0);
    path.extend(std::iter::repeat_n(Seg::Item, items.saturating_sub(1)));
    if rest.starts_with('#') {
        return None;
    }
    match rest.find(':') {
        None if rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            Some(Typing::Key(path))
        }
        None => None,
        Some(colon) => {
            let key = rest[..colon].trim();
            if key.is_empty() || key.contains(' ') {
                return None;
            }
            // `key: { a: 1, b` — a flow mapping: keys of `key`'s mapping.
            let value = &rest[colon + 1..];
            path.push(Seg::Key(key.to_string()));
            if value.contains('{') && !value.contains('}') {
                let inner = value.rsplit(['{', ',']).next().unwrap_or("");
                if !inner.contains(':') {
                    return Some(Typing::Key(path));
                }
                let k = inner.split(':').next().unwrap_or("").trim();
                path.push(Seg::Key(k.to_string()));
                return Some(Typing::Value(path));
            }
            if value.contains('[') && !value.contains(']') {
                path.push(Seg::Item);
            }
            Some(Typing::Value(path))
        }
    }
}

/// YAML: the keys already written in the block mapping whose key is being typed at `offset`
/// (the lines at the same key column above and below, up to the lines that close the block;
/// a list item's first key sits after its dash), so completion can leave them out. The line
/// being typed is not counted.
pub fn yaml_sibling_keys(text: &str, offset: usize) -> std::collections::BTreeSet<String> {
    /// A line's key column and key: indentation and list dashes skipped; `dash` is the column
    /// of the first dash when the line starts a list item.
    fn key_of(line: &str) -> (usize, Option<usize>, Option<&str>) {
        let mut col = line.len() - line.trim_start_matches(' ').len();
        let mut rest = &line[col..];
        let mut dash = None;
        while let Some(r) = rest.strip_prefix("- ") {
            dash.get_or_insert(col);
            let spaces = r.len() - r.trim_start_matches(' ').len();
            col += 2 + spaces;
            rest = &r[spaces..];
        }
        let key = rest
            .split_once(':')
            .map(|(k, _)| k.trim())
            .filter(|k| !k.is_empty() && !k.contains(' ') && !k.starts_with('#'));
        (col, dash, key)
    }
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let lines: Vec<&str> = text.split('\n').collect();
    let current = text[..line_start].matches('\n').count();
    let (col, dash, _) = key_of(lines.get(current).copied().unwrap_or(""));
    let mut keys = std::collections::BTreeSet::new();
    let blank = |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#');
    // Upwards, unless the current line itself starts the list item.
    if dash.is_none() {
        for line in lines[..current].iter().rev() {
            if blank(line) {
                continue;
            }
            let (c, d, k) = key_of(line);
            if c == col {
                keys.extend(k.map(str::to_string));
                if d.is_some() {
                    break;
                }
            } else if c < col || d.is_some_and(|d| d < col) {
                break;
            }
        }
    }
    // Downwards, until a line that closes the block or starts the next item.
    for line in lines.iter().skip(current + 1) {
        if blank(line) {
            continue;
        }
        let (c, d, k) = key_of(line);
        if d.is_some() || c < col {
            break;
        }
        if c == col {
            keys.extend(k.map(str::to_string));
        }
    }
    keys
}

/// JSON: what is typed at `offset`, from the brackets, keys and colons before it (works on
/// text that does not parse yet).
pub fn json_typing(text: &str, offset: usize) -> Option<Typing> {
    struct Frame {
        object: bool,
        expect_key: bool,
        key: Option<String>,
        pushed: bool,
    }
    let mut path: Vec<Seg> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut chars = text[..offset.min(text.len())].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut s = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => s.push(c),
                    }
                }
                if let Some(top) = stack.last_mut()
                    && top.object
                    && top.expect_key
                {
                    top.key = Some(s);
                    if !closed {
                        break;
                    }
                }
            }
            ':' => {
                if let Some(top) = stack.last_mut() {
                    top.expect_key = false;
                }
            }
            ',' => {
                if let Some(top) = stack.last_mut()
                    && top.object
                {
                    top.expect_key = true;
                    top.key = None;
                }
            }
            '{' | '[' => {
                let seg = match stack.last() {
                    Some(f) if f.object => f.key.clone().map(Seg::Key),
                    Some(_) => Some(Seg::Item),
                    None => None,
                };
                let pushed = seg.is_some();
                path.extend(seg);
                stack.push(Frame {
                    object: c == '{',
                    expect_key: c == '{',
                    key: None,
                    pushed,
                });
            }
            '}' | ']' => {
                if let Some(f) = stack.pop()
                    && f.pushed
                {
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let top = stack.last()?;
    if top.object && top.expect_key {
        return Some(Typing::Key(path));
    }
    if top.object {
        path.push(Seg::Key(top.key.clone()?));
    } else {
        path.push(Seg::Item);
    }
    Some(Typing::Value(path))
}

/// TOML: what is typed at `offset`, from the table headers above and the current line.
pub fn toml_typing(text: &str, offset: usize) -> Option<Typing> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let mut arrays: Vec<String> = Vec::new();
    let mut path: Vec<Seg> = Vec::new();
    for line in text[..line_start].lines() {
        let t = line.trim();
        let (name, array) = if let Some(n) = t.strip_prefix("[[") {
            (n.split("]]").next().unwrap_or(""), true)
        } else if let Some(n) = t.strip_prefix('[') {
            (n.split(']').next().unwrap_or(""), false)
        } else {
            continue;
        };
        let parts: Vec<&str> = name
            .split('.')
            .map(|p| p.trim().trim_matches('"'))
            .collect();
        if array {
            arrays.push(parts.join("."));
        }
        path.clear();
        for i in 0..parts.len() {
            path.push(Seg::Key(parts[i].to_string()));
            if arrays.iter().any(|a| *a == parts[..=i].join(".")) {
                path.push(Seg::Item);
            }
        }
    }
    let prefix = text[line_start..offset].trim_start();
    if prefix.starts_with('[') || prefix.starts_with('#') {
        return None;
    }
    let keys = |k: &str| -> Vec<Seg> {
        k.split('.')
            .map(|p| Seg::Key(p.trim().trim_matches('"').to_string()))
            .collect()
    };
    let Some((key, value)) = prefix.split_once('=') else {
        return Some(Typing::Key(path));
    };
    path.extend(keys(key));
    // `key = { a = 1, b` — an inline table: keys of `key`'s table.
    if let Some(open) = value.rfind('{')
        && !value[open..].contains('}')
    {
        let inner = value[open + 1..].rsplit(',').next().unwrap_or("");
        return Some(match inner.split_once('=') {
            None => Typing::Key(path),
            Some((k, _)) => {
                path.extend(keys(k));
                Typing::Value(path)
            }
        });
    }
    if value.contains('[') && !value.contains(']') {
        path.push(Seg::Item);
    }
    Some(Typing::Value(path))
}

/// YAML: the key under the cursor on a `key: value` line, by indentation (for hover while the
/// text does not parse): its path (ending with the key) and its byte range.
pub fn yaml_key_at(text: &str, offset: usize) -> Option<(Vec<Seg>, usize, usize)> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let mut indent = line.len() - line.trim_start_matches(' ').len();
    let mut rest = &line[indent..];
    let mut items = 0usize;
    while let Some(r) = rest.strip_prefix("- ") {
        let spaces = r.len() - r.trim_start_matches(' ').len();
        indent += 2 + spaces;
        rest = &r[spaces..];
        items += 1;
    }
    let colon = rest.find(':')?;
    let key = rest[..colon].trim_end();
    if key.is_empty() || key.contains([' ', '{', '[', '#']) {
        return None;
    }
    let (start, end) = (line_start + indent, line_start + indent + key.len());
    if offset < start || offset > end {
        return None;
    }
    let mut path = parent_path(text, line_start, indent, items > 0);
    path.extend(std::iter::repeat_n(Seg::Item, items.saturating_sub(1)));
    path.push(Seg::Key(key.to_string()));
    Some((path, start, end))
}

/// The keys and list items enclosing a line indented by `indent` (`in_item`: the line starts
/// a list item, whose own dash is not a parent).
fn parent_path(text: &str, line_start: usize, indent: usize, in_item: bool) -> Vec<Seg> {
    let mut limit = indent;
    let mut rev: Vec<Seg> = Vec::new();
    // A line starting with `- ` is an item of the list its dash is in: the dash's parent
    // key is found by the loop below (its indentation is below the dash's).
    if in_item {
        rev.push(Seg::Item);
        limit = text[line_start..]
            .find('-')
            .map_or(indent, |d| d.min(indent));
    }
    for line in text[..line_start].lines().rev() {
        let trimmed = line.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut ind = line.len() - trimmed.len();
        let mut rest = trimmed;
        let mut dashes = Vec::new();
        while let Some(r) = rest
            .strip_prefix("- ")
            .or_else(|| (rest == "-").then_some(""))
        {
            dashes.push(ind);
            let spaces = r.len() - r.trim_start_matches(' ').len();
            ind += 2 + spaces;
            rest = &r[spaces..];
        }
        // The key on this line is a parent when it is less indented and opens a block.
        if ind < limit
            && let Some(colon) = rest.find(':')
        {
            let key = rest[..colon].trim();
            let after = rest[colon + 1..].trim();
            if !key.is_empty() && (after.is_empty() || after.starts_with('#')) {
                rev.push(Seg::Key(key.trim_matches(['"', '\'']).to_string()));
                limit = ind;
            }
        }
        for d in dashes.into_iter().rev() {
            if d < limit {
                rev.push(Seg::Item);
                limit = d;
            }
        }
        if limit == 0 {
            break;
        }
    }
    rev.reverse();
    rev
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<Seg> {
        s.split('.')
            .filter(|s| !s.is_empty())
            .map(|p| match p {
                "[]" => Seg::Item,
                k => Seg::Key(k.to_string()),
            })
            .collect()
    }

    #[test]
    fn yaml_siblings_are_the_keys_of_the_block_being_typed_in() {
        let text = "jobs:\n  - key: a/b/c/d\n    kind: service\n    re\n    task: {}\n  - key: e/f/g/h\n    instances: 2\n";
        let at = text.find("re\n").expect("re") + 2;
        let keys: Vec<String> = yaml_sibling_keys(text, at).into_iter().collect();
        assert_eq!(keys, ["key", "kind", "task"]);
        // On an item's first line: that item's keys below it, not the previous item's.
        let text = "jobs:\n  - key: a\n    kind: x\n  - ki\n    instances: 2\n    task: {}\n";
        let at = text.find("- ki").expect("ki") + 4;
        let keys: Vec<String> = yaml_sibling_keys(text, at).into_iter().collect();
        assert_eq!(keys, ["instances", "task"]);
        // Nested: only the inner mapping's keys.
        let text = "jobs:\n  - key: a\n    resources:\n      cpu: 1\n      ra\n    kind: x\n";
        let at = text.find("ra\n").expect("ra") + 2;
        let keys: Vec<String> = yaml_sibling_keys(text, at).into_iter().collect();
        assert_eq!(keys, ["cpu"]);
        // Anywhere, any text: no panic.
        let text = "a:\n  - - b: é\n   c\n-\n";
        for at in 0..=text.len() + 3 {
            let _ = yaml_sibling_keys(text, at);
        }
    }

    #[test]
    fn yaml_paths_from_indentation() {
        let text = "jobs:\n  - key: a/b/c/d\n    resources:\n      cp\n    kind: \n";
        let at = text.find("cp").expect("cp") + 2;
        assert_eq!(
            yaml_typing(text, at),
            Some(Typing::Key(p("jobs.[].resources")))
        );
        let at = text.find("kind: ").expect("kind") + 6;
        assert_eq!(
            yaml_typing(text, at),
            Some(Typing::Value(p("jobs.[].kind")))
        );
        let text = "jobs:\n  - ke";
        assert_eq!(
            yaml_typing(text, text.len()),
            Some(Typing::Key(p("jobs.[]")))
        );
        let text = "jobs:\n  - key: x\n    task:\n      order: [a, ";
        assert_eq!(
            yaml_typing(text, text.len()),
            Some(Typing::Value(p("jobs.[].task.order.[]")))
        );
        let text = "jobs:\n  - key: x\n    resources: { cpu: 1, ";
        assert_eq!(
            yaml_typing(text, text.len()),
            Some(Typing::Key(p("jobs.[].resources")))
        );
    }

    #[test]
    fn json_and_toml_being_typed() {
        let text = r#"{"jobs": [{"key": "a", "resources": {"cpu": 1, "#;
        assert_eq!(
            json_typing(text, text.len()),
            Some(Typing::Key(p("jobs.[].resources")))
        );
        let text = r#"{"jobs": [{"kind": "#;
        assert_eq!(
            json_typing(text, text.len()),
            Some(Typing::Value(p("jobs.[].kind")))
        );
        let text = "apiVersion = \"x\"\n[[jobs]]\nkind = \"a\"\n[jobs.task]\norder = [";
        assert_eq!(
            toml_typing(text, text.len()),
            Some(Typing::Value(p("jobs.[].task.order.[]")))
        );
        let text = "[[jobs]]\nresources = { cpu = 1, ";
        assert_eq!(
            toml_typing(text, text.len()),
            Some(Typing::Key(p("jobs.[].resources")))
        );
        let text = "[[jobs]]\nki";
        assert_eq!(
            toml_typing(text, text.len()),
            Some(Typing::Key(p("jobs.[]")))
        );
    }

    #[test]
    fn yaml_hover_while_the_text_does_not_parse() {
        let text = "jobs:\n  - key: x\n    resources:\n      cpu: [\n";
        let at = text.find("cpu").expect("cpu") + 1;
        let (path, start, end) = yaml_key_at(text, at).expect("a key");
        assert_eq!(path, p("jobs.[].resources.cpu"));
        assert_eq!(&text[start..end], "cpu");
    }
}

#[cfg(test)]
mod tree_tests {
    use super::*;
    use aurora_spec::{Format, SourceFile};

    #[test]
    fn toml_entry() {
        let text = "[[jobs]]\nexecutor = { name = \"A\", data_file = \"payload.json\" }\n";
        let f = SourceFile::new("a.toml", text, Format::Toml);
        let tree = aurora_spec::load::parse::parse(&f).expect("parses");
        let at = text.find("payload").expect("p") + 3;
        let (path, key, _) = entry_at(&tree, at).expect("entry");
        assert_eq!(key.name, "data_file", "{path:?}");
    }
}
