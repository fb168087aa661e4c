//! The replay fast path of the intake: a resent interaction is answered
//! from the record of its first call, before anything is scored.

use super::{Answer, Funnel, FunnelError, Submitted};
use crate::domain::{Interaction, InteractionId, RegionId};
use crate::routing::{Home, RoutingError};
use std::time::Instant;

impl Funnel {
    /// The replay fast path, right after the region check (before limits,
    /// masking and scoring): claims each interaction's customer home (as
    /// ingesting it would), then answers each one already ingested there
    /// from the record of its first call. A new interaction costs one
    /// EXISTS, sent with the claim. The rest are returned with their home;
    /// a replay whose record was folded away goes the whole way (`ingest`
    /// recognises it too).
    pub(super) async fn answer_replays(
        &self,
        placed: Vec<(usize, Interaction)>,
        results: &mut [Option<Result<Submitted, FunnelError>>],
    ) -> Result<Vec<(usize, Interaction, Home)>, FunnelError> {
        let t0 = Instant::now();
        // The home claim and an EXISTS of the interaction in the region the
        // robot named go out together: for a new interaction of a customer
        // at home (nearly every call) that is all, one round trip.
        let checks = futures::future::join_all(placed.iter().map(|(_, i)| async {
            let (home, seen) = tokio::join!(
                self.router.claim_home(&i.customer_id, &i.region_id),
                self.router.ingested(&i.region_id, &i.interaction_id)
            );
            Ok::<_, RoutingError>((home?, seen?))
        }))
        .await;
        let mut looked = Vec::with_capacity(placed.len());
        for ((n, i), check) in placed.into_iter().zip(checks) {
            match check {
                // Seen where it was sent, or the customer lives elsewhere
                // (then its home is where a replay would be): look it up.
                Ok((home, seen)) => {
                    let look = seen || home.region != i.region_id;
                    looked.push((n, i, home, look));
                }
                Err(e) => results[n] = Some(Err(e.into())),
            }
        }
        let mut regions: Vec<RegionId> = looked
            .iter()
            .filter(|p| p.3)
            .map(|p| p.2.region.clone())
            .collect();
        regions.sort_unstable();
        regions.dedup();
        let mut found = std::collections::HashMap::new();
        for region in &regions {
            let ids: Vec<&InteractionId> = looked
                .iter()
                .filter(|p| p.3 && &p.2.region == region)
                .map(|p| &p.1.interaction_id)
                .collect();
            let replays = self.router.replays(region, &ids).await?;
            for (id, outcome) in ids.into_iter().zip(replays) {
                if let Some(o) = outcome.filter(|o| o.recorded.is_some()) {
                    found.insert(id.clone(), o);
                }
            }
        }
        let mut rest = Vec::with_capacity(looked.len());
        for (n, i, home, _) in looked {
            match found.remove(&i.interaction_id) {
                Some(o) => {
                    let first = o.recorded.expect("kept only with its record");
                    self.metrics.observe_stage("replay", t0.elapsed());
                    results[n] = Some(Ok(Submitted {
                        lead_id: o.lead_id,
                        branch: first.interaction.branch_id.clone(),
                        answer: Answer::recorded(first),
                        destination: o.destination,
                        region: o.region,
                        replayed: true,
                        joined: o.joined,
                    }));
                }
                None => rest.push((n, i, home)),
            }
        }
        Ok(rest)
    }
}
