//! OpenTelemetry traces over OTLP/gRPC, off unless `[otlp] endpoint` is set.
//! The spans exported are the `tracing` spans the server already has (one
//! per RPC and web call, with the use case's and routing's spans inside),
//! batched by the OpenTelemetry SDK and sent by its tonic exporter.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use serde::{Deserialize, Serialize};

/// `[otlp]` of the config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpConfig {
    /// The collector's OTLP/gRPC address, e.g. `http://otel-collector:4317`;
    /// unset: nothing is exported.
    pub endpoint: Option<String>,
    /// `service.name` of the exported spans.
    pub service_name: String,
    /// Share of traces exported, 0..=1 (parent-based: a sampled request
    /// keeps all of its spans).
    pub sample_ratio: f64,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            service_name: "funnel".into(),
            sample_ratio: 1.0,
        }
    }
}

/// The exporting tracer provider, or `None` when export is off. Must be
/// called inside the Tokio runtime (the exporter's channel runs on it).
/// Shut it down at exit so the last batch is sent.
pub fn provider(cfg: &OtlpConfig) -> anyhow::Result<Option<SdkTracerProvider>> {
    let Some(endpoint) = cfg.endpoint.as_deref().filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    anyhow::ensure!(
        (0.0..=1.0).contains(&cfg.sample_ratio),
        "otlp.sample_ratio: not within 0..=1"
    );
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                cfg.sample_ratio,
            ))))
            .with_resource(
                Resource::builder()
                    .with_service_name(cfg.service_name.clone())
                    .build(),
            )
            .build(),
    ))
}

/// The `tracing` layer that hands spans to `provider`.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("funnel"))
}
