//! The branch manager's page: live referrals (Server-Sent Events fed by the
//! very watch loop behind `WatchReferrals`), accept, decline, complete.

use super::dto::{AssignmentJson, LeadJson, LeadPage, MovedJson};
use super::fenced::{fence, Offered};
use super::{now, Caller, Web, WebError, WebResult};
use crate::api::error::ApiError;
use crate::api::require;
use crate::domain::{DeclineCategory, ReferralOutcome};
use crate::service::{ReferralChange, WithdrawReason};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use tokio_stream::wrappers::ReceiverStream;

#[derive(Debug, Serialize)]
pub struct Referrals {
    pub offered: Vec<AssignmentJson>,
    pub accepted: Vec<AssignmentJson>,
    pub now: i64,
}

/// Offers waiting for me and referrals I accepted (ListMyReferrals).
#[tracing::instrument(skip_all, fields(web = "referrals"))]
pub async fn referrals(web: State<Web>, Caller(p): Caller) -> WebResult<Referrals> {
    let me = p.offline()?;
    let work = web.funnel.my_work(&me).await?;
    Ok(Json(Referrals {
        offered: work.offers.iter().map(AssignmentJson::from).collect(),
        accepted: work.held.iter().map(AssignmentJson::from).collect(),
        now: now(&web),
    }))
}

#[derive(Serialize)]
struct OfferEvent<'a> {
    offer_id: &'a str,
    accept_by: i64,
    reason: &'a str,
    lead: LeadJson,
    now: i64,
}

#[derive(Serialize)]
struct Withdrawn<'a> {
    offer_id: &'a str,
    lead_id: String,
    reason: &'static str,
}

/// One change as an SSE event named after its kind.
fn change_event(change: &ReferralChange, now: i64) -> Event {
    let (name, data) = match change {
        ReferralChange::Offered {
            offer,
            lead,
            reason,
        } => (
            "offered",
            serde_json::to_string(&OfferEvent {
                offer_id: &offer.offer_id,
                accept_by: offer.accept_by,
                reason,
                lead: (&lead.lead).into(),
                now,
            }),
        ),
        ReferralChange::Withdrawn {
            offer_id,
            lead_id,
            reason,
        } => (
            "withdrawn",
            serde_json::to_string(&Withdrawn {
                offer_id,
                lead_id: lead_id.to_string(),
                reason: match reason {
                    WithdrawReason::TimedOut => "timed_out",
                    WithdrawReason::ManagerUnavailable => "manager_unavailable",
                    WithdrawReason::Superseded => "superseded",
                },
            }),
        ),
        ReferralChange::Synced { pending } => (
            "synced",
            serde_json::to_string(&serde_json::json!({ "pending": pending, "now": now })),
        ),
    };
    // These structs always serialize; an empty object is the safe fallback.
    Event::default()
        .event(name)
        .data(data.unwrap_or_else(|_| "{}".into()))
}

/// My offers as a live stream: everything pending first, then each change
/// as it happens (woken by the routing scripts' pub/sub nudge). The stream
/// ends after an `error` event when Redis fails or the server stops; the
/// page reconnects and is resent what is pending.
#[tracing::instrument(skip_all, fields(web = "events"))]
pub async fn events(web: State<Web>, Caller(p): Caller) -> Result<Response, WebError> {
    let me = p.offline()?;
    let changes = web
        .funnel
        .watch_referrals(me, web.shutdown.clone(), &web.tasks);
    let funnel = web.funnel.clone();
    let stream = ReceiverStream::new(changes).map(move |c| {
        Ok::<_, Infallible>(match c {
            Ok(change) => change_event(&change, funnel.now_ms()),
            Err(e) => {
                let status = tonic::Status::from(ApiError::from(e));
                Event::default().event("error").data(format!(
                    "{:?}: {}",
                    status.code(),
                    status.message()
                ))
            }
        })
    });
    let keepalive = KeepAlive::new().interval(web.keepalive);
    Ok(Sse::new(stream).keep_alive(keepalive).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferBody {
    pub offer_id: String,
}

/// Accepts an offer; answers the lead page as I now hold it.
#[tracing::instrument(skip_all, fields(web = "accept", lead = %call.on.lead))]
pub async fn accept(web: State<Web>, call: Offered<OfferBody>) -> Result<Response, WebError> {
    let rec = web.funnel.accept(call.offer()).await?;
    Ok(Json(LeadPage::new(&rec, now(&web))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclineBody {
    pub offer_id: String,
    pub reason: String,
    /// `DeclineCategory` (snake_case); absent: other.
    #[serde(default)]
    pub category: Option<String>,
}

/// Declines with a reason; the lead moves on to the next eligible manager.
#[tracing::instrument(skip_all, fields(web = "decline", lead = %call.on.lead))]
pub async fn decline(web: State<Web>, call: Offered<DeclineBody>) -> WebResult<MovedJson> {
    let body = &call.body;
    require(&body.reason, "reason")?;
    let category = match body.category.as_deref() {
        None | Some("") => DeclineCategory::Other,
        Some(c) => DeclineCategory::parse(c).map_err(|e| ApiError::invalid(&e.field, &e.reason))?,
    };
    let moved = web
        .funnel
        .decline(call.offer(), &body.reason, category)
        .await?;
    Ok(Json((&moved).into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    pub offer_id: String,
    /// converted | not_interested | return_to_remote | return_to_incubation
    pub outcome: String,
    #[serde(default)]
    pub note: String,
}

/// Records the outcome of an accepted referral (fenced by its offer id), or
/// hands it back to the remote team (`return_to_remote`).
#[tracing::instrument(skip_all, fields(web = "complete_referral", lead = %call.on.lead))]
pub async fn complete(web: State<Web>, call: Offered<CompleteBody>) -> WebResult<MovedJson> {
    let body = &call.body;
    let outcome = ReferralOutcome::parse(&body.outcome)
        .map_err(|e| ApiError::invalid("outcome", &e.reason))?;
    let moved = web
        .funnel
        .complete_referral(call.offer(), outcome, &body.note)
        .await?;
    Ok(Json((&moved).into()))
}

fence!(UnderOffer, offer_id, offline: OfferBody, DeclineBody, CompleteBody);
