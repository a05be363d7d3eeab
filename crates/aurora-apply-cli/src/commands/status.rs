//! `aurora-apply status PATH...`: for each described job, whether the scheduler matches the
//! spec (and what differs, before → after), its instances (state, for how long, whether
//! each runs the spec's config, why it is pending) and the update running on it.
//! `--watch` shows it again every interval until Ctrl-C.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aurora_apply::status::{JobStatus, job_statuses};
use clap::Args;

use crate::cli::{ConnectArgs, GlobalArgs, OutputFormat, ReadArgs, SpecPaths};
use crate::connect::Connections;
use crate::exit::Exit;
use crate::session;
use crate::view::status_text;

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The specs.
    #[command(flatten)]
    pub paths: SpecPaths,
    /// Clusters.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Reading.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Limiting the report to some jobs.
    #[command(flatten)]
    pub target: crate::cli::TargetArgs,
    /// Output format (`json`: one array per look, one line each).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Exit 2 when a job has drifted from its spec.
    #[arg(long, conflicts_with = "watch")]
    pub detailed_exitcode: bool,
    /// Look again every `--interval` until Ctrl-C (redrawn on a terminal, a new block each
    /// time otherwise).
    #[arg(short, long)]
    pub watch: bool,
    /// Time between two looks with `--watch`.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration, requires = "watch")]
    pub interval: Duration,
}

/// Runs `status`.
pub fn exec(global: &GlobalArgs, args: &StatusArgs) -> Exit {
    let (desired, mut connections) = match session::prepare(
        global,
        &args.connect,
        &args.paths.paths,
        &args.paths.vars,
        false,
    ) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    // Status only reads: a sim:// cluster without state gets none written.
    connections.set_read_only(true);
    let code = if args.watch {
        watch(global, args, &desired, &mut connections)
    } else {
        match look(args, &desired, &mut connections) {
            Err(code) => code,
            Ok(statuses) => match show(global, args, &statuses) {
                Err(code) => code,
                Ok(()) if args.detailed_exitcode && drifted(&statuses) => Exit::Changes,
                Ok(()) => Exit::Success,
            },
        }
    };
    connections.close();
    code
}

fn drifted(statuses: &[JobStatus]) -> bool {
    statuses.iter().any(|s| !s.change.is_noop())
}

/// Plans every job and reads its instances and update: the statuses, in plan order.
fn look(
    args: &StatusArgs,
    desired: &session::Desired,
    connections: &mut Connections,
) -> Result<Vec<JobStatus>, Exit> {
    let options = aurora_apply::planning::PlanOptions {
        observe: args.read.observe(),
        targets: args.target.targets(),
        ..aurora_apply::planning::PlanOptions::default()
    };
    let plan = session::plan_all(connections, desired, Vec::new(), &options, None)?;
    let mut statuses = Vec::new();
    for (cluster, changes) in plan.by_cluster() {
        let client = session::client_for(connections, &cluster)?;
        let mut found = job_statuses(&client, &cluster, &changes).map_err(|e| {
            session::error(&e);
            session::engine_exit(&e)
        })?;
        statuses.append(&mut found);
    }
    Ok(statuses)
}

fn show(global: &GlobalArgs, args: &StatusArgs, statuses: &[JobStatus]) -> Result<(), Exit> {
    let mut out = crate::redact::stdout();
    let written = match args.output {
        OutputFormat::Json => match serde_json::to_string(statuses) {
            Ok(text) => writeln!(out, "{text}"),
            Err(e) => {
                session::error(e);
                return Err(Exit::Error);
            }
        },
        OutputFormat::Text => {
            let color = crate::report::use_color_stdout(global.color);
            write!(
                out,
                "{}",
                status_text::render(statuses, crate::view::time::now_ms(), color)
            )
        }
    };
    written.and_then(|()| out.flush()).map_err(|_| Exit::Error)
}

/// Looks every interval until Ctrl-C. On a terminal the screen is redrawn under a header;
/// otherwise each look is a new block (text: after a header line; JSON: one line), so a
/// pipe or a log gets a record of every look. A look that fails is reported and the next
/// one tried: a watch outlives a scheduler failover.
fn watch(
    global: &GlobalArgs,
    args: &StatusArgs,
    desired: &session::Desired,
    connections: &mut Connections,
) -> Exit {
    let interrupted = crate::interrupt::flag();
    let terminal = std::io::stdout().is_terminal();
    let text = args.output == OutputFormat::Text;
    let mut first = true;
    loop {
        let started = Instant::now();
        let statuses = look(args, desired, connections);
        if text {
            // Not through anstream: it would strip the redraw sequence along with colours
            // (NO_COLOR), and the screen would scroll instead of being redrawn.
            let mut out = std::io::stdout().lock();
            let clear = if terminal { "\x1b[H\x1b[2J" } else { "" };
            let gap = if first || terminal { "" } else { "\n" };
            let header = format!(
                "{clear}{gap}Every {}: aurora-apply status · {}{}\n",
                humantime::format_duration(args.interval),
                session::now_rfc3339(),
                if terminal { "   (Ctrl-C to stop)" } else { "" }
            );
            if writeln!(out, "{header}").is_err() {
                return Exit::Error;
            }
            if statuses.is_err() {
                // The reason went to stderr (on a terminal, it was just cleared away).
                let _ = writeln!(
                    out,
                    "This look failed (see the error on stderr); trying again in {}.",
                    humantime::format_duration(args.interval)
                );
            }
            let _ = out.flush();
        }
        first = false;
        if let Ok(statuses) = &statuses
            && let Err(code) = show(global, args, statuses)
        {
            return code;
        }
        // Sleep out the interval, noticing Ctrl-C at once.
        while started.elapsed() < args.interval {
            if interrupted.load(Ordering::SeqCst) {
                return Exit::Interrupted;
            }
            std::thread::sleep(
                Duration::from_millis(100).min(args.interval.saturating_sub(started.elapsed())),
            );
        }
        if interrupted.load(Ordering::SeqCst) {
            return Exit::Interrupted;
        }
    }
}
