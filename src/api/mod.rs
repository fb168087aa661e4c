//! gRPC: one file per service. Each handler authenticates, converts
//! (`convert/`, destructuring proto messages whole), calls the core
//! (`service`), converts back; errors map to statuses in `error.rs`.

mod admin;
pub mod auth;
pub mod convert;
pub mod error;
mod intake;
mod observe;
mod referrals;
mod remote_desk;

pub use observe::{bounded, require, ApiResult, Fenced};
pub use remote_desk::reader;

#[allow(clippy::all, missing_docs)]
pub mod pb {
    tonic::include_proto!("funnel.v1");
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("funnel_descriptor");
}

use crate::service::Funnel;

/// A server stream of one rpc's responses.
pub(crate) type BoxStream<T> =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, tonic::Status>> + Send>>;
use auth::Tokens;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What every handler shares.
#[derive(Clone)]
pub struct Api {
    pub funnel: Arc<Funnel>,
    pub tokens: Arc<Tokens>,
    /// Mutual TLS: a caller's client certificate must name its principal.
    pub mutual_tls: bool,
    pub stream_window: usize,
    /// Cancelled when the server is shutting down (ends open streams).
    pub shutdown: CancellationToken,
    /// Where streams spawn their tasks, so that shutdown waits for them.
    pub tasks: TaskTracker,
}
