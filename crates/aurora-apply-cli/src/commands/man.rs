//! `aurora-apply man DIR`: writes a man page per command (being built).

use std::path::PathBuf;

use clap::Args;

use crate::exit::Exit;

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory the pages are written to (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Runs `man`.
pub fn exec(_args: &ManArgs) -> Exit {
    crate::session::error("man pages are not built yet");
    Exit::Error
}
