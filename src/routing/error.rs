//! The routing layer's one error enum.

use super::script::ScriptError;

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// Redis could not be reached or did not answer in time.
    #[error("redis unavailable: {0}")]
    Unavailable(#[source] redis::RedisError),
    /// A script refused the transition (its code says why).
    #[error(transparent)]
    Rejected(#[from] ScriptError),
    /// A manager or lead that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Checked before any script: the request cannot apply in this state.
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// A Redis error that is not about reachability (a bug or a misconfigured server).
    #[error("redis error: {0}")]
    Redis(#[source] redis::RedisError),
    /// Redis answered something this code does not understand.
    #[error("unexpected reply from redis: {0}")]
    Protocol(String),
}

impl RoutingError {
    pub(crate) fn invalid(field: &str, reason: &str) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<redis::RedisError> for RoutingError {
    fn from(e: redis::RedisError) -> Self {
        let unreachable = e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_timeout()
            || e.is_unrecoverable_error()
            || matches!(
                e.kind(),
                redis::ErrorKind::Server(redis::ServerErrorKind::ClusterDown)
                    | redis::ErrorKind::Server(redis::ServerErrorKind::TryAgain)
                    | redis::ErrorKind::Server(redis::ServerErrorKind::MasterDown)
                    | redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading)
            );
        if unreachable {
            Self::Unavailable(e)
        } else {
            Self::Redis(e)
        }
    }
}
