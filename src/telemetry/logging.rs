//! Logs: tracing, JSON (one object a line) or pretty; and, when a tracer
//! provider is given (`otlp.rs`), the same spans exported over OTLP.

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Sets up tracing once; `format` is "json" or "pretty".
pub fn init_logging(format: &str, filter: &str) {
    init_tracing(format, filter, None);
}

/// Logs as [`init_logging`], plus OTLP export of the spans through `otlp`
/// (every span at INFO and above, whatever the log filter: a bank may log
/// only warnings and still trace every request).
pub fn init_tracing(format: &str, filter: &str, otlp: Option<&SdkTracerProvider>) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let fmt = if format == "json" {
        fmt.json().flatten_event(true).boxed()
    } else {
        fmt.compact().boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otlp.map(|p| super::otlp::layer(p).with_filter(LevelFilter::INFO)))
        .try_init();
}
