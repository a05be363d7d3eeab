//! What editors show from the schema: hover text, completions and snippets.
//!
//! * No `null` branches: schemars writes `Option<T>` as `anyOf: [T, {type: null}]` or
//!   `type: [T, "null"]`, which makes `null` a completion everywhere and makes hover show the
//!   referenced type's text instead of the field's. The loader refuses `x: null` too (leave
//!   the key out for the default), so both sides agree.
//! * Each property keeps its own `description`, `markdownDescription` and `default` beside
//!   an `allOf: [{$ref}]` (draft-07 ignores siblings of a bare `$ref`).
//! * `description` is plain text (backticks removed: yaml-language-server escapes them),
//!   `markdownDescription` the doc comment as written.
//! * A `title` per definition; plain `enum`s beside `oneOf`/`const` lists (Taplo names the
//!   allowed values, yaml-language-server shows the per-value descriptions); a job skeleton
//!   and one snippet per update strategy as `defaultSnippets`.

use serde_json::{Map, Value, json};

/// Removes every `null` alternative (`type` arrays, `anyOf` branches, `null` enum values).
pub fn remove_null(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(types)) = m.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let t = types.remove(0);
                    m.insert("type".into(), t);
                }
            }
            if let Some(Value::Array(values)) = m.get_mut("enum") {
                values.retain(|t| !t.is_null());
            }
            if m.get("default").is_some_and(Value::is_null) {
                m.remove("default");
            }
            let is_null = |s: &Value| s.get("type").is_some_and(|t| t == "null");
            if let Some(Value::Array(alts)) = m.get_mut("anyOf")
                && alts.iter().any(is_null)
            {
                alts.retain(|a| !is_null(a));
                if alts.len() == 1 {
                    let only = alts.remove(0);
                    m.remove("anyOf");
                    match only {
                        Value::Object(o) if o.len() == 1 && o.contains_key("$ref") => {
                            m.insert("allOf".into(), json!([o]));
                        }
                        Value::Object(o) => {
                            for (k, val) in o {
                                m.entry(k).or_insert(val);
                            }
                        }
                        other => {
                            m.insert("allOf".into(), json!([other]));
                        }
                    }
                }
            }
            m.values_mut().for_each(remove_null);
        }
        Value::Array(items) => items.iter_mut().for_each(remove_null),
        _ => {}
    }
}

/// The editor pass (after the rules pass).
pub fn apply(root: &mut Value) {
    if let Some(Value::Object(defs)) = root.get_mut("definitions") {
        for (name, def) in defs.iter_mut() {
            if let Value::Object(d) = def
                && !d.contains_key("title")
            {
                d.insert("title".into(), Value::String(name.clone()));
            }
        }
    }
    describe(root);
    add_plain_enums(root);
    add_snippets(root);
}

/// Every schema object with a `description`: `markdownDescription` (as written), plain
/// `description`, and for properties a `default` read from "Default X." and the `$ref`
/// moved into `allOf`.
fn describe(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get_mut("properties") {
                for prop in props.values_mut() {
                    if let Value::Object(p) = prop {
                        property(p);
                    }
                }
            }
            if let Some(Value::String(d)) = m.get("description").cloned().as_ref() {
                m.entry("markdownDescription")
                    .or_insert_with(|| Value::String(d.clone()));
                m.insert("description".into(), Value::String(d.replace('`', "")));
            }
            m.values_mut().for_each(describe);
        }
        Value::Array(items) => items.iter_mut().for_each(describe),
        _ => {}
    }
}

fn property(p: &mut Map<String, Value>) {
    if p.len() > 1
        && let Some(r) = p.remove("$ref")
    {
        p.insert("allOf".into(), json!([{ "$ref": r }]));
    }
    // yaml-language-server (and vscode-json-languageservice) shows on hover the first
    // description among the schemas that matched, and a property's `allOf` entries match
    // before the property itself: the referenced type's text ("A duration…") would win over
    // the field's own ("… Default 45s."). The field's text goes first in `allOf` too.
    if let (Some(Value::String(d)), Some(Value::Array(all))) =
        (p.get("description").cloned(), p.get_mut("allOf"))
        && !all
            .first()
            .is_some_and(|f| f.get("$ref").is_none() && f.get("description").is_some())
    {
        all.insert(0, json!({ "description": d }));
    }
    if p.contains_key("default") {
        return;
    }
    let Some(desc) = p.get("description").and_then(Value::as_str) else {
        return;
    };
    let Some(text) = default_in(desc) else { return };
    let ty = p.get("type").and_then(Value::as_str).unwrap_or("string");
    let value = match ty {
        "integer" => text.parse::<i64>().ok().map(Value::from),
        "number" => text.parse::<f64>().ok().map(Value::from),
        "boolean" => text.parse::<bool>().ok().map(Value::from),
        _ => Some(Value::String(text.to_string())),
    };
    if let Some(value) = value {
        p.insert("default".into(), value);
    }
}

/// `Default 45s.`, ``Default `file`.``, `Default true.` → the scalar; `Default: the role`
/// and non-scalar defaults → `None`.
fn default_in(desc: &str) -> Option<&str> {
    let at = desc.find("Default ")?;
    let rest = &desc[at + "Default ".len()..];
    let (text, after) = match rest.strip_prefix('`') {
        Some(r) => {
            let end = r.find('`')?;
            (&r[..end], &r[end + 1..])
        }
        None => {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == ')')
                .unwrap_or(rest.len());
            let word = &rest[..end];
            let word = word.strip_suffix('.').unwrap_or(word);
            (word, &rest[word.len()..])
        }
    };
    let scalar = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c));
    (scalar && (after.is_empty() || after.starts_with('.'))).then_some(text)
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

fn job_skeleton() -> Value {
    json!({
        "key": "${1:devcluster}/${2:www-data}/${3:prod}/${4:hello}",
        "kind": "${5|service,adhoc,cron|}",
        "instances": 1,
        "resources": {"cpu": 1, "ram": "${6:128MiB}", "disk": "${7:128MiB}"},
        "task": {"processes": [{"name": "${8:hello}", "cmdline": "${9:echo hello; sleep 60}"}]}
    })
}

/// yaml-language-server's `defaultSnippets`: a whole file, a job, and each strategy.
fn add_snippets(root: &mut Value) {
    if let Value::Object(m) = root {
        m.insert(
            "defaultSnippets".into(),
            json!([{
                "label": "aurora-apply spec",
                "description": "A spec file with one Thermos job",
                "body": {"apiVersion": "aurora-apply/v1", "jobs": [job_skeleton()]}
            }]),
        );
    }
    let defs = &mut root["definitions"];
    if let Some(Value::Object(job)) = defs.get_mut("JobSpec") {
        job.insert(
            "defaultSnippets".into(),
            json!([{"label": "job", "description": "A Thermos job", "body": job_skeleton()}]),
        );
    }
    if let Some(Value::Object(s)) = defs.get_mut("StrategySpec") {
        s.insert(
            "defaultSnippets".into(),
            json!([
                {"label": "queue", "description": "Up to `size` instances updating at once",
                 "body": {"queue": {"size": "^${1:1}"}}},
                {"label": "batch", "description": "Strict batches of `size`",
                 "body": {"batch": {"size": "^${1:1}", "autopause": "^${2:false}"}}},
                {"label": "variable_batch", "description": "Batches of varying sizes",
                 "body": {"variable_batch": {"sizes": ["^${1:1}", "^${2:2}", "^${3:5}"]}}}
            ]),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::default_in;

    #[test]
    fn defaults_are_read_from_descriptions() {
        assert_eq!(default_in("How long. Default 45s."), Some("45s"));
        assert_eq!(default_in("Files. Default `file`."), Some("file"));
        assert_eq!(default_in("-1 = unlimited. Default 1."), Some("1"));
        assert_eq!(default_in("Default KILL_EXISTING."), Some("KILL_EXISTING"));
        assert_eq!(default_in("Default: the role, so"), None);
        assert_eq!(default_in("Default `{ queue: { size: 1 } }`."), None);
        assert_eq!(default_in("Nothing."), None);
    }
}
