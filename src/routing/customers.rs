//! A customer's home region and compliance memory. The home region is
//! claimed on the customer's first call (one pipelined round trip on the
//! customer's own hash tag); what the customer told us lives in the home
//! region's shard and is read, applied and written by the ingest script.

use super::{Actor, CustomerState, Router, RoutingError};
use crate::domain::{CustomerId, RegionId};
use serde::Serialize;

#[derive(Serialize)]
struct Set<'a> {
    customer: &'a CustomerId,
    do_not_contact: Option<bool>,
    clear_complaint: bool,
}

/// The customer's home region, and whether an admin's do-not-contact waits
/// for it.
#[derive(Debug, Clone)]
pub struct Home {
    pub region: RegionId,
    pub pending_dnc: bool,
}

impl Router {
    /// Claims `region` as the customer's home if it has none; answers the home.
    pub async fn claim_home(
        &self,
        c: &CustomerId,
        region: &RegionId,
    ) -> Result<Home, RoutingError> {
        let (home, dnc) = (
            self.keys.customer_home(c),
            self.keys.customer_pending_dnc(c),
        );
        let mut conn = self.conn.clone();
        // SET NX GET answers the home there was (nil: this call claimed it).
        let (home, pending): (Option<String>, Option<String>) = redis::pipe()
            .cmd("SET")
            .arg(&home)
            .arg(region.as_str())
            .arg("NX")
            .arg("GET")
            .cmd("GET")
            .arg(&dnc)
            .query_async(&mut conn)
            .await?;
        let region = match home {
            Some(h) => RegionId::parse(h).map_err(|e| RoutingError::Protocol(e.to_string()))?,
            None => region.clone(),
        };
        Ok(Home {
            region,
            pending_dnc: pending.is_some(),
        })
    }

    /// The pending do-not-contact was applied in the home region.
    pub(crate) async fn clear_pending_dnc(&self, c: &CustomerId) -> Result<(), RoutingError> {
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("DEL")
            .arg(self.keys.customer_pending_dnc(c))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn home_of(&self, c: &CustomerId) -> Result<Option<RegionId>, RoutingError> {
        let mut conn = self.conn.clone();
        let home: Option<String> = redis::cmd("GET")
            .arg(self.keys.customer_home(c))
            .query_async(&mut conn)
            .await?;
        home.map(|h| RegionId::parse(h).map_err(|e| RoutingError::Protocol(e.to_string())))
            .transpose()
    }

    /// An admin sets or clears do-not-contact, or ends a complaint cool-off.
    /// Setting do-not-contact suppresses the customer's open lead at once;
    /// for a customer never seen, it waits for its first call.
    pub async fn customer_set(
        &self,
        c: &CustomerId,
        do_not_contact: Option<bool>,
        clear_complaint: bool,
    ) -> Result<CustomerState, RoutingError> {
        let Some(home) = self.home_of(c).await? else {
            let mut conn = self.conn.clone();
            let key = self.keys.customer_pending_dnc(c);
            match do_not_contact {
                Some(true) => {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(1)
                        .query_async::<()>(&mut conn)
                        .await?
                }
                Some(false) => {
                    redis::cmd("DEL")
                        .arg(&key)
                        .query_async::<()>(&mut conn)
                        .await?
                }
                None => {}
            }
            let pending: bool = redis::cmd("EXISTS")
                .arg(&key)
                .query_async(&mut conn)
                .await?;
            return Ok(CustomerState {
                do_not_contact: pending,
                ..CustomerState::default()
            });
        };
        let args = Set {
            customer: c,
            do_not_contact,
            clear_complaint,
        };
        let mut state: CustomerState = self
            .invoke(&self.scripts.customer_set, &home, &Actor::Admin, &args)
            .await?;
        state.home = Some(home);
        Ok(state)
    }

    /// What is remembered of `c` (changes nothing).
    pub async fn customer_state(&self, c: &CustomerId) -> Result<CustomerState, RoutingError> {
        self.customer_set(c, None, false).await
    }
}
