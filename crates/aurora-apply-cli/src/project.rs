//! The project file of a run (`aurora-apply.yaml` in a directory given on the command line):
//! read and checked by `aurora_spec::project`, reported here (diagnostics, exit 3), plus the
//! notes about project files a run does not use, so none is ever skipped silently.

use std::path::{Path, PathBuf};

use aurora_spec::project::Project;

use crate::exit::Exit;

/// The project of `paths`, its diagnostics printed (exit 3) when it is invalid. Notes about
/// nested projects and unused project files go to stderr first.
pub fn load_or_report(
    global: &crate::cli::GlobalArgs,
    paths: &[PathBuf],
    known_clusters: Option<&[String]>,
) -> Result<Option<Project>, Exit> {
    for line in notes(paths) {
        crate::session::note(line);
    }
    aurora_spec::project::for_paths(paths, known_clusters).map_err(|diags| {
        let color = crate::report::use_color(global.color);
        let mut err = anstream::stderr();
        match crate::report::write_diagnostics(&mut err, diags, color) {
            Ok(_) => Exit::Invalid,
            Err(_) => Exit::Error,
        }
    })
}

/// What a run leaves out, one note each: subdirectories that are projects of their own (the
/// spec walk does not enter them), and project files beside spec files given by name (a
/// project file applies when its directory is given).
pub fn notes(paths: &[PathBuf]) -> Vec<String> {
    let mut out: Vec<String> = aurora_spec::project::nested_projects(paths)
        .into_iter()
        .map(|dir| dir.strip_prefix(".").map(Path::to_path_buf).unwrap_or(dir))
        .map(|dir| {
            format!(
                "note: {} has its own project file and is a separate project, not read with these specs; run it with `aurora-apply {}`",
                dir.display(),
                dir.display()
            )
        })
        .collect();
    let mut dirs: Vec<PathBuf> = paths
        .iter()
        .filter(|p| p.is_file())
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .map(|d| {
            if d.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                d
            }
        })
        .filter(|d| !paths.contains(d))
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        if let Ok(Some(file)) = aurora_spec::project::find_in_dir(&dir) {
            out.push(format!(
                "note: {} is not used: a project file applies when its directory is given (`aurora-apply {}`)",
                file.display(),
                dir.display()
            ));
        }
    }
    out
}
