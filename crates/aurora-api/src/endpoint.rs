//! Where a [`Client`](crate::Client) sends its calls when the leader may have moved.
//!
//! A client starts at [`ClientConfig::endpoint`](crate::ClientConfig::endpoint). When the
//! cluster finds its leader through a coordination service, the client also gets an
//! [`EndpointResolver`] ([`ClientConfig::resolver`](crate::ClientConfig::resolver)), and
//! asks it for the scheduler's address again before the attempt that follows a transport
//! failure or an HTTP 503, the way Aurora's own client drops its connection and reads the
//! serverset again after a transport error (`SchedulerProxy.invalidate()` in
//! `apache/aurora/client/api/scheduler_client.py`). Without a resolver the endpoint is fixed.
//!
//! [`Cluster::endpoint_resolver`](crate::clusters::Cluster::endpoint_resolver) gives the
//! ZooKeeper one ([`LeaderResolver`](crate::clusters::LeaderResolver)); anything else that
//! knows where the leader is (a test double, another discovery service) can implement the
//! trait.

use std::fmt;
use std::time::Duration;

use crate::clusters::ResolveError;

/// Finds the scheduler's current base URL (`http(s)://host:port[/path]`, without `/api`).
///
/// Called by the client only after a failure that may mean the leader moved, at most once
/// per failed attempt, from the thread making the call; it blocks that call, within
/// `timeout` (what is left of the call's own time budget). A failure is not fatal: the client
/// logs it and keeps the address it has, and asks again after the next failure.
pub trait EndpointResolver: Send + Sync + fmt::Debug {
    /// The scheduler's base URL now, or why it cannot be found, taking at most `timeout`.
    fn resolve(&self, timeout: Duration) -> Result<String, ResolveError>;
}
