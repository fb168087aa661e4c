//! What managers and operations do: the remote desk, referrals, managers,
//! queue statistics and audit trails.

use super::{Funnel, FunnelError};
use crate::domain::*;
use crate::routing::{AuditEvent, LeadRecord, Lease, Moved, QueueStats};
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
    /// holds, is offered or whose own queue holds them.
    pub async fn get_lead(&self, reader: &Reader, id: &LeadId) -> Result<LeadRecord> {
        let rec = self.router.get_lead(id).await?;
        let allowed = match reader {
            Reader::Admin => true,
            Reader::Manager(m) => rec.lead.manager() == Some(m),
            Reader::Robot => false,
        };
        if !allowed {
            return Err(FunnelError::PermissionDenied(format!(
                "may not read lead {id}"
            )));
        }
        Ok(rec)
    }

    pub async fn audit_trail(&self, id: &LeadId) -> Result<Vec<AuditEvent>> {
        Ok(self.router.get_lead(id).await?.history)
    }

    pub async fn pull(
        &self,
        m: &ManagerId,
        max: u32,
        lease: Option<Duration>,
    ) -> Result<Vec<Lease>> {
        Ok(self.router.pull(m, max, lease).await?)
    }

    pub async fn complete(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
        outcome: RemoteOutcome,
        callback_at_ms: Option<i64>,
        note: &str,
    ) -> Result<Moved> {
        let moved = self
            .router
            .complete(m, lead, lease_id, outcome, callback_at_ms, note)
            .await?;
        Ok(moved)
    }

    pub async fn release(&self, m: &ManagerId, lead: &LeadId, lease_id: &str) -> Result<Moved> {
        Ok(self.router.release(m, lead, lease_id).await?)
    }

    pub async fn extend(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
        by: Duration,
    ) -> Result<i64> {
        Ok(self.router.extend(m, lead, lease_id, by).await?)
    }

    pub async fn escalate(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        lease_id: &str,
        reason: &str,
    ) -> Result<Moved> {
        Ok(self.router.escalate(m, lead, lease_id, reason).await?)
    }

    /// Accepts an offer; answers the lead as the manager now holds it.
    pub async fn accept(&self, m: &ManagerId, lead: &LeadId, offer_id: &str) -> Result<LeadRecord> {
        self.router.accept(m, lead, offer_id).await?;
        Ok(self.router.get_lead(lead).await?)
    }

    pub async fn decline(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        offer_id: &str,
        reason: &str,
    ) -> Result<Moved> {
        Ok(self.router.decline(m, lead, offer_id, reason).await?)
    }

    pub async fn complete_referral(
        &self,
        m: &ManagerId,
        lead: &LeadId,
        outcome: ReferralOutcome,
        note: &str,
    ) -> Result<Moved> {
        Ok(self
            .router
            .complete_referral(m, lead, outcome, note)
            .await?)
    }

    /// Registers or updates a manager; answers it as stored.
    pub async fn upsert_manager(&self, m: &Manager) -> Result<Manager> {
        self.router.upsert_manager(m).await?;
        Ok(self.router.get_manager(&m.id).await?)
    }

    pub async fn set_availability(&self, m: &ManagerId, available: bool) -> Result<Manager> {
        self.router.set_availability(m, available).await?;
        Ok(self.router.get_manager(m).await?)
    }

    pub async fn get_manager(&self, m: &ManagerId) -> Result<Manager> {
        Ok(self.router.get_manager(m).await?)
    }

    pub async fn queue_stats(&self, region: Option<&RegionId>) -> Result<QueueStats> {
        Ok(self.router.queue_stats(region).await?)
    }
}
