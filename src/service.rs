//! The core the gRPC handlers call: validated domain values in, scoring then
//! routing, domain values out. No gRPC types here.

use crate::domain::*;
use crate::routing::offers::OfferEvents;
use crate::routing::{decide_route, Destination, IngestRequest, Router, RoutingError};
use crate::scoring::{ScoreRequest, ScoredLead, Scorer, ScoringError};
use crate::telemetry::Metrics;
use std::sync::Arc;
use std::time::Instant;

/// Errors of the core: one layer's error or the other's.
#[derive(Debug, thiserror::Error)]
pub enum FunnelError {
    #[error(transparent)]
    Scoring(#[from] ScoringError),
    #[error(transparent)]
    Routing(#[from] RoutingError),
}

/// What the robot gets back for one interaction.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub lead_id: LeadId,
    pub scored: ScoredLead,
    pub destination: Destination,
    pub region: RegionId,
    pub branch: BranchId,
    pub replayed: bool,
    pub joined: bool,
}

/// Scoring + routing, shared by every handler.
pub struct Funnel {
    pub scorer: Arc<Scorer>,
    pub router: Router,
    pub metrics: Arc<Metrics>,
    /// Wakes referral watchers when their offers change (Redis pub/sub).
    pub offer_events: Arc<OfferEvents>,
    intent_threshold: f64,
}

impl Funnel {
    pub fn new(
        scorer: Arc<Scorer>,
        router: Router,
        metrics: Arc<Metrics>,
        intent_threshold: f64,
    ) -> Self {
        Self {
            scorer,
            router,
            metrics,
            offer_events: Arc::default(),
            intent_threshold,
        }
    }

    /// Scores and routes a batch of interactions; one result per item, in
    /// order. Scoring is one batch; routing runs the items concurrently.
    #[tracing::instrument(skip_all, fields(items = interactions.len()))]
    pub async fn submit_many(
        &self,
        interactions: Vec<Interaction>,
    ) -> Result<Vec<Result<Submitted, FunnelError>>, FunnelError> {
        let t0 = Instant::now();
        let requests: Vec<_> = interactions
            .iter()
            .map(|i| (ScoreRequest::from(i), Some(i.campaign_id.to_string())))
            .collect();
        let scored = match self.scorer.score(requests).await {
            Ok(s) => s,
            Err(e) => {
                if matches!(e, ScoringError::Overloaded(_)) {
                    self.metrics.scoring_rejected.inc();
                }
                return Err(e.into());
            }
        };
        let per_item = t0.elapsed() / interactions.len().max(1) as u32;
        for _ in 0..interactions.len() {
            self.metrics.observe_stage("scoring", per_item);
        }
        let routed =
            futures::future::join_all(interactions.into_iter().zip(scored).map(
                |(interaction, scored)| async move { self.route(interaction, scored?).await },
            ))
            .await;
        Ok(routed)
    }

    /// One interaction.
    pub async fn submit(&self, interaction: Interaction) -> Result<Submitted, FunnelError> {
        self.submit_many(vec![interaction])
            .await?
            .pop()
            .expect("one result per item")
    }

    async fn route(
        &self,
        interaction: Interaction,
        scored: ScoredLead,
    ) -> Result<Submitted, FunnelError> {
        let t0 = Instant::now();
        let (route, why) = decide_route(
            self.intent_threshold,
            scored.bucket,
            scored.intent("asks_for_human"),
            scored.intent("complaint"),
            interaction.do_not_contact,
        );
        let snapshot = ScoreSnapshot {
            probability: scored.probability,
            score: scored.score,
            bucket: scored.bucket,
            model_version: scored.model_version.clone(),
            reasons: scored.reasons.clone(),
        };
        let received_at_ms = self.router.now_ms();
        let stored = StoredInteraction {
            interaction: interaction.clone(),
            score: snapshot.clone(),
            intents: scored.intents.clone(),
            defaulted_features: scored.defaulted.clone(),
            received_at_ms,
        };
        let record = serde_json::to_string(&stored)
            .map_err(|e| RoutingError::Protocol(format!("cannot encode interaction: {e}")))?;
        let req = IngestRequest {
            interaction_id: interaction.interaction_id.clone(),
            customer: interaction.customer_id.clone(),
            campaign: interaction.campaign_id.clone(),
            product: interaction.product,
            region: interaction.region_id.clone(),
            branch: interaction.branch_id.clone(),
            relationship_manager: interaction.relationship_manager_id.clone(),
            remote_manager: interaction.remote_manager_id.clone(),
            route,
            route_reason: format!("{why} (p={:.3}, {})", scored.probability, scored.bucket),
            score: snapshot,
            interaction_record: record,
        };
        let outcome = self.router.ingest(&req).await?;
        self.metrics.observe_stage("redis", t0.elapsed());
        if !outcome.replayed {
            self.metrics
                .leads
                .with_label_values(&[scored.bucket.as_str(), outcome.destination.kind.as_str()])
                .inc();
        }
        Ok(Submitted {
            lead_id: outcome.lead_id,
            scored,
            destination: outcome.destination,
            region: interaction.region_id,
            branch: interaction.branch_id,
            replayed: outcome.replayed,
            joined: outcome.joined,
        })
    }
}
