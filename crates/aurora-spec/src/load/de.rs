//! serde `Deserializer` over a located [`Node`] tree.
//!
//! Deserializing the typed model from the tree (instead of from text) gives every format the
//! same error reporting: each error carries the span and document path of the innermost value
//! it concerns, unknown keys and enum values get a "did you mean" hint, and wrong types say
//! what was expected and what was found.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::node::{Key, Node, Value};
use crate::diagnostics::{Code, MAX_VALUE_CHARS, did_you_mean, shorten};
use crate::source::Span;

/// A deserialization error located in the tree.
#[derive(Debug, Clone)]
pub struct DeError {
    /// The kind of problem.
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// A hint.
    pub help: Option<String>,
    /// Where (set by the innermost node the error passed through).
    pub span: Option<Span>,
    /// The document path (set together with `span`).
    pub path: Option<String>,
}

impl DeError {
    fn new(code: Code, message: String) -> Self {
        Self {
            code,
            message,
            help: None,
            span: None,
            path: None,
        }
    }

    fn locate(mut self, span: Span, path: &Path<'_>) -> Self {
        if self.span.is_none() {
            self.span = Some(span);
            self.path = Some(path.to_string());
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

fn one_of(expected: &[&str]) -> String {
    match expected {
        [] => "no keys are allowed here".to_string(),
        _ => format!(
            "expected one of {}",
            expected
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::new(Code::InvalidValue, msg.to_string())
    }

    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        let mut e = Self::new(
            Code::InvalidValue,
            format!(
                "expected {}, found {}",
                expected_words(&exp.to_string()),
                describe(&unexp)
            ),
        );
        if matches!(
            unexp,
            de::Unexpected::Float(_)
                | de::Unexpected::Signed(_)
                | de::Unexpected::Unsigned(_)
                | de::Unexpected::Bool(_)
        ) && exp.to_string().contains("string")
        {
            e.help = Some("write the value in quotes to make it a string".to_string());
        }
        e
    }

    fn invalid_value(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        Self::new(
            Code::InvalidValue,
            format!(
                "invalid value {}: expected {}",
                describe(&unexp),
                expected_words(&exp.to_string())
            ),
        )
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut e = Self::new(
            Code::UnknownField,
            format!("unknown key `{}`", shorten(field, MAX_VALUE_CHARS)),
        );
        e.help = Some(match did_you_mean(field, expected.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => one_of(expected),
        });
        e
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut e = Self::new(
            Code::InvalidValue,
            format!("unknown value `{}`", shorten(variant, MAX_VALUE_CHARS)),
        );
        e.help = Some(match did_you_mean(variant, expected.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? ({})", one_of(expected)),
            None => one_of(expected),
        });
        e
    }

    fn missing_field(field: &'static str) -> Self {
        Self::new(
            Code::MissingField,
            format!("missing required key `{field}`"),
        )
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::new(Code::InvalidValue, format!("key `{field}` given twice"))
    }
}

/// serde names primitive targets by their Rust type; say it in words.
fn expected_words(exp: &str) -> String {
    match exp {
        "f64" | "f32" => "a number".to_string(),
        "u8" | "u16" | "u32" | "u64" => "a whole number ≥ 0".to_string(),
        "i8" | "i16" | "i32" | "i64" => "a whole number".to_string(),
        "a boolean" | "a string" => exp.to_string(),
        "a sequence" => "a list".to_string(),
        "a map" => "a mapping".to_string(),
        // serde's derive says "struct TaskSpec" / "enum Kind": Rust names mean nothing to
        // the author of a spec.
        other if other.starts_with("struct ") || other.starts_with("tuple struct ") => {
            "a mapping".to_string()
        }
        other if other.starts_with("enum ") => "one of the allowed values".to_string(),
        other => other.to_string(),
    }
}

fn describe(u: &de::Unexpected) -> String {
    match u {
        de::Unexpected::Bool(b) => format!("boolean `{b}`"),
        de::Unexpected::Unsigned(n) => format!("integer `{n}`"),
        de::Unexpected::Signed(n) => format!("integer `{n}`"),
        de::Unexpected::Float(n) if n.is_nan() => "NaN (not a number)".to_string(),
        de::Unexpected::Float(n) if n.is_infinite() => {
            "an infinite number (or one too large to represent)".to_string()
        }
        de::Unexpected::Float(n) => format!("number `{}`", shorten(&n.to_string(), 40)),
        de::Unexpected::Str(s) => format!("string \"{}\"", shorten(s, MAX_VALUE_CHARS)),
        de::Unexpected::Unit => "null".to_string(),
        de::Unexpected::Seq => "a list".to_string(),
        de::Unexpected::Map => "a mapping".to_string(),
        other => other.to_string(),
    }
}

/// Deserializes `T` from a node; `path` is the node's document path (for messages).
pub fn from_node<'a, T: serde::Deserialize<'a>>(node: &'a Node, path: &str) -> Result<T, DeError> {
    let path = Path::Root(path);
    T::deserialize(NodeDe { node, path }).map_err(|e| e.locate(node.span, &path))
}

/// A document path built lazily: a chain of borrowed segments, turned into a string only
/// when an error needs it (most values never do, so no string is formatted per value).
#[derive(Clone, Copy)]
enum Path<'p> {
    Root(&'p str),
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(s) => f.write_str(s),
            Path::Key(parent, key) => {
                let parent = parent.to_string();
                if parent.is_empty() {
                    f.write_str(key)
                } else {
                    write!(f, "{parent}.{key}")
                }
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

struct NodeDe<'a, 'p> {
    node: &'a Node,
    path: Path<'p>,
}

impl<'a> NodeDe<'a, '_> {
    fn unexpected(&self) -> de::Unexpected<'a> {
        match &self.node.value {
            Value::Null => de::Unexpected::Unit,
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Int(i) => match i64::try_from(*i) {
                Ok(v) => de::Unexpected::Signed(v),
                Err(_) => de::Unexpected::Other("a very large integer"),
            },
            Value::Float(f) => de::Unexpected::Float(*f),
            Value::Str(s) => de::Unexpected::Str(s),
            Value::Seq(_) => de::Unexpected::Seq,
            Value::Map(_) => de::Unexpected::Map,
        }
    }

    fn wrong<V: Visitor<'a>>(&self, visitor: &V) -> DeError {
        de::Error::invalid_type(self.unexpected(), visitor)
    }

    fn int<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Int(i) => match (i64::try_from(i), u64::try_from(i)) {
                (Ok(v), _) => visitor.visit_i64(v),
                (_, Ok(v)) => visitor.visit_u64(v),
                _ => visitor.visit_i128(i),
            },
            // `2.0` is a whole number: JSON Schema's `integer` (and an editor reading YAML as
            // JavaScript numbers) accepts it, so the loader does too.
            #[allow(clippy::cast_possible_truncation)]
            Value::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                visitor.visit_i64(f as i64)
            }
            _ => Err(self.wrong(&visitor)),
        }
    }
}

impl<'a> de::Deserializer<'a> for NodeDe<'a, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(_) => self.int(visitor),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter().enumerate(),
                parent: self.path,
            }),
            Value::Map(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
                parent: self.path,
            }),
        }
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Bool(b) => visitor.visit_bool(b),
            _ => Err(self.wrong(&visitor)),
        }
    }

    fn deserialize_i8<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.int(visitor)
    }
    fn deserialize_i16<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.int(visitor)
    }
    fn deserialize_i32<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.int(visitor)
    }
    fn deserialize_i64<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.int(visitor)
    }
    fn deserialize_u8<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.int(visitor)
    }
    fn deserialize_u16<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.int(visitor)
    }
    fn deserialize_u32<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.int(visitor)
    }
    fn deserialize_u64<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.int(visitor)
    }

    fn deserialize_f32<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => visitor.visit_f64(i as f64),
            Value::Float(f) if !f.is_finite() => Err(DeError::new(
                Code::InvalidValue,
                format!(
                    "expected a finite number, found {}",
                    describe(&self.unexpected())
                ),
            )),
            Value::Float(f) => visitor.visit_f64(f),
            _ => Err(self.wrong(&visitor)),
        }
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Str(s) => visitor.visit_borrowed_str(s),
            _ => Err(self.wrong(&visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            // `x: null` (or `x:` with nothing, or `~`) is refused, as the JSON Schema refuses
            // it: leaving the key out is the one way to say "the default".
            Value::Null => {
                let mut e =
                    DeError::new(Code::InvalidValue, "`null` is not a value here".to_string());
                e.help = Some("leave the key out to use its default".to_string());
                Err(e.locate(self.node.span, &self.path))
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.wrong(&visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Seq(_) => self.deserialize_any(visitor),
            _ => Err(self.wrong(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Map(_) => self.deserialize_any(visitor),
            _ => Err(self.wrong(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Map(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                let parent = self.path;
                let path = Path::Key(&parent, &key.name);
                visitor
                    .visit_enum(EnumDe {
                        key,
                        value,
                        parent: &parent,
                    })
                    .map_err(|e| e.locate(value.span, &path))
            }
            _ => Err(DeError::new(
                Code::InvalidValue,
                format!(
                    "expected exactly one of {}, found {}",
                    variants
                        .iter()
                        .map(|v| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    match &self.node.value {
                        Value::Map(e) if e.is_empty() => "an empty mapping".to_string(),
                        Value::Map(e) => format!("{} keys", e.len()),
                        other => other.kind().to_string(),
                    }
                ),
            )),
        }
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqDe<'a, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    parent: Path<'p>,
}

impl<'a> de::SeqAccess<'a> for SeqDe<'a, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => {
                let path = Path::Index(&self.parent, i);
                seed.deserialize(NodeDe { node, path })
                    .map(Some)
                    .map_err(|e| e.locate(node.span, &path))
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a, 'p> {
    entries: std::slice::Iter<'a, (Key, Node)>,
    value: Option<(&'a Key, &'a Node)>,
    parent: Path<'p>,
}

impl<'a> de::MapAccess<'a> for MapDe<'a, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.value = Some((key, value));
                let path = Path::Key(&self.parent, &key.name);
                seed.deserialize(KeyDe(&key.name))
                    .map(Some)
                    .map_err(|e| e.locate(key.span, &path))
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some((key, node)) => {
                let path = Path::Key(&self.parent, &key.name);
                seed.deserialize(NodeDe { node, path })
                    .map_err(|e| e.locate(node.span, &path))
            }
            None => Err(DeError::new(
                Code::InvalidValue,
                "value without a key".into(),
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct KeyDe<'a>(&'a str);

impl<'de> de::Deserializer<'de> for KeyDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct EnumDe<'a, 'p> {
    key: &'a Key,
    value: &'a Node,
    parent: &'p Path<'p>,
}

impl<'a: 'p, 'p> de::EnumAccess<'a> for EnumDe<'a, 'p> {
    type Error = DeError;
    type Variant = NodeDe<'a, 'p>;

    fn variant_seed<V: DeserializeSeed<'a>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDe<'a, 'p>), DeError> {
        let path = Path::Key(self.parent, &self.key.name);
        let v = seed
            .deserialize(KeyDe(&self.key.name))
            .map_err(|e| e.locate(self.key.span, &path))?;
        Ok((
            v,
            NodeDe {
                node: self.value,
                path,
            },
        ))
    }
}

impl<'a> de::VariantAccess<'a> for NodeDe<'a, '_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.node.value {
            Value::Null => Ok(()),
            _ => Err(DeError::new(
                Code::InvalidValue,
                format!("expected no value, found {}", self.node.value.kind()),
            )),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'a>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'a>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse::parse;
    use crate::source::{Format, SourceFile};
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct R {
        cpu: f64,
        #[allow(dead_code)]
        name: Option<String>,
        kind: Option<K>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum K {
        Service,
        Adhoc,
    }

    fn load(text: &str) -> Result<R, DeError> {
        let f = SourceFile::new("t.yaml", text, Format::Yaml);
        let node = parse(&f).expect("parses");
        from_node::<R>(&node, "jobs[0].resources")
    }

    #[test]
    fn ok() {
        let r = load("cpu: 1\nkind: adhoc\n").expect("ok");
        assert_eq!(r.cpu, 1.0);
        assert_eq!(r.kind, Some(K::Adhoc));
    }

    #[test]
    fn unknown_key_has_hint_and_span() {
        let text = "cpu: 1\ncpus: 2\n";
        let e = load(text).expect_err("bad");
        assert_eq!(e.code, Code::UnknownField);
        assert_eq!(e.help.as_deref(), Some("did you mean `cpu`?"));
        assert_eq!(e.path.as_deref(), Some("jobs[0].resources.cpus"));
        assert_eq!(e.span.map(|s| s.start), Some(7));
    }

    #[test]
    fn wrong_type_names_both_sides() {
        let e = load("cpu: lots\n").expect_err("bad");
        assert_eq!(e.message, "expected a number, found string \"lots\"");
        assert_eq!(e.path.as_deref(), Some("jobs[0].resources.cpu"));
        let e = load("cpu: 1\nname: 12\n").expect_err("bad");
        assert!(e.help.is_some());
    }

    #[test]
    fn bad_enum_value_suggests() {
        let e = load("cpu: 1\nkind: servce\n").expect_err("bad");
        assert!(
            e.help.as_deref().is_some_and(|h| h.contains("`service`")),
            "{e:?}"
        );
    }

    #[test]
    fn missing_field_points_at_the_mapping() {
        let e = load("name: x\n").expect_err("bad");
        assert_eq!(e.code, Code::MissingField);
        assert_eq!(e.path.as_deref(), Some("jobs[0].resources"));
    }
}
