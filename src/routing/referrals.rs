//! Offline managers: accept, decline and complete referrals; their offers.

use super::script::lua_list;
use super::{Actor, Moved, MyWork, OfferRef, PendingOffer, Router, RoutingError};
use crate::domain::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct DeclineArgs<'a> {
    #[serde(flatten)]
    offer: OfferRef<'a>,
    reason: &'a str,
    category: DeclineCategory,
}

#[derive(Serialize)]
struct CompleteArgs<'a> {
    #[serde(flatten)]
    offer: OfferRef<'a>,
    outcome: ReferralOutcome,
    note: &'a str,
}

#[derive(Serialize)]
struct ManagerArg<'a> {
    manager: &'a ManagerId,
}

#[derive(Deserialize)]
struct Offer {
    lead_id: LeadId,
    offer_id: String,
    accept_by: i64,
}

#[derive(Deserialize)]
struct Offers {
    #[serde(deserialize_with = "lua_list")]
    offers: Vec<Offer>,
}

impl Router {
    #[tracing::instrument(skip_all, fields(manager = %offer.manager, lead = %offer.lead))]
    pub async fn accept(&self, offer: OfferRef<'_>) -> Result<(), RoutingError> {
        let _: serde::de::IgnoredAny = self
            .as_manager(
                &self.scripts.accept_referral,
                offer.manager,
                offer.lead,
                &offer,
            )
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(manager = %offer.manager, lead = %offer.lead))]
    pub async fn decline(
        &self,
        offer: OfferRef<'_>,
        reason: &str,
        category: DeclineCategory,
    ) -> Result<Moved, RoutingError> {
        if reason.trim().is_empty() {
            return Err(RoutingError::invalid("reason", "a decline needs a reason"));
        }
        let args = DeclineArgs {
            offer,
            reason,
            category,
        };
        self.as_manager(
            &self.scripts.decline_referral,
            offer.manager,
            offer.lead,
            &args,
        )
        .await
    }

    /// Records the outcome of an accepted referral; `acceptance` is the
    /// offer the manager accepted (it fences the call).
    #[tracing::instrument(skip_all, fields(manager = %acceptance.manager, lead = %acceptance.lead, outcome = %outcome))]
    pub async fn complete_referral(
        &self,
        acceptance: OfferRef<'_>,
        outcome: ReferralOutcome,
        note: &str,
    ) -> Result<Moved, RoutingError> {
        let args = CompleteArgs {
            offer: acceptance,
            outcome,
            note,
        };
        self.as_manager(
            &self.scripts.complete_referral,
            acceptance.manager,
            acceptance.lead,
            &args,
        )
        .await
    }

    /// Runs a script on the lead's shard on behalf of manager `m`.
    async fn as_manager<A: Serialize, R: serde::de::DeserializeOwned>(
        &self,
        function: &super::script::Function,
        m: &ManagerId,
        lead: &LeadId,
        args: &A,
    ) -> Result<R, RoutingError> {
        let region = Self::region_of(lead)?;
        self.invoke(function, &region, &Actor::Manager(m.clone()), args)
            .await
    }

    /// Everything a manager holds or is offered, across its shards.
    pub async fn my_work(&self, m: &ManagerId) -> Result<MyWork, RoutingError> {
        let entry = self.require_directory(m).await?;
        let mut all = MyWork::default();
        for region in &entry.shards {
            let got: MyWork = self
                .invoke(
                    &self.scripts.my_work,
                    region,
                    &Actor::Admin,
                    &ManagerArg { manager: m },
                )
                .await?;
            all.held.extend(got.held);
            all.offers.extend(got.offers);
            all.callbacks.extend(got.callbacks);
        }
        all.held.sort_by_key(|a| a.due_at);
        all.offers.sort_by_key(|a| a.due_at);
        all.callbacks.sort_by_key(|a| a.due_at);
        Ok(all)
    }

    /// The referrals currently offered to an offline manager, oldest first.
    pub async fn pending_offers(&self, m: &ManagerId) -> Result<Vec<PendingOffer>, RoutingError> {
        let entry = self.require_directory(m).await?;
        let mut out = Vec::new();
        for region in &entry.shards {
            let got: Offers = self
                .invoke(
                    &self.scripts.pending_offers,
                    region,
                    &Actor::Admin,
                    &ManagerArg { manager: m },
                )
                .await?;
            out.extend(got.offers.into_iter().map(|o| PendingOffer {
                lead_id: o.lead_id,
                region: region.clone(),
                offer_id: o.offer_id,
                accept_by: o.accept_by,
            }));
        }
        out.sort_by_key(|o| o.accept_by);
        Ok(out)
    }
}
