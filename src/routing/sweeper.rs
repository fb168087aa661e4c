//! The deadline sweeper: runs due deadlines of every registered region. Safe to run in
//! every replica at once (each due entry is handled by one atomic script).

use super::{Actor, Router, RoutingError, SweepReport};
use crate::domain::RegionId;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Serialize)]
struct Limit {
    limit: u32,
}

/// A sweep call's reply: how many items it handled, and whether more may be
/// due now (it stopped on its count or its time budget, `lua/includes/sweep.lua`).
#[derive(Deserialize)]
struct Done {
    done: u64,
    more: bool,
}

/// Due items handled per script call at most (each call also stops on a time
/// budget). A sweep loops over such calls up to its limit, so no single call
/// blocks Redis for long however much falls due at once (tests/scale.rs).
const SWEEP_STEP: u32 = 25;

impl Router {
    /// Runs every kind of due deadline of one region, up to `limit` each,
    /// in calls of at most [`SWEEP_STEP`] items.
    pub async fn sweep_region(
        &self,
        region: &RegionId,
        limit: u32,
    ) -> Result<SweepReport, RoutingError> {
        let s = &self.scripts;
        let run = |script| async move {
            let mut total = 0u64;
            loop {
                let step = u64::from(SWEEP_STEP).min(u64::from(limit).saturating_sub(total));
                if step == 0 {
                    break;
                }
                let args = Limit { limit: step as u32 };
                let d: Done = self.invoke(script, region, &Actor::Sweeper, &args).await?;
                total += d.done;
                if !d.more {
                    break;
                }
            }
            Ok::<u64, RoutingError>(total)
        };
        Ok(SweepReport {
            offers_timed_out: run(&s.sweep_offers).await?,
            acceptances_expired: run(&s.sweep_accepted).await?,
            leases_expired: run(&s.sweep_leases).await?,
            callbacks_due: run(&s.sweep_callbacks).await?,
            backflowed: run(&s.sweep_unassigned).await?,
            unassigned_placed: run(&s.sweep_retry).await?,
            incubation_reviewed: run(&s.sweep_incubation).await?,
            offers_expiring: run(&s.sweep_expiring).await?,
            leads_retired: run(&s.sweep_retire).await?,
        })
    }
}

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
        match router.registered_regions().await {
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
