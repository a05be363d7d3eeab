//! Sizes (`128MiB`) and durations (`45s`) as they are written in specs.
//!
//! Sizes are binary: `MiB`, `GiB`… and, as in Aurora's own DSL (`MB = 1024 * KB`), `MB` and
//! `GB` also mean 2^20 and 2^30 bytes. Durations use humantime's syntax (`45s`, `10m`,
//! `1h 30m`, `250ms`). Both must be strings with a unit: a bare number is refused, because
//! "128" could mean bytes or MiB and "45" seconds or milliseconds.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration as StdDuration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(pub u64);

const KIB: u64 = 1024;

/// The unit suffixes and their multipliers (all binary, see the module doc).
const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", KIB),
    ("KB", KIB),
    ("K", KIB),
    ("MiB", KIB * KIB),
    ("MB", KIB * KIB),
    ("M", KIB * KIB),
    ("GiB", KIB * KIB * KIB),
    ("GB", KIB * KIB * KIB),
    ("G", KIB * KIB * KIB),
    ("TiB", KIB * KIB * KIB * KIB),
    ("TB", KIB * KIB * KIB * KIB),
    ("T", KIB * KIB * KIB * KIB),
];

/// The regular expression the JSON Schema uses for sizes (kept in step with [`Size::parse`]).
pub const SIZE_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?\s*(B|KiB|KB|K|MiB|MB|M|GiB|GB|G|TiB|TB|T)$";

impl Size {
    /// Parses `128MiB`, `1.5GiB`, `512MB` (= MiB), `100B`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let shown = crate::diagnostics::shorten(text, crate::diagnostics::MAX_VALUE_CHARS);
        let text = shown.as_ref();
        if t.starts_with('-') {
            return Err(format!("size `{text}` is negative"));
        }
        let t = t.strip_prefix('+').unwrap_or(t);
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("size `{text}` has no unit (write e.g. `128MiB` or `2GiB`)"))?;
        let (num, unit) = t.split_at(split);
        let unit = unit.trim();
        let mult = SIZE_UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                format!("size `{text}` has an unknown unit `{unit}` (use B, KiB, MiB, GiB or TiB)")
            })?;
        let valid = !num.is_empty()
            && !num.starts_with('.')
            && !num.ends_with('.')
            && num.matches('.').count() <= 1;
        if !valid {
            return Err(format!("size `{text}` is not a number followed by a unit"));
        }
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        let int: u64 = int
            .parse()
            .map_err(|_| format!("size `{text}` is too large"))?;
        let mut bytes = int
            .checked_mul(mult)
            .ok_or_else(|| format!("size `{text}` is too large"))?;
        if !frac.is_empty() {
            // Exact decimal fraction of the unit, rounded down to whole bytes.
            let digits = frac.len().min(18);
            let frac_num: u128 = frac[..digits]
                .parse()
                .map_err(|_| format!("bad size `{text}`"))?;
            let denom = 10u128.pow(u32::try_from(digits).unwrap_or(18));
            let extra = frac_num * u128::from(mult) / denom;
            bytes = bytes
                .checked_add(u64::try_from(extra).unwrap_or(u64::MAX))
                .ok_or_else(|| format!("size `{text}` is too large"))?;
        }
        Ok(Size(bytes))
    }

    /// Whole MiB, rounded down (Aurora's `ram // MB`).
    pub fn mib(self) -> u64 {
        self.0 / (KIB * KIB)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (unit, mult) in [
            ("TiB", KIB.pow(4)),
            ("GiB", KIB.pow(3)),
            ("MiB", KIB.pow(2)),
            ("KiB", KIB),
        ] {
            if b >= mult && b.is_multiple_of(mult) {
                return write!(f, "{}{unit}", b / mult);
            }
        }
        write!(f, "{b}B")
    }
}

struct SizeVisitor;

impl Visitor<'_> for SizeVisitor {
    type Value = Size;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a size such as \"128MiB\" or \"2GiB\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
        Size::parse(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(SizeVisitor)
    }
}

impl JsonSchema for Size {
    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": SIZE_PATTERN,
            "description": "A size with a binary unit: B, KiB, MiB, GiB, TiB (KB/MB/GB/TB and K/M/G/T mean the same, as in Aurora's DSL: 1 MB = 1024 KiB).",
            "examples": ["128MiB", "2GiB"]
        })
    }
}

/// A duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub StdDuration);

/// The regular expression the JSON Schema uses for durations (humantime's syntax: one or
/// more `<integer><unit>` parts).
pub const DURATION_PATTERN: &str = r"^\s*[0-9]+\s*[a-zA-Zµ]+(\s*[0-9]+\s*[a-zA-Zµ]+)*\s*$";

impl Duration {
    /// Parses `45s`, `10m`, `1h 30m`, `250ms`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let shown = crate::diagnostics::shorten(text, crate::diagnostics::MAX_VALUE_CHARS);
        if text.trim().starts_with('-') {
            return Err(format!("duration `{shown}` is negative"));
        }
        if text.trim().chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "duration `{shown}` has no unit (write e.g. `{}s`)",
                crate::diagnostics::shorten(text.trim(), crate::diagnostics::MAX_VALUE_CHARS)
            ));
        }
        humantime::parse_duration(text.trim())
            .map(Duration)
            .map_err(|e| format!("invalid duration `{shown}`: {e}"))
    }

    /// From whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(StdDuration::from_secs(secs))
    }

    /// Whole seconds, when the duration is a whole number of seconds.
    pub fn whole_secs(self) -> Option<u64> {
        (self.0.subsec_nanos() == 0).then_some(self.0.as_secs())
    }

    /// Seconds as a float (health-check intervals are floats in Thermos).
    pub fn secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }

    /// Milliseconds, saturating.
    pub fn millis(self) -> u128 {
        self.0.as_millis()
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a duration such as \"45s\" or \"10m\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        Duration::parse(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(DurationVisitor)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration with a unit, e.g. 45s, 10m, 1h 30m, 250ms.",
            "examples": ["45s", "10m"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(Size::parse("128MiB"), Ok(Size(134_217_728)));
        assert_eq!(Size::parse("128MB"), Ok(Size(134_217_728)));
        assert_eq!(Size::parse("1GiB"), Ok(Size(1 << 30)));
        assert_eq!(Size::parse("1.5MiB").map(Size::mib), Ok(1));
        assert_eq!(Size::parse("0.5KiB"), Ok(Size(512)));
        assert_eq!(Size::parse("100 B"), Ok(Size(100)));
        assert!(Size::parse("128").is_err());
        assert!(Size::parse("12XB").is_err());
        assert!(Size::parse("1.MiB").is_err());
        assert!(Size::parse("99999999999999999999TiB").is_err());
        assert_eq!(Size::parse("-5MiB"), Err("size `-5MiB` is negative".into()));
        assert!(
            Size::parse(&"9".repeat(100_000))
                .is_err_and(|e| e.len() < 200 && e.contains("100000 characters"))
        );
        assert_eq!(Size(2 << 30).to_string(), "2GiB");
    }

    #[test]
    fn durations() {
        assert_eq!(Duration::parse("45s").map(|d| d.whole_secs()), Ok(Some(45)));
        assert_eq!(
            Duration::parse("1h 30m").map(|d| d.whole_secs()),
            Ok(Some(5400))
        );
        assert_eq!(Duration::parse("250ms").map(|d| d.millis()), Ok(250));
        assert!(Duration::parse("45").is_err());
        assert!(Duration::parse("soon").is_err());
    }

    proptest::proptest! {
        #[test]
        fn size_parser_never_panics(s in ".{0,24}") {
            let _ = Size::parse(&s);
        }

        #[test]
        fn size_round_trips(n in 1u64..1_000_000, unit in 0usize..4) {
            let (u, m) = [("KiB", 1u64 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("B", 1)][unit];
            proptest::prop_assert_eq!(Size::parse(&format!("{n}{u}")), Ok(Size(n * m)));
        }
    }
}
