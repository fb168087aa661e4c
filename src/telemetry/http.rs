//! The operations port (axum): `/metrics` (Prometheus text), `/healthz`
//! (liveness: 200 while the process runs) and `/readyz` (readiness: 200
//! only when every check passes, else 503 naming what failed). `/metrics`
//! may require a bearer token (`metrics_token`); the probes never do.

use super::Metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::future::{join_all, BoxFuture};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Named readiness checks, run at every `/readyz`, all at once, each
/// within `timeout`.
#[derive(Clone)]
pub struct Readiness {
    checks: Vec<(&'static str, Check)>,
    timeout: Duration,
}

impl Readiness {
    pub fn new(timeout: Duration) -> Self {
        Self {
            checks: Vec::new(),
            timeout,
        }
    }

    pub fn check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks
            .push((name, Arc::new(move || Box::pin(check()) as BoxFuture<_>)));
        self
    }

    /// The failed checks by name, with why.
    pub async fn failures(&self) -> BTreeMap<&'static str, String> {
        let runs = self.checks.iter().map(|(name, check)| async move {
            let outcome = match tokio::time::timeout(self.timeout, check()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            };
            (*name, outcome)
        });
        join_all(runs)
            .await
            .into_iter()
            .filter_map(|(name, outcome)| outcome.err().map(|why| (name, why)))
            .collect()
    }
}

#[derive(Clone)]
struct Ops {
    metrics: Arc<Metrics>,
    readiness: Readiness,
    /// `Some`: `/metrics` wants `Authorization: Bearer <token>`.
    token: Option<Arc<str>>,
}

pub fn router(metrics: Arc<Metrics>, readiness: Readiness, token: Option<String>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(Ops {
            metrics,
            readiness,
            token: token.map(Arc::from),
        })
}

/// Compares in time independent of where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serves `router` on `listener` until `stop` is cancelled.
pub async fn serve(listener: TcpListener, router: Router, stop: CancellationToken) {
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
    {
        tracing::error!(error = %e, "metrics port failed");
    }
}

async fn metrics_page(State(ops): State<Ops>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &ops.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same(given.as_bytes(), token.as_bytes()) {
            let challenge = [(header::WWW_AUTHENTICATE, "Bearer")];
            return (
                StatusCode::UNAUTHORIZED,
                challenge,
                "bearer token required\n",
            )
                .into_response();
        }
    }
    let content_type = [(header::CONTENT_TYPE, "text/plain; version=0.0.4")];
    (content_type, ops.metrics.render()).into_response()
}

async fn ready(State(ops): State<Ops>) -> Response {
    let failed = ops.readiness.failures().await;
    if failed.is_empty() {
        return Json(serde_json::json!({ "ready": true })).into_response();
    }
    let body = Json(serde_json::json!({ "ready": false, "failed": failed }));
    (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(router: &Router, path: &str) -> (StatusCode, String) {
        let req = Request::get(path).body(Body::empty()).unwrap();
        let resp = router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn readiness_names_what_failed() {
        let metrics = Arc::new(Metrics::new());
        metrics.offer_timeouts.inc();
        let readiness = Readiness::new(Duration::from_millis(50))
            .check("redis", || async { Ok(()) })
            .check("scorer", || async { Err("shut down".to_string()) })
            .check("slow", || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            });
        let app = router(metrics.clone(), readiness, None);

        let (status, body) = get(&app, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["failed"]["scorer"], "shut down");
        assert!(body["failed"]["slow"].as_str().unwrap().contains("50ms"));
        assert!(body["failed"].get("redis").is_none());

        assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
        let (status, page) = get(&app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("funnel_offer_timeouts_total 1"), "{page}");
        assert_eq!(get(&app, "/nope").await.0, StatusCode::NOT_FOUND);

        let ok = router(metrics, Readiness::new(Duration::from_millis(50)), None);
        assert_eq!(
            get(&ok, "/readyz").await,
            (StatusCode::OK, r#"{"ready":true}"#.into())
        );
    }

    #[tokio::test]
    async fn metrics_may_want_a_bearer_token_the_probes_never() {
        let app = router(
            Arc::new(Metrics::new()),
            Readiness::new(Duration::from_millis(50)),
            Some("s3cret-scrape-token".into()),
        );
        assert_eq!(get(&app, "/metrics").await.0, StatusCode::UNAUTHORIZED);
        let with = |token: &str| {
            Request::get("/metrics")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap()
        };
        let wrong = app
            .clone()
            .oneshot(with("s3cret-scrape-tokeX"))
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let right = app
            .clone()
            .oneshot(with("s3cret-scrape-token"))
            .await
            .unwrap();
        assert_eq!(right.status(), StatusCode::OK);
        assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
        assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);
    }
}
