//! `aurora-sim serve [flags]`: runs the emulator until interrupted or until
//! `POST /sim/shutdown`.
//!
//! Scheduler flags keep Aurora's names and accept Aurora's single-dash spelling
//! (`-enable_mesos_fetcher=true`) as well as `--enable_mesos_fetcher=true`.

use aurora_sim::Sim;
use aurora_sim::flags::{ServeArgs, config, normalise_args};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "aurora-sim",
    version,
    about = "Apache Aurora 0.22 scheduler emulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log detail on stderr: -v info, -vv debug, -vvv trace (RUST_LOG, when set,
    /// decides instead). By default warnings and errors, such as a state file that cannot
    /// be written.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

/// Logs on stderr at the chosen level (see `Cli::verbose`).
fn init_logging(verbose: u8) {
    let level = ["warn", "info", "debug", "trace"][usize::from(verbose.min(3))];
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| format!("warn,aurora_sim={level}"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the scheduler API on HTTP until interrupted.
    Serve(Box<ServeArgs>),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse_from(normalise_args(std::env::args()));
    init_logging(cli.verbose);
    let Command::Serve(args) = cli.command;
    let cfg = match config(*args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("aurora-sim: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let sim = match Sim::start(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("aurora-sim: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    println!("aurora-sim listening on {}", sim.url());
    tracing::info!(url = %sim.url(), "serving");
    // Serve until killed or until `POST /sim/shutdown`; the state file is written after
    // every change, so being killed loses nothing.
    sim.wait();
    sim.shutdown();
    std::process::ExitCode::SUCCESS
}
