//! Prometheus metrics: every metric the service exports (`funnel_` prefix,
//! explicit buckets).

use crate::scoring::BatchReport;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::time::Duration;

/// Request latencies: 100 µs .. 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0,
];
/// Webhook delivery, from the event to the receiver's 2xx: 5 ms .. 5 min
/// (a receiver that is down holds events for `retry_after` and longer).
const DELIVERY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
/// Per-stage times: 10 µs .. 1 s.
const STAGE_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1,
    1.0,
];

/// Every metric the service exports.
pub struct Metrics {
    pub registry: Registry,
    names: Vec<String>,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    /// Submit path stages: decode (validation/conversion), scoring, redis.
    pub stage_seconds: HistogramVec,
    pub leads: IntCounterVec,
    pub queue_depth: IntGaugeVec,
    pub queue_oldest_seconds: IntGaugeVec,
    pub offer_timeouts: IntCounter,
    pub lease_expirations: IntCounter,
    pub backflows: IntCounter,
    pub leads_retired: IntCounter,
    pub scoring_rejected: IntCounter,
    /// Texts in which personal data was masked.
    pub pii_masked: IntCounter,
    /// Interactions for an unregistered region sent to the default region.
    pub region_defaulted: IntCounter,
    /// Per scoring batch: queue wait (longest), tokenize, models, reasons, total.
    pub scoring_batch_seconds: HistogramVec,
    pub scoring_batch_size: Histogram,
    /// Workbench (web) requests by route template and HTTP status.
    pub http_requests: IntCounterVec,
    pub http_request_seconds: HistogramVec,
    /// Webhook events acknowledged after a 2xx, by sink and event type.
    pub webhook_delivered: IntCounterVec,
    /// Webhook attempts that got no 2xx (refused, unreachable, timed out).
    pub webhook_failed: IntCounterVec,
    /// Webhook attempts that were not an event's first (backoff, or an event
    /// claimed again after `retry_after`).
    pub webhook_retried: IntCounterVec,
    /// From the event (its audit time) to the receiver's 2xx.
    pub webhook_latency_seconds: HistogramVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "funnel_grpc_requests_total",
                "gRPC requests by method and status code",
            ),
            &["method", "code"],
        )
        .expect("metric");
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "funnel_grpc_request_duration_seconds",
                "gRPC request latency",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method"],
        )
        .expect("metric");
        let stage_seconds = HistogramVec::new(
            HistogramOpts::new(
                "funnel_stage_duration_seconds",
                "Time per interaction in each stage of intake: decode, scoring (queue wait included), redis, replay (a replay answered before scoring)",
            )
            .buckets(STAGE_BUCKETS.to_vec()),
            &["stage"],
        )
        .expect("metric");
        let leads = IntCounterVec::new(
            Opts::new(
                "funnel_leads_total",
                "Ingested interactions by bucket and destination",
            ),
            &["bucket", "destination"],
        )
        .expect("metric");
        let queue_depth = IntGaugeVec::new(
            Opts::new("funnel_queue_depth", "Leads waiting per queue"),
            &["region", "queue", "owner"],
        )
        .expect("metric");
        let queue_oldest_seconds = IntGaugeVec::new(
            Opts::new(
                "funnel_queue_oldest_age_seconds",
                "Age of the oldest lead per queue",
            ),
            &["region", "queue", "owner"],
        )
        .expect("metric");
        let offer_timeouts = IntCounter::new(
            "funnel_offer_timeouts_total",
            "Referral offers whose accept SLA ran out",
        )
        .expect("metric");
        let lease_expirations = IntCounter::new(
            "funnel_lease_expirations_total",
            "Remote leases that ran out",
        )
        .expect("metric");
        let backflows = IntCounter::new(
            "funnel_backflows_total",
            "High leads that found no branch manager in time and flowed back to remote",
        )
        .expect("metric");
        let leads_retired = IntCounter::new(
            "funnel_leads_retired_total",
            "Closed leads whose retention ended: outcome logged, keys deleted",
        )
        .expect("metric");
        let scoring_rejected = IntCounter::new(
            "funnel_scoring_rejected_total",
            "Submissions refused because the intake (max_in_flight) or the scoring queue was full",
        )
        .expect("metric");
        let pii_masked = IntCounter::new(
            "funnel_pii_masked_total",
            "Texts (turns, notes, reasons) in which personal data was masked before use",
        )
        .expect("metric");
        let region_defaulted = IntCounter::new(
            "funnel_region_defaulted_total",
            "Interactions naming an unregistered region, routed to registry.default_region",
        )
        .expect("metric");
        let scoring_batch_seconds = HistogramVec::new(
            HistogramOpts::new(
                "funnel_scoring_batch_duration_seconds",
                "Time per scoring batch in each stage: queue_wait, tokenize, text_model, tabular_model, reasons, total",
            )
            .buckets(STAGE_BUCKETS.to_vec()),
            &["stage"],
        )
        .expect("metric");
        let scoring_batch_size = Histogram::with_opts(
            HistogramOpts::new("funnel_scoring_batch_size", "Leads per scoring batch")
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
        )
        .expect("metric");
        let http_requests = IntCounterVec::new(
            Opts::new(
                "funnel_http_requests_total",
                "Workbench HTTP requests by route (template) and status",
            ),
            &["route", "status"],
        )
        .expect("metric");
        let http_request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "funnel_http_request_duration_seconds",
                "Workbench HTTP time to the response head (an event stream's life is not counted)",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route"],
        )
        .expect("metric");
        let webhook_delivered = IntCounterVec::new(
            Opts::new(
                "funnel_webhook_delivered_total",
                "Webhook events a receiver answered 2xx, by sink and event type",
            ),
            &["sink", "event"],
        )
        .expect("metric");
        let webhook_failed = IntCounterVec::new(
            Opts::new(
                "funnel_webhook_failed_attempts_total",
                "Webhook attempts with no 2xx (refused, unreachable, timed out)",
            ),
            &["sink"],
        )
        .expect("metric");
        let webhook_retried = IntCounterVec::new(
            Opts::new(
                "funnel_webhook_retried_attempts_total",
                "Webhook attempts that were not the event's first",
            ),
            &["sink"],
        )
        .expect("metric");
        let webhook_latency_seconds = HistogramVec::new(
            HistogramOpts::new(
                "funnel_webhook_delivery_latency_seconds",
                "From the event (audit time, Redis clock) to the receiver's 2xx",
            )
            .buckets(DELIVERY_BUCKETS.to_vec()),
            &["sink"],
        )
        .expect("metric");
        let mut names = Vec::new();
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_requests.clone()),
            Box::new(http_request_seconds.clone()),
            Box::new(webhook_delivered.clone()),
            Box::new(webhook_failed.clone()),
            Box::new(webhook_retried.clone()),
            Box::new(webhook_latency_seconds.clone()),
            Box::new(scoring_batch_seconds.clone()),
            Box::new(scoring_batch_size.clone()),
            Box::new(request_seconds.clone()),
            Box::new(stage_seconds.clone()),
            Box::new(leads.clone()),
            Box::new(queue_depth.clone()),
            Box::new(queue_oldest_seconds.clone()),
            Box::new(offer_timeouts.clone()),
            Box::new(lease_expirations.clone()),
            Box::new(backflows.clone()),
            Box::new(leads_retired.clone()),
            Box::new(scoring_rejected.clone()),
            Box::new(pii_masked.clone()),
            Box::new(region_defaulted.clone()),
        ] {
            names.extend(c.desc().iter().map(|d| d.fq_name.clone()));
            registry.register(c).expect("register metric");
        }
        Self {
            registry,
            names,
            requests,
            request_seconds,
            stage_seconds,
            leads,
            queue_depth,
            queue_oldest_seconds,
            offer_timeouts,
            lease_expirations,
            backflows,
            leads_retired,
            scoring_rejected,
            pii_masked,
            region_defaulted,
            scoring_batch_seconds,
            scoring_batch_size,
            http_requests,
            http_request_seconds,
            webhook_delivered,
            webhook_failed,
            webhook_retried,
            webhook_latency_seconds,
        }
    }

    /// One scoring batch, observed once (not divided among its leads).
    pub fn observe_batch(&self, r: &BatchReport) {
        let t = &r.times;
        for (stage, d) in [
            ("queue_wait", r.queue_wait),
            ("tokenize", t.tokenize),
            ("text_model", t.text_model),
            ("tabular_model", t.tabular_model),
            ("reasons", t.reasons),
            ("total", t.total),
        ] {
            self.scoring_batch_seconds
                .with_label_values(&[stage])
                .observe(d.as_secs_f64());
        }
        self.scoring_batch_size.observe(r.items as f64);
    }

    pub fn observe_request(&self, method: &str, code: tonic::Code, elapsed: Duration) {
        self.requests
            .with_label_values(&[method, &grpc_code_name(code)])
            .inc();
        self.request_seconds
            .with_label_values(&[method])
            .observe(elapsed.as_secs_f64());
    }

    /// One workbench request: `route` is the matched template
    /// (`/api/leads/{lead}`), never the raw path (bounded label values).
    pub fn observe_http(&self, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
        self.http_request_seconds
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    pub fn observe_stage(&self, stage: &str, elapsed: Duration) {
        self.stage_seconds
            .with_label_values(&[stage])
            .observe(elapsed.as_secs_f64());
    }

    /// Every metric's name, whether or not it has been observed yet (a
    /// labelled metric shows on /metrics only once it has).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// The standard name of a gRPC status code ("OK", "INVALID_ARGUMENT", ...).
pub fn grpc_code_name(code: tonic::Code) -> String {
    let camel = format!("{code:?}");
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn grpc_codes_get_their_standard_names() {
        use tonic::Code;
        assert_eq!(super::grpc_code_name(Code::Ok), "OK");
        assert_eq!(
            super::grpc_code_name(Code::InvalidArgument),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            super::grpc_code_name(Code::ResourceExhausted),
            "RESOURCE_EXHAUSTED"
        );
    }

    /// The alert rules and the Grafana dashboard name only metrics this
    /// server exports (a renamed metric breaks this, not an on-call night).
    #[test]
    fn the_deploy_files_name_only_metrics_that_exist() {
        let m = super::Metrics::new();
        let re = regex::Regex::new(r"funnel_[a-z_]+").unwrap();
        for (file, text) in [
            (
                "deploy/prometheus/funnel-alerts.yml",
                include_str!("../../deploy/prometheus/funnel-alerts.yml"),
            ),
            (
                "deploy/grafana/funnel-dashboard.json",
                include_str!("../../deploy/grafana/funnel-dashboard.json"),
            ),
        ] {
            let mut seen = 0;
            for name in re.find_iter(text).map(|n| n.as_str()) {
                if name == "funnel_" || name.starts_with("funnel_overview") {
                    continue;
                }
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(name);
                assert!(
                    m.names().iter().any(|n| n == base),
                    "{file} names {name}, which is not a metric"
                );
                seen += 1;
            }
            assert!(seen >= 5, "{file}: only {seen} metric names");
        }
    }
}
