//! `aurora-apply sim status|stop`: the local emulator behind each `sim://` cluster (see
//! `local_sim.rs` for how it is found, started and stopped). `sim serve` (hidden) is that
//! emulator's process, which aurora-apply starts by itself.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::cli::{ConnectArgs, OutputFormat};
use crate::exit::Exit;

/// Arguments of `sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SimCommand,
}

/// The `sim` subcommands.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Whether each `sim://` cluster's local emulator runs: address, pid, state file, uptime,
    /// simulated time, activity.
    Status(SimStatusArgs),
    /// Stop the local emulators gracefully: each writes its state, and the next command
    /// starts a fresh one from it.
    Stop(SimTargets),
    /// Run a local emulator in the foreground until stopped or idle (aurora-apply starts it
    /// by itself, detached).
    #[command(hide = true)]
    Serve(SimServeArgs),
}

/// Which local emulators `sim status|stop` is about.
#[derive(Debug, Args)]
pub struct SimTargets {
    /// Spec files or directories, whose clusters.json is found as every command finds it.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Only this cluster (repeatable); default: every `sim://` cluster found.
    #[arg(long = "cluster", value_name = "NAME")]
    pub cluster: Vec<String>,
    /// The PATH of a `sim://PATH` (a state folder or `.json` file) instead of clusters.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["paths", "cluster"])]
    pub state: Option<PathBuf>,
    /// Cluster discovery.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Arguments of `sim status`.
#[derive(Debug, Args)]
pub struct SimStatusArgs {
    /// Which emulators.
    #[command(flatten)]
    pub targets: SimTargets,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Arguments of the hidden `sim serve`.
#[derive(Debug, Args)]
pub struct SimServeArgs {
    /// The state file.
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    /// Stop after this long without calls while no update rolls (e.g. `10m`).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    pub idle_exit: Duration,
    /// Emulator flags (`aurora-sim serve`'s), after `--`.
    #[arg(last = true, value_name = "FLAG")]
    pub flags: Vec<String>,
}

/// Runs `sim`.
#[cfg(not(feature = "sim"))]
pub fn exec(_args: &SimArgs) -> Exit {
    crate::session::error("this aurora-apply was built without the `sim` feature");
    Exit::Error
}

/// Runs `sim`.
#[cfg(feature = "sim")]
pub fn exec(args: &SimArgs) -> Exit {
    match &args.command {
        SimCommand::Status(a) => imp::status(a),
        SimCommand::Stop(a) => imp::stop(a),
        SimCommand::Serve(a) => imp::serve(a),
    }
}

#[cfg(feature = "sim")]
mod imp {
    use std::io::Write as _;
    use std::time::{Duration, UNIX_EPOCH};

    use serde_json::{Value, json};

    use super::{SimServeArgs, SimStatusArgs, SimTargets};
    use crate::cli::OutputFormat;
    use crate::exit::Exit;
    use crate::local_sim::{self, LocalSim, RunState, SimFiles, Stopped};
    use crate::session;

    /// The emulators named by the arguments, each with a label.
    fn targets(args: &SimTargets) -> Result<Vec<(String, LocalSim)>, Exit> {
        if let Some(state) = &args.state {
            let path = std::path::absolute(state).map_err(|e| {
                session::error(format!("{}: {e}", state.display()));
                Exit::Invalid
            })?;
            let files = SimFiles::for_sim_path(&path);
            return Ok(vec![(
                format!("sim://{}", path.display()),
                LocalSim::new(files, None, local_sim::DEFAULT_IDLE_EXIT),
            )]);
        }
        let connections = session::connect(&args.connect, &args.paths)?;
        let found = connections.local_sims();
        if let Some(unknown) = args
            .cluster
            .iter()
            .find(|name| !found.iter().any(|(n, _)| n == *name))
        {
            let known: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
            session::error(format!(
                "{unknown}: not a sim:// cluster (sim:// clusters found: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
            return Err(Exit::Invalid);
        }
        let mut out = Vec::new();
        for (name, local) in found {
            if !args.cluster.is_empty() && !args.cluster.contains(&name) {
                continue;
            }
            match local {
                Ok(local) => out.push((name, local)),
                Err(e) => {
                    session::error(e);
                    return Err(Exit::Error);
                }
            }
        }
        if out.is_empty() {
            session::error(
                "no sim:// cluster found: give the spec directory (`aurora-apply sim status specs/`), --clusters FILE, or --state PATH",
            );
            return Err(Exit::Invalid);
        }
        Ok(out)
    }

    fn rfc3339(ms: i64) -> String {
        let ms = u64::try_from(ms).unwrap_or(0);
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
    }

    fn secs(ms: u64) -> String {
        humantime::format_duration(Duration::from_secs(ms / 1000)).to_string()
    }

    /// One emulator's status as the JSON row; the text view is rendered from it.
    fn row(name: &str, local: &LocalSim, state: &RunState) -> Value {
        let mut row = json!({
            "cluster": name,
            "state_file": local.files.state,
            "state_exists": local.files.state.exists(),
            "log": local.files.log,
        });
        match state {
            RunState::NotRunning => row["status"] = json!("not running"),
            RunState::Stale { pid } => {
                row["status"] = json!("stale");
                row["pid"] = json!(pid);
            }
            RunState::Unresponsive(a) => {
                row["status"] = json!("unresponsive");
                row["pid"] = json!(a.pid);
                row["url"] = json!(a.url);
            }
            RunState::Running(r) => {
                let (a, p) = (&r.address, &r.probe);
                row["status"] = json!("running");
                row["pid"] = json!(a.pid);
                row["url"] = json!(a.url);
                row["started_at"] = json!(rfc3339(a.started_at_ms));
                row["uptime_ms"] = json!(p.uptime_ms);
                row["simulated_now"] = json!(rfc3339(p.now_ms));
                row["simulated_now_ms"] = json!(p.now_ms);
                row["ahead_of_wall_clock_ms"] = json!(p.now_ms.saturating_sub(p.wall_ms));
                row["idle_ms"] = json!(p.idle_ms);
                row["idle_exit_ms"] = json!(a.idle_exit_ms);
                row["calls_in_flight"] = json!(p.calls_in_flight);
                row["rolling_updates"] = json!(p.rolling_updates);
                row["flags"] = json!(a.flags);
                row["tool_version"] = json!(a.tool_version);
            }
        }
        row
    }

    fn text(row: &Value) -> String {
        let s = |k: &str| row[k].as_str().unwrap_or("").to_string();
        let n = |k: &str| row[k].as_u64().unwrap_or(0);
        let name = s("cluster");
        let state_file = s("state_file");
        let saved = if row["state_exists"].as_bool() == Some(true) {
            format!("state {state_file}")
        } else {
            format!("no state yet ({state_file})")
        };
        match s("status").as_str() {
            "running" => {
                let ahead = row["ahead_of_wall_clock_ms"].as_i64().unwrap_or(0);
                let ahead = if ahead > 1000 {
                    format!(" ({} ahead of the wall clock)", secs(ahead.unsigned_abs()))
                } else {
                    String::new()
                };
                let rolling = match n("rolling_updates") {
                    0 => "no update rolling".to_string(),
                    1 => "1 update rolling".to_string(),
                    k => format!("{k} updates rolling"),
                };
                format!(
                    "{name}: running\n  address     {} (pid {})\n  state file  {state_file}\n  log         {}\n  uptime      {} (since {})\n  simulated   {}{ahead}\n  activity    last call {} ago, {rolling}; stops after {} without calls\n",
                    s("url"),
                    n("pid"),
                    s("log"),
                    secs(n("uptime_ms")),
                    s("started_at"),
                    s("simulated_now"),
                    secs(n("idle_ms")),
                    secs(n("idle_exit_ms")),
                )
            }
            "stale" => format!(
                "{name}: not running (the address file of pid {} is stale; replaced at the next start); {saved}\n",
                row["pid"]
            ),
            "unresponsive" => format!(
                "{name}: not answering: pid {} holds {state_file} but does not answer at {}; stop it with `kill {}`\n",
                n("pid"),
                s("url"),
                n("pid")
            ),
            _ => format!("{name}: not running; {saved}\n"),
        }
    }

    /// `sim status`.
    pub fn status(args: &SimStatusArgs) -> Exit {
        let targets = match targets(&args.targets) {
            Ok(t) => t,
            Err(code) => return code,
        };
        let mut rows = Vec::new();
        for (name, local) in &targets {
            match local.status() {
                Ok(state) => rows.push(row(name, local, &state)),
                Err(e) => {
                    session::error(format!("{name}: {e}"));
                    return Exit::Error;
                }
            }
        }
        let mut out = crate::redact::stdout();
        let written = match args.output {
            OutputFormat::Json => writeln!(out, "{}", Value::Array(rows)),
            OutputFormat::Text => rows.iter().try_for_each(|r| write!(out, "{}", text(r))),
        };
        if written.is_err() {
            return Exit::Error;
        }
        Exit::Success
    }

    /// `sim stop`.
    pub fn stop(args: &SimTargets) -> Exit {
        let targets = match targets(args) {
            Ok(t) => t,
            Err(code) => return code,
        };
        let mut code = Exit::Success;
        for (name, local) in &targets {
            match local.stop() {
                Ok(Stopped::NotRunning) => session::note(format!("{name}: not running")),
                Ok(Stopped::Stopped(a)) => session::note(format!(
                    "{name}: stopped (pid {}); state written to {}",
                    a.pid,
                    local.files.state.display()
                )),
                Err(e) => {
                    session::error(format!("{name}: {e}"));
                    code = Exit::Error;
                }
            }
        }
        code
    }

    /// `sim serve` (hidden): the emulator process.
    pub fn serve(args: &SimServeArgs) -> Exit {
        match local_sim::serve(&args.state, args.idle_exit, &args.flags) {
            Ok(_) => Exit::Success,
            Err(e) => {
                session::error(e);
                Exit::Error
            }
        }
    }
}
