//! The request of every call a manager makes on one lead it holds: who
//! (the bearer token, of the right tier), which lead (the path), and the
//! JSON body carrying the lease or offer id that fences the call. Extracted
//! once here, so each handler is only its `Funnel` call.

use super::{Caller, Web};
use crate::api::auth::Principal;
use crate::api::convert::lead_id;
use crate::api::error::ApiError;
use crate::api::require;
use crate::domain::{LeadId, ManagerId};
use crate::routing::{LeaseRef, OfferRef};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;

/// A body that acts under a remote manager's lease.
pub trait UnderLease: DeserializeOwned + Send {
    fn lease_id(&self) -> &str;
}

/// A body that acts under an offline manager's offer.
pub trait UnderOffer: DeserializeOwned + Send {
    fn offer_id(&self) -> &str;
}

/// A remote manager's call on a lead it leased.
pub struct Leased<B> {
    pub me: ManagerId,
    pub lead: LeadId,
    pub body: B,
}

impl<B: UnderLease> Leased<B> {
    pub fn lease(&self) -> LeaseRef<'_> {
        LeaseRef {
            manager: &self.me,
            lead: &self.lead,
            lease_id: self.body.lease_id(),
        }
    }
}

/// An offline manager's call on a lead offered to it.
pub struct Offered<B> {
    pub me: ManagerId,
    pub lead: LeadId,
    pub body: B,
}

impl<B: UnderOffer> Offered<B> {
    pub fn offer(&self) -> OfferRef<'_> {
        OfferRef {
            manager: &self.me,
            lead: &self.lead,
            offer_id: self.body.offer_id(),
        }
    }
}

impl<B: UnderLease> FromRequest<Web> for Leased<B> {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web) -> Result<Self, Response> {
        let (who, lead, body) = extract::<B>(req, web).await?;
        let fenced = || -> Result<_, ApiError> {
            let me = who.remote()?;
            require(body.lease_id(), "lease_id")?;
            Ok((me, lead_id(&lead)?))
        };
        let (me, lead) = fenced().map_err(rejected)?;
        Ok(Self { me, lead, body })
    }
}

impl<B: UnderOffer> FromRequest<Web> for Offered<B> {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web) -> Result<Self, Response> {
        let (who, lead, body) = extract::<B>(req, web).await?;
        let fenced = || -> Result<_, ApiError> {
            let me = who.offline()?;
            require(body.offer_id(), "offer_id")?;
            Ok((me, lead_id(&lead)?))
        };
        let (me, lead) = fenced().map_err(rejected)?;
        Ok(Self { me, lead, body })
    }
}

/// Caller first (an unauthenticated call learns nothing of the path or the
/// body), then the `{lead}` path segment, then the JSON body; axum's own
/// rejections answer malformed paths and bodies as before.
async fn extract<B: DeserializeOwned>(
    req: Request,
    web: &Web,
) -> Result<(Principal, String, B), Response> {
    let (mut parts, body) = req.into_parts();
    let Caller(who) = Caller::from_request_parts(&mut parts, web)
        .await
        .map_err(IntoResponse::into_response)?;
    let Path(lead) = Path::<String>::from_request_parts(&mut parts, web)
        .await
        .map_err(IntoResponse::into_response)?;
    let Json(body) = Json::<B>::from_request(Request::from_parts(parts, body), web)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((who, lead, body))
}

fn rejected(e: ApiError) -> Response {
    super::WebError(e).into_response()
}
