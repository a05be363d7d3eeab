//! The emulator driven through the `aurora-api` client over HTTP (and raw HTTP where the
//! behaviour is below the client: content types, Thrift exceptions, the admin API).

mod cli;
mod common;
mod docs;
mod fixtures;
mod http;
mod jobs;
mod shape;
mod state;
mod updates;
mod validation;
