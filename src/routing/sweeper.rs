//! The background sweeper: runs due deadlines of every region. Safe to run in
//! every replica at once (each due entry is handled by one atomic script).

use super::{Router, SweepReport};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Sweeps every region each `interval` until `shutdown` is cancelled. Errors
/// (Redis down) are logged and retried next tick: deadlines only get later.
pub async fn run(
    router: Router,
    interval: Duration,
    batch: u32,
    shutdown: CancellationToken,
    on_report: impl Fn(&SweepReport) + Send + 'static,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => {}
        }
        if shutdown.is_cancelled() {
            break;
        }
        match router.regions().await {
            Ok(regions) => {
                for region in regions {
                    match router.sweep_region(&region, batch).await {
                        Ok(report) => on_report(&report),
                        Err(e) => {
                            tracing::warn!(%region, error = %e, "sweep failed; retrying next tick")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "sweeper cannot list regions; retrying next tick"),
        }
    }
    tracing::info!("sweeper stopped");
}
