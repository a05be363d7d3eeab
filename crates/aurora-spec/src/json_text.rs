//! JSON written straight as text, byte for byte as serde_json writes the same value: compact
//! and canonical (the Thermos payload) or pretty (what `render` prints), without building a
//! `serde_json::Value` first.
//!
//! Building a value tree (a `String` per key, a map per object) and then writing it was most of
//! the time of converting and rendering a job (issue 14); the writers here take the keys in
//! the order the caller gives them, which must be sorted (serde_json's map order), as debug
//! builds check.

use std::fmt::Write as _;

use serde_json::Value;

/// How a value is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// No whitespace at all (`serde_json::to_string`).
    Compact,
    /// `serde_json::to_string_pretty`'s layout (two spaces per level), for a value that
    /// starts on a line indented `level` times.
    Pretty(usize),
}

impl Layout {
    /// The layout of a value inside a container laid out as `self`.
    fn inner(self) -> Layout {
        match self {
            Layout::Compact => Layout::Compact,
            Layout::Pretty(level) => Layout::Pretty(level + 1),
        }
    }

    /// Starts an entry of a container laid out as `self`: the comma after the entry before,
    /// and in the pretty layout the line break and the entry's indentation.
    fn entry(self, first: bool, out: &mut String) {
        match self {
            Layout::Compact => {
                if !first {
                    out.push(',');
                }
            }
            Layout::Pretty(level) => {
                out.push_str(if first { "\n" } else { ",\n" });
                indent(level + 1, out);
            }
        }
    }

    /// Ends a container laid out as `self` with `close`.
    fn close(self, empty: bool, close: char, out: &mut String) {
        if let Layout::Pretty(level) = self
            && !empty
        {
            out.push('\n');
            indent(level, out);
        }
        out.push(close);
    }
}

fn indent(level: usize, out: &mut String) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// An integer type: written as `Display` writes it, as serde_json does.
pub(crate) trait Integer: std::fmt::Display {}

impl Integer for i32 {}
impl Integer for i64 {}
impl Integer for u16 {}
impl Integer for u32 {}
impl Integer for u64 {}

/// A JSON object being written; keys must come in ascending order (checked in debug builds).
/// Call [`Obj::end`] when done.
pub(crate) struct Obj<'a> {
    out: &'a mut String,
    layout: Layout,
    empty: bool,
    #[cfg(debug_assertions)]
    last: String,
}

impl<'a> Obj<'a> {
    /// Writes `{`.
    pub(crate) fn open(out: &'a mut String, layout: Layout) -> Self {
        out.push('{');
        Obj {
            out,
            layout,
            empty: true,
            #[cfg(debug_assertions)]
            last: String::new(),
        }
    }

    /// Writes `key` and its colon; the value is written next, into the returned string, laid
    /// out as the returned layout says.
    pub(crate) fn key(&mut self, key: &str) -> (&mut String, Layout) {
        #[cfg(debug_assertions)]
        {
            assert!(
                self.empty || self.last.as_str() < key,
                "JSON key `{key}` written after `{}`",
                self.last
            );
            key.clone_into(&mut self.last);
        }
        self.layout.entry(self.empty, self.out);
        self.empty = false;
        write_json_string(key, self.out);
        self.out.push_str(if self.layout == Layout::Compact {
            ":"
        } else {
            ": "
        });
        (self.out, self.layout.inner())
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) {
        write_json_string(value, self.key(key).0);
    }

    pub(crate) fn bool(&mut self, key: &str, value: bool) {
        self.key(key)
            .0
            .push_str(if value { "true" } else { "false" });
    }

    pub(crate) fn int(&mut self, key: &str, value: impl Integer) {
        let _ = write!(self.key(key).0, "{value}");
    }

    pub(crate) fn f64(&mut self, key: &str, value: f64) {
        write_f64(value, self.key(key).0);
    }

    pub(crate) fn obj(&mut self, key: &str) -> Obj<'_> {
        let (out, layout) = self.key(key);
        Obj::open(out, layout)
    }

    pub(crate) fn arr(&mut self, key: &str) -> Arr<'_> {
        let (out, layout) = self.key(key);
        Arr::open(out, layout)
    }

    /// Writes `}`.
    pub(crate) fn end(self) {
        self.layout.close(self.empty, '}', self.out);
    }
}

/// A JSON array being written. Call [`Arr::end`] when done.
pub(crate) struct Arr<'a> {
    out: &'a mut String,
    layout: Layout,
    empty: bool,
}

impl<'a> Arr<'a> {
    /// Writes `[`.
    pub(crate) fn open(out: &'a mut String, layout: Layout) -> Self {
        out.push('[');
        Arr {
            out,
            layout,
            empty: true,
        }
    }

    /// Starts an item: it is written next, into the returned string, laid out as the returned
    /// layout says.
    pub(crate) fn item(&mut self) -> (&mut String, Layout) {
        self.layout.entry(self.empty, self.out);
        self.empty = false;
        (self.out, self.layout.inner())
    }

    pub(crate) fn str(&mut self, value: &str) {
        write_json_string(value, self.item().0);
    }

    pub(crate) fn int(&mut self, value: impl Integer) {
        let _ = write!(self.item().0, "{value}");
    }

    pub(crate) fn obj(&mut self) -> Obj<'_> {
        let (out, layout) = self.item();
        Obj::open(out, layout)
    }

    /// Writes `]`.
    pub(crate) fn end(self) {
        self.layout.close(self.empty, ']', self.out);
    }
}

/// Writes `value` as serde_json writes it in `layout` (objects in their map's order).
pub(crate) fn write_value(value: &Value, out: &mut String, layout: Layout) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            let mut arr = Arr::open(out, layout);
            for item in items {
                let (out, layout) = arr.item();
                write_value(item, out, layout);
            }
            arr.end();
        }
        Value::Object(map) => {
            // Not an `Obj`: the map's own order is kept, whatever it is.
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                layout.entry(i == 0, out);
                write_json_string(k, out);
                out.push_str(if layout == Layout::Compact { ":" } else { ": " });
                write_value(v, out, layout.inner());
            }
            layout.close(map.is_empty(), '}', out);
        }
    }
}

/// A float as serde_json writes a `Value` holding it: shortest round-trip digits, always with
/// a fraction or an exponent (`1.0`), and `null` for NaN and the infinities (which a `Value`
/// cannot hold: `serde_json::json!` makes them `null`).
pub(crate) fn write_f64(value: f64, out: &mut String) {
    match serde_json::Number::from_f64(value) {
        Some(n) => {
            let _ = write!(out, "{n}");
        }
        None => out.push_str("null"),
    }
}

/// A JSON string literal, escaped exactly as serde_json escapes it.
pub(crate) fn write_json_string(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Runs of characters that need no escape are copied whole; escapes are pushed as
    // characters (a copy of two bytes costs a call to `memcpy`, and a payload has hundreds).
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = ESCAPE[usize::from(b)];
        if escape == 0 {
            continue;
        }
        if run < i {
            out.push_str(&s[run..i]);
        }
        run = i + 1;
        out.push('\\');
        out.push(char::from(escape));
        if escape == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    if run < s.len() {
        out.push_str(&s[run..]);
    }
    out.push('"');
}

/// For each byte, the character after the backslash of its escape (`u` for `\u00XX`), or 0
/// when it is written as it is: serde_json's table.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,6}|[\\x00-\\x1f\"\\\\]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\"]{0,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn strings_escape_like_serde_json(s in "\\PC*|[\\x00-\\x1f\"\\\\]{0,8}") {
            let mut out = String::new();
            write_json_string(&s, &mut out);
            prop_assert_eq!(out, Value::String(s.clone()).to_string());
        }

        #[test]
        fn values_are_written_like_serde_json(v in arb_value()) {
            let mut compact = String::new();
            write_value(&v, &mut compact, Layout::Compact);
            prop_assert_eq!(compact, serde_json::to_string(&v).expect("json"));
            let mut pretty = String::new();
            write_value(&v, &mut pretty, Layout::Pretty(0));
            prop_assert_eq!(&pretty, &serde_json::to_string_pretty(&v).expect("json"));
            // One level in: every line but the first indented once more.
            let mut inner = String::new();
            write_value(&v, &mut inner, Layout::Pretty(1));
            prop_assert_eq!(inner, pretty.replace('\n', "\n  "));
        }

        #[test]
        fn objects_and_arrays_are_written_like_serde_json(
            entries in prop::collection::btree_map("[a-z]{1,3}", any::<i32>(), 0..4),
            items in prop::collection::vec(any::<i32>(), 0..4),
            level in 0usize..3,
        ) {
            let want = serde_json::json!({"a": entries, "b": items, "c": {}, "d": []});
            for layout in [Layout::Compact, Layout::Pretty(level)] {
                let mut out = String::new();
                let mut top = Obj::open(&mut out, layout);
                let mut a = top.obj("a");
                for (k, v) in &entries {
                    a.int(k, *v);
                }
                a.end();
                let mut b = top.arr("b");
                for v in &items {
                    b.int(*v);
                }
                b.end();
                top.obj("c").end();
                top.arr("d").end();
                top.end();
                let mut expected = String::new();
                write_value(&want, &mut expected, layout);
                prop_assert_eq!(out, expected);
            }
        }
    }

    #[test]
    fn floats_as_serde_json_writes_them() {
        for f in [
            0.25,
            1.0,
            15.0,
            1e300,
            -0.0,
            1.5e-7,
            f64::NAN,
            f64::INFINITY,
        ] {
            let mut out = String::new();
            write_f64(f, &mut out);
            assert_eq!(out, serde_json::json!(f).to_string(), "{f}");
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "written after")]
    fn keys_out_of_order_are_caught() {
        let mut out = String::new();
        let mut obj = Obj::open(&mut out, Layout::Compact);
        obj.bool("b", true);
        obj.bool("a", true);
    }
}
