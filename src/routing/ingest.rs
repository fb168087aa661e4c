//! Ingestion: one scored interaction into its region's shard.

use super::{Actor, IngestOutcome, IngestRequest, Router, RoutingError};
use crate::domain::*;
use serde::Serialize;

/// `ingest.lua`'s arguments.
#[derive(Serialize)]
struct Args<'a> {
    interaction_id: &'a InteractionId,
    lead_id: &'a LeadId,
    customer: &'a CustomerId,
    product: Product,
    campaign: &'a CampaignId,
    branch: &'a BranchId,
    relationship_manager: Option<&'a ManagerId>,
    remote_manager: Option<&'a ManagerId>,
    route: Route,
    bucket: Bucket,
    probability: f64,
    score: u8,
    model_version: &'a str,
    why: &'a str,
    pending_dnc: bool,
}

impl Router {
    /// Ingests one scored interaction (see `lua/ingest.lua`) in the
    /// customer's home region (claimed on its first call), where the script
    /// applies what the customer told us before (do-not-contact, complaint
    /// cool-off, contact cap) and remembers what this call tells, atomically
    /// with routing the lead.
    #[tracing::instrument(skip_all, fields(interaction = %req.interaction_id, region = %req.region))]
    pub async fn ingest(&self, req: &IngestRequest) -> Result<IngestOutcome, RoutingError> {
        let home = self.claim_home(&req.customer, &req.region).await?;
        let region = home.region;
        let lead_id = LeadId::generate(&region, self.clock.now_ms());
        let args = Args {
            interaction_id: &req.interaction_id,
            lead_id: &lead_id,
            customer: &req.customer,
            product: req.product,
            campaign: &req.campaign,
            branch: &req.branch,
            relationship_manager: req.relationship_manager.as_ref(),
            remote_manager: req.remote_manager.as_ref(),
            route: req.route,
            bucket: req.score.bucket,
            probability: req.score.probability,
            score: req.score.score,
            model_version: &req.score.model_version,
            why: &req.route_reason,
            pending_dnc: home.pending_dnc,
        };
        // The stored documents travel as payloads: Lua keeps them, never parses them.
        let record = super::record::encode(&req.interaction)?;
        let payloads = [record.as_str()];
        self.note_region(&region).await?;
        let anchor = self.keys.shard(&region);
        let mut outcome: IngestOutcome = self
            .invoke_with(
                &self.scripts.ingest,
                anchor.anchor(),
                &Actor::Robot,
                &args,
                &payloads,
            )
            .await?;
        if home.pending_dnc {
            self.clear_pending_dnc(&req.customer).await?;
        }
        outcome.region = region;
        Ok(outcome)
    }

    /// Adds a region to the set the sweeper walks. Done before a region's
    /// first write (idempotent); remembered per process to save round trips.
    pub(crate) async fn note_region(&self, region: &RegionId) -> Result<(), RoutingError> {
        let known = |s: &std::collections::HashSet<RegionId>| s.contains(region);
        if self
            .noted_regions
            .lock()
            .map(|s| known(&s))
            .unwrap_or(false)
        {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("SADD")
            .arg(self.keys.regions())
            .arg(region.as_str())
            .query_async(&mut conn)
            .await?;
        if let Ok(mut s) = self.noted_regions.lock() {
            s.insert(region.clone());
        }
        Ok(())
    }

    /// Every region that has seen a lead or a manager.
    pub async fn regions(&self) -> Result<Vec<RegionId>, RoutingError> {
        let mut conn = self.conn.clone();
        let names: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.regions())
            .query_async(&mut conn)
            .await?;
        let mut regions: Vec<RegionId> = names
            .into_iter()
            .filter_map(|n| RegionId::parse(n).ok())
            .collect();
        regions.sort();
        Ok(regions)
    }
}
