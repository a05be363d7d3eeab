//! `aurora-apply sim status|stop`: the local `sim://` cluster (being built).

use clap::Args;

use crate::exit::Exit;

/// Arguments of `sim`.
#[derive(Debug, Args)]
pub struct SimArgs {}

/// Runs `sim`.
pub fn exec(_args: &SimArgs) -> Exit {
    crate::session::error("not built yet");
    Exit::Error
}
