//! The located document tree every input format is read into.
//!
//! YAML, TOML and JSON are first parsed into [`Node`]s that keep the byte span of every value
//! and key; the typed model is then deserialized from the tree (see `de`). One tree type means
//! one deserializer, one way of reporting errors, and `defaults:` merged the same way for
//! every format.

use crate::source::Span;

/// A value with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the value is.
    pub span: Span,
    /// The value.
    pub value: Value,
}

/// A mapping key with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key is.
    pub span: Span,
}

/// The value of a node.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Key, Node)>),
}

impl Value {
    /// How the value is named in "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// A node.
    pub fn new(span: Span, value: Value) -> Self {
        Self { span, value }
    }

    /// The plain JSON value of the tree (spans dropped): what a JSON Schema validator sees.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => i64::try_from(*i)
                .map(J::from)
                .or_else(|_| u64::try_from(*i).map(J::from))
                .unwrap_or_else(|_| J::from(*i as f64)),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The entry for `key` if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The key of `key` if this is a mapping that has it.
    pub fn get_key(&self, key: &str) -> Option<&Key> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(k, _)| k),
            _ => None,
        }
    }

    /// The node at a document path such as `jobs[1].resources.cpu` (keys and `[index]`),
    /// used to locate problems found after deserialization.
    pub fn at_path(&self, path: &str) -> Option<&Node> {
        let mut node = self;
        for seg in parse_path(path) {
            node = match seg {
                PathSeg::Key(k) => node.get(k)?,
                PathSeg::Index(i) => match &node.value {
                    Value::Seq(items) => items.get(i)?,
                    _ => return None,
                },
            };
        }
        Some(node)
    }

    /// Merges `defaults` under this node: keys missing here are taken from `defaults`,
    /// mappings present on both sides are merged recursively (except at paths for which
    /// `replace` is true: variant choices such as `container`), anything else here wins.
    pub fn merged_over(&self, defaults: &Node, path: &str, replace: &dyn Fn(&str) -> bool) -> Node {
        match (&self.value, &defaults.value) {
            (Value::Map(mine), Value::Map(theirs)) if !replace(path) => {
                let mut out: Vec<(Key, Node)> = Vec::with_capacity(mine.len() + theirs.len());
                for (k, v) in theirs {
                    if !mine.iter().any(|(mk, _)| mk.name == k.name) {
                        out.push((k.clone(), v.clone()));
                    }
                }
                for (k, v) in mine {
                    let child = if path.is_empty() {
                        k.name.clone()
                    } else {
                        format!("{path}.{}", k.name)
                    };
                    match theirs.iter().find(|(tk, _)| tk.name == k.name) {
                        Some((_, dv)) => out.push((k.clone(), v.merged_over(dv, &child, replace))),
                        None => out.push((k.clone(), v.clone())),
                    }
                }
                Node::new(self.span, Value::Map(out))
            }
            _ => self.clone(),
        }
    }
}

enum PathSeg<'a> {
    Key(&'a str),
    Index(usize),
}

fn parse_path(path: &str) -> Vec<PathSeg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(PathSeg::Key(key));
        }
        while let Some(end) = rest.find(']') {
            if let Ok(i) = rest[1..end].parse() {
                out.push(PathSeg::Index(i));
            }
            rest = &rest[end + 1..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Value) -> Node {
        Node::new(Span::default(), v)
    }
    fn k(n: &str) -> Key {
        Key {
            name: n.into(),
            span: Span::default(),
        }
    }

    #[test]
    fn path_lookup() {
        let tree = s(Value::Map(vec![(
            k("jobs"),
            s(Value::Seq(vec![s(Value::Map(vec![(
                k("a"),
                s(Value::Int(3)),
            )]))])),
        )]));
        assert_eq!(
            tree.at_path("jobs[0].a").map(|n| &n.value),
            Some(&Value::Int(3))
        );
        assert!(tree.at_path("jobs[1].a").is_none());
    }

    #[test]
    fn merge_prefers_job_values_and_merges_maps() {
        let defaults = s(Value::Map(vec![
            (k("role"), s(Value::Str("d".into()))),
            (
                k("r"),
                s(Value::Map(vec![
                    (k("cpu"), s(Value::Int(1))),
                    (k("ram"), s(Value::Int(2))),
                ])),
            ),
        ]));
        let job = s(Value::Map(vec![(
            k("r"),
            s(Value::Map(vec![(k("cpu"), s(Value::Int(5)))])),
        )]));
        let m = job.merged_over(&defaults, "", &|_| false);
        assert_eq!(
            m.at_path("role").map(|n| &n.value),
            Some(&Value::Str("d".into()))
        );
        assert_eq!(m.at_path("r.cpu").map(|n| &n.value), Some(&Value::Int(5)));
        assert_eq!(m.at_path("r.ram").map(|n| &n.value), Some(&Value::Int(2)));
    }
}
