//! The gRPC services. Each handler: who is calling, is it allowed, convert,
//! call the core, convert back. Nothing else.

use super::auth::Principal;
use super::convert::*;
use super::error::ApiError;
use super::{pb, Api};
use crate::domain::{LeadId, ManagerId};
use crate::routing::LeadRecord;
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::HashMap;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

type ApiResult<T> = Result<T, ApiError>;

impl Api {
    /// Runs a handler body, records its latency and status code.
    async fn observed<T>(
        &self,
        method: &'static str,
        body: impl std::future::Future<Output = ApiResult<T>>,
    ) -> Result<Response<T>, Status> {
        use tracing::Instrument;
        let t0 = Instant::now();
        let span = tracing::info_span!("rpc", method, code = tracing::field::Empty);
        let result = body.instrument(span.clone()).await.map_err(Status::from);
        let code = result
            .as_ref()
            .map(|_| tonic::Code::Ok)
            .unwrap_or_else(|s| s.code());
        span.record("code", tracing::field::debug(code));
        if let Err(status) = &result {
            tracing::debug!(parent: &span, code = ?status.code(), message = status.message(), "request failed");
        }
        self.funnel
            .metrics
            .observe_request(method, code, t0.elapsed());
        result.map(Response::new)
    }

    /// The caller, if `allow` accepts it; else PERMISSION_DENIED saying why.
    fn caller<T, R>(
        &self,
        req: &Request<T>,
        refusal: &str,
        allow: impl FnOnce(Principal) -> Result<R, Principal>,
    ) -> ApiResult<R> {
        allow(self.tokens.principal(req)?)
            .map_err(|p| ApiError::PermissionDenied(format!("{} {refusal}", p.describe())))
    }

    fn robot<T>(&self, req: &Request<T>) -> ApiResult<()> {
        self.caller(req, "may not submit interactions", |p| match p {
            Principal::Robot | Principal::Admin => Ok(()),
            p => Err(p),
        })
    }

    fn remote<T>(&self, req: &Request<T>) -> ApiResult<ManagerId> {
        self.caller(req, "is not a remote manager", |p| match p {
            Principal::RemoteManager(m) => Ok(m),
            p => Err(p),
        })
    }

    fn offline<T>(&self, req: &Request<T>) -> ApiResult<ManagerId> {
        self.caller(req, "is not an offline manager", |p| match p {
            Principal::OfflineManager(m) => Ok(m),
            p => Err(p),
        })
    }

    fn admin<T>(&self, req: &Request<T>) -> ApiResult<()> {
        self.caller(req, "is not an admin", |p| match p {
            Principal::Admin => Ok(()),
            p => Err(p),
        })
    }

    async fn decode_and_submit(
        &self,
        interaction: Option<pb::Interaction>,
    ) -> ApiResult<pb::SubmitInteractionResponse> {
        let t0 = Instant::now();
        let interaction = interaction.ok_or_else(|| ApiError::InvalidArgument {
            field: "interaction".into(),
            reason: "is required".into(),
        })?;
        let interaction = interaction_from_pb(interaction)?;
        self.funnel.metrics.observe_stage("decode", t0.elapsed());
        let submitted = self.funnel.submit(interaction).await?;
        Ok(submitted_to_pb(&submitted))
    }

    /// Who may read a lead: admins any; managers the leads they hold or are offered.
    fn may_read(&self, who: &Principal, rec: &LeadRecord) -> ApiResult<()> {
        let allowed = match who {
            Principal::Admin => true,
            Principal::RemoteManager(m) | Principal::OfflineManager(m) => {
                rec.owner().as_ref() == Some(m)
            }
            Principal::Robot => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied(format!(
                "{} may not read lead {}",
                who.describe(),
                rec.id
            )))
        }
    }
}

fn require(text: &str, field: &str) -> ApiResult<()> {
    if text.trim().is_empty() {
        Err(ApiError::InvalidArgument {
            field: field.into(),
            reason: "is required".into(),
        })
    } else {
        Ok(())
    }
}

fn bounded(v: i32, lo: i32, hi: i32, field: &str) -> ApiResult<u32> {
    if (lo..=hi).contains(&v) {
        Ok(v as u32)
    } else {
        Err(ApiError::InvalidArgument {
            field: field.into(),
            reason: format!("must be between {lo} and {hi}, got {v}"),
        })
    }
}

fn moved_to_pb(
    m: &crate::routing::Moved,
    rec_region: &str,
    branch: &str,
) -> (i32, Option<pb::Destination>) {
    (
        state_to_pb(m.state.as_str()) as i32,
        m.destination
            .as_ref()
            .map(|d| destination_to_pb(d, rec_region, branch)),
    )
}

type BoxStream<T> = Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl pb::intake_server::Intake for Api {
    async fn submit_interaction(
        &self,
        req: Request<pb::SubmitInteractionRequest>,
    ) -> Result<Response<pb::SubmitInteractionResponse>, Status> {
        self.observed("SubmitInteraction", async {
            self.robot(&req)?;
            self.decode_and_submit(req.into_inner().interaction).await
        })
        .await
    }

    type SubmitInteractionsStream = BoxStream<pb::SubmitInteractionsResponse>;

    async fn submit_interactions(
        &self,
        req: Request<Streaming<pb::SubmitInteractionsRequest>>,
    ) -> Result<Response<Self::SubmitInteractionsStream>, Status> {
        self.observed("SubmitInteractions", async {
            self.robot(&req)?;
            let mut inbound = req.into_inner();
            let window = self.stream_window;
            let (tx, rx) = tokio::sync::mpsc::channel(window);
            let api = self.clone();
            let shutdown = self.shutdown.clone();
            // At most `window` items in flight: the inbound stream is not read
            // further until results are sent, which is the back-pressure.
            self.tasks.spawn(async move {
                let mut in_flight = FuturesUnordered::new();
                let mut open = true;
                loop {
                    tokio::select! {
                        // On shutdown, stop reading: finish what is in flight.
                        _ = shutdown.cancelled(), if open => open = false,
                        item = inbound.next(), if open && in_flight.len() < window => match item {
                            Some(Ok(item)) => {
                                let api = api.clone();
                                in_flight.push(async move {
                                    let seq = item.sequence;
                                    let iid = item.interaction.as_ref().map(|i| i.interaction_id.clone()).unwrap_or_default();
                                    let result = match api.decode_and_submit(item.interaction).await {
                                        Ok(r) => pb::submit_interactions_response::ItemResult::Result(r),
                                        Err(e) => {
                                            let s = Status::from(e);
                                            pb::submit_interactions_response::ItemResult::Error(pb::ItemError {
                                                code: s.code() as i32,
                                                message: s.message().to_string(),
                                            })
                                        }
                                    };
                                    pb::SubmitInteractionsResponse { sequence: seq, interaction_id: iid, item_result: Some(result) }
                                });
                            }
                            Some(Err(status)) => {
                                let _ = tx.send(Err(status)).await;
                                open = false;
                            }
                            None => open = false,
                        },
                        Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                            if tx.send(Ok(done)).await.is_err() {
                                return; // client went away
                            }
                        }
                        else => break,
                    }
                }
            });
            Ok(Box::pin(ReceiverStream::new(rx)) as Self::SubmitInteractionsStream)
        })
        .await
    }
}

#[tonic::async_trait]
impl pb::remote_desk_server::RemoteDesk for Api {
    async fn pull_leads(
        &self,
        req: Request<pb::PullLeadsRequest>,
    ) -> Result<Response<pb::PullLeadsResponse>, Status> {
        self.observed("PullLeads", async {
            let me = self.remote(&req)?;
            let r = req.into_inner();
            let max = bounded(r.max_leads, 1, 50, "max_leads")?;
            let lease = r
                .lease_seconds
                .map(|s| bounded(s, 60, 3600, "lease_seconds"))
                .transpose()?
                .map(|s| Duration::from_secs(s as u64));
            let leases = self.funnel.router.pull(&me, max, lease).await?;
            // The pull script returns what the list shows: no further reads.
            let leads = leases
                .iter()
                .map(|l| pb::LeasedLead {
                    lead: Some(summary_to_pb(&l.summary)),
                    lease_id: l.lease_id.clone(),
                    lease_expires_at: Some(ms_to_timestamp(l.expires_at_ms)),
                })
                .collect();
            Ok(pb::PullLeadsResponse { leads })
        })
        .await
    }

    async fn get_lead(
        &self,
        req: Request<pb::GetLeadRequest>,
    ) -> Result<Response<pb::Lead>, Status> {
        self.observed("GetLead", async {
            let who = self.tokens.principal(&req)?;
            let id = lead_id(&req.get_ref().lead_id)?;
            let rec = self.funnel.router.get_lead(&id).await?;
            self.may_read(&who, &rec)?;
            Ok(lead_to_pb(&rec))
        })
        .await
    }

    async fn complete_lead(
        &self,
        req: Request<pb::CompleteLeadRequest>,
    ) -> Result<Response<pb::CompleteLeadResponse>, Status> {
        self.observed("CompleteLead", async {
            let me = self.remote(&req)?;
            let r = req.into_inner();
            let id = lead_id(&r.lead_id)?;
            require(&r.lease_id, "lease_id")?;
            let outcome = remote_outcome_from_pb(r.outcome)?;
            let callback = r.callback_at.as_ref().map(timestamp_to_ms);
            let moved = self
                .funnel
                .router
                .complete(&me, &id, &r.lease_id, outcome, callback, &r.note)
                .await?;
            let region = id
                .origin_region()
                .map(|r| r.to_string())
                .unwrap_or_default();
            let (state, destination) = moved_to_pb(&moved, &region, "");
            Ok(pb::CompleteLeadResponse { state, destination })
        })
        .await
    }

    async fn release_lead(
        &self,
        req: Request<pb::ReleaseLeadRequest>,
    ) -> Result<Response<pb::ReleaseLeadResponse>, Status> {
        self.observed("ReleaseLead", async {
            let me = self.remote(&req)?;
            let r = req.into_inner();
            require(&r.lease_id, "lease_id")?;
            self.funnel
                .router
                .release(&me, &lead_id(&r.lead_id)?, &r.lease_id)
                .await?;
            Ok(pb::ReleaseLeadResponse {})
        })
        .await
    }

    async fn extend_lease(
        &self,
        req: Request<pb::ExtendLeaseRequest>,
    ) -> Result<Response<pb::ExtendLeaseResponse>, Status> {
        self.observed("ExtendLease", async {
            let me = self.remote(&req)?;
            let r = req.into_inner();
            require(&r.lease_id, "lease_id")?;
            let by = bounded(r.extend_seconds, 1, 3600, "extend_seconds")?;
            let until = self
                .funnel
                .router
                .extend(
                    &me,
                    &lead_id(&r.lead_id)?,
                    &r.lease_id,
                    Duration::from_secs(by as u64),
                )
                .await?;
            Ok(pb::ExtendLeaseResponse {
                lease_expires_at: Some(ms_to_timestamp(until)),
            })
        })
        .await
    }

    async fn escalate_lead(
        &self,
        req: Request<pb::EscalateLeadRequest>,
    ) -> Result<Response<pb::EscalateLeadResponse>, Status> {
        self.observed("EscalateLead", async {
            let me = self.remote(&req)?;
            let r = req.into_inner();
            require(&r.lease_id, "lease_id")?;
            require(&r.reason, "reason")?;
            let id = lead_id(&r.lead_id)?;
            let moved = self
                .funnel
                .router
                .escalate(&me, &id, &r.lease_id, &r.reason)
                .await?;
            let region = id
                .origin_region()
                .map(|r| r.to_string())
                .unwrap_or_default();
            Ok(pb::EscalateLeadResponse {
                destination: moved_to_pb(&moved, &region, "").1,
            })
        })
        .await
    }
}

/// Why an offer disappeared from a manager's pending list.
fn withdraw_reason(rec: Option<&LeadRecord>, me: &ManagerId) -> Option<pb::WithdrawReason> {
    let Some(rec) = rec else {
        return Some(pb::WithdrawReason::Superseded);
    };
    // The last thing that happened to this lead that concerns me.
    let last = rec.history.iter().rev().find(|e| {
        e.manager == me.as_str()
            && matches!(
                e.action.as_str(),
                "offer_timed_out" | "offer_withdrawn" | "declined" | "accepted"
            )
    });
    match last.map(|e| e.action.as_str()) {
        // I accepted or declined it myself: nothing to tell me.
        Some("accepted") | Some("declined") => None,
        Some("offer_timed_out") => Some(pb::WithdrawReason::TimedOut),
        Some("offer_withdrawn") => Some(pb::WithdrawReason::ManagerUnavailable),
        _ => Some(pb::WithdrawReason::Superseded),
    }
}

#[tonic::async_trait]
impl pb::referrals_server::Referrals for Api {
    type WatchReferralsStream = BoxStream<pb::ReferralEvent>;

    async fn watch_referrals(
        &self,
        req: Request<pb::WatchReferralsRequest>,
    ) -> Result<Response<Self::WatchReferralsStream>, Status> {
        self.observed("WatchReferrals", async {
            let me = self.offline(&req)?;
            let (tx, rx) = tokio::sync::mpsc::channel(64);
            let api = self.clone();
            self.tasks.spawn(async move {
                let router = &api.funnel.router;
                let mut known: HashMap<String, LeadId> = HashMap::new();
                let mut synced = false;
                let shutdown = api.shutdown.clone();
                let wake = api.funnel.offer_events.watch(me.as_str());
                loop {
                    // Register for wake-ups before reading, so no change is missed.
                    let changed = wake.notified();
                    tokio::pin!(changed);
                    changed.as_mut().enable();
                    let now = Some(ms_to_timestamp(router.now_ms()));
                    match router.pending_offers(&me).await {
                        Ok(pending) => {
                            let current: HashMap<String, _> = pending.iter().map(|o| (o.offer_id.clone(), o)).collect();
                            for o in &pending {
                                if known.contains_key(&o.offer_id) {
                                    continue;
                                }
                                let Ok(rec) = router.get_lead(&o.lead_id).await else { continue };
                                // Between the reads the offer may have moved on: never show
                                // a lead to a manager it is not offered to.
                                let still_mine = rec.field("state") == "referral_offered"
                                    && rec.owner().as_ref() == Some(&me)
                                    && rec.field("offer_id") == o.offer_id;
                                if !still_mine {
                                    continue;
                                }
                                let ev = pb::referral_event::Event::Offered(pb::ReferralOffered {
                                    offer_id: o.offer_id.clone(),
                                    lead: Some(lead_to_pb(&rec)),
                                    accept_by: Some(ms_to_timestamp(o.accept_by_ms)),
                                    reason: rec.history.last().map(|e| e.reason.clone()).unwrap_or_default(),
                                });
                                if tx.send(Ok(pb::ReferralEvent { at: now, event: Some(ev) })).await.is_err() {
                                    return;
                                }
                                known.insert(o.offer_id.clone(), o.lead_id.clone());
                            }
                            let gone: Vec<(String, LeadId)> = known
                                .iter()
                                .filter(|(k, _)| !current.contains_key(*k))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect();
                            for (offer_id, lead) in gone {
                                known.remove(&offer_id);
                                let rec = router.get_lead(&lead).await.ok();
                                if let Some(reason) = withdraw_reason(rec.as_ref(), &me) {
                                    let ev = pb::referral_event::Event::Withdrawn(pb::ReferralWithdrawn {
                                        offer_id,
                                        lead_id: lead.to_string(),
                                        reason: reason as i32,
                                    });
                                    if tx.send(Ok(pb::ReferralEvent { at: now, event: Some(ev) })).await.is_err() {
                                        return;
                                    }
                                }
                            }
                            if !synced {
                                synced = true;
                                let ev = pb::referral_event::Event::Synced(pb::ReferralsSynced { pending_offers: known.len() as i32 });
                                if tx.send(Ok(pb::ReferralEvent { at: now, event: Some(ev) })).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Err(e) => {
                            // Redis down: tell the client, which reconnects and resyncs.
                            let _ = tx.send(Err(Status::from(ApiError::from(e)))).await;
                            return;
                        }
                    }
                    tokio::select! {
                        _ = &mut changed => {}
                        _ = tokio::time::sleep(api.watch_poll) => {}
                        _ = tx.closed() => return,
                        _ = shutdown.cancelled() => {
                            let _ = tx.send(Err(Status::unavailable("server shutting down; reconnect"))).await;
                            return;
                        }
                    }
                }
            });
            Ok(Box::pin(ReceiverStream::new(rx)) as Self::WatchReferralsStream)
        })
        .await
    }

    async fn accept_referral(
        &self,
        req: Request<pb::AcceptReferralRequest>,
    ) -> Result<Response<pb::AcceptReferralResponse>, Status> {
        self.observed("AcceptReferral", async {
            let me = self.offline(&req)?;
            let r = req.into_inner();
            require(&r.offer_id, "offer_id")?;
            let id = lead_id(&r.lead_id)?;
            self.funnel.router.accept(&me, &id, &r.offer_id).await?;
            let rec = self.funnel.router.get_lead(&id).await?;
            Ok(pb::AcceptReferralResponse {
                lead: Some(lead_to_pb(&rec)),
            })
        })
        .await
    }

    async fn decline_referral(
        &self,
        req: Request<pb::DeclineReferralRequest>,
    ) -> Result<Response<pb::DeclineReferralResponse>, Status> {
        self.observed("DeclineReferral", async {
            let me = self.offline(&req)?;
            let r = req.into_inner();
            require(&r.offer_id, "offer_id")?;
            require(&r.reason, "reason")?;
            self.funnel
                .router
                .decline(&me, &lead_id(&r.lead_id)?, &r.offer_id, &r.reason)
                .await?;
            Ok(pb::DeclineReferralResponse {})
        })
        .await
    }

    async fn complete_referral(
        &self,
        req: Request<pb::CompleteReferralRequest>,
    ) -> Result<Response<pb::CompleteReferralResponse>, Status> {
        self.observed("CompleteReferral", async {
            let me = self.offline(&req)?;
            let r = req.into_inner();
            let id = lead_id(&r.lead_id)?;
            let outcome = referral_outcome_from_pb(r.outcome)?;
            let moved = self
                .funnel
                .router
                .complete_referral(&me, &id, outcome, &r.note)
                .await?;
            let region = id
                .origin_region()
                .map(|r| r.to_string())
                .unwrap_or_default();
            let (state, destination) = moved_to_pb(&moved, &region, "");
            Ok(pb::CompleteReferralResponse { state, destination })
        })
        .await
    }
}

#[tonic::async_trait]
impl pb::admin_server::Admin for Api {
    async fn upsert_manager(
        &self,
        req: Request<pb::UpsertManagerRequest>,
    ) -> Result<Response<pb::Manager>, Status> {
        self.observed("UpsertManager", async {
            self.admin(&req)?;
            let m = req
                .into_inner()
                .manager
                .ok_or_else(|| ApiError::InvalidArgument {
                    field: "manager".into(),
                    reason: "is required".into(),
                })?;
            let m = manager_from_pb(m)?;
            self.funnel.router.upsert_manager(&m).await?;
            Ok(manager_to_pb(&self.funnel.router.get_manager(&m.id).await?))
        })
        .await
    }

    async fn set_availability(
        &self,
        req: Request<pb::SetAvailabilityRequest>,
    ) -> Result<Response<pb::Manager>, Status> {
        self.observed("SetAvailability", async {
            self.admin(&req)?;
            let r = req.into_inner();
            let id = manager_id(&r.manager_id, "manager_id")?;
            self.funnel
                .router
                .set_availability(&id, r.available)
                .await?;
            Ok(manager_to_pb(&self.funnel.router.get_manager(&id).await?))
        })
        .await
    }

    async fn get_manager(
        &self,
        req: Request<pb::GetManagerRequest>,
    ) -> Result<Response<pb::Manager>, Status> {
        self.observed("GetManager", async {
            self.admin(&req)?;
            let id = manager_id(&req.get_ref().manager_id, "manager_id")?;
            Ok(manager_to_pb(&self.funnel.router.get_manager(&id).await?))
        })
        .await
    }

    async fn get_queue_stats(
        &self,
        req: Request<pb::GetQueueStatsRequest>,
    ) -> Result<Response<pb::GetQueueStatsResponse>, Status> {
        self.observed("GetQueueStats", async {
            self.admin(&req)?;
            let region = req
                .get_ref()
                .region_id
                .as_deref()
                .map(|r| region_id(r, "region_id"))
                .transpose()?;
            let stats = self.funnel.router.queue_stats(region.as_ref()).await?;
            let mut queues = Vec::new();
            for q in &stats.queues {
                let kind = queue_kind_to_pb(&q.queue) as i32;
                let owner = if q.owner.is_empty() {
                    q.region.clone()
                } else {
                    q.owner.clone()
                };
                let counted = q.buckets.high + q.buckets.medium + q.buckets.low;
                for (bucket, depth) in [
                    (pb::Bucket::High, q.buckets.high),
                    (pb::Bucket::Medium, q.buckets.medium),
                    (pb::Bucket::Low, q.buckets.low),
                    (pb::Bucket::Unspecified, q.depth.saturating_sub(counted)),
                ] {
                    if depth > 0 {
                        queues.push(pb::QueueStat {
                            region_id: q.region.clone(),
                            queue: kind,
                            owner_id: owner.clone(),
                            bucket: bucket as i32,
                            depth: depth as i64,
                            oldest_age_seconds: q.oldest_age_ms / 1000,
                        });
                    }
                }
            }
            let managers = stats
                .managers
                .iter()
                .map(|m| pb::ManagerLoad {
                    manager_id: m.manager.clone(),
                    tier: crate::domain::ManagerTier::parse(&m.tier)
                        .map(tier_to_pb)
                        .unwrap_or(pb::ManagerTier::Unspecified) as i32,
                    region_id: m.region.clone(),
                    held: m.held as i32,
                    capacity: m.capacity as i32,
                    pending_offers: m.pending_offers as i32,
                    available: m.available,
                })
                .collect();
            Ok(pb::GetQueueStatsResponse { queues, managers })
        })
        .await
    }

    async fn get_audit_trail(
        &self,
        req: Request<pb::GetAuditTrailRequest>,
    ) -> Result<Response<pb::GetAuditTrailResponse>, Status> {
        self.observed("GetAuditTrail", async {
            self.admin(&req)?;
            let id = lead_id(&req.get_ref().lead_id)?;
            let events = self.funnel.router.audit_trail(&id).await?;
            Ok(pb::GetAuditTrailResponse {
                events: events.iter().map(audit_to_pb).collect(),
            })
        })
        .await
    }

    async fn get_model_info(
        &self,
        req: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::GetModelInfoResponse>, Status> {
        self.observed("GetModelInfo", async {
            self.tokens.principal(&req)?;
            let m = self.funnel.scorer.manifest();
            let evaluation = match &m.evaluation {
                serde_json::Value::Object(map) => map
                    .iter()
                    .filter_map(|(k, v)| v.as_f64().map(|f| (k.clone(), f)))
                    .collect(),
                _ => HashMap::new(),
            };
            Ok(pb::GetModelInfoResponse {
                model_version: m.model_version.clone(),
                text_model_version: m.files.text_model.version.clone(),
                tabular_model_version: m.files.tabular_model.version.clone(),
                intents: m.intents.iter().map(|i| intent_to_pb(i) as i32).collect(),
                high_threshold: m.buckets.high,
                medium_threshold: m.buckets.medium,
                max_transcript_chars: m.transcript.max_chars as i32,
                max_tokens: m.transcript.max_tokens as i32,
                features: m
                    .features
                    .iter()
                    .map(|f| pb::FeatureSpec {
                        name: if f.name == "duration_s" {
                            "duration_seconds".into()
                        } else {
                            f.name.clone()
                        },
                        source: f.source.clone(),
                        value_type: f.value_type.clone(),
                        min: f.min,
                        max: f.max,
                        default_value: match &f.default {
                            serde_json::Value::Null => String::new(),
                            serde_json::Value::String(s) => s.clone(),
                            v => v.to_string(),
                        },
                        description: f.description.clone(),
                    })
                    .collect(),
                evaluation,
            })
        })
        .await
    }
}
