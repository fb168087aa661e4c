//! A relationship manager as operations registers it.

use super::*;
use serde::{Deserialize, Serialize};

/// A relationship manager as operations registers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manager {
    pub id: ManagerId,
    pub display_name: String,
    pub tier: ManagerTier,
    /// Home shard.
    pub region: RegionId,
    /// Offline managers: their branch.
    pub branch: Option<BranchId>,
    /// Remote managers: their team (a label for operations).
    pub team: Option<String>,
    /// Remote managers: the regions whose pools they pull from (home included).
    pub served_regions: Vec<RegionId>,
    pub qualified_products: Vec<Product>,
    /// Leads held (accepted or leased) plus pending offers, at most.
    pub capacity: u32,
    pub available: bool,
}

impl Manager {
    /// Every shard this manager's record must be present in.
    pub fn shards(&self) -> Vec<RegionId> {
        let mut shards = vec![self.region.clone()];
        for r in &self.served_regions {
            if !shards.contains(r) {
                shards.push(r.clone());
            }
        }
        shards
    }
}
