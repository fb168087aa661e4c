//! Remote managers: pulls under a lease, fairly across the shards they
//! serve, and what they do with a leased lead.

use super::script::lua_list;
use super::{Actor, Completion, Lease, LeaseRef, Moved, Router, RoutingError};
use crate::domain::*;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Serialize)]
struct PullArgs<'a> {
    manager: &'a ManagerId,
    max: usize,
    lease_ms: u64,
    held_elsewhere: u64,
    request_id: &'a str,
}

#[derive(Deserialize)]
struct Pulled {
    #[serde(deserialize_with = "lua_list")]
    leases: Vec<Lease>,
}

#[derive(Serialize)]
struct CompleteArgs<'a> {
    #[serde(flatten)]
    lease: LeaseRef<'a>,
    #[serde(flatten)]
    completion: Completion<'a>,
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
    ///
    /// Retry-safe: every shard records its answer under `request_id`, and the
    /// shard order follows from it, so a retry (after a lost response, or a
    /// failure in one shard) answers the leases already granted.
    #[tracing::instrument(skip_all, fields(manager = %m, max))]
    pub async fn pull(
        &self,
        m: &ManagerId,
        max: u32,
        lease: Option<Duration>,
        request_id: &str,
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
        let start = request_id
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize))
            % n;
        let order: Vec<&RegionId> = (0..n).map(|i| &entry.shards[(start + i) % n]).collect();
        let max = max as usize;
        if n == 1 {
            // Within one shard the script counts the load itself.
            return self.pull_in(order[0], m, max, 0, lease, request_id).await;
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
            self.pull_in(r, m, shares[i], elsewhere, lease, request_id)
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
            let fill = format!("{request_id}+fill");
            leases.extend(
                self.pull_in(region, m, want, elsewhere, lease, &fill)
                    .await?,
            );
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
        request_id: &str,
    ) -> Result<Vec<Lease>, RoutingError> {
        if want == 0 {
            return Ok(vec![]);
        }
        let args = PullArgs {
            manager: m,
            max: want,
            lease_ms: lease.as_millis() as u64,
            held_elsewhere,
            request_id,
        };
        let actor = Actor::Manager(m.clone());
        let pulled: Pulled = self
            .invoke(&self.scripts.pull, region, &actor, &args)
            .await?;
        Ok(pulled.leases)
    }

    /// Records the outcome of a leased lead.
    #[tracing::instrument(skip_all, fields(manager = %lease.manager, lead = %lease.lead, outcome = %completion.outcome))]
    pub async fn complete(
        &self,
        lease: LeaseRef<'_>,
        completion: Completion<'_>,
    ) -> Result<Moved, RoutingError> {
        // Whether the time is in the future is the script's check, on Redis's
        // clock and after its replay lookup (a retry may come after it).
        if completion.outcome == RemoteOutcome::CallBack && completion.callback_at.is_none() {
            return Err(RoutingError::invalid(
                "callback_at",
                "a call-back needs a time",
            ));
        }
        let args = CompleteArgs { lease, completion };
        self.on_lease(&self.scripts.complete_lead, lease, &args)
            .await
    }

    /// Puts a leased lead back where it came from, no attempt counted.
    pub async fn release(&self, lease: LeaseRef<'_>) -> Result<Moved, RoutingError> {
        self.on_lease(&self.scripts.release_lead, lease, &lease)
            .await
    }

    /// Extends a lease; returns the new expiry (capped at now + lease_max).
    pub async fn extend(&self, lease: LeaseRef<'_>, by: Duration) -> Result<i64, RoutingError> {
        let args = ExtendArgs {
            lease,
            by_ms: by.as_millis() as u64,
        };
        let e: Extended = self
            .on_lease(&self.scripts.extend_lease, lease, &args)
            .await?;
        Ok(e.expires_at)
    }

    /// Turns a leased lead into a referral to the customer's branch.
    pub async fn escalate(&self, lease: LeaseRef<'_>, reason: &str) -> Result<Moved, RoutingError> {
        let args = EscalateArgs { lease, reason };
        self.on_lease(&self.scripts.escalate_lead, lease, &args)
            .await
    }

    async fn on_lease<A: Serialize, R: serde::de::DeserializeOwned>(
        &self,
        function: &super::script::Function,
        lease: LeaseRef<'_>,
        args: &A,
    ) -> Result<R, RoutingError> {
        let region = Self::region_of(lease.lead)?;
        let actor = Actor::Manager(lease.manager.clone());
        self.invoke(function, &region, &actor, args).await
    }
}
