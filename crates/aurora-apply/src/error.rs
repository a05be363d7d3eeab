//! What stops the engine, in kinds that map one-to-one onto the CLI's exit codes.

use aurora_api::ApiError;

/// A failure of a whole engine stage (observing, planning). Per-job execution outcomes are
/// [`crate::execute::JobResult`]s, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Talking to the scheduler failed (network, auth, scheduler error): exit 1.
    #[error("{context}: {source}")]
    Api {
        /// What the engine was doing, e.g. `observing role www-data on devcluster`.
        context: String,
        /// The client's error.
        #[source]
        source: ApiError,
    },
    /// The scheduler rejected a desired config while planning (`INVALID_REQUEST`): exit 3,
    /// nothing was changed.
    #[error("{job}: the scheduler rejected the configuration: {message}")]
    Invalid {
        /// `cluster/role/env/name`.
        job: String,
        /// The scheduler's messages, joined.
        message: String,
    },
    /// Live state moved since a saved plan, or an update we do not own is active: exit 4.
    #[error("{job}: {message}")]
    Conflict {
        /// `cluster/role/env/name`.
        job: String,
        /// What moved or who is updating.
        message: String,
    },
}

impl EngineError {
    /// Wraps a client error with what the engine was doing; `INVALID_REQUEST` answers while
    /// planning a job become [`EngineError::Invalid`].
    pub fn api(context: impl Into<String>, source: ApiError) -> Self {
        EngineError::Api {
            context: context.into(),
            source,
        }
    }
}
