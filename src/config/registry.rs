//! `[registry]`: regions and branches registered at start (an admin may
//! register more at run time: `RegisterRegion` / `RegisterBranch`, or
//! `funnel region`), and where an interaction for an unknown region goes.

use crate::domain::{BranchId, DomainError, RegionId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryConfig {
    /// Region id → its branch ids, registered at start (idempotent, added
    /// to what is registered already; nothing is ever unregistered here).
    /// E.g. `east = ["east-sh-pudong", "east-hz-xihu"]`.
    pub regions: BTreeMap<String, Vec<String>>,
    /// An interaction naming an unregistered region goes here (a registered
    /// region), its branch kept as the robot sent it; unset: such an
    /// interaction is refused with INVALID_ARGUMENT naming `region_id`.
    /// An unregistered branch of a registered region is always refused.
    pub default_region: Option<String>,
}

/// The registry configuration with every id validated.
#[derive(Debug, Clone, Default)]
pub struct RegistrySeed {
    pub regions: Vec<(RegionId, Vec<BranchId>)>,
    pub default_region: Option<RegionId>,
}

impl RegistryConfig {
    pub fn seed(&self) -> Result<RegistrySeed, DomainError> {
        let mut regions = vec![];
        for (r, branches) in &self.regions {
            let branches = branches
                .iter()
                .map(|b| BranchId::parse(b.clone()))
                .collect::<Result<Vec<_>, _>>()?;
            regions.push((RegionId::parse(r.clone())?, branches));
        }
        let default_region = self
            .default_region
            .as_ref()
            .map(|r| RegionId::parse(r.clone()))
            .transpose()?;
        if let Some(d) = &default_region {
            if !regions.iter().any(|(r, _)| r == d) {
                return Err(DomainError::new(
                    "registry.default_region",
                    format!("{d} must be one of registry.regions"),
                ));
            }
        }
        Ok(RegistrySeed {
            regions,
            default_region,
        })
    }
}
