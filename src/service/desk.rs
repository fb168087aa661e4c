//! What managers and operations do: the remote desk, referrals, managers,
//! queue statistics and audit trails.

use super::{Funnel, FunnelError};
use crate::domain::*;
use crate::routing::{
    AuditEvent, Completion, CustomerState, LeadRecord, Lease, LeaseRef, ListQuery, Moved, MyWork,
    OfferRef, Page, QueueStats, RegisteredRegion, Registry, RoutingError,
};
use std::time::Duration;

/// Who reads a lead (the rule of [`Funnel::get_lead`]).
#[derive(Debug, Clone)]
pub enum Reader {
    Admin,
    Manager(ManagerId),
    Robot,
}

type Result<T> = std::result::Result<T, FunnelError>;

impl Funnel {
    /// A lead, if `reader` may see it: admins any; a manager the leads it
    /// holds, is offered or whose own queue holds them, and those it closed
    /// within `closed_readable_for` (a retry after a lost answer can check).
    pub async fn get_lead(&self, reader: &Reader, id: &LeadId) -> Result<LeadRecord> {
        let rec = self.router.get_lead(id).await?;
        let l = &rec.lead;
        let allowed = match reader {
            Reader::Admin => true,
            Reader::Manager(m) => {
                let closed_recently = l.closed_by.as_ref() == Some(m)
                    && l.closed_at.is_some_and(|at| {
                        self.now_ms() - at < self.closed_readable_for.as_millis() as i64
                    });
                l.manager() == Some(m) || closed_recently
            }
            Reader::Robot => false,
        };
        if !allowed {
            return Err(FunnelError::PermissionDenied(format!(
                "may not read lead {id}"
            )));
        }
        Ok(rec)
    }

    /// What a manager holds and is offered now (agrees with its load in the
    /// queue statistics).
    pub async fn my_work(&self, m: &ManagerId) -> Result<MyWork> {
        Ok(self.router.my_work(m).await?)
    }

    pub async fn audit_trail(&self, id: &LeadId) -> Result<Vec<AuditEvent>> {
        Ok(self.router.get_lead(id).await?.history)
    }

    /// Pulls leads under a lease; a retry with the same `request_id`
    /// answers the same leases.
    pub async fn pull(
        &self,
        m: &ManagerId,
        max: u32,
        lease: Option<Duration>,
        request_id: &RequestId,
    ) -> Result<Vec<Lease>> {
        Ok(self.router.pull(m, max, lease, request_id.as_str()).await?)
    }

    pub async fn complete(&self, lease: LeaseRef<'_>, c: Completion<'_>) -> Result<Moved> {
        let note = self.admit_note("note", c.note)?;
        let c = Completion { note: &note, ..c };
        Ok(self.router.complete(lease, c).await?)
    }

    pub async fn release(&self, lease: LeaseRef<'_>) -> Result<Moved> {
        Ok(self.router.release(lease).await?)
    }

    pub async fn extend(&self, lease: LeaseRef<'_>, by: Duration) -> Result<i64> {
        Ok(self.router.extend(lease, by).await?)
    }

    pub async fn escalate(&self, lease: LeaseRef<'_>, reason: &str) -> Result<Moved> {
        let reason = self.admit_note("reason", reason)?;
        Ok(self.router.escalate(lease, &reason).await?)
    }

    /// Accepts an offer; answers the lead as the manager now holds it.
    pub async fn accept(&self, offer: OfferRef<'_>) -> Result<LeadRecord> {
        self.router.accept(offer).await?;
        Ok(self.router.get_lead(offer.lead).await?)
    }

    pub async fn decline(
        &self,
        offer: OfferRef<'_>,
        reason: &str,
        category: DeclineCategory,
    ) -> Result<Moved> {
        let reason = self.admit_note("reason", reason)?;
        Ok(self.router.decline(offer, &reason, category).await?)
    }

    pub async fn complete_referral(
        &self,
        acceptance: OfferRef<'_>,
        outcome: ReferralOutcome,
        note: &str,
    ) -> Result<Moved> {
        let note = self.admit_note("note", note)?;
        Ok(self
            .router
            .complete_referral(acceptance, outcome, &note)
            .await?)
    }

    /// Registers or updates a manager; answers it as stored. Its region,
    /// the regions it serves and its branch must be registered.
    pub async fn upsert_manager(&self, m: &Manager) -> Result<Manager> {
        let registered = |r: &crate::routing::Registry| {
            m.shards().iter().all(|s| r.has_region(s))
                && m.branch
                    .as_ref()
                    .is_none_or(|b| r.region_of(b) == Some(&m.region))
        };
        let registry = self.router.registry_knowing(registered).await?;
        for r in m.shards() {
            if !registry.has_region(&r) {
                let field = if r == m.region {
                    "manager.region_id"
                } else {
                    "manager.served_region_ids"
                };
                return Err(
                    DomainError::new(field, format!("region {r} is not registered")).into(),
                );
            }
        }
        if let Some(b) = &m.branch {
            if registry.region_of(b) != Some(&m.region) {
                return Err(DomainError::new(
                    "manager.branch_id",
                    format!("branch {b} is not registered in region {}", m.region),
                )
                .into());
            }
        }
        self.router.upsert_manager(m).await?;
        Ok(self.router.get_manager(&m.id).await?)
    }

    /// Registers a region (named `display_name`, or its id) and answers it.
    pub async fn register_region(
        &self,
        r: &RegionId,
        display_name: &str,
    ) -> Result<RegisteredRegion> {
        let name = if display_name.is_empty() {
            r.as_str()
        } else {
            display_name
        };
        self.router.register_region(r, name).await?;
        self.registered(r).await
    }

    /// Registers a branch of a registered region and answers the region.
    pub async fn register_branch(&self, r: &RegionId, b: &BranchId) -> Result<RegisteredRegion> {
        self.router.register_branch(r, b).await?;
        self.registered(r).await
    }

    /// Every registered region.
    pub async fn regions(&self) -> Result<Registry> {
        Ok(self.router.read_registry().await?)
    }

    async fn registered(&self, r: &RegionId) -> Result<RegisteredRegion> {
        let mut registry = self.router.read_registry().await?;
        registry
            .regions
            .remove(r)
            .ok_or_else(|| FunnelError::Routing(RoutingError::NotFound(format!("region {r}"))))
    }

    pub async fn set_availability(&self, m: &ManagerId, available: bool) -> Result<Manager> {
        self.router.set_availability(m, available).await?;
        Ok(self.router.get_manager(m).await?)
    }

    pub async fn get_manager(&self, m: &ManagerId) -> Result<Manager> {
        Ok(self.router.get_manager(m).await?)
    }

    /// A page of a region's watch list (unassigned, unplaceable, due for
    /// re-engagement).
    pub async fn list_leads(&self, region: &RegionId, q: ListQuery) -> Result<Page> {
        Ok(self.router.list_leads(region, q).await?)
    }

    /// A customer's compliance memory.
    pub async fn customer(&self, c: &CustomerId) -> Result<CustomerState> {
        Ok(self.router.customer_state(c).await?)
    }

    /// An admin sets or clears do-not-contact (setting it suppresses the
    /// customer's open lead at once) or ends a complaint cool-off.
    pub async fn set_customer(
        &self,
        c: &CustomerId,
        do_not_contact: Option<bool>,
        clear_complaint: bool,
    ) -> Result<CustomerState> {
        Ok(self
            .router
            .customer_set(c, do_not_contact, clear_complaint)
            .await?)
    }

    /// The newest lines of the webhook delivery log.
    pub async fn webhook_log(&self, count: usize) -> Result<Vec<Vec<(String, String)>>> {
        Ok(self.router.log_tail("webhooks", count).await?)
    }

    pub async fn queue_stats(&self, region: Option<&RegionId>) -> Result<QueueStats> {
        Ok(self.router.queue_stats(region).await?)
    }
}
