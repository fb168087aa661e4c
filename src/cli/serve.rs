//! `funnel serve`: the gRPC server until SIGTERM or Ctrl-C.

use funnel::config::{Config, ServeFlags};

pub fn run(flags: ServeFlags) -> anyhow::Result<()> {
    let config = Config::resolve(&flags)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("funnel-rt")
        .build()?;
    // The OTLP exporter's channel runs on this runtime.
    let otlp = {
        let _rt = rt.enter();
        funnel::telemetry::otlp::provider(&config.otlp)?
    };
    funnel::telemetry::init_tracing(&config.log_format, &config.log_filter, otlp.as_ref());
    let served = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        funnel::app::run(config, listener, shutdown_signal(), |_| {}).await
    });
    // The last batch of spans goes out before the process ends.
    if let Some(provider) = otlp {
        let _rt = rt.enter();
        if let Err(e) = provider.shutdown() {
            tracing::warn!(error = %e, "OTLP exporter did not flush");
        }
    }
    served
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
