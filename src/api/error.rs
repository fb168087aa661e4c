//! The one mapping from every error of every layer to a gRPC status.

use crate::routing::{RoutingError, ScriptErrorCode};
use crate::scoring::ScoringError;
use crate::service::FunnelError;
use tonic::{Code, Status};

/// Errors a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    #[error(transparent)]
    Funnel(#[from] FunnelError),
}

impl From<crate::routing::RoutingError> for ApiError {
    fn from(e: crate::routing::RoutingError) -> Self {
        Self::Funnel(FunnelError::Routing(e))
    }
}

impl ApiError {
    pub fn invalid(field: &str, reason: &str) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

fn routing_code(e: &RoutingError) -> Code {
    match e {
        RoutingError::Unavailable(_) => Code::Unavailable,
        RoutingError::NotFound(_) => Code::NotFound,
        RoutingError::FailedPrecondition(_) => Code::FailedPrecondition,
        RoutingError::InvalidArgument { .. } => Code::InvalidArgument,
        RoutingError::Redis(_) | RoutingError::Protocol(_) => Code::Internal,
        RoutingError::Rejected(s) => match s.code {
            ScriptErrorCode::NotFound => Code::NotFound,
            ScriptErrorCode::NotOwner => Code::PermissionDenied,
            ScriptErrorCode::InvalidArgument => Code::InvalidArgument,
            ScriptErrorCode::LeaseLost
            | ScriptErrorCode::OfferGone
            | ScriptErrorCode::WrongState
            | ScriptErrorCode::Unavailable
            | ScriptErrorCode::NotRegistered
            | ScriptErrorCode::NotQualified => Code::FailedPrecondition,
        },
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        let msg = match &e {
            // The scorer names model features; clients know request fields.
            ApiError::Funnel(FunnelError::Scoring(ScoringError::InvalidInput {
                field,
                reason,
            })) => {
                format!("{}: {reason}", super::convert::wire_field(field))
            }
            _ => e.to_string(),
        };
        let code = match &e {
            ApiError::Unauthenticated(_) => Code::Unauthenticated,
            ApiError::PermissionDenied(_) => Code::PermissionDenied,
            ApiError::InvalidArgument { .. } => Code::InvalidArgument,
            ApiError::Funnel(f) => match f {
                FunnelError::Scoring(s) => match s {
                    ScoringError::InvalidInput { .. } => Code::InvalidArgument,
                    ScoringError::Overloaded(_) => Code::ResourceExhausted,
                    ScoringError::Shutdown => Code::Unavailable,
                    ScoringError::Manifest { .. } | ScoringError::Runtime(_) => Code::Internal,
                },
                FunnelError::Routing(r) => routing_code(r),
                FunnelError::PermissionDenied(_) => Code::PermissionDenied,
                FunnelError::Invalid(_) => Code::InvalidArgument,
                FunnelError::Overloaded(_) => Code::ResourceExhausted,
                FunnelError::ShuttingDown => Code::Unavailable,
            },
        };
        if code == Code::Internal {
            tracing::error!(error = %msg, "internal error");
        }
        Status::new(code, msg)
    }
}
