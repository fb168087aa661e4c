//! Managers: registration in every shard they work in, availability, reads.

use super::{Actor, Router, RoutingError};
use crate::domain::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Where a manager's records live (the directory, outside any shard).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DirectoryEntry {
    pub home: RegionId,
    pub shards: Vec<RegionId>,
    pub tier: ManagerTier,
}

/// `upsert_manager.lua`'s arguments.
#[derive(Serialize)]
struct UpsertArgs<'a> {
    id: &'a ManagerId,
    display_name: &'a str,
    tier: ManagerTier,
    branch: Option<&'a BranchId>,
    team: Option<&'a str>,
    /// `",p1,p2,"`, so a script tests a product with one `find`.
    products: String,
    capacity: u32,
    available: bool,
    home_region: &'a RegionId,
}

#[derive(Serialize)]
struct AvailabilityArgs<'a> {
    manager: &'a ManagerId,
    available: bool,
}

/// What a change of a manager did in one shard (logged).
#[derive(Debug, Deserialize)]
struct Changed {
    withdrawn: u64,
    placed: u64,
}

impl Changed {
    fn log(self, region: &RegionId) {
        tracing::debug!(%region, withdrawn = self.withdrawn, placed = self.placed, "manager change applied");
    }
}

impl Router {
    /// Registers or updates a manager in every shard it works in.
    #[tracing::instrument(skip_all, fields(manager = %m.id))]
    pub async fn upsert_manager(&self, m: &Manager) -> Result<(), RoutingError> {
        if m.tier == ManagerTier::Offline && m.branch.is_none() {
            return Err(RoutingError::invalid(
                "branch_id",
                "an offline manager needs a branch",
            ));
        }
        if m.capacity == 0 {
            return Err(RoutingError::invalid("capacity", "must be at least 1"));
        }
        let shards = match m.tier {
            ManagerTier::Offline => vec![m.region.clone()],
            ManagerTier::Remote => m.shards(),
        };
        let old = self.directory_entry(&m.id).await?;
        if let Some(old) = &old {
            if old.tier != m.tier || old.home != m.region {
                return Err(RoutingError::FailedPrecondition(format!(
                    "manager {} exists as {} in {}; tier and home region cannot change",
                    m.id, old.tier, old.home
                )));
            }
        }
        // The directory first: a crash after it leaves a record that the
        // next upsert completes (every step is idempotent).
        let entry = DirectoryEntry {
            home: m.region.clone(),
            shards: shards.clone(),
            tier: m.tier,
        };
        let entry =
            serde_json::to_string(&entry).map_err(|e| RoutingError::Protocol(e.to_string()))?;
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("HSET")
            .arg(self.keys.directory())
            .arg(m.id.as_str())
            .arg(entry)
            .query_async(&mut conn)
            .await?;
        let products: Vec<&str> = m.qualified_products.iter().map(|p| p.as_str()).collect();
        let args = UpsertArgs {
            id: &m.id,
            display_name: &m.display_name,
            tier: m.tier,
            branch: m.branch.as_ref(),
            team: m.team.as_deref(),
            products: format!(",{},", products.join(",")),
            capacity: m.capacity,
            available: m.available,
            home_region: &m.region,
        };
        for region in &shards {
            self.note_region(region).await?;
            let changed: Changed = self
                .invoke(&self.scripts.upsert_manager, region, &Actor::Admin, &args)
                .await?;
            changed.log(region);
        }
        // Regions no longer served: the manager is unavailable there, so its
        // own queue there goes to the pool (its open leases end as usual).
        let dropped = old.map(|o| o.shards).unwrap_or_default();
        for region in dropped.iter().filter(|r| !shards.contains(r)) {
            self.availability_in(region, &m.id, false).await?;
        }
        Ok(())
    }

    pub(crate) async fn directory_entry(
        &self,
        m: &ManagerId,
    ) -> Result<Option<DirectoryEntry>, RoutingError> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = redis::cmd("HGET")
            .arg(self.keys.directory())
            .arg(m.as_str())
            .query_async(&mut conn)
            .await?;
        raw.map(|r| serde_json::from_str(&r).map_err(|e| RoutingError::Protocol(e.to_string())))
            .transpose()
    }

    pub(crate) async fn require_directory(
        &self,
        m: &ManagerId,
    ) -> Result<DirectoryEntry, RoutingError> {
        self.directory_entry(m)
            .await?
            .ok_or_else(|| RoutingError::NotFound(format!("manager {m} is not registered")))
    }

    /// A manager as registered (read from its home shard).
    pub async fn get_manager(&self, m: &ManagerId) -> Result<Manager, RoutingError> {
        let entry = self.require_directory(m).await?;
        let mut conn = self.conn.clone();
        let h: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.keys.shard(&entry.home).manager(m))
            .query_async(&mut conn)
            .await?;
        let get = |f: &str| h.get(f).cloned().unwrap_or_default();
        Ok(Manager {
            id: m.clone(),
            display_name: get("display_name"),
            tier: entry.tier,
            region: entry.home.clone(),
            branch: BranchId::parse(get("branch")).ok(),
            team: Some(get("team")).filter(|t| !t.is_empty()),
            served_regions: entry.shards.clone(),
            qualified_products: get("products")
                .split(',')
                .filter_map(|p| Product::parse(p).ok())
                .collect(),
            capacity: get("capacity").parse().unwrap_or(0),
            available: get("available") == "1",
        })
    }

    /// Marks a manager (un)available in every shard. Going away returns its
    /// pending offers to others; becoming available retries unassigned leads.
    #[tracing::instrument(skip_all, fields(manager = %m, available))]
    pub async fn set_availability(
        &self,
        m: &ManagerId,
        available: bool,
    ) -> Result<(), RoutingError> {
        let entry = self.require_directory(m).await?;
        for region in &entry.shards {
            self.availability_in(region, m, available).await?;
        }
        Ok(())
    }

    async fn availability_in(
        &self,
        region: &RegionId,
        m: &ManagerId,
        available: bool,
    ) -> Result<(), RoutingError> {
        let args = AvailabilityArgs {
            manager: m,
            available,
        };
        let changed: Changed = self
            .invoke(&self.scripts.set_availability, region, &Actor::Admin, &args)
            .await?;
        changed.log(region);
        Ok(())
    }
}
