//! What every handler shares: the caller's role, latency and status metrics.

use super::auth::Principal;
use super::error::ApiError;
use super::Api;
use crate::domain::{LeadId, ManagerId};
use crate::routing::{LeaseRef, OfferRef};
use std::time::Instant;
use tonic::{Request, Response, Status};

pub type ApiResult<T> = Result<T, ApiError>;

impl Api {
    /// Runs a handler body, records its latency and status code.
    pub(super) async fn observed<T>(
        &self,
        method: &'static str,
        body: impl std::future::Future<Output = ApiResult<T>>,
    ) -> Result<Response<T>, Status> {
        use tracing::Instrument;
        let t0 = Instant::now();
        // `otel.*`: the span's name and kind when exported over OTLP.
        let span = tracing::info_span!(
            "rpc",
            otel.name = method,
            otel.kind = "server",
            method,
            code = tracing::field::Empty
        );
        let result = body.instrument(span.clone()).await.map_err(Status::from);
        let code = result
            .as_ref()
            .map_or_else(|s| s.code(), |_| tonic::Code::Ok);
        span.record("code", tracing::field::debug(code));
        if let Err(status) = &result {
            tracing::debug!(parent: &span, code = ?status.code(), message = status.message(), "request failed");
        }
        self.funnel
            .metrics()
            .observe_request(method, code, t0.elapsed());
        result.map(Response::new)
    }

    /// The bearer token's principal; under mutual TLS, only if the client
    /// certificate's common name is that principal (`robot`, `admin`, the
    /// manager id), so a stolen token is useless without the key.
    pub(super) fn principal<T>(&self, req: &Request<T>) -> ApiResult<Principal> {
        let p = self.tokens.principal(req)?;
        if !self.mutual_tls {
            return Ok(p);
        }
        let certs = req.peer_certs();
        match certs
            .as_deref()
            .and_then(|c| crate::tls::peer_common_name(c))
        {
            Some(cn) if cn == p.identity() => Ok(p),
            Some(cn) => Err(ApiError::PermissionDenied(format!(
                "the client certificate names {cn:?}, the token {}",
                p.describe()
            ))),
            None => Err(ApiError::Unauthenticated(
                "a client certificate with a common name is required".into(),
            )),
        }
    }

    /// The caller, if `allow` accepts it; else PERMISSION_DENIED saying why.
    fn caller<T, R>(
        &self,
        req: &Request<T>,
        refusal: &str,
        allow: impl FnOnce(Principal) -> Result<R, Principal>,
    ) -> ApiResult<R> {
        allow(self.principal(req)?)
            .map_err(|p| ApiError::PermissionDenied(format!("{} {refusal}", p.describe())))
    }

    pub(super) fn robot<T>(&self, req: &Request<T>) -> ApiResult<()> {
        self.caller(req, "may not submit interactions", |p| match p {
            Principal::Robot | Principal::Admin => Ok(()),
            p => Err(p),
        })
    }

    pub(super) fn remote<T>(&self, req: &Request<T>) -> ApiResult<ManagerId> {
        self.principal(req)?.remote()
    }

    pub(super) fn offline<T>(&self, req: &Request<T>) -> ApiResult<ManagerId> {
        self.principal(req)?.offline()
    }

    pub(super) fn admin<T>(&self, req: &Request<T>) -> ApiResult<()> {
        self.caller(req, "is not an admin", |p| match p {
            Principal::Admin => Ok(()),
            p => Err(p),
        })
    }
}

/// A text field that must not be blank.
pub fn require(text: &str, field: &str) -> ApiResult<()> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid(field, "is required"));
    }
    Ok(())
}

/// An integer field within `lo..=hi`.
pub fn bounded(v: i32, lo: i32, hi: i32, field: &str) -> ApiResult<u32> {
    if (lo..=hi).contains(&v) {
        Ok(v as u32)
    } else {
        Err(ApiError::invalid(
            field,
            &format!("must be between {lo} and {hi}, got {v}"),
        ))
    }
}

/// A manager's call on one lead, fenced by a lease or offer id (required).
pub struct Fenced {
    pub me: ManagerId,
    pub lead: LeadId,
    pub fence: String,
}

impl Fenced {
    /// `fence` is the value of the request's `field` (`lease_id`, `offer_id`).
    pub fn new(me: ManagerId, lead: &str, fence: String, field: &str) -> ApiResult<Self> {
        require(&fence, field)?;
        let lead = super::convert::lead_id(lead)?;
        Ok(Self { me, lead, fence })
    }

    pub fn lease(&self) -> LeaseRef<'_> {
        LeaseRef {
            manager: &self.me,
            lead: &self.lead,
            lease_id: &self.fence,
        }
    }

    pub fn offer(&self) -> OfferRef<'_> {
        OfferRef {
            manager: &self.me,
            lead: &self.lead,
            offer_id: &self.fence,
        }
    }
}
