//! The managers' workbench: static pages embedded in the binary and a JSON
//! API under `/api/...` on a listener of its own (`web.listen`).
//!
//! Nothing here decides anything. A handler authenticates with the same
//! bearer tokens and role rules as the gRPC API (`api::auth`), validates with
//! the same helpers, calls the same `service::Funnel` use case as its gRPC
//! twin, and maps errors through the same error → status table
//! (`api::error`), so the two fronts cannot drift apart.

mod branch;
mod cockpit;
mod dto;
mod fenced;
mod remote;

use crate::api::auth::{Principal, Tokens};
use crate::api::error::ApiError;
use crate::service::{Funnel, FunnelError};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// `[web]` of the config: the workbench's listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Serve the workbench at all (a bank that only embeds the gRPC API in
    /// its own CRM turns it off).
    pub enabled: bool,
    /// Address of the pages and of `/api/...`.
    pub listen: SocketAddr,
    /// A comment line is sent on idle referral event streams this often, so
    /// proxies do not close them.
    #[serde(with = "humantime_serde")]
    pub keepalive: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "0.0.0.0:8080".parse().expect("addr"),
            keepalive: Duration::from_secs(15),
        }
    }
}

/// What every handler shares (the gRPC `Api`'s counterpart).
#[derive(Clone)]
pub struct Web {
    pub funnel: Arc<Funnel>,
    pub tokens: Arc<Tokens>,
    /// Cancelled when the server stops: ends open event streams.
    pub shutdown: CancellationToken,
    /// Where event streams spawn their watch loops (shutdown waits for them).
    pub tasks: TaskTracker,
    pub keepalive: Duration,
}

/// The pages, the scripts and the API.
pub fn router(web: Web) -> Router {
    Router::new()
        .route("/", get(|| page("sign in", None, INDEX_HTML)))
        .route(
            "/remote",
            get(|| page("remote desk", Some("remote"), REMOTE_HTML)),
        )
        .route(
            "/branch",
            get(|| page("branch referrals", Some("branch"), BRANCH_HTML)),
        )
        .route(
            "/cockpit",
            get(|| page("operations cockpit", Some("cockpit"), COCKPIT_HTML)),
        )
        .route("/static/common.js", get(|| script(COMMON_JS)))
        .route("/static/remote.js", get(|| script(REMOTE_JS)))
        .route("/static/branch.js", get(|| script(BRANCH_JS)))
        .route("/static/cockpit.js", get(|| script(COCKPIT_JS)))
        .route("/static/style.css", get(|| asset(STYLE_CSS, "text/css")))
        .route("/api/me", get(me))
        .route("/api/leads/{lead}", get(remote::lead))
        .route("/api/remote/pull", post(remote::pull))
        .route("/api/remote/mine", get(remote::mine))
        .route("/api/remote/leads/{lead}/complete", post(remote::complete))
        .route("/api/remote/leads/{lead}/release", post(remote::release))
        .route("/api/remote/leads/{lead}/extend", post(remote::extend))
        .route("/api/remote/leads/{lead}/escalate", post(remote::escalate))
        .route("/api/branch/referrals", get(branch::referrals))
        .route("/api/branch/events", get(branch::events))
        .route("/api/branch/leads/{lead}/accept", post(branch::accept))
        .route("/api/branch/leads/{lead}/decline", post(branch::decline))
        .route("/api/branch/leads/{lead}/complete", post(branch::complete))
        .route("/api/admin/webhooks", get(webhook_log))
        .route("/api/admin/funnel", get(cockpit::funnel))
        .route("/api/admin/queues", get(cockpit::queues))
        .route("/api/admin/lists/{list}", get(cockpit::list))
        .route("/api/admin/model", get(cockpit::model))
        .route_layer(axum::middleware::from_fn_with_state(web.clone(), observe))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page\n") })
        .with_state(web)
}

/// Times every routed request: `funnel_http_requests_total{route,status}`,
/// `funnel_http_request_duration_seconds{route}` (the route template, so
/// lead ids never become label values), and a `Server-Timing: app;dur=<ms>`
/// header (browsers' dev tools and `funnel bench-web` read it). The time is
/// until the response head: an event stream's life is not counted.
async fn observe(
    State(web): State<Web>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let t0 = std::time::Instant::now();
    let mut response = next.run(request).await;
    let elapsed = t0.elapsed();
    web.funnel
        .metrics()
        .observe_http(&route, response.status().as_u16(), elapsed);
    let timing = format!("app;dur={:.3}", elapsed.as_secs_f64() * 1000.0);
    if let Ok(v) = HeaderValue::from_str(&timing) {
        response.headers_mut().insert("server-timing", v);
    }
    response
}

/// Serves `router` on `listener` until `stop` is cancelled, over TLS when
/// `tls` is given (the pages carry bearer tokens).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    stop: CancellationToken,
) {
    let served = match tls {
        None => {
            axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        }
        Some(config) => serve_tls(listener, router, config, stop).await,
    };
    if let Err(e) = served {
        tracing::error!(error = %e, "workbench port failed");
    }
}

async fn serve_tls(
    listener: TcpListener,
    router: Router,
    config: axum_server::tls_rustls::RustlsConfig,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let on_stop = handle.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        on_stop.graceful_shutdown(None);
    });
    axum_server::tls_rustls::from_tcp_rustls(listener.into_std()?, config)?
        .handle(handle)
        .serve(router.into_make_service())
        .await
}

const INDEX_HTML: &str = include_str!("static/index.html");
const REMOTE_HTML: &str = include_str!("static/remote.html");
const BRANCH_HTML: &str = include_str!("static/branch.html");
const COMMON_JS: &str = include_str!("static/common.js");
const REMOTE_JS: &str = include_str!("static/remote.js");
const BRANCH_JS: &str = include_str!("static/branch.js");
const COCKPIT_HTML: &str = include_str!("static/cockpit.html");
const COCKPIT_JS: &str = include_str!("static/cockpit.js");
const STYLE_CSS: &str = include_str!("static/style.css");

/// A page: the head every page shares (style sheet, `common.js`, the page's
/// own script) around the page's body, kept in `static/<page>.html`.
async fn page(title: &str, script: Option<&str>, body: &str) -> Response {
    let own = script
        .map(|s| format!("<script src=\"/static/{s}.js\" defer></script>\n"))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>funnel · {title}</title>\n\
         <link rel=\"stylesheet\" href=\"/static/style.css\">\n\
         <script src=\"/static/common.js\" defer></script>\n\
         {own}</head>\n<body>\n{body}</body>\n</html>\n"
    );
    asset(html, "text/html; charset=utf-8").await
}

async fn script(js: &'static str) -> Response {
    asset(js, "text/javascript; charset=utf-8").await
}

async fn asset(body: impl Into<axum::body::Body>, content_type: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        // The pages hold a bearer token: no framing by other sites, no
        // scripts but our own.
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (headers, body.into()).into_response()
}

/// The authenticated caller: `Authorization: Bearer <token>`, resolved by
/// the gRPC API's own token table.
pub struct Caller(pub Principal);

impl FromRequestParts<Web> for Caller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, WebError> {
        let header = parts.headers.get(header::AUTHORIZATION);
        Ok(Caller(web.tokens.bearer(header.map(|v| v.as_bytes()))?))
    }
}

#[derive(Serialize)]
struct Me {
    role: &'static str,
    manager_id: Option<String>,
    /// Where this role works.
    page: &'static str,
}

/// Who the token belongs to, so the sign-in page opens the right desk.
async fn me(Caller(p): Caller) -> Json<Me> {
    let (role, manager_id, page) = match p {
        Principal::RemoteManager(m) => ("remote_manager", Some(m.to_string()), "/remote"),
        Principal::OfflineManager(m) => ("offline_manager", Some(m.to_string()), "/branch"),
        Principal::Admin => ("admin", None, "/cockpit"),
        Principal::Robot => ("robot", None, "/"),
    };
    Json(Me {
        role,
        manager_id,
        page,
    })
}

/// The handlers' error: the API's, answered as JSON with the HTTP status
/// matching the gRPC code the API would answer.
pub struct WebError(pub ApiError);

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<FunnelError> for WebError {
    fn from(e: FunnelError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        // The one error → code table of the API, then code → HTTP here.
        let status = tonic::Status::from(self.0);
        let http = match status.code() {
            tonic::Code::Ok => StatusCode::OK,
            tonic::Code::InvalidArgument | tonic::Code::OutOfRange => StatusCode::BAD_REQUEST,
            tonic::Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            tonic::Code::PermissionDenied => StatusCode::FORBIDDEN,
            tonic::Code::NotFound => StatusCode::NOT_FOUND,
            tonic::Code::AlreadyExists | tonic::Code::Aborted => StatusCode::CONFLICT,
            tonic::Code::FailedPrecondition => StatusCode::CONFLICT,
            tonic::Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            tonic::Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            tonic::Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            tonic::Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            tonic::Code::Cancelled
            | tonic::Code::Unknown
            | tonic::Code::Internal
            | tonic::Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = serde_json::json!({
            "code": format!("{:?}", status.code()),
            "message": status.message(),
        });
        (http, Json(body)).into_response()
    }
}

type WebResult<T> = Result<Json<T>, WebError>;

/// The webhook delivery log, newest first (admins).
#[tracing::instrument(skip_all, fields(web = "webhook_log"))]
async fn webhook_log(
    web: State<Web>,
    Caller(p): Caller,
    uri: axum::http::Uri,
) -> WebResult<serde_json::Value> {
    p.admin()?;
    // `?count=N` (the only parameter; axum's query extractor is not built in).
    let count = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("count=")))
        .map(|n| {
            n.parse::<usize>()
                .map_err(|_| ApiError::invalid("count", "not a number"))
        })
        .transpose()?
        .unwrap_or(100)
        .clamp(1, 1000);
    let lines = web.funnel.webhook_log(count).await?;
    let lines: Vec<serde_json::Map<String, serde_json::Value>> = lines
        .into_iter()
        .map(|fields| fields.into_iter().map(|(k, v)| (k, v.into())).collect())
        .collect();
    Ok(Json(serde_json::json!({ "deliveries": lines })))
}

/// Server time for the pages' countdowns: they run on the offset between
/// this and the browser's clock, not on the browser's clock alone.
fn now(web: &State<Web>) -> i64 {
    web.funnel.now_ms()
}
