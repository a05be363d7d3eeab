//! `aurora-apply schema`: the JSON Schema of the spec format (the committed
//! `schema/aurora-apply.v1.json` is this output).

use std::io::Write;

use clap::Args;

use crate::exit::Exit;

/// Arguments of `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {}

/// Runs `schema`.
pub fn exec(_args: &SchemaArgs) -> Exit {
    let mut out = crate::redact::stdout();
    match out.write_all(aurora_spec::schema::to_pretty_string().as_bytes()) {
        Ok(()) => Exit::Success,
        Err(_) => Exit::Error,
    }
}
