//! Logs (tracing, JSON or pretty), Prometheus metrics, and the HTTP port
//! that serves them with the health endpoints.

pub mod http;
mod logging;
mod metrics;

pub use http::serve_metrics;
pub use logging::init_logging;
pub use metrics::Metrics;
