//! The JSON Schema of format v1, generated from the model types (never written by hand).
//!
//! Draft-07 (what yaml-language-server and Taplo read), `additionalProperties: false` from
//! `deny_unknown_fields`, descriptions from doc comments. Enumerations get both a plain `enum`
//! (Taplo names the allowed values) and per-value `oneOf`/`const` descriptions
//! (yaml-language-server shows them).

use schemars::generate::SchemaSettings;
use serde_json::Value;

use crate::model::SpecFile;

/// The schema's `$id`.
pub const SCHEMA_ID: &str = "https://aurora-apply.github.io/schema/aurora-apply.v1.json";

/// The schema as a JSON value.
pub fn json_schema() -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<SpecFile>();
    let mut value = schema.to_value();
    if let Value::Object(m) = &mut value {
        m.insert("$id".into(), Value::String(SCHEMA_ID.into()));
    }
    add_plain_enums(&mut value);
    value
}

/// The schema as pretty JSON with a trailing newline (the committed file's exact content).
pub fn to_pretty_string() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    s.push('\n');
    s
}

/// Where `oneOf` lists only `const` alternatives, add the equivalent `enum` beside it.
fn add_plain_enums(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let consts: Option<Vec<Value>> = m
                .get("oneOf")
                .and_then(|o| o.as_array())
                .and_then(|alts| alts.iter().map(|a| a.get("const").cloned()).collect());
            if let Some(consts) = consts
                && !m.contains_key("enum")
            {
                m.insert("enum".into(), Value::Array(consts));
            }
            for child in m.values_mut() {
                add_plain_enums(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(add_plain_enums),
        _ => {}
    }
}
