//! The configuration of a `funnel serve` process started by a test (fault
//! runs, OTLP export): local ports, one Redis, quick sweeps, no workbench.
#![allow(dead_code)]

use std::path::Path;

/// `funnel.toml` for a server on `grpc`/`metrics` over `redis`, its keys
/// under `prefix`; `extra` is appended (more tables, e.g. `[otlp]`).
pub fn serve_toml(
    grpc: u16,
    metrics: u16,
    redis: &str,
    tokens: &Path,
    prefix: &str,
    extra: &str,
) -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/manifest.json");
    format!(
        r#"listen = "127.0.0.1:{grpc}"
metrics_listen = "127.0.0.1:{metrics}"
redis_urls = ["{redis}"]
redis_timeout = "1s"
tokens_file = "{}"
manifest = "{}"
scoring_threads = 1
sweep_interval = "100ms"
watch_poll = "200ms"
shutdown_grace = "1s"
log_filter = "warn"
[web]
enabled = false
[routing]
key_prefix = "{prefix}"
{}
{extra}"#,
        tokens.display(),
        manifest.display(),
        super::sample_registry_toml()
    )
}
