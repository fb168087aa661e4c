//! Queue depths and manager loads.

use super::types::ShardStats;
use super::{Actor, Page, QueueStats, Router, RoutingError, WatchList};
use crate::domain::{Product, RegionId};
use serde::Serialize;

#[derive(Serialize)]
struct Args {
    products: &'static [Product],
}

#[derive(Serialize)]
struct ListArgs {
    list: WatchList,
    offset: u64,
    count: u64,
}

impl Router {
    /// A page of one of `region`'s watch lists, oldest first.
    pub async fn list_leads(
        &self,
        region: &RegionId,
        list: WatchList,
        offset: u64,
        count: u64,
    ) -> Result<Page, RoutingError> {
        let args = ListArgs {
            list,
            offset,
            count,
        };
        self.invoke(&self.scripts.list_leads, region, &Actor::Admin, &args)
            .await
    }

    /// Queue depths and manager loads of one region or of all.
    pub async fn queue_stats(&self, region: Option<&RegionId>) -> Result<QueueStats, RoutingError> {
        let regions = match region {
            Some(r) => vec![r.clone()],
            None => self.regions().await?,
        };
        let mut stats = QueueStats::default();
        let args = Args {
            products: Product::ALL,
        };
        for r in regions {
            let shard: ShardStats = self
                .invoke(&self.scripts.queue_stats, &r, &Actor::Admin, &args)
                .await?;
            stats.queues.extend(shard.queues.into_iter().map(|mut q| {
                q.region = r.to_string();
                q
            }));
            stats
                .managers
                .extend(shard.managers.into_iter().map(|mut m| {
                    m.region = r.to_string();
                    m
                }));
        }
        Ok(stats)
    }
}
