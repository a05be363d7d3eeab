//! The emulator driven through the `aurora-api` client over HTTP (and raw HTTP where the
//! behaviour is below the client: content types, Thrift exceptions, the admin API).

mod cli;
mod common;
mod fixtures;
mod http;
mod jobs;
mod state;
mod updates;
mod validation;
