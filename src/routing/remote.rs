//! Remote managers: pulls under a lease, fairly across the shards they
//! serve, and what they do with a leased lead.

use super::script::lua_list;
use super::{Actor, Lease, Moved, Router, RoutingError};
use crate::domain::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::time::Duration;

#[derive(Serialize)]
struct PullArgs<'a> {
    manager: &'a ManagerId,
    max: usize,
    lease_ms: u64,
    held_elsewhere: u64,
}

#[derive(Deserialize)]
struct Pulled {
    #[serde(deserialize_with = "lua_list")]
    leases: Vec<Lease>,
}

/// The fence of every call on a leased lead.
#[derive(Serialize)]
struct LeaseRef<'a> {
    manager: &'a ManagerId,
    lead: &'a LeadId,
    lease_id: &'a str,
}

#[derive(Serialize)]
struct CompleteArgs<'a> {
    #[serde(flatten)]
    lease: LeaseRef<'a>,
    outcome: RemoteOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_at: Option<i64>,
    note: &'a str,
}

#[derive(Serialize)]
struct ExtendArgs<'a> {
    #[serde(flatten)]
    lease: LeaseRef<'a>,
    by_ms: u64,
}

#[derive(Serialize)]
struct EscalateArgs<'a> {
    #[serde(flatten)]
    lease: LeaseRef<'a>,
    reason: &'a str,
}

#[derive(Deserialize)]
struct Extended {
    expires_at: i64,
}

impl Router {
    async fn load_in(&self, region: &RegionId, m: &ManagerId) -> Result<u64, RoutingError> {
        let shard = self.keys.shard(region);
        let mut conn = self.conn.clone();
        let (held, offers): (u64, u64) = redis::pipe()
            .cmd("ZCARD")
            .arg(shard.held(m.as_str()))
            .cmd("ZCARD")
            .arg(shard.offers(m.as_str()))
            .query_async(&mut conn)
            .await?;
        Ok(held + offers)
    }

    /// Pulls up to `max` leads under a lease, fairly across the shards the
    /// manager serves: every shard is first asked for an even share (all at
    /// once), then, if some had fewer, the rest is filled up shard by shard,
    /// starting at the next shard in rotation.
    ///
    /// Capacity spans shards: each shard's script is told the load held
    /// elsewhere *plus* the shares asked of the other shards at the same
    /// time, so concurrent shares never overshoot the manager's capacity.
    #[tracing::instrument(skip_all, fields(manager = %m, max))]
    pub async fn pull(
        &self,
        m: &ManagerId,
        max: u32,
        lease: Option<Duration>,
    ) -> Result<Vec<Lease>, RoutingError> {
        let entry = self.require_directory(m).await?;
        if entry.tier != ManagerTier::Remote {
            return Err(RoutingError::FailedPrecondition(format!(
                "{m} is not a remote manager"
            )));
        }
        let lease = lease
            .unwrap_or(self.cfg.lease_default)
            .min(self.cfg.lease_max);
        let n = entry.shards.len();
        let start = self.pull_rotation.fetch_add(1, Ordering::Relaxed) % n;
        let order: Vec<&RegionId> = (0..n).map(|i| &entry.shards[(start + i) % n]).collect();
        let max = max as usize;
        if n == 1 {
            // Within one shard the script counts the load itself.
            return self.pull_in(order[0], m, max, 0, lease).await;
        }
        let loads = futures::future::try_join_all(order.iter().map(|r| self.load_in(r, m))).await?;
        let total_load: u64 = loads.iter().sum();
        let share = max.div_ceil(n);
        let shares: Vec<usize> = (0..n)
            .map(|i| share.min(max.saturating_sub(i * share)))
            .collect();
        let asked: usize = shares.iter().sum();
        let first = futures::future::try_join_all(order.iter().enumerate().map(|(i, r)| {
            let elsewhere = total_load - loads[i] + (asked - shares[i]) as u64;
            self.pull_in(r, m, shares[i], elsewhere, lease)
        }))
        .await?;
        let mut leases: Vec<Lease> = first.into_iter().flatten().collect();
        for (i, region) in order.iter().enumerate() {
            let want = max - leases.len();
            if want == 0 {
                break;
            }
            let here = leases
                .iter()
                .filter(|l| l.lead.id.region().as_ref() == Some(*region))
                .count() as u64;
            let elsewhere = total_load - loads[i] + leases.len() as u64 - here;
            leases.extend(self.pull_in(region, m, want, elsewhere, lease).await?);
        }
        Ok(leases)
    }

    async fn pull_in(
        &self,
        region: &RegionId,
        m: &ManagerId,
        want: usize,
        held_elsewhere: u64,
        lease: Duration,
    ) -> Result<Vec<Lease>, RoutingError> {
        if want == 0 {
            return Ok(vec![]);
        }
        let args = PullArgs {
            manager: m,
            max: want,
            lease_ms: lease.as_millis() as u64,
            held_elsewhere,
        };
        let actor = Actor::Manager(m.clone());
        let pulled: Pulled = self
            .invoke(&self.scripts.pull, region, &actor, &args)
            .await?;
        Ok(pulled.leases)
    }

    /// Records the outcome of a leased lead.
    #[tracing::instrument(skip_all, fields(manager = %m, lead = %lead, outcome = %outcome))]
    pub async fn complete(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
        outcome: RemoteOutcome,
        callback_at_ms: Option<i64>,
        note: &str,
    ) -> Result<Moved, RoutingError> {
        let callback_at = match (outcome, callback_at_ms) {
            (RemoteOutcome::CallBack, Some(t)) if t > self.clock.now_ms() => Some(t),
            (RemoteOutcome::CallBack, _) => {
                return Err(RoutingError::invalid(
                    "callback_at",
                    "a call-back needs a time in the future",
                ))
            }
            _ => None,
        };
        let args = CompleteArgs {
            lease: LeaseRef {
                manager: m,
                lead,
                lease_id,
            },
            outcome,
            callback_at,
            note,
        };
        self.on_lease(&self.scripts.complete_lead, m, lead, &args)
            .await
    }

    /// Puts a leased lead back where it came from, no attempt counted.
    pub async fn release(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
    ) -> Result<Moved, RoutingError> {
        let args = LeaseRef {
            manager: m,
            lead,
            lease_id,
        };
        self.on_lease(&self.scripts.release_lead, m, lead, &args)
            .await
    }

    /// Extends a lease; returns the new expiry (capped at now + lease_max).
    pub async fn extend(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
        by: Duration,
    ) -> Result<i64, RoutingError> {
        let args = ExtendArgs {
            lease: LeaseRef {
                manager: m,
                lead,
                lease_id,
            },
            by_ms: by.as_millis() as u64,
        };
        let e: Extended = self
            .on_lease(&self.scripts.extend_lease, m, lead, &args)
            .await?;
        Ok(e.expires_at)
    }

    /// Turns a leased lead into a referral to the customer's branch.
    pub async fn escalate(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
        reason: &str,
    ) -> Result<Moved, RoutingError> {
        let args = EscalateArgs {
            lease: LeaseRef {
                manager: m,
                lead,
                lease_id,
            },
            reason,
        };
        self.on_lease(&self.scripts.escalate_lead, m, lead, &args)
            .await
    }

    async fn on_lease<A: Serialize, R: serde::de::DeserializeOwned>(
        &self,
        script: &redis::Script,
        m: &ManagerId,
        lead: &LeadId,
        args: &A,
    ) -> Result<R, RoutingError> {
        let region = Self::region_of(lead)?;
        self.invoke(script, &region, &Actor::Manager(m.clone()), args)
            .await
    }
}
