//! A client of Apache Aurora 0.22's scheduler API: the HTTP transport of the scheduler's `/api`
//! endpoint, one typed method per RPC with retries by idempotency and leader redirects,
//! clusters.json, ZooKeeper leader discovery, credentials and TLS.
//!
//! The Thrift bindings (generated types, wire format, JSON view, RPC table) live in
//! `aurora-thrift`; they are re-exported here under the same paths (`aurora_api::types`,
//! `aurora_api::wire`, …) so a user of the client needs only this crate.

pub use aurora_thrift::{enum_names, json, key, ranges, rpc, task, tiers, types, wire};

pub mod auth;
pub mod client;
pub mod clusters;
mod decoding;
pub mod endpoint;
pub mod error;
mod methods;
#[cfg(test)]
mod redaction_tests;
pub mod retry;
pub mod transport;

pub use client::{CallLimits, Client, ClientConfig, Reply};
pub use endpoint::EndpointResolver;
pub use error::ApiError;
