//! Variables in the schema: `${var.NAME}` may stand for any value of a job, so every field
//! whose schema is more than a plain string (numbers, booleans, lists, mappings, patterned
//! strings such as sizes, durations and keys) also accepts a string holding a reference.
//! The loader checks such a field after substitution, with the value; an editor, which has
//! no values, accepts the reference and still checks every literal value as before.
//!
//! The wrapped field keeps its annotations (description, default, examples, snippets) on the
//! outside, so hover and completion read as before; the field's own rules move into
//! `anyOf: [rules, reference]`. Conditions (`if`, `not`) are left alone: a reference must
//! neither trigger nor escape a rule it does not name.

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

/// Adds the reference definition and wraps every field under `definitions`.
pub fn apply(root: &mut Value) {
    let Some(defs) = root.get_mut("definitions").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, def) in defs.iter_mut() {
        if name != "VarDeclaration" {
            walk(def);
        }
    }
    defs.insert(
        REFERENCE.into(),
        json!({
            "title": "Variable reference",
            "description": "A value written as ${var.NAME}: the variable's value, with its type, is used (see `vars`).",
            "type": "string",
            "pattern": r"\$\{var\.[A-Za-z_][A-Za-z0-9_-]*\}"
        }),
    );
    if let Some(vars) = root
        .pointer_mut("/properties/vars")
        .and_then(Value::as_object_mut)
    {
        vars.insert("propertyNames".into(), json!({ "pattern": NAME_PATTERN }));
    }
}

/// Wraps the fields of every object schema inside `v` (not inside conditions).
fn walk(v: &mut Value) {
    let Value::Object(m) = v else { return };
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        for field in props.values_mut() {
            walk(field);
            wrap(field);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner @ Value::Object(_)) = m.get_mut(key) {
            walk(inner);
            wrap(inner);
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

/// Whether a field's schema accepts any string already (then a reference needs nothing).
fn any_string(m: &Map<String, Value>) -> bool {
    m.get("type") == Some(&Value::String("string".into()))
        && ![
            "pattern",
            "enum",
            "const",
            "format",
            "minLength",
            "maxLength",
            "allOf",
            "anyOf",
            "oneOf",
            "$ref",
        ]
        .iter()
        .any(|k| m.contains_key(*k))
}

/// `field` as `{annotations…, anyOf: [rules, reference]}`.
fn wrap(field: &mut Value) {
    let Value::Object(m) = field else { return };
    if any_string(m) || m.is_empty() {
        return;
    }
    let mut outer = Map::new();
    let mut rules = Map::new();
    for (k, v) in std::mem::take(m) {
        if ANNOTATIONS.contains(&k.as_str()) {
            outer.insert(k, v);
        } else {
            rules.insert(k, v);
        }
    }
    if rules.is_empty() {
        *m = outer;
        return;
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
    fn fields_accept_a_reference_and_keep_their_annotations_outside() {
        let mut root = json!({
            "properties": { "vars": { "type": "object" } },
            "definitions": {
                "Job": {
                    "type": "object",
                    "properties": {
                        "instances": { "type": "integer", "minimum": 1, "description": "How many", "default": 1 },
                        "cmdline": { "type": "string", "description": "Any text" }
                    },
                    "not": { "properties": { "instances": { "const": 0 } } }
                }
            }
        });
        apply(&mut root);
        let job = &root["definitions"]["Job"];
        let instances = &job["properties"]["instances"];
        assert_eq!(instances["description"], "How many");
        assert_eq!(instances["default"], 1);
        assert_eq!(
            instances["anyOf"][0],
            json!({"type": "integer", "minimum": 1})
        );
        assert_eq!(
            instances["anyOf"][1]["$ref"],
            "#/definitions/VariableReference"
        );
        assert_eq!(
            job["properties"]["cmdline"],
            json!({"type": "string", "description": "Any text"})
        );
        assert_eq!(
            job["not"],
            json!({ "properties": { "instances": { "const": 0 } } }),
            "conditions untouched"
        );
        assert_eq!(
            root["properties"]["vars"]["propertyNames"]["pattern"],
            NAME_PATTERN
        );
    }
}
