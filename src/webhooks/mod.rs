//! Webhooks: signed HTTP POSTs to the bank's own endpoints (which forward
//! to WeCom, SMS...) for new referral offers, offers about to time out, SLA
//! breaches and leads no manager can take.
//!
//! Driven from the shards' audit streams (`routing::outbox`), never from a
//! routing call: a slow or dead receiver cannot hold up routing. Each sink
//! has a consumer group, so delivery resumes after a restart, replicas share
//! it, and an event is acknowledged only after a 2xx (at least once; the
//! `X-Funnel-Delivery` id is the receiver's idempotency key). Every attempt
//! is written to a capped delivery log that admins read
//! (`GET /api/admin/webhooks`).

use crate::domain::RequestId;
use crate::routing::outbox::OutboxEntry;
use crate::routing::{Router, RoutingError};
use crate::telemetry::Metrics;
use axum::http::{header, Request};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// `[webhooks]` of the config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Where to POST; none = webhooks off.
    pub sinks: Vec<Sink>,
    /// How often each sink's reader looks for new events.
    #[serde(with = "humantime_serde")]
    pub poll: Duration,
    /// An event not acknowledged for this long is tried again (by any replica).
    #[serde(with = "humantime_serde")]
    pub retry_after: Duration,
    /// Longest wait for a receiver's answer.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Tries of one event in a row (backoff doubling from 200 ms) before it
    /// waits for `retry_after`.
    pub attempts: u32,
    /// Events read per shard per poll.
    pub batch: usize,
    /// Approximate length kept of the delivery log.
    pub log_len: usize,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            sinks: Vec::new(),
            poll: Duration::from_millis(500),
            retry_after: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            attempts: 3,
            batch: 100,
            log_len: 10_000,
        }
    }
}

/// One receiver.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sink {
    /// Names its consumer group and its lines in the delivery log.
    pub name: String,
    /// `http://…` only: funnel has no TLS client; put the bank's forwarder
    /// (or a TLS-originating sidecar) next to it.
    pub url: String,
    /// Shared secret of the HMAC-SHA256 signature.
    pub secret: String,
    /// Event types sent; empty = all ([`EVENT_TYPES`]).
    #[serde(default)]
    pub events: Vec<String>,
}

/// The event types, from the audit actions they come from.
pub const EVENT_TYPES: [&str; 4] = [
    "referral.offered",
    "referral.expiring",
    "referral.sla_breached",
    "lead.unplaceable",
];

impl WebhooksConfig {
    pub fn validate(&self) -> Result<(), String> {
        for s in &self.sinks {
            if !s.url.starts_with("http://") {
                return Err(format!("sink {}: url must be http://", s.name));
            }
            if s.secret.len() < 16 {
                return Err(format!("sink {}: secret shorter than 16 bytes", s.name));
            }
            if s.name.is_empty()
                || s.name
                    .contains(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
            {
                return Err(format!("sink {:?}: name must be [A-Za-z0-9_-]+", s.name));
            }
            if let Some(e) = s.events.iter().find(|e| !EVENT_TYPES.contains(&e.as_str())) {
                return Err(format!("sink {}: unknown event type {e:?}", s.name));
            }
        }
        Ok(())
    }
}

/// The event type of an audit event, if it is one a receiver hears about:
/// `offer_expiring` (the sweeper's warning), `offer_timed_out`,
/// `flagged_unplaceable`, and every other event that leaves a lead offered
/// to a manager (offered, re-offered, escalated, declined and passed on...)
/// except a re-score of the lead while its offer is pending.
fn event_type(e: &crate::routing::AuditEvent) -> Option<&'static str> {
    match e.action.as_str() {
        "offer_expiring" => Some("referral.expiring"),
        "offer_timed_out" => Some("referral.sla_breached"),
        "flagged_unplaceable" => Some("lead.unplaceable"),
        // A new call of the customer while the offer is pending: not a new offer.
        "rescored" => None,
        _ if e.to == "referral_offered" && !e.manager.is_empty() => Some("referral.offered"),
        _ => None,
    }
}

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`; receivers should
/// also refuse timestamps far from their clock (replays).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Serialize)]
struct Payload<'a> {
    /// Unique per event: `<region>/<stream id>` (the idempotency key).
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    at: i64,
    region: &'a str,
    lead: &'a str,
    manager: &'a str,
    from: &'a str,
    to: &'a str,
    reason: &'a str,
    bucket: &'a str,
    probability: f64,
}

/// Errors of one delivery attempt.
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error("HTTP {0}")]
    Status(u16),
    #[error("{0}")]
    Transport(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Routing(#[from] RoutingError),
}

/// Runs every sink until `stop` is cancelled.
pub async fn run(
    router: Router,
    cfg: WebhooksConfig,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    let http: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let sinks = cfg.sinks.iter().map(|sink| {
        let reader = SinkReader {
            router: router.clone(),
            cfg: cfg.clone(),
            sink: sink.clone(),
            http: http.clone(),
            metrics: metrics.clone(),
            group: format!("webhook-{}", sink.name),
            // Per process: a restarted replica's leftovers are claimed by
            // whoever reads after `retry_after`.
            consumer: RequestId::generate().to_string(),
        };
        reader.run(stop.clone())
    });
    futures::future::join_all(sinks).await;
}

struct SinkReader {
    router: Router,
    cfg: WebhooksConfig,
    sink: Sink,
    http: Client<HttpConnector, Full<Bytes>>,
    metrics: Arc<Metrics>,
    group: String,
    consumer: String,
}

impl SinkReader {
    async fn run(self, stop: CancellationToken) {
        let mut joined = std::collections::HashSet::new();
        loop {
            if let Err(e) = self.pass(&mut joined, &stop).await {
                tracing::warn!(sink = %self.sink.name, error = %e, "webhooks: pass failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.poll) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    /// One look at every shard.
    #[tracing::instrument(skip_all, fields(sink = %self.sink.name))]
    async fn pass(
        &self,
        joined: &mut std::collections::HashSet<crate::domain::RegionId>,
        stop: &CancellationToken,
    ) -> Result<(), RoutingError> {
        for region in self.router.regions().await? {
            if !joined.contains(&region) {
                self.router.outbox_join(&region, &self.group).await?;
                joined.insert(region.clone());
            }
            let entries = self
                .router
                .outbox_read(
                    &region,
                    &self.group,
                    &self.consumer,
                    self.cfg.batch,
                    self.cfg.retry_after,
                )
                .await?;
            let mut done = Vec::new();
            for entry in &entries {
                let wanted = event_type(&entry.event).filter(|t| {
                    self.sink.events.is_empty() || self.sink.events.iter().any(|e| e == t)
                });
                let Some(kind) = wanted else {
                    done.push(entry.id.clone());
                    continue;
                };
                if stop.is_cancelled() || !self.deliver(entry, kind, stop).await {
                    // The receiver is down: the rest stay pending and are
                    // claimed again after `retry_after`.
                    break;
                }
                done.push(entry.id.clone());
            }
            self.router.outbox_ack(&region, &self.group, &done).await?;
        }
        Ok(())
    }

    /// Tries one event up to `attempts` times; true once a 2xx came back.
    async fn deliver(
        &self,
        entry: &OutboxEntry,
        kind: &'static str,
        stop: &CancellationToken,
    ) -> bool {
        let e = &entry.event;
        let payload = Payload {
            id: format!("{}/{}", entry.region, entry.id),
            kind,
            at: e.at,
            region: entry.region.as_str(),
            lead: &e.lead,
            manager: &e.manager,
            from: &e.from,
            to: &e.to,
            reason: &e.reason,
            bucket: &e.bucket,
            probability: e.probability,
        };
        let body = Bytes::from(serde_json::to_vec(&payload).expect("plain struct serializes"));
        let mut backoff = Duration::from_millis(200);
        let sink = [self.sink.name.as_str()];
        for attempt in 1..=self.cfg.attempts.max(1) {
            if attempt > 1 || entry.reclaimed {
                self.metrics.webhook_retried.with_label_values(&sink).inc();
            }
            let result = self.post(&payload.id, kind, body.clone()).await;
            match &result {
                Ok(_) => {
                    self.metrics
                        .webhook_delivered
                        .with_label_values(&[self.sink.name.as_str(), kind])
                        .inc();
                    // The event's time is Redis's clock; a replica's may differ a little.
                    let age_ms = (chrono::Utc::now().timestamp_millis() - e.at).max(0);
                    self.metrics
                        .webhook_latency_seconds
                        .with_label_values(&sink)
                        .observe(age_ms as f64 / 1000.0);
                }
                Err(_) => self.metrics.webhook_failed.with_label_values(&sink).inc(),
            }
            let (status, error) = match &result {
                Ok(code) => (code.to_string(), String::new()),
                Err(DeliveryError::Status(code)) => (code.to_string(), "refused".into()),
                Err(err) => ("error".into(), err.to_string()),
            };
            let line = [
                ("sink", self.sink.name.clone()),
                ("delivery", payload.id.clone()),
                ("type", kind.to_string()),
                ("lead", e.lead.clone()),
                ("attempt", attempt.to_string()),
                ("status", status),
                ("error", error),
            ];
            if let Err(err) = self
                .router
                .log_append("webhooks", self.cfg.log_len, &line)
                .await
            {
                tracing::warn!(error = %err, "webhooks: delivery log not written");
            }
            if result.is_ok() {
                return true;
            }
            if attempt < self.cfg.attempts {
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.cancelled() => return false,
                }
                backoff *= 2;
            }
        }
        false
    }

    async fn post(&self, delivery: &str, kind: &str, body: Bytes) -> Result<u16, DeliveryError> {
        let timestamp = chrono::Utc::now().timestamp();
        let request = Request::post(&self.sink.url)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-funnel-event", kind)
            .header("x-funnel-delivery", delivery)
            .header("x-funnel-timestamp", timestamp.to_string())
            .header(
                "x-funnel-signature",
                signature(&self.sink.secret, timestamp, &body),
            )
            .body(Full::new(body))
            .map_err(|e| DeliveryError::Transport(e.to_string()))?;
        let sent = tokio::time::timeout(self.cfg.timeout, self.http.request(request)).await;
        let response = sent
            .map_err(|_| DeliveryError::Timeout(self.cfg.timeout))?
            .map_err(|e| DeliveryError::Transport(e.to_string()))?;
        let code = response.status().as_u16();
        if response.status().is_success() {
            Ok(code)
        } else {
            Err(DeliveryError::Status(code))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = signature("Jefe", 0, b"what do ya want for nothing?");
        // The signed text is "0.what do ya want...", so compare with a MAC
        // computed over exactly that.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"0.what do ya want for nothing?");
        assert_eq!(
            sig,
            format!("v1={}", hex::encode(mac.finalize().into_bytes()))
        );
        let mut rfc = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        rfc.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(rfc.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn audit_events_map_to_the_four_event_types() {
        let ev = |action: &str, from: &str, to: &str, manager: &str| crate::routing::AuditEvent {
            at: 0,
            lead: "east.1".into(),
            actor: "sweeper".into(),
            action: action.into(),
            from: from.into(),
            to: to.into(),
            reason: String::new(),
            probability: 0.9,
            bucket: "high".into(),
            model_version: "m".into(),
            manager: manager.into(),
            interaction: String::new(),
            category: None,
        };
        let o = "referral_offered";
        let cases = [
            (ev("ingested", "", o, "o1"), Some("referral.offered")),
            (ev("declined", o, o, "o2"), Some("referral.offered")),
            (ev("offer_expiring", o, o, "o1"), Some("referral.expiring")),
            (
                ev("offer_timed_out", o, o, "o1"),
                Some("referral.sla_breached"),
            ),
            (
                ev(
                    "flagged_unplaceable",
                    "branch_unassigned",
                    "branch_unassigned",
                    "",
                ),
                Some("lead.unplaceable"),
            ),
            (ev("accepted", o, "referral_accepted", "o1"), None),
            (ev("ingested", "", "remote_queued", ""), None),
            (ev("rescored", o, o, "o1"), None),
        ];
        for (e, want) in cases {
            assert_eq!(event_type(&e), want, "{}", e.action);
        }
    }

    #[test]
    fn sinks_are_checked() {
        let sink = |url: &str, secret: &str, events: &[&str]| WebhooksConfig {
            sinks: vec![Sink {
                name: "wecom".into(),
                url: url.into(),
                secret: secret.into(),
                events: events.iter().map(|e| e.to_string()).collect(),
            }],
            ..WebhooksConfig::default()
        };
        let long = "0123456789abcdef";
        assert!(sink("http://10.0.0.1/hook", long, &[]).validate().is_ok());
        assert!(sink("https://x/hook", long, &[]).validate().is_err());
        assert!(sink("http://x/hook", "short", &[]).validate().is_err());
        assert!(sink("http://x/hook", long, &["lead.created"])
            .validate()
            .is_err());
    }
}
