//! Logs (tracing, JSON or pretty), OTLP trace export, Prometheus metrics,
//! and the HTTP port that serves them with liveness and readiness.

pub mod http;
mod logging;
mod metrics;
pub mod otlp;

pub use http::Readiness;
pub use logging::{init_logging, init_tracing};
pub use metrics::{grpc_code_name, Metrics};
