//! gRPC: thin handlers (authenticate, validate/convert, call the core,
//! convert back). The server is put together in `crate::app`.

pub mod auth;
pub mod convert;
pub mod error;
mod handlers;

#[allow(clippy::all, missing_docs)]
pub mod pb {
    tonic::include_proto!("funnel.v1");
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("funnel_descriptor");
}

use crate::service::Funnel;
use auth::Tokens;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What every handler shares.
#[derive(Clone)]
pub struct Api {
    pub funnel: Arc<Funnel>,
    pub tokens: Arc<Tokens>,
    pub stream_window: usize,
    pub watch_poll: Duration,
    /// Cancelled when the server is shutting down (ends open streams).
    pub shutdown: CancellationToken,
    /// Where streams spawn their tasks, so that shutdown waits for them.
    pub tasks: TaskTracker,
}
