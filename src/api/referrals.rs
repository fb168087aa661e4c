//! ReferralsService: branch managers watch, accept, decline and complete referrals.

use super::convert::*;
use super::observe::{require, Fenced};
use super::{pb, Api};
use crate::api::error::ApiError;
use crate::routing::Assignment;
use crate::service::{ReferralChange, WithdrawReason};
use futures::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use pb::watch_referrals_response::Event;

fn change_to_pb(change: ReferralChange, now_ms: i64) -> pb::WatchReferralsResponse {
    let event = match change {
        ReferralChange::Offered {
            offer,
            lead,
            reason,
        } => Event::Offered(pb::ReferralOffered {
            offer_id: offer.offer_id,
            lead: Some(lead_to_pb(&lead)),
            accept_by: Some(ms_to_timestamp(offer.accept_by)),
            reason,
        }),
        ReferralChange::Withdrawn {
            offer_id,
            lead_id,
            reason,
        } => Event::Withdrawn(pb::ReferralWithdrawn {
            offer_id,
            lead_id: lead_id.to_string(),
            reason: match reason {
                WithdrawReason::TimedOut => pb::WithdrawReason::TimedOut,
                WithdrawReason::ManagerUnavailable => pb::WithdrawReason::ManagerUnavailable,
                WithdrawReason::Superseded => pb::WithdrawReason::Superseded,
            } as i32,
        }),
        ReferralChange::Synced { pending } => Event::Synced(pb::ReferralsSynced {
            pending_offers: pending as i32,
        }),
    };
    pb::WatchReferralsResponse {
        at: Some(ms_to_timestamp(now_ms)),
        event: Some(event),
    }
}

use super::BoxStream;

#[tonic::async_trait]
impl pb::referrals_service_server::ReferralsService for Api {
    type WatchReferralsStream = BoxStream<pb::WatchReferralsResponse>;

    async fn watch_referrals(
        &self,
        req: Request<pb::WatchReferralsRequest>,
    ) -> Result<Response<Self::WatchReferralsStream>, Status> {
        self.observed("WatchReferrals", async {
            let me = self.offline(&req)?;
            let changes = self
                .funnel
                .watch_referrals(me, self.shutdown.clone(), &self.tasks);
            let funnel = self.funnel.clone();
            let stream = ReceiverStream::new(changes).map(move |c| {
                c.map(|c| change_to_pb(c, funnel.now_ms()))
                    .map_err(|e| Status::from(ApiError::from(e)))
            });
            Ok(Box::pin(stream) as Self::WatchReferralsStream)
        })
        .await
    }

    async fn list_my_referrals(
        &self,
        req: Request<pb::ListMyReferralsRequest>,
    ) -> Result<Response<pb::ListMyReferralsResponse>, Status> {
        self.observed("ListMyReferrals", async {
            let me = self.offline(&req)?;
            let pb::ListMyReferralsRequest {} = req.into_inner();
            let work = self.funnel.my_work(&me).await?;
            let mine = |items: &[Assignment]| -> Vec<pb::MyReferral> {
                items
                    .iter()
                    .map(|a| pb::MyReferral {
                        lead: Some(summary_to_pb(&a.lead, None)),
                        offer_id: a.lead.offer_id.clone().unwrap_or_default(),
                        due_at: Some(ms_to_timestamp(a.due_at)),
                    })
                    .collect()
            };
            Ok(pb::ListMyReferralsResponse {
                offered: mine(&work.offers),
                accepted: mine(&work.held),
            })
        })
        .await
    }

    async fn accept_referral(
        &self,
        req: Request<pb::AcceptReferralRequest>,
    ) -> Result<Response<pb::AcceptReferralResponse>, Status> {
        self.observed("AcceptReferral", async {
            let me = self.offline(&req)?;
            let pb::AcceptReferralRequest {
                lead_id: id,
                offer_id,
            } = req.into_inner();
            let call = Fenced::new(me, &id, offer_id, "offer_id")?;
            let rec = self.funnel.accept(call.offer()).await?;
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
            let pb::DeclineReferralRequest {
                lead_id: id,
                offer_id,
                reason,
                category,
            } = req.into_inner();
            let call = Fenced::new(me, &id, offer_id, "offer_id")?;
            require(&reason, "reason")?;
            let category = decline_category_from_pb(category)?;
            self.funnel.decline(call.offer(), &reason, category).await?;
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
            let pb::CompleteReferralRequest {
                lead_id: id,
                outcome,
                note,
                offer_id,
            } = req.into_inner();
            let call = Fenced::new(me, &id, offer_id, "offer_id")?;
            let outcome = referral_outcome_from_pb(outcome)?;
            let moved = self
                .funnel
                .complete_referral(call.offer(), outcome, &note)
                .await?;
            let (state, destination) = moved_to_pb(&moved);
            Ok(pb::CompleteReferralResponse {
                state: state as i32,
                destination,
            })
        })
        .await
    }
}
