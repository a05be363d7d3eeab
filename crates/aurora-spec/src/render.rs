//! The JSON view of what is sent, in the shape of Aurora's client fixtures
//! (`fixtures/aurora-client/*/job_configuration.json`): Thrift field names, enums by name,
//! and every Thrift `set` as a list sorted by each element's JSON text (the wire has no set
//! order; `aurora_thrift::json::to_json` orders sets by the Rust value instead, so the set fields
//! are re-sorted here).

use aurora_thrift::types::{JobConfiguration, JobUpdateRequest};
use serde_json::Value;

/// Set-typed fields of the structs a job renders to (TaskConfig, ValueConstraint,
/// JobUpdateSettings, JobUpdateRequest).
const SET_FIELDS: &[&str] = &[
    "constraints",
    "metadata",
    "resources",
    "mesosFetcherUris",
    "values",
    "updateOnlyTheseInstances",
];

/// The fixture-shaped JSON of a JobConfiguration.
pub fn job_configuration_json(config: &JobConfiguration) -> Value {
    let mut v = aurora_thrift::json::to_json(config);
    sort_sets(&mut v);
    v
}

/// The fixture-shaped JSON of a JobUpdateRequest.
pub fn job_update_request_json(request: &JobUpdateRequest) -> Value {
    let mut v = aurora_thrift::json::to_json(request);
    sort_sets(&mut v);
    v
}

/// A rendered `JobConfiguration` or `JobUpdateRequest` as it is compared with what Aurora's
/// client sends: `owner` left aside on the job and its task (Aurora's client sends the local
/// unix user, aurora-apply the role) and the executor data parsed when it is JSON (the
/// client's key order is Python's and not canonical).
pub fn comparable(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove("owner");
        if let Some(Value::Object(tc)) = m.get_mut("taskConfig") {
            tc.remove("owner");
            if let Some(Value::Object(ec)) = tc.get_mut("executorConfig")
                && let Some(Value::String(data)) = ec.get("data").cloned()
                && let Ok(parsed) = serde_json::from_str::<Value>(&data)
            {
                ec.insert("data".into(), parsed);
            }
        }
    }
    v
}

fn sort_sets(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                sort_sets(child);
                if SET_FIELDS.contains(&k.as_str())
                    && let Value::Array(items) = child
                {
                    items.sort_by_cached_key(crate::thermos::canonical_json);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_sets),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact text `render -o json` prints of every field, so a change of how it is
    /// written shows.
    #[test]
    fn rendered_every_field_is_pinned() {
        let mut all = Vec::new();
        for job in crate::testing::all_fields_jobs() {
            let config = crate::convert::job_configuration(&job);
            let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("json");
            all.push(format!(
                "{}\n{}",
                job.key,
                pretty(&job_configuration_json(&config))
            ));
            if let Some(update) = crate::convert::job_update_request_from(&job, &config) {
                all.push(format!(
                    "{} update\n{}",
                    job.key,
                    pretty(&job_update_request_json(&update))
                ));
            }
        }
        insta::assert_snapshot!(all.join("\n\n"));
    }
}
