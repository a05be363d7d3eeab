//! `aurora-apply lsp`: the language server (crate `aurora-lsp`) on stdin/stdout, with the
//! clusters.json discovery `validate` uses, for each document's path.

use clap::Args;

use crate::exit::Exit;

/// Arguments of `lsp`.
#[derive(Debug, Args)]
pub struct LspArgs {
    /// Accepted for editors that pass it (the server always speaks over stdio).
    #[arg(long)]
    pub stdio: bool,
}

/// Runs `lsp` until the editor sends `exit`.
pub fn exec(_args: &LspArgs) -> Exit {
    let options = aurora_lsp::Options {
        known_clusters: Box::new(|path| {
            crate::discover::Discovered::find(None, &[path.to_path_buf()])
                .map(|found| found.known_names())
                .map_err(|e| e.to_string())
        }),
    };
    match aurora_lsp::serve_stdio(options) {
        Ok(()) => Exit::Success,
        Err(e) => {
            crate::session::error(e);
            Exit::Error
        }
    }
}
