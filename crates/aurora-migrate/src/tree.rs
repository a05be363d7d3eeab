//! An ordered document tree: what a converted job is before it becomes YAML or TOML text.
//!
//! Why our own tree instead of `serde_json::Value`: the workspace builds serde_json without
//! `preserve_order` (its maps are sorted), and turning that feature on would change key
//! order for every crate that serializes JSON. A spec reads best in the order people write
//! it (key, kind, instances, … task last), so the converter builds this small tree with keys
//! in insertion order and serializes it with serde; serde-saphyr and toml then decide quoting
//! (strings are quoted only when needed).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A value of a spec document, mappings in insertion order.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A floating-point number (written as an integer by the caller when it is whole).
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, keys in the order they were inserted.
    Map(Map),
}

/// An insertion-ordered mapping of string keys, the shape of every spec mapping.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map(Vec<(String, Node)>);

impl Node {
    /// A number as people write it: `1` rather than `1.0` (whole numbers up to 2^53, where
    /// a float still holds them exactly).
    pub fn number(f: f64) -> Node {
        if f.fract() == 0.0 && f.abs() < 9.0e15 {
            #[allow(clippy::cast_possible_truncation)]
            Node::Int(f as i64)
        } else {
            Node::Float(f)
        }
    }
}

impl Map {
    /// An empty mapping.
    pub fn new() -> Self {
        Map(Vec::new())
    }

    /// Appends `key: value` (a key inserted twice keeps its first place, with the new value).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Node>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value at `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether the mapping has no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl From<&str> for Node {
    fn from(s: &str) -> Self {
        Node::Str(s.to_string())
    }
}

impl From<String> for Node {
    fn from(s: String) -> Self {
        Node::Str(s)
    }
}

impl From<bool> for Node {
    fn from(b: bool) -> Self {
        Node::Bool(b)
    }
}

impl From<i64> for Node {
    fn from(n: i64) -> Self {
        Node::Int(n)
    }
}

impl From<Map> for Node {
    fn from(m: Map) -> Self {
        Node::Map(m)
    }
}

impl From<Vec<Node>> for Node {
    fn from(v: Vec<Node>) -> Self {
        Node::Seq(v)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Str(v) => s.serialize_str(v),
            Node::Int(v) => s.serialize_i64(*v),
            Node::Float(v) => s.serialize_f64(*v),
            Node::Bool(v) => s.serialize_bool(*v),
            Node::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(m) => m.serialize(s),
        }
    }
}

impl Serialize for Map {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
