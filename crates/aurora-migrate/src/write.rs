//! Writing converted jobs as spec files: YAML (the schema modeline first, where
//! yaml-language-server reads it) or TOML (Taplo's `#:schema` directive), keys in the order
//! the reader built them. The ordered tree ([`crate::tree::Node`]) is serialized with the
//! workspace's serde-saphyr and toml, the libraries the loader reads specs with, so quoting
//! follows what they need (plain scalars where they are unambiguous) and nothing is
//! hand-escaped.

use aurora_spec::model::API_VERSION_V1;

use crate::error::FilesError;
use crate::read::ConvertedJob;
use crate::tree::{Map, Node};

/// The spec file format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecFormat {
    /// YAML (`*.aurora-apply.yaml`), the default.
    Yaml,
    /// TOML (`*.aurora-apply.toml`).
    Toml,
}

impl SpecFormat {
    /// The file extension people recommend for it (`aurora.yaml` / `aurora.toml`), so editors
    /// match the schema by name.
    pub fn extension(self) -> &'static str {
        match self {
            SpecFormat::Yaml => "aurora-apply.yaml",
            SpecFormat::Toml => "aurora-apply.toml",
        }
    }

    /// The matching loader format, for re-reading what was written.
    pub fn source_format(self) -> aurora_spec::Format {
        match self {
            SpecFormat::Yaml => aurora_spec::Format::Yaml,
            SpecFormat::Toml => aurora_spec::Format::Toml,
        }
    }
}

/// One spec document holding `jobs`, with the schema reference `schema` (a path relative to
/// the file, or a URL) in the editor directive of the format.
pub fn document(
    jobs: &[ConvertedJob],
    format: SpecFormat,
    schema: &str,
) -> Result<String, FilesError> {
    let mut top = Map::new();
    top.insert("apiVersion", API_VERSION_V1);
    top.insert(
        "jobs",
        jobs.iter()
            .map(|j| Node::Map(j.spec.clone()))
            .collect::<Vec<_>>(),
    );
    match format {
        SpecFormat::Yaml => {
            // `- key: …` indented under `jobs:`, as the hand-written specs are.
            let options = serde_saphyr::ser_options! { compact_list_indent: false };
            let body = serde_saphyr::to_string_with_options(&top, options)
                .map_err(|e| FilesError::Serialize(e.to_string()))?;
            Ok(format!("# yaml-language-server: $schema={schema}\n{body}"))
        }
        SpecFormat::Toml => {
            let body =
                toml::to_string_pretty(&top).map_err(|e| FilesError::Serialize(e.to_string()))?;
            Ok(format!("#:schema {schema}\n{body}"))
        }
    }
}
