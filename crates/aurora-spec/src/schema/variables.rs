//! Variables in the schema: `${var.NAME}` may stand for any value of a job, so every field
//! whose schema is more than a plain string (numbers, booleans, lists, mappings, patterned
//! strings such as sizes, durations and keys) also accepts a string holding a reference.
//! The loader checks such a field after substitution, with the value; an editor, which has
//! no values, accepts the reference and still checks every literal value as before.
//!
//! How each kind of field is widened is chosen so editors report errors where they did (see
//! `widen`). Conditions (`if`, `not`) are left alone: a reference must neither trigger nor
//! escape a rule it does not name.

use serde_json::{Map, Value, json};

/// The definition every wrapped field refers to.
pub const REFERENCE: &str = "VariableReference";

/// What a variable's name looks like (the loader's `valid_name`).
pub const NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_-]*$";

/// Keywords that describe a field for people and editors: kept outside the `anyOf`.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "markdownDescription",
    "default",
    "examples",
    "defaultSnippets",
    "deprecationMessage",
];

/// The reference inside a longer pattern (not anchored: a reference may sit inside a string).
const REFERENCE_PATTERN: &str = r"\$\{var\.[A-Za-z_][A-Za-z0-9_-]*\}";

/// Adds the reference definition and widens every field and scalar definition.
pub fn apply(root: &mut Value) {
    let Some(defs) = root.get_mut("definitions").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, def) in defs.iter_mut() {
        if name == "VarDeclaration" {
            continue;
        }
        walk(def);
        if let Value::Object(m) = def
            && is_scalar(m)
        {
            widen(def);
        }
    }
    defs.insert(
        REFERENCE.into(),
        json!({
            "title": "Variable reference",
            "description": "A value written as ${var.NAME}: the variable's value, with its type, is used (see `vars`).",
            "type": "string",
            "pattern": REFERENCE_PATTERN
        }),
    );
    if let Some(vars) = root
        .pointer_mut("/properties/vars")
        .and_then(Value::as_object_mut)
    {
        vars.insert("propertyNames".into(), json!({ "pattern": NAME_PATTERN }));
    }
}

/// Widens the fields of every object schema inside `v` (not inside conditions, and not the
/// variant branches themselves: a reference must match one branch of a `oneOf`, the one
/// [`widen`] adds).
fn walk(v: &mut Value) {
    let Value::Object(m) = v else { return };
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        for field in props.values_mut() {
            walk(field);
            widen(field);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner @ Value::Object(_)) = m.get_mut(key) {
            walk(inner);
            widen(inner);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = m.get_mut(key) {
            branches.iter_mut().for_each(walk);
        }
    }
    for key in ["then", "else"] {
        if let Some(inner) = m.get_mut(key) {
            walk(inner);
        }
    }
}

/// The `type` of a schema as a list.
fn types(m: &Map<String, Value>) -> Vec<String> {
    match m.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(String::from))
            .collect(),
        _ if m.contains_key("pattern") => vec!["string".into()],
        _ => Vec::new(),
    }
}

/// Whether a definition is a scalar type (a duration, a size, an enumeration): those are
/// widened where they are defined, so every field referring to them accepts a reference.
fn is_scalar(m: &Map<String, Value>) -> bool {
    m.contains_key("enum")
        || m.contains_key("const")
        || types(m)
            .iter()
            .any(|t| matches!(t.as_str(), "string" | "integer" | "number" | "boolean"))
}

/// Lets `field` also be a string holding a reference, by the means that keep editors'
/// messages where they were:
///
/// * an enumeration (`enum`, `const`): `anyOf: [rules, reference]` (a scalar: an error is
///   still reported at the value);
/// * a variant choice (`oneOf`/`anyOf` of objects): the reference as one more branch;
/// * a patterned string: the pattern also matches a reference;
/// * a number, boolean, list or mapping: `string` added to its `type`, with the reference as
///   the `pattern` — `pattern` applies to strings only, and `properties`, `items` or
///   `minimum` to their own types only, so nothing else changes (no `anyOf` around a table,
///   which would make Taplo report any error inside it at the whole table).
///
/// Fields that only refer to another definition (`allOf: [{$ref}]`) follow that definition:
/// scalar ones are widened there; a whole-value reference standing for an object
/// definition (`resources: ${var.r}`) is not accepted by the schema (validate accepts it).
fn widen(field: &mut Value) {
    let Value::Object(m) = field else { return };
    if m.contains_key("enum") || m.contains_key("const") {
        wrap(m);
        return;
    }
    let reference = json!({ "$ref": format!("#/definitions/{REFERENCE}") });
    if !m.contains_key("type") {
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = m.get_mut(key) {
                if !branches.contains(&reference) {
                    branches.push(reference);
                }
                return;
            }
        }
    }
    let mut ts = types(m);
    if ts.is_empty() {
        return;
    }
    if ts.iter().any(|t| t == "string") {
        if let Some(Value::String(p)) = m.get_mut("pattern")
            && !p.contains(REFERENCE_PATTERN)
        {
            *p = format!("(?:{p})|{REFERENCE_PATTERN}");
        }
        return;
    }
    ts.push("string".into());
    m.insert("type".into(), json!(ts));
    m.insert("pattern".into(), Value::String(REFERENCE_PATTERN.into()));
}

/// `m` as `{annotations…, anyOf: [rules, reference]}`.
fn wrap(m: &mut Map<String, Value>) {
    let mut outer = Map::new();
    let mut rules = Map::new();
    for (k, v) in std::mem::take(m) {
        if ANNOTATIONS.contains(&k.as_str()) {
            outer.insert(k, v);
        } else {
            rules.insert(k, v);
        }
    }
    outer.insert(
        "anyOf".into(),
        json!([Value::Object(rules), { "$ref": format!("#/definitions/{REFERENCE}") }]),
    );
    *m = outer;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_accept_a_reference_without_an_any_of_around_tables() {
        let mut root = json!({
            "properties": { "vars": { "type": "object" } },
            "definitions": {
                "Kind": { "enum": ["a", "b"], "description": "A kind" },
                "Size": { "type": "string", "pattern": "^[0-9]+MiB$" },
                "Job": {
                    "type": "object",
                    "properties": {
                        "instances": { "type": "integer", "minimum": 1, "description": "How many", "default": 1 },
                        "cmdline": { "type": "string", "description": "Any text" },
                        "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                        "kind": { "allOf": [{ "$ref": "#/definitions/Kind" }] },
                        "container": { "oneOf": [{ "type": "object", "required": ["mesos"] }] }
                    },
                    "not": { "properties": { "instances": { "const": 0 } } }
                }
            }
        });
        apply(&mut root);
        let defs = &root["definitions"];
        let job = &defs["Job"];
        let instances = &job["properties"]["instances"];
        assert_eq!(instances["type"], json!(["integer", "string"]));
        assert_eq!(instances["pattern"], REFERENCE_PATTERN);
        assert_eq!(instances["minimum"], 1);
        assert_eq!(instances["description"], "How many");
        assert_eq!(
            job["properties"]["cmdline"],
            json!({"type": "string", "description": "Any text"})
        );
        assert_eq!(
            job["properties"]["labels"]["type"],
            json!(["object", "string"])
        );
        assert_eq!(
            job["properties"]["kind"],
            json!({ "allOf": [{ "$ref": "#/definitions/Kind" }] })
        );
        assert_eq!(defs["Kind"]["description"], "A kind");
        assert_eq!(defs["Kind"]["anyOf"][0], json!({"enum": ["a", "b"]}));
        assert_eq!(
            defs["Size"]["pattern"],
            format!("(?:^[0-9]+MiB$)|{REFERENCE_PATTERN}")
        );
        assert_eq!(
            job["properties"]["container"]["oneOf"][1]["$ref"],
            "#/definitions/VariableReference"
        );
        assert_eq!(
            job["not"],
            json!({ "properties": { "instances": { "const": 0 } } }),
            "conditions untouched"
        );
        assert_eq!(job["type"], "object", "object definitions are not widened");
        assert_eq!(
            root["properties"]["vars"]["propertyNames"]["pattern"],
            NAME_PATTERN
        );
    }
}
