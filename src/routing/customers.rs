//! A customer's compliance memory, across regions: its home region,
//! do-not-contact, complaint cool-off and recent sales contacts. Kept under
//! the customer's own hash tag, so it is read and written in one step each.

use super::{Actor, CustomerNote, CustomerState, Router, RoutingError};
use crate::domain::{CustomerId, RegionId};
use serde::Serialize;

#[derive(Serialize)]
struct Claim<'a> {
    region: &'a RegionId,
}

#[derive(Serialize)]
struct Set {
    do_not_contact: Option<bool>,
    clear_complaint: bool,
}

#[derive(Serialize)]
struct Suppress<'a> {
    customer: &'a CustomerId,
    reason: &'a str,
}

impl Router {
    /// What is remembered of `c`; claims `region` as its home if it has none.
    pub async fn customer_claim(
        &self,
        c: &CustomerId,
        region: &RegionId,
    ) -> Result<CustomerState, RoutingError> {
        let anchor = self.keys.customer(c);
        self.invoke_at(
            &self.scripts.customer_claim,
            anchor.anchor(),
            &Actor::Robot,
            &Claim { region },
        )
        .await
    }

    /// Remembers what an interaction told us (idempotent per interaction).
    pub async fn customer_note(
        &self,
        c: &CustomerId,
        note: &CustomerNote<'_>,
    ) -> Result<(), RoutingError> {
        let anchor = self.keys.customer(c);
        let _: serde::de::IgnoredAny = self
            .invoke_at(
                &self.scripts.customer_note,
                anchor.anchor(),
                &Actor::Robot,
                note,
            )
            .await?;
        Ok(())
    }

    /// An admin sets or clears do-not-contact, or ends a complaint cool-off.
    /// Setting do-not-contact suppresses the customer's open lead at once.
    pub async fn customer_set(
        &self,
        c: &CustomerId,
        do_not_contact: Option<bool>,
        clear_complaint: bool,
    ) -> Result<CustomerState, RoutingError> {
        let anchor = self.keys.customer(c);
        let args = Set {
            do_not_contact,
            clear_complaint,
        };
        let state: CustomerState = self
            .invoke_at(
                &self.scripts.customer_set,
                anchor.anchor(),
                &Actor::Admin,
                &args,
            )
            .await?;
        if let (Some(true), Some(home)) = (do_not_contact, &state.home) {
            let args = Suppress {
                customer: c,
                reason: "do-not-contact set by an admin",
            };
            let _: serde::de::IgnoredAny = self
                .invoke(&self.scripts.suppress_customer, home, &Actor::Admin, &args)
                .await?;
        }
        Ok(state)
    }

    /// What is remembered of `c` (read only: claims nothing).
    pub async fn customer_state(&self, c: &CustomerId) -> Result<CustomerState, RoutingError> {
        self.customer_set(c, None, false).await
    }
}
