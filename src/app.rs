//! The composition root of `funnel serve`: builds the scorer, the Redis
//! connection, the router and both servers from one `Config`, runs the
//! background tasks, and shuts everything down in order.

use crate::api::{pb, Api};
use crate::config::Config;
use crate::routing::{sweeper, RedisConn, RedisTarget, Router};
use crate::scoring::{Scorer, ScorerConfig};
use crate::service::{Funnel, FunnelOptions};
use crate::telemetry::{self, Metrics, Readiness};
use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::server::NamedService;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

/// Where a running server listens (for tests and the demo).
#[derive(Debug, Clone)]
pub struct Bound {
    pub grpc: std::net::SocketAddr,
    pub metrics: std::net::SocketAddr,
    /// The workbench, when `web.enabled`.
    pub web: Option<std::net::SocketAddr>,
}

/// How long `/readyz` waits for each check (a PING is sub-millisecond).
const READY_TIMEOUT: Duration = Duration::from_millis(500);

/// Every service the health service reports on; "" is the whole server.
const SERVICES: [&str; 5] = [
    "",
    <pb::intake_service_server::IntakeServiceServer<Api> as NamedService>::NAME,
    <pb::remote_desk_service_server::RemoteDeskServiceServer<Api> as NamedService>::NAME,
    <pb::referrals_service_server::ReferralsServiceServer<Api> as NamedService>::NAME,
    <pb::admin_service_server::AdminServiceServer<Api> as NamedService>::NAME,
];

/// Builds everything from `config` and serves gRPC on `listener` until
/// `shutdown` resolves. Then: health turns NOT_SERVING, the shutdown token
/// is cancelled (open streams end, background tasks stop), tonic drains the
/// requests in flight (up to `shutdown_grace`), the tracked tasks are waited
/// for, and the scorer stops last. `on_bound` is told the addresses once
/// listening.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(Bound) + Send,
) -> anyhow::Result<()> {
    tracing::info!(config = ?config.redacted(), "starting funnel");
    let tokens = Arc::new(
        crate::api::auth::Tokens::load(&config.tokens_file)
            .map_err(|e| anyhow::anyhow!("tokens file: {e}"))?,
    );
    let metrics = Arc::new(Metrics::new());
    let scorer = Arc::new(start_scorer(&config, metrics.clone()).await?);
    tracing::info!(model = %scorer.manifest().model_version, "models loaded and checked");

    let server_tls = config.tls.load()?;
    let target = RedisTarget {
        urls: config.redis_urls.clone(),
        cluster: config.redis_cluster,
        response_timeout: config.redis_timeout,
        connect_timeout: Duration::from_secs(5),
        tls: config.redis_tls.load()?,
    };
    let conn = RedisConn::connect(&target)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to redis: {e}"))?;
    let router = Router::new(conn.clone(), config.routing.clone());
    let registry = config
        .registry
        .seed()
        .map_err(|e| anyhow::anyhow!("invalid config: {e}"))?;
    router.register_places(&registry.regions).await?;
    let funnel = Arc::new(Funnel::new(
        scorer.clone(),
        router.clone(),
        metrics.clone(),
        FunnelOptions {
            campaign_thresholds: config.campaign_thresholds()?,
            intent_threshold: config.intent_threshold,
            watch_poll: config.watch_poll.max(Duration::from_millis(50)),
            closed_readable_for: config.closed_lead_readable_for,
            masker: crate::domain::pii::Masker::new(&config.privacy)
                .map_err(|e| anyhow::anyhow!("invalid config: {e}"))?,
            limits: config.limits.clone(),
            default_region: registry.default_region.clone(),
            max_in_flight: config.max_in_flight,
        },
    ));

    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    // The HTTP port has a token of its own: it outlives the gRPC drain.
    let http_stop = CancellationToken::new();
    let metrics_listener = TcpListener::bind(config.metrics_listen).await?;
    let web_listener = match config.web.enabled {
        true => Some(TcpListener::bind(config.web.listen).await?),
        false => None,
    };
    let bound = Bound {
        grpc: listener.local_addr()?,
        metrics: metrics_listener.local_addr()?,
        web: web_listener.as_ref().map(|l| l.local_addr()).transpose()?,
    };
    let readiness = readiness(conn, Arc::downgrade(&scorer), stop.clone());
    tasks.spawn(telemetry::http::serve(
        metrics_listener,
        telemetry::http::router(metrics.clone(), readiness, config.metrics_token.clone()),
        http_stop.clone(),
    ));
    let sweep_metrics = metrics.clone();
    tasks.spawn(sweeper::run(
        router.clone(),
        config.sweep_interval,
        config.sweep_batch,
        stop.clone(),
        move |r| {
            sweep_metrics.offer_timeouts.inc_by(r.offers_timed_out);
            sweep_metrics.lease_expirations.inc_by(r.leases_expired);
            sweep_metrics.backflows.inc_by(r.backflowed);
            sweep_metrics.leads_retired.inc_by(r.leads_retired);
        },
    ));
    tasks.spawn(funnel.offer_events().run(
        target.client(&config.redis_urls[0])?,
        router.keys().offers_channel(),
        stop.clone(),
    ));
    tasks.spawn(refresh_queue_gauges(
        router.clone(),
        metrics.clone(),
        config.stats_interval,
        stop.clone(),
    ));

    if let Some(web_listener) = web_listener {
        let web = crate::web::Web {
            funnel: funnel.clone(),
            tokens: tokens.clone(),
            shutdown: stop.clone(),
            tasks: tasks.clone(),
            keepalive: config.web.keepalive,
        };
        // Like the HTTP port, it outlives the gRPC drain; its event streams
        // end with `stop` (their watch loops are tracked tasks).
        let web_tls = match &server_tls {
            Some(tls) => Some(tls.web().await?),
            None => None,
        };
        tasks.spawn(crate::web::serve(
            web_listener,
            crate::web::router(web),
            web_tls,
            http_stop.clone(),
        ));
    }
    if !config.webhooks.sinks.is_empty() {
        // Reads the audit streams on its own: routing never waits on it.
        tasks.spawn(crate::webhooks::run(
            router.clone(),
            config.webhooks.clone(),
            metrics,
            stop.clone(),
        ));
    }
    let api = Api {
        funnel,
        tokens,
        mutual_tls: server_tls.as_ref().is_some_and(|t| t.mutual()),
        stream_window: config.stream_window.max(1),
        shutdown: stop.clone(),
        tasks: tasks.clone(),
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, ServingStatus::Serving).await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    // Health first, so balancers stop sending before the listener closes.
    let signal = {
        let stop = stop.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: draining in-flight requests");
            set_health(&health, ServingStatus::NotServing).await;
            stop.cancel();
        }
    };

    on_bound(bound.clone());
    tracing::info!(grpc = %bound.grpc, metrics = %bound.metrics, web = ?bound.web, "listening");
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = &server_tls {
        builder = builder.tls_config(tls.grpc())?;
    }
    tracing::info!(
        tls = server_tls.is_some(),
        mutual_tls = server_tls.as_ref().is_some_and(|t| t.mutual()),
        "gRPC transport"
    );
    let server = builder
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(pb::intake_service_server::IntakeServiceServer::new(
            api.clone(),
        ))
        .add_service(pb::remote_desk_service_server::RemoteDeskServiceServer::new(api.clone()))
        .add_service(pb::referrals_service_server::ReferralsServiceServer::new(
            api.clone(),
        ))
        .add_service(pb::admin_service_server::AdminServiceServer::new(api))
        .serve_with_incoming_shutdown(
            // No Nagle: small gRPC frames would otherwise wait for delayed ACKs.
            tonic::transport::server::TcpIncoming::from(listener)
                .with_nodelay(Some(true))
                .with_keepalive(Some(Duration::from_secs(60))),
            signal,
        );
    let grace = config.shutdown_grace;
    let result = tokio::select! {
        r = server => r.map_err(anyhow::Error::from),
        _ = async { stop.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(?grace, "in-flight requests did not finish within the grace period");
            Ok(())
        }
    };
    // Also when serving failed before any signal.
    stop.cancel();
    http_stop.cancel();
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!(
            ?grace,
            "background tasks did not stop within the grace period"
        );
    }
    // The scorer's threads finish the queued work, then stop.
    match Arc::try_unwrap(scorer) {
        Ok(mut scorer) => tokio::task::spawn_blocking(move || scorer.shutdown()).await?,
        Err(_) => tracing::warn!("scorer still in use; it stops when the last request ends"),
    }
    tracing::info!("stopped");
    result
}

/// Ready = Redis answers a PING, the scorer runs, and we are not shutting
/// down (so balancers move away while in-flight requests drain).
fn readiness(conn: RedisConn, scorer: Weak<Scorer>, stop: CancellationToken) -> Readiness {
    Readiness::new(READY_TIMEOUT)
        .check("redis", move || {
            let mut conn = conn.clone();
            async move {
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        })
        .check("scorer", move || {
            let running = scorer.upgrade().is_some_and(|s| s.is_running());
            async move { running.then_some(()).ok_or_else(|| "not running".into()) }
        })
        .check("shutdown", move || {
            let stopping = stop.is_cancelled();
            async move {
                (!stopping)
                    .then_some(())
                    .ok_or_else(|| "in progress".into())
            }
        })
}

async fn start_scorer(config: &Config, metrics: Arc<Metrics>) -> anyhow::Result<Scorer> {
    let cfg = ScorerConfig {
        manifest: config.manifest.clone(),
        ort_library: config.ort_library.clone(),
        threads: config.scoring_threads,
        onnx_threads: config.onnx_threads,
        max_batch: config.max_batch,
        queue_capacity: config.scoring_queue,
        reasons_per_side: config.reasons_per_side,
        on_batch: Some(Arc::new(move |r| metrics.observe_batch(r))),
    };
    // Loading checks every model file: blocking work.
    Ok(tokio::task::spawn_blocking(move || Scorer::start(&cfg)).await??)
}

async fn set_health(health: &HealthReporter, status: ServingStatus) {
    for service in SERVICES {
        health.set_service_status(service, status).await;
    }
}

async fn refresh_queue_gauges(
    router: Router,
    metrics: Arc<Metrics>,
    every: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let regions = match router.registered_regions().await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "queue gauges not refreshed");
                continue;
            }
        };
        match router.queue_stats_of(&regions).await {
            Ok(stats) => {
                metrics.queue_depth.reset();
                metrics.queue_oldest_seconds.reset();
                for q in stats.queues {
                    let labels = [q.region.as_str(), q.queue.as_str(), q.owner.as_str()];
                    metrics
                        .queue_depth
                        .with_label_values(&labels)
                        .set(q.depth as i64);
                    metrics
                        .queue_oldest_seconds
                        .with_label_values(&labels)
                        .set(q.oldest_age_ms / 1000);
                }
            }
            Err(e) => tracing::debug!(error = %e, "queue gauges not refreshed"),
        }
    }
}
