//! Who works in a local setup: a typed roster of remote and offline managers
//! (region, branch or served regions, products, capacity), their principals,
//! and a tokens file for them plus the robot and an admin. The roster is
//! registered through the Admin gRPC API ([`Roster::register`]) or straight
//! into a [`Router`] ([`Roster::upsert_into`]), with the regions and branches
//! they work in registered first.

use crate::api::auth::{hash_token, Principal};
use crate::api::convert::manager_to_pb;
use crate::api::pb;
use crate::client::Clients;
use crate::domain::{BranchId, Manager, ManagerId, ManagerTier, Product, RegionId};
use crate::routing::Router;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A manager's capacity unless one is set.
pub const DEFAULT_CAPACITY: u32 = 100;

/// A remote manager homed in `region` (serving no other), qualified for every
/// product, available, named by its id, with [`DEFAULT_CAPACITY`].
pub fn remote(id: ManagerId, region: RegionId) -> Manager {
    Manager {
        display_name: id.to_string(),
        id,
        tier: ManagerTier::Remote,
        region,
        branch: None,
        team: None,
        served_regions: vec![],
        qualified_products: Product::ALL.to_vec(),
        capacity: DEFAULT_CAPACITY,
        available: true,
    }
}

/// An offline manager of `branch` in `region`; otherwise as [`remote`].
pub fn offline(id: ManagerId, region: RegionId, branch: BranchId) -> Manager {
    Manager {
        tier: ManagerTier::Offline,
        branch: Some(branch),
        ..remote(id, region)
    }
}

/// Who a manager's token makes its bearer.
pub fn principal_of(m: &Manager) -> Principal {
    match m.tier {
        ManagerTier::Remote => Principal::RemoteManager(m.id.clone()),
        ManagerTier::Offline => Principal::OfflineManager(m.id.clone()),
    }
}

/// The managers of a local setup, in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    pub managers: Vec<Manager>,
}

impl Roster {
    /// Adds [`remote`]`(id, region)`; returns it to adjust.
    pub fn remote(&mut self, id: &str, region: &str) -> anyhow::Result<&mut Manager> {
        let m = remote(ManagerId::parse(id)?, RegionId::parse(region)?);
        Ok(self.push(m))
    }

    /// Adds [`offline`]`(id, region, branch)`; returns it to adjust.
    pub fn offline(
        &mut self,
        id: &str,
        region: &str,
        branch: &str,
    ) -> anyhow::Result<&mut Manager> {
        let m = offline(
            ManagerId::parse(id)?,
            RegionId::parse(region)?,
            BranchId::parse(branch)?,
        );
        Ok(self.push(m))
    }

    pub fn push(&mut self, m: Manager) -> &mut Manager {
        self.managers.push(m);
        self.managers.last_mut().expect("just pushed")
    }

    /// The managers of one tier, in roster order.
    pub fn of_tier(&self, tier: ManagerTier) -> impl Iterator<Item = &Manager> {
        self.managers.iter().filter(move |m| m.tier == tier)
    }

    /// The robot, the admin, then every manager in roster order.
    pub fn principals(&self) -> Vec<Principal> {
        [Principal::Robot, Principal::Admin]
            .into_iter()
            .chain(self.managers.iter().map(principal_of))
            .collect()
    }

    /// A fresh token for each of [`Roster::principals`], hashed into
    /// `dir/tokens.toml`.
    pub fn write_tokens(&self, dir: &Path) -> anyhow::Result<Tokens> {
        Tokens::write(dir, &self.principals())
    }

    /// `UpsertManager` for every manager, as `admin` (an admin's clients).
    pub async fn register(&self, admin: &Clients) -> anyhow::Result<()> {
        let known: std::collections::BTreeSet<String> = admin
            .admin
            .clone()
            .list_regions(pb::ListRegionsRequest {})
            .await?
            .into_inner()
            .regions
            .into_iter()
            .map(|r| r.region_id)
            .collect();
        let (regions, branches) = self.places();
        for r in regions.iter().filter(|r| !known.contains(r.as_str())) {
            admin
                .admin
                .clone()
                .register_region(pb::RegisterRegionRequest {
                    region_id: r.to_string(),
                    display_name: String::new(),
                })
                .await?;
        }
        for (r, b) in branches {
            admin
                .admin
                .clone()
                .register_branch(pb::RegisterBranchRequest {
                    region_id: r.to_string(),
                    branch_id: b.to_string(),
                })
                .await?;
        }
        for m in &self.managers {
            admin
                .admin
                .clone()
                .upsert_manager(pb::UpsertManagerRequest {
                    manager: Some(manager_to_pb(m)),
                })
                .await?;
        }
        Ok(())
    }

    /// The regions (served ones too) and branches its managers work in.
    pub fn places(&self) -> (BTreeSet<RegionId>, BTreeSet<(RegionId, BranchId)>) {
        let regions = self.managers.iter().flat_map(|m| m.shards()).collect();
        let branches = self
            .managers
            .iter()
            .filter_map(|m| m.branch.clone().map(|b| (m.region.clone(), b)))
            .collect();
        (regions, branches)
    }

    /// Every manager straight into Redis, without a server (its regions and
    /// branches registered first).
    pub async fn upsert_into(&self, router: &Router) -> anyhow::Result<()> {
        let (regions, branches) = self.places();
        let places: Vec<(RegionId, Vec<BranchId>)> = regions
            .into_iter()
            .map(|r| {
                let of_r = branches.iter().filter(|(br, _)| *br == r);
                let bs = of_r.map(|(_, b)| b.clone()).collect();
                (r, bs)
            })
            .collect();
        router.register_places(&places).await?;
        for m in &self.managers {
            router.upsert_manager(m).await?;
        }
        Ok(())
    }
}

/// Bearer tokens issued for a local setup, and the tokens file (SHA-256
/// hashes only) a server loads.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub path: PathBuf,
    issued: Vec<(Principal, String)>,
}

impl Tokens {
    /// A fresh random token for each principal, written as `dir/tokens.toml`.
    pub fn write(dir: &Path, principals: &[Principal]) -> anyhow::Result<Self> {
        let mut toml = String::new();
        let mut issued = Vec::new();
        for who in principals {
            let token = format!("{:032x}", rand::random::<u128>());
            let (role, manager) = match who {
                Principal::Robot => ("robot", None),
                Principal::Admin => ("admin", None),
                Principal::RemoteManager(m) => ("remote_manager", Some(m)),
                Principal::OfflineManager(m) => ("offline_manager", Some(m)),
            };
            toml.push_str(&format!(
                "[[principal]]\ntoken_sha256 = \"{}\"\nrole = \"{role}\"\n",
                hash_token(&token)
            ));
            if let Some(m) = manager {
                toml.push_str(&format!("manager_id = \"{m}\"\n"));
            }
            toml.push('\n');
            issued.push((who.clone(), token));
        }
        let path = dir.join("tokens.toml");
        std::fs::write(&path, toml)?;
        Ok(Self { path, issued })
    }

    /// The token issued to `who`.
    pub fn get(&self, who: &Principal) -> anyhow::Result<&str> {
        self.issued
            .iter()
            .find(|(p, _)| p == who)
            .map(|(_, t)| t.as_str())
            .ok_or_else(|| anyhow::anyhow!("no token for {}", who.describe()))
    }
}

/// The token of the `i`-th principal written.
impl std::ops::Index<usize> for Tokens {
    type Output = str;
    fn index(&self, i: usize) -> &str {
        &self.issued[i].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::auth::Tokens as Loaded;

    #[test]
    fn the_tokens_file_names_every_principal_of_the_roster() {
        let mut roster = Roster::default();
        roster.remote("r1", "east").unwrap().capacity = 7;
        roster.offline("o1", "east", "east-b1").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tokens = roster.write_tokens(dir.path()).unwrap();
        let loaded = Loaded::load(&tokens.path).unwrap();
        for (i, who) in roster.principals().iter().enumerate() {
            let mut req = tonic::Request::new(());
            let bearer = format!("Bearer {}", &tokens[i]).parse().unwrap();
            req.metadata_mut().insert("authorization", bearer);
            assert_eq!(&loaded.principal(&req).unwrap(), who);
            assert_eq!(tokens.get(who).unwrap(), &tokens[i]);
        }
        assert_eq!(roster.of_tier(ManagerTier::Offline).count(), 1);
        assert_eq!(roster.managers[0].capacity, 7);
    }
}
