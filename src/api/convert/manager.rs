//! Managers: wire ↔ domain.

use super::*;

pub fn tier_from_pb(v: i32) -> Result<ManagerTier, ApiError> {
    match pb::ManagerTier::try_from(v) {
        Ok(pb::ManagerTier::Remote) => Ok(ManagerTier::Remote),
        Ok(pb::ManagerTier::Offline) => Ok(ManagerTier::Offline),
        _ => Err(bad("manager.tier", "must be REMOTE or OFFLINE")),
    }
}

pub fn tier_to_pb(t: ManagerTier) -> pb::ManagerTier {
    match t {
        ManagerTier::Remote => pb::ManagerTier::Remote,
        ManagerTier::Offline => pb::ManagerTier::Offline,
    }
}

pub fn manager_from_pb(m: pb::Manager) -> Result<Manager, ApiError> {
    // Destructured whole: a field added to the proto is a compile error here.
    let pb::Manager {
        manager_id,
        display_name,
        tier,
        region_id,
        branch_id,
        team_id,
        served_region_ids,
        qualified_products,
        capacity,
        available,
    } = m;
    let tier = tier_from_pb(tier)?;
    let region = required_id(&region_id, "manager.region_id", RegionId::parse)?;
    let branch = optional_id(&Some(branch_id), "manager.branch_id", BranchId::parse)?;
    match (tier, &branch) {
        (ManagerTier::Offline, None) => {
            return Err(bad("manager.branch_id", "required for an offline manager"))
        }
        (ManagerTier::Remote, Some(_)) => {
            return Err(bad("manager.branch_id", "not allowed for a remote manager"))
        }
        _ => {}
    }
    if tier == ManagerTier::Offline && !team_id.is_empty() {
        return Err(bad("manager.team_id", "not allowed for an offline manager"));
    }
    if capacity < 1 {
        return Err(bad("manager.capacity", "must be at least 1"));
    }
    if qualified_products.is_empty() {
        return Err(bad("manager.qualified_products", "at least one product"));
    }
    let mut products = Vec::new();
    for (i, p) in qualified_products.iter().enumerate() {
        products.push(product_from_pb(
            *p,
            &format!("manager.qualified_products[{i}]"),
        )?);
    }
    let mut served = Vec::new();
    for (i, r) in served_region_ids.iter().enumerate() {
        served.push(required_id(
            r,
            &format!("manager.served_region_ids[{i}]"),
            RegionId::parse,
        )?);
    }
    if tier == ManagerTier::Offline && !served.is_empty() {
        return Err(bad(
            "manager.served_region_ids",
            "only remote managers serve other regions",
        ));
    }
    Ok(Manager {
        id: required_id(&manager_id, "manager.manager_id", ManagerId::parse)?,
        display_name,
        tier,
        region,
        branch,
        team: Some(team_id).filter(|t| !t.is_empty()),
        served_regions: served,
        qualified_products: products,
        capacity: capacity as u32,
        available,
    })
}

pub fn manager_to_pb(m: &Manager) -> pb::Manager {
    pb::Manager {
        manager_id: m.id.to_string(),
        display_name: m.display_name.clone(),
        tier: tier_to_pb(m.tier) as i32,
        region_id: m.region.to_string(),
        branch_id: m.branch.as_ref().map(|b| b.to_string()).unwrap_or_default(),
        team_id: m.team.clone().unwrap_or_default(),
        served_region_ids: m.served_regions.iter().map(|r| r.to_string()).collect(),
        qualified_products: m
            .qualified_products
            .iter()
            .map(|p| product_to_pb(*p) as i32)
            .collect(),
        capacity: m.capacity as i32,
        available: m.available,
    }
}
