//! The remote manager's desk: pull under a lease, my leads, the lead page,
//! outcomes. Each handler is its RemoteDeskService twin's body with JSON in
//! place of protobuf: same role rule, same bounds, same `Funnel` call.

use super::dto::{AssignmentJson, LeadPage, LeaseJson, MovedJson};
use super::fenced::{fence, Leased};
use super::{now, Caller, Web, WebError, WebResult};
use crate::api::convert::{lead_id, request_id_from};
use crate::api::error::ApiError;
use crate::api::{bounded, reader, require};
use crate::domain::RemoteOutcome;
use crate::routing::Completion;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullBody {
    pub max: i32,
    pub lease_seconds: Option<i32>,
    /// Made by the page once per click and resent on a retry, so a retried
    /// or doubled pull answers the leases of the first.
    pub request_id: String,
}

#[derive(Debug, Serialize)]
pub struct Leases {
    pub leases: Vec<LeaseJson>,
    pub now: i64,
}

#[tracing::instrument(skip_all, fields(web = "pull"))]
pub async fn pull(
    web: State<Web>,
    Caller(p): Caller,
    Json(body): Json<PullBody>,
) -> WebResult<Leases> {
    let me = p.remote()?;
    // Required here, unlike gRPC: a page that sent none could not retry safely.
    require(&body.request_id, "request_id")?;
    let request_id = request_id_from(&body.request_id)?;
    let max = bounded(body.max, 1, 50, "max")?;
    let lease = body
        .lease_seconds
        .map(|s| bounded(s, 60, 3600, "lease_seconds"))
        .transpose()?
        .map(|s| Duration::from_secs(s.into()));
    let leases = web.funnel.pull(&me, max, lease, &request_id).await?;
    Ok(Json(Leases {
        leases: leases.iter().map(LeaseJson::from).collect(),
        now: now(&web),
    }))
}

#[derive(Debug, Serialize)]
pub struct Mine {
    pub leases: Vec<LeaseJson>,
    /// Call-backs whose time came, waiting in my own queue (the next pull
    /// takes them first), oldest first; `due_at` is when each came due.
    pub callbacks: Vec<AssignmentJson>,
    pub now: i64,
}

/// My leads: what I hold now, with each lease's expiry, and my due
/// call-backs (ListMyLeads: the same `my_work` call).
#[tracing::instrument(skip_all, fields(web = "mine"))]
pub async fn mine(web: State<Web>, Caller(p): Caller) -> WebResult<Mine> {
    let me = p.remote()?;
    let work = web.funnel.my_work(&me).await?;
    let leases = work
        .held
        .iter()
        .map(|a| LeaseJson {
            lead: (&a.lead).into(),
            lease_id: a.lead.lease_id.clone().unwrap_or_default(),
            expires_at: a.due_at,
        })
        .collect();
    Ok(Json(Mine {
        leases,
        callbacks: work.callbacks.iter().map(AssignmentJson::from).collect(),
        now: now(&web),
    }))
}

/// The lead page, for whoever may read it (GetLead's rule).
#[tracing::instrument(skip_all, fields(web = "lead", lead = %lead))]
pub async fn lead(
    web: State<Web>,
    Caller(p): Caller,
    Path(lead): Path<String>,
) -> Result<Response, WebError> {
    let rec = web.funnel.get_lead(&reader(p), &lead_id(&lead)?).await?;
    Ok(Json(LeadPage::new(&rec, now(&web))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    pub lease_id: String,
    pub outcome: String,
    /// For `call_back`: when (ms since the epoch).
    pub callback_at: Option<i64>,
    #[serde(default)]
    pub note: String,
}

/// An outcome. Fenced by the lease: a repeat answers the recorded result
/// (`replayed`), a different call on the same lease is refused.
#[tracing::instrument(skip_all, fields(web = "complete", lead = %call.on.lead))]
pub async fn complete(web: State<Web>, call: Leased<CompleteBody>) -> WebResult<MovedJson> {
    let body = &call.body;
    let outcome =
        RemoteOutcome::parse(&body.outcome).map_err(|e| ApiError::invalid("outcome", &e.reason))?;
    let completion = Completion {
        outcome,
        callback_at: body.callback_at,
        note: &body.note,
    };
    let moved = web.funnel.complete(call.lease(), completion).await?;
    Ok(Json((&moved).into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseBody {
    pub lease_id: String,
}

#[derive(Debug, Serialize)]
pub struct Done {
    pub ok: bool,
}

#[tracing::instrument(skip_all, fields(web = "release", lead = %call.on.lead))]
pub async fn release(web: State<Web>, call: Leased<LeaseBody>) -> WebResult<Done> {
    web.funnel.release(call.lease()).await?;
    Ok(Json(Done { ok: true }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    pub lease_id: String,
    pub seconds: i32,
}

#[derive(Debug, Serialize)]
pub struct Extended {
    pub expires_at: i64,
    pub now: i64,
}

#[tracing::instrument(skip_all, fields(web = "extend", lead = %call.on.lead))]
pub async fn extend(web: State<Web>, call: Leased<ExtendBody>) -> WebResult<Extended> {
    let by = bounded(call.body.seconds, 1, 3600, "seconds")?;
    let by = Duration::from_secs(by.into());
    let until = web.funnel.extend(call.lease(), by).await?;
    Ok(Json(Extended {
        expires_at: until,
        now: now(&web),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateBody {
    pub lease_id: String,
    /// What the branch manager should know.
    pub note: String,
}

#[tracing::instrument(skip_all, fields(web = "escalate", lead = %call.on.lead))]
pub async fn escalate(web: State<Web>, call: Leased<EscalateBody>) -> WebResult<MovedJson> {
    require(&call.body.note, "note")?;
    let moved = web.funnel.escalate(call.lease(), &call.body.note).await?;
    Ok(Json((&moved).into()))
}

fence!(UnderLease, lease_id, remote: CompleteBody, LeaseBody, ExtendBody, EscalateBody);
