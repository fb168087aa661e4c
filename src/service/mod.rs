//! The use cases the gRPC handlers (and nothing else) call: validated domain
//! values in, scoring then the policy then routing, domain values out. No
//! gRPC types here; the referral-watch loop lives here too (`watch.rs`).

mod cockpit;
mod desk;
mod export;
mod replay;
mod watch;

pub use cockpit::{FunnelQuery, FunnelReport, FunnelRow, Grouping};
pub use desk::Reader;
pub use export::{training_records, ExportedOutcome};
pub use watch::{ReferralChange, WithdrawReason};

use crate::domain::*;
use crate::domain::{limits, pii};
use crate::routing::offers::OfferEvents;
use crate::routing::{Destination, Home, IngestRequest, Router, RoutingError};
use crate::scoring::{LexiconKind, Manifest, ScoreRequest, ScoredLead, Scorer, ScoringError};
use crate::telemetry::Metrics;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Errors of the core: one layer's error or the other's, or a refusal of
/// the use case itself.
#[derive(Debug, thiserror::Error)]
pub enum FunnelError {
    #[error(transparent)]
    Scoring(#[from] ScoringError),
    #[error(transparent)]
    Routing(#[from] RoutingError),
    /// The caller may not see or do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// An input over a limit (`domain::limits`), naming the field.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// More interactions in flight than `max_in_flight`: refused at once,
    /// so a client backs off instead of waiting behind a queue.
    #[error("{0} interactions already in flight; retry with backoff")]
    Overloaded(usize),
    /// The server is stopping; the client should reconnect elsewhere.
    #[error("server shutting down; reconnect")]
    ShuttingDown,
}

/// The score as answered to the robot, recorded for replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// Probability, score, the bucket after the rules, model, reasons.
    pub score: ScoreSnapshot,
    /// Intent label → probability, most probable first.
    pub intents: Vec<(String, f64)>,
    /// Features that were missing and took the model's default.
    pub defaulted: Vec<String>,
}

impl Answer {
    /// The answer a first call got, from its stored record.
    fn recorded(first: StoredInteraction) -> Self {
        Self {
            score: first.score,
            intents: first.intents,
            defaulted: first.defaulted_features,
        }
    }
}

/// An interaction past the limits and the replay check, to be scored.
struct Admitted {
    /// Its place in the request's batch.
    slot: usize,
    interaction: Interaction,
    /// What the limits cut from its transcript (characters).
    cut_chars: u64,
    /// The customer's home region, claimed.
    home: Home,
}

/// What the robot gets back for one interaction.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub lead_id: LeadId,
    pub answer: Answer,
    pub destination: Destination,
    pub region: RegionId,
    pub branch: BranchId,
    pub replayed: bool,
    pub joined: bool,
}

/// How the core is tuned.
#[derive(Debug, Clone)]
pub struct FunnelOptions {
    /// Campaign thresholds and the rules' intent threshold; the default
    /// thresholds come from the model manifest.
    pub campaign_thresholds: std::collections::HashMap<CampaignId, Thresholds>,
    pub intent_threshold: f64,
    /// Referral watchers re-read their offers this often even without a push.
    pub watch_poll: Duration,
    /// How long a manager may still read a lead it closed.
    pub closed_readable_for: Duration,
    /// Personal data masked before anything is stored, scored or logged.
    pub masker: pii::Masker,
    pub limits: limits::Limits,
    /// Where an interaction for an unregistered region goes (unset: refused).
    pub default_region: Option<RegionId>,
    /// Interactions submitted at once, beyond which a submission is refused.
    pub max_in_flight: usize,
}

/// Scoring + policy + routing, shared by every handler.
pub struct Funnel {
    scorer: Arc<Scorer>,
    router: Router,
    metrics: Arc<Metrics>,
    policy: Policy,
    /// Wakes referral watchers when their offers change (Redis pub/sub).
    offer_events: Arc<OfferEvents>,
    watch_poll: Duration,
    closed_readable_for: Duration,
    masker: pii::Masker,
    limits: limits::Limits,
    default_region: Option<RegionId>,
    /// One permit per interaction being submitted (`max_in_flight`).
    in_flight: tokio::sync::Semaphore,
    max_in_flight: usize,
}

impl Funnel {
    pub fn new(
        scorer: Arc<Scorer>,
        router: Router,
        metrics: Arc<Metrics>,
        opts: FunnelOptions,
    ) -> Self {
        let policy = Policy {
            default: scorer.manifest().buckets,
            per_campaign: opts.campaign_thresholds,
            intent_threshold: opts.intent_threshold,
        };
        Self {
            scorer,
            router,
            metrics,
            policy,
            offer_events: Arc::default(),
            watch_poll: opts.watch_poll,
            closed_readable_for: opts.closed_readable_for,
            masker: opts.masker,
            limits: opts.limits,
            default_region: opts.default_region,
            in_flight: tokio::sync::Semaphore::new(opts.max_in_flight.max(1)),
            max_in_flight: opts.max_in_flight.max(1),
        }
    }

    /// The clock transitions are stamped with (ms since the epoch).
    pub fn now_ms(&self) -> i64 {
        self.router.now_ms()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The models being served.
    pub fn model(&self) -> &Manifest {
        self.scorer.manifest()
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The pub/sub listener that wakes referral watchers (run by the app).
    pub fn offer_events(&self) -> Arc<OfferEvents> {
        self.offer_events.clone()
    }

    /// Scores and routes a batch of interactions; one result per item, in
    /// order. Scoring is one batch; routing runs the items concurrently.
    #[tracing::instrument(skip_all, fields(items = interactions.len()))]
    pub async fn submit_many(
        &self,
        interactions: Vec<Interaction>,
    ) -> Result<Vec<Result<Submitted, FunnelError>>, FunnelError> {
        let t0 = Instant::now();
        // Admission first: over the bound, refuse now rather than queue (a
        // batch larger than the bound takes all of it).
        let want = interactions.len().clamp(1, self.max_in_flight) as u32;
        let _permits = self.in_flight.try_acquire_many(want).map_err(|_| {
            self.metrics.scoring_rejected.inc();
            FunnelError::Overloaded(self.max_in_flight)
        })?;
        let mut results: Vec<Option<Result<Submitted, FunnelError>>> = Vec::new();
        let mut placed = Vec::with_capacity(interactions.len());
        for (n, mut i) in interactions.into_iter().enumerate() {
            results.push(None);
            match self.admit_place(&mut i).await {
                Ok(()) => placed.push((n, i)),
                Err(e) => results[n] = Some(Err(e)),
            }
        }
        // Replays answer what their first call was answered, unscored (and
        // unmasked: nothing of theirs is stored or logged).
        let fresh = self.answer_replays(placed, &mut results).await?;
        // Limits and masking before anything is scored, stored or logged; an
        // item over a limit gets its own error, the others go on.
        let mut admitted = Vec::with_capacity(fresh.len());
        for (n, mut i, home) in fresh {
            match self.limits.admit(&mut i) {
                Ok(cut_chars) => {
                    let masked = self.masker.mask_interaction(&mut i);
                    if masked > 0 {
                        self.metrics.pii_masked.inc_by(masked as u64);
                    }
                    admitted.push(Admitted {
                        slot: n,
                        interaction: i,
                        cut_chars,
                        home,
                    });
                }
                Err(e) => results[n] = Some(Err(e.into())),
            }
        }
        let requests: Vec<_> = admitted
            .iter()
            .map(|a| ScoreRequest::from(&a.interaction))
            .collect();
        if requests.is_empty() {
            return Ok(results.into_iter().map(|r| r.expect("answered")).collect());
        }
        let scored = match self.scorer.score(requests).await {
            Ok(s) => s,
            Err(e) => {
                if matches!(e, ScoringError::Overloaded(_)) {
                    self.metrics.scoring_rejected.inc();
                }
                return Err(e.into());
            }
        };
        // Every lead of the batch waited the whole scoring time.
        let waited = t0.elapsed();
        for _ in 0..admitted.len() {
            self.metrics.observe_stage("scoring", waited);
        }
        let slots: Vec<usize> = admitted.iter().map(|a| a.slot).collect();
        let routed = futures::future::join_all(
            admitted
                .into_iter()
                .zip(scored)
                .map(|(a, scored)| async move { self.route(a, scored?).await }),
        )
        .await;
        for (n, r) in slots.into_iter().zip(routed) {
            results[n] = Some(r);
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every item answered"))
            .collect())
    }

    /// The interaction's region and branch against the registry: a branch
    /// registered in the region named passes; an unregistered region goes to
    /// the default region when one is configured (the branch kept), or is
    /// refused; an unregistered branch of a registered region is refused.
    async fn admit_place(&self, i: &mut Interaction) -> Result<(), FunnelError> {
        let (region, branch) = (i.region_id.clone(), i.branch_id.clone());
        let registry = self
            .router
            .registry_knowing(|r| r.region_of(&branch) == Some(&region))
            .await?;
        if registry.region_of(&branch) == Some(&region) {
            return Ok(());
        }
        if registry.has_region(&region) {
            return Err(DomainError::new(
                "interaction.branch_id",
                format!("branch {branch} is not registered in region {region}"),
            )
            .into());
        }
        match &self.default_region {
            Some(d) => {
                tracing::warn!(%region, default = %d, "unregistered region: routed to the default region");
                self.metrics.region_defaulted.inc();
                i.region_id = d.clone();
                Ok(())
            }
            None => Err(DomainError::new(
                "interaction.region_id",
                format!("region {region} is not registered"),
            )
            .into()),
        }
    }

    /// A manager's free text (note, reason) within its limit, with personal
    /// data masked; `field` names it in a refusal.
    fn admit_note<'a>(
        &self,
        field: &str,
        text: &'a str,
    ) -> Result<std::borrow::Cow<'a, str>, FunnelError> {
        self.limits.check_note(field, text)?;
        Ok(self.mask(text))
    }

    /// `text` with personal data masked.
    fn mask<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        let masked = self.masker.mask(text);
        if matches!(masked, std::borrow::Cow::Owned(_)) {
            self.metrics.pii_masked.inc();
        }
        masked
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
        admitted: Admitted,
        scored: ScoredLead,
    ) -> Result<Submitted, FunnelError> {
        let t0 = Instant::now();
        let Admitted {
            interaction,
            cut_chars: transcript_cut_chars,
            home,
            ..
        } = admitted;
        let intent = |name: &str| {
            scored
                .intents
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0.0, |(_, p)| *p)
        };
        let first_hit = |kind: LexiconKind| {
            scored
                .lexicon
                .iter()
                .find(|h| h.kind == kind)
                .map(|h| format!("{} ({:?})", h.rule, h.pattern))
        };
        let signals = Signals {
            asks_for_human: intent("asks_for_human"),
            complaint: intent("complaint"),
            top_intent: scored
                .intents
                .first()
                .map(|(n, _)| n.clone())
                .unwrap_or_default(),
            do_not_contact: interaction.do_not_contact,
            do_not_contact_request: scored.do_not_contact,
            aum_band: interaction.features.aum_band,
            lexicon: LexiconSignals {
                complaint: first_hit(LexiconKind::Complaint),
                do_not_contact: first_hit(LexiconKind::DoNotContact),
                asks_for_human: first_hit(LexiconKind::AsksForHuman),
            },
        };
        let decision = self
            .policy
            .decide(&interaction.campaign_id, scored.probability, signals);
        let answer = Answer {
            score: ScoreSnapshot {
                probability: scored.probability,
                score: scored.score,
                bucket: decision.bucket,
                model_version: scored.model_version.clone(),
                reasons: scored.reasons.clone(),
            },
            intents: scored.intents.clone(),
            defaulted: scored.defaulted.clone(),
        };
        let req = IngestRequest {
            interaction_id: interaction.interaction_id.clone(),
            customer: interaction.customer_id.clone(),
            campaign: interaction.campaign_id.clone(),
            product: interaction.product,
            region: interaction.region_id.clone(),
            branch: interaction.branch_id.clone(),
            relationship_manager: interaction.relationship_manager_id.clone(),
            remote_manager: interaction.remote_manager_id.clone(),
            route: decision.route,
            route_reason: decision.reason.clone(),
            score: answer.score.clone(),
            interaction: StoredInteraction {
                score: answer.score.clone(),
                intents: answer.intents.clone(),
                defaulted_features: answer.defaulted.clone(),
                received_at_ms: self.router.now_ms(),
                interaction: interaction.clone(),
                transcript_cut_chars,
            },
        };
        // The customer's memory may change the route (see Router::ingest).
        let outcome = self.router.ingest_at(&req, home).await?;
        self.metrics.observe_stage("redis", t0.elapsed());
        let answer = match (outcome.replayed, outcome.recorded.clone()) {
            // A replay answers what the first call answered.
            (true, Some(first)) => Answer::recorded(first),
            (true, None) => {
                // Ten later calls of the lead folded the record away.
                tracing::warn!(interaction = %interaction.interaction_id,
                    "replay of an interaction whose record was folded; answering this call's score");
                answer
            }
            (false, _) => {
                self.metrics
                    .leads
                    .with_label_values(&[
                        decision.bucket.as_str(),
                        outcome.destination.kind.as_str(),
                    ])
                    .inc();
                answer
            }
        };
        Ok(Submitted {
            lead_id: outcome.lead_id,
            answer,
            destination: outcome.destination,
            region: outcome.region,
            branch: interaction.branch_id,
            replayed: outcome.replayed,
            joined: outcome.joined,
        })
    }
}
