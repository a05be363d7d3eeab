//! The JSON Schema of the format (aurora-spec's generator, what `aurora-apply schema` prints),
//! walked by document path: the keys valid at a place, a field's description, default,
//! example and allowed values; plus the Aurora field names of docs/spec-reference.md.

use std::collections::HashMap;

use serde_json::Value;

/// One step of a document path: a mapping key, or any item of a list (`[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// An item of a list.
    Item,
}

/// The mapping keys of a path, list items left out: `jobs.[].resources` → `jobs, resources`.
pub fn keys_of(path: &[Seg]) -> Vec<&str> {
    path.iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Item => None,
        })
        .collect()
}

/// The schema and the spec reference's field table.
#[derive(Debug)]
pub struct Schema {
    root: Value,
    aurora: HashMap<(String, String), String>,
}

/// What the schema says about one field.
#[derive(Debug, Default)]
pub struct FieldDoc {
    /// The description (doc comment of the model).
    pub description: Option<String>,
    /// The default, as JSON.
    pub default: Option<Value>,
    /// The first example, as JSON.
    pub example: Option<Value>,
    /// The allowed values.
    pub values: Vec<String>,
}

impl Default for Schema {
    fn default() -> Self {
        Self::new()
    }
}

impl Schema {
    /// The schema of format v1 and the Aurora names from the spec reference.
    pub fn new() -> Self {
        Self {
            root: aurora_spec::schema::json_schema(),
            aurora: aurora_names(include_str!("../../../docs/spec-reference.md")),
        }
    }

    fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        for _ in 0..16 {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let Some(name) = r.strip_prefix("#/definitions/") else {
                        return v;
                    };
                    match self.root.get("definitions").and_then(|d| d.get(name)) {
                        Some(t) => v = t,
                        None => return v,
                    }
                }
                None => return v,
            }
        }
        v
    }

    /// `v` and every alternative under it (`allOf`/`anyOf`/`oneOf`), references resolved.
    fn branches<'a>(&'a self, v: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
        let v = self.resolve(v);
        out.push(v);
        if depth > 8 {
            return;
        }
        for k in ["allOf", "anyOf", "oneOf"] {
            if let Some(alts) = v.get(k).and_then(Value::as_array) {
                for a in alts {
                    self.branches(a, out, depth + 1);
                }
            }
        }
    }

    /// The schemas at a document path (several when alternatives allow it).
    pub fn at(&self, path: &[Seg]) -> Vec<&Value> {
        let mut cur = Vec::new();
        self.branches(&self.root, &mut cur, 0);
        for seg in path {
            let mut next = Vec::new();
            for v in &cur {
                let child = match seg {
                    Seg::Item => v.get("items"),
                    Seg::Key(k) => v
                        .get("properties")
                        .and_then(|p| p.get(k))
                        .or_else(|| v.get("additionalProperties").filter(|a| a.is_object())),
                };
                if let Some(c) = child {
                    self.branches(c, &mut next, 0);
                }
            }
            cur = next;
        }
        cur
    }

    /// The keys allowed in the mapping at `path`, each with its description, sorted.
    pub fn keys(&self, path: &[Seg]) -> Vec<(String, Option<String>)> {
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        for v in self.at(path) {
            if let Some(props) = v.get("properties").and_then(Value::as_object) {
                for (k, p) in props {
                    if !out.iter().any(|(o, _)| o == k) {
                        out.push((k.clone(), self.doc_of(p).description));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The variants of the field at `path` when it is a choice between one-key mappings
    /// (`container: {docker: …}` or `{mesos: …}`): each key and its description.
    pub fn variants(&self, path: &[Seg]) -> Vec<(String, Option<String>)> {
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        for v in self.at(path) {
            let Some(props) = v.get("properties").and_then(Value::as_object) else {
                continue;
            };
            let required: Vec<&str> = v
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if props.len() == 1
                && let [only] = required.as_slice()
                && props.contains_key(*only)
                && !out.iter().any(|(o, _)| o == only)
            {
                let about = v
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                out.push((only.to_string(), about));
            }
        }
        out
    }

    /// What the schema says about the field at `path` (the last segment a key).
    pub fn field(&self, path: &[Seg]) -> FieldDoc {
        let mut doc = FieldDoc::default();
        let Some((Seg::Key(key), parent)) = path.split_last() else {
            return doc;
        };
        for v in self.at(parent) {
            if let Some(p) = v.get("properties").and_then(|p| p.get(key.as_str())) {
                let d = self.doc_of(p);
                doc.description = doc.description.or(d.description);
                doc.default = doc.default.or(d.default);
                doc.example = doc.example.or(d.example);
            }
        }
        for v in self.at(path) {
            if let Some(values) = v.get("enum").and_then(Value::as_array) {
                for s in values.iter().filter_map(Value::as_str) {
                    if !doc.values.iter().any(|o| o == s) {
                        doc.values.push(s.to_string());
                    }
                }
            }
        }
        doc
    }

    fn doc_of(&self, p: &Value) -> FieldDoc {
        let mut all = Vec::new();
        self.branches(p, &mut all, 0);
        let pick = |k: &str| all.iter().find_map(|v| v.get(k).cloned());
        FieldDoc {
            description: pick("description").and_then(|d| d.as_str().map(str::to_string)),
            default: pick("default"),
            example: pick("examples").and_then(|e| e.get(0).cloned()),
            values: Vec::new(),
        }
    }

    /// The Aurora field(s) a key becomes, from the spec reference's tables: looked up by
    /// (section, key), the section being the nearest mapping key above (`resources`,
    /// `task` …; jobs' own keys are in the section `job`).
    pub fn aurora_name(&self, path: &[Seg]) -> Option<&str> {
        let keys = keys_of(path);
        let (&key, parents) = keys.split_last()?;
        let section = match parents {
            ["jobs"] | ["defaults"] | ["jobs", "targets"] => "job",
            [.., p] => p,
            [] => "",
        };
        self.aurora
            .get(&(section.to_string(), key.to_string()))
            .map(String::as_str)
    }
}

/// `(section, key) → Aurora field` from every Markdown table of the reference whose header
/// has a column naming Aurora or the payload.
fn aurora_names(md: &str) -> HashMap<(String, String), String> {
    let mut out = HashMap::new();
    let mut section = String::new();
    let mut column: Option<usize> = None;
    for line in md.lines() {
        if let Some(h) = line.strip_prefix("#") {
            let h = h.trim_start_matches('#').trim();
            section = match h.split('`').nth(1) {
                Some(name) => name.to_string(),
                None => h.to_ascii_lowercase(),
            };
            column = None;
            continue;
        }
        let Some(row) = line.strip_prefix('|') else {
            column = None;
            continue;
        };
        let cells: Vec<&str> = row
            .split(" | ")
            .map(|c| c.trim().trim_end_matches('|').trim())
            .collect();
        if cells.first().is_some_and(|c| c.starts_with("---")) {
            continue;
        }
        match column {
            None => {
                column = cells.iter().position(|c| {
                    let c = c.to_ascii_lowercase();
                    c.starts_with("aurora") || c == "payload field"
                });
            }
            Some(col) => {
                let (Some(key), Some(value)) = (cells.first(), cells.get(col)) else {
                    continue;
                };
                let Some(key) = key.strip_prefix('`').and_then(|k| k.split('`').next()) else {
                    continue;
                };
                if !value.is_empty() && *value != "—" {
                    out.entry((section.clone(), key.to_string()))
                        .or_insert_with(|| value.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> Vec<Seg> {
        s.split('.')
            .map(|p| match p {
                "[]" => Seg::Item,
                k => Seg::Key(k.to_string()),
            })
            .collect()
    }

    #[test]
    fn walks_the_schema() {
        let s = Schema::new();
        let keys: Vec<String> = s
            .keys(&path("jobs.[].resources"))
            .into_iter()
            .map(|k| k.0)
            .collect();
        assert!(keys.contains(&"cpu".to_string()), "{keys:?}");
        let cpu = s.field(&path("jobs.[].resources.cpu"));
        assert!(cpu.description.is_some_and(|d| d.contains("CPU")));
        let kind = s.field(&path("jobs.[].kind"));
        assert!(
            kind.values.contains(&"service".to_string()),
            "{:?}",
            kind.values
        );
        assert!(
            s.aurora_name(&path("jobs.[].resources.cpu"))
                .is_some_and(|a| a.contains("numCpus"))
        );
        assert!(
            s.aurora_name(&path("jobs.[].instances"))
                .is_some_and(|a| a.contains("instanceCount"))
        );
    }
}
