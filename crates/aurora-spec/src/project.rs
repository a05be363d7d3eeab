//! The project file: settings of a whole directory of specs, read beside them.
//!
//! A directory given on the command line may hold one `aurora-apply.yaml` (or `.yml`, or
//! `aurora-apply.toml`). It is not a spec: the directory walk never reads it as one
//! ([`crate::collect_paths`]), and a subdirectory holding its own project file is a project
//! of its own, which the walk does not enter ([`nested_projects`] names them so the CLI can
//! say so). Today it declares the staged multi-cluster rollout:
//!
//! ```yaml
//! apiVersion: aurora-apply/v1
//! rollout:
//!   stages: [[canary], [east, west]]
//!   soak: 10m
//! ```
//!
//! In: the file's text (parsed with the same located tree as specs) and, when known, the
//! cluster names of clusters.json. Out: a [`Project`], or every problem as located
//! [`Diagnostics`]. What the stages mean at apply time is the engine's business
//! (`aurora_apply::rollout`); this module only reads and checks them.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::diagnostics::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::load::de;
use crate::load::node::{Node, Value};
use crate::model::ApiVersion;
use crate::source::{SourceFile, Span};
use crate::units::Duration;

/// The names a project file may have, in the order they are looked for. Two of them in one
/// directory is an error: which one wins would be a guess.
pub const PROJECT_FILE_NAMES: [&str; 3] =
    ["aurora-apply.yaml", "aurora-apply.yml", "aurora-apply.toml"];

/// The project schema's `$id`.
pub const PROJECT_SCHEMA_ID: &str =
    "https://aurora-apply.github.io/schema/aurora-apply.project.v1.json";

/// The project file as written (serde + schemars only; meaning comes from [`load`]).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "aurora-apply project file (format v1)", example = example_project())]
pub struct ProjectFile {
    /// The format version. Must be `aurora-apply/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: ApiVersion,
    /// How `apply` rolls changes out across clusters. Without it, every cluster is changed
    /// in one go.
    #[serde(default)]
    pub rollout: Option<RolloutSpec>,
}

/// A staged rollout: clusters changed stage by stage, with a soak time between stages.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutSpec {
    /// Stages in order, each a list of cluster names (from clusters.json) changed together.
    /// A stage starts only when every update of the stage before ended healthy and the soak
    /// time passed. Clusters of the specs named in no stage run in a final, implicit stage.
    pub stages: Vec<Vec<String>>,
    /// How long to wait after a stage's updates ended healthy before the next stage starts
    /// (`10m`, `30s`, `1h 30m`). Default `0s`.
    #[serde(default)]
    pub soak: Option<Duration>,
}

fn example_project() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": crate::model::API_VERSION_V1,
        "rollout": {"stages": [["canary"], ["east", "west"]], "soak": "10m"}
    })
}

/// A checked project file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    /// The file, as its path was given (for messages and the plan).
    pub file: String,
    /// The rollout, when the file declares one.
    pub rollout: Option<Rollout>,
}

/// A checked rollout: non-empty stages, each cluster in one stage only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollout {
    /// The stages in order, each its clusters as written.
    pub stages: Vec<Vec<String>>,
    /// The wait after a healthy stage.
    pub soak: std::time::Duration,
}

/// The project file of `dir`, if it has one. Two project files in one directory are an
/// error naming both.
pub fn find_in_dir(dir: &Path) -> Result<Option<PathBuf>, Diagnostic> {
    let found: Vec<PathBuf> = PROJECT_FILE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .filter(|p| p.is_file())
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        [first, second, ..] => Err(Diagnostic::new(
            Code::SpecRule,
            format!(
                "{} and {} are both project files; keep one",
                first.display(),
                second.display()
            ),
        )),
    }
}

/// Whether `path` is named like a project file.
pub fn is_project_file_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| PROJECT_FILE_NAMES.contains(&n))
}

/// Whether `dir` holds a project file (of any of the names).
pub fn has_project_file(dir: &Path) -> bool {
    PROJECT_FILE_NAMES.iter().any(|n| dir.join(n).is_file())
}

/// The subdirectories below the directories of `paths` that are projects of their own (they
/// hold a project file), which the spec walk does not enter. Sorted; hidden entries are
/// skipped as the walk skips them.
pub fn nested_projects<P: AsRef<Path>>(paths: &[P]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            find_nested(p, &mut out, 0);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn find_nested(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    // As deep as the spec walk goes; link loops end there too.
    if depth > 32 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    dirs.sort();
    for d in dirs {
        if has_project_file(&d) {
            out.push(d);
        } else {
            find_nested(&d, out, depth + 1);
        }
    }
}

/// The project of a run: the project file of the directories among `paths` (files given by
/// name bring none), read and checked. Directories with different project files cannot be
/// one run: that is an error naming both, as is a directory with two project files.
pub fn for_paths<P: AsRef<Path>>(
    paths: &[P],
    known_clusters: Option<&[String]>,
) -> Result<Option<Project>, Diagnostics> {
    let mut found: Option<(PathBuf, PathBuf)> = None;
    let mut diags = Diagnostics::new();
    for dir in paths.iter().map(AsRef::as_ref).filter(|p| p.is_dir()) {
        let file = match find_in_dir(dir) {
            Ok(Some(f)) => f,
            Ok(None) => continue,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let real = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        match &found {
            None => found = Some((file, real)),
            Some((first, first_real)) if *first_real != real => diags.push(
                Diagnostic::new(
                    Code::SpecRule,
                    format!(
                        "{} and {} are project files of two different projects; run each on its own",
                        first.display(),
                        file.display()
                    ),
                )
                .with_help(format!(
                    "e.g. `aurora-apply {}`",
                    first.parent().unwrap_or(first).display()
                )),
            ),
            Some(_) => {}
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    match found {
        None => Ok(None),
        Some((file, _)) => load_path(&file, known_clusters).map(Some),
    }
}

/// Reads and checks a project file. `known_clusters` (the names of clusters.json, when it
/// was found) makes a stage naming another cluster an error.
pub fn load_path(path: &Path, known_clusters: Option<&[String]>) -> Result<Project, Diagnostics> {
    let file = crate::load::read_source(path).map_err(Diagnostics::from)?;
    load(&file, known_clusters)
}

/// Checks a project file's text: every problem, located.
pub fn load(file: &SourceFile, known_clusters: Option<&[String]>) -> Result<Project, Diagnostics> {
    let root = crate::load::parse::parse(file).map_err(Diagnostics::from)?;
    let mut diags = Diagnostics::new();
    if !matches!(root.value, Value::Map(_)) {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!(
                    "expected a mapping with `apiVersion` and `rollout`, found {}",
                    root.value.kind()
                ),
            )
            .at(file, root.span),
        );
        return Err(diags);
    }
    if root.get("apiVersion").is_none() {
        diags.push(
            Diagnostic::new(Code::ApiVersion, "missing `apiVersion`")
                .at(file, Span::new(0, 0))
                .with_help(format!(
                    "add `apiVersion: {}`",
                    crate::model::API_VERSION_V1
                )),
        );
        return Err(diags);
    }
    // Field by field, so every problem of the file is reported at once, as for specs.
    check_keys(file, &root, "", &["apiVersion", "rollout"], &mut diags);
    if let Some(node) = root.get("apiVersion")
        && let Err(e) = de::from_node::<ApiVersion>(node, "apiVersion")
    {
        push_de(file, &mut diags, e, node.span, Some(Code::ApiVersion));
    }
    let rollout = match root.get("rollout") {
        None => None,
        Some(node) if !matches!(node.value, Value::Map(_)) => {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!(
                        "expected a mapping with `stages` and `soak`, found {}",
                        node.value.kind()
                    ),
                )
                .with_path("rollout")
                .at(file, node.span),
            );
            None
        }
        Some(node) => read_rollout(file, &root, node, known_clusters, &mut diags),
    };
    diags.into_result(Project {
        file: file.name.to_string(),
        rollout,
    })
}

/// `rollout`'s keys, its stages (then their rules) and its soak; `None` when any is wrong.
fn read_rollout(
    file: &SourceFile,
    root: &Node,
    node: &Node,
    known_clusters: Option<&[String]>,
    diags: &mut Diagnostics,
) -> Option<Rollout> {
    check_keys(file, node, "rollout.", &["stages", "soak"], diags);
    let stages = match node.get("stages") {
        None => {
            diags.push(
                Diagnostic::new(Code::MissingField, "missing required key `stages`")
                    .with_path("rollout")
                    .at(file, node.span)
                    .with_help("list the stages, e.g. `stages: [[canary], [east, west]]`"),
            );
            None
        }
        Some(n) => match de::from_node::<Vec<Vec<String>>>(n, "rollout.stages") {
            Ok(stages) => {
                check_stages(file, root, &stages, known_clusters, diags);
                Some(stages)
            }
            Err(e) => {
                push_de(file, diags, e, n.span, None);
                None
            }
        },
    };
    let soak = match node.get("soak") {
        None => Some(std::time::Duration::ZERO),
        Some(n) => match de::from_node::<Duration>(n, "rollout.soak") {
            Ok(d) => Some(d.0),
            Err(e) => {
                push_de(file, diags, e, n.span, None);
                None
            }
        },
    };
    Some(Rollout {
        stages: stages?,
        soak: soak?,
    })
}

/// Unknown keys of the mapping `node` (its document path `prefix`), each with a "did you
/// mean" when one of `known` is close.
fn check_keys(
    file: &SourceFile,
    node: &Node,
    prefix: &str,
    known: &[&str],
    diags: &mut Diagnostics,
) {
    let Value::Map(entries) = &node.value else {
        return;
    };
    for (key, _) in entries {
        if known.contains(&key.name.as_str()) {
            continue;
        }
        let help = did_you_mean(&key.name, known.iter().copied()).map_or_else(
            || {
                format!(
                    "expected one of {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            |s| format!("did you mean `{s}`?"),
        );
        diags.push(
            Diagnostic::new(Code::UnknownField, format!("unknown key `{}`", key.name))
                .with_path(format!("{prefix}{}", key.name))
                .at(file, key.span)
                .with_help(help),
        );
    }
}

/// A deserialization error as a located diagnostic (`code` overrides its own).
fn push_de(
    file: &SourceFile,
    diags: &mut Diagnostics,
    e: de::DeError,
    fallback: Span,
    code: Option<Code>,
) {
    let mut d = Diagnostic::new(code.unwrap_or(e.code), e.message)
        .with_path(e.path.unwrap_or_default())
        .at(file, e.span.unwrap_or(fallback));
    d.help = e.help;
    diags.push(d);
}

/// The stage rules: at least one stage, none empty, no cluster twice, every cluster known.
fn check_stages(
    file: &SourceFile,
    root: &Node,
    stages: &[Vec<String>],
    known: Option<&[String]>,
    diags: &mut Diagnostics,
) {
    let span_of = |path: &str| root.at_path(path).map_or(root.span, |n| n.span);
    if stages.is_empty() {
        diags.push(
            Diagnostic::new(Code::SpecRule, "`rollout.stages` lists no stage")
                .with_path("rollout.stages")
                .at(file, span_of("rollout.stages"))
                .with_help(
                    "list the stages, e.g. `stages: [[canary], [east, west]]`, or remove `rollout`",
                ),
        );
    }
    let mut seen: Vec<(&str, String)> = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        let stage_path = format!("rollout.stages[{i}]");
        if stage.is_empty() {
            diags.push(
                Diagnostic::new(Code::SpecRule, format!("stage {} lists no cluster", i + 1))
                    .with_path(stage_path.clone())
                    .at(file, span_of(&stage_path))
                    .with_help("name at least one cluster, or remove the stage"),
            );
        }
        for (j, cluster) in stage.iter().enumerate() {
            let path = format!("{stage_path}[{j}]");
            let span = span_of(&path);
            if cluster.trim().is_empty() {
                diags.push(
                    Diagnostic::new(Code::InvalidValue, "a cluster name cannot be empty")
                        .with_path(path)
                        .at(file, span),
                );
                continue;
            }
            if let Some((_, first)) = seen.iter().find(|(c, _)| *c == cluster.as_str()) {
                diags.push(
                    Diagnostic::new(
                        Code::SpecRule,
                        format!("cluster `{cluster}` is listed in more than one place; a cluster belongs to one stage"),
                    )
                    .with_path(path)
                    .at(file, span)
                    .with_related("first listed here", file, span_of(first)),
                );
                continue;
            }
            seen.push((cluster.as_str(), path.clone()));
            if let Some(known) = known
                && !known.iter().any(|k| k == cluster)
            {
                let help = did_you_mean(cluster, known.iter().map(String::as_str)).map_or_else(
                    || format!("clusters.json defines: {}", known.join(", ")),
                    |s| format!("did you mean `{s}`?"),
                );
                diags.push(
                    Diagnostic::new(
                        Code::UnknownCluster,
                        format!("cluster `{cluster}` is not in clusters.json"),
                    )
                    .with_path(path)
                    .at(file, span)
                    .with_help(help),
                );
            }
        }
    }
}

/// The JSON Schema of the project file (draft-07, as the spec schema).
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut value = generator.into_root_schema_for::<ProjectFile>().to_value();
    crate::schema::editor::remove_null(&mut value);
    if let serde_json::Value::Object(m) = &mut value {
        m.insert("$id".into(), PROJECT_SCHEMA_ID.into());
    }
    // What serde's types cannot say: stages and each stage are non-empty, names unique
    // within a stage (across stages is checked by the loader, with both places named).
    if let Some(stages) = value.pointer_mut("/definitions/RolloutSpec/properties/stages")
        && let serde_json::Value::Object(m) = stages
    {
        m.insert("minItems".into(), 1.into());
        if let Some(serde_json::Value::Object(items)) = m.get_mut("items") {
            items.insert("minItems".into(), 1.into());
            items.insert("uniqueItems".into(), true.into());
            if let Some(serde_json::Value::Object(names)) = items.get_mut("items") {
                names.insert("minLength".into(), 1.into());
            }
        }
    }
    value
}

/// The project schema as pretty JSON with a trailing newline (the committed file's content,
/// `schema/aurora-apply.project.v1.json`).
pub fn schema_pretty_string() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Format;

    fn check(text: &str, known: Option<&[String]>) -> Result<Project, Vec<Diagnostic>> {
        let file = SourceFile::new("aurora-apply.yaml", text, Format::Yaml);
        load(&file, known).map_err(Diagnostics::sorted)
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn stages_and_soak_are_read() {
        let known = names(&["canary", "east", "west"]);
        let p = check(
            "apiVersion: aurora-apply/v1\nrollout:\n  stages: [[canary], [east, west]]\n  soak: 10m\n",
            Some(&known),
        )
        .expect("valid");
        let r = p.rollout.expect("rollout");
        assert_eq!(r.stages, vec![names(&["canary"]), names(&["east", "west"])]);
        assert_eq!(r.soak, std::time::Duration::from_secs(600));
        let p = check("apiVersion: aurora-apply/v1\n", None).expect("valid");
        assert_eq!(p.rollout, None);
        let p = check(
            "apiVersion: aurora-apply/v1\nrollout: { stages: [[a]] }\n",
            None,
        )
        .expect("soak defaults to 0s");
        assert_eq!(p.rollout.map(|r| r.soak), Some(std::time::Duration::ZERO));
    }

    #[test]
    fn toml_reads_the_same() {
        let file = SourceFile::new(
            "aurora-apply.toml",
            "apiVersion = \"aurora-apply/v1\"\n[rollout]\nstages = [[\"canary\"], [\"east\"]]\nsoak = \"30s\"\n",
            Format::Toml,
        );
        let p = load(&file, None).expect("valid");
        assert_eq!(
            p.rollout.map(|r| r.stages.len()),
            Some(2),
            "two stages from TOML"
        );
    }

    #[test]
    fn every_problem_is_located() {
        let known = names(&["canary", "east", "west"]);
        let errs = check(
            "apiVersion: aurora-apply/v1\nrollout:\n  stages: [[canary], [], [east, canary], [wes]]\n",
            Some(&known),
        )
        .expect_err("invalid");
        let msgs: Vec<(String, Option<(usize, usize)>)> = errs
            .iter()
            .map(|d| (d.message.clone(), d.line_col()))
            .collect();
        assert!(
            msgs.iter()
                .any(|(m, at)| m == "stage 2 lists no cluster" && *at == Some((3, 22))),
            "{msgs:?}"
        );
        let dup = errs
            .iter()
            .find(|d| {
                d.message
                    .contains("`canary` is listed in more than one place")
            })
            .expect("duplicate");
        assert_eq!(dup.line_col(), Some((3, 33)));
        assert_eq!(dup.related.len(), 1);
        let unknown = errs
            .iter()
            .find(|d| d.code == Code::UnknownCluster)
            .expect("unknown cluster");
        assert_eq!(unknown.help.as_deref(), Some("did you mean `west`?"));
    }

    #[test]
    fn unknown_keys_and_wrong_types_say_what_was_meant() {
        let errs = check("apiVersion: aurora-apply/v1\nrolout: {}\n", None).expect_err("typo");
        assert_eq!(errs[0].code, Code::UnknownField);
        assert_eq!(errs[0].help.as_deref(), Some("did you mean `rollout`?"));
        assert_eq!(errs[0].line_col(), Some((2, 1)));
        let errs = check(
            "apiVersion: aurora-apply/v1\nrollout:\n  stages: [canary]\n",
            None,
        )
        .expect_err("a stage is a list");
        assert_eq!(errs[0].code, Code::InvalidValue, "{errs:?}");
        assert_eq!(errs[0].line_col(), Some((3, 12)));
        let errs = check(
            "apiVersion: aurora-apply/v1\nrollout:\n  stages: [[a]]\n  soak: soon\n",
            None,
        )
        .expect_err("bad duration");
        assert_eq!(errs[0].line_col(), Some((4, 9)), "{errs:?}");
        // Several problems of different kinds, all in one run.
        let errs = check(
            "apiVersion: aurora-apply/v1\nrollout:\n  stages: [[a], []]\n  sok: 1m\nextra: 1\n",
            None,
        )
        .expect_err("three problems");
        assert_eq!(errs.len(), 3, "{errs:?}");
        let errs = check(
            "apiVersion: aurora-apply/v1\nrollout:\n  stages: [canary]\n  soak: soon\n",
            None,
        )
        .expect_err("two problems");
        assert_eq!(errs.len(), 2, "{errs:?}");
        let errs = check("apiVersion: aurora-apply/v1\nrollout: {soak: 1m}\n", None)
            .expect_err("no stages");
        assert_eq!(errs[0].code, Code::MissingField);
        let errs =
            check("apiVersion: aurora-apply/v1\nrollout: [a]\n", None).expect_err("not a mapping");
        assert_eq!(errs[0].line_col(), Some((2, 10)));
        let errs = check("apiVersion: aurora-apply/v2\n", None).expect_err("version");
        assert_eq!(errs[0].code, Code::ApiVersion);
        let errs = check("rollout: {stages: [[a]]}\n", None).expect_err("no version");
        assert_eq!(errs[0].code, Code::ApiVersion);
        let errs = check("apiVersion: aurora-apply/v1\nrollout: {stages: []}\n", None)
            .expect_err("no stages");
        assert!(errs[0].message.contains("lists no stage"), "{errs:?}");
        assert!(check("[1, 2]\n", None).is_err());
    }

    #[test]
    fn nested_projects_are_found_and_not_entered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("multi");
        let deeper = sub.join("deeper");
        std::fs::create_dir_all(&deeper).expect("mkdir");
        std::fs::write(
            sub.join("aurora-apply.yaml"),
            "apiVersion: aurora-apply/v1\n",
        )
        .expect("write");
        std::fs::write(deeper.join("aurora-apply.toml"), "").expect("write");
        assert_eq!(nested_projects(&[dir.path()]), vec![sub.clone()]);
        std::fs::write(sub.join("aurora-apply.yml"), "").expect("write");
        assert!(find_in_dir(&sub).is_err(), "two project files");
        assert!(find_in_dir(dir.path()).expect("none").is_none());
    }

    #[test]
    fn the_spec_walk_skips_project_files_and_nested_projects() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let nested = root.join("nested");
        let plain = root.join("plain");
        for d in [&nested, &plain] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        for f in [
            root.join("aurora-apply.yaml"),
            root.join("a.yaml"),
            nested.join("aurora-apply.toml"),
            nested.join("b.yaml"),
            plain.join("c.yaml"),
        ] {
            std::fs::write(f, "").expect("write");
        }
        let (files, diags) = crate::collect_paths(&[root]);
        assert!(diags.is_empty());
        assert_eq!(files, vec![root.join("a.yaml"), plain.join("c.yaml")]);
        let (files, diags) = crate::collect_paths(&[root.join("aurora-apply.yaml")]);
        assert!(files.is_empty());
        assert!(
            diags
                .iter()
                .any(|d| d.message.contains("is a project file, not a spec")),
            "{diags:?}"
        );
    }

    #[test]
    fn one_run_has_one_project() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b, plain) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        for d in [&a, &b, &plain] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let text = "apiVersion: aurora-apply/v1\nrollout: { stages: [[x]] }\n";
        std::fs::write(a.join("aurora-apply.yaml"), text).expect("write");
        std::fs::write(
            b.join("aurora-apply.toml"),
            "apiVersion = \"aurora-apply/v1\"\n",
        )
        .expect("write");
        let project = for_paths(&[&a, &plain, &a], None).expect("one project");
        assert!(project.is_some_and(|p| p.rollout.is_some()));
        assert_eq!(for_paths(&[&plain], None).expect("none"), None);
        let errs = for_paths(&[&a, &b], None).expect_err("two projects");
        assert!(
            errs.iter()
                .any(|d| d.message.contains("two different projects")),
            "{errs:?}"
        );
    }

    #[test]
    fn the_schema_requires_non_empty_stages() {
        let schema = json_schema();
        let v = jsonschema::validator_for(&schema).expect("compiles");
        assert!(v.is_valid(&example_project()));
        assert!(!v.is_valid(&serde_json::json!({
            "apiVersion": "aurora-apply/v1", "rollout": {"stages": [[]]}
        })));
        assert!(!v.is_valid(&serde_json::json!({
            "apiVersion": "aurora-apply/v1", "rollout": {"stages": [["a"]], "soke": "1s"}
        })));
    }
}
