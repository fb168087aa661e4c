//! Regions and branches, registered by an admin (RPC, CLI or the `regions`
//! of the configuration, registered at start). Only a registered region is a
//! shard: the robot cannot create one by naming it, and the sweeper polls
//! registered regions only.
//!
//! Two hashes outside any shard (single-key commands):
//! `<prefix>:{registry}:regions` (region → display name) and
//! `<prefix>:{registry}:branches` (branch → its region; a branch belongs to one
//! region). Both carry one hash tag. Each replica keeps a copy, read again
//! every [`REFRESH`] and, at most once a second, when asked about an id it
//! does not know (so a region registered on one replica is accepted by all
//! at once); when Redis cannot be read, the copy goes on serving.

use super::{Router, RoutingError};
use crate::domain::{BranchId, RegionId};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How old a replica's copy of the registry may get.
pub const REFRESH: Duration = Duration::from_secs(5);
/// Least time between two re-reads caused by unknown ids (junk input must
/// not turn into one Redis read per call).
const MISS_REFRESH: Duration = Duration::from_secs(1);

/// The registered regions, each with its display name and branches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    pub regions: BTreeMap<RegionId, RegisteredRegion>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegisteredRegion {
    pub display_name: String,
    pub branches: Vec<BranchId>,
}

impl Registry {
    pub fn has_region(&self, r: &RegionId) -> bool {
        self.regions.contains_key(r)
    }

    /// The region `b` is registered in.
    pub fn region_of(&self, b: &BranchId) -> Option<&RegionId> {
        self.regions
            .iter()
            .find(|(_, reg)| reg.branches.contains(b))
            .map(|(r, _)| r)
    }
}

/// A replica's copy of the registry and when it was read.
#[derive(Default)]
pub(crate) struct RegistryCache {
    copy: Mutex<Option<(Instant, Arc<Registry>)>>,
    last_miss_read: Mutex<Option<Instant>>,
}

impl Router {
    /// Registers `region` (idempotent; a second call renames it).
    pub async fn register_region(
        &self,
        region: &RegionId,
        display_name: &str,
    ) -> Result<(), RoutingError> {
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("HSET")
            .arg(self.keys.registry_regions())
            .arg(region.as_str())
            .arg(display_name)
            .query_async(&mut conn)
            .await?;
        self.forget_registry();
        Ok(())
    }

    /// Registers `branch` in `region`, which must be registered. A branch
    /// belongs to one region: registering it in another is refused.
    pub async fn register_branch(
        &self,
        region: &RegionId,
        branch: &BranchId,
    ) -> Result<(), RoutingError> {
        let mut conn = self.conn.clone();
        let known: bool = redis::cmd("HEXISTS")
            .arg(self.keys.registry_regions())
            .arg(region.as_str())
            .query_async(&mut conn)
            .await?;
        if !known {
            return Err(RoutingError::invalid(
                "region_id",
                &format!("region {region} is not registered"),
            ));
        }
        let _: bool = redis::cmd("HSETNX")
            .arg(self.keys.registry_branches())
            .arg(branch.as_str())
            .arg(region.as_str())
            .query_async(&mut conn)
            .await?;
        let owner: Option<String> = redis::cmd("HGET")
            .arg(self.keys.registry_branches())
            .arg(branch.as_str())
            .query_async(&mut conn)
            .await?;
        self.forget_registry();
        match owner {
            Some(o) if o == region.as_str() => Ok(()),
            other => Err(RoutingError::FailedPrecondition(format!(
                "branch {branch} is registered in region {}",
                other.unwrap_or_default()
            ))),
        }
    }

    /// Registers each region not registered yet (named by its id; a name an
    /// admin gave is kept) and every branch with its region: what start-up
    /// does with `[registry.regions]`, and local setups with their rosters.
    pub async fn register_places(
        &self,
        places: &[(RegionId, Vec<BranchId>)],
    ) -> Result<(), RoutingError> {
        let known = self.read_registry().await?;
        for (region, branches) in places {
            if !known.has_region(region) {
                self.register_region(region, region.as_str()).await?;
            }
            for b in branches {
                self.register_branch(region, b).await?;
            }
        }
        Ok(())
    }

    /// The registry as stored now (no copy).
    pub async fn read_registry(&self) -> Result<Registry, RoutingError> {
        let mut conn = self.conn.clone();
        let regions: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.keys.registry_regions())
            .query_async(&mut conn)
            .await?;
        let branches: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.keys.registry_branches())
            .query_async(&mut conn)
            .await?;
        let bad = |e: crate::domain::DomainError| RoutingError::Protocol(e.to_string());
        let mut out = Registry::default();
        for (r, name) in regions {
            out.regions.insert(
                RegionId::parse(r).map_err(bad)?,
                RegisteredRegion {
                    display_name: name,
                    branches: vec![],
                },
            );
        }
        for (b, r) in branches {
            let r = RegionId::parse(r).map_err(bad)?;
            if let Some(reg) = out.regions.get_mut(&r) {
                reg.branches.push(BranchId::parse(b).map_err(bad)?);
            }
        }
        for reg in out.regions.values_mut() {
            reg.branches.sort();
        }
        Ok(out)
    }

    /// This replica's copy of the registry, read again when older than
    /// [`REFRESH`].
    pub async fn registry(&self) -> Result<Arc<Registry>, RoutingError> {
        if let Some((at, r)) = self.registry.copy.lock().ok().and_then(|c| c.clone()) {
            if at.elapsed() < REFRESH {
                return Ok(r);
            }
        }
        self.reread_registry().await
    }

    /// The registry, read again first if `known` fails on this replica's
    /// copy and no such re-read happened in the last second.
    pub async fn registry_knowing(
        &self,
        known: impl Fn(&Registry) -> bool,
    ) -> Result<Arc<Registry>, RoutingError> {
        let copy = self.registry().await?;
        if known(&copy) {
            return Ok(copy);
        }
        let due = {
            let mut last = self
                .registry
                .last_miss_read
                .lock()
                .map_err(|_| RoutingError::Protocol("registry lock poisoned".into()))?;
            let due = last.is_none_or(|t| t.elapsed() >= MISS_REFRESH);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if due {
            self.reread_registry().await
        } else {
            Ok(copy)
        }
    }

    /// The registered regions: the shards the sweeper polls.
    pub async fn registered_regions(&self) -> Result<Vec<RegionId>, RoutingError> {
        Ok(self.registry().await?.regions.keys().cloned().collect())
    }

    /// Reads the registry again. When Redis cannot answer (the registry's
    /// node failing over, say), the copy this replica has goes on serving:
    /// calls for known regions need not fail with the registry's node.
    async fn reread_registry(&self) -> Result<Arc<Registry>, RoutingError> {
        match self.read_registry().await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                if let Ok(mut c) = self.registry.copy.lock() {
                    *c = Some((Instant::now(), fresh.clone()));
                }
                Ok(fresh)
            }
            Err(e) => {
                let copy = self.registry.copy.lock().ok().and_then(|c| c.clone());
                match copy {
                    Some((_, r)) => {
                        tracing::warn!(error = %e, "registry not read; the last copy serves");
                        Ok(r)
                    }
                    None => Err(e),
                }
            }
        }
    }

    /// After a write: the next call reads the registry again (the copy
    /// stays as the fallback should Redis not answer).
    fn forget_registry(&self) {
        if let Ok(mut c) = self.registry.copy.lock() {
            match (c.as_mut(), Instant::now().checked_sub(REFRESH)) {
                (Some((at, _)), Some(old)) => *at = old,
                _ => *c = None,
            }
        }
    }
}
