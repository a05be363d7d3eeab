//! The JSON Schema of format v1, generated from the model types (never written by hand).
//!
//! Draft-07 (what yaml-language-server and Taplo read), `additionalProperties: false` from
//! `deny_unknown_fields`, descriptions from doc comments. The generated schema is then
//! post-processed in two passes, one concern each:
//!
//! * [`rules`]: the single-file rules of `validate` that JSON Schema can express
//!   (exclusivity, `if`/`then` on `kind`, minimums, patterns for durations, sizes, cron
//!   schedules, keys and environments, a `Defaults` definition without `key`/`name`).
//! * [`variables`] (last): every field also accepts a `${var.NAME}` reference.
//! * [`editor`]: what editors show: no `null` branches (both the schema and the loader refuse
//!   `x: null`), each field's own description, default and `markdownDescription` beside its
//!   `$ref`, a title per definition, plain `enum`s beside `oneOf`/`const`, and
//!   `defaultSnippets`.
//!
//! What needs more than one file or the cluster is listed, with the reason, in
//! `tests/schema_agreement.rs` and in docs/spec-reference.md ("Editors and the schema").

pub mod editor;
pub mod rules;
pub mod variables;

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
    editor::remove_null(&mut value);
    rules::apply(&mut value);
    editor::apply(&mut value);
    variables::apply(&mut value);
    value
}

/// The schema as pretty JSON with a trailing newline (the committed file's exact content).
pub fn to_pretty_string() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    s.push('\n');
    s
}
