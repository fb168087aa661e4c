//! Queue depths and manager loads.

use super::types::ShardStats;
use super::{Actor, Page, QueueStats, Router, RoutingError, WatchList};
use crate::domain::{Product, RegionId};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// `queue_stats.lua`'s arguments: one page of one phase.
#[derive(Serialize)]
struct Args<'a> {
    products: &'static [Product],
    phase: StatsPhase,
    scan: &'a str,
    count: u32,
}

/// What a page of `queue_stats.lua` covers: the shard-wide queues, then the
/// managers' (SSCAN), then the branches' (SSCAN).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StatsPhase {
    Shard,
    Managers,
    Branches,
}

/// Managers or branches walked per script call: each call stays well under
/// a millisecond at any roster size (tests/scale.rs).
const STATS_PAGE: u32 = 50;

/// Which page of which watch list (`list_leads.lua`'s arguments).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ListQuery {
    pub list: WatchList,
    pub offset: u64,
    pub count: u64,
}

impl Router {
    /// A page of one of `region`'s watch lists, oldest first.
    pub async fn list_leads(&self, region: &RegionId, q: ListQuery) -> Result<Page, RoutingError> {
        self.invoke(&self.scripts.list_leads, region, &Actor::Admin, &q)
            .await
    }

    /// Queue depths and manager loads of one region or of every registered one.
    pub async fn queue_stats(&self, region: Option<&RegionId>) -> Result<QueueStats, RoutingError> {
        let regions = match region {
            Some(r) => vec![r.clone()],
            None => self.registered_regions().await?,
        };
        self.queue_stats_of(&regions).await
    }

    /// Queue depths and manager loads of `regions`.
    pub async fn queue_stats_of(&self, regions: &[RegionId]) -> Result<QueueStats, RoutingError> {
        let mut stats = QueueStats::default();
        for r in regions {
            // SSCAN may return an element twice (when the set is rehashed):
            // the first report of each queue and manager is kept.
            let (mut seen_queues, mut seen_managers) = (HashSet::new(), HashSet::new());
            let (mut phase, mut scan) = (Some(StatsPhase::Shard), String::from("0"));
            while let Some(p) = phase {
                let args = Args {
                    products: Product::ALL,
                    phase: p,
                    scan: &scan,
                    count: STATS_PAGE,
                };
                let page: ShardStats = self
                    .invoke(&self.scripts.queue_stats, r, &Actor::Admin, &args)
                    .await?;
                for mut q in page.queues {
                    if seen_queues.insert((q.queue.clone(), q.owner.clone())) {
                        q.region = r.to_string();
                        stats.queues.push(q);
                    }
                }
                for mut m in page.managers {
                    if seen_managers.insert(m.manager.clone()) {
                        m.region = r.to_string();
                        stats.managers.push(m);
                    }
                }
                (phase, scan) = (page.next_phase, page.next_scan.unwrap_or_default());
            }
        }
        Ok(stats)
    }
}
