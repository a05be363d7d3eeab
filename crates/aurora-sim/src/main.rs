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
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the scheduler API on HTTP until interrupted.
    Serve(Box<ServeArgs>),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse_from(normalise_args(std::env::args()));
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
    // Serve until killed or until `POST /sim/shutdown`; the state file is written after
    // every change, so being killed loses nothing.
    sim.wait();
    sim.shutdown();
    std::process::ExitCode::SUCCESS
}
