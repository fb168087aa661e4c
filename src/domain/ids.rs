//! Validated identifiers: once one exists it is safe inside a Redis key.

use super::{check_id, DomainError};
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
                let raw = raw.into();
                check_id($field, &raw)?;
                Ok(Self(raw))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

id_type!(
    /// A region: the unit of sharding (its branches, the remote team serving
    /// them, their managers and the customers homed there).
    RegionId,
    "region_id"
);
id_type!(
    /// A branch (offline managers work in one).
    BranchId,
    "branch_id"
);
id_type!(
    /// A relationship manager, remote or offline.
    ManagerId,
    "manager_id"
);
id_type!(
    /// A bank customer.
    CustomerId,
    "customer_id"
);
id_type!(
    /// The robot's id of one conversation: the idempotency key of ingestion.
    InteractionId,
    "interaction_id"
);
id_type!(
    /// A marketing campaign.
    CampaignId,
    "campaign_id"
);
id_type!(
    /// A client's id of one request (makes a call retry-safe).
    RequestId,
    "request_id"
);
id_type!(
    /// A lead. Opaque to clients; internally `<region>.<unique>` so a lead can
    /// be found without a global index.
    LeadId,
    "lead_id"
);

impl RequestId {
    /// A fresh random id, for callers that sent none.
    pub fn generate() -> Self {
        let r: u128 = rand::random();
        Self(format!("srv-{r:032x}"))
    }
}

impl LeadId {
    /// A new lead id in `region`: region, millisecond time, randomness.
    pub fn generate(region: &RegionId, now_ms: i64) -> Self {
        let r: u64 = rand::random();
        Self(format!("{}.{:011x}{:016x}", region.as_str(), now_ms, r))
    }

    /// The region (shard) the lead lives in.
    pub fn region(&self) -> Option<RegionId> {
        let (region, _) = self.0.rsplit_once('.')?;
        RegionId::parse(region).ok()
    }
}
