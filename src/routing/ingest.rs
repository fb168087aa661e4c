//! Ingestion: one scored interaction into its region's shard.

use super::{Actor, Home, IngestOutcome, IngestRequest, Router, RoutingError};
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
    /// Whether `interaction` was ingested in `region`'s shard (its `idem:`
    /// record is there): one EXISTS, the cheap first step of the replay fast
    /// path for the common case, a new interaction.
    pub async fn ingested(
        &self,
        region: &RegionId,
        interaction: &InteractionId,
    ) -> Result<bool, RoutingError> {
        let key = self.keys.shard(region).idem(interaction.as_str());
        let mut conn = self.conn.clone();
        Ok(redis::cmd("EXISTS")
            .arg(key)
            .query_async::<i64>(&mut conn)
            .await?
            == 1)
    }

    /// The replay fast path: for each of `interactions` (ids, in order) its
    /// result and the answer its first call got, if it was ingested in
    /// `region`'s shard; `None` where not. One round trip, nothing written.
    /// A replay whose customer lives in another region is not found here;
    /// `ingest` still answers it as a replay.
    #[tracing::instrument(skip_all, fields(region = %region, n = interactions.len()))]
    pub async fn replays(
        &self,
        region: &RegionId,
        interactions: &[&InteractionId],
    ) -> Result<Vec<Option<IngestOutcome>>, RoutingError> {
        #[derive(Serialize)]
        struct ReplayArgs<'a> {
            interaction_ids: &'a [&'a InteractionId],
        }
        let args = ReplayArgs {
            interaction_ids: interactions,
        };
        let mut found: Vec<Option<IngestOutcome>> = self
            .invoke(&self.scripts.replay, region, &Actor::Robot, &args)
            .await?;
        if found.len() != interactions.len() {
            return Err(RoutingError::Protocol(format!(
                "replay answered {} of {} interactions",
                found.len(),
                interactions.len()
            )));
        }
        for o in found.iter_mut().flatten() {
            o.region = region.clone();
        }
        Ok(found)
    }

    /// Ingests one scored interaction (see `lua/ingest.lua`) in the
    /// customer's home region (claimed on its first call), where the script
    /// applies what the customer told us before (do-not-contact, complaint
    /// cool-off, contact cap) and remembers what this call tells, atomically
    /// with routing the lead.
    pub async fn ingest(&self, req: &IngestRequest) -> Result<IngestOutcome, RoutingError> {
        let home = self.claim_home(&req.customer, &req.region).await?;
        self.ingest_at(req, home).await
    }

    /// [`Router::ingest`] with the customer's home already claimed
    /// ([`Router::claim_home`]: the intake claims it before scoring, to look
    /// for a replay where the customer's leads live).
    #[tracing::instrument(skip_all, fields(interaction = %req.interaction_id, region = %home.region))]
    pub async fn ingest_at(
        &self,
        req: &IngestRequest,
        home: Home,
    ) -> Result<IngestOutcome, RoutingError> {
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
