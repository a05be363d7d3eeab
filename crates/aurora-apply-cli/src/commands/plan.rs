//! `aurora-apply plan PATH...`: desired vs live, per job; `--out FILE` saves the plan for
//! `apply FILE`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::cli::{ConnectArgs, EngineArgs, GlobalArgs, PlanFormat, SpecPaths};
use crate::exit::Exit;
use crate::session;

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The specs.
    #[command(flatten)]
    pub paths: SpecPaths,
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Engine options.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PlanFormat::Text)]
    pub output: PlanFormat,
    /// Save the plan (JSON) for `aurora-apply apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes (0 = none).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// Runs `plan`.
pub fn exec(global: &GlobalArgs, args: &PlanArgs) -> Exit {
    let (desired, mut connections) = match session::prepare(
        global,
        &args.connect,
        &args.paths.paths,
        &args.paths.vars,
        args.engine.adopt,
    ) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    // Planning reads: a sim:// cluster without state gets none written.
    connections.set_read_only(true);
    let files = args
        .paths
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let plan = session::plan_all(
        &mut connections,
        &desired,
        files,
        &args.engine.plan_options(),
        args.engine.stage.map(usize::from),
    );
    connections.close();
    let plan = match plan {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Some(out) = &args.out {
        let written = serde_json::to_string_pretty(&plan)
            .map_err(std::io::Error::other)
            .and_then(|text| write_plan_file(out, &text, has_secrets(&plan)));
        if let Err(e) = written {
            session::error(format!("cannot write {}: {e}", out.display()));
            return Exit::Error;
        }
    }
    if show(&plan, args.output, global).is_err() {
        return Exit::Error;
    }
    if args.detailed_exitcode && plan.summary.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    }
}

/// Whether the plan was made with sensitive variables: its `execution` structs carry their
/// values.
fn has_secrets(plan: &aurora_apply::plan::Plan) -> bool {
    plan.variables.iter().any(|v| v.sensitive)
}

/// Writes a saved plan; one made with sensitive variables holds their values (it must be
/// applicable), so it is readable by its owner only — as Terraform treats its plan files.
fn write_plan_file(path: &std::path::Path, text: &str, secret: bool) -> std::io::Result<()> {
    std::fs::write(path, format!("{text}\n"))?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}

/// Prints a plan in the chosen format on stdout. A plan made with sensitive variables is
/// printed without its `execution` structs (they hold the values in Thrift binary, which
/// masking cannot see): such a plan is applied from `--out FILE`, not from printed JSON.
pub fn show(
    plan: &aurora_apply::plan::Plan,
    format: PlanFormat,
    global: &GlobalArgs,
) -> std::io::Result<()> {
    let mut out = crate::redact::stdout();
    match format {
        PlanFormat::Json => {
            let text = if has_secrets(plan) {
                let mut shown = plan.clone();
                for change in &mut shown.changes {
                    change.execution = aurora_apply::plan::Execution::default();
                }
                serde_json::to_string_pretty(&shown)
            } else {
                serde_json::to_string_pretty(plan)
            }
            .map_err(std::io::Error::other)?;
            writeln!(out, "{text}")
        }
        PlanFormat::Markdown => write!(out, "{}", crate::view::plan_markdown::render(plan)),
        PlanFormat::Text => write!(
            out,
            "{}",
            crate::view::plan_text::render(plan, crate::report::use_color_stdout(global.color))
        ),
    }
}
