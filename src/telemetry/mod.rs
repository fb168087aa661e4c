//! Logs (tracing, JSON or pretty), Prometheus metrics, and the HTTP port
//! that serves them with liveness and readiness.

pub mod http;
mod logging;
mod metrics;

pub use http::Readiness;
pub use logging::init_logging;
pub use metrics::{grpc_code_name, Metrics};
