//! Which clusters.json files a command reads: one rule for every command, so `kill KEY` run
//! where `apply specs/` works finds the same clusters.
//!
//! `--clusters FILE` alone when given. Otherwise these files, the more specific winning by
//! cluster name (later entries below override earlier ones, as Aurora's own files do):
//!
//! 1. the clusters.json beside the specs (in each spec directory, next to each spec file);
//! 2. `./specs/clusters.json` (the layout `aurora-apply init` and the examples use);
//! 3. `./clusters.json`;
//! 4. Aurora's own files, which Aurora's client reads in this order of precedence:
//!    `~/.aurora/clusters.json`, then `$AURORA_CONFIG_ROOT/clusters.json` (default
//!    `/etc/aurora/clusters.json`).
//!
//! Every place is remembered, found or not, so an unknown cluster can say where it looked.

use std::fmt;
use std::path::{Path, PathBuf};

use aurora_api::clusters::{Cluster, Clusters, ConfigError, SearchPath};

/// Why a file is on the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// `--clusters FILE`.
    Explicit,
    /// Beside the specs given on the command line.
    BesideSpecs,
    /// `./specs/clusters.json`.
    SpecsFolder,
    /// `./clusters.json`.
    CurrentDir,
    /// `$AURORA_CONFIG_ROOT` (or `/etc/aurora`).
    AuroraConfigRoot,
    /// `~/.aurora`.
    AuroraHome,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Place::Explicit => "--clusters",
            Place::BesideSpecs => "beside the specs",
            Place::SpecsFolder => "./specs",
            Place::CurrentDir => "current directory",
            Place::AuroraConfigRoot => "Aurora's config root",
            Place::AuroraHome => "Aurora's per-user file",
        })
    }
}

/// One place looked at.
#[derive(Clone, Debug)]
pub struct Looked {
    /// The file.
    pub path: PathBuf,
    /// Why it was on the list.
    pub place: Place,
    /// The cluster names it defines; `None` when the file does not exist.
    pub names: Option<Vec<String>>,
}

/// The clusters found and where they were looked for.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Every cluster, the most specific definition of each name.
    pub clusters: Clusters,
    /// Every place looked at, most specific first.
    pub looked: Vec<Looked>,
}

/// A cluster name no clusters.json defines.
#[derive(Debug, thiserror::Error)]
pub struct UnknownCluster {
    /// The name asked for.
    pub name: String,
    /// The closest known name, if one is close.
    pub suggestion: Option<String>,
    /// Every place looked at.
    pub looked: Vec<Looked>,
}

impl fmt::Display for UnknownCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown cluster \"{}\"", self.name)?;
        if let Some(close) = &self.suggestion {
            write!(f, "; did you mean \"{close}\"?")?;
        }
        write!(f, "\nclusters.json files looked at, most specific first:")?;
        for l in &self.looked {
            write!(f, "\n  {} ({}): ", l.path.display(), l.place)?;
            match &l.names {
                None => write!(f, "not found")?,
                Some(names) if names.is_empty() => write!(f, "no clusters")?,
                Some(names) => write!(f, "{}", names.join(", "))?,
            }
        }
        if self.looked.iter().all(|l| l.names.is_none()) {
            write!(
                f,
                "\nno clusters.json was found: put one beside the specs, or name one with --clusters FILE"
            )?;
        }
        Ok(())
    }
}

impl Discovered {
    /// Finds the clusters for a command: `explicit` alone, or the rule of this module for
    /// these spec paths (files or directories; none for commands that take job keys).
    pub fn find(explicit: Option<&Path>, spec_paths: &[PathBuf]) -> Result<Self, ConfigError> {
        Discovered::find_in(
            explicit,
            spec_paths,
            Path::new("."),
            &SearchPath::from_env(),
        )
    }

    /// [`Discovered::find`] with the current directory and Aurora's search path given.
    pub fn find_in(
        explicit: Option<&Path>,
        spec_paths: &[PathBuf],
        cwd: &Path,
        aurora: &SearchPath,
    ) -> Result<Self, ConfigError> {
        let candidates: Vec<(PathBuf, Place)> = match explicit {
            Some(file) => vec![(file.to_path_buf(), Place::Explicit)],
            None => {
                let mut list: Vec<(PathBuf, Place)> = spec_dirs(spec_paths)
                    .into_iter()
                    .map(|d| (d.join("clusters.json"), Place::BesideSpecs))
                    .collect();
                list.push((cwd.join("specs").join("clusters.json"), Place::SpecsFolder));
                list.push((cwd.join("clusters.json"), Place::CurrentDir));
                // Aurora's own order, least specific first: the config root, then home.
                let mut aurora_files = aurora.files().into_iter();
                let root = aurora_files.next();
                list.extend(aurora_files.map(|f| (f, Place::AuroraHome)));
                list.extend(root.map(|f| (f, Place::AuroraConfigRoot)));
                list
            }
        };
        let mut looked: Vec<Looked> = Vec::new();
        let mut read: Vec<Clusters> = Vec::new();
        for (path, place) in candidates {
            // The same file reached two ways (`specs/` given from the repository root) is
            // read once, at its most specific place.
            if looked.iter().any(|l| same_file(&l.path, &path)) {
                continue;
            }
            let found = if place == Place::Explicit {
                Some(Clusters::from_file(&path)?)
            } else {
                match std::fs::read_to_string(&path) {
                    Ok(text) => Some(Clusters::parse(&text, &path)?),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    // A directory called clusters.json, say: not a clusters file.
                    Err(_) if !path.is_file() => None,
                    Err(source) => return Err(ConfigError::Read { path, source }),
                }
            };
            looked.push(Looked {
                path,
                place,
                names: found
                    .as_ref()
                    .map(|c| c.names().map(str::to_string).collect()),
            });
            if let Some(c) = found {
                read.push(c);
            }
        }
        let mut clusters = Clusters::new();
        // Least specific first, so the more specific files override by name.
        for c in read.into_iter().rev() {
            clusters.merge(c);
        }
        Ok(Discovered { clusters, looked })
    }

    /// The cluster names to check specs against: `None` when no clusters.json was found
    /// (then nothing can be said offline).
    pub fn known_names(&self) -> Option<Vec<String>> {
        self.looked
            .iter()
            .any(|l| l.names.is_some())
            .then(|| self.clusters.names().map(str::to_string).collect())
    }

    /// The cluster called `name`, or an error naming every place looked at and the closest
    /// known name.
    pub fn cluster(&self, name: &str) -> Result<&Cluster, UnknownCluster> {
        self.clusters.get(name).ok_or_else(|| UnknownCluster {
            name: name.to_string(),
            suggestion: aurora_spec::diagnostics::did_you_mean(name, self.clusters.names())
                .map(str::to_string),
            looked: self.looked.clone(),
        })
    }
}

/// The directories whose `clusters.json` counts as "beside the specs": each directory
/// argument, and the directory of each file argument.
pub fn spec_dirs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for p in paths {
        let dir = if p.is_dir() {
            p.clone()
        } else {
            match p.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, names: &[&str]) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let entries: Vec<String> = names
            .iter()
            .map(|n| {
                format!(
                    r#"{{"name": "{n}", "scheduler_uri": "http://{n}-from-{}:8081"}}"#,
                    path.display()
                )
            })
            .collect();
        std::fs::write(path, format!("[{}]", entries.join(","))).expect("write");
    }

    fn uri<'a>(d: &'a Discovered, name: &str) -> &'a str {
        d.clusters
            .get(name)
            .and_then(Cluster::scheduler_uri)
            .unwrap_or("")
    }

    #[test]
    fn the_more_specific_file_wins_by_name() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        let aurora = SearchPath::new(root.join("etc"), Some(root.join("home")));
        write(&root.join("etc/clusters.json"), &["a", "b", "c", "d", "e"]);
        write(
            &root.join("home/.aurora/clusters.json"),
            &["b", "c", "d", "e"],
        );
        write(&root.join("clusters.json"), &["c", "d", "e"]);
        write(&root.join("specs/clusters.json"), &["d", "e"]);
        write(&root.join("mine/clusters.json"), &["e"]);
        let d = Discovered::find_in(None, &[root.join("mine")], root, &aurora).expect("reads");
        assert!(uri(&d, "a").contains("/etc/"));
        assert!(uri(&d, "b").contains("/home/"));
        assert!(uri(&d, "c").contains(&format!("{}/clusters.json", root.display())));
        assert!(uri(&d, "d").contains("/specs/"));
        assert!(uri(&d, "e").contains("/mine/"));
        let places: Vec<Place> = d.looked.iter().map(|l| l.place).collect();
        assert_eq!(
            places,
            [
                Place::BesideSpecs,
                Place::SpecsFolder,
                Place::CurrentDir,
                Place::AuroraHome,
                Place::AuroraConfigRoot
            ]
        );
    }

    #[test]
    fn explicit_file_replaces_the_search_and_must_exist() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        let aurora = SearchPath::new(root.join("etc"), None);
        write(&root.join("clusters.json"), &["a"]);
        write(&root.join("only.json"), &["b"]);
        let d =
            Discovered::find_in(Some(&root.join("only.json")), &[], root, &aurora).expect("reads");
        assert_eq!(d.clusters.names().collect::<Vec<_>>(), ["b"]);
        assert!(Discovered::find_in(Some(&root.join("missing.json")), &[], root, &aurora).is_err());
    }

    #[test]
    fn specs_folder_given_from_its_parent_is_read_once() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        let aurora = SearchPath::new(root.join("etc"), None);
        write(&root.join("specs/clusters.json"), &["devcluster"]);
        let d = Discovered::find_in(None, &[root.join("specs")], root, &aurora).expect("reads");
        assert_eq!(
            d.looked
                .iter()
                .filter(|l| l.path.ends_with("specs/clusters.json"))
                .count(),
            1
        );
    }

    #[test]
    fn unknown_cluster_names_every_place_and_the_closest_name() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        let aurora = SearchPath::new(root.join("etc"), Some(root.join("home")));
        write(&root.join("specs/clusters.json"), &["devcluster", "west"]);
        let d = Discovered::find_in(None, &[], root, &aurora).expect("reads");
        let e = d.cluster("devclustr").expect_err("unknown");
        let text = e.to_string();
        assert!(
            text.starts_with("unknown cluster \"devclustr\"; did you mean \"devcluster\"?"),
            "{text}"
        );
        assert!(
            text.contains("specs/clusters.json (./specs): devcluster, west"),
            "{text}"
        );
        assert!(
            text.contains("clusters.json (current directory): not found"),
            "{text}"
        );
        assert!(
            text.contains("etc/clusters.json (Aurora's config root): not found"),
            "{text}"
        );
        assert!(
            text.contains(".aurora/clusters.json (Aurora's per-user file): not found"),
            "{text}"
        );
        let none = Discovered::find_in(None, &[], &root.join("nowhere"), &aurora)
            .expect("nothing to read");
        let e = none.cluster("devcluster").expect_err("unknown").to_string();
        assert!(e.contains("no clusters.json was found"), "{e}");
    }
}
