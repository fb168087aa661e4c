//! gRPC: thin handlers (authenticate, validate/convert, call the core,
//! convert back) and `run`, the server entry point.

pub mod auth;
pub mod convert;
pub mod error;
mod handlers;

#[allow(clippy::all, missing_docs)]
pub mod pb {
    tonic::include_proto!("funnel.v1");
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("funnel_descriptor");
}

use crate::config::Config;
use crate::routing::{sweeper, RedisConn, RedisTarget, Router, SystemClock};
use crate::scoring::{Scorer, ScorerConfig};
use crate::service::Funnel;
use crate::telemetry::Metrics;
use auth::Tokens;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What every handler shares.
#[derive(Clone)]
pub struct Api {
    pub funnel: Arc<Funnel>,
    pub tokens: Arc<Tokens>,
    pub stream_window: usize,
    pub watch_poll: Duration,
    /// Turns true when the server is shutting down (ends open streams).
    pub shutdown: watch::Receiver<bool>,
}

/// Where a running server listens (for tests and the demo).
#[derive(Debug, Clone)]
pub struct Bound {
    pub grpc: std::net::SocketAddr,
    pub metrics: std::net::SocketAddr,
}

/// Builds everything from `config` and serves gRPC on `listener` until
/// `shutdown` resolves; then stops taking work, drains in-flight requests
/// (up to `shutdown_grace`), ends open streams, stops the sweeper and
/// the scoring threads. `on_bound` is told the addresses once listening.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(Bound) + Send,
) -> anyhow::Result<()> {
    tracing::info!(config = ?config.redacted(), "starting funnel");
    let tokens = Arc::new(
        Tokens::load(&config.tokens_file).map_err(|e| anyhow::anyhow!("tokens file: {e}"))?,
    );

    let scorer_cfg = ScorerConfig {
        manifest: config.manifest.clone(),
        ort_library: config.ort_library.clone(),
        threads: config.scoring_threads,
        onnx_threads: config.onnx_threads,
        max_batch: config.max_batch,
        queue_capacity: config.scoring_queue,
        reasons_per_side: config.reasons_per_side,
        campaign_policies: config.campaign_policies(),
    };
    let scorer = tokio::task::spawn_blocking(move || Scorer::start(&scorer_cfg)).await??;
    let scorer = Arc::new(scorer);
    tracing::info!(model = %scorer.manifest().model_version, "models loaded and checked");

    let conn = RedisConn::connect(&RedisTarget {
        urls: config.redis_urls.clone(),
        cluster: config.redis_cluster,
        response_timeout: config.redis_timeout,
        connect_timeout: Duration::from_secs(5),
    })
    .await
    .map_err(|e| anyhow::anyhow!("cannot connect to redis: {e}"))?;
    let router = Router::new(conn, config.routing.clone(), Arc::new(SystemClock));
    let metrics = Arc::new(Metrics::new());
    let funnel = Arc::new(Funnel::new(
        scorer.clone(),
        router.clone(),
        metrics.clone(),
        config.intent_threshold,
    ));

    let (stop_tx, stop_rx) = watch::channel(false);
    let metrics_listener = TcpListener::bind(config.metrics_listen).await?;
    let bound = Bound {
        grpc: listener.local_addr()?,
        metrics: metrics_listener.local_addr()?,
    };
    let metrics_task = tokio::spawn(crate::telemetry::serve_metrics(
        metrics_listener,
        metrics.clone(),
        stop_rx.clone(),
    ));
    let sweep_metrics = metrics.clone();
    let sweeper_task = tokio::spawn(sweeper::run(
        router.clone(),
        config.sweep_interval,
        config.sweep_batch,
        stop_rx.clone(),
        move |r| {
            sweep_metrics.offer_timeouts.inc_by(r.offers_timed_out);
            sweep_metrics.lease_expirations.inc_by(r.leases_expired);
            sweep_metrics.backflows.inc_by(r.backflowed);
        },
    ));
    let offers_task = tokio::spawn(funnel.offer_events.clone().run(
        config.redis_urls[0].clone(),
        config.routing.key_prefix.clone(),
        stop_rx.clone(),
    ));
    let stats_task = tokio::spawn(refresh_queue_gauges(
        router.clone(),
        metrics.clone(),
        config.stats_interval,
        stop_rx.clone(),
    ));

    let api = Api {
        funnel,
        tokens,
        stream_window: config.stream_window.max(1),
        watch_poll: config.watch_poll.max(Duration::from_millis(50)),
        shutdown: stop_rx.clone(),
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<pb::intake_server::IntakeServer<Api>>()
        .await;
    health
        .set_serving::<pb::remote_desk_server::RemoteDeskServer<Api>>()
        .await;
    health
        .set_serving::<pb::referrals_server::ReferralsServer<Api>>()
        .await;
    health
        .set_serving::<pb::admin_server::AdminServer<Api>>()
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    // On the signal: mark NOT_SERVING, end streams, stop accepting; tonic
    // then drains the requests in flight.
    let (drained_tx, drained_rx) = tokio::sync::oneshot::channel::<()>();
    let grace = config.shutdown_grace;
    let health_on_stop = health.clone();
    let stop_tx = Arc::new(stop_tx);
    let stop_on_signal = stop_tx.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight requests");
        health_on_stop
            .set_not_serving::<pb::intake_server::IntakeServer<Api>>()
            .await;
        health_on_stop
            .set_not_serving::<pb::remote_desk_server::RemoteDeskServer<Api>>()
            .await;
        health_on_stop
            .set_not_serving::<pb::referrals_server::ReferralsServer<Api>>()
            .await;
        health_on_stop
            .set_not_serving::<pb::admin_server::AdminServer<Api>>()
            .await;
        let _ = stop_on_signal.send(true);
        let _ = drained_tx.send(());
    };

    on_bound(bound.clone());
    tracing::info!(grpc = %bound.grpc, metrics = %bound.metrics, "listening");
    let server = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(pb::intake_server::IntakeServer::new(api.clone()))
        .add_service(pb::remote_desk_server::RemoteDeskServer::new(api.clone()))
        .add_service(pb::referrals_server::ReferralsServer::new(api.clone()))
        .add_service(pb::admin_server::AdminServer::new(api.clone()))
        .serve_with_incoming_shutdown(
            // No Nagle: small gRPC frames would otherwise wait for delayed ACKs.
            tonic::transport::server::TcpIncoming::from(listener)
                .with_nodelay(Some(true))
                .with_keepalive(Some(Duration::from_secs(60))),
            signal,
        );
    tokio::pin!(server);
    let result = tokio::select! {
        r = &mut server => r,
        _ = async {
            let _ = drained_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("in-flight requests did not finish within the grace period");
            Ok(())
        }
    };
    // Also when serving failed before any signal: stop the background tasks.
    let _ = stop_tx.send(true);
    let _ = sweeper_task.await;
    let _ = offers_task.await;
    let _ = metrics_task.await;
    stats_task.abort();
    drop(api);
    // The scorer's threads finish the queued work, then stop.
    if let Ok(mut scorer) = Arc::try_unwrap(scorer) {
        tokio::task::spawn_blocking(move || scorer.shutdown()).await?;
    }
    tracing::info!("stopped");
    result.map_err(Into::into)
}

async fn refresh_queue_gauges(
    router: Router,
    metrics: Arc<Metrics>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match router.queue_stats(None).await {
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
