//! Specs shared by the unit tests of the writers (`thermos`, `render`).

use crate::{Format, Job, LoadOptions, SourceFile, load_sources};

/// The jobs of `tests/render-specs/all_fields.aurora-apply.yaml`: every field that reaches the
/// payload or the rendered structs, strings that need escaping, sets whose JSON order is not
/// their value order.
pub(crate) fn all_fields_jobs() -> Vec<Job> {
    let text = include_str!("../tests/render-specs/all_fields.aurora-apply.yaml");
    let file = SourceFile::new("all_fields.aurora-apply.yaml", text, Format::Yaml);
    load_sources(&[file], &LoadOptions::default())
        .unwrap_or_else(|d| panic!("all_fields spec: {d:?}"))
        .into_iter()
        .map(|l| l.job)
        .collect()
}
