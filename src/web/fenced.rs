//! The request of every call a manager makes on one lead it holds: who
//! (the bearer token, of the right tier), which lead (the path), and the
//! JSON body carrying the lease or offer id that fences the call. Extracted
//! once here, so each handler is only its `Funnel` call.

use super::{Caller, Web};
use crate::api::auth::Principal;
use crate::api::error::ApiError;
use crate::domain::ManagerId;
use crate::routing::{LeaseRef, OfferRef};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;

/// A body that names what fences its call (`lease_id` or `offer_id`), and
/// the tier of manager who may send it. Implemented with [`fence!`].
pub trait Fence: DeserializeOwned + Send {
    const FIELD: &'static str;
    fn manager(who: Principal) -> Result<ManagerId, ApiError>;
    fn fence(&self) -> &str;
}

/// Fenced by a remote manager's lease.
pub trait UnderLease: Fence {}

/// Fenced by an offer made to an offline manager.
pub trait UnderOffer: Fence {}

/// `fence!(UnderLease, lease_id, remote: CompleteBody, LeaseBody)`: these
/// bodies are fenced by their `lease_id`, sent by remote managers.
macro_rules! fence {
    ($kind:ident, $field:ident, $tier:ident: $($body:ty),+) => {
        $(impl $crate::web::fenced::Fence for $body {
            const FIELD: &'static str = stringify!($field);
            fn manager(
                who: $crate::api::auth::Principal,
            ) -> Result<$crate::domain::ManagerId, $crate::api::error::ApiError> {
                who.$tier()
            }
            fn fence(&self) -> &str {
                &self.$field
            }
        }
        impl $crate::web::fenced::$kind for $body {})+
    };
}
pub(crate) use fence;

/// A manager's call on one lead, fenced by the body's lease or offer id.
pub struct Fenced<B> {
    pub on: crate::api::Fenced,
    pub body: B,
}

/// A remote manager's call on a lead it leased.
pub type Leased<B> = Fenced<B>;
/// An offline manager's call on a lead offered to it.
pub type Offered<B> = Fenced<B>;

impl<B: UnderLease> Fenced<B> {
    pub fn lease(&self) -> LeaseRef<'_> {
        self.on.lease()
    }
}

impl<B: UnderOffer> Fenced<B> {
    pub fn offer(&self) -> OfferRef<'_> {
        self.on.offer()
    }
}

impl<B: Fence> FromRequest<Web> for Fenced<B> {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web) -> Result<Self, Response> {
        let (who, lead, body) = extract::<B>(req, web).await?;
        let on = B::manager(who)
            .and_then(|me| crate::api::Fenced::new(me, &lead, body.fence().to_string(), B::FIELD))
            .map_err(|e| super::WebError(e).into_response())?;
        Ok(Self { on, body })
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
